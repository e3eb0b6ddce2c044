// The routes over HTTP through `next start`, with the project's Claude simulator and a SQLite file: every status
// and body of seed-system.md (the get route's 500 "Database error" from a store ruined under its server), atomic
// gets, the bearer checks, and the trigger's 202 followed by the drain.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { startSimulator } from '../../../bindings-node/tests/helpers.mjs'
import { database, startNext } from './server.mjs'

const SECRET = 'next-test-secret-0123456789'

async function call(base, path, { method = 'GET', body, auth } = {}) {
  const headers = {}
  if (auth !== undefined) headers.authorization = auth
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) })
  return { status: res.status, body: await res.json() }
}

const backend = process.env.PREGEN_TEST_DATABASE_URL ? 'Postgres' : 'SQLite'

describe(`Next.js routes over HTTP (${backend})`, () => {
  let sim, slow, dir, server, keyless, slowServer, ruined, ruinedStore
  const stores = []
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pregen-next-'))
    sim = await startSimulator()
    // Haiku's pace, ten times faster: generation takes seconds, so the trigger's answer is seen before it ends.
    slow = await startSimulator(['--realistic', '--time-factor', '10'])
    const common = { PREGEN_DRAIN_BUDGET_MS: '60000', DATABASE_URL: '' }
    const [app, bare, slowDb, ruin] = ['app', 'keyless', 'slow', 'ruined'].map((name) => database(dir, name))
    stores.push(app, bare, slowDb, ruin)
    ruinedStore = ruin
    ;[server, keyless, slowServer, ruined] = await Promise.all([
      startNext({ ...common, PREGEN_DB: app.location, ANTHROPIC_API_KEY: sim.apiKey, ANTHROPIC_BASE_URL: sim.url, CRON_SECRET: SECRET }),
      startNext({ ...common, PREGEN_DB: bare.location, ANTHROPIC_API_KEY: '', CRON_SECRET: '' }),
      startNext({ ...common, PREGEN_DB: slowDb.location, ANTHROPIC_API_KEY: slow.apiKey, ANTHROPIC_BASE_URL: slow.url, CRON_SECRET: SECRET }),
      startNext({ ...common, PREGEN_DB: ruin.location, ANTHROPIC_API_KEY: '', CRON_SECRET: '' }),
    ])
  })
  after(async () => {
    await Promise.all([server, keyless, slowServer, ruined].filter(Boolean).map((s) => s.stop()))
    await Promise.all([sim, slow].filter(Boolean).map((s) => s.stop()))
    for (const store of stores) store.drop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('POST /api/pre-generate-exam: 400s, 200 generated, 200 already exists', async () => {
    const post = (body) => call(server.url, '/api/pre-generate-exam', { method: 'POST', body })
    assert.deepEqual(await post({ examType: 'practice' }), { status: 400, body: { error: 'Missing userId or examType' } })
    assert.deepEqual(await post({ userId: 'n1', examType: 'quiz' }), { status: 400, body: { error: 'Invalid examType' } })
    const made = await post({ userId: 'n1', examType: 'diagnostic' })
    assert.equal(made.status, 200)
    assert.equal(made.body.success, true)
    assert.equal(typeof made.body.examId, 'string')
    assert.ok(made.body.questionCount > 0)
    assert.deepEqual(await post({ userId: 'n1', examType: 'diagnostic' }), {
      status: 200,
      body: { success: true, message: 'Valid pre-gen already exists' },
    })
  })

  it('POST /api/pre-generate-exam without an API key: 500 "API key not configured"', async () => {
    assert.deepEqual(await call(keyless.url, '/api/pre-generate-exam', { method: 'POST', body: { userId: 'n2', examType: 'practice' } }), {
      status: 500,
      body: { error: 'API key not configured' },
    })
  })

  it('GET /api/get-pre-generated-exam: 400s, 200 served, then preGenerated: false', async () => {
    const get = (query) => call(server.url, `/api/get-pre-generated-exam${query}`)
    assert.deepEqual(await get('?userId=n3'), { status: 400, body: { error: 'Missing userId or examType', preGenerated: false } })
    assert.deepEqual(await get('?userId=n3&examType=quiz'), { status: 400, body: { error: 'Invalid examType', preGenerated: false } })
    const made = await call(server.url, '/api/pre-generate-exam', { method: 'POST', body: { userId: 'n3', examType: 'practice' } })
    const served = await get('?userId=n3&examType=practice')
    assert.equal(served.status, 200)
    assert.equal(served.body.preGenerated, true)
    assert.equal(served.body.examId, made.body.examId)
    assert.equal(served.body.questions.questions.length, made.body.questionCount)
    assert.ok(!Number.isNaN(Date.parse(served.body.expiresAt)))
    assert.deepEqual(await get('?userId=n3&examType=practice'), {
      status: 200,
      body: { preGenerated: false, reason: 'No valid pre-generated exam' },
    })
  })

  it('GET /api/get-pre-generated-exam: 500 "Database error" once the store fails under the server', async () => {
    const get = () => call(ruined.url, '/api/get-pre-generated-exam?userId=n6&examType=practice')
    // The store opens and answers first, so the failure below is the claim's, not the open's.
    assert.deepEqual(await get(), { status: 200, body: { preGenerated: false, reason: 'No valid pre-generated exam' } })
    ruinedStore.ruin()
    assert.deepEqual(await get(), { status: 500, body: { error: 'Database error', preGenerated: false } })
  })

  it('50 concurrent gets for one user\'s one exam serve it once', async () => {
    const made = await call(server.url, '/api/pre-generate-exam', { method: 'POST', body: { userId: 'n4', examType: 'diagnostic' } })
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => call(server.url, '/api/get-pre-generated-exam?userId=n4&examType=diagnostic')),
    )
    assert.ok(answers.every((a) => a.status === 200))
    const served = answers.filter((a) => a.body.preGenerated)
    assert.equal(served.length, 1)
    assert.equal(served[0].body.examId, made.body.examId)
  })

  it('cron: 401 for a missing or wrong bearer, 200 stats by GET and by POST', async () => {
    for (const auth of [undefined, 'Bearer wrong', SECRET, `Basic ${SECRET}`]) {
      assert.deepEqual(await call(server.url, '/api/cron/generate-exams', { auth }), { status: 401, body: { error: 'Unauthorized' } })
    }
    for (const method of ['GET', 'POST']) {
      const swept = await call(server.url, '/api/cron/generate-exams', { method, auth: `Bearer ${SECRET}` })
      assert.equal(swept.status, 200, JSON.stringify(swept.body))
      assert.equal(swept.body.success, true)
      for (const key of ['usersProcessed', 'generationTriggered', 'generationErrors', 'cleanupCompleted', 'timestamp']) {
        assert.ok(key in swept.body.stats, `stats has ${key}`)
      }
      assert.equal(typeof swept.body.stats.cleanupCompleted, 'number')
    }
  })

  it('analytics: 401 for a missing or wrong bearer, 200 stats', async () => {
    for (const auth of [undefined, 'Bearer wrong']) {
      assert.deepEqual(await call(server.url, '/api/pre-gen-analytics', { auth }), { status: 401, body: { error: 'Unauthorized' } })
    }
    const stats = await call(server.url, '/api/pre-gen-analytics', { auth: `Bearer ${SECRET}` })
    assert.equal(stats.status, 200)
    assert.equal(stats.body.success, true)
    for (const key of [
      'totalGenerated', 'totalUsed', 'totalUnused', 'totalExpired', 'averageExamsPerUser', 'diagnosticCount',
      'practiceCount', 'usedPercentage', 'expiringWithin24h', 'userStats', 'timestamp',
    ]) {
      assert.ok(key in stats.body.stats, `stats has ${key}`)
    }
    assert.ok(stats.body.stats.totalGenerated >= 3)
  })

  it('cron and analytics refuse every bearer when CRON_SECRET is unset', async () => {
    for (const auth of [undefined, 'Bearer ', 'Bearer undefined', `Bearer ${SECRET}`]) {
      assert.deepEqual(await call(keyless.url, '/api/cron/generate-exams', { auth }), { status: 401, body: { error: 'Unauthorized' } })
      assert.deepEqual(await call(keyless.url, '/api/pre-gen-analytics', { auth }), { status: 401, body: { error: 'Unauthorized' } })
    }
  })

  it('trigger: 400 for bad input; 202 at once, and the exam is ready after the drain', async () => {
    const trigger = (body) => call(slowServer.url, '/api/trigger-pre-generation', { method: 'POST', body })
    assert.deepEqual(await trigger({}), { status: 400, body: { error: 'Missing userId or examType' } })
    assert.deepEqual(await trigger({ userId: 'n5', examType: 'quiz' }), { status: 400, body: { error: 'Invalid examType' } })
    const queued = await trigger({ userId: 'n5', examType: 'diagnostic' })
    assert.equal(queued.status, 202)
    assert.deepEqual(queued.body.jobs.map((j) => [j.examType, j.status]), [['diagnostic', 'queued']])
    // Answered before generation ended: nothing is stored yet.
    const early = await call(slowServer.url, '/api/pre-gen-analytics', { auth: `Bearer ${SECRET}` })
    assert.equal(early.body.stats.totalGenerated, 0)
    // The drain in after() generates it; the get serves it once it is stored.
    let got
    for (let i = 0; i < 1200; i++) {
      const stats = await call(slowServer.url, '/api/pre-gen-analytics', { auth: `Bearer ${SECRET}` })
      if (stats.body.stats.totalGenerated > 0) {
        got = await call(slowServer.url, '/api/get-pre-generated-exam?userId=n5&examType=diagnostic')
        break
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.equal(got?.body.preGenerated, true, 'the exam was generated after the response')
  })
})

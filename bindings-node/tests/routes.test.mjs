// The route helpers: every status and body of seed-system.md, through the addon.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { open, startSimulator, tempDir } from './helpers.mjs'

const body = (value) => JSON.stringify(value)

describe('route helpers', () => {
  let sim, tmp, pg
  before(async () => {
    sim = await startSimulator()
    tmp = tempDir()
    pg = await open(tmp.file('routes.db'), sim)
  })
  after(async () => {
    await sim.stop()
    tmp.cleanup()
  })

  it('preGenerateRoute: 400s, 200 generated, 200 already exists', async () => {
    assert.deepEqual(await pg.preGenerateRoute(body({ userId: 'r1' })), {
      status: 400,
      body: { error: 'Missing userId or examType' },
    })
    assert.deepEqual(await pg.preGenerateRoute(body({ userId: 'r1', examType: 'quiz' })), {
      status: 400,
      body: { error: 'Invalid examType' },
    })
    assert.deepEqual(await pg.preGenerateRoute('{not json'), { status: 400, body: { error: 'Invalid JSON body' } })
    const made = await pg.preGenerateRoute(body({ userId: 'r1', examType: 'diagnostic' }))
    assert.equal(made.status, 200)
    assert.equal(made.body.success, true)
    assert.ok(made.body.questionCount > 0)
    assert.deepEqual(await pg.preGenerateRoute(body({ userId: 'r1', examType: 'diagnostic' })), {
      status: 200,
      body: { success: true, message: 'Valid pre-gen already exists' },
    })
  })

  it('getRoute: 400s, 200 served, 200 none', async () => {
    assert.deepEqual(await pg.getRoute('?userId=r2'), {
      status: 400,
      body: { error: 'Missing userId or examType', preGenerated: false },
    })
    assert.deepEqual(await pg.getRoute('userId=r2&examType=quiz'), {
      status: 400,
      body: { error: 'Invalid examType', preGenerated: false },
    })
    await pg.preGenerateExam('r2', 'diagnostic')
    const served = await pg.getRoute('?userId=r2&examType=diagnostic')
    assert.equal(served.status, 200)
    assert.equal(served.body.preGenerated, true)
    assert.ok(served.body.questions.questions.length > 0)
    assert.deepEqual(await pg.getRoute('?userId=r2&examType=diagnostic'), {
      status: 200,
      body: { preGenerated: false, reason: 'No valid pre-generated exam' },
    })
  })

  it('getRouteJson: the same statuses and bodies as getRoute, as JSON text', async () => {
    const json = async (query) => {
      const answer = await pg.getRouteJson(query)
      assert.equal(typeof answer.body, 'string')
      return { status: answer.status, body: JSON.parse(answer.body) }
    }
    assert.deepEqual(await json('?userId=r6'), { status: 400, body: { error: 'Missing userId or examType', preGenerated: false } })
    assert.deepEqual(await json('?userId=r6&examType=quiz'), { status: 400, body: { error: 'Invalid examType', preGenerated: false } })
    const made = await pg.preGenerateExam('r6', 'practice')
    const served = await json('?userId=r6&examType=practice')
    assert.equal(served.status, 200)
    assert.equal(served.body.preGenerated, true)
    assert.equal(served.body.examId, made.examId)
    assert.equal(served.body.questions.questions.length, made.questionCount)
    assert.ok(!Number.isNaN(Date.parse(served.body.expiresAt)))
    assert.deepEqual(await json('?userId=r6&examType=practice'), {
      status: 200,
      body: { preGenerated: false, reason: 'No valid pre-generated exam' },
    })
  })

  it('cronRoute: 401 without or with a wrong bearer, 200 stats with the right one', async () => {
    for (const auth of [null, undefined, 'Bearer wrong', 'test-secret']) {
      assert.deepEqual(await pg.cronRoute(auth), { status: 401, body: { error: 'Unauthorized' } })
    }
    const swept = await pg.cronRoute('Bearer test-secret')
    assert.equal(swept.status, 200, JSON.stringify(swept.body))
    assert.equal(swept.body.success, true)
    for (const key of ['usersProcessed', 'generationTriggered', 'generationErrors', 'cleanupCompleted', 'timestamp']) {
      assert.ok(key in swept.body.stats, `stats has ${key}`)
    }
    assert.equal(typeof swept.body.stats.cleanupCompleted, 'number')
  })

  it('analyticsRoute: 401 without or with a wrong bearer, 200 stats with the right one', async () => {
    assert.deepEqual(await pg.analyticsRoute(), { status: 401, body: { error: 'Unauthorized' } })
    assert.deepEqual(await pg.analyticsRoute('Bearer nope'), { status: 401, body: { error: 'Unauthorized' } })
    const stats = await pg.analyticsRoute('Bearer test-secret')
    assert.equal(stats.status, 200)
    assert.equal(stats.body.success, true)
    for (const key of [
      'totalGenerated', 'totalUsed', 'totalUnused', 'totalExpired', 'averageExamsPerUser', 'diagnosticCount',
      'practiceCount', 'usedPercentage', 'expiringWithin24h', 'userStats', 'timestamp',
    ]) {
      assert.ok(key in stats.body.stats, `stats has ${key}`)
    }
  })

  it('cron and analytics refuse every bearer when no secret is configured', async () => {
    const unset = await open(tmp.file('routes.db'), sim, { cronSecret: undefined })
    for (const auth of [null, 'Bearer ', 'Bearer test-secret', 'Bearer undefined']) {
      assert.deepEqual(await unset.cronRoute(auth), { status: 401, body: { error: 'Unauthorized' } })
      assert.deepEqual(await unset.analyticsRoute(auth), { status: 401, body: { error: 'Unauthorized' } })
    }
  })

  it('triggerRoute: 202 with the jobs, 400s for bad input', async () => {
    const queued = await pg.triggerRoute(body({ userId: 'r3' }))
    assert.equal(queued.status, 202)
    assert.equal(queued.body.success, true)
    assert.equal(queued.body.jobs.length, 2)
    const next = await pg.triggerRoute(body({ userId: 'r4', completed: 'diagnostic' }))
    assert.deepEqual(next.body.jobs.map((j) => [j.examType, j.status]), [['practice', 'queued']])
    assert.deepEqual(await pg.triggerRoute(body({})), { status: 400, body: { error: 'Missing userId or examType' } })
    assert.deepEqual(await pg.triggerRoute(body({ userId: 'r5', examType: 'quiz' })), {
      status: 400,
      body: { error: 'Invalid examType' },
    })
    assert.deepEqual(await pg.triggerRoute('x'.repeat(20_000)), {
      status: 413,
      body: { error: 'Request body too large' },
    })
  })

  it('preGenerateRoute answers 500 "API key not configured" without a key', async () => {
    const keyless = await open(tmp.file('routes.db'), null)
    assert.deepEqual(await keyless.preGenerateRoute(body({ userId: 'r6', examType: 'practice' })), {
      status: 500,
      body: { error: 'API key not configured' },
    })
  })
})

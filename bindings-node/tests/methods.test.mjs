// Every method of the addon against the project's Claude simulator and a SQLite file.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { open, startSimulator, tempDir } from './helpers.mjs'

describe('PreGen methods', () => {
  let sim, tmp, pg
  before(async () => {
    sim = await startSimulator()
    tmp = tempDir()
    pg = await open(tmp.file('methods.db'), sim)
  })
  after(async () => {
    await pg.shutdown(0)
    await sim.stop()
    tmp.cleanup()
  })

  it('pre-generates an exam, then says one already exists', async () => {
    const made = await pg.preGenerateExam('user-a', 'diagnostic')
    assert.equal(made.success, true)
    assert.equal(typeof made.examId, 'string')
    assert.ok(made.questionCount > 0)
    assert.deepEqual(await pg.preGenerateExam('user-a', 'diagnostic'), {
      success: true,
      message: 'Valid pre-gen already exists',
    })
  })

  it('gets an exam once, then answers preGenerated: false', async () => {
    const made = await pg.preGenerateExam('user-b', 'practice')
    const got = await pg.getPreGeneratedExam('user-b', 'practice')
    assert.equal(got.preGenerated, true)
    assert.equal(got.examId, made.examId)
    assert.equal(got.questions.questions.length, made.questionCount)
    const item = got.questions.questions[0]
    for (const key of ['id', 'question', 'options', 'correct_answer', 'explanation', 'domain', 'knId', 'isScored']) {
      assert.ok(key in item, `an item has ${key}`)
    }
    assert.ok(item.options.includes(item.correct_answer), 'the key is an option text')
    assert.ok(!Number.isNaN(Date.parse(got.expiresAt)))
    assert.deepEqual(await pg.getPreGeneratedExam('user-b', 'practice'), {
      preGenerated: false,
      reason: 'No valid pre-generated exam',
    })
  })

  it('triggers both types on a page load and the next type after a finished exam', async () => {
    const load = await pg.triggerBackgroundPreGeneration('user-c')
    assert.equal(load.success, true)
    assert.deepEqual(load.jobs.map((j) => [j.examType, j.status]).sort(), [
      ['diagnostic', 'queued'],
      ['practice', 'queued'],
    ])
    const next = await pg.triggerBackgroundPreGeneration('user-c', 'diagnostic')
    assert.deepEqual(next.jobs.map((j) => [j.examType, j.status]), [['practice', 'already_queued']])
    const status = await pg.getJobQueueStatus()
    assert.ok(status.queueLength >= 2)
    assert.ok(status.jobs.some((j) => j.userId === 'user-c' && j.examType === 'practice' && j.maxRetries >= 1))
    assert.equal(typeof status.counts.pending, 'number')
  })

  it('drains the queue within a budget, after which the exam is served', async () => {
    await pg.triggerBackgroundPreGeneration('user-d', 'practice')
    const report = await pg.drain(60_000)
    assert.ok(report.claimed >= 1)
    assert.ok(report.succeeded >= 1)
    assert.equal(report.claimErrors, 0)
    assert.equal((await pg.getPreGeneratedExam('user-d', 'diagnostic')).preGenerated, true)
  })

  it('clears the queue', async () => {
    await pg.triggerBackgroundPreGeneration('user-e')
    const cleared = await pg.clearJobQueue()
    assert.equal(cleared.success, true)
    assert.ok(cleared.cancelled >= 2)
    assert.equal((await pg.getJobQueueStatus()).queueLength, 0)
  })

  it('cleans up and reports analytics', async () => {
    const cleaned = await pg.cleanupExpiredExams()
    assert.equal(cleaned.success, true)
    assert.equal(typeof cleaned.deleted, 'number')
    assert.equal(typeof cleaned.cleanup.batches, 'number')
    const stats = await pg.getPreGenAnalytics()
    assert.ok(stats.totalGenerated >= 3)
    assert.ok(stats.totalUsed >= 2)
    assert.equal(stats.totalUnused, stats.totalGenerated - stats.totalUsed)
    assert.ok(stats.getHitRate > 0)
    assert.equal(typeof stats.userStats.usersWithPreGen, 'number')
  })

  it('starts workers that generate a triggered exam, and shuts them down', async () => {
    assert.equal(pg.workersRunning, false)
    pg.startWorkers()
    pg.startWorkers()
    assert.equal(pg.workersRunning, true)
    await pg.triggerBackgroundPreGeneration('user-f', 'practice')
    let got
    for (let i = 0; i < 600; i++) {
      got = await pg.getPreGeneratedExam('user-f', 'diagnostic')
      if (got.preGenerated) break
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.equal(got.preGenerated, true, 'the workers generated the exam')
    const report = await pg.shutdown(5_000)
    assert.ok(report.succeeded >= 1)
    assert.equal(pg.workersRunning, false)
  })
})

// 100 calls at once through the addon: one stocked exam is served exactly once, and concurrent triggers,
// reads and status calls all settle with their own answers.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { open, startSimulator, tempDir } from './helpers.mjs'

describe('100 concurrent calls', () => {
  let sim, tmp, pg
  before(async () => {
    sim = await startSimulator()
    tmp = tempDir()
    pg = await open(tmp.file('concurrent.db'), sim)
  })
  after(async () => {
    await sim.stop()
    tmp.cleanup()
  })

  it('100 gets of one user\'s one exam serve it once', async () => {
    const made = await pg.preGenerateExam('c-user', 'diagnostic')
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => pg.getPreGeneratedExam('c-user', 'diagnostic')),
    )
    const served = answers.filter((a) => a.preGenerated)
    assert.equal(served.length, 1)
    assert.equal(served[0].examId, made.examId)
    assert.equal(answers.filter((a) => a.reason === 'No valid pre-generated exam').length, 99)
  })

  it('100 mixed calls settle, each with its own answer', async () => {
    const before = (await pg.getJobQueueStatus()).counts.pending
    const calls = Array.from({ length: 100 }, (_, i) => {
      switch (i % 4) {
        case 0:
          return pg.triggerBackgroundPreGeneration(`m-${i}`).then((r) => ['trigger', r.jobs.length])
        case 1:
          return pg.getRoute(`?userId=m-${i}&examType=practice`).then((r) => ['get', r.status])
        case 2:
          return pg.getJobQueueStatus().then((s) => ['status', typeof s.queueLength])
        default:
          return pg.triggerRoute(JSON.stringify({ userId: `m-${i}`, examType: 'quiz' })).then((r) => ['bad', r.status])
      }
    })
    const results = await Promise.all(calls)
    const expected = { trigger: 2, get: 200, status: 'number', bad: 400 }
    for (const [kind, value] of results) assert.equal(value, expected[kind], kind)
    const status = await pg.getJobQueueStatus()
    // 25 page loads queue both types; 25 misses queue their practice exam.
    assert.equal(status.counts.pending - before, 75)
  })
})

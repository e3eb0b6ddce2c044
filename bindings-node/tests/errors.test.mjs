// Errors reach JavaScript as Error objects with the core's `code` and `retryable`, from synchronous calls and
// from promises alike.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { PreGen, open, rejection, startSimulator, tempDir } from './helpers.mjs'

function assertCoded(e, code, retryable) {
  assert.ok(e instanceof Error, `an Error, not ${typeof e}: ${e}`)
  assert.equal(e.code, code, e.message)
  assert.equal(e.retryable, retryable)
  assert.ok(e.message.length > 0)
}

describe('coded errors', () => {
  let sim, tmp
  before(async () => {
    sim = await startSimulator()
    tmp = tempDir()
  })
  after(async () => {
    await sim.stop()
    tmp.cleanup()
  })

  it('open rejects a misspelt option, a wrong type and a bad setting with config.invalid', async () => {
    const db = tmp.file('never.db')
    for (const options of [{ databse: db }, { database: db, workers: 'two' }, { database: db, schedule: 'nope' }]) {
      const e = await rejection(PreGen.open({ ignoreEnv: true, ...options }))
      assertCoded(e, 'config.invalid', false)
    }
  })

  it('without an API key: startWorkers throws, preGenerateExam and drain reject, with service.api_key_missing', async () => {
    const pg = await open(tmp.file('keyless.db'), null)
    assert.throws(() => pg.startWorkers(), (e) => {
      assertCoded(e, 'service.api_key_missing', false)
      return true
    })
    assertCoded(await rejection(pg.preGenerateExam('u1', 'practice')), 'service.api_key_missing', false)
    assertCoded(await rejection(pg.drain(1000)), 'service.api_key_missing', false)
    // Reads and triggers still work without a key.
    assert.equal((await pg.triggerBackgroundPreGeneration('u1')).success, true)
  })

  it('a wrong API key rejects with claude.authentication, not retryable', async () => {
    const pg = await open(tmp.file('wrong-key.db'), { ...sim, apiKey: 'sk-ant-wrong' })
    const e = await rejection(pg.preGenerateExam('u2', 'diagnostic'))
    assertCoded(e, 'claude.authentication', false)
  })

  it('bad arguments reject with the core codes', async () => {
    const pg = await open(tmp.file('bad-args.db'), sim)
    assertCoded(await rejection(pg.getPreGeneratedExam('u3', 'quiz')), 'service.bad_request', false)
    assertCoded(await rejection(pg.preGenerateExam('', 'practice')), 'store.invalid_input', false)
    assertCoded(await rejection(pg.triggerBackgroundPreGeneration('u3', 'quiz')), 'service.bad_request', false)
    assertCoded(await rejection(pg.drain(-1)), 'service.bad_request', false)
    assertCoded(await rejection(pg.shutdown(Number.NaN)), 'service.bad_request', false)
  })

  it('a store that cannot be opened rejects with the store code', async () => {
    const e = await rejection(open(tmp.file('no/such/dir/x.db'), sim))
    assert.ok(e instanceof Error)
    assert.match(e.code, /^store\./)
  })
})

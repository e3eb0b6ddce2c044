// Process life: shutdown hands running jobs back (seen from a second process), and a process with running
// workers exits, by itself or by process.exit, without hanging or crashing at unload.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'

import { addonPath, here, open, startSimulator, tempDir } from './helpers.mjs'

/** A hang guard, not a timing assertion: a child still alive after this is killed, and the test fails. */
const HANG_GUARD_MS = 60_000
/** Hang guard of one wait for a child's event (the child bounds its own wait for "running" at 30 s). */
const EVENT_GUARD_MS = 45_000

function child(mode, database, sim) {
  const proc = spawn(process.execPath, [join(here, 'child.mjs'), mode, database, sim.url, sim.apiKey], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PREGEN_ADDON: addonPath, PREGEN_LOG: 'error' },
  })
  const events = []
  const waiters = []
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const event = JSON.parse(line)
    events.push(event)
    for (const w of waiters.splice(0)) w()
  })
  const guard = setTimeout(() => proc.kill('SIGKILL'), HANG_GUARD_MS)
  const exited = new Promise((resolve) =>
    proc.once('exit', (code, signal) => {
      clearTimeout(guard)
      resolve({ code, signal })
    }),
  )
  /** The child's first event `name`; throws when the child exits first or nothing comes within the guard. */
  const event = async (name) => {
    let timer
    const expired = new Promise((resolve) => {
      timer = setTimeout(() => resolve('expired'), EVENT_GUARD_MS)
    })
    try {
      for (;;) {
        const found = events.find((e) => e.event === name)
        if (found) return found
        const said = JSON.stringify(events)
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the child exited before "${name}"; it said ${said}`)
        if ((await Promise.race([new Promise((r) => waiters.push(r)), exited, expired])) === 'expired') {
          proc.kill('SIGKILL')
          throw new Error(`no "${name}" from the child within the guard; it said ${said}`)
        }
      }
    } finally {
      clearTimeout(timer)
    }
  }
  return { proc, event, exited }
}

describe('process life', () => {
  let slow, fast, tmp
  before(async () => {
    slow = await startSimulator(['--realistic'])
    fast = await startSimulator()
    tmp = tempDir()
  })
  after(async () => {
    await slow.stop()
    await fast.stop()
    tmp.cleanup()
  })

  it('shutdown hands running jobs back at once: a second process sees none running and works them', async () => {
    const db = tmp.file('hold.db')
    const c = child('hold', db, slow)
    await c.event('running')
    const { report } = await c.event('shutdown')
    assert.ok(report.released >= 1, JSON.stringify(report))
    // The first process is still alive; this one opens the same file.
    const pg = await open(db, fast)
    const status = await pg.getJobQueueStatus()
    assert.equal(status.counts.running, 0)
    assert.equal(status.counts.pending + status.counts.retryWait, 2)
    const drained = await pg.drain(60_000)
    assert.equal(drained.succeeded, 2, JSON.stringify(drained))
    c.proc.kill('SIGTERM')
    await c.exited
  })

  it('a process whose script ends with workers running exits by itself, cleanly', async () => {
    const c = child('natural', tmp.file('natural.db'), slow)
    await c.event('running')
    assert.deepEqual(await c.exited, { code: 0, signal: null })
  })

  it('process.exit with workers running exits cleanly (no crash at unload)', async () => {
    const c = child('exit', tmp.file('exit.db'), slow)
    await c.event('running')
    assert.deepEqual(await c.exited, { code: 0, signal: null })
  })
})

// Benchmark: a get of a full 225-item practice exam over HTTP through `next start` (the route over the addon),
// sequential requests on loopback, fetch to parsed JSON. One exam is generated through the pre-generate route
// with the simulator as Claude, then copied N times in the SQLite file: one copy per user (`per-user`, the
// default, as in production) or all under one user (`one-user`, the first runs' layout; see bindings-node/bench.mjs).
//
//   PREGEN_BIN=<target>/debug/pregen node bench.mjs [gets] [per-user|one-user]
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { copyExam, percentiles, startSimulator } from '../../bindings-node/tests/helpers.mjs'
import { startNext } from './tests/server.mjs'

const require = createRequire(new URL('../../bindings-node/package.json', import.meta.url))
const Database = require('better-sqlite3')

const GETS = Number(process.argv[2] ?? 1000)
const LAYOUT = process.argv[3] ?? 'per-user'
if (!['per-user', 'one-user'].includes(LAYOUT)) throw new Error(`layout must be per-user or one-user, not ${LAYOUT}`)
const WARMUP = 50
/** The 1-minute load average when the gets began and when they ended (the machine is shared). */
const load = { start: 0, end: 0 }
const owner = LAYOUT === 'per-user' ? (i) => `bench-http-${i}` : () => 'bench-http'

const dir = mkdtempSync(join(tmpdir(), 'pregen-next-bench-'))
const database = join(dir, 'bench.db')
const sim = await startSimulator()
const server = await startNext({ PREGEN_DB: database, ANTHROPIC_API_KEY: sim.apiKey, ANTHROPIC_BASE_URL: sim.url, CRON_SECRET: '' })
try {
  const made = await (
    await fetch(`${server.url}/api/pre-generate-exam`, { method: 'POST', body: JSON.stringify({ userId: 'bench-seed', examType: 'practice' }) })
  ).json()
  if (made.questionCount !== 225) throw new Error(`expected a 225-item exam, got ${JSON.stringify(made)}`)
  // This process is not the server's: its own SQLite copy may open and close the file freely.
  const db = new Database(database)
  db.pragma('busy_timeout = 5000')
  copyExam(db, made.examId, owner, GETS + WARMUP)
  db.close()
  // Seeding blocked this event loop for seconds: let fetch's pool see the server close its idle keep-alive
  // connection before a get is sent on it ("other side closed" otherwise, with a few thousand copies).
  await new Promise((r) => setTimeout(r, 200))

  load.start = loadavg()[0]
  const samples = []
  for (let i = 0; i < GETS + WARMUP; i++) {
    const start = process.hrtime.bigint()
    const res = await fetch(`${server.url}/api/get-pre-generated-exam?userId=${owner(i)}&examType=practice`)
    const body = await res.json()
    const took = Number(process.hrtime.bigint() - start) / 1e6
    if (res.status !== 200 || body.questions?.questions?.length !== 225) throw new Error('no full exam served')
    if (i >= WARMUP) samples.push(took)
  }
  load.end = loadavg()[0]
  console.log(JSON.stringify({ gets: GETS, loadAverage1m: load, warmup: WARMUP, layout: LAYOUT, node: process.version, pregenLog: process.env.PREGEN_LOG ?? 'error', httpMs: percentiles(samples) }, null, 2))
} finally {
  await server.stop()
  await sim.stop()
  rmSync(dir, { recursive: true, force: true })
}

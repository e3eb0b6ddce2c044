// Benchmark: a get of a full 225-item practice exam through the addon (JS call to JS object), beside the same
// read done the way a JS developer would without pregen: better-sqlite3 v12, select then update, on the same
// data. One practice exam is generated with the simulator (by the `pregen` command, in its own process), then
// copied N times for each side. The addon's copies and better-sqlite3's are in two files built the same way: two
// SQLite libraries in one process must never share a file (README, "Node"), and the store checkpoints its WAL
// from a thread of its own. Also the get route's JSON-text helper (`getRouteJson`, what the Next.js route sends).
//
// Layout `per-user` (the default) gives each copy its own user, as in production where a user holds the stock
// target (one or two exams): get i claims user i's exam. `one-user` puts every copy under one user, so each get's
// refill check counts up to N unused exams of that user (the layout of the first runs).
//
//   PREGEN_BIN=<target>/debug/pregen PREGEN_LOG=warn node bench.mjs [gets] [per-user|one-user]
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'

import { copyExam, open, percentiles, pregenBin, startSimulator, tempDir } from './tests/helpers.mjs'

const require = createRequire(import.meta.url)
const Database = require('better-sqlite3')

const GETS = Number(process.argv[2] ?? 1000)
const LAYOUT = process.argv[3] ?? 'per-user'
if (!['per-user', 'one-user'].includes(LAYOUT)) throw new Error(`layout must be per-user or one-user, not ${LAYOUT}`)
const WARMUP = 50
/** The 1-minute load average when the gets began and when they ended (the machine is shared). */
const load = { start: 0, end: 0 }
/** The owner of copy `i` of `side`'s copies. */
const owner = (side) => (LAYOUT === 'per-user' ? (i) => `bench-${side}-${i}` : () => `bench-${side}`)

const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6

const tmp = tempDir()
const database = tmp.file('bench.db')
const baseline = tmp.file('baseline.db')
const sim = await startSimulator()
const made = JSON.parse(
  execFileSync(pregenBin, ['--db', database, 'generate', '--user', 'bench-seed', '--type', 'practice'], {
    env: { ...process.env, ANTHROPIC_API_KEY: sim.apiKey, ANTHROPIC_BASE_URL: sim.url, PREGEN_LOG: 'error' },
  }),
)
await sim.stop()
if (made.questionCount !== 225) throw new Error(`expected a 225-item exam, got ${made.questionCount}`)

// Copies of the exam for each side (same rows, same items): the addon's in its file, closed before the addon
// opens it; better-sqlite3's in a copy of that file, its one connection open until the end (see copyExam).
const seed = new Database(database)
seed.pragma('busy_timeout = 5000')
seed.prepare('VACUUM INTO ?').run(baseline)
for (const side of ['addon', 'json']) copyExam(seed, made.examId, owner(side), GETS + WARMUP)
seed.close()
const db = new Database(baseline)
db.pragma('journal_mode = WAL')
copyExam(db, made.examId, owner('bsql'), GETS + WARMUP)
const payloadBytes = db.prepare('SELECT length(questions) AS n FROM exam_payloads WHERE exam_id = ?').get(made.examId).n
// The addon: one call, a JS object back.
const pg = await open(database, null)
load.start = loadavg()[0]
const addon = []
for (let i = 0; i < GETS + WARMUP; i++) {
  const start = process.hrtime.bigint()
  const got = await pg.getPreGeneratedExam(owner('addon')(i), 'practice')
  const took = ms(start)
  if (!got.preGenerated || got.questions.questions.length !== 225) throw new Error('the addon served no full exam')
  if (i >= WARMUP) addon.push(took)
}

// The route helper's JSON text (no object built): what a route sends as it is.
const json = []
for (let i = 0; i < GETS + WARMUP; i++) {
  const start = process.hrtime.bigint()
  const got = await pg.getRouteJson(`?userId=${owner('json')(i)}&examType=practice`)
  const took = ms(start)
  if (got.status !== 200 || got.body.length < payloadBytes) throw new Error('the JSON helper served no full exam')
  if (i >= WARMUP) json.push(took)
}

// better-sqlite3: select the newest unused exam, then mark it used, then parse its JSON.
const select = db.prepare(`SELECT e.id, e.expires_at, p.questions FROM pre_generated_exams e
  JOIN exam_payloads p ON p.exam_id = e.id
  WHERE e.user_id = ? AND e.exam_type = ? AND e.used = 0 AND e.expires_at > ?
  ORDER BY e.created_at DESC LIMIT 1`)
const update = db.prepare('UPDATE pre_generated_exams SET used = 1, used_at = ? WHERE id = ?')
const bsql = []
for (let i = 0; i < GETS + WARMUP; i++) {
  const start = process.hrtime.bigint()
  const now = Date.now()
  const row = select.get(owner('bsql')(i), 'practice', now)
  update.run(now, row.id)
  const body = { preGenerated: true, examId: row.id, questions: JSON.parse(row.questions), expiresAt: new Date(row.expires_at).toISOString() }
  const took = ms(start)
  if (body.questions.questions.length !== 225) throw new Error('better-sqlite3 served no full exam')
  if (i >= WARMUP) bsql.push(took)
}

load.end = loadavg()[0]
console.log(JSON.stringify({
  gets: GETS,
  loadAverage1m: load,
  warmup: WARMUP,
  layout: LAYOUT,
  payloadBytes,
  node: process.version,
  pregenLog: process.env.PREGEN_LOG ?? 'info',
  addonMs: percentiles(addon),
  addonJsonTextMs: percentiles(json),
  betterSqlite3Ms: percentiles(bsql),
}, null, 2))
db.close()
tmp.cleanup()

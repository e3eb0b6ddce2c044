// Benchmark: a get of a full 225-item practice exam through the addon (JS call to JS object), beside the same
// read done the way a JS developer would without pregen: better-sqlite3 v12, select then update, on the same
// data in the same file. One practice exam is generated with the simulator, then copied N times for each side.
//
//   PREGEN_BIN=<target>/debug/pregen PREGEN_LOG=warn node bench.mjs [gets]
import { createRequire } from 'node:module'

import { copyExam, open, percentiles, startSimulator, tempDir } from './tests/helpers.mjs'

const require = createRequire(import.meta.url)
const Database = require('better-sqlite3')

const GETS = Number(process.argv[2] ?? 1000)
const WARMUP = 50

const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6

const tmp = tempDir()
const database = tmp.file('bench.db')
const sim = await startSimulator()
const seeder = await open(database, sim)
const made = await seeder.preGenerateExam('bench-seed', 'practice')
await sim.stop()
if (made.questionCount !== 225) throw new Error(`expected a 225-item exam, got ${made.questionCount}`)

// Copies of the exam for each side (same rows, same items), in the same file.
// One better-sqlite3 connection, open until the end (see copyExam).
const db = new Database(database)
db.pragma('busy_timeout = 5000')
copyExam(db, made.examId, 'bench-addon', GETS + WARMUP)
copyExam(db, made.examId, 'bench-bsql', GETS + WARMUP)
const payloadBytes = db.prepare('SELECT length(questions) AS n FROM exam_payloads WHERE exam_id = ?').get(made.examId).n
// The addon: one call, a JS object back.
const pg = await open(database, null)
const addon = []
for (let i = 0; i < GETS + WARMUP; i++) {
  const start = process.hrtime.bigint()
  const got = await pg.getPreGeneratedExam('bench-addon', 'practice')
  const took = ms(start)
  if (!got.preGenerated || got.questions.questions.length !== 225) throw new Error('the addon served no full exam')
  if (i >= WARMUP) addon.push(took)
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
  const row = select.get('bench-bsql', 'practice', now)
  update.run(now, row.id)
  const body = { preGenerated: true, examId: row.id, questions: JSON.parse(row.questions), expiresAt: new Date(row.expires_at).toISOString() }
  const took = ms(start)
  if (body.questions.questions.length !== 225) throw new Error('better-sqlite3 served no full exam')
  if (i >= WARMUP) bsql.push(took)
}

console.log(JSON.stringify({
  gets: GETS,
  warmup: WARMUP,
  payloadBytes,
  node: process.version,
  pregenLog: process.env.PREGEN_LOG ?? 'info',
  addonMs: percentiles(addon),
  betterSqlite3Ms: percentiles(bsql),
}, null, 2))
db.close()
tmp.cleanup()

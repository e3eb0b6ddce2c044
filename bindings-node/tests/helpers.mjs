// Shared by the addon's tests and bench: the Claude simulator (`pregen simulate`, the project's own stand-in
// for the API, on loopback), temporary SQLite files, and opening the addon against them.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
export const here = dirname(fileURLToPath(import.meta.url))
export const addonPath = join(here, '..', 'index.js')
export const { PreGen } = require(addonPath)

/** The `pregen` command (built by test.sh; PREGEN_BIN names it). */
export const pregenBin =
  process.env.PREGEN_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(here, '..', '..', 'target'), 'debug', 'pregen')

/** Starts `pregen simulate` with `args`; resolves `{url, apiKey, stop()}` once it prints its address. */
export async function startSimulator(args = []) {
  const child = spawn(pregenBin, ['simulate', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PREGEN_LOG: 'warn' },
  })
  const lines = createInterface({ input: child.stdout })
  const first = await new Promise((resolve, reject) => {
    lines.once('line', resolve)
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`pregen simulate exited with ${code}`)))
  })
  const { url, apiKey } = JSON.parse(first)
  return {
    url,
    apiKey,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', resolve)
        child.kill('SIGINT')
      }),
  }
}

/** A fresh directory for SQLite files, removed by `cleanup()`. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'pregen-node-'))
  return { dir, file: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Opens the addon on `database` with the simulator `sim` as Claude; no environment variable is read. */
export function open(database, sim, extra = {}) {
  return PreGen.open({
    database,
    anthropicApiKey: sim?.apiKey,
    anthropicBaseUrl: sim?.url,
    cronSecret: 'test-secret',
    ignoreEnv: true,
    ...extra,
  })
}

/** Resolves the rejection of `promise` (fails if it resolves). */
export async function rejection(promise) {
  try {
    await promise
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

/** Copies stored exam `examId` (row and items) `n` times through `db`, an open better-sqlite3 connection, each
 * copy newer than the last (benches: every get then claims a full exam). `user` names the owner: a string puts
 * every copy under that user; a function of the copy's index (0..n-1) spreads them, e.g. one copy per user, as
 * in production where a user holds the stock target (one or two), not thousands.
 *
 * The caller keeps `db` open while the addon uses the file: better-sqlite3 and the addon each bundle their own
 * SQLite, and closing one library's descriptor of a file drops the POSIX locks the other holds on it. */
export function copyExam(db, examId, user, n) {
  const owner = typeof user === 'function' ? user : () => user
  const row = db.prepare(`INSERT INTO pre_generated_exams
    (id, user_id, exam_type, question_count, generated_at, created_at, expires_at)
    SELECT ?, ?, exam_type, question_count, generated_at, created_at + ?, expires_at
    FROM pre_generated_exams WHERE id = ?`)
  const items = db.prepare('INSERT INTO exam_payloads (exam_id, questions) SELECT ?, questions FROM exam_payloads WHERE exam_id = ?')
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = randomUUID()
      row.run(id, owner(i), i + 1, examId)
      items.run(id, examId)
    }
  })()
}

/** p50, p99, max and mean of `samples` (milliseconds), to three decimals. */
export function percentiles(samples) {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
  const mean = sorted.reduce((s, x) => s + x, 0) / sorted.length
  const round = (x) => Number(x.toFixed(3))
  return { p50: round(at(50)), p99: round(at(99)), max: round(sorted[sorted.length - 1]), mean: round(mean) }
}

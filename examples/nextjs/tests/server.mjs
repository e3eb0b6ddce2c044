// Starts `next start` on a loopback port with pregen configured by environment variables, as on a host.
import { execFileSync, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const app = join(dirname(fileURLToPath(import.meta.url)), '..')

/** A free loopback port. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

/** `next start` with `env` added; resolves `{url, stop()}` once it answers. */
export async function startNext(env) {
  const port = await freePort()
  const child = spawn(join(app, 'node_modules', '.bin', 'next'), ['start', '-H', '127.0.0.1', '-p', String(port)], {
    cwd: app,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', PREGEN_LOG: process.env.PREGEN_LOG ?? 'error', ...env },
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`next start exited with ${child.exitCode}`)
    try {
      await fetch(url)
      break
    } catch {
      if (i > 600) throw new Error('next start did not answer')
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', resolve)
        child.kill('SIGTERM')
      }),
  }
}

/** Where a test server keeps its data: a SQLite file in `dir`, or, when PREGEN_TEST_DATABASE_URL names a Postgres
 * server (its URL with an existing database), a database created there for this run; `drop()` removes it.
 * `ruin()` makes the store unusable under a running server: the Postgres database is dropped (its connections
 * ended), or the SQLite file's exams table is dropped from this process (not the server's, so the two SQLite
 * copies never share a process). */
export function database(dir, name) {
  const admin = process.env.PREGEN_TEST_DATABASE_URL
  if (!admin) {
    const location = join(dir, `${name}.db`)
    const ruin = () => {
      const Database = createRequire(join(app, '..', '..', 'bindings-node', 'package.json'))('better-sqlite3')
      const db = new Database(location)
      db.pragma('busy_timeout = 5000')
      db.pragma('foreign_keys = OFF')
      db.exec('DROP TABLE pre_generated_exams')
      db.close()
    }
    return { location, drop: () => {}, ruin }
  }
  const db = `pregen_next_${process.pid}_${name}`
  const psql = (sql) => execFileSync('psql', [admin, '-qAtc', sql], { stdio: ['ignore', 'ignore', 'inherit'] })
  psql(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`)
  psql(`CREATE DATABASE "${db}"`)
  const url = new URL(admin)
  url.pathname = `/${db}`
  const drop = () => psql(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`)
  return { location: url.toString(), drop, ruin: drop }
}

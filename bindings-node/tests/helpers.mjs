// Shared by the addon's tests and bench: the Claude simulator (`pregen simulate`, the project's own stand-in
// for the API, on loopback), temporary SQLite files, and opening the addon against them.
import { spawn } from 'node:child_process'
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

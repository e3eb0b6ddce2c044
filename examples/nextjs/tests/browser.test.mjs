// End to end: the browser dashboard of examples/browser (pregen-wasm's JobTracker), served by this Next.js app
// from public/ (test.sh copies the page and the built package there before `next build`), in Debian's Chromium
// driven headless by playwright-core. On load the page asks for both exam types, as the old dashboard did; its
// POSTs reach the app's real /api/pre-generate-exam route (the addon, the simulator as Claude, the test's store),
// and each exam is then stored and served once by the real get route.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

import { chromium } from 'playwright-core'

import { startSimulator } from '../../../bindings-node/tests/helpers.mjs'
import { database, startNext } from './server.mjs'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']
const PAGE = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'dashboard', 'index.html')
const ROUTE = '/api/pre-generate-exam'
const USER = 'e2e-browser-user'
const TYPES = ['diagnostic', 'practice']

/** Polls `check` until it returns something truthy (returned); a hang guard, not a timing assertion. */
async function waitFor(check, what, timeout = 120_000) {
  const start = Date.now()
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const backend = process.env.PREGEN_TEST_DATABASE_URL ? 'Postgres' : 'SQLite'

describe(`the browser dashboard against the Next.js app (${backend})`, () => {
  let sim, store, dir, server, browser
  before(async () => {
    assert.ok(existsSync(PAGE), `${PAGE} is missing: test.sh copies examples/browser and bindings-wasm/pkg into public/`)
    dir = mkdtempSync(join(tmpdir(), 'pregen-next-e2e-'))
    sim = await startSimulator()
    store = database(dir, 'browser')
    server = await startNext({
      PREGEN_DB: store.location,
      DATABASE_URL: '',
      ANTHROPIC_API_KEY: sim.apiKey,
      ANTHROPIC_BASE_URL: sim.url,
      CRON_SECRET: '',
    })
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS })
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
    await sim?.stop()
    store?.drop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('triggers both types on load; the real route generates them; the get route serves each once', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const errors = []
    const lines = []
    page.on('pageerror', (e) => errors.push(String(e)))
    page.on('console', (m) => lines.push(`${m.type()}: ${m.text()}`))
    // What the page sent to the route and what the route answered, as the browser saw it.
    const answers = []
    page.on('response', async (res) => {
      const req = res.request()
      if (req.method() !== 'POST' || new URL(res.url()).pathname !== ROUTE) return
      answers.push({ sent: JSON.parse(req.postData()), status: res.status(), body: await res.json() })
    })

    await page.goto(`${server.url}/dashboard/index.html?user=${USER}`)
    const jobs = await waitFor(async () => {
      const now = await page.evaluate(() => window.tracker?.getJobs() ?? [])
      return now.length === 2 && now.every((j) => j.state === 'succeeded') && now
    }, 'both jobs succeeded in the page')
    assert.deepEqual(jobs.map((j) => [j.userId, j.examType]).sort(), TYPES.map((t) => [USER, t]))
    // The panel shows them (the page's own rendering, not only the tracker's state).
    await waitFor(async () => (await page.locator('#jobs .state.succeeded').count()) === 2, 'two succeeded rows shown')

    await waitFor(() => answers.length === 2, 'both route answers read')
    assert.deepEqual(answers.map((a) => a.sent).sort((a, b) => a.examType.localeCompare(b.examType)), TYPES.map((examType) => ({ userId: USER, examType })))
    for (const examType of TYPES) {
      const made = answers.find((a) => a.sent.examType === examType)
      assert.equal(made.status, 200, JSON.stringify(made.body))
      assert.equal(made.body.success, true)
      assert.equal(typeof made.body.examId, 'string')
      // Stored: the real get route serves that very exam, whole, and only once.
      const get = () => fetch(`${server.url}/api/get-pre-generated-exam?userId=${USER}&examType=${examType}`).then(async (r) => ({ status: r.status, body: await r.json() }))
      const served = await get()
      assert.equal(served.status, 200)
      assert.equal(served.body.preGenerated, true)
      assert.equal(served.body.examId, made.body.examId)
      assert.equal(served.body.questions.questions.length, made.body.questionCount)
      assert.deepEqual((await get()).body, { preGenerated: false, reason: 'No valid pre-generated exam' })
    }
    assert.deepEqual(errors, [], lines.join('\n'))
    await context.close()
  })
})

// Shared by the browser tests: Debian's Chromium driven by playwright-core (never a downloaded browser), pages of
// the harness, and polling helpers (tests wait for states, they never assert how long anything took).

import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

/** Headless Debian Chromium. */
export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/** Options for fast tests: short backoff without jitter, 5 s attempts; `retry` and `attemptTimeouts` override. */
export function quick({ retry = {}, attemptTimeouts = {}, ...rest } = {}) {
  return {
    ...rest,
    queue: {
      retry: { baseDelay: 300, maxDelay: Math.max(5000, retry.baseDelay ?? 0), jitter: 0, ...retry },
      attemptTimeouts: { diagnostic: 5000, practice: 5000, ...attemptTimeouts },
    },
  };
}

/** Records a page's uncaught errors (page.errors) and console lines (page.lines). */
export function watch(page) {
  page.errors = [];
  page.lines = [];
  page.on("pageerror", (err) => page.errors.push(err));
  page.on("console", (msg) => page.lines.push(`${msg.type()}: ${msg.text()}`));
  return page;
}

/** Opens the harness with a JobTracker built from `options` (or none with `{tracker: false}`). */
export async function openHarness(context, server, options, { tracker = true } = {}) {
  const page = watch(await context.newPage());
  const query = new URLSearchParams();
  if (options) query.set("options", JSON.stringify(options));
  if (!tracker) query.set("tracker", "none");
  await page.goto(`${server.url}/harness.html?${query}`);
  await page.waitForFunction(() => window.ready === true);
  const failed = await page.evaluate(() => window.initError);
  if (failed) throw new Error(`the harness's JobTracker refused its options: ${failed}`);
  return page;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something truthy (returned), or throws after `timeout` ms naming `what`. */
export async function waitFor(check, what, timeout = 15000) {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export const status = (page) => page.evaluate(() => window.tracker.getJobQueueStatus());
export const jobs = (page) => page.evaluate(() => window.tracker.getJobs());

/** Waits until the job of (userId, examType) is in `state`, and returns it. */
export function jobIn(page, userId, examType, state, timeout) {
  return waitFor(
    async () => (await jobs(page)).find((j) => j.userId === userId && j.examType === examType && j.state === state),
    `${userId}/${examType} ${state}`,
    timeout,
  );
}

/** Waits until the server has `n` requests for (userId, examType), and returns them. */
export function requestsArrive(server, userId, examType, n, timeout) {
  return waitFor(
    () => {
      const seen = server.requestsFor(userId, examType);
      return seen.length >= n && seen;
    },
    `${n} requests for ${userId}/${examType}`,
    timeout,
  );
}

/** Fails with the page's console when it threw anything uncaught. */
export function assertNoPageErrors(page, assert) {
  assert.deepEqual(page.errors.map(String), [], page.lines.join("\n"));
}

// Jobs outlive the page and are shared by tabs: a reload resumes a job waiting to retry, a reload during an attempt
// gets the lost attempt retried at once, and two tabs of one user never both send a job.

import assert from "node:assert/strict";
import { after, before, beforeEach, afterEach, test } from "node:test";

import { assertNoPageErrors, jobIn, jobs, launch, openHarness, quick, requestsArrive, sleep, status } from "./helpers.mjs";
import { startServer } from "./server.mjs";

let browser;
let server;
let context;

before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});
beforeEach(async () => {
  context = await browser.newContext();
});
afterEach(async () => {
  await context.close();
});

test("a reload during a retry wait resumes the job: the retry is sent by the new page", async () => {
  server.script("u-reload", "practice", [{ status: 500 }, { status: 200 }]);
  const page = await openHarness(context, server, quick({ retry: { baseDelay: 1500 } }));
  await page.evaluate(() => window.tracker.enqueueExamGeneration("u-reload", "practice"));
  const waiting = await jobIn(page, "u-reload", "practice", "retry_wait");
  assert.equal(server.requestsFor("u-reload", "practice").length, 1);

  const reloadedAt = Date.now();
  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  const resumed = await jobIn(page, "u-reload", "practice", "retry_wait");
  assert.equal(resumed.id, waiting.id, "the saved job came back with the page");

  const [, retry] = await requestsArrive(server, "u-reload", "practice", 2);
  assert.ok(retry.at > reloadedAt, "sent after the reload");
  assert.deepEqual({ jobId: retry.jobId, attempt: retry.attempt }, { jobId: waiting.id, attempt: 2 });
  await jobIn(page, "u-reload", "practice", "succeeded");
  assert.equal((await jobs(page)).length, 1, "nothing else was queued");
  assertNoPageErrors(page, assert);
});

test("a reload during an attempt: the lost attempt counts and is retried at once", async () => {
  server.script("u-lost", "diagnostic", [{ hang: true }, { status: 200 }]);
  const options = quick({ retry: { baseDelay: 60000 }, attemptTimeouts: { diagnostic: 60000 } });
  const page = await openHarness(context, server, options);
  await page.evaluate(() => window.tracker.enqueueExamGeneration("u-lost", "diagnostic"));
  const [first] = await requestsArrive(server, "u-lost", "diagnostic", 1);

  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  const [, second] = await requestsArrive(server, "u-lost", "diagnostic", 2);
  assert.equal(first.aborted, true, "the old page's request was dropped");
  assert.deepEqual({ jobId: second.jobId, attempt: second.attempt }, { jobId: first.jobId, attempt: 2 });
  const done = await jobIn(page, "u-lost", "diagnostic", "succeeded");
  assert.equal(done.attempt, 2);
  assertNoPageErrors(page, assert);
});

test("tabs of one user enqueueing at once send one request", async () => {
  server.script("u-tabs", "practice", [{ status: 200, delayMs: 800 }]);
  const pages = await Promise.all([0, 1, 2, 3].map(() => openHarness(context, server, quick())));
  const results = await Promise.all(
    pages.map((p) => p.evaluate(() => Promise.all([1, 2, 3].map(() => window.tracker.enqueueExamGeneration("u-tabs", "practice"))))),
  );
  const all = results.flat();
  assert.equal(all.filter((r) => r.created).length, 1, "one enqueue in one tab queued it, eleven found it queued");
  assert.equal(new Set(all.map((r) => r.jobId)).size, 1);
  for (const p of pages) await jobIn(p, "u-tabs", "practice", "succeeded");
  await sleep(300);
  assert.equal(server.requestsFor("u-tabs", "practice").length, 1);
  for (const p of pages) assertNoPageErrors(p, assert);
});

test("two dashboards of one user triggering on load send one request per exam type", async () => {
  for (const type of ["diagnostic", "practice"]) server.script("u-dash", type, [{ status: 200, delayMs: 600 }]);
  const pages = await Promise.all([0, 1, 2].map(() => openHarness(context, server, quick())));
  await Promise.all(pages.map((p) => p.evaluate(() => window.tracker.triggerBackgroundPreGeneration("u-dash"))));
  for (const p of pages) {
    await jobIn(p, "u-dash", "diagnostic", "succeeded");
    await jobIn(p, "u-dash", "practice", "succeeded");
  }
  assert.equal(server.requestsFor("u-dash", "diagnostic").length, 1);
  assert.equal(server.requestsFor("u-dash", "practice").length, 1);
  const s = await status(pages[2]);
  assert.equal(s.counts.succeeded, 2, "every tab sees the shared queue");
  for (const p of pages) assertNoPageErrors(p, assert);
});

test("a tab closed during its attempt: another tab of the user retries the job at once", async () => {
  server.script("u-closed", "practice", [{ hang: true }, { status: 200 }]);
  const options = quick({ retry: { baseDelay: 60000 }, attemptTimeouts: { practice: 60000 } });
  const sender = await openHarness(context, server, options);
  const other = await openHarness(context, server, options);
  await sender.evaluate(() => window.tracker.enqueueExamGeneration("u-closed", "practice"));
  const [first] = await requestsArrive(server, "u-closed", "practice", 1);
  await jobIn(other, "u-closed", "practice", "running");

  await sender.close();
  const [, second] = await requestsArrive(server, "u-closed", "practice", 2);
  assert.deepEqual({ jobId: second.jobId, attempt: second.attempt }, { jobId: first.jobId, attempt: 2 });
  await jobIn(other, "u-closed", "practice", "succeeded");
  assertNoPageErrors(other, assert);
});

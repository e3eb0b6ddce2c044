// JobTracker against scripted answers of the local route, in headless Chromium: success, retried failures with
// the core's backoff, timeouts, Retry-After, failures that are never retried, dedupe, clearing, bad input.

import assert from "node:assert/strict";
import { after, before, beforeEach, afterEach, test } from "node:test";

import { assertNoPageErrors, jobIn, jobs, launch, openHarness, quick, requestsArrive, sleep, status, waitFor } from "./helpers.mjs";
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

test("success: one POST of {userId, examType}; running shows in the old status shape; the job succeeds", async () => {
  server.script("u-ok", "practice", [{ status: 200, delayMs: 400 }]);
  const page = await openHarness(context, server, quick());
  const enqueued = await page.evaluate(() => window.tracker.enqueueExamGeneration("u-ok", "practice"));
  assert.deepEqual(enqueued, { jobId: "job-1", userId: "u-ok", examType: "practice", created: true });

  const running = await waitFor(async () => {
    const s = await status(page);
    return s.isProcessing && s;
  }, "isProcessing");
  assert.equal(running.queueLength, 1);
  assert.equal(running.counts.running, 1);
  const [summary] = running.jobs;
  assert.deepEqual(
    { userId: summary.userId, examType: summary.examType, retries: summary.retries, maxRetries: summary.maxRetries, state: summary.state },
    { userId: "u-ok", examType: "practice", retries: 1, maxRetries: 3, state: "running" },
  );
  assert.match(summary.lastAttempt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  await jobIn(page, "u-ok", "practice", "succeeded");
  const [request] = server.requestsFor("u-ok", "practice");
  assert.deepEqual({ jobId: request.jobId, attempt: request.attempt, status: request.status }, { jobId: "job-1", attempt: 1, status: 200 });
  const done = await status(page);
  assert.deepEqual({ queueLength: done.queueLength, isProcessing: done.isProcessing, jobs: done.jobs }, { queueLength: 0, isProcessing: false, jobs: [] });
  assert.equal(done.counts.succeeded, 1);
  assert.ok(await page.evaluate(() => window.changes > 0), "onChange was called");
  assertNoPageErrors(page, assert);
});

test("500 then success: the retry waits the core's backoff after the failed answer", async () => {
  const backoff = 600;
  server.script("u-500", "practice", [{ status: 500, body: { error: "database down" } }, { status: 200 }]);
  const page = await openHarness(context, server, quick({ retry: { baseDelay: backoff } }));
  await page.evaluate(() => window.tracker.enqueueExamGeneration("u-500", "practice"));

  const waiting = await jobIn(page, "u-500", "practice", "retry_wait");
  assert.deepEqual(waiting.lastError, { code: "route.server_error", message: "pre-generation route answered 500: database down" });
  assert.equal(waiting.attempt, 1);
  assert.equal(Date.parse(waiting.runAt) - Date.parse(waiting.updatedAt), backoff, "due one backoff after the 500 (no jitter)");
  const [first, second] = await requestsArrive(server, "u-500", "practice", 2);
  // The browser's and the server's times are one system clock; the server notes a request after it was sent.
  assert.ok(second.at >= Date.parse(waiting.runAt), `retry arrived ${Date.parse(waiting.runAt) - second.at} ms before it was due`);
  assert.deepEqual([first.attempt, second.attempt], [1, 2]);
  assert.equal(second.jobId, first.jobId);
  const done = await jobIn(page, "u-500", "practice", "succeeded");
  assert.equal(done.lastError, undefined, "success clears the error");
  assertNoPageErrors(page, assert);
});

test("an attempt that hangs past its timeout is aborted, then retried", async () => {
  const timeout = 700;
  server.script("u-hang", "practice", [{ hang: true }, { status: 200 }]);
  const page = await openHarness(context, server, quick({ attemptTimeouts: { practice: timeout }, retry: { baseDelay: 200 } }));
  await page.evaluate(() => window.tracker.enqueueExamGeneration("u-hang", "practice"));
  const running = await jobIn(page, "u-hang", "practice", "running");

  const [first, second] = await requestsArrive(server, "u-hang", "practice", 2);
  assert.equal(first.aborted, true, "the browser dropped the hung request");
  const started = Date.parse(running.startedAt);
  assert.ok(first.endedAt - started >= timeout, `aborted ${first.endedAt - started} ms after the attempt started, timeout ${timeout} ms`);
  assert.equal(second.attempt, 2);
  const done = await jobIn(page, "u-hang", "practice", "succeeded");
  const due = Date.parse(done.runAt);
  assert.ok(due - started >= timeout + 200, `retry due ${due - started} ms after the start: the timeout, then the backoff`);
  assert.ok(second.at >= due, "the retry was sent when due");
  assert.ok(page.lines.some((l) => l.includes("[BGJob]") && l.includes("queue.timeout")), page.lines.join("\n"));
  assertNoPageErrors(page, assert);
});

test("429 with Retry-After: the server's wait wins over a shorter backoff", async () => {
  server.script("u-429", "diagnostic", [{ status: 429, headers: { "retry-after": "2" }, body: { error: "slow down" } }, { status: 200 }]);
  const page = await openHarness(context, server, quick({ retry: { baseDelay: 100 } }));
  await page.evaluate(() => window.tracker.enqueueExamGeneration("u-429", "diagnostic"));

  const waiting = await jobIn(page, "u-429", "diagnostic", "retry_wait");
  assert.equal(waiting.lastError.code, "route.rate_limited");
  assert.ok(Date.parse(waiting.runAt) - Date.parse(waiting.updatedAt) >= 2000, "run at least 2 s after the answer");
  const [, second] = await requestsArrive(server, "u-429", "diagnostic", 2, 10000);
  assert.ok(second.at >= Date.parse(waiting.runAt), "the retry was sent when due");
  await jobIn(page, "u-429", "diagnostic", "succeeded");
  assertNoPageErrors(page, assert);
});

test("4xx other than 408 and 429: never retried, the job is dead with the route's reason", async () => {
  const statuses = [400, 401, 403, 404, 409, 413, 422];
  for (const code of statuses) server.script(`u-${code}`, "practice", [{ status: code, body: { error: code === 400 ? "Invalid examType" : `refused ${code}` } }]);
  const page = await openHarness(context, server, quick({ retry: { baseDelay: 100 } }));
  await page.evaluate((codes) => Promise.all(codes.map((c) => window.tracker.enqueueExamGeneration(`u-${c}`, "practice"))), statuses);

  for (const code of statuses) {
    const dead = await jobIn(page, `u-${code}`, "practice", "dead");
    assert.equal(dead.lastError.code, "route.rejected", `${code}`);
    assert.equal(dead.attempt, 1, `${code}`);
  }
  const bad = (await jobs(page)).find((j) => j.userId === "u-400");
  assert.deepEqual(bad.lastError, { code: "route.rejected", message: "pre-generation route answered 400: Invalid examType" });
  await sleep(600); // six backoffs: a retry, if any were made, would have arrived
  for (const code of statuses) assert.equal(server.requestsFor(`u-${code}`, "practice").length, 1, `${code} sent once`);
  const s = await status(page);
  assert.deepEqual({ queueLength: s.queueLength, dead: s.counts.dead }, { queueLength: 0, dead: statuses.length });
  assertNoPageErrors(page, assert);
});

test("408 and 5xx are retried until they succeed", async () => {
  const statuses = [408, 500, 502, 503, 504];
  for (const code of statuses) server.script(`u-${code}`, "diagnostic", [{ status: code }, { status: 200 }]);
  const page = await openHarness(context, server, quick({ retry: { baseDelay: 100 } }));
  await page.evaluate((codes) => Promise.all(codes.map((c) => window.tracker.enqueueExamGeneration(`u-${c}`, "diagnostic"))), statuses);
  for (const code of statuses) {
    const done = await jobIn(page, `u-${code}`, "diagnostic", "succeeded");
    assert.equal(done.attempt, 2, `${code}`);
  }
  assertNoPageErrors(page, assert);
});

test("no answer at all (connection refused): retried, then dead with route.unreachable", async () => {
  const page = await openHarness(context, server, quick({ endpoint: "http://127.0.0.1:9/api/pre-generate-exam", retry: { baseDelay: 100, maxAttempts: 2 } }));
  await page.evaluate(() => window.tracker.enqueueExamGeneration("u-down", "practice"));
  const dead = await jobIn(page, "u-down", "practice", "dead");
  assert.equal(dead.lastError.code, "route.unreachable");
  assert.equal(dead.attempt, 2);
  assertNoPageErrors(page, assert);
});

test("dedupe: repeated enqueues and triggers of a queued key make one job and one request", async () => {
  server.script("u-dup", "practice", [{ status: 200, delayMs: 500 }]);
  server.script("u-dup", "diagnostic", [{ status: 200, delayMs: 500 }]);
  const page = await openHarness(context, server, quick());
  const results = await page.evaluate(async () => {
    const t = window.tracker;
    const burst = await Promise.all([1, 2, 3, 4, 5].map(() => t.enqueueExamGeneration("u-dup", "practice")));
    const trigger = await t.triggerBackgroundPreGeneration("u-dup");
    const again = await t.triggerBackgroundPreGeneration("u-dup");
    return { burst, trigger, again };
  });
  assert.deepEqual(results.burst.map((r) => r.created), [true, false, false, false, false]);
  assert.equal(new Set(results.burst.map((r) => r.jobId)).size, 1);
  assert.deepEqual(results.trigger.map((r) => [r.examType, r.created]), [["diagnostic", true], ["practice", false]]);
  assert.deepEqual(results.again.map((r) => r.created), [false, false]);
  await jobIn(page, "u-dup", "practice", "succeeded");
  await jobIn(page, "u-dup", "diagnostic", "succeeded");
  assert.equal(server.requestsFor("u-dup", "practice").length, 1);
  assert.equal(server.requestsFor("u-dup", "diagnostic").length, 1);
  assert.equal((await jobs(page)).length, 2);
  const next = await page.evaluate(() => window.tracker.triggerBackgroundPreGeneration("u-dup", "diagnostic"));
  assert.deepEqual(next.map((r) => [r.examType, r.created]), [["practice", true]], "after a finished diagnostic: a new practice job");
  assertNoPageErrors(page, assert);
});

test("clearJobQueue cancels waiting jobs and leaves the running one", async () => {
  server.script("u-clear", "practice", [{ hang: true }]);
  server.script("u-clear", "diagnostic", [{ status: 503 }]);
  const page = await openHarness(context, server, quick({ retry: { baseDelay: 60000 } }));
  await page.evaluate(() => window.tracker.triggerBackgroundPreGeneration("u-clear"));
  await jobIn(page, "u-clear", "diagnostic", "retry_wait");
  await jobIn(page, "u-clear", "practice", "running");
  assert.equal(await page.evaluate(() => window.tracker.clearJobQueue()), 1);
  const s = await status(page);
  assert.deepEqual(
    { queueLength: s.queueLength, isProcessing: s.isProcessing, cancelled: s.counts.cancelled, left: s.jobs.map((j) => j.examType) },
    { queueLength: 1, isProcessing: true, cancelled: 1, left: ["practice"] },
  );
  assertNoPageErrors(page, assert);
});

test("bad input throws an Error with the core's code at once, and nothing is queued", async () => {
  const page = await openHarness(context, server, quick());
  const outcomes = await page.evaluate(() => {
    const t = window.tracker;
    const attempt = (call) => {
      try {
        call();
        return "no error";
      } catch (err) {
        return { isError: err instanceof Error, code: err.code, message: err.message };
      }
    };
    return {
      empty: attempt(() => t.enqueueExamGeneration("", "practice")),
      padded: attempt(() => t.enqueueExamGeneration(" u1", "practice")),
      control: attempt(() => t.enqueueExamGeneration("u\n1", "practice")),
      long: attempt(() => t.enqueueExamGeneration("x".repeat(129), "practice")),
      notString: attempt(() => t.enqueueExamGeneration(42, "practice")),
      missing: attempt(() => t.enqueueExamGeneration(undefined, "practice")),
      capital: attempt(() => t.enqueueExamGeneration("u1", "Practice")),
      unknown: attempt(() => t.enqueueExamGeneration("u1", "final")),
      noType: attempt(() => t.enqueueExamGeneration("u1", undefined)),
      triggerType: attempt(() => t.triggerBackgroundPreGeneration("u1", "exam")),
      triggerUser: attempt(() => t.triggerBackgroundPreGeneration("")),
      badOption: attempt(() => new window.JobTracker({ endpont: "/x" })),
      badNumber: attempt(() => new window.JobTracker({ queue: { retry: { maxAttempts: 0 } } })),
    };
  });
  const codes = Object.fromEntries(Object.entries(outcomes).map(([k, v]) => [k, v.code]));
  assert.deepEqual(codes, {
    empty: "queue.invalid_user_id",
    padded: "queue.invalid_user_id",
    control: "queue.invalid_user_id",
    long: "queue.invalid_user_id",
    notString: "queue.invalid_user_id",
    missing: "queue.invalid_user_id",
    capital: "queue.invalid_exam_type",
    unknown: "queue.invalid_exam_type",
    noType: "queue.invalid_exam_type",
    triggerType: "queue.invalid_exam_type",
    triggerUser: "queue.invalid_user_id",
    badOption: "tracker.invalid_options",
    badNumber: "queue.invalid_options",
  });
  assert.ok(Object.values(outcomes).every((o) => o.isError), "all are Error objects");
  assert.equal(outcomes.empty.message, "invalid userId: must not be empty");
  await sleep(100);
  assert.deepEqual(await jobs(page), []);
  assert.equal(server.requests.filter((r) => r.userId === "u1" || r.userId === "").length, 0);
  assertNoPageErrors(page, assert);
});

test("without IndexedDB or Web Locks the tracker still runs in its tab, and says so", async () => {
  await context.addInitScript(() => {
    IDBFactory.prototype.open = () => {
      throw new DOMException("refused for the test", "SecurityError");
    };
    Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined });
  });
  server.script("u-degraded", "practice", [{ status: 500 }, { status: 200 }]);
  const page = await openHarness(context, server, quick({ retry: { baseDelay: 100 } }));
  await page.evaluate(() => window.tracker.enqueueExamGeneration("u-degraded", "practice"));
  const done = await jobIn(page, "u-degraded", "practice", "succeeded");
  assert.equal(done.attempt, 2);
  const warnings = page.lines.filter((l) => l.startsWith("warning: [BGJob]"));
  assert.ok(warnings.some((l) => l.includes("Web Locks are unavailable")), warnings.join("\n"));
  assert.ok(warnings.some((l) => l.includes("jobs are kept in this tab only")), warnings.join("\n"));
  assertNoPageErrors(page, assert);
});

// The demo dashboard (examples/browser) triggers both exam types on load and shows the queue live; a screenshot of
// its status panel is decoded and checked to show something. Also: the package's generated .d.ts is typed.

import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { assertNoPageErrors, launch, waitFor, watch } from "./helpers.mjs";
import { decodePng, distinctColours } from "./png.mjs";
import { PACKAGE_DIR, startServer } from "./server.mjs";

const RESULTS = fileURLToPath(new URL("../test-results/", import.meta.url));

let browser;
let server;

before(async () => {
  server = await startServer({ defaultAnswer: { status: 200, delayMs: 300 } });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("the dashboard triggers both types on load and its status panel shows them", async () => {
  server.script("demo-user", "practice", [{ status: 503, body: { error: "warming up" } }]);
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const page = watch(await context.newPage());
  await page.goto(`${server.url}/demo/index.html?user=demo-user`);
  await waitFor(() => server.requestsFor("demo-user", "diagnostic").length === 1, "the diagnostic request");
  await waitFor(async () => (await page.locator("#jobs tr").count()) === 2 && (await page.locator("#jobs .state.retry_wait").count()) === 1, "a retry wait shown");
  assert.match(await page.locator("#jobs").innerText(), /route\.server_error: pre-generation route answered 503: warming up/);

  const panel = page.locator("#status");
  const png = await panel.screenshot();
  await mkdir(RESULTS, { recursive: true });
  await writeFile(join(RESULTS, "status-panel.png"), png);
  const image = decodePng(png);
  const box = await panel.boundingBox();
  assert.ok(image.width >= 200 && image.height >= 100, `screenshot ${image.width}x${image.height}`);
  assert.equal(image.width, Math.round(box.width));
  assert.ok(distinctColours(image) > 20, "the panel is drawn, not a blank rectangle");

  await page.locator("#clear").click();
  await waitFor(async () => (await page.locator("#counts .count.cancelled").innerText()) === "1", "the cleared job shown");
  assert.equal(server.requestsFor("demo-user", "practice").length, 1);
  assertNoPageErrors(page, assert);
  await context.close();
});

test("the generated .d.ts types the tracker's API", async () => {
  const dts = await readFile(join(PACKAGE_DIR, "pregen_wasm.d.ts"), "utf8");
  for (const declaration of [
    "export class JobTracker",
    "constructor(options?: TrackerOptions);",
    "enqueueExamGeneration(userId: string, examType: ExamType): Promise<Enqueued>;",
    "triggerBackgroundPreGeneration(userId: string, lastExamType?: ExamType): Promise<Enqueued[]>;",
    "getJobQueueStatus(): QueueStatus;",
    "getJobs(): Job[];",
    "clearJobQueue(): Promise<number>;",
    "export interface QueueStatus {",
    "export interface PregenError extends Error {",
  ]) {
    assert.ok(dts.includes(declaration), `missing: ${declaration}`);
  }
});

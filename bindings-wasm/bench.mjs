// Figures for BENCHMARKS.md: the size of the built .wasm (raw and gzip -9) and the time from page load
// (navigation start) to the tracker's first request, read from the browser's Resource Timing entry of that
// request, over fresh loads (new browser context each) of the demo dashboard in headless Chromium against the
// local test server. The baseline, loaded alternately in the same run, is a page whose module script POSTs the
// same route directly: the difference is what loading the WASM and starting the tracker cost.
//
//   node bench.mjs [loads]        (after ./build.sh; default 25 loads)

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

import { launch } from "./tests/helpers.mjs";
import { PACKAGE_DIR, startServer } from "./tests/server.mjs";

const loads = Number(process.argv[2] ?? 25);

function percentile(sorted, p) {
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

const sizes = {};
for (const file of ["pregen_wasm_bg.wasm", "pregen_wasm.js"]) {
  const bytes = await readFile(join(PACKAGE_DIR, file));
  sizes[file] = { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

const server = await startServer({ defaultAnswer: { status: 200 } });
const browser = await launch();
const firstRequestMs = { tracker: [], baseline: [] };

async function firstRequest(path) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}${path}`);
  const start = await page.waitForFunction(() => {
    const entries = performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/api/pre-generate-exam"));
    return entries.length > 0 && Math.min(...entries.map((e) => e.startTime));
  });
  const ms = await start.jsonValue();
  await context.close();
  return ms;
}

try {
  for (let i = 0; i < loads; i += 1) {
    firstRequestMs.tracker.push(await firstRequest(`/demo/index.html?user=bench-${i}`));
    firstRequestMs.baseline.push(await firstRequest(`/baseline.html?user=bench-${i}`));
  }
} finally {
  await browser.close();
  await server.close();
}

function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (v) => Number(v.toFixed(1));
  return { p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), min: round(sorted[0]), max: round(sorted.at(-1)) };
}

const tracker = summary(firstRequestMs.tracker);
const baseline = summary(firstRequestMs.baseline);
const result = {
  wasm: sizes["pregen_wasm_bg.wasm"],
  glue: sizes["pregen_wasm.js"],
  loads,
  firstRequestMs: { tracker, baseline, p50Difference: Number((tracker.p50 - baseline.p50).toFixed(1)) },
};
console.log(JSON.stringify(result, null, 2));

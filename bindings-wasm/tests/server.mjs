// A local test server for the browser tests and the demo: serves the built package (/pkg/), the demo page
// (/demo/), the test harness (/harness.html) and the benchmark's baseline page (/baseline.html), and answers POST /api/pre-generate-exam from a script of answers
// per (userId, examType), recording every request: when it arrived, when it was answered or aborted, and how.
//
// Every answer closes its connection: Chromium resends a request that got a 408 on a reused connection by
// itself, which would hide the 408 from the tracker under test.
//
// Run on its own (`node tests/server.mjs [port]`) it serves the demo with answers after a short delay.

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
export const PACKAGE_DIR = join(here, "..", "pkg");
export const DEMO_DIR = join(here, "..", "..", "examples", "browser");
const ROUTE = "/api/pre-generate-exam";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".css": "text/css; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
  ".json": "application/json",
};

/** The files served under each prefix. */
const MOUNTS = [
  ["/pkg/", PACKAGE_DIR],
  ["/demo/", DEMO_DIR],
  ["/harness.html", join(here, "harness.html")],
  ["/baseline.html", join(here, "baseline.html")],
];

function staticPath(pathname) {
  for (const [prefix, dir] of MOUNTS) {
    if (prefix.endsWith("/") && pathname.startsWith(prefix)) {
      const rel = normalize(decodeURIComponent(pathname.slice(prefix.length)) || "index.html");
      if (rel.startsWith("..")) return null;
      return join(dir, rel);
    }
    if (pathname === prefix) return dir;
  }
  return null;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Starts the server on 127.0.0.1 (a secure context, so Web Locks exist). `defaultAnswer` answers requests with no
 * scripted answer left.
 */
export async function startServer({ port = 0, defaultAnswer = { status: 200 } } = {}) {
  const scripts = new Map();
  const requests = [];
  const hanging = new Set();

  async function answerRoute(req, res) {
    const raw = await readBody(req);
    let body = {};
    try {
      body = JSON.parse(raw);
    } catch {
      body = {};
    }
    const key = `${body.userId}/${body.examType}`;
    const record = {
      key,
      userId: body.userId,
      examType: body.examType,
      jobId: req.headers["x-pregen-job-id"],
      attempt: Number(req.headers["x-pregen-attempt"]),
      at: Date.now(),
      endedAt: null,
      aborted: false,
      status: null,
    };
    requests.push(record);
    res.on("close", () => {
      if (!res.writableFinished) {
        record.aborted = true;
        record.endedAt = Date.now();
      }
      hanging.delete(res);
    });
    const answer = scripts.get(key)?.shift() ?? defaultAnswer;
    if (answer.hang) {
      hanging.add(res);
      return;
    }
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (res.destroyed) return;
    const status = answer.status ?? 200;
    const payload = answer.body ?? (status < 300 ? { success: true, examId: `exam-${requests.length}`, questionCount: 225 } : { error: `status ${status}` });
    res.writeHead(status, { "content-type": "application/json", ...(answer.headers ?? {}) });
    res.end(JSON.stringify(payload), () => {
      record.status = status;
      record.endedAt = Date.now();
    });
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    res.setHeader("connection", "close");
    try {
      if (req.method === "POST" && url.pathname === ROUTE) return await answerRoute(req, res);
      const file = req.method === "GET" ? staticPath(url.pathname) : null;
      if (!file) {
        res.writeHead(404).end("not found");
        return;
      }
      const data = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(data);
    } catch (err) {
      res.writeHead(err.code === "ENOENT" ? 404 : 500).end(String(err.message));
    }
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;

  return {
    url,
    requests,
    /** Answers the next requests for (userId, examType), in order: {status, body, headers, delayMs} or {hang: true}. */
    script(userId, examType, answers) {
      scripts.set(`${userId}/${examType}`, [...answers]);
    },
    /** The requests recorded for (userId, examType). */
    requestsFor(userId, examType) {
      return requests.filter((r) => r.key === `${userId}/${examType}`);
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 8080);
  const server = await startServer({ port, defaultAnswer: { status: 200, delayMs: 1500 } });
  console.log(`demo: ${server.url}/demo/index.html?user=demo-user (Ctrl-C to stop)`);
}

// The demo dashboard: loads pregen-wasm, triggers background pre-generation on load (both exam types, as the old
// dashboard did), and shows the queue live. `?user=` picks the user, `?endpoint=` the route.
import init, { JobTracker } from "/pkg/pregen_wasm.js";

const params = new URLSearchParams(location.search);
const userId = params.get("user") ?? "demo-user";
const endpoint = params.get("endpoint") ?? undefined;

const COUNTS = ["pending", "running", "retryWait", "succeeded", "dead", "cancelled"];

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function render(tracker) {
  const status = tracker.getJobQueueStatus();
  const badge = document.getElementById("processing");
  badge.textContent = status.isProcessing ? "sending" : status.queueLength > 0 ? "waiting" : "idle";
  badge.className = `badge ${status.isProcessing ? "busy" : status.queueLength > 0 ? "waiting" : "idle"}`;

  const counts = document.getElementById("counts");
  counts.replaceChildren(
    ...COUNTS.flatMap((name) => {
      const dt = document.createElement("dt");
      dt.textContent = name;
      const dd = document.createElement("dd");
      dd.textContent = String(status.counts[name]);
      dd.className = `count ${name}`;
      return [dt, dd];
    }),
  );

  const rows = tracker.getJobs().map((job) => {
    const tr = document.createElement("tr");
    tr.append(
      cell(job.id),
      cell(job.userId),
      cell(job.examType),
      cell(job.state.replace("_", " "), `state ${job.state}`),
      cell(`${job.attempt} / ${job.maxAttempts}`),
      cell(job.startedAt ? new Date(job.startedAt).toLocaleTimeString() : "—"),
      cell(job.lastError ? `${job.lastError.code}: ${job.lastError.message}` : ""),
    );
    return tr;
  });
  const body = document.getElementById("jobs");
  if (rows.length === 0) body.replaceChildren(Object.assign(document.createElement("tr"), { innerHTML: '<td colspan="7">no jobs</td>' }));
  else body.replaceChildren(...rows);
}

function report(err) {
  console.error(`[Pre-Gen] ${err.code ?? "error"}: ${err.message}`);
}

await init();
const tracker = new JobTracker(endpoint ? { endpoint } : undefined);
window.tracker = tracker;
tracker.onChange(() => render(tracker));
setInterval(() => render(tracker), 1000);
render(tracker);

tracker.triggerBackgroundPreGeneration(userId).catch(report);
for (const type of ["diagnostic", "practice"]) {
  document.getElementById(`finished-${type}`).addEventListener("click", () => {
    tracker.triggerBackgroundPreGeneration(userId, type).catch(report);
  });
}
document.getElementById("clear").addEventListener("click", () => {
  tracker.clearJobQueue().then(() => render(tracker), report);
});

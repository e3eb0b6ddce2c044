// A second Node process for the process-life tests: opens the addon on a SQLite file with a (slow) simulator,
// queues work, starts the workers and waits until a job is running, then ends the way `mode` says:
//   hold     shutdown(0), print the report, and stay alive until killed (the parent checks the store meanwhile);
//   natural  return from the script with the workers still running (the process must exit by itself);
//   exit     process.exit(0) with the workers still running.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { PreGen } = require(process.env.PREGEN_ADDON)
const [mode, database, url, apiKey] = process.argv.slice(2)

/** How long the child waits for a job to be running before it gives up (a hang guard, not a timing assertion). */
const RUNNING_WAIT_MS = 30_000

const pg = await PreGen.open({ database, anthropicBaseUrl: url, anthropicApiKey: apiKey, workers: 2, ignoreEnv: true })
await pg.triggerBackgroundPreGeneration('life-user')
pg.startWorkers()
const deadline = Date.now() + RUNNING_WAIT_MS
for (;;) {
  const status = await pg.getJobQueueStatus()
  if (status.counts.running > 0) break
  if (Date.now() > deadline) {
    // No job ran (they failed at once, or the workers never claimed): say what the queue holds, and fail.
    console.log(JSON.stringify({ event: 'stuck', status }))
    process.exit(1)
  }
  await new Promise((r) => setTimeout(r, 20))
}
console.log(JSON.stringify({ event: 'running' }))

if (mode === 'hold') {
  const report = await pg.shutdown(0)
  console.log(JSON.stringify({ event: 'shutdown', report }))
  setInterval(() => {}, 1000)
} else if (mode === 'exit') {
  process.exit(0)
}

// pg-boss on the same Postgres as benches/pg_queue.rs, with the same workload: JOBS no-op jobs sent by PRODUCERS
// concurrent producers, each one by one (each send awaited, durable: the server's synchronous_commit as
// configured, on by default) while WORKERS workers fetch, run and complete them. Throughput is jobs completed per second from the first send to the last
// completion. Tuned as pg-boss's docs say for throughput: each worker fetches a batch (batchSize) and polls at
// the shortest interval allowed (0.5 s).
//
// Usage: node bench.mjs <postgres URL> <workers> <jobs> [batchSize] [producers]   (prints one JSON line)
import PgBoss from 'pg-boss'

const [url, workersArg, jobsArg, batchArg, producersArg] = process.argv.slice(2)
const workers = Number(workersArg)
const jobs = Number(jobsArg)
const batchSize = Number(batchArg ?? 50)
const producers = Number(producersArg ?? 1)

const boss = new PgBoss({
  connectionString: url,
  max: Math.max(4, workers + 2) + Math.min(producers, 16),
  schedule: false,
  supervise: false,
})
boss.on('error', (e) => console.error(e))
await boss.start()
const queue = `bench_${workers}_${Date.now()}`
await boss.createQueue(queue)

let handled = 0
for (let i = 0; i < workers; i++) {
  await boss.work(queue, { batchSize, pollingIntervalSeconds: 0.5 }, async (batch) => {
    handled += batch.length
  })
}

const db = boss.getDb()
const completed = async () =>
  Number((await db.executeSql("SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state = 'completed'", [queue])).rows[0].n)

const start = performance.now()
const sendLatencies = []
const produce = async (p) => {
  for (let i = p; i < jobs; i += producers) {
    const t = performance.now()
    await boss.send(queue, { i })
    sendLatencies.push(performance.now() - t)
  }
}
await Promise.all(Array.from({ length: producers }, (_, p) => produce(p)))
while ((await completed()) < jobs) {
  await new Promise((resolve) => setTimeout(resolve, 50))
}
const seconds = (performance.now() - start) / 1000
sendLatencies.sort((a, b) => a - b)
const q = (p) => sendLatencies[Math.min(sendLatencies.length - 1, Math.floor(p * sendLatencies.length))]
console.log(JSON.stringify({ workers, producers, jobs, batchSize, jobsPerSecond: jobs / seconds, handled, sendP50Ms: q(0.5), sendP99Ms: q(0.99) }))
await boss.stop({ graceful: false, wait: false })
process.exit(0)

//! Queue throughput on Postgres beside pg-boss on the same server in the same run: 20,000 no-op jobs enqueued by
//! one producer and by 64 concurrent producers (each enqueue awaited, committed durably; a producer sends its next
//! job when the last is committed) while a worker pool of 1, 4 and 16 workers claims, runs and completes them;
//! throughput is jobs completed per second from the first enqueue to the last completion.
//! pg-boss runs the same workload through `benches/pgboss/bench.mjs` (its npm package pinned in the lockfile;
//! `npm ci` there first), when `node` and its packages are present.
//!
//! Run: `(cd benches/pgboss && npm ci) && cargo bench -p pregen-benches --features postgres --bench pg_queue`.
//! The server is `PREGEN_BENCH_DATABASE_URL` (default: the local server as `postgres`); the database
//! `pregen_bench_queue` is created afresh for each run. `PREGEN_BENCH_JOBS`, `PREGEN_BENCH_WORKERS` (e.g. `1,4`)
//! and `PREGEN_BENCH_PRODUCERS` (e.g. `1,64`) shorten a run; `PREGEN_BENCH_NO_NOTIFY=1` turns the jobs table's NOTIFY triggers off (a diagnostic of their
//! cost, not a product setting).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use pregen_benches::Latencies;
use pregen_core::SystemClock;
use pregen_core::exam::ExamType;
use pregen_core::queue::{Job, JobKey, QueueOptions};
use pregen_core::store::JobStore;
use pregen_core::store::postgres::tokio_postgres::{self, NoTls};
use pregen_core::store::postgres::{PgOptions, PgStore};
use pregen_core::worker::{HandlerError, HandlerOutput, JobContext, JobHandler, PoolOptions, Runner, WorkerPool};

const DATABASE: &str = "pregen_bench_queue";
const JOBS: usize = 20_000;
/// How often the harness counts finished jobs (as the pg-boss harness does); counting competes with the pool for the
/// server's CPUs.
const STATUS_EVERY: Duration = Duration::from_millis(50);

/// The job count: `PREGEN_BENCH_JOBS` (for quick runs), else the 20,000.
fn jobs() -> usize {
    std::env::var("PREGEN_BENCH_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(JOBS)
}

/// A comma-separated list of counts from `var`, else `default`.
fn counts(var: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(var)
        .ok()
        .map(|v| v.split(',').filter_map(|w| w.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

fn server_url() -> String {
    std::env::var("PREGEN_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn database_url() -> String {
    pregen_benches::database_url(&server_url(), DATABASE)
}

struct NoOp;

#[async_trait]
impl JobHandler for NoOp {
    async fn handle(&self, _job: Job, _ctx: JobContext) -> Result<HandlerOutput, HandlerError> {
        Ok(HandlerOutput::Nothing)
    }
}

/// Drops and creates the bench database.
async fn fresh_database() {
    let (admin, connection) = tokio_postgres::connect(&server_url(), NoTls).await.expect("reach the server");
    tokio::spawn(connection);
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")).await.expect("drop");
    admin.batch_execute(&format!("CREATE DATABASE {DATABASE}")).await.expect("create");
}

async fn pregen(workers: usize, producers: usize) -> (f64, Latencies) {
    fresh_database().await;
    let options = PgOptions { max_connections: workers + 4, ..PgOptions::default() };
    let store = PgStore::connect(&database_url(), options).await.expect("open");
    if std::env::var_os("PREGEN_BENCH_NO_NOTIFY").is_some() {
        // Diagnostic only: measures what the wake-up NOTIFY triggers cost (the pool here is woken in-process).
        let client = store.client().await.expect("a connection");
        client
            .batch_execute(
                "ALTER TABLE pregen.jobs DISABLE TRIGGER jobs_notify_waiting;
                 ALTER TABLE pregen.jobs DISABLE TRIGGER jobs_notify_end;",
            )
            .await
            .expect("disable the NOTIFY triggers");
    }
    let queue = QueueOptions::default();
    let runner = Runner::new(Arc::new(store.clone()), Arc::new(NoOp), queue, Arc::new(SystemClock));
    let pool = WorkerPool::start(runner, PoolOptions { workers, ..PoolOptions::default() });
    let notify = pool.notifier();
    let jobs = jobs();
    let start = Instant::now();
    let producing: Vec<_> = (0..producers)
        .map(|p| {
            let (store, notify) = (store.clone(), Arc::clone(&notify));
            tokio::spawn(async move {
                let mut enqueue = Latencies::default();
                for i in (p..jobs).step_by(producers) {
                    let exam_type = if i % 2 == 0 { ExamType::Diagnostic } else { ExamType::Practice };
                    let key = JobKey::new(format!("user-{i}"), exam_type);
                    let t = Instant::now();
                    store.enqueue(&key, Utc::now(), &queue).await.expect("enqueue");
                    enqueue.record(t.elapsed());
                    notify.notify_one();
                }
                enqueue
            })
        })
        .collect();
    let mut enqueue = Latencies::default();
    for producer in producing {
        enqueue.merge(producer.await.expect("a producer"));
    }
    // Counted as the pg-boss harness counts its completed jobs: one count query every STATUS_EVERY.
    let counter = store.client().await.expect("a connection");
    loop {
        let row = counter
            .query_one("SELECT count(*) FROM pregen.jobs WHERE state = 'succeeded'", &[])
            .await
            .expect("count the succeeded jobs");
        if row.get::<_, i64>(0) as usize == jobs {
            break;
        }
        tokio::time::sleep(STATUS_EVERY).await;
    }
    drop(counter);
    let elapsed = start.elapsed().as_secs_f64();
    pool.shutdown(Duration::from_secs(5)).await;
    (jobs as f64 / elapsed, enqueue)
}

/// pg-boss's line for `workers`, or why it did not run.
fn pg_boss(workers: usize, producers: usize) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pgboss");
    if !dir.join("node_modules/pg-boss").exists() {
        return "not run (run `npm ci` in benches/pgboss)".into();
    }
    let out = Command::new("node")
        .current_dir(&dir)
        .args([
            "bench.mjs",
            &database_url(),
            &workers.to_string(),
            &jobs().to_string(),
            "50",
            &producers.to_string(),
        ])
        .output();
    match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => format!("failed: {}", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => format!("not run: {e}"),
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let (admin, connection) = tokio_postgres::connect(&server_url(), NoTls).await.expect("reach the server");
        tokio::spawn(connection);
        let sync: String = admin.query_one("SHOW synchronous_commit", &[]).await.unwrap().get(0);
        println!("{} no-op jobs, each enqueue awaited (Postgres, synchronous_commit = {sync}):", jobs());
        for producers in counts("PREGEN_BENCH_PRODUCERS", &[1, 64]) {
            for workers in counts("PREGEN_BENCH_WORKERS", &[1, 4, 16]) {
                let (rate, enqueue) = pregen(workers, producers).await;
                println!(
                    "  pregen  {producers:>2} producers, {workers:>2} workers: {rate:>7.0} jobs/s; enqueue latency {}",
                    enqueue.summary()
                );
                println!("  pg-boss {producers:>2} producers, {workers:>2} workers: {}", pg_boss(workers, producers));
            }
        }
    });
}

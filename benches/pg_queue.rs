//! Queue throughput on Postgres beside pg-boss on the same server in the same run: 20,000 no-op jobs enqueued
//! one by one (each enqueue awaited, committed durably) while a worker pool of 1, 4 and 16 workers claims, runs
//! and completes them; throughput is jobs completed per second from the first enqueue to the last completion.
//! pg-boss runs the same workload through `benches/pgboss/bench.mjs` (its npm package pinned in the lockfile;
//! `npm ci` there first), when `node` and its packages are present.
//!
//! Run: `(cd benches/pgboss && npm ci) && cargo bench -p pregen-benches --features postgres --bench pg_queue`.
//! The server is `PREGEN_BENCH_DATABASE_URL` (default: the local server as `postgres`); the database
//! `pregen_bench_queue` is created afresh for each run.

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

fn server_url() -> String {
    std::env::var("PREGEN_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn database_url() -> String {
    format!("{}/{DATABASE}", server_url().rsplit_once('/').expect("a URL with a database").0)
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

async fn pregen(workers: usize) -> (f64, Latencies) {
    fresh_database().await;
    let options = PgOptions { max_connections: workers + 4, ..PgOptions::default() };
    let store = PgStore::connect(&database_url(), options).await.expect("open");
    let queue = QueueOptions::default();
    let runner = Runner::new(Arc::new(store.clone()), Arc::new(NoOp), queue, Arc::new(SystemClock));
    let pool = WorkerPool::start(runner, PoolOptions { workers, ..PoolOptions::default() });
    let notify = pool.notifier();
    let start = Instant::now();
    let mut enqueue = Latencies::default();
    for i in 0..JOBS {
        let key =
            JobKey::new(format!("user-{i}"), if i % 2 == 0 { ExamType::Diagnostic } else { ExamType::Practice });
        let t = Instant::now();
        store.enqueue(&key, Utc::now(), &queue).await.expect("enqueue");
        enqueue.record(t.elapsed());
        notify.notify_one();
    }
    loop {
        let status = store.queue_status(Utc::now(), 0).await.expect("status");
        if status.counts.succeeded as usize == JOBS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    pool.shutdown(Duration::from_secs(5)).await;
    (JOBS as f64 / elapsed, enqueue)
}

/// pg-boss's line for `workers`, or why it did not run.
fn pg_boss(workers: usize) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pgboss");
    if !dir.join("node_modules/pg-boss").exists() {
        return "not run (run `npm ci` in benches/pgboss)".into();
    }
    let out = Command::new("node")
        .current_dir(&dir)
        .args(["bench.mjs", &database_url(), &workers.to_string(), &JOBS.to_string()])
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
        println!("{JOBS} no-op jobs, each enqueue awaited (Postgres, synchronous_commit = {sync}):");
        for workers in [1, 4, 16] {
            let (rate, enqueue) = pregen(workers).await;
            println!("  pregen  {workers:>2} workers: {rate:>7.0} jobs/s; enqueue latency {}", enqueue.summary());
            println!("  pg-boss {workers:>2} workers: {}", pg_boss(workers));
        }
    });
}

//! Wake latency across processes on Postgres: this process enqueues one job at a time; a worker pool in a child
//! process (this bench run again) claims it and reports when its handler started. The latency is the child's
//! wall-clock start minus the parent's wall-clock enqueue (both on this machine's clock), with the child woken by
//! LISTEN/NOTIFY, and with listening off (polling every second, the pool's default).
//!
//! Run: `cargo bench -p pregen-benches --features postgres --bench pg_wake`. The server is
//! `PREGEN_BENCH_DATABASE_URL` (default: the local server as `postgres`); the database `pregen_bench_wake` is
//! created afresh for each run.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

const DATABASE: &str = "pregen_bench_wake";
const CHILD_ENV: &str = "PREGEN_BENCH_WAKE_CHILD";
const LISTEN_SAMPLES: usize = 500;
const POLL_SAMPLES: usize = 60;

fn server_url() -> String {
    std::env::var("PREGEN_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn database_url() -> String {
    format!("{}/{DATABASE}", server_url().rsplit_once('/').expect("a URL with a database").0)
}

fn epoch_micros() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_micros()
}

/// Prints `woke <micros>` for each job: the start time minus the enqueue time carried in the user id.
struct Report;

#[async_trait]
impl JobHandler for Report {
    async fn handle(&self, job: Job, _ctx: JobContext) -> Result<HandlerOutput, HandlerError> {
        let now = epoch_micros();
        let sent: u128 = job.key.user_id.trim_start_matches("w-").parse().expect("a timestamp id");
        println!("woke {}", now.saturating_sub(sent));
        Ok(HandlerOutput::Nothing)
    }
}

/// The child: a one-slot pool until stdin closes.
fn child(listen: bool) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let options = PgOptions { max_connections: 2, migrate: false, listen, ..PgOptions::default() };
        let store = PgStore::connect(&database_url(), options).await.expect("open");
        let runner =
            Runner::new(Arc::new(store), Arc::new(Report), QueueOptions::default(), Arc::new(SystemClock));
        let _pool = WorkerPool::start(runner, PoolOptions { workers: 1, ..PoolOptions::default() });
        println!("ready");
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
        })
        .await
        .unwrap();
    });
}

async fn measure(store: &PgStore, listen: bool, samples: usize) -> Latencies {
    let mut worker = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, if listen { "listen" } else { "poll" })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the worker process");
    let mut lines = BufReader::new(worker.stdout.take().unwrap()).lines();
    let (ready, rest) = tokio::task::spawn_blocking(move || (lines.next(), lines)).await.unwrap();
    lines = rest;
    assert_eq!(ready.unwrap().unwrap(), "ready");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut lat = Latencies::default();
    for _ in 0..samples {
        // Let the worker go idle, then enqueue with the wall-clock time in the user id.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let key = JobKey::new(format!("w-{}", epoch_micros()), ExamType::Practice);
        store.enqueue(&key, Utc::now(), &QueueOptions::default()).await.expect("enqueue");
        let (line, rest) = tokio::task::spawn_blocking(move || (lines.next(), lines)).await.unwrap();
        lines = rest;
        let micros: u64 = line.unwrap().unwrap().trim_start_matches("woke ").parse().unwrap();
        lat.record(Duration::from_micros(micros));
    }
    drop(worker.stdin.take());
    let _ = worker.wait();
    lat
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        child(mode == "listen");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let (admin, connection) = tokio_postgres::connect(&server_url(), NoTls).await.expect("reach the server");
        tokio::spawn(connection);
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")).await.expect("drop");
        admin.batch_execute(&format!("CREATE DATABASE {DATABASE}")).await.expect("create");
        let store = PgStore::connect(&database_url(), PgOptions { max_connections: 2, ..PgOptions::default() })
            .await
            .expect("open");
        println!("wake latency, enqueue in one process to handler start in another (one-slot pool):");
        let listen = measure(&store, true, LISTEN_SAMPLES).await;
        println!("  LISTEN/NOTIFY:          {}", listen.summary());
        let poll = measure(&store, false, POLL_SAMPLES).await;
        println!("  polling (1 s interval): {}", poll.summary());
    });
}

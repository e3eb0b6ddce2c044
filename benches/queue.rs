//! Queue throughput on a SQLite file: no-op jobs enqueued and completed by a pool of 1, 4 and 16 workers, with
//! the latency of each enqueue recorded while the pool works.
//!
//! Run: `cargo bench -p pregen-benches --bench queue`

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use pregen_benches::Latencies;
use pregen_core::SystemClock;
use pregen_core::exam::ExamType;
use pregen_core::queue::{Job, JobKey, QueueOptions};
use pregen_core::store::JobStore;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::worker::{HandlerError, HandlerOutput, JobContext, JobHandler, PoolOptions, Runner, WorkerPool};

const JOBS: usize = 20_000;

struct NoOp;

#[async_trait]
impl JobHandler for NoOp {
    async fn handle(&self, _job: Job, _ctx: JobContext) -> Result<HandlerOutput, HandlerError> {
        Ok(HandlerOutput::Nothing)
    }
}

async fn run(workers: usize) -> (f64, Latencies) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(
        dir.path().join("queue.db"),
        SqliteOptions { connections: 4, ..SqliteOptions::default() },
    )
    .await
    .expect("open");
    let options = QueueOptions::default();
    let runner = Runner::new(Arc::new(store.clone()), Arc::new(NoOp), options, Arc::new(SystemClock));
    let pool = WorkerPool::start(
        runner,
        PoolOptions { workers, poll_interval: Duration::from_millis(50), ..PoolOptions::default() },
    );
    let notify = pool.notifier();
    let start = Instant::now();
    let mut enqueue = Latencies::default();
    for i in 0..JOBS {
        let key =
            JobKey::new(format!("user-{i}"), if i % 2 == 0 { ExamType::Diagnostic } else { ExamType::Practice });
        let t = Instant::now();
        store.enqueue(&key, Utc::now(), &options).await.expect("enqueue");
        enqueue.record(t.elapsed());
        notify.notify_waiters();
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

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        println!("{JOBS} no-op jobs, each enqueued then claimed, run and completed (SQLite file, WAL):");
        for workers in [1, 4, 16] {
            let (rate, enqueue) = run(workers).await;
            println!("  {workers:>2} workers: {rate:>7.0} jobs/s; enqueue latency {}", enqueue.summary());
        }
    });
}

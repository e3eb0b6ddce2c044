//! Helper process for the crash test: runs a worker pool on a SQLite file. In `hang` mode its handler prints the
//! claimed job as JSON on stdout and never returns (the test kills it); in `ok` mode it stores a tiny exam for
//! every job and exits once the given job has succeeded.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use pregen_core::SystemClock;
use pregen_core::queue::{Job, JobId, JobState, QueueOptions};
use pregen_core::store::JobStore;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::worker::{HandlerError, HandlerOutput, JobContext, JobHandler, PoolOptions, Runner, WorkerPool};
use pregen_tests::tiny_exam;

struct Mode(bool);

#[async_trait]
impl JobHandler for Mode {
    async fn handle(&self, job: Job, _ctx: JobContext) -> Result<HandlerOutput, HandlerError> {
        if self.0 {
            {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{}", serde_json::to_string(&job).expect("job json")).expect("stdout");
                out.flush().expect("flush");
            }
            std::future::pending::<()>().await;
        }
        Ok(HandlerOutput::Exam(Box::new(tiny_exam(&job.key.user_id, job.key.exam_type, Utc::now(), 5))))
    }
}

/// The queue options both processes share: a one-second lease renewed every 200 ms.
fn crash_test_options() -> QueueOptions {
    QueueOptions {
        lease_duration: TimeDelta::seconds(1),
        heartbeat_interval: TimeDelta::milliseconds(200),
        ..QueueOptions::default()
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db, mode, job_id] = &args[..] else {
        eprintln!("usage: worker DB hang|ok JOB_ID");
        std::process::exit(2);
    };
    let store = SqliteStore::open(db, SqliteOptions::default()).await.expect("open store");
    let options = crash_test_options();
    let runner =
        Runner::new(Arc::new(store.clone()), Arc::new(Mode(mode == "hang")), options, Arc::new(SystemClock));
    let pool = WorkerPool::start(
        runner,
        PoolOptions {
            workers: 1,
            poll_interval: Duration::from_millis(100),
            holder_prefix: mode.clone(),
            ..PoolOptions::default()
        },
    );
    let id = JobId(job_id.clone());
    // Bounded: exits non-zero if the job never succeeds.
    for _ in 0..600 {
        if let Some(job) = store.get_job(&id).await.expect("get job")
            && job.state == JobState::Succeeded
        {
            pool.shutdown(Duration::from_secs(1)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::process::exit(1);
}

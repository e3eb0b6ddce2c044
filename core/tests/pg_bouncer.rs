//! The Postgres store behind PgBouncer in transaction mode (as Supabase's port 6543): a representative part of
//! the store contract (claims, enqueue dedupe, fencing, completion with an exam, checkpoints, batches, planning,
//! analytics) runs through it with listening off, and an idle worker pool finds new jobs by polling. PgBouncer
//! is started per test on a free loopback port and killed when the test ends; without it the tests are skipped
//! (printed), unless `PREGEN_REQUIRE_PGBOUNCER=1`.
#![cfg(feature = "postgres")]

mod pg_support;
mod store_contract;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use pg_support::TestDb;
use pg_support::pgbouncer::Bouncer;
use pregen_core::SystemClock;
use pregen_core::exam::ExamType;
use pregen_core::queue::{Job, QueueOptions};
use pregen_core::store::postgres::{PgOptions, PgStore};
use pregen_core::store::{JobStore, JobWakeups, Wakeups};
use pregen_core::worker::{HandlerError, HandlerOutput, JobContext, JobHandler, PoolOptions, Runner, WorkerPool};
use store_contract::{Backend, key};
use tokio::sync::{Notify, mpsc};

/// A fresh database reached through PgBouncer; each `open` is a new pool through it, listening off.
struct Bounced {
    db: TestDb,
    bouncer: Bouncer,
}

impl Bounced {
    fn url(&self) -> String {
        self.bouncer.url(self.db.name())
    }
}

impl Backend for Bounced {
    type Store = PgStore;

    async fn open(&self) -> PgStore {
        // The URL alone says a transaction pooler is in between, as a host configured only by DATABASE_URL would.
        let options = PgOptions { max_connections: 4, ..PgOptions::default() };
        match PgStore::connect(&format!("{}?pregen_pooler=transaction", self.url()), options).await {
            Ok(store) => store,
            Err(e) => panic!("connect through pgbouncer: {e}\npgbouncer log:\n{}", self.bouncer.log()),
        }
    }
}

/// A database and a PgBouncer in front of it, or `None` when the test is skipped.
async fn bounced() -> Option<Bounced> {
    let bouncer = Bouncer::start()?;
    Some(Bounced { db: TestDb::create().await, bouncer })
}

macro_rules! through_pgbouncer {
    ($($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                let Some(backend) = bounced().await else { return };
                store_contract::$module::$test(&backend).await;
            }
        )*
    };
}

through_pgbouncer!(
    exams::claim_takes_the_newest_unused_unexpired_exam_once,
    exams::concurrent_claims_hand_out_each_exam_once,
    exams::planning_returns_exactly_the_pairs_below_target,
    exams::cleanup_deletes_in_batches_and_counts,
    exams::analytics_match_a_hand_computed_fixture,
    jobs::a_hundred_concurrent_enqueues_of_one_key_give_one_job,
    jobs::enqueue_many_creates_missing_keys_and_returns_held_ones,
    jobs::concurrent_job_claims_take_each_job_once,
    jobs::a_stale_lease_is_fenced_out_and_its_job_taken_over,
    jobs::release_returns_the_job_at_once_without_spending_the_attempt,
    jobs::status_clear_and_retention,
    checkpoints::a_checkpoint_is_saved_replaced_and_read_in_slot_order,
    checkpoints::only_the_current_attempt_saves_a_checkpoint,
    checkpoints::a_checkpoint_lives_as_long_as_its_job_is_unfinished,
    batches::racing_collectors_take_each_batch_once,
);

#[tokio::test]
async fn the_bouncer_pools_by_transaction() {
    let Some(backend) = bounced().await else { return };
    let admin = pg_support::connect(&backend.bouncer.url("pgbouncer")).await;
    let rows = admin.simple_query("SHOW CONFIG").await.unwrap();
    let mode = rows.iter().find_map(|m| match m {
        pregen_core::store::postgres::tokio_postgres::SimpleQueryMessage::Row(r)
            if r.get(0) == Some("pool_mode") =>
        {
            r.get(1).map(str::to_owned)
        }
        _ => None,
    });
    assert_eq!(mode.as_deref(), Some("transaction"));
}

/// Reports each job it runs, and stores nothing.
struct Recording(mpsc::UnboundedSender<String>);

#[async_trait]
impl JobHandler for Recording {
    async fn handle(&self, job: Job, _ctx: JobContext) -> Result<HandlerOutput, HandlerError> {
        let _ = self.0.send(job.key.user_id.clone());
        Ok(HandlerOutput::Nothing)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_listening_off_an_idle_pool_polls_for_jobs_enqueued_elsewhere() {
    let Some(backend) = bounced().await else { return };
    // Listening off by the URL alone, in the older form (which leaves statements unnamed too), as a host configured
    // only by DATABASE_URL would.
    let url = format!("{}?pregen_listen=off", backend.url());
    let worker = PgStore::connect(&url, PgOptions::default()).await.unwrap();
    let enqueuer = backend.open().await;
    let wakeups = worker.subscribe_wakeups(Arc::new(Notify::new())).await.unwrap();
    assert!(matches!(wakeups, Wakeups::Polling), "no session to listen on behind a transaction pooler");

    let (tx, mut ran) = mpsc::unbounded_channel();
    let store = Arc::new(worker) as Arc<dyn JobStore>;
    let runner = Runner::new(store, Arc::new(Recording(tx)), QueueOptions::default(), Arc::new(SystemClock));
    let options = PoolOptions { workers: 2, poll_interval: Duration::from_millis(50), ..PoolOptions::default() };
    let pool = WorkerPool::start(runner, options);
    for who in ["u1", "u2", "u3"] {
        enqueuer.enqueue(&key(who, ExamType::Diagnostic), Utc::now(), &QueueOptions::default()).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(60), ran.recv()).await.expect("found by polling");
        assert_eq!(got.as_deref(), Some(who));
    }
    assert_eq!(pool.shutdown(Duration::from_secs(5)).await.succeeded, 3);
}

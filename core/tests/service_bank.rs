//! The service in bank mode on a test clock, on SQLite and on Postgres: the sweep fills the bank from planning,
//! gets assign exams that are never repeated to a user (also from many tasks at once), a user who saw everything
//! gets `preGenerated: false` and bank generation is queued at once, the generator fills it, retirement and
//! cleanup hold, analytics report the bank.
#![cfg(all(feature = "simulator", feature = "sqlite", feature = "claude"))]

#[cfg(feature = "postgres")]
mod pg_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use pregen_core::ManualClock;
use pregen_core::api::GetExamBody;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig};
use pregen_core::config::{PreGenConfig, StockMode};
use pregen_core::exam::{ExamSpec, ExamType, validate_exam};
use pregen_core::generate::{Generator, GeneratorConfig};
use pregen_core::policy::BankPolicy;
use pregen_core::service::PreGen;
use pregen_core::simulator::{DEFAULT_API_KEY, Simulator, SimulatorConfig, SimulatorHandle};
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{Store, UserId};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z").unwrap().with_timezone(&Utc)
}

/// The store a test runs on.
#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
}

/// What keeps a test's database alive: its directory, or its Postgres database (dropped with it).
enum Db {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    #[cfg(feature = "postgres")]
    Pg(#[allow(dead_code)] pg_support::TestDb),
}

async fn open(backend: Backend) -> (Arc<dyn Store>, Db) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(dir.path().join("b.db"), SqliteOptions::default()).await.unwrap();
            (Arc::new(store), Db::Dir(dir))
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let db = pg_support::TestDb::create().await;
            let store = db.store(8).await;
            (Arc::new(store), Db::Pg(db))
        }
    }
}

async fn service(
    backend: Backend,
    clock: Arc<ManualClock>,
    bank: BankPolicy,
) -> (Arc<PreGen>, SimulatorHandle, Db) {
    let sim = Simulator::start(SimulatorConfig::builder().seed(3).build().unwrap()).await.unwrap();
    let (store, db) = open(backend).await;
    let client =
        ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url())).unwrap();
    let generator = Arc::new(Generator::new(client, GeneratorConfig::default()).unwrap());
    let config = PreGenConfig { stock: StockMode::Bank, bank, ..PreGenConfig::default() };
    let service = PreGen::new(store, Some(generator), config, clock).unwrap();
    (Arc::new(service), sim, db)
}

/// Each scenario as a test on SQLite and, with the `postgres` feature, on Postgres.
macro_rules! on_every_backend {
    ($scenario:ident, $threads:literal) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn sqlite() {
                super::$scenario(super::Backend::Sqlite).await;
            }

            #[cfg(feature = "postgres")]
            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn postgres() {
                super::$scenario(super::Backend::Postgres).await;
            }
        }
    };
}

on_every_backend!(the_sweep_fills_the_bank_and_gets_never_repeat_an_exam_to_a_user, 2);
on_every_backend!(concurrent_gets_of_one_user_never_receive_one_exam_twice, 4);
on_every_backend!(retirement_by_count_and_cleanup_after_the_retention, 2);

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

fn served_id(body: &GetExamBody) -> Option<String> {
    match body {
        GetExamBody::Served { exam_id, .. } => Some(exam_id.clone()),
        GetExamBody::NotAvailable { .. } => None,
    }
}

async fn the_sweep_fills_the_bank_and_gets_never_repeat_an_exam_to_a_user(backend: Backend) {
    let clock = Arc::new(ManualClock::new(t0()));
    let bank = BankPolicy { unseen_target: 2, min_size: 3, ..BankPolicy::default() };
    let (s, _sim, _dir) = service(backend, clock.clone(), bank).await;
    let report = s.sweep().await.unwrap();
    let diagnostic = report.bank.iter().find(|p| p.exam_type == ExamType::Diagnostic).unwrap();
    assert_eq!((diagnostic.counted, diagnostic.needed), (0, 3), "an empty bank gets its minimum");
    assert_eq!((report.missing, report.queued, report.completed), (6, 6, 6));
    clock.advance(TimeDelta::minutes(1));

    let mut seen = BTreeSet::new();
    for _ in 0..3 {
        let body = s.get_exam(&user("u1"), ExamType::Diagnostic).await.unwrap();
        let GetExamBody::Served { exam_id, questions, .. } = &body else { panic!("the bank had an unseen exam") };
        assert!(validate_exam(&questions.parse().unwrap(), &ExamSpec::diagnostic()).is_valid());
        assert!(seen.insert(exam_id.clone()), "an exam came back to the same user");
    }
    // Two users may receive the same exam: the least assigned first.
    let other = served_id(&s.get_exam(&user("u2"), ExamType::Diagnostic).await.unwrap()).unwrap();
    assert!(seen.contains(&other));

    // u1 saw all three: the get answers as the old route did, and queues bank generation at once (the queue is
    // emptied first, so the job is the miss's).
    s.clear_queue().await.unwrap();
    let body = s.get_exam(&user("u1"), ExamType::Diagnostic).await.unwrap();
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        serde_json::json!({"preGenerated": false, "reason": "No valid pre-generated exam"})
    );
    let queue = s.queue_status().await.unwrap();
    assert_eq!(queue.counts.pending, 1, "bank generation queued by the miss");
    assert_eq!(queue.jobs[0].user_id, "@bank/0");
    let drained = s.drain(Duration::from_secs(60)).await.unwrap();
    assert!(drained.succeeded >= 1);
    let fresh = served_id(&s.get_exam(&user("u1"), ExamType::Diagnostic).await.unwrap()).unwrap();
    assert!(!seen.contains(&fresh), "the new exam is one u1 never had");

    let a = s.analytics().await.unwrap();
    let b = a.bank.expect("bank figures in bank mode");
    let d = b.types.iter().find(|t| t.exam_type == ExamType::Diagnostic).unwrap();
    assert_eq!((d.stored, d.assignments, d.max_assignments_per_exam), (4, 5, 2));
    assert_eq!(d.users_seen_whole_bank, 1, "u1 saw all four");
    assert_eq!(b.assignments_total, 5);
    assert!(b.cost_per_served_exam_usd.unwrap() > 0.0);
    let json = serde_json::to_value(s.analytics().await.unwrap()).unwrap();
    assert!(json["bank"]["types"][0]["meanAssignmentsPerExam"].is_number());
}

async fn concurrent_gets_of_one_user_never_receive_one_exam_twice(backend: Backend) {
    let clock = Arc::new(ManualClock::new(t0()));
    let bank = BankPolicy { unseen_target: 1, min_size: 5, ..BankPolicy::default() };
    let (s, _sim, _dir) = service(backend, clock.clone(), bank).await;
    s.sweep().await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = Arc::clone(&s);
            tokio::spawn(async move { served_id(&s.get_exam(&user("racer"), ExamType::Practice).await.unwrap()) })
        })
        .collect();
    let mut got = Vec::new();
    for t in tasks {
        got.extend(t.await.unwrap());
    }
    let distinct: BTreeSet<&String> = got.iter().collect();
    assert_eq!((got.len(), distinct.len()), (5, 5), "each of the five exams once, the other gets missed");
}

async fn retirement_by_count_and_cleanup_after_the_retention(backend: Backend) {
    let clock = Arc::new(ManualClock::new(t0()));
    let bank = BankPolicy { unseen_target: 1, min_size: 1, max_assignments: 2, ..BankPolicy::default() };
    let (s, _sim, _dir) = service(backend, clock.clone(), bank).await;
    s.pre_generate(&user("a"), ExamType::Diagnostic).await.unwrap();
    let first = served_id(&s.get_exam(&user("a"), ExamType::Diagnostic).await.unwrap()).unwrap();
    let second = served_id(&s.get_exam(&user("b"), ExamType::Diagnostic).await.unwrap()).unwrap();
    assert_eq!(first, second, "one exam, two users");
    assert_eq!(served_id(&s.get_exam(&user("c"), ExamType::Diagnostic).await.unwrap()), None, "retired at 2");
    s.clear_queue().await.unwrap();
    clock.advance(TimeDelta::days(1) - TimeDelta::milliseconds(1));
    assert_eq!(s.cleanup().await.unwrap().bank.deleted, 0, "kept while a recent assignment may need it");
    clock.advance(TimeDelta::milliseconds(1));
    assert_eq!(s.cleanup().await.unwrap().bank.deleted, 1, "deleted a day after its last assignment");
}

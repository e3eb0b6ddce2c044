//! The service end to end on a test clock: trigger, work, get; expiry; retention; sweeps; the extra analytics.
#![cfg(all(feature = "simulator", feature = "sqlite", feature = "claude"))]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use pregen_core::ManualClock;
use pregen_core::api::GetExamBody;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig};
use pregen_core::config::PreGenConfig;
use pregen_core::exam::{ExamSpec, ExamType, validate_exam};
use pregen_core::generate::{Generator, GeneratorConfig};
use pregen_core::service::{PreGen, Trigger};
use pregen_core::simulator::{DEFAULT_API_KEY, Simulator, SimulatorConfig, SimulatorHandle};
use pregen_core::store::UserId;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z").unwrap().with_timezone(&Utc)
}

async fn service(clock: Arc<ManualClock>) -> (PreGen, SimulatorHandle, tempfile::TempDir) {
    let sim = Simulator::start(SimulatorConfig::builder().seed(2).build().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("s.db"), SqliteOptions::default()).await.unwrap();
    let client =
        ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url())).unwrap();
    let generator = Arc::new(Generator::new(client, GeneratorConfig::default()).unwrap());
    let service = PreGen::new(Arc::new(store), Some(generator), PreGenConfig::default(), clock).unwrap();
    (service, sim, dir)
}

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_then_work_then_get_serves_a_valid_exam_once() {
    let clock = Arc::new(ManualClock::new(t0()));
    let (s, _sim, _dir) = service(clock.clone()).await;
    let report = s.trigger(&user("u1"), Trigger::Types(ExamType::ALL.to_vec())).await.unwrap();
    assert_eq!(report.jobs.len(), 2);
    let drained = s.drain(Duration::from_secs(60)).await.unwrap();
    assert_eq!(drained.succeeded, 2);
    clock.advance(TimeDelta::minutes(5));

    let GetExamBody::Served { questions, .. } = s.get_exam(&user("u1"), ExamType::Practice).await.unwrap() else {
        panic!("a practice exam was ready");
    };
    assert!(validate_exam(&questions.parse().unwrap(), &ExamSpec::practice()).is_valid());
    let again = s.get_exam(&user("u1"), ExamType::Practice).await.unwrap();
    assert!(matches!(again, GetExamBody::NotAvailable { .. }), "served once only");
    // The claim queued a refill.
    assert_eq!(s.queue_status().await.unwrap().counts.pending, 1);

    let a = s.analytics().await.unwrap();
    assert_eq!(a.get_hit_rate, Some(0.5));
    assert_eq!(a.generation_success_rate, Some(1.0));
    assert_eq!(a.mean_trigger_to_ready_ms, Some(0.0), "the test clock did not move while generating");
    assert!(a.generation.tokens.cost_usd > 0.0 && a.generation.tokens.output_tokens > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_exam_is_never_served_and_used_ones_vanish_after_a_day() {
    let clock = Arc::new(ManualClock::new(t0()));
    let (s, _sim, _dir) = service(clock.clone()).await;
    s.pre_generate(&user("u1"), ExamType::Diagnostic).await.unwrap();
    s.pre_generate(&user("u2"), ExamType::Diagnostic).await.unwrap();

    clock.advance(TimeDelta::days(7));
    let body = s.get_exam(&user("u1"), ExamType::Diagnostic).await.unwrap();
    assert!(matches!(body, GetExamBody::NotAvailable { .. }), "expired at exactly 7 days");

    clock.set(t0() + TimeDelta::days(1));
    assert!(matches!(s.get_exam(&user("u2"), ExamType::Diagnostic).await.unwrap(), GetExamBody::Served { .. }));
    clock.advance(TimeDelta::hours(23));
    s.clear_queue().await.unwrap();
    let sweep = s.sweep().await.unwrap();
    assert_eq!((sweep.exams_deleted, sweep.cleanup_completed), (0, 0), "kept until a full day after use");
    clock.advance(TimeDelta::hours(1));
    s.clear_queue().await.unwrap();
    let sweep = s.sweep().await.unwrap();
    assert_eq!((sweep.exams_deleted, sweep.cleanup_completed), (1, 1), "cleanupCompleted counts the deleted");
    assert_eq!(s.analytics().await.unwrap().stats.total_used, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_fills_every_active_users_stock_and_the_next_finds_nothing() {
    let clock = Arc::new(ManualClock::new(t0()));
    let (s, _sim, _dir) = service(clock.clone()).await;
    for id in ["a", "b", "c"] {
        s.store().record_activity(&user(id), t0()).await.unwrap();
    }
    s.store().record_activity(&user("idle"), t0() - TimeDelta::days(30)).await.unwrap();
    let first = s.sweep().await.unwrap();
    assert_eq!((first.users_processed, first.missing, first.queued, first.completed), (3, 6, 6, 6));
    assert!(first.cost_usd > 0.0);
    let second = s.sweep().await.unwrap();
    assert_eq!((second.missing, second.queued, second.completed), (0, 0, 0));
    assert_eq!(s.analytics().await.unwrap().stats.total_generated, 6);
}

// Demand and best-effort follow-ups of the get route, log prefixes, failing stores, the schedule, and models from
// the environment: on tiny exams, over a store that can be told to fail.

#[path = "service/capture.rs"]
mod capture;
#[path = "service/failing_store.rs"]
mod failing_store;
#[path = "service/rig.rs"]
mod rig;

#[path = "service/config.rs"]
mod config;
#[path = "service/failures.rs"]
mod failures;
#[path = "service/get.rs"]
mod get;
#[path = "service/lifecycle.rs"]
mod lifecycle;
#[path = "service/open.rs"]
mod open;

//! The service end to end on a test clock: trigger, work, get; expiry; retention; sweeps; the extra analytics.
#![cfg(all(feature = "simulator", feature = "sqlite", feature = "claude"))]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use pregen_core::Clock;
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
    assert!(validate_exam(&questions, &ExamSpec::practice()).is_valid());
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

// ---- Demand, best-effort follow-ups, log prefixes, failing stores, the schedule, models from the environment.

#[path = "service/capture.rs"]
mod capture;
#[path = "service/failing_store.rs"]
mod failing_store;

use capture::capture;
use failing_store::{DISK_FULL, FailingStore};
use pregen_core::ErrorCode;
use pregen_core::exam::{Allocation, synthetic_exam};
use pregen_core::policy::Policy;
use pregen_core::service::ServiceError;
use pregen_core::store::{ActivityStore, ExamStore, NewExam, Store};
use pregen_core::worker::OUTCOME_NOT_RECORDED;
use serde_json::json;

const SECRET: &str = "cron-secret-0123456789abcdef";

/// An 8-item spec, so generation in these tests is quick.
fn tiny() -> ExamSpec {
    ExamSpec { name: "tiny".into(), item_count: 8, scored_count: 8, allocation: Allocation::WeightedByDomain }
}

/// A generator of tiny exams against `sim`.
fn tiny_generator(sim: &SimulatorHandle) -> Arc<Generator> {
    let client =
        ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url())).unwrap();
    let config = GeneratorConfig { diagnostic_spec: tiny(), practice_spec: tiny(), ..GeneratorConfig::default() };
    Arc::new(Generator::new(client, config).unwrap())
}

struct Rig {
    service: Arc<PreGen>,
    store: Arc<FailingStore>,
    sqlite: SqliteStore,
    clock: Arc<ManualClock>,
    _sim: SimulatorHandle,
    _dir: tempfile::TempDir,
}

/// A service over a [`FailingStore`] (nothing failing yet), a tiny-exam generator, and a test clock at `t0()`.
async fn rig(config: PreGenConfig) -> Rig {
    let sim = Simulator::start(SimulatorConfig::builder().seed(3).build().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("f.db"), SqliteOptions::default()).await.unwrap();
    let store = Arc::new(FailingStore::new(sqlite.clone()));
    let clock = Arc::new(ManualClock::new(t0()));
    let generator = Some(tiny_generator(&sim));
    let service = PreGen::new(store.clone() as Arc<dyn Store>, generator, config, clock.clone()).unwrap();
    Rig { service: Arc::new(service), store, sqlite, clock, _sim: sim, _dir: dir }
}

/// Stores a tiny exam for (user, type) created at `at`, straight into the SQLite store; returns its id.
async fn stock_exam(store: &SqliteStore, id: &str, exam_type: ExamType, at: DateTime<Utc>) -> String {
    let exam = NewExam::new(user(id), exam_type, synthetic_exam(&tiny(), 5), &tiny(), at, &Policy::default());
    store.insert_exam(exam.unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_miss_records_demand_and_queues_that_type() {
    for exam_type in ExamType::ALL {
        let r = rig(PreGenConfig::default()).await;
        let s = &r.service;
        let query = format!("userId=only-gets&examType={exam_type}");
        let miss = s.get_route(&query).await;
        assert_eq!(miss.body, json!({"preGenerated": false, "reason": "No valid pre-generated exam"}));
        assert_eq!(r.sqlite.count_active_users(t0()).await.unwrap(), 1, "{exam_type}: the miss recorded the user");
        let status = s.queue_status().await.unwrap();
        assert_eq!(status.queue_length, 1, "{exam_type}: only the type asked for is queued");
        assert_eq!((status.jobs[0].user_id.as_str(), status.jobs[0].exam_type), ("only-gets", exam_type));
        s.get_route(&query).await;
        assert_eq!(s.queue_status().await.unwrap().queue_length, 1, "{exam_type}: a second miss is deduped");
        assert_eq!(s.analytics().await.unwrap().get_hit_rate, Some(0.0), "both misses were counted");

        // The user never triggered anything else; as an active user, a sweep alone now makes their exams.
        s.clear_queue().await.unwrap();
        let sweep = s.sweep().await.unwrap();
        assert_eq!((sweep.users_processed, sweep.missing, sweep.completed), (1, 2, 2), "{exam_type}");
        let hit = s.get_route(&query).await;
        assert_eq!(hit.body["preGenerated"], true, "{exam_type}: {}", hit.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_exam_is_returned_when_the_refill_activity_and_counters_fail() {
    let r = rig(PreGenConfig::default()).await;
    let id = stock_exam(&r.sqlite, "u1", ExamType::Practice, t0()).await;
    r.store.fail(&["enqueue", "enqueue_many", "record_activity", "record_get_outcome"]);
    let (lines, _guard) = capture();

    let hit = r.service.get_route("userId=u1&examType=practice").await;
    assert_eq!(hit.status, 200, "{}", hit.body);
    assert_eq!((&hit.body["preGenerated"], &hit.body["examId"]), (&json!(true), &json!(id)));
    assert_eq!(hit.body["questions"]["questions"].as_array().unwrap().len(), 8);
    let warnings = lines.containing("[Get Pre-Gen] could not");
    assert_eq!(warnings.len(), 3, "count, activity and refill each logged once: {warnings:#?}");
    assert!(
        warnings.iter().all(|l| l.starts_with("WARN") && l.contains("store.database") && l.contains(DISK_FULL))
    );

    // The exam was claimed for good: the next get finds none, and still answers 200.
    let miss = r.service.get_route("userId=u1&examType=practice").await;
    assert_eq!((miss.status, &miss.body["preGenerated"]), (200, &json!(false)));
    assert_eq!(r.sqlite.analytics(t0(), &Policy::default()).await.unwrap().total_used, 1);

    // Only a failed claim is a 500; it takes nothing.
    let id2 = stock_exam(&r.sqlite, "u2", ExamType::Diagnostic, t0()).await;
    r.store.fail(&["claim_exam"]);
    let failed = r.service.get_route("userId=u2&examType=diagnostic").await;
    assert_eq!((failed.status, failed.body), (500, json!({"error": "Database error", "preGenerated": false})));
    let still = r.sqlite.claim_exam(&user("u2"), ExamType::Diagnostic, t0()).await.unwrap();
    assert_eq!(still.map(|c| c.id), Some(id2), "the exam a failed claim did not take is still there");
}

#[tokio::test]
async fn get_and_analytics_lines_carry_their_prefixes_and_no_debug_forms() {
    let r = rig(PreGenConfig::default().with_cron_secret(SECRET)).await;
    stock_exam(&r.sqlite, "u1", ExamType::Practice, t0()).await;
    let (lines, guard) = capture();
    r.service.get_route("userId=u1&examType=practice").await;
    r.service.get_route("userId=u1&examType=diagnostic").await;
    let gets = lines.all();
    assert!(gets.iter().any(|l| l.starts_with("INFO [Get Pre-Gen] served practice exam")), "{gets:#?}");
    assert!(
        gets.iter().any(|l| l.starts_with("INFO [Get Pre-Gen] no pre-generated diagnostic exam")),
        "{gets:#?}"
    );
    assert!(
        gets.iter()
            .filter(|l| !l.starts_with("DEBUG") && !l.starts_with("TRACE"))
            .all(|l| l.contains("[Get Pre-Gen]")),
        "every get line at info or above carries the get route's prefix: {gets:#?}"
    );

    let (lines, _guard) = {
        drop(guard);
        capture()
    };
    assert_eq!(r.service.analytics_route(Some("Bearer wrong")).await.status, 401);
    assert_eq!(r.service.analytics_route(Some(&format!("Bearer {SECRET}"))).await.status, 200);
    r.store.fail(&["generation_summary"]);
    assert_eq!(r.service.analytics_route(Some(&format!("Bearer {SECRET}"))).await.status, 500);
    let analytics = lines.all();
    assert!(analytics.iter().any(|l| l.starts_with("WARN [Analytics] refused")), "{analytics:#?}");
    assert!(analytics.iter().any(|l| l.starts_with("INFO [Analytics] 1 exams stored (1 used")), "{analytics:#?}");
    assert!(analytics.iter().any(|l| l.starts_with("ERROR [Analytics]") && l.contains("store.database")));
    assert!(analytics.iter().all(|l| l.contains("[Analytics]")), "{analytics:#?}");

    for line in gets.iter().chain(&analytics) {
        for debug_form in ["Some(", "None", " { ", "Succeeded(", "Failed("] {
            assert!(!line.contains(debug_form), "a Debug form in a log line: {line}");
        }
    }
}

#[tokio::test]
async fn route_lines_show_user_ids_escaped_as_display_does() {
    // Characters that split or reorder a log line. Whatever `UserId`'s Display makes of them is what is logged,
    // never the raw id.
    for raw in ["rtl\u{202E}evil", "split\u{2028}line", "zero\u{200B}width"] {
        let Ok(id) = UserId::parse(raw) else { continue };
        let r = rig(PreGenConfig::default()).await;
        let (lines, _guard) = capture();
        r.service.get_exam(&id, ExamType::Practice).await.unwrap();
        r.service.trigger(&id, Trigger::Types(ExamType::ALL.to_vec())).await.unwrap();
        let shown = id.to_string();
        let logged = lines.containing(&shown);
        assert!(!logged.is_empty(), "the id is logged as Display shows it: {:#?}", lines.all());
        if shown != raw {
            assert!(lines.all().iter().all(|l| !l.contains(raw)), "a raw id reached the logs: {raw:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_whose_store_fails_says_so_apart_from_lost_leases() {
    // Claims refused: nothing is worked, and the drain is a failure with the store's code.
    let r = rig(PreGenConfig::default()).await;
    r.service.trigger(&user("u1"), Trigger::Types(ExamType::ALL.to_vec())).await.unwrap();
    r.store.fail(&["claim_jobs"]);
    let Err(e @ ServiceError::DrainFailed(_)) = r.service.drain(Duration::from_secs(30)).await else {
        panic!("a drain whose claims fail is a failure");
    };
    let ServiceError::DrainFailed(report) = &e else { unreachable!() };
    assert!(report.claim_errors >= 1 && report.claimed == 0 && report.lease_lost == 0, "{report}");
    assert_eq!((e.code(), report.store_failures()), ("store.database", report.claim_errors));
    assert!(e.to_string().contains(DISK_FULL), "{e}");

    // Outcomes that cannot be written: counted per job; the jobs stay held until their lease expires (not lost).
    let r = rig(PreGenConfig::default()).await;
    r.service.trigger(&user("u1"), Trigger::Types(ExamType::ALL.to_vec())).await.unwrap();
    r.store.fail(&["finish_job", "complete_job_with_exam", "release_job"]);
    let Err(ServiceError::DrainFailed(report)) = r.service.drain(Duration::from_secs(30)).await else {
        panic!("a drain whose outcomes cannot be written is a failure");
    };
    assert_eq!((report.claimed, report.store_failed, report.lease_lost, report.claim_errors), (2, 2, 0, 0));
    assert_eq!(report.error.as_ref().unwrap().code, OUTCOME_NOT_RECORDED);
    assert_eq!(r.service.queue_status().await.unwrap().counts.running, 2, "held, to be retried after the lease");

    // The same work on a healthy store is a success.
    let r = rig(PreGenConfig::default()).await;
    r.service.trigger(&user("u1"), Trigger::Types(ExamType::ALL.to_vec())).await.unwrap();
    let report = r.service.drain(Duration::from_secs(30)).await.unwrap();
    assert!(report.is_ok() && report.error.is_none());
    assert_eq!((report.claimed, report.succeeded), (2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_whose_store_fails_is_a_failure_that_keeps_its_stats() {
    let bearer = format!("Bearer {SECRET}");
    // (operations that fail, the step reported first, store failures at least)
    let cases: [(&[&'static str], &str, u64); 6] = [
        (&["plan_missing"], "plan", 1),
        (&["count_active_users"], "plan", 1),
        (&["enqueue_many"], "enqueue", 1),
        (&["claim_jobs"], "work", 1),
        (&["cleanup"], "cleanup", 1),
        (&["cleanup_jobs"], "cleanup", 1),
    ];
    for (failing, step, store_failures) in cases {
        let r = rig(PreGenConfig::default().with_cron_secret(SECRET)).await;
        r.sqlite.record_activity(&user("u1"), t0()).await.unwrap();
        r.store.fail(failing);
        let answer = r.service.cron_route(Some(&bearer)).await;
        assert_eq!(answer.status, 500, "{failing:?}: {}", answer.body);
        let body = &answer.body;
        assert_eq!((&body["success"], &body["code"]), (&json!(false), &json!("store.database")), "{failing:?}");
        assert!(body["error"].as_str().unwrap().starts_with(&format!("sweep failed: {step}: ")), "{body}");
        let stats = &body["stats"];
        assert_eq!(stats["errors"][0]["step"], step, "{failing:?}");
        assert!(stats["storeFailures"].as_u64().unwrap() >= store_failures, "{failing:?}: {stats}");
        assert!(stats["cleanupCompleted"].is_u64() && stats["usersProcessed"].is_u64(), "{stats}");
        if step == "cleanup" {
            assert_eq!(stats["completed"], 2, "{failing:?}: the steps before cleanup still ran");
        }
    }
    // The sweep's Rust API says the same.
    let r = rig(PreGenConfig::default()).await;
    r.store.fail(&["plan_missing"]);
    let Err(ServiceError::SweepFailed(report)) = r.service.sweep().await else { panic!("planning failed") };
    assert_eq!((report.errors.len(), report.store_failures, report.missing), (1, 1, 0));

    // A healthy sweep: 200, no errors.
    let r = rig(PreGenConfig::default().with_cron_secret(SECRET)).await;
    r.sqlite.record_activity(&user("u1"), t0()).await.unwrap();
    let answer = r.service.cron_route(Some(&bearer)).await;
    assert_eq!((answer.status, &answer.body["success"]), (200, &json!(true)), "{}", answer.body);
    assert_eq!((&answer.body["stats"]["errors"], &answer.body["stats"]["storeFailures"]), (&json!([]), &json!(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_comes_from_pregen_schedule() {
    let from = |value: Option<&str>| {
        let value = value.map(str::to_owned);
        PreGenConfig::from_lookup(move |name| (name == "PREGEN_SCHEDULE").then(|| value.clone()).flatten())
    };
    let r = rig(from(None)).await;
    assert_eq!(r.service.schedule().unwrap().expression(), "0 */6 * * *");
    let r = rig(from(Some("  "))).await;
    assert_eq!(r.service.schedule().unwrap().expression(), "0 */6 * * *", "blank is unset");
    let r = rig(from(Some("every day"))).await;
    assert_eq!(r.service.schedule().unwrap_err().code(), "schedule.invalid");

    // 05:30 daily: due in 10 ms on the test clock, where the default schedule would wait half an hour.
    let r = rig(from(Some("30 5 * * *"))).await;
    r.clock.set(DateTime::parse_from_rfc3339("2026-06-01T05:29:59.990Z").unwrap().with_timezone(&Utc));
    r.sqlite.record_activity(&user("u1"), r.clock.now()).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let schedule = r.service.schedule().unwrap();
    let running = tokio::spawn(r.service.clone().run_schedule(schedule, async {
        let _ = stopped.await;
    }));
    let swept = async {
        while r.sqlite.generation_summary().await.unwrap().jobs_succeeded < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), swept).await.expect("the configured schedule swept");
    stop.send(()).unwrap();
    running.await.unwrap();
}

#[test]
fn models_per_exam_type_come_from_the_environment() {
    let haiku = "claude-haiku-4-5";
    // (PREGEN_MODEL, PREGEN_MODEL_DIAGNOSTIC, PREGEN_MODEL_PRACTICE) -> (diagnostic, practice)
    let cases = [
        ((None, None, None), (haiku, haiku)),
        ((Some("claude-sonnet-4-5"), None, None), ("claude-sonnet-4-5", "claude-sonnet-4-5")),
        ((None, Some("claude-opus-4-5"), None), ("claude-opus-4-5", haiku)),
        ((None, None, Some("claude-opus-4-5")), (haiku, "claude-opus-4-5")),
        ((Some("claude-sonnet-4-5"), Some("claude-opus-4-5"), None), ("claude-opus-4-5", "claude-sonnet-4-5")),
        ((Some("a"), Some("b"), Some("c")), ("b", "c")),
        ((Some("  "), Some(""), Some(" claude-opus-4-5 ")), (haiku, "claude-opus-4-5")),
    ];
    for ((both, diagnostic, practice), want) in cases {
        let config = GeneratorConfig::from_lookup(|name| {
            match name {
                "PREGEN_MODEL" => both,
                "PREGEN_MODEL_DIAGNOSTIC" => diagnostic,
                "PREGEN_MODEL_PRACTICE" => practice,
                _ => None,
            }
            .map(str::to_owned)
        });
        let got = (config.model(ExamType::Diagnostic), config.model(ExamType::Practice));
        assert_eq!(got, want, "{both:?} {diagnostic:?} {practice:?}");
        assert_eq!(config.items_per_chunk, GeneratorConfig::default().items_per_chunk, "only the models change");
    }
}

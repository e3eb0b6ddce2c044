//! Drains and sweeps whose store fails say so, apart from lost leases, and keep their stats.

use std::time::Duration;

use pregen_core::ErrorCode;
use pregen_core::config::PreGenConfig;
use pregen_core::exam::ExamType;
use pregen_core::service::{ServiceError, Trigger};
use pregen_core::store::ActivityStore;
use pregen_core::worker::OUTCOME_NOT_RECORDED;
use serde_json::json;

use super::failing_store::DISK_FULL;
use super::rig::{SECRET, rig};
use super::{t0, user};

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
    assert!(report.is_ok() && report.error.is_none(), "{report}");
    assert_eq!((report.claimed, report.succeeded + report.failed), (2, 2), "every outcome was recorded");
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
        let answer = r.service.cron_route(Some(&bearer)).await.into_json();
        assert_eq!(answer.status, 500, "{failing:?}: {}", answer.body);
        let body = &answer.body;
        assert_eq!((&body["success"], &body["code"]), (&json!(false), &json!("store.database")), "{failing:?}");
        assert!(body["error"].as_str().unwrap().starts_with(&format!("sweep failed: {step}: ")), "{body}");
        let stats = &body["stats"];
        assert_eq!(stats["errors"][0]["step"], step, "{failing:?}");
        assert!(stats["storeFailures"].as_u64().unwrap() >= store_failures, "{failing:?}: {stats}");
        assert!(stats["cleanupCompleted"].is_u64() && stats["usersProcessed"].is_u64(), "{stats}");
        if step == "cleanup" {
            let ran = (&stats["usersProcessed"], &stats["queued"], &stats["errors"].as_array().unwrap().len());
            assert_eq!(ran, (&json!(1), &json!(2), &1), "{failing:?}: the steps before cleanup ran: {stats}");
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
    let answer = r.service.cron_route(Some(&bearer)).await.into_json();
    assert_eq!((answer.status, &answer.body["success"]), (200, &json!(true)), "{}", answer.body);
    assert_eq!((&answer.body["stats"]["errors"], &answer.body["stats"]["storeFailures"]), (&json!([]), &json!(0)));
}

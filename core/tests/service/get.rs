//! The get route: every get is demand, a claimed exam is never lost, and its log lines.

use pregen_core::config::PreGenConfig;
use pregen_core::exam::ExamType;
use pregen_core::policy::Policy;
use pregen_core::service::Trigger;
use pregen_core::store::{ActivityStore, ExamStore, UserId};
use serde_json::json;

use super::capture::capture;
use super::failing_store::DISK_FULL;
use super::rig::{SECRET, rig, stock_exam};
use super::{t0, user};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_miss_records_demand_and_queues_that_type() {
    for exam_type in ExamType::ALL {
        let r = rig(PreGenConfig::default()).await;
        let s = &r.service;
        let query = format!("userId=only-gets&examType={exam_type}");
        let miss = s.get_route(&query).await.into_json();
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
        let hit = s.get_route(&query).await.into_json();
        assert_eq!(hit.body["preGenerated"], true, "{exam_type}: {}", hit.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_exam_is_returned_when_the_refill_activity_and_counters_fail() {
    let r = rig(PreGenConfig::default()).await;
    let id = stock_exam(&r.sqlite, "u1", ExamType::Practice, t0()).await;
    r.store.fail(&["enqueue", "enqueue_many", "record_activity", "record_get_outcome"]);
    let (lines, _guard) = capture();

    let hit = r.service.get_route("userId=u1&examType=practice").await.into_json();
    assert_eq!(hit.status, 200, "{}", hit.body);
    assert_eq!((&hit.body["preGenerated"], &hit.body["examId"]), (&json!(true), &json!(id)));
    assert_eq!(hit.body["questions"]["questions"].as_array().unwrap().len(), 8);
    let warnings = lines.containing("[Get Pre-Gen] could not");
    assert_eq!(warnings.len(), 3, "count, activity and refill each logged once: {warnings:#?}");
    assert!(
        warnings.iter().all(|l| l.starts_with("WARN") && l.contains("store.database") && l.contains(DISK_FULL))
    );

    // The exam was claimed for good: the next get finds none, and still answers 200.
    let miss = r.service.get_route("userId=u1&examType=practice").await.into_json();
    assert_eq!((miss.status, &miss.body["preGenerated"]), (200, &json!(false)));
    assert_eq!(r.sqlite.analytics(t0(), &Policy::default()).await.unwrap().total_used, 1);

    // Only a failed claim is a 500; it takes nothing.
    let id2 = stock_exam(&r.sqlite, "u2", ExamType::Diagnostic, t0()).await;
    r.store.fail(&["claim_exam"]);
    let failed = r.service.get_route("userId=u2&examType=diagnostic").await.into_json();
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

//! The schedule from `PREGEN_SCHEDULE` and the models from `PREGEN_MODEL*`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pregen_core::config::PreGenConfig;
use pregen_core::exam::ExamType;
use pregen_core::generate::GeneratorConfig;
use pregen_core::store::ActivityStore;
use pregen_core::{Clock, ErrorCode};

use super::rig::rig;
use super::user;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_comes_from_pregen_schedule() {
    let from = |value: Option<&str>| {
        let value = value.map(str::to_owned);
        PreGenConfig::from_lookup(move |name| (name == "PREGEN_SCHEDULE").then(|| value.clone()).flatten())
            .unwrap()
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
    // The sweep queued the active user's two exams (whatever their generation does next).
    let swept = async {
        loop {
            let c = r.service.queue_status().await.unwrap().counts;
            if c.pending + c.running + c.retry_wait + c.succeeded + c.dead >= 2 {
                break;
            }
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

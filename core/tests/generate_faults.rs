//! The generator against replies real models and servers send that the happy path never shows: the item list as
//! JSON text, usage with null or missing counts, options carrying their own labels, and a server that fails every
//! request. Each kind through the simulator's fault of the same name, over real HTTP.
#![cfg(all(feature = "simulator", feature = "sqlite", feature = "claude"))]

use std::time::Duration;

use pregen_core::ErrorCode;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig, RetryConfig};
use pregen_core::exam::{ExamSpec, ExamType, validate_exam, validate_item};
use pregen_core::generate::{GenerateError, Generator, GeneratorConfig};
use pregen_core::simulator::{
    DEFAULT_API_KEY, Fault, FaultKind, FaultPlan, LoggedRequest, Simulator, SimulatorConfig, SimulatorHandle,
};

const RETRIES: u32 = 2;

async fn simulator(faults: &str) -> SimulatorHandle {
    let config = SimulatorConfig::builder()
        .seed(17)
        .faults(faults.parse::<FaultPlan>().unwrap())
        .fault_retry_after(Duration::from_millis(300))
        .build()
        .unwrap();
    Simulator::start(config).await.unwrap()
}

fn generator(sim: &SimulatorHandle) -> Generator {
    generator_with_timeout(sim, Duration::from_secs(5))
}

/// A generator whose client gives each try `timeout` and retries quickly.
fn generator_with_timeout(sim: &SimulatorHandle, timeout: Duration) -> Generator {
    let retry = RetryConfig {
        max_retries: RETRIES,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(5),
    };
    let config = ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY))
        .with_base_url(sim.url())
        .with_retry(retry)
        .with_timeouts(Duration::from_secs(2), timeout);
    Generator::new(ClaudeClient::new(config).unwrap(), GeneratorConfig::default()).unwrap()
}

fn messages(sim: &SimulatorHandle) -> Vec<LoggedRequest> {
    sim.log().into_iter().filter(|r| r.path == "/v1/messages").collect()
}

fn chunks(exam_type: ExamType) -> usize {
    let config = GeneratorConfig::default();
    (config.spec(exam_type).item_count as usize).div_ceil(config.items_per_chunk)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_sent_as_json_text_are_read_in_every_wrapping() {
    // Every reply wraps its items another way (the list, the whole input, the list twice, each item, the options).
    let sim = simulator("string_input=1").await;
    let generator = generator(&sim);
    for exam_type in ExamType::ALL {
        sim.clear_log();
        let made = generator.generate(exam_type, 8).await.unwrap();
        assert!(validate_exam(&made.exam, &ExamSpec::builtin(exam_type)).is_valid());
        assert_eq!(made.refused.get("missing_from_response"), None, "{exam_type}: {:?}", made.refused);
        let log = messages(&sim);
        assert!(log.iter().all(|r| r.fault == Some(FaultKind::StringInput)));
        let written: usize = log.iter().filter_map(|r| r.items).sum();
        let sent_back = made.refused.get("answer_length_cue").copied().unwrap_or(0);
        assert_eq!(written, made.exam.questions.len() + sent_back, "nothing was asked for twice but the cue");
    }
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_with_null_or_missing_usage_keep_their_items() {
    let sim = simulator("null_usage=1").await;
    let generator = generator(&sim);
    let made = generator.generate(ExamType::Practice, 4).await.unwrap();
    assert!(validate_exam(&made.exam, &ExamSpec::builtin(ExamType::Practice)).is_valid());
    assert_eq!(made.refused.get("claude.decode"), None, "no reply was discarded: {:?}", made.refused);
    assert_eq!(made.refused.get("missing_from_response"), None);
    let log = messages(&sim);
    assert!(log.iter().all(|r| r.fault == Some(FaultKind::NullUsage) && r.status == Some(200)));
    assert_eq!(made.usage.requests, log.len() as u64, "every reply is counted, its unknown tokens as 0");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_failing_everything_costs_at_most_chunks_times_tries_per_attempt() {
    // Before: 3 tries x 4 rounds x 8 chunks = 96 requests for one diagnostic attempt, 276 for a practice one.
    for (fault, code) in [("503=1", "claude.api"), ("529=1", "claude.overloaded"), ("500=1", "claude.api")] {
        let sim = simulator(fault).await;
        let generator = generator(&sim);
        for exam_type in ExamType::ALL {
            sim.clear_log();
            let err = generator.generate(exam_type, 1).await.unwrap_err();
            assert!(matches!(err, GenerateError::Api(_)), "{fault} {exam_type}: {err}");
            assert_eq!(err.code(), code);
            assert!(err.is_retryable(), "the queue's backoff takes over");
            let sent = messages(&sim).len();
            let tries = 1 + RETRIES as usize;
            assert!(sent <= chunks(exam_type) * tries, "{fault} {exam_type}: {sent} requests");
            // Once one request has failed for good the rest are cancelled: nothing beyond the first
            // `concurrency` chunks was ever started.
            let concurrency = GeneratorConfig::default().concurrency;
            assert!(sent <= concurrency.min(chunks(exam_type)) * tries, "{fault} {exam_type}: {sent} requests");
            assert!(sent >= tries, "the client still made its own retries");
        }
        sim.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_are_cancelled_once_the_attempt_has_failed() {
    // The first request to arrive fails for good (x-should-retry: false); every other one hangs past the client's
    // timeout. The attempt ends with that failure and drops the hung requests: had it waited for them, their tries
    // would time out and be retried, and the retries would reach the simulator.
    let plan = FaultPlan::predicate(|ctx| {
        Some(if ctx.index == 1 {
            Fault::new(FaultKind::ServerError).no_retry()
        } else {
            Fault::new(FaultKind::Hang)
        })
    });
    let config = SimulatorConfig::builder().hang_for(Duration::from_secs(30)).faults(plan).build().unwrap();
    let sim = Simulator::start(config).await.unwrap();
    let timeout = Duration::from_millis(300);
    let err = generator_with_timeout(&sim, timeout).generate(ExamType::Practice, 1).await.unwrap_err();
    assert_eq!(err.code(), "claude.api");
    assert!(!err.is_retryable(), "x-should-retry: false is final");
    tokio::time::sleep(timeout * 4).await;
    let log = messages(&sim);
    assert!(log.len() <= GeneratorConfig::default().concurrency, "nothing was started after the failure");
    assert!(log.iter().all(|r| r.retry_count == Some(0)), "no hung request lived on to be retried");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_outlasting_the_retries_carries_the_servers_wait_to_the_queue() {
    let sim = simulator("429=1").await;
    let err = generator(&sim).generate(ExamType::Diagnostic, 1).await.unwrap_err();
    assert_eq!(err.code(), "claude.rate_limited");
    assert_eq!(err.retry_after(), Some(Duration::from_millis(300)));
    assert!(messages(&sim).len() <= chunks(ExamType::Diagnostic) * (1 + RETRIES as usize));
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_within_the_client_retries_costs_nothing_more() {
    // Each request's first try fails (429, 529, 500, 503 in turn); its retry succeeds. No repair round is needed
    // for it and the exam is made in this attempt.
    let plan = FaultPlan::predicate(|ctx| {
        let kinds =
            [FaultKind::RateLimited, FaultKind::Overloaded, FaultKind::ServerError, FaultKind::Unavailable];
        (ctx.retry_count == Some(0)).then(|| Fault::new(kinds[ctx.index as usize % 4]))
    });
    let sim = Simulator::start(
        SimulatorConfig::builder().faults(plan).fault_retry_after(Duration::from_millis(20)).build().unwrap(),
    )
    .await
    .unwrap();
    let made = generator(&sim).generate(ExamType::Diagnostic, 2).await.unwrap();
    assert!(made.refused.keys().all(|r| !r.starts_with("claude.")), "{:?}", made.refused);
    assert!(validate_exam(&made.exam, &ExamSpec::builtin(ExamType::Diagnostic)).is_valid());
    sim.shutdown().await.unwrap();
}

/// Whether an option carries its own label: `A. text`, `(a) text`, `A) text`, `A: text`, or is a bare letter.
fn labelled(option: &str) -> bool {
    let o = option.trim();
    let mut chars = o.chars();
    let (first, second, third) = (chars.next(), chars.next(), chars.next());
    let letter = |c: Option<char>| c.is_some_and(|c| matches!(c.to_ascii_uppercase(), 'A'..='D'));
    (letter(first) && second.is_none())
        || (letter(first) && matches!(second, Some('.' | ')' | ':')) && third.is_none_or(char::is_whitespace))
        || (first == Some('(') && letter(second) && third == Some(')'))
}

#[test]
fn the_label_check_of_these_tests_knows_the_forms_and_the_near_misses() {
    for option in ["A. Classical conditioning", "(b) Extinction", "C) Shaping", "D: Chaining", "B", " a "] {
        assert!(labelled(option), "{option}");
    }
    for option in ["A widely held view", "Attachment theory", "B-cell response", "Axis I", "(about) this", ""] {
        assert!(!labelled(option), "{option}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_carrying_their_own_labels_are_never_stored() {
    // The first round's replies label every other item's options in turn (A. / (a) / A) / A: / bare letters);
    // the item rule refuses them and they are asked for again.
    let first_round = ["labelled_options"; 8].join(",");
    let sim = simulator(&format!("script:{first_round}")).await;
    let made = generator(&sim).generate(ExamType::Diagnostic, 6).await.unwrap();
    for q in &made.exam.questions {
        assert!(validate_item(q).is_empty());
        assert!(q.options.iter().all(|o| !labelled(o)), "stored a labelled option: {}", q.options.join(" | "));
    }
    let refused: usize = made
        .refused
        .iter()
        .filter(|(r, _)| !matches!(r.as_str(), "missing_from_response" | "answer_length_cue"))
        .map(|(_, n)| n)
        .sum();
    assert!(refused >= 35, "the labelled items were refused and asked for again: {:?}", made.refused);
    sim.shutdown().await.unwrap();
}

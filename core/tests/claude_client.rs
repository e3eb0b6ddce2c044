//! The Claude client against the simulator over real HTTP: every fault class ends in the right retry or failure
//! (counted in the simulator's request log), the rate limiter keeps 429s rare, batches run end to end, and the
//! key never shows in Debug output. No test asserts a wall-clock upper bound; spacing checks are lower bounds
//! taken from the simulator's log.
#![cfg(all(feature = "claude", feature = "simulator"))]

use std::collections::BTreeSet;
use std::time::Duration;

use pregen_core::ErrorCode;
use pregen_core::claude::{
    ApiKey, BatchRequest, BatchResult, BatchStatus, ClaudeClient, ClaudeConfig, ClaudeError, MessageBatch,
    MessageRequest, RetryConfig, SystemBlock,
};
use pregen_core::exam::Kn;
use pregen_core::prompt::{self, ChunkBrief, TOOL_NAME};
use pregen_core::simulator::{
    BatchSettings, DEFAULT_API_KEY, Fault, FaultKind, FaultPlan, LoggedRequest, RateLimits, Simulator,
    SimulatorConfig, SimulatorHandle,
};

/// Bounds every test, so a bug shows as a failure rather than a hung run.
const TEST_BUDGET: Duration = Duration::from_secs(120);

async fn start(config: SimulatorConfig) -> SimulatorHandle {
    Simulator::start(config).await.expect("simulator starts")
}

/// Fast retries (10 ms backoff) and a 2 s per-attempt timeout, against `sim`.
fn config(sim: &SimulatorHandle) -> ClaudeConfig {
    let retry = RetryConfig { initial_delay: Duration::from_millis(10), ..RetryConfig::default() };
    ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY))
        .with_base_url(sim.url())
        .with_retry(retry)
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(2))
}

fn client(config: ClaudeConfig) -> ClaudeClient {
    ClaudeClient::new(config).expect("valid config")
}

/// A generator-shaped request: cached system prompt, forced item tool, a brief for `n` items.
fn request(n: u8, variation: u64) -> MessageRequest {
    let brief =
        ChunkBrief { items: (1..=n).map(|i| Kn::new(i).unwrap()).collect(), variation, balance_lengths: false };
    MessageRequest::new("claude-haiku-4-5", 4096)
        .system(SystemBlock::cached(prompt::system_prompt()))
        .tool(prompt::tool_definition())
        .tool_choice(prompt::tool_choice())
        .user(brief.user_message())
}

/// The message requests in the log, in arrival order.
fn messages(sim: &SimulatorHandle) -> Vec<LoggedRequest> {
    sim.log().into_iter().filter(|r| r.path == "/v1/messages").collect()
}

fn retry_counts(log: &[LoggedRequest]) -> Vec<Option<u32>> {
    log.iter().map(|r| r.retry_count).collect()
}

async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_BUDGET, future).await.expect("test finished within its budget")
}

#[tokio::test]
async fn a_success_parses_the_forced_tool_and_carries_the_request_id() {
    let sim = start(SimulatorConfig::default()).await;
    let c = client(config(&sim));
    let reply = bounded(c.create_message(&request(3, 1))).await.unwrap();
    let log = messages(&sim);
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].status, log[0].retry_count), (Some(200), Some(0)));
    assert_eq!(reply.request_id.as_deref(), Some(log[0].request_id.as_str()));
    let input: prompt::ToolInput = serde_json::from_value(reply.tool_input(TOOL_NAME).unwrap().clone()).unwrap();
    assert_eq!(input.questions.len(), 3);
    let totals = c.usage_totals();
    assert_eq!(totals.requests, 1);
    assert_eq!(
        totals.input_tokens + totals.cache_creation_input_tokens,
        log[0].input_tokens + log[0].cache_creation_input_tokens
    );
    assert!(totals.cost.total_usd > 0.0);
    // The second identical prompt reads the system prompt from the cache.
    let again = bounded(c.create_message(&request(3, 2))).await.unwrap();
    assert!(again.usage.cache_read_input_tokens > 0);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_429_is_retried_no_earlier_than_its_retry_after() {
    let wait = Duration::from_millis(1200);
    let sim_config = SimulatorConfig::builder().fault_retry_after(wait).build().unwrap();
    let sim = start(sim_config).await;
    sim.set_faults(FaultPlan::script([Some(FaultKind::RateLimited)]));
    let reply = bounded(client(config(&sim)).create_message(&request(1, 1))).await;
    assert!(reply.is_ok(), "{reply:?}");
    let log = messages(&sim);
    assert_eq!(log.iter().map(|r| r.status).collect::<Vec<_>>(), [Some(429), Some(200)]);
    assert_eq!(retry_counts(&log), [Some(0), Some(1)]);
    let spacing = log[1].received.duration_since(log[0].received);
    assert!(spacing >= wait, "retried after {spacing:?}, retry-after was {wait:?}");
}

#[tokio::test]
async fn overloaded_server_error_and_request_timeout_are_retried() {
    let sim = start(SimulatorConfig::default()).await;
    let c = client(config(&sim));
    for (kind, status) in
        [(FaultKind::Overloaded, 529), (FaultKind::ServerError, 500), (FaultKind::RequestTimeout, 408)]
    {
        sim.clear_log();
        sim.set_faults(FaultPlan::script([Some(kind)]));
        let reply = bounded(c.create_message(&request(1, 1))).await;
        assert!(reply.is_ok(), "{kind}: {reply:?}");
        let log = messages(&sim);
        assert_eq!(log.iter().map(|r| r.status).collect::<Vec<_>>(), [Some(status), Some(200)], "{kind}");
        assert_eq!(retry_counts(&log), [Some(0), Some(1)]);
    }
}

#[tokio::test]
async fn x_should_retry_false_is_honoured() {
    let sim = start(SimulatorConfig::default()).await;
    let c = client(config(&sim));
    for (kind, code) in [(FaultKind::ServerError, "claude.api"), (FaultKind::RateLimited, "claude.rate_limited")] {
        sim.clear_log();
        sim.set_faults(FaultPlan::Script(vec![Some(Fault::new(kind).no_retry())]));
        let e = bounded(c.create_message(&request(1, 1))).await.unwrap_err();
        let log = messages(&sim);
        assert_eq!(log.len(), 1, "{kind} must not be retried");
        assert_eq!(e.code(), code);
        assert!(!e.is_retryable());
        assert_eq!(e.request_id(), Some(log[0].request_id.as_str()));
    }
}

#[tokio::test]
async fn a_hang_times_out_and_is_retried() {
    let sim_config = SimulatorConfig::builder().hang_for(Duration::from_secs(30)).build().unwrap();
    let sim = start(sim_config).await;
    let timeout = Duration::from_millis(400);
    let base = config(&sim).with_timeouts(Duration::from_secs(2), timeout);

    sim.set_faults(FaultPlan::script([Some(FaultKind::Hang)]));
    let e = bounded(client(base.clone().with_retry(RetryConfig::none())).create_message(&request(1, 1)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "claude.timeout", "{e}");
    assert!(e.is_retryable());

    sim.clear_log();
    sim.set_faults(FaultPlan::script([Some(FaultKind::Hang)]));
    let reply = bounded(client(base).create_message(&request(1, 1))).await;
    assert!(reply.is_ok(), "{reply:?}");
    let log = messages(&sim);
    assert_eq!(log.iter().map(|r| r.status).collect::<Vec<_>>(), [None, Some(200)]);
    assert_eq!(retry_counts(&log), [Some(0), Some(1)]);
    assert!(log[1].received.duration_since(log[0].received) >= timeout);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_reset_is_a_connection_error_and_is_retried() {
    let sim = start(SimulatorConfig::default()).await;
    sim.set_faults(FaultPlan::script([Some(FaultKind::Reset)]));
    let e = bounded(client(config(&sim).with_retry(RetryConfig::none())).create_message(&request(1, 1)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "claude.connection", "{e}");
    assert_eq!(messages(&sim).len(), 1);

    sim.clear_log();
    sim.set_faults(FaultPlan::script([Some(FaultKind::Reset)]));
    let reply = bounded(client(config(&sim)).create_message(&request(1, 1))).await;
    assert!(reply.is_ok(), "{reply:?}");
    let log = messages(&sim);
    assert_eq!(log.iter().map(|r| r.status).collect::<Vec<_>>(), [None, Some(200)]);
    assert_eq!(retry_counts(&log), [Some(0), Some(1)]);
}

#[tokio::test]
async fn a_malformed_success_is_a_decode_error_and_is_not_retried() {
    let sim = start(SimulatorConfig::default()).await;
    sim.set_faults(FaultPlan::script([Some(FaultKind::Malformed)]));
    let c = client(config(&sim));
    let e = bounded(c.create_message(&request(1, 1))).await.unwrap_err();
    let log = messages(&sim);
    assert_eq!(log.len(), 1);
    assert_eq!((e.code(), e.status(), e.is_retryable()), ("claude.decode", Some(200), false));
    assert_eq!(e.request_id(), Some(log[0].request_id.as_str()));
    assert_eq!(c.usage_totals().requests, 0);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let sim_config = SimulatorConfig::builder().max_body_bytes(50_000).build().unwrap();
    let sim = start(sim_config).await;
    let c = client(config(&sim));
    let too_many_tokens = MessageRequest::new("claude-haiku-4-5", 1_000_000).user("hi");
    let huge = MessageRequest::new("claude-haiku-4-5", 100).user("x".repeat(60_000));
    let wrong_key = client(ClaudeConfig::new(ApiKey::new("sk-ant-wrong")).with_base_url(sim.url()));
    let cases: Vec<(ClaudeError, &str, u16)> = vec![
        (bounded(c.create_message(&too_many_tokens)).await.unwrap_err(), "claude.invalid_request", 400),
        (bounded(wrong_key.create_message(&request(1, 1))).await.unwrap_err(), "claude.authentication", 401),
        (bounded(c.retrieve_batch("msgbatch_missing")).await.unwrap_err(), "claude.not_found", 404),
        (bounded(c.create_message(&huge)).await.unwrap_err(), "claude.request_too_large", 413),
    ];
    let log = sim.log();
    assert_eq!(log.len(), cases.len(), "one request per error: {log:#?}");
    for ((e, code, status), entry) in cases.iter().zip(&log) {
        assert_eq!((e.code(), e.status()), (*code, Some(*status)), "{e}");
        assert!(!e.is_retryable());
        assert_eq!(entry.status, Some(*status));
        assert_eq!(e.request_id(), Some(entry.request_id.as_str()));
    }
}

#[tokio::test]
async fn exhausted_retries_return_the_last_error_with_its_request_id() {
    let sim = start(SimulatorConfig::default()).await;
    let fault = Some(FaultKind::ServerError);
    sim.set_faults(FaultPlan::script([fault, fault, fault, None]));
    let e = bounded(client(config(&sim)).create_message(&request(1, 1))).await.unwrap_err();
    let log = messages(&sim);
    assert_eq!(log.len(), 3, "2 retries by default");
    assert_eq!(retry_counts(&log), [Some(0), Some(1), Some(2)]);
    assert_eq!((e.code(), e.status()), ("claude.api", Some(500)));
    assert_eq!(e.request_id(), Some(log[2].request_id.as_str()));
    assert_ne!(log[1].request_id, log[2].request_id);
}

/// Sends `n` requests at once through one client and returns (failures, 429s seen by the simulator).
async fn burst(sim: &SimulatorHandle, c: &ClaudeClient, n: u64) -> (usize, usize) {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.create_message(&request(1, i)).await })
        })
        .collect();
    let mut failures = 0;
    for task in tasks {
        failures += usize::from(bounded(task).await.unwrap().is_err());
    }
    let limited = messages(sim).iter().filter(|r| r.status == Some(429)).count();
    (failures, limited)
}

#[tokio::test]
async fn the_limiter_keeps_429s_rare_against_a_rate_limited_server() {
    // 20 requests and 20k output tokens per simulated minute; a simulated minute lasts 3 real seconds.
    let limits = RateLimits {
        requests_per_minute: Some(20),
        input_tokens_per_minute: None,
        output_tokens_per_minute: Some(20 * 4096),
    };
    let sim_config = SimulatorConfig::builder().rate_limits(limits).time_factor(20.0).build().unwrap();

    let sim = start(sim_config.clone()).await;
    let c = client(config(&sim));
    let (failures, limited) = burst(&sim, &c, 40).await;
    assert_eq!(failures, 0);
    assert!(limited <= 2, "{limited} 429s with the limiter on");
    let snapshot = c.limiter_snapshot().unwrap();
    assert_eq!(snapshot.requests.limit, Some(20));
    assert!(snapshot.held > 0, "the limiter held requests back: {snapshot:?}");
    assert_eq!(snapshot.in_flight, 0);

    // The same burst without the limiter runs into the server's limit: the test can tell the difference.
    let sim = start(sim_config).await;
    let unlimited = client(config(&sim).with_rate_limiter(false).with_retry(RetryConfig::none()));
    let (_, limited) = burst(&sim, &unlimited, 40).await;
    assert!(limited >= 10, "only {limited} 429s without the limiter");
    assert!(unlimited.limiter_snapshot().is_none());
}

fn batch_requests(n: u64) -> Vec<BatchRequest> {
    (0..n).map(|i| BatchRequest { custom_id: format!("chunk-{i}"), params: request(2, i) }).collect()
}

async fn wait_until_ended(c: &ClaudeClient, id: &str) -> MessageBatch {
    bounded(async {
        loop {
            let batch = c.retrieve_batch(id).await.unwrap();
            if batch.processing_status == BatchStatus::Ended {
                return batch;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

#[tokio::test]
async fn batches_run_end_to_end_with_errored_and_expired_results() {
    let settings =
        BatchSettings { processing_time: Duration::from_secs(10), errored_fraction: 0.2, expired_fraction: 0.2 };
    let sim = start(SimulatorConfig::builder().time_factor(20.0).batch(settings).build().unwrap()).await;
    let c = client(config(&sim));
    let created = bounded(c.create_batch(&batch_requests(10))).await.unwrap();
    assert_eq!(created.processing_status, BatchStatus::InProgress);
    assert_eq!(created.request_counts.processing, 10);
    assert!(created.results_url.is_none());
    assert_eq!(bounded(c.batch_results(&created)).await.unwrap_err().code(), "claude.batch_not_ended");

    let ended = wait_until_ended(&c, &created.id).await;
    let counts = ended.request_counts;
    assert_eq!((counts.processing, counts.succeeded, counts.errored, counts.expired), (0, 6, 2, 2));
    assert!(ended.ended_at.is_some() && ended.results_url.is_some());

    let lines = bounded(c.batch_results(&ended)).await.unwrap();
    let ids: BTreeSet<_> = lines.iter().map(|l| l.custom_id.clone()).collect();
    assert_eq!(ids, batch_requests(10).into_iter().map(|r| r.custom_id).collect());
    let mut seen = (0, 0, 0);
    for line in &lines {
        match &line.result {
            BatchResult::Succeeded(m) => {
                seen.0 += 1;
                assert!(m.tool_input(TOOL_NAME).is_some());
                assert_eq!(m.request_id, None);
            }
            BatchResult::Errored { error_type, request_id, .. } => {
                seen.1 += 1;
                assert_eq!(error_type, "api_error");
                assert!(request_id.as_deref().is_some_and(|id| id.starts_with("req_")));
            }
            BatchResult::Expired => seen.2 += 1,
            other => panic!("unexpected result {other:?}"),
        }
    }
    assert_eq!(seen, (6, 2, 2));
    let results_request = sim.log().into_iter().find(|r| r.path.ends_with("/results")).unwrap();
    assert_eq!(results_request.method, "GET");
}

#[tokio::test]
async fn a_canceled_batch_ends_with_canceled_results() {
    let settings = BatchSettings { processing_time: Duration::from_secs(600), ..BatchSettings::default() };
    let sim = start(SimulatorConfig::builder().time_factor(20.0).batch(settings).build().unwrap()).await;
    let c = client(config(&sim));
    let created = bounded(c.create_batch(&batch_requests(5))).await.unwrap();
    let canceling = bounded(c.cancel_batch(&created.id)).await.unwrap();
    assert!(matches!(canceling.processing_status, BatchStatus::Canceling | BatchStatus::Ended));
    assert!(canceling.cancel_initiated_at.is_some());
    let ended = wait_until_ended(&c, &created.id).await;
    assert_eq!(ended.request_counts.canceled, 5);
    let lines = bounded(c.batch_results(&ended)).await.unwrap();
    assert!(lines.iter().all(|l| l.result == BatchResult::Canceled));
}

#[tokio::test]
async fn the_key_never_appears_in_debug_or_error_text() {
    const KEY: &str = "sk-ant-integration-SECRET-7f3a";
    let sim =
        start(SimulatorConfig::builder().api_key(KEY).hang_for(Duration::from_secs(30)).build().unwrap()).await;
    let config = config(&sim).with_retry(RetryConfig::none());
    let config = ClaudeConfig { api_key: ApiKey::new(KEY), ..config };
    let c = client(config.clone().with_timeouts(Duration::from_secs(2), Duration::from_millis(300)));
    let mut text = format!("{config:?} {config:#?} {c:?} {:?}", config.api_key);

    assert!(bounded(c.create_message(&request(1, 1))).await.is_ok(), "the key is accepted");
    for kind in [FaultKind::ServerError, FaultKind::Malformed, FaultKind::Hang, FaultKind::Reset] {
        sim.set_faults(FaultPlan::script([Some(kind)]));
        let e = bounded(c.create_message(&request(1, 1))).await.unwrap_err();
        text.push_str(&format!("{e} {e:?} {e:#?}"));
    }
    let wrong = client(ClaudeConfig::new(ApiKey::new("sk-ant-other")).with_base_url(sim.url()));
    let e = bounded(wrong.create_message(&request(1, 1))).await.unwrap_err();
    text.push_str(&format!("{e} {e:?}"));
    assert!(text.contains("redacted"));
    assert!(!text.contains(KEY) && !text.contains("SECRET"), "{text}");
    sim.shutdown().await.unwrap();
}

//! The client's retry rules over real HTTP against the simulator: each fault class ends in a retry or a final
//! error as the official SDKs decide, a 429's retry-after is honoured (checked from the simulator's log times),
//! 4xx refusals are never retried, and errors keep the request id; the key never shows.
#![cfg(all(feature = "simulator", feature = "claude"))]

use std::time::Duration;

use pregen_core::ErrorCode;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig, MessageRequest, RetryConfig};
use pregen_core::simulator::{DEFAULT_API_KEY, FaultPlan, Simulator, SimulatorConfig, SimulatorHandle};

async fn simulator(faults: &str) -> SimulatorHandle {
    let config = SimulatorConfig::builder()
        .faults(faults.parse::<FaultPlan>().unwrap())
        .hang_for(Duration::from_secs(5))
        .fault_retry_after(Duration::from_millis(400))
        .max_body_bytes(64 * 1024)
        .build()
        .unwrap();
    Simulator::start(config).await.unwrap()
}

fn client(sim: &SimulatorHandle, key: &str) -> ClaudeClient {
    let retry = RetryConfig {
        max_retries: 2,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(60),
    };
    let config = ClaudeConfig::new(ApiKey::new(key))
        .with_base_url(sim.url())
        .with_retry(retry)
        .with_timeouts(Duration::from_secs(2), Duration::from_millis(500));
    ClaudeClient::new(config).unwrap()
}

fn hello() -> MessageRequest {
    MessageRequest::new("claude-haiku-4-5", 64).user("Say hello.")
}

/// Messages requests the simulator received.
fn message_requests(sim: &SimulatorHandle) -> Vec<pregen_core::simulator::LoggedRequest> {
    sim.log().into_iter().filter(|r| r.path == "/v1/messages").collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_are_retried_until_an_answer() {
    for fault in ["429", "529", "500", "408", "hang", "reset"] {
        let sim = simulator(&format!("script:{fault}")).await;
        let reply = client(&sim, DEFAULT_API_KEY).create_message(&hello()).await;
        assert!(reply.is_ok(), "{fault}: {reply:?}");
        let log = message_requests(&sim);
        assert_eq!(log.len(), 2, "{fault}: one retry");
        assert_eq!(log[1].retry_count, Some(1), "{fault}: the retry says so in x-stainless-retry-count");
        sim.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429s_retry_after_is_honoured() {
    let sim = simulator("script:429").await;
    client(&sim, DEFAULT_API_KEY).create_message(&hello()).await.unwrap();
    let log = message_requests(&sim);
    assert_eq!(log[0].status, Some(429));
    let waited = log[1].received.duration_since(log[0].received);
    assert!(waited >= Duration::from_millis(400), "retried after {waited:?}, before the 400 ms retry-after");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_should_retry_false_and_malformed_bodies_end_at_once() {
    let sim = simulator("script:500:noretry").await;
    let err = client(&sim, DEFAULT_API_KEY).create_message(&hello()).await.unwrap_err();
    assert_eq!((err.status(), message_requests(&sim).len()), (Some(500), 1));
    assert!(err.request_id().is_some_and(|id| id.starts_with("req_")));
    sim.shutdown().await.unwrap();

    let sim = simulator("script:malformed").await;
    let err = client(&sim, DEFAULT_API_KEY).create_message(&hello()).await.unwrap_err();
    assert_eq!(err.code(), "claude.decode");
    assert_eq!(message_requests(&sim).len(), 1, "an unreadable 200 is not retried, as the SDKs do");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_exhausted_give_the_last_error_with_its_request_id() {
    let sim = simulator("script:529,529,529,529").await;
    let err = client(&sim, DEFAULT_API_KEY).create_message(&hello()).await.unwrap_err();
    assert_eq!(err.code(), "claude.overloaded");
    assert!(err.is_retryable());
    let log = message_requests(&sim);
    assert_eq!(log.len(), 3, "the first attempt and two retries");
    assert_eq!(err.request_id(), Some(log[2].request_id.as_str()));
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_never_retried() {
    let sim = simulator("").await;
    // 401: a wrong key.
    let err = client(&sim, "sk-ant-wrong").create_message(&hello()).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(401), "claude.authentication"));
    // 400: an invalid body (no messages).
    let err = client(&sim, DEFAULT_API_KEY)
        .create_message(&MessageRequest::new("claude-haiku-4-5", 64))
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(400), "claude.invalid_request"));
    // 413: a body over the simulator's limit.
    let big = MessageRequest::new("claude-haiku-4-5", 64).user("x".repeat(100_000));
    let err = client(&sim, DEFAULT_API_KEY).create_message(&big).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(413), "claude.request_too_large"));
    // 404: a batch that does not exist.
    let err = client(&sim, DEFAULT_API_KEY).retrieve_batch("msgbatch_missing").await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(404), "claude.not_found"));
    assert!(!err.is_retryable());
    let counts: Vec<(Option<u16>, usize)> = [401, 400, 413, 404]
        .into_iter()
        .map(|s| (Some(s), sim.log().iter().filter(|r| r.status == Some(s)).count()))
        .collect();
    assert_eq!(counts, [(Some(401), 1), (Some(400), 1), (Some(413), 1), (Some(404), 1)], "each sent exactly once");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_never_shows_in_debug_or_errors() {
    let sim = simulator("").await;
    let secret = "sk-ant-very-secret-key-material";
    let c = client(&sim, secret);
    let err = c.create_message(&hello()).await.unwrap_err();
    for text in [format!("{c:?}"), format!("{err:?}"), err.to_string(), format!("{:?}", c.config())] {
        assert!(!text.contains(secret), "leaked in {text}");
    }
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limiter_holds_requests_back_before_the_server_refuses_them() {
    use pregen_core::simulator::RateLimits;
    // 120 requests a minute, time x10: a full bucket of 120, then 20 requests a real second. 20 callers sending 10
    // requests each (as a generator's chunks do) drain the bucket and must then be paced (about 4 s), or meet 429s.
    let limits = RateLimits {
        requests_per_minute: Some(120),
        input_tokens_per_minute: None,
        output_tokens_per_minute: None,
    };
    let sim = Simulator::start(SimulatorConfig::builder().rate_limits(limits).time_factor(10.0).build().unwrap())
        .await
        .unwrap();
    let c = client(&sim, DEFAULT_API_KEY);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                let mut ok = 0;
                for _ in 0..10 {
                    ok += usize::from(c.create_message(&hello()).await.is_ok());
                }
                ok
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    let log = message_requests(&sim);
    let refused = log.iter().filter(|r| r.status == Some(429)).count();
    assert_eq!(ok, 200, "every request got its answer");
    assert!(refused * 100 <= log.len() * 5, "{refused} of {} requests met a 429", log.len());
    sim.shutdown().await.unwrap();
}

//! The client-side rate limiter over real HTTP: once the server's bucket is drained, requests are paced by the
//! refill the `anthropic-ratelimit-*` headers report, instead of meeting 429s. (Retry rules, faults and batches
//! are covered in `claude_client.rs`.)
#![cfg(all(feature = "simulator", feature = "claude"))]

use std::time::Duration;

use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig, MessageRequest, RetryConfig};
use pregen_core::simulator::{DEFAULT_API_KEY, Simulator, SimulatorConfig, SimulatorHandle};

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

fn message_requests(sim: &SimulatorHandle) -> Vec<pregen_core::simulator::LoggedRequest> {
    sim.log().into_iter().filter(|r| r.path == "/v1/messages").collect()
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

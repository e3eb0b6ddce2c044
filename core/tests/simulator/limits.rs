//! Rate limits, their headers, time compression and overload mode.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta};
use pregen_core::ManualClock;
use pregen_core::simulator::{RateLimits, SimulatorConfig};

use super::{Api, Reply, brief, chat_body, generator_body, start};

fn rpm(n: u64) -> RateLimits {
    RateLimits {
        requests_per_minute: Some(n),
        input_tokens_per_minute: Some(1_000_000),
        output_tokens_per_minute: Some(400_000),
    }
}

fn number(reply: &Reply, name: &str) -> u64 {
    let value = reply.header(name).unwrap_or_else(|| panic!("{name} missing"));
    value.parse().unwrap_or_else(|_| panic!("{name}: {value}"))
}

fn assert_rate_headers(reply: &Reply) {
    for part in ["requests", "input-tokens", "output-tokens", "tokens"] {
        number(reply, &format!("anthropic-ratelimit-{part}-limit"));
        number(reply, &format!("anthropic-ratelimit-{part}-remaining"));
        let reset = reply.header(&format!("anthropic-ratelimit-{part}-reset")).unwrap();
        DateTime::parse_from_rfc3339(reset).unwrap_or_else(|e| panic!("{part} reset {reset}: {e}"));
    }
}

#[tokio::test]
async fn an_empty_request_bucket_answers_429_with_retry_after_until_it_refills() {
    let clock = Arc::new(ManualClock::new(DateTime::from_timestamp(1_700_000_000, 0).unwrap()));
    let config = SimulatorConfig::builder().clock(clock.clone()).rate_limits(rpm(2)).build().unwrap();
    let sim = start(config).await;
    let api = Api::new(&sim);
    let first = api.message(&chat_body()).await;
    assert_eq!(first.status, 200);
    assert_rate_headers(&first);
    assert_eq!(number(&first, "anthropic-ratelimit-requests-limit"), 2);
    assert_eq!(number(&first, "anthropic-ratelimit-requests-remaining"), 1);
    assert_eq!(api.message(&chat_body()).await.status, 200);

    let refused = api.message(&chat_body()).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.error_type(), "rate_limit_error");
    assert_rate_headers(&refused);
    assert_eq!(number(&refused, "anthropic-ratelimit-requests-remaining"), 0);
    assert_eq!(number(&refused, "retry-after"), 30, "half a minute refills one request of two per minute");
    assert_eq!(number(&refused, "retry-after-ms"), 30_000);

    clock.advance(TimeDelta::seconds(30));
    assert_eq!(api.message(&chat_body()).await.status, 200);
    assert_eq!(api.message(&chat_body()).await.status, 429);
    let log = sim.log();
    assert_eq!(log.iter().filter(|e| e.status == Some(429)).count(), 2);
    assert!(log.iter().all(|e| e.fault.is_none()), "rate limiting is not a fault");
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn retry_after_reports_real_seconds_under_time_compression() {
    let clock = Arc::new(ManualClock::new(DateTime::from_timestamp(1_700_000_000, 0).unwrap()));
    let config = SimulatorConfig::builder().clock(clock).time_factor(60.0).rate_limits(rpm(1)).build().unwrap();
    let sim = start(config).await;
    let api = Api::new(&sim);
    assert_eq!(api.message(&chat_body()).await.status, 200);
    let refused = api.message(&chat_body()).await;
    assert_eq!(refused.status, 429);
    assert_eq!(number(&refused, "retry-after"), 1, "a simulated minute is one real second");
    assert_eq!(number(&refused, "retry-after-ms"), 1_000);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn input_limits_count_cache_writes_but_not_cache_reads() {
    let probe = start(SimulatorConfig::default()).await;
    let usage = Api::new(&probe).message(&generator_body(&brief(&[1], 0))).await.json()["usage"].clone();
    probe.shutdown().await.unwrap();
    let written = usage["cache_creation_input_tokens"].as_u64().unwrap();
    let uncached = usage["input_tokens"].as_u64().unwrap();

    let clock = Arc::new(ManualClock::new(DateTime::from_timestamp(1_700_000_000, 0).unwrap()));
    let limits = RateLimits {
        requests_per_minute: None,
        input_tokens_per_minute: Some(written + 3 * uncached),
        output_tokens_per_minute: None,
    };
    let config = SimulatorConfig::builder().clock(clock).rate_limits(limits).build().unwrap();
    let sim = start(config).await;
    let api = Api::new(&sim);
    for variation in 0..3 {
        let reply = api.message(&generator_body(&brief(&[1], variation))).await;
        assert_eq!(reply.status, 200, "request {variation}: {}", reply.text);
        assert!(reply.header("anthropic-ratelimit-requests-limit").is_none());
        assert!(reply.header("anthropic-ratelimit-input-tokens-limit").is_some());
    }
    let refused = api.message(&generator_body(&brief(&[1], 3))).await;
    assert_eq!(refused.status, 429);
    assert!(refused.json()["error"]["message"].as_str().unwrap().contains("input tokens"));
    assert!(number(&refused, "retry-after") >= 1);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn output_is_charged_at_max_tokens_then_corrected() {
    let clock = Arc::new(ManualClock::new(DateTime::from_timestamp(1_700_000_000, 0).unwrap()));
    let limits = RateLimits { output_tokens_per_minute: Some(10_000), ..RateLimits::default() };
    let config = SimulatorConfig::builder().clock(clock).rate_limits(limits).build().unwrap();
    let sim = start(config).await;
    let api = Api::new(&sim);
    let mut body = generator_body(&brief(&[1], 0));
    body["max_tokens"] = 8_000.into();
    let first = api.message(&body).await;
    assert_eq!(first.status, 200);
    assert_eq!(number(&first, "anthropic-ratelimit-output-tokens-remaining"), 2_000);
    let second = api.message(&body).await;
    assert_eq!(second.status, 200, "the unused part of the first max_tokens was given back");
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn overload_mode_answers_529() {
    let sim = start(SimulatorConfig::builder().overloaded(true).build().unwrap()).await;
    let api = Api::new(&sim);
    let reply = api.message(&chat_body()).await;
    assert_eq!(reply.status, 529);
    assert_eq!(reply.error_type(), "overloaded_error");
    sim.set_overloaded(false);
    assert_eq!(api.message(&chat_body()).await.status, 200);
    sim.shutdown().await.unwrap();
}

use super::*;
use reqwest::header::HeaderValue;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_760_000_000, 0).unwrap()
}

fn secs(s: f64) -> TimeDelta {
    TimeDelta::milliseconds((s * 1000.0) as i64)
}

fn cost(input: u64, output: u64) -> RequestCost {
    RequestCost { requests: 1, input_tokens: input, output_tokens: output }
}

/// Rate-limit headers: `(bucket, limit, remaining)` triples.
fn limits(buckets: &[(&str, u64, u64)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, limit, remaining) in buckets {
        let put = |h: &mut HeaderMap, suffix: &str, v: String| {
            let key =
                reqwest::header::HeaderName::from_bytes(format!("anthropic-ratelimit-{name}-{suffix}").as_bytes());
            h.insert(key.unwrap(), HeaderValue::from_str(&v).unwrap());
        };
        put(&mut h, "limit", limit.to_string());
        put(&mut h, "remaining", remaining.to_string());
    }
    h
}

/// Adds a `*-reset` header for `bucket`.
fn with_reset(mut h: HeaderMap, bucket: &str, reset: DateTime<Utc>) -> HeaderMap {
    let key = format!("anthropic-ratelimit-{bucket}-reset");
    let value = reset.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    h.insert(
        reqwest::header::HeaderName::from_bytes(key.as_bytes()).unwrap(),
        HeaderValue::from_str(&value).unwrap(),
    );
    h
}

fn go(admission: Admission) -> Reservation {
    match admission {
        Admission::Go(r) => r,
        other => panic!("expected Go, got {other:?}"),
    }
}

/// A state that has seen one response with these limits at `t0`.
fn primed(buckets: &[(&str, u64, u64)]) -> LimiterState {
    let mut s = LimiterState::default();
    let r = go(s.try_acquire(cost(0, 0), t0()));
    s.observe(r, 200, &limits(buckets), t0());
    s
}

#[test]
fn estimate_is_a_quarter_of_the_body_and_max_tokens() {
    assert_eq!(RequestCost::estimate(4001, 512), cost(1001, 512));
}

#[test]
fn one_probe_until_the_first_response_then_free_without_headers() {
    let mut s = LimiterState::default();
    let first = go(s.try_acquire(cost(10, 10), t0()));
    assert_eq!(s.try_acquire(cost(10, 10), t0()), Admission::Wait { until: None });
    s.observe(first, 200, &HeaderMap::new(), t0());
    let a = go(s.try_acquire(cost(10, 10), t0()));
    let b = go(s.try_acquire(cost(1_000_000, 1_000_000), t0()));
    assert_eq!(s.snapshot(t0()).in_flight, 2);
    s.release(a);
    s.release(b);
    assert_eq!(s.snapshot(t0()).in_flight, 0);
}

#[test]
fn a_probe_that_fails_without_response_lets_the_next_one_probe() {
    let mut s = LimiterState::default();
    let first = go(s.try_acquire(cost(1, 1), t0()));
    s.release(first);
    let _second = go(s.try_acquire(cost(1, 1), t0()));
}

#[test]
fn requests_bucket_refills_at_limit_per_minute() {
    let mut s = primed(&[("requests", 10, 1)]);
    let _a = go(s.try_acquire(cost(0, 0), t0()));
    // 0 left; one request refills in 60/10 = 6 s.
    assert_eq!(s.try_acquire(cost(0, 0), t0()), Admission::Wait { until: Some(t0() + secs(6.0)) });
    assert_eq!(s.try_acquire(cost(0, 0), t0() + secs(3.0)), Admission::Wait { until: Some(t0() + secs(6.0)) });
    let _b = go(s.try_acquire(cost(0, 0), t0() + secs(6.0)));
}

#[test]
fn output_tokens_are_reserved_at_max_tokens_until_the_response() {
    let mut s = primed(&[("output-tokens", 1000, 1000)]);
    let a = go(s.try_acquire(cost(0, 600), t0()));
    // 400 left and only 400 can ever be free while `a` holds 600: wait for a response.
    assert_eq!(s.try_acquire(cost(0, 600), t0()), Admission::Wait { until: None });
    s.observe(a, 200, &limits(&[("output-tokens", 1000, 700)]), t0() + secs(1.0));
    // The server says 700 remain: the next 600 fit at once.
    let _b = go(s.try_acquire(cost(0, 600), t0() + secs(1.0)));
    let snap = s.snapshot(t0() + secs(1.0));
    assert_eq!(snap.output_tokens.limit, Some(1000));
    assert_eq!(snap.output_tokens.reserved, 600);
    assert_eq!(snap.output_tokens.available.map(f64::round), Some(100.0));
}

#[test]
fn input_shortfall_waits_for_refill_and_the_longest_bucket_wins() {
    let mut s = primed(&[("requests", 60, 60), ("input-tokens", 6000, 100), ("output-tokens", 600, 0)]);
    // input: 500 missing at 100/s → 5 s; output: 100 missing at 10/s → 10 s.
    assert_eq!(s.try_acquire(cost(600, 100), t0()), Admission::Wait { until: Some(t0() + secs(10.0)) });
    assert_eq!(s.try_acquire(cost(600, 0), t0()), Admission::Wait { until: Some(t0() + secs(5.0)) });
    let _r = go(s.try_acquire(cost(600, 100), t0() + secs(10.0)));
}

#[test]
fn refill_is_capped_at_the_limit() {
    let s = primed(&[("input-tokens", 1000, 0)]);
    let snap = s.snapshot(t0() + secs(3600.0));
    assert_eq!(snap.input_tokens.available.map(f64::round), Some(1000.0));
    assert_eq!(s.snapshot(t0() + secs(30.0)).input_tokens.available.map(f64::round), Some(500.0));
    assert_eq!(snap.input_tokens.reset, None);
}

#[test]
fn a_future_reset_sets_the_refill_rate() {
    // 900 of 1000 missing and full again in 3 s: 300 per second (a server whose minute runs fast).
    let mut s = LimiterState::default();
    let r = go(s.try_acquire(cost(0, 0), t0()));
    s.observe(r, 200, &with_reset(limits(&[("input-tokens", 1000, 100)]), "input-tokens", t0() + secs(3.0)), t0());
    assert_eq!(s.snapshot(t0() + secs(1.0)).input_tokens.available.map(f64::round), Some(400.0));
    assert_eq!(s.snapshot(t0()).input_tokens.reset, Some(t0() + secs(3.0)));
    assert_eq!(s.try_acquire(cost(700, 0), t0()), Admission::Wait { until: Some(t0() + secs(2.0)) });
    // A reset in the past (or a full bucket) falls back to the limit per minute.
    let r = go(s.try_acquire(cost(0, 0), t0() + secs(5.0)));
    let h = with_reset(limits(&[("input-tokens", 600, 0)]), "input-tokens", t0() - secs(1.0));
    s.observe(r, 200, &h, t0() + secs(5.0));
    assert_eq!(s.snapshot(t0() + secs(6.0)).input_tokens.available.map(f64::round), Some(10.0));
}

#[test]
fn a_request_larger_than_the_limit_waits_for_a_full_bucket() {
    let mut s = primed(&[("input-tokens", 1000, 500)]);
    assert_eq!(s.try_acquire(cost(5000, 0), t0()), Admission::Wait { until: Some(t0() + secs(30.0)) });
    let big = go(s.try_acquire(cost(5000, 0), t0() + secs(30.0)));
    // Nothing else fits while it holds more than the whole bucket.
    assert_eq!(s.try_acquire(cost(1, 0), t0() + secs(30.0)), Admission::Wait { until: None });
    s.release(big);
}

#[test]
fn a_429_with_retry_after_holds_everything_until_then() {
    let mut s = primed(&[]);
    let first = go(s.try_acquire(cost(1, 1), t0()));
    let second = go(s.try_acquire(cost(1, 1), t0()));
    let retry_after = |v: &'static str| {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static(v));
        h
    };
    s.observe(first, 429, &retry_after("20"), t0());
    let until = t0() + secs(20.0);
    assert_eq!(s.try_acquire(cost(1, 1), t0() + secs(1.0)), Admission::Wait { until: Some(until) });
    let snap = s.snapshot(t0() + secs(1.0));
    assert_eq!((snap.blocked_until, snap.rate_limited), (Some(until), 1));
    // A later, shorter retry-after does not shorten the hold.
    s.observe(second, 429, &retry_after("1"), t0() + secs(2.0));
    assert_eq!(s.snapshot(t0() + secs(2.0)).blocked_until, Some(until));
    let _ok = go(s.try_acquire(cost(1, 1), until));
    assert_eq!(s.snapshot(until).blocked_until, None);
}

#[test]
fn the_hold_is_capped_and_a_429_without_retry_after_only_updates_buckets() {
    let mut s = LimiterState::new(Duration::from_secs(30));
    let r = go(s.try_acquire(cost(1, 1), t0()));
    let mut h = limits(&[("requests", 50, 0)]);
    h.insert("retry-after", HeaderValue::from_static("3600"));
    s.observe(r, 429, &h, t0());
    assert_eq!(s.snapshot(t0()).blocked_until, Some(t0() + secs(30.0)));
    let mut plain = primed(&[]);
    let r = go(plain.try_acquire(cost(1, 1), t0()));
    plain.observe(r, 429, &limits(&[("requests", 60, 0)]), t0());
    assert_eq!(plain.try_acquire(cost(1, 1), t0()), Admission::Wait { until: Some(t0() + secs(1.0)) });
}

#[test]
fn unreadable_or_partial_headers_leave_a_bucket_unknown() {
    let mut h = HeaderMap::new();
    h.insert("anthropic-ratelimit-requests-limit", HeaderValue::from_static("abc"));
    h.insert("anthropic-ratelimit-requests-remaining", HeaderValue::from_static("5"));
    h.insert("anthropic-ratelimit-input-tokens-limit", HeaderValue::from_static("100"));
    let mut s = LimiterState::default();
    let r = go(s.try_acquire(cost(1, 1), t0()));
    s.observe(r, 200, &h, t0());
    let snap = s.snapshot(t0());
    assert_eq!((snap.requests.limit, snap.input_tokens.limit), (None, None));
}

#[tokio::test]
async fn async_limiter_shares_state_across_clones_and_releases_on_drop() {
    let limiter = RateLimiter::new(true, Duration::from_secs(60));
    let other = limiter.clone();
    let probe = limiter.acquire(cost(1, 1)).await;
    let waiting = tokio::spawn(async move { other.acquire(cost(1, 1)).await });
    // The second request is held until the probe's response: nothing else can release it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished());
    assert_eq!(limiter.snapshot().unwrap().held, 1);
    probe.complete(200, &limits(&[("requests", 100, 99)]));
    let second = waiting.await.unwrap();
    assert_eq!(limiter.snapshot().unwrap().in_flight, 1);
    drop(second);
    let snap = limiter.snapshot().unwrap();
    assert_eq!((snap.in_flight, snap.admitted, snap.requests.limit), (0, 2, Some(100)));
}

#[tokio::test]
async fn disabled_limiter_admits_everything() {
    let limiter = RateLimiter::new(false, Duration::from_secs(60));
    let a = limiter.acquire(cost(1, 1)).await;
    let b = limiter.acquire(cost(1, 1)).await;
    a.complete(429, &HeaderMap::new());
    drop(b);
    assert!(limiter.snapshot().is_none());
}

#[test]
fn a_stale_answer_arriving_late_does_not_raise_the_count() {
    let mut l = primed(&[("requests", 100, 100)]);
    let newer = with_reset(limits(&[("requests", 100, 40)]), "requests", t0() + secs(36.0));
    let older = with_reset(limits(&[("requests", 100, 70)]), "requests", t0() + secs(18.0));
    let same_second = with_reset(limits(&[("requests", 100, 60)]), "requests", t0() + secs(36.0));
    for headers in [newer, older, same_second] {
        let r = go(l.try_acquire(cost(0, 0), t0()));
        l.observe(r, 200, &headers, t0());
    }
    let available = l.snapshot(t0()).requests.available.unwrap();
    assert!((available - 40.0).abs() < 0.5, "the newest state (40 left) stands, got {available}");
}

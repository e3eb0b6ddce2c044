//! When to retry a failed call and how long to wait first, exactly as the official SDKs do it. Pure: the
//! response headers, the current time and the jitter draw are arguments.
//!
//! Decision (TS `shouldRetry`, PY `_should_retry`): an `x-should-retry: true|false` header decides first; then
//! 408, 409, 429 and every status >= 500 (529 included) are retried and every other status is not. Failures
//! without a response (connection errors, timeouts) are retried by the caller.
//!
//! Delay (PY `_calculate_retry_timeout`): the server's `retry-after-ms`, else `retry-after` (seconds or an HTTP
//! date), used only when `0 < value <= max_retry_after` (60 s); otherwise `min(initial · 2^n, max) · (1 − 0.25·u)`
//! where `n` counts the retries already made and `u` is uniform in [0, 1).

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

/// How many times and how patiently a call is retried. Defaults are the SDKs': 2 retries (3 attempts), 0.5 s
/// doubling to at most 8 s, and a server retry-after honoured up to 60 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// The backoff before the first retry, before jitter.
    pub initial_delay: Duration,
    /// The cap on the backoff, before jitter.
    pub max_delay: Duration,
    /// The longest server-given retry-after that is obeyed; a longer (or non-positive) one falls back to backoff.
    pub max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryConfig {
    /// No retries at all: every call makes exactly one attempt.
    pub fn none() -> Self {
        Self { max_retries: 0, ..Self::default() }
    }
}

/// The `x-should-retry` header's verdict: `Some(true)` for exactly `true`, `Some(false)` for exactly `false`,
/// otherwise `None` (the SDKs ignore any other value).
pub fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    }
}

/// The status rule on its own: 408, 409, 429 and every status >= 500 are worth retrying.
pub fn status_is_retryable(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// Whether an error response should be retried: the `x-should-retry` header if present, else the status rule.
pub fn should_retry_response(status: u16, headers: &HeaderMap) -> bool {
    should_retry_header(headers).unwrap_or_else(|| status_is_retryable(status))
}

/// The server's requested wait in seconds, from `retry-after-ms` (milliseconds, float) or else `retry-after`
/// (seconds as a float, or an HTTP date minus `now`). May be zero or negative; `None` when absent or unreadable.
pub fn server_retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<f64> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite()) {
        return Some(ms / 1000.0);
    }
    let value = header("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return secs.is_finite().then_some(secs);
    }
    let date: DateTime<Utc> = httpdate::parse_http_date(value).ok()?.into();
    Some((date - now).num_milliseconds() as f64 / 1000.0)
}

/// The server's retry-after as a positive duration, uncapped, for callers (a job queue) that honour it
/// themselves.
pub fn retry_after_duration(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    server_retry_after(headers, now).filter(|s| *s > 0.0).and_then(|s| Duration::try_from_secs_f64(s).ok())
}

/// The default backoff before retry number `retries_done + 1`: `min(initial · 2^n, max) · (1 − 0.25·jitter)`,
/// with `jitter` in [0, 1) (clamped), so the wait lies in (0.75, 1] of the nominal value.
pub fn backoff_delay(config: &RetryConfig, retries_done: u32, jitter: f64) -> Duration {
    let nominal = config.initial_delay.as_secs_f64() * 2f64.powi(retries_done.min(1000) as i32);
    let capped = nominal.min(config.max_delay.as_secs_f64());
    Duration::from_secs_f64(capped * (1.0 - 0.25 * jitter.clamp(0.0, 1.0)))
}

/// The wait before the next retry: the server's value when `0 < value <= max_retry_after`, else
/// [`backoff_delay`]. `headers` is `None` when the failure had no response.
pub fn retry_delay(
    config: &RetryConfig,
    retries_done: u32,
    headers: Option<&HeaderMap>,
    now: DateTime<Utc>,
    jitter: f64,
) -> Duration {
    let server = headers.and_then(|h| server_retry_after(h, now));
    match server {
        Some(secs) if secs > 0.0 && secs <= config.max_retry_after.as_secs_f64() => Duration::from_secs_f64(secs),
        _ => backoff_delay(config, retries_done, jitter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_760_000_000, 0).unwrap()
    }

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[test]
    fn status_rule_matches_the_sdks() {
        for s in [408, 409, 429, 500, 502, 503, 504, 529, 599] {
            assert!(status_is_retryable(s), "{s}");
        }
        for s in [400, 401, 402, 403, 404, 413, 422, 200, 302] {
            assert!(!status_is_retryable(s), "{s}");
        }
    }

    #[test]
    fn x_should_retry_overrides_the_status() {
        assert!(!should_retry_response(529, &headers(&[("x-should-retry", "false")])));
        assert!(should_retry_response(400, &headers(&[("x-should-retry", "true")])));
        assert!(should_retry_response(429, &headers(&[("x-should-retry", "maybe")])));
        assert!(!should_retry_response(404, &headers(&[("x-should-retry", "TRUE")])));
        assert_eq!(should_retry_header(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_table_of_the_reference() {
        let c = RetryConfig::default();
        // n: (jitter 0 → upper bound, jitter →1 → lower bound)
        let table =
            [(0, 500, 375), (1, 1000, 750), (2, 2000, 1500), (3, 4000, 3000), (4, 8000, 6000), (5, 8000, 6000)];
        for (n, hi, lo) in table {
            assert_eq!(ms(backoff_delay(&c, n, 0.0)), hi, "n={n}");
            assert_eq!(ms(backoff_delay(&c, n, 1.0)), lo, "n={n}");
            let mid = ms(backoff_delay(&c, n, 0.5));
            assert!(lo < mid && mid < hi);
        }
        assert_eq!(ms(backoff_delay(&c, u32::MAX, 0.0)), 8000);
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let h = headers(&[("retry-after-ms", "1500.5"), ("retry-after", "30")]);
        assert_eq!(server_retry_after(&h, now()), Some(1.5005));
        assert_eq!(ms(retry_delay(&RetryConfig::default(), 0, Some(&h), now(), 0.3)), 1500);
        let bad_ms = headers(&[("retry-after-ms", "soon"), ("retry-after", "3")]);
        assert_eq!(server_retry_after(&bad_ms, now()), Some(3.0));
    }

    #[test]
    fn retry_after_seconds_and_http_dates() {
        let c = RetryConfig::default();
        assert_eq!(ms(retry_delay(&c, 0, Some(&headers(&[("retry-after", "2.25")])), now(), 0.9)), 2250);
        let date = httpdate::fmt_http_date((now() + TimeDelta::seconds(7)).into());
        let h = headers(&[("retry-after", &date)]);
        assert_eq!(server_retry_after(&h, now()), Some(7.0));
        assert_eq!(ms(retry_delay(&c, 1, Some(&h), now(), 0.0)), 7000);
    }

    #[test]
    fn out_of_range_server_values_fall_back_to_backoff() {
        let c = RetryConfig::default();
        let past = httpdate::fmt_http_date((now() - TimeDelta::seconds(5)).into());
        for value in ["0", "-3", "61", "3600", "inf", "NaN", "garbage", past.as_str()] {
            let h = headers(&[("retry-after", value)]);
            assert_eq!(ms(retry_delay(&c, 1, Some(&h), now(), 0.0)), 1000, "{value}");
        }
        assert_eq!(ms(retry_delay(&c, 0, Some(&headers(&[("retry-after", "60")])), now(), 0.0)), 60_000);
        assert_eq!(ms(retry_delay(&c, 0, None, now(), 0.0)), 500);
    }

    #[test]
    fn max_retry_after_is_configurable() {
        let c = RetryConfig { max_retry_after: Duration::from_secs(120), ..RetryConfig::default() };
        let h = headers(&[("retry-after", "90")]);
        assert_eq!(ms(retry_delay(&c, 0, Some(&h), now(), 0.0)), 90_000);
        assert_eq!(ms(retry_delay(&RetryConfig::default(), 0, Some(&h), now(), 0.0)), 500);
    }

    #[test]
    fn uncapped_retry_after_for_the_queue() {
        let h = headers(&[("retry-after", "90")]);
        assert_eq!(retry_after_duration(&h, now()), Some(Duration::from_secs(90)));
        assert_eq!(retry_after_duration(&headers(&[("retry-after", "0")]), now()), None);
        assert_eq!(retry_after_duration(&HeaderMap::new(), now()), None);
    }
}

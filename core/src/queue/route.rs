//! The pre-generation route's answer (`POST /api/pre-generate-exam`) as an attempt's [`Outcome`], for callers
//! that run a job by asking that route over HTTP (the browser tracker): which statuses succeed, which failures
//! deserve another attempt (408, 429 and 5xx; never another 4xx), and the wait a `Retry-After` header asks for.

use chrono::{DateTime, TimeDelta, Utc};

use super::decide::Outcome;
use super::job::JobError;
use crate::error::ErrorCode;

/// The most characters of a failure's body kept in its message.
const MESSAGE_CHARS: usize = 200;

/// Why asking the route failed, with a stable code per kind of answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteFailure {
    /// The route answered with a status other than 2xx; `message` is its body's `error` (or the body's start).
    #[error("pre-generation route answered {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// What the route said.
        message: String,
    },
    /// No answer arrived: the network failed or the connection was refused or reset.
    #[error("pre-generation route unreachable: {0}")]
    Unreachable(String),
}

impl ErrorCode for RouteFailure {
    fn code(&self) -> &'static str {
        match self {
            RouteFailure::Status { status: 408, .. } => "route.timeout",
            RouteFailure::Status { status: 429, .. } => "route.rate_limited",
            RouteFailure::Status { status: 400..=499, .. } => "route.rejected",
            RouteFailure::Status { status: 500..=599, .. } => "route.server_error",
            RouteFailure::Status { .. } => "route.unexpected_status",
            RouteFailure::Unreachable(_) => "route.unreachable",
        }
    }

    /// A status by [`status_is_retryable`]; an unreachable route is worth another try.
    fn is_retryable(&self) -> bool {
        match self {
            RouteFailure::Status { status, .. } => status_is_retryable(*status),
            RouteFailure::Unreachable(_) => true,
        }
    }
}

/// Whether a failed answer deserves another attempt: 408 (request timeout), 429 (rate limited) and every 5xx.
/// Any other 4xx is the request's own fault and would fail the same way again; 1xx and 3xx are not the route's
/// answers at all.
pub fn status_is_retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// The wait a `Retry-After` header value asks for at `now`: delay-seconds (digits only) or an HTTP date
/// (IMF-fixdate, `Wed, 21 Oct 2015 07:28:00 GMT`) minus `now`, at least zero. `None` for anything else.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<TimeDelta> {
    parse_retry_after_with(value, now, |date| DateTime::parse_from_rfc2822(date).ok().map(|d| d.to_utc()))
}

/// [`parse_retry_after`] with the caller's reader of HTTP dates (the browser's `Date.parse`, which keeps chrono's
/// date parser out of the WASM); the rule is the same.
pub fn parse_retry_after_with(
    value: &str,
    now: DateTime<Utc>,
    http_date: impl FnOnce(&str) -> Option<DateTime<Utc>>,
) -> Option<TimeDelta> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<i64>().unwrap_or(i64::MAX);
        return Some(TimeDelta::try_seconds(secs).unwrap_or(TimeDelta::MAX));
    }
    // Signed or fractional numbers are no delay-seconds; a lenient date reader must not see them as dates.
    if value.starts_with(['+', '-']) || value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let date = http_date(value)?;
    Some((date - now).max(TimeDelta::zero()))
}

/// A failure's message from the route's body: its JSON `error` text (the routes' shape, `{"error": "..."}`), else
/// the body's first 200 characters, else `"empty body"`.
pub fn failure_message(body: &str) -> String {
    /// The routes' error body; other fields are ignored. (A struct, not `serde_json::Value`: smaller in WASM.)
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: Option<String>,
    }
    let parsed = serde_json::from_str::<ErrorBody>(body).ok();
    if let Some(error) = parsed.and_then(|b| b.error) {
        return error.chars().take(MESSAGE_CHARS).collect();
    }
    let text: String = body.trim().chars().take(MESSAGE_CHARS).collect();
    if text.is_empty() { "empty body".to_owned() } else { text }
}

/// The outcome of an attempt the route answered with `status`, the wait its `Retry-After` header asked for (see
/// [`parse_retry_after`]) and its body: `Succeeded` for 2xx, else a failure coded by [`RouteFailure`], retryable
/// by [`status_is_retryable`], carrying the wait (which [`super::decide`] honours when longer than the backoff).
pub fn answer_outcome(status: u16, retry_after: Option<TimeDelta>, body: &str) -> Outcome {
    if (200..=299).contains(&status) {
        return Outcome::Succeeded;
    }
    let failure = RouteFailure::Status { status, message: failure_message(body) };
    Outcome::Failed { error: JobError::from_error(&failure), retryable: failure.is_retryable(), retry_after }
}

/// The outcome of an attempt that got no answer (`detail` says why): a retryable `route.unreachable` failure.
/// An attempt aborted at its deadline is [`Outcome::TimedOut`] instead.
pub fn unreachable_outcome(detail: &str) -> Outcome {
    Outcome::from_error(&RouteFailure::Unreachable(detail.chars().take(MESSAGE_CHARS).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_760_000_000, 0).unwrap()
    }

    fn failed(outcome: Outcome) -> (String, bool, Option<TimeDelta>) {
        match outcome {
            Outcome::Failed { error, retryable, retry_after } => (error.code, retryable, retry_after),
            other => panic!("not a failure: {other:?}"),
        }
    }

    #[test]
    fn every_2xx_succeeds() {
        for status in [200, 201, 202, 204, 299] {
            assert_eq!(answer_outcome(status, Some(TimeDelta::seconds(5)), ""), Outcome::Succeeded, "{status}");
        }
    }

    #[test]
    fn only_408_429_and_5xx_are_retried() {
        let cases = [
            (408, "route.timeout", true),
            (429, "route.rate_limited", true),
            (500, "route.server_error", true),
            (502, "route.server_error", true),
            (503, "route.server_error", true),
            (504, "route.server_error", true),
            (529, "route.server_error", true),
            (599, "route.server_error", true),
            (400, "route.rejected", false),
            (401, "route.rejected", false),
            (403, "route.rejected", false),
            (404, "route.rejected", false),
            (405, "route.rejected", false),
            (409, "route.rejected", false),
            (413, "route.rejected", false),
            (422, "route.rejected", false),
            (425, "route.rejected", false),
            (499, "route.rejected", false),
            (100, "route.unexpected_status", false),
            (301, "route.unexpected_status", false),
            (304, "route.unexpected_status", false),
            (600, "route.unexpected_status", false),
        ];
        for (status, code, retryable) in cases {
            assert_eq!(status_is_retryable(status), retryable, "{status}");
            let (got_code, got_retryable, _) = failed(answer_outcome(status, None, ""));
            assert_eq!((got_code.as_str(), got_retryable), (code, retryable), "{status}");
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let s = TimeDelta::seconds;
        assert_eq!(parse_retry_after("2", now()), Some(s(2)));
        assert_eq!(parse_retry_after(" 120 ", now()), Some(s(120)));
        assert_eq!(parse_retry_after("0", now()), Some(s(0)));
        assert_eq!(parse_retry_after("99999999999999999999999", now()), Some(TimeDelta::MAX), "saturates");
        let in_90 = (now() + s(90)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        assert_eq!(parse_retry_after(&in_90, now()), Some(s(90)));
        let past = (now() - s(90)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        assert_eq!(parse_retry_after(&past, now()), Some(s(0)), "a date in the past asks for no wait");
        for bad in ["", " ", "-1", "1.5", "+3", "2s", "soon", "Wed, 99 Oct 2015 07:28:00 GMT"] {
            assert_eq!(parse_retry_after(bad, now()), None, "{bad:?}");
        }
        // A date reader that accepts anything: numbers in other forms are still refused before it is asked.
        for bad in ["-1", "1.5", "+3", ".5"] {
            assert_eq!(parse_retry_after_with(bad, now(), |_| Some(now())), None, "{bad:?}");
        }
        let asked =
            |text: &str| parse_retry_after_with(text, now(), |d| (d == "tomorrow").then(|| now() + s(86_400)));
        assert_eq!(asked("tomorrow"), Some(s(86_400)), "dates go to the caller's reader");
        assert_eq!(asked("7"), Some(s(7)), "seconds do not");
        assert_eq!(asked("later"), None);
    }

    #[test]
    fn the_header_wait_travels_with_any_failure() {
        let three = parse_retry_after("3", now());
        let (code, retryable, wait) = failed(answer_outcome(429, three, "{}"));
        assert_eq!((code.as_str(), retryable, wait), ("route.rate_limited", true, Some(TimeDelta::seconds(3))));
        let (_, _, wait) = failed(answer_outcome(503, parse_retry_after("later", now()), ""));
        assert_eq!(wait, None, "an unreadable header is ignored");
        let (_, retryable, wait) = failed(answer_outcome(400, three, ""));
        assert_eq!((retryable, wait), (false, Some(TimeDelta::seconds(3))), "decide() ignores it: not retryable");
    }

    #[test]
    fn messages_come_from_the_body() {
        assert_eq!(failure_message(r#"{"error": "Invalid examType"}"#), "Invalid examType");
        assert_eq!(failure_message("  Bad Gateway \n"), "Bad Gateway");
        assert_eq!(failure_message(r#"{"message": "x"}"#), r#"{"message": "x"}"#);
        assert_eq!(failure_message(r#"{"error": 5}"#), r#"{"error": 5}"#, "a non-text error is shown as sent");
        assert_eq!(failure_message(r#"{"success": false, "error": "x", "n": [1]}"#), "x");
        assert_eq!(failure_message("[1]"), "[1]");
        assert_eq!(failure_message(""), "empty body");
        assert_eq!(failure_message(&"é".repeat(500)).chars().count(), 200);
        let Outcome::Failed { error, .. } = answer_outcome(400, None, r#"{"error":"Invalid examType"}"#) else {
            panic!("not a failure")
        };
        assert_eq!(error.message, "pre-generation route answered 400: Invalid examType");
    }

    #[test]
    fn unreachable_is_retryable() {
        let (code, retryable, wait) = failed(unreachable_outcome("Failed to fetch"));
        assert_eq!((code.as_str(), retryable, wait), ("route.unreachable", true, None));
    }
}

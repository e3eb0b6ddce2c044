//! What a Claude call can fail with, with a stable code per class and the SDKs' retry answer.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde::Deserialize;

use super::retry;
use crate::error::ErrorCode;

/// The class of an HTTP error response, from its status (as the SDKs map it) refined by the body's
/// `error.type` where the status alone is ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 400, 422 and unlisted 4xx: the request is wrong.
    InvalidRequest,
    /// 401: the key is missing or wrong.
    Authentication,
    /// 402 or `billing_error`: the account cannot pay.
    Billing,
    /// 403: the key may not use this resource.
    Permission,
    /// 404: no such model, batch or path.
    NotFound,
    /// 408 or 504: the request timed out on the way or on the server.
    Timeout,
    /// 409: a lock or conflict; retried.
    Conflict,
    /// 413: the body is over the size limit (often a proxy's non-API body).
    RequestTooLarge,
    /// 429: a rate limit was hit.
    RateLimited,
    /// 529 or `overloaded_error`: the API is overloaded for everyone.
    Overloaded,
    /// Any other 5xx: an error inside the API.
    Api,
}

impl ApiErrorKind {
    /// Classifies a status, using the body's `error.type` only for statuses without their own class.
    pub fn classify(status: u16, error_type: Option<&str>) -> Self {
        match (status, error_type) {
            (400, Some("billing_error")) | (402, _) => ApiErrorKind::Billing,
            (401, _) => ApiErrorKind::Authentication,
            (403, _) => ApiErrorKind::Permission,
            (404, _) => ApiErrorKind::NotFound,
            (408, _) | (504, _) => ApiErrorKind::Timeout,
            (409, _) => ApiErrorKind::Conflict,
            (413, _) => ApiErrorKind::RequestTooLarge,
            (429, _) => ApiErrorKind::RateLimited,
            (529, _) => ApiErrorKind::Overloaded,
            (500.., Some("overloaded_error")) => ApiErrorKind::Overloaded,
            (500.., _) => ApiErrorKind::Api,
            (_, Some("billing_error")) => ApiErrorKind::Billing,
            _ => ApiErrorKind::InvalidRequest,
        }
    }

    /// The stable code of the class, e.g. `"claude.rate_limited"`.
    pub fn code(self) -> &'static str {
        match self {
            ApiErrorKind::InvalidRequest => "claude.invalid_request",
            ApiErrorKind::Authentication => "claude.authentication",
            ApiErrorKind::Billing => "claude.billing",
            ApiErrorKind::Permission => "claude.permission",
            ApiErrorKind::NotFound => "claude.not_found",
            ApiErrorKind::Timeout => "claude.timeout",
            ApiErrorKind::Conflict => "claude.conflict",
            ApiErrorKind::RequestTooLarge => "claude.request_too_large",
            ApiErrorKind::RateLimited => "claude.rate_limited",
            ApiErrorKind::Overloaded => "claude.overloaded",
            ApiErrorKind::Api => "claude.api",
        }
    }
}

/// An HTTP error response from the API (or a proxy in front of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The class, from status and body.
    pub kind: ApiErrorKind,
    /// The HTTP status.
    pub status: u16,
    /// The body's `error.type`, when the body was API-formatted.
    pub error_type: Option<String>,
    /// The body's `error.message`, or the start of a non-API body, or the status reason.
    pub message: String,
    /// The `request-id` header, or the body's `request_id`.
    pub request_id: Option<String>,
    /// The server's positive retry-after (from `retry-after-ms` or `retry-after`), uncapped.
    pub retry_after: Option<Duration>,
    /// The `x-should-retry` header's verdict, when it gave one.
    pub should_retry: Option<bool>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Claude API returned {}", self.status)?;
        if let Some(t) = &self.error_type {
            write!(f, " {t}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl ApiError {
    /// Builds the error from a non-2xx response: status first, body details when the body is an API error
    /// object, the request id from the header or else the body.
    pub fn from_response(status: u16, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Self {
        #[derive(Deserialize)]
        struct Body {
            error: Inner,
            #[serde(default)]
            request_id: Option<String>,
        }
        #[derive(Deserialize)]
        struct Inner {
            #[serde(rename = "type")]
            error_type: String,
            #[serde(default)]
            message: String,
        }
        let parsed = serde_json::from_slice::<Body>(body).ok();
        let header_id = headers.get("request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (error_type, message, body_id) = match parsed {
            Some(b) => (Some(b.error.error_type), b.error.message, b.request_id),
            None => (None, non_api_message(status, body), None),
        };
        ApiError {
            kind: ApiErrorKind::classify(status, error_type.as_deref()),
            status,
            error_type,
            message,
            request_id: header_id.or(body_id),
            retry_after: retry::retry_after_duration(headers, now),
            should_retry: retry::should_retry_header(headers),
        }
    }

    /// The SDKs' retry answer: the `x-should-retry` verdict if given, else the status rule.
    pub fn is_retryable(&self) -> bool {
        self.should_retry.unwrap_or_else(|| retry::status_is_retryable(self.status))
    }
}

/// A short message for a body that is not an API error object: its first 200 characters, or the status
/// reason when it is empty.
fn non_api_message(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        let reason = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason());
        return reason.unwrap_or("unknown status").to_owned();
    }
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// Every way a Claude call can fail. The API key never appears in any variant or message.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClaudeError {
    /// The API (or a proxy) answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// No complete response within the per-attempt timeout (connect or total).
    #[error("Claude request timed out: {message}")]
    Timeout {
        /// What timed out.
        message: String,
    },
    /// The connection failed or broke before a complete response arrived.
    #[error("Claude connection failed: {message}")]
    Connection {
        /// The transport's explanation (the chain of causes).
        message: String,
    },
    /// A response arrived but its body is not what the API sends. Not retried (the SDKs do not either).
    #[error("Claude response (status {status}) could not be read: {message}{}", request_suffix(.request_id))]
    Decode {
        /// The HTTP status of the unreadable response.
        status: u16,
        /// What was wrong with it.
        message: String,
        /// The `request-id` header, if any.
        request_id: Option<String>,
    },
    /// The client was configured with something it cannot use (no key, a bad URL).
    #[error("Claude client misconfigured: {0}")]
    Config(String),
    /// Results were asked for a batch whose `results_url` is still null; retrieve the batch again later.
    #[error("message batch {id} has not ended, so it has no results yet")]
    BatchNotEnded {
        /// The batch id.
        id: String,
    },
}

fn request_suffix(id: &Option<String>) -> String {
    id.as_ref().map(|id| format!(" (request id {id})")).unwrap_or_default()
}

impl ClaudeError {
    /// The HTTP status of the failing response, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClaudeError::Api(e) => Some(e.status),
            ClaudeError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The request id of the failing response, from the `request-id` header or the error body.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ClaudeError::Api(e) => e.request_id.as_deref(),
            ClaudeError::Decode { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The server's retry-after on an error response (e.g. a 429), uncapped, so a job queue can honour it.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClaudeError::Api(e) => e.retry_after,
            _ => None,
        }
    }

    /// The API error details, when the failure was an error response.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            ClaudeError::Api(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ApiError> for ClaudeError {
    fn from(e: ApiError) -> Self {
        ClaudeError::Api(Box::new(e))
    }
}

impl ErrorCode for ClaudeError {
    fn code(&self) -> &'static str {
        match self {
            ClaudeError::Api(e) => e.kind.code(),
            ClaudeError::Timeout { .. } => "claude.timeout",
            ClaudeError::Connection { .. } => "claude.connection",
            ClaudeError::Decode { .. } => "claude.decode",
            ClaudeError::Config(_) => "claude.config",
            ClaudeError::BatchNotEnded { .. } => "claude.batch_not_ended",
        }
    }

    /// The same answer the retry loop gives: error responses by `x-should-retry` then status; timeouts and
    /// connection failures yes; unreadable bodies, configuration and unended batches no.
    fn is_retryable(&self) -> bool {
        match self {
            ClaudeError::Api(e) => e.is_retryable(),
            ClaudeError::Timeout { .. } | ClaudeError::Connection { .. } => true,
            ClaudeError::Decode { .. } | ClaudeError::Config(_) | ClaudeError::BatchNotEnded { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_760_000_000, 0).unwrap()
    }

    fn api_body(t: &str) -> Vec<u8> {
        format!(r#"{{"type":"error","error":{{"type":"{t}","message":"msg {t}"}},"request_id":"req_body"}}"#)
            .into_bytes()
    }

    fn err(status: u16, headers: &HeaderMap, body: &[u8]) -> ClaudeError {
        ApiError::from_response(status, headers, body, now()).into()
    }

    #[test]
    fn statuses_map_to_stable_codes_and_retry_answers() {
        let cases = [
            (400, "invalid_request_error", "claude.invalid_request", false),
            (401, "authentication_error", "claude.authentication", false),
            (402, "billing_error", "claude.billing", false),
            (403, "permission_error", "claude.permission", false),
            (404, "not_found_error", "claude.not_found", false),
            (408, "timeout_error", "claude.timeout", true),
            (409, "conflict_error", "claude.conflict", true),
            (413, "request_too_large", "claude.request_too_large", false),
            (422, "invalid_request_error", "claude.invalid_request", false),
            (429, "rate_limit_error", "claude.rate_limited", true),
            (500, "api_error", "claude.api", true),
            (503, "overloaded_error", "claude.overloaded", true),
            (504, "timeout_error", "claude.timeout", true),
            (529, "overloaded_error", "claude.overloaded", true),
        ];
        for (status, t, code, retryable) in cases {
            let e = err(status, &HeaderMap::new(), &api_body(t));
            assert_eq!(e.code(), code, "{status}");
            assert_eq!(e.is_retryable(), retryable, "{status}");
            assert_eq!(e.status(), Some(status));
            assert_eq!(e.request_id(), Some("req_body"));
            assert_eq!(e.api_error().unwrap().error_type.as_deref(), Some(t));
        }
    }

    #[test]
    fn a_proxy_413_without_an_api_body_still_maps_by_status() {
        let e = err(413, &HeaderMap::new(), b"<html><body>413 Request Entity Too Large</body></html>");
        assert_eq!(e.code(), "claude.request_too_large");
        assert!(!e.is_retryable());
        assert_eq!(e.request_id(), None);
        assert!(e.to_string().contains("413 Request Entity Too Large"), "{e}");
        let empty = err(502, &HeaderMap::new(), b"");
        assert_eq!(empty.code(), "claude.api");
        assert!(empty.to_string().contains("Bad Gateway"), "{empty}");
        let long = err(500, &HeaderMap::new(), "x".repeat(1000).as_bytes());
        assert!(long.to_string().len() < 300);
    }

    #[test]
    fn header_request_id_wins_and_retry_headers_are_kept() {
        let mut h = HeaderMap::new();
        h.insert("request-id", HeaderValue::from_static("req_header"));
        h.insert("retry-after", HeaderValue::from_static("90"));
        h.insert("x-should-retry", HeaderValue::from_static("false"));
        let e = err(429, &h, &api_body("rate_limit_error"));
        assert_eq!(e.request_id(), Some("req_header"));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(90)));
        assert!(!e.is_retryable(), "x-should-retry false wins over 429");
        assert_eq!(
            e.to_string(),
            "Claude API returned 429 rate_limit_error: msg rate_limit_error (request id req_header)"
        );
        let mut yes = HeaderMap::new();
        yes.insert("x-should-retry", HeaderValue::from_static("true"));
        assert!(err(400, &yes, &api_body("invalid_request_error")).is_retryable());
    }

    #[test]
    fn transport_and_local_errors() {
        let cases: [(ClaudeError, &str, bool); 5] = [
            (ClaudeError::Timeout { message: "x".into() }, "claude.timeout", true),
            (ClaudeError::Connection { message: "reset".into() }, "claude.connection", true),
            (
                ClaudeError::Decode { status: 200, message: "eof".into(), request_id: Some("req_1".into()) },
                "claude.decode",
                false,
            ),
            (ClaudeError::Config("no key".into()), "claude.config", false),
            (ClaudeError::BatchNotEnded { id: "b".into() }, "claude.batch_not_ended", false),
        ];
        for (e, code, retryable) in cases {
            assert_eq!(e.code(), code);
            assert_eq!(e.is_retryable(), retryable, "{code}");
            assert_eq!(e.retry_after(), None);
        }
        let d = ClaudeError::Decode { status: 200, message: "eof".into(), request_id: Some("req_1".into()) };
        assert_eq!(d.request_id(), Some("req_1"));
        assert!(d.to_string().ends_with("(request id req_1)"));
    }
}

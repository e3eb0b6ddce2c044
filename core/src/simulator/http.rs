//! The HTTP vocabulary shared by the routes: what a route decided ([`Outcome`]: status, body, headers, an extra
//! delay, whether to answer or drop the connection, what to log), API-shaped error bodies, and per-request context.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::faults::FaultKind;
use super::log::LoggedRequest;
use super::reply::{Usage, new_id};

/// JSON bodies.
pub(crate) const JSON: &str = "application/json";
/// Batch results, one JSON object per line.
pub(crate) const JSONL: &str = "application/x-jsonl";

/// What happens once the outcome is decided and its delay has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    /// Send the response.
    Respond,
    /// Drop the connection with a TCP reset and send nothing.
    Kill,
}

/// What the log records about a request beyond its status.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LogNote {
    pub(crate) model: Option<String>,
    pub(crate) error_type: Option<String>,
    pub(crate) message_index: Option<u64>,
    pub(crate) usage: Usage,
    pub(crate) fault: Option<FaultKind>,
    pub(crate) items: Option<usize>,
}

/// A route's decision.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(String, String)>,
    /// Real time to wait before answering (latency) or dropping (hang).
    pub(crate) delay: Duration,
    pub(crate) after: After,
    /// Output tokens to give back to the rate limiter after the delay.
    pub(crate) refund_output: Option<u64>,
    pub(crate) note: LogNote,
}

impl Outcome {
    /// A JSON response.
    pub(crate) fn json(status: u16, body: &Value) -> Self {
        Self::raw(status, JSON, body.to_string().into_bytes())
    }

    /// A response with any body.
    pub(crate) fn raw(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status,
            body,
            content_type,
            headers: Vec::new(),
            delay: Duration::ZERO,
            after: After::Respond,
            refund_output: None,
            note: LogNote::default(),
        }
    }

    /// An API error: `{"type":"error","error":{"type":kind,"message":...},"request_id":...}`.
    pub(crate) fn error(status: u16, kind: &str, message: impl Into<String>, request_id: &str) -> Self {
        let mut outcome = Self::json(status, &error_body(kind, &message.into(), request_id));
        outcome.note.error_type = Some(kind.to_owned());
        outcome
    }

    /// No response: hold the request for `delay`, then reset the connection.
    pub(crate) fn kill(delay: Duration) -> Self {
        let mut outcome = Self::raw(0, JSON, Vec::new());
        outcome.delay = delay;
        outcome.after = After::Kill;
        outcome
    }

    /// Adds a response header.
    pub(crate) fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The response, with `request-id` and `content-type` set.
    pub(crate) fn into_response(self, request_id: &str) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        insert(headers, "request-id", request_id);
        insert(headers, "content-type", self.content_type);
        for (name, value) in &self.headers {
            insert(headers, name, value);
        }
        response
    }
}

fn insert(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
        headers.insert(name, value);
    }
}

/// The API's error body.
pub(crate) fn error_body(kind: &str, message: &str, request_id: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id})
}

/// What is known about a request when it arrives.
#[derive(Debug, Clone)]
pub(crate) struct RequestCtx {
    pub(crate) seq: u64,
    pub(crate) received: Instant,
    pub(crate) received_at: DateTime<Utc>,
    pub(crate) request_id: String,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) retry_count: Option<u32>,
}

impl RequestCtx {
    /// The context of request number `seq` with these parts.
    pub(crate) fn new(seq: u64, method: &str, path: &str, headers: &HeaderMap) -> Self {
        Self {
            seq,
            received: Instant::now(),
            received_at: Utc::now(),
            request_id: new_id("req"),
            method: method.to_owned(),
            path: path.to_owned(),
            retry_count: header(headers, "x-stainless-retry-count").and_then(|v| v.trim().parse().ok()),
        }
    }

    /// The log entry for this request answered by `outcome`.
    pub(crate) fn entry(&self, outcome: &Outcome) -> LoggedRequest {
        let note = &outcome.note;
        LoggedRequest {
            seq: self.seq,
            received: self.received,
            received_at: self.received_at,
            method: self.method.clone(),
            path: self.path.clone(),
            status: (outcome.after == After::Respond).then_some(outcome.status),
            request_id: self.request_id.clone(),
            error_type: note.error_type.clone(),
            model: note.model.clone(),
            retry_count: self.retry_count,
            message_index: note.message_index,
            input_tokens: note.usage.input,
            output_tokens: note.usage.output,
            cache_creation_input_tokens: note.usage.cache_creation,
            cache_read_input_tokens: note.usage.cache_read,
            fault: note.fault,
            items: note.items,
        }
    }
}

/// A header's value as text, if present and readable.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

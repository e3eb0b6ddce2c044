//! The request log: one entry per HTTP request the simulator received, so tests and benches can check what a
//! client did (retry spacing, retry-count headers, token use, which fault hit which attempt).

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::faults::FaultKind;

/// One request as the simulator saw and answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedRequest {
    /// Arrival order, from 1.
    pub seq: u64,
    /// When it arrived (monotonic), for measuring the spacing of retries.
    pub received: Instant,
    /// When it arrived, in UTC.
    pub received_at: DateTime<Utc>,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path, e.g. `/v1/messages`.
    pub path: String,
    /// The status sent; `None` when no response was sent (a `hang` or `reset` fault).
    pub status: Option<u16>,
    /// The `request-id` header sent (also when no response went out).
    pub request_id: String,
    /// The `error.type` of an error response.
    pub error_type: Option<String>,
    /// The requested model, once the body was read.
    pub model: Option<String>,
    /// The `x-stainless-retry-count` header, if sent and numeric.
    pub retry_count: Option<u32>,
    /// For message requests: 1 for the first that passed auth and validation since the fault plan was set.
    pub message_index: Option<u64>,
    /// `usage.input_tokens` reported (uncached input).
    pub input_tokens: u64,
    /// `usage.output_tokens` reported.
    pub output_tokens: u64,
    /// `usage.cache_creation_input_tokens` reported.
    pub cache_creation_input_tokens: u64,
    /// `usage.cache_read_input_tokens` reported.
    pub cache_read_input_tokens: u64,
    /// The fault applied, if any (`overloaded` mode logs as the 529 fault).
    pub fault: Option<FaultKind>,
    /// Items written in the tool input, if the answer carried one.
    pub items: Option<usize>,
}

/// The log of one simulator, shared by all its connections.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: Mutex<Vec<LoggedRequest>>,
}

impl RequestLog {
    /// Appends `entry`.
    pub(crate) fn push(&self, entry: LoggedRequest) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
    }

    /// Every entry so far, in arrival order.
    pub(crate) fn snapshot(&self) -> Vec<LoggedRequest> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner()).clone();
        entries.sort_by_key(|e| e.seq);
        entries
    }

    /// Forgets every entry.
    pub(crate) fn clear(&self) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

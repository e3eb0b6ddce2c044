//! What a caller learns when a job it ran or waited for ended without an exam: the job's own last error code
//! (`claude.authentication`, not a generic one), its message, and whether calling again could help, so a binding
//! can hand JavaScript an `Error` whose `code` and `retryable` say what really happened.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use serde::Serialize;

use crate::queue::{Job, JobId, JobState};
use crate::store::StoreError;
use crate::worker::{HandlerError, HandlerOutput, JobContext, JobHandler, OUTCOME_NOT_RECORDED};

/// The code of a failed job whose own code is unknown: its record could not be read, or its code is not a
/// well-formed dotted code.
pub const JOB_FAILED: &str = "service.job_failed";
/// The code of a job cancelled (by `clear_queue`) before it produced an exam.
pub const JOB_CANCELLED: &str = "service.job_cancelled";

/// Distinct job codes kept as `&'static str` at most; later new codes are reported as [`JOB_FAILED`].
const MAX_CODES: usize = 256;

/// A job that ended without an exam, as its caller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobFailure {
    /// The job.
    pub job_id: String,
    /// The job's last error code (`claude.authentication`, `generate.incomplete`, `queue.timeout`, ...).
    pub code: &'static str,
    /// The job's last error message (never a secret).
    pub message: String,
    /// Whether calling again could succeed: false when the job died of an error that is final (a wrong API key,
    /// an invalid request), true when it waits for a retry or ran out of attempts on transient errors.
    pub retryable: bool,
}

/// `code: message`, as the job's last error reads.
impl fmt::Display for JobFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl JobFailure {
    /// From the job's record after it stopped, and, when this caller ran the attempt, that attempt's own error
    /// (which carries the retry answer the record does not keep).
    ///
    /// Without the attempt's error, the record says enough in most cases: a job waiting for a retry is
    /// retryable; a dead job that still had attempts left died of a final error (the queue kills early only
    /// then); a dead job that used up its attempts failed on errors the queue thought transient, so it is
    /// retryable.
    pub fn of(job: &Job, attempt: Option<&HandlerError>) -> Self {
        let job_id = job.id.0.clone();
        if job.state == JobState::Cancelled {
            let message = format!("job {job_id} was cancelled");
            return Self { job_id, code: JOB_CANCELLED, message, retryable: true };
        }
        let Some(error) = &job.last_error else {
            let message = format!("job {job_id} ended ({}) without an error", job.state);
            return Self { job_id, code: JOB_FAILED, message, retryable: true };
        };
        let retryable = match (attempt, job.state) {
            (Some(attempt), _) if attempt.error == *error => attempt.retryable,
            (_, JobState::Dead) => job.attempt >= job.max_attempts,
            _ => true,
        };
        Self { job_id, code: static_code(&error.code), message: error.message.clone(), retryable }
    }

    /// A job whose record could not be read after it stopped.
    pub(crate) fn unreadable(id: &JobId, error: &StoreError) -> Self {
        let message = format!("job {id} did not finish, and its record could not be read: {error}");
        Self { job_id: id.0.clone(), code: JOB_FAILED, message, retryable: true }
    }

    /// A job whose outcome this caller could not write (the store failed); its lease expires and it is retried.
    pub(crate) fn not_recorded(id: &JobId, message: &str) -> Self {
        let message = format!("the outcome of job {id} could not be recorded: {message}");
        Self { job_id: id.0.clone(), code: OUTCOME_NOT_RECORDED, message, retryable: true }
    }
}

/// Whether `code` looks like the crate's codes: dotted lowercase words (`claude.rate_limited`), at most 64 bytes.
fn well_formed(code: &str) -> bool {
    let words_ok = code
        .split('.')
        .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
    code.len() <= 64 && code.contains('.') && words_ok
}

/// `code` as a `&'static str`, which [`crate::ErrorCode::code`] returns: each distinct well-formed code is
/// allocated once and kept for the life of the process ([`MAX_CODES`] at most, so the memory is bounded).
pub(crate) fn static_code(code: &str) -> &'static str {
    static CODES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    if !well_formed(code) {
        return JOB_FAILED;
    }
    let mut codes = CODES.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = codes.get(code) {
        return known;
    }
    if codes.len() >= MAX_CODES {
        return JOB_FAILED;
    }
    let kept: &'static str = Box::leak(code.to_owned().into_boxed_str());
    codes.insert(kept);
    kept
}

/// A handler that runs another and keeps the error of the last attempt it ran, retry answer included.
pub(crate) struct Recorded {
    inner: Arc<dyn JobHandler>,
    last: Mutex<Option<HandlerError>>,
}

impl Recorded {
    /// Records the attempts `inner` runs.
    pub(crate) fn new(inner: Arc<dyn JobHandler>) -> Self {
        Self { inner, last: Mutex::new(None) }
    }

    /// The last attempt's error, if it failed.
    pub(crate) fn last_error(&self) -> Option<HandlerError> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl JobHandler for Recorded {
    async fn handle(&self, job: Job, ctx: JobContext) -> Result<HandlerOutput, HandlerError> {
        let result = self.inner.handle(job, ctx).await;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = result.as_ref().err().cloned();
        result
    }
}

#[cfg(test)]
#[path = "job_failure_tests.rs"]
mod tests;

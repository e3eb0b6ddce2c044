//! The job queue as a pure state machine: the job model, retries with capped exponential backoff and jitter,
//! leases fenced by holder and attempt, per-attempt timeouts, dedupe of unfinished keys, retention and the status
//! view. No I/O and no clock: every transition takes `now` (and a jitter draw) and returns the next job or a
//! [`Decision`], so the same code drives the durable stores' workers and the browser [`Tracker`] (WASM).
//!
//! Life of a job: `Pending` →[`start`]→ `Running` →[`decide`]+[`apply`]→ `Succeeded` | `RetryWait` | `Dead`;
//! `RetryWait` →[`start`]→ `Running` again; `Running` →[`release`]→ `Pending` (attempt not counted, up to the job's
//! `max_releases`; beyond it the release spends the attempt: `RetryWait` | `Dead`); `Pending` | `RetryWait`
//! →[`cancel`]→ `Cancelled`. Final states never change; [`Retention`] says when they are deleted.

mod decide;
mod error;
mod escape;
mod input;
mod job;
mod options;
mod retry;
mod route;
mod saved;
mod status;
mod tracker;
mod transition;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod proptests;

pub use decide::{ABANDONED_CODE, Decision, Outcome, RELEASE_LIMIT_CODE, TIMEOUT_CODE, apply, decide, overdue};
pub use error::QueueError;
pub use escape::{LogEscaped, escape_for_log, needs_log_escape};
pub use input::{InputError, MAX_USER_ID_CHARS, check_user_id, parse_exam_type, parse_key, trigger_types};
pub use job::{BANK_KEY_PREFIX, Job, JobError, JobId, JobKey, JobState, Lease, unfinished_for};
pub use options::{AttemptTimeouts, QueueOptions, Retention};
pub use retry::RetryPolicy;
pub use route::{
    RouteFailure, answer_outcome, failure_message, parse_retry_after, parse_retry_after_with, status_is_retryable,
    unreachable_outcome,
};
pub use saved::{SAVED_QUEUE_VERSION, SavedJob, SavedQueue, SavedQueueError};
pub use status::{JobSummary, QueueStatus, StateCounts};
pub use tracker::{TRACKER_HOLDER, Tracker};
pub use transition::{cancel, heartbeat, release, start};

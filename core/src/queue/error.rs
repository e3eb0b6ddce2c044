//! Why a queue transition was refused, with a stable code per variant.

use chrono::{DateTime, Utc};

use super::job::{JobId, JobState};
use crate::error::ErrorCode;

/// A transition the state machine refuses, or options it cannot work with. Nothing changes when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The options contradict themselves (e.g. a heartbeat interval not shorter than the lease).
    #[error("invalid queue options: {0}")]
    InvalidOptions(&'static str),
    /// A state name that is none of the six known ones (reading a row or a JSON body).
    #[error("unknown job state {0:?}")]
    UnknownState(String),
    /// The tracker holds no job with this id (it was never enqueued, or retention removed it).
    #[error("unknown job {0}")]
    UnknownJob(JobId),
    /// The job waits until `run_at`; starting it earlier is refused.
    #[error("job is not due until {run_at}")]
    NotDue {
        /// When the job becomes due.
        run_at: DateTime<Utc>,
    },
    /// The job is running under a lease, so it cannot be started again or cancelled.
    #[error("job is already running")]
    AlreadyRunning,
    /// The call needs a running job (heartbeat, release, an outcome), and this one is waiting.
    #[error("job is not running (state {0})")]
    NotRunning(JobState),
    /// The job reached a final state and never changes again.
    #[error("job is finished (state {0})")]
    Finished(JobState),
    /// The job already used every attempt it is allowed, so it cannot start again.
    #[error("job used all {0} attempts")]
    AttemptsExhausted(u32),
    /// The caller does not hold the lease any more: another holder or attempt owns the job, or the lease expired.
    #[error("lease of {holder:?} on attempt {attempt} is lost")]
    LeaseLost {
        /// The holder the caller claimed to be.
        holder: String,
        /// The attempt the caller claimed to run.
        attempt: u32,
    },
    /// The attempt's deadline has passed: the worker must stop, and the sweeper records a timeout.
    #[error("attempt timed out at {deadline}")]
    TimedOut {
        /// The attempt's deadline.
        deadline: DateTime<Utc>,
    },
}

impl ErrorCode for QueueError {
    fn code(&self) -> &'static str {
        match self {
            QueueError::InvalidOptions(_) => "queue.invalid_options",
            QueueError::UnknownState(_) => "queue.unknown_state",
            QueueError::UnknownJob(_) => "queue.unknown_job",
            QueueError::NotDue { .. } => "queue.not_due",
            QueueError::AlreadyRunning => "queue.already_running",
            QueueError::NotRunning(_) => "queue.not_running",
            QueueError::Finished(_) => "queue.finished",
            QueueError::AttemptsExhausted(_) => "queue.attempts_exhausted",
            QueueError::LeaseLost { .. } => "queue.lease_lost",
            QueueError::TimedOut { .. } => "queue.timeout",
        }
    }

    /// Only [`QueueError::NotDue`] can succeed later unchanged: the job becomes due by itself.
    fn is_retryable(&self) -> bool {
        matches!(self, QueueError::NotDue { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let t = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
        let cases = [
            (QueueError::InvalidOptions("x"), "queue.invalid_options"),
            (QueueError::UnknownState("x".into()), "queue.unknown_state"),
            (QueueError::UnknownJob(JobId::from("j")), "queue.unknown_job"),
            (QueueError::NotDue { run_at: t }, "queue.not_due"),
            (QueueError::AlreadyRunning, "queue.already_running"),
            (QueueError::NotRunning(JobState::Pending), "queue.not_running"),
            (QueueError::Finished(JobState::Dead), "queue.finished"),
            (QueueError::AttemptsExhausted(3), "queue.attempts_exhausted"),
            (QueueError::LeaseLost { holder: "w".into(), attempt: 1 }, "queue.lease_lost"),
            (QueueError::TimedOut { deadline: t }, "queue.timeout"),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(err.is_retryable(), code == "queue.not_due", "{code}");
        }
        assert_eq!(QueueError::Finished(JobState::RetryWait).to_string(), "job is finished (state retry_wait)");
    }
}

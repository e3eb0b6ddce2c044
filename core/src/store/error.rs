//! Errors of the stores, with stable codes shared by every backend.

use crate::error::ErrorCode;
use crate::exam::ValidationReport;

/// What a store call can fail with. Input errors are detected before anything is written. Cloned when one
/// failed statement answers several callers (Postgres's shared enqueues).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A caller-supplied value is malformed (empty or over-long user id, control characters, ...).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Which input.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The exam failed validation against its spec, so it was not stored.
    #[error("exam failed validation with {} problem(s)", .0.problems.len())]
    InvalidExam(Box<ValidationReport>),
    /// The write conflicts with the current state (a duplicate job key, an exam already stored for a job).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller's lease on a job was lost (expired and taken over, or the attempt moved on); nothing changed.
    #[error("lease lost: {0}")]
    LeaseLost(String),
    /// The row the call names does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The database stayed locked past the busy timeout.
    #[error("database busy: {0}")]
    Busy(String),
    /// The schema on disk is newer than this build, or a migration failed.
    #[error("migration: {0}")]
    Migration(String),
    /// Stored data could not be read back (corrupt JSON, an unknown enum value).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Any other database failure.
    #[error("database: {0}")]
    Database(String),
    /// The blocking task running the call panicked or was cancelled.
    #[error("store task failed: {0}")]
    Task(String),
    /// The database aborted the transaction because concurrent transactions could not be serialised (Postgres
    /// SQLSTATE 40001). Nothing of it was written; running the call again is safe.
    #[error("serialization failure: {0}")]
    SerializationFailure(String),
    /// The database aborted the transaction to break a deadlock (Postgres SQLSTATE 40P01). Nothing of it was
    /// written; running the call again is safe.
    #[error("deadlock: {0}")]
    Deadlock(String),
    /// The backend does not offer what the call needs (an exam bank on a backend without one). Nothing changed.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The connection to the database was lost or could not be made (a server restart, a network cut, a
    /// terminated backend). A transaction under way was rolled back by the server.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// An [`StoreError::InvalidInput`] for `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        StoreError::InvalidInput { field, reason: reason.into() }
    }

    /// The [`StoreError::LeaseLost`] of a write to `job` its caller no longer holds at `job.attempt`.
    pub fn lease_lost(job: &crate::queue::Job) -> Self {
        StoreError::LeaseLost(format!("job {} attempt {} is no longer held by this worker", job.id, job.attempt))
    }

    /// A pure transition of the held `job` refused by the queue, as the store reports it: every refusal means
    /// the caller must stop the attempt ([`StoreError::LeaseLost`]).
    pub fn held_transition_refused(job: &crate::queue::Job, refusal: crate::queue::QueueError) -> Self {
        use crate::queue::QueueError;
        match refusal {
            QueueError::LeaseLost { .. } | QueueError::NotRunning(_) | QueueError::Finished(_) => {
                Self::lease_lost(job)
            }
            other => StoreError::LeaseLost(format!("job {} attempt {}: {other}", job.id, job.attempt)),
        }
    }
}

impl ErrorCode for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::InvalidInput { .. } => "store.invalid_input",
            StoreError::InvalidExam(_) => "store.invalid_exam",
            StoreError::Conflict(_) => "store.conflict",
            StoreError::LeaseLost(_) => "store.lease_lost",
            StoreError::NotFound(_) => "store.not_found",
            StoreError::Busy(_) => "store.busy",
            StoreError::Migration(_) => "store.migration",
            StoreError::Corrupt(_) => "store.corrupt",
            StoreError::Database(_) => "store.database",
            StoreError::Task(_) => "store.task",
            StoreError::SerializationFailure(_) => "store.serialization_failure",
            StoreError::Deadlock(_) => "store.deadlock",
            StoreError::Unavailable(_) => "store.unavailable",
            StoreError::Unsupported(_) => "store.unsupported",
        }
    }

    fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Busy(_)
                | StoreError::Task(_)
                | StoreError::SerializationFailure(_)
                | StoreError::Deadlock(_)
                | StoreError::Unavailable(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_only_transient_errors_retry() {
        assert_eq!(StoreError::invalid("userId", "empty").code(), "store.invalid_input");
        assert_eq!(StoreError::Busy("x".into()).code(), "store.busy");
        assert!(StoreError::Busy("x".into()).is_retryable());
        assert!(!StoreError::Conflict("x".into()).is_retryable());
        assert!(!StoreError::LeaseLost("x".into()).is_retryable());
        assert_eq!(StoreError::invalid("userId", "empty").to_string(), "invalid userId: empty");
        for (error, code) in [
            (StoreError::SerializationFailure("x".into()), "store.serialization_failure"),
            (StoreError::Deadlock("x".into()), "store.deadlock"),
            (StoreError::Unavailable("x".into()), "store.unavailable"),
        ] {
            assert_eq!(error.code(), code);
            assert!(error.is_retryable(), "{code}");
        }
    }
}

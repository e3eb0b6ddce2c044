//! What a job does: the [`JobHandler`] trait the generator implements, and what it returns.

use std::fmt;

use async_trait::async_trait;
use chrono::TimeDelta;

use crate::error::ErrorCode;
use crate::queue::{Job, JobError, Outcome};
use crate::store::{NewBankExam, NewExam};

/// What a successful attempt produced.
#[derive(Debug)]
pub enum HandlerOutput {
    /// An exam to store; it is stored and the job marked succeeded in one transaction.
    Exam(Box<NewExam>),
    /// A shared exam for the bank (a bank job's); stored with the job's completion in one transaction.
    BankExam(Box<NewBankExam>),
    /// Nothing to store (for example, the stock was already full); the job is marked succeeded.
    Nothing,
}

/// A failed attempt: the error with its code, whether another attempt could help, and a wait the server asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    /// What went wrong.
    pub error: JobError,
    /// Whether another attempt could succeed.
    pub retryable: bool,
    /// The least wait before the next attempt (a 429's `retry-after`).
    pub retry_after: Option<TimeDelta>,
}

impl HandlerError {
    /// A failure carrying any crate error's code, text and retry answer.
    pub fn from_error<E: ErrorCode + fmt::Display + ?Sized>(err: &E) -> Self {
        Self { error: JobError::from_error(err), retryable: err.is_retryable(), retry_after: None }
    }

    /// The same failure, asking to wait at least `wait` before the next attempt.
    pub fn with_retry_after(mut self, wait: Option<TimeDelta>) -> Self {
        self.retry_after = wait;
        self
    }

    /// The queue outcome this failure stands for.
    pub fn into_outcome(self) -> Outcome {
        Outcome::Failed { error: self.error, retryable: self.retryable, retry_after: self.retry_after }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)
    }
}

/// What a handler may know of the attempt besides the job: who holds it.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The lease holder running this attempt.
    pub holder: String,
}

/// Runs one attempt of a job. The future is dropped when the attempt times out, its lease is lost, or the pool
/// shuts down past its grace period, so a handler stops at its next `.await`.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// Does the work for `job`.
    async fn handle(&self, job: Job, ctx: JobContext) -> Result<HandlerOutput, HandlerError>;
}

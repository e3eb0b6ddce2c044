//! Why a generation failed, with stable codes and the retry answer the job queue needs.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::claude::ClaudeError;
use crate::error::ErrorCode;
use crate::exam::ValidationReport;

/// A failed generation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The API refused in a way another attempt cannot fix (authentication, a malformed request), or a transient
    /// error outlasted the client's retries (retryable, with the server's retry-after when it sent one).
    #[error("Claude API: {0}")]
    Api(#[from] ClaudeError),
    /// After every repair round some items were still missing. `reasons` counts why items were turned down,
    /// sent back (`answer_length_cue`) or not received (problem codes and error codes), so a failure says which
    /// rules failed and how often. Retryable: a queued job's next attempt resumes from its checkpoint.
    #[error("{missing} of {wanted} items still missing after {rounds} rounds; reasons: {}", describe(.reasons))]
    Incomplete {
        /// Items still missing.
        missing: usize,
        /// Items the spec asks for.
        wanted: usize,
        /// Rounds run.
        rounds: u32,
        /// How often each reason occurred.
        reasons: BTreeMap<String, usize>,
    },
    /// The assembled exam failed validation (a bug guard: items are checked one by one before assembly).
    #[error("assembled exam failed validation: {} problem(s)", .0.problems.len())]
    Invalid(Box<ValidationReport>),
    /// The store failed while a batch was submitted or collected, or refused a checkpoint save because the job's
    /// lease was lost.
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The settings cannot work (an impossible spec, zero items per chunk).
    #[error("generator configuration: {0}")]
    Config(String),
}

fn describe(reasons: &BTreeMap<String, usize>) -> String {
    reasons.iter().map(|(code, n)| format!("{code} x{n}")).collect::<Vec<_>>().join(", ")
}

impl GenerateError {
    /// The wait the server asked for (`retry-after`), when the failure was an API error that sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GenerateError::Api(e) => e.retry_after(),
            _ => None,
        }
    }
}

impl ErrorCode for GenerateError {
    fn code(&self) -> &'static str {
        match self {
            GenerateError::Api(e) => e.code(),
            GenerateError::Incomplete { .. } => "generate.incomplete",
            GenerateError::Invalid(_) => "generate.invalid",
            GenerateError::Store(e) => e.code(),
            GenerateError::Config(_) => "generate.config",
        }
    }

    fn is_retryable(&self) -> bool {
        match self {
            GenerateError::Api(e) => e.is_retryable(),
            GenerateError::Incomplete { .. } => true,
            GenerateError::Store(e) => e.is_retryable(),
            GenerateError::Invalid(_) | GenerateError::Config(_) => false,
        }
    }
}

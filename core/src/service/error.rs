//! Errors of the service facade, each mapped to the old routes' statuses and messages.

use crate::error::ErrorCode;
use crate::generate::GenerateError;
use crate::store::StoreError;

/// What a service call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// Bad input from the caller; nothing was written.
    #[error("{0}")]
    BadRequest(String),
    /// No `ANTHROPIC_API_KEY`: exams cannot be generated.
    #[error("API key not configured")]
    ApiKeyMissing,
    /// The bearer header did not match the cron secret, or no secret is configured.
    #[error("Unauthorized")]
    Unauthorized,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Generation failed.
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// A job ended without an exam (its last error), or waiting for it ran out of time.
    #[error("generation failed: {0}")]
    JobFailed(String),
}

impl ErrorCode for ServiceError {
    fn code(&self) -> &'static str {
        match self {
            ServiceError::BadRequest(_) => "service.bad_request",
            ServiceError::ApiKeyMissing => "service.api_key_missing",
            ServiceError::Unauthorized => "service.unauthorized",
            ServiceError::Store(e) => e.code(),
            ServiceError::Generate(e) => e.code(),
            ServiceError::JobFailed(_) => "service.job_failed",
        }
    }

    fn is_retryable(&self) -> bool {
        match self {
            ServiceError::Store(e) => e.is_retryable(),
            ServiceError::Generate(e) => e.is_retryable(),
            ServiceError::JobFailed(_) => true,
            _ => false,
        }
    }
}

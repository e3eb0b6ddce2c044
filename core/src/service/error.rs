//! Errors of the service facade, each mapped to the old routes' statuses and messages.

use std::fmt;

use super::CronReport;
use super::job_failure::JobFailure;
use crate::config::ConfigError;
use crate::error::ErrorCode;
use crate::exam::UnknownExamType;
use crate::generate::GenerateError;
use crate::store::StoreError;
use crate::worker::DrainReport;

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
    /// A setting (an option or an environment variable) cannot be used; nothing was opened.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A call that spawns tasks (`start_workers`) came from a thread without a tokio runtime, on a service that
    /// was not opened on one.
    #[error("no tokio runtime: open the service inside one, or call this from one")]
    NoRuntime,
    /// A job ended without an exam; it carries the job's own last error code and whether trying again could help.
    #[error("generation failed: {0}")]
    JobFailed(JobFailure),
    /// Another worker was still generating for the key when waiting for it ran out of time (the job id).
    #[error("generation failed: job {0} is still running elsewhere")]
    JobStillRunning(String),
    /// A sweep ran every step it could, but at least one could not run; the report lists which and why.
    #[error("{}", SweepSummary(.0))]
    SweepFailed(Box<CronReport>),
    /// A drain met store failures (refused claims, unwritten outcomes); the report counts them.
    #[error("{}", DrainSummary(.0))]
    DrainFailed(Box<DrainReport>),
}

/// The message of a failed sweep: its first failed step, and how many more.
struct SweepSummary<'a>(&'a CronReport);

impl fmt::Display for SweepSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = &self.0.errors;
        match errors.first() {
            Some(first) => write!(f, "sweep failed: {}: {}", first.step, first.message)?,
            None => f.write_str("sweep failed")?,
        }
        if errors.len() > 1 {
            write!(f, " (and {} more failed steps)", errors.len() - 1)?;
        }
        Ok(())
    }
}

/// The message of a failed drain: how many store failures, and the first.
struct DrainSummary<'a>(&'a DrainReport);

impl fmt::Display for DrainSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "work failed: {} store failures", self.0.store_failures())?;
        if let Some(first) = &self.0.error {
            write!(f, "; first: {}", first.message)?;
        }
        Ok(())
    }
}

/// An exam type that is neither `diagnostic` nor `practice`, given to a call: the routes' 400 `Invalid examType`.
impl From<UnknownExamType> for ServiceError {
    fn from(_: UnknownExamType) -> Self {
        ServiceError::BadRequest("Invalid examType".into())
    }
}

impl ErrorCode for ServiceError {
    fn code(&self) -> &'static str {
        match self {
            ServiceError::BadRequest(_) => "service.bad_request",
            ServiceError::ApiKeyMissing => "service.api_key_missing",
            ServiceError::Unauthorized => "service.unauthorized",
            ServiceError::Store(e) => e.code(),
            ServiceError::Generate(e) => e.code(),
            ServiceError::Config(e) => e.code(),
            ServiceError::NoRuntime => "service.no_runtime",
            ServiceError::JobFailed(failure) => failure.code,
            ServiceError::JobStillRunning(_) => "service.job_running",
            ServiceError::SweepFailed(report) => report.errors.first().map_or("service.sweep_failed", |e| e.code),
            ServiceError::DrainFailed(report) => report.error.as_ref().map_or("service.drain_failed", |e| e.code),
        }
    }

    fn is_retryable(&self) -> bool {
        match self {
            ServiceError::Store(e) => e.is_retryable(),
            ServiceError::Generate(e) => e.is_retryable(),
            ServiceError::JobFailed(failure) => failure.retryable,
            ServiceError::JobStillRunning(_) | ServiceError::DrainFailed(_) => true,
            ServiceError::SweepFailed(report) => report.errors.iter().all(|e| e.retryable),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exam::ExamType;

    #[test]
    fn an_unknown_exam_type_is_the_routes_bad_request() {
        let e: ServiceError = "quiz".parse::<ExamType>().unwrap_err().into();
        assert_eq!(
            (e.to_string().as_str(), e.code(), e.is_retryable()),
            ("Invalid examType", "service.bad_request", false)
        );
    }
}

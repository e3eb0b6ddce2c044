//! The routes' answers as types: a [`RouteResponse`] per route whose body is an enum of that route's bodies, each
//! serializing key for key as `seed-system.md` says (variants are untagged: the JSON is the old route's), so
//! bindings can generate exact types instead of `any`.

use serde::Serialize;
use serde_json::Value;

use super::{CronReport, PreGenerated, ServiceAnalytics, TriggerReport};
use crate::api::GetExamBody;

/// A route's answer: the HTTP status and the body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteResponse<B> {
    /// The HTTP status.
    pub status: u16,
    /// The body, serialized as JSON on the wire.
    pub body: B,
}

impl<B: Serialize> RouteResponse<B> {
    /// The same answer with its body as a JSON value. These bodies always serialize (no map has non-string
    /// keys, no number is NaN); were one not to, the body would be `null`, and the failure logged.
    pub fn into_json(self) -> RouteResponse<Value> {
        let body = serde_json::to_value(&self.body).unwrap_or_else(|e| {
            tracing::error!("[Pre-Gen] a route body did not serialize: {e}");
            Value::Null
        });
        RouteResponse { status: self.status, body }
    }
}

/// `{error}`, plus the error's stable `code` where the old contract leaves room for it: the body of a refused
/// (4xx) or failed (500) call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// What went wrong, as the old route said it.
    pub error: String,
    /// The error's stable code (`claude.authentication`, `store.busy`, ...). Absent on 4xx answers and where the
    /// old body is pinned word for word (`API key not configured`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

impl ErrorBody {
    /// `{error}`.
    pub fn new(error: impl Into<String>) -> Self {
        Self { error: error.into(), code: None }
    }

    /// `{error, code}`.
    pub fn with_code(error: impl Into<String>, code: &'static str) -> Self {
        Self { error: error.into(), code: Some(code) }
    }
}

/// Bodies of `POST /api/pre-generate-exam`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PreGenerateBody {
    /// 200: `{success: true, message: "Valid pre-gen already exists"}` or `{success: true, examId, questionCount}`.
    Done(PreGenerated),
    /// 400, 413 and 500: `{error}`; a 500 of a failed job adds the job's `code`.
    Failed(ErrorBody),
}

/// Bodies of `GET /api/get-pre-generated-exam`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GetBody {
    /// 200: the claimed exam, or `{preGenerated: false, reason}`.
    Answered(GetExamBody),
    /// 400, 413 and 500: `{error, preGenerated: false}` (500: `Database error`, telling no internals).
    Refused {
        /// What went wrong.
        error: String,
        /// Always false.
        #[serde(rename = "preGenerated")]
        pre_generated: bool,
    },
}

/// Bodies of the cron route (`GET` or `POST /api/cron/generate-exams`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CronBody {
    /// 200: `{success: true, stats}`.
    Swept {
        /// Always true.
        success: bool,
        /// What the sweep did.
        stats: CronReport,
    },
    /// 500: `{success: false, error, code, stats}` when a step could not run; the stats say what did run.
    StepFailed {
        /// Always false.
        success: bool,
        /// The first failed step and its message.
        error: String,
        /// The first failed step's error code.
        code: &'static str,
        /// What the sweep did.
        stats: CronReport,
    },
    /// 401 `{error: "Unauthorized"}`, or a 500 `{error, code}`.
    Failed(ErrorBody),
}

/// Bodies of `GET /api/pre-gen-analytics`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AnalyticsBody {
    /// 200: `{success: true, stats}`.
    Stats {
        /// Always true.
        success: bool,
        /// The figures (boxed: they are large beside an error).
        stats: Box<ServiceAnalytics>,
    },
    /// 401 `{error: "Unauthorized"}`, or a 500 `{error, code}`.
    Failed(ErrorBody),
}

/// Bodies of the trigger route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TriggerBody {
    /// 202: `{success: true, jobs: [{examType, status, jobId?}]}`.
    Queued(TriggerReport),
    /// 400, 413 and 500: `{error}` (500 adds `code`).
    Failed(ErrorBody),
}

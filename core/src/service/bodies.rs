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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::exam::ExamType;
    use crate::service::{TriggerStatus, TriggeredJob};

    fn wire(body: impl Serialize) -> String {
        serde_json::to_string(&body).unwrap()
    }

    #[test]
    fn each_body_is_the_old_routes_json_key_for_key() {
        let generated = PreGenerated::Generated { exam_id: "e1".into(), question_count: 71 };
        let report = TriggerReport {
            success: true,
            jobs: vec![
                TriggeredJob {
                    exam_type: ExamType::Practice,
                    status: TriggerStatus::Queued,
                    job_id: Some("j1".into()),
                },
                TriggeredJob {
                    exam_type: ExamType::Diagnostic,
                    status: TriggerStatus::AlreadyQueued,
                    job_id: Some("j2".into()),
                },
                TriggeredJob { exam_type: ExamType::Practice, status: TriggerStatus::Stocked, job_id: None },
            ],
        };
        let cases = [
            (
                wire(PreGenerateBody::Done(PreGenerated::AlreadyExists)),
                r#"{"success":true,"message":"Valid pre-gen already exists"}"#,
            ),
            (wire(PreGenerateBody::Done(generated)), r#"{"success":true,"examId":"e1","questionCount":71}"#),
            (wire(PreGenerateBody::Failed(ErrorBody::new("Invalid examType"))), r#"{"error":"Invalid examType"}"#),
            (
                wire(PreGenerateBody::Failed(ErrorBody::with_code(
                    "generation failed: x",
                    "claude.authentication",
                ))),
                r#"{"error":"generation failed: x","code":"claude.authentication"}"#,
            ),
            (
                wire(GetBody::Refused { error: "Database error".into(), pre_generated: false }),
                r#"{"error":"Database error","preGenerated":false}"#,
            ),
            (
                wire(GetBody::Answered(GetExamBody::from_claim(None))),
                r#"{"preGenerated":false,"reason":"No valid pre-generated exam"}"#,
            ),
            (
                wire(TriggerBody::Queued(report)),
                r#"{"success":true,"jobs":[{"examType":"practice","status":"queued","jobId":"j1"},{"examType":"diagnostic","status":"already_queued","jobId":"j2"},{"examType":"practice","status":"stocked"}]}"#,
            ),
            (wire(AnalyticsBody::Failed(ErrorBody::new("Unauthorized"))), r#"{"error":"Unauthorized"}"#),
            (wire(CronBody::Failed(ErrorBody::new("Unauthorized"))), r#"{"error":"Unauthorized"}"#),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn a_response_is_status_and_body() {
        let answer = RouteResponse { status: 400, body: TriggerBody::Failed(ErrorBody::new("Invalid userId")) };
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"status": 400, "body": {"error": "Invalid userId"}})
        );
        let json = answer.into_json();
        assert_eq!((json.status, json.body), (400, json!({"error": "Invalid userId"})));
    }
}

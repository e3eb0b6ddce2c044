//! Route helpers: each takes what a Next.js route has (the raw body, the query string, the `Authorization`
//! header) and returns the status and JSON body of the old route, key for key, so a route becomes one line.
//! Bad input gets its 4xx and writes nothing.

use serde_json::{Map, Value};

use super::bodies::{AnalyticsBody, CronBody, ErrorBody, GetBody, PreGenerateBody, RouteResponse, TriggerBody};
use super::{CronReport, PreGen, ServiceError, Trigger};
use crate::error::ErrorCode;
use crate::exam::ExamType;
use crate::store::UserId;

/// The most a route accepts in a body; anything larger is refused with 413 before it is parsed.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

const MISSING: &str = "Missing userId or examType";
const INVALID_TYPE: &str = "Invalid examType";
const INVALID_USER: &str = "Invalid userId";

/// Why a request's input was refused, as the route's body says it.
enum Refusal {
    TooLarge,
    BadJson,
    Missing,
    InvalidType,
    InvalidUser,
}

impl Refusal {
    /// The status and the `error` text.
    fn answer(&self) -> (u16, &'static str) {
        match self {
            Refusal::TooLarge => (413, "Request body too large"),
            Refusal::BadJson => (400, "Invalid JSON body"),
            Refusal::Missing => (400, MISSING),
            Refusal::InvalidType => (400, INVALID_TYPE),
            Refusal::InvalidUser => (400, INVALID_USER),
        }
    }

    /// `{error}` with its status.
    fn error<B: From<ErrorBody>>(&self) -> RouteResponse<B> {
        let (status, error) = self.answer();
        RouteResponse { status, body: ErrorBody::new(error).into() }
    }
}

impl From<ErrorBody> for PreGenerateBody {
    fn from(e: ErrorBody) -> Self {
        PreGenerateBody::Failed(e)
    }
}

impl From<ErrorBody> for TriggerBody {
    fn from(e: ErrorBody) -> Self {
        TriggerBody::Failed(e)
    }
}

impl From<ErrorBody> for CronBody {
    fn from(e: ErrorBody) -> Self {
        CronBody::Failed(e)
    }
}

impl From<ErrorBody> for AnalyticsBody {
    fn from(e: ErrorBody) -> Self {
        AnalyticsBody::Failed(e)
    }
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Refusal::TooLarge);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Refusal::BadJson),
    }
}

/// Reads `userId` and `examType` the way the old routes did: both must be non-empty strings.
fn user_and_type(user: Option<&str>, exam_type: Option<&str>) -> Result<(UserId, ExamType), Refusal> {
    let (Some(user), Some(exam_type)) = (user.filter(|u| !u.is_empty()), exam_type.filter(|t| !t.is_empty()))
    else {
        return Err(Refusal::Missing);
    };
    let exam_type: ExamType = exam_type.parse().map_err(|_| Refusal::InvalidType)?;
    let user = UserId::parse(user).map_err(|_| Refusal::InvalidUser)?;
    Ok((user, exam_type))
}

fn text<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// The answer to a failed call; `prefix` is the route's log prefix (`[Pre-Gen]`, `[Cron]`, `[Analytics]`, ...).
/// 401 and 400 say only what the old routes said; a 500 adds the error's `code`, except for the old body pinned
/// word for word (`{error: "API key not configured"}`).
fn failure<B: From<ErrorBody>>(e: &ServiceError, prefix: &str) -> RouteResponse<B> {
    let (status, body) = match e {
        ServiceError::Unauthorized => (401, ErrorBody::new("Unauthorized")),
        ServiceError::BadRequest(m) => (400, ErrorBody::new(m.clone())),
        ServiceError::ApiKeyMissing => (500, ErrorBody::new(e.to_string())),
        other => {
            tracing::error!("{prefix} route failed ({}): {other}", other.code());
            (500, ErrorBody::with_code(other.to_string(), other.code()))
        }
    };
    RouteResponse { status, body: body.into() }
}

/// The cron route's answer to a sweep: 200 `{success: true, stats}`; when a step could not run, 500
/// `{success: false, error, code, stats}` (the stats say what did run); 401 and other failures as every route.
/// The `pregen cron` command prints the same body.
pub fn sweep_response(result: Result<CronReport, ServiceError>) -> RouteResponse<CronBody> {
    let e = match result {
        Ok(stats) => return RouteResponse { status: 200, body: CronBody::Swept { success: true, stats } },
        Err(e) => e,
    };
    let (error, code) = (e.to_string(), e.code());
    match e {
        ServiceError::SweepFailed(stats) => RouteResponse {
            status: 500,
            body: CronBody::StepFailed { success: false, error, code, stats: *stats },
        },
        other => failure(&other, "[Cron]"),
    }
}

impl PreGen {
    /// `POST /api/pre-generate-exam` with body `{userId, examType}`.
    pub async fn pre_generate_route(&self, body: &[u8]) -> RouteResponse<PreGenerateBody> {
        let (user, exam_type) =
            match parse_body(body).and_then(|map| user_and_type(text(&map, "userId"), text(&map, "examType"))) {
                Ok(input) => input,
                Err(refusal) => return refusal.error(),
            };
        match self.pre_generate(&user, exam_type).await {
            Ok(done) => RouteResponse { status: 200, body: PreGenerateBody::Done(done) },
            Err(e) => failure(&e, "[Pre-Gen]"),
        }
    }

    /// `GET /api/get-pre-generated-exam?userId=..&examType=..` with the raw query string (a leading `?` is fine).
    pub async fn get_route(&self, query: &str) -> RouteResponse<GetBody> {
        let refused = |status: u16, error: &str| RouteResponse {
            status,
            body: GetBody::Refused { error: error.to_owned(), pre_generated: false },
        };
        let query = query.strip_prefix('?').unwrap_or(query);
        if query.len() > MAX_BODY_BYTES {
            let (status, error) = Refusal::TooLarge.answer();
            return refused(status, error);
        }
        let (mut user, mut exam_type) = (None, None);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "userId" if user.is_none() => user = Some(value.into_owned()),
                "examType" if exam_type.is_none() => exam_type = Some(value.into_owned()),
                _ => {}
            }
        }
        let (user, exam_type) = match user_and_type(user.as_deref(), exam_type.as_deref()) {
            Ok(input) => input,
            Err(refusal) => {
                let (status, error) = refusal.answer();
                return refused(status, error);
            }
        };
        match self.get_exam(&user, exam_type).await {
            Ok(body) => RouteResponse { status: 200, body: GetBody::Answered(body) },
            // `get_exam` logged the cause with `[Get Pre-Gen]`; the body tells no internals.
            Err(_) => refused(500, "Database error"),
        }
    }

    /// `GET` (Vercel cron) or `POST` (external cron) `/api/cron/generate-exams`, with the `Authorization` header.
    /// Answers as [`sweep_response`].
    pub async fn cron_route(&self, authorization: Option<&str>) -> RouteResponse<CronBody> {
        sweep_response(self.cron(authorization).await)
    }

    /// `GET /api/pre-gen-analytics`, with the `Authorization` header.
    pub async fn analytics_route(&self, authorization: Option<&str>) -> RouteResponse<AnalyticsBody> {
        match self.analytics_authorized(authorization).await {
            Ok(stats) => {
                RouteResponse { status: 200, body: AnalyticsBody::Stats { success: true, stats: Box::new(stats) } }
            }
            Err(e) => failure(&e, "[Analytics]"),
        }
    }

    /// A page-load or exam-finished trigger: body `{userId, examType}` for one type, `{userId, examTypes: [..]}`
    /// for several, `{userId, completed: type}` for the type after the one just finished, or `{userId}` for both.
    /// Answers at once; generation happens in the background.
    pub async fn trigger_route(&self, body: &[u8]) -> RouteResponse<TriggerBody> {
        let map = match parse_body(body) {
            Ok(map) => map,
            Err(refusal) => return refusal.error(),
        };
        let Some(user) = text(&map, "userId").filter(|u| !u.is_empty()) else {
            return Refusal::Missing.error();
        };
        let Ok(user) = UserId::parse(user) else {
            return Refusal::InvalidUser.error();
        };
        let parse = |v: &Value| v.as_str().and_then(|t| t.parse::<ExamType>().ok());
        let trigger = if let Some(done) = map.get("completed") {
            match parse(done) {
                Some(t) => Trigger::After(t),
                None => return Refusal::InvalidType.error(),
            }
        } else if let Some(one) = map.get("examType") {
            match parse(one) {
                Some(t) => Trigger::Types(vec![t]),
                None => return Refusal::InvalidType.error(),
            }
        } else if let Some(many) = map.get("examTypes") {
            let types: Option<Vec<ExamType>> = many.as_array().and_then(|a| a.iter().map(parse).collect());
            match types {
                Some(types) if !types.is_empty() => Trigger::Types(types),
                _ => return Refusal::InvalidType.error(),
            }
        } else {
            Trigger::Types(ExamType::ALL.to_vec())
        };
        match self.trigger(&user, trigger).await {
            Ok(report) => RouteResponse { status: 202, body: TriggerBody::Queued(report) },
            Err(e) => failure(&e, "[BGJob]"),
        }
    }
}

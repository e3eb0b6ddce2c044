//! Route helpers: each takes what a Next.js route has (the raw body, the query string, the `Authorization`
//! header) and returns the status and JSON body of the old route, key for key, so a route becomes one line.
//! Bad input gets its 4xx and writes nothing.

use serde_json::{Map, Value, json};

use super::{CronReport, PreGen, PreGenerated, ServiceError, Trigger};
use crate::error::ErrorCode;
use crate::exam::ExamType;
use crate::store::UserId;

/// The most a route accepts in a body; anything larger is refused with 413 before it is parsed.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

const MISSING: &str = "Missing userId or examType";
const INVALID_TYPE: &str = "Invalid examType";
const INVALID_USER: &str = "Invalid userId";

/// A route's answer: the HTTP status and the JSON body.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RouteResponse {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

impl RouteResponse {
    fn new(status: u16, body: Value) -> Self {
        Self { status, body }
    }
}

/// Why a request's input was refused, as the route's body says it.
enum Refusal {
    TooLarge,
    BadJson,
    Missing,
    InvalidType,
    InvalidUser,
}

impl Refusal {
    fn response(&self, extra: &Map<String, Value>) -> RouteResponse {
        let (status, error) = match self {
            Refusal::TooLarge => (413, "Request body too large"),
            Refusal::BadJson => (400, "Invalid JSON body"),
            Refusal::Missing => (400, MISSING),
            Refusal::InvalidType => (400, INVALID_TYPE),
            Refusal::InvalidUser => (400, INVALID_USER),
        };
        let mut body = Map::new();
        body.insert("error".into(), error.into());
        body.extend(extra.clone());
        RouteResponse::new(status, Value::Object(body))
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
fn failure(e: &ServiceError, prefix: &str) -> RouteResponse {
    match e {
        ServiceError::Unauthorized => RouteResponse::new(401, json!({"error": "Unauthorized"})),
        ServiceError::BadRequest(m) => RouteResponse::new(400, json!({"error": m})),
        other => {
            tracing::error!("{prefix} route failed ({}): {other}", other.code());
            RouteResponse::new(500, json!({"error": other.to_string()}))
        }
    }
}

/// The cron route's answer to a sweep: 200 `{success: true, stats}`; when a step could not run, 500
/// `{success: false, error, code, stats}` (the stats say what did run); 401 and other failures as every route.
/// The `pregen cron` command prints the same body.
pub fn sweep_response(result: Result<CronReport, ServiceError>) -> RouteResponse {
    match &result {
        Ok(stats) => RouteResponse::new(200, json!({"success": true, "stats": stats})),
        Err(e) => match e {
            ServiceError::SweepFailed(stats) => RouteResponse::new(
                500,
                json!({"success": false, "error": e.to_string(), "code": e.code(), "stats": stats}),
            ),
            other => failure(other, "[Cron]"),
        },
    }
}

impl PreGen {
    /// `POST /api/pre-generate-exam` with body `{userId, examType}`.
    pub async fn pre_generate_route(&self, body: &[u8]) -> RouteResponse {
        let none = Map::new();
        let (user, exam_type) =
            match parse_body(body).and_then(|map| user_and_type(text(&map, "userId"), text(&map, "examType"))) {
                Ok(input) => input,
                Err(refusal) => return refusal.response(&none),
            };
        match self.pre_generate(&user, exam_type).await {
            Ok(PreGenerated::AlreadyExists) => {
                RouteResponse::new(200, json!({"success": true, "message": "Valid pre-gen already exists"}))
            }
            Ok(PreGenerated::Generated { exam_id, question_count }) => RouteResponse::new(
                200,
                json!({"success": true, "examId": exam_id, "questionCount": question_count}),
            ),
            Err(e) => failure(&e, "[Pre-Gen]"),
        }
    }

    /// `GET /api/get-pre-generated-exam?userId=..&examType=..` with the raw query string (a leading `?` is fine).
    pub async fn get_route(&self, query: &str) -> RouteResponse {
        let marker: Map<String, Value> = [("preGenerated".to_owned(), Value::Bool(false))].into_iter().collect();
        let query = query.strip_prefix('?').unwrap_or(query);
        if query.len() > MAX_BODY_BYTES {
            return Refusal::TooLarge.response(&marker);
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
            Err(refusal) => return refusal.response(&marker),
        };
        match self.get_exam(&user, exam_type).await {
            Ok(body) => RouteResponse::new(200, serde_json::to_value(body).unwrap_or(Value::Null)),
            // `get_exam` logged the cause with `[Get Pre-Gen]`; the body tells no internals.
            Err(_) => RouteResponse::new(500, json!({"error": "Database error", "preGenerated": false})),
        }
    }

    /// `GET` (Vercel cron) or `POST` (external cron) `/api/cron/generate-exams`, with the `Authorization` header.
    /// Answers as [`sweep_response`].
    pub async fn cron_route(&self, authorization: Option<&str>) -> RouteResponse {
        sweep_response(self.cron(authorization).await)
    }

    /// `GET /api/pre-gen-analytics`, with the `Authorization` header.
    pub async fn analytics_route(&self, authorization: Option<&str>) -> RouteResponse {
        match self.analytics_authorized(authorization).await {
            Ok(stats) => RouteResponse::new(200, json!({"success": true, "stats": stats})),
            Err(e) => failure(&e, "[Analytics]"),
        }
    }

    /// A page-load or exam-finished trigger: body `{userId, examType}` for one type, `{userId, examTypes: [..]}`
    /// for several, `{userId, completed: type}` for the type after the one just finished, or `{userId}` for both.
    /// Answers at once; generation happens in the background.
    pub async fn trigger_route(&self, body: &[u8]) -> RouteResponse {
        let none = Map::new();
        let map = match parse_body(body) {
            Ok(map) => map,
            Err(refusal) => return refusal.response(&none),
        };
        let Some(user) = text(&map, "userId").filter(|u| !u.is_empty()) else {
            return Refusal::Missing.response(&none);
        };
        let Ok(user) = UserId::parse(user) else {
            return Refusal::InvalidUser.response(&none);
        };
        let parse = |v: &Value| v.as_str().and_then(|t| t.parse::<ExamType>().ok());
        let trigger = if let Some(done) = map.get("completed") {
            match parse(done) {
                Some(t) => Trigger::After(t),
                None => return Refusal::InvalidType.response(&none),
            }
        } else if let Some(one) = map.get("examType") {
            match parse(one) {
                Some(t) => Trigger::Types(vec![t]),
                None => return Refusal::InvalidType.response(&none),
            }
        } else if let Some(many) = map.get("examTypes") {
            let types: Option<Vec<ExamType>> = many.as_array().and_then(|a| a.iter().map(parse).collect());
            match types {
                Some(types) if !types.is_empty() => Trigger::Types(types),
                _ => return Refusal::InvalidType.response(&none),
            }
        } else {
            Trigger::Types(ExamType::ALL.to_vec())
        };
        match self.trigger(&user, trigger).await {
            Ok(report) => RouteResponse::new(202, serde_json::to_value(report).unwrap_or(Value::Null)),
            Err(e) => failure(&e, "[BGJob]"),
        }
    }
}

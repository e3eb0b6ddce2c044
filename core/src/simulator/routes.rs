//! The one request handler: size limit, authentication and version checks, routing by method and path, then the
//! log entry, the outcome's delay (latency or hang, cut short by shutdown), and the response or the reset.

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;

use super::batch_routes;
use super::conn::ConnControl;
use super::http::{After, Outcome, RequestCtx, header};
use super::messages;
use super::state::Shared;

/// The `anthropic-version` values the API knows.
const VERSIONS: [&str; 2] = ["2023-06-01", "2023-01-01"];

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Messages,
    CountTokens,
    CreateBatch,
    ListBatches,
    Batch(String),
    BatchResults(String),
    CancelBatch(String),
    DeleteBatch(String),
    NotFound,
}

impl Route {
    fn of(method: &Method, path: &str) -> Self {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        match (method.as_str(), segments.as_slice()) {
            ("POST", ["v1", "messages"]) => Route::Messages,
            ("POST", ["v1", "messages", "count_tokens"]) => Route::CountTokens,
            ("POST", ["v1", "messages", "batches"]) => Route::CreateBatch,
            ("GET", ["v1", "messages", "batches"]) => Route::ListBatches,
            ("GET", ["v1", "messages", "batches", id]) => Route::Batch((*id).to_owned()),
            ("DELETE", ["v1", "messages", "batches", id]) => Route::DeleteBatch((*id).to_owned()),
            ("GET", ["v1", "messages", "batches", id, "results"]) => Route::BatchResults((*id).to_owned()),
            ("POST", ["v1", "messages", "batches", id, "cancel"]) => Route::CancelBatch((*id).to_owned()),
            _ => Route::NotFound,
        }
    }
}

/// Handles every request the simulator receives.
pub(crate) async fn dispatch(
    State(state): State<Shared>,
    ConnectInfo(conn): ConnectInfo<ConnControl>,
    request: Request,
) -> Response {
    let ctx =
        RequestCtx::new(state.next_seq(), request.method().as_str(), request.uri().path(), request.headers());
    let outcome = route(&state, &ctx, request).await;
    state.log.push(ctx.entry(&outcome));
    tracing::debug!(
        request_id = %ctx.request_id,
        method = %ctx.method,
        path = %ctx.path,
        status = outcome.status,
        "[Simulator] request"
    );
    state.sleep(outcome.delay).await;
    if let (Some(tokens), Some(limiter)) = (outcome.refund_output, &state.limiter) {
        limiter.refund_output(state.time.now(), tokens);
    }
    match outcome.after {
        After::Kill => {
            conn.kill();
            Response::new(Body::empty())
        }
        After::Respond => outcome.into_response(&ctx.request_id),
    }
}

async fn route(state: &Shared, ctx: &RequestCtx, request: Request) -> Outcome {
    let rid = &ctx.request_id;
    let (parts, body) = request.into_parts();
    let route = Route::of(&parts.method, parts.uri.path());
    let limit = match route {
        Route::CreateBatch => state.config.max_batch_body_bytes,
        _ => state.config.max_body_bytes,
    };
    let declared = header(&parts.headers, "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return too_large(limit, rid);
    }
    if let Some(refusal) = check_auth(&parts.headers, &state.config.api_key, rid) {
        return refusal;
    }
    match header(&parts.headers, "anthropic-version") {
        None => {
            let message = "anthropic-version: header is required";
            return Outcome::error(400, "invalid_request_error", message, rid);
        }
        Some(v) if !VERSIONS.contains(&v.trim()) => {
            let message = format!("anthropic-version: {v:?} is not a valid version");
            return Outcome::error(400, "invalid_request_error", message, rid);
        }
        Some(_) => {}
    }
    let body = match to_bytes(body, limit).await {
        Ok(body) => body,
        Err(e) if e.to_string().contains("length limit") => return too_large(limit, rid),
        Err(e) => return Outcome::error(400, "invalid_request_error", format!("cannot read the body: {e}"), rid),
    };
    match route {
        Route::Messages => messages::create(state, ctx, &body),
        Route::CountTokens => messages::count_tokens(state, ctx, &body),
        Route::CreateBatch => batch_routes::create(state, ctx, &body),
        Route::ListBatches => batch_routes::list(state, ctx, &parts.uri),
        Route::Batch(id) => batch_routes::retrieve(state, ctx, &id),
        Route::BatchResults(id) => batch_routes::results(state, ctx, &id),
        Route::CancelBatch(id) => batch_routes::cancel(state, ctx, &id),
        Route::DeleteBatch(id) => batch_routes::delete(state, ctx, &id),
        Route::NotFound => {
            let message = format!("Not found: {} {}", parts.method, parts.uri.path());
            Outcome::error(404, "not_found_error", message, rid)
        }
    }
}

fn too_large(limit: usize, rid: &str) -> Outcome {
    let message = format!("Request exceeds the maximum allowed number of bytes ({limit})");
    Outcome::error(413, "request_too_large", message, rid)
}

/// What every 401 adds, so a newcomer who points `ANTHROPIC_BASE_URL` here with their own key learns why.
const KEY_HINT: &str = "(this is the pregen Claude simulator, not the Claude API: send the apiKey that \
     `pregen simulate` printed, or start it with --api-key)";

/// A 401 unless exactly the configured `x-api-key` is sent (and no `Authorization` besides it).
fn check_auth(headers: &HeaderMap, key: &str, rid: &str) -> Option<Outcome> {
    let refuse =
        |message: &str| Some(Outcome::error(401, "authentication_error", format!("{message} {KEY_HINT}"), rid));
    let api_key = header(headers, "x-api-key");
    if api_key.is_some() && headers.contains_key("authorization") {
        return refuse("Send either x-api-key or Authorization, not both");
    }
    match api_key {
        None if headers.contains_key("authorization") => refuse("invalid bearer token"),
        None => refuse("x-api-key header is required"),
        Some(sent) if !same(sent.as_bytes(), key.as_bytes()) => refuse("invalid x-api-key"),
        Some(_) => None,
    }
}

/// Constant-time comparison, so the key cannot be found by timing.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_method_and_path() {
        assert_eq!(Route::of(&Method::POST, "/v1/messages"), Route::Messages);
        assert_eq!(Route::of(&Method::GET, "/v1/messages"), Route::NotFound);
        assert_eq!(Route::of(&Method::GET, "/v1/messages/batches/b1/results"), Route::BatchResults("b1".into()));
        assert_eq!(Route::of(&Method::POST, "/v1/messages/batches/b1/cancel"), Route::CancelBatch("b1".into()));
        assert_eq!(Route::of(&Method::DELETE, "/v1/messages/batches/b1"), Route::DeleteBatch("b1".into()));
        assert_eq!(Route::of(&Method::GET, "/v1/messages/batches/"), Route::ListBatches);
    }

    #[test]
    fn auth_wants_exactly_the_key() {
        let mut headers = HeaderMap::new();
        assert!(check_auth(&headers, "k", "r").is_some());
        headers.insert("x-api-key", "k".parse().unwrap());
        assert!(check_auth(&headers, "k", "r").is_none());
        assert!(check_auth(&headers, "other", "r").is_some());
        headers.insert("authorization", "Bearer k".parse().unwrap());
        assert_eq!(check_auth(&headers, "k", "r").unwrap().status, 401);
    }
}

//! Route helpers: each takes what a Next.js route handler has (the raw body, the query string, the
//! `Authorization` header) and resolves `{status, body}`, the core's answer for the old route, so a route is one
//! line: `Response.json(r.body, {status: r.status})`. The get route, whose body is a whole exam, also has a variant
//! resolving the body as JSON text, sent as it is: `new Response(r.body, {status: r.status, headers})`.

use std::sync::Arc;

use napi::Env;
use napi::bindgen_prelude::{PromiseRaw, Unknown};
use napi_derive::napi;
use pregen_core::service::RouteResponse;
use serde::Serialize;

use crate::error::Coded;
use crate::service::PreGen;
use crate::settle::{settle, settle_with, to_json};

/// A route's answer with its body already serialized: `body` is the JSON text of the body the object-returning
/// helper resolves, so a route sends it without a `JSON.parse` and a `JSON.stringify` on the JavaScript thread.
#[napi(object)]
pub struct RouteJson {
    /// The HTTP status.
    pub status: u32,
    /// The body as JSON text (UTF-8 on the wire, `content-type: application/json`).
    pub body: String,
}

/// `answer` with its body serialized (on the runtime's thread, not the JavaScript one).
fn serialized<B: Serialize>(answer: RouteResponse<B>) -> Result<RouteJson, Coded> {
    Ok(RouteJson { status: u32::from(answer.status), body: to_json(&answer.body)? })
}

#[napi]
impl PreGen {
    /// `POST /api/pre-generate-exam`, body `{userId, examType}` as text.
    #[napi(ts_return_type = "Promise<RouteResponse<PreGenerateBody>>")]
    pub fn pre_generate_route<'env>(
        &self,
        env: &'env Env,
        body: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move { Ok(service.pre_generate_route(body.as_bytes()).await) })
    }

    /// `GET /api/get-pre-generated-exam`, with the request's query string (`?userId=..&examType=..`).
    #[napi(ts_return_type = "Promise<RouteResponse<GetBody>>")]
    pub fn get_route<'env>(
        &self,
        env: &'env Env,
        search_params: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move { Ok(service.get_route(&search_params).await) })
    }

    /// [`PreGen::get_route`] with the body as JSON text: a served exam (about 325 KB for a practice exam) crosses
    /// as one string and is sent as it is, never built into JavaScript objects and serialized again. The route:
    /// `new Response(r.body, {status: r.status, headers: {'content-type': 'application/json'}})`.
    #[napi(ts_return_type = "Promise<RouteJson>")]
    pub fn get_route_json<'env>(
        &self,
        env: &'env Env,
        search_params: String,
    ) -> napi::Result<PromiseRaw<'env, RouteJson>> {
        let service = Arc::clone(&self.inner);
        settle_with(env, async move { serialized(service.get_route(&search_params).await) }, |_, json| Ok(json))
    }

    /// `GET` or `POST /api/cron/generate-exams`, with the `Authorization` header (absent: `null`).
    #[napi(ts_return_type = "Promise<RouteResponse<CronBody>>")]
    pub fn cron_route<'env>(
        &self,
        env: &'env Env,
        authorization: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move { Ok(service.cron_route(authorization.as_deref()).await) })
    }

    /// `GET /api/pre-gen-analytics`, with the `Authorization` header (absent: `null`).
    #[napi(ts_return_type = "Promise<RouteResponse<AnalyticsBody>>")]
    pub fn analytics_route<'env>(
        &self,
        env: &'env Env,
        authorization: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move { Ok(service.analytics_route(authorization.as_deref()).await) })
    }

    /// The trigger route (page load or exam finished), body as text: `{userId}`, `{userId, examType}`,
    /// `{userId, examTypes}` or `{userId, completed}`. Answers 202 at once; generation happens in the background.
    #[napi(ts_return_type = "Promise<RouteResponse<TriggerBody>>")]
    pub fn trigger_route<'env>(
        &self,
        env: &'env Env,
        body: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move { Ok(service.trigger_route(body.as_bytes()).await) })
    }
}

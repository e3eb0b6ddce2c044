//! Route helpers: each takes what a Next.js route handler has (the raw body, the query string, the
//! `Authorization` header) and resolves `{status, body}`, the core's answer for the old route, so a route is one
//! line: `Response.json(r.body, {status: r.status})`.

use std::sync::Arc;

use napi::Env;
use napi::bindgen_prelude::{PromiseRaw, Unknown};
use napi_derive::napi;

use crate::service::PreGen;
use crate::settle::settle;

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

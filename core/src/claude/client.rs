//! The HTTP client: one attempt loop shared by every endpoint (headers, per-attempt timeout, rate limiter,
//! the SDKs' retries), and `POST /v1/messages` on top of it.

use std::error::Error as _;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use super::config::{ANTHROPIC_VERSION, ClaudeConfig};
use super::error::{ApiError, ClaudeError};
use super::limiter::{LimiterSnapshot, RateLimiter, RequestCost};
use super::pricing::{PriceTable, UsageTotals};
use super::retry;
use super::types::{MessageRequest, MessageResponse};
use crate::error::ErrorCode;

/// A Claude API client. Cheap to clone: clones share the connection pool, the rate limiter and the usage
/// totals. Its `Debug` never shows the key.
#[derive(Debug, Clone)]
pub struct ClaudeClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    config: ClaudeConfig,
    base: Url,
    key: HeaderValue,
    limiter: RateLimiter,
    totals: Mutex<UsageTotals>,
}

/// One logical call: what to send, and whether it goes through the Messages rate limiter.
pub(super) struct Call<'a> {
    pub(super) method: Method,
    pub(super) url: Url,
    pub(super) body: Option<Vec<u8>>,
    pub(super) accept: &'static str,
    pub(super) cost: Option<RequestCost>,
    pub(super) what: &'a str,
}

/// A successful (2xx) response, read whole.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) request_id: Option<String>,
    pub(super) body: Vec<u8>,
}

impl Reply {
    /// Parses the body as JSON, or fails with a decode error naming the status and request id.
    pub(super) fn json<T: DeserializeOwned>(&self) -> Result<T, ClaudeError> {
        serde_json::from_slice(&self.body).map_err(|e| self.decode_error(e.to_string()))
    }

    /// A decode error for this response.
    pub(super) fn decode_error(&self, message: String) -> ClaudeError {
        ClaudeError::Decode { status: self.status, message, request_id: self.request_id.clone() }
    }
}

impl ClaudeClient {
    /// Builds a client; fails with a `claude.config` error for an empty key, a bad base URL or zero timeouts.
    pub fn new(config: ClaudeConfig) -> Result<Self, ClaudeError> {
        let base = config.validate()?;
        let mut key = HeaderValue::from_str(config.api_key.expose_secret())
            .map_err(|_| ClaudeError::Config("the API key contains characters not allowed in a header".into()))?;
        key.set_sensitive(true);
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            // A redirect could carry the key to another host: 3xx answers are returned as errors instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClaudeError::Config(format!("HTTP client: {e}")))?;
        let limiter = RateLimiter::new(config.rate_limiter, config.max_limiter_hold);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                base,
                key,
                limiter,
                totals: Mutex::new(UsageTotals::default()),
            }),
        })
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &ClaudeConfig {
        &self.inner.config
    }

    /// The price table used for [`ClaudeClient::usage_totals`].
    pub fn prices(&self) -> &PriceTable {
        &self.inner.config.prices
    }

    /// Usage and cost of every successful `create_message` call of this client and its clones so far
    /// (batch results are not counted here: record them with [`UsageTotals::record`]).
    pub fn usage_totals(&self) -> UsageTotals {
        *self.inner.totals.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The rate limiter's current view, or `None` when the limiter is disabled.
    pub fn limiter_snapshot(&self) -> Option<LimiterSnapshot> {
        self.inner.limiter.snapshot()
    }

    /// Sends `POST /v1/messages` with retries and returns the parsed reply, its `request_id` set from the
    /// `request-id` header. A 2xx reply whose body cannot be read is a `claude.decode` error and is not retried.
    pub async fn create_message(&self, request: &MessageRequest) -> Result<MessageResponse, ClaudeError> {
        let body = serde_json::to_vec(request)
            .map_err(|e| ClaudeError::Config(format!("the request could not be serialised: {e}")))?;
        let cost = RequestCost::estimate(body.len(), request.max_tokens);
        let reply = self
            .execute(Call {
                method: Method::POST,
                url: self.endpoint(&["messages"]),
                body: Some(body),
                accept: "application/json",
                cost: Some(cost),
                what: "create message",
            })
            .await?;
        let mut message: MessageResponse = reply.json()?;
        message.request_id = reply.request_id;
        let mut totals = self.inner.totals.lock().unwrap_or_else(|e| e.into_inner());
        totals.record(&self.inner.config.prices, &message.model, &message.usage, false);
        tracing::debug!(
            model = %message.model,
            request_id = message.request_id.as_deref().unwrap_or(""),
            input_tokens = message.usage.input_tokens,
            output_tokens = message.usage.output_tokens,
            cache_read = message.usage.cache_read_input_tokens,
            "Claude message created"
        );
        Ok(message)
    }

    /// `{base}/v1/<segments...>`, each segment percent-encoded.
    pub(super) fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1").extend(segments);
        }
        url
    }

    /// The configured base URL (to check where a server-given URL points).
    pub(super) fn base(&self) -> &Url {
        &self.inner.base
    }

    /// Runs a call with the SDKs' retry rules and returns the first 2xx reply, or the last error.
    pub(super) async fn execute(&self, call: Call<'_>) -> Result<Reply, ClaudeError> {
        let retry_config = self.inner.config.retry;
        let mut retries_done = 0;
        loop {
            let permit = match call.cost {
                Some(cost) => Some(self.inner.limiter.acquire(cost).await),
                None => None,
            };
            let outcome = self.attempt(&call, retries_done).await;
            let now = Utc::now();
            let (error, headers) = match outcome {
                Ok((status, headers, body)) => {
                    if let Some(permit) = permit {
                        permit.complete(status, &headers);
                    }
                    let request_id = header_str(&headers, "request-id");
                    if (200..300).contains(&status) {
                        return Ok(Reply { status, request_id, body });
                    }
                    let error = ClaudeError::from(ApiError::from_response(status, &headers, &body, now));
                    (error, Some(headers))
                }
                Err(error) => {
                    drop(permit);
                    (error, None)
                }
            };
            // Debug level: the error goes back to the caller, who reports it (a job records it as its outcome).
            if !error.is_retryable() || retries_done >= retry_config.max_retries {
                tracing::debug!(
                    call = call.what,
                    code = error.code(),
                    attempts = retries_done + 1,
                    request_id = error.request_id().unwrap_or(""),
                    "Claude call failed: {error}"
                );
                return Err(error);
            }
            let delay = retry::retry_delay(&retry_config, retries_done, headers.as_ref(), now, rand::random());
            tracing::debug!(
                call = call.what,
                code = error.code(),
                retry = retries_done + 1,
                delay_ms = delay.as_millis() as u64,
                request_id = error.request_id().unwrap_or(""),
                "Claude call failed, retrying: {error}"
            );
            tokio::time::sleep(delay).await;
            retries_done += 1;
        }
    }

    /// One HTTP exchange, read to the end within the per-attempt timeout.
    async fn attempt(&self, call: &Call<'_>, retry_count: u32) -> Result<(u16, HeaderMap, Vec<u8>), ClaudeError> {
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .timeout(self.inner.config.request_timeout)
            .header("x-api-key", self.inner.key.clone())
            .header("anthropic-version", ANTHROPIC_VERSION)
            .header(ACCEPT, call.accept)
            .header(CONTENT_TYPE, "application/json")
            .header("x-stainless-retry-count", retry_count.to_string());
        if let Some(body) = &call.body {
            request = request.body(body.clone());
        }
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport_error)?;
        Ok((status, headers, body.to_vec()))
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Maps a transport failure to a timeout or a connection error, keeping the chain of causes.
fn transport_error(error: reqwest::Error) -> ClaudeError {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if error.is_timeout() { ClaudeError::Timeout { message } } else { ClaudeError::Connection { message } }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;

//! `POST /v1/messages` and `POST /v1/messages/count_tokens`: parse and check the body, pick the request's fault,
//! apply overload mode, the prompt cache and the rate limits, then write the answer with its latency.

use chrono::TimeDelta;
use serde_json::{Value, json};

use super::faults::{Fault, FaultKind};
use super::http::{JSON, LogNote, Outcome, RequestCtx};
use super::params::{self, Use};
use super::ratelimit::Dimension;
use super::reply::reply;
use super::state::AppState;
use super::time::{real_deadline, retry_after_millis, retry_after_secs};

/// Answers a message request, with `anthropic-ratelimit-*` headers when limits are configured.
pub(crate) fn create(state: &AppState, ctx: &RequestCtx, body: &[u8]) -> Outcome {
    let outcome = decide(state, ctx, body);
    with_rate_headers(state, outcome)
}

/// Answers a token count: `{"input_tokens": N}` for the prompt, with no generation.
pub(crate) fn count_tokens(state: &AppState, ctx: &RequestCtx, body: &[u8]) -> Outcome {
    let value = match parse_json(body) {
        Ok(value) => value,
        Err(message) => return Outcome::error(400, "invalid_request_error", message, &ctx.request_id),
    };
    match params::parse(&value, &state.config, Use::CountTokens) {
        Ok(params) => Outcome::json(200, &json!({"input_tokens": params.layout.total})),
        Err(message) => Outcome::error(400, "invalid_request_error", message, &ctx.request_id),
    }
}

fn decide(state: &AppState, ctx: &RequestCtx, body: &[u8]) -> Outcome {
    let rid = &ctx.request_id;
    let value = match parse_json(body) {
        Ok(value) => value,
        Err(message) => return Outcome::error(400, "invalid_request_error", message, rid),
    };
    let params = match params::parse(&value, &state.config, Use::Message) {
        Ok(params) => params,
        Err(message) => {
            let mut outcome = Outcome::error(400, "invalid_request_error", message, rid);
            outcome.note.model = value["model"].as_str().map(str::to_owned);
            return outcome;
        }
    };
    let (index, fault) = state.next_fault(&params.model, params.brief.as_ref(), ctx.retry_count);
    let fault = if state.overloaded.load(std::sync::atomic::Ordering::SeqCst) {
        Some(Fault::new(FaultKind::Overloaded))
    } else {
        fault
    };
    let note = LogNote {
        model: Some(params.model.clone()),
        message_index: Some(index),
        fault: fault.map(|f| f.kind),
        ..LogNote::default()
    };
    if let Some(outcome) = fault.and_then(|f| status_fault(state, f, rid)) {
        return noted(outcome, note);
    }

    let now = state.time.now();
    let cache = state.cache.plan(&params.layout, now, state.config.min_cacheable_tokens);
    if let Some(limiter) = &state.limiter {
        let input = params.layout.total.saturating_sub(cache.read);
        if let Err(limited) = limiter.admit(now, input, params.max_tokens) {
            let message = format!(
                "This request would exceed your organization's rate limit of {} {} per minute (simulated). \
                 For details, refer to: https://docs.claude.com/en/api/rate-limits.",
                limited.limit,
                limited.dimension.unit()
            );
            let wait = state.time.to_real(limited.wait);
            let outcome = Outcome::error(429, "rate_limit_error", message, rid);
            return noted(with_retry_after(outcome, wait), note);
        }
    }

    let reply = reply(&params, state.config.seed, &cache, fault.map(|f| f.kind), "standard");
    let first_token = TimeDelta::from_std(state.config.latency.base).unwrap_or(TimeDelta::MAX);
    state.cache.commit(&cache, now, now + first_token);
    let mut body = reply.message.to_string().into_bytes();
    if fault.is_some_and(|f| f.kind == FaultKind::Malformed) {
        body.truncate(body.len() / 2);
    }
    let mut outcome = Outcome::raw(200, JSON, body);
    outcome.delay = state.time.to_real(state.config.latency.duration_for(reply.usage.output));
    outcome.refund_output = Some(params.max_tokens.saturating_sub(reply.usage.output));
    let note = LogNote { usage: reply.usage, items: reply.items, ..note };
    tracing::debug!(
        request_id = %rid,
        index,
        items = reply.items.unwrap_or(0),
        fault = note.fault.map_or("none", FaultKind::as_str),
        "[Simulator] message answered"
    );
    noted(outcome, note)
}

/// The body as JSON, or the 400 message saying why not.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("Request body is not valid JSON: {e}"))
}

/// The outcome of a fault that answers without generating, if `fault` is one.
fn status_fault(state: &AppState, fault: Fault, rid: &str) -> Option<Outcome> {
    let outcome = match fault.kind {
        FaultKind::RateLimited => {
            let message = "Number of request tokens has exceeded your per-minute rate limit (simulated fault).";
            let outcome = Outcome::error(429, "rate_limit_error", message, rid);
            with_retry_after(outcome, state.config.fault_retry_after)
        }
        FaultKind::Overloaded => Outcome::error(529, "overloaded_error", "Overloaded", rid),
        FaultKind::ServerError => Outcome::error(500, "api_error", "Internal server error (simulated fault)", rid),
        FaultKind::Unavailable => Outcome::error(503, "api_error", "Service unavailable (simulated fault)", rid),
        FaultKind::RequestTimeout => {
            Outcome::error(408, "timeout_error", "Request timed out (simulated fault)", rid)
        }
        FaultKind::Hang => Outcome::kill(state.config.hang_for),
        FaultKind::Reset => Outcome::kill(std::time::Duration::ZERO),
        _ => return None,
    };
    Some(match fault.should_retry {
        Some(retry) => outcome.header("x-should-retry", retry.to_string()),
        None => outcome,
    })
}

fn with_retry_after(outcome: Outcome, wait: std::time::Duration) -> Outcome {
    outcome
        .header("retry-after", retry_after_secs(wait).to_string())
        .header("retry-after-ms", retry_after_millis(wait).to_string())
}

fn noted(mut outcome: Outcome, note: LogNote) -> Outcome {
    let error_type = outcome.note.error_type.take();
    outcome.note = LogNote { error_type, ..note };
    outcome
}

/// Adds `anthropic-ratelimit-{requests,input-tokens,output-tokens,tokens}-{limit,remaining,reset}`.
fn with_rate_headers(state: &AppState, mut outcome: Outcome) -> Outcome {
    let Some(limiter) = &state.limiter else {
        return outcome;
    };
    if outcome.after != super::http::After::Respond {
        return outcome;
    }
    let states = limiter.snapshot(state.time.now());
    let mut tokens: Option<(u64, u64, std::time::Duration)> = None;
    for s in &states {
        let part = s.dimension.header_part();
        let until_full = state.time.to_real(s.until_full);
        outcome = outcome
            .header(format!("anthropic-ratelimit-{part}-limit"), s.limit.to_string())
            .header(format!("anthropic-ratelimit-{part}-remaining"), s.remaining.to_string())
            .header(format!("anthropic-ratelimit-{part}-reset"), real_deadline(until_full));
        if s.dimension != Dimension::Requests {
            let (limit, remaining, reset) = tokens.unwrap_or_default();
            tokens = Some((limit + s.limit, remaining + s.remaining, reset.max(until_full)));
        }
    }
    if let Some((limit, remaining, reset)) = tokens {
        outcome = outcome
            .header("anthropic-ratelimit-tokens-limit", limit.to_string())
            .header("anthropic-ratelimit-tokens-remaining", remaining.to_string())
            .header("anthropic-ratelimit-tokens-reset", real_deadline(reset));
    }
    outcome
}

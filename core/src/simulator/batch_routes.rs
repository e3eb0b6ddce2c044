//! The Message Batches endpoints (create, retrieve, list, cancel, delete, results) and the background task that
//! works through a batch over its configured (time-compressed) processing time. Batch requests skip the per-minute
//! rate limits and injected faults; a configured share of them ends `errored` or `expired` instead.

use std::collections::{HashMap, HashSet};

use axum::extract::Query;
use axum::http::Uri;
use chrono::Utc;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::batches::Status;
use super::http::{JSONL, Outcome, RequestCtx, error_body};
use super::items::mix;
use super::params::{self, Use};
use super::reply::{new_id, reply};
use super::state::Shared;

/// The API's cap on requests per batch.
const MAX_REQUESTS: usize = 100_000;

/// What becomes of one batch request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Succeed,
    Error,
    Expire,
}

/// `POST /v1/messages/batches`.
pub(crate) fn create(state: &Shared, ctx: &RequestCtx, body: &[u8]) -> Outcome {
    let bad = |message: String| Outcome::error(400, "invalid_request_error", message, &ctx.request_id);
    let value = match super::messages::parse_json(body) {
        Ok(value) => value,
        Err(message) => return bad(message),
    };
    let Some(requests) = value["requests"].as_array() else {
        return bad("requests: Field required".into());
    };
    if requests.is_empty() || requests.len() > MAX_REQUESTS {
        return bad(format!("requests: a batch holds 1 to {MAX_REQUESTS} requests"));
    }
    let mut seen = HashSet::with_capacity(requests.len());
    let mut entries = Vec::with_capacity(requests.len());
    for (i, request) in requests.iter().enumerate() {
        let Some(custom_id) = request["custom_id"].as_str() else {
            return bad(format!("requests.{i}.custom_id: Field required"));
        };
        let well_formed = (1..=64).contains(&custom_id.len())
            && custom_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !well_formed {
            return bad(format!("requests.{i}.custom_id: must be 1-64 letters, digits, '_' or '-'"));
        }
        if !seen.insert(custom_id) {
            return bad(format!(
                "requests.{i}.custom_id: custom_id values must be unique within a batch; {custom_id:?} repeats"
            ));
        }
        if request["params"].is_null() {
            return bad(format!("requests.{i}.params: Field required"));
        }
        match params::parse(&request["params"], &state.config, Use::Batch) {
            Ok(params) => entries.push((custom_id.to_owned(), params)),
            Err(message) => return bad(format!("requests.{i}.params.{message}")),
        }
    }
    let id = new_id("msgbatch");
    let n = entries.len();
    state.batches.insert(id.clone(), entries);
    tracing::info!(batch = %id, requests = n, "[Simulator] batch created");
    tokio::spawn(process(state.clone(), id.clone()));
    batch_json(state, ctx, &id)
}

/// `GET /v1/messages/batches/{id}`.
pub(crate) fn retrieve(state: &Shared, ctx: &RequestCtx, id: &str) -> Outcome {
    batch_json(state, ctx, id)
}

/// `POST /v1/messages/batches/{id}/cancel`: an in-progress batch turns `canceling`, then ends with its
/// unprocessed requests `canceled`. Other batches are returned as they are.
pub(crate) fn cancel(state: &Shared, ctx: &RequestCtx, id: &str) -> Outcome {
    state.batches.with(id, |b| {
        if b.status == Status::InProgress {
            b.status = Status::Canceling;
            b.cancel_initiated_at = Some(Utc::now());
            b.cancel.notify_one();
        }
    });
    batch_json(state, ctx, id)
}

/// `GET /v1/messages/batches/{id}/results`: JSONL in a shuffled order once the batch has ended, 404 before.
pub(crate) fn results(state: &Shared, ctx: &RequestCtx, id: &str) -> Outcome {
    let seed = state.config.seed;
    let file = state.batches.with(id, |b| {
        (b.status == Status::Ended).then(|| {
            let mut order: Vec<usize> = (0..b.requests.len()).collect();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(seed, b.seq, 0x5EED)));
            b.results_jsonl(&order)
        })
    });
    match file {
        None => not_found(ctx, id),
        Some(None) => Outcome::error(
            404,
            "not_found_error",
            format!("Results for batch {id} are not available until processing has ended"),
            &ctx.request_id,
        ),
        Some(Some(jsonl)) => Outcome::raw(200, JSONL, jsonl.into_bytes()),
    }
}

/// `GET /v1/messages/batches?limit=&after_id=&before_id=`, newest first.
pub(crate) fn list(state: &Shared, ctx: &RequestCtx, uri: &Uri) -> Outcome {
    let query = Query::<HashMap<String, String>>::try_from_uri(uri).map(|q| q.0).unwrap_or_default();
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => 20,
        Some(Ok(limit)) if (1..=1000).contains(&limit) => limit,
        Some(_) => {
            let message = "limit: Input should be an integer from 1 to 1000";
            return Outcome::error(400, "invalid_request_error", message, &ctx.request_id);
        }
    };
    let after = query.get("after_id").map(String::as_str);
    let before = query.get("before_id").map(String::as_str);
    let (data, has_more) = state.batches.page(&state.base_url, limit, after, before);
    let first_id = data.first().map(|b| b["id"].clone());
    let last_id = data.last().map(|b| b["id"].clone());
    Outcome::json(200, &json!({"data": data, "has_more": has_more, "first_id": first_id, "last_id": last_id}))
}

/// `DELETE /v1/messages/batches/{id}`: only once the batch has ended.
pub(crate) fn delete(state: &Shared, ctx: &RequestCtx, id: &str) -> Outcome {
    match state.batches.remove_ended(id) {
        None => not_found(ctx, id),
        Some(false) => Outcome::error(
            400,
            "invalid_request_error",
            format!("Batch {id} is still processing; cancel it and wait for it to end before deleting it"),
            &ctx.request_id,
        ),
        Some(true) => Outcome::json(200, &json!({"id": id, "type": "message_batch_deleted"})),
    }
}

fn batch_json(state: &Shared, ctx: &RequestCtx, id: &str) -> Outcome {
    match state.batches.with(id, |b| b.to_json(&state.base_url)) {
        Some(json) => Outcome::json(200, &json),
        None => not_found(ctx, id),
    }
}

fn not_found(ctx: &RequestCtx, id: &str) -> Outcome {
    Outcome::error(404, "not_found_error", format!("No batch found with id {id}"), &ctx.request_id)
}

/// Works through batch `id`: one request per step of `processing_time / n`, stopping early on cancel (the rest
/// end `canceled`) and quietly on shutdown.
async fn process(state: Shared, id: String) {
    let Some((n, cancel, seq)) = state.batches.with(&id, |b| (b.requests.len(), b.cancel.clone(), b.seq)) else {
        return;
    };
    let fates = fates(n, seq, &state);
    let step = state.time.to_real(state.config.batch.processing_time / n.max(1) as u32);
    for (i, fate) in fates.into_iter().enumerate() {
        tokio::select! {
            () = tokio::time::sleep(step) => {}
            () = cancel.notified() => break,
            () = state.shutting_down() => return,
        }
        let result = match fate {
            Fate::Error => {
                let error =
                    error_body("api_error", "Internal server error (simulated batch error)", &new_id("req"));
                json!({"type": "errored", "error": error})
            }
            Fate::Expire => json!({"type": "expired"}),
            Fate::Succeed => {
                let Some(params) = state.batches.with(&id, |b| b.requests[i].1.clone()) else { return };
                let now = state.time.now();
                let cache = state.cache.plan(&params.layout, now, state.config.min_cacheable_tokens);
                state.cache.commit(&cache, now, now);
                let answer = reply(&params, state.config.seed, &cache, None, "batch");
                json!({"type": "succeeded", "message": answer.message})
            }
        };
        state.batches.with(&id, |b| b.results[i] = Some(result));
    }
    state.batches.with(&id, |b| {
        for result in b.results.iter_mut().filter(|r| r.is_none()) {
            *result = Some(json!({"type": "canceled"}));
        }
        b.status = Status::Ended;
        b.ended_at = Some(Utc::now());
    });
    tracing::info!(batch = %id, "[Simulator] batch ended");
}

/// The fate of each of `n` requests: exactly the configured shares (rounded) error and expire, at positions
/// shuffled by the seed and the batch's creation number.
fn fates(n: usize, seq: u64, state: &Shared) -> Vec<Fate> {
    let settings = &state.config.batch;
    let errored = ((settings.errored_fraction * n as f64).round() as usize).min(n);
    let expired = ((settings.expired_fraction * n as f64).round() as usize).min(n - errored);
    let mut fates: Vec<Fate> = (0..n)
        .map(|i| match i {
            i if i < errored => Fate::Error,
            i if i < errored + expired => Fate::Expire,
            _ => Fate::Succeed,
        })
        .collect();
    fates.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(state.config.seed, seq, 0xBA7C)));
    fates
}

//! A client-side rate limiter fed by the `anthropic-ratelimit-*` headers, so that a well-behaved client rarely
//! sees a 429.
//!
//! Each of the three budgets (requests, input tokens, output tokens per minute) is a bucket: the last
//! `remaining` the server reported, refilled continuously since then (capped at `limit`), minus what requests
//! admitted and still in flight have reserved. The refill runs in a straight line from `remaining` at the
//! response to `limit` at the `*-reset` instant, when the server named one in the future (that is the docs'
//! "fully replenished" time, and exactly `limit` per minute for a token bucket); otherwise at `limit` per minute. A request is held back until every known
//! bucket can pay its estimated cost (a request asking for more than a whole bucket waits for a full one).
//! In-flight reservations are subtracted even though the server may already count them: conservative on
//! purpose, since how a server books running requests varies. Until the first response has told us the limits,
//! one request at a time goes out. After a 429 with a retry-after, everything waits until then.
//!
//! [`LimiterState`] is the pure core (time passed in); [`RateLimiter`] wraps it for async callers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::HeaderMap;
use serde::Serialize;
use tokio::sync::Notify;

use super::retry;

/// What one request is expected to use: 1 request, its estimated input tokens and its `max_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestCost {
    /// Requests (1 per attempt).
    pub requests: u64,
    /// Estimated input tokens.
    pub input_tokens: u64,
    /// Output tokens the request may use (its `max_tokens`).
    pub output_tokens: u64,
}

impl RequestCost {
    /// The estimate for a Messages body: about one token per 4 bytes of JSON, and `max_tokens` of output.
    pub fn estimate(body_len: usize, max_tokens: u32) -> Self {
        Self { requests: 1, input_tokens: body_len.div_ceil(4) as u64, output_tokens: u64::from(max_tokens) }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    limit: Option<u64>,
    remaining: f64,
    /// Refill per second since `observed_at`.
    rate: f64,
    observed_at: Option<DateTime<Utc>>,
    reset: Option<DateTime<Utc>>,
    reserved: u64,
}

/// Why a bucket cannot pay yet.
enum Shortfall {
    /// Refill alone pays it after this long.
    Refill(Duration),
    /// Only a release of reservations can pay it.
    Reservations,
}

impl Bucket {
    /// Estimated tokens available at `now` after reservations; `None` when the limit is unknown.
    fn available(&self, now: DateTime<Utc>) -> Option<f64> {
        let limit = self.limit.filter(|l| *l > 0)? as f64;
        let elapsed = self.observed_at.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
        Some((self.remaining + self.rate * elapsed).min(limit) - self.reserved as f64)
    }

    /// The server's count at `now` as this bucket models it, before reservations.
    fn estimated_remaining(&self, now: DateTime<Utc>) -> f64 {
        let elapsed = self.observed_at.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
        let limit = self.limit.unwrap_or(0) as f64;
        (self.remaining + self.rate * elapsed).min(limit)
    }

    fn shortfall(&self, need: u64, now: DateTime<Utc>) -> Option<Shortfall> {
        let available = self.available(now)?;
        let limit = self.limit? as f64;
        let need = (need as f64).min(limit);
        if available >= need {
            return None;
        }
        if limit - (self.reserved as f64) < need {
            return Some(Shortfall::Reservations);
        }
        let secs = ((need - available) / self.rate).clamp(0.001, 86_400.0);
        Some(Shortfall::Refill(Duration::from_secs_f64(secs)))
    }

    fn observe(&mut self, headers: &HeaderMap, name: &str, now: DateTime<Utc>) {
        let get = |suffix: &str| {
            let key = format!("anthropic-ratelimit-{name}-{suffix}");
            headers.get(key.as_str()).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned())
        };
        let limit = get("limit").and_then(|v| v.parse::<u64>().ok());
        let remaining = get("remaining").and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite());
        let Some((limit, remaining)) = limit.filter(|l| *l > 0).zip(remaining) else {
            return;
        };
        let remaining = remaining.clamp(0.0, limit as f64);
        let reset = get("reset").and_then(|v| DateTime::parse_from_rfc3339(&v).ok()).map(|t| t.to_utc());
        // Responses of concurrent requests arrive out of order. A continuously refilled bucket's "full again at"
        // instant never moves back, so an earlier reset is an older state: ignore it. Within the same second
        // (resets are whole seconds) the lower count is the newer state.
        if let (Some(prev), Some(new), Some(known)) = (self.reset, reset, self.limit)
            && known == limit
            && (new < prev || (new == prev && remaining > self.estimated_remaining(now)))
        {
            return;
        }
        let per_minute = limit as f64 / 60.0;
        let until_reset = reset.map_or(0.0, |r| (r - now).num_milliseconds() as f64 / 1000.0);
        self.rate = if until_reset > 0.0 && remaining < limit as f64 {
            (limit as f64 - remaining) / until_reset
        } else {
            per_minute
        };
        self.limit = Some(limit);
        self.remaining = remaining;
        self.observed_at = Some(now);
        self.reset = reset;
    }

    fn snapshot(&self, now: DateTime<Utc>) -> BucketSnapshot {
        BucketSnapshot {
            limit: self.limit,
            available: self.available(now),
            reserved: self.reserved,
            reset: self.reset,
        }
    }
}

/// A budget held by an admitted request until its response (or failure) is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a reservation must be given back through observe() or release()"]
pub struct Reservation {
    cost: RequestCost,
}

/// The limiter's answer to "may this request go now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Send it; hand the reservation back when it finishes.
    Go(Reservation),
    /// Ask again at `until`, or earlier when a response arrives (`None`: only a response can help).
    Wait {
        /// When waiting alone is enough (at the latest).
        until: Option<DateTime<Utc>>,
    },
}

/// The pure limiter: header observations and reservations in, admissions out, with `now` always passed in.
#[derive(Debug, Clone)]
pub struct LimiterState {
    max_block: Duration,
    requests: Bucket,
    input: Bucket,
    output: Bucket,
    blocked_until: Option<DateTime<Utc>>,
    in_flight: u32,
    seen_response: bool,
    admitted: u64,
    held: u64,
    rate_limited: u64,
}

impl Default for LimiterState {
    fn default() -> Self {
        Self::new(Duration::from_secs(60))
    }
}

impl LimiterState {
    /// An empty limiter that knows no limits yet; a 429's retry-after holds requests for at most `max_block`
    /// (a longer wait is left to the caller, who sees it on the error).
    pub fn new(max_block: Duration) -> Self {
        Self {
            max_block,
            requests: Bucket::default(),
            input: Bucket::default(),
            output: Bucket::default(),
            blocked_until: None,
            in_flight: 0,
            seen_response: false,
            admitted: 0,
            held: 0,
            rate_limited: 0,
        }
    }

    /// Admits a request of `cost` at `now`, reserving its budget, or says how long to wait.
    pub fn try_acquire(&mut self, cost: RequestCost, now: DateTime<Utc>) -> Admission {
        if let Some(until) = self.blocked_until.filter(|t| *t > now) {
            return Admission::Wait { until: Some(until) };
        }
        if !self.seen_response && self.in_flight > 0 {
            return Admission::Wait { until: None };
        }
        let mut wait: Option<Duration> = None;
        let pairs = [
            (&self.requests, cost.requests),
            (&self.input, cost.input_tokens),
            (&self.output, cost.output_tokens),
        ];
        for (bucket, need) in pairs {
            match bucket.shortfall(need, now) {
                None => {}
                Some(Shortfall::Reservations) => return Admission::Wait { until: None },
                Some(Shortfall::Refill(d)) => wait = Some(wait.map_or(d, |w| w.max(d))),
            }
        }
        if let Some(d) = wait {
            return Admission::Wait { until: Some(after(now, d)) };
        }
        self.requests.reserved += cost.requests;
        self.input.reserved += cost.input_tokens;
        self.output.reserved += cost.output_tokens;
        self.in_flight += 1;
        self.admitted += 1;
        Admission::Go(Reservation { cost })
    }

    /// Counts a request that had to wait (for the snapshot).
    pub fn note_held(&mut self) {
        self.held += 1;
    }

    /// Gives back a reservation whose request got no response (connection error, timeout, cancellation).
    pub fn release(&mut self, reservation: Reservation) {
        let c = reservation.cost;
        self.requests.reserved = self.requests.reserved.saturating_sub(c.requests);
        self.input.reserved = self.input.reserved.saturating_sub(c.input_tokens);
        self.output.reserved = self.output.reserved.saturating_sub(c.output_tokens);
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Records a response: releases its reservation, takes the rate-limit headers as the server's latest word,
    /// and after a 429 with a retry-after holds every request until then.
    pub fn observe(&mut self, reservation: Reservation, status: u16, headers: &HeaderMap, now: DateTime<Utc>) {
        self.release(reservation);
        self.seen_response = true;
        self.requests.observe(headers, "requests", now);
        self.input.observe(headers, "input-tokens", now);
        self.output.observe(headers, "output-tokens", now);
        if status == 429 {
            self.rate_limited += 1;
            if let Some(wait) = retry::retry_after_duration(headers, now) {
                let until = after(now, wait.min(self.max_block));
                self.blocked_until = Some(self.blocked_until.map_or(until, |b| b.max(until)));
            }
        }
    }

    /// What the limiter believes at `now`.
    pub fn snapshot(&self, now: DateTime<Utc>) -> LimiterSnapshot {
        LimiterSnapshot {
            requests: self.requests.snapshot(now),
            input_tokens: self.input.snapshot(now),
            output_tokens: self.output.snapshot(now),
            blocked_until: self.blocked_until.filter(|t| *t > now),
            in_flight: self.in_flight,
            admitted: self.admitted,
            held: self.held,
            rate_limited: self.rate_limited,
        }
    }
}

/// One budget as the limiter sees it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketSnapshot {
    /// The server's per-minute limit, once reported.
    pub limit: Option<u64>,
    /// Estimated available now, after refill and in-flight reservations.
    pub available: Option<f64>,
    /// Reserved by requests in flight.
    pub reserved: u64,
    /// When the server said the bucket is full again.
    pub reset: Option<DateTime<Utc>>,
}

/// The limiter's state for observability.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimiterSnapshot {
    /// Requests per minute.
    pub requests: BucketSnapshot,
    /// Input tokens per minute.
    pub input_tokens: BucketSnapshot,
    /// Output tokens per minute.
    pub output_tokens: BucketSnapshot,
    /// Everything waits until then (after a 429 with retry-after).
    pub blocked_until: Option<DateTime<Utc>>,
    /// Requests admitted and not finished.
    pub in_flight: u32,
    /// Requests admitted so far.
    pub admitted: u64,
    /// Requests that had to wait at least once.
    pub held: u64,
    /// 429 responses seen.
    pub rate_limited: u64,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<LimiterState>,
    changed: Notify,
    queue: tokio::sync::Mutex<()>,
}

/// The async limiter shared by every request of a client; clones share one state. Disabled limiters admit
/// everything at once.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    shared: Option<Arc<Shared>>,
}

impl RateLimiter {
    /// A limiter (a 429 holds requests for at most `max_block`), or a pass-through one when `enabled` is false.
    pub fn new(enabled: bool, max_block: Duration) -> Self {
        let shared = enabled.then(|| {
            Arc::new(Shared {
                state: Mutex::new(LimiterState::new(max_block)),
                changed: Notify::new(),
                queue: tokio::sync::Mutex::new(()),
            })
        });
        Self { shared }
    }

    /// Waits (first come, first served) until `cost` fits, then reserves it.
    pub async fn acquire(&self, cost: RequestCost) -> Permit {
        let Some(shared) = &self.shared else {
            return Permit { shared: None, reservation: None };
        };
        let _turn = shared.queue.lock().await;
        let mut held = false;
        loop {
            let changed = shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let now = Utc::now();
            let admission = {
                let mut state = lock(shared);
                let admission = state.try_acquire(cost, now);
                if !held && matches!(admission, Admission::Wait { .. }) {
                    held = true;
                    state.note_held();
                }
                admission
            };
            match admission {
                Admission::Go(reservation) => {
                    return Permit { shared: Some(Arc::clone(shared)), reservation: Some(reservation) };
                }
                Admission::Wait { until } => {
                    let sleep = until.map_or(Duration::from_secs(60), |t| {
                        (t - now).to_std().unwrap_or(Duration::ZERO).min(Duration::from_secs(60))
                    });
                    tracing::debug!(wait_ms = sleep.as_millis() as u64, "claude rate limiter holds a request");
                    tokio::select! {
                        _ = changed => {}
                        _ = tokio::time::sleep(sleep) => {}
                    }
                }
            }
        }
    }

    /// The current state, or `None` for a disabled limiter.
    pub fn snapshot(&self) -> Option<LimiterSnapshot> {
        self.shared.as_ref().map(|s| lock(s).snapshot(Utc::now()))
    }
}

/// `now + d`, with absurd durations clamped to a day so the arithmetic cannot overflow.
fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    let d = TimeDelta::from_std(d.min(Duration::from_secs(86_400))).unwrap_or(TimeDelta::days(1));
    now + d
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, LimiterState> {
    shared.state.lock().unwrap_or_else(|e| e.into_inner())
}

/// An admitted request's budget. Record the response with [`Permit::complete`]; dropping it without one
/// gives the budget back (a failure without response, or a cancelled call).
#[derive(Debug)]
pub struct Permit {
    shared: Option<Arc<Shared>>,
    reservation: Option<Reservation>,
}

impl Permit {
    /// Records the response's status and headers and releases the budget.
    pub fn complete(mut self, status: u16, headers: &HeaderMap) {
        if let (Some(shared), Some(r)) = (&self.shared, self.reservation.take()) {
            lock(shared).observe(r, status, headers, Utc::now());
            shared.changed.notify_waiters();
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let (Some(shared), Some(r)) = (&self.shared, self.reservation.take()) {
            lock(shared).release(r);
            shared.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
#[path = "limiter_tests.rs"]
mod tests;

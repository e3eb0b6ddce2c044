//! Per-minute rate limits as continuously refilling token buckets (requests, input tokens, output tokens), on
//! simulated time. Output is charged `max_tokens` at admission and refunded down to the actual output at the end,
//! as the real API estimates OTPM.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::config::RateLimits;

/// One limited quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dimension {
    /// Requests per minute.
    Requests,
    /// Input tokens per minute (uncached input plus cache writes).
    InputTokens,
    /// Output tokens per minute.
    OutputTokens,
}

impl Dimension {
    const ALL: [Dimension; 3] = [Dimension::Requests, Dimension::InputTokens, Dimension::OutputTokens];

    /// The middle part of its `anthropic-ratelimit-*` headers.
    pub(crate) fn header_part(self) -> &'static str {
        match self {
            Dimension::Requests => "requests",
            Dimension::InputTokens => "input-tokens",
            Dimension::OutputTokens => "output-tokens",
        }
    }

    /// Its name in a 429 message.
    pub(crate) fn unit(self) -> &'static str {
        match self {
            Dimension::Requests => "requests",
            Dimension::InputTokens => "input tokens",
            Dimension::OutputTokens => "output tokens",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    capacity: f64,
    level: f64,
    updated: DateTime<Utc>,
}

impl Bucket {
    fn per_second(&self) -> f64 {
        self.capacity / 60.0
    }

    fn refill(&mut self, now: DateTime<Utc>) {
        if now > self.updated {
            let elapsed = (now - self.updated).as_seconds_f64();
            self.level = (self.level + elapsed * self.per_second()).min(self.capacity);
            self.updated = now;
        }
    }

    fn wait_for(&self, need: f64) -> Duration {
        Duration::from_secs_f64(((need - self.level) / self.per_second()).max(0.0))
    }
}

/// A refused admission: which limit, its size, and the simulated wait until the request would fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Limited {
    /// The limit that refused.
    pub(crate) dimension: Dimension,
    /// Its size per minute.
    pub(crate) limit: u64,
    /// Simulated time until enough has refilled.
    pub(crate) wait: Duration,
}

/// One dimension's state for the response headers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DimensionState {
    /// Which quantity.
    pub(crate) dimension: Dimension,
    /// Per-minute limit.
    pub(crate) limit: u64,
    /// What is left now, floored at zero.
    pub(crate) remaining: u64,
    /// Simulated time until the bucket is full again.
    pub(crate) until_full: Duration,
}

/// The buckets of one simulator.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    buckets: Mutex<[Option<Bucket>; 3]>,
}

impl RateLimiter {
    /// Full buckets for `limits` at `now`.
    pub(crate) fn new(limits: &RateLimits, now: DateTime<Utc>) -> Self {
        let bucket =
            |limit: Option<u64>| limit.map(|l| Bucket { capacity: l as f64, level: l as f64, updated: now });
        Self {
            buckets: Mutex::new([
                bucket(limits.requests_per_minute),
                bucket(limits.input_tokens_per_minute),
                bucket(limits.output_tokens_per_minute),
            ]),
        }
    }

    /// Admits one request costing `input` input tokens and at most `output` output tokens, or says which limit
    /// refuses it and for how long. A cost above a whole minute's limit is admitted once the bucket is full.
    pub(crate) fn admit(&self, now: DateTime<Utc>, input: u64, output: u64) -> Result<(), Limited> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let costs = [1.0, input as f64, output as f64];
        let mut refusal: Option<Limited> = None;
        for (i, slot) in buckets.iter_mut().enumerate() {
            let Some(bucket) = slot else { continue };
            bucket.refill(now);
            let need = costs[i].min(bucket.capacity);
            if bucket.level + 1e-9 < need {
                let wait = bucket.wait_for(need);
                if refusal.is_none_or(|r| wait > r.wait) {
                    refusal = Some(Limited { dimension: Dimension::ALL[i], limit: bucket.capacity as u64, wait });
                }
            }
        }
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        for (i, slot) in buckets.iter_mut().enumerate() {
            if let Some(bucket) = slot {
                bucket.level -= costs[i];
            }
        }
        Ok(())
    }

    /// Gives back output tokens charged at admission but not produced.
    pub(crate) fn refund_output(&self, now: DateTime<Utc>, tokens: u64) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bucket) = &mut buckets[2] {
            bucket.refill(now);
            bucket.level = (bucket.level + tokens as f64).min(bucket.capacity);
        }
    }

    /// The state of every limited dimension at `now`, for the `anthropic-ratelimit-*` headers.
    pub(crate) fn snapshot(&self, now: DateTime<Utc>) -> Vec<DimensionState> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let mut states = Vec::with_capacity(3);
        for (i, slot) in buckets.iter_mut().enumerate() {
            let Some(bucket) = slot else { continue };
            bucket.refill(now);
            states.push(DimensionState {
                dimension: Dimension::ALL[i],
                limit: bucket.capacity as u64,
                remaining: bucket.level.max(0.0).floor() as u64,
                until_full: bucket.wait_for(bucket.capacity),
            });
        }
        states
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn limits(rpm: u64, itpm: u64, otpm: u64) -> RateLimits {
        RateLimits {
            requests_per_minute: Some(rpm),
            input_tokens_per_minute: Some(itpm),
            output_tokens_per_minute: Some(otpm),
        }
    }

    #[test]
    fn requests_run_out_and_refill_continuously() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let limiter = RateLimiter::new(&limits(2, 10_000, 10_000), t0);
        limiter.admit(t0, 10, 10).unwrap();
        limiter.admit(t0, 10, 10).unwrap();
        let refused = limiter.admit(t0, 10, 10).unwrap_err();
        assert_eq!(refused.dimension, Dimension::Requests);
        assert_eq!(refused.wait, Duration::from_secs(30));
        limiter.admit(t0 + TimeDelta::seconds(30), 10, 10).unwrap();
    }

    #[test]
    fn output_is_charged_at_max_tokens_and_refunded() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let limiter = RateLimiter::new(&limits(100, 100_000, 1_000), t0);
        limiter.admit(t0, 10, 800).unwrap();
        assert_eq!(limiter.admit(t0, 10, 800).unwrap_err().dimension, Dimension::OutputTokens);
        limiter.refund_output(t0, 700);
        limiter.admit(t0, 10, 800).unwrap();
        let out = limiter.snapshot(t0).into_iter().find(|s| s.dimension == Dimension::OutputTokens).unwrap();
        assert_eq!(out.remaining, 100);
        assert_eq!(out.until_full, Duration::from_secs(54));
    }

    #[test]
    fn a_request_larger_than_the_limit_waits_for_a_full_bucket() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let limiter = RateLimiter::new(&limits(100, 1_000, 1_000), t0);
        limiter.admit(t0, 5_000, 10).unwrap();
        let refused = limiter.admit(t0 + TimeDelta::seconds(30), 5_000, 10).unwrap_err();
        assert_eq!(refused.dimension, Dimension::InputTokens);
        assert!(refused.wait > Duration::from_secs(200));
        let states = limiter.snapshot(t0);
        assert_eq!(states.iter().find(|s| s.dimension == Dimension::InputTokens).unwrap().remaining, 0);
    }
}

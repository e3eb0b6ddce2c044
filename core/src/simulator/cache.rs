//! The prompt cache: entries keyed by the hash of a prompt prefix, living 5 minutes (or 1 hour) of simulated time,
//! refreshed on every hit. An entry becomes readable only once the response that wrote it has begun, so identical
//! requests sent in parallel all pay for the write, as with the real API.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use super::tokens::{Breakpoint, PromptLayout, TTL_1H};

/// What caching does to one request's input: tokens read from the cache, tokens written to it, and the entries
/// to store or refresh once the request is admitted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct CachePlan {
    /// `cache_read_input_tokens`.
    pub(crate) read: u64,
    /// `cache_creation_input_tokens` written with a 5-minute lifetime.
    pub(crate) created_5m: u64,
    /// `cache_creation_input_tokens` written with a 1-hour lifetime.
    pub(crate) created_1h: u64,
    touch: Vec<Breakpoint>,
    write: Vec<Breakpoint>,
}

impl CachePlan {
    /// All cache writes, whatever their lifetime.
    pub(crate) fn created(&self) -> u64 {
        self.created_5m + self.created_1h
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    expires_at: DateTime<Utc>,
    ready_at: DateTime<Utc>,
}

/// The cache entries of one simulator.
#[derive(Debug, Default)]
pub(crate) struct PromptCache {
    entries: Mutex<HashMap<u64, Entry>>,
}

impl PromptCache {
    /// How `layout` would use the cache at `now`, ignoring prefixes shorter than `min_tokens`. Changes nothing.
    pub(crate) fn plan(&self, layout: &PromptLayout, now: DateTime<Utc>, min_tokens: u64) -> CachePlan {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let eligible: Vec<Breakpoint> =
            (layout.breakpoints.iter()).filter(|b| b.tokens > 0 && b.tokens >= min_tokens).copied().collect();
        let live = |b: &Breakpoint| entries.get(&b.key).is_some_and(|e| e.expires_at > now && e.ready_at <= now);
        let hit = eligible.iter().rposition(live);
        let mut plan = CachePlan::default();
        if let Some(at) = hit {
            plan.read = eligible[at].tokens;
            plan.touch = eligible[..=at].iter().filter(|b| live(b)).copied().collect();
        }
        let mut previous = plan.read;
        for b in &eligible[hit.map_or(0, |at| at + 1)..] {
            let written = b.tokens.saturating_sub(previous);
            if b.ttl == TTL_1H {
                plan.created_1h += written;
            } else {
                plan.created_5m += written;
            }
            previous = previous.max(b.tokens);
            plan.write.push(*b);
        }
        plan
    }

    /// Stores the plan's writes (readable from `ready_at`) and refreshes the entries it read.
    pub(crate) fn commit(&self, plan: &CachePlan, now: DateTime<Utc>, ready_at: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 10_000 {
            entries.retain(|_, e| e.expires_at > now);
        }
        let expiry = |b: &Breakpoint| now + TimeDelta::from_std(b.ttl).unwrap_or(TimeDelta::MAX);
        for b in &plan.touch {
            if let Some(entry) = entries.get_mut(&b.key) {
                entry.expires_at = entry.expires_at.max(expiry(b));
            }
        }
        for b in &plan.write {
            let ready_at = match entries.get(&b.key) {
                Some(old) if old.expires_at > now => old.ready_at.min(ready_at),
                _ => ready_at,
            };
            entries.insert(b.key, Entry { expires_at: expiry(b), ready_at });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::tokens::TTL_5M;

    fn layout(points: &[(u64, u64)], total: u64) -> PromptLayout {
        PromptLayout {
            total,
            breakpoints: points.iter().map(|&(key, tokens)| Breakpoint { key, tokens, ttl: TTL_5M }).collect(),
        }
    }

    #[test]
    fn first_request_writes_and_the_next_reads_until_the_ttl_lapses() {
        let cache = PromptCache::default();
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let prompt = layout(&[(1, 900)], 1000);
        let first = cache.plan(&prompt, t0, 0);
        assert_eq!((first.read, first.created()), (0, 900));
        cache.commit(&first, t0, t0);
        let second = cache.plan(&prompt, t0 + TimeDelta::minutes(4), 0);
        assert_eq!((second.read, second.created()), (900, 0));
        cache.commit(&second, t0 + TimeDelta::minutes(4), t0);
        let refreshed = cache.plan(&prompt, t0 + TimeDelta::minutes(8), 0);
        assert_eq!(refreshed.read, 900, "the hit at minute 4 extended the entry");
        let lapsed = cache.plan(&prompt, t0 + TimeDelta::minutes(20), 0);
        assert_eq!((lapsed.read, lapsed.created()), (0, 900));
    }

    #[test]
    fn entries_are_unreadable_before_they_are_ready_and_small_prefixes_are_skipped() {
        let cache = PromptCache::default();
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let prompt = layout(&[(1, 900)], 1000);
        cache.commit(&cache.plan(&prompt, t0, 0), t0, t0 + TimeDelta::seconds(5));
        assert_eq!(cache.plan(&prompt, t0 + TimeDelta::seconds(1), 0).read, 0);
        assert_eq!(cache.plan(&prompt, t0 + TimeDelta::seconds(6), 0).read, 900);
        assert_eq!(cache.plan(&prompt, t0, 1024), CachePlan::default());
    }

    #[test]
    fn a_longer_breakpoint_writes_only_the_extra_tokens() {
        let cache = PromptCache::default();
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        cache.commit(&cache.plan(&layout(&[(1, 500)], 600), t0, 0), t0, t0);
        let plan = cache.plan(&layout(&[(1, 500), (2, 800)], 900), t0, 0);
        assert_eq!((plan.read, plan.created()), (500, 300));
    }
}

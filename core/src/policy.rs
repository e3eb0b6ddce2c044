//! Pre-generation policy: how long exams live, how much stock each active user keeps, and what is missing now.
//! Pure: every rule takes `now`, and the stores turn the cut-off instants computed here into query parameters.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

mod bank;

pub use bank::{BankExamLife, BankPolicy, plan_population};

/// The numbers that decide expiry, retention and stock. Defaults are the old system's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// An exam expires this long after it was created (7 days).
    #[serde(with = "millis")]
    pub exam_ttl: TimeDelta,
    /// A used exam is deleted this long after it was used (1 day).
    #[serde(with = "millis")]
    pub used_retention: TimeDelta,
    /// Unused exams to keep ready per (user, exam type) (1).
    pub stock_target: u32,
    /// A user counts as active if seen within this window (14 days).
    #[serde(with = "millis")]
    pub active_window: TimeDelta,
    /// An exam expiring within this margin no longer counts as stock, so its successor is ready in time (24 h).
    #[serde(with = "millis")]
    pub renew_before: TimeDelta,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            exam_ttl: TimeDelta::days(7),
            used_retention: TimeDelta::days(1),
            stock_target: 1,
            active_window: TimeDelta::days(14),
            renew_before: TimeDelta::hours(24),
        }
    }
}

/// A policy whose numbers cannot work together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid policy: {0}")]
pub struct PolicyError(pub &'static str);

impl crate::error::ErrorCode for PolicyError {
    fn code(&self) -> &'static str {
        "policy.invalid"
    }
    fn is_retryable(&self) -> bool {
        false
    }
}

/// What the policy needs to know of one stored exam.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExamLife {
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When it stops being servable.
    pub expires_at: DateTime<Utc>,
    /// When it was claimed, if it was.
    pub used_at: Option<DateTime<Utc>>,
}

impl Policy {
    /// Refuses numbers that would make every exam count as expired, or keep no stock window.
    pub fn check(&self) -> Result<(), PolicyError> {
        if self.exam_ttl <= TimeDelta::zero() {
            return Err(PolicyError("exam_ttl must be positive"));
        }
        if self.used_retention < TimeDelta::zero() {
            return Err(PolicyError("used_retention must not be negative"));
        }
        if self.active_window <= TimeDelta::zero() {
            return Err(PolicyError("active_window must be positive"));
        }
        if self.renew_before < TimeDelta::zero() || self.renew_before >= self.exam_ttl {
            return Err(PolicyError("renew_before must be at least zero and shorter than exam_ttl"));
        }
        Ok(())
    }

    /// When an exam created at `created_at` expires.
    pub fn expires_at(&self, created_at: DateTime<Utc>) -> DateTime<Utc> {
        created_at + self.exam_ttl
    }

    /// Whether the exam may be handed out at `now`: unused and not yet expired (expiry is exclusive).
    pub fn is_servable(&self, exam: &ExamLife, now: DateTime<Utc>) -> bool {
        exam.used_at.is_none() && exam.expires_at > now
    }

    /// The instant an unused exam must outlive to count as stock at `now`.
    pub fn stock_cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.renew_before
    }

    /// Whether the exam counts toward the stock target at `now`: servable and not expiring within `renew_before`.
    pub fn counts_as_stock(&self, exam: &ExamLife, now: DateTime<Utc>) -> bool {
        exam.used_at.is_none() && exam.expires_at > self.stock_cutoff(now)
    }

    /// Users seen at or after this instant are active at `now`.
    pub fn active_since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.active_window
    }

    /// Whether a user last seen at `last_seen` is active at `now` (the window's start is inclusive).
    pub fn is_active(&self, last_seen: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        last_seen >= self.active_since(now)
    }

    /// Used exams whose `used_at` is at or before this instant are due for deletion at `now`.
    pub fn used_delete_cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.used_retention
    }

    /// Whether cleanup at `now` deletes the exam: an unused exam once expired, a used one once its retention ran out.
    pub fn is_deletable(&self, exam: &ExamLife, now: DateTime<Utc>) -> bool {
        match exam.used_at {
            Some(used_at) => used_at <= self.used_delete_cutoff(now),
            None => exam.expires_at <= now,
        }
    }

    /// How many exams to generate for a (user, type) that holds `stock` counting exams.
    pub fn missing(&self, stock: u32) -> u32 {
        self.stock_target.saturating_sub(stock)
    }

    /// The most exams a stock count reads: the target, and at least one (so "is anything servable" is still
    /// answered with a target of 0). Counting further never changes [`Policy::missing`].
    pub fn stock_count_bound(&self) -> u32 {
        self.stock_target.max(1)
    }
}

/// Serialises a `TimeDelta` as whole milliseconds, the unit every binding and config file uses.
pub(crate) mod millis {
    use chrono::TimeDelta;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &TimeDelta, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.num_milliseconds())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TimeDelta, D::Error> {
        let ms = i64::deserialize(d)?;
        TimeDelta::try_milliseconds(ms).ok_or_else(|| serde::de::Error::custom("duration out of range"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_760_000_000, 0).unwrap()
    }

    fn fresh(policy: &Policy, created_at: DateTime<Utc>) -> ExamLife {
        ExamLife { created_at, expires_at: policy.expires_at(created_at), used_at: None }
    }

    #[test]
    fn defaults_are_the_seeds() {
        let p = Policy::default();
        assert_eq!(p.exam_ttl, TimeDelta::days(7));
        assert_eq!(p.used_retention, TimeDelta::days(1));
        assert_eq!(p.stock_target, 1);
        assert_eq!(p.active_window, TimeDelta::days(14));
        assert_eq!(p.renew_before, TimeDelta::hours(24));
        assert!(p.check().is_ok());
    }

    #[test]
    fn servable_until_the_expiry_instant_exclusive() {
        let p = Policy::default();
        let exam = fresh(&p, t0());
        let expiry = t0() + TimeDelta::days(7);
        assert!(p.is_servable(&exam, expiry - TimeDelta::milliseconds(1)));
        assert!(!p.is_servable(&exam, expiry));
        let used = ExamLife { used_at: Some(t0()), ..exam };
        assert!(!p.is_servable(&used, t0()));
    }

    #[test]
    fn stock_stops_counting_24h_before_expiry() {
        let p = Policy::default();
        let exam = fresh(&p, t0());
        let renew_at = t0() + TimeDelta::days(6);
        assert!(p.counts_as_stock(&exam, renew_at - TimeDelta::milliseconds(1)));
        assert!(!p.counts_as_stock(&exam, renew_at));
        assert!(p.is_servable(&exam, renew_at), "still servable while its successor is made");
    }

    #[test]
    fn active_window_start_is_inclusive() {
        let p = Policy::default();
        let now = t0();
        assert!(p.is_active(now - TimeDelta::days(14), now));
        assert!(!p.is_active(now - TimeDelta::days(14) - TimeDelta::milliseconds(1), now));
    }

    #[test]
    fn deletion_boundaries() {
        let p = Policy::default();
        let exam = fresh(&p, t0());
        let expiry = exam.expires_at;
        assert!(!p.is_deletable(&exam, expiry - TimeDelta::milliseconds(1)));
        assert!(p.is_deletable(&exam, expiry));
        let used_at = t0() + TimeDelta::hours(1);
        let used = ExamLife { used_at: Some(used_at), ..exam };
        assert!(!p.is_deletable(&used, used_at + TimeDelta::days(1) - TimeDelta::milliseconds(1)));
        assert!(p.is_deletable(&used, used_at + TimeDelta::days(1)));
    }

    #[test]
    fn missing_saturates() {
        let p = Policy { stock_target: 2, ..Policy::default() };
        assert_eq!(p.missing(0), 2);
        assert_eq!(p.missing(1), 1);
        assert_eq!(p.missing(5), 0);
    }

    #[test]
    fn bad_numbers_are_refused() {
        assert!(Policy { exam_ttl: TimeDelta::zero(), ..Policy::default() }.check().is_err());
        assert!(Policy { renew_before: TimeDelta::days(7), ..Policy::default() }.check().is_err());
        assert!(Policy { active_window: TimeDelta::zero(), ..Policy::default() }.check().is_err());
    }

    #[test]
    fn serialises_durations_as_millis() {
        let json = serde_json::to_value(Policy::default()).unwrap();
        assert_eq!(json["examTtl"], 7 * 24 * 3600 * 1000);
        let back: Policy = serde_json::from_value(json).unwrap();
        assert_eq!(back, Policy::default());
    }
}

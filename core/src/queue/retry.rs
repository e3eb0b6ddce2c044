//! How many attempts a job gets and how long it waits between them.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::error::QueueError;
use crate::policy::millis;

/// Attempts and capped exponential backoff with jitter. After attempt `n` (1-based) fails, the job waits
///
/// ```text
/// nominal(n) = min(max_delay, base_delay · multiplier^(n−1))
/// backoff(n, u) = nominal(n) · (1 − jitter + jitter · u)        u uniform in [0, 1)
/// ```
///
/// so the wait lies between `nominal · (1 − jitter)` and `nominal`, never above the cap. Defaults: 3 attempts (the old
/// system's), base 30 s, multiplier 2, cap 10 min, jitter 0.5 — after the first failure 15–30 s, after the second
/// 30–60 s: long enough for a rate limit or an overload to clear, short next to a minutes-long generation, and
/// spread so that many jobs failing together do not retry together. A server's retry-after wins when longer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RetryPolicy {
    /// Attempts allowed per job, the first included (≥ 1).
    pub max_attempts: u32,
    /// The nominal wait after the first failed attempt.
    #[serde(with = "millis")]
    pub base_delay: TimeDelta,
    /// The cap on the nominal wait (≥ `base_delay`).
    #[serde(with = "millis")]
    pub max_delay: TimeDelta,
    /// Growth factor of the nominal wait per failed attempt (≥ 1; 1 gives a fixed delay).
    pub multiplier: f64,
    /// The fraction of the nominal wait that is random, in [0, 1]: 0 waits exactly the nominal delay, 1 is
    /// "full jitter" anywhere in [0, nominal).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: TimeDelta::seconds(30),
            max_delay: TimeDelta::minutes(10),
            multiplier: 2.0,
            jitter: 0.5,
        }
    }
}

impl RetryPolicy {
    /// Refuses numbers the formula cannot use: no attempt, negative delays, a cap below the base, a shrinking
    /// multiplier, or a jitter fraction outside [0, 1].
    pub fn check(&self) -> Result<(), QueueError> {
        if self.max_attempts < 1 {
            return Err(QueueError::InvalidOptions("retry.maxAttempts must be at least 1"));
        }
        if self.base_delay < TimeDelta::zero() {
            return Err(QueueError::InvalidOptions("retry.baseDelay must not be negative"));
        }
        if self.max_delay < self.base_delay {
            return Err(QueueError::InvalidOptions("retry.maxDelay must be at least retry.baseDelay"));
        }
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            return Err(QueueError::InvalidOptions("retry.multiplier must be a finite number of at least 1"));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(QueueError::InvalidOptions("retry.jitter must lie in [0, 1]"));
        }
        Ok(())
    }

    /// The capped wait after failed attempt `attempt` (1-based) before jitter: `min(max_delay, base · mult^(n−1))`.
    /// Attempt 0 is treated as 1.
    pub fn nominal_delay(&self, attempt: u32) -> TimeDelta {
        let exponent = attempt.max(1) - 1;
        let cap_ms = self.max_delay.num_milliseconds() as f64;
        let base_ms = self.base_delay.num_milliseconds() as f64;
        if base_ms <= 0.0 {
            return TimeDelta::zero(); // also keeps 0 · ∞ from turning into NaN below
        }
        let grown_ms = base_ms * self.multiplier.powi(i32::try_from(exponent).unwrap_or(i32::MAX));
        // `min` maps an overflow to infinity onto the cap.
        from_ms(grown_ms.min(cap_ms))
    }

    /// The wait after failed attempt `attempt` given `jitter_unit` drawn uniformly from [0, 1) (clamped into it;
    /// a non-finite value counts as 0): `nominal · (1 − jitter + jitter · u)`.
    pub fn backoff(&self, attempt: u32, jitter_unit: f64) -> TimeDelta {
        let u = if jitter_unit.is_finite() { jitter_unit.clamp(0.0, 1.0) } else { 0.0 };
        let jitter = self.jitter.clamp(0.0, 1.0);
        let nominal_ms = self.nominal_delay(attempt).num_milliseconds() as f64;
        from_ms(nominal_ms * (1.0 - jitter + jitter * u))
    }

    /// The shortest wait [`RetryPolicy::backoff`] can give after `attempt`: `nominal · (1 − jitter)`, at `u = 0`.
    pub fn min_backoff(&self, attempt: u32) -> TimeDelta {
        self.backoff(attempt, 0.0)
    }
}

/// Whole milliseconds, rounded down (so the jittered wait stays below the nominal one), clamped at zero.
fn from_ms(ms: f64) -> TimeDelta {
    let ms = ms.floor().max(0.0);
    // Any checked policy's cap is a valid TimeDelta, so the value fits; saturate defensively all the same.
    TimeDelta::try_milliseconds(ms.min(i64::MAX as f64) as i64).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: i64) -> TimeDelta {
        TimeDelta::seconds(secs)
    }

    #[test]
    fn defaults_check_and_give_documented_waits() {
        let p = RetryPolicy::default();
        assert!(p.check().is_ok());
        assert_eq!(p.max_attempts, 3);
        assert_eq!([p.nominal_delay(1), p.nominal_delay(2), p.nominal_delay(3)], [s(30), s(60), s(120)]);
        assert_eq!(p.backoff(1, 0.0), s(15));
        assert_eq!(p.backoff(1, 0.5), TimeDelta::milliseconds(22_500));
        assert_eq!(p.backoff(2, 0.0), s(30));
        assert!(p.backoff(2, 0.999_999) < s(60));
        assert_eq!(p.min_backoff(2), s(30));
    }

    #[test]
    fn attempt_zero_counts_as_the_first() {
        let p = RetryPolicy::default();
        assert_eq!(p.nominal_delay(0), p.nominal_delay(1));
    }

    #[test]
    fn cap_holds_for_large_attempts() {
        let p = RetryPolicy { jitter: 0.0, ..RetryPolicy::default() };
        assert_eq!(p.backoff(5, 0.3), s(480));
        assert_eq!(p.backoff(6, 0.3), s(600), "960 s capped to 10 min");
        assert_eq!(p.backoff(u32::MAX, 0.9), s(600), "overflow to infinity still capped");
        let zero = RetryPolicy { base_delay: TimeDelta::zero(), ..RetryPolicy::default() };
        assert_eq!(zero.nominal_delay(u32::MAX), TimeDelta::zero(), "0 · ∞ stays 0");
        let full = RetryPolicy { jitter: 1.0, ..RetryPolicy::default() };
        assert_eq!(full.min_backoff(40), TimeDelta::zero());
        assert!(full.backoff(40, 0.99) < s(600));
    }

    #[test]
    fn fixed_delay_with_multiplier_one() {
        let p = RetryPolicy { multiplier: 1.0, jitter: 0.0, base_delay: s(5), ..RetryPolicy::default() };
        assert_eq!([p.backoff(1, 0.7), p.backoff(3, 0.1)], [s(5), s(5)]);
    }

    #[test]
    fn odd_jitter_units_are_clamped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, -3.0), s(15));
        assert_eq!(p.backoff(1, f64::NAN), s(15));
        assert_eq!(p.backoff(1, 7.0), s(30));
    }

    #[test]
    fn bad_policies_are_refused() {
        let d = RetryPolicy::default();
        let bad = [
            RetryPolicy { max_attempts: 0, ..d },
            RetryPolicy { base_delay: s(-1), ..d },
            RetryPolicy { max_delay: s(10), ..d },
            RetryPolicy { multiplier: 0.5, ..d },
            RetryPolicy { multiplier: f64::INFINITY, ..d },
            RetryPolicy { jitter: 1.5, ..d },
            RetryPolicy { jitter: f64::NAN, ..d },
        ];
        for p in bad {
            assert_eq!(crate::error::ErrorCode::code(&p.check().unwrap_err()), "queue.invalid_options", "{p:?}");
        }
    }

    #[test]
    fn serialises_delays_as_millis() {
        let json = serde_json::to_value(RetryPolicy::default()).unwrap();
        assert_eq!(json["baseDelay"], 30_000);
        assert_eq!(json["maxDelay"], 600_000);
        let partial: RetryPolicy = serde_json::from_str(r#"{"maxAttempts": 5}"#).unwrap();
        assert_eq!(partial, RetryPolicy { max_attempts: 5, ..RetryPolicy::default() });
    }
}

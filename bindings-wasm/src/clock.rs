//! Time and randomness from the browser (`Date.now`, `Math.random`), handed to the pure core as arguments.

use chrono::{DateTime, Utc};

/// The browser's wall clock, in milliseconds.
pub(crate) fn now() -> DateTime<Utc> {
    let millis = js_sys::Date::now();
    DateTime::from_timestamp_millis(millis as i64).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// An HTTP date (a `Retry-After` value) read by the browser's `Date.parse`; `None` when it cannot read it.
pub(crate) fn http_date(text: &str) -> Option<DateTime<Utc>> {
    let millis = js_sys::Date::parse(text);
    if millis.is_finite() { DateTime::from_timestamp_millis(millis as i64) } else { None }
}

/// A jitter draw, uniform in [0, 1), for the core's backoff.
pub(crate) fn jitter_unit() -> f64 {
    js_sys::Math::random()
}

/// Milliseconds from `now` until `at`, at least 0, at most what `setTimeout` accepts (2^31 − 1).
pub(crate) fn millis_until(at: DateTime<Utc>, now: DateTime<Utc>) -> i32 {
    let ms = (at - now).num_milliseconds().clamp(0, i64::from(i32::MAX));
    i32::try_from(ms).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn delays_fit_set_timeout() {
        let t0 = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
        assert_eq!(millis_until(t0 + TimeDelta::milliseconds(1500), t0), 1500);
        assert_eq!(millis_until(t0 - TimeDelta::seconds(3), t0), 0);
        assert_eq!(millis_until(t0 + TimeDelta::days(40), t0), i32::MAX);
    }
}

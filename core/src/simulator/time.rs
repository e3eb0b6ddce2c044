//! Simulated time: a clock that runs `time_factor` times faster than the real one (or a caller's clock), and the
//! conversions between simulated and real durations. Internals run on simulated time; headers report real time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use crate::clock::Clock;

/// The simulator's notion of now, and how long a simulated duration lasts in real time.
#[derive(Debug, Clone)]
pub(crate) struct SimTime {
    factor: f64,
    clock: Option<Arc<dyn Clock>>,
    started: Instant,
    started_at: DateTime<Utc>,
}

impl SimTime {
    /// Time running `factor` times real time, or read from `clock` when one is given.
    pub(crate) fn new(factor: f64, clock: Option<Arc<dyn Clock>>) -> Self {
        Self { factor, clock, started: Instant::now(), started_at: Utc::now() }
    }

    /// The current simulated instant.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        match &self.clock {
            Some(clock) => clock.now(),
            None => {
                let real = self.started.elapsed().as_secs_f64();
                let simulated = TimeDelta::from_std(Duration::from_secs_f64(real * self.factor));
                self.started_at + simulated.unwrap_or(TimeDelta::MAX)
            }
        }
    }

    /// How long `simulated` lasts in real time.
    pub(crate) fn to_real(&self, simulated: Duration) -> Duration {
        Duration::from_secs_f64(simulated.as_secs_f64() / self.factor)
    }
}

/// An RFC 3339 UTC timestamp with whole seconds, as the API writes them (`2025-01-15T14:24:00Z`).
pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The real instant `wait` from now, rounded up to the next whole second so a client waiting until it is never
/// early.
pub(crate) fn real_deadline(wait: Duration) -> String {
    let at = Utc::now() + TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX);
    let rounded = if at.timestamp_subsec_nanos() == 0 {
        at
    } else {
        DateTime::from_timestamp(at.timestamp() + 1, 0).unwrap_or(at)
    };
    rfc3339(rounded)
}

/// Whole seconds a client should wait: `ceil`, at least 1 (the `retry-after` header).
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// Milliseconds a client should wait, rounded up (the `retry-after-ms` header).
pub(crate) fn retry_after_millis(wait: Duration) -> u64 {
    (wait.as_secs_f64() * 1000.0).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn compressed_durations_shrink_in_real_time() {
        let time = SimTime::new(60.0, None);
        assert_eq!(time.to_real(Duration::from_secs(30)), Duration::from_millis(500));
        assert!(time.now() >= time.started_at);
    }

    #[test]
    fn a_manual_clock_drives_simulated_time() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let clock = Arc::new(ManualClock::new(start));
        let time = SimTime::new(1.0, Some(clock.clone()));
        clock.advance(TimeDelta::minutes(3));
        assert_eq!(time.now(), start + TimeDelta::minutes(3));
    }

    #[test]
    fn retry_after_is_whole_seconds_at_least_one() {
        assert_eq!(retry_after_secs(Duration::from_millis(200)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2_100)), 3);
        assert_eq!(retry_after_millis(Duration::from_micros(1_500)), 2);
        assert!(real_deadline(Duration::from_secs(1)).ends_with('Z'));
    }
}

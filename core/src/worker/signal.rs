//! The two things a worker loop watches besides its work: a stop signal on a `watch` channel, where a closed
//! channel (its sender dropped with the pool) means stop, and a run of store failures, which it waits out with a
//! capped exponential backoff and reports once per change instead of once per try.

use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::watch;

use crate::queue::RetryPolicy;

/// Whether a stop was asked: the flag is true, or every sender is gone (a dropped pool can never say stop, so
/// its closed channel is the stop).
pub(crate) fn stop_asked(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// Resolves once a stop is asked: at once if it already was, else when the flag turns true or the channel
/// closes. Unlike `changed()`, it never resolves for a closed channel without meaning stop, so a loop awaiting it
/// cannot spin.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // `Err` means the sender is gone: that is a stop too.
    let _ = stop.wait_for(|stop| *stop).await;
}

/// A run of failed store calls: how long to wait before the next try (capped exponential backoff with jitter,
/// by the queue's [`RetryPolicy`] formula) and whether a failure or a recovery is news worth a log line.
#[derive(Debug)]
pub(crate) struct StoreFailures {
    backoff: RetryPolicy,
    /// Failed tries in a row.
    failures: u32,
    /// The code and text of the last failure, to log a failure only when it changes.
    last: Option<(String, String)>,
}

/// What a failure means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failed {
    /// How long to wait before trying again.
    pub(crate) wait: Duration,
    /// Whether this failure differs (code or text) from the previous one in the run, so it deserves a log line.
    pub(crate) news: bool,
}

impl StoreFailures {
    /// Waits from about `min` (the first retry) doubling up to `max`; `max` below `min` counts as `min`.
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        let delta = |d: Duration| TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX);
        let base = delta(min);
        let backoff = RetryPolicy {
            max_attempts: u32::MAX,
            base_delay: base,
            max_delay: delta(max).max(base),
            multiplier: 2.0,
            jitter: 0.5,
        };
        Self { backoff, failures: 0, last: None }
    }

    /// Records a failure with `code` and `message`, given a jitter draw in [0, 1).
    pub(crate) fn failed(&mut self, code: &str, message: &str, jitter_unit: f64) -> Failed {
        self.failures = self.failures.saturating_add(1);
        let news = self.last.as_ref().is_none_or(|(c, m)| c != code || m != message);
        if news {
            self.last = Some((code.to_owned(), message.to_owned()));
        }
        let wait = self.backoff.backoff(self.failures, jitter_unit).to_std().unwrap_or(Duration::ZERO);
        Failed { wait, news }
    }

    /// The longest wait between tries.
    pub(crate) fn max_wait(&self) -> Duration {
        self.backoff.max_delay.to_std().unwrap_or(Duration::MAX)
    }

    /// Records a success; returns how many tries in a row had failed when it ends such a run (log the recovery
    /// once), `None` when nothing had failed.
    pub(crate) fn succeeded(&mut self) -> Option<u32> {
        self.last = None;
        let failures = std::mem::take(&mut self.failures);
        (failures > 0).then_some(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn waits_grow_to_the_cap_and_reset_on_success() {
        let mut f = StoreFailures::new(ms(100), Duration::from_secs(30));
        let waits: Vec<_> = (0..12).map(|_| f.failed("store.database", "disk full", 1.0).wait).collect();
        assert_eq!(&waits[..4], [ms(100), ms(200), ms(400), ms(800)]);
        assert_eq!(waits[9], Duration::from_secs(30), "51.2 s capped");
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(f.failed("store.database", "disk full", 0.0).wait, Duration::from_secs(15), "half jitter");
        assert_eq!(f.succeeded(), Some(13));
        assert_eq!(f.succeeded(), None);
        assert_eq!(f.failed("store.database", "disk full", 1.0).wait, ms(100), "a new run starts small");
    }

    #[test]
    fn a_failure_is_news_only_when_it_changes() {
        let mut f = StoreFailures::new(ms(100), ms(1_000));
        let news: Vec<bool> = [
            ("store.database", "disk full"),
            ("store.database", "disk full"),
            ("store.database", "disk full"),
            ("store.busy", "locked"),
            ("store.busy", "locked"),
            ("store.database", "disk full"),
            ("store.database", "readonly"),
        ]
        .into_iter()
        .map(|(code, message)| f.failed(code, message, 0.5).news)
        .collect();
        assert_eq!(news, [true, false, false, true, false, true, true]);
        f.succeeded();
        assert!(f.failed("store.database", "readonly", 0.5).news, "after a recovery the same failure is news");
    }

    #[tokio::test]
    async fn a_closed_channel_is_a_stop() {
        let (tx, mut rx) = watch::channel(false);
        assert!(!stop_asked(&rx));
        drop(tx);
        assert!(stop_asked(&rx));
        stopped(&mut rx).await;

        let (tx, mut rx) = watch::channel(false);
        tx.send(true).unwrap();
        assert!(stop_asked(&rx));
        stopped(&mut rx).await;
        stopped(&mut rx).await;
        drop(tx);

        let (tx, rx) = watch::channel(false);
        tx.send(false).unwrap();
        assert!(!stop_asked(&rx), "a value that is not a stop");
    }
}

//! The tracker's options, read from the JS options object (as JSON text) into pregen-core's `QueueOptions`.

use chrono::TimeDelta;
use pregen_core::queue::{AttemptTimeouts, QueueOptions, Retention, RetryPolicy};
use serde::Deserialize;

use crate::errors::TrackerError;

/// The route asked for pre-generation, as the old queue did.
pub(crate) const DEFAULT_ENDPOINT: &str = "/api/pre-generate-exam";
/// The `localStorage` key of the jobs; also the prefix of the Web Locks names.
pub(crate) const DEFAULT_STORAGE_KEY: &str = "pregen:jobs";
/// How much longer than the longest attempt timeout a tab's lease lasts. The tab sends no heartbeats (a hidden
/// tab's timers are throttled to a minute): the deadline always ends an attempt first, and a tab that goes away is
/// noticed through its attempt lock instead.
const LEASE_MARGIN: TimeDelta = TimeDelta::minutes(1);

/// The JS options object; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TrackerOptionsInput {
    endpoint: Option<String>,
    storage_key: Option<String>,
    queue: Option<QueueInput>,
}

/// The parts of `QueueOptions` a page may set (in milliseconds); the lease and heartbeat are the tracker's.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QueueInput {
    retry: Option<RetryPolicy>,
    attempt_timeouts: Option<AttemptTimeouts>,
    retention: Option<Retention>,
}

/// What a tracker runs with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrackerConfig {
    /// The URL POSTed to.
    pub(crate) endpoint: String,
    /// The `localStorage` key.
    pub(crate) storage_key: String,
    /// The queue's numbers, checked.
    pub(crate) queue: QueueOptions,
}

impl TrackerConfig {
    /// Reads the options' JSON text (`None` for `undefined` or `null`: all defaults) and checks them with the core.
    pub(crate) fn from_json(json: Option<&str>) -> Result<Self, TrackerError> {
        let input: TrackerOptionsInput = match json {
            None | Some("null") => TrackerOptionsInput::default(),
            Some(text) => serde_json::from_str(text).map_err(|e| TrackerError::Options(e.to_string()))?,
        };
        let non_empty = |value: Option<String>, default: &str, name: &str| match value {
            Some(v) if v.trim().is_empty() => Err(TrackerError::Options(format!("{name} must not be empty"))),
            Some(v) => Ok(v),
            None => Ok(default.to_owned()),
        };
        let defaults = QueueOptions::default();
        let queue_input = input.queue.unwrap_or_default();
        let mut queue = QueueOptions {
            retry: queue_input.retry.unwrap_or(defaults.retry),
            attempt_timeouts: queue_input.attempt_timeouts.unwrap_or(defaults.attempt_timeouts),
            retention: queue_input.retention.unwrap_or(defaults.retention),
            ..defaults
        };
        let longest = queue.attempt_timeouts.diagnostic.max(queue.attempt_timeouts.practice);
        queue.lease_duration = longest.checked_add(&LEASE_MARGIN).unwrap_or(TimeDelta::MAX);
        queue.check()?;
        Ok(Self {
            endpoint: non_empty(input.endpoint, DEFAULT_ENDPOINT, "endpoint")?,
            storage_key: non_empty(input.storage_key, DEFAULT_STORAGE_KEY, "storageKey")?,
            queue,
        })
    }

    /// The name of the Web Lock that guards the saved jobs.
    pub(crate) fn state_lock(&self) -> String {
        self.storage_key.clone()
    }

    /// The name of the Web Lock a tab holds while it runs attempt `attempt` of job `id`.
    pub(crate) fn attempt_lock(&self, id: &str, attempt: u32) -> String {
        format!("{}:attempt:{id}:{attempt}", self.storage_key)
    }
}

#[cfg(test)]
mod tests {
    use pregen_core::ErrorCode;

    use super::*;

    #[test]
    fn defaults_are_the_old_queue_and_the_core() {
        for json in [None, Some("null"), Some("{}")] {
            let c = TrackerConfig::from_json(json).unwrap();
            assert_eq!((c.endpoint.as_str(), c.storage_key.as_str()), (DEFAULT_ENDPOINT, DEFAULT_STORAGE_KEY));
            assert_eq!(c.queue.retry, RetryPolicy::default());
            assert_eq!(c.queue.attempt_timeouts.practice, TimeDelta::minutes(2));
            assert_eq!(c.queue.lease_duration, TimeDelta::minutes(3), "the lease outlasts the timeout");
        }
    }

    #[test]
    fn partial_queue_numbers_in_milliseconds() {
        let json = r#"{"endpoint": "/x", "storageKey": "k",
            "queue": {"retry": {"baseDelay": 400, "jitter": 0}, "attemptTimeouts": {"practice": 800}}}"#;
        let c = TrackerConfig::from_json(Some(json)).unwrap();
        assert_eq!((c.endpoint.as_str(), c.storage_key.as_str()), ("/x", "k"));
        assert_eq!(c.queue.retry.base_delay, TimeDelta::milliseconds(400));
        assert_eq!(c.queue.retry.max_attempts, 3);
        assert_eq!(c.queue.attempt_timeouts.practice, TimeDelta::milliseconds(800));
        assert_eq!(c.queue.attempt_timeouts.diagnostic, TimeDelta::minutes(2));
        assert_eq!(c.queue.lease_duration, TimeDelta::minutes(3), "from the longest timeout");
        assert_eq!(c.attempt_lock("job-3", 2), "k:attempt:job-3:2");
        assert_eq!(c.state_lock(), "k");
    }

    #[test]
    fn bad_options_are_refused_with_a_code() {
        let cases = [
            (r#"{"endpont": "/x"}"#, "tracker.invalid_options"),
            (r#"{"queue": {"leaseDuration": 5}}"#, "tracker.invalid_options"),
            (r#"{"endpoint": 5}"#, "tracker.invalid_options"),
            (r#"{"endpoint": " "}"#, "tracker.invalid_options"),
            (r#"{"storageKey": ""}"#, "tracker.invalid_options"),
            ("[1]", "tracker.invalid_options"),
            (r#"{"queue": {"retry": {"maxAttempts": 0}}}"#, "queue.invalid_options"),
            (r#"{"queue": {"attemptTimeouts": {"practice": 0}}}"#, "queue.invalid_options"),
            (r#"{"queue": {"retry": {"jitter": 2}}}"#, "queue.invalid_options"),
        ];
        for (json, code) in cases {
            assert_eq!(TrackerConfig::from_json(Some(json)).unwrap_err().code(), code, "{json}");
        }
    }
}

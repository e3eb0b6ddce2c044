//! The tracker's options, read from the JS options object into pregen-core's `QueueOptions`. The fields are
//! read one by one (no serde: it would add its deserializers to the WASM), with the names of the core's serde
//! form; a test reads the core's own serialised options back to prove the names and units agree.

use chrono::TimeDelta;
use pregen_core::queue::{QueueOptions, Retention, RetryPolicy};

use wasm_bindgen::{JsCast, JsValue};

use crate::errors::TrackerError;

/// The route asked for pre-generation, as the old queue did.
pub(crate) const DEFAULT_ENDPOINT: &str = "/api/pre-generate-exam";
/// The name of the jobs' IndexedDB database and `BroadcastChannel`, and the prefix of the Web Locks names.
pub(crate) const DEFAULT_STORAGE_KEY: &str = "pregen:jobs";
/// How much longer than the longest attempt timeout a tab's lease lasts. The tab sends no heartbeats (a hidden
/// tab's timers are throttled to a minute): the deadline always ends an attempt first, and a tab that goes away is
/// noticed through its attempt lock instead.
const LEASE_MARGIN: TimeDelta = TimeDelta::minutes(1);

/// One field of an options object.
pub(crate) enum Field<O> {
    /// A string.
    Text(String),
    /// A number.
    Number(f64),
    /// A nested object.
    Object(O),
    /// Anything else (a boolean, an array, a function).
    Other,
}

/// An options object as the reader sees it: the JS object in the browser, a JSON value in the tests.
pub(crate) trait Fields: Sized {
    /// Its own keys.
    fn keys(&self) -> Vec<String>;
    /// The field `key`; `None` when absent, `undefined` or `null`.
    fn field(&self, key: &str) -> Option<Field<Self>>;
}

/// A JS options object, read through `Reflect`.
pub(crate) struct JsObject(pub(crate) JsValue);

impl Fields for JsObject {
    fn keys(&self) -> Vec<String> {
        js_sys::Object::keys(self.0.unchecked_ref::<js_sys::Object>())
            .iter()
            .filter_map(|key| key.as_string())
            .collect()
    }

    fn field(&self, key: &str) -> Option<Field<Self>> {
        let value = js_sys::Reflect::get(&self.0, &JsValue::from_str(key)).ok()?;
        if value.is_undefined() || value.is_null() {
            return None;
        }
        Some(if let Some(text) = value.as_string() {
            Field::Text(text)
        } else if let Some(number) = value.as_f64() {
            Field::Number(number)
        } else if value.is_object() && !value.is_function() && !js_sys::Array::is_array(&value) {
            Field::Object(JsObject(value))
        } else {
            Field::Other
        })
    }
}

fn bad(path: &str, key: &str, what: &str) -> TrackerError {
    TrackerError::Options(format!("{path}{key} {what}"))
}

/// Reads the fields of one object, refusing keys it does not know.
struct Reader<'a, O> {
    object: &'a O,
    path: &'a str,
}

impl<'a, O: Fields> Reader<'a, O> {
    fn new(object: &'a O, path: &'a str, known: &[&str]) -> Result<Self, TrackerError> {
        match object.keys().into_iter().find(|key| !known.contains(&key.as_str())) {
            Some(unknown) => Err(bad(path, &unknown, &format!("is not an option (known: {})", known.join(", ")))),
            None => Ok(Self { object, path }),
        }
    }

    fn text(&self, key: &str) -> Result<Option<String>, TrackerError> {
        match self.object.field(key) {
            None => Ok(None),
            Some(Field::Text(text)) if !text.trim().is_empty() => Ok(Some(text)),
            Some(Field::Text(_)) => Err(bad(self.path, key, "must not be empty")),
            Some(_) => Err(bad(self.path, key, "must be a string")),
        }
    }

    fn number(&self, key: &str) -> Result<Option<f64>, TrackerError> {
        match self.object.field(key) {
            None => Ok(None),
            Some(Field::Number(n)) if n.is_finite() => Ok(Some(n)),
            Some(_) => Err(bad(self.path, key, "must be a finite number")),
        }
    }

    fn whole(&self, key: &str, max: f64) -> Result<Option<i64>, TrackerError> {
        match self.number(key)? {
            Some(n) if n.fract() == 0.0 && n.abs() <= max => Ok(Some(n as i64)),
            Some(_) => Err(bad(self.path, key, "must be a whole number in range")),
            None => Ok(None),
        }
    }

    fn millis(&self, key: &str) -> Result<Option<TimeDelta>, TrackerError> {
        // Whole milliseconds, as the core's serde form; 2^53 keeps every value exact in a JS number.
        Ok(self.whole(key, 9_007_199_254_740_992.0)?.map(TimeDelta::milliseconds))
    }

    fn object(&self, key: &str) -> Result<Option<O>, TrackerError> {
        match self.object.field(key) {
            None => Ok(None),
            Some(Field::Object(inner)) => Ok(Some(inner)),
            Some(_) => Err(bad(self.path, key, "must be an object")),
        }
    }
}

fn retry<O: Fields>(object: &O, d: RetryPolicy) -> Result<RetryPolicy, TrackerError> {
    let r =
        Reader::new(object, "queue.retry.", &["maxAttempts", "baseDelay", "maxDelay", "multiplier", "jitter"])?;
    let max_attempts = r.whole("maxAttempts", f64::from(u32::MAX))?;
    Ok(RetryPolicy {
        max_attempts: max_attempts
            .map_or(Ok(d.max_attempts), u32::try_from)
            .map_err(|_| bad(r.path, "maxAttempts", "must not be negative"))?,
        base_delay: r.millis("baseDelay")?.unwrap_or(d.base_delay),
        max_delay: r.millis("maxDelay")?.unwrap_or(d.max_delay),
        multiplier: r.number("multiplier")?.unwrap_or(d.multiplier),
        jitter: r.number("jitter")?.unwrap_or(d.jitter),
    })
}

fn queue<O: Fields>(object: &O) -> Result<QueueOptions, TrackerError> {
    let d = QueueOptions::default();
    let r = Reader::new(object, "queue.", &["retry", "attemptTimeouts", "retention"])?;
    let mut queue = d;
    if let Some(o) = r.object("retry")? {
        queue.retry = retry(&o, d.retry)?;
    }
    if let Some(o) = r.object("attemptTimeouts")? {
        let t = Reader::new(&o, "queue.attemptTimeouts.", &["diagnostic", "practice"])?;
        queue.attempt_timeouts.diagnostic = t.millis("diagnostic")?.unwrap_or(d.attempt_timeouts.diagnostic);
        queue.attempt_timeouts.practice = t.millis("practice")?.unwrap_or(d.attempt_timeouts.practice);
    }
    if let Some(o) = r.object("retention")? {
        let t = Reader::new(&o, "queue.retention.", &["succeeded", "dead", "cancelled"])?;
        let Retention { succeeded, dead, cancelled } = d.retention;
        queue.retention = Retention {
            succeeded: t.millis("succeeded")?.unwrap_or(succeeded),
            dead: t.millis("dead")?.unwrap_or(dead),
            cancelled: t.millis("cancelled")?.unwrap_or(cancelled),
        };
    }
    Ok(queue)
}

/// What a tracker runs with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrackerConfig {
    /// The URL POSTed to.
    pub(crate) endpoint: String,
    /// The storage key: database, channel and lock names.
    pub(crate) storage_key: String,
    /// The queue's numbers, checked.
    pub(crate) queue: QueueOptions,
}

impl TrackerConfig {
    /// Reads the options object (`None`: all defaults) and checks the numbers with the core.
    pub(crate) fn from_options<O: Fields>(options: Option<&O>) -> Result<Self, TrackerError> {
        let (mut config, queue_object) = match options {
            None => (Self::defaults(), None),
            Some(object) => {
                let r = Reader::new(object, "", &["endpoint", "storageKey", "queue"])?;
                let config = Self {
                    endpoint: r.text("endpoint")?.unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
                    storage_key: r.text("storageKey")?.unwrap_or_else(|| DEFAULT_STORAGE_KEY.to_owned()),
                    queue: QueueOptions::default(),
                };
                (config, r.object("queue")?)
            }
        };
        if let Some(object) = queue_object {
            config.queue = queue(&object)?;
        }
        let timeouts = config.queue.attempt_timeouts;
        config.queue.lease_duration =
            timeouts.diagnostic.max(timeouts.practice).checked_add(&LEASE_MARGIN).unwrap_or(TimeDelta::MAX);
        config.queue.check()?;
        Ok(config)
    }

    fn defaults() -> Self {
        Self {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            storage_key: DEFAULT_STORAGE_KEY.to_owned(),
            queue: QueueOptions::default(),
        }
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
    use pregen_core::queue::AttemptTimeouts;
    use serde_json::{Value, json};

    use super::*;

    impl Fields for Value {
        fn keys(&self) -> Vec<String> {
            self.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
        }

        fn field(&self, key: &str) -> Option<Field<Self>> {
            Some(match self.get(key)? {
                Value::Null => return None,
                Value::String(s) => Field::Text(s.clone()),
                Value::Number(n) => Field::Number(n.as_f64().unwrap()),
                o @ Value::Object(_) => Field::Object(o.clone()),
                _ => Field::Other,
            })
        }
    }

    fn read(options: Value) -> Result<TrackerConfig, TrackerError> {
        TrackerConfig::from_options(Some(&options))
    }

    #[test]
    fn defaults_are_the_old_queue_and_the_core() {
        for config in [TrackerConfig::from_options::<Value>(None).unwrap(), read(json!({})).unwrap()] {
            assert_eq!(
                (config.endpoint.as_str(), config.storage_key.as_str()),
                (DEFAULT_ENDPOINT, DEFAULT_STORAGE_KEY)
            );
            assert_eq!(config.queue.retry, RetryPolicy::default());
            assert_eq!(config.queue.attempt_timeouts.practice, TimeDelta::minutes(2));
            assert_eq!(config.queue.lease_duration, TimeDelta::minutes(3), "the lease outlasts the timeout");
        }
    }

    #[test]
    fn reads_the_cores_own_serialised_options() {
        let mut wanted = QueueOptions {
            retry: RetryPolicy {
                max_attempts: 5,
                base_delay: TimeDelta::milliseconds(400),
                max_delay: TimeDelta::seconds(9),
                multiplier: 1.5,
                jitter: 0.25,
            },
            attempt_timeouts: AttemptTimeouts {
                diagnostic: TimeDelta::seconds(50),
                practice: TimeDelta::milliseconds(800),
            },
            retention: Retention {
                succeeded: TimeDelta::hours(1),
                dead: TimeDelta::days(2),
                cancelled: TimeDelta::zero(),
            },
            ..QueueOptions::default()
        };
        let core = serde_json::to_value(wanted).unwrap();
        let options = json!({"endpoint": "/x", "storageKey": "k", "queue": {
            "retry": core["retry"], "attemptTimeouts": core["attemptTimeouts"], "retention": core["retention"]}});
        let config = read(options).unwrap();
        wanted.lease_duration = TimeDelta::seconds(110);
        assert_eq!(config.queue, wanted);
        assert_eq!((config.endpoint.as_str(), config.storage_key.as_str()), ("/x", "k"));
        assert_eq!(config.attempt_lock("job-3", 2), "k:attempt:job-3:2");
        assert_eq!(config.state_lock(), "k");
    }

    #[test]
    fn partial_numbers_keep_the_other_defaults() {
        let config = read(
            json!({"queue": {"retry": {"baseDelay": 400, "jitter": 0}, "attemptTimeouts": {"practice": 800}}}),
        )
        .unwrap();
        let d = QueueOptions::default();
        assert_eq!(
            config.queue.retry,
            RetryPolicy { base_delay: TimeDelta::milliseconds(400), jitter: 0.0, ..d.retry }
        );
        assert_eq!(config.queue.attempt_timeouts.diagnostic, TimeDelta::minutes(2));
        assert_eq!(config.queue.lease_duration, TimeDelta::minutes(3), "from the longest timeout");
        assert_eq!(config.queue.retention, d.retention);
    }

    #[test]
    fn bad_options_are_refused_with_a_code() {
        let cases = [
            (json!({"endpont": "/x"}), "tracker.invalid_options", "endpont is not an option"),
            (json!({"queue": {"leaseDuration": 5}}), "tracker.invalid_options", "queue.leaseDuration is not"),
            (
                json!({"queue": {"retry": {"base_delay": 5}}}),
                "tracker.invalid_options",
                "queue.retry.base_delay is",
            ),
            (json!({"endpoint": 5}), "tracker.invalid_options", "endpoint must be a string"),
            (json!({"endpoint": " "}), "tracker.invalid_options", "endpoint must not be empty"),
            (json!({"storageKey": ""}), "tracker.invalid_options", "storageKey must not be empty"),
            (json!({"queue": 5}), "tracker.invalid_options", "queue must be an object"),
            (
                json!({"queue": {"retry": {"baseDelay": "5"}}}),
                "tracker.invalid_options",
                "must be a finite number",
            ),
            (json!({"queue": {"retry": {"baseDelay": 1.5}}}), "tracker.invalid_options", "must be a whole number"),
            (
                json!({"queue": {"retry": {"maxAttempts": -1}}}),
                "tracker.invalid_options",
                "maxAttempts must not be",
            ),
            (
                json!({"queue": {"retry": {"maxAttempts": 1e12}}}),
                "tracker.invalid_options",
                "maxAttempts must be a whole",
            ),
            (json!({"queue": {"retention": {"dead": 1e300}}}), "tracker.invalid_options", "dead must be a whole"),
            (json!({"queue": {"retry": {"maxAttempts": 0}}}), "queue.invalid_options", "maxAttempts"),
            (json!({"queue": {"attemptTimeouts": {"practice": 0}}}), "queue.invalid_options", "attemptTimeouts"),
            (json!({"queue": {"retry": {"jitter": 2}}}), "queue.invalid_options", "jitter"),
            (
                json!({"queue": {"retry": {"baseDelay": 6000, "maxDelay": 1000}}}),
                "queue.invalid_options",
                "maxDelay",
            ),
        ];
        for (options, code, text) in cases {
            let err = read(options.clone()).unwrap_err();
            assert_eq!(err.code(), code, "{options}");
            assert!(err.to_string().contains(text), "{options}: {err}");
        }
    }
}

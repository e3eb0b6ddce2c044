//! The numbers that drive the queue: retries, per-attempt timeouts, leases, heartbeats and retention.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::error::QueueError;
use super::job::{Job, JobState, later};
use super::retry::RetryPolicy;
use crate::exam::ExamType;
use crate::policy::millis;

/// How long one attempt may run per exam type before it counts as timed out. Both default to 2 minutes, the old
/// system's abort timeout; a practice exam (225 items) may deserve more than a diagnostic one (71).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AttemptTimeouts {
    /// For diagnostic exams.
    #[serde(with = "millis")]
    pub diagnostic: TimeDelta,
    /// For practice exams.
    #[serde(with = "millis")]
    pub practice: TimeDelta,
}

impl Default for AttemptTimeouts {
    fn default() -> Self {
        Self { diagnostic: TimeDelta::minutes(2), practice: TimeDelta::minutes(2) }
    }
}

/// How long finished jobs are kept before cleanup deletes them: succeeded 24 h, dead and cancelled 7 days (long
/// enough to read a dead job's last error after a weekend).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Retention {
    /// Kept after success.
    #[serde(with = "millis")]
    pub succeeded: TimeDelta,
    /// Kept after running out of attempts or failing for good.
    #[serde(with = "millis")]
    pub dead: TimeDelta,
    /// Kept after cancellation.
    #[serde(with = "millis")]
    pub cancelled: TimeDelta,
}

impl Default for Retention {
    fn default() -> Self {
        Self { succeeded: TimeDelta::hours(24), dead: TimeDelta::days(7), cancelled: TimeDelta::days(7) }
    }
}

impl Retention {
    /// How long a job finished in `state` is kept; `None` for unfinished states, which are never deleted.
    pub fn keep_for(&self, state: JobState) -> Option<TimeDelta> {
        match state {
            JobState::Succeeded => Some(self.succeeded),
            JobState::Dead => Some(self.dead),
            JobState::Cancelled => Some(self.cancelled),
            JobState::Pending | JobState::Running | JobState::RetryWait => None,
        }
    }

    /// Whether cleanup at `now` deletes `job`: finished, and `finished_at + keep_for(state) <= now`.
    pub fn is_purgeable(&self, job: &Job, now: DateTime<Utc>) -> bool {
        match (self.keep_for(job.state), job.finished_at) {
            (Some(keep), Some(finished_at)) => later(finished_at, keep) <= now,
            // A finished job without `finished_at` (a hand-edited row) falls back on its last update.
            (Some(keep), None) => later(job.updated_at, keep) <= now,
            (None, _) => false,
        }
    }
}

/// Everything the state machine needs besides `now`: retries, per-attempt timeouts, the lease a silent worker's
/// job stays claimed for, how often live workers renew it, and retention. Check with [`QueueOptions::check`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueOptions {
    /// Attempts and backoff.
    pub retry: RetryPolicy,
    /// Per-attempt timeout by exam type (2 min each).
    pub attempt_timeouts: AttemptTimeouts,
    /// How long a started or heartbeated job stays claimed without news from its holder (60 s): a crashed
    /// worker's job is picked up again this long after its last heartbeat.
    #[serde(with = "millis")]
    pub lease_duration: TimeDelta,
    /// How often a worker renews its lease while an attempt runs (15 s, four chances per lease). Shorter than
    /// the lease.
    #[serde(with = "millis")]
    pub heartbeat_interval: TimeDelta,
    /// How long finished jobs are kept.
    pub retention: Retention,
    /// The longest wait a server's retry-after may impose on a job; `None` (the default) means the backoff cap,
    /// `retry.maxDelay` (10 min). A longer retry-after (a date in the year 9999) is cut to it, so no server can
    /// park a job, and with it the user's key, for longer: the job is retried then, and dies by its attempts if
    /// the server keeps refusing.
    #[serde(with = "opt_millis", skip_serializing_if = "Option::is_none")]
    pub max_retry_after: Option<TimeDelta>,
    /// Releases (graceful shutdowns, spent sweep budgets) that hand an attempt back unspent (5); each release
    /// beyond them spends the attempt, as a stalled job's does in BullMQ once `maxStalledCount` is used up.
    /// Copied onto each job when enqueued. Five budget cuts cover a practice exam that needs a few sweeps when
    /// its progress is kept; a job cut short forever then runs out of attempts instead of looping.
    pub max_releases: u32,
}

/// An optional duration as whole milliseconds, `null` or absent for none.
mod opt_millis {
    use chrono::TimeDelta;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<TimeDelta>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.num_milliseconds()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TimeDelta>, D::Error> {
        Option::<i64>::deserialize(d)?
            .map(|ms| {
                TimeDelta::try_milliseconds(ms).ok_or_else(|| serde::de::Error::custom("duration out of range"))
            })
            .transpose()
    }
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            attempt_timeouts: AttemptTimeouts::default(),
            lease_duration: TimeDelta::seconds(60),
            heartbeat_interval: TimeDelta::seconds(15),
            retention: Retention::default(),
            max_retry_after: None,
            max_releases: 5,
        }
    }
}

impl QueueOptions {
    /// How long one attempt of an `exam_type` job may run.
    pub fn attempt_timeout(&self, exam_type: ExamType) -> TimeDelta {
        match exam_type {
            ExamType::Diagnostic => self.attempt_timeouts.diagnostic,
            ExamType::Practice => self.attempt_timeouts.practice,
        }
    }

    /// The longest wait a server's retry-after may impose: [`QueueOptions::max_retry_after`], or the backoff cap.
    pub fn retry_after_cap(&self) -> TimeDelta {
        self.max_retry_after.unwrap_or(self.retry.max_delay)
    }

    /// Refuses options the queue cannot run with: a bad retry policy, a non-positive timeout or lease, a
    /// heartbeat not strictly shorter than the lease (the lease would lapse between beats), negative retention, a
    /// negative retry-after cap.
    pub fn check(&self) -> Result<(), QueueError> {
        self.retry.check()?;
        if ExamType::ALL.into_iter().any(|t| self.attempt_timeout(t) <= TimeDelta::zero()) {
            return Err(QueueError::InvalidOptions("attemptTimeouts must be positive"));
        }
        if self.lease_duration <= TimeDelta::zero() {
            return Err(QueueError::InvalidOptions("leaseDuration must be positive"));
        }
        if self.heartbeat_interval <= TimeDelta::zero() || self.heartbeat_interval >= self.lease_duration {
            return Err(QueueError::InvalidOptions(
                "heartbeatInterval must be positive and shorter than leaseDuration",
            ));
        }
        let r = self.retention;
        if [r.succeeded, r.dead, r.cancelled].into_iter().any(|d| d < TimeDelta::zero()) {
            return Err(QueueError::InvalidOptions("retention must not be negative"));
        }
        if self.max_retry_after.is_some_and(|cap| cap < TimeDelta::zero()) {
            return Err(QueueError::InvalidOptions("maxRetryAfter must not be negative"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::job::{JobId, JobKey};

    #[test]
    fn defaults_are_documented_and_valid() {
        let o = QueueOptions::default();
        assert!(o.check().is_ok());
        assert_eq!(o.attempt_timeout(ExamType::Diagnostic), TimeDelta::minutes(2));
        assert_eq!(o.attempt_timeout(ExamType::Practice), TimeDelta::minutes(2));
        assert_eq!((o.lease_duration, o.heartbeat_interval), (TimeDelta::seconds(60), TimeDelta::seconds(15)));
        assert_eq!(o.retention.keep_for(JobState::Succeeded), Some(TimeDelta::hours(24)));
        assert_eq!(o.retention.keep_for(JobState::Dead), Some(TimeDelta::days(7)));
        assert_eq!(o.retention.keep_for(JobState::Cancelled), Some(TimeDelta::days(7)));
        assert_eq!(o.retention.keep_for(JobState::RetryWait), None);
        assert_eq!((o.max_retry_after, o.retry_after_cap()), (None, TimeDelta::minutes(10)));
        assert_eq!(o.max_releases, 5);
    }

    #[test]
    fn the_retry_after_cap_follows_the_backoff_cap_unless_set() {
        let mut o = QueueOptions::default();
        o.retry.max_delay = TimeDelta::minutes(30);
        assert_eq!(o.retry_after_cap(), TimeDelta::minutes(30));
        o.max_retry_after = Some(TimeDelta::seconds(90));
        assert_eq!(o.retry_after_cap(), TimeDelta::seconds(90));
        assert!(o.check().is_ok());
        o.max_retry_after = Some(TimeDelta::zero());
        assert!(o.check().is_ok(), "zero: retry-after ignored, the backoff alone decides");
    }

    #[test]
    fn timeout_per_exam_type() {
        let o = QueueOptions {
            attempt_timeouts: AttemptTimeouts { practice: TimeDelta::minutes(5), ..AttemptTimeouts::default() },
            ..QueueOptions::default()
        };
        assert_eq!(o.attempt_timeout(ExamType::Practice), TimeDelta::minutes(5));
        assert_eq!(o.attempt_timeout(ExamType::Diagnostic), TimeDelta::minutes(2));
    }

    #[test]
    fn bad_options_are_refused() {
        let d = QueueOptions::default();
        let bad = [
            QueueOptions { heartbeat_interval: d.lease_duration, ..d },
            QueueOptions { heartbeat_interval: TimeDelta::zero(), ..d },
            QueueOptions { lease_duration: TimeDelta::zero(), ..d },
            QueueOptions {
                attempt_timeouts: AttemptTimeouts { diagnostic: TimeDelta::zero(), ..d.attempt_timeouts },
                ..d
            },
            QueueOptions { retry: RetryPolicy { max_attempts: 0, ..d.retry }, ..d },
            QueueOptions { retention: Retention { dead: TimeDelta::seconds(-1), ..d.retention }, ..d },
            QueueOptions { max_retry_after: Some(TimeDelta::milliseconds(-1)), ..d },
        ];
        for o in bad {
            assert!(matches!(o.check(), Err(QueueError::InvalidOptions(_))), "{o:?}");
        }
        assert!(
            QueueOptions { heartbeat_interval: d.lease_duration - TimeDelta::milliseconds(1), ..d }
                .check()
                .is_ok()
        );
    }

    #[test]
    fn purge_boundary_is_inclusive() {
        let o = QueueOptions::default();
        let t0 = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
        let mut job = Job::new(JobId::from("j"), JobKey::new("u", ExamType::Practice), t0, &o);
        assert!(!o.retention.is_purgeable(&job, t0 + TimeDelta::days(365)), "unfinished jobs are never purged");
        job.state = JobState::Succeeded;
        job.finished_at = Some(t0);
        assert!(!o.retention.is_purgeable(&job, t0 + TimeDelta::hours(24) - TimeDelta::milliseconds(1)));
        assert!(o.retention.is_purgeable(&job, t0 + TimeDelta::hours(24)));
        job.state = JobState::Dead;
        assert!(!o.retention.is_purgeable(&job, t0 + TimeDelta::hours(24)));
        assert!(o.retention.is_purgeable(&job, t0 + TimeDelta::days(7)));
    }

    #[test]
    fn round_trips_through_json_with_defaults() {
        let json = serde_json::to_value(QueueOptions::default()).unwrap();
        assert_eq!(json["attemptTimeouts"]["practice"], 120_000);
        assert_eq!(json["leaseDuration"], 60_000);
        let back: QueueOptions = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, QueueOptions::default());
        let partial: QueueOptions = serde_json::from_str(r#"{"retry": {"maxAttempts": 5}}"#).unwrap();
        assert_eq!(partial.retry.max_attempts, 5);
        assert_eq!(partial.lease_duration, TimeDelta::seconds(60));
        assert!(json.get("maxRetryAfter").is_none());
        assert_eq!(json["maxReleases"], 5);
        let capped: QueueOptions = serde_json::from_str(r#"{"maxRetryAfter": 120000, "maxReleases": 2}"#).unwrap();
        assert_eq!((capped.max_retry_after, capped.max_releases), (Some(TimeDelta::minutes(2)), 2));
        let back: QueueOptions = serde_json::from_value(serde_json::to_value(capped).unwrap()).unwrap();
        assert_eq!(back, capped);
        assert!(
            serde_json::from_str::<QueueOptions>(r#"{"maxRetryAfter": null}"#).unwrap().max_retry_after.is_none()
        );
    }
}

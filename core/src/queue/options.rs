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
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            attempt_timeouts: AttemptTimeouts::default(),
            lease_duration: TimeDelta::seconds(60),
            heartbeat_interval: TimeDelta::seconds(15),
            retention: Retention::default(),
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

    /// Refuses options the queue cannot run with: a bad retry policy, a non-positive timeout or lease, a
    /// heartbeat not strictly shorter than the lease (the lease would lapse between beats), negative retention.
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
        let back: QueueOptions = serde_json::from_value(json).unwrap();
        assert_eq!(back, QueueOptions::default());
        let partial: QueueOptions = serde_json::from_str(r#"{"retry": {"maxAttempts": 5}}"#).unwrap();
        assert_eq!(partial.retry.max_attempts, 5);
        assert_eq!(partial.lease_duration, TimeDelta::seconds(60));
    }
}

//! A [`super::Tracker`]'s jobs as saved between page loads (the browser keeps them in IndexedDB, so a reload
//! resumes them), and the checks a saved copy passes before a tracker takes it back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::job::{Job, JobError, JobId, JobKey, JobState, Lease};
use crate::error::ErrorCode;
use crate::exam::ExamType;

/// The format version written by [`super::Tracker::save`]. Version 2 keeps instants as epoch milliseconds
/// ([`SavedJob`]); version 1 copies (RFC 3339 text) are refused with `queue.saved_version`.
pub const SAVED_QUEUE_VERSION: u32 = 2;

/// What a tracker saves: its jobs (finished ones until retention purges them) and the next id number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedQueue {
    /// [`SAVED_QUEUE_VERSION`] when written.
    pub version: u32,
    /// The number of the next job id (`job-<n>`).
    pub next_id: u64,
    /// The jobs, in enqueue order.
    pub jobs: Vec<SavedJob>,
}

/// One [`Job`] as saved: the same fields, the key's inline, and every instant as milliseconds since the Unix
/// epoch (UTC), so reading a copy back needs no date parser. That keeps the browser's WASM small (the RFC 3339
/// parser and serde's buffering for a flattened key cost about 8 kB gzip there; see BENCHMARKS.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedJob {
    /// [`Job::id`].
    pub id: JobId,
    /// The key's user id.
    pub user_id: String,
    /// The key's exam type.
    pub exam_type: ExamType,
    /// [`Job::state`].
    pub state: JobState,
    /// [`Job::attempt`].
    pub attempt: u32,
    /// [`Job::max_attempts`].
    pub max_attempts: u32,
    /// [`Job::releases`].
    pub releases: u32,
    /// [`Job::max_releases`].
    pub max_releases: u32,
    /// [`Job::run_at`], epoch ms.
    pub run_at: i64,
    /// [`Job::created_at`], epoch ms.
    pub created_at: i64,
    /// [`Job::updated_at`], epoch ms.
    pub updated_at: i64,
    /// [`Job::started_at`], epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    /// [`Job::deadline`], epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<i64>,
    /// The lease's holder (with `lease_expires_at`, or neither).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_holder: Option<String>,
    /// The lease's expiry, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires_at: Option<i64>,
    /// [`Job::finished_at`], epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    /// [`Job::last_error`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<JobError>,
}

impl From<&Job> for SavedJob {
    fn from(job: &Job) -> Self {
        let ms = |t: DateTime<Utc>| t.timestamp_millis();
        Self {
            id: job.id.clone(),
            user_id: job.key.user_id.clone(),
            exam_type: job.key.exam_type,
            state: job.state,
            attempt: job.attempt,
            max_attempts: job.max_attempts,
            releases: job.releases,
            max_releases: job.max_releases,
            run_at: ms(job.run_at),
            created_at: ms(job.created_at),
            updated_at: ms(job.updated_at),
            started_at: job.started_at.map(ms),
            deadline: job.deadline.map(ms),
            lease_holder: job.lease.as_ref().map(|l| l.holder.clone()),
            lease_expires_at: job.lease.as_ref().map(|l| ms(l.expires_at)),
            finished_at: job.finished_at.map(ms),
            last_error: job.last_error.clone(),
        }
    }
}

impl SavedJob {
    /// The job this copy describes; an instant out of chrono's range or half a lease is
    /// [`SavedQueueError::Inconsistent`].
    pub fn to_job(&self) -> Result<Job, SavedQueueError> {
        let at = |ms: i64| {
            DateTime::from_timestamp_millis(ms).ok_or_else(|| {
                SavedQueueError::Inconsistent(format!("job {}: instant {ms} out of range", self.id))
            })
        };
        let lease = match (&self.lease_holder, self.lease_expires_at) {
            (Some(holder), Some(expires)) => Some(Lease { holder: holder.clone(), expires_at: at(expires)? }),
            (None, None) => None,
            _ => return Err(SavedQueueError::Inconsistent(format!("job {} has half a lease", self.id))),
        };
        Ok(Job {
            id: self.id.clone(),
            key: JobKey::new(self.user_id.clone(), self.exam_type),
            state: self.state,
            attempt: self.attempt,
            max_attempts: self.max_attempts,
            releases: self.releases,
            max_releases: self.max_releases,
            run_at: at(self.run_at)?,
            created_at: at(self.created_at)?,
            updated_at: at(self.updated_at)?,
            started_at: self.started_at.map(at).transpose()?,
            deadline: self.deadline.map(at).transpose()?,
            lease,
            finished_at: self.finished_at.map(at).transpose()?,
            last_error: self.last_error.clone(),
        })
    }
}

/// A saved copy a tracker refuses to resume from (written by another version, or edited by hand).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SavedQueueError {
    /// The copy was written in a format this version does not read.
    #[error("saved queue has version {0}, expected {SAVED_QUEUE_VERSION}")]
    Version(u32),
    /// The jobs break an invariant of the queue.
    #[error("saved queue is inconsistent: {0}")]
    Inconsistent(String),
}

impl ErrorCode for SavedQueueError {
    fn code(&self) -> &'static str {
        match self {
            SavedQueueError::Version(_) => "queue.saved_version",
            SavedQueueError::Inconsistent(_) => "queue.saved_inconsistent",
        }
    }

    fn is_retryable(&self) -> bool {
        false
    }
}

impl SavedQueue {
    /// The copy of `jobs` with id counter `next_id`, at the current version.
    pub fn of(next_id: u64, jobs: &[Job]) -> Self {
        Self { version: SAVED_QUEUE_VERSION, next_id, jobs: jobs.iter().map(SavedJob::from).collect() }
    }

    /// The jobs of a copy a tracker can run on. Refuses another version, an unreadable job, two jobs with one
    /// id, two unfinished jobs of one key (the dedupe rule), a job past its attempts (or waiting with none left),
    /// or an id counter that would hand out an id in use.
    pub fn jobs(&self) -> Result<Vec<Job>, SavedQueueError> {
        if self.version != SAVED_QUEUE_VERSION {
            return Err(SavedQueueError::Version(self.version));
        }
        let jobs = self.jobs.iter().map(SavedJob::to_job).collect::<Result<Vec<_>, _>>()?;
        let bad = |why: String| Err(SavedQueueError::Inconsistent(why));
        // Quadratic, on purpose: a browser holds a handful of jobs, and no hash table keeps the WASM small.
        for (i, job) in jobs.iter().enumerate() {
            let earlier = &jobs[..i];
            if earlier.iter().any(|other| other.id == job.id) {
                return bad(format!("job id {} appears twice", job.id));
            }
            if job.is_unfinished() && earlier.iter().any(|other| other.is_unfinished() && other.key == job.key) {
                return bad(format!("two unfinished jobs for {} {}", job.key.user_id, job.key.exam_type));
            }
            let waiting = matches!(job.state, JobState::Pending | JobState::RetryWait);
            if job.attempt > job.max_attempts || (waiting && job.attempt >= job.max_attempts) {
                return bad(format!(
                    "job {} is {} at attempt {} of {}",
                    job.id, job.state, job.attempt, job.max_attempts
                ));
            }
            let number = job.id.as_str().strip_prefix("job-").and_then(|n| n.parse::<u64>().ok());
            if number.is_some_and(|n| n >= self.next_id) {
                return bad(format!("job id {} is not below the next id {}", job.id, self.next_id));
            }
        }
        Ok(jobs)
    }

    /// Whether [`SavedQueue::jobs`] accepts the copy.
    pub fn check(&self) -> Result<(), SavedQueueError> {
        self.jobs().map(drop)
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::exam::ExamType;
    use crate::queue::{JobId, JobKey, QueueOptions};

    fn job(id: &str, user: &str, state: JobState) -> Job {
        let t0 = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
        let key = JobKey::new(user, ExamType::Practice);
        Job { state, ..Job::new(JobId::from(id), key, t0, &QueueOptions::default()) }
    }

    fn saved(next_id: u64, jobs: Vec<Job>) -> SavedQueue {
        SavedQueue::of(next_id, &jobs)
    }

    #[test]
    fn consistent_copies_pass() {
        assert_eq!(saved(1, vec![]).check(), Ok(()));
        let jobs = vec![
            job("job-1", "u1", JobState::Succeeded),
            job("job-2", "u1", JobState::Dead),
            job("job-3", "u1", JobState::RetryWait),
            Job { attempt: 3, ..job("job-4", "u2", JobState::Running) },
            job("imported", "u3", JobState::Pending),
        ];
        assert_eq!(saved(5, jobs).check(), Ok(()));
    }

    #[test]
    fn broken_copies_are_refused() {
        let code = |s: SavedQueue| s.check().unwrap_err().code();
        assert_eq!(code(SavedQueue { version: 1, ..saved(1, vec![]) }), "queue.saved_version");
        assert_eq!(code(SavedQueue { version: 3, ..saved(1, vec![]) }), "queue.saved_version");
        assert_eq!(code(SavedQueue { version: 0, ..saved(1, vec![]) }), "queue.saved_version");
        let inconsistent = [
            saved(3, vec![job("job-1", "u1", JobState::Dead), job("job-1", "u2", JobState::Dead)]),
            saved(3, vec![job("job-1", "u1", JobState::Pending), job("job-2", "u1", JobState::RetryWait)]),
            saved(2, vec![job("job-2", "u1", JobState::Pending)]),
            saved(2, vec![Job { attempt: 4, ..job("job-1", "u1", JobState::Dead) }]),
            saved(2, vec![Job { attempt: 3, ..job("job-1", "u1", JobState::Pending) }]),
            saved(2, vec![Job { attempt: 3, ..job("job-1", "u1", JobState::RetryWait) }]),
        ];
        for copy in inconsistent {
            assert_eq!(code(copy.clone()), "queue.saved_inconsistent", "{copy:?}");
        }
        let running = Job { attempt: 1, ..job("job-1", "u1", JobState::Running) };
        let mut half_lease = saved(2, vec![running]);
        half_lease.jobs[0].lease_holder = Some("tab-1".into());
        assert_eq!(code(half_lease.clone()), "queue.saved_inconsistent");
        half_lease.jobs[0].lease_expires_at = Some(i64::MAX);
        assert_eq!(code(half_lease), "queue.saved_inconsistent", "an instant chrono cannot hold");
    }

    #[test]
    fn round_trips_through_json_with_times_in_milliseconds() {
        let t = DateTime::from_timestamp_millis(1_760_000_000_123).unwrap();
        let full = Job {
            attempt: 2,
            releases: 1,
            started_at: Some(t),
            deadline: Some(t + chrono::TimeDelta::minutes(2)),
            lease: Some(crate::queue::Lease { holder: "tab-1".into(), expires_at: t }),
            last_error: Some(crate::queue::JobError::new("route.server_error", "500")),
            ..job("job-2", "u2", JobState::Running)
        };
        let jobs = vec![job("job-1", "u1", JobState::Pending), full];
        let copy = saved(3, jobs.clone());
        let json = serde_json::to_value(&copy).unwrap();
        assert_eq!((json["version"].clone(), json["nextId"].clone()), (2.into(), 3.into()));
        assert_eq!(json["jobs"][0]["userId"], "u1");
        assert_eq!(json["jobs"][1]["leaseExpiresAt"], 1_760_000_000_123_i64);
        let back = serde_json::from_value::<SavedQueue>(json).unwrap();
        assert_eq!(back, copy);
        assert_eq!(back.jobs().unwrap(), jobs, "every field survives");
    }
}

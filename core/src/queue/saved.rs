//! A [`super::Tracker`]'s jobs as saved between page loads (the browser keeps them in IndexedDB, so a reload
//! resumes them), and the checks a saved copy passes before a tracker takes it back.

use serde::{Deserialize, Serialize};

use super::job::{Job, JobState};
use crate::error::ErrorCode;

/// The format version written by [`super::Tracker::save`].
pub const SAVED_QUEUE_VERSION: u32 = 1;

/// What a tracker saves: its jobs (finished ones until retention purges them) and the next id number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedQueue {
    /// [`SAVED_QUEUE_VERSION`] when written.
    pub version: u32,
    /// The number of the next job id (`job-<n>`).
    pub next_id: u64,
    /// The jobs, in enqueue order.
    pub jobs: Vec<Job>,
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
    /// Refuses a copy a tracker could not run on: another version, two jobs with one id, two unfinished jobs of
    /// one key (the dedupe rule), a job past its attempts (or waiting with none left), or an id counter that would hand out an id in use.
    pub fn check(&self) -> Result<(), SavedQueueError> {
        if self.version != SAVED_QUEUE_VERSION {
            return Err(SavedQueueError::Version(self.version));
        }
        let bad = |why: String| Err(SavedQueueError::Inconsistent(why));
        // Quadratic, on purpose: a browser holds a handful of jobs, and no hash table keeps the WASM small.
        for (i, job) in self.jobs.iter().enumerate() {
            let earlier = &self.jobs[..i];
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
        Ok(())
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
        SavedQueue { version: SAVED_QUEUE_VERSION, next_id, jobs }
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
        assert_eq!(code(SavedQueue { version: 2, ..saved(1, vec![]) }), "queue.saved_version");
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
    }

    #[test]
    fn round_trips_through_json() {
        let copy = saved(2, vec![job("job-1", "u1", JobState::Pending)]);
        let json = serde_json::to_value(&copy).unwrap();
        assert_eq!((json["version"].clone(), json["nextId"].clone()), (1.into(), 2.into()));
        assert_eq!(json["jobs"][0]["userId"], "u1");
        assert_eq!(serde_json::from_value::<SavedQueue>(json).unwrap(), copy);
    }
}

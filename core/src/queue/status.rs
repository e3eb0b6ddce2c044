//! The queue status view: the old `getJobQueueStatus()` shape plus counts per state and the age of the oldest
//! due job, computed from jobs and `now`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::job::{Job, JobId, JobState};
use crate::exam::ExamType;

/// How many jobs are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateCounts {
    /// Waiting for a first attempt.
    pub pending: u64,
    /// With an attempt under way.
    pub running: u64,
    /// Waiting out a backoff.
    pub retry_wait: u64,
    /// Done, kept until retention ends.
    pub succeeded: u64,
    /// Failed for good, kept with their last error.
    pub dead: u64,
    /// Cancelled.
    pub cancelled: u64,
}

impl StateCounts {
    /// The count for `state`.
    pub fn get(&self, state: JobState) -> u64 {
        match state {
            JobState::Pending => self.pending,
            JobState::Running => self.running,
            JobState::RetryWait => self.retry_wait,
            JobState::Succeeded => self.succeeded,
            JobState::Dead => self.dead,
            JobState::Cancelled => self.cancelled,
        }
    }

    /// Adds `n` jobs in `state` (for stores that count with `GROUP BY state`).
    pub fn add(&mut self, state: JobState, n: u64) {
        let slot = match state {
            JobState::Pending => &mut self.pending,
            JobState::Running => &mut self.running,
            JobState::RetryWait => &mut self.retry_wait,
            JobState::Succeeded => &mut self.succeeded,
            JobState::Dead => &mut self.dead,
            JobState::Cancelled => &mut self.cancelled,
        };
        *slot += n;
    }

    /// Jobs not yet finished: pending, running and retry wait.
    pub fn unfinished(&self) -> u64 {
        self.pending + self.running + self.retry_wait
    }
}

/// One unfinished job in the old status shape (`userId`, `examType`, `retries`, `maxRetries`, `lastAttempt?`),
/// plus its id and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSummary {
    /// The job's id.
    pub id: JobId,
    /// The user the exam is for.
    pub user_id: String,
    /// The exam type.
    pub exam_type: ExamType,
    /// Its state (`pending`, `running`, `retry_wait`).
    pub state: JobState,
    /// Attempts used so far (the old field's name).
    pub retries: u32,
    /// Attempts allowed (the old field's name).
    pub max_retries: u32,
    /// When the latest attempt started, ISO-8601 UTC with milliseconds; omitted before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<String>,
}

impl JobSummary {
    /// The summary of `job`.
    pub fn of(job: &Job) -> Self {
        Self {
            id: job.id.clone(),
            user_id: job.key.user_id.clone(),
            exam_type: job.key.exam_type,
            state: job.state,
            retries: job.attempt,
            max_retries: job.max_attempts,
            last_attempt: job.started_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        }
    }
}

/// The queue status: the old `{queueLength, isProcessing, jobs}` body, where the queue is the unfinished jobs,
/// plus `counts` per state and `oldestDueAgeMs`, how long the longest-waiting due job has been due (0 if none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    /// Unfinished jobs (pending, running, retry wait).
    pub queue_length: u64,
    /// Whether any attempt is running.
    pub is_processing: bool,
    /// The unfinished jobs, in the order given.
    pub jobs: Vec<JobSummary>,
    /// Jobs per state, finished ones included until retention removes them.
    pub counts: StateCounts,
    /// Milliseconds since the oldest due job's `run_at`: a backlog signal (0 when nothing is due).
    pub oldest_due_age_ms: u64,
}

impl QueueStatus {
    /// Builds the status from a store's aggregates: counts per state, a page of unfinished jobs, and the `run_at`
    /// of the oldest due job.
    pub fn from_parts(
        counts: StateCounts,
        jobs: Vec<JobSummary>,
        oldest_due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        let oldest_due_age_ms = oldest_due.map_or(0, |t| u64::try_from((now - t).num_milliseconds()).unwrap_or(0));
        Self {
            queue_length: counts.unfinished(),
            is_processing: counts.running > 0,
            jobs,
            counts,
            oldest_due_age_ms,
        }
    }

    /// Builds the status of `jobs` at `now`.
    pub fn from_jobs<'a>(jobs: impl IntoIterator<Item = &'a Job>, now: DateTime<Utc>) -> Self {
        let mut counts = StateCounts::default();
        let mut summaries = Vec::new();
        let mut oldest_due: Option<DateTime<Utc>> = None;
        for job in jobs {
            counts.add(job.state, 1);
            if job.is_unfinished() {
                summaries.push(JobSummary::of(job));
            }
            if job.is_due(now) {
                oldest_due = Some(oldest_due.map_or(job.run_at, |t| t.min(job.run_at)));
            }
        }
        Self::from_parts(counts, summaries, oldest_due, now)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::queue::{JobKey, QueueOptions, cancel, start};

    #[test]
    fn old_shape_with_counts_and_backlog_age() {
        let o = QueueOptions::default();
        let t0 = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
        let now = t0 + TimeDelta::seconds(90);
        let a = Job::new(JobId::from("job-1"), JobKey::new("u1", ExamType::Practice), t0, &o);
        let b = Job::new(
            JobId::from("job-2"),
            JobKey::new("u1", ExamType::Diagnostic),
            t0 + TimeDelta::seconds(30),
            &o,
        );
        let b = start(&b, "browser", t0 + TimeDelta::seconds(30), &o).unwrap();
        let c =
            cancel(&Job::new(JobId::from("job-3"), JobKey::new("u2", ExamType::Practice), t0, &o), t0).unwrap();
        let mut d = Job::new(JobId::from("job-4"), JobKey::new("u3", ExamType::Practice), t0, &o);
        d.run_at = now + TimeDelta::seconds(1);

        let status = QueueStatus::from_jobs([&a, &b, &c, &d], now);
        assert_eq!((status.queue_length, status.is_processing), (3, true));
        assert_eq!((status.counts.pending, status.counts.running, status.counts.cancelled), (2, 1, 1));
        assert_eq!(status.oldest_due_age_ms, 90_000, "d is not due yet, a waits since t0");

        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["queueLength"], 3);
        assert_eq!(json["isProcessing"], true);
        assert_eq!(json["oldestDueAgeMs"], 90_000);
        assert_eq!(json["counts"]["retryWait"], 0);
        let jobs = json["jobs"].as_array().unwrap();
        assert_eq!(jobs.len(), 3);
        assert_eq!(jobs[0]["userId"], "u1");
        assert_eq!(jobs[0]["examType"], "practice");
        assert_eq!((jobs[0]["retries"].clone(), jobs[0]["maxRetries"].clone()), (0.into(), 3.into()));
        assert!(jobs[0].get("lastAttempt").is_none());
        assert_eq!(jobs[1]["lastAttempt"], "2025-10-09T08:53:50.000Z");
        assert_eq!(jobs[1]["retries"], 1);
        assert_eq!(jobs[1]["state"], "running");
    }

    #[test]
    fn empty_queue() {
        let now = DateTime::from_timestamp(0, 0).unwrap();
        let status = QueueStatus::from_jobs([], now);
        assert_eq!((status.queue_length, status.is_processing, status.oldest_due_age_ms), (0, false, 0));
        for state in JobState::ALL {
            assert_eq!(status.counts.get(state), 0);
        }
    }
}

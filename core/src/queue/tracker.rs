//! An in-memory queue for the browser (through WASM) and for tests: the same transitions as the durable stores,
//! over a list of jobs, with the old queue's operations (enqueue with dedupe, status, clear).

use chrono::{DateTime, Utc};

use super::decide::{self, Outcome};
use super::error::QueueError;
use super::job::{Job, JobId, JobKey, JobState, unfinished_for};
use super::options::QueueOptions;
use super::saved::{SavedQueue, SavedQueueError};
use super::status::QueueStatus;
use super::transition;
use crate::exam::ExamType;

/// The lease holder the tracker starts attempts as: one tracker is one holder.
pub const TRACKER_HOLDER: &str = "tracker";

/// An in-memory job queue driven by the caller's clock and timers: it never runs anything itself. The caller
/// starts due jobs, reports outcomes, heartbeats long attempts (or sets a lease longer than the timeout), and
/// sleeps until [`Tracker::next_wake`].
#[derive(Debug, Clone)]
pub struct Tracker {
    options: QueueOptions,
    jobs: Vec<Job>,
    next_id: u64,
}

impl Tracker {
    /// An empty tracker with checked `options`.
    pub fn new(options: QueueOptions) -> Result<Self, QueueError> {
        options.check()?;
        Ok(Self { options, jobs: Vec::new(), next_id: 1 })
    }

    /// The options it runs with.
    pub fn options(&self) -> &QueueOptions {
        &self.options
    }

    /// Every job held, in enqueue order, finished ones included until [`Tracker::purge`].
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// The job with `id`, if held.
    pub fn get(&self, id: &JobId) -> Option<&Job> {
        self.jobs.iter().find(|job| job.id == *id)
    }

    fn index(&self, id: &JobId) -> Result<usize, QueueError> {
        self.jobs.iter().position(|job| job.id == *id).ok_or_else(|| QueueError::UnknownJob(id.clone()))
    }

    /// Replaces job `id` with `change(job)` when that succeeds, and returns the new job.
    fn update(
        &mut self,
        id: &JobId,
        change: impl FnOnce(&Job) -> Result<Job, QueueError>,
    ) -> Result<Job, QueueError> {
        let index = self.index(id)?;
        let next = change(&self.jobs[index])?;
        self.jobs[index] = next.clone();
        Ok(next)
    }

    /// Asks for an exam of `exam_type` for `user_id`: returns the unfinished job of that key if there is one
    /// (`false`), or a new pending job due now (`true`).
    pub fn enqueue(&mut self, user_id: &str, exam_type: ExamType, now: DateTime<Utc>) -> (Job, bool) {
        let key = JobKey::new(user_id, exam_type);
        if let Some(existing) = unfinished_for(&self.jobs, &key) {
            return (existing.clone(), false);
        }
        let id = JobId(format!("job-{}", self.next_id));
        self.next_id += 1;
        let job = Job::new(id, key, now, &self.options);
        self.jobs.push(job.clone());
        (job, true)
    }

    /// The due job that has waited longest (earliest `run_at`, then enqueue order), if any.
    pub fn next_due(&self, now: DateTime<Utc>) -> Option<&Job> {
        self.jobs.iter().filter(|job| job.is_due(now)).min_by_key(|job| job.run_at)
    }

    /// Starts the next attempt of job `id` (see [`transition::start`]); the returned job carries the attempt
    /// number to report with.
    pub fn start(&mut self, id: &JobId, now: DateTime<Utc>) -> Result<Job, QueueError> {
        let options = self.options;
        self.update(id, |job| transition::start(job, TRACKER_HOLDER, now, &options))
    }

    /// Renews the lease of attempt `attempt` of job `id` (see [`transition::heartbeat`]).
    pub fn heartbeat(&mut self, id: &JobId, attempt: u32, now: DateTime<Utc>) -> Result<Job, QueueError> {
        let options = self.options;
        self.update(id, |job| transition::heartbeat(job, TRACKER_HOLDER, attempt, now, &options))
    }

    /// Records how attempt `attempt` of job `id` ended (see [`decide::decide`]); a report for an attempt
    /// that is no longer the running one (it timed out and was retried) is refused as a lost lease.
    pub fn finish(
        &mut self,
        id: &JobId,
        attempt: u32,
        outcome: &Outcome,
        now: DateTime<Utc>,
        jitter_unit: f64,
    ) -> Result<Job, QueueError> {
        let options = self.options;
        self.update(id, |job| {
            transition::fence(job, TRACKER_HOLDER, attempt)?;
            let decision = decide::decide(job, outcome, now, &options, jitter_unit)?;
            Ok(decide::apply(job, &decision))
        })
    }

    /// Hands attempt `attempt` of job `id` back without counting it (see [`transition::release`]).
    pub fn release(&mut self, id: &JobId, attempt: u32, now: DateTime<Utc>) -> Result<Job, QueueError> {
        self.update(id, |job| transition::release(job, TRACKER_HOLDER, attempt, now))
    }

    /// Cancels waiting job `id` (see [`transition::cancel`]).
    pub fn cancel(&mut self, id: &JobId, now: DateTime<Utc>) -> Result<Job, QueueError> {
        self.update(id, |job| transition::cancel(job, now))
    }

    /// The old `clearJobQueue()`: cancels every waiting job, leaves running ones alone, and says how many it
    /// cancelled.
    pub fn clear(&mut self, now: DateTime<Utc>) -> usize {
        let mut cancelled = 0;
        for job in &mut self.jobs {
            if let Ok(next) = transition::cancel(job, now) {
                *job = next;
                cancelled += 1;
            }
        }
        cancelled
    }

    /// Records a timeout or an abandonment for every running job overdue at `now` (see [`decide::overdue`])
    /// and returns the jobs changed. Call it when [`Tracker::next_wake`] fires.
    pub fn reap(&mut self, now: DateTime<Utc>, jitter_unit: f64) -> Vec<Job> {
        let mut changed = Vec::new();
        for job in &mut self.jobs {
            let Some(outcome) = decide::overdue(job, now) else {
                continue;
            };
            if let Ok(decision) = decide::decide(job, &outcome, now, &self.options, jitter_unit) {
                *job = decide::apply(job, &decision);
                changed.push(job.clone());
            }
        }
        changed
    }

    /// Removes finished jobs whose retention ended at `now` and says how many.
    pub fn purge(&mut self, now: DateTime<Utc>) -> usize {
        let before = self.jobs.len();
        let retention = self.options.retention;
        self.jobs.retain(|job| !retention.is_purgeable(job, now));
        before - self.jobs.len()
    }

    /// The status view at `now` (see [`QueueStatus`]).
    pub fn status(&self, now: DateTime<Utc>) -> QueueStatus {
        QueueStatus::from_jobs(&self.jobs, now)
    }

    /// When to wake next: the earliest `run_at` of a waiting job, or deadline or lease expiry of a running one,
    /// never before `now` (`now` itself means "something is due already"). `None` when nothing is unfinished.
    pub fn next_wake(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.jobs
            .iter()
            .filter_map(|job| match job.state {
                JobState::Pending | JobState::RetryWait => Some(job.run_at),
                JobState::Running => {
                    let lease_end = job.lease.as_ref().map(|lease| lease.expires_at);
                    [job.deadline, lease_end].into_iter().flatten().min().or(Some(now))
                }
                _ => None,
            })
            .min()
            .map(|wake| wake.max(now))
    }
}

/// Saving and resuming, so the browser's jobs survive a page reload.
impl Tracker {
    /// The jobs and id counter to keep between page loads (see [`SavedQueue`]).
    pub fn save(&self) -> SavedQueue {
        SavedQueue::of(self.next_id, &self.jobs)
    }

    /// Replaces the jobs and id counter with a saved copy, after [`SavedQueue::check`]; a refused copy changes
    /// nothing. Jobs keep the attempts they were enqueued with; timeouts and backoff are this tracker's options.
    pub fn restore(&mut self, saved: SavedQueue) -> Result<(), SavedQueueError> {
        self.jobs = saved.jobs()?;
        self.next_id = saved.next_id;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::queue::JobError;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_760_000_000, 0).unwrap()
    }

    fn secs(n: i64) -> TimeDelta {
        TimeDelta::seconds(n)
    }

    fn tracker() -> Tracker {
        Tracker::new(QueueOptions::default()).unwrap()
    }

    #[test]
    fn refuses_bad_options() {
        let bad = QueueOptions { heartbeat_interval: secs(60), ..QueueOptions::default() };
        assert!(matches!(Tracker::new(bad), Err(QueueError::InvalidOptions(_))));
    }

    #[test]
    fn enqueue_dedupes_unfinished_keys_only() {
        let mut t = tracker();
        let (a, created) = t.enqueue("u1", ExamType::Practice, t0());
        assert!(created);
        assert_eq!(a.id, JobId::from("job-1"));
        let (same, created) = t.enqueue("u1", ExamType::Practice, t0() + secs(1));
        assert_eq!((same.id.clone(), created), (a.id.clone(), false));
        let (other, created) = t.enqueue("u1", ExamType::Diagnostic, t0());
        assert!(created && other.id != a.id);
        t.start(&a.id, t0()).unwrap();
        assert!(!t.enqueue("u1", ExamType::Practice, t0()).1, "a running job holds its key");
        t.finish(&a.id, 1, &Outcome::Succeeded, t0() + secs(50), 0.5).unwrap();
        let (fresh, created) = t.enqueue("u1", ExamType::Practice, t0() + secs(60));
        assert!(created && fresh.id == JobId::from("job-3"));
    }

    #[test]
    fn full_life_with_retries_until_dead() {
        let mut t = tracker();
        let (job, _) = t.enqueue("u1", ExamType::Diagnostic, t0());
        let mut now = t0();
        for attempt in 1..=3 {
            let due = t.next_due(now).expect("due").id.clone();
            let running = t.start(&due, now).unwrap();
            assert_eq!(running.attempt, attempt);
            assert_eq!(t.next_due(now), None);
            let fail = Outcome::Failed {
                error: JobError::new("claude.overloaded", "529"),
                retryable: true,
                retry_after: None,
            };
            let after = t.finish(&job.id, attempt, &fail, now + secs(5), 0.0).unwrap();
            if attempt < 3 {
                assert_eq!(after.state, JobState::RetryWait);
                assert_eq!(t.next_wake(now + secs(5)), Some(after.run_at));
                now = after.run_at;
            } else {
                assert_eq!(after.state, JobState::Dead);
                assert_eq!(after.last_error.unwrap().code, "claude.overloaded");
            }
        }
        assert_eq!(t.next_wake(now), None);
        let status = t.status(now);
        assert_eq!((status.queue_length, status.counts.dead), (0, 1));
    }

    #[test]
    fn stale_report_of_a_timed_out_attempt_is_refused() {
        let mut t = tracker();
        let (job, _) = t.enqueue("u1", ExamType::Practice, t0());
        t.start(&job.id, t0()).unwrap();
        // No heartbeat: the lease (60 s) ends before the deadline (120 s).
        assert_eq!(t.next_wake(t0()), Some(t0() + secs(60)));
        assert!(t.reap(t0() + secs(59), 0.0).is_empty());
        let reaped = t.reap(t0() + secs(60), 0.0);
        assert_eq!(reaped.len(), 1);
        assert_eq!(reaped[0].last_error.as_ref().unwrap().code, "queue.abandoned");
        let late = t.finish(&job.id, 1, &Outcome::Succeeded, t0() + secs(61), 0.0);
        assert_eq!(late, Err(QueueError::NotRunning(JobState::RetryWait)));
        let retry_at = reaped[0].run_at;
        t.start(&job.id, retry_at).unwrap();
        let stale = t.finish(&job.id, 1, &Outcome::Succeeded, retry_at, 0.0);
        assert!(matches!(stale, Err(QueueError::LeaseLost { attempt: 1, .. })));
        assert_eq!(t.finish(&job.id, 2, &Outcome::Succeeded, retry_at, 0.0).unwrap().state, JobState::Succeeded);
    }

    #[test]
    fn heartbeats_keep_a_job_until_its_deadline() {
        let mut t = tracker();
        let (job, _) = t.enqueue("u1", ExamType::Practice, t0());
        t.start(&job.id, t0()).unwrap();
        t.heartbeat(&job.id, 1, t0() + secs(30)).unwrap();
        t.heartbeat(&job.id, 1, t0() + secs(80)).unwrap();
        assert_eq!(t.next_wake(t0() + secs(80)), Some(t0() + secs(120)), "deadline before the 140 s lease end");
        let reaped = t.reap(t0() + secs(120), 0.0);
        assert_eq!(reaped[0].last_error.as_ref().unwrap().code, "queue.timeout");
    }

    #[test]
    fn clear_cancels_everything_not_running() {
        let mut t = tracker();
        let (a, _) = t.enqueue("u1", ExamType::Practice, t0());
        let (b, _) = t.enqueue("u2", ExamType::Practice, t0());
        t.enqueue("u3", ExamType::Diagnostic, t0());
        t.start(&a.id, t0()).unwrap();
        assert_eq!(t.clear(t0()), 2);
        assert_eq!(t.clear(t0()), 0);
        let status = t.status(t0());
        assert_eq!((status.queue_length, status.is_processing, status.counts.cancelled), (1, true, 2));
        assert_eq!(t.cancel(&b.id, t0()), Err(QueueError::Finished(JobState::Cancelled)));
        assert_eq!(t.cancel(&JobId::from("nope"), t0()), Err(QueueError::UnknownJob(JobId::from("nope"))));
    }

    #[test]
    fn release_and_purge() {
        let mut t = tracker();
        let (a, _) = t.enqueue("u1", ExamType::Practice, t0());
        t.start(&a.id, t0()).unwrap();
        let back = t.release(&a.id, 1, t0() + secs(3)).unwrap();
        assert_eq!((back.state, back.attempt), (JobState::Pending, 0));
        assert_eq!(t.next_wake(t0() + secs(10)), Some(t0() + secs(10)), "due already: wake now");
        t.start(&a.id, t0() + secs(10)).unwrap();
        t.finish(&a.id, 1, &Outcome::Succeeded, t0() + secs(20), 0.0).unwrap();
        assert_eq!(t.purge(t0() + secs(20) + TimeDelta::hours(24) - TimeDelta::milliseconds(1)), 0);
        assert_eq!(t.purge(t0() + secs(20) + TimeDelta::hours(24)), 1);
        assert!(t.jobs().is_empty() && t.get(&a.id).is_none());
    }

    #[test]
    fn next_due_prefers_the_longest_waiting() {
        let mut t = tracker();
        let (a, _) = t.enqueue("u1", ExamType::Practice, t0() + secs(5));
        let (b, _) = t.enqueue("u2", ExamType::Practice, t0());
        assert_eq!(t.next_due(t0()).map(|j| &j.id), Some(&b.id));
        assert_eq!(t.next_due(t0() + secs(5)).map(|j| &j.id), Some(&b.id));
        t.start(&b.id, t0()).unwrap();
        assert_eq!(t.next_due(t0() + secs(4)), None);
        assert_eq!(t.next_due(t0() + secs(5)).map(|j| &j.id), Some(&a.id));
    }

    #[test]
    fn save_and_restore_resume_the_same_queue() {
        let mut t = tracker();
        let (a, _) = t.enqueue("u1", ExamType::Practice, t0());
        t.enqueue("u1", ExamType::Diagnostic, t0());
        t.start(&a.id, t0()).unwrap();
        let fail = Outcome::Failed {
            error: JobError::new("route.server_error", "500"),
            retryable: true,
            retry_after: None,
        };
        let waiting = t.finish(&a.id, 1, &fail, t0() + secs(1), 0.0).unwrap();
        let json = serde_json::to_string(&t.save()).unwrap();

        let mut resumed = tracker();
        resumed.restore(serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(resumed.jobs(), t.jobs());
        assert_eq!(resumed.next_wake(t0() + secs(1)), t.next_wake(t0() + secs(1)));
        assert!(!resumed.enqueue("u1", ExamType::Practice, t0()).1, "dedupe holds across a reload");
        let (fresh, created) = resumed.enqueue("u2", ExamType::Practice, t0());
        assert!(created && fresh.id == JobId::from("job-3"), "ids continue");
        assert_eq!(resumed.start(&a.id, waiting.run_at).unwrap().attempt, 2);
    }

    #[test]
    fn a_refused_copy_changes_nothing() {
        let mut t = tracker();
        t.enqueue("u1", ExamType::Practice, t0());
        let before = t.save();
        let mut broken = before.clone();
        broken.next_id = 1;
        assert_eq!(
            t.restore(broken).unwrap_err().to_string(),
            "saved queue is inconsistent: job id job-1 is not below the next id 1"
        );
        assert_eq!(t.save(), before);
    }
}

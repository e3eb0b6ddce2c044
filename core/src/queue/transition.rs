//! The transitions that move a job between waiting and running, as pure functions of the job, `now` and the
//! options: [`start`], [`heartbeat`], [`release`] and [`cancel`]. Each returns a new job and leaves its input
//! untouched, so a store can write the result fenced by holder and attempt, and the tracker can replace its copy.

use chrono::{DateTime, Utc};

use chrono::TimeDelta;

use super::decide::{RELEASE_LIMIT_CODE, apply, spend};
use super::error::QueueError;
use super::job::{Job, JobError, JobState, Lease, later};
use super::options::QueueOptions;

/// Refuses a caller who does not hold the running job's lease for this attempt. Lease expiry is not checked here.
pub(super) fn fence<'a>(job: &'a Job, holder: &str, attempt: u32) -> Result<&'a Lease, QueueError> {
    if job.is_finished() {
        return Err(QueueError::Finished(job.state));
    }
    if job.state != JobState::Running {
        return Err(QueueError::NotRunning(job.state));
    }
    match &job.lease {
        Some(lease) if lease.holder == holder && job.attempt == attempt => Ok(lease),
        _ => Err(QueueError::LeaseLost { holder: holder.to_owned(), attempt }),
    }
}

/// Starts the next attempt for `holder`: a due, unfinished, waiting job becomes `Running` with `attempt + 1`, a
/// lease until `now + lease_duration` and a deadline at `now + attempt_timeout(exam type)`. Refused for finished or
/// running jobs, jobs out of attempts, and jobs not yet due (`run_at > now`; due exactly at `run_at`).
pub fn start(job: &Job, holder: &str, now: DateTime<Utc>, options: &QueueOptions) -> Result<Job, QueueError> {
    match job.state {
        state if state.is_finished() => return Err(QueueError::Finished(state)),
        JobState::Running => return Err(QueueError::AlreadyRunning),
        _ => {}
    }
    if job.attempt >= job.max_attempts {
        return Err(QueueError::AttemptsExhausted(job.max_attempts));
    }
    if job.run_at > now {
        return Err(QueueError::NotDue { run_at: job.run_at });
    }
    Ok(Job {
        state: JobState::Running,
        attempt: job.attempt + 1,
        started_at: Some(now),
        deadline: Some(later(now, options.attempt_timeout(job.key.exam_type))),
        lease: Some(Lease { holder: holder.to_owned(), expires_at: later(now, options.lease_duration) }),
        updated_at: now,
        ..job.clone()
    })
}

/// Renews the lease of `holder` on `attempt` until `now + lease_duration`. Fenced: refused when another holder or
/// attempt owns the job, when the lease has expired (`expires_at <= now`: a sweeper may be reclaiming it), and
/// when the attempt's deadline has passed (the worker must stop).
pub fn heartbeat(
    job: &Job,
    holder: &str,
    attempt: u32,
    now: DateTime<Utc>,
    options: &QueueOptions,
) -> Result<Job, QueueError> {
    let lease = fence(job, holder, attempt)?;
    if lease.expires_at <= now {
        return Err(QueueError::LeaseLost { holder: holder.to_owned(), attempt });
    }
    if let Some(deadline) = job.deadline.filter(|d| *d <= now) {
        return Err(QueueError::TimedOut { deadline });
    }
    let expires_at = lease.expires_at.max(later(now, options.lease_duration));
    Ok(Job { lease: Some(Lease { holder: holder.to_owned(), expires_at }), updated_at: now, ..job.clone() })
}

/// Hands a running job back (graceful shutdown, a spent sweep budget) and counts the release. While
/// `releases < max_releases` before it, the job becomes `Pending`, due at `now`, and the released attempt does not
/// count (`attempt − 1`), so a job interrupted by deploys never dies of them. A release beyond `max_releases`
/// spends the attempt instead: `RetryWait` due at `now` with error `queue.release_limit` while attempts are left,
/// else `Dead`, so a job cut short again and again cannot loop forever. Fenced by holder and attempt, but allowed
/// after lease expiry as long as nobody took the job over. A returned attempt's number is reused by the next
/// start, so the releasing worker must have stopped the attempt's work first, and holders must be unique per
/// worker process (a fresh holder never matches an old one's stale write).
pub fn release(job: &Job, holder: &str, attempt: u32, now: DateTime<Utc>) -> Result<Job, QueueError> {
    fence(job, holder, attempt)?;
    let releases = job.releases.saturating_add(1);
    if job.releases < job.max_releases {
        return Ok(Job {
            state: JobState::Pending,
            attempt: job.attempt.saturating_sub(1),
            releases,
            run_at: now,
            deadline: None,
            lease: None,
            updated_at: now,
            ..job.clone()
        });
    }
    let message = format!(
        "released {releases} times, more than the {} allowed; attempt {} of {} spent",
        job.max_releases, job.attempt, job.max_attempts
    );
    let decision = spend(job, JobError::new(RELEASE_LIMIT_CODE, message), TimeDelta::zero(), now);
    Ok(apply(&Job { releases, ..job.clone() }, &decision))
}

/// Cancels a waiting job (pending or retry wait), as the old `clearJobQueue` did for every job not running.
/// Running jobs are refused (their worker finishes or times out), finished ones too.
pub fn cancel(job: &Job, now: DateTime<Utc>) -> Result<Job, QueueError> {
    match job.state {
        state if state.is_finished() => Err(QueueError::Finished(state)),
        JobState::Running => Err(QueueError::AlreadyRunning),
        _ => Ok(Job { state: JobState::Cancelled, finished_at: Some(now), updated_at: now, ..job.clone() }),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::exam::ExamType;
    use crate::queue::fixtures::*;
    use crate::queue::{JobId, JobKey};

    #[test]
    fn start_is_due_exactly_at_run_at() {
        let mut job = pending();
        job.run_at = t0() + ms(500);
        assert_eq!(start(&job, W, t0() + ms(499), &opts()), Err(QueueError::NotDue { run_at: job.run_at }));
        let started = start(&job, W, t0() + ms(500), &opts()).unwrap();
        assert_eq!((started.state, started.attempt), (JobState::Running, 1));
        assert_eq!(started.started_at, Some(t0() + ms(500)));
        assert_eq!(started.deadline, Some(t0() + ms(500) + TimeDelta::minutes(2)));
        assert_eq!(
            started.lease,
            Some(Lease { holder: W.into(), expires_at: t0() + ms(500) + TimeDelta::seconds(60) })
        );
        assert_eq!(job.state, JobState::Pending, "the input is untouched");
    }

    #[test]
    fn start_refuses_running_finished_and_exhausted_jobs() {
        assert_eq!(start(&running(), "b", t0(), &opts()), Err(QueueError::AlreadyRunning));
        let done = cancel(&pending(), t0()).unwrap();
        assert_eq!(start(&done, W, t0(), &opts()), Err(QueueError::Finished(JobState::Cancelled)));
        let mut worn = pending();
        worn.attempt = 3;
        assert_eq!(start(&worn, W, t0(), &opts()), Err(QueueError::AttemptsExhausted(3)));
    }

    #[test]
    fn heartbeat_extends_until_the_lease_expiry_instant() {
        let job = running();
        let expiry = t0() + TimeDelta::seconds(60);
        let beat = heartbeat(&job, W, 1, expiry - ms(1), &opts()).unwrap();
        assert_eq!(beat.lease.as_ref().unwrap().expires_at, expiry - ms(1) + TimeDelta::seconds(60));
        assert_eq!(beat.updated_at, expiry - ms(1));
        let lost = Err(QueueError::LeaseLost { holder: W.into(), attempt: 1 });
        assert_eq!(heartbeat(&job, W, 1, expiry, &opts()), lost);
        assert!(job.lease_expired(expiry) && !job.lease_expired(expiry - ms(1)));
    }

    #[test]
    fn heartbeat_is_fenced_by_holder_attempt_state_and_deadline() {
        let job = running();
        assert!(matches!(heartbeat(&job, "b", 1, t0(), &opts()), Err(QueueError::LeaseLost { .. })));
        assert!(matches!(heartbeat(&job, W, 2, t0(), &opts()), Err(QueueError::LeaseLost { .. })));
        assert_eq!(heartbeat(&pending(), W, 0, t0(), &opts()), Err(QueueError::NotRunning(JobState::Pending)));
        // Keep the lease alive up to the deadline, then the beat at the deadline is refused.
        let deadline = t0() + TimeDelta::minutes(2);
        let mut beating = job.clone();
        for s in [45, 90, 119] {
            beating = heartbeat(&beating, W, 1, t0() + TimeDelta::seconds(s), &opts()).unwrap();
        }
        assert_eq!(heartbeat(&beating, W, 1, deadline, &opts()), Err(QueueError::TimedOut { deadline }));
        assert!(beating.deadline_passed(deadline) && !beating.deadline_passed(deadline - ms(1)));
    }

    #[test]
    fn release_returns_the_attempt() {
        let job = running();
        let later = t0() + TimeDelta::seconds(5);
        let released = release(&job, W, 1, later).unwrap();
        assert_eq!((released.state, released.attempt, released.run_at), (JobState::Pending, 0, later));
        assert_eq!(released.releases, 1);
        assert!(released.lease.is_none() && released.deadline.is_none() && released.is_due(later));
        assert!(matches!(release(&job, "b", 1, later), Err(QueueError::LeaseLost { .. })));
        assert_eq!(release(&released, W, 0, later), Err(QueueError::NotRunning(JobState::Pending)));
        let again = start(&released, "worker-b", later, &opts()).unwrap();
        assert_eq!(again.attempt, 1);
        let after_expiry = t0() + TimeDelta::minutes(5);
        assert!(release(&job, W, 1, after_expiry).is_ok(), "nobody took it over");
    }

    #[test]
    fn releases_are_counted_and_beyond_the_bound_spend_the_attempt() {
        let options = QueueOptions { max_releases: 2, ..opts() };
        let mut job = Job::new(JobId::from("job-r"), JobKey::new("u1", ExamType::Practice), t0(), &options);
        assert_eq!((job.releases, job.max_releases), (0, 2));
        let mut now = t0();
        // Two releases hand the attempt back.
        for n in 1..=2 {
            job = start(&job, W, now, &options).unwrap();
            assert_eq!(job.attempt, 1);
            now += TimeDelta::seconds(50);
            job = release(&job, W, 1, now).unwrap();
            assert_eq!((job.state, job.attempt, job.releases, job.run_at), (JobState::Pending, 0, n, now));
            assert!(job.last_error.is_none());
        }
        // The third spends attempt 1: retried at once, with the reason kept.
        job = start(&job, W, now, &options).unwrap();
        now += TimeDelta::seconds(50);
        job = release(&job, W, 1, now).unwrap();
        assert_eq!((job.state, job.attempt, job.releases, job.run_at), (JobState::RetryWait, 1, 3, now));
        assert!(job.lease.is_none() && job.deadline.is_none() && job.finished_at.is_none() && job.is_due(now));
        let error = job.last_error.clone().unwrap();
        assert_eq!(error.code, RELEASE_LIMIT_CODE);
        assert_eq!(error.message, "released 3 times, more than the 2 allowed; attempt 1 of 3 spent");
        // Attempts 2 and 3 are spent the same way; then the job is dead, not looping.
        for attempt in 2..=3 {
            job = start(&job, W, now, &options).unwrap();
            assert_eq!(job.attempt, attempt);
            now += TimeDelta::seconds(50);
            job = release(&job, W, attempt, now).unwrap();
        }
        assert_eq!((job.state, job.attempt, job.releases), (JobState::Dead, 3, 5));
        assert_eq!(job.finished_at, Some(now));
        assert_eq!(job.last_error.as_ref().unwrap().code, RELEASE_LIMIT_CODE);
        assert_eq!(start(&job, W, now, &options), Err(QueueError::Finished(JobState::Dead)));
    }

    #[test]
    fn a_bound_of_zero_spends_every_release() {
        let options = QueueOptions { max_releases: 0, ..opts() };
        let job = Job::new(JobId::from("j"), JobKey::new("u1", ExamType::Diagnostic), t0(), &options);
        let running = start(&job, W, t0(), &options).unwrap();
        let back = release(&running, W, 1, t0()).unwrap();
        assert_eq!((back.state, back.attempt, back.releases), (JobState::RetryWait, 1, 1));
    }

    #[test]
    fn cancel_only_waiting_jobs() {
        let c = cancel(&pending(), t0() + ms(1)).unwrap();
        assert_eq!((c.state, c.finished_at), (JobState::Cancelled, Some(t0() + ms(1))));
        let waiting = fail_times(pending(), 1);
        assert_eq!(cancel(&waiting, t0()).unwrap().state, JobState::Cancelled);
        assert_eq!(cancel(&running(), t0()), Err(QueueError::AlreadyRunning));
        assert_eq!(cancel(&c, t0()), Err(QueueError::Finished(JobState::Cancelled)));
    }
}

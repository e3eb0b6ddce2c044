//! What follows an attempt: the [`Outcome`] a worker reports (or a sweeper finds), the [`Decision`] the retry
//! rules draw from it, and [`apply`], which writes the decision onto the job.

use std::fmt;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::error::QueueError;
use super::job::{Job, JobError, JobState, later};
use super::options::QueueOptions;
use crate::error::ErrorCode;

/// The error code recorded when an attempt runs past its deadline.
pub const TIMEOUT_CODE: &str = "queue.timeout";
/// The error code recorded when an attempt's lease expires without news from its holder (a crashed worker).
pub const ABANDONED_CODE: &str = "queue.abandoned";
/// The error code recorded when a release beyond the job's `max_releases` spends its attempt.
pub const RELEASE_LIMIT_CODE: &str = "queue.release_limit";

/// How an attempt ended, as reported by its worker or found by a sweeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The exam was generated and stored.
    Succeeded,
    /// The attempt failed with `error`; `retryable` says whether another attempt could help, and `retry_after` is
    /// a wait the server asked for (a 429's `retry-after`), which wins over the backoff when longer, up to
    /// [`QueueOptions::retry_after_cap`].
    Failed {
        /// What went wrong, with a stable code.
        error: JobError,
        /// Whether another attempt could succeed (rate limit, overload, network) or not (invalid input).
        retryable: bool,
        /// The least wait the server asked for before trying again.
        retry_after: Option<TimeDelta>,
    },
    /// The attempt ran past its deadline and was aborted. Retryable, recorded as `queue.timeout`.
    TimedOut,
    /// The holder went silent and its lease expired (a crash or a lost tab). Retryable, recorded as
    /// `queue.abandoned`; the attempt counts, but the retry is due at once: the job did nothing wrong, and the
    /// lease already made it wait.
    Abandoned,
}

impl Outcome {
    /// A failure carrying any crate error's code, text and retry answer, with no server-requested wait.
    pub fn from_error<E: ErrorCode + fmt::Display + ?Sized>(err: &E) -> Self {
        Outcome::Failed { error: JobError::from_error(err), retryable: err.is_retryable(), retry_after: None }
    }
}

/// What becomes of a running job after an outcome: its next state, when it runs next (only for a retry wait),
/// and the error to keep. Written to a store fenced by the attempt's holder and number, or applied with [`apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// `Succeeded`, `RetryWait` or `Dead`.
    pub state: JobState,
    /// When the next attempt is due; `Some` exactly for `RetryWait`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_at: Option<DateTime<Utc>>,
    /// The error to keep: the failure's for a retry wait or death, none after success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<JobError>,
    /// The `now` the decision was made at: the job's `updated_at`, and `finished_at` when final.
    pub decided_at: DateTime<Utc>,
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Decides what follows an attempt's outcome. Success → `Succeeded`. A retryable failure (timeouts and abandoned
/// leases included) with attempts left (`attempt < max_attempts`) → `RetryWait` at
/// `now + max(backoff(attempt, jitter_unit), min(retry_after, retry_after_cap))`, or at `now` for an abandoned
/// attempt. Otherwise → `Dead`, keeping the error. Refused unless the job is running; the holder/attempt fence is
/// the caller's (a store's `WHERE`, the tracker's check).
pub fn decide(
    job: &Job,
    outcome: &Outcome,
    now: DateTime<Utc>,
    options: &QueueOptions,
    jitter_unit: f64,
) -> Result<Decision, QueueError> {
    if job.is_finished() {
        return Err(QueueError::Finished(job.state));
    }
    if job.state != JobState::Running {
        return Err(QueueError::NotRunning(job.state));
    }
    let (error, retryable, retry_after) = match outcome {
        Outcome::Succeeded => {
            return Ok(Decision { state: JobState::Succeeded, run_at: None, last_error: None, decided_at: now });
        }
        Outcome::Failed { error, retryable, retry_after } => (error.clone(), *retryable, *retry_after),
        Outcome::TimedOut => {
            let deadline = job.deadline.map_or_else(|| "its deadline".to_owned(), iso);
            let message = format!("attempt {} did not finish by {deadline}", job.attempt);
            (JobError::new(TIMEOUT_CODE, message), true, None)
        }
        Outcome::Abandoned => {
            let message = match &job.lease {
                Some(lease) => format!(
                    "lease of {:?} on attempt {} expired at {}",
                    lease.holder,
                    job.attempt,
                    iso(lease.expires_at)
                ),
                None => format!("attempt {} has no lease", job.attempt),
            };
            (JobError::new(ABANDONED_CODE, message), true, None)
        }
    };
    if !retryable {
        return Ok(Decision { state: JobState::Dead, run_at: None, last_error: Some(error), decided_at: now });
    }
    let backoff = match outcome {
        Outcome::Abandoned => TimeDelta::zero(),
        _ => options.retry.backoff(job.attempt, jitter_unit),
    };
    let wait = retry_after.map_or(backoff, |asked| backoff.max(asked.min(options.retry_after_cap())));
    Ok(spend(job, error, wait, now))
}

/// The decision for a spent attempt that could be retried: `RetryWait` at `now + wait` while attempts are left,
/// else `Dead`; either way keeping `error`.
pub(super) fn spend(job: &Job, error: JobError, wait: TimeDelta, now: DateTime<Utc>) -> Decision {
    if job.attempt >= job.max_attempts {
        return Decision { state: JobState::Dead, run_at: None, last_error: Some(error), decided_at: now };
    }
    Decision {
        state: JobState::RetryWait,
        run_at: Some(later(now, wait)),
        last_error: Some(error),
        decided_at: now,
    }
}

/// Applies a decision made for `job` by [`decide`]: the new state, run time and error; the lease and deadline are
/// dropped, `finished_at` is set when the state is final.
pub fn apply(job: &Job, decision: &Decision) -> Job {
    Job {
        state: decision.state,
        run_at: decision.run_at.unwrap_or(job.run_at),
        last_error: decision.last_error.clone(),
        deadline: None,
        lease: None,
        updated_at: decision.decided_at,
        finished_at: decision.state.is_finished().then_some(decision.decided_at),
        ..job.clone()
    }
}

/// The outcome a sweeper records at `now` for a running job nobody will report on: `Abandoned` once its lease
/// expired, `TimedOut` once its deadline passed (whichever instant came first; the deadline on a tie). `None`
/// while the attempt is healthy or the job is not running.
pub fn overdue(job: &Job, now: DateTime<Utc>) -> Option<Outcome> {
    let lease_end =
        job.lease_expired(now).then(|| job.lease.as_ref().map_or(DateTime::<Utc>::MIN_UTC, |l| l.expires_at));
    let deadline = job.deadline.filter(|_| job.deadline_passed(now));
    match (lease_end, deadline) {
        (Some(lease_end), Some(deadline)) if lease_end < deadline => Some(Outcome::Abandoned),
        (_, Some(_)) => Some(Outcome::TimedOut),
        (Some(_), None) => Some(Outcome::Abandoned),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::fixtures::*;
    use crate::queue::transition::{heartbeat, start};

    #[test]
    fn success_finishes_and_clears_the_error() {
        let mut job = fail_times(pending(), 1);
        job = start(&job, W, job.run_at, &opts()).unwrap();
        let now = job.updated_at + TimeDelta::seconds(40);
        let d = decide(&job, &Outcome::Succeeded, now, &opts(), 0.3).unwrap();
        assert_eq!(d, Decision { state: JobState::Succeeded, run_at: None, last_error: None, decided_at: now });
        let done = apply(&job, &d);
        assert_eq!((done.state, done.finished_at, done.lease.clone()), (JobState::Succeeded, Some(now), None));
        assert_eq!(done.run_at, job.run_at);
        assert_eq!(
            decide(&done, &Outcome::Succeeded, now, &opts(), 0.0),
            Err(QueueError::Finished(JobState::Succeeded))
        );
    }

    #[test]
    fn retryable_failure_waits_the_backoff() {
        let job = running();
        let now = t0() + TimeDelta::seconds(10);
        let d = decide(&job, &failure(true, None), now, &opts(), 0.0).unwrap();
        assert_eq!(d.state, JobState::RetryWait);
        assert_eq!(d.run_at, Some(now + TimeDelta::seconds(15)));
        assert_eq!(d.last_error.as_ref().map(|e| e.code.as_str()), Some("claude.overloaded"));
        let waiting = apply(&job, &d);
        assert_eq!((waiting.finished_at, waiting.deadline.is_none(), waiting.attempt), (None, true, 1));
        let second = fail_times(waiting, 1);
        assert_eq!(second.attempt, 2);
        assert_eq!(second.run_at - second.updated_at, TimeDelta::seconds(30), "min backoff after attempt 2");
    }

    #[test]
    fn retry_after_wins_only_when_longer() {
        let job = running();
        let backoff = opts().retry.backoff(1, 0.5);
        let longer = backoff + ms(1);
        let d = decide(&job, &failure(true, Some(longer)), t0(), &opts(), 0.5).unwrap();
        assert_eq!(d.run_at, Some(t0() + longer));
        let shorter = backoff - ms(1);
        let d = decide(&job, &failure(true, Some(shorter)), t0(), &opts(), 0.5).unwrap();
        assert_eq!(d.run_at, Some(t0() + backoff));
        let d = decide(&job, &failure(true, Some(TimeDelta::seconds(-5))), t0(), &opts(), 0.5).unwrap();
        assert_eq!(d.run_at, Some(t0() + backoff), "a negative retry-after changes nothing");
        let cap = opts().retry_after_cap();
        let d = decide(&job, &failure(true, Some(cap)), t0(), &opts(), 0.5).unwrap();
        assert_eq!(d.run_at, Some(t0() + cap), "a wait up to the cap is obeyed");
    }

    #[test]
    fn a_server_retry_after_is_capped() {
        let job = running();
        let cap = TimeDelta::minutes(10);
        let year_9999 = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z").unwrap().with_timezone(&Utc);
        let asked = [cap + ms(1), TimeDelta::hours(1), TimeDelta::days(400), year_9999 - t0(), TimeDelta::MAX];
        for wait in asked {
            let d = decide(&job, &failure(true, Some(wait)), t0(), &opts(), 0.5).unwrap();
            assert_eq!((d.state, d.run_at), (JobState::RetryWait, Some(t0() + cap)), "asked {wait}");
        }
        // Configurable, and the backoff still wins when longer than the capped wait.
        let short = QueueOptions { max_retry_after: Some(TimeDelta::seconds(20)), ..opts() };
        let d = decide(&job, &failure(true, Some(TimeDelta::days(1))), t0(), &short, 0.0).unwrap();
        assert_eq!(d.run_at, Some(t0() + TimeDelta::seconds(20)));
        let d = decide(&job, &failure(true, Some(TimeDelta::days(1))), t0(), &short, 1.0).unwrap();
        assert_eq!(d.run_at, Some(t0() + TimeDelta::seconds(30)), "backoff 30 s beats the 20 s cap");
        let mut raised = opts();
        raised.retry.max_delay = TimeDelta::hours(2);
        let d = decide(&job, &failure(true, Some(TimeDelta::days(1))), t0(), &raised, 0.0).unwrap();
        assert_eq!(d.run_at, Some(t0() + TimeDelta::hours(2)), "the cap follows the backoff cap by default");
    }

    #[test]
    fn non_retryable_or_last_attempt_dies_with_its_error() {
        let job = running();
        let d = decide(&job, &failure(false, Some(ms(5))), t0(), &opts(), 0.5).unwrap();
        assert_eq!((d.state, d.run_at), (JobState::Dead, None));
        assert_eq!(d.last_error, Some(JobError::new("claude.overloaded", "529")));
        let dead = apply(&job, &d);
        assert_eq!((dead.finished_at, dead.last_error.is_some()), (Some(t0()), true));

        let last = fail_times(pending(), 2);
        let last = start(&last, W, last.run_at, &opts()).unwrap();
        assert_eq!(last.attempt, 3);
        let d = decide(&last, &Outcome::TimedOut, last.updated_at, &opts(), 0.0).unwrap();
        assert_eq!(d.state, JobState::Dead);
        assert_eq!(d.last_error.unwrap().code, TIMEOUT_CODE);
    }

    #[test]
    fn timeouts_and_abandoned_leases_are_retryable_attempts() {
        let job = running();
        let d = decide(&job, &Outcome::TimedOut, t0(), &opts(), 0.0).unwrap();
        assert_eq!((d.state, d.last_error.as_ref().unwrap().code.as_str()), (JobState::RetryWait, TIMEOUT_CODE));
        let d = decide(&job, &Outcome::Abandoned, t0(), &opts(), 0.0).unwrap();
        assert_eq!((d.state, d.last_error.as_ref().unwrap().code.as_str()), (JobState::RetryWait, ABANDONED_CODE));
        assert!(d.last_error.as_ref().unwrap().message.contains("worker-a"));
        assert_eq!(apply(&job, &d).attempt, 1, "the abandoned attempt counts");
        assert_eq!(d.run_at, Some(t0()), "an abandoned attempt is retried at once");
        assert_eq!(
            decide(&pending(), &Outcome::TimedOut, t0(), &opts(), 0.0),
            Err(QueueError::NotRunning(JobState::Pending))
        );
    }

    #[test]
    fn overdue_at_exact_instants() {
        let job = running();
        let lease_end = t0() + TimeDelta::seconds(60);
        assert_eq!(overdue(&job, lease_end - ms(1)), None);
        assert_eq!(overdue(&job, lease_end), Some(Outcome::Abandoned));
        assert_eq!(overdue(&job, t0() + TimeDelta::hours(1)), Some(Outcome::Abandoned), "lease ended first");
        let beaten = heartbeat(&job, W, 1, t0() + TimeDelta::seconds(45), &opts()).unwrap();
        let beaten = heartbeat(&beaten, W, 1, t0() + TimeDelta::seconds(90), &opts()).unwrap();
        let deadline = t0() + TimeDelta::minutes(2);
        assert_eq!(overdue(&beaten, deadline - ms(1)), None);
        assert_eq!(overdue(&beaten, deadline), Some(Outcome::TimedOut));
        assert_eq!(overdue(&beaten, t0() + TimeDelta::hours(1)), Some(Outcome::TimedOut), "deadline came first");
        assert_eq!(overdue(&pending(), t0() + TimeDelta::hours(1)), None);
    }

    #[test]
    fn outcome_from_crate_error() {
        let o = Outcome::from_error(&QueueError::NotDue { run_at: t0() });
        let Outcome::Failed { error, retryable, retry_after } = o else { panic!("not a failure") };
        assert_eq!((error.code.as_str(), retryable, retry_after), ("queue.not_due", true, None));
    }
}

use chrono::DateTime;

use super::*;
use crate::exam::ExamType;
use crate::queue::{JobError, JobKey, QueueOptions};

fn job(state: JobState, attempt: u32, error: Option<(&str, &str)>) -> Job {
    let mut job = Job::new(
        JobId("job-1".into()),
        JobKey::new("u1", ExamType::Practice),
        DateTime::UNIX_EPOCH,
        &QueueOptions::default(),
    );
    job.state = state;
    job.attempt = attempt;
    job.last_error = error.map(|(code, message)| JobError::new(code, message));
    job
}

fn attempt(code: &str, retryable: bool) -> HandlerError {
    HandlerError { error: JobError::new(code, "detail"), retryable, retry_after: None }
}

/// (job state, attempt of 3, last error, the attempt this caller ran) -> (code, retryable)
type Case<'a> = (JobState, u32, Option<(&'a str, &'a str)>, Option<HandlerError>, (&'a str, bool));

#[test]
fn the_jobs_own_code_and_retry_answer_reach_the_caller() {
    let auth = Some(("claude.authentication", "detail"));
    let overloaded = Some(("claude.overloaded", "detail"));
    let cases: [Case<'_>; 11] = [
        (JobState::Dead, 1, auth, Some(attempt("claude.authentication", false)), ("claude.authentication", false)),
        (JobState::Dead, 1, auth, None, ("claude.authentication", false)),
        (JobState::Dead, 3, auth, Some(attempt("claude.authentication", false)), ("claude.authentication", false)),
        (JobState::Dead, 3, overloaded, Some(attempt("claude.overloaded", true)), ("claude.overloaded", true)),
        (JobState::Dead, 3, overloaded, None, ("claude.overloaded", true)),
        (JobState::RetryWait, 1, overloaded, None, ("claude.overloaded", true)),
        (
            JobState::RetryWait,
            1,
            overloaded,
            Some(attempt("claude.overloaded", true)),
            ("claude.overloaded", true),
        ),
        // The recorded attempt is not the one the record ends with (a timeout, written by the runner): the record.
        (
            JobState::RetryWait,
            1,
            Some(("queue.timeout", "t")),
            Some(attempt("claude.overloaded", false)),
            ("queue.timeout", true),
        ),
        (JobState::Dead, 2, None, None, (JOB_FAILED, true)),
        (JobState::Cancelled, 1, overloaded, None, (JOB_CANCELLED, true)),
        (JobState::Dead, 1, Some(("Not A Code!", "x")), None, (JOB_FAILED, false)),
    ];
    for (state, n, error, ran, (code, retryable)) in cases {
        let failure = JobFailure::of(&job(state, n, error), ran.as_ref());
        assert_eq!((failure.code, failure.retryable), (code, retryable), "{state} {n} {error:?}");
        assert_eq!(failure.job_id, "job-1");
    }
    let failure = JobFailure::of(&job(JobState::Dead, 1, auth), None);
    assert_eq!(failure.to_string(), "claude.authentication: detail", "reads as the job's last error");
}

#[test]
fn codes_are_kept_once_and_only_when_well_formed() {
    let a = static_code(&String::from("claude.authentication"));
    let b = static_code(&String::from("claude.authentication"));
    assert!(std::ptr::eq(a, b), "one allocation per code");
    assert_eq!(a, "claude.authentication");
    for ok in ["queue.timeout", "worker.outcome_not_recorded", "store.busy", "a.b.c", "x9.y_2"] {
        assert_eq!(static_code(ok), ok);
    }
    for bad in ["", "nodot", ".a", "a.", "a..b", "Claude.Auth", "a.b c", "a.b-c", &"a.".repeat(40)] {
        assert_eq!(static_code(bad), JOB_FAILED, "{bad:?}");
    }
}

//! Shared test fixtures for the transition tests: a fixed clock origin, default options and jobs in common states.

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::exam::ExamType;

/// The holder used by the fixtures.
pub(super) const W: &str = "worker-a";

/// A fixed origin instant.
pub(super) fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_760_000_000, 0).unwrap()
}

/// `n` milliseconds.
pub(super) fn ms(n: i64) -> TimeDelta {
    TimeDelta::milliseconds(n)
}

/// The default options.
pub(super) fn opts() -> QueueOptions {
    QueueOptions::default()
}

/// A diagnostic job enqueued at `t0`.
pub(super) fn pending() -> Job {
    Job::new(JobId::from("job-1"), JobKey::new("u1", ExamType::Diagnostic), t0(), &opts())
}

/// That job, started by `W` at `t0`.
pub(super) fn running() -> Job {
    start(&pending(), W, t0(), &opts()).unwrap()
}

/// A failure with a fixed error.
pub(super) fn failure(retryable: bool, retry_after: Option<TimeDelta>) -> Outcome {
    Outcome::Failed { error: JobError::new("claude.overloaded", "529"), retryable, retry_after }
}

/// Runs `job` through `n` retryable failures at the instants they become due, with jitter unit 0.
pub(super) fn fail_times(mut job: Job, n: u32) -> Job {
    for _ in 0..n {
        let now = job.run_at;
        job = start(&job, W, now, &opts()).unwrap();
        job = apply(&job, &decide(&job, &failure(true, None), now, &opts(), 0.0).unwrap());
    }
    job
}

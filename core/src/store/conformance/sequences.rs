//! The sequences the conformance suite drives, as data. Times are milliseconds after the sequence's start; the
//! options are [`super::conformance_options`]: lease 60 s, heartbeat 15 s, attempt timeout 120 s, backoff 30 s
//! then 60 s without jitter, 3 attempts, 2 releases returned, retry-after capped at 10 min.

use chrono::TimeDelta;

/// Which copy of the running job a worker writes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum By {
    /// The copy of the latest claim, renewed by its heartbeats.
    Holder,
    /// The copy of the claim before: a holder whose job was taken over.
    Stale,
}

/// One operation, applied to the pure job and to the store alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Enqueue the sequence's key again (dedupe while the job is unfinished).
    Enqueue(i64),
    /// `claim_jobs` by a new holder: settles overdue jobs, then starts the due ones.
    Claim(i64),
    /// `claim_job` of the sequence's job by a new holder.
    ClaimById(i64),
    /// `claim_jobs` with a limit of 0: the settling of overdue jobs alone.
    Reap(i64),
    /// A lease renewal.
    Heartbeat(i64, By),
    /// A reported failure.
    Fail { at: i64, retryable: bool, retry_after: Option<TimeDelta>, by: By },
    /// A retryable failure whose server asked to wait until the year 9999.
    RetryAfterYear9999(i64),
    /// A reported timeout.
    TimedOut(i64, By),
    /// A reported success without an exam.
    Succeed(i64, By),
    /// Success with an exam stored in the same transaction.
    Complete(i64, By),
    /// A hand-back (shutdown, spent budget).
    Release(i64, By),
    /// `clear_queue`.
    Clear(i64),
}

/// A named list of steps after the first enqueue at 0.
pub(super) struct Sequence {
    pub(super) name: &'static str,
    pub(super) steps: Vec<Step>,
}

const S: i64 = 1_000;

fn seq(name: &'static str, steps: Vec<Step>) -> Sequence {
    Sequence { name, steps }
}

/// Every sequence.
pub(super) fn all() -> Vec<Sequence> {
    use By::{Holder, Stale};
    use Step::*;
    let fail = |at, retryable, retry_after| Fail { at, retryable, retry_after, by: Holder };
    vec![
        seq(
            "success with heartbeats",
            vec![
                Enqueue(S),
                Claim(2 * S),
                Heartbeat(15 * S, Holder),
                Heartbeat(30 * S, Holder),
                Enqueue(31 * S),
                Heartbeat(89 * S, Holder),
                Succeed(100 * S, Holder),
                Succeed(101 * S, Holder),
                Enqueue(102 * S),
            ],
        ),
        seq(
            "a heartbeat never shortens the lease",
            vec![
                Claim(0),
                Heartbeat(40 * S, Holder),
                // A clock stepped back: the lease stays at 100 s, not 80 s.
                Heartbeat(20 * S, Holder),
                Heartbeat(99 * S, Holder),
                Complete(110 * S, Holder),
            ],
        ),
        seq(
            "a heartbeat at the lease's end is refused",
            vec![
                Claim(0),
                Heartbeat(60 * S - 1, Holder),
                Heartbeat(120 * S - 1, Holder),
                Claim(120 * S - 2),
                Heartbeat(119 * S, Holder),
                TimedOut(120 * S, Holder),
            ],
        ),
        seq(
            "a heartbeat after the lease's end is refused",
            vec![Claim(0), Heartbeat(60 * S, Holder), Reap(60 * S)],
        ),
        seq(
            "the deadline ends heartbeats and the reaper times the attempt out",
            vec![
                Claim(0),
                Heartbeat(45 * S, Holder),
                Heartbeat(90 * S, Holder),
                Heartbeat(120 * S, Holder),
                Reap(120 * S - 1),
                Reap(120 * S),
                Claim(150 * S - 1),
                Claim(150 * S),
                Heartbeat(151 * S, Stale),
                Succeed(152 * S, Stale),
                Succeed(153 * S, Holder),
            ],
        ),
        seq(
            "a killed holder's job is reaped and taken over",
            vec![
                Claim(0),
                Reap(60 * S - 1),
                Claim(60 * S - 1),
                Reap(60 * S),
                Claim(60 * S),
                Heartbeat(61 * S, Stale),
                Fail { at: 61 * S, retryable: true, retry_after: None, by: Stale },
                Release(61 * S, Stale),
                Complete(62 * S, Stale),
                Complete(63 * S, Holder),
            ],
        ),
        seq(
            "claiming by id settles an expired lease",
            vec![
                Claim(0),
                ClaimById(30 * S),
                ClaimById(60 * S - 1),
                ClaimById(60 * S),
                Release(61 * S, Stale),
                Heartbeat(62 * S, Holder),
                Succeed(70 * S, Holder),
            ],
        ),
        seq(
            "claiming by id waits out a timed-out attempt's backoff",
            vec![
                Claim(0),
                Heartbeat(50 * S, Holder),
                Heartbeat(100 * S, Holder),
                ClaimById(120 * S),
                ClaimById(150 * S - 1),
                ClaimById(150 * S),
                Succeed(160 * S, Holder),
            ],
        ),
        seq(
            "retries follow the backoff until dead",
            vec![
                Claim(0),
                fail(5 * S, true, None),
                Claim(35 * S - 1),
                Claim(35 * S),
                fail(40 * S, true, Some(TimeDelta::minutes(5))),
                Claim(340 * S - 1),
                ClaimById(340 * S),
                fail(341 * S, true, None),
                Claim(400 * S),
                Enqueue(401 * S),
            ],
        ),
        seq(
            "a server's wait is capped",
            vec![
                Claim(0),
                RetryAfterYear9999(S),
                Claim(601 * S - 1),
                Claim(601 * S),
                fail(602 * S, true, Some(TimeDelta::minutes(11))),
                Claim(1_202 * S),
                Succeed(1_203 * S, Holder),
            ],
        ),
        seq(
            "a hopeless failure is final",
            vec![Claim(0), fail(3 * S, false, Some(TimeDelta::seconds(5))), Claim(10 * S)],
        ),
        seq(
            "releases are counted and beyond the bound spend the attempt",
            vec![
                Claim(0),
                Release(50 * S, Holder),
                Claim(50 * S),
                Release(100 * S, Holder),
                Claim(100 * S),
                Release(150 * S, Holder),
                Claim(150 * S),
                Heartbeat(160 * S, Holder),
                Release(200 * S, Holder),
                Release(200 * S, Holder),
                Claim(200 * S),
                Release(250 * S, Holder),
                Claim(250 * S),
            ],
        ),
        seq(
            "a release after the lease's end, nobody having taken over",
            vec![
                Claim(0),
                Release(300 * S, Holder),
                ClaimById(300 * S),
                fail(301 * S, true, None),
                Release(302 * S, Holder),
                Clear(303 * S),
            ],
        ),
        seq(
            "a released job taken over refuses its old holder",
            vec![
                Claim(0),
                Release(10 * S, Holder),
                Claim(10 * S),
                Release(11 * S, Stale),
                Heartbeat(11 * S, Stale),
                Complete(12 * S, Stale),
                Complete(13 * S, Holder),
            ],
        ),
        seq(
            "clear cancels waiting jobs only",
            vec![
                Clear(S),
                Enqueue(2 * S),
                Claim(3 * S),
                Clear(4 * S),
                fail(5 * S, true, None),
                Clear(6 * S),
                Claim(60 * S),
            ],
        ),
    ]
}

//! Property tests: random operation sequences against a [`Tracker`] with random options, checking the queue's
//! invariants after every step.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use proptest::sample::Index;

use super::*;
use crate::exam::ExamType;

#[derive(Debug, Clone)]
enum Report {
    Succeeded,
    Failed { retryable: bool, retry_after_ms: Option<i64> },
    TimedOut,
    Abandoned,
}

/// Which job an operation aims at: mostly a running one (if any), sometimes any job at all.
#[derive(Debug, Clone)]
struct Target {
    index: Index,
    any_job: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Enqueue {
        user: u8,
        exam_type: ExamType,
    },
    StartDue,
    Start(Index),
    /// Reports for the job's current attempt, or (when `stale`) for the one before.
    Finish {
        job: Target,
        stale: bool,
        report: Report,
        jitter: f64,
    },
    Heartbeat {
        job: Target,
        stale: bool,
    },
    Release(Target),
    Cancel(Index),
    Clear,
    Advance(i64),
    AdvanceToNextWake,
    Reap(f64),
    Purge,
}

fn exam_type() -> impl Strategy<Value = ExamType> {
    prop_oneof![Just(ExamType::Diagnostic), Just(ExamType::Practice)]
}

fn report() -> impl Strategy<Value = Report> {
    prop_oneof![
        2 => Just(Report::Succeeded),
        4 => (any::<bool>(), proptest::option::of(-1_000i64..900_000))
            .prop_map(|(retryable, retry_after_ms)| Report::Failed { retryable, retry_after_ms }),
        1 => Just(Report::TimedOut),
        1 => Just(Report::Abandoned),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    (any::<Index>(), prop::bool::weighted(0.2)).prop_map(|(index, any_job)| Target { index, any_job })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..4, exam_type()).prop_map(|(user, exam_type)| Op::Enqueue { user, exam_type }),
        3 => Just(Op::StartDue),
        2 => any::<Index>().prop_map(Op::Start),
        4 => (target(), prop::bool::weighted(0.1), report(), 0.0..1.0f64)
            .prop_map(|(job, stale, report, jitter)| Op::Finish { job, stale, report, jitter }),
        2 => (target(), prop::bool::weighted(0.1)).prop_map(|(job, stale)| Op::Heartbeat { job, stale }),
        1 => target().prop_map(Op::Release),
        1 => any::<Index>().prop_map(Op::Cancel),
        1 => Just(Op::Clear),
        3 => prop_oneof![Just(0i64), 1i64..1_000, 1_000i64..600_000].prop_map(Op::Advance),
        2 => Just(Op::AdvanceToNextWake),
        2 => (0.0..1.0f64).prop_map(Op::Reap),
        1 => Just(Op::Purge),
    ]
}

fn options() -> impl Strategy<Value = QueueOptions> {
    (
        (1u32..=5, 0i64..60_000, 0i64..600_000, 1.0..3.0f64, 0.0..=1.0f64),
        (1_000i64..120_000, 1u32..=9, 1_000i64..300_000, 1_000i64..300_000),
        (0i64..7_200_000, 0i64..7_200_000, 0i64..7_200_000),
        (proptest::option::of(0i64..1_200_000), 0u32..4),
    )
        .prop_map(
            |(
                (max_attempts, base, extra_cap, multiplier, jitter),
                (lease, hb_tenths, diag, prac),
                (s, d, c),
                (retry_after_cap, max_releases),
            )| {
                let ms = TimeDelta::milliseconds;
                QueueOptions {
                    retry: RetryPolicy {
                        max_attempts,
                        base_delay: ms(base),
                        max_delay: ms(base + extra_cap),
                        multiplier,
                        jitter,
                    },
                    attempt_timeouts: AttemptTimeouts { diagnostic: ms(diag), practice: ms(prac) },
                    lease_duration: ms(lease),
                    heartbeat_interval: ms(lease * i64::from(hb_tenths) / 10),
                    retention: Retention { succeeded: ms(s), dead: ms(d), cancelled: ms(c) },
                    max_retry_after: retry_after_cap.map(ms),
                    max_releases,
                }
            },
        )
}

fn pick(t: &Tracker, index: &Index) -> Option<Job> {
    (!t.jobs().is_empty()).then(|| t.jobs()[index.index(t.jobs().len())].clone())
}

fn pick_target(t: &Tracker, target: &Target) -> Option<Job> {
    let running: Vec<&Job> = t.jobs().iter().filter(|j| j.state == JobState::Running).collect();
    if target.any_job || running.is_empty() {
        return pick(t, &target.index);
    }
    Some(running[target.index.index(running.len())].clone())
}

fn outcome(report: &Report) -> Outcome {
    match report {
        Report::Succeeded => Outcome::Succeeded,
        Report::Failed { retryable, retry_after_ms } => Outcome::Failed {
            error: JobError::new("test.failure", "boom"),
            retryable: *retryable,
            retry_after: retry_after_ms.map(TimeDelta::milliseconds),
        },
        Report::TimedOut => Outcome::TimedOut,
        Report::Abandoned => Outcome::Abandoned,
    }
}

/// Checks the outcome of one decided attempt: the state rules and the retry wait's lower bound.
fn check_decided(before: &Job, after: &Job, outcome: &Outcome, now: DateTime<Utc>, o: &QueueOptions) {
    let (retryable, retry_after) = match outcome {
        Outcome::Succeeded => {
            assert_eq!(after.state, JobState::Succeeded);
            return;
        }
        Outcome::Failed { retryable, retry_after, .. } => (*retryable, *retry_after),
        Outcome::TimedOut | Outcome::Abandoned => (true, None),
    };
    if retryable && before.attempt < before.max_attempts {
        assert_eq!(after.state, JobState::RetryWait);
        if matches!(outcome, Outcome::Abandoned) {
            assert_eq!(after.run_at, now, "abandoned attempts are retried at once");
        } else {
            assert!(after.run_at >= now + o.retry.min_backoff(before.attempt));
        }
        if let Some(asked) = retry_after {
            assert!(after.run_at >= now + asked.min(o.retry_after_cap()));
            let longest = o.retry.nominal_delay(before.attempt).max(o.retry_after_cap());
            assert!(after.run_at <= now + longest, "a server's wait beyond the cap was obeyed: {after:?}");
        }
    } else {
        assert_eq!(after.state, JobState::Dead);
    }
    assert_eq!(after.attempt, before.attempt);
}

/// Invariants over the whole tracker, given the previous step's jobs and whether this step could purge.
fn check_invariants(t: &Tracker, prev: &[Job], purged_at: Option<DateTime<Utc>>, starts: &BTreeMap<JobId, u32>) {
    let o = t.options();
    let mut live_keys = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for job in t.jobs() {
        assert!(ids.insert(job.id.clone()), "duplicate id {}", job.id);
        assert!(job.attempt <= job.max_attempts, "{job:?}");
        assert_eq!(job.max_attempts, o.retry.max_attempts);
        assert_eq!(job.max_releases, o.max_releases);
        assert_eq!(job.attempt, starts.get(&job.id).copied().unwrap_or(0), "attempt = starts − returned releases");
        if job.is_unfinished() {
            assert!(live_keys.insert(job.key.clone()), "two unfinished jobs for {:?}", job.key);
        }
        assert_eq!(job.finished_at.is_some(), job.is_finished());
        let running = job.state == JobState::Running;
        assert_eq!((job.lease.is_some(), job.deadline.is_some()), (running, running), "{job:?}");
        if running {
            assert!(job.attempt >= 1 && job.started_at.is_some());
        }
        match job.state {
            JobState::Dead => assert!(job.last_error.is_some(), "dead without error: {job:?}"),
            JobState::RetryWait => {
                assert!(job.last_error.is_some());
                let at_once = job
                    .last_error
                    .as_ref()
                    .is_some_and(|e| [ABANDONED_CODE, RELEASE_LIMIT_CODE].contains(&e.code.as_str()));
                let least = if at_once { TimeDelta::zero() } else { o.retry.min_backoff(job.attempt) };
                assert!(job.run_at >= job.updated_at + least, "{job:?}");
            }
            _ => {}
        }
    }
    for old in prev {
        match t.get(&old.id) {
            Some(now_job) if old.is_finished() => assert_eq!(now_job, old, "a finished job changed"),
            Some(_) => {}
            None => {
                let at = purged_at.expect("a job vanished outside purge");
                assert!(o.retention.is_purgeable(old, at), "purged too early: {old:?}");
            }
        }
    }
}

fn run(options: QueueOptions, ops: Vec<Op>) {
    let mut t = Tracker::new(options).unwrap();
    let o = options;
    let mut now = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
    let mut starts: BTreeMap<JobId, u32> = BTreeMap::new();
    for op in ops {
        let prev = t.jobs().to_vec();
        let mut purged_at = None;
        match op {
            Op::Enqueue { user, exam_type } => {
                let user = format!("user-{user}");
                let existing = unfinished_for(t.jobs(), &JobKey::new(user.clone(), exam_type)).cloned();
                let (job, created) = t.enqueue(&user, exam_type, now);
                assert_eq!(created, existing.is_none());
                if let Some(existing) = existing {
                    assert_eq!(job, existing);
                }
            }
            Op::StartDue => {
                if let Some(due) = t.next_due(now).cloned() {
                    assert!(due.run_at <= now);
                    let started = t.start(&due.id, now).expect("a due job starts");
                    assert_eq!(started.attempt, due.attempt + 1);
                    *starts.entry(due.id).or_default() += 1;
                } else {
                    assert!(t.jobs().iter().all(|j| !j.is_due(now)));
                }
            }
            Op::Start(index) => {
                let Some(job) = pick(&t, &index) else { continue };
                match t.start(&job.id, now) {
                    Ok(started) => {
                        assert!(job.is_due(now) && job.run_at <= now, "started before run_at");
                        assert_eq!(started.attempt, job.attempt + 1);
                        *starts.entry(job.id).or_default() += 1;
                    }
                    Err(QueueError::NotDue { run_at }) => assert!(run_at > now && job.run_at == run_at),
                    Err(_) => assert!(!job.is_due(now) || job.attempt >= job.max_attempts),
                }
            }
            Op::Finish { job: target, stale, report, jitter } => {
                let Some(job) = pick_target(&t, &target) else { continue };
                let attempt = if stale { job.attempt.saturating_sub(1) } else { job.attempt };
                let outcome = outcome(&report);
                match t.finish(&job.id, attempt, &outcome, now, jitter) {
                    Ok(after) => {
                        assert!(job.state == JobState::Running && !stale);
                        check_decided(&job, &after, &outcome, now, &o);
                    }
                    Err(_) => assert!(job.state != JobState::Running || stale),
                }
            }
            Op::Heartbeat { job: target, stale } => {
                let Some(job) = pick_target(&t, &target) else { continue };
                let attempt = if stale { job.attempt.saturating_sub(1) } else { job.attempt };
                let ok = t.heartbeat(&job.id, attempt, now).is_ok();
                let healthy =
                    job.state == JobState::Running && !job.lease_expired(now) && !job.deadline_passed(now);
                assert_eq!(ok, healthy && !stale);
            }
            Op::Release(target) => {
                let Some(job) = pick_target(&t, &target) else { continue };
                if let Ok(after) = t.release(&job.id, job.attempt, now) {
                    assert_eq!(job.state, JobState::Running);
                    assert_eq!(after.releases, job.releases + 1);
                    if job.releases < job.max_releases {
                        assert_eq!(after.state, JobState::Pending);
                        *starts.get_mut(&job.id).unwrap() -= 1;
                    } else {
                        assert_eq!(after.last_error.as_ref().unwrap().code, RELEASE_LIMIT_CODE);
                        let last = job.attempt >= job.max_attempts;
                        assert_eq!(after.state, if last { JobState::Dead } else { JobState::RetryWait });
                    }
                    assert!(after.is_finished() || t.get(&job.id).unwrap().is_due(now));
                }
            }
            Op::Cancel(index) => {
                let Some(job) = pick(&t, &index) else { continue };
                let ok = t.cancel(&job.id, now).is_ok();
                assert_eq!(ok, matches!(job.state, JobState::Pending | JobState::RetryWait));
            }
            Op::Clear => {
                let waiting =
                    t.jobs().iter().filter(|j| matches!(j.state, JobState::Pending | JobState::RetryWait));
                let expected = waiting.count();
                assert_eq!(t.clear(now), expected);
                assert!(t.jobs().iter().all(|j| j.is_finished() || j.state == JobState::Running));
            }
            Op::Advance(ms) => now += TimeDelta::milliseconds(ms),
            Op::AdvanceToNextWake => {
                if let Some(wake) = t.next_wake(now) {
                    assert!(wake >= now);
                    now = wake;
                }
            }
            Op::Reap(jitter) => {
                let due: Vec<_> =
                    t.jobs().iter().filter_map(|j| overdue(j, now).map(|o| (j.clone(), o))).collect();
                let changed = t.reap(now, jitter);
                assert_eq!(changed.len(), due.len());
                for ((before, outcome), after) in due.iter().zip(&changed) {
                    check_decided(before, after, outcome, now, &o);
                }
                assert!(t.jobs().iter().all(|j| overdue(j, now).is_none()));
            }
            Op::Purge => {
                t.purge(now);
                purged_at = Some(now);
            }
        }
        check_invariants(&t, &prev, purged_at, &starts);
        let status = t.status(now);
        assert_eq!(status.queue_length as usize, status.jobs.len());
        assert_eq!(JobState::ALL.iter().map(|s| status.counts.get(*s)).sum::<u64>() as usize, t.jobs().len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn tracker_keeps_its_invariants(options in options(), ops in prop::collection::vec(op(), 1..150)) {
        run(options, ops);
    }

    #[test]
    fn backoff_stays_between_its_bounds(
        options in options(),
        attempt in 0u32..40,
        unit in 0.0..1.0f64,
    ) {
        let r = options.retry;
        let wait = r.backoff(attempt, unit);
        prop_assert!(wait >= r.min_backoff(attempt));
        prop_assert!(wait <= r.nominal_delay(attempt));
        prop_assert!(r.nominal_delay(attempt) <= r.max_delay);
        prop_assert!(r.nominal_delay(attempt) <= r.nominal_delay(attempt + 1));
    }
}

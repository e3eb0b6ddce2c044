//! The durable job queue: dedupe under concurrency, retry timing on a test clock, fencing, the exam and its job
//! in one transaction, status, clear and retention.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use pregen_core::ErrorCode;
use pregen_core::exam::ExamType;
use pregen_core::policy::Policy;
use pregen_core::queue::{ABANDONED_CODE, JobError, JobId, JobState, Outcome, QueueOptions, decide, start};
use pregen_core::store::{ExamStore, JobStore, StoreError};

use super::{Backend, key, t0, tiny_exam_for, user};

fn failure(code: &str, retryable: bool, retry_after: Option<TimeDelta>) -> Outcome {
    Outcome::Failed { error: JobError::new(code, format!("{code} happened")), retryable, retry_after }
}

/// A hundred concurrent enqueues of one key over four handles: one job, created by exactly one caller.
pub async fn a_hundred_concurrent_enqueues_of_one_key_give_one_job(b: &impl Backend) {
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(b.open().await);
    }
    let options = QueueOptions::default();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let store = stores[i % 4].clone();
            tokio::spawn(
                async move { store.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap() },
            )
        })
        .collect();
    let mut ids = HashSet::new();
    let mut created = 0;
    for task in tasks {
        let enqueued = task.await.unwrap();
        created += usize::from(enqueued.created);
        ids.insert(enqueued.job.id);
    }
    assert_eq!(ids.len(), 1, "every caller got the same job");
    assert_eq!(created, 1, "exactly one caller created it");
    let status = stores[0].queue_status(t0(), 10).await.unwrap();
    assert_eq!((status.queue_length, status.counts.pending), (1, 1));
}

/// Two hundred concurrent enqueues of fifty keys, each key asked four times by callers with their own settings
/// and clocks: each key gets one job, created by one caller, with that caller's settings and time, and the other
/// three callers are answered with the same job.
pub async fn concurrent_enqueues_keep_each_callers_settings(b: &impl Backend) {
    let store = b.open().await;
    let tasks: Vec<_> = (0..200u32)
        .map(|i| {
            let store = store.clone();
            let mut options = QueueOptions::default();
            options.retry.max_attempts = 2 + i % 4;
            options.max_releases = 10 + i % 4;
            let now = t0() + TimeDelta::seconds(i64::from(i % 4));
            let k = key(&format!("u{}", i / 4), if i % 8 < 4 { ExamType::Practice } else { ExamType::Diagnostic });
            tokio::spawn(async move { (i, store.enqueue(&k, now, &options).await.unwrap()) })
        })
        .collect();
    let mut by_key: std::collections::HashMap<String, Vec<(u32, pregen_core::store::Enqueued)>> =
        std::collections::HashMap::new();
    for task in tasks {
        let (i, enqueued) = task.await.unwrap();
        by_key.entry(enqueued.job.key.user_id.clone()).or_default().push((i, enqueued));
    }
    assert_eq!(by_key.len(), 50);
    for (user, answers) in by_key {
        assert_eq!(answers.len(), 4, "{user}");
        let ids: HashSet<_> = answers.iter().map(|(_, e)| e.job.id.clone()).collect();
        assert_eq!(ids.len(), 1, "{user}: one job for the key");
        let creators: Vec<u32> = answers.iter().filter(|(_, e)| e.created).map(|(i, _)| *i).collect();
        assert_eq!(creators.len(), 1, "{user}: created by one caller");
        let (creator, job) = (creators[0], &answers[0].1.job);
        assert_eq!(job.max_attempts, 2 + creator % 4, "{user}: the creator's max attempts");
        assert_eq!(job.max_releases, 10 + creator % 4, "{user}: the creator's max releases");
        assert_eq!(job.created_at, t0() + TimeDelta::seconds(i64::from(creator % 4)), "{user}: the creator's now");
        assert_eq!(job.run_at, job.created_at);
    }
    let status = store.queue_status(t0(), 0).await.unwrap();
    assert_eq!(status.counts.pending, 50);
}

/// `enqueue_many`: new keys are created, held keys return their job, a key given twice is created once.
pub async fn enqueue_many_creates_missing_keys_and_returns_held_ones(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    let held = store.enqueue(&key("b", ExamType::Practice), t0(), &options).await.unwrap().job;
    let keys = [
        key("c", ExamType::Diagnostic),
        key("b", ExamType::Practice),
        key("a", ExamType::Practice),
        key("c", ExamType::Diagnostic),
    ];
    let done = store.enqueue_many(&keys, t0() + TimeDelta::seconds(1), &options).await.unwrap();
    assert_eq!(done.len(), 4);
    for (enqueued, k) in done.iter().zip(&keys) {
        assert_eq!(&enqueued.job.key, k, "results follow the keys' order");
    }
    assert_eq!(done.iter().map(|e| e.created).collect::<Vec<_>>(), [true, false, true, false]);
    assert_eq!(done[1].job, held);
    assert_eq!(done[0].job.id, done[3].job.id);
    assert_eq!(done[0].job.run_at, t0() + TimeDelta::seconds(1));
    assert_eq!(store.queue_status(t0(), 10).await.unwrap().counts.pending, 3);
    assert!(store.enqueue_many(&[], t0(), &options).await.unwrap().is_empty());
}

pub async fn retries_follow_the_backoff_on_a_test_clock_until_dead(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    let job = store.enqueue(&key("u1", ExamType::Diagnostic), t0(), &options).await.unwrap().job;
    let mut now = t0();
    for attempt in 1..=3u32 {
        let claimed = store.claim_jobs("w1", 10, now, &options).await.unwrap();
        assert_eq!(claimed.len(), 1, "attempt {attempt} is due at {now}");
        let running = &claimed[0];
        assert_eq!((running.attempt, running.state), (attempt, JobState::Running));
        assert_eq!(running.deadline, Some(now + TimeDelta::minutes(2)), "the old 2-minute attempt timeout");
        let decision = decide(running, &failure("claude.overloaded", true, None), now, &options, 0.5).unwrap();
        let after = store.finish_job(running, &decision).await.unwrap();
        if attempt < 3 {
            assert_eq!(after.state, JobState::RetryWait);
            let wait = after.run_at - now;
            let nominal = TimeDelta::seconds(30 * 2_i64.pow(attempt - 1));
            assert!(wait >= nominal / 2 && wait <= nominal, "attempt {attempt}: waited {wait}");
            let early = after.run_at - TimeDelta::milliseconds(1);
            assert!(store.claim_jobs("w1", 10, early, &options).await.unwrap().is_empty());
            now = after.run_at;
        } else {
            assert_eq!(after.state, JobState::Dead);
            assert_eq!(after.last_error.as_ref().unwrap().code, "claude.overloaded");
            assert_eq!(after.finished_at, Some(now));
        }
    }
    let dead = store.get_job(&job.id).await.unwrap().unwrap();
    assert_eq!((dead.state, dead.attempt), (JobState::Dead, 3));
    assert!(store.claim_jobs("w1", 10, now + TimeDelta::days(1), &options).await.unwrap().is_empty());
    assert!(store.enqueue(&key("u1", ExamType::Diagnostic), now, &options).await.unwrap().created);
}

pub async fn a_longer_retry_after_wins_and_a_non_retryable_error_is_final(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    store.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap();
    let running = store.claim_jobs("w1", 1, t0(), &options).await.unwrap().remove(0);
    let decision =
        decide(&running, &failure("claude.rate_limited", true, Some(TimeDelta::minutes(5))), t0(), &options, 1.0)
            .unwrap();
    let waiting = store.finish_job(&running, &decision).await.unwrap();
    assert_eq!(waiting.run_at, t0() + TimeDelta::minutes(5));

    let now = waiting.run_at;
    let running = store.claim_jobs("w1", 1, now, &options).await.unwrap().remove(0);
    let decision = decide(&running, &failure("claude.invalid_request", false, None), now, &options, 0.0).unwrap();
    let dead = store.finish_job(&running, &decision).await.unwrap();
    assert_eq!((dead.state, dead.attempt), (JobState::Dead, 2), "no attempt wasted on a hopeless error");
}

pub async fn the_claim_statement_is_the_pure_start_transition(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    let waiting = store.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap().job;
    let now = t0() + TimeDelta::seconds(3);
    let claimed = store.claim_jobs("w1", 1, now, &options).await.unwrap().remove(0);
    assert_eq!(claimed, start(&waiting, "w1", now, &options).unwrap());
    assert_eq!(store.get_job(&claimed.id).await.unwrap().unwrap(), claimed, "what the claim returned is stored");
}

/// Claims take the oldest due jobs first, up to the limit, and a job not yet due waits.
pub async fn claims_take_due_jobs_oldest_first_up_to_the_limit(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    for (i, u) in ["a", "b", "c", "d"].iter().enumerate() {
        store.enqueue(&key(u, ExamType::Practice), t0() + TimeDelta::seconds(i as i64), &options).await.unwrap();
    }
    let now = t0() + TimeDelta::seconds(2);
    let first = store.claim_jobs("w1", 2, now, &options).await.unwrap();
    assert_eq!(first.iter().map(|j| j.key.user_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    let second = store.claim_jobs("w2", 5, now, &options).await.unwrap();
    assert_eq!(second.iter().map(|j| j.key.user_id.as_str()).collect::<Vec<_>>(), ["c"], "d is not due yet");
    assert_eq!(store.next_due_at().await.unwrap(), Some(t0() + TimeDelta::seconds(3)));
}

/// Concurrent claimers over four handles take each of 200 due jobs exactly once.
pub async fn concurrent_job_claims_take_each_job_once(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    let keys: Vec<_> = (0..200).map(|i| key(&format!("user-{i:03}"), ExamType::Practice)).collect();
    store.enqueue_many(&keys, t0(), &options).await.unwrap();
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(b.open().await);
    }
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = stores[i % 4].clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = store.claim_jobs(&format!("w{i}"), 3, t0(), &options).await.unwrap();
                    if got.is_empty() {
                        break mine;
                    }
                    mine.extend(got.into_iter().map(|j| j.id));
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    let unique: HashSet<JobId> = claimed.iter().cloned().collect();
    assert_eq!((claimed.len(), unique.len()), (200, 200), "each job claimed exactly once");
}

pub async fn a_stale_lease_is_fenced_out_and_its_job_taken_over(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    store.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap();
    let held_by_a = store.claim_jobs("worker-a", 1, t0(), &options).await.unwrap().remove(0);
    let beat = store.heartbeat_job(&held_by_a, t0() + TimeDelta::seconds(10), &options).await.unwrap();
    assert_eq!(beat.lease.as_ref().unwrap().expires_at, t0() + TimeDelta::seconds(70));
    assert!(store.claim_jobs("worker-b", 1, t0() + TimeDelta::seconds(69), &options).await.unwrap().is_empty());

    let later = t0() + TimeDelta::seconds(70);
    let held_by_b = store.claim_jobs("worker-b", 1, later, &options).await.unwrap();
    assert_eq!(held_by_b.len(), 1, "claimable once the lease expired");
    let held_by_b = &held_by_b[0];
    assert_eq!(held_by_b.attempt, 2, "the abandoned attempt counted");
    assert_eq!(held_by_b.last_error.as_ref().unwrap().code, ABANDONED_CODE);

    let err = store.heartbeat_job(&beat, later, &options).await.unwrap_err();
    assert_eq!(err.code(), "store.lease_lost");
    let success = decide(&beat, &Outcome::Succeeded, later, &options, 0.0).unwrap();
    assert!(matches!(store.finish_job(&beat, &success).await, Err(StoreError::LeaseLost(_))));
    let err = store.complete_job_with_exam(&beat, tiny_exam_for(&beat, later), later).await.unwrap_err();
    assert_eq!(err.code(), "store.lease_lost");
    assert!(matches!(store.release_job(&beat, later).await, Err(StoreError::LeaseLost(_))));
    assert_eq!(store.get_job(&held_by_b.id).await.unwrap().unwrap(), *held_by_b);
    assert_eq!(store.analytics(later, &Policy::default()).await.unwrap().total_generated, 0, "no exam from A");

    let (done, exam_id) =
        store.complete_job_with_exam(held_by_b, tiny_exam_for(held_by_b, later), later).await.unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert!(done.last_error.is_none());
    let claim = store.claim_exam(&user("u1"), ExamType::Practice, later).await.unwrap().unwrap();
    assert_eq!(claim.id, exam_id);
    assert!(store.complete_job_with_exam(held_by_b, tiny_exam_for(held_by_b, later), later).await.is_err());
    assert_eq!(store.analytics(later, &Policy::default()).await.unwrap().total_generated, 1);
    assert_eq!(store.generation_summary().await.unwrap().jobs_succeeded, 1);
}

/// A job id that names no job (or is not even a stored id's shape) claims, reads and fences nothing.
pub async fn unknown_job_ids_name_nothing(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    let job = store.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap().job;
    for id in ["not-a-uuid", "00000000-0000-4000-8000-000000000000", ""] {
        let id = JobId::from(id);
        assert!(store.get_job(&id).await.unwrap().is_none(), "{id}");
        assert!(store.claim_job(&id, "w", t0(), &options).await.unwrap().is_none(), "{id}");
    }
    let running = store.claim_job(&job.id, "w", t0(), &options).await.unwrap().unwrap();
    assert!(store.claim_job(&job.id, "w2", t0(), &options).await.unwrap().is_none(), "running elsewhere");
    let mut forged = running.clone();
    forged.id = JobId::from("not-a-uuid");
    assert_eq!(store.release_job(&forged, t0()).await.unwrap_err().code(), "store.lease_lost");
    assert_eq!(store.claim_job(&job.id, "", t0(), &options).await.unwrap_err().code(), "store.invalid_input");
}

pub async fn a_passed_deadline_is_recorded_as_a_timeout(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions { lease_duration: TimeDelta::minutes(10), ..QueueOptions::default() };
    store.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap();
    let running = store.claim_jobs("w1", 1, t0(), &options).await.unwrap().remove(0);
    let after_deadline = t0() + TimeDelta::minutes(2);
    assert!(store.heartbeat_job(&running, after_deadline, &options).await.is_err(), "no heartbeat past deadline");
    store.claim_jobs("w2", 1, after_deadline, &options).await.unwrap();
    let job = store.get_job(&running.id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::RetryWait);
    assert_eq!(job.last_error.unwrap().code, "queue.timeout");
}

pub async fn release_returns_the_job_at_once_without_spending_the_attempt(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    store.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap();
    let running = store.claim_jobs("w1", 1, t0(), &options).await.unwrap().remove(0);
    let released = store.release_job(&running, t0() + TimeDelta::seconds(1)).await.unwrap();
    assert_eq!((released.state, released.attempt), (JobState::Pending, 0));
    let again = store.claim_jobs("w2", 1, t0() + TimeDelta::seconds(1), &options).await.unwrap();
    assert_eq!(again[0].attempt, 1);
}

pub async fn status_clear_and_retention(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    for u in ["a", "b", "c", "d"] {
        store.enqueue(&key(u, ExamType::Practice), t0(), &options).await.unwrap();
    }
    let mut running = store.claim_jobs("w1", 2, t0(), &options).await.unwrap();
    assert_eq!(running.len(), 2);
    let now = t0() + TimeDelta::seconds(5);
    let json = serde_json::to_value(store.queue_status(now, 10).await.unwrap()).unwrap();
    assert_eq!(json["queueLength"], 4);
    assert_eq!(json["isProcessing"], true);
    assert_eq!(json["jobs"].as_array().unwrap().len(), 4);
    assert_eq!(json["jobs"][0]["maxRetries"], 3);
    assert!(json["jobs"][0].get("userId").is_some() && json["jobs"][0].get("examType").is_some());
    assert_eq!(json["counts"]["running"], 2);
    assert_eq!(json["oldestDueAgeMs"], 5_000);
    assert_eq!(store.queue_status(now, 1).await.unwrap().jobs.len(), 1, "the list is bounded, counts are not");

    assert_eq!(store.clear_queue(now).await.unwrap(), 2, "only the jobs not running are cancelled");
    let first = running.remove(0);
    let (done, _) = store.complete_job_with_exam(&first, tiny_exam_for(&first, now), now).await.unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    let status = store.queue_status(now, 10).await.unwrap();
    assert_eq!((status.counts.cancelled, status.counts.succeeded, status.counts.running), (2, 1, 1));

    let r = options.retention;
    let just_before = now + TimeDelta::hours(24) - TimeDelta::milliseconds(1);
    assert_eq!(store.cleanup_jobs(just_before, &r, 1).await.unwrap(), 0);
    assert_eq!(store.cleanup_jobs(now + TimeDelta::hours(24), &r, 1).await.unwrap(), 1);
    assert_eq!(store.cleanup_jobs(now + TimeDelta::days(7), &r, 1).await.unwrap(), 2);
    let status = store.queue_status(now + TimeDelta::days(7), 10).await.unwrap();
    assert_eq!((status.counts.cancelled, status.counts.succeeded), (0, 0));
    assert_eq!(status.queue_length, 1, "the running job is untouched");
    assert_eq!(store.cleanup_jobs(now, &r, 0).await.unwrap_err().code(), "store.invalid_input");
}

pub async fn bad_keys_are_refused_before_anything_is_written(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    let err = store.enqueue(&key("", ExamType::Practice), t0(), &options).await.unwrap_err();
    assert_eq!(err.code(), "store.invalid_input");
    let keys = [key("fine", ExamType::Practice), key("bad\nid", ExamType::Practice)];
    assert_eq!(store.enqueue_many(&keys, t0(), &options).await.unwrap_err().code(), "store.invalid_input");
    assert_eq!(store.queue_status(t0(), 10).await.unwrap().counts.pending, 0, "not even the good key");
}

pub async fn a_retry_after_in_the_year_9999_parks_the_job_only_until_the_cap(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    let year_9999 = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z").unwrap().with_timezone(&Utc);
    let cap = options.retry_after_cap();
    assert_eq!(cap, TimeDelta::minutes(10), "the default cap is the backoff cap");
    for (n, asked) in
        [year_9999 - t0(), TimeDelta::days(365), cap + TimeDelta::milliseconds(1)].into_iter().enumerate()
    {
        let key = key(&format!("u{n}"), ExamType::Practice);
        store.enqueue(&key, t0(), &options).await.unwrap();
        let running = store.claim_jobs("w1", 1, t0(), &options).await.unwrap().remove(0);
        let outcome = failure("claude.rate_limited", true, Some(asked));
        let waiting = store.finish_job(&running, &decide(&running, &outcome, t0(), &options, 0.5).unwrap()).await;
        let waiting = waiting.unwrap();
        assert_eq!((waiting.state, waiting.run_at), (JobState::RetryWait, t0() + cap), "asked {asked}");
        // A re-trigger meanwhile finds the job queued, and it runs again at the cap, not in the year 9999.
        let again = store.enqueue(&key, t0() + TimeDelta::minutes(5), &options).await.unwrap();
        assert_eq!((again.created, again.job.id), (false, waiting.id.clone()));
        assert!(
            store.claim_jobs("w2", 1, t0() + cap - TimeDelta::milliseconds(1), &options).await.unwrap().is_empty()
        );
        let retried = store.claim_jobs("w2", 1, t0() + cap, &options).await.unwrap().remove(0);
        assert_eq!((&retried.id, retried.attempt), (&waiting.id, 2));
        let done = decide(&retried, &Outcome::Succeeded, t0() + cap, &options, 0.0).unwrap();
        store.finish_job(&retried, &done).await.unwrap();
    }
    let capped = QueueOptions { max_retry_after: Some(TimeDelta::seconds(45)), ..options };
    store.enqueue(&key("capped", ExamType::Diagnostic), t0(), &capped).await.unwrap();
    let running = store.claim_jobs("w1", 1, t0(), &capped).await.unwrap().remove(0);
    let outcome = failure("claude.rate_limited", true, Some(year_9999 - t0()));
    let waiting = store.finish_job(&running, &decide(&running, &outcome, t0(), &capped, 0.0).unwrap()).await;
    assert_eq!(waiting.unwrap().run_at, t0() + TimeDelta::seconds(45), "the cap is configurable");
}

pub async fn claiming_a_job_by_name_settles_it_when_its_holder_went_silent(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    let lease_end = t0() + options.lease_duration;

    // Killed holder, lease expired: claimable by name at once, the abandoned attempt counted.
    let dead_holder = store.enqueue(&key("killed", ExamType::Practice), t0(), &options).await.unwrap().job;
    let held = store.claim_job(&dead_holder.id, "killed-worker", t0(), &options).await.unwrap().unwrap();
    assert!(
        store
            .claim_job(&held.id, "route", lease_end - TimeDelta::milliseconds(1), &options)
            .await
            .unwrap()
            .is_none()
    );
    let taken = store.claim_job(&held.id, "route", lease_end, &options).await.unwrap().expect("claimable at once");
    assert_eq!((taken.attempt, taken.lease.as_ref().unwrap().holder.as_str()), (2, "route"));
    assert_eq!(taken.last_error.as_ref().unwrap().code, ABANDONED_CODE);
    let stale = decide(&held, &Outcome::Succeeded, lease_end, &options, 0.0).unwrap();
    assert_eq!(store.finish_job(&held, &stale).await.unwrap_err().code(), "store.lease_lost");

    // Past its deadline under a long lease: settled as a timeout, claimable only after its backoff.
    let long = QueueOptions { lease_duration: TimeDelta::minutes(10), ..options };
    let slow = store.enqueue(&key("slow", ExamType::Diagnostic), t0(), &long).await.unwrap().job;
    store.claim_job(&slow.id, "stuck-worker", t0(), &long).await.unwrap().unwrap();
    let deadline = t0() + long.attempt_timeout(ExamType::Diagnostic);
    assert!(store.claim_job(&slow.id, "route", deadline, &long).await.unwrap().is_none());
    let settled = store.get_job(&slow.id).await.unwrap().unwrap();
    assert_eq!((settled.state, settled.last_error.unwrap().code.as_str()), (JobState::RetryWait, "queue.timeout"));
    assert!(store.claim_job(&slow.id, "route", settled.run_at, &long).await.unwrap().is_some());

    // On its last attempt the abandoned job dies instead, keeping its error; nothing to claim.
    let one =
        QueueOptions { retry: pregen_core::queue::RetryPolicy { max_attempts: 1, ..options.retry }, ..options };
    let last = store.enqueue(&key("last", ExamType::Practice), t0(), &one).await.unwrap().job;
    store.claim_job(&last.id, "killed-worker", t0(), &one).await.unwrap().unwrap();
    assert!(store.claim_job(&last.id, "route", lease_end, &one).await.unwrap().is_none());
    let dead = store.get_job(&last.id).await.unwrap().unwrap();
    assert_eq!((dead.state, dead.last_error.unwrap().code.as_str()), (JobState::Dead, ABANDONED_CODE));

    // A healthy running job is left alone.
    let healthy = store.enqueue(&key("healthy", ExamType::Practice), t0(), &options).await.unwrap().job;
    let running = store.claim_job(&healthy.id, "live-worker", t0(), &options).await.unwrap().unwrap();
    assert!(
        store.claim_job(&healthy.id, "route", t0() + TimeDelta::seconds(30), &options).await.unwrap().is_none()
    );
    assert_eq!(store.get_job(&healthy.id).await.unwrap().unwrap(), running);
}

pub async fn releases_are_counted_in_the_store_and_bounded(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions { max_releases: 1, ..QueueOptions::default() };
    let job = store.enqueue(&key("budget", ExamType::Practice), t0(), &options).await.unwrap().job;
    assert_eq!((job.releases, job.max_releases), (0, 1));
    let mut now = t0();
    let mut states = Vec::new();
    // A sweep budget cuts every attempt: the first release is free, each later one spends an attempt.
    for _ in 0..5 {
        let Some(running) = store.claim_jobs("sweep", 1, now, &options).await.unwrap().pop() else { break };
        now += TimeDelta::seconds(50);
        let released = store.release_job(&running, now).await.unwrap();
        states.push((released.state, released.attempt, released.releases));
    }
    assert_eq!(
        states,
        [
            (JobState::Pending, 0, 1),
            (JobState::RetryWait, 1, 2),
            (JobState::RetryWait, 2, 3),
            (JobState::Dead, 3, 4),
        ],
        "no endless loop: four sweeps, then the job is dead"
    );
    let dead = store.get_job(&job.id).await.unwrap().unwrap();
    assert_eq!(dead.last_error.unwrap().code, "queue.release_limit");
    assert_eq!(dead.finished_at, Some(now));
    assert!(store.enqueue(&key("budget", ExamType::Practice), now, &options).await.unwrap().created);
}

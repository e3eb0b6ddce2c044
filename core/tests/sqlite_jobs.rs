//! The durable job queue on SQLite: dedupe under concurrency, retry timing on a test clock, fencing, the exam and
//! its job in one transaction, status, clear and retention.
#![cfg(feature = "sqlite")]

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use pregen_core::ErrorCode;
use pregen_core::exam::{Allocation, ExamSpec, ExamType, synthetic_exam};
use pregen_core::policy::Policy;
use pregen_core::queue::{ABANDONED_CODE, Job, JobError, JobKey, JobState, Outcome, QueueOptions, decide, start};
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{ExamStore, JobStore, NewExam, StoreError, UserId};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-05-01T08:00:00Z").unwrap().with_timezone(&Utc)
}

async fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("q.db"), SqliteOptions::default()).await.unwrap()
}

fn key(user: &str, exam_type: ExamType) -> JobKey {
    JobKey::new(user, exam_type)
}

fn failure(code: &str, retryable: bool, retry_after: Option<TimeDelta>) -> Outcome {
    Outcome::Failed { error: JobError::new(code, format!("{code} happened")), retryable, retry_after }
}

fn tiny_exam_for(job: &Job, now: DateTime<Utc>) -> NewExam {
    let spec =
        ExamSpec { name: "tiny".into(), item_count: 8, scored_count: 8, allocation: Allocation::WeightedByDomain };
    let user = UserId::parse(&job.key.user_id).unwrap();
    NewExam::new(user, job.key.exam_type, synthetic_exam(&spec, 1), &spec, now, &Policy::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_enqueues_of_one_key_give_one_job() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let options = QueueOptions::default();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let store = store.clone();
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
    let status = store.queue_status(t0(), 10).await.unwrap();
    assert_eq!((status.queue_length, status.counts.pending), (1, 1));
}

#[tokio::test]
async fn retries_follow_the_backoff_on_a_test_clock_until_dead() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
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
            // One millisecond before it is due, nothing is claimed; at run_at it is.
            assert!(
                store
                    .claim_jobs("w1", 10, after.run_at - TimeDelta::milliseconds(1), &options)
                    .await
                    .unwrap()
                    .is_empty()
            );
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
    // The key is free again once the job is finished.
    assert!(store.enqueue(&key("u1", ExamType::Diagnostic), now, &options).await.unwrap().created);
}

#[tokio::test]
async fn a_longer_retry_after_wins_and_a_non_retryable_error_is_final() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
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

#[tokio::test]
async fn the_claim_statement_is_the_pure_start_transition() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let options = QueueOptions::default();
    let waiting = store.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap().job;
    let now = t0() + TimeDelta::seconds(3);
    let claimed = store.claim_jobs("w1", 1, now, &options).await.unwrap().remove(0);
    assert_eq!(claimed, start(&waiting, "w1", now, &options).unwrap());
}

#[tokio::test]
async fn a_stale_lease_is_fenced_out_and_its_job_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let options = QueueOptions::default();
    store.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap();
    let held_by_a = store.claim_jobs("worker-a", 1, t0(), &options).await.unwrap().remove(0);
    // A heartbeats once, then goes silent.
    let beat = store.heartbeat_job(&held_by_a, t0() + TimeDelta::seconds(10), &options).await.unwrap();
    assert_eq!(beat.lease.as_ref().unwrap().expires_at, t0() + TimeDelta::seconds(70));
    assert!(store.claim_jobs("worker-b", 1, t0() + TimeDelta::seconds(69), &options).await.unwrap().is_empty());

    let later = t0() + TimeDelta::seconds(70);
    let held_by_b = store.claim_jobs("worker-b", 1, later, &options).await.unwrap();
    assert_eq!(held_by_b.len(), 1, "claimable once the lease expired");
    let held_by_b = &held_by_b[0];
    assert_eq!(held_by_b.attempt, 2, "the abandoned attempt counted");
    assert_eq!(held_by_b.last_error.as_ref().unwrap().code, ABANDONED_CODE);

    // Everything A still tries is refused and changes nothing.
    let err = store.heartbeat_job(&beat, later, &options).await.unwrap_err();
    assert_eq!(err.code(), "store.lease_lost");
    let success = decide(&beat, &Outcome::Succeeded, later, &options, 0.0).unwrap();
    assert!(matches!(store.finish_job(&beat, &success).await, Err(StoreError::LeaseLost(_))));
    let err = store.complete_job_with_exam(&beat, tiny_exam_for(&beat, later), later).await.unwrap_err();
    assert_eq!(err.code(), "store.lease_lost");
    assert!(matches!(store.release_job(&beat, later).await, Err(StoreError::LeaseLost(_))));
    assert_eq!(store.get_job(&held_by_b.id).await.unwrap().unwrap(), *held_by_b);
    assert_eq!(store.analytics(later, &Policy::default()).await.unwrap().total_generated, 0, "no exam from A");

    // B completes it: the exam and the job's success land together.
    let (done, exam_id) =
        store.complete_job_with_exam(held_by_b, tiny_exam_for(held_by_b, later), later).await.unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert!(done.last_error.is_none());
    let claim = store.claim_exam(&UserId::parse("u1").unwrap(), ExamType::Practice, later).await.unwrap().unwrap();
    assert_eq!(claim.id, exam_id);
    // A second completion of the same job (a retried ack) is refused: never a second exam.
    assert!(store.complete_job_with_exam(held_by_b, tiny_exam_for(held_by_b, later), later).await.is_err());
    assert_eq!(store.analytics(later, &Policy::default()).await.unwrap().total_generated, 1);
}

#[tokio::test]
async fn a_passed_deadline_is_recorded_as_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let options = QueueOptions { lease_duration: TimeDelta::minutes(10), ..QueueOptions::default() };
    store.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap();
    let running = store.claim_jobs("w1", 1, t0(), &options).await.unwrap().remove(0);
    let after_deadline = t0() + TimeDelta::minutes(2);
    assert!(
        store.heartbeat_job(&running, after_deadline, &options).await.is_err(),
        "no heartbeat past the deadline"
    );
    store.claim_jobs("w2", 1, after_deadline, &options).await.unwrap();
    let job = store.get_job(&running.id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::RetryWait);
    assert_eq!(job.last_error.unwrap().code, "queue.timeout");
}

#[tokio::test]
async fn release_returns_the_job_at_once_without_spending_the_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let options = QueueOptions::default();
    store.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap();
    let running = store.claim_jobs("w1", 1, t0(), &options).await.unwrap().remove(0);
    let released = store.release_job(&running, t0() + TimeDelta::seconds(1)).await.unwrap();
    assert_eq!((released.state, released.attempt), (JobState::Pending, 0));
    let again = store.claim_jobs("w2", 1, t0() + TimeDelta::seconds(1), &options).await.unwrap();
    assert_eq!(again[0].attempt, 1);
}

#[tokio::test]
async fn status_clear_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let options = QueueOptions::default();
    for u in ["a", "b", "c", "d"] {
        store.enqueue(&key(u, ExamType::Practice), t0(), &options).await.unwrap();
    }
    let mut running = store.claim_jobs("w1", 2, t0(), &options).await.unwrap();
    assert_eq!(running.len(), 2);
    let now = t0() + TimeDelta::seconds(5);
    let status = store.queue_status(now, 10).await.unwrap();
    let json = serde_json::to_value(&status).unwrap();
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

    // Succeeded jobs go after 24 h, cancelled ones after 7 days.
    let r = options.retention;
    assert_eq!(
        store.cleanup_jobs(now + TimeDelta::hours(24) - TimeDelta::milliseconds(1), &r, 1).await.unwrap(),
        0
    );
    assert_eq!(store.cleanup_jobs(now + TimeDelta::hours(24), &r, 1).await.unwrap(), 1);
    assert_eq!(store.cleanup_jobs(now + TimeDelta::days(7), &r, 1).await.unwrap(), 2);
    let status = store.queue_status(now + TimeDelta::days(7), 10).await.unwrap();
    assert_eq!((status.counts.cancelled, status.counts.succeeded), (0, 0));
    assert_eq!(status.queue_length, 1, "the running job is untouched");
}

#[tokio::test]
async fn bad_keys_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let err = store.enqueue(&key("", ExamType::Practice), t0(), &QueueOptions::default()).await.unwrap_err();
    assert_eq!(err.code(), "store.invalid_input");
    assert_eq!(store.queue_status(t0(), 10).await.unwrap().counts.pending, 0);
}

#[tokio::test]
async fn a_retry_after_in_the_year_9999_parks_the_job_only_until_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
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

#[tokio::test]
async fn claiming_a_job_by_name_settles_it_when_its_holder_went_silent() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
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

#[tokio::test]
async fn releases_are_counted_in_the_store_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
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

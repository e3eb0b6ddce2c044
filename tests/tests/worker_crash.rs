//! Two OS processes on one SQLite file: the first is killed with SIGKILL mid-job, the second completes the job
//! once the first's lease expires, and an acknowledgement from the first's stale lease is refused.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use chrono::Utc;
use pregen_core::ErrorCode;
use pregen_core::exam::ExamType;
use pregen_core::policy::Policy;
use pregen_core::queue::{Job, JobKey, JobState, Outcome, QueueOptions, decide};
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{ExamStore, JobStore};
use pregen_tests::tiny_exam;

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_workers_job_is_completed_by_another_process_and_its_stale_ack_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let store = SqliteStore::open(&db, SqliteOptions::default()).await.unwrap();
    let options = QueueOptions::default();
    let job =
        store.enqueue(&JobKey::new("crash-user", ExamType::Practice), Utc::now(), &options).await.unwrap().job;

    let mut first = Command::new(env!("CARGO_BIN_EXE_worker"))
        .args([db.to_str().unwrap(), "hang", job.id.as_str()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(first.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let stale: Job = serde_json::from_str(&line).expect("the first worker reports the job it holds");
    assert_eq!((stale.id.clone(), stale.state, stale.attempt), (job.id.clone(), JobState::Running, 1));
    first.kill().unwrap(); // SIGKILL: no shutdown, no release.
    first.wait().unwrap();

    let second = Command::new(env!("CARGO_BIN_EXE_worker"))
        .args([db.to_str().unwrap(), "ok", job.id.as_str()])
        .status()
        .unwrap();
    assert!(second.success(), "the second process completed the job");

    let done = store.get_job(&job.id).await.unwrap().unwrap();
    assert_eq!((done.state, done.attempt), (JobState::Succeeded, 2), "the crashed attempt counted once");
    assert!(done.lease.as_ref().is_none());
    let analytics = store.analytics(Utc::now(), &Policy::default()).await.unwrap();
    assert_eq!(analytics.total_generated, 1);

    // The dead process's lease is stale: its acknowledgement changes nothing.
    let now = Utc::now();
    let success = decide(&stale, &Outcome::Succeeded, now, &options, 0.0).unwrap();
    assert_eq!(store.finish_job(&stale, &success).await.unwrap_err().code(), "store.lease_lost");
    let late_exam = tiny_exam("crash-user", ExamType::Practice, now, 9);
    assert_eq!(store.complete_job_with_exam(&stale, late_exam, now).await.unwrap_err().code(), "store.lease_lost");
    assert_eq!(store.get_job(&job.id).await.unwrap().unwrap(), done);
    assert_eq!(store.analytics(now, &Policy::default()).await.unwrap().total_generated, 1);
}

/// The synchronous pre-generate route claims its job by name: a job whose holder was killed is claimable as soon
/// as the dead holder's lease expired, without waiting for a worker or a sweep to reap it.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_holders_job_is_claimable_by_name_once_its_lease_expired() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("by-name.db");
    let store = SqliteStore::open(&db, SqliteOptions::default()).await.unwrap();
    let options = QueueOptions::default();
    let job =
        store.enqueue(&JobKey::new("route-user", ExamType::Practice), Utc::now(), &options).await.unwrap().job;

    let mut holder = Command::new(env!("CARGO_BIN_EXE_worker"))
        .args([db.to_str().unwrap(), "hang", job.id.as_str()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let held: Job = serde_json::from_str(&line).expect("the worker reports the job it holds");
    holder.kill().unwrap(); // SIGKILL mid-attempt.
    holder.wait().unwrap();
    let lease_end = held.lease.as_ref().unwrap().expires_at;

    // Only this process touches the store from now on: nothing else reaps.
    let mut claimed = None;
    for _ in 0..400 {
        let now = Utc::now();
        if let Some(job) = store.claim_job(&job.id, "route", now, &options).await.unwrap() {
            claimed = Some((job, now));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let (claimed, at) = claimed.expect("claimable by name once the dead holder's lease expired");
    assert!(at >= lease_end, "not before the lease ended");
    assert_eq!((claimed.attempt, claimed.lease.as_ref().unwrap().holder.as_str()), (2, "route"));
    assert_eq!(claimed.last_error.unwrap().code, pregen_core::queue::ABANDONED_CODE);
}

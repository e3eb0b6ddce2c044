//! Progress survives an attempt: a job's accepted items are saved as they arrive, fenced on its lease, and its
//! next attempt (through another store handle, as another process would) asks only for what is still missing,
//! whether the first attempt failed or was cut short by a drain's time budget.
#![cfg(all(feature = "simulator", feature = "sqlite", feature = "claude"))]

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig, RetryConfig};
use pregen_core::exam::{ExamSpec, ExamType, key_is_strictly_longest, validate_exam};
use pregen_core::generate::{Checkpoint, GenerateError, GenerateHandler, Generator, GeneratorConfig};
use pregen_core::policy::Policy;
use pregen_core::queue::{Decision, Job, JobError, JobKey, JobState, QueueOptions};
use pregen_core::simulator::{
    DEFAULT_API_KEY, Fault, FaultKind, FaultPlan, LoggedRequest, Simulator, SimulatorConfig, SimulatorHandle,
};
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{CheckpointStore, ExamStore, JobStore, NewExam, StoreError, UserId};
use pregen_core::worker::{Runner, drain};
use pregen_core::{ErrorCode, SystemClock};

fn generator(sim: &SimulatorHandle) -> Arc<Generator> {
    let retry = RetryConfig {
        max_retries: 2,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(5),
    };
    let config = ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY))
        .with_base_url(sim.url())
        .with_retry(retry)
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(60));
    Arc::new(Generator::new(ClaudeClient::new(config).unwrap(), GeneratorConfig::default()).unwrap())
}

/// A separate store handle on the same file: its own connections and writer, as in another process.
async fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path, SqliteOptions::default()).await.unwrap()
}

fn messages(sim: &SimulatorHandle) -> Vec<LoggedRequest> {
    sim.log().into_iter().filter(|r| r.path == "/v1/messages").collect()
}

/// Message requests up to `n` succeed; later ones get `fault`.
fn after(n: u64, fault: FaultKind) -> FaultPlan {
    FaultPlan::predicate(move |ctx| (ctx.index > n).then(|| Fault::new(fault)))
}

fn stems(questions: impl IntoIterator<Item = String>) -> HashSet<String> {
    questions.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_attempt_leaves_its_items_and_the_next_asks_only_for_the_rest() {
    let sim = Simulator::start(
        SimulatorConfig::builder().seed(4).faults(after(3, FaultKind::Unavailable)).build().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let (first, options, now) = (open(&path).await, QueueOptions::default(), Utc::now());
    let job = first.enqueue(&JobKey::new("u1", ExamType::Diagnostic), now, &options).await.unwrap().job;
    let job = first.claim_job(&job.id, "worker-1", now, &options).await.unwrap().unwrap();

    // Attempt 1: three requests answer, then the server fails everything; the attempt ends with the 503.
    let checkpoint = Checkpoint { store: &first, job: &job, clock: &SystemClock };
    let err = generator(&sim).generate_resuming(ExamType::Diagnostic, 1, checkpoint).await.unwrap_err();
    assert_eq!(err.code(), "claude.api");
    let saved = first.load_checkpoint(&job.id).await.unwrap();
    let answered: usize = messages(&sim).iter().filter(|r| r.status == Some(200)).filter_map(|r| r.items).sum();
    assert!(!saved.is_empty());
    assert_eq!(saved.len(), answered, "every item the attempt accepted was saved");
    let failure = Decision {
        state: JobState::RetryWait,
        run_at: Some(now),
        last_error: Some(JobError::from_error(&err)),
        decided_at: now,
    };
    first.finish_job(&job, &failure).await.unwrap();

    // Attempt 2, in "another process": a new store handle and a new client, the server well again.
    sim.set_faults(FaultPlan::None);
    sim.clear_log();
    let second = open(&path).await;
    let retry = second.claim_job(&job.id, "worker-2", Utc::now(), &options).await.unwrap().unwrap();
    assert_eq!(retry.attempt, 2);
    // The first attempt's holder, resumed late, is fenced off at its first save (the job is attempt 2's now) and
    // writes nothing.
    let stale = Checkpoint { store: &first, job: &job, clock: &SystemClock };
    match generator(&sim).generate_resuming(ExamType::Diagnostic, 1, stale).await {
        Err(GenerateError::Store(StoreError::LeaseLost(_))) => {}
        other => panic!("expected a lost lease, got {:?}", other.map(|m| m.exam.questions.len())),
    }
    assert_eq!(second.load_checkpoint(&job.id).await.unwrap(), saved);
    sim.clear_log();

    let checkpoint = Checkpoint { store: &second, job: &retry, clock: &SystemClock };
    let made = generator(&sim).generate_resuming(ExamType::Diagnostic, 2, checkpoint).await.unwrap();
    assert_eq!(made.resumed, saved.len());
    assert!(validate_exam(&made.exam, &ExamSpec::diagnostic()).is_valid());
    let sent_back = made.refused.get("answer_length_cue").copied().unwrap_or(0);
    let written: usize = messages(&sim).iter().filter_map(|r| r.items).sum();
    assert_eq!(written, 71 - saved.len() + sent_back, "only the missing items (and the cue's) were asked for");
    let kept = stems(made.exam.questions.iter().map(|q| q.question.clone()));
    let carried = saved.iter().filter(|i| kept.contains(&i.question.question)).count();
    assert!(carried + sent_back >= saved.len(), "the saved items are in the exam unless sent back for the cue");

    // Storing the exam finishes the job, and its checkpoint goes with it.
    let exam = NewExam::new(
        UserId::parse("u1").unwrap(),
        ExamType::Diagnostic,
        made.exam,
        &ExamSpec::diagnostic(),
        Utc::now(),
        &Policy::default(),
    )
    .unwrap();
    second.complete_job_with_exam(&retry, exam, Utc::now()).await.unwrap();
    assert!(second.load_checkpoint(&job.id).await.unwrap().is_empty());
    sim.shutdown().await.unwrap();
}

async fn runner(store: &SqliteStore, sim: &SimulatorHandle) -> Runner {
    let store = Arc::new(store.clone());
    let handler = GenerateHandler::new(generator(sim), store.clone(), Policy::default(), Arc::new(SystemClock))
        .with_checkpoints(store.clone());
    Runner::new(store, Arc::new(handler), QueueOptions::default(), Arc::new(SystemClock))
}

async fn job_state(store: &SqliteStore, job: &Job) -> Job {
    store.get_job(&job.id).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_cut_by_the_budget_is_resumed_by_the_next_drain() {
    // The first eight requests answer; the rest hang far beyond the drain's budget, which cuts the attempt.
    let config = SimulatorConfig::builder()
        .seed(6)
        .hang_for(Duration::from_secs(60))
        .faults(after(8, FaultKind::Hang))
        .build()
        .unwrap();
    let sim = Simulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.db");
    let first = open(&path).await;
    let key = JobKey::new("u2", ExamType::Practice);
    let job = first.enqueue(&key, Utc::now(), &QueueOptions::default()).await.unwrap().job;

    let cut = drain(&runner(&first, &sim).await, Duration::from_secs(2), 1, "first").await;
    assert_eq!((cut.released, cut.succeeded, cut.budget_spent), (1, 0, true));
    let released = job_state(&first, &job).await;
    assert_eq!((released.state, released.attempt), (JobState::Pending, 0), "handed back, attempt unspent");
    let saved = first.load_checkpoint(&job.id).await.unwrap();
    assert_eq!(saved.len(), 80, "the eight answered requests' items were kept");

    sim.set_faults(FaultPlan::None);
    sim.clear_log();
    let second = open(&path).await;
    let done = drain(&runner(&second, &sim).await, Duration::from_secs(120), 1, "second").await;
    assert_eq!(done.succeeded, 1);
    assert_eq!(job_state(&second, &job).await.state, JobState::Succeeded);
    let log = messages(&sim);
    let first_round: usize = log.iter().take(15).filter_map(|r| r.items).sum();
    assert_eq!(first_round, 225 - 80, "the resumed attempt's first round asked only for the missing items");
    let exam =
        second.claim_exam(&UserId::parse("u2").unwrap(), ExamType::Practice, Utc::now()).await.unwrap().unwrap();
    let exam = exam.exam.parse().unwrap();
    assert!(validate_exam(&exam, &ExamSpec::practice()).is_valid());
    let kept = stems(exam.questions.iter().map(|q| q.question.clone()));
    // Items without the cue are never sent back: every one of them saved by the first attempt is in the exam.
    let uncued: Vec<_> = saved.iter().filter(|i| !key_is_strictly_longest(&i.question)).collect();
    assert!(!uncued.is_empty() && uncued.iter().all(|i| kept.contains(&i.question.question)));
    assert!(second.load_checkpoint(&job.id).await.unwrap().is_empty(), "the finished job left no checkpoint");
    sim.shutdown().await.unwrap();
}

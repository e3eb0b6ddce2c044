//! The generator over real HTTP against the simulator: full exams under random faults, repairs of refused items,
//! answer keys rebalanced in code, the answer-length cue removed, and the queue handler storing an exam with its
//! job's completion.
#![cfg(all(feature = "simulator", feature = "sqlite", feature = "claude"))]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use pregen_core::ErrorCode;
use pregen_core::SystemClock;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig, RetryConfig};
use pregen_core::exam::{Exam, ExamSpec, ExamType, key_is_strictly_longest, length_cue_limit, validate_exam};
use pregen_core::generate::{
    GenerateError, GenerateHandler, Generator, GeneratorConfig, LENGTH_CUE_REASON, length_cue_target,
};
use pregen_core::policy::Policy;
use pregen_core::queue::{JobKey, JobState, QueueOptions};
use pregen_core::simulator::{DEFAULT_API_KEY, FaultPlan, Simulator, SimulatorConfig, SimulatorHandle};
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{ExamStore, JobStore, UserId};
use pregen_core::worker::{Runner, drain};

async fn simulator(faults: &str) -> SimulatorHandle {
    let config = SimulatorConfig::builder()
        .seed(11)
        .faults(faults.parse::<FaultPlan>().unwrap())
        .hang_for(Duration::from_secs(3))
        .fault_retry_after(Duration::from_millis(200))
        .build()
        .unwrap();
    Simulator::start(config).await.unwrap()
}

fn client(sim: &SimulatorHandle) -> ClaudeClient {
    client_with_retries(sim, 2)
}

/// A client with short waits and `max_retries` retries per request.
fn client_with_retries(sim: &SimulatorHandle, max_retries: u32) -> ClaudeClient {
    let retry = RetryConfig {
        max_retries,
        initial_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(5),
    };
    let config = ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY))
        .with_base_url(sim.url())
        .with_retry(retry)
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(1));
    ClaudeClient::new(config).unwrap()
}

fn length_cue(exam: &Exam) -> usize {
    exam.questions.iter().filter(|q| key_is_strictly_longest(q)).count()
}

fn key_positions(exam: &pregen_core::exam::Exam) -> [usize; 4] {
    let mut counts = [0; 4];
    for q in &exam.questions {
        counts[q.options.iter().position(|o| *o == q.correct_answer).unwrap()] += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_exams_come_out_valid_while_a_fifth_of_requests_fault() {
    let faults = "429=0.03,529=0.03,500=0.03,408=0.01,hang=0.01,reset=0.02,malformed=0.02,max_tokens=0.02,bad_items=0.01,\
                  duplicates=0.01,wrong_count=0.01,seed=5";
    let sim = simulator(faults).await;
    // A transient failure that outlasts the client's retries ends the attempt (the queue retries it later); with
    // a sixth of requests failing transiently, five tries per request make that vanishingly rare here.
    let generator = Generator::new(client_with_retries(&sim, 4), GeneratorConfig::default()).unwrap();
    for exam_type in ExamType::ALL {
        let made = generator.generate(exam_type, 42).await.unwrap();
        let spec = ExamSpec::builtin(exam_type);
        let report = validate_exam(&made.exam, &spec);
        assert!(report.is_valid(), "{exam_type}: {:?}", report.problems);
        assert_eq!(made.exam.questions.len(), spec.item_count as usize);
        assert!(made.exam.questions.iter().all(|q| q.question.starts_with("[simulated]")));
        // The simulator puts 80% of keys at B; the exam's keys are spread by the shuffle in code.
        let positions = key_positions(&made.exam);
        let n = made.exam.questions.len();
        assert!(positions.iter().all(|&c| c * 100 >= n * 15 && c * 100 <= n * 35), "{positions:?}");
        assert!(made.usage.requests >= (n / 10) as u64);
        assert!(made.usage.cost.total_usd > 0.0);
        assert!(length_cue(&made.exam) <= length_cue_limit(n), "{exam_type}: the answer-length cue is gone");
    }
    let log = sim.log();
    let faulted = log.iter().filter(|r| r.fault.is_some()).count();
    assert!(faulted * 100 >= log.len() * 10, "faults were really injected: {faulted} of {}", log.len());
    // Every request after the first carried a cache hit on the shared system prompt.
    assert!(log.iter().filter(|r| r.cache_read_input_tokens > 0).count() > log.len() / 2);
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_refused_items_are_asked_for_again() {
    // Every request of the first round gets bad items; the repair round asks only for those.
    let sim =
        simulator("script:bad_items,bad_items,bad_items,bad_items,bad_items,bad_items,bad_items,bad_items").await;
    let generator = Generator::new(client(&sim), GeneratorConfig::default()).unwrap();
    let made = generator.generate(ExamType::Diagnostic, 3).await.unwrap();
    assert!(made.rounds >= 2);
    assert!(!made.refused.is_empty(), "refusals are counted by rule");
    let log = sim.log();
    let first_round_items: u64 = log.iter().take(8).map(|r| r.items.unwrap_or(0) as u64).sum();
    let later_items: u64 = log.iter().skip(8).map(|r| r.items.unwrap_or(0) as u64).sum();
    assert_eq!(first_round_items, 71);
    assert!(later_items < 71, "the repair asked only for what was refused ({later_items} items)");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_longer_than_their_distractors_are_sent_back_until_the_cue_is_gone() {
    // The first round's replies ignore the request for similar lengths: every key is the strictly longest option,
    // far over what chance allows. The repair sends back the excess and asks for it again.
    for (exam_type, seed) in [(ExamType::Diagnostic, 1), (ExamType::Diagnostic, 2), (ExamType::Practice, 3)] {
        let n = ExamSpec::builtin(exam_type).item_count as usize;
        let first_round = vec!["length_cue"; n.div_ceil(10)].join(",");
        let sim = simulator(&format!("script:{first_round}")).await;
        let generator = Generator::new(client(&sim), GeneratorConfig::default()).unwrap();
        let made = generator.generate(exam_type, seed).await.unwrap();
        let sent_back = made.refused.get(LENGTH_CUE_REASON).copied().unwrap_or(0);
        assert!(sent_back >= n - length_cue_limit(n), "{exam_type} {seed}: {:?}", made.refused);
        assert!(made.rounds >= 2);
        assert!(length_cue(&made.exam) <= length_cue_limit(n));
        assert!(validate_exam(&made.exam, &ExamSpec::builtin(exam_type)).is_valid());
        // What was asked for again: exactly the items sent back (no other refusals without faults).
        let written: usize = sim.log().iter().filter_map(|r| r.items).sum();
        assert_eq!(written, n + sent_back, "{exam_type} {seed}");
        sim.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cue_left_when_the_rounds_run_out_is_a_failure_that_says_so() {
    let sim = simulator("length_cue=1").await;
    let config = GeneratorConfig { max_repair_rounds: 1, ..GeneratorConfig::default() };
    let generator = Generator::new(client(&sim), config).unwrap();
    let err = generator.generate(ExamType::Practice, 5).await.unwrap_err();
    match &err {
        GenerateError::Incomplete { missing, rounds, reasons, .. } => {
            assert_eq!(*rounds, 2);
            assert_eq!(*missing, 225 - length_cue_target(225), "sent back after the last round, not assembled");
            assert!(reasons[LENGTH_CUE_REASON] > *missing, "sent back twice: {reasons:?}");
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("answer_length_cue x"), "{err}");
    assert!(err.is_retryable());
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_asks_for_options_of_similar_length() {
    let sim = simulator("").await;
    let generator = Generator::new(client(&sim), GeneratorConfig::default()).unwrap();
    let made = generator.generate(ExamType::Practice, 9).await.unwrap();
    assert!(length_cue(&made.exam) <= length_cue_limit(225));
    let chunk = pregen_core::generate::plan_chunks(&ExamSpec::practice().slots(), &[0, 1], 10, 1).remove(0);
    let request = serde_json::to_value(generator.request(ExamType::Practice, &chunk)).unwrap();
    let message = request["messages"][0]["content"].as_str().unwrap();
    assert!(message.contains("must not be the longest"), "{message}");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hopeless_api_error_fails_at_once_with_its_code() {
    let sim = simulator("").await;
    let bad_key = ClaudeConfig::new(ApiKey::new("wrong-key")).with_base_url(sim.url());
    let generator = Generator::new(ClaudeClient::new(bad_key).unwrap(), GeneratorConfig::default()).unwrap();
    let err = generator.generate(ExamType::Diagnostic, 1).await.unwrap_err();
    assert!(matches!(err, GenerateError::Api(_)));
    assert_eq!(err.code(), "claude.authentication");
    assert!(!err.is_retryable());
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handler_stores_the_exam_with_its_jobs_completion() {
    let sim = simulator("").await;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("g.db"), SqliteOptions::default()).await.unwrap();
    let generator = Arc::new(Generator::new(client(&sim), GeneratorConfig::default()).unwrap());
    let policy = Policy::default();
    let handler = GenerateHandler::new(generator, Arc::new(store.clone()), policy, Arc::new(SystemClock));
    let options = QueueOptions::default();
    let runner = Runner::new(Arc::new(store.clone()), Arc::new(handler), options, Arc::new(SystemClock));
    let job = store.enqueue(&JobKey::new("user-1", ExamType::Diagnostic), Utc::now(), &options).await.unwrap().job;
    let report = drain(&runner, Duration::from_secs(60), 1, "test").await;
    assert_eq!(report.succeeded, 1);
    let done = store.get_job(&job.id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    let stats = store.analytics(Utc::now(), &policy).await.unwrap();
    assert_eq!(stats.total_generated, 1);
    let claim =
        store.claim_exam(&UserId::parse("user-1").unwrap(), ExamType::Diagnostic, Utc::now()).await.unwrap();
    let claim = claim.unwrap();
    assert!(validate_exam(&claim.exam.parse().unwrap(), &ExamSpec::diagnostic()).is_valid());

    // A second job for a user whose stock is full does nothing, and stores nothing.
    let again = store.enqueue(&JobKey::new("user-2", ExamType::Practice), Utc::now(), &options).await.unwrap().job;
    drain(&runner, Duration::from_secs(60), 1, "test").await;
    let requests_before = sim.log().len();
    let third = store.enqueue(&JobKey::new("user-2", ExamType::Practice), Utc::now(), &options).await.unwrap().job;
    assert_ne!(third.id, again.id);
    drain(&runner, Duration::from_secs(60), 1, "test").await;
    assert_eq!(sim.log().len(), requests_before, "stock was full: no request sent");
    assert_eq!(store.get_job(&third.id).await.unwrap().unwrap().state, JobState::Succeeded);
    assert_eq!(store.analytics(Utc::now(), &policy).await.unwrap().total_generated, 2);
    sim.shutdown().await.unwrap();
}

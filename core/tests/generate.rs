//! The generator over real HTTP against the simulator: full exams under random faults, repairs of refused items,
//! answer keys rebalanced in code, and the queue handler storing an exam with its job's completion.
#![cfg(all(feature = "simulator", feature = "sqlite", feature = "claude"))]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use pregen_core::ErrorCode;
use pregen_core::SystemClock;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig, RetryConfig};
use pregen_core::exam::{ExamSpec, ExamType, validate_exam};
use pregen_core::generate::{GenerateError, GenerateHandler, Generator, GeneratorConfig};
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
    let retry = RetryConfig {
        max_retries: 2,
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
    let generator = Generator::new(client(&sim), GeneratorConfig::default()).unwrap();
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
    assert!(validate_exam(&claim.exam, &ExamSpec::diagnostic()).is_valid());

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

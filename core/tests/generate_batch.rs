//! Batch mode end to end against the simulator: submit, collect in a later call (errored and expired results
//! repaired directly), exams stored with their jobs' completion, and a batch collected only once.
#![cfg(all(feature = "simulator", feature = "sqlite", feature = "claude"))]

use std::time::Duration;

use chrono::Utc;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig};
use pregen_core::exam::{ExamSpec, ExamType, validate_exam};
use pregen_core::generate::{Generator, GeneratorConfig};
use pregen_core::policy::{BankPolicy, Policy};
use pregen_core::queue::{JobKey, JobState, QueueOptions};
use pregen_core::simulator::{BatchSettings, DEFAULT_API_KEY, Simulator, SimulatorConfig};
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{BatchStore, ExamStore, JobStore, UserId};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_submitted_then_collected_once_with_repairs() {
    let batch = BatchSettings {
        processing_time: Duration::from_millis(300),
        errored_fraction: 0.1,
        expired_fraction: 0.1,
    };
    let sim = Simulator::start(SimulatorConfig::builder().seed(3).batch(batch).build().unwrap()).await.unwrap();
    let client =
        ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url())).unwrap();
    let generator = Generator::new(client, GeneratorConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("b.db"), SqliteOptions::default()).await.unwrap();
    let (policy, options) = (Policy::default(), QueueOptions::default());
    let bank = BankPolicy::default();
    let mut jobs = Vec::new();
    for (user, exam_type) in
        [("u1", ExamType::Diagnostic), ("u1", ExamType::Practice), ("u2", ExamType::Diagnostic)]
    {
        jobs.push(store.enqueue(&JobKey::new(user, exam_type), Utc::now(), &options).await.unwrap().job);
    }

    let sent = generator.submit_batch(&store, &policy, &bank, &options, 10, Utc::now()).await.unwrap().unwrap();
    assert_eq!(sent.jobs, 3);
    assert_eq!(sent.requests, 8 + 23 + 8, "the first round of each exam, one request per chunk");
    assert_eq!(store.count_open_batches().await.unwrap(), 1);
    for job in &jobs {
        let held = store.get_job(&job.id).await.unwrap().unwrap();
        assert_eq!(held.state, JobState::Running);
        assert!(held.lease.unwrap().holder.starts_with("batch:"));
    }
    // Nothing else can claim them while the batch runs.
    assert!(store.claim_jobs("worker", 10, Utc::now(), &options).await.unwrap().is_empty());
    assert!(generator.submit_batch(&store, &policy, &bank, &options, 10, Utc::now()).await.unwrap().is_none());

    // Collect until the batch has ended (bounded); two collectors at once never both take it.
    let mut collected = 0;
    for _ in 0..100 {
        let (a, b) = tokio::join!(
            generator.collect_batches(&store, &policy, &bank, &options, Utc::now()),
            generator.collect_batches(&store, &policy, &bank, &options, Utc::now())
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a.collected + b.collected <= 1, "a batch is collected by one collector only");
        collected += a.collected + b.collected;
        if collected > 0 {
            assert_eq!(a.exams + b.exams, 3);
            assert!(a.usage.batch_requests + b.usage.batch_requests > 0);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(collected, 1);
    assert_eq!(store.count_open_batches().await.unwrap(), 0);

    for job in &jobs {
        assert_eq!(store.get_job(&job.id).await.unwrap().unwrap().state, JobState::Succeeded);
    }
    let stats = store.analytics(Utc::now(), &policy).await.unwrap();
    assert_eq!(stats.total_generated, 3);
    for (user, exam_type) in [("u1", ExamType::Practice), ("u2", ExamType::Diagnostic)] {
        let claim = store.claim_exam(&UserId::parse(user).unwrap(), exam_type, Utc::now()).await.unwrap().unwrap();
        assert!(validate_exam(&claim.exam.parse().unwrap(), &ExamSpec::builtin(exam_type)).is_valid());
    }
    // Errored and expired results were repaired with direct requests.
    let direct = sim.log().iter().filter(|r| r.path == "/v1/messages").count();
    assert!(direct > 0, "repairs went through the Messages API");
    sim.shutdown().await.unwrap();
}

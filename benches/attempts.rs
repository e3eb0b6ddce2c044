//! What a failed or cut-short attempt costs, measured through the service's core API against the simulator.
//!
//! (1) Requests per failed attempt against a server that answers 503 to every message request: one attempt of
//! each exam type through the generator, and one job of each type worked by the service's drain until the queue
//! gives up on it (time between attempts is moved on with a manual clock). The client keeps its defaults (the
//! SDKs' 2 retries, 0.5 s doubling backoff), so the bound is chunks x 3 requests per attempt.
//!
//! (2) Sweeps a practice exam needs at Claude Haiku's pace (0.5 s + 150 output tokens/s) with the default sweep
//! budget of 50 s: one active user, nothing in stock, `PreGen::sweep` called again and again. Time is compressed
//! x10 in the simulator, and the budget with it (5 real seconds stand for 50), so every figure is in simulated time.
//!
//! Run: `cargo bench -p pregen-benches --bench attempts` (about two minutes).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig};
use pregen_core::config::{PreGenConfig, SweepMode};
use pregen_core::exam::ExamType;
use pregen_core::generate::{Generator, GeneratorConfig};
use pregen_core::queue::{JobState, QueueOptions};
use pregen_core::service::{PreGen, Trigger};
use pregen_core::simulator::{
    DEFAULT_API_KEY, FaultPlan, LatencyModel, LoggedRequest, Simulator, SimulatorConfig, SimulatorHandle,
};
use pregen_core::store::UserId;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::{Clock, ManualClock, SystemClock};

/// Simulated seconds per real second in the sweep measurement.
const TIME_FACTOR: f64 = 10.0;
/// The default sweep budget, in simulated time.
const SWEEP_BUDGET: Duration = Duration::from_secs(50);
/// Sweeps tried before a practice exam is called never made.
const MAX_SWEEPS: usize = 12;
/// Drains tried before a job of the 503 run is called stuck.
const MAX_DRAINS: usize = 12;

async fn simulator(config: SimulatorConfig) -> SimulatorHandle {
    Simulator::start(config).await.expect("simulator")
}

fn client(sim: &SimulatorHandle) -> ClaudeClient {
    ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url())).expect("client")
}

fn message_requests(sim: &SimulatorHandle) -> Vec<LoggedRequest> {
    sim.log().into_iter().filter(|r| r.path == "/v1/messages").collect()
}

async fn store(dir: &tempfile::TempDir, name: &str) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(dir.path().join(name), SqliteOptions::default()).await.expect("open"))
}

/// (1) One attempt, then one job, of each type against an always-503 server.
async fn always_503() {
    let config = SimulatorConfig::builder().seed(3).faults("503=1".parse::<FaultPlan>().expect("plan"));
    let sim = simulator(config.build().expect("config")).await;
    let generator_config = GeneratorConfig::default();
    let generator = Arc::new(Generator::new(client(&sim), generator_config.clone()).expect("generator"));
    let retries = client(&sim).config().retry.max_retries;
    println!(
        "(1) always-503 server; client retries {retries} (SDK default), {} items per request, {} repair rounds, \
         {} requests of an exam at once",
        generator_config.items_per_chunk, generator_config.max_repair_rounds, generator_config.concurrency
    );
    for exam_type in ExamType::ALL {
        let chunks = generator_config.spec(exam_type).item_count.div_ceil(generator_config.items_per_chunk as u32);
        sim.clear_log();
        let start = Instant::now();
        let error = generator.generate(exam_type, 1).await.expect_err("every request fails");
        let requests = message_requests(&sim).len();
        println!(
            "  one {exam_type} attempt: {requests} requests in {:.1} s, then {} (bound {chunks} chunks x {} = {})",
            start.elapsed().as_secs_f64(),
            pregen_core::ErrorCode::code(&error),
            1 + retries,
            chunks * (1 + retries)
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut config = PreGenConfig::default();
    config.sweep.concurrency = 1;
    let service =
        PreGen::new(store(&dir, "503.db").await, Some(generator), config, clock.clone() as Arc<dyn Clock>)
            .expect("service");
    let attempts = QueueOptions::default().retry.max_attempts;
    for exam_type in ExamType::ALL {
        sim.clear_log();
        let user = UserId::parse(&format!("user-503-{exam_type}")).expect("id");
        let triggered = service.trigger(&user, Trigger::Types(vec![exam_type])).await.expect("trigger");
        let job_id = triggered.jobs[0].job_id.clone().expect("queued");
        let mut drains = 0;
        let state = loop {
            drains += 1;
            service.drain(Duration::from_secs(600)).await.expect("drain");
            let job = service.store().get_job(&pregen_core::queue::JobId(job_id.clone())).await.expect("get");
            let state = job.expect("job").state;
            if state.is_finished() || drains >= MAX_DRAINS {
                break state;
            }
            clock.advance(TimeDelta::hours(1));
        };
        println!(
            "  one {exam_type} job ({attempts} attempts at most): {} requests, ended {}",
            message_requests(&sim).len(),
            if state == JobState::Dead { "dead" } else { state.as_str() }
        );
    }
    sim.shutdown().await.expect("shutdown");
}

/// (2) Sweeps until one user's practice exam is made, at Haiku's pace with the default budget.
async fn sweeps_at_haiku_pace() {
    let config = SimulatorConfig::builder().seed(5).latency(LatencyModel::haiku()).time_factor(TIME_FACTOR);
    let sim = simulator(config.build().expect("config")).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(&dir, "sweeps.db").await;
    let generator = Arc::new(Generator::new(client(&sim), GeneratorConfig::default()).expect("generator"));
    let mut config = PreGenConfig::default();
    config.sweep.mode = SweepMode::Direct;
    config.sweep.budget = SWEEP_BUDGET.div_f64(TIME_FACTOR);
    let service = PreGen::new(store, Some(generator), config, Arc::new(SystemClock)).expect("service");
    let user = UserId::parse("user-haiku").expect("id");
    service.store().record_activity(&user, Utc::now()).await.expect("activity");
    println!(
        "(2) one active user with nothing in stock; simulator at Claude Haiku's pace, time x{TIME_FACTOR}; sweep \
         budget {} s simulated ({:.1} s real), default generator and queue",
        SWEEP_BUDGET.as_secs(),
        SWEEP_BUDGET.as_secs_f64() / TIME_FACTOR
    );
    let mut made: BTreeMap<ExamType, usize> = BTreeMap::new();
    let mut seen = 0;
    for sweep in 1..=MAX_SWEEPS {
        let report = service.sweep().await.expect("sweep");
        let log = message_requests(&sim);
        let new = &log[seen..];
        seen = log.len();
        let items: usize = new.iter().filter_map(|r| r.items).sum();
        let mut stocked = Vec::new();
        for exam_type in ExamType::ALL {
            let stock = service
                .store()
                .stock(&user, exam_type, Utc::now(), &service.config().policy)
                .await
                .expect("stock");
            if stock > 0 {
                made.entry(exam_type).or_insert(sweep);
                stocked.push(exam_type.to_string());
            }
        }
        let status = service.queue_status().await.expect("status");
        println!(
            "  sweep {sweep}: {} requests asking for {items} items; completed {}, failed {}, budget spent {}; \
             in stock: {}; queue: {}",
            new.len(),
            report.completed,
            report.failed,
            report.budget_spent,
            if stocked.is_empty() { "nothing".to_owned() } else { stocked.join(", ") },
            serde_json::to_string(&status.counts).expect("json")
        );
        if made.len() == ExamType::ALL.len() || status.counts.pending + status.counts.retry_wait == 0 {
            break;
        }
    }
    for exam_type in ExamType::ALL {
        match made.get(&exam_type) {
            Some(n) => println!("  {exam_type} exam made in sweep {n}"),
            None => println!("  {exam_type} exam: never made"),
        }
    }
    sim.shutdown().await.expect("shutdown");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        always_503().await;
        sweeps_at_haiku_pace().await;
    });
}

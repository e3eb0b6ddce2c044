//! EXPERIMENT version (scratch): env knobs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig, MessageRequest, SystemBlock};
use pregen_core::exam::{Exam, ExamSpec, ExamType};
use pregen_core::generate::{Generator, GeneratorConfig};
use pregen_core::prompt::{self, ChunkBrief, TOOL_NAME};
use pregen_core::simulator::{
    DEFAULT_API_KEY, FaultPlan, LatencyModel, RateLimits, Simulator, SimulatorConfig, SimulatorHandle,
};

const RPM: u64 = 50;
const OTPM: u64 = 40_000;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn simulator(tf: f64, faults: FaultPlan) -> SimulatorHandle {
    let limits = RateLimits {
        requests_per_minute: Some(RPM),
        input_tokens_per_minute: None,
        output_tokens_per_minute: Some(OTPM),
    };
    let config = SimulatorConfig::builder()
        .seed(21)
        .latency(LatencyModel::haiku())
        .time_factor(tf)
        .rate_limits(limits)
        .faults(faults)
        .build()
        .expect("config");
    Simulator::start(config).await.expect("simulator")
}

fn client(sim: &SimulatorHandle) -> ClaudeClient {
    ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url())).expect("client")
}

fn accepted_tokens(exam: &Exam) -> u64 {
    exam.questions
        .iter()
        .map(|q| {
            let draft = serde_json::json!({"knId": q.kn_id, "question": q.question, "options": q.options,
                "correct_answer": q.correct_answer, "explanation": q.explanation, "difficulty": q.difficulty});
            (serde_json::to_string(&draft).expect("json").chars().count() as u64).div_ceil(4)
        })
        .sum()
}

async fn ours() {
    let tf: f64 = env("TF", 600.0);
    let exams: usize = env("EXAMS", 200);
    let parallel: usize = env("PAR", 12);
    let mut config = GeneratorConfig::default();
    config.max_tokens_per_item = env("PER_ITEM", config.max_tokens_per_item);
    config.max_tokens_margin = env("MARGIN", config.max_tokens_margin);
    config.items_per_chunk = env("CHUNK", config.items_per_chunk);
    config.concurrency = env("CONC", config.concurrency);
    let faults: FaultPlan = std::env::var("FAULTS").unwrap_or_default().parse().expect("faults");
    println!(
        "tf {tf} exams {exams} par {parallel} per_item {} margin {} chunk {} conc {} faults {faults:?}",
        config.max_tokens_per_item, config.max_tokens_margin, config.items_per_chunk, config.concurrency
    );
    let sim = simulator(tf, faults).await;
    let client = client(&sim);
    let generator = Arc::new(Generator::new(client.clone(), config).expect("generator"));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let client = client.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let (mut n, mut inflight, mut reserved) = (0u64, 0f64, 0f64);
            while !stop.load(Ordering::Relaxed) {
                if let Some(s) = client.limiter_snapshot() {
                    n += 1;
                    inflight += s.in_flight as f64;
                    reserved += s.output_tokens.reserved as f64;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (inflight / n.max(1) as f64, reserved / n.max(1) as f64)
        })
    };
    let start = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..exams)
        .map(|i| {
            let generator = Arc::clone(&generator);
            async move {
                let exam_type = if i % 2 == 0 { ExamType::Diagnostic } else { ExamType::Practice };
                generator.generate(exam_type, i as u64).await
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    let minutes = start.elapsed().as_secs_f64() * tf / 60.0;
    stop.store(true, Ordering::Relaxed);
    let (mean_inflight, mean_reserved) = sampler.await.unwrap();
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let log = sim.log();
    let billed: u64 = log.iter().map(|r| r.output_tokens).sum();
    let accepted: u64 = ok.iter().map(|g| accepted_tokens(&g.exam)).sum();
    let throttled = log.iter().filter(|r| r.status == Some(429)).count();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for g in &ok {
        for (k, v) in &g.refused {
            *reasons.entry(k.clone()).or_default() += v;
        }
    }
    let multi = ok.iter().filter(|g| g.rounds > 1).count();
    println!(
        "  ok {} failed {} ({:?}) in {minutes:.1} sim min, real {:.1}s",
        ok.len(),
        failed.len(),
        failed.first().map(|e| e.to_string()),
        start.elapsed().as_secs_f64()
    );
    println!(
        "  accepted/min {:.0} = {:.1}%; billed/min {:.0} = {:.1}%",
        accepted as f64 / minutes,
        100.0 * accepted as f64 / minutes / OTPM as f64,
        billed as f64 / minutes,
        100.0 * billed as f64 / minutes / OTPM as f64
    );
    println!(
        "  requests {} = {:.1}/min, 429 {throttled} = {:.2}%",
        log.len(),
        log.len() as f64 / minutes,
        100.0 * throttled as f64 / log.len().max(1) as f64
    );
    println!(
        "  billed/accepted {:.3}; exams needing repair {multi}; reasons {reasons:?}",
        billed as f64 / accepted.max(1) as f64
    );
    println!(
        "  mean in flight {mean_inflight:.2}, mean reserved output {mean_reserved:.0}; limiter {:?}",
        client.limiter_snapshot().map(|s| (s.admitted, s.held, s.rate_limited))
    );
    sim.shutdown().await.expect("shutdown");
}

async fn baseline() {
    let tf: f64 = env("TF", 600.0);
    let n: usize = env("BASE", 0);
    if n == 0 {
        return;
    }
    let sim = simulator(tf, FaultPlan::None).await;
    let client = client(&sim);
    let start = Instant::now();
    let mut got_by_type: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let exam_type = if i % 2 == 0 { ExamType::Diagnostic } else { ExamType::Practice };
        let spec = ExamSpec::builtin(exam_type);
        let brief = ChunkBrief { items: spec.slots().iter().map(|s| s.kn).collect(), variation: i as u64 };
        let request = MessageRequest::new("claude-haiku-4-5", 16_000)
            .system(SystemBlock::cached(prompt::system_prompt()))
            .tool(prompt::tool_definition())
            .tool_choice(prompt::tool_choice())
            .user(brief.user_message());
        let reply = client.create_message(&request).await.expect("reply");
        let got = reply
            .tool_input(TOOL_NAME)
            .and_then(|v| v.get("questions"))
            .and_then(|q| q.as_array())
            .map_or(0, |a| a.iter().filter(|item| item.get("explanation").is_some()).count());
        got_by_type.entry(exam_type.as_str()).or_default().push(got);
    }
    let minutes = start.elapsed().as_secs_f64() * tf / 60.0;
    let log = sim.log();
    let billed: u64 = log.iter().map(|r| r.output_tokens).sum();
    println!("baseline {n}: {got_by_type:?}; {minutes:.1} sim min; billed/min {:.0}", billed as f64 / minutes);
    sim.shutdown().await.expect("shutdown");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        if env("OURS", 1) == 1 {
            ours().await;
        }
        baseline().await;
    });
}

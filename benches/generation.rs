//! 200 exams generated against a simulator limited to 50 requests and 40,000 output tokens per minute
//! (time-compressed): throughput against what the limit allows, the share of 429s, and output tokens billed per
//! token of accepted items; beside the old way, one 16k-token request per exam, one exam at a time.
//!
//! Run: `cargo bench -p pregen-benches --bench generation`

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig, MessageRequest, SystemBlock};
use pregen_core::exam::{Exam, ExamSpec, ExamType};
use pregen_core::generate::{Generator, GeneratorConfig};
use pregen_core::prompt::{self, ChunkBrief, TOOL_NAME};
use pregen_core::simulator::{
    DEFAULT_API_KEY, LatencyModel, RateLimits, Simulator, SimulatorConfig, SimulatorHandle,
};

const EXAMS: usize = 200;
const RPM: u64 = 50;
const OTPM: u64 = 40_000;
/// Simulated seconds per real second.
const TIME_FACTOR: f64 = 600.0;
/// Exams generated at once, sharing one client (and so one rate limiter).
const PARALLEL_EXAMS: usize = 12;
/// Exams the old way is run for (it completes none, so a few show its yield).
const BASELINE_EXAMS: usize = 10;

async fn simulator() -> SimulatorHandle {
    let limits = RateLimits {
        requests_per_minute: Some(RPM),
        input_tokens_per_minute: None,
        output_tokens_per_minute: Some(OTPM),
    };
    let config = SimulatorConfig::builder()
        .seed(21)
        .latency(LatencyModel::haiku())
        .time_factor(TIME_FACTOR)
        .rate_limits(limits)
        .build()
        .expect("config");
    Simulator::start(config).await.expect("simulator")
}

fn client(sim: &SimulatorHandle) -> ClaudeClient {
    ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url())).expect("client")
}

/// Output tokens of an item as the model writes it in the tool input (the simulator counts ceil(chars / 4)).
fn accepted_tokens(exam: &Exam) -> u64 {
    exam.questions
        .iter()
        .map(|q| {
            let draft = serde_json::json!({"knId": q.kn_id, "question": q.question, "options": q.options,
                "correct_answer": q.correct_answer, "explanation": q.explanation, "difficulty": q.difficulty});
            (serde_json::to_string(&draft).expect("json").len() as u64).div_ceil(4)
        })
        .sum()
}

fn simulated_minutes(real: Duration) -> f64 {
    real.as_secs_f64() * TIME_FACTOR / 60.0
}

async fn ours() {
    let sim = simulator().await;
    let generator = Arc::new(Generator::new(client(&sim), GeneratorConfig::default()).expect("generator"));
    let start = Instant::now();
    let results: Vec<Exam> = futures::stream::iter(0..EXAMS)
        .map(|i| {
            let generator = Arc::clone(&generator);
            async move {
                let exam_type = if i % 2 == 0 { ExamType::Diagnostic } else { ExamType::Practice };
                generator.generate(exam_type, i as u64).await.expect("exam").exam
            }
        })
        .buffer_unordered(PARALLEL_EXAMS)
        .collect()
        .await;
    let minutes = simulated_minutes(start.elapsed());
    let log = sim.log();
    let billed: u64 = log.iter().map(|r| r.output_tokens).sum();
    let accepted: u64 = results.iter().map(accepted_tokens).sum();
    let throttled = log.iter().filter(|r| r.status == Some(429)).count();
    let items: usize = results.iter().map(|e| e.questions.len()).sum();
    println!("ours: {EXAMS} exams (half diagnostic, half practice), {PARALLEL_EXAMS} at once, one shared client:");
    println!("  {} complete, valid exams ({items} items) in {minutes:.1} simulated minutes", results.len());
    println!(
        "  accepted output tokens per minute: {:.0} of {OTPM} allowed = {:.1}%",
        accepted as f64 / minutes,
        100.0 * accepted as f64 / minutes / OTPM as f64
    );
    println!(
        "  billed output tokens per minute: {:.0} = {:.1}% of the limit",
        billed as f64 / minutes,
        100.0 * billed as f64 / minutes / OTPM as f64
    );
    println!(
        "  requests {}, 429 responses {throttled} = {:.2}%",
        log.len(),
        100.0 * throttled as f64 / log.len().max(1) as f64
    );
    println!(
        "  output tokens billed per accepted token: {:.3} ({billed} billed, {accepted} in accepted items)",
        billed as f64 / accepted as f64
    );
    println!("  exams per simulated minute: {:.2}", results.len() as f64 / minutes);
    sim.shutdown().await.expect("shutdown");
}

/// The old way: one request for the whole exam with `max_tokens` 16,000, one exam at a time.
async fn baseline() {
    let sim = simulator().await;
    let client = client(&sim);
    let start = Instant::now();
    let (mut items, mut complete) = (0usize, 0usize);
    for i in 0..BASELINE_EXAMS {
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
        items += got;
        complete += usize::from(got == spec.item_count as usize);
    }
    let minutes = simulated_minutes(start.elapsed());
    let log = sim.log();
    let billed: u64 = log.iter().map(|r| r.output_tokens).sum();
    println!(
        "baseline (the old way): one 16k-token request per exam, one exam at a time, {BASELINE_EXAMS} exams:"
    );
    println!(
        "  {complete} complete exams; {:.1} items per exam on average (of 71 / 225 asked for)",
        items as f64 / BASELINE_EXAMS as f64
    );
    println!(
        "  billed output tokens per minute: {:.0} = {:.1}% of the limit; complete exams per simulated minute: {:.2}",
        billed as f64 / minutes,
        100.0 * billed as f64 / minutes / OTPM as f64,
        complete as f64 / minutes
    );
    sim.shutdown().await.expect("shutdown");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        println!("simulator: {RPM} requests and {OTPM} output tokens per minute, Haiku pace, time x{TIME_FACTOR}");
        ours().await;
        baseline().await;
    });
}

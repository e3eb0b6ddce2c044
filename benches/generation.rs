//! 200 exams generated against a simulator limited to 50 requests and 40,000 output tokens per minute, at Claude
//! Haiku's pace, time-compressed: (1) accepted-item output tokens per simulated minute against the 40,000 the limit
//! allows (and requests against the 50 allowed), (2) 429 responses as a share of requests, (3) output tokens billed
//! per token of the accepted items. The same generation again with item faults injected (refused, repeated,
//! missing and cut-off items), so (3) measures real waste. Beside them, the old way: one request per exam asking
//! for every item with `max_tokens` 16,000, one exam at a time.
//!
//! Run: `cargo bench -p pregen-benches --bench generation` (about two minutes of real time). Simulated time is real
//! time x the time factor, 200 unless `GENERATION_TIME_FACTOR` says otherwise (a higher factor is faster but
//! makes timer and scheduling delays on a busy machine count for more simulated time, so figures drop a little).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig, MessageRequest, SystemBlock};
use pregen_core::exam::{Exam, ExamSpec, ExamType};
use pregen_core::generate::{GeneratedExam, Generator, GeneratorConfig};
use pregen_core::prompt::{self, ChunkBrief, DraftItem, TOOL_NAME};
use pregen_core::simulator::{
    DEFAULT_API_KEY, FaultPlan, LatencyModel, LoggedRequest, RateLimits, Simulator, SimulatorConfig,
    SimulatorHandle,
};

const EXAMS: usize = 200;
const RPM: u64 = 50;
const OTPM: u64 = 40_000;
/// Simulated seconds per real second, unless `GENERATION_TIME_FACTOR` is set.
const TIME_FACTOR: f64 = 200.0;
/// Exams generated at once, sharing one client (and so one rate limiter); each sends up to
/// `GeneratorConfig::concurrency` requests at once, far more than the output-token limit lets run.
const PARALLEL_EXAMS: usize = 12;
/// Exams of the run with item faults.
const FAULT_EXAMS: usize = 100;
/// Item faults per request: half the items break a rule, a repeated stem, one item too few or too many, a reply
/// cut off at `max_tokens` (billed in full). About one request in nine.
const ITEM_FAULTS: &str = "bad_items=0.05,duplicates=0.02,wrong_count=0.02,max_tokens=0.02";
/// Exams the old way is run for: every one is cut off at the same point, so more would only repeat the figures.
const BASELINE_EXAMS: usize = 20;
/// The old way's output budget for a whole exam.
const BASELINE_MAX_TOKENS: u32 = 16_000;

fn time_factor() -> f64 {
    std::env::var("GENERATION_TIME_FACTOR")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f > 0.0)
        .unwrap_or(TIME_FACTOR)
}

/// Half diagnostic, half practice, alternating.
fn exam_type(i: usize) -> ExamType {
    if i.is_multiple_of(2) { ExamType::Diagnostic } else { ExamType::Practice }
}

async fn simulator(time_factor: f64, faults: FaultPlan) -> SimulatorHandle {
    let limits = RateLimits {
        requests_per_minute: Some(RPM),
        input_tokens_per_minute: None,
        output_tokens_per_minute: Some(OTPM),
    };
    let config = SimulatorConfig::builder()
        .seed(21)
        .latency(LatencyModel::haiku())
        .time_factor(time_factor)
        .rate_limits(limits)
        .faults(faults)
        .build()
        .expect("config");
    Simulator::start(config).await.expect("simulator")
}

fn client(sim: &SimulatorHandle) -> ClaudeClient {
    ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url())).expect("client")
}

/// Output tokens of an item as the model writes it in the tool input, counted as the simulator counts them
/// (ceil(chars / 4) of its JSON); shuffling the options does not change the count.
fn item_tokens(exam: &Exam) -> u64 {
    exam.questions
        .iter()
        .map(|q| {
            let draft = DraftItem {
                kn_id: q.kn_id.clone(),
                question: q.question.clone(),
                options: q.options.clone(),
                correct_answer: q.correct_answer.clone(),
                explanation: q.explanation.clone(),
                difficulty: q.difficulty.clone(),
            };
            (serde_json::to_string(&draft).expect("json").chars().count() as u64).div_ceil(4)
        })
        .sum()
}

fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

/// Samples the client's rate limiter until stopped: (mean requests in flight, mean output tokens reserved).
fn sample_limiter(client: ClaudeClient, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(f64, f64)> {
    tokio::spawn(async move {
        let (mut n, mut in_flight, mut reserved) = (0u64, 0.0, 0.0);
        while !stop.load(Ordering::Relaxed) {
            if let Some(s) = client.limiter_snapshot() {
                n += 1;
                in_flight += f64::from(s.in_flight);
                reserved += s.output_tokens.reserved as f64;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (in_flight / n.max(1) as f64, reserved / n.max(1) as f64)
    })
}

/// `exams` exams generated `PARALLEL_EXAMS` at a time through one client, against a simulator with `faults`.
async fn generate(title: &str, exams: usize, faults: FaultPlan, time_factor: f64) {
    let sim = simulator(time_factor, faults).await;
    let client = client(&sim);
    let config = GeneratorConfig::default();
    let generator = Arc::new(Generator::new(client.clone(), config.clone()).expect("generator"));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_limiter(client.clone(), stop.clone());
    let start = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..exams)
        .map(|i| {
            let generator = Arc::clone(&generator);
            async move { generator.generate(exam_type(i), i as u64).await }
        })
        .buffer_unordered(PARALLEL_EXAMS)
        .collect()
        .await;
    let real = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (mean_in_flight, mean_reserved) = sampler.await.expect("sampler");
    let minutes = real.as_secs_f64() * time_factor / 60.0;

    let exams_done: Vec<&GeneratedExam> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let failures: Vec<String> = results.iter().filter_map(|r| r.as_ref().err()).map(|e| e.to_string()).collect();
    let items: usize = exams_done.iter().map(|g| g.exam.questions.len()).sum();
    let accepted: u64 = exams_done.iter().map(|g| item_tokens(&g.exam)).sum();
    let log: Vec<LoggedRequest> = sim.log().into_iter().filter(|r| r.path == "/v1/messages").collect();
    let requests = log.len();
    let billed: u64 = log.iter().map(|r| r.output_tokens).sum();
    let throttled = log.iter().filter(|r| r.status == Some(429)).count();
    let retried = log.iter().filter(|r| r.retry_count.is_some_and(|n| n > 0)).count();
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for g in &exams_done {
        for (reason, n) in &g.refused {
            *reasons.entry(reason.as_str()).or_default() += n;
        }
    }
    // `missing_from_response` also counts the slots of refused items; `max_tokens` counts replies.
    let refused: usize = reasons
        .iter()
        .filter(|(r, _)| !matches!(**r, "missing_from_response" | "max_tokens") && !r.starts_with("claude."))
        .map(|(_, n)| n)
        .sum();
    let repaired = exams_done.iter().filter(|g| g.rounds > 1).count();
    let tokens_per_exam = accepted as f64 / exams_done.len().max(1) as f64;

    let share = 100.0 * accepted as f64 / minutes / OTPM as f64;
    let throttled_share = 100.0 * throttled as f64 / requests.max(1) as f64;
    let ratio = billed as f64 / accepted.max(1) as f64;
    println!("{title}:");
    println!(
        "  {} of {exams} exams complete and valid ({} items) in {minutes:.1} simulated minutes ({:.1} s real)",
        exams_done.len(),
        grouped(items as u64),
        real.as_secs_f64()
    );
    if let Some(first) = failures.first() {
        println!("  {} failed; the first: {first}", failures.len());
    }
    println!(
        "  (1) throughput: {} accepted-item output tokens per minute = {share:.1}% of the {} allowed \
         [target >= 90%: {}]",
        grouped((accepted as f64 / minutes) as u64),
        grouped(OTPM),
        verdict(share >= 90.0)
    );
    println!(
        "      {} output tokens billed per minute ({:.1}%); {:.1} requests per minute = {:.0}% of the {RPM} allowed \
         (not the binding limit)",
        grouped((billed as f64 / minutes) as u64),
        100.0 * billed as f64 / minutes / OTPM as f64,
        requests as f64 / minutes,
        100.0 * requests as f64 / minutes / RPM as f64
    );
    println!(
        "      {:.2} exams per minute; the limit allows {:.2} at {} output tokens per exam (this mix)",
        exams_done.len() as f64 / minutes,
        OTPM as f64 / tokens_per_exam,
        grouped(tokens_per_exam as u64)
    );
    println!(
        "  (2) 429 responses: {throttled} of {} requests = {throttled_share:.2}% [target <= 2%: {}]; \
         {retried} requests were retries",
        grouped(requests as u64),
        verdict(throttled_share <= 2.0)
    );
    println!(
        "  (3) output tokens billed per accepted-item token: {ratio:.3} ({} billed, {} in accepted items) \
         [target <= 1.1: {}]",
        grouped(billed),
        grouped(accepted),
        verdict(ratio <= 1.1)
    );
    if !reasons.is_empty() {
        println!(
            "      items refused by code: {refused}; replies cut off at max_tokens: {}; exams that needed a \
             repair round: {repaired}",
            reasons.get("max_tokens").copied().unwrap_or(0)
        );
        let listed: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
        println!("      reasons: {}", listed.join(", "));
    }
    let held = client.limiter_snapshot().map_or(0, |s| s.held);
    println!(
        "  client limiter: {mean_in_flight:.1} requests in flight on average, reserving {} output tokens \
         (max_tokens {} each); {} of {} requests waited for it",
        grouped(mean_reserved as u64),
        grouped(u64::from(config.max_tokens(config.items_per_chunk))),
        grouped(held),
        grouped(requests as u64)
    );
    sim.shutdown().await.expect("shutdown");
}

/// The old way: one request for the whole exam with `max_tokens` 16,000, one exam at a time.
async fn baseline(time_factor: f64) {
    let sim = simulator(time_factor, FaultPlan::None).await;
    let client = client(&sim);
    let mut received: BTreeMap<ExamType, Vec<usize>> = BTreeMap::new();
    let mut complete = 0;
    let start = Instant::now();
    for i in 0..BASELINE_EXAMS {
        let exam_type = exam_type(i);
        let spec = ExamSpec::builtin(exam_type);
        let brief = ChunkBrief {
            items: spec.slots().iter().map(|s| s.kn).collect(),
            variation: i as u64,
            balance_lengths: false,
        };
        let request = MessageRequest::new("claude-haiku-4-5", BASELINE_MAX_TOKENS)
            .system(SystemBlock::cached(prompt::system_prompt()))
            .tool(prompt::tool_definition())
            .tool_choice(prompt::tool_choice())
            .user(brief.user_message());
        let reply = client.create_message(&request).await.expect("reply");
        // Whole items only: the last one of a cut-off reply stops mid-stem.
        let got = reply
            .tool_input(TOOL_NAME)
            .and_then(|v| v.get("questions"))
            .and_then(|q| q.as_array())
            .map_or(0, |a| {
                a.iter().filter(|item| serde_json::from_value::<DraftItem>((*item).clone()).is_ok()).count()
            });
        complete += usize::from(got == spec.item_count as usize);
        received.entry(exam_type).or_default().push(got);
    }
    let real = start.elapsed();
    let minutes = real.as_secs_f64() * time_factor / 60.0;
    let log = sim.log();
    let billed: u64 = log.iter().map(|r| r.output_tokens).sum();
    let cut = log.iter().filter(|r| r.output_tokens == u64::from(BASELINE_MAX_TOKENS)).count();
    println!(
        "baseline, the old way: one request per exam for all its items, max_tokens {}, one exam at a time; \
         {BASELINE_EXAMS} exams (half of each type; each is cut off at the same point, so more would repeat it):",
        grouped(u64::from(BASELINE_MAX_TOKENS))
    );
    let per_type: Vec<String> = received
        .iter()
        .map(|(t, got)| {
            let asked = ExamSpec::builtin(*t).item_count;
            format!("{t} {:.1} of {asked}", got.iter().sum::<usize>() as f64 / got.len().max(1) as f64)
        })
        .collect();
    println!(
        "  whole items received per exam: {}; complete exams {complete} of {BASELINE_EXAMS}; {cut} replies cut off at \
         max_tokens",
        per_type.join(", ")
    );
    println!(
        "  {:.1} simulated minutes per exam; {} output tokens per minute = {:.1}% of the limit; complete exams per \
         minute {:.2}",
        minutes / BASELINE_EXAMS as f64,
        grouped((billed as f64 / minutes) as u64),
        100.0 * billed as f64 / minutes / OTPM as f64,
        complete as f64 / minutes
    );
    sim.shutdown().await.expect("shutdown");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let factor = time_factor();
    let config = GeneratorConfig::default();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        println!(
            "simulator: {RPM} requests and {} output tokens per minute, Claude Haiku's pace (0.5 s + 150 tokens/s), \
             time x{factor}",
            grouped(OTPM)
        );
        println!(
            "generator (defaults): {} items per request, max_tokens {} x {} + {} = {}, up to {} requests per exam at \
             once, {} repair rounds; {PARALLEL_EXAMS} exams at once through one shared client; half diagnostic \
             (71 items), half practice (225 items)",
            config.items_per_chunk,
            config.items_per_chunk,
            config.max_tokens_per_item,
            config.max_tokens_margin,
            grouped(u64::from(config.max_tokens(config.items_per_chunk))),
            config.concurrency,
            config.max_repair_rounds
        );
        generate(&format!("ours: {EXAMS} exams"), EXAMS, FaultPlan::None, factor).await;
        let faults: FaultPlan = ITEM_FAULTS.parse().expect("fault spec");
        generate(&format!("ours with item faults ({ITEM_FAULTS}): {FAULT_EXAMS} exams"), FAULT_EXAMS, faults, factor)
            .await;
        baseline(factor).await;
    });
}

//! A cron sweep for 10,000 active users against the rate-limited simulator (time-compressed): wall time of the
//! planning and enqueueing, peak memory of the whole process (simulator included), and exams generated per
//! simulated minute against what the output-token limit allows.
//!
//! Run: `cargo bench -p pregen-benches --bench sweep`

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use pregen_core::SystemClock;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig};
use pregen_core::config::{PreGenConfig, SweepMode};
use pregen_core::generate::{Generator, GeneratorConfig};
use pregen_core::service::PreGen;
use pregen_core::simulator::{DEFAULT_API_KEY, LatencyModel, RateLimits, Simulator, SimulatorConfig};
use pregen_core::store::UserId;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};

const USERS: u64 = 10_000;
/// Simulated seconds per real second.
const TIME_FACTOR: f64 = 20.0;
const OTPM: u64 = 400_000;
const RPM: u64 = 4_000;
/// Real seconds the sweep may generate for.
const BUDGET: Duration = Duration::from_secs(60);

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let limits = RateLimits {
            requests_per_minute: Some(RPM),
            input_tokens_per_minute: None,
            output_tokens_per_minute: Some(OTPM),
        };
        let sim = Simulator::start(
            SimulatorConfig::builder()
                .seed(9)
                .latency(LatencyModel::haiku())
                .time_factor(TIME_FACTOR)
                .rate_limits(limits)
                .build()
                .expect("config"),
        )
        .await
        .expect("simulator");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path().join("sweep.db"), SqliteOptions::default()).await.expect("open");
        let client = ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url()))
            .expect("client");
        let generator = Arc::new(Generator::new(client, GeneratorConfig::default()).expect("generator"));
        let mut config = PreGenConfig::default();
        config.sweep.mode = SweepMode::Direct;
        config.sweep.budget = BUDGET;
        config.sweep.concurrency = 16;
        // Jobs that miss the budget are handed back; give attempts room so none time out meanwhile.
        config.queue.attempt_timeouts.diagnostic = TimeDelta::minutes(10);
        config.queue.attempt_timeouts.practice = TimeDelta::minutes(10);
        let service = PreGen::new(Arc::new(store), Some(generator.clone()), config, Arc::new(SystemClock)).expect("service");
        let now = Utc::now();
        for i in 0..USERS {
            let user = UserId::parse(&format!("user-{i:05}")).expect("id");
            service.store().record_activity(&user, now - TimeDelta::hours((i % 200) as i64)).await.expect("activity");
        }

        let start = Instant::now();
        let report = service.sweep().await.expect("sweep");
        let wall = start.elapsed();
        let summary = service.store().generation_summary().await.expect("summary");
        let exams = report.completed;
        let simulated_minutes = (wall.as_secs_f64() * TIME_FACTOR) / 60.0;
        let tokens_per_exam = summary.tokens.output_tokens as f64 / exams.max(1) as f64;
        let allowed_per_minute = OTPM as f64 / tokens_per_exam;
        let achieved_per_minute = exams as f64 / simulated_minutes;
        let log = sim.log();
        let throttled = log.iter().filter(|r| r.status == Some(429)).count();
        println!("sweep for {USERS} active users (simulator: {RPM} RPM, {OTPM} output tokens/min, x{TIME_FACTOR} time):");
        println!("  pairs missing {}, jobs queued {}", report.missing, report.queued);
        println!("  wall time {:.1} s (budget {} s), peak RSS {:.0} MB (process incl. simulator)", wall.as_secs_f64(), BUDGET.as_secs(), peak_rss_mb());
        println!("  exams generated {exams} in {simulated_minutes:.1} simulated minutes: {achieved_per_minute:.1} exams/min");
        println!("  the limit allows {allowed_per_minute:.1} exams/min at {tokens_per_exam:.0} output tokens per exam: {:.0}%",
            100.0 * achieved_per_minute / allowed_per_minute);
        println!("  requests {}, 429s {throttled} ({:.2}%), cost ${:.2}", log.len(), 100.0 * throttled as f64 / log.len().max(1) as f64, report.cost_usd);
        println!("  budget spent: {}, jobs handed back for the next sweep", report.budget_spent);
        sim.shutdown().await.expect("shutdown");
    });
}

//! A usage simulation, once per stock strategy (`per-user`, `bank`), on the same synthetic trace, in compressed
//! time (a test clock) against the Claude simulator. Reports the share of gets served at once, exams generated,
//! waste (exams that expired or retired unserved), spend and cost per served exam; asserts that no user ever
//! received one exam twice.
//!
//! The population (override the size with `PREGEN_BENCH_USERS`, the days with `PREGEN_BENCH_DAYS`):
//! - 1,000 users over 60 days; each joins on a day drawn uniformly from the first 40.
//! - On the first visit a user takes one diagnostic exam.
//! - Then practice exams at a user-specific rate: exponential with a mean of 1.5 per week (capped at 7), each
//!   visit at a uniformly random time; 30% of users stop coming after 1-21 days, the rest stay to the end.
//! - A visit is a page load (trigger of both types), in-process workers working what is due, and the get ten
//!   minutes later. The cron sweep runs every 6 hours (plan, enqueue, generate, clean up).
//!
//! Run: `cargo bench -p pregen-benches --bench bank_usage`

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use pregen_core::ManualClock;
use pregen_core::api::GetExamBody;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig};
use pregen_core::config::{PreGenConfig, StockMode};
use pregen_core::exam::ExamType;
use pregen_core::generate::{Generator, GeneratorConfig};
use pregen_core::service::{PreGen, Trigger};
use pregen_core::simulator::{DEFAULT_API_KEY, Simulator, SimulatorConfig};
use pregen_core::store::UserId;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One get of the trace.
#[derive(Debug, Clone, Copy)]
struct Visit {
    at: DateTime<Utc>,
    user: usize,
    exam_type: ExamType,
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-05T00:00:00Z").expect("date").to_utc()
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The synthetic trace (see the module documentation), sorted by time.
fn trace(users: usize, days: i64, seed: u64) -> Vec<Visit> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let day_ms = 86_400_000i64;
    let mut visits = Vec::new();
    for user in 0..users {
        let joined = start() + TimeDelta::milliseconds(rng.random_range(0..40 * day_ms));
        visits.push(Visit { at: joined, user, exam_type: ExamType::Diagnostic });
        let per_week = (-(1.0 - rng.random::<f64>()).ln() * 1.5).min(7.0);
        let stays_until = if rng.random::<f64>() < 0.3 {
            joined + TimeDelta::days(rng.random_range(1..=21))
        } else {
            start() + TimeDelta::days(days)
        };
        let span_ms = (stays_until - joined).num_milliseconds().max(0);
        let expected = per_week * span_ms as f64 / (7.0 * day_ms as f64);
        let count = expected.floor() as usize + usize::from(rng.random::<f64>() < expected.fract());
        for _ in 0..count {
            let at = joined + TimeDelta::milliseconds(rng.random_range(0..=span_ms.max(1)));
            visits.push(Visit { at, user, exam_type: ExamType::Practice });
        }
    }
    visits.sort_by_key(|v| (v.at, v.user));
    visits
}

/// The sweep instants (every 6 hours from the start) at or before `until` and `end`, advancing `next`.
fn due_sweeps(next: &mut DateTime<Utc>, until: DateTime<Utc>, end: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut due = Vec::new();
    while *next <= until && *next <= end {
        due.push(*next);
        *next += TimeDelta::hours(6);
    }
    due
}

/// What one strategy's run measured.
struct Measured {
    gets: u64,
    served: u64,
    generated: u64,
    spend: f64,
    waste_exams: u64,
    waste_spend: f64,
    unserved_ready_at_end: u64,
}

async fn run(stock: StockMode, visits: &[Visit], days: i64) -> Measured {
    let sim = Simulator::start(SimulatorConfig::builder().seed(11).build().expect("config")).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Arc::new(SqliteStore::open(dir.path().join("usage.db"), SqliteOptions::default()).await.expect("db"));
    let client = ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url()))
        .expect("client");
    let generator_config = GeneratorConfig { items_per_chunk: 45, concurrency: 8, ..GeneratorConfig::default() };
    let generator = Arc::new(Generator::new(client, generator_config).expect("generator"));
    let mut config = PreGenConfig { stock, ..PreGenConfig::default() };
    config.sweep.budget = Duration::from_secs(3_600);
    config.sweep.concurrency = 8;
    let clock = Arc::new(ManualClock::new(start()));
    let service = PreGen::new(store.clone(), Some(generator.clone()), config, clock.clone()).expect("service");
    let mut next_sweep = start();
    let (mut gets, mut served, mut generated) = (0u64, 0u64, 0u64);
    let mut received: HashSet<(usize, String)> = HashSet::new();
    let mut served_exams: BTreeSet<String> = BTreeSet::new();
    let end = start() + TimeDelta::days(days);
    for visit in visits.iter().filter(|v| v.at < end) {
        for at in due_sweeps(&mut next_sweep, visit.at, end) {
            clock.set(at);
            let report = service.sweep().await.expect("sweep");
            generated += report.completed;
        }
        clock.set(visit.at);
        let user = UserId::parse(&format!("user-{:05}", visit.user)).expect("id");
        service.trigger(&user, Trigger::Types(ExamType::ALL.to_vec())).await.expect("trigger");
        generated += service.drain(Duration::from_secs(600)).await.expect("drain").succeeded;
        clock.set(visit.at + TimeDelta::minutes(10));
        gets += 1;
        if let GetExamBody::Served { exam_id, .. } = service.get_exam(&user, visit.exam_type).await.expect("get") {
            served += 1;
            assert!(
                received.insert((visit.user, exam_id.clone())),
                "user {} received exam {exam_id} twice",
                visit.user
            );
            served_exams.insert(exam_id);
        }
    }
    for at in due_sweeps(&mut next_sweep, end, end) {
        clock.set(at);
        generated += service.sweep().await.expect("sweep").completed;
    }
    clock.set(end);
    let spend = generator.client().usage_totals().cost.total_usd;
    let now_ms = end.timestamp_millis();
    let unserved_ready_at_end: i64 = store
        .with_connection(move |conn| {
            let sql = if stock == StockMode::Bank {
                "SELECT COUNT(*) FROM bank_exams WHERE assignments = 0 AND retired_at IS NULL AND expires_at > ?1"
            } else {
                "SELECT COUNT(*) FROM pre_generated_exams WHERE used = 0 AND expires_at > ?1"
            };
            conn.query_row(sql, [now_ms], |r| r.get(0)).map_err(pregen_core::store::sqlite::db_error)
        })
        .await
        .expect("count");
    let unserved_ready_at_end = unserved_ready_at_end as u64;
    let waste_exams = generated.saturating_sub(served_exams.len() as u64 + unserved_ready_at_end);
    let per_exam = if generated == 0 { 0.0 } else { spend / generated as f64 };
    sim.shutdown().await.expect("shutdown");
    Measured {
        gets,
        served,
        generated,
        spend,
        waste_exams,
        waste_spend: waste_exams as f64 * per_exam,
        unserved_ready_at_end,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let users = env_or("PREGEN_BENCH_USERS", 1_000);
    let days = env_or("PREGEN_BENCH_DAYS", 60) as i64;
    let visits = trace(users, days, 2026);
    let practice = visits.iter().filter(|v| v.exam_type == ExamType::Practice).count();
    println!("trace: {users} users over {days} days, {} gets ({practice} practice), seed 2026", visits.len());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let mut results = Vec::new();
    for stock in [StockMode::PerUser, StockMode::Bank] {
        let wall = std::time::Instant::now();
        let m = runtime.block_on(run(stock, &visits, days));
        let share = 100.0 * m.served as f64 / m.gets.max(1) as f64;
        let per_served = m.spend / m.served.max(1) as f64;
        println!(
            "{:>8}: served at once {share:.2}% ({}/{}), exams generated {}, waste {} exams = ${:.2} ({:.1}% of spend), \
             unserved still ready at the end {}, spend ${:.2}, cost per served exam ${per_served:.4} ({:.0} s wall)",
            stock.as_str(),
            m.served,
            m.gets,
            m.generated,
            m.waste_exams,
            m.waste_spend,
            100.0 * m.waste_spend / m.spend.max(f64::MIN_POSITIVE),
            m.unserved_ready_at_end,
            m.spend,
            wall.elapsed().as_secs_f64()
        );
        results.push((stock, share, per_served, m.waste_spend / m.spend.max(f64::MIN_POSITIVE)));
    }
    let (_, bank_share, bank_cost, bank_waste) = results[1];
    let per_user_cost = results[0].2;
    println!(
        "bank against per-user: cost per served exam {:.1}% (target <= 10%), served at once {bank_share:.2}% \
         (target >= 99.9%), waste {:.1}% of spend (target <= 5%), no exam twice to a user (asserted)",
        100.0 * bank_cost / per_user_cost.max(f64::MIN_POSITIVE),
        100.0 * bank_waste
    );
}

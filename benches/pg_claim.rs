//! Claim latency and planning time on Postgres, beside the SQLite figures of `claim.rs` and `planning.rs`:
//! (1) 1,000,000 one-item exams for 100,000 users, 20,000 claims of random (user, type); (2) claiming full
//! 225-item practice exams (about 290 KB of JSON) returned as their stored JSON text; (3) planning for 100,000 active users.
//!
//! Run: `cargo bench -p pregen-benches --features postgres --bench pg_claim`. The server is
//! `PREGEN_BENCH_DATABASE_URL` (default: the local server as `postgres`); the fixture database `pregen_bench_claim`
//! is built on the first run (a few minutes) and reused.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use pregen_benches::Latencies;
use pregen_core::exam::{Allocation, Exam, ExamSpec, ExamType, synthetic_exam};
use pregen_core::policy::Policy;
use pregen_core::store::postgres::tokio_postgres::{self, NoTls};
use pregen_core::store::postgres::{PgOptions, PgStore};
use pregen_core::store::{ActivityStore, ExamStore, NewExam, UserId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DATABASE: &str = "pregen_bench_claim";
const USERS: u64 = 100_000;
const EXAMS_PER_USER: u64 = 10;
const CLAIMS: usize = 20_000;
const FULL_EXAMS: u64 = 400;
const ROUNDS: u32 = 5;
/// Planning passes: more than the five custom plans Postgres makes of a prepared statement before it may switch
/// to a generic one, so a generic plan that is worse shows in the figures.
const PLANNING_PASSES: usize = 8;

fn server_url() -> String {
    std::env::var("PREGEN_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn user(i: u64) -> UserId {
    UserId::parse(&format!("user-{i:06}")).expect("valid id")
}

fn full_user(i: u64) -> UserId {
    UserId::parse(&format!("full-{i:06}")).expect("valid id")
}

/// A full practice exam padded to realistic text lengths (about 290 KB of JSON, as the seed's files).
fn realistic_practice(seed: u64) -> Exam {
    let mut exam = synthetic_exam(&ExamSpec::practice(), seed);
    for q in &mut exam.questions {
        q.question.push_str(
            &" A clinician reviews the case history, the referral question and prior test results.".repeat(2),
        );
        q.explanation
            .push_str(&" The distractors each misstate a finding or misapply a principle of the field.".repeat(5));
    }
    exam
}

/// Connects to the fixture database, building it when it does not exist yet.
async fn fixture(now: DateTime<Utc>) -> PgStore {
    let (admin, connection) = tokio_postgres::connect(&server_url(), NoTls).await.expect("reach the server");
    tokio::spawn(connection);
    let exists =
        !admin.query("SELECT 1 FROM pg_database WHERE datname = $1", &[&DATABASE]).await.unwrap().is_empty();
    if !exists {
        admin.batch_execute(&format!("CREATE DATABASE {DATABASE}")).await.expect("create the fixture database");
    }
    let url = pregen_benches::database_url(&server_url(), DATABASE);
    let store =
        PgStore::connect(&url, PgOptions { max_connections: 4, ..PgOptions::default() }).await.expect("open");
    if exists {
        return store;
    }
    eprintln!("building {DATABASE}: {} one-item exams, {FULL_EXAMS} full exams...", USERS * EXAMS_PER_USER);
    let spec =
        ExamSpec { name: "one".into(), item_count: 1, scored_count: 1, allocation: Allocation::WeightedByDomain };
    let policy = Policy::default();
    let template = synthetic_exam(&spec, 1);
    for chunk in 0..(USERS / 1_000) {
        let mut batch = Vec::with_capacity(10_000);
        for u in chunk * 1_000..(chunk + 1) * 1_000 {
            store.record_activity(&user(u), now - TimeDelta::hours((u % 100) as i64)).await.expect("activity");
            for k in 0..EXAMS_PER_USER {
                let exam_type = if k % 2 == 0 { ExamType::Diagnostic } else { ExamType::Practice };
                let created = now - TimeDelta::hours(((u * 7 + k * 13) % 140) as i64);
                batch.push(NewExam::new(user(u), exam_type, template.clone(), &spec, created, &policy).unwrap());
            }
        }
        store.insert_exams(batch).await.expect("insert");
    }
    let practice = ExamSpec::practice();
    for i in 0..FULL_EXAMS {
        let exam = NewExam::new(
            full_user(i),
            ExamType::Practice,
            realistic_practice(i),
            &practice,
            now - TimeDelta::hours(1),
            &policy,
        )
        .unwrap();
        store.insert_exam(exam).await.expect("insert");
    }
    let client = store.client().await.unwrap();
    client.batch_execute("VACUUM ANALYZE pregen.pre_generated_exams").await.expect("vacuum");
    store
}

async fn reset(store: &PgStore, user_prefix: &str) {
    let client = store.client().await.unwrap();
    client
        .execute(
            "UPDATE pregen.pre_generated_exams SET used = false, used_at = NULL WHERE used AND user_id LIKE $1",
            &[&format!("{user_prefix}%")],
        )
        .await
        .expect("reset");
}

async fn small_claims(store: &PgStore, now: DateTime<Utc>) {
    reset(store, "user-").await;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut lat = Latencies::default();
    for _ in 0..CLAIMS {
        let u = user(rng.random_range(0..USERS));
        let t = if rng.random_bool(0.5) { ExamType::Diagnostic } else { ExamType::Practice };
        let start = Instant::now();
        let served = store.claim_exam(&u, t, now).await.expect("claim");
        lat.record(start.elapsed());
        assert!(served.is_some(), "fixture has stock for every pair");
    }
    println!("postgres claim, 1,000,000 small exams / 100,000 users: {}", lat.summary());
}

async fn full_claims(store: &PgStore, now: DateTime<Utc>) {
    let bytes = serde_json::to_vec(&realistic_practice(0)).unwrap().len();
    let mut lat = Latencies::default();
    for _ in 0..ROUNDS {
        reset(store, "full-").await;
        for i in 0..FULL_EXAMS {
            let start = Instant::now();
            let claim =
                store.claim_exam(&full_user(i), ExamType::Practice, now).await.expect("claim").expect("stock");
            lat.record(start.elapsed());
            assert_eq!(claim.exam.parse().expect("an exam").questions.len(), 225);
        }
    }
    println!(
        "postgres claim, full practice exam ({} KB of JSON text, checked, not parsed): {}",
        bytes / 1024,
        lat.summary()
    );
}

async fn planning(store: &PgStore, now: DateTime<Utc>) {
    let policy = Policy { stock_target: 6, ..Policy::default() };
    let mut lat = Latencies::default();
    let mut pairs = 0;
    for _ in 0..PLANNING_PASSES {
        let start = Instant::now();
        pairs = store.plan_missing(now, &policy).await.expect("plan").len();
        lat.record(start.elapsed());
    }
    println!("postgres planning, 100,000 active users, {pairs} pairs below a target of 6: {}", lat.summary());
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let now = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap().with_timezone(&Utc);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = fixture(now).await;
        let client = store.client().await.expect("a connection");
        let sync: String = client.query_one("SHOW synchronous_commit", &[]).await.unwrap().get(0);
        drop(client);
        println!("Postgres, synchronous_commit = {sync}");
        small_claims(&store, now).await;
        full_claims(&store, now).await;
        planning(&store, now).await;
    });
}

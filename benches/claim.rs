//! Claim latency on SQLite: (1) 1,000,000 small exams for 100,000 users, our one-statement claim beside the seed's
//! select-then-update; (2) claiming full 225-item practice exams (about 270 KB of JSON) returned as their stored JSON text.
//!
//! Run: `cargo bench -p pregen-benches --bench claim` (the first run builds the fixture files, a few minutes).

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use pregen_benches::{Latencies, data_dir};
use pregen_core::exam::{Allocation, Exam, ExamJson, ExamSpec, ExamType, synthetic_exam};
use pregen_core::policy::Policy;
use pregen_core::store::sqlite::rusqlite::{OptionalExtension, params};
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore, db_error};
use pregen_core::store::{ExamStore, NewExam, UserId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const USERS: u64 = 100_000;
const EXAMS_PER_USER: u64 = 10;
const CLAIMS: usize = 20_000;
const FULL_EXAMS: u64 = 400;
/// Passes over the full exams (each pass resets them to unused first).
const ROUNDS: u32 = 5;

fn small_spec() -> ExamSpec {
    ExamSpec { name: "one-item".into(), item_count: 1, scored_count: 1, allocation: Allocation::WeightedByDomain }
}

fn user(i: u64) -> UserId {
    UserId::parse(&format!("user-{i:06}")).expect("valid id")
}

async fn small_store(now: DateTime<Utc>) -> SqliteStore {
    let path = data_dir().join("claim-1m.db");
    let fresh = !path.exists();
    let store = SqliteStore::open(&path, SqliteOptions::default()).await.expect("open");
    if fresh {
        eprintln!("building {} ({} exams)...", path.display(), USERS * EXAMS_PER_USER);
        let spec = small_spec();
        let policy = Policy::default();
        let template = synthetic_exam(&spec, 1);
        for chunk in 0..(USERS / 1_000) {
            let mut batch = Vec::with_capacity(10_000);
            for u in chunk * 1_000..(chunk + 1) * 1_000 {
                for k in 0..EXAMS_PER_USER {
                    let exam_type = if k % 2 == 0 { ExamType::Diagnostic } else { ExamType::Practice };
                    let created = now - TimeDelta::hours(((u * 7 + k * 13) % 140) as i64);
                    batch.push(
                        NewExam::new(user(u), exam_type, template.clone(), &spec, created, &policy).unwrap(),
                    );
                }
            }
            store.insert_exams(batch).await.expect("insert");
        }
    }
    store
}

/// The seed's claim: select the newest unused exam, then mark it used in a second round trip, no transaction. The
/// text is checked as ours is.
async fn seed_claim(
    store: &SqliteStore,
    user: &UserId,
    exam_type: ExamType,
    now: DateTime<Utc>,
) -> Option<ExamJson> {
    let (u, t, now_ms) = (user.to_string(), exam_type.as_str(), now.timestamp_millis());
    let row: Option<(String, String)> = store
        .with_connection(move |c| {
            c.prepare_cached(
                "SELECT e.id, p.questions FROM pre_generated_exams e JOIN exam_payloads p ON p.exam_id = e.id \
                 WHERE e.user_id = ?1 AND e.exam_type = ?2 AND e.used = 0 AND e.expires_at > ?3 \
                 ORDER BY e.created_at DESC LIMIT 1",
            )
            .and_then(|mut st| st.query_row(params![u, t, now_ms], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(db_error)
        })
        .await
        .expect("select");
    let (id, json) = row?;
    store
        .with_connection(move |c| {
            c.prepare_cached("UPDATE pre_generated_exams SET used = 1, used_at = ?2 WHERE id = ?1")
                .and_then(|mut st| st.execute(params![id, now_ms]))
                .map_err(db_error)
        })
        .await
        .expect("update");
    Some(ExamJson::from_stored(json).expect("exam json"))
}

/// A full practice exam padded to realistic text lengths (about 270 KB of JSON, as the seed's files).
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

async fn full_store(now: DateTime<Utc>) -> (SqliteStore, usize) {
    let path = data_dir().join("claim-full.db");
    let fresh = !path.exists();
    let store = SqliteStore::open(&path, SqliteOptions::default()).await.expect("open");
    let spec = ExamSpec::practice();
    let sample = realistic_practice(0);
    let bytes = serde_json::to_vec(&sample).unwrap().len();
    if fresh {
        eprintln!("building {} ({FULL_EXAMS} full practice exams)...", path.display());
        let policy = Policy::default();
        for chunk in 0..(FULL_EXAMS / 50) {
            let batch = (chunk * 50..(chunk + 1) * 50)
                .map(|i| {
                    NewExam::new(
                        user(i),
                        ExamType::Practice,
                        realistic_practice(i),
                        &spec,
                        now - TimeDelta::hours(1),
                        &policy,
                    )
                    .unwrap()
                })
                .collect();
            store.insert_exams(batch).await.expect("insert");
        }
    }
    (store, bytes)
}

async fn small_claims(now: DateTime<Utc>) {
    let store = small_store(now).await;
    store
        .with_connection(|c| {
            c.execute("UPDATE pre_generated_exams SET used = 0, used_at = NULL WHERE used = 1", [])
                .map_err(db_error)
        })
        .await
        .expect("reset");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut ours = Latencies::default();
    let mut seed = Latencies::default();
    // Interleave the two so both see the same cache and disk state.
    for i in 0..CLAIMS * 2 {
        let u = user(rng.random_range(0..USERS));
        let t = if rng.random_bool(0.5) { ExamType::Diagnostic } else { ExamType::Practice };
        let start = Instant::now();
        let served = if i % 2 == 0 {
            store.claim_exam(&u, t, now).await.expect("claim").map(|c| c.exam)
        } else {
            seed_claim(&store, &u, t, now).await
        };
        let elapsed = start.elapsed();
        assert!(served.is_some(), "fixture has stock for every pair");
        if i % 2 == 0 { ours.record(elapsed) } else { seed.record(elapsed) }
    }
    println!("claim, 1,000,000 small exams / 100,000 users, one statement (ours): {}", ours.summary());
    println!("claim, same file, select-then-update (seed baseline):            {}", seed.summary());
    println!("ratio p99 ours/baseline: {:.2}", ours.quantile_ms(0.99) / seed.quantile_ms(0.99));
}

async fn full_claims(now: DateTime<Utc>) {
    let (store, bytes) = full_store(now).await;
    // Reset the fixture so every run claims the same exams.
    store
        .with_connection(|c| {
            c.execute("UPDATE pre_generated_exams SET used = 0, used_at = NULL", []).map_err(db_error)
        })
        .await
        .expect("reset");
    let mut lat = Latencies::default();
    for _ in 0..ROUNDS {
        store
            .with_connection(|c| {
                c.execute("UPDATE pre_generated_exams SET used = 0, used_at = NULL", []).map_err(db_error)
            })
            .await
            .expect("reset");
        for i in 0..FULL_EXAMS {
            let start = Instant::now();
            let claim =
                store.claim_exam(&user(i), ExamType::Practice, now).await.expect("claim").expect("stocked");
            lat.record(start.elapsed());
            assert_eq!(claim.exam.parse().expect("an exam").questions.len(), 225);
        }
    }
    println!(
        "claim, full 225-item practice exam ({} KB of JSON text, checked, not parsed): {}",
        bytes / 1024,
        lat.summary()
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let now = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap().with_timezone(&Utc);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        small_claims(now).await;
        full_claims(now).await;
    });
}

//! Planning for 100,000 active users: one set-based query (ours) beside the seed's per-user loop (a stock query
//! per user and type through the same store).
//!
//! Run: `cargo bench -p pregen-benches --bench planning` (the first run builds the fixture file).

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use pregen_benches::data_dir;
use pregen_core::exam::{Allocation, ExamSpec, ExamType, synthetic_exam};
use pregen_core::policy::Policy;
use pregen_core::store::sqlite::rusqlite::params;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore, db_error};
use pregen_core::store::{ActivityStore, ExamStore, MissingExams, NewExam, UserId};

const USERS: u64 = 100_000;
const RUNS: usize = 5;

fn user(i: u64) -> UserId {
    UserId::parse(&format!("user-{i:06}")).expect("valid id")
}

async fn fixture(now: DateTime<Utc>) -> SqliteStore {
    let path = data_dir().join("planning-100k.db");
    let fresh = !path.exists();
    let store = SqliteStore::open(&path, SqliteOptions::default()).await.expect("open");
    if fresh {
        eprintln!("building {}...", path.display());
        let spec = ExamSpec {
            name: "one-item".into(),
            item_count: 1,
            scored_count: 1,
            allocation: Allocation::WeightedByDomain,
        };
        let template = synthetic_exam(&spec, 1);
        let policy = Policy::default();
        for chunk in 0..(USERS / 1_000) {
            let mut batch = Vec::new();
            for u in chunk * 1_000..(chunk + 1) * 1_000 {
                store.record_activity(&user(u), now - TimeDelta::hours((u % 300) as i64)).await.expect("activity");
                // Two thirds hold a diagnostic, half a practice exam, some of them near expiry.
                if u % 3 != 0 {
                    let age = TimeDelta::hours(((u * 11) % 160) as i64);
                    batch.push(
                        NewExam::new(user(u), ExamType::Diagnostic, template.clone(), &spec, now - age, &policy)
                            .unwrap(),
                    );
                }
                if u % 2 == 0 {
                    batch.push(
                        NewExam::new(
                            user(u),
                            ExamType::Practice,
                            template.clone(),
                            &spec,
                            now - TimeDelta::hours(2),
                            &policy,
                        )
                        .unwrap(),
                    );
                }
            }
            store.insert_exams(batch).await.expect("insert");
        }
    }
    store
}

/// The seed's way: list the active users, then ask for each user's stock of each type, one call at a time.
async fn per_user_loop(store: &SqliteStore, now: DateTime<Utc>, policy: &Policy) -> Vec<MissingExams> {
    let since = policy.active_since(now).timestamp_millis();
    let users: Vec<String> = store
        .with_connection(move |c| {
            let mut st = c
                .prepare("SELECT user_id FROM user_activity WHERE last_seen_at >= ?1 ORDER BY user_id")
                .map_err(db_error)?;
            let rows = st.query_map(params![since], |r| r.get(0)).map_err(db_error)?;
            rows.collect::<Result<Vec<String>, _>>().map_err(db_error)
        })
        .await
        .expect("users");
    let mut missing = Vec::new();
    for u in users {
        let u = UserId::parse(&u).expect("id");
        for exam_type in ExamType::ALL {
            let stock = store.stock(&u, exam_type, now, policy).await.expect("stock");
            if policy.missing(stock) > 0 {
                missing.push(MissingExams { user_id: u.clone(), exam_type, missing: policy.missing(stock) });
            }
        }
    }
    missing
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let now = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap().with_timezone(&Utc);
    let policy = Policy::default();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = fixture(now).await;
        let (mut ours, mut base) = (Vec::new(), Vec::new());
        let mut pairs = 0;
        for _ in 0..RUNS {
            let start = Instant::now();
            let planned = store.plan_missing(now, &policy).await.expect("plan");
            ours.push(start.elapsed());
            let start = Instant::now();
            let looped = per_user_loop(&store, now, &policy).await;
            base.push(start.elapsed());
            assert_eq!(planned, looped, "both ways find the same pairs");
            pairs = planned.len();
        }
        let (ours, base) = (median(ours), median(base));
        println!("planning, {USERS} active users, {pairs} pairs missing, median of {RUNS} runs:");
        println!("  one set-based query (ours): {:.3} s", ours.as_secs_f64());
        println!("  per-user loop (seed):       {:.3} s", base.as_secs_f64());
        println!("  speed-up: {:.1}x", base.as_secs_f64() / ours.as_secs_f64());
    });
}

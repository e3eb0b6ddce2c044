//! The SQLite store's semantics: atomic claims under concurrency, set-based planning, cleanup, analytics.
#![cfg(feature = "sqlite")]

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use pregen_core::ErrorCode;
use pregen_core::exam::{Allocation, ExamSpec, ExamType, synthetic_exam};
use pregen_core::policy::{ExamLife, Policy};
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{ActivityStore, ExamStore, MissingExams, NewExam, StoreError, UserId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&Utc)
}

/// One item per domain: valid, and small enough to store thousands quickly.
fn tiny_spec() -> ExamSpec {
    ExamSpec { name: "tiny".into(), item_count: 8, scored_count: 8, allocation: Allocation::WeightedByDomain }
}

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

fn new_exam(user_id: &str, exam_type: ExamType, created_at: DateTime<Utc>, seed: u64) -> NewExam {
    let spec = tiny_spec();
    NewExam::new(user(user_id), exam_type, synthetic_exam(&spec, seed), &spec, created_at, &Policy::default())
        .unwrap()
}

async fn open(dir: &tempfile::TempDir, connections: usize) -> SqliteStore {
    SqliteStore::open(dir.path().join("pregen.db"), SqliteOptions { connections, ..SqliteOptions::default() })
        .await
        .unwrap()
}

#[tokio::test]
async fn claim_takes_the_newest_unused_unexpired_exam_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 2).await;
    let older = store.insert_exam(new_exam("u1", ExamType::Practice, t0(), 1)).await.unwrap();
    let newer =
        store.insert_exam(new_exam("u1", ExamType::Practice, t0() + TimeDelta::hours(1), 2)).await.unwrap();
    store.insert_exam(new_exam("u1", ExamType::Diagnostic, t0(), 3)).await.unwrap();
    let now = t0() + TimeDelta::hours(2);

    let first = store.claim_exam(&user("u1"), ExamType::Practice, now).await.unwrap().unwrap();
    assert_eq!(first.id, newer);
    assert_eq!(first.used_at, now);
    assert_eq!(first.expires_at, t0() + TimeDelta::hours(1) + TimeDelta::days(7));
    assert_eq!(first.exam.questions.len(), 8);
    let second = store.claim_exam(&user("u1"), ExamType::Practice, now).await.unwrap().unwrap();
    assert_eq!(second.id, older);
    assert!(store.claim_exam(&user("u1"), ExamType::Practice, now).await.unwrap().is_none());
    assert!(store.claim_exam(&user("u2"), ExamType::Practice, now).await.unwrap().is_none());
}

#[tokio::test]
async fn an_expired_exam_is_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 1).await;
    store.insert_exam(new_exam("u1", ExamType::Diagnostic, t0(), 1)).await.unwrap();
    let expiry = t0() + TimeDelta::days(7);
    assert!(store.claim_exam(&user("u1"), ExamType::Diagnostic, expiry).await.unwrap().is_none());
    assert!(
        store
            .claim_exam(&user("u1"), ExamType::Diagnostic, expiry - TimeDelta::milliseconds(1))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn invalid_exam_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 1).await;
    let spec = ExamSpec::builtin(ExamType::Practice);
    let mut exam = synthetic_exam(&spec, 9);
    exam.questions.truncate(8);
    let err = NewExam::new(user("u1"), ExamType::Practice, exam, &spec, t0(), &Policy::default()).unwrap_err();
    assert_eq!(err.code(), "store.invalid_exam");
    let StoreError::InvalidExam(report) = err else { panic!("wrong variant") };
    assert!(report.problems.iter().any(|p| p.code.as_str() == "incomplete"));
    assert_eq!(store.analytics(t0(), &Policy::default()).await.unwrap().total_generated, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_over_four_connections_hand_out_each_exam_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 1).await;
    let exams: Vec<NewExam> = (0..1_000).map(|i| new_exam("shared", ExamType::Practice, t0(), i)).collect();
    let inserted: HashSet<String> = store.insert_exams(exams).await.unwrap().into_iter().collect();
    assert_eq!(inserted.len(), 1_000);

    // Four stores on one file: four write connections competing through SQLite's own locking, 8 tasks each.
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(open(&dir, 1).await);
    }
    let now = t0() + TimeDelta::hours(1);
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = stores[i % 4].clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(exam) = store.claim_exam(&user("shared"), ExamType::Practice, now).await.unwrap() {
                    mine.push(exam.id);
                }
                mine
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    let unique: HashSet<String> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), 1_000, "every exam claimed");
    assert_eq!(unique.len(), 1_000, "none twice");
    assert_eq!(unique, inserted, "none lost");
}

#[tokio::test]
async fn planning_returns_exactly_the_pairs_below_target() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 2).await;
    let policy = Policy { stock_target: 2, ..Policy::default() };
    let now = t0() + TimeDelta::days(30);
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut expected = BTreeSet::new();
    let mut exams = Vec::new();
    for u in 0..300 {
        let id = format!("user-{u:03}");
        // Last seen: some inside the window, some exactly at its edge, some just outside.
        let last_seen = match rng.random_range(0..4) {
            0 => now - TimeDelta::days(20),
            1 => policy.active_since(now),
            2 => policy.active_since(now) - TimeDelta::milliseconds(1),
            _ => now - TimeDelta::hours(rng.random_range(0..300)),
        };
        store.record_activity(&user(&id), last_seen).await.unwrap();
        for exam_type in ExamType::ALL {
            let mut stock = 0;
            for _ in 0..rng.random_range(0..4) {
                // Ages around the renewal and expiry edges, and used ones.
                let age = match rng.random_range(0..5) {
                    0 => TimeDelta::days(6),
                    1 => TimeDelta::days(6) - TimeDelta::milliseconds(1),
                    2 => TimeDelta::days(8),
                    _ => TimeDelta::hours(rng.random_range(0..140)),
                };
                let created = now - age;
                let used = rng.random_bool(0.25);
                let life = ExamLife { created_at: created, expires_at: policy.expires_at(created), used_at: None };
                if !used && policy.counts_as_stock(&life, now) {
                    stock += 1;
                }
                exams.push((new_exam(&id, exam_type, created, rng.random()), used));
            }
            if policy.is_active(last_seen, now) && policy.missing(stock) > 0 {
                expected.insert(MissingExams { user_id: user(&id), exam_type, missing: policy.missing(stock) });
            }
        }
    }
    // Used exams first, each claimed right after it is stored, while it is the only unused one of its pair.
    let (used, unused): (Vec<_>, Vec<_>) = exams.into_iter().partition(|(_, used)| *used);
    for (exam, _) in used {
        let (u, ty, at) = (exam.user_id().clone(), exam.exam_type(), exam.expires_at() - policy.exam_ttl);
        let id = store.insert_exam(exam).await.unwrap();
        assert_eq!(store.claim_exam(&u, ty, at).await.unwrap().unwrap().id, id);
    }
    store.insert_exams(unused.into_iter().map(|(e, _)| e).collect()).await.unwrap();

    let planned: BTreeSet<MissingExams> = store.plan_missing(now, &policy).await.unwrap().into_iter().collect();
    assert!(expected.len() > 100, "the population exercises many pairs");
    assert_eq!(planned, expected);
}

#[tokio::test]
async fn planning_matches_the_policy_on_a_hand_built_population() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 1).await;
    let policy = Policy::default();
    let now = t0() + TimeDelta::days(10);
    for id in ["fresh", "near-expiry", "expired", "used", "inactive", "no-exams"] {
        let seen = if id == "inactive" { now - TimeDelta::days(15) } else { now - TimeDelta::hours(1) };
        store.record_activity(&user(id), seen).await.unwrap();
    }
    for exam_type in ExamType::ALL {
        store.insert_exam(new_exam("fresh", exam_type, now - TimeDelta::days(1), 1)).await.unwrap();
        store.insert_exam(new_exam("inactive", exam_type, now - TimeDelta::days(20), 2)).await.unwrap();
    }
    store.insert_exam(new_exam("near-expiry", ExamType::Practice, now - TimeDelta::days(6), 3)).await.unwrap();
    store.insert_exam(new_exam("near-expiry", ExamType::Diagnostic, now - TimeDelta::days(5), 4)).await.unwrap();
    store.insert_exam(new_exam("expired", ExamType::Practice, now - TimeDelta::days(8), 5)).await.unwrap();
    store.insert_exam(new_exam("used", ExamType::Diagnostic, now - TimeDelta::days(1), 6)).await.unwrap();
    store.claim_exam(&user("used"), ExamType::Diagnostic, now).await.unwrap().unwrap();

    let planned: Vec<(String, ExamType)> = store
        .plan_missing(now, &policy)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user_id.to_string(), m.exam_type))
        .collect();
    let want: Vec<(String, ExamType)> = [
        ("expired", ExamType::Diagnostic),
        ("expired", ExamType::Practice),
        ("near-expiry", ExamType::Practice),
        ("no-exams", ExamType::Diagnostic),
        ("no-exams", ExamType::Practice),
        ("used", ExamType::Diagnostic),
        ("used", ExamType::Practice),
    ]
    .into_iter()
    .map(|(u, t)| (u.to_owned(), t))
    .collect();
    assert_eq!(planned, want);
}

#[tokio::test]
async fn cleanup_deletes_in_batches_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 1).await;
    let policy = Policy::default();
    let now = t0() + TimeDelta::days(30);
    let mut batch = Vec::new();
    for i in 0..25 {
        batch.push(new_exam("a", ExamType::Practice, now - TimeDelta::days(8), i)); // expired
    }
    for i in 0..4 {
        batch.push(new_exam("b", ExamType::Practice, now - TimeDelta::days(2), 100 + i)); // kept
    }
    store.insert_exams(batch).await.unwrap();
    // Three used long enough ago, one used recently.
    for at in [now - TimeDelta::days(2), now - TimeDelta::days(1), now - TimeDelta::hours(25)] {
        store.claim_exam(&user("b"), ExamType::Practice, at).await.unwrap().unwrap();
    }
    store.claim_exam(&user("b"), ExamType::Practice, now - TimeDelta::hours(23)).await.unwrap().unwrap();

    let report = store.cleanup(now, &policy, 10).await.unwrap();
    assert_eq!(report.expired_deleted, 25);
    assert_eq!(report.used_deleted, 3);
    assert_eq!(report.batches, 3 + 1, "10 + 10 + 5 expired, then one short batch of used");
    let left = store.analytics(now, &policy).await.unwrap();
    assert_eq!((left.total_generated, left.total_used), (1, 1));
    let again = store.cleanup(now, &policy, 10).await.unwrap();
    assert_eq!(again.total(), 0);
    let payloads: i64 = store
        .with_connection(|c| {
            c.query_row("SELECT COUNT(*) FROM exam_payloads", [], |r| r.get(0))
                .map_err(pregen_core::store::sqlite::db_error)
        })
        .await
        .unwrap();
    assert_eq!(payloads, 1, "deleting an exam deletes its payload");
    assert!(store.cleanup(now, &policy, 0).await.is_err());
}

#[tokio::test]
async fn analytics_match_a_hand_computed_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 1).await;
    let policy = Policy::default();
    let now = t0() + TimeDelta::days(10);
    for id in ["a", "b", "c", "idle-1", "idle-2"] {
        store.record_activity(&user(id), now - TimeDelta::days(1)).await.unwrap();
    }
    store.record_activity(&user("gone"), now - TimeDelta::days(40)).await.unwrap();
    // a: 2 practice (one used), 1 diagnostic expiring in 12 h; b: 1 expired diagnostic; c: 3 practice, one used.
    store.insert_exam(new_exam("a", ExamType::Practice, now - TimeDelta::days(1), 1)).await.unwrap();
    store.insert_exam(new_exam("a", ExamType::Practice, now - TimeDelta::days(2), 2)).await.unwrap();
    store
        .insert_exam(new_exam("a", ExamType::Diagnostic, now - TimeDelta::days(7) + TimeDelta::hours(12), 3))
        .await
        .unwrap();
    store.insert_exam(new_exam("b", ExamType::Diagnostic, now - TimeDelta::days(8), 4)).await.unwrap();
    for i in 0..3 {
        store
            .insert_exam(new_exam("c", ExamType::Practice, now - TimeDelta::hours(5 + i), 10 + i as u64))
            .await
            .unwrap();
    }
    store.claim_exam(&user("a"), ExamType::Practice, now).await.unwrap().unwrap();
    store.claim_exam(&user("c"), ExamType::Practice, now).await.unwrap().unwrap();

    let a = store.analytics(now, &policy).await.unwrap();
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["totalGenerated"], 7);
    assert_eq!(json["totalUsed"], 2);
    assert_eq!(json["totalUnused"], 5);
    assert_eq!(json["totalExpired"], 1);
    assert_eq!(json["diagnosticCount"], 2);
    assert_eq!(json["practiceCount"], 5);
    assert_eq!(json["usedPercentage"], 29); // round(100 * 2 / 7)
    assert_eq!(json["expiringWithin24h"], 1);
    assert_eq!(json["averageExamsPerUser"], 2.33); // 7 rows / 3 users
    assert_eq!(json["userStats"]["usersWithPreGen"], 3);
    assert_eq!(json["userStats"]["usersWithoutPreGen"], 2); // idle-1, idle-2 ("gone" is not active)
    assert_eq!(json["userStats"]["avgPreGenPerUser"], 2.33);
    assert_eq!(json["timestamp"], "2026-03-11T12:00:00.000Z");

    let stats = store.user_stats(&user("a"), now, &policy).await.unwrap();
    assert_eq!((stats.practice.ready, stats.practice.used, stats.practice.counting), (1, 1, 1));
    assert_eq!((stats.diagnostic.ready, stats.diagnostic.counting), (1, 0), "expires within the renewal margin");
    assert!(stats.active);
}

#[tokio::test]
async fn bad_user_ids_are_refused_before_any_write() {
    for bad in ["", "tab\there", &"x".repeat(200)] {
        let err = UserId::parse(bad).unwrap_err();
        assert_eq!(err.code(), "store.invalid_input", "{bad:?}");
    }
}

#[tokio::test]
async fn the_store_survives_a_reopen_and_shares_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let store = open(&dir, 1).await;
        store.insert_exam(new_exam("u", ExamType::Practice, t0(), 1)).await.unwrap()
    };
    let a = Arc::new(open(&dir, 1).await);
    let b = open(&dir, 1).await;
    assert_eq!(b.claim_exam(&user("u"), ExamType::Practice, t0()).await.unwrap().unwrap().id, id);
    assert!(a.claim_exam(&user("u"), ExamType::Practice, t0()).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_committed_together_stay_atomic_one_by_one() {
    use pregen_core::store::sqlite::{db_error, rusqlite::params};
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 1).await;
    store
        .with_connection(|c| c.execute("CREATE TABLE probe (n INTEGER PRIMARY KEY)", []).map_err(db_error))
        .await
        .unwrap();
    // 200 concurrent writes land in shared transactions; every odd one writes a row, then fails.
    let tasks: Vec<_> = (0..200)
        .map(|n: i64| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .with_connection(move |c| {
                        c.execute("INSERT INTO probe (n) VALUES (?1)", params![n]).map_err(db_error)?;
                        if n % 2 == 1 { Err(StoreError::Conflict(format!("refused {n}"))) } else { Ok(n) }
                    })
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(n) => {
                assert_eq!(n % 2, 0);
                ok += 1;
            }
            Err(StoreError::Conflict(m)) => assert!(m.starts_with("refused")),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 100);
    let rows: Vec<i64> = store
        .with_connection(|c| {
            let mut st = c.prepare("SELECT n FROM probe ORDER BY n").map_err(db_error)?;
            st.query_map([], |r| r.get(0)).and_then(|rows| rows.collect()).map_err(db_error)
        })
        .await
        .unwrap();
    assert_eq!(rows, (0..200).step_by(2).collect::<Vec<i64>>(), "failed calls left nothing behind");
}

/// The planning, stock and claim queries must look up each pair by (user, type); a plan that scanned the used-exam
/// index per pair took minutes for 100,000 users.
#[tokio::test]
async fn planning_stock_and_claim_look_up_each_pair_by_user_and_type() {
    use pregen_core::store::sqlite::db_error;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 1).await;
    let plans: Vec<String> = store
        .with_connection(|c| {
            let mut details = Vec::new();
            for sql in [
                "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM pre_generated_exams e WHERE e.user_id = 'u' \
                 AND e.exam_type = 'practice' AND e.used = 0 AND e.expires_at > 0",
                "EXPLAIN QUERY PLAN SELECT rowid FROM pre_generated_exams WHERE user_id = 'u' \
                 AND exam_type = 'practice' AND used = 0 AND expires_at > 0 ORDER BY created_at DESC, rowid DESC LIMIT 1",
            ] {
                let mut st = c.prepare(sql).map_err(db_error)?;
                let rows = st.query_map([], |r| r.get::<_, String>(3)).map_err(db_error)?;
                details.push(rows.collect::<Result<Vec<_>, _>>().map_err(db_error)?.join("; "));
            }
            Ok(details)
        })
        .await
        .unwrap();
    for plan in plans {
        assert!(plan.contains("user_id=? AND exam_type=?") && !plan.contains("pge_used_at"), "{plan}");
    }
}

#[tokio::test]
async fn ids_with_format_characters_are_stored_and_reported_raw() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 1).await;
    for raw in ["rtl\u{202e}user", "zero\u{200b}width", "line\u{2028}sep", "\u{feff}bom", "山田"] {
        let id = user(raw);
        store.record_activity(&id, t0()).await.unwrap();
        store.insert_exam(new_exam(raw, ExamType::Practice, t0(), 1)).await.unwrap();
        let stats = store.user_stats(&id, t0(), &Policy::default()).await.unwrap();
        assert_eq!(stats.user_id, raw, "the body carries the raw id, not the escaped log form");
        let claimed = store.claim_exam(&id, ExamType::Practice, t0()).await.unwrap().unwrap();
        assert_eq!(claimed.user_id.as_str(), raw);
    }
}

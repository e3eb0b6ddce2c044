//! Exams and activity: the atomic claim under concurrency, set-based planning, cleanup, analytics, stats.

use std::collections::{BTreeSet, HashSet};

use chrono::TimeDelta;
use pregen_core::ErrorCode;
use pregen_core::exam::{ExamSpec, ExamType, synthetic_exam};
use pregen_core::policy::{ExamLife, Policy};
use pregen_core::store::{
    ActivityStore, ExamStore, GenerationStats, MissingExams, NewExam, StoreError, TokenTotals, UserId,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Backend, new_exam, t0, user};

pub async fn claim_takes_the_newest_unused_unexpired_exam_once(b: &impl Backend) {
    let store = b.open().await;
    let older = store.insert_exam(new_exam("u1", ExamType::Practice, t0(), 1)).await.unwrap();
    let newer =
        store.insert_exam(new_exam("u1", ExamType::Practice, t0() + TimeDelta::hours(1), 2)).await.unwrap();
    store.insert_exam(new_exam("u1", ExamType::Diagnostic, t0(), 3)).await.unwrap();
    let now = t0() + TimeDelta::hours(2);

    let first = store.claim_exam(&user("u1"), ExamType::Practice, now).await.unwrap().unwrap();
    assert_eq!(first.id, newer);
    assert_eq!(first.used_at, now);
    assert_eq!(first.created_at, t0() + TimeDelta::hours(1));
    assert_eq!(first.expires_at, t0() + TimeDelta::hours(1) + TimeDelta::days(7));
    let stored = synthetic_exam(&super::tiny_spec(), 2);
    assert_eq!(first.exam.parse().unwrap(), stored, "the items come back as stored");
    assert_eq!(
        first.exam.as_str(),
        serde_json::to_string(&stored).unwrap(),
        "the stored text is served as it is, in the serialized form"
    );
    let second = store.claim_exam(&user("u1"), ExamType::Practice, now).await.unwrap().unwrap();
    assert_eq!(second.id, older);
    assert!(store.claim_exam(&user("u1"), ExamType::Practice, now).await.unwrap().is_none());
    assert!(store.claim_exam(&user("u2"), ExamType::Practice, now).await.unwrap().is_none());
}

/// The stock counts unused, unexpired exams of the (user, type), and stops at the target (the bound is the
/// policy's, at least one).
pub async fn stock_counts_up_to_the_target(b: &impl Backend) {
    let store = b.open().await;
    let now = t0() + TimeDelta::hours(1);
    let exams = (0..5).map(|i| new_exam("u1", ExamType::Practice, t0(), i)).collect();
    store.insert_exams(exams).await.unwrap();
    store.insert_exam(new_exam("u1", ExamType::Diagnostic, t0() - TimeDelta::days(30), 9)).await.unwrap();
    store.claim_exam(&user("u1"), ExamType::Practice, now).await.unwrap().unwrap();
    for (target, want) in [(0, 1), (1, 1), (3, 3), (4, 4), (10, 4)] {
        let policy = Policy { stock_target: target, ..Policy::default() };
        let got = store.stock(&user("u1"), ExamType::Practice, now, &policy).await.unwrap();
        assert_eq!(got, want, "target {target}");
        assert_eq!(policy.missing(got), target.saturating_sub(4), "target {target}");
        assert_eq!(store.stock(&user("u1"), ExamType::Diagnostic, now, &policy).await.unwrap(), 0, "expired");
    }
}

/// Exams stored at the same instant are claimed newest-stored first, as SQLite's rowid orders them.
pub async fn exams_stored_at_one_instant_are_claimed_last_stored_first(b: &impl Backend) {
    let store = b.open().await;
    let ids =
        store.insert_exams((0..5).map(|i| new_exam("u1", ExamType::Practice, t0(), i)).collect()).await.unwrap();
    let mut claimed = Vec::new();
    while let Some(exam) = store.claim_exam(&user("u1"), ExamType::Practice, t0()).await.unwrap() {
        claimed.push(exam.id);
    }
    assert_eq!(claimed, ids.into_iter().rev().collect::<Vec<_>>());
}

pub async fn an_expired_exam_is_never_served(b: &impl Backend) {
    let store = b.open().await;
    store.insert_exam(new_exam("u1", ExamType::Diagnostic, t0(), 1)).await.unwrap();
    let expiry = t0() + TimeDelta::days(7);
    assert!(store.claim_exam(&user("u1"), ExamType::Diagnostic, expiry).await.unwrap().is_none());
    let just_before = expiry - TimeDelta::milliseconds(1);
    assert!(store.claim_exam(&user("u1"), ExamType::Diagnostic, just_before).await.unwrap().is_some());
}

pub async fn invalid_exam_is_refused_and_nothing_is_written(b: &impl Backend) {
    let store = b.open().await;
    let spec = ExamSpec::builtin(ExamType::Practice);
    let mut exam = synthetic_exam(&spec, 9);
    exam.questions.truncate(8);
    let err = NewExam::new(user("u1"), ExamType::Practice, exam, &spec, t0(), &Policy::default()).unwrap_err();
    assert_eq!(err.code(), "store.invalid_exam");
    let StoreError::InvalidExam(report) = err else { panic!("wrong variant") };
    assert!(report.problems.iter().any(|p| p.code.as_str() == "incomplete"));
    assert_eq!(store.analytics(t0(), &Policy::default()).await.unwrap().total_generated, 0);
}

/// Four handles (four pools, as four processes would have) with 8 tasks each claim 1,000 exams of one pair.
pub async fn concurrent_claims_hand_out_each_exam_once(b: &impl Backend) {
    let store = b.open().await;
    let exams: Vec<NewExam> = (0..1_000).map(|i| new_exam("shared", ExamType::Practice, t0(), i)).collect();
    let inserted: HashSet<String> = store.insert_exams(exams).await.unwrap().into_iter().collect();
    assert_eq!(inserted.len(), 1_000);

    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(b.open().await);
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

pub async fn planning_returns_exactly_the_pairs_below_target(b: &impl Backend) {
    let store = b.open().await;
    let policy = Policy { stock_target: 2, ..Policy::default() };
    let now = t0() + TimeDelta::days(30);
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut expected = BTreeSet::new();
    let mut exams = Vec::new();
    for u in 0..300 {
        // Mixed case and punctuation, so the order is byte order on every backend.
        let id = if u % 3 == 0 { format!("User-{u:03}") } else { format!("user_{u:03}") };
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
    let (used, unused): (Vec<_>, Vec<_>) = exams.into_iter().partition(|(_, used)| *used);
    for (exam, _) in used {
        let (u, ty, at) = (exam.user_id().clone(), exam.exam_type(), exam.expires_at() - policy.exam_ttl);
        let id = store.insert_exam(exam).await.unwrap();
        assert_eq!(store.claim_exam(&u, ty, at).await.unwrap().unwrap().id, id);
    }
    store.insert_exams(unused.into_iter().map(|(e, _)| e).collect()).await.unwrap();

    let planned = store.plan_missing(now, &policy).await.unwrap();
    let mut sorted = planned.clone();
    sorted.sort_by(|a, b| {
        (a.user_id.as_str().as_bytes(), a.exam_type).cmp(&(b.user_id.as_str().as_bytes(), b.exam_type))
    });
    assert_eq!(planned, sorted, "ordered by user id bytes, then type");
    assert!(expected.len() > 100, "the population exercises many pairs");
    assert_eq!(planned.into_iter().collect::<BTreeSet<_>>(), expected);
}

pub async fn planning_matches_the_policy_on_a_hand_built_population(b: &impl Backend) {
    let store = b.open().await;
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
    assert_eq!(store.stock(&user("near-expiry"), ExamType::Diagnostic, now, &policy).await.unwrap(), 1);
    assert_eq!(store.stock(&user("near-expiry"), ExamType::Practice, now, &policy).await.unwrap(), 0);
}

pub async fn cleanup_deletes_in_batches_and_counts(b: &impl Backend) {
    let store = b.open().await;
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
    assert_eq!(store.cleanup(now, &policy, 10).await.unwrap().total(), 0);
    assert_eq!(store.cleanup(now, &policy, 0).await.unwrap_err().code(), "store.invalid_input");
}

pub async fn analytics_match_a_hand_computed_fixture(b: &impl Backend) {
    let store = b.open().await;
    let policy = Policy::default();
    let now = t0() + TimeDelta::days(10);
    for id in ["a", "b", "c", "idle-1", "idle-2"] {
        store.record_activity(&user(id), now - TimeDelta::days(1)).await.unwrap();
    }
    store.record_activity(&user("gone"), now - TimeDelta::days(40)).await.unwrap();
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

    let json = serde_json::to_value(store.analytics(now, &policy).await.unwrap()).unwrap();
    assert_eq!(json["totalGenerated"], 7);
    assert_eq!(json["totalUsed"], 2);
    assert_eq!(json["totalUnused"], 5);
    assert_eq!(json["totalExpired"], 1);
    assert_eq!(json["diagnosticCount"], 2);
    assert_eq!(json["practiceCount"], 5);
    assert_eq!(json["usedPercentage"], 29);
    assert_eq!(json["expiringWithin24h"], 1);
    assert_eq!(json["averageExamsPerUser"], 2.33);
    assert_eq!(json["userStats"]["usersWithPreGen"], 3);
    assert_eq!(json["userStats"]["usersWithoutPreGen"], 2);
    assert_eq!(json["userStats"]["avgPreGenPerUser"], 2.33);
    assert_eq!(json["timestamp"], "2026-03-11T12:00:00.000Z");

    let stats = store.user_stats(&user("a"), now, &policy).await.unwrap();
    assert_eq!((stats.practice.ready, stats.practice.used, stats.practice.counting), (1, 1, 1));
    assert_eq!((stats.diagnostic.ready, stats.diagnostic.counting), (1, 0), "expires within the renewal margin");
    assert_eq!(stats.diagnostic.next_expires_at.as_deref(), Some("2026-03-12T00:00:00.000Z"));
    assert_eq!(stats.last_seen_at.as_deref(), Some("2026-03-10T12:00:00.000Z"));
    assert!(stats.active);
    let b_stats = store.user_stats(&user("b"), now, &policy).await.unwrap();
    assert_eq!((b_stats.diagnostic.expired, b_stats.diagnostic.ready), (1, 0));
    let nobody = store.user_stats(&user("nobody"), now, &policy).await.unwrap();
    assert!(!nobody.active && nobody.last_seen_at.is_none());
}

pub async fn activity_keeps_the_latest_sighting(b: &impl Backend) {
    let store = b.open().await;
    let policy = Policy::default();
    store.record_activity(&user("u"), t0()).await.unwrap();
    store.record_activity(&user("u"), t0() - TimeDelta::days(3)).await.unwrap();
    store.record_activity(&user("v"), t0() - TimeDelta::days(20)).await.unwrap();
    assert_eq!(store.count_active_users(t0()).await.unwrap(), 1, "an earlier instant changed nothing");
    assert_eq!(store.count_active_users(t0() - TimeDelta::days(30)).await.unwrap(), 2);
    let stats = store.user_stats(&user("u"), t0(), &policy).await.unwrap();
    assert_eq!(stats.last_seen_at.as_deref(), Some("2026-03-01T12:00:00.000Z"));
}

pub async fn generation_figures_and_get_outcomes_add_up(b: &impl Backend) {
    let store = b.open().await;
    let tokens = TokenTotals {
        requests: 3,
        input_tokens: 1_000,
        output_tokens: 2_000,
        cache_write_tokens: 10,
        cache_read_tokens: 20,
        cost_usd: 0.25,
    };
    let with = |seed: u64, batch: bool, requested_ms: Option<i64>| {
        new_exam("u", ExamType::Practice, t0(), seed).with_generation(GenerationStats {
            tokens,
            batch,
            requested_at: requested_ms.map(|ms| t0() - TimeDelta::milliseconds(ms)),
        })
    };
    store
        .insert_exams(vec![with(1, true, Some(1_000)), with(2, false, Some(3_000)), with(3, false, None)])
        .await
        .unwrap();
    for served in [true, true, false, true] {
        store.record_get_outcome(served).await.unwrap();
    }
    let s = store.generation_summary().await.unwrap();
    assert_eq!(s.tokens.requests, 9);
    assert_eq!((s.tokens.input_tokens, s.tokens.output_tokens), (3_000, 6_000));
    assert_eq!((s.tokens.cache_write_tokens, s.tokens.cache_read_tokens), (30, 60));
    assert!((s.tokens.cost_usd - 0.75).abs() < 1e-9);
    assert_eq!(s.batch_exams, 1);
    assert_eq!(s.mean_trigger_to_ready_ms, Some(2_000.0));
    assert_eq!((s.gets_served, s.gets_missed), (3, 1));
    assert_eq!((s.jobs_succeeded, s.jobs_dead), (0, 0));
}

pub async fn a_second_handle_sees_the_same_store(b: &impl Backend) {
    let id = {
        let store = b.open().await;
        store.insert_exam(new_exam("u", ExamType::Practice, t0(), 1)).await.unwrap()
    };
    let a = b.open().await;
    let other = b.open().await;
    assert_eq!(other.claim_exam(&user("u"), ExamType::Practice, t0()).await.unwrap().unwrap().id, id);
    assert!(a.claim_exam(&user("u"), ExamType::Practice, t0()).await.unwrap().is_none());
    assert!(UserId::parse("").is_err());
}

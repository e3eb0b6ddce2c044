//! The bank on SQLite: the conformance checks, and planning against a population computed by hand.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use pregen_core::exam::{ExamSpec, ExamType, synthetic_exam};
use pregen_core::policy::{BankExamLife, BankPolicy, Policy, plan_population};
use pregen_core::store::conformance::check_bank_store;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{ActivityStore, BankSource, BankStore, NewBankExam, UserId};

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("bank.db"), SqliteOptions::default()).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn sqlite_passes_the_bank_conformance_checks() {
    let (_dir, store) = store().await;
    let checks = check_bank_store(&store).await.unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(checks, 7);
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-03-01T12:00:00Z").unwrap().to_utc()
}

/// The population, by hand (unseen target 2, minimum 3, retirement at 2 assignments, renewal margin 24 h):
/// diagnostic D0..D3 stored at t0, D4 earlier, ageing out 12 h after `now` (so it no longer counts); practice
/// P0, P1. Users a, b, c are active, d was last seen 15 days ago. Least-assigned, oldest first gives:
/// d gets D4, D0, D1; a gets D2, D3, then D4 (retired at 2), and P0, P1; b gets D0 (retired at 2).
/// Diagnostic counted: D1, D2, D3 = 3; the most seen of them by an active user: a, 2; unseen 1, so the target
/// needs 1 (the minimum needs 0): 1. Practice counted 2, a saw both, unseen 0: 2 (the minimum needs 1): 2.
#[tokio::test]
async fn planning_agrees_with_a_population_computed_by_hand() {
    let (_dir, store) = store().await;
    let bank = BankPolicy { unseen_target: 2, min_size: 3, max_assignments: 2, max_age: TimeDelta::days(30) };
    let policy = Policy::default();
    let now = t0() + TimeDelta::days(10);
    let spec_d = ExamSpec::diagnostic();
    let spec_p = ExamSpec::practice();
    let mut exams = BTreeMap::new();
    let mut ids: Vec<String> = Vec::new();
    let made = [
        (ExamType::Diagnostic, t0()),
        (ExamType::Diagnostic, t0() + TimeDelta::milliseconds(1)),
        (ExamType::Diagnostic, t0() + TimeDelta::milliseconds(2)),
        (ExamType::Diagnostic, t0() + TimeDelta::milliseconds(3)),
        // Ages out 12 hours after `now`: inside the 24-hour renewal margin, so it no longer counts.
        (ExamType::Diagnostic, now + TimeDelta::hours(12) - bank.max_age),
        (ExamType::Practice, t0()),
        (ExamType::Practice, t0() + TimeDelta::milliseconds(1)),
    ];
    for (i, (exam_type, at)) in made.into_iter().enumerate() {
        let spec = if exam_type == ExamType::Diagnostic { &spec_d } else { &spec_p };
        let new =
            NewBankExam::new(exam_type, synthetic_exam(spec, i as u64), spec, BankSource::Generated, at, &bank)
                .unwrap();
        let id = store.insert_bank_exam(new).await.unwrap().id;
        exams.insert(
            id.clone(),
            BankExamLife { exam_type, created_at: at, assignments: 0, last_assigned_at: None },
        );
        ids.push(id);
    }
    let mut assignments = Vec::new();
    let mut active = BTreeSet::new();
    let at = t0() + TimeDelta::hours(1);
    // Who takes what, in order (least-assigned, oldest first, decides which exam each gets).
    let script: [(&str, DateTime<Utc>, usize, usize); 4] =
        [("d", now - TimeDelta::days(15), 3, 0), ("a", now, 3, 2), ("b", now, 1, 0), ("c", now, 0, 0)];
    for (name, seen, diagnostic, practice) in script {
        let user = UserId::parse(name).unwrap();
        store.record_activity(&user, seen).await.unwrap();
        if policy.is_active(seen, now) {
            active.insert(name.to_owned());
        }
        for (exam_type, times) in [(ExamType::Diagnostic, diagnostic), (ExamType::Practice, practice)] {
            for _ in 0..times {
                let id = store.assign_exam(&user, exam_type, at, &bank).await.unwrap().unwrap().id;
                let life = exams.get_mut(&id).unwrap();
                life.assignments += 1;
                life.last_assigned_at = Some(at);
                assignments.push((name.to_owned(), id));
            }
        }
    }
    let by_user = |name: &str| -> Vec<usize> {
        assignments
            .iter()
            .filter(|(u, _)| u == name)
            .map(|(_, id)| ids.iter().position(|i| i == id).unwrap())
            .collect()
    };
    assert_eq!(by_user("d"), [4, 0, 1]);
    assert_eq!(by_user("a"), [2, 3, 4, 5, 6]);
    assert_eq!(by_user("b"), [0]);
    let hand: BTreeMap<ExamType, u32> = [(ExamType::Diagnostic, 1), (ExamType::Practice, 2)].into();
    let pure = plan_population(&bank, &exams, &assignments, &active, policy.stock_cutoff(now));
    let plans = store.plan_bank(now, &policy, &bank).await.unwrap();
    let sql: BTreeMap<ExamType, u32> = plans.iter().map(|p| (p.exam_type, p.needed)).collect();
    assert_eq!(pure, hand, "the pure rule against the hand count");
    assert_eq!(sql, hand, "the store's query against the hand count");
    let d = plans.iter().find(|p| p.exam_type == ExamType::Diagnostic).unwrap();
    assert_eq!((d.counted, d.active_users, d.max_seen), (3, 3, 2));
}

//! The shared bank on every backend: the generic conformance checks, planning and analytics against populations
//! computed by hand, assignments from many handles at once, and the rule that no user ever receives the same
//! exam content twice, even after its exam was deleted and the content stored again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use pregen_core::exam::{ExamSpec, ExamType, synthetic_exam};
use pregen_core::policy::{BankExamLife, BankPolicy, Policy, plan_population};
use pregen_core::store::conformance::check_bank_store;
use pregen_core::store::{ActivityStore, BankSource, BankStore, GenerationStats, NewBankExam, TokenTotals};

use super::{Backend, tiny_spec, user};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-03-01T12:00:00Z").unwrap().to_utc()
}

/// A tiny practice bank exam of `seed`'s content stored at `at`.
fn tiny(seed: u64, at: DateTime<Utc>, bank: &BankPolicy) -> NewBankExam {
    let spec = tiny_spec();
    NewBankExam::new(ExamType::Practice, synthetic_exam(&spec, seed), &spec, BankSource::Generated, at, bank)
        .unwrap()
}

pub async fn the_bank_passes_the_conformance_checks(b: &impl Backend) {
    let store = b.open().await;
    let checks = check_bank_store(&store).await.unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(checks, 7);
}

/// The population, by hand (unseen target 2, minimum 3, retirement at 2 assignments, renewal margin 24 h):
/// diagnostic D0..D3 stored at t0, D4 earlier, ageing out 12 h after `now` (so it no longer counts); practice
/// P0, P1. Users a, b, c are active, d was last seen 15 days ago. Least-assigned, oldest first gives:
/// d gets D4, D0, D1; a gets D2, D3, then D4 (retired at 2), and P0, P1; b gets D0 (retired at 2).
/// Diagnostic counted: D1, D2, D3 = 3; the most seen of them by an active user: a, 2; unseen 1, so the target
/// needs 1 (the minimum needs 0): 1. Practice counted 2, a saw both, unseen 0: 2 (the minimum needs 1): 2.
pub async fn planning_agrees_with_a_population_computed_by_hand(b: &impl Backend) {
    let store = b.open().await;
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
        let u = user(name);
        store.record_activity(&u, seen).await.unwrap();
        if policy.is_active(seen, now) {
            active.insert(name.to_owned());
        }
        for (exam_type, times) in [(ExamType::Diagnostic, diagnostic), (ExamType::Practice, practice)] {
            for _ in 0..times {
                let id = store.assign_exam(&u, exam_type, at, &bank).await.unwrap().unwrap().id;
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

/// Deleting a retired exam must not forget who saw its content: the same content stored again (a re-import, or a
/// generator that repeats itself) is never assigned to a user who received it before, and planning and the
/// unseen count agree.
pub async fn content_a_user_saw_is_never_assigned_again_after_its_exam_was_deleted(b: &impl Backend) {
    let store = b.open().await;
    let (bank, policy) = (BankPolicy { max_assignments: 1, ..BankPolicy::default() }, Policy::default());
    let first = store.insert_bank_exam(tiny(1, t0(), &bank)).await.unwrap();
    let seen = user("saw-it");
    let at = t0() + TimeDelta::hours(1);
    let got = store.assign_exam(&seen, ExamType::Practice, at, &bank).await.unwrap().unwrap();
    assert_eq!(got.id, first.id);
    let cleaned = store.cleanup_bank(at + policy.used_retention, &policy, &bank, 10).await.unwrap();
    assert_eq!(cleaned.deleted, 1, "retired at one assignment and past the retention");
    assert_eq!(store.bank_exam_by_content(ExamType::Practice, first_hash(1).as_str()).await.unwrap(), None);

    let later = at + TimeDelta::days(2);
    let again = store.insert_bank_exam(tiny(1, later, &bank)).await.unwrap();
    assert!(again.created && again.id != first.id, "the content is stored again under a new id");
    let other = store.insert_bank_exam(tiny(2, later + TimeDelta::milliseconds(1), &bank)).await.unwrap();
    store.record_activity(&seen, later).await.unwrap();

    assert_eq!(store.unseen(&seen, ExamType::Practice, later, &bank).await.unwrap(), 1, "only the new content");
    let next = store.assign_exam(&seen, ExamType::Practice, later, &bank).await.unwrap();
    assert_eq!(next.map(|c| c.id), Some(other.id), "the other content, not the one seen before");
    let none = store.assign_exam(&seen, ExamType::Practice, later, &bank).await.unwrap();
    assert_eq!(none.map(|c| c.id), None, "the content seen before is never assigned again");
    let plans = store.plan_bank(later, &policy, &bank).await.unwrap();
    let practice = plans.iter().find(|p| p.exam_type == ExamType::Practice).unwrap();
    assert_eq!((practice.counted, practice.max_seen), (1, 1), "the re-stored content counts as seen");

    let fresh = store.assign_exam(&user("never-saw-it"), ExamType::Practice, later, &bank).await.unwrap();
    assert_eq!(fresh.map(|c| c.id), Some(again.id), "another user receives the re-stored content");
}

fn first_hash(seed: u64) -> String {
    pregen_core::store::content_hash(&synthetic_exam(&tiny_spec(), seed))
}

/// Four handles (each its own connections, as four processes have) and three tasks per user per handle assign
/// from a bank of 20 exams until nothing is left: every user receives every exam exactly once.
pub async fn concurrent_gets_from_many_handles_never_repeat_an_exam_to_a_user(b: &impl Backend) {
    const EXAMS: u64 = 20;
    const USERS: usize = 6;
    let bank = BankPolicy::default();
    let setup = b.open().await;
    let mut stored = BTreeSet::new();
    for i in 0..EXAMS {
        let id = setup
            .insert_bank_exam(tiny(900 + i, t0() + TimeDelta::milliseconds(i as i64), &bank))
            .await
            .unwrap()
            .id;
        stored.insert(id);
    }
    let mut handles = Vec::new();
    for _ in 0..4 {
        handles.push(b.open().await);
    }
    let now = t0() + TimeDelta::hours(1);
    let mut tasks = Vec::new();
    for handle in &handles {
        for who in 0..USERS {
            for _ in 0..3 {
                let (store, u) = (handle.clone(), user(&format!("racer-{who}")));
                tasks.push(tokio::spawn(async move {
                    let mut got = Vec::new();
                    while let Some(c) = store.assign_exam(&u, ExamType::Practice, now, &bank).await.unwrap() {
                        got.push(c.id);
                    }
                    (who, got)
                }));
            }
        }
    }
    let mut per_user: HashMap<usize, Vec<String>> = HashMap::new();
    for task in tasks {
        let (who, got) = task.await.unwrap();
        per_user.entry(who).or_default().extend(got);
    }
    for who in 0..USERS {
        let got = &per_user[&who];
        let distinct: BTreeSet<String> = got.iter().cloned().collect();
        assert_eq!(got.len(), distinct.len(), "user {who} received an exam twice");
        assert_eq!(distinct, stored, "user {who} received every exam");
    }
    let analytics = setup.bank_analytics(now, &Policy::default(), &bank).await.unwrap();
    let practice = analytics.types.iter().find(|t| t.exam_type == ExamType::Practice).unwrap();
    assert_eq!(practice.assignments, EXAMS * USERS as u64, "each assignment counted once on its exam");
    assert_eq!(analytics.assignments_total, EXAMS * USERS as u64);
}

fn costing(cost_usd: f64) -> GenerationStats {
    GenerationStats {
        tokens: TokenTotals { requests: 1, cost_usd, ..TokenTotals::default() },
        ..Default::default()
    }
}

/// Analytics against a bank computed by hand, max assignments 2: practice P2 (0.75 USD) stored 5 days before
/// P0 (0.25, imported) and P1 (0.5, 1 ms after P0); diagnostic D0 (1.0). Active users a, b; c inactive. Least
/// assigned, oldest first: a takes P2, P0, P1; b takes P2 (retired at 2); c takes P0 (retired at 2). At `now`,
/// 26 days after P0, P2 is past its age too, so P1 alone is servable. Practice: stored 3, servable 1, imported
/// 1, assignments 5, mean 1.67, max 2, users who saw the whole servable bank 1 (a), cost 1.5. Diagnostic:
/// stored 1, servable 1, nothing assigned, nobody saw it all, cost 1.0. Totals: 5 assignments, 4 exams, 2.5 USD,
/// 0.5 per served exam.
pub async fn bank_analytics_match_a_bank_computed_by_hand(b: &impl Backend) {
    let store = b.open().await;
    let bank = BankPolicy { max_assignments: 2, max_age: TimeDelta::days(30), ..BankPolicy::default() };
    let policy = Policy::default();
    let spec = tiny_spec();
    let exam = |seed: u64, at: DateTime<Utc>, source: BankSource, exam_type: ExamType, cost: f64| {
        NewBankExam::new(exam_type, synthetic_exam(&spec, seed), &spec, source, at, &bank)
            .unwrap()
            .with_generation(costing(cost))
    };
    let now = t0() + TimeDelta::days(26);
    let p2_at = t0() - TimeDelta::days(5);
    store.insert_bank_exam(exam(70, t0(), BankSource::Imported, ExamType::Practice, 0.25)).await.unwrap();
    let at1 = t0() + TimeDelta::milliseconds(1);
    store.insert_bank_exam(exam(71, at1, BankSource::Generated, ExamType::Practice, 0.5)).await.unwrap();
    store.insert_bank_exam(exam(72, p2_at, BankSource::Generated, ExamType::Practice, 0.75)).await.unwrap();
    store.insert_bank_exam(exam(73, t0(), BankSource::Generated, ExamType::Diagnostic, 1.0)).await.unwrap();
    // The same content again adds nothing.
    store.insert_bank_exam(exam(70, t0(), BankSource::Imported, ExamType::Practice, 0.25)).await.unwrap();
    for (name, seen) in [("a", now), ("b", now), ("c", now - TimeDelta::days(15))] {
        store.record_activity(&user(name), seen).await.unwrap();
    }
    let early = t0() + TimeDelta::hours(1);
    for (name, takes) in [("a", 3), ("b", 1), ("c", 1)] {
        for _ in 0..takes {
            store.assign_exam(&user(name), ExamType::Practice, early, &bank).await.unwrap().unwrap();
        }
    }
    let got = store.bank_analytics(now, &policy, &bank).await.unwrap();
    let by_type: BTreeMap<ExamType, _> = got.types.iter().map(|t| (t.exam_type, t.clone())).collect();
    let p = &by_type[&ExamType::Practice];
    assert_eq!(
        (p.stored, p.servable, p.imported, p.assignments, p.max_assignments_per_exam, p.users_seen_whole_bank),
        (3, 1, 1, 5, 2, 1)
    );
    assert_eq!(p.mean_assignments_per_exam, 1.67);
    assert!((p.cost_usd - 1.5).abs() < 1e-9, "{}", p.cost_usd);
    let d = &by_type[&ExamType::Diagnostic];
    assert_eq!(
        (d.stored, d.servable, d.imported, d.assignments, d.max_assignments_per_exam, d.users_seen_whole_bank),
        (1, 1, 0, 0, 0, 0)
    );
    assert_eq!(d.mean_assignments_per_exam, 0.0);
    assert_eq!((got.assignments_total, got.exams_total), (5, 4));
    assert!((got.cost_total_usd - 2.5).abs() < 1e-9, "{}", got.cost_total_usd);
    assert!((got.cost_per_served_exam_usd.unwrap() - 0.5).abs() < 1e-9);
    assert_eq!(got.types.len(), 2);
}

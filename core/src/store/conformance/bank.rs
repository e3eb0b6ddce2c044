//! The conformance checks of a [`BankStore`]: content deduplication, least-assigned assignment that never repeats
//! an exam to a user (also under concurrent calls), retirement by count and by age at their boundaries, cleanup
//! at the retention boundary, set-based planning against the pure rule ([`plan_population`]), and a bank job's
//! fenced completion. Each backend's tests call [`check_bank_store`] on a fresh store.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};

use super::conformance_options;
use crate::exam::{Allocation, ExamSpec, ExamType, synthetic_exam};
use crate::policy::{BankExamLife, BankPolicy, Policy, plan_population};
use crate::queue::JobKey;
use crate::store::{ActivityStore, BankSource, BankStore, JobStore, NewBankExam, StoreError, UserId};

/// A bank check that failed: its name and what differed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankDisagreement {
    /// The check.
    pub check: &'static str,
    /// What differed, or the store's error.
    pub detail: String,
}

impl std::fmt::Display for BankDisagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bank check {:?}: {}", self.check, self.detail)
    }
}

impl std::error::Error for BankDisagreement {}

/// Everything a bank check needs of a store.
pub trait BankBackend: BankStore + ActivityStore + JobStore {}

impl<T: BankStore + ActivityStore + JobStore> BankBackend for T {}

fn fail(check: &'static str, detail: impl Into<String>) -> BankDisagreement {
    BankDisagreement { check, detail: detail.into() }
}

fn store_failed(check: &'static str) -> impl Fn(StoreError) -> BankDisagreement {
    move |e| fail(check, format!("the store failed: {e}"))
}

fn expect<T: PartialEq + std::fmt::Debug>(
    check: &'static str,
    what: &str,
    want: T,
    got: T,
) -> Result<(), BankDisagreement> {
    if want == got { Ok(()) } else { Err(fail(check, format!("{what}: expected {want:?}, got {got:?}"))) }
}

/// The start of check `n`'s era: eras lie a year apart, so no check sees another's exams as servable or its
/// users as active.
fn era(n: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2032-01-05T08:00:00Z").map_or(DateTime::UNIX_EPOCH, |t| t.to_utc())
        + TimeDelta::days(365 * n)
}

fn tiny() -> ExamSpec {
    ExamSpec { name: "tiny".into(), item_count: 8, scored_count: 8, allocation: Allocation::WeightedByDomain }
}

fn exam(seed: u64, at: DateTime<Utc>, bank: &BankPolicy) -> NewBankExam {
    let spec = tiny();
    NewBankExam::new(ExamType::Practice, synthetic_exam(&spec, seed), &spec, BankSource::Generated, at, bank)
        .expect("a synthetic exam is valid")
}

fn user(check: &str, n: usize) -> UserId {
    UserId::parse(&format!("bank-{check}-{n}")).expect("a plain id")
}

/// Runs every bank check against `store`, which must hold no bank exam, assignment or job (a fresh store).
pub async fn check_bank_store(store: &dyn BankBackend) -> Result<usize, BankDisagreement> {
    dedupe(store).await?;
    assignment_order_and_count_retirement(store).await?;
    age_retirement(store).await?;
    cleanup_boundary(store).await?;
    planning(store).await?;
    concurrent_assignments(store).await?;
    bank_job_completion(store).await?;
    Ok(7)
}

async fn dedupe(store: &dyn BankBackend) -> Result<(), BankDisagreement> {
    const C: &str = "dedupe";
    let (bank, t) = (BankPolicy::default(), era(0));
    let first = store.insert_bank_exam(exam(1, t, &bank)).await.map_err(store_failed(C))?;
    let again = store.insert_bank_exam(exam(1, t + TimeDelta::hours(1), &bank)).await.map_err(store_failed(C))?;
    expect(C, "first insert created", true, first.created)?;
    expect(C, "same content again", (first.id.clone(), false), (again.id, again.created))?;
    let other = store.insert_bank_exam(exam(2, t, &bank)).await.map_err(store_failed(C))?;
    expect(C, "other content created", true, other.created && other.id != first.id)
}

async fn assignment_order_and_count_retirement(store: &dyn BankBackend) -> Result<(), BankDisagreement> {
    const C: &str = "assignment order and retirement by count";
    let (bank, t) = (BankPolicy { max_assignments: 2, ..BankPolicy::default() }, era(1));
    let mut ids = Vec::new();
    for i in 0..3 {
        let at = t + TimeDelta::milliseconds(i);
        ids.push(store.insert_bank_exam(exam(100 + i as u64, at, &bank)).await.map_err(store_failed(C))?.id);
    }
    let now = t + TimeDelta::hours(1);
    let mut got = BTreeMap::new();
    for (who, times) in [(0, 4), (1, 2), (2, 2)] {
        let u = user("order", who);
        for _ in 0..times {
            let claim = store.assign_exam(&u, ExamType::Practice, now, &bank).await.map_err(store_failed(C))?;
            got.entry(who).or_insert_with(Vec::new).push(claim.map(|c| c.id));
        }
    }
    let some = |i: usize| Some(ids[i].clone());
    expect(
        C,
        "user 0: every exam once, oldest first, then none",
        vec![some(0), some(1), some(2), None],
        got[&0].clone(),
    )?;
    expect(
        C,
        "user 1: the least assigned first (all at 1), oldest first",
        vec![some(0), some(1)],
        got[&1].clone(),
    )?;
    expect(C, "user 2: the two first retired at 2 assignments", vec![some(2), None], got[&2].clone())?;
    let unseen = store.unseen(&user("order", 3), ExamType::Practice, now, &bank).await.map_err(store_failed(C))?;
    expect(C, "unseen for a new user once all retired", 0, unseen)
}

async fn age_retirement(store: &dyn BankBackend) -> Result<(), BankDisagreement> {
    const C: &str = "retirement by age";
    let (bank, t) = (BankPolicy::default(), era(2));
    let id = store.insert_bank_exam(exam(200, t, &bank)).await.map_err(store_failed(C))?.id;
    let end = t + bank.max_age;
    let u = user("age", 0);
    let before = end - TimeDelta::milliseconds(1);
    expect(
        C,
        "unseen just before the age limit",
        1,
        store.unseen(&u, ExamType::Practice, before, &bank).await.map_err(store_failed(C))?,
    )?;
    expect(
        C,
        "unseen at the age limit",
        0,
        store.unseen(&u, ExamType::Practice, end, &bank).await.map_err(store_failed(C))?,
    )?;
    let at_end = store.assign_exam(&u, ExamType::Practice, end, &bank).await.map_err(store_failed(C))?;
    expect(C, "assigned at the age limit", None, at_end.map(|c| c.id))?;
    let just_before = store.assign_exam(&u, ExamType::Practice, before, &bank).await.map_err(store_failed(C))?;
    expect(C, "assigned just before the age limit", Some(id), just_before.map(|c| c.id))
}

async fn cleanup_boundary(store: &dyn BankBackend) -> Result<(), BankDisagreement> {
    const C: &str = "cleanup at the retention boundary";
    let (bank, t, policy) =
        (BankPolicy { max_assignments: 1, ..BankPolicy::default() }, era(3), Policy::default());
    // Earlier checks' exams are all retired by age now; they go first, so the counts below are this check's.
    store.cleanup_bank(t, &policy, &bank, 1_000).await.map_err(store_failed(C))?;
    store.insert_bank_exam(exam(300, t, &bank)).await.map_err(store_failed(C))?;
    let servable =
        store.insert_bank_exam(exam(301, t + TimeDelta::milliseconds(1), &bank)).await.map_err(store_failed(C))?;
    let assigned_at = t + TimeDelta::hours(2);
    store
        .assign_exam(&user("cleanup", 0), ExamType::Practice, assigned_at, &bank)
        .await
        .map_err(store_failed(C))?;
    let edge = assigned_at + policy.used_retention;
    let early =
        store.cleanup_bank(edge - TimeDelta::milliseconds(1), &policy, &bank, 1).await.map_err(store_failed(C))?;
    expect(C, "deleted before the retention ran out", 0, early.deleted)?;
    let due = store.cleanup_bank(edge, &policy, &bank, 1).await.map_err(store_failed(C))?;
    expect(
        C,
        "deleted when the retention ran out (and bounded batches)",
        (1, 0, 2),
        (due.deleted, due.unserved, due.batches),
    )?;
    let u = user("cleanup", 1);
    let next = store.assign_exam(&u, ExamType::Practice, edge, &bank).await.map_err(store_failed(C))?;
    expect(C, "the servable exam stays", Some(servable.id), next.map(|c| c.id))?;
    let aged = store.cleanup_bank(t + bank.max_age, &policy, &bank, 10).await.map_err(store_failed(C))?;
    expect(C, "the second exam goes once aged, served", (1, 0), (aged.deleted, aged.unserved))
}

async fn planning(store: &dyn BankBackend) -> Result<(), BankDisagreement> {
    const C: &str = "planning against the pure rule";
    let (bank, t, policy) = (
        BankPolicy { unseen_target: 2, min_size: 3, max_assignments: 3, ..BankPolicy::default() },
        era(4),
        Policy::default(),
    );
    let mut exams = BTreeMap::new();
    for i in 0..4u64 {
        let at = t + TimeDelta::milliseconds(i as i64);
        let id = store.insert_bank_exam(exam(400 + i, at, &bank)).await.map_err(store_failed(C))?.id;
        exams.insert(
            id,
            BankExamLife { exam_type: ExamType::Practice, created_at: at, assignments: 0, last_assigned_at: None },
        );
    }
    let now = t + TimeDelta::days(1);
    let mut assignments = Vec::new();
    let mut active = BTreeSet::new();
    // User 0 takes three exams, user 1 one, user 2 none; user 3 takes two and goes inactive.
    for (who, takes, seen_at) in [(0, 3, now), (1, 1, now), (2, 0, now), (3, 2, now - TimeDelta::days(20))] {
        let u = user("plan", who);
        store.record_activity(&u, seen_at).await.map_err(store_failed(C))?;
        if policy.is_active(seen_at, now) {
            active.insert(u.as_str().to_owned());
        }
        for _ in 0..takes {
            let claim = store
                .assign_exam(&u, ExamType::Practice, t + TimeDelta::hours(1), &bank)
                .await
                .map_err(store_failed(C))?;
            let id = claim.ok_or_else(|| fail(C, "an assignment found nothing"))?.id;
            let life = exams.get_mut(&id).ok_or_else(|| fail(C, "an unknown exam was assigned"))?;
            life.assignments += 1;
            life.last_assigned_at = Some(t + TimeDelta::hours(1));
            assignments.push((u.as_str().to_owned(), id));
        }
    }
    let pure = plan_population(&bank, &exams, &assignments, &active, policy.stock_cutoff(now));
    let plans = store.plan_bank(now, &policy, &bank).await.map_err(store_failed(C))?;
    let sql: BTreeMap<ExamType, u32> = plans.iter().map(|p| (p.exam_type, p.needed)).collect();
    expect(C, "needed per type, store against the pure rule", pure, sql)
}

async fn concurrent_assignments(store: &dyn BankBackend) -> Result<(), BankDisagreement> {
    const C: &str = "concurrent assignments to one user";
    let (bank, t) = (BankPolicy::default(), era(5));
    for i in 0..6u64 {
        store
            .insert_bank_exam(exam(500 + i, t + TimeDelta::milliseconds(i as i64), &bank))
            .await
            .map_err(store_failed(C))?;
    }
    let u = user("concurrent", 0);
    let now = t + TimeDelta::hours(1);
    let calls = (0..10).map(|_| store.assign_exam(&u, ExamType::Practice, now, &bank));
    let results = futures::future::join_all(calls).await;
    let mut ids = Vec::new();
    for r in results {
        if let Some(c) = r.map_err(store_failed(C))? {
            ids.push(c.id);
        }
    }
    let distinct: BTreeSet<&String> = ids.iter().collect();
    expect(C, "exams received (six, each once)", (6, 6), (ids.len(), distinct.len()))
}

async fn bank_job_completion(store: &dyn BankBackend) -> Result<(), BankDisagreement> {
    const C: &str = "bank job completion";
    let (bank, t, options) = (BankPolicy::default(), era(6), conformance_options());
    let key = JobKey::bank(ExamType::Practice, 0);
    let first = store.enqueue(&key, t, &options).await.map_err(store_failed(C))?;
    let again = store.enqueue(&key, t, &options).await.map_err(store_failed(C))?;
    expect(
        C,
        "a bank key dedupes like a user's",
        (true, false, first.job.id.clone()),
        (first.created, again.created, again.job.id),
    )?;
    let claimed = store.claim_jobs("bank-worker", 10, t, &options).await.map_err(store_failed(C))?;
    let job = claimed.into_iter().find(|j| j.key == key).ok_or_else(|| fail(C, "the bank job was not claimed"))?;
    let mut stale = job.clone();
    stale.attempt += 1;
    match store.complete_job_with_bank_exam(&stale, exam(600, t, &bank), t).await {
        Err(StoreError::LeaseLost(_)) => {}
        other => {
            return Err(fail(
                C,
                format!("a stale completion: expected lease lost, got {:?}", other.map(|(j, _)| j.state)),
            ));
        }
    }
    let (done, id) =
        store.complete_job_with_bank_exam(&job, exam(600, t, &bank), t).await.map_err(store_failed(C))?;
    expect(C, "job state", crate::queue::JobState::Succeeded, done.state)?;
    let u = user("job", 0);
    let claim = store.assign_exam(&u, ExamType::Practice, t, &bank).await.map_err(store_failed(C))?;
    expect(C, "the job's exam is in the bank, once", Some(id), claim.map(|c| c.id))?;
    let next = store.assign_exam(&u, ExamType::Practice, t, &bank).await.map_err(store_failed(C))?;
    expect(C, "the stale completion stored nothing", None, next.map(|c| c.id))
}

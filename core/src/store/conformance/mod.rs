//! The conformance suite of a [`JobStore`] against the pure queue: the same sequences of operations (enqueue,
//! claim, claim by id, heartbeats at various instants, reported outcomes, completion with an exam, releases,
//! reaping, clearing, and stale writes of a holder that lost its job) drive the pure transitions of
//! [`crate::queue`] and the store, and after every step the returned jobs and the stored job are compared field by
//! field. A rule written twice (a transition in Rust, a statement in SQL) is thus proven to be one rule on every
//! backend: each backend's tests call [`check_job_store`] on a fresh store.

mod bank;
mod sequences;

pub use bank::{BankBackend, BankDisagreement, check_bank_store};

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use super::{JobStore, NewExam, StoreError, UserId};
use crate::exam::{Allocation, ExamSpec, synthetic_exam};
use crate::policy::Policy;
use crate::queue::{Decision, Job, JobKey, JobState, Outcome, QueueOptions, apply, cancel, decide, overdue};
use sequences::{By, Sequence, Step};

/// The options every sequence runs with: the defaults (60 s lease, 15 s heartbeat, 2 min attempt timeouts,
/// 3 attempts, 30 s base backoff, retry-after capped at 10 min) with no jitter, so a store's own random draw for
/// a reaped timeout cannot make its retry time differ, and a release bound of 2.
pub fn conformance_options() -> QueueOptions {
    let mut options = QueueOptions { max_releases: 2, ..QueueOptions::default() };
    options.retry.jitter = 0.0;
    options
}

/// What a passing run covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conformance {
    /// Sequences run.
    pub sequences: usize,
    /// Steps compared, across all sequences.
    pub steps: usize,
}

/// The first step at which the store and the pure transitions disagreed, or at which the store failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// The sequence's name.
    pub sequence: &'static str,
    /// The step's index in it (0 is the enqueue).
    pub step: usize,
    /// What differed, field by field, or the store's error.
    pub detail: String,
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sequence {:?}, step {}: {}", self.sequence, self.step, self.detail)
    }
}

impl std::error::Error for Disagreement {}

/// Runs every sequence against `store`, which must hold no due or running job when called (a fresh store): the
/// sequences claim with `claim_jobs`, which would take other jobs too. Each sequence enqueues its own key and
/// leaves its job finished. Returns what was compared, or the first disagreement.
pub async fn check_job_store(store: &dyn JobStore) -> Result<Conformance, Disagreement> {
    let base = DateTime::parse_from_rfc3339("2031-01-06T09:00:00Z").map_or(DateTime::UNIX_EPOCH, |t| t.to_utc());
    let mut done = Conformance { sequences: 0, steps: 0 };
    for (n, sequence) in sequences::all().into_iter().enumerate() {
        let start = base + TimeDelta::days(i64::try_from(n).unwrap_or(0));
        done.steps += Run::new(store, &sequence, n, start).go(&sequence).await?;
        done.sequences += 1;
    }
    Ok(done)
}

/// One sequence in progress: the pure job beside the stored one, and the copies a worker holds.
struct Run<'a> {
    store: &'a dyn JobStore,
    name: &'static str,
    /// The sequence's own user, UUID-shaped as production ids are.
    user: String,
    options: QueueOptions,
    start: DateTime<Utc>,
    step: usize,
    model: Option<Job>,
    /// The copy the latest claim (or its heartbeats) handed out.
    held: Option<Job>,
    /// The copy the claim before handed out: a holder that lost the job.
    stale: Option<Job>,
    claims: u32,
}

impl<'a> Run<'a> {
    fn new(store: &'a dyn JobStore, sequence: &Sequence, index: usize, start: DateTime<Utc>) -> Self {
        Self {
            store,
            name: sequence.name,
            user: format!("00000000-0000-4000-8000-c0f0{index:08}"),
            options: conformance_options(),
            start,
            step: 0,
            model: None,
            held: None,
            stale: None,
            claims: 0,
        }
    }

    async fn go(mut self, sequence: &Sequence) -> Result<usize, Disagreement> {
        self.enqueue(0).await?;
        for step in &sequence.steps {
            self.step += 1;
            self.apply(*step).await?;
            self.compare_stored().await?;
        }
        self.step += 1;
        self.finalize().await?;
        self.compare_stored().await?;
        Ok(self.step + 1)
    }

    fn at(&self, ms: i64) -> DateTime<Utc> {
        self.start + TimeDelta::milliseconds(ms)
    }

    fn fail(&self, detail: impl Into<String>) -> Disagreement {
        Disagreement { sequence: self.name, step: self.step, detail: detail.into() }
    }

    fn store_failed(&self, e: &StoreError) -> Disagreement {
        self.fail(format!("the store failed: {e}"))
    }

    fn model(&self) -> Result<&Job, Disagreement> {
        self.model.as_ref().ok_or_else(|| self.fail("no job enqueued"))
    }

    fn copy(&self, by: By) -> Result<Job, Disagreement> {
        let copy = match by {
            By::Holder => &self.held,
            By::Stale => &self.stale,
        };
        copy.clone().ok_or_else(|| self.fail("the sequence uses a held copy it never got"))
    }

    async fn enqueue(&mut self, ms: i64) -> Result<(), Disagreement> {
        let now = self.at(ms);
        let key = JobKey::new(self.user.clone(), crate::exam::ExamType::Practice);
        let got = self.store.enqueue(&key, now, &self.options).await.map_err(|e| self.store_failed(&e))?;
        match self.model.clone().filter(Job::is_unfinished) {
            Some(live) => {
                same(&live, &got.job).map_err(|d| self.fail(format!("enqueue returned another job: {d}")))?;
                if got.created {
                    return Err(self.fail("a second enqueue of a live key created a job"));
                }
            }
            None => {
                if !got.created {
                    return Err(self.fail("the first enqueue of a fresh key did not create a job"));
                }
                let expected = Job::new(got.job.id.clone(), key, now, &self.options);
                same(&expected, &got.job).map_err(|d| self.fail(format!("enqueue: {d}")))?;
                self.model = Some(expected);
            }
        }
        Ok(())
    }

    async fn apply(&mut self, step: Step) -> Result<(), Disagreement> {
        match step {
            Step::Enqueue(ms) => self.enqueue(ms).await,
            Step::Claim(ms) => self.claim(ms, false).await,
            Step::ClaimById(ms) => self.claim(ms, true).await,
            Step::Reap(ms) => {
                let now = self.at(ms);
                let settled = self.settle(now)?;
                self.model = Some(settled);
                let got = self.store.claim_jobs("reaper", 0, now, &self.options).await;
                let got = got.map_err(|e| self.store_failed(&e))?;
                if got.is_empty() { Ok(()) } else { Err(self.fail("a claim of 0 jobs returned some")) }
            }
            Step::Heartbeat(ms, by) => self.heartbeat(ms, by).await,
            Step::Fail { at, retryable, retry_after, by } => {
                let error = crate::queue::JobError::new("conformance.failure", "a reported failure");
                self.finish(at, by, Outcome::Failed { error, retryable, retry_after }).await
            }
            Step::RetryAfterYear9999(ms) => {
                let year_9999 =
                    DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z").map_err(|e| self.fail(e.to_string()))?;
                let wait = year_9999.to_utc() - self.at(ms);
                let error = crate::queue::JobError::new("claude.rate_limited", "retry-after in the year 9999");
                self.finish(ms, By::Holder, Outcome::Failed { error, retryable: true, retry_after: Some(wait) })
                    .await
            }
            Step::TimedOut(ms, by) => self.finish(ms, by, Outcome::TimedOut).await,
            Step::Succeed(ms, by) => self.finish(ms, by, Outcome::Succeeded).await,
            Step::Complete(ms, by) => self.complete(ms, by).await,
            Step::Release(ms, by) => self.release(ms, by).await,
            Step::Clear(ms) => self.clear(ms).await,
        }
    }

    /// The pure job after the settling every claim path does at `now`.
    fn settle(&self, now: DateTime<Utc>) -> Result<Job, Disagreement> {
        let model = self.model()?.clone();
        let Some(outcome) = overdue(&model, now) else { return Ok(model) };
        let decision = decide(&model, &outcome, now, &self.options, 0.0).map_err(|e| self.fail(e.to_string()))?;
        Ok(apply(&model, &decision))
    }

    async fn claim(&mut self, ms: i64, by_id: bool) -> Result<(), Disagreement> {
        let now = self.at(ms);
        self.claims += 1;
        let holder = format!("holder-{}", self.claims);
        let settled = self.settle(now)?;
        let expected = crate::queue::start(&settled, &holder, now, &self.options).ok();
        let got = if by_id {
            self.store.claim_job(&settled.id, &holder, now, &self.options).await
        } else {
            self.store
                .claim_jobs(&holder, 8, now, &self.options)
                .await
                .map(|jobs| {
                    let others = jobs.iter().filter(|j| j.id != settled.id).count();
                    (others, jobs.into_iter().find(|j| j.id == settled.id))
                })
                .and_then(|(others, ours)| match others {
                    0 => Ok(ours),
                    n => Err(StoreError::Conflict(format!(
                        "claimed {n} jobs of other sequences: the store was not fresh"
                    ))),
                })
        }
        .map_err(|e| self.store_failed(&e))?;
        match (&expected, &got) {
            (Some(e), Some(g)) => same(e, g).map_err(|d| self.fail(format!("claim: {d}")))?,
            (None, None) => {}
            (Some(_), None) => return Err(self.fail("the pure start claims the job, the store does not")),
            (None, Some(_)) => return Err(self.fail("the store claims a job the pure start refuses")),
        }
        self.model = Some(expected.clone().unwrap_or(settled));
        if let Some(claimed) = expected {
            self.stale = self.held.replace(claimed);
        }
        Ok(())
    }

    async fn heartbeat(&mut self, ms: i64, by: By) -> Result<(), Disagreement> {
        let (now, copy) = (self.at(ms), self.copy(by)?);
        let holder = holder_of(&copy);
        let expected = crate::queue::heartbeat(self.model()?, &holder, copy.attempt, now, &self.options);
        let got = self.store.heartbeat_job(&copy, now, &self.options).await;
        let renewed = self.agree("heartbeat", expected.ok(), got)?;
        if let (Some(renewed), By::Holder) = (renewed, by) {
            self.held = Some(renewed);
        }
        Ok(())
    }

    async fn finish(&mut self, ms: i64, by: By, outcome: Outcome) -> Result<(), Disagreement> {
        let (now, copy) = (self.at(ms), self.copy(by)?);
        let decision = decide(&copy, &outcome, now, &self.options, 0.0).map_err(|e| self.fail(e.to_string()))?;
        let model = self.model()?.clone();
        let expected = self.fenced(&copy)?.then(|| apply(&model, &decision));
        let got = self.store.finish_job(&copy, &decision).await;
        self.agree("finish", expected, got).map(drop)
    }

    async fn complete(&mut self, ms: i64, by: By) -> Result<(), Disagreement> {
        let (now, copy) = (self.at(ms), self.copy(by)?);
        let decision = Decision { state: JobState::Succeeded, run_at: None, last_error: None, decided_at: now };
        let model = self.model()?.clone();
        let expected = self.fenced(&copy)?.then(|| apply(&model, &decision));
        let exam = tiny_exam(&copy, now).map_err(|e| self.store_failed(&e))?;
        let got = self.store.complete_job_with_exam(&copy, exam, now).await.map(|(job, _exam_id)| job);
        self.agree("complete with exam", expected, got).map(drop)
    }

    async fn release(&mut self, ms: i64, by: By) -> Result<(), Disagreement> {
        let (now, copy) = (self.at(ms), self.copy(by)?);
        let expected = crate::queue::release(self.model()?, &holder_of(&copy), copy.attempt, now);
        let got = self.store.release_job(&copy, now).await;
        self.agree("release", expected.ok(), got).map(drop)
    }

    async fn clear(&mut self, ms: i64) -> Result<(), Disagreement> {
        let now = self.at(ms);
        let cancelled = cancel(self.model()?, now).ok();
        let got = self.store.clear_queue(now).await.map_err(|e| self.store_failed(&e))?;
        if got != u64::from(cancelled.is_some()) {
            return Err(self
                .fail(format!("clear cancelled {got} jobs, the pure cancel {}", u8::from(cancelled.is_some()))));
        }
        if let Some(cancelled) = cancelled {
            self.model = Some(cancelled);
        }
        Ok(())
    }

    /// Leaves the job finished, so the next sequence's claims meet no job of this one.
    async fn finalize(&mut self) -> Result<(), Disagreement> {
        let model = self.model()?.clone();
        let last = model.updated_at.max(model.run_at);
        let ms = (last - self.start).num_milliseconds() + 1;
        match model.state {
            JobState::Running => {
                let error = crate::queue::JobError::new("conformance.end", "end of sequence");
                self.finish(ms, By::Holder, Outcome::Failed { error, retryable: false, retry_after: None }).await
            }
            JobState::Pending | JobState::RetryWait => self.clear(ms).await,
            _ => Ok(()),
        }
    }

    /// Whether the store must accept a write of `copy`: the job runs under `copy`'s holder and attempt.
    fn fenced(&self, copy: &Job) -> Result<bool, Disagreement> {
        let model = self.model()?;
        Ok(model.state == JobState::Running
            && model.attempt == copy.attempt
            && model.lease.as_ref().map(|l| &l.holder) == copy.lease.as_ref().map(|l| &l.holder))
    }

    /// Compares a pure result (`None`: refused) with the store's; a refusal must be `store.lease_lost`. On
    /// agreement the pure job becomes the model.
    fn agree(
        &mut self,
        what: &str,
        expected: Option<Job>,
        got: Result<Job, StoreError>,
    ) -> Result<Option<Job>, Disagreement> {
        match (expected, got) {
            (Some(e), Ok(g)) => {
                same(&e, &g).map_err(|d| self.fail(format!("{what}: {d}")))?;
                self.model = Some(e);
                Ok(Some(g))
            }
            (None, Err(StoreError::LeaseLost(_))) => Ok(None),
            (None, Err(e)) => Err(self.fail(format!("{what}: refused with {e}, expected store.lease_lost"))),
            (None, Ok(_)) => Err(self.fail(format!("{what}: the store accepted what the pure rule refuses"))),
            (Some(_), Err(e)) => Err(self.fail(format!("{what}: the store refused ({e}), the pure rule accepts"))),
        }
    }

    async fn compare_stored(&self) -> Result<(), Disagreement> {
        let model = self.model()?;
        let stored = self.store.get_job(&model.id).await.map_err(|e| self.store_failed(&e))?;
        let stored = stored.ok_or_else(|| self.fail("the stored job vanished"))?;
        same(model, &stored).map_err(|d| self.fail(format!("stored job: {d}")))
    }
}

fn holder_of(job: &Job) -> String {
    job.lease.as_ref().map(|l| l.holder.clone()).unwrap_or_default()
}

/// A valid eight-item exam for the job's key.
fn tiny_exam(job: &Job, now: DateTime<Utc>) -> Result<NewExam, StoreError> {
    let spec =
        ExamSpec { name: "tiny".into(), item_count: 8, scored_count: 8, allocation: Allocation::WeightedByDomain };
    let user = UserId::parse(&job.key.user_id)?;
    NewExam::new(user, job.key.exam_type, synthetic_exam(&spec, 11), &spec, now, &Policy::default())
}

/// `Ok` when the jobs are equal, else every differing field as `field: expected … got …`.
fn same(expected: &Job, got: &Job) -> Result<(), String> {
    let mut diffs = Vec::new();
    let mut field = |name: &str, e: String, g: String| {
        if e != g {
            diffs.push(format!("{name}: expected {e}, got {g}"));
        }
    };
    let t = |t: Option<DateTime<Utc>>| t.map_or_else(|| "none".to_owned(), super::iso);
    field("id", expected.id.to_string(), got.id.to_string());
    field("key", expected.key.to_string(), got.key.to_string());
    field("state", expected.state.to_string(), got.state.to_string());
    field("attempt", expected.attempt.to_string(), got.attempt.to_string());
    field("maxAttempts", expected.max_attempts.to_string(), got.max_attempts.to_string());
    field("releases", expected.releases.to_string(), got.releases.to_string());
    field("maxReleases", expected.max_releases.to_string(), got.max_releases.to_string());
    field("runAt", t(Some(expected.run_at)), t(Some(got.run_at)));
    field("createdAt", t(Some(expected.created_at)), t(Some(got.created_at)));
    field("updatedAt", t(Some(expected.updated_at)), t(Some(got.updated_at)));
    field("startedAt", t(expected.started_at), t(got.started_at));
    field("deadline", t(expected.deadline), t(got.deadline));
    let lease = |j: &Job| {
        j.lease
            .as_ref()
            .map_or_else(|| "none".into(), |l| format!("{} until {}", l.holder, super::iso(l.expires_at)))
    };
    field("lease", lease(expected), lease(got));
    field("finishedAt", t(expected.finished_at), t(got.finished_at));
    let error = |j: &Job| j.last_error.as_ref().map_or_else(|| "none".into(), ToString::to_string);
    field("lastError", error(expected), error(got));
    if diffs.is_empty() && expected != got {
        diffs.push("jobs differ in a field this comparison does not name".into());
    }
    if diffs.is_empty() { Ok(()) } else { Err(diffs.join("; ")) }
}

//! The cron sweep: plan what is missing for every active user in one query, enqueue it (deduped), collect
//! finished batches, generate within a time budget (directly or as a new batch), clean up, and report.
//!
//! Every step runs even when an earlier one failed (jobs already queued are still worked, cleanup still runs),
//! and every step that could not run is listed in [`CronReport::errors`]; a sweep with any such error is a
//! failure ([`ServiceError::SweepFailed`], the route's 500), never a quiet success.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{PreGen, ServiceError};
use crate::auth::authorize;
use crate::config::SweepMode;
use crate::error::ErrorCode;
use crate::generate::GenerateError;
use crate::queue::JobKey;
use crate::store::iso;
use crate::worker::DrainReport;

/// A step of a sweep, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SweepStep {
    /// Counting active users and finding the (user, type) pairs below target.
    Plan,
    /// Queueing a job per missing pair.
    Enqueue,
    /// Collecting finished Message Batches.
    Collect,
    /// Working due jobs within the budget (direct mode).
    Work,
    /// Sending due jobs as a Message Batch (batch mode).
    Submit,
    /// Deleting expired and used exams and old jobs.
    Cleanup,
}

impl SweepStep {
    /// The step's name as the JSON says it: `plan`, `enqueue`, `collect`, `work`, `submit`, `cleanup`.
    pub fn as_str(self) -> &'static str {
        match self {
            SweepStep::Plan => "plan",
            SweepStep::Enqueue => "enqueue",
            SweepStep::Collect => "collect",
            SweepStep::Work => "work",
            SweepStep::Submit => "submit",
            SweepStep::Cleanup => "cleanup",
        }
    }
}

impl fmt::Display for SweepStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step of a sweep that could not run (or ran into store failures), with the stable code of its error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepStepError {
    /// The step.
    pub step: SweepStep,
    /// The error's stable code (`store.database`, `claude.overloaded`, ...).
    pub code: &'static str,
    /// The error's message.
    pub message: String,
    /// Whether the next sweep could succeed without anyone acting.
    pub retryable: bool,
}

impl fmt::Display for SweepStepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.step, self.message, self.code)
    }
}

/// The cron route's `stats`: the old fields, then what this implementation adds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CronReport {
    /// Active users looked at.
    pub users_processed: u64,
    /// Every (user, type) pair found below target (each has a job queued, new or already waiting), as the old
    /// route counted its triggers; in bank mode, the bank exams found missing.
    pub generation_triggered: u64,
    /// Attempts that failed during this sweep, plus generation steps that could not run (no API key, batch
    /// collection or submission, direct work).
    pub generation_errors: u64,
    /// How many exams the cleanup deleted (0 when there was nothing to delete, or when the exam cleanup
    /// failed: see `errors`). A number, as the old route returned.
    pub cleanup_completed: u64,
    /// When the sweep started, ISO-8601 UTC.
    pub timestamp: String,
    /// Direct or batch.
    pub mode: SweepMode,
    /// (user, type) pairs found below target (same as `generationTriggered`).
    pub missing: u64,
    /// Jobs newly queued by this sweep (the rest of the missing pairs already had one).
    pub queued: u64,
    /// Exams generated and stored by this sweep (direct work and collected batches).
    pub completed: u64,
    /// Attempts that failed during this sweep.
    pub failed: u64,
    /// Batches submitted.
    pub batches_submitted: u64,
    /// Batches collected.
    pub batches_collected: u64,
    /// What this sweep's API use cost, in USD.
    pub cost_usd: f64,
    /// Exams deleted by cleanup (same as `cleanupCompleted`).
    pub exams_deleted: u64,
    /// Finished jobs deleted by cleanup.
    pub jobs_deleted: u64,
    /// Whether the time budget ended the direct work (what is left waits for the next sweep).
    pub budget_spent: bool,
    /// In bank mode, the bank's planning per type (what counts, the most seen, what is needed); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bank: Vec<crate::store::BankTypePlan>,
    /// Retired bank exams deleted by cleanup.
    pub bank_exams_deleted: u64,
    /// Store failures met: failed steps (planning, enqueueing, cleanup, batch bookkeeping) plus refused claims
    /// and unwritten job outcomes during direct work.
    pub store_failures: u64,
    /// Steps that could not run, in order; empty when the sweep did its work.
    pub errors: Vec<SweepStepError>,
}

impl CronReport {
    fn new(now: DateTime<Utc>, mode: SweepMode) -> Self {
        Self {
            users_processed: 0,
            generation_triggered: 0,
            generation_errors: 0,
            cleanup_completed: 0,
            timestamp: iso(now),
            mode,
            missing: 0,
            queued: 0,
            completed: 0,
            failed: 0,
            batches_submitted: 0,
            batches_collected: 0,
            cost_usd: 0.0,
            exams_deleted: 0,
            jobs_deleted: 0,
            budget_spent: false,
            bank: Vec::new(),
            bank_exams_deleted: 0,
            store_failures: 0,
            errors: Vec::new(),
        }
    }

    /// Whether every step ran: no entry in [`CronReport::errors`].
    pub fn succeeded(&self) -> bool {
        self.errors.is_empty()
    }

    fn fail(&mut self, step: SweepStep, error: &(impl ErrorCode + fmt::Display), store: bool) {
        tracing::error!("[Cron] {step} failed ({}): {error}", error.code());
        self.store_failures += u64::from(store);
        self.errors.push(SweepStepError {
            step,
            code: error.code(),
            message: error.to_string(),
            retryable: error.is_retryable(),
        });
    }

    fn fail_generation(&mut self, step: SweepStep, error: &GenerateError) {
        self.generation_errors += 1;
        self.fail(step, error, matches!(error, GenerateError::Store(_)));
    }

    /// Counts a direct drain, and its store failures as a failed `work` step.
    fn absorb(&mut self, drained: &DrainReport) {
        self.completed += drained.succeeded;
        self.failed += drained.failed;
        self.budget_spent = drained.budget_spent;
        if let Some(error) = &drained.error {
            tracing::error!("[Cron] work met {} store failures: {error}", drained.store_failures());
            self.generation_errors += 1;
            self.store_failures += drained.store_failures();
            self.errors.push(SweepStepError {
                step: SweepStep::Work,
                code: error.code,
                message: format!("{} store failures; first: {}", drained.store_failures(), error.message),
                retryable: true,
            });
        }
    }
}

impl fmt::Display for CronReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} active users, {} pairs missing, {} jobs queued, {} exams generated, {} attempts failed, \
             {} batches submitted, {} collected, ${:.4} spent, cleanup deleted {} exams and {} jobs",
            self.users_processed,
            self.missing,
            self.queued,
            self.completed,
            self.failed,
            self.batches_submitted,
            self.batches_collected,
            self.cost_usd,
            self.exams_deleted,
            self.jobs_deleted,
        )?;
        if self.budget_spent {
            f.write_str(", budget spent")?;
        }
        if !self.errors.is_empty() {
            write!(f, ", {} steps failed ({} store failures)", self.errors.len(), self.store_failures)?;
        }
        Ok(())
    }
}

impl PreGen {
    /// The cron route: refuses unless `authorization` is `Bearer <CRON_SECRET>` (an unset secret refuses all),
    /// then sweeps.
    pub async fn cron(&self, authorization: Option<&str>) -> Result<CronReport, ServiceError> {
        if !authorize(self.config.cron_secret.as_ref(), authorization) {
            tracing::warn!("[Cron] refused: the bearer header does not match");
            return Err(ServiceError::Unauthorized);
        }
        self.sweep().await
    }

    /// One sweep (see the module doc). Safe to run in several processes at once: jobs are deduped by key,
    /// claimed under leases, and a job whose user is already stocked generates nothing.
    ///
    /// Errors: [`ServiceError::SweepFailed`] with the full report when any step could not run (planning,
    /// enqueueing, batch collection or submission, store failures while working, cleanup).
    pub async fn sweep(&self) -> Result<CronReport, ServiceError> {
        let mut report = CronReport::new(self.clock.now(), self.config.sweep.mode);
        self.plan_and_enqueue(&mut report).await;
        match &self.generator {
            Some(generator) => {
                let spent_before = generator.client().usage_totals().cost.total_usd;
                self.generate_within_budget(generator, &mut report).await;
                report.cost_usd += generator.client().usage_totals().cost.total_usd - spent_before;
            }
            None => {
                tracing::warn!("[Cron] API key not configured: jobs stay queued");
                report.generation_errors += 1;
            }
        }
        self.clean_up(&mut report).await;
        if report.succeeded() {
            tracing::info!("[Cron] sweep done: {report}");
            Ok(report)
        } else {
            tracing::error!("[Cron] sweep could not do its work: {report}");
            Err(ServiceError::SweepFailed(Box::new(report)))
        }
    }

    async fn plan_and_enqueue(&self, report: &mut CronReport) {
        let now = self.clock.now();
        let policy = &self.config.policy;
        match self.store.count_active_users(policy.active_since(now)).await {
            Ok(users) => report.users_processed = users,
            Err(e) => report.fail(SweepStep::Plan, &e, true),
        }
        let keys: Vec<JobKey> = if self.is_bank() {
            match self.plan_bank(now).await {
                Ok((plans, keys)) => {
                    report.bank = plans;
                    keys
                }
                Err(e) => return report.fail(SweepStep::Plan, &e, true),
            }
        } else {
            match self.store.plan_missing(now, policy).await {
                Ok(missing) => missing.iter().map(|m| JobKey::new(m.user_id.as_str(), m.exam_type)).collect(),
                Err(e) => return report.fail(SweepStep::Plan, &e, true),
            }
        };
        report.missing = keys.len() as u64;
        report.generation_triggered = report.missing;
        match self.store.enqueue_many(&keys, now, &self.config.queue).await {
            Ok(enqueued) => report.queued = enqueued.iter().filter(|e| e.created).count() as u64,
            Err(e) => report.fail(SweepStep::Enqueue, &e, true),
        }
        tracing::info!(
            "[Cron] {} active users, {} pairs missing, {} jobs queued",
            report.users_processed,
            report.missing,
            report.queued
        );
    }

    async fn generate_within_budget(&self, generator: &crate::generate::Generator, report: &mut CronReport) {
        let (policy, queue, sweep) = (&self.config.policy, &self.config.queue, &self.config.sweep);
        match generator
            .collect_batches(self.store.as_ref(), policy, &self.config.bank, queue, self.clock.now())
            .await
        {
            Ok(collected) => {
                report.batches_collected = collected.collected;
                report.completed += collected.exams;
                report.failed += collected.failed;
                report.cost_usd += collected.usage.cost.total_usd;
            }
            Err(e) => report.fail_generation(SweepStep::Collect, &e),
        }
        match sweep.mode {
            SweepMode::Direct => match self.drain(sweep.budget).await {
                Ok(drained) => report.absorb(&drained),
                Err(ServiceError::DrainFailed(drained)) => report.absorb(&drained),
                Err(e) => {
                    report.generation_errors += 1;
                    report.fail(SweepStep::Work, &e, matches!(e, ServiceError::Store(_)));
                }
            },
            SweepMode::Batch => {
                let submitted = generator
                    .submit_batch(
                        self.store.as_ref(),
                        policy,
                        &self.config.bank,
                        queue,
                        sweep.batch_max_jobs,
                        self.clock.now(),
                    )
                    .await;
                match submitted {
                    Ok(Some(_)) => report.batches_submitted = 1,
                    Ok(None) => {}
                    Err(e) => report.fail_generation(SweepStep::Submit, &e),
                }
            }
        }
        report.generation_errors += report.failed;
    }

    async fn clean_up(&self, report: &mut CronReport) {
        let now = self.clock.now();
        let batch = self.config.sweep.cleanup_batch;
        match self.store.cleanup(now, &self.config.policy, batch).await {
            Ok(exams) => {
                report.exams_deleted = exams.total();
                report.cleanup_completed = exams.total();
            }
            Err(e) => report.fail(SweepStep::Cleanup, &e, true),
        }
        match self.cleanup_bank(now).await {
            Ok(bank) => report.bank_exams_deleted = bank.deleted,
            Err(e) => report.fail(SweepStep::Cleanup, &e, true),
        }
        match self.store.cleanup_jobs(now, &self.config.queue.retention, batch).await {
            Ok(jobs) => report.jobs_deleted = jobs,
            Err(e) => report.fail(SweepStep::Cleanup, &e, true),
        }
        tracing::info!("[Cron] cleanup deleted {} exams and {} jobs", report.exams_deleted, report.jobs_deleted);
    }
}

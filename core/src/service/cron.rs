//! The cron sweep: plan what is missing for every active user in one query, enqueue it (deduped), collect
//! finished batches, generate within a time budget (directly or as a new batch), clean up, and report.

use serde::Serialize;

use super::{PreGen, ServiceError};
use crate::auth::authorize;
use crate::config::SweepMode;
use crate::queue::JobKey;
use crate::store::iso;

/// The cron route's `stats`: the old fields, then what this implementation adds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CronReport {
    /// Active users looked at.
    pub users_processed: u64,
    /// Generations newly queued by this sweep.
    pub generation_triggered: u64,
    /// Attempts that failed during this sweep, plus steps that could not run (enqueue, batch, generator).
    pub generation_errors: u64,
    /// Whether cleanup ran to the end.
    pub cleanup_completed: bool,
    /// When the sweep started, ISO-8601 UTC.
    pub timestamp: String,
    /// Direct or batch.
    pub mode: SweepMode,
    /// (user, type) pairs found below target.
    pub missing: u64,
    /// Jobs newly queued (same as `generationTriggered`).
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
    /// Exams deleted by cleanup.
    pub exams_deleted: u64,
    /// Finished jobs deleted by cleanup.
    pub jobs_deleted: u64,
    /// Whether the time budget ended the direct work (what is left waits for the next sweep).
    pub budget_spent: bool,
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
    pub async fn sweep(&self) -> Result<CronReport, ServiceError> {
        let now = self.clock.now();
        let policy = &self.config.policy;
        let sweep = &self.config.sweep;
        let users = self.store.count_active_users(policy.active_since(now)).await?;
        let missing = self.store.plan_missing(now, policy).await?;
        let keys: Vec<JobKey> = missing.iter().map(|m| JobKey::new(m.user_id.as_str(), m.exam_type)).collect();
        let enqueued = self.store.enqueue_many(&keys, now, &self.config.queue).await?;
        let queued = enqueued.iter().filter(|e| e.created).count() as u64;
        tracing::info!("[Cron] {users} active users, {} pairs missing, {queued} jobs queued", missing.len());
        let mut report = CronReport {
            users_processed: users,
            generation_triggered: queued,
            generation_errors: 0,
            cleanup_completed: false,
            timestamp: iso(now),
            mode: sweep.mode,
            missing: missing.len() as u64,
            queued,
            completed: 0,
            failed: 0,
            batches_submitted: 0,
            batches_collected: 0,
            cost_usd: 0.0,
            exams_deleted: 0,
            jobs_deleted: 0,
            budget_spent: false,
        };
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
        tracing::info!("[Cron] sweep done: {report:?}");
        Ok(report)
    }

    async fn generate_within_budget(&self, generator: &crate::generate::Generator, report: &mut CronReport) {
        let (policy, queue, sweep) = (&self.config.policy, &self.config.queue, &self.config.sweep);
        match generator.collect_batches(self.store.as_ref(), policy, queue, self.clock.now()).await {
            Ok(collected) => {
                report.batches_collected = collected.collected;
                report.completed += collected.exams;
                report.failed += collected.failed;
                report.cost_usd += collected.usage.cost.total_usd;
            }
            Err(e) => {
                tracing::error!("[Cron] collecting batches failed: {e}");
                report.generation_errors += 1;
            }
        }
        match sweep.mode {
            SweepMode::Direct => match self.drain(sweep.budget).await {
                Ok(drained) => {
                    report.completed += drained.succeeded;
                    report.failed += drained.failed;
                    report.budget_spent = drained.budget_spent;
                }
                Err(e) => {
                    tracing::error!("[Cron] generation failed: {e}");
                    report.generation_errors += 1;
                }
            },
            SweepMode::Batch => {
                let submitted = generator
                    .submit_batch(self.store.as_ref(), policy, queue, sweep.batch_max_jobs, self.clock.now())
                    .await;
                match submitted {
                    Ok(Some(_)) => report.batches_submitted = 1,
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!("[Cron] submitting a batch failed: {e}");
                        report.generation_errors += 1;
                    }
                }
            }
        }
        report.generation_errors += report.failed;
    }

    async fn clean_up(&self, report: &mut CronReport) {
        let now = self.clock.now();
        let batch = self.config.sweep.cleanup_batch;
        let exams = self.store.cleanup(now, &self.config.policy, batch).await;
        let jobs = self.store.cleanup_jobs(now, &self.config.queue.retention, batch).await;
        match (exams, jobs) {
            (Ok(exams), Ok(jobs)) => {
                report.exams_deleted = exams.total();
                report.jobs_deleted = jobs;
                report.cleanup_completed = true;
                tracing::info!("[Cron] cleanup deleted {} exams and {jobs} jobs", exams.total());
            }
            (exams, jobs) => {
                for e in [exams.err(), jobs.err()].into_iter().flatten() {
                    tracing::error!("[Cron] cleanup failed: {e}");
                }
                report.cleanup_completed = false;
            }
        }
    }
}

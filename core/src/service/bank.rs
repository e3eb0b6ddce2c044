//! The service in `bank` stock mode: a get assigns the user a shared exam they never received (the route's body
//! is the same), a miss or a user running low queues bank generation at once, the sweep enqueues what the bank's
//! planning finds missing, and cleanup and analytics cover the bank.

use chrono::{DateTime, Utc};

use super::{PreGen, ServiceError, TriggerStatus, TriggeredJob};
use crate::config::{ConfigError, StockMode};
use crate::exam::ExamType;
use crate::queue::JobKey;
use crate::store::{BankAnalytics, BankCleanupReport, BankStore, BankTypePlan, ClaimedExam, StoreError, UserId};

impl PreGen {
    /// Whether the service runs the shared bank.
    pub fn is_bank(&self) -> bool {
        self.config.stock == StockMode::Bank
    }

    /// The store's bank; [`StoreError::Unsupported`] for a backend without one (refused when the service opens in
    /// bank mode, so only per-user services meet this).
    pub(crate) fn bank_store(&self) -> Result<&dyn BankStore, StoreError> {
        self.store.bank().ok_or_else(|| StoreError::Unsupported("this backend has no exam bank".into()))
    }

    /// Refuses the bank stock on a backend without a bank, naming the setting.
    pub(crate) fn check_stock(&self) -> Result<(), ServiceError> {
        if self.is_bank() && self.store.bank().is_none() {
            return Err(ServiceError::Config(ConfigError::new(
                "PREGEN_STOCK",
                "the bank stock needs a store with an exam bank (SQLite or Postgres); this backend has none",
            )));
        }
        Ok(())
    }

    /// Assigns `user` an exam of `exam_type` they never received (the get route in bank mode).
    pub(crate) async fn assign(
        &self,
        user: &UserId,
        exam_type: ExamType,
    ) -> Result<Option<ClaimedExam>, StoreError> {
        self.bank_store()?.assign_exam(user, exam_type, self.clock.now(), &self.config.bank).await
    }

    /// Servable exams of `exam_type` `user` never received, now.
    pub(crate) async fn unseen_now(&self, user: &UserId, exam_type: ExamType) -> Result<u32, StoreError> {
        self.bank_store()?.unseen(user, exam_type, self.clock.now(), &self.config.bank).await
    }

    /// Queues bank generation of `exam_type` when `user` has fewer than the target of unseen exams that stay
    /// servable past the stock cut-off (a miss always does). Bank jobs dedupe on their key, slot 0 here.
    pub(crate) async fn queue_bank_for(
        &self,
        user: &UserId,
        exam_type: ExamType,
        now: DateTime<Utc>,
    ) -> Result<TriggeredJob, ServiceError> {
        let cutoff = self.config.policy.stock_cutoff(now);
        let unseen = self.bank_store()?.unseen(user, exam_type, cutoff, &self.config.bank).await?;
        if unseen >= self.config.bank.unseen_target {
            return Ok(TriggeredJob { exam_type, status: TriggerStatus::Stocked, job_id: None });
        }
        let enqueued = self.store.enqueue(&JobKey::bank(exam_type, 0), now, &self.config.queue).await?;
        let status = if enqueued.created { TriggerStatus::Queued } else { TriggerStatus::AlreadyQueued };
        tracing::debug!(
            "[BGJob] {user} has {unseen} unseen {exam_type} exams: bank generation {} (job {})",
            status.as_str(),
            enqueued.job.id
        );
        Ok(TriggeredJob { exam_type, status, job_id: Some(enqueued.job.id.0) })
    }

    /// The sweep's planning in bank mode: per type, the exams the bank needs, and a bank job per missing exam
    /// (slots `0..needed`, so jobs already queued are reused). Returns the plans and the keys to enqueue.
    pub(crate) async fn plan_bank(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(Vec<BankTypePlan>, Vec<JobKey>), StoreError> {
        let plans = self.bank_store()?.plan_bank(now, &self.config.policy, &self.config.bank).await?;
        let keys =
            plans.iter().flat_map(|p| (0..p.needed).map(move |slot| JobKey::bank(p.exam_type, slot))).collect();
        Ok((plans, keys))
    }

    /// Deletes retired bank exams no recent assignment needs (every sweep, whatever the stock mode, when the
    /// store has a bank).
    pub(crate) async fn cleanup_bank(&self, now: DateTime<Utc>) -> Result<BankCleanupReport, StoreError> {
        match self.store.bank() {
            Some(bank) => {
                bank.cleanup_bank(now, &self.config.policy, &self.config.bank, self.config.sweep.cleanup_batch)
                    .await
            }
            None => Ok(BankCleanupReport::default()),
        }
    }

    /// The bank's figures, in bank mode.
    pub(crate) async fn bank_figures(&self, now: DateTime<Utc>) -> Result<Option<BankAnalytics>, StoreError> {
        if !self.is_bank() {
            return Ok(None);
        }
        Ok(Some(self.bank_store()?.bank_analytics(now, &self.config.policy, &self.config.bank).await?))
    }
}

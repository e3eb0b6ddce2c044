//! Triggers: a page load or a finished exam records the user as active and queues what is missing, without
//! waiting for generation.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{PreGen, ServiceError};
use crate::exam::ExamType;
use crate::queue::JobKey;
use crate::store::UserId;

/// What to pre-generate in the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// These types (a page load asks for both).
    Types(Vec<ExamType>),
    /// The type that follows the one just finished: a practice exam after a diagnostic, and the reverse.
    After(ExamType),
}

/// What a trigger did for one exam type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerStatus {
    /// A new job was queued.
    Queued,
    /// An unfinished job already held the (user, type) key; it was reused.
    AlreadyQueued,
    /// The stock was full: nothing to queue.
    Stocked,
}

impl TriggerStatus {
    /// `queued`, `already_queued` or `stocked`, as the JSON says it.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerStatus::Queued => "queued",
            TriggerStatus::AlreadyQueued => "already_queued",
            TriggerStatus::Stocked => "stocked",
        }
    }
}

/// One exam type's fate in a trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggeredJob {
    /// The type.
    pub exam_type: ExamType,
    /// What happened.
    pub status: TriggerStatus,
    /// The job, when one is queued (new or reused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// What a trigger did: the trigger route's 202 body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerReport {
    /// Always true when returned.
    pub success: bool,
    /// Per type.
    pub jobs: Vec<TriggeredJob>,
}

impl PreGen {
    /// Records that `user` is active and queues what is missing for `trigger`, without waiting for generation.
    /// Idle in-process workers are woken.
    pub async fn trigger(&self, user: &UserId, trigger: Trigger) -> Result<TriggerReport, ServiceError> {
        let now = self.clock.now();
        self.store.record_activity(user, now).await?;
        let types = match trigger {
            Trigger::Types(types) => types,
            Trigger::After(done) => vec![done.next()],
        };
        let mut jobs = Vec::with_capacity(types.len());
        for exam_type in types {
            jobs.push(self.queue_missing(user, exam_type, now).await?);
        }
        self.wake_workers();
        Ok(TriggerReport { success: true, jobs })
    }

    /// Queues a job for (user, type) unless its stock is full; an unfinished job for the key is reused.
    pub(crate) async fn queue_missing(
        &self,
        user: &UserId,
        exam_type: ExamType,
        now: DateTime<Utc>,
    ) -> Result<TriggeredJob, ServiceError> {
        if self.is_bank() {
            return self.queue_bank_for(user, exam_type, now).await;
        }
        let stock = self.store.stock(user, exam_type, now, &self.config.policy).await?;
        if self.config.policy.missing(stock) == 0 {
            return Ok(TriggeredJob { exam_type, status: TriggerStatus::Stocked, job_id: None });
        }
        let enqueued = self.store.enqueue(&JobKey::new(user.as_str(), exam_type), now, &self.config.queue).await?;
        let status = if enqueued.created { TriggerStatus::Queued } else { TriggerStatus::AlreadyQueued };
        tracing::debug!("[BGJob] {} {exam_type} for {user} (job {})", status.as_str(), enqueued.job.id);
        Ok(TriggeredJob { exam_type, status, job_id: Some(enqueued.job.id.0) })
    }
}

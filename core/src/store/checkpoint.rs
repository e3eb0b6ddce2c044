//! Job checkpoints: the items an attempt has accepted, kept in the store so that the job's next attempt, in this
//! process or another, asks the model only for what is still missing. Without them a job whose attempt is cut
//! short (a sweep's time budget, a timeout, a crash, an API outage) starts again from nothing, and an exam that
//! takes longer than one budget is never finished.
//!
//! The contract every backend keeps:
//! - A checkpoint belongs to one job and holds at most one item per slot (the slot's index in the exam spec's
//!   slot order). It is written only by the job's current attempt: a save is fenced on the job being `running`
//!   under `job.lease.holder` at `job.attempt`, exactly like every other write to a running job, and is refused
//!   with [`StoreError::LeaseLost`], writing nothing, otherwise.
//! - A save is atomic: its items and its dropped slots are all written, or none.
//! - It is read by any later attempt of the same job (loads are not fenced; they change nothing).
//! - It lives as long as the job is unfinished: once the job reaches a final state (succeeded, dead or cancelled,
//!   by any path) or its row is deleted, its checkpoint is gone. Released, failed and timed-out attempts keep it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::exam::Question;
use crate::queue::{Job, JobId};

/// One accepted item of a job at its place in the exam.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointItem {
    /// The item's slot: its 0-based index in the exam spec's slot order (`ExamSpec::slots`).
    pub slot: u32,
    /// The item as accepted, before the exam numbers its questions and shuffles their options.
    pub question: Question,
}

/// Saves and loads job checkpoints (see the module documentation for the contract).
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// Saves `items` for the running `job` (each replacing whatever was saved for its slot) and forgets the slots
    /// in `dropped`, in one transaction, at `now`. Fenced: fails with [`StoreError::LeaseLost`], writing nothing,
    /// unless `job` is running under its lease holder at its attempt. Empty `items` and `dropped` write nothing
    /// but are still fenced.
    async fn save_checkpoint(
        &self,
        job: &Job,
        items: &[CheckpointItem],
        dropped: &[u32],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Every item saved for the job `id`, by any of its attempts, in slot order; empty when there is none (an
    /// unknown or finished job included). A stored item that cannot be read back is [`StoreError::Corrupt`].
    async fn load_checkpoint(&self, id: &JobId) -> Result<Vec<CheckpointItem>, StoreError>;
}

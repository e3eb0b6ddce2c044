//! [`CheckpointStore`] on Postgres: a save locks the job's row while it checks the fence and writes its items in
//! the same transaction, so no other attempt can take the job over between the check and the writes; the schema's
//! cascade and trigger remove a checkpoint with its job or as soon as the job is finished.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{PgStore, at, execute, get, query, query_opt, sql};
use crate::queue::{Job, JobId};
use crate::store::{CheckpointItem, CheckpointStore, StoreError};

#[async_trait]
impl CheckpointStore for PgStore {
    async fn save_checkpoint(
        &self,
        job: &Job,
        items: &[CheckpointItem],
        dropped: &[u32],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let holder = job.lease.as_ref().map(|l| l.holder.clone()).ok_or_else(|| StoreError::lease_lost(job))?;
        let attempt = i32::try_from(job.attempt).map_err(|_| StoreError::lease_lost(job))?;
        let Some(id) = Uuid::parse_str(job.id.as_str()).ok() else { return Err(StoreError::lease_lost(job)) };
        let mut slots = Vec::with_capacity(items.len());
        let mut questions = Vec::with_capacity(items.len());
        for item in items {
            slots.push(slot_param(item.slot)?);
            questions
                .push(serde_json::to_string(&item.question).map_err(|e| {
                    StoreError::invalid("checkpoint", format!("item for slot {}: {e}", item.slot))
                })?);
        }
        let dropped = dropped.iter().map(|slot| slot_param(*slot)).collect::<Result<Vec<_>, _>>()?;
        let mut client = self.conn().await?;
        let tx = client.transaction().await?;
        if query_opt(&tx, &sql::JOB_HELD, &[&id, &holder, &attempt]).await?.is_none() {
            return Err(StoreError::lease_lost(job));
        }
        if !slots.is_empty() {
            execute(&tx, &sql::SAVE_JOB_ITEMS, &[&id, &slots, &questions, &attempt, &at(now)]).await?;
        }
        if !dropped.is_empty() {
            execute(&tx, &sql::DROP_JOB_ITEMS, &[&id, &dropped]).await?;
        }
        tx.commit().await
    }

    async fn load_checkpoint(&self, id: &JobId) -> Result<Vec<CheckpointItem>, StoreError> {
        let Some(id) = Uuid::parse_str(id.as_str()).ok() else { return Ok(Vec::new()) };
        let client = self.conn().await?;
        let rows = query(&client, &sql::JOB_ITEMS, &[&id]).await?;
        rows.iter()
            .map(|row| {
                let slot: i32 = get(row, 0)?;
                let corrupt = |what: String| StoreError::Corrupt(format!("checkpoint slot {slot}: {what}"));
                Ok(CheckpointItem {
                    slot: u32::try_from(slot).map_err(|e| corrupt(e.to_string()))?,
                    question: serde_json::from_str(get::<&str>(row, 1)?).map_err(|e| corrupt(e.to_string()))?,
                })
            })
            .collect()
    }
}

/// A slot as the column's `integer`; one beyond it names no slot any exam has.
fn slot_param(slot: u32) -> Result<i32, StoreError> {
    i32::try_from(slot).map_err(|_| StoreError::invalid("checkpoint", format!("slot {slot} is out of range")))
}

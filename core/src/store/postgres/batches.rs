//! [`BatchStore`] on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{PgStore, at, count, execute, get, query, query_one, sql};
use crate::store::{BatchRecord, BatchStore, StoreError};

#[async_trait]
impl BatchStore for PgStore {
    async fn record_batch(&self, batch: &BatchRecord) -> Result<(), StoreError> {
        let requests = i32::try_from(batch.request_count).unwrap_or(i32::MAX);
        let client = self.conn().await?;
        execute(
            &client,
            &sql::INSERT_BATCH,
            &[&batch.id, &batch.holder, &batch.plan, &requests, &at(batch.submitted_at)],
        )
        .await?;
        Ok(())
    }

    async fn claim_open_batches(
        &self,
        collector: &str,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
    ) -> Result<Vec<BatchRecord>, StoreError> {
        let client = self.conn().await?;
        let rows = query(&client, &sql::CLAIM_OPEN_BATCHES, &[&collector, &at(now), &at(hold_until)]).await?;
        rows.iter()
            .map(|r| {
                Ok(BatchRecord {
                    id: get(r, 0)?,
                    holder: get(r, 1)?,
                    plan: get(r, 2)?,
                    request_count: u32::try_from(get::<i32>(r, 3)?).unwrap_or(0),
                    submitted_at: get(r, 4)?,
                })
            })
            .collect()
    }

    async fn release_batch(
        &self,
        id: &str,
        collector: &str,
        collected: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let client = self.conn().await?;
        let changed = execute(&client, &sql::RELEASE_BATCH, &[&id, &collector, &collected, &at(now)]).await?;
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::LeaseLost("the batch is no longer held by this collector".into()))
        }
    }

    async fn count_open_batches(&self) -> Result<u64, StoreError> {
        let client = self.conn().await?;
        count(&query_one(&client, &sql::COUNT_OPEN_BATCHES, &[]).await?, 0)
    }
}

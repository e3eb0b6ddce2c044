//! [`BatchStore`] on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{SqliteStore, db_error, from_ms, sql, to_ms};
use crate::store::{BatchRecord, BatchStore, StoreError};

#[async_trait]
impl BatchStore for SqliteStore {
    async fn record_batch(&self, batch: &BatchRecord) -> Result<(), StoreError> {
        let batch = batch.clone();
        self.with_writer(move |conn| {
            conn.prepare_cached(sql::INSERT_BATCH)
                .and_then(|mut st| {
                    st.execute(params![
                        batch.id,
                        batch.holder,
                        batch.plan,
                        i64::from(batch.request_count),
                        to_ms(batch.submitted_at)
                    ])
                })
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    async fn claim_open_batches(
        &self,
        collector: &str,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
    ) -> Result<Vec<BatchRecord>, StoreError> {
        let collector = collector.to_owned();
        let rows: Vec<(String, String, String, i64, i64)> = self
            .with_writer(move |conn| {
                conn.prepare_cached(sql::CLAIM_OPEN_BATCHES)
                    .and_then(|mut st| {
                        st.query_map(params![collector, to_ms(now), to_ms(hold_until)], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                        })?
                        .collect()
                    })
                    .map_err(db_error)
            })
            .await?;
        rows.into_iter()
            .map(|(id, holder, plan, count, submitted)| {
                Ok(BatchRecord {
                    id,
                    holder,
                    plan,
                    request_count: u32::try_from(count).unwrap_or(0),
                    submitted_at: from_ms(submitted)?,
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
        let (id, collector) = (id.to_owned(), collector.to_owned());
        let changed = self
            .with_writer(move |conn| {
                conn.prepare_cached(sql::RELEASE_BATCH)
                    .and_then(|mut st| st.execute(params![id, collector, collected, to_ms(now)]))
                    .map_err(db_error)
            })
            .await?;
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::LeaseLost("the batch is no longer held by this collector".into()))
        }
    }

    async fn count_open_batches(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .with_conn(|conn| {
                conn.prepare_cached(sql::COUNT_OPEN_BATCHES)
                    .and_then(|mut st| st.query_row([], |r| r.get(0)))
                    .map_err(db_error)
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

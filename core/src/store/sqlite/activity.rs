//! [`ActivityStore`] on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{SqliteStore, db_error, sql, to_ms};
use crate::store::{ActivityStore, StoreError, UserId};

#[async_trait]
impl ActivityStore for SqliteStore {
    async fn record_activity(&self, user: &UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let user = user.clone();
        self.with_writer(move |conn| {
            conn.prepare_cached(sql::RECORD_ACTIVITY)
                .and_then(|mut st| st.execute(params![user.as_str(), to_ms(at)]))
                .map_err(db_error)
        })
        .await?;
        Ok(())
    }

    async fn count_active_users(&self, since: DateTime<Utc>) -> Result<u64, StoreError> {
        let n: i64 = self
            .with_conn(move |conn| {
                conn.prepare_cached(sql::COUNT_ACTIVE)
                    .and_then(|mut st| st.query_row(params![to_ms(since)], |r| r.get(0)))
                    .map_err(db_error)
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

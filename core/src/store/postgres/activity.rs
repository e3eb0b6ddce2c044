//! [`ActivityStore`] on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{PgStore, at, count, execute, query_one, sql};
use crate::store::{ActivityStore, StoreError, UserId};

#[async_trait]
impl ActivityStore for PgStore {
    async fn record_activity(&self, user: &UserId, at_time: DateTime<Utc>) -> Result<(), StoreError> {
        let client = self.conn().await?;
        execute(&client, &sql::RECORD_ACTIVITY, &[&user.as_str(), &at(at_time)]).await?;
        Ok(())
    }

    async fn count_active_users(&self, since: DateTime<Utc>) -> Result<u64, StoreError> {
        let client = self.conn().await?;
        count(&query_one(&client, &sql::COUNT_ACTIVE, &[&at(since)]).await?, 0)
    }
}

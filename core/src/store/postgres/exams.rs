//! [`ExamStore`] on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{Db, PgStore, at, count, execute, get, query, query_one, query_opt, sql};
use crate::exam::ExamType;
use crate::policy::Policy;
use crate::store::types::stored_exam_json;
use crate::store::{
    AnalyticsCounts, ClaimedExam, CleanupReport, ExamAnalytics, ExamStore, GenerationSummary, MissingExams,
    NewExam, StoreError, TokenTotals, TypeStock, UserExamStats, UserId, iso,
};

/// How many shards each counter is spread over.
pub(super) const COUNTER_SHARDS: i16 = 16;

fn parse_type(raw: &str) -> Result<ExamType, StoreError> {
    raw.parse().map_err(|e| StoreError::Corrupt(format!("{e}")))
}

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Stores `exams` (each with the job that made it, if any) in one statement, all or none, and returns their ids
/// in order.
pub(super) async fn insert_rows(
    client: &impl Db,
    exams: &[(NewExam, Option<Uuid>)],
) -> Result<Vec<String>, StoreError> {
    let ids: Vec<Uuid> = exams.iter().map(|_| Uuid::new_v4()).collect();
    let mut users = Vec::with_capacity(exams.len());
    let mut types = Vec::with_capacity(exams.len());
    let mut json = Vec::with_capacity(exams.len());
    let mut items = Vec::with_capacity(exams.len());
    let (mut created, mut expires, mut jobs) = (Vec::new(), Vec::new(), Vec::new());
    let (mut requests, mut input, mut output, mut cache_write, mut cache_read) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut cost, mut batch, mut requested) = (Vec::new(), Vec::new(), Vec::new());
    for (exam, job) in exams {
        let (g, t) = (&exam.generation, &exam.generation.tokens);
        users.push(exam.user_id.as_str());
        types.push(exam.exam_type.as_str());
        json.push(serde_json::to_string(&exam.exam).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        items.push(i32::try_from(exam.exam.questions.len()).unwrap_or(i32::MAX));
        created.push(at(exam.created_at));
        expires.push(at(exam.expires_at));
        jobs.push(*job);
        requests.push(big(t.requests));
        input.push(big(t.input_tokens));
        output.push(big(t.output_tokens));
        cache_write.push(big(t.cache_write_tokens));
        cache_read.push(big(t.cache_read_tokens));
        cost.push(t.cost_usd);
        batch.push(g.batch);
        requested.push(g.requested_at.map(at));
    }
    let inserted = execute(
        client,
        &sql::INSERT_EXAMS,
        &[
            &ids,
            &users,
            &types,
            &json,
            &items,
            &created,
            &expires,
            &jobs,
            &requests,
            &input,
            &output,
            &cache_write,
            &cache_read,
            &cost,
            &batch,
            &requested,
        ],
    )
    .await?;
    if inserted != exams.len() as u64 {
        return Err(StoreError::Database(format!("stored {inserted} of {} exams", exams.len())));
    }
    Ok(ids.iter().map(Uuid::to_string).collect())
}

#[async_trait]
impl ExamStore for PgStore {
    async fn insert_exams(&self, exams: Vec<NewExam>) -> Result<Vec<String>, StoreError> {
        if exams.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(NewExam, Option<Uuid>)> = exams.into_iter().map(|e| (e, None)).collect();
        insert_rows(&self.conn().await?, &rows).await
    }

    async fn claim_exam(
        &self,
        user: &UserId,
        exam_type: ExamType,
        now: DateTime<Utc>,
    ) -> Result<Option<ClaimedExam>, StoreError> {
        let now = at(now);
        let client = self.conn().await?;
        let Some(row) = query_opt(&client, &sql::CLAIM_EXAM, &[&user.as_str(), &exam_type.as_str(), &now]).await?
        else {
            return Ok(None);
        };
        let id: Uuid = get(&row, 0)?;
        let json: String = get(&row, 1)?;
        let exam = stored_exam_json("exam", &id, json)?;
        Ok(Some(ClaimedExam {
            id: id.to_string(),
            user_id: user.clone(),
            exam_type,
            exam,
            created_at: get(&row, 2)?,
            expires_at: get(&row, 3)?,
            used_at: now,
        }))
    }

    async fn stock(
        &self,
        user: &UserId,
        exam_type: ExamType,
        now: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<u32, StoreError> {
        let cutoff = at(policy.stock_cutoff(now));
        let client = self.conn().await?;
        let bound = i64::from(policy.stock_count_bound());
        let row = query_one(&client, &sql::STOCK, &[&user.as_str(), &exam_type.as_str(), &cutoff, &bound]).await?;
        Ok(u32::try_from(count(&row, 0)?).unwrap_or(u32::MAX))
    }

    async fn plan_missing(&self, now: DateTime<Utc>, policy: &Policy) -> Result<Vec<MissingExams>, StoreError> {
        let client = self.conn().await?;
        super::planning::plan_missing(&client, now, policy).await
    }

    async fn cleanup(&self, now: DateTime<Utc>, policy: &Policy, batch: u32) -> Result<CleanupReport, StoreError> {
        if batch == 0 {
            return Err(StoreError::invalid("batch", "must be at least 1"));
        }
        let mut report = CleanupReport::default();
        let client = self.conn().await?;
        for (statement, cutoff, expired) in [
            (&sql::DELETE_EXPIRED_BATCH, at(now), true),
            (&sql::DELETE_USED_BATCH, at(policy.used_delete_cutoff(now)), false),
        ] {
            loop {
                let deleted = execute(&client, statement, &[&cutoff, &i64::from(batch)]).await?;
                report.batches += 1;
                if expired {
                    report.expired_deleted += deleted;
                } else {
                    report.used_deleted += deleted;
                }
                if deleted < u64::from(batch) {
                    break;
                }
            }
        }
        Ok(report)
    }

    async fn analytics(&self, now: DateTime<Utc>, policy: &Policy) -> Result<ExamAnalytics, StoreError> {
        let (day, since) = (at(now + TimeDelta::hours(24)), at(policy.active_since(now)));
        let client = self.conn().await?;
        let row = query_one(&client, &sql::ANALYTICS, &[&at(now), &day, &since]).await?;
        let counts = AnalyticsCounts {
            total: count(&row, 0)?,
            used: count(&row, 1)?,
            expired: count(&row, 2)?,
            diagnostic: count(&row, 3)?,
            practice: count(&row, 4)?,
            expiring_within_24h: count(&row, 5)?,
            users_with_rows: count(&row, 6)?,
            active_users_without_rows: count(&row, 7)?,
        };
        Ok(ExamAnalytics::from_counts(counts, now))
    }

    async fn record_get_outcome(&self, served: bool) -> Result<(), StoreError> {
        let name = if served { "get_served" } else { "get_missed" };
        let shard: i16 = rand::random_range(0..COUNTER_SHARDS);
        let client = self.conn().await?;
        execute(&client, &sql::BUMP_COUNTER, &[&name, &shard]).await?;
        Ok(())
    }

    fn bank(&self) -> Option<&dyn crate::store::BankStore> {
        Some(self)
    }

    async fn generation_summary(&self) -> Result<GenerationSummary, StoreError> {
        let client = self.conn().await?;
        let r = query_one(&client, &sql::GENERATION_SUMMARY, &[]).await?;
        Ok(GenerationSummary {
            tokens: TokenTotals {
                requests: count(&r, 0)?,
                input_tokens: count(&r, 1)?,
                output_tokens: count(&r, 2)?,
                cache_write_tokens: count(&r, 3)?,
                cache_read_tokens: count(&r, 4)?,
                cost_usd: get(&r, 5)?,
            },
            batch_exams: count(&r, 6)?,
            mean_trigger_to_ready_ms: get(&r, 7)?,
            jobs_succeeded: count(&r, 8)?,
            jobs_dead: count(&r, 9)?,
            gets_served: count(&r, 10)?,
            gets_missed: count(&r, 11)?,
        })
    }

    async fn user_stats(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<UserExamStats, StoreError> {
        let (now_at, cutoff) = (at(now), at(policy.stock_cutoff(now)));
        let mut client = self.conn().await?;
        let tx = client.snapshot().await?;
        let rows = query(&tx, &sql::USER_STOCK, &[&user.as_str(), &now_at, &cutoff]).await?;
        let last_seen: Option<DateTime<Utc>> =
            query_opt(&tx, &sql::LAST_SEEN, &[&user.as_str()]).await?.map(|r| get(&r, 0)).transpose()?;
        tx.commit().await?;
        let mut stats = UserExamStats {
            user_id: user.to_string(),
            diagnostic: TypeStock::default(),
            practice: TypeStock::default(),
            last_seen_at: None,
            active: false,
        };
        for row in &rows {
            let stock = TypeStock {
                ready: count(row, 1)?,
                counting: count(row, 2)?,
                used: count(row, 3)?,
                expired: count(row, 4)?,
                next_expires_at: get::<Option<DateTime<Utc>>>(row, 5)?.map(iso),
            };
            match parse_type(get(row, 0)?)? {
                ExamType::Diagnostic => stats.diagnostic = stock,
                ExamType::Practice => stats.practice = stock,
            }
        }
        if let Some(seen) = last_seen {
            stats.active = policy.is_active(seen, now);
            stats.last_seen_at = Some(iso(seen));
        }
        Ok(stats)
    }
}

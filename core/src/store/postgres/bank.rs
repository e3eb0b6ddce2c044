//! [`BankStore`] on Postgres. The assignment is one statement: the candidate exam is locked `FOR UPDATE SKIP
//! LOCKED` (concurrent assignments never wait on one another; they take the next exam), and the unique keys of
//! `assignments` ((user, exam) and (user, type, content)) are the final guard across processes: a repeat that a
//! concurrent statement committed after this one's snapshot records nothing, and the assignment runs again on a
//! fresh snapshot. Every statement stands alone (autocommit) except a bank job's completion, so nothing needs a
//! session: it works behind a transaction pooler.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::exams::COUNTER_SHARDS;
use super::{Db, PgStore, at, count, get, query, query_one, query_opt, sql_bank as sql};
use crate::exam::ExamType;
use crate::policy::{BankPolicy, Policy};
use crate::store::types::stored_exam_json;
use crate::store::{
    BankAnalytics, BankCleanupReport, BankInsert, BankStore, BankTypeAnalytics, BankTypePlan, ClaimedExam,
    NewBankExam, StoreError, UserId,
};

/// How often one assignment runs again after losing a race for an exam's content to a concurrent assignment of
/// the same user; each lost race means that user received another exam meanwhile, so this bounds nothing a
/// real user can reach.
const ASSIGN_ATTEMPTS: usize = 32;

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn small(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(if n < 0 { 0 } else { u32::MAX })
}

fn max_assignments(bank: &BankPolicy) -> i32 {
    i32::try_from(bank.max_assignments).unwrap_or(i32::MAX)
}

fn shard() -> i16 {
    rand::random_range(0..COUNTER_SHARDS)
}

fn parse_type(raw: &str) -> Result<ExamType, StoreError> {
    raw.parse().map_err(|e| StoreError::Corrupt(format!("{e}")))
}

/// Stores a bank exam unless its content is stored (`job` links it to the bank job that made it), counting it
/// when it did. Returns the id holding the content and whether this call created it.
pub(super) async fn insert_bank_row(
    db: &impl Db,
    exam: &NewBankExam,
    job: Option<Uuid>,
) -> Result<BankInsert, StoreError> {
    let json = serde_json::to_string(&exam.exam).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let (g, t) = (&exam.generation, &exam.generation.tokens);
    let id = Uuid::new_v4();
    let items = i32::try_from(exam.exam.questions.len()).unwrap_or(i32::MAX);
    let micros = (t.cost_usd * 1e6).round() as i64;
    let row = query_opt(
        db,
        &sql::INSERT_BANK_EXAM,
        &[
            &id,
            &exam.exam_type.as_str(),
            &exam.content_hash,
            &exam.source.as_str(),
            &json,
            &items,
            &at(exam.created_at),
            &at(exam.expires_at),
            &job,
            &big(t.requests),
            &big(t.input_tokens),
            &big(t.output_tokens),
            &big(t.cache_write_tokens),
            &big(t.cache_read_tokens),
            &t.cost_usd,
            &g.batch,
            &g.requested_at.map(at),
            &micros,
            &shard(),
        ],
    )
    .await?;
    if row.is_some() {
        return Ok(BankInsert { id: id.to_string(), created: true });
    }
    let existing = by_content(db, exam.exam_type, &exam.content_hash).await?.ok_or_else(|| {
        StoreError::Conflict(format!("bank exam {}: its content was deleted while storing it", exam.content_hash))
    })?;
    Ok(BankInsert { id: existing, created: false })
}

async fn by_content(db: &impl Db, exam_type: ExamType, hash: &str) -> Result<Option<String>, StoreError> {
    let row = query_opt(db, &sql::BANK_EXAM_BY_CONTENT, &[&exam_type.as_str(), &hash]).await?;
    row.map(|r| get::<Uuid>(&r, 0).map(|id| id.to_string())).transpose()
}

#[async_trait]
impl BankStore for PgStore {
    async fn insert_bank_exam(&self, exam: NewBankExam) -> Result<BankInsert, StoreError> {
        insert_bank_row(&self.conn().await?, &exam, None).await
    }

    async fn bank_exam_by_content(
        &self,
        exam_type: ExamType,
        content_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        by_content(&self.conn().await?, exam_type, content_hash).await
    }

    async fn assign_exam(
        &self,
        user: &UserId,
        exam_type: ExamType,
        now: DateTime<Utc>,
        bank: &BankPolicy,
    ) -> Result<Option<ClaimedExam>, StoreError> {
        let (now, max) = (at(now), max_assignments(bank));
        let client = self.conn().await?;
        for _ in 0..ASSIGN_ATTEMPTS {
            let values: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                [&user.as_str(), &exam_type.as_str(), &now, &max, &shard()];
            let Some(row) = query_opt(&client, &sql::ASSIGN, &values).await? else { return Ok(None) };
            let id: Uuid = get(&row, 0)?;
            let Some(json) = get::<Option<String>>(&row, 1)? else {
                tracing::debug!("[Pre-Gen] {user} received bank exam {id}'s content concurrently: picking again");
                continue;
            };
            let exam = stored_exam_json("bank exam", &id, json)?;
            return Ok(Some(ClaimedExam {
                id: id.to_string(),
                user_id: user.clone(),
                exam_type,
                exam,
                created_at: get(&row, 2)?,
                expires_at: get(&row, 3)?,
                used_at: now,
            }));
        }
        Err(StoreError::Busy(format!("{user}: {ASSIGN_ATTEMPTS} assignments in a row lost their exam to a race")))
    }

    async fn unseen(
        &self,
        user: &UserId,
        exam_type: ExamType,
        after: DateTime<Utc>,
        bank: &BankPolicy,
    ) -> Result<u32, StoreError> {
        let client = self.conn().await?;
        let row = query_one(
            &client,
            &sql::UNSEEN,
            &[&user.as_str(), &exam_type.as_str(), &at(after), &max_assignments(bank)],
        )
        .await?;
        Ok(small(get(&row, 0)?))
    }

    async fn plan_bank(
        &self,
        now: DateTime<Utc>,
        policy: &Policy,
        bank: &BankPolicy,
    ) -> Result<Vec<BankTypePlan>, StoreError> {
        let (since, cutoff) = (at(policy.active_since(now)), at(policy.stock_cutoff(now)));
        let (target, min) = (i64::from(bank.unseen_target), i64::from(bank.min_size));
        let client = self.conn().await?;
        let rows =
            query(&client, &sql::PLAN_BANK, &[&since, &cutoff, &max_assignments(bank), &target, &min]).await?;
        rows.iter()
            .map(|r| {
                Ok(BankTypePlan {
                    exam_type: parse_type(&get::<String>(r, 0)?)?,
                    counted: small(get(r, 1)?),
                    active_users: count(r, 2)?,
                    max_seen: small(get(r, 3)?),
                    needed: small(get(r, 4)?),
                })
            })
            .collect()
    }

    async fn cleanup_bank(
        &self,
        now: DateTime<Utc>,
        policy: &Policy,
        bank: &BankPolicy,
        batch: u32,
    ) -> Result<BankCleanupReport, StoreError> {
        if batch == 0 {
            return Err(StoreError::invalid("batch", "must be at least 1"));
        }
        let (now, cutoff) = (at(now), at(policy.used_delete_cutoff(now)));
        let (max, limit) = (max_assignments(bank), i64::from(batch));
        let client = self.conn().await?;
        let mut report = BankCleanupReport::default();
        loop {
            let rows = query(&client, &sql::DELETE_RETIRED_BANK_BATCH, &[&now, &cutoff, &max, &limit]).await?;
            report.batches += 1;
            report.deleted += rows.len() as u64;
            for row in &rows {
                if get::<i32>(row, 0)? == 0 {
                    report.unserved += 1;
                }
            }
            if (rows.len() as u64) < u64::from(batch) {
                return Ok(report);
            }
        }
    }

    async fn bank_analytics(
        &self,
        now: DateTime<Utc>,
        policy: &Policy,
        bank: &BankPolicy,
    ) -> Result<BankAnalytics, StoreError> {
        let (since, now, max) = (at(policy.active_since(now)), at(now), max_assignments(bank));
        let mut client = self.conn().await?;
        let tx = client.snapshot().await?;
        let figures = query(&tx, &sql::BANK_TYPE_FIGURES, &[&now, &max]).await?;
        let seen_all = query(&tx, &sql::USERS_SEEN_WHOLE_BANK, &[&since, &now, &max]).await?;
        let counters = query_one(&tx, &sql::BANK_COUNTERS, &[]).await?;
        tx.commit().await?;
        let mut types = Vec::with_capacity(ExamType::ALL.len());
        for exam_type in ExamType::ALL {
            let named =
                |r: &&tokio_postgres::Row| r.try_get::<_, String>(0).is_ok_and(|t| t == exam_type.as_str());
            let (stored, servable, imported, assigned, most, cost) = match figures.iter().find(named) {
                Some(r) => (count(r, 1)?, count(r, 2)?, count(r, 3)?, count(r, 4)?, count(r, 5)?, get(r, 6)?),
                None => (0, 0, 0, 0, 0, 0.0),
            };
            let seen = seen_all.iter().find(named).map(|r| count(r, 1)).transpose()?.unwrap_or(0);
            types.push(BankTypeAnalytics {
                exam_type,
                stored,
                servable,
                imported,
                assignments: assigned,
                mean_assignments_per_exam: if stored == 0 {
                    0.0
                } else {
                    (assigned as f64 / stored as f64 * 100.0).round() / 100.0
                },
                max_assignments_per_exam: most,
                users_seen_whole_bank: seen,
                cost_usd: cost,
            });
        }
        let (assigned, stored, micros) = (count(&counters, 0)?, count(&counters, 1)?, get::<i64>(&counters, 2)?);
        let cost_total_usd = micros as f64 / 1e6;
        Ok(BankAnalytics {
            types,
            assignments_total: assigned,
            exams_total: stored,
            cost_total_usd,
            cost_per_served_exam_usd: (assigned > 0).then(|| cost_total_usd / assigned as f64),
        })
    }
}

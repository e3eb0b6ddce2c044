//! [`BankStore`] on SQLite: the assignment is one `INSERT ... SELECT ... RETURNING` and one counting `UPDATE` in
//! the writer's transaction; the `(user_id, exam_id)` primary key and the unique `(user_id, exam_type,
//! content_hash)` refuse a repeat even from another process, and assignments outlive their exam.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, db_error, from_ms, sql_bank as sql, to_ms};
use crate::exam::ExamType;
use crate::policy::{BankPolicy, Policy};
use crate::store::types::stored_exam_json;
use crate::store::{
    BankAnalytics, BankCleanupReport, BankInsert, BankStore, BankTypeAnalytics, BankTypePlan, ClaimedExam,
    NewBankExam, StoreError, UserId,
};

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn small(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(if n < 0 { 0 } else { u32::MAX })
}

fn parse_type(raw: &str) -> Result<ExamType, StoreError> {
    raw.parse().map_err(|e| StoreError::Corrupt(format!("{e}")))
}

/// Inserts a bank exam unless its content is stored; `job_id` links it to the bank job that made it. Returns the
/// id holding the content and whether this call created it.
pub(super) fn insert_bank_row(
    conn: &Connection,
    exam: &NewBankExam,
    json: &str,
    job_id: Option<&str>,
) -> Result<BankInsert, StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    let (g, t) = (&exam.generation, &exam.generation.tokens);
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let inserted = conn
        .prepare_cached(sql::INSERT_BANK_EXAM)
        .and_then(|mut st| {
            st.execute(params![
                id,
                exam.exam_type.as_str(),
                exam.content_hash,
                exam.source.as_str(),
                exam.exam.questions.len() as i64,
                to_ms(exam.created_at),
                to_ms(exam.expires_at),
                job_id,
                n(t.requests),
                n(t.input_tokens),
                n(t.output_tokens),
                n(t.cache_write_tokens),
                n(t.cache_read_tokens),
                t.cost_usd,
                g.batch,
                g.requested_at.map(to_ms),
            ])
        })
        .map_err(db_error)?;
    if inserted == 0 {
        let existing: String = conn
            .prepare_cached(sql::BANK_EXAM_BY_CONTENT)
            .and_then(|mut st| st.query_row(params![exam.exam_type.as_str(), exam.content_hash], |r| r.get(0)))
            .map_err(db_error)?;
        return Ok(BankInsert { id: existing, created: false });
    }
    let micros = (t.cost_usd * 1e6).round() as i64;
    conn.prepare_cached(sql::INSERT_BANK_PAYLOAD)
        .and_then(|mut st| st.execute(params![id, json]))
        .and_then(|_| conn.prepare_cached(sql::COUNT_BANK_STORED)?.execute(params![micros]))
        .map_err(db_error)?;
    Ok(BankInsert { id, created: true })
}

/// One assignment in the writer's transaction: the pick, the count on the exam, the payload.
fn assign(
    conn: &Connection,
    user: &str,
    exam_type: ExamType,
    now: i64,
    max: i64,
) -> Result<Option<(String, String, i64, i64)>, StoreError> {
    let picked: Option<String> = conn
        .prepare_cached(sql::ASSIGN_PICK)
        .and_then(|mut st| st.query_row(params![user, exam_type.as_str(), now, max], |r| r.get(0)).optional())
        .map_err(db_error)?;
    let Some(id) = picked else { return Ok(None) };
    let (created_at, expires_at): (i64, i64) = conn
        .prepare_cached(sql::ASSIGN_COUNT)
        .and_then(|mut st| st.query_row(params![id, now, max], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(db_error)?;
    let json: String = conn
        .prepare_cached(sql::BANK_PAYLOAD)
        .and_then(|mut st| st.query_row(params![id], |r| r.get(0)))
        .and_then(|json| conn.prepare_cached(sql::COUNT_BANK_ASSIGNED)?.execute([]).map(|_| json))
        .map_err(db_error)?;
    Ok(Some((id, json, created_at, expires_at)))
}

#[async_trait]
impl BankStore for SqliteStore {
    async fn insert_bank_exam(&self, exam: NewBankExam) -> Result<BankInsert, StoreError> {
        let json = serde_json::to_string(&exam.exam).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.with_writer(move |conn| insert_bank_row(conn, &exam, &json, None)).await
    }

    async fn bank_exam_by_content(
        &self,
        exam_type: ExamType,
        content_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        let hash = content_hash.to_owned();
        self.with_conn(move |conn| {
            conn.prepare_cached(sql::BANK_EXAM_BY_CONTENT)
                .and_then(|mut st| st.query_row(params![exam_type.as_str(), hash], |r| r.get(0)).optional())
                .map_err(db_error)
        })
        .await
    }

    async fn assign_exam(
        &self,
        user: &UserId,
        exam_type: ExamType,
        now: DateTime<Utc>,
        bank: &BankPolicy,
    ) -> Result<Option<ClaimedExam>, StoreError> {
        let (raw, max) = (user.as_str().to_owned(), i64::from(bank.max_assignments));
        let row = self.with_writer(move |conn| assign(conn, &raw, exam_type, to_ms(now), max)).await?;
        let Some((id, json, created_at, expires_at)) = row else { return Ok(None) };
        let exam = stored_exam_json("bank exam", &id, json)?;
        Ok(Some(ClaimedExam {
            id,
            user_id: user.clone(),
            exam_type,
            exam,
            created_at: from_ms(created_at)?,
            expires_at: from_ms(expires_at)?,
            used_at: now,
        }))
    }

    async fn unseen(
        &self,
        user: &UserId,
        exam_type: ExamType,
        after: DateTime<Utc>,
        bank: &BankPolicy,
    ) -> Result<u32, StoreError> {
        let (user, max) = (user.clone(), i64::from(bank.max_assignments));
        let n: i64 = self
            .with_conn(move |conn| {
                conn.prepare_cached(sql::UNSEEN)
                    .and_then(|mut st| {
                        st.query_row(params![user.as_str(), exam_type.as_str(), to_ms(after), max], |r| r.get(0))
                    })
                    .map_err(db_error)
            })
            .await?;
        Ok(small(n))
    }

    async fn plan_bank(
        &self,
        now: DateTime<Utc>,
        policy: &Policy,
        bank: &BankPolicy,
    ) -> Result<Vec<BankTypePlan>, StoreError> {
        let (since, cutoff) = (to_ms(policy.active_since(now)), to_ms(policy.stock_cutoff(now)));
        let (max, target, min) =
            (i64::from(bank.max_assignments), i64::from(bank.unseen_target), i64::from(bank.min_size));
        type Row = (String, i64, i64, i64, i64);
        let rows: Vec<Row> = self
            .with_conn(move |conn| {
                conn.prepare_cached(sql::PLAN_BANK)
                    .and_then(|mut st| {
                        st.query_map(params![since, cutoff, max, target, min], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                        })?
                        .collect::<Result<Vec<_>, _>>()
                    })
                    .map_err(db_error)
            })
            .await?;
        rows.into_iter()
            .map(|(exam_type, counted, active, max_seen, needed)| {
                Ok(BankTypePlan {
                    exam_type: parse_type(&exam_type)?,
                    counted: small(counted),
                    active_users: count(active),
                    max_seen: small(max_seen),
                    needed: small(needed),
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
        let (now_ms, cutoff, max) =
            (to_ms(now), to_ms(policy.used_delete_cutoff(now)), i64::from(bank.max_assignments));
        let mut report = BankCleanupReport::default();
        loop {
            let deleted: Vec<i64> = self
                .with_writer(move |conn| {
                    conn.prepare_cached(sql::DELETE_RETIRED_BANK_BATCH)
                        .and_then(|mut st| {
                            st.query_map(params![now_ms, cutoff, max, i64::from(batch)], |r| r.get(0))?
                                .collect::<Result<Vec<i64>, _>>()
                        })
                        .map_err(db_error)
                })
                .await?;
            report.batches += 1;
            report.deleted += deleted.len() as u64;
            report.unserved += deleted.iter().filter(|&&n| n == 0).count() as u64;
            if (deleted.len() as u64) < u64::from(batch) {
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
        let (now_ms, since, max) = (to_ms(now), to_ms(policy.active_since(now)), i64::from(bank.max_assignments));
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(db_error)?;
            type Row = (String, i64, i64, i64, i64, i64, f64);
            let rows: Vec<Row> = tx
                .prepare_cached(sql::BANK_TYPE_FIGURES)
                .and_then(|mut st| {
                    st.query_map(params![now_ms, max], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()
                })
                .map_err(db_error)?;
            let mut types = Vec::with_capacity(2);
            for exam_type in ExamType::ALL {
                let row = rows.iter().find(|r| r.0 == exam_type.as_str());
                let (stored, servable, imported, assigned, most, cost) =
                    row.map_or((0, 0, 0, 0, 0, 0.0), |r| (r.1, r.2, r.3, r.4, r.5, r.6));
                let seen_all: i64 = tx
                    .prepare_cached(sql::USERS_SEEN_WHOLE_BANK)
                    .and_then(|mut st| st.query_row(params![since, exam_type.as_str(), now_ms, max], |r| r.get(0)))
                    .map_err(db_error)?;
                types.push(BankTypeAnalytics {
                    exam_type,
                    stored: count(stored),
                    servable: count(servable),
                    imported: count(imported),
                    assignments: count(assigned),
                    mean_assignments_per_exam: if stored == 0 {
                        0.0
                    } else {
                        (assigned as f64 / stored as f64 * 100.0).round() / 100.0
                    },
                    max_assignments_per_exam: count(most),
                    users_seen_whole_bank: count(seen_all),
                    cost_usd: cost,
                });
            }
            let (assigned, stored, micros): (i64, i64, i64) = tx
                .prepare_cached(sql::BANK_COUNTERS)
                .and_then(|mut st| st.query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
                .map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            let cost_total_usd = micros as f64 / 1e6;
            Ok(BankAnalytics {
                types,
                assignments_total: count(assigned),
                exams_total: count(stored),
                cost_total_usd,
                cost_per_served_exam_usd: (assigned > 0).then(|| cost_total_usd / assigned as f64),
            })
        })
        .await
    }
}

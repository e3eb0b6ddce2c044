//! [`ExamStore`] on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, db_error, from_ms, sql, to_ms};
use crate::exam::ExamType;
use crate::policy::Policy;
use crate::store::types::stored_exam_json;
use crate::store::{
    AnalyticsCounts, ClaimedExam, CleanupReport, ExamAnalytics, ExamStore, GenerationSummary, MissingExams,
    NewExam, StoreError, TokenTotals, TypeStock, UserExamStats, UserId, iso,
};

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn parse_type(raw: &str) -> Result<ExamType, StoreError> {
    raw.parse().map_err(|e| StoreError::Corrupt(format!("{e}")))
}

/// Inserts one exam row with its generation figures; `job_id` links it to the job that made it.
pub(super) fn insert_row(
    conn: &Connection,
    id: &str,
    exam: &NewExam,
    json: &str,
    job_id: Option<&str>,
) -> Result<(), StoreError> {
    let (g, t) = (&exam.generation, &exam.generation.tokens);
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    conn.prepare_cached(sql::INSERT_EXAM)
        .and_then(|mut st| {
            st.execute(params![
                id,
                exam.user_id.as_str(),
                exam.exam_type.as_str(),
                exam.exam.questions.len() as i64,
                to_ms(exam.created_at),
                to_ms(exam.expires_at),
                job_id,
                count(t.requests),
                count(t.input_tokens),
                count(t.output_tokens),
                count(t.cache_write_tokens),
                count(t.cache_read_tokens),
                t.cost_usd,
                g.batch,
                g.requested_at.map(to_ms),
            ])
        })
        .and_then(|_| conn.prepare_cached(sql::INSERT_PAYLOAD)?.execute(params![id, json]))
        .map(|_| ())
        .map_err(db_error)
}

#[async_trait]
impl ExamStore for SqliteStore {
    async fn insert_exams(&self, exams: Vec<NewExam>) -> Result<Vec<String>, StoreError> {
        let rows = exams
            .into_iter()
            .map(|exam| {
                let json = serde_json::to_string(&exam.exam).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((uuid::Uuid::new_v4().to_string(), exam, json))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.with_writer(move |conn| {
            let mut ids = Vec::with_capacity(rows.len());
            for (id, exam, json) in rows {
                insert_row(conn, &id, &exam, &json, None)?;
                ids.push(id);
            }
            Ok(ids)
        })
        .await
    }

    async fn claim_exam(
        &self,
        user: &UserId,
        exam_type: ExamType,
        now: DateTime<Utc>,
    ) -> Result<Option<ClaimedExam>, StoreError> {
        let user = user.clone();
        let row = {
            let user = user.clone();
            self.with_writer(move |conn| {
                let row = conn
                    .prepare_cached(sql::CLAIM_EXAM)
                    .and_then(|mut st| {
                        st.query_row(params![user.as_str(), exam_type.as_str(), to_ms(now)], |r| {
                            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                        })
                        .optional()
                    })
                    .map_err(db_error)?;
                let Some((id, created_at, expires_at)) = row else { return Ok(None) };
                let json: String = conn
                    .prepare_cached(sql::PAYLOAD)
                    .and_then(|mut st| st.query_row(params![id], |r| r.get(0)))
                    .map_err(db_error)?;
                Ok(Some((id, json, created_at, expires_at)))
            })
            .await?
        };
        let Some((id, json, created_at, expires_at)) = row else {
            return Ok(None);
        };
        let exam = stored_exam_json("exam", &id, json)?;
        Ok(Some(ClaimedExam {
            id,
            user_id: user,
            exam_type,
            exam,
            created_at: from_ms(created_at)?,
            expires_at: from_ms(expires_at)?,
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
        let user = user.clone();
        let (cutoff, bound) = (to_ms(policy.stock_cutoff(now)), i64::from(policy.stock_count_bound()));
        let n: i64 = self
            .with_conn(move |conn| {
                conn.prepare_cached(sql::STOCK)
                    .and_then(|mut st| {
                        st.query_row(params![user.as_str(), exam_type.as_str(), cutoff, bound], |r| r.get(0))
                    })
                    .map_err(db_error)
            })
            .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn plan_missing(&self, now: DateTime<Utc>, policy: &Policy) -> Result<Vec<MissingExams>, StoreError> {
        let (since, cutoff, target) =
            (to_ms(policy.active_since(now)), to_ms(policy.stock_cutoff(now)), i64::from(policy.stock_target));
        let rows: Vec<(String, String, i64)> = self
            .with_conn(move |conn| {
                let mut st = conn.prepare_cached(sql::PLAN_MISSING).map_err(db_error)?;
                let rows = st
                    .query_map(params![since, cutoff, target], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                    .map_err(db_error)?;
                Ok(rows)
            })
            .await?;
        rows.into_iter()
            .map(|(user, exam_type, missing)| {
                Ok(MissingExams {
                    user_id: UserId::parse(&user).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    exam_type: parse_type(&exam_type)?,
                    missing: u32::try_from(missing).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn cleanup(&self, now: DateTime<Utc>, policy: &Policy, batch: u32) -> Result<CleanupReport, StoreError> {
        if batch == 0 {
            return Err(StoreError::invalid("batch", "must be at least 1"));
        }
        let mut report = CleanupReport::default();
        for (statement, cutoff, expired) in [
            (sql::DELETE_EXPIRED_BATCH, to_ms(now), true),
            (sql::DELETE_USED_BATCH, to_ms(policy.used_delete_cutoff(now)), false),
        ] {
            loop {
                let deleted = self
                    .with_writer(move |conn| {
                        conn.prepare_cached(statement)
                            .and_then(|mut st| st.execute(params![cutoff, i64::from(batch)]))
                            .map_err(db_error)
                    })
                    .await? as u64;
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
        let (now_ms, day_ms, since) =
            (to_ms(now), to_ms(now + TimeDelta::hours(24)), to_ms(policy.active_since(now)));
        let counts = self
            .with_conn(move |conn| {
                let tx = conn.transaction().map_err(db_error)?;
                let mut c = tx
                    .prepare_cached(sql::ANALYTICS_ROWS)
                    .and_then(|mut st| {
                        st.query_row(params![now_ms, day_ms], |r| {
                            Ok(AnalyticsCounts {
                                total: count(r.get(0)?),
                                used: count(r.get(1)?),
                                expired: count(r.get(2)?),
                                diagnostic: count(r.get(3)?),
                                practice: count(r.get(4)?),
                                expiring_within_24h: count(r.get(5)?),
                                users_with_rows: count(r.get(6)?),
                                active_users_without_rows: 0,
                            })
                        })
                    })
                    .map_err(db_error)?;
                c.active_users_without_rows = tx
                    .prepare_cached(sql::ACTIVE_USERS_WITHOUT_ROWS)
                    .and_then(|mut st| st.query_row(params![since], |r| r.get(0)))
                    .map(count)
                    .map_err(db_error)?;
                tx.commit().map_err(db_error)?;
                Ok(c)
            })
            .await?;
        Ok(ExamAnalytics::from_counts(counts, now))
    }

    async fn record_get_outcome(&self, served: bool) -> Result<(), StoreError> {
        self.bump_get_counter(served).await
    }

    async fn generation_summary(&self) -> Result<GenerationSummary, StoreError> {
        self.read_generation_summary().await
    }

    fn bank(&self) -> Option<&dyn crate::store::BankStore> {
        Some(self)
    }

    async fn user_stats(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<UserExamStats, StoreError> {
        let id = user.clone();
        let (now_ms, cutoff) = (to_ms(now), to_ms(policy.stock_cutoff(now)));
        type Row = (String, i64, i64, i64, i64, Option<i64>);
        let (rows, last_seen): (Vec<Row>, Option<i64>) = self
            .with_conn(move |conn| {
                let tx = conn.transaction().map_err(db_error)?;
                let rows = tx
                    .prepare_cached(sql::USER_STOCK)
                    .and_then(|mut st| {
                        st.query_map(params![id.as_str(), now_ms, cutoff], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                        })?
                        .collect::<Result<Vec<_>, _>>()
                    })
                    .map_err(db_error)?;
                let last_seen = tx
                    .prepare_cached(sql::LAST_SEEN)
                    .and_then(|mut st| st.query_row(params![id.as_str()], |r| r.get(0)).optional())
                    .map_err(db_error)?;
                tx.commit().map_err(db_error)?;
                Ok((rows, last_seen))
            })
            .await?;
        let mut stats = UserExamStats {
            user_id: user.as_str().to_owned(),
            diagnostic: TypeStock::default(),
            practice: TypeStock::default(),
            last_seen_at: None,
            active: false,
        };
        for (exam_type, ready, counting, used, expired, next) in rows {
            let stock = TypeStock {
                ready: count(ready),
                counting: count(counting),
                used: count(used),
                expired: count(expired),
                next_expires_at: next.map(from_ms).transpose()?.map(iso),
            };
            match parse_type(&exam_type)? {
                ExamType::Diagnostic => stats.diagnostic = stock,
                ExamType::Practice => stats.practice = stock,
            }
        }
        if let Some(seen) = last_seen.map(from_ms).transpose()? {
            stats.active = policy.is_active(seen, now);
            stats.last_seen_at = Some(iso(seen));
        }
        Ok(stats)
    }
}

impl SqliteStore {
    pub(super) async fn bump_get_counter(&self, served: bool) -> Result<(), StoreError> {
        let name = if served { "get_served" } else { "get_missed" };
        self.with_writer(move |conn| {
            conn.prepare_cached(sql::BUMP_COUNTER)
                .and_then(|mut st| st.execute(params![name]))
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    pub(super) async fn read_generation_summary(&self) -> Result<GenerationSummary, StoreError> {
        self.with_conn(|conn| {
            let tx = conn.transaction().map_err(db_error)?;
            let mut s = tx
                .prepare_cached(sql::GENERATION_TOTALS)
                .and_then(|mut st| {
                    st.query_row([], |r| {
                        Ok(GenerationSummary {
                            tokens: TokenTotals {
                                requests: count(r.get(0)?),
                                input_tokens: count(r.get(1)?),
                                output_tokens: count(r.get(2)?),
                                cache_write_tokens: count(r.get(3)?),
                                cache_read_tokens: count(r.get(4)?),
                                cost_usd: r.get(5)?,
                            },
                            batch_exams: count(r.get(6)?),
                            mean_trigger_to_ready_ms: r.get(7)?,
                            ..GenerationSummary::default()
                        })
                    })
                })
                .map_err(db_error)?;
            let (ok, dead): (i64, i64) = tx
                .prepare_cached(sql::JOB_OUTCOMES)
                .and_then(|mut st| st.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
                .map_err(db_error)?;
            let (served, missed): (i64, i64) = tx
                .prepare_cached(sql::GET_COUNTERS)
                .and_then(|mut st| st.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
                .map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            (s.jobs_succeeded, s.jobs_dead, s.gets_served, s.gets_missed) =
                (count(ok), count(dead), count(served), count(missed));
            Ok(s)
        })
        .await
    }
}

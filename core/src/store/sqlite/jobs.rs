//! [`JobStore`] on SQLite: a single writer, so claims are one `UPDATE ... RETURNING` in the writer's immediate
//! transaction (no `SKIP LOCKED` needed), and every change to a running job is fenced on holder and attempt.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::job_rows::{corrupt, query_job, query_jobs};
use super::{SqliteStore, db_error, from_ms, sql, to_ms};
use crate::queue::{
    Decision, Job, JobId, JobKey, JobState, JobSummary, QueueError, QueueOptions, QueueStatus, Retention,
    StateCounts, decide, heartbeat, overdue, release,
};
use crate::store::{Enqueued, JobStore, NewBankExam, NewExam, StoreError};

/// How many overdue jobs one claim call settles before claiming.
const REAP_LIMIT: i64 = 100;

/// The holder and attempt that fence a change to a running job.
fn fence(job: &Job) -> Result<(String, i64), StoreError> {
    let holder = job.lease.as_ref().map(|l| l.holder.clone()).ok_or_else(|| {
        StoreError::LeaseLost(format!("job {} is not held (state {})", job.id, job.state.as_str()))
    })?;
    Ok((holder, i64::from(job.attempt)))
}

/// The lease expiry and the two per-type deadlines a claim at `now` sets, in milliseconds.
fn claim_times(now: DateTime<Utc>, options: &QueueOptions) -> [i64; 3] {
    [
        to_ms(now + options.lease_duration),
        to_ms(now + options.attempt_timeout(crate::exam::ExamType::Diagnostic)),
        to_ms(now + options.attempt_timeout(crate::exam::ExamType::Practice)),
    ]
}

/// Inserts a pending job for `key` unless an unfinished one holds it, and returns whichever holds it now.
fn enqueue_one(
    conn: &Connection,
    key: &JobKey,
    options: &QueueOptions,
    now: DateTime<Utc>,
) -> Result<Enqueued, StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    let (max_attempts, max_releases) = (i64::from(options.retry.max_attempts), i64::from(options.max_releases));
    let inserted = conn
        .prepare_cached(sql::ENQUEUE_JOB)
        .and_then(|mut st| {
            st.execute(params![id, key.user_id, key.exam_type.as_str(), max_attempts, to_ms(now), max_releases])
        })
        .map_err(db_error)?;
    let job = query_job(conn, sql::UNFINISHED_JOB_FOR_KEY, params![key.user_id, key.exam_type.as_str()])?
        .ok_or_else(|| StoreError::Database("enqueued job not found".into()))?;
    Ok(Enqueued { created: inserted == 1 && job.id.as_str() == id, job })
}

/// Applies a pure transition of a running job (`queue::heartbeat`, `queue::release`) to the stored row and writes
/// the result, fenced on the caller's holder and attempt: the store keeps the queue module's rule instead of a
/// second one in SQL. Every refusal (the job gone, finished, taken over, its lease or deadline passed) is
/// [`StoreError::LeaseLost`]; the caller must stop the attempt.
fn transition_held(
    conn: &Connection,
    job: &Job,
    transition: impl FnOnce(&Job, &str, u32) -> Result<Job, QueueError>,
) -> Result<Job, StoreError> {
    let (holder, attempt) = fence(job)?;
    let stored =
        query_job(conn, sql::JOB_BY_ID, params![job.id.as_str()])?.ok_or_else(|| StoreError::lease_lost(job))?;
    let next =
        transition(&stored, &holder, job.attempt).map_err(|e| StoreError::held_transition_refused(job, e))?;
    let error = next.last_error.as_ref();
    let lease = next.lease.as_ref();
    query_job(
        conn,
        sql::WRITE_HELD_JOB,
        params![
            job.id.as_str(),
            holder,
            attempt,
            next.state.as_str(),
            i64::from(next.attempt),
            to_ms(next.run_at),
            to_ms(next.updated_at),
            next.started_at.map(to_ms),
            next.deadline.map(to_ms),
            lease.map(|l| l.holder.as_str()),
            lease.map(|l| to_ms(l.expires_at)),
            next.finished_at.map(to_ms),
            error.map(|e| e.code.as_str()),
            error.map(|e| e.message.as_str()),
            i64::from(next.releases),
        ],
    )?
    .ok_or_else(|| StoreError::lease_lost(job))
}

fn write_decision(conn: &Connection, job: &Job, decision: &Decision) -> Result<Option<Job>, StoreError> {
    let (holder, attempt) = fence(job)?;
    let error = decision.last_error.as_ref();
    query_job(
        conn,
        sql::FINISH_JOB,
        params![
            job.id.as_str(),
            holder,
            attempt,
            decision.state.as_str(),
            decision.run_at.map(to_ms),
            error.map(|e| e.code.as_str()),
            error.map(|e| e.message.as_str()),
            to_ms(decision.decided_at),
            decision.state.is_finished().then(|| to_ms(decision.decided_at)),
        ],
    )
}

/// Settles running jobs nobody will report on: an expired lease is an abandoned attempt, a passed deadline a
/// timed-out one; each goes to retry wait or dead by the same rules as a reported failure.
fn reap_overdue(conn: &Connection, now: DateTime<Utc>, options: &QueueOptions) -> Result<usize, StoreError> {
    let overdue_jobs = query_jobs(conn, sql::OVERDUE_JOBS, params![to_ms(now), REAP_LIMIT])?;
    let mut reaped = 0;
    for job in overdue_jobs {
        reaped += usize::from(settle_overdue(conn, &job, now, options)?);
    }
    Ok(reaped)
}

/// Records what `queue::overdue` finds for one running job at `now`, if anything; says whether it wrote.
fn settle_overdue(
    conn: &Connection,
    job: &Job,
    now: DateTime<Utc>,
    options: &QueueOptions,
) -> Result<bool, StoreError> {
    let Some(outcome) = overdue(job, now) else { return Ok(false) };
    let decision = decide(job, &outcome, now, options, rand::random::<f64>()).map_err(corrupt)?;
    let Some(settled) = write_decision(conn, job, &decision)? else { return Ok(false) };
    tracing::warn!(
        "[BGJob] job {} ({}) attempt {} {}: now {}",
        job.id,
        job.key,
        job.attempt,
        decision.last_error.as_ref().map_or("overdue", |e| e.code.as_str()),
        settled.state
    );
    Ok(true)
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue(
        &self,
        key: &JobKey,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Enqueued, StoreError> {
        let mut done = self.enqueue_many(std::slice::from_ref(key), now, options).await?;
        done.pop().ok_or_else(|| StoreError::Database("enqueue returned nothing".into()))
    }

    async fn enqueue_many(
        &self,
        keys: &[JobKey],
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Vec<Enqueued>, StoreError> {
        for key in keys {
            if !key.is_bank() {
                crate::store::UserId::parse(&key.user_id)?;
            }
        }
        options.check().map_err(|e| StoreError::invalid("queueOptions", e.to_string()))?;
        let (keys, options) = (keys.to_vec(), *options);
        self.with_writer(move |conn| keys.iter().map(|key| enqueue_one(conn, key, &options, now)).collect()).await
    }

    async fn claim_job(
        &self,
        id: &JobId,
        holder: &str,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Option<Job>, StoreError> {
        if holder.is_empty() {
            return Err(StoreError::invalid("holder", "must not be empty"));
        }
        let (id, holder, options) = (id.clone(), holder.to_owned(), *options);
        self.with_writer(move |conn| {
            // Settle the named job first if its holder went silent or its deadline passed, so a job whose
            // worker was killed is claimable by name as soon as its lease expired, like by `claim_jobs`.
            if let Some(job) = query_job(conn, sql::JOB_BY_ID, params![id.as_str()])? {
                settle_overdue(conn, &job, now, &options)?;
            }
            let [lease, diagnostic, practice] = claim_times(now, &options);
            query_job(
                conn,
                sql::CLAIM_JOB_BY_ID,
                params![holder, to_ms(now), lease, diagnostic, practice, id.as_str()],
            )
        })
        .await
    }

    async fn claim_jobs(
        &self,
        holder: &str,
        limit: u32,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Vec<Job>, StoreError> {
        if holder.is_empty() {
            return Err(StoreError::invalid("holder", "must not be empty"));
        }
        let (holder, options) = (holder.to_owned(), *options);
        self.with_writer(move |conn| {
            reap_overdue(conn, now, &options)?;
            let [lease, diagnostic, practice] = claim_times(now, &options);
            query_jobs(
                conn,
                sql::CLAIM_JOBS,
                params![holder, to_ms(now), lease, diagnostic, practice, i64::from(limit)],
            )
        })
        .await
    }

    async fn heartbeat_job(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Job, StoreError> {
        fence(job)?;
        let (job, options) = (job.clone(), *options);
        self.with_writer(move |conn| {
            transition_held(conn, &job, |stored, holder, attempt| {
                heartbeat(stored, holder, attempt, now, &options)
            })
        })
        .await
    }

    async fn finish_job(&self, job: &Job, decision: &Decision) -> Result<Job, StoreError> {
        let (job, decision) = (job.clone(), decision.clone());
        self.with_writer(move |conn| {
            let done = write_decision(conn, &job, &decision)?.ok_or_else(|| StoreError::lease_lost(&job))?;
            Ok(done)
        })
        .await
    }

    async fn complete_job_with_exam(
        &self,
        job: &Job,
        exam: NewExam,
        now: DateTime<Utc>,
    ) -> Result<(Job, String), StoreError> {
        if exam.user_id.as_str() != job.key.user_id || exam.exam_type != job.key.exam_type {
            return Err(StoreError::invalid("exam", format!("does not belong to job {}", job.id)));
        }
        let json = serde_json::to_string(&exam.exam).map_err(corrupt)?;
        let job = job.clone();
        self.with_writer(move |conn| {
            let decision =
                Decision { state: JobState::Succeeded, run_at: None, last_error: None, decided_at: now };
            let done = write_decision(conn, &job, &decision)?.ok_or_else(|| StoreError::lease_lost(&job))?;
            let exam_id = uuid::Uuid::new_v4().to_string();
            super::exams::insert_row(conn, &exam_id, &exam, &json, Some(job.id.as_str()))?;
            Ok((done, exam_id))
        })
        .await
    }

    async fn complete_job_with_bank_exam(
        &self,
        job: &Job,
        exam: NewBankExam,
        now: DateTime<Utc>,
    ) -> Result<(Job, String), StoreError> {
        if !job.key.is_bank() || exam.exam_type != job.key.exam_type {
            return Err(StoreError::invalid("exam", format!("job {} is not a bank job of its type", job.id)));
        }
        let json = serde_json::to_string(&exam.exam).map_err(corrupt)?;
        let job = job.clone();
        self.with_writer(move |conn| {
            let decision =
                Decision { state: JobState::Succeeded, run_at: None, last_error: None, decided_at: now };
            let done = write_decision(conn, &job, &decision)?.ok_or_else(|| StoreError::lease_lost(&job))?;
            let stored = super::bank::insert_bank_row(conn, &exam, &json, Some(job.id.as_str()))?;
            Ok((done, stored.id))
        })
        .await
    }

    async fn release_job(&self, job: &Job, now: DateTime<Utc>) -> Result<Job, StoreError> {
        fence(job)?;
        let job = job.clone();
        self.with_writer(move |conn| {
            transition_held(conn, &job, |stored, holder, attempt| release(stored, holder, attempt, now))
        })
        .await
    }

    async fn get_job(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        let id = id.clone();
        self.with_conn(move |conn| query_job(conn, sql::JOB_BY_ID, params![id.as_str()])).await
    }

    async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<i64> = self
            .with_conn(|conn| {
                conn.prepare_cached(sql::NEXT_DUE)
                    .and_then(|mut st| st.query_row([], |r| r.get(0)))
                    .map_err(db_error)
            })
            .await?;
        next.map(from_ms).transpose()
    }

    async fn queue_status(&self, now: DateTime<Utc>, limit: u32) -> Result<QueueStatus, StoreError> {
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(db_error)?;
            let mut counts = StateCounts::default();
            let by_state: Vec<(String, i64)> = tx
                .prepare_cached(sql::COUNT_JOBS_BY_STATE)
                .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
                .map_err(db_error)?;
            for (state, n) in by_state {
                let state: JobState = state.parse().map_err(corrupt)?;
                counts.add(state, u64::try_from(n).unwrap_or(0));
            }
            let oldest: Option<i64> = tx
                .prepare_cached(sql::OLDEST_DUE)
                .and_then(|mut st| st.query_row(params![to_ms(now)], |r| r.get(0)))
                .map_err(db_error)?;
            let jobs = query_jobs(&tx, sql::UNFINISHED_JOBS_PAGE, params![i64::from(limit)])?;
            tx.commit().map_err(db_error)?;
            let summaries = jobs.iter().map(JobSummary::of).collect();
            Ok(QueueStatus::from_parts(counts, summaries, oldest.map(from_ms).transpose()?, now))
        })
        .await
    }

    async fn clear_queue(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let n = self
            .with_writer(move |conn| {
                conn.prepare_cached(sql::CLEAR_QUEUE)
                    .and_then(|mut st| st.execute(params![to_ms(now)]))
                    .map_err(db_error)
            })
            .await?;
        Ok(n as u64)
    }

    async fn cleanup_jobs(
        &self,
        now: DateTime<Utc>,
        retention: &Retention,
        batch: u32,
    ) -> Result<u64, StoreError> {
        if batch == 0 {
            return Err(StoreError::invalid("batch", "must be at least 1"));
        }
        let mut deleted = 0;
        for state in [JobState::Succeeded, JobState::Dead, JobState::Cancelled] {
            let Some(keep) = retention.keep_for(state) else {
                continue;
            };
            let cutoff = to_ms(now - keep);
            loop {
                let n = self
                    .with_writer(move |conn| {
                        conn.prepare_cached(sql::DELETE_FINISHED_JOBS_BATCH)
                            .and_then(|mut st| st.execute(params![state.as_str(), cutoff, i64::from(batch)]))
                            .map_err(db_error)
                    })
                    .await? as u64;
                deleted += n;
                if n < u64::from(batch) {
                    break;
                }
            }
        }
        Ok(deleted)
    }
}

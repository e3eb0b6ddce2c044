//! [`JobStore`] on Postgres: claims are one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`, every
//! change to a running job is fenced on holder and attempt, and a job's exam is stored in the same transaction as
//! its success.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{Conn, Db, PgStore, at, count, execute, get, query, query_opt, sql};
use crate::exam::ExamType;
use crate::queue::{
    Decision, Job, JobError, JobId, JobKey, JobState, JobSummary, Lease, QueueError, QueueOptions, QueueStatus,
    Retention, StateCounts, decide, heartbeat, overdue, release,
};
use crate::store::{Enqueued, JobStore, NewBankExam, NewExam, StoreError, UserId};

/// How many overdue jobs (of each kind: lease expired, deadline passed) one claim call settles.
const REAP_LIMIT: i64 = 100;

/// The column of `sql::CLAIM_DUE_JOBS` that tells a claimed job (true) from an overdue one (false).
const CLAIMED_COLUMN: usize = 18;

/// How often an enqueue looks again when the unfinished job holding a key finished between its insert and its
/// read (each round sees newer commits, so a second round is already rare).
const ENQUEUE_ROUNDS: usize = 8;

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// Reads a job row (the columns of `sql::job_columns!`).
pub(crate) fn read_job(r: &Row) -> Result<Job, StoreError> {
    let lease = match (get::<Option<String>>(r, 11)?, get::<Option<DateTime<Utc>>>(r, 12)?) {
        (Some(holder), Some(expires_at)) => Some(Lease { holder, expires_at }),
        _ => None,
    };
    let last_error = match (get::<Option<String>>(r, 14)?, get::<Option<String>>(r, 15)?) {
        (Some(code), message) => Some(JobError { code, message: message.unwrap_or_default() }),
        _ => None,
    };
    Ok(Job {
        id: JobId(get::<Uuid>(r, 0)?.to_string()),
        key: JobKey { user_id: get(r, 1)?, exam_type: get::<&str>(r, 2)?.parse().map_err(corrupt)? },
        state: get::<&str>(r, 3)?.parse().map_err(corrupt)?,
        attempt: u32::try_from(get::<i32>(r, 4)?).map_err(corrupt)?,
        max_attempts: u32::try_from(get::<i32>(r, 5)?).map_err(corrupt)?,
        run_at: get(r, 6)?,
        created_at: get(r, 7)?,
        updated_at: get(r, 8)?,
        started_at: get(r, 9)?,
        deadline: get(r, 10)?,
        lease,
        finished_at: get(r, 13)?,
        last_error,
        releases: u32::try_from(get::<i32>(r, 16)?).map_err(corrupt)?,
        max_releases: u32::try_from(get::<i32>(r, 17)?).map_err(corrupt)?,
    })
}

pub(crate) fn read_jobs(rows: &[Row]) -> Result<Vec<Job>, StoreError> {
    rows.iter().map(read_job).collect()
}

/// A job id as the database's uuid; an id that is not one names no stored job.
fn job_uuid(id: &JobId) -> Option<Uuid> {
    Uuid::parse_str(id.as_str()).ok()
}

/// The id, holder and attempt that fence a change to a running job; `None` when the id names no stored job.
pub(crate) fn fence(job: &Job) -> Result<Option<(Uuid, String, i32)>, StoreError> {
    let holder = job.lease.as_ref().map(|l| l.holder.clone()).ok_or_else(|| {
        StoreError::LeaseLost(format!("job {} is not held (state {})", job.id, job.state.as_str()))
    })?;
    let attempt = i32::try_from(job.attempt).map_err(|_| StoreError::lease_lost(job))?;
    Ok(job_uuid(&job.id).map(|id| (id, holder, attempt)))
}

/// The lease expiry and the two per-type deadlines a claim at `now` sets.
fn claim_times(now: DateTime<Utc>, options: &QueueOptions) -> [DateTime<Utc>; 3] {
    [
        at(now + options.lease_duration),
        at(now + options.attempt_timeout(ExamType::Diagnostic)),
        at(now + options.attempt_timeout(ExamType::Practice)),
    ]
}

/// Writes `decision` for the running `job`, fenced; `None` when the job is no longer held at that attempt.
pub(crate) async fn write_decision(
    client: &impl Db,
    job: &Job,
    decision: &Decision,
) -> Result<Option<Job>, StoreError> {
    let Some((id, holder, attempt)) = fence(job)? else { return Ok(None) };
    let error = decision.last_error.as_ref();
    let decided = at(decision.decided_at);
    let row = query_opt(
        client,
        &sql::FINISH_JOB,
        &[
            &id,
            &holder,
            &attempt,
            &decision.state.as_str(),
            &decision.run_at.map(at),
            &error.map(|e| e.code.as_str()),
            &error.map(|e| e.message.as_str()),
            &decided,
            &decision.state.is_finished().then_some(decided),
        ],
    )
    .await?;
    row.as_ref().map(read_job).transpose()
}

/// Applies a pure transition of a running job (`queue::heartbeat`, `queue::release`) to the stored row, locked
/// for the transaction, and writes the result fenced on the caller's holder and attempt: the store keeps the queue
/// module's rule instead of a second one in SQL. Every refusal (the job gone, finished, taken over, its lease or
/// deadline passed) is [`StoreError::LeaseLost`]; the caller must stop the attempt.
async fn transition_held(
    client: &mut Conn,
    job: &Job,
    transition: impl FnOnce(&Job, &str, u32) -> Result<Job, QueueError>,
) -> Result<Job, StoreError> {
    let Some((id, holder, attempt)) = fence(job)? else { return Err(StoreError::lease_lost(job)) };
    let tx = client.transaction().await?;
    let stored = query_opt(&tx, &sql::JOB_FOR_UPDATE, &[&id]).await?;
    let stored = stored.as_ref().map(read_job).transpose()?.ok_or_else(|| StoreError::lease_lost(job))?;
    let next =
        transition(&stored, &holder, job.attempt).map_err(|e| StoreError::held_transition_refused(job, e))?;
    let error = next.last_error.as_ref();
    let lease = next.lease.as_ref();
    let row = query_opt(
        &tx,
        &sql::WRITE_HELD_JOB,
        &[
            &id,
            &holder,
            &attempt,
            &next.state.as_str(),
            &i32::try_from(next.attempt).map_err(corrupt)?,
            &at(next.run_at),
            &at(next.updated_at),
            &next.started_at.map(at),
            &next.deadline.map(at),
            &lease.map(|l| l.holder.as_str()),
            &lease.map(|l| at(l.expires_at)),
            &next.finished_at.map(at),
            &error.map(|e| e.code.as_str()),
            &error.map(|e| e.message.as_str()),
            &i32::try_from(next.releases).map_err(corrupt)?,
        ],
    )
    .await?;
    let written = row.as_ref().map(read_job).transpose()?.ok_or_else(|| StoreError::lease_lost(job))?;
    tx.commit().await?;
    Ok(written)
}

/// Claims up to `limit` due jobs for `holder` in one call that also returns the running jobs nobody will report
/// on (an expired lease is an abandoned attempt, a passed deadline a timed-out one). Those are settled here by the
/// same rules as a reported failure (a job another reaper settled first is left alone by the fence); when any was,
/// and the claim came back short, the rest is claimed again, so a settled job due at once is not left waiting.
/// Returns the claimed jobs in due order. Once jobs are claimed they are returned: a failure to settle an overdue
/// job or to claim the rest is then logged, not returned (the overdue job is found again by the next claim), since
/// the claimed jobs would otherwise wait out their lease and spend an attempt. Unlike SQLite, which settles before
/// it claims, the claim comes first here (one round trip in the usual case of nothing overdue), so after a mass
/// expiry the claimed jobs wait for up to `2 x REAP_LIMIT` settling writes before they start.
async fn claim_and_reap(
    client: &impl Db,
    holder: &str,
    limit: u32,
    now: DateTime<Utc>,
    options: &QueueOptions,
) -> Result<Vec<Job>, StoreError> {
    let [lease, diagnostic, practice] = claim_times(now, options);
    let claim = |wanted: i64, reap_limit: i64| async move {
        let rows = query(
            client,
            &sql::CLAIM_DUE_JOBS,
            &[&holder, &at(now), &lease, &diagnostic, &practice, &wanted, &reap_limit],
        )
        .await?;
        let (mut claimed, mut overdue) = (Vec::new(), Vec::new());
        for row in &rows {
            if get::<bool>(row, CLAIMED_COLUMN)? {
                claimed.push(read_job(row)?)
            } else {
                overdue.push(read_job(row)?)
            }
        }
        Ok::<_, StoreError>((claimed, overdue))
    };
    let (mut claimed, overdue) = claim(i64::from(limit), REAP_LIMIT).await?;
    let mut settled = 0;
    for job in &overdue {
        match settle_overdue(client, job, now, options).await {
            Ok(wrote) => settled += usize::from(wrote),
            // Nothing claimed: the caller learns of the failure (and backs off) as before.
            Err(e) if claimed.is_empty() => return Err(e),
            Err(e) => {
                tracing::warn!(
                    "[BGJob] could not settle overdue job {} (the next claim tries again): {e}",
                    job.id
                );
                if client.broken().load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
            }
        }
    }
    let short = i64::from(limit) - i64::try_from(claimed.len()).unwrap_or(i64::MAX);
    if settled > 0 && short > 0 {
        // Jobs a second look finds overdue wait for the next claim.
        match claim(short, 0).await {
            Ok((more, _)) => claimed.extend(more),
            Err(e) if claimed.is_empty() => return Err(e),
            Err(e) => tracing::warn!("[BGJob] claiming after settling overdue jobs failed: {e}"),
        }
    }
    claimed.sort_by_key(|job| (job.run_at, job.created_at));
    Ok(claimed)
}

/// Records what `queue::overdue` finds for one running job at `now`, if anything; says whether it wrote.
async fn settle_overdue(
    client: &impl Db,
    job: &Job,
    now: DateTime<Utc>,
    options: &QueueOptions,
) -> Result<bool, StoreError> {
    let Some(outcome) = overdue(job, now) else { return Ok(false) };
    let decision = decide(job, &outcome, now, options, rand::random::<f64>()).map_err(corrupt)?;
    let Some(settled) = write_decision(client, job, &decision).await? else { return Ok(false) };
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

/// Enqueues `keys` in one transaction: one set-based insert of the keys no unfinished job holds, then one read
/// of the jobs holding the others. A key whose holder finished in between is tried again.
/// Inserts pending jobs for the keys `found` lacks, in key order (so two enqueues of overlapping keys wait on each
/// other in one order and never deadlock), and records those inserted as created.
/// One key to enqueue, with the settings its caller gave.
#[derive(Debug, Clone)]
pub(crate) struct Wanted {
    /// The key.
    pub(crate) key: JobKey,
    /// The caller's now: the new job's due, created and updated time.
    pub(crate) now: DateTime<Utc>,
    /// The new job's max attempts and max releases.
    pub(crate) limits: [i32; 2],
}

impl Wanted {
    /// Every key with one caller's settings (`options` already checked).
    fn all(keys: &[JobKey], now: DateTime<Utc>, options: &QueueOptions) -> Vec<Wanted> {
        let limits = limits(options);
        keys.iter().map(|key| Wanted { key: key.clone(), now: at(now), limits }).collect()
    }
}

/// A new job's max attempts and max releases as the database stores them.
fn limits(options: &QueueOptions) -> [i32; 2] {
    [
        i32::try_from(options.retry.max_attempts).unwrap_or(i32::MAX),
        i32::try_from(options.max_releases).unwrap_or(i32::MAX),
    ]
}

/// Inserts a job for every wanted key not yet `found` (first mention's settings), recording those inserted as
/// created; returns the keys an unfinished job already held.
async fn insert_missing(
    db: &impl Db,
    wanted: &[Wanted],
    found: &mut HashMap<JobKey, (Job, bool)>,
) -> Result<Vec<JobKey>, StoreError> {
    let mut seen = std::collections::HashSet::new();
    let mut missing: Vec<&Wanted> =
        wanted.iter().filter(|w| !found.contains_key(&w.key) && seen.insert(&w.key)).collect();
    // In key order, so two inserts of overlapping keys wait on each other in one order and never deadlock.
    missing.sort_by(|a, b| a.key.cmp(&b.key));
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = missing.iter().map(|_| Uuid::new_v4()).collect();
    let users: Vec<&str> = missing.iter().map(|w| w.key.user_id.as_str()).collect();
    let types: Vec<&str> = missing.iter().map(|w| w.key.exam_type.as_str()).collect();
    let attempts: Vec<i32> = missing.iter().map(|w| w.limits[0]).collect();
    let nows: Vec<DateTime<Utc>> = missing.iter().map(|w| w.now).collect();
    let releases: Vec<i32> = missing.iter().map(|w| w.limits[1]).collect();
    let inserted = query(db, &sql::ENQUEUE_JOBS, &[&ids, &users, &types, &attempts, &nows, &releases]).await?;
    for job in read_jobs(&inserted)? {
        found.insert(job.key.clone(), (job, true));
    }
    Ok(missing.into_iter().filter(|w| !found.contains_key(&w.key)).map(|w| w.key.clone()).collect())
}

/// Enqueues every wanted key (see [`JobStore::enqueue_many`]): one autocommitted insert when every key is new,
/// else a transaction that reads the jobs holding the rest. Answers per key, in order: a key whose job kept
/// changing is its own `Busy`, not its batch's; a failed statement fails all.
pub(crate) async fn enqueue_keys(
    client: &mut Conn,
    wanted: &[Wanted],
) -> Result<Vec<Result<Enqueued, StoreError>>, StoreError> {
    let mut found: HashMap<JobKey, (Job, bool)> = HashMap::new();
    // The usual enqueue creates every key: one autocommitted insert is then the whole of it (one round trip and one
    // commit instead of four round trips). Keys an unfinished job already holds go on to the transaction below.
    let held_keys = insert_missing(&*client, wanted, &mut found).await?;
    if held_keys.is_empty() {
        return Ok(enqueued(wanted, &found));
    }
    let tx = client.transaction().await?;
    for _ in 0..ENQUEUE_ROUNDS {
        let rest = insert_missing(&tx, wanted, &mut found).await?;
        if rest.is_empty() {
            break;
        }
        let users: Vec<&str> = rest.iter().map(|k| k.user_id.as_str()).collect();
        let types: Vec<&str> = rest.iter().map(|k| k.exam_type.as_str()).collect();
        let held = query(&tx, &sql::UNFINISHED_JOBS_FOR_KEYS, &[&users, &types]).await?;
        for job in read_jobs(&held)? {
            found.entry(job.key.clone()).or_insert((job, false));
        }
    }
    tx.commit().await?;
    Ok(enqueued(wanted, &found))
}

/// Each key's job, in the caller's order; `created` only for a key's first mention.
fn enqueued(wanted: &[Wanted], found: &HashMap<JobKey, (Job, bool)>) -> Vec<Result<Enqueued, StoreError>> {
    let mut seen = std::collections::HashSet::new();
    wanted
        .iter()
        .map(|Wanted { key, .. }| {
            let (job, created) = found.get(key).cloned().ok_or_else(|| {
                StoreError::Busy(format!("the job for {} {} kept changing", key.user_id, key.exam_type))
            })?;
            // A key given twice is created once: the second mention gets the same job, not created by it.
            let first = seen.insert(key);
            Ok(Enqueued { job, created: created && first })
        })
        .collect()
}

#[async_trait]
impl JobStore for PgStore {
    async fn enqueue(
        &self,
        key: &JobKey,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Enqueued, StoreError> {
        if !key.is_bank() {
            UserId::parse(&key.user_id)?;
        }
        options.check().map_err(|e| StoreError::invalid("queueOptions", e.to_string()))?;
        let wanted = Wanted { key: key.clone(), now: at(now), limits: limits(options) };
        self.enqueues.submit(self.clone(), wanted).await
    }

    async fn enqueue_many(
        &self,
        keys: &[JobKey],
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Vec<Enqueued>, StoreError> {
        for key in keys.iter().filter(|k| !k.is_bank()) {
            UserId::parse(&key.user_id)?;
        }
        options.check().map_err(|e| StoreError::invalid("queueOptions", e.to_string()))?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.conn().await?;
        enqueue_keys(&mut client, &Wanted::all(keys, now, options)).await?.into_iter().collect()
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
        let Some(id) = job_uuid(id) else { return Ok(None) };
        let [lease, diagnostic, practice] = claim_times(now, options);
        let client = self.conn().await?;
        // Settle the named job first if its holder went silent or its deadline passed, so a job whose worker
        // was killed is claimable by name as soon as its lease expired, like by `claim_jobs`.
        if let Some(row) = query_opt(&client, &sql::JOB_BY_ID, &[&id]).await? {
            settle_overdue(&client, &read_job(&row)?, now, options).await?;
        }
        let row =
            query_opt(&client, &sql::CLAIM_JOB_BY_ID, &[&holder, &at(now), &lease, &diagnostic, &practice, &id])
                .await?;
        row.as_ref().map(read_job).transpose()
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
        let client = self.conn().await?;
        claim_and_reap(&client, holder, limit, now, options).await
    }

    async fn heartbeat_job(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Job, StoreError> {
        let options = *options;
        let mut client = self.conn().await?;
        transition_held(&mut client, job, |stored, holder, attempt| {
            heartbeat(stored, holder, attempt, now, &options)
        })
        .await
    }

    async fn finish_job(&self, job: &Job, decision: &Decision) -> Result<Job, StoreError> {
        if fence(job)?.is_none() {
            return Err(StoreError::lease_lost(job));
        }
        let finish = super::shared_writes::Finish { job: job.clone(), decision: decision.clone() };
        self.finishes.submit(self.clone(), finish).await
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
        let Some((job_id, _, _)) = fence(job)? else { return Err(StoreError::lease_lost(job)) };
        let decision = Decision { state: JobState::Succeeded, run_at: None, last_error: None, decided_at: now };
        let mut client = self.conn().await?;
        let tx = client.transaction().await?;
        let done = write_decision(&tx, job, &decision).await?.ok_or_else(|| StoreError::lease_lost(job))?;
        let mut ids = super::exams::insert_rows(&tx, &[(exam, Some(job_id))]).await?;
        tx.commit().await?;
        let exam_id = ids.pop().ok_or_else(|| StoreError::Database("insert returned no id".into()))?;
        Ok((done, exam_id))
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
        let Some((job_id, _, _)) = fence(job)? else { return Err(StoreError::lease_lost(job)) };
        let decision = Decision { state: JobState::Succeeded, run_at: None, last_error: None, decided_at: now };
        let mut client = self.conn().await?;
        let tx = client.transaction().await?;
        let done = write_decision(&tx, job, &decision).await?.ok_or_else(|| StoreError::lease_lost(job))?;
        let stored = super::bank::insert_bank_row(&tx, &exam, Some(job_id)).await?;
        tx.commit().await?;
        Ok((done, stored.id))
    }

    async fn release_job(&self, job: &Job, now: DateTime<Utc>) -> Result<Job, StoreError> {
        let mut client = self.conn().await?;
        transition_held(&mut client, job, |stored, holder, attempt| release(stored, holder, attempt, now)).await
    }

    async fn get_job(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        let Some(id) = job_uuid(id) else { return Ok(None) };
        let client = self.conn().await?;
        let row = query_opt(&client, &sql::JOB_BY_ID, &[&id]).await?;
        row.as_ref().map(read_job).transpose()
    }

    async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let client = self.conn().await?;
        let row = super::query_one(&client, &sql::NEXT_DUE, &[]).await?;
        get(&row, 0)
    }

    async fn queue_status(&self, now: DateTime<Utc>, limit: u32) -> Result<QueueStatus, StoreError> {
        let mut client = self.conn().await?;
        let tx = client.snapshot().await?;
        let mut counts = StateCounts::default();
        for row in query(&tx, &sql::COUNT_JOBS_BY_STATE, &[]).await? {
            let state: JobState = get::<&str>(&row, 0)?.parse().map_err(corrupt)?;
            counts.add(state, count(&row, 1)?);
        }
        let oldest: Option<DateTime<Utc>> = get(&super::query_one(&tx, &sql::OLDEST_DUE, &[&at(now)]).await?, 0)?;
        let jobs = read_jobs(&query(&tx, &sql::UNFINISHED_JOBS_PAGE, &[&i64::from(limit)]).await?)?;
        tx.commit().await?;
        let summaries = jobs.iter().map(JobSummary::of).collect();
        Ok(QueueStatus::from_parts(counts, summaries, oldest, now))
    }

    async fn clear_queue(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let client = self.conn().await?;
        execute(&client, &sql::CLEAR_QUEUE, &[&at(now)]).await
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
        let client = self.conn().await?;
        let mut deleted = 0;
        for state in [JobState::Succeeded, JobState::Dead, JobState::Cancelled] {
            let Some(keep) = retention.keep_for(state) else { continue };
            let cutoff = at(now - keep);
            loop {
                let n = execute(
                    &client,
                    &sql::DELETE_FINISHED_JOBS_BATCH,
                    &[&state.as_str(), &cutoff, &i64::from(batch)],
                )
                .await?;
                deleted += n;
                if n < u64::from(batch) {
                    break;
                }
            }
        }
        Ok(deleted)
    }

    fn wakeups(&self) -> &dyn crate::store::JobWakeups {
        self
    }
}

//! The SQLite job store passes the conformance suite (the pure transitions and the store driven through the same
//! sequences, compared field by field), and the suite notices a store that keeps an old rule: a heartbeat that
//! sets `now + lease` instead of never shortening the lease, a claim by id that does not settle an expired lease.
#![cfg(feature = "sqlite")]

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pregen_core::exam::ExamType;
use pregen_core::queue::{Decision, Job, JobId, JobKey, QueueOptions, QueueStatus, Retention};
use pregen_core::store::conformance::check_job_store;
use pregen_core::store::sqlite::rusqlite::params;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore, db_error};
use pregen_core::store::{Enqueued, JobStore, NewExam, StoreError};

async fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("c.db"), SqliteOptions::default()).await.unwrap()
}

#[tokio::test]
async fn the_sqlite_store_agrees_with_the_pure_transitions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let done = check_job_store(&store).await.unwrap_or_else(|d| panic!("{d}"));
    assert!(done.sequences >= 15 && done.steps >= 100, "{done:?}");
}

/// A rule the store used to have, put back to prove the suite finds it.
#[derive(Clone, Copy, PartialEq)]
enum OldRule {
    /// `lease_expires_at = now + lease`, which a heartbeat with an earlier clock shortens.
    HeartbeatSetsNowPlusLease,
    /// Claiming one named job without settling it when its lease expired.
    ClaimByIdWithoutSettling,
}

struct WithOldRule {
    inner: SqliteStore,
    rule: OldRule,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

#[async_trait]
impl JobStore for WithOldRule {
    async fn enqueue(&self, key: &JobKey, now: DateTime<Utc>, o: &QueueOptions) -> Result<Enqueued, StoreError> {
        self.inner.enqueue(key, now, o).await
    }

    async fn enqueue_many(
        &self,
        keys: &[JobKey],
        now: DateTime<Utc>,
        o: &QueueOptions,
    ) -> Result<Vec<Enqueued>, StoreError> {
        self.inner.enqueue_many(keys, now, o).await
    }

    async fn claim_job(
        &self,
        id: &JobId,
        holder: &str,
        now: DateTime<Utc>,
        o: &QueueOptions,
    ) -> Result<Option<Job>, StoreError> {
        if self.rule != OldRule::ClaimByIdWithoutSettling {
            return self.inner.claim_job(id, holder, now, o).await;
        }
        let (id2, holder) = (id.0.clone(), holder.to_owned());
        let (lease, deadline) = (ms(now + o.lease_duration), ms(now + o.attempt_timeout(ExamType::Practice)));
        let claimed = self
            .inner
            .with_connection(move |conn| {
                conn.execute(
                    "UPDATE jobs SET state = 'running', attempt = attempt + 1, started_at = ?2, updated_at = ?2,
                         deadline_at = ?4, lease_holder = ?1, lease_expires_at = ?3
                     WHERE id = ?5 AND state IN ('pending', 'retry_wait') AND run_at <= ?2
                       AND attempt < max_attempts",
                    params![holder, ms(now), lease, deadline, id2],
                )
                .map_err(db_error)
            })
            .await?;
        if claimed == 0 { Ok(None) } else { self.inner.get_job(id).await }
    }

    async fn claim_jobs(
        &self,
        holder: &str,
        limit: u32,
        now: DateTime<Utc>,
        o: &QueueOptions,
    ) -> Result<Vec<Job>, StoreError> {
        self.inner.claim_jobs(holder, limit, now, o).await
    }

    async fn heartbeat_job(&self, job: &Job, now: DateTime<Utc>, o: &QueueOptions) -> Result<Job, StoreError> {
        if self.rule != OldRule::HeartbeatSetsNowPlusLease {
            return self.inner.heartbeat_job(job, now, o).await;
        }
        let (id, holder, attempt) = (job.id.0.clone(), job.lease.clone().unwrap().holder, job.attempt);
        let expires = ms(now + o.lease_duration);
        let renewed = self
            .inner
            .with_connection(move |conn| {
                conn.execute(
                    "UPDATE jobs SET lease_expires_at = ?5, updated_at = ?4
                     WHERE id = ?1 AND state = 'running' AND lease_holder = ?2 AND attempt = ?3
                       AND lease_expires_at > ?4 AND deadline_at > ?4",
                    params![id, holder, attempt, ms(now), expires],
                )
                .map_err(db_error)
            })
            .await?;
        if renewed == 0 {
            return Err(StoreError::LeaseLost("old rule".into()));
        }
        Ok(self.inner.get_job(&job.id).await?.unwrap())
    }

    async fn finish_job(&self, job: &Job, decision: &Decision) -> Result<Job, StoreError> {
        self.inner.finish_job(job, decision).await
    }

    async fn complete_job_with_exam(
        &self,
        job: &Job,
        exam: NewExam,
        now: DateTime<Utc>,
    ) -> Result<(Job, String), StoreError> {
        self.inner.complete_job_with_exam(job, exam, now).await
    }

    async fn release_job(&self, job: &Job, now: DateTime<Utc>) -> Result<Job, StoreError> {
        self.inner.release_job(job, now).await
    }

    async fn get_job(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        self.inner.get_job(id).await
    }

    async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.next_due_at().await
    }

    async fn queue_status(&self, now: DateTime<Utc>, limit: u32) -> Result<QueueStatus, StoreError> {
        self.inner.queue_status(now, limit).await
    }

    async fn clear_queue(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.clear_queue(now).await
    }

    async fn cleanup_jobs(&self, now: DateTime<Utc>, r: &Retention, batch: u32) -> Result<u64, StoreError> {
        self.inner.cleanup_jobs(now, r, batch).await
    }
}

#[tokio::test]
async fn the_suite_finds_a_heartbeat_that_shortens_the_lease() {
    let dir = tempfile::tempdir().unwrap();
    let store = WithOldRule { inner: open(&dir).await, rule: OldRule::HeartbeatSetsNowPlusLease };
    let found = check_job_store(&store).await.unwrap_err();
    assert_eq!(found.sequence, "a heartbeat never shortens the lease", "{found}");
    assert!(found.detail.contains("lease: expected") && found.detail.contains("holder-"), "{found}");
}

#[tokio::test]
async fn the_suite_finds_a_claim_by_id_that_does_not_settle() {
    let dir = tempfile::tempdir().unwrap();
    let store = WithOldRule { inner: open(&dir).await, rule: OldRule::ClaimByIdWithoutSettling };
    let found = check_job_store(&store).await.unwrap_err();
    assert_eq!(found.sequence, "claiming by id settles an expired lease", "{found}");
    assert!(found.detail.contains("the pure start claims the job, the store does not"), "{found}");
}

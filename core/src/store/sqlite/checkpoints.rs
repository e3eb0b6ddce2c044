//! [`CheckpointStore`] on SQLite: a save checks the job's fence and writes its items in the writer's transaction,
//! so the check and the writes are one atomic step; the schema's cascade and trigger remove a checkpoint with its
//! job or as soon as the job is finished.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, db_error, sql, to_ms};
use crate::queue::{Job, JobId};
use crate::store::{CheckpointItem, CheckpointStore, StoreError};

#[async_trait]
impl CheckpointStore for SqliteStore {
    async fn save_checkpoint(
        &self,
        job: &Job,
        items: &[CheckpointItem],
        dropped: &[u32],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let holder = job.lease.as_ref().map(|l| l.holder.clone()).ok_or_else(|| StoreError::lease_lost(job))?;
        let rows = items
            .iter()
            .map(|item| {
                let json = serde_json::to_string(&item.question)
                    .map_err(|e| StoreError::invalid("checkpoint", format!("item for slot {}: {e}", item.slot)))?;
                Ok((i64::from(item.slot), json))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let (job, dropped) = (job.clone(), dropped.to_vec());
        self.with_writer(move |conn| {
            let (id, attempt) = (job.id.as_str(), i64::from(job.attempt));
            let held: Option<i64> = conn
                .prepare_cached(sql::JOB_HELD)
                .and_then(|mut st| st.query_row(params![id, holder, attempt], |r| r.get(0)).optional())
                .map_err(db_error)?;
            if held.is_none() {
                return Err(StoreError::lease_lost(&job));
            }
            let mut save = conn.prepare_cached(sql::SAVE_JOB_ITEM).map_err(db_error)?;
            for (slot, json) in &rows {
                save.execute(params![id, slot, json, attempt, to_ms(now)]).map_err(db_error)?;
            }
            let mut drop_item = conn.prepare_cached(sql::DROP_JOB_ITEM).map_err(db_error)?;
            for slot in &dropped {
                drop_item.execute(params![id, i64::from(*slot)]).map_err(db_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn load_checkpoint(&self, id: &JobId) -> Result<Vec<CheckpointItem>, StoreError> {
        let id = id.clone();
        let rows: Vec<(i64, String)> = self
            .with_conn(move |conn| {
                conn.prepare_cached(sql::JOB_ITEMS)
                    .and_then(|mut st| {
                        st.query_map(params![id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?.collect()
                    })
                    .map_err(db_error)
            })
            .await?;
        rows.into_iter()
            .map(|(slot, json)| {
                let corrupt = |what: String| StoreError::Corrupt(format!("checkpoint slot {slot}: {what}"));
                Ok(CheckpointItem {
                    slot: u32::try_from(slot).map_err(|e| corrupt(e.to_string()))?,
                    question: serde_json::from_str(&json).map_err(|e| corrupt(e.to_string()))?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::exam::{ExamSpec, ExamType, synthetic_question};
    use crate::queue::{Decision, JobKey, JobState, QueueOptions, Retention};
    use crate::store::{JobStore, sqlite::SqliteOptions};

    async fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("c.db"), SqliteOptions::default()).await.unwrap();
        (dir, store)
    }

    fn items(slots: &[u32], salt: u64) -> Vec<CheckpointItem> {
        let spec = ExamSpec::builtin(ExamType::Diagnostic).slots();
        slots
            .iter()
            .map(|&slot| CheckpointItem {
                slot,
                question: synthetic_question(slot + 1, spec[slot as usize], salt),
            })
            .collect()
    }

    async fn running(store: &SqliteStore, user: &str, now: DateTime<Utc>) -> Job {
        let options = QueueOptions::default();
        let job = store.enqueue(&JobKey::new(user, ExamType::Diagnostic), now, &options).await.unwrap().job;
        store.claim_job(&job.id, "worker-a", now, &options).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn saves_replace_and_drop_slots_and_load_in_slot_order() {
        let (_dir, store) = open().await;
        let now = Utc::now();
        let job = running(&store, "u1", now).await;
        assert!(store.load_checkpoint(&job.id).await.unwrap().is_empty());
        store.save_checkpoint(&job, &items(&[5, 1, 3], 1), &[], now).await.unwrap();
        store.save_checkpoint(&job, &items(&[3], 2), &[1, 40], now).await.unwrap();
        let loaded = store.load_checkpoint(&job.id).await.unwrap();
        assert_eq!(loaded.iter().map(|i| i.slot).collect::<Vec<_>>(), [3, 5]);
        assert_eq!(loaded[0], items(&[3], 2)[0], "the later save replaced slot 3, item for item");
        assert_eq!(loaded[1], items(&[5], 1)[0]);
        store.save_checkpoint(&job, &[], &[], now).await.unwrap();
    }

    #[tokio::test]
    async fn a_save_is_fenced_on_holder_attempt_and_state() {
        let (_dir, store) = open().await;
        let (now, options) = (Utc::now(), QueueOptions::default());
        let job = running(&store, "u2", now).await;
        store.save_checkpoint(&job, &items(&[0], 1), &[], now).await.unwrap();
        let mut stranger = job.clone();
        stranger.lease.as_mut().unwrap().holder = "worker-b".into();
        let mut stale = job.clone();
        stale.attempt -= 1;
        let mut unheld = job.clone();
        unheld.lease = None;
        for wrong in [stranger, stale, unheld] {
            let err = store.save_checkpoint(&wrong, &items(&[1], 1), &[0], now).await.unwrap_err();
            assert!(matches!(err, StoreError::LeaseLost(_)), "{err}");
        }
        // A released job is no longer held by anyone: the old holder's late save is refused, the items it saved
        // before stay for the next attempt, and that attempt (same number again) may add to them.
        store.release_job(&job, now).await.unwrap();
        assert!(matches!(
            store.save_checkpoint(&job, &items(&[2], 1), &[], now).await,
            Err(StoreError::LeaseLost(_))
        ));
        let next = store.claim_job(&job.id, "worker-b", now, &options).await.unwrap().unwrap();
        assert_eq!(next.attempt, job.attempt);
        store.save_checkpoint(&next, &items(&[2], 1), &[], now).await.unwrap();
        let slots: Vec<u32> = store.load_checkpoint(&job.id).await.unwrap().iter().map(|i| i.slot).collect();
        assert_eq!(slots, [0, 2]);
    }

    #[tokio::test]
    async fn a_failed_attempt_keeps_the_checkpoint_and_every_final_state_removes_it() {
        let (_dir, store) = open().await;
        let now = Utc::now();
        let finishes = [JobState::Succeeded, JobState::Dead, JobState::RetryWait];
        for (i, state) in finishes.into_iter().enumerate() {
            let job = running(&store, &format!("f{i}"), now).await;
            store.save_checkpoint(&job, &items(&[0, 1], 1), &[], now).await.unwrap();
            let run_at = (state == JobState::RetryWait).then_some(now + TimeDelta::seconds(5));
            let decision = Decision { state, run_at, last_error: None, decided_at: now };
            store.finish_job(&job, &decision).await.unwrap();
            let kept = store.load_checkpoint(&job.id).await.unwrap().len();
            assert_eq!(kept, if state.is_finished() { 0 } else { 2 }, "{}", state.as_str());
        }
        // Cancelling a waiting job removes its checkpoint too, and so does deleting a finished job.
        let waiting = running(&store, "c1", now).await;
        store.save_checkpoint(&waiting, &items(&[3], 1), &[], now).await.unwrap();
        store.release_job(&waiting, now).await.unwrap();
        assert_eq!(store.load_checkpoint(&waiting.id).await.unwrap().len(), 1, "a release keeps it");
        store.clear_queue(now).await.unwrap();
        assert!(store.load_checkpoint(&waiting.id).await.unwrap().is_empty());
        let exam_job = running(&store, "e1", now).await;
        store.save_checkpoint(&exam_job, &items(&[4], 1), &[], now).await.unwrap();
        let retention = Retention::default();
        store.cleanup_jobs(now + TimeDelta::days(30), &retention, 100).await.unwrap();
        assert_eq!(store.load_checkpoint(&exam_job.id).await.unwrap().len(), 1, "an unfinished job is kept");
        let exam_id = exam_job.id.clone();
        store
            .with_connection(move |conn| {
                conn.execute("DELETE FROM jobs WHERE id = ?1", params![exam_id.as_str()])
                    .map(|_| ())
                    .map_err(db_error)
            })
            .await
            .unwrap();
        assert!(store.load_checkpoint(&exam_job.id).await.unwrap().is_empty(), "deleting the job cascades");
    }
}

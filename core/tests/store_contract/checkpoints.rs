//! Job checkpoints (`store::CheckpointStore`): saved only by the job's current attempt, atomically, read by any
//! later attempt, kept through released and failed attempts, and gone once the job is finished.

use chrono::TimeDelta;
use pregen_core::exam::{ExamType, Question, synthetic_exam};
use pregen_core::queue::{JobError, JobId, Outcome, QueueOptions, decide};
use pregen_core::store::{CheckpointItem, CheckpointStore, JobStore, StoreError};

use super::{Backend, key, t0, tiny_exam_for, tiny_spec};

fn questions() -> Vec<Question> {
    synthetic_exam(&tiny_spec(), 7).questions
}

fn item(slot: u32, question: &Question) -> CheckpointItem {
    CheckpointItem { slot, question: question.clone() }
}

/// A save writes its items by slot (a later save of a slot replaces it, dropped slots go) and any handle reads
/// them back in slot order; an unknown job has none.
pub async fn a_checkpoint_is_saved_replaced_and_read_in_slot_order(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    store.enqueue(&key("c1", ExamType::Practice), t0(), &options).await.unwrap();
    let running = store.claim_jobs("w1", 1, t0(), &options).await.unwrap().remove(0);
    let q = questions();
    store.save_checkpoint(&running, &[item(5, &q[0]), item(2, &q[1]), item(7, &q[2])], &[], t0()).await.unwrap();
    store.save_checkpoint(&running, &[item(5, &q[3])], &[7], t0()).await.unwrap();
    let other = b.open().await;
    assert_eq!(other.load_checkpoint(&running.id).await.unwrap(), [item(2, &q[1]), item(5, &q[3])]);
    assert!(other.load_checkpoint(&JobId("no-such-job".into())).await.unwrap().is_empty());
    assert!(other.load_checkpoint(&JobId(uuid::Uuid::new_v4().to_string())).await.unwrap().is_empty());
}

/// Only the attempt holding the job writes: another holder, an older attempt and a job that is not running are
/// refused with `LeaseLost`, and nothing of theirs is stored.
pub async fn only_the_current_attempt_saves_a_checkpoint(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    store.enqueue(&key("c2", ExamType::Practice), t0(), &options).await.unwrap();
    let first = store.claim_jobs("w1", 1, t0(), &options).await.unwrap().remove(0);
    let q = questions();
    store.save_checkpoint(&first, &[item(0, &q[0])], &[], t0()).await.unwrap();

    let mut impostor = first.clone();
    impostor.lease.as_mut().unwrap().holder = "w2".into();
    let refused = store.save_checkpoint(&impostor, &[item(1, &q[1])], &[0], t0()).await.unwrap_err();
    assert!(matches!(refused, StoreError::LeaseLost(_)), "{refused:?}");

    // The lease lapses; another worker's claim settles the first attempt and takes the job at attempt 2.
    let later = t0() + options.lease_duration + TimeDelta::seconds(1);
    let mut claimed = store.claim_jobs("w2", 1, later, &options).await.unwrap();
    let due = store.get_job(&first.id).await.unwrap().unwrap().run_at.max(later);
    if claimed.is_empty() {
        claimed = store.claim_jobs("w2", 1, due, &options).await.unwrap();
    }
    let second = claimed.remove(0);
    assert_eq!(second.attempt, 2);
    let stale = store.save_checkpoint(&first, &[item(2, &q[2])], &[], due).await.unwrap_err();
    assert!(matches!(stale, StoreError::LeaseLost(_)), "{stale:?}");
    assert_eq!(store.load_checkpoint(&first.id).await.unwrap(), [item(0, &q[0])], "the next attempt reads it");

    store.save_checkpoint(&second, &[item(1, &q[1])], &[], due).await.unwrap();
    let released = store.release_job(&second, due).await.unwrap();
    let not_running = store.save_checkpoint(&released, &[item(3, &q[3])], &[], due).await.unwrap_err();
    assert!(matches!(not_running, StoreError::LeaseLost(_)), "{not_running:?}");
    assert_eq!(store.load_checkpoint(&first.id).await.unwrap(), [item(0, &q[0]), item(1, &q[1])]);
}

/// Released and failed attempts keep the checkpoint; success (the exam stored), death and cancellation remove it.
pub async fn a_checkpoint_lives_as_long_as_its_job_is_unfinished(b: &impl Backend) {
    let store = b.open().await;
    let options = QueueOptions::default();
    let q = questions();

    store.enqueue(&key("c3", ExamType::Diagnostic), t0(), &options).await.unwrap();
    let running = store.claim_jobs("w1", 1, t0(), &options).await.unwrap().remove(0);
    store.save_checkpoint(&running, &[item(0, &q[0])], &[], t0()).await.unwrap();
    let failure =
        Outcome::Failed { error: JobError::new("claude.overloaded", "busy"), retryable: true, retry_after: None };
    let waiting =
        store.finish_job(&running, &decide(&running, &failure, t0(), &options, 0.0).unwrap()).await.unwrap();
    assert_eq!(store.load_checkpoint(&running.id).await.unwrap().len(), 1, "a failed attempt keeps it");
    let running = store.claim_jobs("w1", 1, waiting.run_at, &options).await.unwrap().remove(0);
    let now = waiting.run_at;
    store.complete_job_with_exam(&running, tiny_exam_for(&running, now), now).await.unwrap();
    assert!(store.load_checkpoint(&running.id).await.unwrap().is_empty(), "success removes it");

    store.enqueue(&key("c4", ExamType::Practice), t0(), &options).await.unwrap();
    let running = store.claim_jobs("w1", 1, t0(), &options).await.unwrap().remove(0);
    store.save_checkpoint(&running, &[item(0, &q[0])], &[], t0()).await.unwrap();
    let hopeless = Outcome::Failed {
        error: JobError::new("claude.invalid_request", "bad"),
        retryable: false,
        retry_after: None,
    };
    store.finish_job(&running, &decide(&running, &hopeless, t0(), &options, 0.0).unwrap()).await.unwrap();
    assert!(store.load_checkpoint(&running.id).await.unwrap().is_empty(), "death removes it");

    store.enqueue(&key("c5", ExamType::Practice), t0(), &options).await.unwrap();
    let running = store.claim_jobs("w1", 1, t0(), &options).await.unwrap().remove(0);
    store.save_checkpoint(&running, &[item(0, &q[0])], &[], t0()).await.unwrap();
    store.release_job(&running, t0()).await.unwrap();
    assert_eq!(store.load_checkpoint(&running.id).await.unwrap().len(), 1, "a release keeps it");
    store.clear_queue(t0()).await.unwrap();
    assert!(store.load_checkpoint(&running.id).await.unwrap().is_empty(), "cancellation removes it");
}

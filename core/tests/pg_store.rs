//! The store conformance suite on Postgres: every test runs on a database of its own, created and dropped here.
#![cfg(feature = "postgres")]

mod pg_conformance;
mod pg_support;

use pg_conformance::{Backend, batches, exams, jobs};
use pregen_core::store::postgres::{PgOptions, PgStore};

/// A fresh database; each `open` is a new pool on it, as another process would have.
struct Pg {
    db: pg_support::TestDb,
}

impl Backend for Pg {
    type Store = PgStore;

    async fn open(&self) -> PgStore {
        PgStore::connect(self.db.url(), PgOptions { max_connections: 4, ..PgOptions::default() })
            .await
            .expect("connect the store")
    }
}

async fn pg() -> Pg {
    Pg { db: pg_support::TestDb::create().await }
}

#[tokio::test]
async fn claim_takes_the_newest_unused_unexpired_exam_once() {
    exams::claim_takes_the_newest_unused_unexpired_exam_once(&pg().await).await;
}

#[tokio::test]
async fn exams_stored_at_one_instant_are_claimed_last_stored_first() {
    exams::exams_stored_at_one_instant_are_claimed_last_stored_first(&pg().await).await;
}

#[tokio::test]
async fn an_expired_exam_is_never_served() {
    exams::an_expired_exam_is_never_served(&pg().await).await;
}

#[tokio::test]
async fn invalid_exam_is_refused_and_nothing_is_written() {
    exams::invalid_exam_is_refused_and_nothing_is_written(&pg().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_hand_out_each_exam_once() {
    exams::concurrent_claims_hand_out_each_exam_once(&pg().await).await;
}

#[tokio::test]
async fn planning_returns_exactly_the_pairs_below_target() {
    exams::planning_returns_exactly_the_pairs_below_target(&pg().await).await;
}

#[tokio::test]
async fn planning_matches_the_policy_on_a_hand_built_population() {
    exams::planning_matches_the_policy_on_a_hand_built_population(&pg().await).await;
}

#[tokio::test]
async fn cleanup_deletes_in_batches_and_counts() {
    exams::cleanup_deletes_in_batches_and_counts(&pg().await).await;
}

#[tokio::test]
async fn analytics_match_a_hand_computed_fixture() {
    exams::analytics_match_a_hand_computed_fixture(&pg().await).await;
}

#[tokio::test]
async fn activity_keeps_the_latest_sighting() {
    exams::activity_keeps_the_latest_sighting(&pg().await).await;
}

#[tokio::test]
async fn generation_figures_and_get_outcomes_add_up() {
    exams::generation_figures_and_get_outcomes_add_up(&pg().await).await;
}

#[tokio::test]
async fn a_second_handle_sees_the_same_store() {
    exams::a_second_handle_sees_the_same_store(&pg().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_enqueues_of_one_key_give_one_job() {
    jobs::a_hundred_concurrent_enqueues_of_one_key_give_one_job(&pg().await).await;
}

#[tokio::test]
async fn enqueue_many_creates_missing_keys_and_returns_held_ones() {
    jobs::enqueue_many_creates_missing_keys_and_returns_held_ones(&pg().await).await;
}

#[tokio::test]
async fn retries_follow_the_backoff_on_a_test_clock_until_dead() {
    jobs::retries_follow_the_backoff_on_a_test_clock_until_dead(&pg().await).await;
}

#[tokio::test]
async fn a_longer_retry_after_wins_and_a_non_retryable_error_is_final() {
    jobs::a_longer_retry_after_wins_and_a_non_retryable_error_is_final(&pg().await).await;
}

#[tokio::test]
async fn the_claim_statement_is_the_pure_start_transition() {
    jobs::the_claim_statement_is_the_pure_start_transition(&pg().await).await;
}

#[tokio::test]
async fn claims_take_due_jobs_oldest_first_up_to_the_limit() {
    jobs::claims_take_due_jobs_oldest_first_up_to_the_limit(&pg().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_job_claims_take_each_job_once() {
    jobs::concurrent_job_claims_take_each_job_once(&pg().await).await;
}

#[tokio::test]
async fn a_stale_lease_is_fenced_out_and_its_job_taken_over() {
    jobs::a_stale_lease_is_fenced_out_and_its_job_taken_over(&pg().await).await;
}

#[tokio::test]
async fn unknown_job_ids_name_nothing() {
    jobs::unknown_job_ids_name_nothing(&pg().await).await;
}

#[tokio::test]
async fn a_passed_deadline_is_recorded_as_a_timeout() {
    jobs::a_passed_deadline_is_recorded_as_a_timeout(&pg().await).await;
}

#[tokio::test]
async fn release_returns_the_job_at_once_without_spending_the_attempt() {
    jobs::release_returns_the_job_at_once_without_spending_the_attempt(&pg().await).await;
}

#[tokio::test]
async fn status_clear_and_retention() {
    jobs::status_clear_and_retention(&pg().await).await;
}

#[tokio::test]
async fn bad_keys_are_refused_before_anything_is_written() {
    jobs::bad_keys_are_refused_before_anything_is_written(&pg().await).await;
}

#[tokio::test]
async fn a_batch_is_held_by_one_collector_until_released() {
    batches::a_batch_is_held_by_one_collector_until_released(&pg().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_collectors_take_each_batch_once() {
    batches::racing_collectors_take_each_batch_once(&pg().await).await;
}

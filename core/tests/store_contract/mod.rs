//! The store conformance suite, written against any backend: each test is a generic function taking a
//! [`Backend`] that opens handles on one fresh database, and [`store_contract_tests!`] turns all of them into
//! tests of one backend. `pg_store.rs` runs them on Postgres, `sqlite_contract.rs` on SQLite: a behaviour one
//! backend has and the other lacks is a failing test.
#![allow(dead_code, unreachable_pub)]

pub mod bank;
pub mod batches;
pub mod checkpoints;
pub mod exams;
pub mod jobs;

use std::future::Future;

use chrono::{DateTime, Utc};
use pregen_core::exam::{Allocation, ExamSpec, ExamType, synthetic_exam};
use pregen_core::policy::Policy;
use pregen_core::queue::{Job, JobKey};
use pregen_core::store::{BankStore, NewExam, Store, UserId};

/// One fresh database of a backend.
pub trait Backend {
    /// The store type.
    type Store: Store + BankStore + Clone + 'static;
    /// Opens another handle on the same database (its own connections), as another process would.
    fn open(&self) -> impl Future<Output = Self::Store>;
}

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&Utc)
}

/// One item per domain: valid, and small enough to store thousands quickly.
pub fn tiny_spec() -> ExamSpec {
    ExamSpec { name: "tiny".into(), item_count: 8, scored_count: 8, allocation: Allocation::WeightedByDomain }
}

pub fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

pub fn new_exam(user_id: &str, exam_type: ExamType, created_at: DateTime<Utc>, seed: u64) -> NewExam {
    let spec = tiny_spec();
    NewExam::new(user(user_id), exam_type, synthetic_exam(&spec, seed), &spec, created_at, &Policy::default())
        .unwrap()
}

pub fn key(user: &str, exam_type: ExamType) -> JobKey {
    JobKey::new(user, exam_type)
}

/// A tiny valid exam for `job`'s key.
pub fn tiny_exam_for(job: &Job, now: DateTime<Utc>) -> NewExam {
    new_exam(&job.key.user_id, job.key.exam_type, now, 1)
}

/// Every test of the suite as `#[tokio::test]` functions in the calling test crate, each on a fresh database
/// from `$backend` (an expression of a [`Backend`], awaited inside each test). Each backend's test file calls it
/// once, so a test added here runs on every backend.
#[macro_export]
macro_rules! store_contract_tests {
    ($backend:expr) => {
        #[tokio::test]
        async fn claim_takes_the_newest_unused_unexpired_exam_once() {
            $crate::store_contract::exams::claim_takes_the_newest_unused_unexpired_exam_once(&$backend).await;
        }

        #[tokio::test]
        async fn stock_counts_up_to_the_target() {
            $crate::store_contract::exams::stock_counts_up_to_the_target(&$backend).await;
        }

        #[tokio::test]
        async fn exams_stored_at_one_instant_are_claimed_last_stored_first() {
            $crate::store_contract::exams::exams_stored_at_one_instant_are_claimed_last_stored_first(&$backend)
                .await;
        }

        #[tokio::test]
        async fn an_expired_exam_is_never_served() {
            $crate::store_contract::exams::an_expired_exam_is_never_served(&$backend).await;
        }

        #[tokio::test]
        async fn invalid_exam_is_refused_and_nothing_is_written() {
            $crate::store_contract::exams::invalid_exam_is_refused_and_nothing_is_written(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn concurrent_claims_hand_out_each_exam_once() {
            $crate::store_contract::exams::concurrent_claims_hand_out_each_exam_once(&$backend).await;
        }

        #[tokio::test]
        async fn planning_returns_exactly_the_pairs_below_target() {
            $crate::store_contract::exams::planning_returns_exactly_the_pairs_below_target(&$backend).await;
        }

        #[tokio::test]
        async fn planning_matches_the_policy_on_a_hand_built_population() {
            $crate::store_contract::exams::planning_matches_the_policy_on_a_hand_built_population(&$backend).await;
        }

        #[tokio::test]
        async fn cleanup_deletes_in_batches_and_counts() {
            $crate::store_contract::exams::cleanup_deletes_in_batches_and_counts(&$backend).await;
        }

        #[tokio::test]
        async fn analytics_match_a_hand_computed_fixture() {
            $crate::store_contract::exams::analytics_match_a_hand_computed_fixture(&$backend).await;
        }

        #[tokio::test]
        async fn activity_keeps_the_latest_sighting() {
            $crate::store_contract::exams::activity_keeps_the_latest_sighting(&$backend).await;
        }

        #[tokio::test]
        async fn generation_figures_and_get_outcomes_add_up() {
            $crate::store_contract::exams::generation_figures_and_get_outcomes_add_up(&$backend).await;
        }

        #[tokio::test]
        async fn a_second_handle_sees_the_same_store() {
            $crate::store_contract::exams::a_second_handle_sees_the_same_store(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_enqueues_keep_each_callers_settings() {
            $crate::store_contract::jobs::concurrent_enqueues_keep_each_callers_settings(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn a_hundred_concurrent_enqueues_of_one_key_give_one_job() {
            $crate::store_contract::jobs::a_hundred_concurrent_enqueues_of_one_key_give_one_job(&$backend).await;
        }

        #[tokio::test]
        async fn enqueue_many_creates_missing_keys_and_returns_held_ones() {
            $crate::store_contract::jobs::enqueue_many_creates_missing_keys_and_returns_held_ones(&$backend).await;
        }

        #[tokio::test]
        async fn retries_follow_the_backoff_on_a_test_clock_until_dead() {
            $crate::store_contract::jobs::retries_follow_the_backoff_on_a_test_clock_until_dead(&$backend).await;
        }

        #[tokio::test]
        async fn a_longer_retry_after_wins_and_a_non_retryable_error_is_final() {
            $crate::store_contract::jobs::a_longer_retry_after_wins_and_a_non_retryable_error_is_final(&$backend)
                .await;
        }

        #[tokio::test]
        async fn the_claim_statement_is_the_pure_start_transition() {
            $crate::store_contract::jobs::the_claim_statement_is_the_pure_start_transition(&$backend).await;
        }

        #[tokio::test]
        async fn claims_take_due_jobs_oldest_first_up_to_the_limit() {
            $crate::store_contract::jobs::claims_take_due_jobs_oldest_first_up_to_the_limit(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn concurrent_job_claims_take_each_job_once() {
            $crate::store_contract::jobs::concurrent_job_claims_take_each_job_once(&$backend).await;
        }

        #[tokio::test]
        async fn a_stale_lease_is_fenced_out_and_its_job_taken_over() {
            $crate::store_contract::jobs::a_stale_lease_is_fenced_out_and_its_job_taken_over(&$backend).await;
        }

        #[tokio::test]
        async fn unknown_job_ids_name_nothing() {
            $crate::store_contract::jobs::unknown_job_ids_name_nothing(&$backend).await;
        }

        #[tokio::test]
        async fn a_passed_deadline_is_recorded_as_a_timeout() {
            $crate::store_contract::jobs::a_passed_deadline_is_recorded_as_a_timeout(&$backend).await;
        }

        #[tokio::test]
        async fn release_returns_the_job_at_once_without_spending_the_attempt() {
            $crate::store_contract::jobs::release_returns_the_job_at_once_without_spending_the_attempt(&$backend)
                .await;
        }

        #[tokio::test]
        async fn status_clear_and_retention() {
            $crate::store_contract::jobs::status_clear_and_retention(&$backend).await;
        }

        #[tokio::test]
        async fn bad_keys_are_refused_before_anything_is_written() {
            $crate::store_contract::jobs::bad_keys_are_refused_before_anything_is_written(&$backend).await;
        }

        #[tokio::test]
        async fn a_batch_is_held_by_one_collector_until_released() {
            $crate::store_contract::batches::a_batch_is_held_by_one_collector_until_released(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn racing_collectors_take_each_batch_once() {
            $crate::store_contract::batches::racing_collectors_take_each_batch_once(&$backend).await;
        }

        #[tokio::test]
        async fn a_checkpoint_is_saved_replaced_and_read_in_slot_order() {
            $crate::store_contract::checkpoints::a_checkpoint_is_saved_replaced_and_read_in_slot_order(&$backend)
                .await;
        }

        #[tokio::test]
        async fn only_the_current_attempt_saves_a_checkpoint() {
            $crate::store_contract::checkpoints::only_the_current_attempt_saves_a_checkpoint(&$backend).await;
        }

        #[tokio::test]
        async fn a_checkpoint_lives_as_long_as_its_job_is_unfinished() {
            $crate::store_contract::checkpoints::a_checkpoint_lives_as_long_as_its_job_is_unfinished(&$backend)
                .await;
        }

        #[tokio::test]
        async fn the_bank_passes_the_conformance_checks() {
            $crate::store_contract::bank::the_bank_passes_the_conformance_checks(&$backend).await;
        }

        #[tokio::test]
        async fn bank_planning_agrees_with_a_population_computed_by_hand() {
            $crate::store_contract::bank::planning_agrees_with_a_population_computed_by_hand(&$backend).await;
        }

        #[tokio::test]
        async fn content_a_user_saw_is_never_assigned_again_after_its_exam_was_deleted() {
            $crate::store_contract::bank::content_a_user_saw_is_never_assigned_again_after_its_exam_was_deleted(
                &$backend,
            )
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn concurrent_gets_from_many_handles_never_repeat_an_exam_to_a_user() {
            $crate::store_contract::bank::concurrent_gets_from_many_handles_never_repeat_an_exam_to_a_user(
                &$backend,
            )
            .await;
        }

        #[tokio::test]
        async fn bank_analytics_match_a_bank_computed_by_hand() {
            $crate::store_contract::bank::bank_analytics_match_a_bank_computed_by_hand(&$backend).await;
        }

        #[tokio::test]
        async fn a_retry_after_in_the_year_9999_parks_the_job_only_until_the_cap() {
            $crate::store_contract::jobs::a_retry_after_in_the_year_9999_parks_the_job_only_until_the_cap(
                &$backend,
            )
            .await;
        }
        #[tokio::test]
        async fn claiming_a_job_by_name_settles_it_when_its_holder_went_silent() {
            $crate::store_contract::jobs::claiming_a_job_by_name_settles_it_when_its_holder_went_silent(&$backend)
                .await;
        }
        #[tokio::test]
        async fn releases_are_counted_in_the_store_and_bounded() {
            $crate::store_contract::jobs::releases_are_counted_in_the_store_and_bounded(&$backend).await;
        }
        #[tokio::test]
        async fn the_job_store_agrees_with_the_pure_transitions() {
            let backend = $backend;
            let store = $crate::store_contract::Backend::open(&backend).await;
            let done =
                pregen_core::store::conformance::check_job_store(&store).await.unwrap_or_else(|d| panic!("{d}"));
            assert!(done.sequences >= 15 && done.steps >= 100, "{done:?}");
        }
    };
}

//! Shared fixtures for the cross-crate tests and their helper processes.

use chrono::{DateTime, Utc};
use pregen_core::exam::{Allocation, ExamSpec, ExamType, synthetic_exam};
use pregen_core::policy::Policy;
use pregen_core::store::{NewExam, UserId};

/// One item per domain: a valid exam small enough to store thousands of quickly.
pub fn tiny_spec() -> ExamSpec {
    ExamSpec { name: "tiny".into(), item_count: 8, scored_count: 8, allocation: Allocation::WeightedByDomain }
}

/// A valid tiny exam for `user`, created at `created_at`, worded by `seed`.
pub fn tiny_exam(user: &str, exam_type: ExamType, created_at: DateTime<Utc>, seed: u64) -> NewExam {
    let spec = tiny_spec();
    let user = UserId::parse(user).expect("fixture user ids are valid");
    NewExam::new(user, exam_type, synthetic_exam(&spec, seed), &spec, created_at, &Policy::default())
        .expect("synthetic exams are valid")
}

//! The store conformance suite, written against any backend: each test is a generic function taking a
//! [`Backend`] that opens handles on one fresh database. Today it runs on Postgres (`pg_store.rs`); the SQLite
//! tests will move here so both backends pass the same functions.
#![allow(dead_code, unreachable_pub)]

pub mod batches;
pub mod exams;
pub mod jobs;

use std::future::Future;

use chrono::{DateTime, Utc};
use pregen_core::exam::{Allocation, ExamSpec, ExamType, synthetic_exam};
use pregen_core::policy::Policy;
use pregen_core::queue::{Job, JobKey};
use pregen_core::store::{NewExam, Store, UserId};

/// One fresh database of a backend.
pub trait Backend {
    /// The store type.
    type Store: Store + Clone + 'static;
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

//! What a job makes: an exam for its user, or a shared exam for the bank (a job keyed `@bank/<slot>`). The
//! handler and the batch path both ask whether the job's exam is still needed and build what is stored through
//! this one place.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::exam::{Exam, ExamSpec, ExamType};
use crate::policy::{BankPolicy, Policy};
use crate::queue::Job;
use crate::store::{BankSource, ExamStore, GenerationStats, JobStore, NewBankExam, NewExam, StoreError, UserId};
use crate::worker::HandlerOutput;

/// Whom a job's exam is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JobTarget {
    /// The user of a user job.
    User(UserId),
    /// The shared bank.
    Bank,
}

impl fmt::Display for JobTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobTarget::User(user) => write!(f, "{user}"),
            JobTarget::Bank => f.write_str("the bank"),
        }
    }
}

impl JobTarget {
    /// The target of `job`: the bank for a bank key, else its user (a bad user id is `store.invalid_input`).
    pub(crate) fn of(job: &Job) -> Result<Self, StoreError> {
        if job.key.is_bank() { Ok(JobTarget::Bank) } else { UserId::parse(&job.key.user_id).map(JobTarget::User) }
    }

    /// Whether an exam of `exam_type` is still wanted at `now`: the user's stock is below target, or the bank's
    /// planning finds the type short. Overlapping jobs that find it met generate nothing.
    pub(crate) async fn still_needed(
        &self,
        store: &dyn ExamStore,
        exam_type: ExamType,
        now: DateTime<Utc>,
        policy: &Policy,
        bank: &BankPolicy,
    ) -> Result<bool, StoreError> {
        match self {
            JobTarget::User(user) => Ok(policy.missing(store.stock(user, exam_type, now, policy).await?) > 0),
            JobTarget::Bank => {
                let bank_store =
                    store.bank().ok_or_else(|| StoreError::Unsupported("this backend has no exam bank".into()))?;
                let plans = bank_store.plan_bank(now, policy, bank).await?;
                Ok(plans.iter().any(|p| p.exam_type == exam_type && p.needed > 0))
            }
        }
    }

    /// The validated exam to store for this target, with its generation figures.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn output(
        self,
        exam_type: ExamType,
        exam: Exam,
        spec: &ExamSpec,
        now: DateTime<Utc>,
        policy: &Policy,
        bank: &BankPolicy,
        stats: GenerationStats,
    ) -> Result<Made, StoreError> {
        Ok(match self {
            JobTarget::User(user) => Made::User(Box::new(
                NewExam::new(user, exam_type, exam, spec, now, policy)?.with_generation(stats),
            )),
            JobTarget::Bank => Made::Bank(Box::new(
                NewBankExam::new(exam_type, exam, spec, BankSource::Generated, now, bank)?.with_generation(stats),
            )),
        })
    }
}

/// A job's validated exam, ready to be stored with the job's completion.
#[derive(Debug)]
pub(crate) enum Made {
    /// A user's exam.
    User(Box<NewExam>),
    /// A shared bank exam.
    Bank(Box<NewBankExam>),
}

impl Made {
    /// What a worker's handler returns for it.
    pub(crate) fn into_output(self) -> HandlerOutput {
        match self {
            Made::User(exam) => HandlerOutput::Exam(exam),
            Made::Bank(exam) => HandlerOutput::BankExam(exam),
        }
    }

    /// Stores it and marks `job` succeeded in one transaction (fenced); returns the job and the exam's id.
    pub(crate) async fn complete(
        self,
        store: &dyn JobStore,
        job: &Job,
        now: DateTime<Utc>,
    ) -> Result<(Job, String), StoreError> {
        match self {
            Made::User(exam) => store.complete_job_with_exam(job, *exam, now).await,
            Made::Bank(exam) => store.complete_job_with_bank_exam(job, *exam, now).await,
        }
    }
}

//! Batch mode: a sweep claims due jobs and sends all their first-round chunks as one Message Batch (half
//! price); a later call, in any process, collects the results, repairs what is missing directly, and stores
//! each exam with its job's completion. The batch and its plan live in the store; the jobs stay held by the
//! batch's lease holder, with a lease long enough for the API's 24-hour window.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::assemble::{Draft, plan_chunks};
use super::handler::{seed_for, stats_from};
use super::target::JobTarget;
use super::{GenerateError, Generator};
use crate::claude::{BatchRequest, BatchResult, BatchStatus, StopReason, UsageTotals};
use crate::error::ErrorCode;
use crate::exam::ExamType;
use crate::policy::{BankPolicy, Policy};
use crate::prompt::TOOL_NAME;
use crate::queue::{Job, JobId, JobState, Outcome, QueueOptions, decide};
use crate::store::{BatchRecord, Store, StoreError};

/// How long jobs sent in a batch stay held: the API's 24 hours to process, plus an hour to collect.
pub const BATCH_LEASE: TimeDelta = TimeDelta::hours(25);

/// How long one collector holds the open batches it is checking.
const COLLECT_HOLD: TimeDelta = TimeDelta::minutes(15);

/// What a batch holds: for each job, its exam type, seed and number of chunks (custom ids `j{job}-c{chunk}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchPlan {
    /// Items per chunk when the batch was planned.
    pub items_per_chunk: usize,
    /// The jobs, in custom-id order.
    pub jobs: Vec<PlannedJob>,
}

/// One job of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedJob {
    /// The job's id.
    pub job_id: String,
    /// What it generates.
    pub exam_type: ExamType,
    /// The attempt's seed.
    pub seed: u64,
    /// Chunks sent for it.
    pub chunks: usize,
}

/// A batch sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSubmission {
    /// The API's batch id.
    pub batch_id: String,
    /// Jobs in it.
    pub jobs: usize,
    /// Requests in it.
    pub requests: usize,
    /// Jobs claimed but not sent because their user's stock was already full (marked succeeded).
    pub already_stocked: usize,
}

/// What a collection did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectReport {
    /// Open batches looked at.
    pub checked: u64,
    /// Batches finished and collected.
    pub collected: u64,
    /// Exams stored.
    pub exams: u64,
    /// Jobs whose exam could not be finished (they wait for a retry or are dead).
    pub failed: u64,
    /// Tokens and cost of the batch results and the repairs.
    pub usage: UsageTotals,
}

/// A collected job: its exam id, or the error code it failed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectedJob {
    /// Stored as this exam.
    Stored(String),
    /// Failed with this code.
    Failed(String),
    /// No longer held by the batch (taken over or finished elsewhere); nothing written.
    Skipped,
}

fn custom_id(job: usize, chunk: usize) -> String {
    format!("j{job}-c{chunk}")
}

/// The first round's chunks of a job, exactly as [`Generator::generate`] would plan them.
fn first_round(generator: &Generator, exam_type: ExamType, seed: u64, per_chunk: usize) -> Vec<super::ChunkPlan> {
    let slots = generator.config().spec(exam_type).slots();
    let all: Vec<usize> = (0..slots.len()).collect();
    plan_chunks(&slots, &all, per_chunk, seed ^ (1 << 48))
}

impl Generator {
    /// Claims up to `max_jobs` due jobs and sends their first-round chunks as one batch. `None` when nothing was
    /// due (or every claimed job's stock was already full). On a failed submission the jobs are handed back.
    pub async fn submit_batch(
        &self,
        store: &dyn Store,
        policy: &Policy,
        bank: &BankPolicy,
        options: &QueueOptions,
        max_jobs: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<BatchSubmission>, GenerateError> {
        let holder = format!("batch:{}", uuid::Uuid::new_v4().simple());
        let mut held = *options;
        held.lease_duration = BATCH_LEASE;
        held.attempt_timeouts.diagnostic = BATCH_LEASE;
        held.attempt_timeouts.practice = BATCH_LEASE;
        let jobs = store.claim_jobs(&holder, max_jobs, now, &held).await.map_err(store_error)?;
        let per_chunk = self.config().items_per_chunk;
        let mut plan = BatchPlan { items_per_chunk: per_chunk, jobs: Vec::new() };
        let (mut requests, mut sent_jobs, mut already_stocked) = (Vec::new(), Vec::new(), 0);
        for job in jobs {
            let target = JobTarget::of(&job).map_err(store_error)?;
            let needed =
                target.still_needed(store, job.key.exam_type, now, policy, bank).await.map_err(store_error)?;
            if !needed {
                let done = decide(&job, &Outcome::Succeeded, now, options, 0.0).map_err(queue_error)?;
                store.finish_job(&job, &done).await.map_err(store_error)?;
                already_stocked += 1;
                continue;
            }
            let seed = seed_for(&job);
            let chunks = first_round(self, job.key.exam_type, seed, per_chunk);
            let index = plan.jobs.len();
            for (c, chunk) in chunks.iter().enumerate() {
                requests.push(BatchRequest {
                    custom_id: custom_id(index, c),
                    params: self.request(job.key.exam_type, chunk),
                });
            }
            plan.jobs.push(PlannedJob {
                job_id: job.id.0.clone(),
                exam_type: job.key.exam_type,
                seed,
                chunks: chunks.len(),
            });
            sent_jobs.push(job);
        }
        if requests.is_empty() {
            return Ok(None);
        }
        let batch = match self.client().create_batch(&requests).await {
            Ok(batch) => batch,
            Err(e) => {
                for job in &sent_jobs {
                    if let Err(released) = store.release_job(job, now).await {
                        tracing::warn!("[Cron] job {} stays held until its lease expires: {released}", job.id);
                    }
                }
                return Err(GenerateError::Api(e));
            }
        };
        let record = BatchRecord {
            id: batch.id.clone(),
            holder,
            plan: serde_json::to_string(&plan).map_err(|e| GenerateError::Config(e.to_string()))?,
            request_count: u32::try_from(requests.len()).unwrap_or(u32::MAX),
            submitted_at: now,
        };
        store.record_batch(&record).await.map_err(store_error)?;
        tracing::info!(
            "[Cron] submitted batch {} with {} requests for {} jobs",
            batch.id,
            requests.len(),
            sent_jobs.len()
        );
        Ok(Some(BatchSubmission {
            batch_id: batch.id,
            jobs: sent_jobs.len(),
            requests: requests.len(),
            already_stocked,
        }))
    }

    /// Collects every open batch that has ended: each job's exam is finished (repairing refused, errored or
    /// expired items directly) and stored with the job's completion; batches still in progress stay open.
    pub async fn collect_batches(
        &self,
        store: &dyn Store,
        policy: &Policy,
        bank: &BankPolicy,
        options: &QueueOptions,
        now: DateTime<Utc>,
    ) -> Result<CollectReport, GenerateError> {
        let collector = format!("collect:{}", uuid::Uuid::new_v4().simple());
        let open = store.claim_open_batches(&collector, now, now + COLLECT_HOLD).await.map_err(store_error)?;
        let mut report = CollectReport::default();
        for record in open {
            report.checked += 1;
            let collected = match self.collect_one(store, (policy, bank), options, &record, now, &mut report).await
            {
                Ok(done) => done,
                Err(e) => {
                    tracing::warn!("[Cron] batch {} could not be collected yet: {e}", record.id);
                    false
                }
            };
            report.collected += u64::from(collected);
            store.release_batch(&record.id, &collector, collected, now).await.map_err(store_error)?;
        }
        Ok(report)
    }

    async fn collect_one(
        &self,
        store: &dyn Store,
        rules: (&Policy, &BankPolicy),
        options: &QueueOptions,
        record: &BatchRecord,
        now: DateTime<Utc>,
        report: &mut CollectReport,
    ) -> Result<bool, GenerateError> {
        let batch = self.client().retrieve_batch(&record.id).await?;
        if batch.processing_status != BatchStatus::Ended {
            return Ok(false);
        }
        let mut results: HashMap<String, BatchResult> =
            self.client().batch_results(&batch).await?.into_iter().map(|l| (l.custom_id, l.result)).collect();
        let plan: BatchPlan =
            serde_json::from_str(&record.plan).map_err(|e| GenerateError::Config(format!("batch plan: {e}")))?;
        for (index, planned) in plan.jobs.iter().enumerate() {
            let outcome = self
                .collect_job(store, rules, options, record, &plan, index, planned, &mut results, now, report)
                .await?;
            match outcome {
                CollectedJob::Stored(_) => report.exams += 1,
                CollectedJob::Failed(_) => report.failed += 1,
                CollectedJob::Skipped => {}
            }
        }
        tracing::info!("[Cron] collected batch {}: {} jobs", record.id, plan.jobs.len());
        Ok(true)
    }

    #[allow(clippy::too_many_arguments)]
    async fn collect_job(
        &self,
        store: &dyn Store,
        (policy, bank): (&Policy, &BankPolicy),
        options: &QueueOptions,
        record: &BatchRecord,
        plan: &BatchPlan,
        index: usize,
        planned: &PlannedJob,
        results: &mut HashMap<String, BatchResult>,
        now: DateTime<Utc>,
        report: &mut CollectReport,
    ) -> Result<CollectedJob, GenerateError> {
        let job = store.get_job(&JobId(planned.job_id.clone())).await.map_err(store_error)?;
        let Some(job) = job.filter(|j| held_by(j, &record.holder)) else {
            return Ok(CollectedJob::Skipped);
        };
        let exam_type = planned.exam_type;
        let model = self.config().model(exam_type).to_owned();
        let mut draft = Draft::new(self.config().spec(exam_type));
        let mut usage = UsageTotals::default();
        let chunks = first_round(self, exam_type, planned.seed, plan.items_per_chunk);
        for (c, chunk) in chunks.iter().enumerate() {
            match results.remove(&custom_id(index, c)) {
                Some(BatchResult::Succeeded(message)) => {
                    usage.record(self.client().prices(), &model, &message.usage, true);
                    if message.stop_reason == StopReason::MaxTokens {
                        draft.note("max_tokens", 1);
                    }
                    draft.accept(chunk, message.tool_input(TOOL_NAME));
                }
                Some(BatchResult::Errored { error_type, .. }) => {
                    draft.note(&format!("batch.errored.{error_type}"), chunk.slots.len())
                }
                Some(BatchResult::Expired) => draft.note("batch.expired", chunk.slots.len()),
                Some(BatchResult::Canceled) => draft.note("batch.canceled", chunk.slots.len()),
                Some(BatchResult::Unknown(_)) | None => draft.note("batch.missing", chunk.slots.len()),
            }
        }
        let finished = match self.fill(exam_type, &mut draft, planned.seed, 1, &mut usage, None).await {
            Ok(rounds) => draft.finish(self.config().spec(exam_type), planned.seed, rounds),
            Err(e) => Err(e),
        };
        report.usage.merge(&usage);
        let target = JobTarget::of(&job).map_err(store_error)?;
        let written = match finished {
            Ok(exam) => {
                let stats = stats_from(&usage, true, &job);
                let spec = self.config().spec(exam_type);
                let made = target.output(exam_type, exam, spec, now, policy, bank, stats).map_err(store_error)?;
                made.complete(store, &job, now).await.map(|(_, id)| CollectedJob::Stored(id))
            }
            Err(e) => {
                let failure = Outcome::Failed {
                    error: crate::queue::JobError::from_error(&e),
                    retryable: e.is_retryable(),
                    retry_after: e.retry_after().and_then(|d| TimeDelta::from_std(d).ok()),
                };
                let decision = decide(&job, &failure, now, options, rand::random::<f64>()).map_err(queue_error)?;
                store.finish_job(&job, &decision).await.map(|_| CollectedJob::Failed(e.code().to_owned()))
            }
        };
        match written {
            Ok(done) => Ok(done),
            Err(StoreError::LeaseLost(_)) => Ok(CollectedJob::Skipped),
            Err(e) => Err(store_error(e)),
        }
    }
}

fn held_by(job: &Job, holder: &str) -> bool {
    job.state == JobState::Running && job.lease.as_ref().is_some_and(|l| l.holder == holder)
}

fn store_error(e: StoreError) -> GenerateError {
    GenerateError::Store(e)
}

fn queue_error(e: crate::queue::QueueError) -> GenerateError {
    GenerateError::Config(e.to_string())
}

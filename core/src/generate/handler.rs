//! The generator as the queue's job handler: checks the stock first (so overlapping triggers and sweeps never
//! make a second exam), generates, and hands the exam back to be stored with the job's completion in one
//! transaction.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::TimeDelta;

use super::target::JobTarget;
use super::{Checkpoint, Generator};
use crate::claude::UsageTotals;
use crate::clock::Clock;
use crate::policy::{BankPolicy, Policy};
use crate::queue::Job;
use crate::store::{CheckpointStore, ExamStore, GenerationStats, TokenTotals};
use crate::worker::{HandlerError, HandlerOutput, JobContext, JobHandler};

/// Generates the exam a job asks for, resuming from the job's checkpoint when it has a checkpoint store.
pub struct GenerateHandler {
    generator: Arc<Generator>,
    exams: Arc<dyn ExamStore>,
    checkpoints: Option<Arc<dyn CheckpointStore>>,
    policy: Policy,
    bank: BankPolicy,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for GenerateHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerateHandler")
            .field("policy", &self.policy)
            .field("checkpoints", &self.checkpoints.is_some())
            .finish_non_exhaustive()
    }
}

impl GenerateHandler {
    /// A handler that generates with `generator` and checks stock in `exams` under `policy`. Each attempt starts
    /// from nothing until [`GenerateHandler::with_checkpoints`] gives it somewhere to keep its progress.
    pub fn new(
        generator: Arc<Generator>,
        exams: Arc<dyn ExamStore>,
        policy: Policy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { generator, exams, checkpoints: None, policy, bank: BankPolicy::default(), clock }
    }

    /// The same handler under the bank's rules `bank` (bank jobs check the bank's need and store shared exams
    /// that retire by them); [`BankPolicy::default`] until given.
    pub fn with_bank(mut self, bank: BankPolicy) -> Self {
        self.bank = bank;
        self
    }

    /// The same handler keeping each job's accepted items in `store`, so a job's next attempt (in any process
    /// sharing the store) asks only for what is still missing.
    pub fn with_checkpoints(mut self, store: Arc<dyn CheckpointStore>) -> Self {
        self.checkpoints = Some(store);
        self
    }
}

/// A seed for one attempt of a job: stable for the attempt, different for the next.
pub(crate) fn seed_for(job: &Job) -> u64 {
    let mut h = DefaultHasher::new();
    job.id.as_str().hash(&mut h);
    job.attempt.hash(&mut h);
    h.finish()
}

/// The generation figures stored with an exam.
pub(crate) fn stats_from(usage: &UsageTotals, batch: bool, job: &Job) -> GenerationStats {
    GenerationStats {
        tokens: TokenTotals {
            requests: usage.requests,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_write_tokens: usage.cache_creation_input_tokens,
            cache_read_tokens: usage.cache_read_input_tokens,
            cost_usd: usage.cost.total_usd,
        },
        batch,
        requested_at: Some(job.created_at),
    }
}

fn bad_input(e: &crate::store::StoreError) -> HandlerError {
    HandlerError { retryable: false, ..HandlerError::from_error(e) }
}

#[async_trait]
impl JobHandler for GenerateHandler {
    async fn handle(&self, job: Job, _ctx: JobContext) -> Result<HandlerOutput, HandlerError> {
        let target = JobTarget::of(&job).map_err(|e| bad_input(&e))?;
        let exam_type = job.key.exam_type;
        let needed = target
            .still_needed(self.exams.as_ref(), exam_type, self.clock.now(), &self.policy, &self.bank)
            .await
            .map_err(|e| HandlerError::from_error(&e))?;
        if !needed {
            tracing::debug!("[Pre-Gen] {target} already has a ready {exam_type} exam; nothing to generate");
            return Ok(HandlerOutput::Nothing);
        }
        let seed = seed_for(&job);
        let generated = match &self.checkpoints {
            Some(store) => {
                let checkpoint = Checkpoint { store: store.as_ref(), job: &job, clock: self.clock.as_ref() };
                self.generator.generate_resuming(exam_type, seed, checkpoint).await
            }
            None => self.generator.generate(exam_type, seed).await,
        };
        let generated = generated.map_err(|e| {
            let wait = e.retry_after().and_then(|d| TimeDelta::from_std(d).ok());
            HandlerError::from_error(&e).with_retry_after(wait)
        })?;
        tracing::debug!(
            "[Pre-Gen] generated a {exam_type} exam for {target}: {} items ({} from earlier attempts), {} requests, \
             {} rounds, ${:.4}",
            generated.exam.questions.len(),
            generated.resumed,
            generated.usage.requests,
            generated.rounds,
            generated.usage.cost.total_usd
        );
        let spec = self.generator.config().spec(exam_type);
        let stats = stats_from(&generated.usage, false, &job);
        target
            .output(exam_type, generated.exam, spec, self.clock.now(), &self.policy, &self.bank, stats)
            .map(super::target::Made::into_output)
            .map_err(|e| bad_input(&e))
    }
}

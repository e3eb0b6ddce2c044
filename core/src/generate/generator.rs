//! The generator proper: requests for each round's chunks sent concurrently through the Claude client, drafts
//! accepted into a [`Draft`], repair rounds for items refused, missing or sent back for the answer-length cue,
//! usage summed per exam, and, for a queued job, its accepted items saved as they arrive (its checkpoint) so the
//! next attempt resumes from them.
//!
//! A request that fails in a way its own retries could not fix ends the attempt at once, with the rest of the
//! attempt's requests cancelled: repair rounds are for refused or missing items, and the job queue's backoff (with
//! the server's retry-after) is the place to wait out an outage. So a failed attempt sends at most
//! chunks x (1 + client retries) requests.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::Value;

use super::assemble::{ChunkPlan, Draft, plan_chunks};
use super::{GenerateError, GeneratorConfig};
use crate::claude::{
    ClaudeClient, ClaudeError, MessageRequest, MessageResponse, StopReason, SystemBlock, UsageTotals,
};
use crate::clock::Clock;
use crate::error::ErrorCode;
use crate::exam::{Exam, ExamType};
use crate::prompt::{self, TOOL_NAME};
use crate::queue::Job;
use crate::store::{CheckpointStore, StoreError};

/// A generated, fully valid exam with what it took to make it.
#[derive(Debug, Clone)]
pub struct GeneratedExam {
    /// The exam, validated against its spec, options shuffled in code.
    pub exam: Exam,
    /// Tokens and cost of every request made for it by this attempt.
    pub usage: UsageTotals,
    /// Rounds run by this attempt (1 when every item was accepted the first time).
    pub rounds: u32,
    /// Why items were refused or missing along the way, by problem or error code.
    pub refused: BTreeMap<String, usize>,
    /// Items taken over from the job's checkpoint (earlier attempts' work) rather than asked for.
    pub resumed: usize,
}

/// Where a job's attempt keeps the items it accepts: the checkpoint store, the job (whose lease holder and attempt
/// fence every save) and the clock that dates the saves.
#[derive(Clone, Copy)]
pub struct Checkpoint<'a> {
    /// The store holding the job's checkpoint.
    pub store: &'a dyn CheckpointStore,
    /// The running job, as claimed.
    pub job: &'a Job,
    /// The clock.
    pub clock: &'a dyn Clock,
}

impl std::fmt::Debug for Checkpoint<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint").field("job", &self.job.id.as_str()).finish_non_exhaustive()
    }
}

/// Writes exams with Claude. Cheap to share behind an `Arc`; holds the client, the settings, and the system
/// prompt and tool built once, so every request carries the same cacheable prefix.
#[derive(Debug)]
pub struct Generator {
    client: ClaudeClient,
    config: GeneratorConfig,
    system: String,
    tool: Value,
}

/// The checkpoint saves of one attempt: whether a failed save was already reported, so a failing store is
/// reported once, not once per reply.
#[derive(Default)]
struct Saves {
    failing: bool,
}

impl Generator {
    /// A generator over `client`; refuses settings that cannot work.
    pub fn new(client: ClaudeClient, config: GeneratorConfig) -> Result<Self, GenerateError> {
        if config.items_per_chunk == 0 || config.concurrency == 0 {
            return Err(GenerateError::Config("items_per_chunk and concurrency must be at least 1".into()));
        }
        for exam_type in ExamType::ALL {
            config.spec(exam_type).check().map_err(|e| GenerateError::Config(e.to_string()))?;
        }
        Ok(Self { client, config, system: prompt::system_prompt(), tool: prompt::tool_definition() })
    }

    /// The settings.
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    /// The Claude client.
    pub fn client(&self) -> &ClaudeClient {
        &self.client
    }

    /// The request for one chunk: the cached system prompt, the forced tool, and the brief. Nothing about the
    /// user is in it.
    pub fn request(&self, exam_type: ExamType, chunk: &ChunkPlan) -> MessageRequest {
        MessageRequest::new(self.config.model(exam_type), self.config.max_tokens(chunk.slots.len()))
            .system(SystemBlock::cached(self.system.clone()))
            .tool(self.tool.clone())
            .tool_choice(prompt::tool_choice())
            .user(chunk.brief.user_message())
    }

    /// Generates one exam of `exam_type` from nothing; `seed` varies the briefs and fixes the option shuffle.
    pub async fn generate(&self, exam_type: ExamType, seed: u64) -> Result<GeneratedExam, GenerateError> {
        self.run(exam_type, seed, None).await
    }

    /// Generates the exam of a queued job: starts from the items its checkpoint holds, saves every item accepted
    /// as it arrives, and so leaves the next attempt only what is still missing should this one be cut short or
    /// fail. A save refused because the job's lease was lost ends the attempt (`store.lease_lost`); any other
    /// failed save is logged and retried with the next one, the attempt going on.
    pub async fn generate_resuming(
        &self,
        exam_type: ExamType,
        seed: u64,
        checkpoint: Checkpoint<'_>,
    ) -> Result<GeneratedExam, GenerateError> {
        self.run(exam_type, seed, Some(checkpoint)).await
    }

    async fn run(
        &self,
        exam_type: ExamType,
        seed: u64,
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<GeneratedExam, GenerateError> {
        let spec = self.config.spec(exam_type);
        let mut draft = Draft::new(spec);
        let mut resumed = 0;
        if let Some(cp) = &checkpoint {
            match cp.store.load_checkpoint(&cp.job.id).await {
                Ok(saved) if saved.is_empty() => {}
                Ok(saved) => {
                    resumed = draft.restore(saved);
                    tracing::debug!(
                        "[Pre-Gen] job {} resumes its {exam_type} exam with {resumed} of {} items",
                        cp.job.id,
                        spec.item_count
                    );
                }
                Err(e) => tracing::warn!(
                    "[Pre-Gen] job {} could not read its checkpoint ({}), starting over: {e}",
                    cp.job.id,
                    e.code()
                ),
            }
        }
        let mut usage = UsageTotals::default();
        let rounds = self.fill(exam_type, &mut draft, seed, 0, &mut usage, checkpoint.as_ref()).await?;
        let refused = draft.reasons().clone();
        let exam = draft.finish(spec, seed, rounds)?;
        Ok(GeneratedExam { exam, usage, rounds, refused, resumed })
    }

    /// Runs rounds until every slot of `draft` is filled without the answer-length cue, or the round limit is
    /// reached; `done` rounds were run before (by a batch). Saves to `checkpoint` as items arrive. Returns the
    /// number of rounds run in all.
    pub(crate) async fn fill(
        &self,
        exam_type: ExamType,
        draft: &mut Draft,
        seed: u64,
        done: u32,
        usage: &mut UsageTotals,
        checkpoint: Option<&Checkpoint<'_>>,
    ) -> Result<u32, GenerateError> {
        let mut saves = Saves::default();
        let mut rounds = done;
        let limit = 1 + self.config.max_repair_rounds;
        while rounds < limit {
            self.release_length_cue(exam_type, draft);
            let pending = draft.pending();
            if pending.is_empty() {
                break;
            }
            rounds += 1;
            let variation = seed ^ (u64::from(rounds) << 48);
            let per_chunk = self.config.items_per_chunk;
            let chunks = plan_chunks(draft.slots(), &pending, per_chunk, variation);
            tracing::debug!(
                "[Pre-Gen] {exam_type} round {rounds}: {} items in {} requests",
                pending.len(),
                chunks.len()
            );
            self.save(draft, checkpoint, &mut saves).await?;
            let mut replies = futures::stream::iter(chunks)
                .map(|chunk| async move {
                    let reply = self.client.create_message(&self.request(exam_type, &chunk)).await;
                    (chunk, reply)
                })
                .buffer_unordered(self.config.concurrency);
            // Returning early drops `replies`, which cancels the requests still in flight.
            while let Some((chunk, reply)) = replies.next().await {
                self.take(exam_type, draft, &chunk, reply, usage)?;
                self.save(draft, checkpoint, &mut saves).await?;
            }
        }
        // A cue found after the last round leaves its items missing, so the failure says why (and the next attempt
        // asks again for just those) instead of assembling an exam the validator refuses.
        self.release_length_cue(exam_type, draft);
        self.save(draft, checkpoint, &mut saves).await?;
        Ok(rounds)
    }

    fn release_length_cue(&self, exam_type: ExamType, draft: &mut Draft) {
        let released = draft.release_length_cue();
        if released > 0 {
            tracing::debug!(
                "[Pre-Gen] {exam_type}: {released} items had the key as the strictly longest option; asking again"
            );
        }
    }

    /// Saves what `draft` accepted or dropped since the last save to the job's checkpoint, if there is one.
    async fn save(
        &self,
        draft: &mut Draft,
        checkpoint: Option<&Checkpoint<'_>>,
        saves: &mut Saves,
    ) -> Result<(), GenerateError> {
        let Some(cp) = checkpoint else { return Ok(()) };
        let (items, dropped) = draft.checkpoint_changes();
        if items.is_empty() && dropped.is_empty() {
            return Ok(());
        }
        match cp.store.save_checkpoint(cp.job, &items, &dropped, cp.clock.now()).await {
            Ok(()) => {
                draft.checkpoint_saved();
                if std::mem::take(&mut saves.failing) {
                    tracing::info!("[Pre-Gen] job {} saves its checkpoint again", cp.job.id);
                }
                Ok(())
            }
            Err(e @ StoreError::LeaseLost(_)) => Err(GenerateError::Store(e)),
            Err(e) => {
                if !std::mem::replace(&mut saves.failing, true) {
                    tracing::warn!(
                        "[Pre-Gen] job {} could not save its checkpoint ({}); generation goes on and retries the                          save: {e}",
                        cp.job.id,
                        e.code()
                    );
                }
                Ok(())
            }
        }
    }

    /// Records one reply: its usage, and its drafts into `draft`. A reply that could not be read leaves the chunk's
    /// items for the next round; any other failure ends the attempt: a refusal no retry can fix, or a transient
    /// failure that outlasted the client's own retries (the job queue retries later, honouring the server's
    /// retry-after carried on the error).
    fn take(
        &self,
        exam_type: ExamType,
        draft: &mut Draft,
        chunk: &ChunkPlan,
        reply: Result<MessageResponse, ClaudeError>,
        usage: &mut UsageTotals,
    ) -> Result<(), GenerateError> {
        match reply {
            Ok(message) => {
                usage.record(self.client.prices(), self.config.model(exam_type), &message.usage, false);
                if message.stop_reason == StopReason::MaxTokens {
                    draft.note("max_tokens", 1);
                }
                draft.accept(chunk, message.tool_input(TOOL_NAME));
                Ok(())
            }
            // The client does not retry a reply it could not read (nor do the SDKs), but asking again in the next
            // round may well work: it is a missing answer, not an outage.
            Err(e @ ClaudeError::Decode { .. }) => {
                tracing::debug!(
                    "[Pre-Gen] a {exam_type} reply could not be read; its items go to the next round: {e}"
                );
                draft.note(e.code(), chunk.slots.len());
                Ok(())
            }
            Err(e) => {
                tracing::debug!("[Pre-Gen] a {exam_type} request failed ({}); the attempt ends: {e}", e.code());
                Err(GenerateError::Api(e))
            }
        }
    }
}

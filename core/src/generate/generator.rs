//! The generator proper: requests for each round's chunks sent concurrently through the Claude client, drafts
//! accepted into a [`Draft`], repair rounds for what is still missing, and usage summed per exam.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::Value;

use super::assemble::{ChunkPlan, Draft, plan_chunks};
use super::{GenerateError, GeneratorConfig};
use crate::claude::{
    ClaudeClient, ClaudeError, MessageRequest, MessageResponse, StopReason, SystemBlock, UsageTotals,
};
use crate::error::ErrorCode;
use crate::exam::{Exam, ExamType};
use crate::prompt::{self, TOOL_NAME};

/// A generated, fully valid exam with what it took to make it.
#[derive(Debug, Clone)]
pub struct GeneratedExam {
    /// The exam, validated against its spec, options shuffled in code.
    pub exam: Exam,
    /// Tokens and cost of every request made for it.
    pub usage: UsageTotals,
    /// Rounds run (1 when every item was accepted the first time).
    pub rounds: u32,
    /// Why items were refused or missing along the way, by problem or error code.
    pub refused: BTreeMap<String, usize>,
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

    /// Generates one exam of `exam_type`; `seed` varies the briefs and fixes the option shuffle.
    pub async fn generate(&self, exam_type: ExamType, seed: u64) -> Result<GeneratedExam, GenerateError> {
        let spec = self.config.spec(exam_type);
        let mut draft = Draft::new(spec);
        let mut usage = UsageTotals::default();
        let rounds = self.fill(exam_type, &mut draft, seed, 0, &mut usage).await?;
        let refused = draft.reasons().clone();
        let exam = draft.finish(spec, seed, rounds)?;
        Ok(GeneratedExam { exam, usage, rounds, refused })
    }

    /// Runs rounds until every slot of `draft` is filled or the round limit is reached; `done` rounds were run
    /// before (by a batch). Returns the number of rounds run in all.
    pub(crate) async fn fill(
        &self,
        exam_type: ExamType,
        draft: &mut Draft,
        seed: u64,
        done: u32,
        usage: &mut UsageTotals,
    ) -> Result<u32, GenerateError> {
        let mut rounds = done;
        let limit = 1 + self.config.max_repair_rounds;
        while rounds < limit {
            let pending = draft.pending();
            if pending.is_empty() {
                break;
            }
            rounds += 1;
            let variation = seed ^ (u64::from(rounds) << 48);
            let chunks = plan_chunks(draft.slots(), &pending, self.config.items_per_chunk, variation);
            tracing::debug!(
                "[Pre-Gen] {exam_type} round {rounds}: {} items in {} requests",
                pending.len(),
                chunks.len()
            );
            let mut replies = futures::stream::iter(chunks)
                .map(|chunk| async move {
                    let reply = self.client.create_message(&self.request(exam_type, &chunk)).await;
                    (chunk, reply)
                })
                .buffer_unordered(self.config.concurrency);
            while let Some((chunk, reply)) = replies.next().await {
                self.take(exam_type, draft, &chunk, reply, usage)?;
            }
        }
        Ok(rounds)
    }

    /// Records one reply: its usage, and its drafts into `draft`. A refusal no retry can fix ends the generation;
    /// a transient failure that outlasted the client's retries leaves the chunk's items for the next round, and
    /// a rate limit's wait is kept for the job queue to honour should the exam stay incomplete.
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
            // A reply that could not be read is not retried by the client (as the SDKs do), but asking again
            // in the next round may well work; any other refusal is final.
            Err(e) if !e.is_retryable() && !matches!(e, ClaudeError::Decode { .. }) => Err(GenerateError::Api(e)),
            Err(e) => {
                tracing::warn!("[Pre-Gen] a {exam_type} request failed, its items go to the next round: {e}");
                draft.note(e.code(), chunk.slots.len());
                draft.note_retry_after(e.retry_after());
                Ok(())
            }
        }
    }
}

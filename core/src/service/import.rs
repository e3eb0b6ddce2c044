//! Importing exam files into the bank through the service: deduplicated by the file's content, stored when
//! valid, repaired through the generator when asked (only failing items regenerated), reported either way.

use serde::Serialize;

use super::{PreGen, ServiceError};
use crate::exam::ExamSpec;
use crate::import::{Candidate, ImportOutcome, ReplacedItem};
use crate::store::{BankSource, GenerationStats, NewBankExam, TokenTotals};

/// What a repair did, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepairReport {
    /// Items of the file kept as they were (options reshuffled).
    pub kept: usize,
    /// Items replaced, with why.
    pub replaced: Vec<ReplacedItem>,
    /// Slots the file left empty, filled by generation.
    pub filled_missing: usize,
    /// Generator rounds run.
    pub rounds: u32,
    /// What the repair cost, in USD.
    pub cost_usd: f64,
}

/// What importing one file did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Imported {
    /// The outcome.
    #[serde(flatten)]
    pub outcome: ImportOutcome,
    /// The repair, when one ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair: Option<RepairReport>,
}

impl PreGen {
    /// Puts `candidate` into the bank: an invalid file is refused with its problems unless `repair`; otherwise a
    /// duplicate of stored content is found first (nothing spent), a valid file is stored, an invalid one is repaired: which regenerates only its failing items (see
    /// `Generator::repair_exam`) and stores the result once it validates. Stored exams are keyed by the file's
    /// content, so importing the same file again stores nothing.
    ///
    /// Errors: [`ServiceError::ApiKeyMissing`] when a repair is needed without a generator; store failures.
    pub async fn import_exam(&self, candidate: &Candidate, repair: bool) -> Result<Imported, ServiceError> {
        let bank = self.bank_store()?;
        let exam_type = candidate.exam_type;
        if !candidate.is_valid() && !repair {
            return Ok(Imported { outcome: ImportOutcome::Invalid, repair: None });
        }
        if let Some(id) = bank.bank_exam_by_content(exam_type, &candidate.source_hash).await? {
            return Ok(Imported { outcome: ImportOutcome::Duplicate { id }, repair: None });
        }
        let spec = ExamSpec::builtin(exam_type);
        let now = self.clock.now();
        if candidate.is_valid() {
            let exam = NewBankExam::new(
                exam_type,
                candidate.exam.clone(),
                &spec,
                BankSource::Imported,
                now,
                &self.config.bank,
            )?
            .with_content_hash(candidate.source_hash.clone());
            let stored = bank.insert_bank_exam(exam).await?;
            tracing::info!("[Pre-Gen] imported a {exam_type} exam into the bank as {}", stored.id);
            let outcome = if stored.created {
                ImportOutcome::Imported { id: stored.id }
            } else {
                ImportOutcome::Duplicate { id: stored.id }
            };
            return Ok(Imported { outcome, repair: None });
        }
        let generator = self.generator.as_ref().ok_or(ServiceError::ApiKeyMissing)?;
        let seed = u64::from_str_radix(&candidate.source_hash[..16], 16).unwrap_or(0);
        let repaired = match generator.repair_exam(exam_type, &candidate.exam, seed).await {
            Ok(r) => r,
            Err(e) => {
                use crate::error::ErrorCode;
                tracing::warn!("[Pre-Gen] the repair of a {exam_type} exam failed ({}): {e}", e.code());
                let outcome = ImportOutcome::RepairFailed { code: e.code().to_owned(), error: e.to_string() };
                return Ok(Imported { outcome, repair: None });
            }
        };
        let u = &repaired.usage;
        let generation = GenerationStats {
            tokens: TokenTotals {
                requests: u.requests,
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
                cache_write_tokens: u.cache_creation_input_tokens,
                cache_read_tokens: u.cache_read_input_tokens,
                cost_usd: u.cost.total_usd,
            },
            batch: false,
            requested_at: Some(now),
        };
        let report = RepairReport {
            kept: repaired.kept,
            replaced: repaired.replaced,
            filled_missing: repaired.filled_missing,
            rounds: repaired.rounds,
            cost_usd: u.cost.total_usd,
        };
        let exam =
            NewBankExam::new(exam_type, repaired.exam, &spec, BankSource::Imported, now, &self.config.bank)?
                .with_content_hash(candidate.source_hash.clone())
                .with_generation(generation);
        let stored = bank.insert_bank_exam(exam).await?;
        tracing::info!(
            "[Pre-Gen] imported a repaired {exam_type} exam as {} ({} items replaced)",
            stored.id,
            report.replaced.len()
        );
        Ok(Imported { outcome: ImportOutcome::Imported { id: stored.id }, repair: Some(report) })
    }
}

//! How the generator asks: models per exam type, chunk size, output budget per item, rounds and concurrency.

use serde::{Deserialize, Serialize};

use crate::exam::{ExamSpec, ExamType};

/// The model the old system used, and our default for both exam types.
pub const DEFAULT_MODEL: &str = "claude-haiku-4-5";

/// Generation settings. The defaults give a 10-item request a budget of 4,800 output tokens: about 1.5x what the
/// items take, and under a tenth of Haiku 4.5's 64,000 limit. The budget is what the API counts against the
/// output-token rate limit while a request runs, so a tight one keeps throughput near the limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GeneratorConfig {
    /// Model for diagnostic exams.
    pub diagnostic_model: String,
    /// Model for practice exams.
    pub practice_model: String,
    /// Items asked for in one request.
    pub items_per_chunk: usize,
    /// Output tokens allowed per item asked for (`max_tokens` = items x this + `max_tokens_margin`).
    pub max_tokens_per_item: u32,
    /// Output tokens added to each request's budget for the tool call's framing.
    pub max_tokens_margin: u32,
    /// Rounds of asking again for rejected or missing items, after the first.
    pub max_repair_rounds: u32,
    /// Requests of one exam in flight at once (the client's rate limiter still has the last word).
    pub concurrency: usize,
    /// The diagnostic spec (71 items, one per knowledge statement, by default).
    pub diagnostic_spec: ExamSpec,
    /// The practice spec (225 items weighted by domain, by default).
    pub practice_spec: ExamSpec,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            diagnostic_model: DEFAULT_MODEL.into(),
            practice_model: DEFAULT_MODEL.into(),
            items_per_chunk: 10,
            max_tokens_per_item: 450,
            max_tokens_margin: 300,
            max_repair_rounds: 3,
            concurrency: 8,
            diagnostic_spec: ExamSpec::diagnostic(),
            practice_spec: ExamSpec::practice(),
        }
    }
}

impl GeneratorConfig {
    /// The defaults with the models read through `lookup` (pass `|name| std::env::var(name).ok()` for the
    /// environment): `PREGEN_MODEL` for both types, `PREGEN_MODEL_DIAGNOSTIC` / `PREGEN_MODEL_PRACTICE` for one
    /// (the per-type variable wins), as the old system let operators choose. Blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let both = get("PREGEN_MODEL").unwrap_or_else(|| DEFAULT_MODEL.to_owned());
        Self {
            diagnostic_model: get("PREGEN_MODEL_DIAGNOSTIC").unwrap_or_else(|| both.clone()),
            practice_model: get("PREGEN_MODEL_PRACTICE").unwrap_or(both),
            ..Self::default()
        }
    }

    /// The model for `exam_type`.
    pub fn model(&self, exam_type: ExamType) -> &str {
        match exam_type {
            ExamType::Diagnostic => &self.diagnostic_model,
            ExamType::Practice => &self.practice_model,
        }
    }

    /// The spec for `exam_type`.
    pub fn spec(&self, exam_type: ExamType) -> &ExamSpec {
        match exam_type {
            ExamType::Diagnostic => &self.diagnostic_spec,
            ExamType::Practice => &self.practice_spec,
        }
    }

    /// The output budget of a request for `items` items.
    pub fn max_tokens(&self, items: usize) -> u32 {
        u32::try_from(items).unwrap_or(u32::MAX).saturating_mul(self.max_tokens_per_item) + self.max_tokens_margin
    }
}

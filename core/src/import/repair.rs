//! Repairing an imported exam: items that pass every item rule keep their place (a slot of the spec with their
//! knowledge statement and scoring); failing items, and slots left empty, are asked of the model again for the
//! same knowledge statement through the generator's repair rounds (which also send back items that make the
//! answer-length cue); options are reshuffled in code and the whole exam is validated before it is returned.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::claude::UsageTotals;
use crate::exam::{Exam, ExamType, stem_key, validate_item};
use crate::generate::{Draft, GenerateError, Generator};
use crate::store::CheckpointItem;

/// One item of the file that the repaired exam does not keep, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplacedItem {
    /// Its id as read (position when the file's id was not a number).
    pub id: u32,
    /// Its knowledge statement as written.
    pub kn_id: String,
    /// Problem codes, or `no_slot` (more items of this knowledge statement or scoring than the spec has),
    /// `stem_duplicate`, `answer_length_cue`.
    pub reasons: Vec<String>,
}

/// A repaired exam and what it took.
#[derive(Debug, Clone)]
pub struct Repaired {
    /// The exam: valid against the spec, options reshuffled, items numbered 1..N in spec order.
    pub exam: Exam,
    /// Items of the file that were replaced, in file order.
    pub replaced: Vec<ReplacedItem>,
    /// Slots of the spec the file left without an item (filled by generation as well).
    pub filled_missing: usize,
    /// Items kept from the file.
    pub kept: usize,
    /// Requests, tokens and cost of the repair.
    pub usage: UsageTotals,
    /// Rounds the generator ran (0 when nothing had to be asked for).
    pub rounds: u32,
}

impl Generator {
    /// Repairs `exam` as an exam of `exam_type` (see the module documentation); `seed` fixes the briefs'
    /// wording and the option shuffle. The exam's top-level extra fields (`meta`, ...) and the kept items' extra
    /// fields stay.
    ///
    /// Errors: as generation ([`GenerateError::Incomplete`] when the rounds could not fill every slot).
    pub async fn repair_exam(
        &self,
        exam_type: ExamType,
        exam: &Exam,
        seed: u64,
    ) -> Result<Repaired, GenerateError> {
        let spec = self.config().spec(exam_type);
        let mut draft = Draft::new(spec);
        let mut taken: HashSet<usize> = HashSet::new();
        let mut reasons: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (i, q) in exam.questions.iter().enumerate() {
            let problems = validate_item(q);
            if !problems.is_empty() {
                let mut codes: Vec<String> = problems.iter().map(|p| p.code.as_str().to_owned()).collect();
                codes.dedup();
                reasons.insert(i, codes);
                continue;
            }
            let slot = (0..draft.slots().len()).find(|&s| {
                !taken.contains(&s)
                    && draft.slots()[s].kn.to_string() == q.kn_id
                    && draft.slots()[s].is_scored == q.is_scored
            });
            let Some(slot) = slot else {
                reasons.insert(i, vec!["no_slot".into()]);
                continue;
            };
            let item = CheckpointItem { slot: u32::try_from(slot).unwrap_or(u32::MAX), question: q.clone() };
            if draft.restore(vec![item]) == 1 {
                taken.insert(slot);
            } else {
                reasons.insert(i, vec!["stem_duplicate".into()]);
            }
        }
        let filled_missing = draft.slots().len().saturating_sub(exam.questions.len());
        let mut usage = UsageTotals::default();
        let rounds = self.fill(exam_type, &mut draft, seed, 0, &mut usage, None).await?;
        let mut repaired = draft.finish(spec, seed, rounds)?;
        repaired.extra = exam.extra.clone();
        let final_stems: HashSet<String> = repaired.questions.iter().map(|q| stem_key(&q.question)).collect();
        let mut replaced = Vec::new();
        let mut kept = 0;
        for (i, q) in exam.questions.iter().enumerate() {
            let why = match reasons.remove(&i) {
                Some(why) => why,
                None if final_stems.contains(&stem_key(&q.question)) => {
                    kept += 1;
                    continue;
                }
                None => vec![crate::generate::LENGTH_CUE_REASON.to_owned()],
            };
            replaced.push(ReplacedItem { id: q.id, kn_id: q.kn_id.clone(), reasons: why });
        }
        Ok(Repaired { exam: repaired, replaced, filled_missing, kept, usage, rounds })
    }
}

//! The pure part of generation: planning chunks over the spec's slots, turning the model's drafts into items
//! (accepting only valid, new ones), sending back items that make the answer-length cue, tracking what a job's
//! checkpoint still has to save, and assembling the final exam. No I/O; unit-tested on its own.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::{Map, Value};

use super::GenerateError;
use super::input::read_drafts;
use crate::exam::{
    Exam, ExamSpec, ItemSlot, Kn, Question, key_is_strictly_longest, length_cue_limit, shuffle_options, stem_key,
    validate_exam, validate_item,
};
use crate::prompt::{ChunkBrief, DraftItem};
use crate::store::CheckpointItem;

/// The reason counted for an item sent back because its key was the strictly longest option.
pub const LENGTH_CUE_REASON: &str = "answer_length_cue";

/// One request's worth of slots and the brief that asks for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPlan {
    /// Indexes into the spec's slots, in brief order.
    pub slots: Vec<usize>,
    /// What the model is asked to write.
    pub brief: ChunkBrief,
}

/// Splits the `pending` slots into chunks of at most `per_chunk`; `variation` seeds each brief's wording. Every
/// brief asks for options of similar length, the key not the longest: asking costs a sentence, while each item
/// sent back for the answer-length cue costs a whole item's output; the repair handles what models still write.
pub fn plan_chunks(slots: &[ItemSlot], pending: &[usize], per_chunk: usize, variation: u64) -> Vec<ChunkPlan> {
    pending
        .chunks(per_chunk.max(1))
        .enumerate()
        .map(|(i, group)| ChunkPlan {
            slots: group.to_vec(),
            brief: ChunkBrief {
                items: group.iter().map(|&s| slots[s].kn).collect(),
                variation: variation.wrapping_mul(1_000_003).wrapping_add(i as u64),
                balance_lengths: true,
            },
        })
        .collect()
}

/// How many items of an `n`-item exam may keep the key as the strictly longest option once the cue has been
/// repaired: a quarter, what an unbiased writer gives on average, and never above [`length_cue_limit`]. Aiming
/// below the limit leaves room for the replacements, some of which have the cue again.
pub fn length_cue_target(n: usize) -> usize {
    (n / 4).min(length_cue_limit(n))
}

/// The items being gathered for one exam: one place per slot, the stems seen so far, why items were refused,
/// and which slots changed since the job's checkpoint was last saved.
#[derive(Debug, Clone)]
pub struct Draft {
    slots: Vec<ItemSlot>,
    items: Vec<Option<Question>>,
    stems: HashSet<String>,
    reasons: BTreeMap<String, usize>,
    /// Slots accepted since the last save.
    unsaved: BTreeSet<usize>,
    /// Slots emptied since the last save (their saved items are to be forgotten).
    dropped: BTreeSet<usize>,
}

impl Draft {
    /// An empty draft for `spec`.
    pub fn new(spec: &ExamSpec) -> Self {
        let slots = spec.slots();
        Self {
            items: vec![None; slots.len()],
            slots,
            stems: HashSet::new(),
            reasons: BTreeMap::new(),
            unsaved: BTreeSet::new(),
            dropped: BTreeSet::new(),
        }
    }

    /// The spec's slots.
    pub fn slots(&self) -> &[ItemSlot] {
        &self.slots
    }

    /// Slots still without an accepted item.
    pub fn pending(&self) -> Vec<usize> {
        (0..self.items.len()).filter(|&i| self.items[i].is_none()).collect()
    }

    /// How often each reason for a missing or refused item occurred.
    pub fn reasons(&self) -> &BTreeMap<String, usize> {
        &self.reasons
    }

    /// Counts `times` occurrences of `reason` (a problem code or an API error code).
    pub fn note(&mut self, reason: &str, times: usize) {
        if times > 0 {
            *self.reasons.entry(reason.to_owned()).or_default() += times;
        }
    }

    /// Takes a chunk's tool input (read however the model wrapped it, see `input`): each draft fills the first
    /// open slot of the chunk with the same knowledge statement if it passes every item rule and its stem is new.
    /// Returns how many were accepted.
    pub fn accept(&mut self, chunk: &ChunkPlan, input: Option<&Value>) -> usize {
        let mut open: Vec<usize> = chunk.slots.iter().copied().filter(|&s| self.items[s].is_none()).collect();
        let mut accepted = 0;
        for draft in read_drafts(input) {
            let Some(kn) = Kn::parse(&draft.kn_id) else {
                self.note("kn_unknown", 1);
                continue;
            };
            let Some(pos) = open.iter().position(|&s| self.slots[s].kn == kn) else {
                self.note("not_asked_for", 1);
                continue;
            };
            let slot = open[pos];
            match self.admit(slot, to_question(draft, self.slots[slot])) {
                Ok(()) => {
                    open.remove(pos);
                    accepted += 1;
                }
                Err(reason) => self.note(reason, 1),
            }
        }
        self.note("missing_from_response", open.len());
        accepted
    }

    /// Puts back items a job's earlier attempts accepted (its checkpoint), checking each again as if new: an item
    /// for a slot the spec no longer has, for another knowledge statement or scoring, that now breaks a rule, or
    /// whose stem repeats is left out, and forgotten at the next save. Returns how many were put back.
    pub fn restore(&mut self, saved: Vec<CheckpointItem>) -> usize {
        let mut restored = 0;
        for item in saved {
            let slot = item.slot as usize;
            let fits = self.slots.get(slot).is_some_and(|s| {
                s.kn.to_string() == item.question.kn_id && s.is_scored == item.question.is_scored
            });
            let admitted = fits && self.items[slot].is_none() && self.admit(slot, item.question).is_ok();
            if admitted {
                // Saved already: nothing to write back.
                self.unsaved.remove(&slot);
                restored += 1;
            } else {
                self.note("checkpoint_item_dropped", 1);
                self.dropped.insert(item.slot as usize);
            }
        }
        restored
    }

    /// Fills `slot` with `question` if it passes every item rule and its stem is new; else the refusal's code.
    fn admit(&mut self, slot: usize, question: Question) -> Result<(), &'static str> {
        if let Some(first) = validate_item(&question).first() {
            return Err(first.code.as_str());
        }
        if !self.stems.insert(stem_key(&question.question)) {
            return Err("stem_duplicate");
        }
        self.items[slot] = Some(question);
        self.unsaved.insert(slot);
        self.dropped.remove(&slot);
        Ok(())
    }

    /// Removes the answer-length cue: when more accepted items have the key as the strictly longest option than
    /// the exam may ([`length_cue_limit`] of the spec's size), sends back enough of them, the most conspicuous
    /// first, to come down to [`length_cue_target`]; their slots are pending again and counted under
    /// [`LENGTH_CUE_REASON`]. Returns how many were sent back (0 when the cue is within the limit).
    pub fn release_length_cue(&mut self) -> usize {
        let n = self.items.len();
        let mut cued: Vec<(usize, usize)> = (0..n)
            .filter_map(|slot| self.items[slot].as_ref().map(|q| (slot, q)))
            .filter(|(_, q)| key_is_strictly_longest(q))
            .map(|(slot, q)| (slot, key_margin(q)))
            .collect();
        if cued.len() <= length_cue_limit(n) {
            return 0;
        }
        cued.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let excess = cued.len() - length_cue_target(n);
        for &(slot, _) in cued.iter().take(excess) {
            if let Some(question) = self.items[slot].take() {
                self.stems.remove(&stem_key(&question.question));
            }
            self.unsaved.remove(&slot);
            self.dropped.insert(slot);
        }
        self.note(LENGTH_CUE_REASON, excess);
        excess
    }

    /// What the job's checkpoint lacks: items accepted and slots emptied since the last save (both empty when
    /// nothing changed).
    pub fn checkpoint_changes(&self) -> (Vec<CheckpointItem>, Vec<u32>) {
        let slot = |s: usize| u32::try_from(s).unwrap_or(u32::MAX);
        let items = (self.unsaved.iter())
            .filter_map(|&s| self.items[s].clone().map(|question| CheckpointItem { slot: slot(s), question }))
            .collect();
        (items, self.dropped.iter().map(|&s| slot(s)).collect())
    }

    /// Records that [`Draft::checkpoint_changes`] were saved.
    pub fn checkpoint_saved(&mut self) {
        self.unsaved.clear();
        self.dropped.clear();
    }

    /// How many slots hold an item.
    pub fn filled(&self) -> usize {
        self.items.iter().filter(|i| i.is_some()).count()
    }

    /// The finished exam: items numbered 1..N in slot order, options shuffled with `seed`, and the whole exam
    /// validated against `spec`. Fails with the reasons if any slot is still empty.
    pub fn finish(self, spec: &ExamSpec, seed: u64, rounds: u32) -> Result<Exam, GenerateError> {
        let missing = self.items.iter().filter(|i| i.is_none()).count();
        if missing > 0 {
            return Err(GenerateError::Incomplete {
                missing,
                wanted: self.items.len(),
                rounds,
                reasons: self.reasons,
            });
        }
        let questions = self
            .items
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, mut q)| {
                q.id = i as u32 + 1;
                q
            })
            .collect();
        let mut exam = Exam::new(questions);
        shuffle_options(&mut exam, seed);
        let report = validate_exam(&exam, spec);
        if report.is_valid() { Ok(exam) } else { Err(GenerateError::Invalid(Box::new(report))) }
    }
}

/// How many characters the key is longer than the longest other option (0 when it is not the longest).
fn key_margin(q: &Question) -> usize {
    let len = |s: &str| s.trim().chars().count();
    let key = len(&q.correct_answer);
    let others = q.options.iter().filter(|o| **o != q.correct_answer).map(|o| len(o)).max().unwrap_or(0);
    key.saturating_sub(others)
}

/// An item from a draft, with what code decides (domain, knowledge statement, scoring) taken from the slot.
fn to_question(draft: DraftItem, slot: ItemSlot) -> Question {
    Question {
        id: 0,
        question: draft.question.trim().to_owned(),
        options: draft.options.into_iter().map(|o| o.trim().to_owned()).collect(),
        correct_answer: draft.correct_answer.trim().to_owned(),
        explanation: draft.explanation.trim().to_owned(),
        domain: slot.kn.domain().into(),
        kn_id: slot.kn.to_string(),
        difficulty: draft.difficulty.trim().to_ascii_lowercase(),
        is_scored: slot.is_scored,
        kind: "standard".to_owned(),
        extra: Map::new(),
    }
}

#[cfg(test)]
#[path = "assemble_tests.rs"]
mod tests;

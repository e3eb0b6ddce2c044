//! The pure part of generation: planning chunks over the spec's slots, turning the model's drafts into items
//! (accepting only valid, new ones), and assembling the final exam. No I/O; unit-tested on its own.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::exam::{
    Exam, ExamSpec, ItemSlot, Kn, Question, shuffle_options, stem_key, validate_exam, validate_item,
};
use crate::prompt::{ChunkBrief, DraftItem, ToolInput};

use super::GenerateError;

/// One request's worth of slots and the brief that asks for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPlan {
    /// Indexes into the spec's slots, in brief order.
    pub slots: Vec<usize>,
    /// What the model is asked to write.
    pub brief: ChunkBrief,
}

/// Splits the `pending` slots into chunks of at most `per_chunk`; `variation` seeds each brief's wording.
pub fn plan_chunks(slots: &[ItemSlot], pending: &[usize], per_chunk: usize, variation: u64) -> Vec<ChunkPlan> {
    pending
        .chunks(per_chunk.max(1))
        .enumerate()
        .map(|(i, group)| ChunkPlan {
            slots: group.to_vec(),
            brief: ChunkBrief {
                items: group.iter().map(|&s| slots[s].kn).collect(),
                variation: variation.wrapping_mul(1_000_003).wrapping_add(i as u64),
                balance_lengths: false,
            },
        })
        .collect()
}

/// The items being gathered for one exam: one place per slot, the stems seen so far, and why items were refused.
#[derive(Debug, Clone)]
pub struct Draft {
    slots: Vec<ItemSlot>,
    items: Vec<Option<Question>>,
    stems: HashSet<String>,
    reasons: BTreeMap<String, usize>,
    retry_after: Option<Duration>,
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
            retry_after: None,
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

    /// Counts one occurrence of `reason` (a problem code or an API error code).
    pub fn note(&mut self, reason: &str, times: usize) {
        if times > 0 {
            *self.reasons.entry(reason.to_owned()).or_default() += times;
        }
    }

    /// Remembers a wait the API asked for; the longest is reported if the exam cannot be finished.
    pub fn note_retry_after(&mut self, wait: Option<Duration>) {
        self.retry_after = self.retry_after.max(wait);
    }

    /// Takes a chunk's tool input: each draft fills the first open slot of the chunk with the same knowledge
    /// statement if it passes every item rule and its stem is new. Returns how many were accepted.
    pub fn accept(&mut self, chunk: &ChunkPlan, input: Option<&Value>) -> usize {
        let drafts = match input.map(|v| serde_json::from_value::<ToolInput>(v.clone())) {
            Some(Ok(parsed)) => parsed.questions,
            Some(Err(_)) => lenient_drafts(input),
            None => Vec::new(),
        };
        let mut open: Vec<usize> = chunk.slots.iter().copied().filter(|&s| self.items[s].is_none()).collect();
        let mut accepted = 0;
        for draft in drafts {
            let Some(kn) = Kn::parse(&draft.kn_id) else {
                self.note("kn_unknown", 1);
                continue;
            };
            let Some(pos) = open.iter().position(|&s| self.slots[s].kn == kn) else {
                self.note("not_asked_for", 1);
                continue;
            };
            let slot = open[pos];
            let question = to_question(draft, self.slots[slot]);
            let problems = validate_item(&question);
            if let Some(first) = problems.first() {
                self.note(first.code.as_str(), 1);
                continue;
            }
            if !self.stems.insert(stem_key(&question.question)) {
                self.note("stem_duplicate", 1);
                continue;
            }
            self.items[slot] = Some(question);
            open.remove(pos);
            accepted += 1;
        }
        self.note("missing_from_response", open.len());
        accepted
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
                retry_after: self.retry_after,
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

/// Reads the drafts one by one when the input as a whole does not parse (a cut-off or sloppy reply), keeping
/// every complete item.
fn lenient_drafts(input: Option<&Value>) -> Vec<DraftItem> {
    input
        .and_then(|v| v.get("questions"))
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|v| serde_json::from_value(v.clone()).ok()).collect())
        .unwrap_or_default()
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
mod tests {
    use serde_json::json;

    use super::*;
    use crate::exam::{ExamType, synthetic_question};

    fn draft_json(q: &Question) -> Value {
        json!({"knId": q.kn_id, "question": q.question, "options": q.options,
               "correct_answer": q.correct_answer, "explanation": q.explanation, "difficulty": q.difficulty})
    }

    fn answer(draft: &Draft, chunk: &ChunkPlan, salt: u64) -> Value {
        let items: Vec<Value> = chunk
            .slots
            .iter()
            .map(|&s| draft_json(&synthetic_question(s as u32, draft.slots()[s], salt)))
            .collect();
        json!({"questions": items})
    }

    #[test]
    fn chunks_cover_every_pending_slot_once() {
        let spec = ExamSpec::practice();
        let slots = spec.slots();
        let pending: Vec<usize> = (0..slots.len()).collect();
        let chunks = plan_chunks(&slots, &pending, 10, 1);
        assert_eq!(chunks.len(), 23);
        let covered: Vec<usize> = chunks.iter().flat_map(|c| c.slots.clone()).collect();
        assert_eq!(covered, pending);
        assert!(chunks.iter().all(|c| c.brief.items.len() == c.slots.len() && c.slots.len() <= 10));
    }

    #[test]
    fn a_full_set_of_good_drafts_makes_a_valid_exam() {
        let spec = ExamSpec::builtin(ExamType::Diagnostic);
        let mut draft = Draft::new(&spec);
        let chunks = plan_chunks(draft.slots(), &draft.pending(), 10, 0);
        for chunk in &chunks {
            let input = answer(&draft, chunk, 5);
            assert_eq!(draft.accept(chunk, Some(&input)), chunk.slots.len());
        }
        let exam = draft.finish(&spec, 9, 1).unwrap();
        assert_eq!(exam.questions.len(), 71);
        assert_eq!(exam.questions[70].id, 71);
    }

    #[test]
    fn bad_duplicate_and_unasked_items_are_refused_and_counted() {
        let spec = ExamSpec::builtin(ExamType::Diagnostic);
        let mut draft = Draft::new(&spec);
        let chunk = plan_chunks(draft.slots(), &draft.pending(), 4, 0).remove(0);
        let mut input = answer(&draft, &chunk, 1);
        let items = input["questions"].as_array_mut().unwrap();
        items[0]["options"] = json!(["a", "b", "c"]);
        items[1]["question"] = items[2]["question"].clone();
        items[3]["knId"] = json!("KN70");
        assert_eq!(draft.accept(&chunk, Some(&input)), 1, "only the third item survives");
        assert_eq!(draft.reasons()["option_count"], 1);
        assert_eq!(draft.reasons()["stem_duplicate"], 1);
        assert_eq!(draft.reasons()["not_asked_for"], 1);
        assert_eq!(draft.reasons()["missing_from_response"], 3);
        assert_eq!(draft.pending().len(), 70);
        match draft.finish(&spec, 1, 1) {
            Err(GenerateError::Incomplete { missing, wanted, .. }) => assert_eq!((missing, wanted), (70, 71)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_cut_off_reply_keeps_its_complete_items() {
        let spec = ExamSpec::builtin(ExamType::Diagnostic);
        let mut draft = Draft::new(&spec);
        let chunk = plan_chunks(draft.slots(), &draft.pending(), 5, 0).remove(0);
        let mut input = answer(&draft, &chunk, 1);
        input["questions"].as_array_mut().unwrap()[4] = json!({"knId": "KN5", "question": "cut o"});
        assert_eq!(draft.accept(&chunk, Some(&input)), 4);
        assert_eq!(draft.pending().len(), 67);
    }
}

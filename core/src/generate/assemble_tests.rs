//! Unit tests of the draft: chunk planning, accepting drafts, the answer-length cue, checkpoint tracking.

use serde_json::json;

use super::*;
use crate::exam::{ExamType, synthetic_question};

fn draft_json(q: &Question) -> Value {
    json!({"knId": q.kn_id, "question": q.question, "options": q.options,
           "correct_answer": q.correct_answer, "explanation": q.explanation, "difficulty": q.difficulty})
}

fn answer(draft: &Draft, chunk: &ChunkPlan, salt: u64) -> Value {
    let items: Vec<Value> =
        chunk.slots.iter().map(|&s| draft_json(&synthetic_question(s as u32, draft.slots()[s], salt))).collect();
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

/// A diagnostic draft with every slot filled, the key the strictly longest option (by `margin(slot)` extra
/// characters) in the slots `cued` picks.
fn filled(cued: impl Fn(usize) -> Option<usize>) -> Draft {
    let spec = ExamSpec::builtin(ExamType::Diagnostic);
    let mut draft = Draft::new(&spec);
    for chunk in plan_chunks(draft.slots(), &draft.pending(), 10, 0) {
        let mut input = answer(&draft, &chunk, 3);
        for (item, &slot) in input["questions"].as_array_mut().unwrap().iter_mut().zip(&chunk.slots) {
            if let Some(margin) = cued(slot) {
                let longer = format!(
                    "{}, as the evidence shows{}",
                    item["options"][0].as_str().unwrap(),
                    "!".repeat(margin)
                );
                item["options"][0] = json!(longer);
                item["correct_answer"] = json!(longer);
            }
        }
        assert_eq!(draft.accept(&chunk, Some(&input)), chunk.slots.len());
    }
    draft
}

fn cue_count(draft: &Draft) -> usize {
    draft.items.iter().flatten().filter(|q| key_is_strictly_longest(q)).count()
}

#[test]
fn the_length_cue_is_sent_back_down_to_the_target_only_when_over_the_limit() {
    let (limit, target) = (length_cue_limit(71), length_cue_target(71));
    assert_eq!((limit, target), (30, 17));
    for cued in [0, 17, 29, 30, 31, 45, 71] {
        let mut draft = filled(|slot| (slot < cued).then_some(slot % 7));
        draft.checkpoint_saved();
        assert_eq!(cue_count(&draft), cued);
        let released = draft.release_length_cue();
        let expected = if cued > limit { cued - target } else { 0 };
        assert_eq!(released, expected, "{cued} cued");
        assert_eq!(draft.pending().len(), expected);
        assert_eq!(cue_count(&draft), cued - expected);
        assert_eq!(draft.reasons().get(LENGTH_CUE_REASON).copied().unwrap_or(0), expected);
        let (items, dropped) = draft.checkpoint_changes();
        assert!(items.is_empty());
        assert_eq!(dropped.len(), expected, "the checkpoint forgets what was sent back");
        assert_eq!(draft.release_length_cue(), 0, "once at the target, nothing more goes back");
    }
}

#[test]
fn the_most_conspicuous_keys_go_back_first_and_their_stems_are_free_again() {
    // 40 cued items, margins 0..=39 by slot: the 23 with the largest margins go back.
    let mut draft = filled(|slot| (slot < 40).then_some(slot));
    assert_eq!(draft.release_length_cue(), 23);
    assert_eq!(draft.pending(), (17..40).collect::<Vec<_>>());
    let chunk = plan_chunks(draft.slots(), &draft.pending(), 30, 0).remove(0);
    assert!(chunk.brief.balance_lengths);
    assert!(chunk.brief.user_message().contains("must not be the longest"));
    assert_eq!(ChunkBrief::parse(&chunk.brief.user_message()), Some(chunk.brief.clone()));
    // The same items again (the old stems are no longer taken), this time without the cue.
    assert_eq!(draft.accept(&chunk, Some(&answer(&draft, &chunk, 3))), 23);
    assert_eq!(draft.release_length_cue(), 0);
    assert!(draft.finish(&ExamSpec::builtin(ExamType::Diagnostic), 1, 2).is_ok());
}

#[test]
fn an_exam_still_cued_after_the_last_round_fails_incomplete_with_the_reason() {
    let mut draft = filled(|_| Some(1));
    assert_eq!(draft.release_length_cue(), 71 - 17);
    match draft.finish(&ExamSpec::builtin(ExamType::Diagnostic), 1, 4) {
        Err(err @ GenerateError::Incomplete { .. }) => {
            assert!(err.to_string().contains("answer_length_cue x54"), "{err}");
            assert!(crate::error::ErrorCode::is_retryable(&err));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn accepted_items_wait_for_the_checkpoint_until_saved() {
    let spec = ExamSpec::builtin(ExamType::Diagnostic);
    let mut draft = Draft::new(&spec);
    assert_eq!(draft.checkpoint_changes(), (vec![], vec![]));
    let chunk = plan_chunks(draft.slots(), &draft.pending(), 5, 0).remove(0);
    draft.accept(&chunk, Some(&answer(&draft, &chunk, 1)));
    let (items, dropped) = draft.checkpoint_changes();
    assert_eq!(items.iter().map(|i| i.slot).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    assert!(dropped.is_empty());
    assert_eq!(items[2].question.kn_id, draft.slots()[2].kn.to_string());
    draft.checkpoint_saved();
    assert_eq!(draft.checkpoint_changes(), (vec![], vec![]));
    assert_eq!(draft.filled(), 5);
}

#[test]
fn a_checkpoint_is_restored_item_by_item_and_what_no_longer_fits_is_dropped() {
    let spec = ExamSpec::builtin(ExamType::Diagnostic);
    let slots = spec.slots();
    let good = |slot: usize| CheckpointItem {
        slot: slot as u32,
        question: synthetic_question(slot as u32 + 1, slots[slot], 9),
    };
    let mut wrong_kn = good(1);
    wrong_kn.question = synthetic_question(2, slots[5], 9);
    let mut broken = good(2);
    broken.question.options.pop();
    let mut repeated = good(3);
    repeated.question.question = good(0).question.question;
    let mut unscored = good(4);
    unscored.question.is_scored = !unscored.question.is_scored;
    let beyond = CheckpointItem { slot: 500, question: good(6).question };
    let saved = vec![good(0), wrong_kn, broken, repeated, unscored, good(6), beyond];
    let mut draft = Draft::new(&spec);
    assert_eq!(draft.restore(saved), 2);
    assert_eq!(draft.filled(), 2);
    assert!(!draft.pending().contains(&0) && !draft.pending().contains(&6));
    assert_eq!(draft.reasons()["checkpoint_item_dropped"], 5);
    let (items, dropped) = draft.checkpoint_changes();
    assert!(items.is_empty(), "restored items are saved already");
    assert_eq!(dropped, [1, 2, 3, 4, 500]);
    // The restored item's stem is taken: a new draft repeating it is refused.
    let chunk = plan_chunks(draft.slots(), &[3], 1, 0).remove(0);
    let mut input = answer(&draft, &chunk, 1);
    input["questions"][0]["question"] = json!(good(0).question.question);
    assert_eq!(draft.accept(&chunk, Some(&input)), 0);
    assert_eq!(draft.reasons()["stem_duplicate"], 1);
}

#[test]
fn the_tool_input_as_json_text_is_read_like_json() {
    let spec = ExamSpec::builtin(ExamType::Diagnostic);
    let mut draft = Draft::new(&spec);
    let chunk = plan_chunks(draft.slots(), &draft.pending(), 10, 0).remove(0);
    let input = answer(&draft, &chunk, 1);
    let as_text = json!({"questions": input["questions"].to_string()});
    assert_eq!(draft.accept(&chunk, Some(&as_text)), 10);
    assert_eq!(draft.reasons().get("missing_from_response"), None);
}

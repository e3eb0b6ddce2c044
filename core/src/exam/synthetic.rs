//! Visibly synthetic, valid exam items, for the simulator, tests, benches and the demo. Every stem starts with
//! `[simulated]` so such an item can never pass for real content.

use serde_json::Map;

use super::{Exam, ExamSpec, ItemSlot, Question, shuffle_options};

const DIFFICULTIES: [&str; 3] = ["easy", "medium", "hard"];

/// One synthetic item for `slot`, numbered `id`; `salt` varies the wording so stems stay distinct across calls.
/// The key is the first option; callers shuffle.
pub fn synthetic_question(id: u32, slot: ItemSlot, salt: u64) -> Question {
    let kn = slot.kn;
    let tag = format!("{kn}-{salt:x}-{id}");
    Question {
        id,
        question: format!("[simulated] Item {tag}: which statement about {} is best supported?", kn.topic()),
        options: vec![
            format!("The best-supported statement on {} ({tag})", kn.topic()),
            format!("A widely held misconception about {} ({tag})", kn.topic()),
            format!("An overgeneralisation from a single study ({tag})"),
            format!("A claim that confuses correlation with causation ({tag})"),
        ],
        correct_answer: format!("The best-supported statement on {} ({tag})", kn.topic()),
        explanation: format!(
            "[simulated] The first statement reflects the evidence on {}; the others are typical errors.",
            kn.topic()
        ),
        domain: kn.domain().into(),
        kn_id: kn.to_string(),
        difficulty: DIFFICULTIES[(id as usize) % DIFFICULTIES.len()].to_owned(),
        is_scored: slot.is_scored,
        kind: "standard".to_owned(),
        extra: Map::new(),
    }
}

/// A complete exam that passes validation against `spec`: one synthetic item per slot, options shuffled with
/// `seed` so the key positions are balanced.
pub fn synthetic_exam(spec: &ExamSpec, seed: u64) -> Exam {
    let questions = spec
        .slots()
        .into_iter()
        .enumerate()
        .map(|(i, slot)| synthetic_question(i as u32 + 1, slot, seed))
        .collect();
    let mut exam = Exam::new(questions);
    shuffle_options(&mut exam, seed);
    exam
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exam::{ExamType, validate_exam};

    #[test]
    fn synthetic_exams_are_valid_for_both_builtin_specs() {
        for exam_type in ExamType::ALL {
            let spec = ExamSpec::builtin(exam_type);
            let exam = synthetic_exam(&spec, 7);
            let report = validate_exam(&exam, &spec);
            assert!(report.is_valid(), "{exam_type}: {:?}", report.problems);
            assert!(exam.questions.iter().all(|q| q.question.starts_with("[simulated]")));
        }
    }

    #[test]
    fn seeds_change_the_wording() {
        let spec = ExamSpec::diagnostic();
        assert_ne!(synthetic_exam(&spec, 1).questions[0].question, synthetic_exam(&spec, 2).questions[0].question);
    }
}

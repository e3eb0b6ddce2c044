//! Seeded option shuffling that balances where the correct answers sit, so the answer key never depends on the
//! model (the seed system had 80% of its keys at position B).

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::model::Exam;

/// How many options an item must have to take part in the balancing.
const OPTIONS: usize = 4;

/// Re-orders every item's options with a ChaCha8 generator seeded from `seed`, so that across the exam each of
/// the four positions holds ⌊M/4⌋ or ⌈M/4⌉ of the keys (M = items taking part); distractors fill the other
/// positions in random order. Deterministic for a seed. Items whose key matches no option, or that do not have
/// exactly four options, are left untouched for validation to report; `correct_answer` is text, so it stays right.
pub fn shuffle_options(exam: &mut Exam, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let eligible: Vec<(usize, usize)> = exam
        .questions
        .iter()
        .enumerate()
        .filter(|(_, q)| q.options.len() == OPTIONS)
        .filter_map(|(i, q)| q.options.iter().position(|o| *o == q.correct_answer).map(|key| (i, key)))
        .collect();
    let mut positions: Vec<usize> = (0..eligible.len()).map(|i| i % OPTIONS).collect();
    positions.shuffle(&mut rng);
    for ((item, key), target) in eligible.into_iter().zip(positions) {
        let options = &mut exam.questions[item].options;
        let key_text = options.remove(key);
        options.shuffle(&mut rng);
        options.insert(target, key_text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exam::model::{DomainField, Question};
    use crate::exam::{Domain, ExamSpec, validate_exam};

    fn exam_with_keys_at_b(n: u32) -> Exam {
        let questions = (1..=n)
            .map(|id| Question {
                id,
                question: format!("Stem {id}"),
                options: (0..4).map(|j| format!("Option {j} of item {id}")).collect(),
                correct_answer: format!("Option 1 of item {id}"),
                explanation: "Because.".into(),
                domain: DomainField::Known(Domain::new(1).unwrap()),
                kn_id: "KN1".into(),
                difficulty: "medium".into(),
                is_scored: true,
                kind: "standard".into(),
                extra: Default::default(),
            })
            .collect();
        Exam::new(questions)
    }

    fn key_positions(exam: &Exam) -> [usize; 4] {
        let mut counts = [0; 4];
        for q in &exam.questions {
            counts[q.options.iter().position(|o| *o == q.correct_answer).expect("key present")] += 1;
        }
        counts
    }

    #[test]
    fn keys_are_balanced_for_exam_sizes_in_use() {
        for n in [40u32, 71, 225] {
            let mut exam = exam_with_keys_at_b(n);
            let before: Vec<Vec<String>> = exam.questions.iter().map(|q| sorted(&q.options)).collect();
            shuffle_options(&mut exam, 7);
            let counts = key_positions(&exam);
            let (lo, hi) = (n as usize / 4, (n as usize).div_ceil(4));
            for c in counts {
                assert!((lo..=hi).contains(&c), "n={n}: {counts:?}");
                assert!(c * 100 >= 15 * n as usize && c * 100 <= 35 * n as usize);
            }
            let after: Vec<Vec<String>> = exam.questions.iter().map(|q| sorted(&q.options)).collect();
            assert_eq!(before, after, "options are only re-ordered");
        }
    }

    fn sorted(options: &[String]) -> Vec<String> {
        let mut v = options.to_vec();
        v.sort();
        v
    }

    #[test]
    fn same_seed_same_order_and_different_seed_different_order() {
        let shuffled = |seed| {
            let mut exam = exam_with_keys_at_b(225);
            shuffle_options(&mut exam, seed);
            exam
        };
        assert_eq!(shuffled(42), shuffled(42));
        assert_ne!(shuffled(42), shuffled(43));
    }

    #[test]
    fn items_without_their_key_or_with_other_option_counts_are_left_alone() {
        let mut exam = exam_with_keys_at_b(40);
        exam.questions[0].correct_answer = "not an option".into();
        exam.questions[1].options.pop();
        let (first, second) = (exam.questions[0].clone(), exam.questions[1].clone());
        shuffle_options(&mut exam, 1);
        assert_eq!(exam.questions[0], first);
        assert_eq!(exam.questions[1], second);
        assert_eq!(key_positions(&Exam::new(exam.questions[2..].to_vec())).iter().sum::<usize>(), 38);
    }

    #[test]
    fn shuffled_generated_exams_pass_the_position_rule() {
        for spec in [ExamSpec::diagnostic(), ExamSpec::practice()] {
            let mut exam = crate::exam::validate::test_support::exam_from_slots(&spec);
            shuffle_options(&mut exam, 2024);
            let report = validate_exam(&exam, &spec);
            assert!(report.is_valid(), "{}: {:?}", spec.name, report.problems);
        }
    }
}

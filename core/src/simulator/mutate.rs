//! Item-level faults: spoiling a good item list the ways a model can (items breaking each rule in turn, a repeated
//! stem, one item too few or too many, options carrying their own labels, every key the longest option), so the
//! generator's validation and regeneration get exercised.

use crate::exam::{Domain, Kn};
use crate::prompt::{ChunkBrief, DraftItem};

use super::faults::FaultKind;
use super::items::{lengthen_key, mix, write_item};

/// The item rules a `bad_items` fault breaks, one per spoiled item, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BrokenRule {
    /// Three options.
    ThreeOptions,
    /// Five options.
    FiveOptions,
    /// Two options the same.
    DuplicateOption,
    /// `correct_answer` matching no option.
    KeyNotInOptions,
    /// An "All of the above" option.
    AllOfTheAbove,
    /// An empty stem.
    EmptyStem,
    /// An empty explanation.
    EmptyExplanation,
    /// Difficulty `extreme`.
    DifficultyExtreme,
    /// A `knId` other than the one asked for (in another domain).
    WrongKn,
}

impl BrokenRule {
    /// Every rule, in the order they are broken.
    pub(crate) const ALL: [BrokenRule; 9] = [
        BrokenRule::ThreeOptions,
        BrokenRule::FiveOptions,
        BrokenRule::DuplicateOption,
        BrokenRule::KeyNotInOptions,
        BrokenRule::AllOfTheAbove,
        BrokenRule::EmptyStem,
        BrokenRule::EmptyExplanation,
        BrokenRule::DifficultyExtreme,
        BrokenRule::WrongKn,
    ];

    /// The rule broken by the `k`-th spoiled item of a brief with this `variation`.
    pub(crate) fn nth(k: usize, variation: u64) -> Self {
        Self::ALL[(k + (variation % Self::ALL.len() as u64) as usize) % Self::ALL.len()]
    }
}

/// Applies an item-level fault to `items` (written for `brief`); other kinds leave them alone.
pub(crate) fn spoil(kind: FaultKind, items: &mut Vec<DraftItem>, brief: &ChunkBrief, seed: u64) {
    match kind {
        FaultKind::BadItems => {
            for (k, item) in items.iter_mut().step_by(2).enumerate() {
                break_rule(item, BrokenRule::nth(k, brief.variation));
            }
        }
        FaultKind::Duplicates => match items.len() {
            0 => {}
            1 => items.push(items[0].clone()),
            n => {
                let copy = 1 + (brief.variation as usize) % (n - 1);
                items[copy].question = items[0].question.clone();
            }
        },
        FaultKind::WrongCount => {
            let draw = mix(seed, brief.variation, u64::MAX);
            if draw.is_multiple_of(2) && !items.is_empty() {
                let at = (draw / 2) as usize % items.len();
                items.remove(at);
            } else {
                let kn = brief.items.last().copied().unwrap_or(Kn::all().next().expect("KN1 exists"));
                items.push(write_item(seed, brief.variation, brief.items.len(), kn, brief.balance_lengths));
            }
        }
        FaultKind::LengthCue => items.iter_mut().for_each(lengthen_key),
        FaultKind::LabelledOptions => {
            for (k, item) in items.iter_mut().step_by(2).enumerate() {
                label_options(item, LabelForm::nth(k, brief.variation));
            }
        }
        _ => {}
    }
}

/// How a model may write an option's own label into it; after the shuffle in code the printed letter lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LabelForm {
    /// `A. text`.
    Dot,
    /// `(a) text`.
    Parenthesised,
    /// `A) text`.
    Paren,
    /// `A: text`.
    Colon,
    /// The option is the bare letter `A` (and the key the letter).
    Bare,
}

impl LabelForm {
    /// Every form, in the order spoiled items get them.
    pub(crate) const ALL: [LabelForm; 5] =
        [LabelForm::Dot, LabelForm::Parenthesised, LabelForm::Paren, LabelForm::Colon, LabelForm::Bare];

    /// The form of the `k`-th spoiled item of a brief with this `variation`.
    pub(crate) fn nth(k: usize, variation: u64) -> Self {
        Self::ALL[(k + (variation % Self::ALL.len() as u64) as usize) % Self::ALL.len()]
    }

    /// `text` with the label of option number `index` (0 for A).
    fn apply(self, index: usize, text: &str) -> String {
        let upper = char::from(b'A' + index as u8);
        let lower = upper.to_ascii_lowercase();
        match self {
            LabelForm::Dot => format!("{upper}. {text}"),
            LabelForm::Parenthesised => format!("({lower}) {text}"),
            LabelForm::Paren => format!("{upper}) {text}"),
            LabelForm::Colon => format!("{upper}: {text}"),
            LabelForm::Bare => upper.to_string(),
        }
    }
}

/// Writes each option's label into it, the key as the labelled text of its option.
pub(crate) fn label_options(item: &mut DraftItem, form: LabelForm) {
    let key = item.options.iter().position(|o| *o == item.correct_answer);
    for (i, option) in item.options.iter_mut().enumerate() {
        *option = form.apply(i, option);
    }
    if let Some(key) = key {
        item.correct_answer = item.options[key].clone();
    }
}

/// Spoils one item so that it breaks `rule` (and, as far as possible, only that rule).
pub(crate) fn break_rule(item: &mut DraftItem, rule: BrokenRule) {
    let distractors: Vec<usize> =
        (0..item.options.len()).filter(|&i| item.options[i] != item.correct_answer).collect();
    match rule {
        BrokenRule::ThreeOptions => {
            item.options.remove(distractors[distractors.len() - 1]);
        }
        BrokenRule::FiveOptions => {
            let extra = format!("Refer the question to a colleague without further review ({})", item.kn_id);
            item.options.push(extra);
        }
        BrokenRule::DuplicateOption => {
            item.options[distractors[1]] = item.options[distractors[0]].clone();
        }
        BrokenRule::KeyNotInOptions => {
            item.correct_answer = format!("{} (as paraphrased)", item.correct_answer);
        }
        BrokenRule::AllOfTheAbove => {
            item.options[distractors[distractors.len() - 1]] = "All of the above".to_owned();
        }
        BrokenRule::EmptyStem => item.question.clear(),
        BrokenRule::EmptyExplanation => item.explanation.clear(),
        BrokenRule::DifficultyExtreme => item.difficulty = "extreme".to_owned(),
        BrokenRule::WrongKn => {
            let asked = Kn::parse(&item.kn_id).map_or(1, |kn| kn.domain().number());
            let other = Domain::new(asked % 8 + 1).expect("domains wrap within 1..=8");
            item.kn_id = other.knowledge_statements().next().expect("every domain has a KN").to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exam::{ProblemCode, validate_item};
    use crate::simulator::items::{tests::as_question, write_items};

    fn brief(n: u8, variation: u64) -> ChunkBrief {
        ChunkBrief { items: (1..=n).map(|i| Kn::new(i * 3).unwrap()).collect(), variation, balance_lengths: false }
    }

    #[test]
    fn every_broken_rule_is_caught_by_the_item_validator() {
        let expected = [
            ProblemCode::OptionCount,
            ProblemCode::OptionCount,
            ProblemCode::OptionDuplicate,
            ProblemCode::KeyNotInOptions,
            ProblemCode::OptionBanned,
            ProblemCode::StemEmpty,
            ProblemCode::ExplanationEmpty,
            ProblemCode::DifficultyInvalid,
        ];
        let items = write_items(1, &brief(9, 0));
        for (rule, item) in BrokenRule::ALL.into_iter().zip(items) {
            let kn = item.kn_id.clone();
            let mut spoiled = item;
            break_rule(&mut spoiled, rule);
            if rule == BrokenRule::WrongKn {
                assert_ne!(spoiled.kn_id, kn);
                assert_ne!(Kn::parse(&spoiled.kn_id).unwrap().domain(), Kn::parse(&kn).unwrap().domain());
                continue;
            }
            let problems = validate_item(&as_question(&spoiled, 1));
            let codes: Vec<_> = problems.iter().map(|p| p.code).collect();
            assert_eq!(codes, vec![expected[rule as usize]], "{rule:?}");
        }
    }

    #[test]
    fn bad_items_spoil_every_other_item_in_turn() {
        let b = brief(18, 2);
        let original = write_items(1, &b);
        let mut items = original.clone();
        spoil(FaultKind::BadItems, &mut items, &b, 1);
        for (i, (before, after)) in original.iter().zip(&items).enumerate() {
            assert_eq!(before != after, i % 2 == 0, "item {i}");
        }
    }

    #[test]
    fn labelled_options_carry_every_form_in_turn_and_the_key_still_matches() {
        let b = brief(10, 0);
        let original = write_items(1, &b);
        let mut items = original.clone();
        spoil(FaultKind::LabelledOptions, &mut items, &b, 1);
        let expected = [["A. ", "B. "], ["(a) ", "(b) "], ["A) ", "B) "], ["A: ", "B: "]];
        for (k, form) in expected.iter().enumerate() {
            let (item, before) = (&items[2 * k], &original[2 * k]);
            assert!(item.options[0].starts_with(form[0]) && item.options[1].starts_with(form[1]), "{k}");
            assert!(item.options[0].ends_with(&before.options[0]));
            assert!(item.options.contains(&item.correct_answer));
        }
        assert_eq!(items[8].options, ["A", "B", "C", "D"]);
        assert!(items[8].options.contains(&items[8].correct_answer));
        assert!(items.iter().skip(1).step_by(2).zip(original.iter().skip(1).step_by(2)).all(|(a, b)| a == b));
    }

    #[test]
    fn the_length_cue_fault_makes_every_key_the_strictly_longest_option() {
        let b = ChunkBrief { balance_lengths: true, ..brief(12, 1) };
        let mut items = write_items(3, &b);
        spoil(FaultKind::LengthCue, &mut items, &b, 3);
        for item in &items {
            let q = as_question(item, 1);
            assert!(crate::exam::key_is_strictly_longest(&q), "{}", item.options.join(" | "));
            assert!(validate_item(&q).is_empty());
        }
    }

    #[test]
    fn duplicates_and_wrong_counts_change_what_they_say() {
        let b = brief(5, 4);
        let mut items = write_items(1, &b);
        spoil(FaultKind::Duplicates, &mut items, &b, 1);
        assert_eq!(items.len(), 5);
        assert_eq!(items.iter().filter(|i| i.question == items[0].question).count(), 2);
        for seed in 0..6 {
            let mut items = write_items(seed, &b);
            spoil(FaultKind::WrongCount, &mut items, &b, seed);
            assert!(items.len() == 4 || items.len() == 6);
        }
    }
}

//! What validation reports: the stable problem codes, one problem, and the report of an exam or file.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::exam::Question;

/// One rule an exam or item can break; the snake_case code is stable and is what reports and metrics carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// The item does not have exactly four options.
    OptionCount,
    /// An option is empty or only white space.
    OptionEmpty,
    /// Two options read the same: equal after Unicode compatibility folding (NFKC), case folding, and with
    /// zero-width characters, quote and dash variants, punctuation and spacing ignored ("X" and "X.").
    OptionDuplicate,
    /// An option is only a label ("A", "(c)") or begins with one ("A. text", "(a) text"); options are shuffled in
    /// code, so the printed label would be wrong.
    OptionLabelled,
    /// `correct_answer` is not exactly the text of one option.
    KeyNotInOptions,
    /// An option refers to other options: a collective or positional reference ("All of the above", "None of
    /// the choices above", "Neither of the previous two") or labels naming options ("Both A and B are part of the
    /// theory", "Options 1 and 3").
    OptionBanned,
    /// The stem is empty.
    StemEmpty,
    /// The explanation is empty.
    ExplanationEmpty,
    /// `difficulty` is not `easy`, `medium` or `hard`.
    DifficultyInvalid,
    /// `domain` is missing or names none of the eight domains (`"Domain N: any name"` is domain N).
    DomainUnknown,
    /// `knId` is missing or is not one of `KN1`..`KN71`.
    KnUnknown,
    /// `domain` and `knId` are both valid but the KN belongs to another domain.
    DomainKnMismatch,
    /// A field has the wrong JSON type (a string id `"12"`, a numeric domain `3`, an item that is not an object):
    /// read as meant where the meaning is clear, but the front-end would not read it.
    FieldType,
    /// A field is written under an older name (`stem`, `answer`, `kn`, `scored`): read under the current one
    /// (`question`, `correct_answer`, `knId`, `isScored`), but the front-end would not read it.
    FieldRenamed,
    /// Two stems are the same after normalising case, white space and punctuation.
    StemDuplicate,
    /// The ids are not exactly 1..N, unique and in order, or an id is missing or not a number (the item is then
    /// numbered by its position).
    IdSequence,
    /// The exam holds fewer items than its spec.
    Incomplete,
    /// The exam holds more items than its spec.
    TooManyItems,
    /// A domain holds a different number of items than the spec gives it.
    DomainCount,
    /// A knowledge statement holds more or fewer items than an even spread of its domain's count allows.
    KnCount,
    /// The number of scored items, in total or in a domain, differs from the spec.
    ScoredCount,
    /// In an exam of 40 or more items, a position holds more than 35% or fewer than 15% of the keys.
    AnswerPositionImbalance,
    /// The key is the strictly longest option in more items than chance allows (see [`length_cue_limit`](crate::exam::length_cue_limit)).
    AnswerLengthCue,
    /// Text follows the exam's JSON document (a stray `]` and `}` broke the old loader).
    TrailingText,
    /// The front matter's `question_count` differs from the number of items in the file.
    QuestionCountMismatch,
    /// The front matter's `exam_type` differs from the type the file is checked as (or names no type).
    ExamTypeMismatch,
}

impl ProblemCode {
    /// Every code, in order.
    pub const ALL: [ProblemCode; 26] = [
        ProblemCode::OptionCount,
        ProblemCode::OptionEmpty,
        ProblemCode::OptionDuplicate,
        ProblemCode::OptionLabelled,
        ProblemCode::KeyNotInOptions,
        ProblemCode::OptionBanned,
        ProblemCode::StemEmpty,
        ProblemCode::ExplanationEmpty,
        ProblemCode::DifficultyInvalid,
        ProblemCode::DomainUnknown,
        ProblemCode::KnUnknown,
        ProblemCode::DomainKnMismatch,
        ProblemCode::FieldType,
        ProblemCode::FieldRenamed,
        ProblemCode::StemDuplicate,
        ProblemCode::IdSequence,
        ProblemCode::Incomplete,
        ProblemCode::TooManyItems,
        ProblemCode::DomainCount,
        ProblemCode::KnCount,
        ProblemCode::ScoredCount,
        ProblemCode::AnswerPositionImbalance,
        ProblemCode::AnswerLengthCue,
        ProblemCode::TrailingText,
        ProblemCode::QuestionCountMismatch,
        ProblemCode::ExamTypeMismatch,
    ];

    /// The stable snake_case code, e.g. `"answer_position_imbalance"`; the same string serde writes.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::OptionCount => "option_count",
            ProblemCode::OptionEmpty => "option_empty",
            ProblemCode::OptionDuplicate => "option_duplicate",
            ProblemCode::OptionLabelled => "option_labelled",
            ProblemCode::KeyNotInOptions => "key_not_in_options",
            ProblemCode::OptionBanned => "option_banned",
            ProblemCode::StemEmpty => "stem_empty",
            ProblemCode::ExplanationEmpty => "explanation_empty",
            ProblemCode::DifficultyInvalid => "difficulty_invalid",
            ProblemCode::DomainUnknown => "domain_unknown",
            ProblemCode::KnUnknown => "kn_unknown",
            ProblemCode::DomainKnMismatch => "domain_kn_mismatch",
            ProblemCode::FieldType => "field_type",
            ProblemCode::FieldRenamed => "field_renamed",
            ProblemCode::StemDuplicate => "stem_duplicate",
            ProblemCode::IdSequence => "id_sequence",
            ProblemCode::Incomplete => "incomplete",
            ProblemCode::TooManyItems => "too_many_items",
            ProblemCode::DomainCount => "domain_count",
            ProblemCode::KnCount => "kn_count",
            ProblemCode::ScoredCount => "scored_count",
            ProblemCode::AnswerPositionImbalance => "answer_position_imbalance",
            ProblemCode::AnswerLengthCue => "answer_length_cue",
            ProblemCode::TrailingText => "trailing_text",
            ProblemCode::QuestionCountMismatch => "question_count_mismatch",
            ProblemCode::ExamTypeMismatch => "exam_type_mismatch",
        }
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule: its code, the item it concerns (none for exam-wide rules) and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Which rule.
    pub code: ProblemCode,
    /// The `id` of the item concerned, if the rule is about one item: the id as read (a text id `"12"` as 12, a
    /// missing or unusable id as the item's position, and the position of an item left out for not being an
    /// object).
    pub question_id: Option<u32>,
    /// What is wrong, e.g. `"180 of 225 keys (80%) at position B"`.
    pub message: String,
}

impl Problem {
    pub(crate) fn item(code: ProblemCode, q: &Question, message: String) -> Self {
        Self { code, question_id: Some(q.id), message }
    }

    pub(crate) fn exam(code: ProblemCode, message: String) -> Self {
        Self { code, question_id: None, message }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.question_id {
            Some(id) => write!(f, "[{}] item {id}: {}", self.code, self.message),
            None => write!(f, "[{}] {}", self.code, self.message),
        }
    }
}

/// Everything wrong with an exam; an empty list means it may be stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ValidationReport {
    /// The problems, item rules first (in item order), then exam-wide rules.
    pub problems: Vec<Problem>,
}

impl ValidationReport {
    /// True when no rule is broken.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// How many problems of each code, for logs and metrics.
    pub fn count_by_code(&self) -> BTreeMap<ProblemCode, usize> {
        let mut counts = BTreeMap::new();
        for p in &self.problems {
            *counts.entry(p.code).or_insert(0) += 1;
        }
        counts
    }

    /// Whether any problem has this code.
    pub fn has(&self, code: ProblemCode) -> bool {
        self.problems.iter().any(|p| p.code == code)
    }
}

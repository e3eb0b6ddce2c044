//! Exam validation with stable problem codes: every rule of "What makes an item acceptable" in
//! `eppp-blueprint.md`, checked in code so no model output is stored on trust.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::blueprint::{Domain, Kn};
use super::model::{DomainField, Exam, Question};
use super::spec::ExamSpec;
use length::longest_key_count;
pub use length::{key_is_strictly_longest, length_cue_limit};
use text::{is_banned_option, normalise_words, same_option};

/// Options an item must have.
const OPTIONS: usize = 4;
/// Exams with at least this many items must spread their keys over the positions.
const POSITION_RULE_MIN_ITEMS: usize = 40;
/// No position may hold more than this percentage of the keys, nor fewer than [`POSITION_MIN_PERCENT`].
const POSITION_MAX_PERCENT: usize = 35;
const POSITION_MIN_PERCENT: usize = 15;
const DIFFICULTIES: [&str; 3] = ["easy", "medium", "hard"];

/// One rule an exam or item can break; the snake_case code is stable and is what reports and metrics carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// The item does not have exactly four options.
    OptionCount,
    /// An option is empty or only white space.
    OptionEmpty,
    /// Two options are the same after trimming, collapsing white space and case folding.
    OptionDuplicate,
    /// `correct_answer` is not exactly the text of one option.
    KeyNotInOptions,
    /// An option refers to other options ("all of the above", "both A and B", ...).
    OptionBanned,
    /// The stem is empty.
    StemEmpty,
    /// The explanation is empty.
    ExplanationEmpty,
    /// `difficulty` is not `easy`, `medium` or `hard`.
    DifficultyInvalid,
    /// `domain` names none of the eight domains.
    DomainUnknown,
    /// `knId` is not one of `KN1`..`KN71`.
    KnUnknown,
    /// `domain` and `knId` are both valid but the KN belongs to another domain.
    DomainKnMismatch,
    /// Two stems are the same after normalising case, white space and punctuation.
    StemDuplicate,
    /// The ids are not exactly 1..N, unique and in order.
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
    /// The key is the strictly longest option in more items than chance allows (see [`length_cue_limit`]).
    AnswerLengthCue,
}

impl ProblemCode {
    /// Every code, in order.
    pub const ALL: [ProblemCode; 20] = [
        ProblemCode::OptionCount,
        ProblemCode::OptionEmpty,
        ProblemCode::OptionDuplicate,
        ProblemCode::KeyNotInOptions,
        ProblemCode::OptionBanned,
        ProblemCode::StemEmpty,
        ProblemCode::ExplanationEmpty,
        ProblemCode::DifficultyInvalid,
        ProblemCode::DomainUnknown,
        ProblemCode::KnUnknown,
        ProblemCode::DomainKnMismatch,
        ProblemCode::StemDuplicate,
        ProblemCode::IdSequence,
        ProblemCode::Incomplete,
        ProblemCode::TooManyItems,
        ProblemCode::DomainCount,
        ProblemCode::KnCount,
        ProblemCode::ScoredCount,
        ProblemCode::AnswerPositionImbalance,
        ProblemCode::AnswerLengthCue,
    ];

    /// The stable snake_case code, e.g. `"answer_position_imbalance"`; the same string serde writes.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::OptionCount => "option_count",
            ProblemCode::OptionEmpty => "option_empty",
            ProblemCode::OptionDuplicate => "option_duplicate",
            ProblemCode::KeyNotInOptions => "key_not_in_options",
            ProblemCode::OptionBanned => "option_banned",
            ProblemCode::StemEmpty => "stem_empty",
            ProblemCode::ExplanationEmpty => "explanation_empty",
            ProblemCode::DifficultyInvalid => "difficulty_invalid",
            ProblemCode::DomainUnknown => "domain_unknown",
            ProblemCode::KnUnknown => "kn_unknown",
            ProblemCode::DomainKnMismatch => "domain_kn_mismatch",
            ProblemCode::StemDuplicate => "stem_duplicate",
            ProblemCode::IdSequence => "id_sequence",
            ProblemCode::Incomplete => "incomplete",
            ProblemCode::TooManyItems => "too_many_items",
            ProblemCode::DomainCount => "domain_count",
            ProblemCode::KnCount => "kn_count",
            ProblemCode::ScoredCount => "scored_count",
            ProblemCode::AnswerPositionImbalance => "answer_position_imbalance",
            ProblemCode::AnswerLengthCue => "answer_length_cue",
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
    /// The `id` of the item concerned, if the rule is about one item.
    pub question_id: Option<u32>,
    /// What is wrong, e.g. `"180 of 225 keys (80%) at position B"`.
    pub message: String,
}

impl Problem {
    fn item(code: ProblemCode, q: &Question, message: String) -> Self {
        Self { code, question_id: Some(q.id), message }
    }

    fn exam(code: ProblemCode, message: String) -> Self {
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

/// Checks one item against the item rules only (options, key, stem, explanation, difficulty, domain and KN), so a
/// generator can reject a bad item before it takes a slot.
pub fn validate_item(q: &Question) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_item(q, &mut problems);
    problems
}

/// Checks a whole exam against its spec: every item rule on every item, then duplicate stems, the id sequence,
/// the item count (a short exam is `incomplete` and the other rules are still reported), the per-domain, per-KN
/// and scored counts, the spread of key positions, and the answer-length cue.
pub fn validate_exam(exam: &Exam, spec: &ExamSpec) -> ValidationReport {
    let mut problems = Vec::new();
    for q in &exam.questions {
        check_item(q, &mut problems);
    }
    check_stems(exam, &mut problems);
    check_ids(exam, &mut problems);
    check_size(exam, spec, &mut problems);
    check_counts(exam, spec, &mut problems);
    check_positions(exam, &mut problems);
    check_length_cue(exam, &mut problems);
    ValidationReport { problems }
}

fn check_item(q: &Question, out: &mut Vec<Problem>) {
    use ProblemCode as C;
    if q.options.len() != OPTIONS {
        out.push(Problem::item(
            C::OptionCount,
            q,
            format!("has {} options; an item needs exactly 4", q.options.len()),
        ));
    }
    let empty: Vec<usize> = (0..q.options.len()).filter(|&i| q.options[i].trim().is_empty()).collect();
    if !empty.is_empty() {
        out.push(Problem::item(C::OptionEmpty, q, format!("option {} is empty", letters(&empty))));
    }
    for i in 0..q.options.len() {
        let blank = q.options[i].trim().is_empty();
        if let Some(j) = (i + 1..q.options.len()).find(|&j| !blank && same_option(&q.options[i], &q.options[j])) {
            let (a, b, text) = (letter(i), letter(j), preview(&q.options[j]));
            out.push(Problem::item(C::OptionDuplicate, q, format!("options {a} and {b} are the same: {text:?}")));
        }
    }
    if !q.options.contains(&q.correct_answer) {
        let message = format!("correct_answer {:?} matches none of the options", preview(&q.correct_answer));
        out.push(Problem::item(C::KeyNotInOptions, q, message));
    }
    for (i, option) in q.options.iter().enumerate() {
        if is_banned_option(option) {
            let message = format!("option {} {:?} refers to other options", letter(i), preview(option));
            out.push(Problem::item(C::OptionBanned, q, message));
        }
    }
    if q.question.trim().is_empty() {
        out.push(Problem::item(C::StemEmpty, q, "the stem is empty".into()));
    }
    if q.explanation.trim().is_empty() {
        out.push(Problem::item(C::ExplanationEmpty, q, "the explanation is empty".into()));
    }
    if !DIFFICULTIES.contains(&q.difficulty.as_str()) {
        let message = format!("difficulty {:?} is not easy, medium or hard", preview(&q.difficulty));
        out.push(Problem::item(C::DifficultyInvalid, q, message));
    }
    if let DomainField::Unrecognised(raw) = &q.domain {
        out.push(Problem::item(
            C::DomainUnknown,
            q,
            format!("domain {:?} names none of the 8 domains", preview(raw)),
        ));
    }
    match (q.domain.domain(), strict_kn(&q.kn_id)) {
        (_, None) => {
            let message = format!("knId {:?} is not one of KN1..KN71", preview(&q.kn_id));
            out.push(Problem::item(C::KnUnknown, q, message));
        }
        (Some(domain), Some(kn)) if kn.domain() != domain => {
            let message = format!("{kn} belongs to {}, not {domain}", kn.domain());
            out.push(Problem::item(C::DomainKnMismatch, q, message));
        }
        _ => {}
    }
}

/// The form two stems are compared in for `stem_duplicate`: case, whitespace and punctuation folded away. Lets a
/// generator reject a repeated stem before it is assembled into an exam.
pub fn stem_key(stem: &str) -> String {
    normalise_words(stem)
}

fn check_stems(exam: &Exam, out: &mut Vec<Problem>) {
    let mut seen: HashMap<String, u32> = HashMap::with_capacity(exam.questions.len());
    for q in &exam.questions {
        let key = normalise_words(&q.question);
        if key.is_empty() {
            continue;
        }
        match seen.get(&key) {
            Some(first) => {
                let message = format!("the stem repeats the stem of item {first}");
                out.push(Problem::item(ProblemCode::StemDuplicate, q, message));
            }
            None => {
                seen.insert(key, q.id);
            }
        }
    }
}

fn check_ids(exam: &Exam, out: &mut Vec<Problem>) {
    let wrong: Vec<(usize, u32)> = exam
        .questions
        .iter()
        .enumerate()
        .filter(|(i, q)| u64::from(q.id) != *i as u64 + 1)
        .map(|(i, q)| (i + 1, q.id))
        .collect();
    let Some(&(position, id)) = wrong.first() else { return };
    let mut ids: Vec<u32> = exam.questions.iter().map(|q| q.id).collect();
    ids.sort_unstable();
    let duplicates = ids.windows(2).filter(|w| w[0] == w[1]).count();
    let message = format!(
        "ids are not 1..{} in order: item {position} has id {id}; {} position(s) differ, {duplicates} duplicate id(s)",
        exam.questions.len(),
        wrong.len(),
    );
    out.push(Problem { code: ProblemCode::IdSequence, question_id: Some(id), message });
}

fn check_size(exam: &Exam, spec: &ExamSpec, out: &mut Vec<Problem>) {
    let (have, want) = (exam.questions.len(), spec.item_count as usize);
    if have < want {
        out.push(Problem::exam(ProblemCode::Incomplete, format!("holds {have} of {want} items")));
    } else if have > want {
        out.push(Problem::exam(ProblemCode::TooManyItems, format!("holds {have} items; the spec wants {want}")));
    }
}

fn check_counts(exam: &Exam, spec: &ExamSpec, out: &mut Vec<Problem>) {
    let (mut domains, mut scored_domains, mut kns) = ([0u32; 8], [0u32; 8], [0u32; Kn::COUNT]);
    let mut scored = 0u32;
    for q in &exam.questions {
        scored += u32::from(q.is_scored);
        if let Some(d) = q.domain.domain() {
            domains[d.index()] += 1;
            scored_domains[d.index()] += u32::from(q.is_scored);
        }
        if let Some(kn) = strict_kn(&q.kn_id) {
            kns[kn.index()] += 1;
        }
    }
    let (want_domains, want_scored) = (spec.domain_counts(), spec.scored_domain_counts());
    for d in Domain::ALL {
        let (have, want) = (domains[d.index()], want_domains[d.index()]);
        if have != want {
            out.push(Problem::exam(
                ProblemCode::DomainCount,
                format!("{d} has {have} items; the spec wants {want}"),
            ));
        }
    }
    for d in Domain::ALL {
        let parts = d.kn_count() as u32;
        let (lo, hi) = (want_domains[d.index()] / parts, want_domains[d.index()].div_ceil(parts));
        for kn in d.knowledge_statements() {
            let have = kns[kn.index()];
            if !(lo..=hi).contains(&have) {
                let want = if lo == hi { lo.to_string() } else { format!("{lo} or {hi}") };
                out.push(Problem::exam(
                    ProblemCode::KnCount,
                    format!("{kn} has {have} items; the spec wants {want}"),
                ));
            }
        }
    }
    let total = exam.questions.len() as u32;
    if scored != spec.scored_count {
        let message = format!(
            "{scored} scored / {} unscored; the spec wants {} / {}",
            total - scored,
            spec.scored_count,
            spec.item_count.saturating_sub(spec.scored_count),
        );
        out.push(Problem::exam(ProblemCode::ScoredCount, message));
    }
    for d in Domain::ALL {
        let (have, want) = (scored_domains[d.index()], want_scored[d.index()]);
        if have != want {
            let message = format!("{d} has {have} scored items; the spec wants {want}");
            out.push(Problem::exam(ProblemCode::ScoredCount, message));
        }
    }
}

fn check_positions(exam: &Exam, out: &mut Vec<Problem>) {
    let n = exam.questions.len();
    if n < POSITION_RULE_MIN_ITEMS {
        return;
    }
    let mut at = [0usize; OPTIONS];
    for q in &exam.questions {
        if let Some(p) = q.options.iter().take(OPTIONS).position(|o| *o == q.correct_answer) {
            at[p] += 1;
        }
    }
    for (p, &count) in at.iter().enumerate() {
        let percent = (count * 100 + n / 2) / n;
        let bound = if count * 100 > POSITION_MAX_PERCENT * n {
            format!("more than {POSITION_MAX_PERCENT}%")
        } else if count * 100 < POSITION_MIN_PERCENT * n {
            format!("fewer than {POSITION_MIN_PERCENT}%")
        } else {
            continue;
        };
        let message = format!("{count} of {n} keys ({percent}%) at position {}; {bound}", letter(p));
        out.push(Problem::exam(ProblemCode::AnswerPositionImbalance, message));
    }
}

fn check_length_cue(exam: &Exam, out: &mut Vec<Problem>) {
    let n = exam.questions.len();
    let (count, limit) = (longest_key_count(&exam.questions), length_cue_limit(n));
    if count > limit {
        let percent = (count * 100 + n / 2) / n;
        let message = format!(
            "the key is the strictly longest option in {count} of {n} items ({percent}%); at most {limit} is chance"
        );
        out.push(Problem::exam(ProblemCode::AnswerLengthCue, message));
    }
}

/// The KN of a `knId` written exactly `KN<n>` (the form the front-end stores); `kn33` or `KN033` do not count.
fn strict_kn(text: &str) -> Option<Kn> {
    let digits = text.strip_prefix("KN")?;
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Kn::parse(text)
}

/// `A`, `B`, ... for a 0-based position.
fn letter(position: usize) -> String {
    match u8::try_from(position) {
        Ok(p) if p < 26 => char::from(b'A' + p).to_string(),
        _ => (position + 1).to_string(),
    }
}

fn letters(positions: &[usize]) -> String {
    positions.iter().map(|&p| letter(p)).collect::<Vec<_>>().join(", ")
}

/// Text for a message, cut to 60 characters.
fn preview(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

mod length;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
mod text;

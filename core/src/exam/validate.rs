//! Exam validation with stable problem codes: every rule of "What makes an item acceptable" in
//! `eppp-blueprint.md`, checked in code so no model output is stored on trust.

use std::collections::HashMap;

use super::blueprint::{Domain, Kn};
use super::model::{DomainField, Exam, Question};
use super::spec::ExamSpec;
pub use file::validate_file;
use label::labelled_options;
pub use label::{LabelRepair, strip_option_labels};
use length::longest_key_count;
pub use length::{key_is_strictly_longest, length_cue_limit};
use reference::refers_to_other_options;
pub use report::{Problem, ProblemCode, ValidationReport};
use text::{fold, folds_to_nothing, same_fold};

/// Options an item must have.
const OPTIONS: usize = 4;
/// Exams with at least this many items must spread their keys over the positions.
const POSITION_RULE_MIN_ITEMS: usize = 40;
/// No position may hold more than this percentage of the keys, nor fewer than [`POSITION_MIN_PERCENT`].
const POSITION_MAX_PERCENT: usize = 35;
const POSITION_MIN_PERCENT: usize = 15;
const DIFFICULTIES: [&str; 3] = ["easy", "medium", "hard"];

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
    check_duplicates(q, out);
    check_labels(q, out);
    if !q.options.contains(&q.correct_answer) {
        let message = format!("correct_answer {:?} matches none of the options", preview(&q.correct_answer));
        out.push(Problem::item(C::KeyNotInOptions, q, message));
    }
    for (i, option) in q.options.iter().enumerate() {
        if refers_to_other_options(option) {
            let message = format!("option {} {:?} refers to other options", letter(i), preview(option));
            out.push(Problem::item(C::OptionBanned, q, message));
        }
    }
    if q.question.trim().is_empty() {
        out.push(Problem::item(C::StemEmpty, q, "the stem is empty".into()));
    }
    if q.explanation.trim().is_empty() {
        out.push(Problem::item(C::ExplanationEmpty, q, "the explanation is missing or empty".into()));
    }
    if !DIFFICULTIES.contains(&q.difficulty.as_str()) {
        let message = if q.difficulty.is_empty() {
            "difficulty is missing; expected easy, medium or hard".to_owned()
        } else {
            format!("difficulty {:?} is not easy, medium or hard", preview(&q.difficulty))
        };
        out.push(Problem::item(C::DifficultyInvalid, q, message));
    }
    if let DomainField::Unrecognised(raw) = &q.domain {
        let message = if raw.trim().is_empty() {
            "domain is missing".to_owned()
        } else {
            format!("domain {:?} names none of the 8 domains", preview(raw))
        };
        out.push(Problem::item(C::DomainUnknown, q, message));
    }
    match (q.domain.domain(), strict_kn(&q.kn_id)) {
        (_, None) => {
            let message = if q.kn_id.is_empty() {
                "knId is missing; expected one of KN1..KN71".to_owned()
            } else {
                format!("knId {:?} is not one of KN1..KN71", preview(&q.kn_id))
            };
            out.push(Problem::item(C::KnUnknown, q, message));
        }
        (Some(domain), Some(kn)) if kn.domain() != domain => {
            let message = format!("{kn} belongs to {}, not {domain}", kn.domain());
            out.push(Problem::item(C::DomainKnMismatch, q, message));
        }
        _ => {}
    }
}

/// Options that read the same to a person (see [`ProblemCode::OptionDuplicate`]); blank ones are `option_empty`.
fn check_duplicates(q: &Question, out: &mut Vec<Problem>) {
    for i in 0..q.options.len() {
        let a = &q.options[i];
        if a.trim().is_empty() {
            continue;
        }
        // Text of punctuation only folds to nothing; such options are the same only when equal as written.
        let nothing = folds_to_nothing(a);
        let same = |b: &String| if nothing { a.trim() == b.trim() } else { same_fold(a, b) };
        if let Some(j) = (i + 1..q.options.len()).find(|&j| same(&q.options[j])) {
            let (x, y) = (letter(i), letter(j));
            let message = if *a == q.options[j] {
                format!("options {x} and {y} are the same: {:?}", preview(a))
            } else {
                format!("options {x} and {y} read the same: {:?} and {:?}", preview(a), preview(&q.options[j]))
            };
            out.push(Problem::item(ProblemCode::OptionDuplicate, q, message));
        }
    }
}

/// Options that are or begin with a label (see [`ProblemCode::OptionLabelled`]).
fn check_labels(q: &Question, out: &mut Vec<Problem>) {
    let labelled = labelled_options(&q.options);
    let Some(&(first, _)) = labelled.first() else { return };
    let positions: Vec<usize> = labelled.iter().map(|&(i, _)| i).collect();
    let noun = if positions.len() == 1 { "option" } else { "options" };
    let form = if labelled.iter().all(|&(_, bare)| bare) { "only a label" } else { "a label and text" };
    let message = format!(
        "{noun} {}: {form} ({:?}); options are shuffled, so a printed label would be wrong",
        letters(&positions),
        preview(&q.options[first])
    );
    out.push(Problem::item(ProblemCode::OptionLabelled, q, message));
}

/// The form two stems are compared in for `stem_duplicate`, the same fold as for options: Unicode compatibility
/// forms, case, zero-width characters, quote and dash variants, punctuation and spacing folded away. Lets a
/// generator reject a repeated stem before it is assembled into an exam.
pub fn stem_key(stem: &str) -> String {
    fold(stem)
}

fn check_stems(exam: &Exam, out: &mut Vec<Problem>) {
    let mut seen: HashMap<String, u32> = HashMap::with_capacity(exam.questions.len());
    for q in &exam.questions {
        let key = fold(&q.question);
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

mod file;
mod label;
mod length;
mod lexer;
mod reference;
mod report;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
pub(crate) mod text;

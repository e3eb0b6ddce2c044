//! The field-report fixtures (`tests/fixtures/field-reports/`, copied from the old system's real failures): each
//! file read and validated as a 71-item diagnostic, with its exact verdict. The README beside them names the one
//! defect each was made for; five of them were written by the simulator, whose key is the strictly longest option
//! in every item, so they also carry the answer-length cue, and that is reported too.

use std::collections::BTreeMap;

use pregen_core::exam::{
    ExamSpec, ProblemCode, ValidationReport, read_exam_file, strip_option_labels, validate_exam, validate_file,
};

use ProblemCode as C;

macro_rules! fixture {
    ($name:literal) => {
        ($name, include_str!(concat!("fixtures/field-reports/", $name)))
    };
}

/// Every fixture file, by name.
const FIXTURES: [(&str, &str); 11] = [
    fixture!("option-both-a-and-b-are-part-of-the-theory.json"),
    fixture!("option-none-of-the-choices-above.json"),
    fixture!("option-all-of-the-preceding.json"),
    fixture!("options-differ-by-a-trailing-period.json"),
    fixture!("options-are-bare-letters.json"),
    fixture!("options-start-with-their-letter.json"),
    fixture!("trailing-brackets.md"),
    fixture!("missing-knId-plus-all-keys-at-A.json"),
    fixture!("split-v3-no-explanations-all-keys-at-A.md"),
    fixture!("key-always-longest.json"),
    fixture!("domain-noncanonical-name.json"),
];

fn text(name: &str) -> &'static str {
    FIXTURES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).expect("a fixture of that name")
}

fn report(name: &str) -> ValidationReport {
    let file = read_exam_file(text(name)).unwrap_or_else(|e| panic!("{name} reads: {e}"));
    validate_file(&file, &ExamSpec::diagnostic())
}

/// The report as (code, item) -> how many, for exact comparison.
fn verdict(report: &ValidationReport) -> BTreeMap<(ProblemCode, Option<u32>), usize> {
    let mut counts = BTreeMap::new();
    for p in &report.problems {
        *counts.entry((p.code, p.question_id)).or_insert(0) += 1;
    }
    counts
}

fn expect(name: &str, want: &[(ProblemCode, Option<u32>, usize)]) {
    let report = report(name);
    let want: BTreeMap<_, _> = want.iter().map(|&(code, item, n)| ((code, item), n)).collect();
    assert_eq!(verdict(&report), want, "{name}: {:#?}", report.problems);
    assert_eq!(report.is_valid(), want.is_empty(), "{name}");
}

/// The simulator's fixtures: the key is the strictly longest option in every item (70 of 71 in the one whose
/// first item has bare letters).
const LENGTH_CUE: (ProblemCode, Option<u32>, usize) = (C::AnswerLengthCue, None, 1);

#[test]
fn an_option_naming_others_by_letter_is_banned() {
    expect("option-both-a-and-b-are-part-of-the-theory.json", &[(C::OptionBanned, Some(5), 1)]);
    let message = &report("option-both-a-and-b-are-part-of-the-theory.json").problems[0].message;
    assert!(message.contains("\"Both A and B are part of the theory\""), "{message}");
}

#[test]
fn collective_references_in_other_wordings_are_banned() {
    expect("option-none-of-the-choices-above.json", &[(C::OptionBanned, Some(1), 1), LENGTH_CUE]);
    expect("option-all-of-the-preceding.json", &[(C::OptionBanned, Some(1), 1), LENGTH_CUE]);
}

#[test]
fn options_differing_by_a_final_period_are_duplicates() {
    expect("options-differ-by-a-trailing-period.json", &[(C::OptionDuplicate, Some(1), 1), LENGTH_CUE]);
}

#[test]
fn bare_letter_options_are_labelled() {
    expect("options-are-bare-letters.json", &[(C::OptionLabelled, Some(1), 1), LENGTH_CUE]);
    let report = report("options-are-bare-letters.json");
    assert!(report.problems[0].message.starts_with("options A, B, C, D: only a label"), "{:?}", report.problems);
    assert!(report.problems[1].message.contains("70 of 71 items"), "{:?}", report.problems);
}

#[test]
fn options_starting_with_their_letter_are_labelled_and_can_be_stripped() {
    expect("options-start-with-their-letter.json", &[(C::OptionLabelled, Some(1), 1), LENGTH_CUE]);
    let mut file = read_exam_file(text("options-start-with-their-letter.json")).unwrap();
    let repair = strip_option_labels(&mut file.exam.questions[0]);
    assert_eq!(repair.stripped, [0, 1, 2, 3]);
    let q = &file.exam.questions[0];
    assert!(q.correct_answer.starts_with("Use well-replicated findings") && q.options.contains(&q.correct_answer));
    let after = validate_file(&file, &ExamSpec::diagnostic());
    assert_eq!(verdict(&after), BTreeMap::from([((C::AnswerLengthCue, None), 1)]), "{:#?}", after.problems);
}

#[test]
fn stray_brackets_after_the_json_are_trailing_text() {
    expect("trailing-brackets.md", &[(C::TrailingText, None, 1)]);
    let message = &report("trailing-brackets.md").problems[0].message;
    assert!(message.starts_with("text after the JSON document at line 1220, column 3: \"]\\n}\""), "{message}");
}

#[test]
fn a_missing_kn_is_reported_on_its_item_and_the_key_bias_too() {
    expect(
        "missing-knId-plus-all-keys-at-A.json",
        &[(C::KnUnknown, Some(1), 1), (C::KnCount, None, 1), (C::AnswerPositionImbalance, None, 4)],
    );
    let report = report("missing-knId-plus-all-keys-at-A.json");
    let messages: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert!(messages.contains(&"[kn_unknown] item 1: knId is missing; expected one of KN1..KN71".to_owned()));
    assert!(
        messages
            .contains(&"[answer_position_imbalance] 71 of 71 keys (100%) at position A; more than 35%".to_owned())
    );
}

#[test]
fn a_split_file_without_explanations_reports_each_and_the_key_bias() {
    let want: Vec<_> = (1..=71)
        .map(|id| (C::ExplanationEmpty, Some(id), 1))
        .chain([(C::AnswerPositionImbalance, None, 4)])
        .collect();
    expect("split-v3-no-explanations-all-keys-at-A.md", &want);
    let file = read_exam_file(text("split-v3-no-explanations-all-keys-at-A.md")).unwrap();
    let front_matter = file.front_matter.expect("front matter");
    assert_eq!(
        (front_matter.version.as_deref(), front_matter.other["format"].as_str()),
        (Some("3"), Some("split"))
    );
}

#[test]
fn a_key_that_is_always_longest_is_a_length_cue() {
    expect("key-always-longest.json", &[LENGTH_CUE]);
    let message = &report("key-always-longest.json").problems[0].message;
    assert_eq!(message, "the key is the strictly longest option in 71 of 71 items (100%); at most 30 is chance");
}

#[test]
fn a_numbered_domain_with_the_old_name_is_valid() {
    expect("domain-noncanonical-name.json", &[]);
    let file = read_exam_file(text("domain-noncanonical-name.json")).unwrap();
    assert!(validate_exam(&file.exam, &ExamSpec::diagnostic()).is_valid());
    let written = file.exam.questions.iter().find(|q| q.kn_id == "KN14").expect("a KN14 item");
    let json = serde_json::to_value(written).unwrap();
    assert_eq!(json["domain"], "Domain 3: Social and Cultural Bases of Behavior", "written back canonically");
}

#[test]
fn every_fixture_but_one_is_invalid_and_none_is_refused() {
    for (name, text) in FIXTURES {
        let file = read_exam_file(text).unwrap_or_else(|e| panic!("{name}: refused whole: {e}"));
        let valid = validate_file(&file, &ExamSpec::diagnostic()).is_valid();
        assert_eq!(valid, name == "domain-noncanonical-name.json", "{name}");
    }
}

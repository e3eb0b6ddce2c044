use std::collections::BTreeSet;

use super::test_support::*;
use super::*;
use crate::exam::{Allocation, ExamType, read_exam_file, validate_file};

use ProblemCode as C;

fn codes(report: &ValidationReport) -> BTreeSet<ProblemCode> {
    report.problems.iter().map(|p| p.code).collect()
}

fn item_codes(q: &Question) -> Vec<ProblemCode> {
    validate_item(q).into_iter().map(|p| p.code).collect()
}

fn good() -> Question {
    question(7, Kn::new(33).unwrap(), true)
}

fn practice() -> (Exam, ExamSpec) {
    (valid_exam(&ExamSpec::practice(), 3), ExamSpec::practice())
}

fn diagnostic() -> (Exam, ExamSpec) {
    (valid_exam(&ExamSpec::diagnostic(), 3), ExamSpec::diagnostic())
}

// ---- every ProblemCode, triggered on its own (or with the counts it necessarily drags along) ----

#[test]
fn each_item_rule_triggers_exactly_its_code() {
    type Breaker = fn(&mut Question);
    let cases: [(ProblemCode, Breaker); 11] = [
        (C::OptionCount, |q| q.options.retain(|o| *o != "Statement 4 for item 7")),
        (C::OptionEmpty, |q| q.options[3] = "  ".into()),
        (C::OptionDuplicate, |q| q.options[3] = " statement 3  FOR item 7 ".into()),
        (C::KeyNotInOptions, |q| q.correct_answer = "B".into()),
        (C::OptionBanned, |q| q.options[3] = "All of the above".into()),
        (C::StemEmpty, |q| q.question = "\n".into()),
        (C::ExplanationEmpty, |q| q.explanation = String::new()),
        (C::DifficultyInvalid, |q| q.difficulty = "Medium".into()),
        (C::DomainUnknown, |q| q.domain = DomainField::Unrecognised("Domain 9: Astrology".into())),
        (C::KnUnknown, |q| q.kn_id = "KN72".into()),
        (C::DomainKnMismatch, |q| q.domain = Domain::new(2).unwrap().into()),
    ];
    assert!(validate_item(&good()).is_empty());
    for (code, break_it) in cases {
        let mut q = good();
        break_it(&mut q);
        assert_eq!(item_codes(&q), [code], "{q:?}");
        assert_eq!(validate_item(&q)[0].question_id, Some(7));
    }
}

#[test]
fn non_canonical_kn_ids_are_unknown() {
    for bad in ["kn33", "KN033", " KN33", "KN0", "33", ""] {
        let q = Question { kn_id: bad.into(), ..good() };
        assert_eq!(item_codes(&q), [C::KnUnknown], "{bad:?}");
    }
}

#[test]
fn options_referring_to_others_are_banned_on_the_item() {
    for option in ["All of the above", "None of the choices above", "Both A and B are part of the theory"] {
        let mut q = good();
        q.options[3] = option.into();
        assert_eq!(item_codes(&q), [C::OptionBanned], "{option:?}");
        assert!(validate_item(&q)[0].message.contains("option D"), "{:?}", validate_item(&q));
    }
}

#[test]
fn options_that_read_the_same_are_duplicates() {
    let variants = [
        "Statement 3 for item 7.",
        "statement 3 for item 7",
        "Statement 3 for item\u{00A0}7",
        "Statement 3 for\u{200B} item 7",
        "Ｓｔａｔｅｍｅｎｔ 3 for item 7",
        "Statement 3 \u{2014} for item 7",
        "\u{201C}Statement 3 for item 7\u{201D}",
        "Statement-3 for item 7",
    ];
    for variant in variants {
        let mut q = good();
        q.options[3] = variant.into();
        assert_eq!(item_codes(&q), [C::OptionDuplicate], "{variant:?}");
        assert!(validate_item(&q)[0].message.starts_with("options C and D read the same"), "{variant:?}");
    }
    let mut q = good();
    q.options[3] = "Statement 3 for item 7?".into();
    q.options[2] = "Statement 3 for item 7?".into();
    assert_eq!(validate_item(&q)[0].message, "options C and D are the same: \"Statement 3 for item 7?\"");
    for distinct in ["Statement 3 for item 8", "Statement 3 for item -7", "Statement 3 for item 7%"] {
        let mut q = good();
        q.options[3] = distinct.into();
        assert!(validate_item(&q).is_empty(), "{distinct:?}");
    }
}

#[test]
fn labelled_options_are_reported_once_per_item() {
    let mut q = good();
    for (i, o) in q.options.iter_mut().enumerate() {
        *o = format!("{}. {o}", ["A", "B", "C", "D"][i]);
    }
    q.correct_answer = q.options[0].clone();
    let problems = validate_item(&q);
    assert_eq!(problems.iter().map(|p| p.code).collect::<Vec<_>>(), [C::OptionLabelled]);
    assert_eq!(
        problems[0].message,
        "options A, B, C, D: a label and text (\"A. Statement 1 for item 7\"); options are shuffled, so a printed \
         label would be wrong"
    );
    let repair = strip_option_labels(&mut q);
    assert_eq!(repair.stripped, [0, 1, 2, 3]);
    assert!(validate_item(&q).is_empty(), "{:?}", validate_item(&q));
    let mut bare = good();
    bare.options = ["A", "B", "C", "D"].map(String::from).to_vec();
    bare.correct_answer = "C".into();
    assert_eq!(item_codes(&bare), [C::OptionLabelled]);
    assert!(validate_item(&bare)[0].message.contains("only a label"));
}

#[test]
fn the_number_decides_the_domain_and_a_mismatch_still_shows() {
    let mut q = good();
    q.domain = DomainField::from(Domain::parse("Domain 5: Psychological Assessment & Testing").unwrap());
    assert!(validate_item(&q).is_empty());
    let text = r#"{"id": 7, "question": "Q?", "options": ["w", "x", "y", "z"], "correct_answer": "w",
        "explanation": "e", "domain": "Domain 3: Whatever", "knId": "KN33", "difficulty": "easy"}"#;
    let q: Question = serde_json::from_str(text).unwrap();
    let problems = validate_item(&q);
    assert_eq!(problems.iter().map(|p| p.code).collect::<Vec<_>>(), [C::DomainKnMismatch]);
    assert_eq!(
        problems[0].message,
        "KN33 belongs to Domain 5: Assessment and Diagnosis, not Domain 3: Social and Cultural Bases of Behavior"
    );
}

#[test]
fn missing_fields_say_so() {
    let q = Question {
        kn_id: String::new(),
        difficulty: String::new(),
        domain: DomainField::Unrecognised(String::new()),
        ..good()
    };
    let messages: Vec<String> = validate_item(&q).into_iter().map(|p| p.to_string()).collect();
    assert_eq!(
        messages,
        [
            "[difficulty_invalid] item 7: difficulty is missing; expected easy, medium or hard",
            "[domain_unknown] item 7: domain is missing",
            "[kn_unknown] item 7: knId is missing; expected one of KN1..KN71",
        ]
    );
}

#[test]
fn duplicate_stems_after_normalising() {
    let (mut exam, spec) = practice();
    exam.questions[4].question = format!("  {}!!", exam.questions[1].question.to_uppercase().replace(' ', "\t "));
    let report = validate_exam(&exam, &spec);
    assert_eq!(codes(&report), [C::StemDuplicate].into());
    assert_eq!(report.problems[0].question_id, Some(5));
    assert_eq!(report.problems[0].message, "the stem repeats the stem of item 2");
}

#[test]
fn ids_out_of_order_or_repeated() {
    let (mut exam, spec) = diagnostic();
    exam.questions.swap(2, 3);
    assert_eq!(codes(&validate_exam(&exam, &spec)), [C::IdSequence].into());
    let (mut exam, spec) = diagnostic();
    exam.questions[9].id = 9;
    let report = validate_exam(&exam, &spec);
    assert_eq!(codes(&report), [C::IdSequence].into());
    assert!(report.problems[0].message.contains("1 duplicate id"), "{}", report.problems[0].message);
}

#[test]
fn a_short_exam_is_incomplete_and_its_counts_are_reported() {
    let (mut exam, spec) = diagnostic();
    exam.questions.pop();
    let report = validate_exam(&exam, &spec);
    assert_eq!(codes(&report), [C::Incomplete, C::DomainCount, C::KnCount, C::ScoredCount].into());
    assert_eq!(report.problems[0].message, "holds 70 of 71 items");
}

#[test]
fn an_extra_unscored_item_is_too_many_and_off_its_domain_count() {
    let (mut exam, spec) = practice();
    let extra = question(226, Kn::new(3).unwrap(), false);
    exam.questions.push(extra);
    let report = validate_exam(&exam, &spec);
    assert_eq!(codes(&report), [C::TooManyItems, C::DomainCount].into());
    assert_eq!(report.count_by_code()[&C::DomainCount], 1);
}

#[test]
fn moving_an_unscored_item_to_another_domain_breaks_only_domain_counts() {
    // Practice KN1 holds 5 items (4 or 5 allowed) and KN11 holds 3 (3 or 4 allowed).
    let (mut exam, spec) = practice();
    let q = exam.questions.iter_mut().find(|q| q.kn_id == "KN1" && !q.is_scored).expect("an unscored KN1 item");
    q.kn_id = "KN11".into();
    q.domain = Domain::new(2).unwrap().into();
    let report = validate_exam(&exam, &spec);
    assert_eq!(codes(&report), [C::DomainCount].into());
    let messages: Vec<&str> = report.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "Domain 1: Biological Bases of Behavior has 21 items; the spec wants 22",
            "Domain 2: Cognitive-Affective Bases of Behavior has 30 items; the spec wants 29"
        ]
    );
}

#[test]
fn moving_an_item_between_kns_of_a_domain_breaks_only_kn_counts() {
    let (mut exam, spec) = diagnostic();
    exam.questions[1].kn_id = "KN3".into();
    let report = validate_exam(&exam, &spec);
    assert_eq!(codes(&report), [C::KnCount].into());
    let messages: Vec<&str> = report.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(messages, ["KN2 has 0 items; the spec wants 1", "KN3 has 2 items; the spec wants 1"]);
}

#[test]
fn a_flipped_scored_flag_breaks_total_and_domain_scored_counts() {
    let (mut exam, spec) = diagnostic();
    exam.questions[0].is_scored = false;
    let report = validate_exam(&exam, &spec);
    assert_eq!(codes(&report), [C::ScoredCount].into());
    assert_eq!(report.problems[0].message, "70 scored / 1 unscored; the spec wants 71 / 0");
    assert_eq!(report.count_by_code()[&C::ScoredCount], 2);
}

#[test]
fn keys_all_at_one_position_are_imbalanced() {
    let (mut exam, spec) = practice();
    exam.questions.iter_mut().for_each(|q| put_key_at(q, 0));
    let report = validate_exam(&exam, &spec);
    assert_eq!(codes(&report), [C::AnswerPositionImbalance].into());
    assert_eq!(report.problems[0].message, "225 of 225 keys (100%) at position A; more than 35%");
    assert_eq!(report.problems[1].message, "0 of 225 keys (0%) at position B; fewer than 15%");
    assert_eq!(report.problems.len(), 4);
}

#[test]
fn the_position_rule_starts_at_40_items() {
    for (n, checked) in [(39, false), (40, true)] {
        let spec = ExamSpec {
            name: "mini".into(),
            item_count: n,
            scored_count: n,
            allocation: Allocation::WeightedByDomain,
        };
        let mut exam = valid_exam(&spec, 1);
        exam.questions.iter_mut().for_each(|q| put_key_at(q, 0));
        assert_eq!(validate_exam(&exam, &spec).has(C::AnswerPositionImbalance), checked, "{n} items");
    }
}

#[test]
fn item_problems_inside_an_exam_name_their_item() {
    let (mut exam, spec) = diagnostic();
    exam.questions[20].difficulty = "tricky".into();
    let report = validate_exam(&exam, &spec);
    assert_eq!(report.problems.len(), 1);
    let p = &report.problems[0];
    assert_eq!((p.code, p.question_id), (C::DifficultyInvalid, Some(21)));
    assert_eq!(p.to_string(), "[difficulty_invalid] item 21: difficulty \"tricky\" is not easy, medium or hard");
}

// ---- correct exams, codes and report shape ----

#[test]
fn generated_exams_for_both_builtin_specs_validate_clean() {
    for exam_type in ExamType::ALL {
        let spec = ExamSpec::builtin(exam_type);
        for seed in 0..5 {
            let report = validate_exam(&valid_exam(&spec, seed), &spec);
            assert!(report.is_valid(), "{exam_type} seed {seed}: {:?}", report.problems);
            assert!(report.count_by_code().is_empty());
        }
    }
    let mini = ExamSpec {
        name: "mini".into(),
        item_count: 57,
        scored_count: 50,
        allocation: Allocation::WeightedByDomain,
    };
    assert!(validate_exam(&valid_exam(&mini, 9), &mini).is_valid());
}

#[test]
fn codes_are_stable_strings() {
    for code in ProblemCode::ALL {
        assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        assert_eq!(code.to_string(), code.as_str());
        assert_eq!(serde_json::from_value::<ProblemCode>(code.as_str().into()).unwrap(), code);
    }
    assert!(ProblemCode::ALL.windows(2).all(|w| w[0] < w[1]), "ALL is in Ord order, without repeats");
    assert_eq!(C::AnswerPositionImbalance.as_str(), "answer_position_imbalance");
}

/// A file that breaks `code`: a valid 71-item diagnostic written as Markdown, spoiled in one place. The match is
/// exhaustive, so a new code cannot be added without an input that triggers it.
fn file_breaking(code: ProblemCode) -> String {
    let mut exam = valid_exam(&ExamSpec::diagnostic(), 4);
    let (mut count, mut kind, mut after) = ("71", "diagnostic", "");
    let first_stem = exam.questions[0].question.to_uppercase();
    let q = &mut exam.questions[6];
    let key = q.options.iter().position(|o| *o == q.correct_answer).unwrap();
    let other = (key + 1) % 4;
    match code {
        C::OptionCount => q.options.truncate(3),
        C::OptionEmpty => q.options[other] = " ".into(),
        C::OptionDuplicate => q.options[other] = format!("{}.", q.options[key]),
        C::OptionLabelled => q.options[other] = "(b)".into(),
        C::KeyNotInOptions => q.correct_answer = "B".into(),
        C::OptionBanned => q.options[other] = "None of the choices above".into(),
        C::StemEmpty => q.question.clear(),
        C::ExplanationEmpty => q.explanation.clear(),
        C::DifficultyInvalid => q.difficulty = "tricky".into(),
        C::DomainUnknown => q.domain = DomainField::Unrecognised("Social Psychology".into()),
        C::KnUnknown => q.kn_id = "KN0".into(),
        C::DomainKnMismatch => q.domain = Domain::new(8).unwrap().into(),
        C::FieldType | C::FieldRenamed => {}
        C::StemDuplicate => q.question = first_stem,
        C::IdSequence => q.id = 70,
        C::Incomplete => drop(exam.questions.pop()),
        C::TooManyItems => exam.questions.push(question(72, Kn::new(1).unwrap(), true)),
        C::KnCount => q.kn_id = "KN8".into(),
        C::DomainCount => {
            q.kn_id = "KN60".into();
            q.domain = Domain::new(7).unwrap().into();
        }
        C::ScoredCount => q.is_scored = false,
        C::AnswerPositionImbalance => exam.questions.iter_mut().for_each(|q| put_key_at(q, 0)),
        C::AnswerLengthCue => exam.questions.iter_mut().for_each(|q| {
            let key = q.options.iter().position(|o| *o == q.correct_answer).unwrap();
            q.options[key].push_str(", with a qualifier");
            q.correct_answer.clone_from(&q.options[key]);
        }),
        C::TrailingText => after = "]\n}",
        C::QuestionCountMismatch => count = "225",
        C::ExamTypeMismatch => kind = "practice",
    }
    let mut json = serde_json::to_value(&exam).unwrap();
    match code {
        C::FieldType => json["questions"][6]["id"] = "7".into(),
        C::FieldRenamed => {
            let item = json["questions"][6].as_object_mut().unwrap();
            let stem = item.shift_remove("question").unwrap();
            item.insert("stem".into(), stem);
        }
        _ => {}
    }
    format!("---\nexam_type: {kind}\nquestion_count: {count}\n---\n\n{json}\n{after}")
}

#[test]
fn every_code_is_triggered_by_some_file() {
    assert!(validate_file(&read_exam_file(&file_breaking_nothing()).unwrap(), &ExamSpec::diagnostic()).is_valid());
    for code in ProblemCode::ALL {
        let file = read_exam_file(&file_breaking(code)).unwrap();
        let report = validate_file(&file, &ExamSpec::diagnostic());
        assert!(report.has(code), "{code}: {:#?}", report.problems);
    }
}

/// The unspoiled file [`file_breaking`] starts from.
fn file_breaking_nothing() -> String {
    let json = serde_json::to_string(&valid_exam(&ExamSpec::diagnostic(), 4)).unwrap();
    format!("---\nexam_type: diagnostic\nquestion_count: 71\n---\n\n{json}\n")
}

#[test]
fn report_serialises_in_camel_case() {
    let report = ValidationReport { problems: vec![Problem::exam(C::Incomplete, "holds 8 of 71 items".into())] };
    let json = serde_json::to_string(&report).unwrap();
    assert_eq!(json, r#"{"problems":[{"code":"incomplete","questionId":null,"message":"holds 8 of 71 items"}]}"#);
    assert_eq!(serde_json::from_str::<ValidationReport>(&json).unwrap(), report);
    assert!(!report.is_valid() && report.has(C::Incomplete) && !report.has(C::KnCount));
}

// ---- the seed system's measured defects, from the committed fixture files ----

const DIAGNOSTIC_8: &str = include_str!("../../../tests/fixtures/diagnostic_8_of_71.md");
const PRACTICE_8: &str = include_str!("../../../tests/fixtures/practice_8_of_225.md");
const KEYS_AT_B: &str = include_str!("../../../tests/fixtures/practice_keys_at_b.json");
const PARTIAL_75: &str = include_str!("../../../tests/fixtures/practice_75_of_225.json");

fn read(text: &str) -> Exam {
    read_exam_file(text).expect("fixture reads").exam
}

#[test]
#[ignore = "writes tests/fixtures/; run with --ignored to regenerate them"]
fn write_fixtures() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in fixtures() {
        std::fs::write(format!("{dir}/{name}"), text).unwrap();
    }
}

#[test]
fn committed_fixtures_are_what_the_builder_makes() {
    let committed = [DIAGNOSTIC_8, PRACTICE_8, KEYS_AT_B, PARTIAL_75];
    for ((name, built), text) in fixtures().into_iter().zip(committed) {
        assert!(built == text, "{name} differs from its builder: run the ignored write_fixtures test");
    }
}

#[test]
fn truncated_seed_files_are_incomplete() {
    for (text, exam_type, want) in
        [(DIAGNOSTIC_8, ExamType::Diagnostic, 71), (PRACTICE_8, ExamType::Practice, 225)]
    {
        let file = read_exam_file(text).unwrap();
        let front_matter = file.front_matter.as_ref().expect("front matter");
        assert_eq!(front_matter.question_count, Some(want), "the file claims {want}");
        assert_eq!(front_matter.exam_type.as_deref(), Some(exam_type.as_str()));
        let report = validate_exam(&file.exam, &ExamSpec::builtin(exam_type));
        assert_eq!(codes(&report), [C::Incomplete, C::DomainCount, C::KnCount, C::ScoredCount].into());
        assert_eq!(report.problems[0].message, format!("holds 8 of {want} items"));
    }
    assert_eq!(read(DIAGNOSTIC_8).questions[0].extra["source_file"], "diagnostic_bank.md");
}

#[test]
fn the_b_skewed_seed_exam_is_caught_on_all_three_counts() {
    let report = validate_exam(&read(KEYS_AT_B), &ExamSpec::practice());
    assert_eq!(codes(&report), [C::KeyNotInOptions, C::ScoredCount, C::AnswerPositionImbalance].into());
    let counts = report.count_by_code();
    assert_eq!(counts[&C::KeyNotInOptions], 3);
    assert_eq!(counts[&C::AnswerPositionImbalance], 4);
    let messages: Vec<&str> = report.problems.iter().map(|p| p.message.as_str()).collect();
    assert!(messages.contains(&"180 of 225 keys (80%) at position B; more than 35%"), "{messages:#?}");
    assert!(messages.contains(&"199 scored / 26 unscored; the spec wants 175 / 50"), "{messages:#?}");
}

#[test]
fn the_75_item_seed_exam_is_incomplete() {
    let report = validate_exam(&read(PARTIAL_75), &ExamSpec::practice());
    assert_eq!(codes(&report), [C::Incomplete, C::DomainCount, C::KnCount, C::ScoredCount].into());
    assert_eq!(report.problems[0].message, "holds 75 of 225 items");
}

/// Not a test of speed (no time is asserted): prints how long validating a 225-item exam takes, the best of 50
/// runs, for BENCHMARKS-style figures. Run with
/// `cargo test --release -p pregen-core validation_timing -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement; run by hand in release"]
fn validation_timing() {
    let best_of = |exam: &Exam, spec: &ExamSpec| {
        (0..50)
            .map(|_| {
                let start = std::time::Instant::now();
                assert!(validate_exam(std::hint::black_box(exam), spec).is_valid());
                start.elapsed()
            })
            .min()
            .expect("50 runs")
    };
    let spec = ExamSpec::practice();
    let synthetic = crate::exam::synthetic_exam(&spec, 3);
    eprintln!("225-item synthetic exam: {:?}", best_of(&synthetic, &spec));
    eprintln!("225-item test exam: {:?}", best_of(&valid_exam(&spec, 3), &spec));
}

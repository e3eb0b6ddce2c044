//! Reading exam files: shapes, round trips, positions of errors, and text after the JSON.

use super::*;
use crate::error::ErrorCode;
use crate::exam::{Domain, DomainField};

const ITEMS: &str = r#"{"questions": [
    {"id": 1, "question": "Which test?", "options": ["a", "b", "c", "d"], "correct_answer": "b",
     "explanation": "because", "domain": "Domain 5", "knId": "KN33", "difficulty": "medium",
     "isScored": true, "type": "standard", "source_file": "old.md", "is_org_psych": false},
    {"id": 2, "question": "Which drug?", "options": ["e", "f", "g", "h"], "correct_answer": "h",
     "explanation": "because", "domain": "Biological Bases of Behavior", "knId": "KN2",
     "difficulty": "hard", "question_type": "recall"}
], "version": 2}"#;

fn markdown(body: &str) -> String {
    format!(
        "---\nexam_id: 9f1c\nexam_type: practice\ngenerated_at: 2025-03-01T06:00:00Z\nquestion_count: 225\n\
         version: 1.0\nmodel: claude-sonnet\ntags: [seed, practice]\n---\n\n# Practice exam\n\nSome prose.\n\n{body}\n\nMore prose.\n"
    )
}

fn round_trip(file: &ExamFile) -> ExamFile {
    read_exam_file(&file.to_text()).expect("written file reads back")
}

#[test]
fn plain_json_round_trips_keeping_unknown_fields() {
    let file = read_exam_file(ITEMS).unwrap();
    assert_eq!(file.front_matter, None);
    let q = &file.exam.questions[1];
    assert_eq!(q.domain, DomainField::Known(Domain::new(1).unwrap()));
    assert!(q.is_scored, "isScored defaults to true");
    assert_eq!(q.extra["question_type"], "recall");
    let text = file.to_text();
    assert!(text.contains("\"domain\": \"Domain 5: Assessment and Diagnosis\""), "{text}");
    assert!(text.contains("\"source_file\": \"old.md\"") && text.contains("\"version\": 2"));
    assert_eq!(round_trip(&file), file);
}

#[test]
fn markdown_with_fenced_json_round_trips() {
    let file = read_exam_file(&markdown(&format!("```json\n{ITEMS}\n```"))).unwrap();
    let fm = file.front_matter.clone().expect("front matter");
    assert_eq!(fm.exam_id.as_deref(), Some("9f1c"));
    assert_eq!(fm.exam_type.as_deref(), Some("practice"));
    assert_eq!(fm.generated_at.as_deref(), Some("2025-03-01T06:00:00Z"));
    assert_eq!(fm.question_count, Some(225));
    assert_eq!(fm.version.as_deref(), Some("1.0"));
    assert_eq!(fm.other["model"], "claude-sonnet");
    assert_eq!(fm.other["tags"], serde_json::json!(["seed", "practice"]));
    assert_eq!(file.exam, read_exam_file(ITEMS).unwrap().exam);
    let again = round_trip(&file);
    assert_eq!(again, file);
    assert!(file.to_text().starts_with("---\nexam_id: 9f1c\n"));
}

#[test]
fn markdown_with_bare_json_and_odd_scalars_reads() {
    let text = markdown(ITEMS)
        .replace("question_count: 225", "question_count: '71'")
        .replace("version: 1.0", "version: 3");
    let file = read_exam_file(&text).unwrap();
    let fm = file.front_matter.as_ref().unwrap();
    assert_eq!((fm.question_count, fm.version.as_deref()), (Some(71), Some("3")));
    assert_eq!(file.exam.questions.len(), 2);
    assert_eq!(round_trip(&file), file);
    let empty = read_exam_file(&format!("---\n---\n{ITEMS}")).unwrap();
    assert_eq!(empty.front_matter, Some(FrontMatter::default()));
    assert_eq!(round_trip(&empty), empty);
}

#[test]
fn unclosed_front_matter_is_reported_at_its_opening_line() {
    let err = read_exam_file("\n---\nexam_id: 1\n{\"questions\": []}").unwrap_err();
    assert_eq!(err.code(), "exam_file.bad_front_matter");
    assert!(matches!(err, ExamFileError::BadFrontMatter { line: Some(2), .. }), "{err}");
}

#[test]
fn bad_yaml_is_reported_at_its_file_line() {
    let err = read_exam_file("---\nexam_id: 1\nquestion_count: [oops\n---\n{\"questions\": []}").unwrap_err();
    assert_eq!(err.code(), "exam_file.bad_front_matter");
    let ExamFileError::BadFrontMatter { line: Some(line), .. } = err else { panic!("{err}") };
    assert!((3..=4).contains(&line), "{err}");
    let err = read_exam_file("---\nquestion_count: many\n---\n{\"questions\": []}").unwrap_err();
    assert!(err.to_string().contains("not a whole number"), "{err}");
}

#[test]
fn bad_json_is_reported_at_its_file_line() {
    let cut = &ITEMS[..ITEMS.find("\"Which drug?\"").unwrap()];
    let err = read_exam_file(&markdown(&format!("```json\n{cut}\n```"))).unwrap_err();
    assert_eq!(err.code(), "exam_file.bad_json");
    let ExamFileError::BadJson { line, .. } = err else { panic!() };
    assert_eq!(line, 21, "the fence's closing line, where the cut-off JSON ends");
    let err = read_exam_file("{\"questions\": [{\"id\": 1,}]}").unwrap_err();
    let ExamFileError::BadJson { line: 1, column, reason } = &err else { panic!("{err}") };
    assert!(*column > 1 && reason.contains("trailing comma"), "{err}");
    assert!(err.to_string().starts_with("bad exam JSON at line 1, column"));
}

#[test]
fn json_without_questions_is_not_an_exam() {
    let cases = [
        ("[{\"items\": 1}]", "no \"questions\" array"),
        ("{\"items\": []}", "no \"questions\" array"),
        ("{\"questions\": \"[]\"}", "\"questions\" is text, not an array"),
        ("---\nexam_type: diagnostic\n---\n\n{\"questions\": {}}", "\"questions\" is an object"),
    ];
    for (text, reason) in cases {
        let err = read_exam_file(text).unwrap_err();
        assert_eq!(err.code(), "exam_file.not_an_exam", "{text:?}");
        assert!(err.to_string().contains(reason), "{err}");
    }
    let err = read_exam_file("# Exam\n\n  {\"items\": []}").unwrap_err();
    assert!(matches!(err, ExamFileError::NotAnExam { line: 3, column: 3, .. }), "{err:?}");
}

#[test]
fn items_with_bad_fields_read_with_their_problems() {
    let file = read_exam_file("{\"questions\": [{\"id\": 1}, {\"id\": \"2\", \"stem\": \"Which?\"}]}").unwrap();
    assert_eq!(file.exam.questions.len(), 2);
    assert_eq!(file.exam.questions[1].id, 2);
    assert_eq!(file.exam.questions[1].question, "Which?");
    let codes: Vec<(ProblemCode, Option<u32>)> = file.problems.iter().map(|p| (p.code, p.question_id)).collect();
    assert_eq!(codes, [(ProblemCode::FieldType, Some(2)), (ProblemCode::FieldRenamed, Some(2))]);
}

#[test]
fn text_after_the_json_is_a_problem() {
    let exam = "{\"questions\": []}";
    let trailing = [
        (format!("{exam}\n  ]\n}}\n"), 2, 3, "\"]\\n}\""),
        (format!("{exam} {{\"questions\": []}}"), 1, 19, "\"{\\\"questions\\\": []}\""),
        (format!("{exam}\nMore prose."), 2, 1, "\"More prose.\""),
        (format!("---\nversion: 1\n---\n\n{exam}\n]\n}}\n"), 6, 1, "\"]\\n}\""),
        (format!("---\nversion: 1\n---\n{exam}\nNotes."), 5, 1, "\"Notes.\""),
        (format!("# Exam\n\n```json\n{exam}\n]\n```\nprose after the fence"), 5, 1, "\"]\""),
        (markdown(&format!("{exam}\n}}")), 16, 1, "\"}\\n\\nMore prose.\""),
    ];
    for (text, line, column, shown) in trailing {
        let file = read_exam_file(&text).unwrap();
        let [problem] = file.problems.as_slice() else { panic!("{text:?}: {:?}", file.problems) };
        assert_eq!((problem.code, problem.question_id), (ProblemCode::TrailingText, None), "{text:?}");
        let at = format!("text after the JSON document at line {line}, column {column}: {shown}");
        assert_eq!(problem.message, at, "{text:?}");
    }
    let clean = [
        format!("{exam}\n\n"),
        markdown(exam),
        format!("# Exam\n\n```json\n{exam}\n```\n\nMore prose, ] and }}.\n"),
        format!("---\nversion: 1\n---\n\n```\n{exam}\n```\nnotes"),
    ];
    for text in clean {
        assert_eq!(read_exam_file(&text).unwrap().problems, [], "{text:?}");
    }
}

#[test]
fn text_without_json_is_no_json() {
    for text in ["", "# Just prose", "---\nexam_id: 1\n---\nno json here\n", "```json\n```"] {
        let err = read_exam_file(text).unwrap_err();
        assert_eq!(err.code(), "exam_file.no_json", "{text:?}");
        assert!(!err.is_retryable());
    }
}

//! Validating an exam file as written: what reading found, every exam rule, and the front matter against the
//! body.

use super::{Problem, ProblemCode, ValidationReport, validate_exam};
use crate::exam::{ExamFile, ExamSpec};

/// Checks an exam file as written against `spec`: what reading found ([`ExamFile::problems`]: fields of the wrong
/// type or an older name, ids replaced by positions, text after the JSON), every rule of [`validate_exam`] on the
/// exam as read, and the front matter against the body: `question_count` against the number of items
/// (`question_count_mismatch`) and `exam_type` against the spec's name (`exam_type_mismatch`). Problems come as
/// the reader's item problems, then the exam's, then those of the file.
pub fn validate_file(file: &ExamFile, spec: &ExamSpec) -> ValidationReport {
    let (item_problems, file_problems): (Vec<&Problem>, Vec<&Problem>) =
        file.problems.iter().partition(|p| p.question_id.is_some());
    let exam_report = validate_exam(&file.exam, spec);
    let mut problems: Vec<Problem> = item_problems.into_iter().cloned().collect();
    problems.extend(exam_report.problems);
    problems.extend(file_problems.into_iter().cloned());
    if let Some(front_matter) = &file.front_matter {
        let held = file.exam.questions.len();
        if let Some(claimed) = front_matter.question_count.filter(|&n| n != held as u64) {
            let message = format!("the front matter says question_count {claimed}; the file holds {held} items");
            problems.push(Problem::exam(ProblemCode::QuestionCountMismatch, message));
        }
        if let Some(declared) = front_matter.exam_type.as_deref().filter(|t| t.trim() != spec.name) {
            let message =
                format!("the front matter says exam_type {declared:?}; the file is checked as {:?}", spec.name);
            problems.push(Problem::exam(ProblemCode::ExamTypeMismatch, message));
        }
    }
    ValidationReport { problems }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exam::read_exam_file;
    use crate::exam::validate::test_support::{fixtures, valid_exam};

    use ProblemCode as C;

    fn markdown(exam_type: &str, count: &str, body: &str) -> String {
        format!("---\nexam_id: x\nexam_type: {exam_type}\nquestion_count: {count}\nversion: 1\n---\n\n{body}\n")
    }

    fn codes(report: &ValidationReport) -> Vec<ProblemCode> {
        report.problems.iter().map(|p| p.code).collect()
    }

    #[test]
    fn front_matter_that_agrees_with_the_body_passes() {
        let body = serde_json::to_string(&valid_exam(&ExamSpec::diagnostic(), 2)).unwrap();
        for text in [markdown("diagnostic", "71", &body), markdown("diagnostic", "'71'", &body), body.clone()] {
            let file = read_exam_file(&text).unwrap();
            assert_eq!(validate_file(&file, &ExamSpec::diagnostic()), ValidationReport::default(), "{text:.80}");
        }
    }

    #[test]
    fn a_question_count_other_than_the_items_held_is_reported() {
        let body = serde_json::to_string(&valid_exam(&ExamSpec::diagnostic(), 2)).unwrap();
        for claimed in ["225", "70", "72", "0"] {
            let file = read_exam_file(&markdown("diagnostic", claimed, &body)).unwrap();
            let report = validate_file(&file, &ExamSpec::diagnostic());
            assert_eq!(codes(&report), [C::QuestionCountMismatch], "{claimed}");
            let want = format!("the front matter says question_count {claimed}; the file holds 71 items");
            assert_eq!(report.problems[0].message, want);
        }
    }

    #[test]
    fn an_exam_type_other_than_the_one_checked_is_reported() {
        let body = serde_json::to_string(&valid_exam(&ExamSpec::diagnostic(), 2)).unwrap();
        for declared in ["practice", "Diagnostic", "final", "", "71"] {
            let file = read_exam_file(&markdown(declared, "71", &body)).unwrap();
            let report = validate_file(&file, &ExamSpec::diagnostic());
            let want: &[ProblemCode] = if declared.is_empty() { &[] } else { &[C::ExamTypeMismatch] };
            assert_eq!(codes(&report), want, "{declared:?}");
        }
        let file = read_exam_file(&markdown("practice", "71", &body)).unwrap();
        let report = validate_file(&file, &ExamSpec::diagnostic());
        assert_eq!(
            report.problems[0].message,
            "the front matter says exam_type \"practice\"; the file is checked as \"diagnostic\""
        );
    }

    #[test]
    fn the_seed_files_cut_short_also_contradict_their_front_matter() {
        for (name, text) in fixtures().into_iter().filter(|(n, _)| n.ends_with(".md")) {
            let file = read_exam_file(&text).unwrap();
            let spec = ExamSpec::builtin(
                file.front_matter.as_ref().unwrap().exam_type.as_deref().unwrap().parse().unwrap(),
            );
            let report = validate_file(&file, &spec);
            let mismatch: Vec<&Problem> =
                report.problems.iter().filter(|p| p.code == C::QuestionCountMismatch).collect();
            assert_eq!(mismatch.len(), 1, "{name}");
            let want = format!("the front matter says question_count {}; the file holds 8 items", spec.item_count);
            assert_eq!(mismatch[0].message, want, "{name}");
            assert!(report.has(C::Incomplete), "{name}");
        }
    }

    #[test]
    fn reader_problems_come_first_and_file_problems_last() {
        let mut exam = valid_exam(&ExamSpec::diagnostic(), 2);
        exam.questions[0].explanation.clear();
        let mut json: serde_json::Value = serde_json::to_value(&exam).unwrap();
        json["questions"][1]["id"] = serde_json::json!("2");
        let text = markdown("practice", "70", &format!("{json}\n]"));
        let report = validate_file(&read_exam_file(&text).unwrap(), &ExamSpec::diagnostic());
        assert_eq!(
            codes(&report),
            [C::FieldType, C::ExplanationEmpty, C::TrailingText, C::QuestionCountMismatch, C::ExamTypeMismatch]
        );
        assert_eq!(report.problems[0].question_id, Some(2));
    }
}

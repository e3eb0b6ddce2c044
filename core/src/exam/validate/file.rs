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

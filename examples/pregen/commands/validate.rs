//! `pregen validate`: a validation report per exam file: what reading found (fields of the wrong type or name,
//! replaced ids, text after the JSON), every exam rule, and the front matter against the body.

use std::path::PathBuf;

use pregen_core::exam::{ExamSpec, ExamType, read_exam_file, validate_file};
use serde_json::{Value, json};

use crate::output::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Exam files: JSON, or Markdown with a front matter block.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The exam type to check against; otherwise taken from the front matter, then from the file name. A front
    /// matter `exam_type` that differs is reported (`exam_type_mismatch`).
    #[arg(long = "type")]
    exam_type: Option<String>,
}

pub(crate) async fn run(args: Args) -> Result<Outcome, CliError> {
    let forced: Option<ExamType> = match &args.exam_type {
        Some(raw) => Some(raw.parse().map_err(|e| CliError::BadInput(format!("{e}")))?),
        None => None,
    };
    let mut all_valid = true;
    let mut reports = Vec::new();
    for path in &args.files {
        let report = report_file(path, forced);
        all_valid &= report["valid"] == Value::Bool(true);
        reports.push(report);
    }
    Ok(Outcome {
        body: json!({"valid": all_valid, "files": reports}),
        exit: if all_valid { 0 } else { crate::output::BAD_INPUT },
    })
}

fn report_file(path: &PathBuf, forced: Option<ExamType>) -> Value {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => return json!({"path": shown, "valid": false, "error": e.to_string(), "code": "cli.io"}),
    };
    let file = match read_exam_file(&text) {
        Ok(file) => file,
        Err(e) => {
            use pregen_core::ErrorCode;
            return json!({"path": shown, "valid": false, "error": e.to_string(), "code": e.code()});
        }
    };
    let from_front_matter =
        file.front_matter.as_ref().and_then(|f| f.exam_type.as_deref()).and_then(|t| t.parse().ok());
    let from_name = path.file_name().and_then(|n| n.to_str()).and_then(|n| {
        let n = n.to_ascii_lowercase();
        ExamType::ALL.into_iter().find(|t| n.contains(t.as_str()))
    });
    let Some(exam_type) = forced.or(from_front_matter).or(from_name) else {
        return json!({"path": shown, "valid": false, "code": "cli.unknown_exam_type",
            "error": "cannot tell the exam type: pass --type, or name it in the front matter or the file name"});
    };
    let report = validate_file(&file, &ExamSpec::builtin(exam_type));
    json!({
        "path": shown,
        "examType": exam_type,
        "questionCount": file.exam.questions.len(),
        "valid": report.is_valid(),
        "problemCounts": report.count_by_code(),
        "problems": report.problems,
    })
}

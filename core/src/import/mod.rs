//! Importing exam files into the bank (`pregen import`): the formats the old system's bank holds (Markdown with a
//! YAML front matter, the exam JSON, and the later `{meta: {...}, questions: [...]}` whose items say `stem`,
//! `answer`, `kn`, a numeric `domain` and `scored`), read as meant by the lenient reader, then validated in full.
//! What the reader mapped (older field names, numbers for text, ids that were file paths, renumbered) is reported
//! as notes; every other problem blocks the import unless the file is repaired ([`repair`]).

mod repair;

use serde::Serialize;
use serde_json::Value;

pub use repair::{Repaired, ReplacedItem};

use crate::exam::{Exam, ExamFileError, ExamSpec, ExamType, Problem, ProblemCode, read_exam_file, validate_file};
use crate::store::content_hash;

/// A file read for import: its type, the exam as read, what reading mapped, what blocks it, and its content key.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The exam type it is checked and stored as.
    pub exam_type: ExamType,
    /// How the type was decided: `option`, `front matter`, `meta`, `item count` or `file name`.
    pub type_from: &'static str,
    /// The exam as read (fields mapped, ids renumbered, extra fields kept).
    pub exam: Exam,
    /// What reading mapped: older field names, values of another JSON type read as meant, ids renumbered.
    pub notes: Vec<Problem>,
    /// Every other problem: the file is invalid while any is left.
    pub problems: Vec<Problem>,
    /// The content key of the exam as read ([`content_hash`]): importing the file again finds it.
    pub source_hash: String,
}

impl Candidate {
    /// Whether nothing blocks the import.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Why a file cannot even be considered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Not an exam file at all (no JSON, bad JSON, bad front matter).
    #[error(transparent)]
    Unreadable(#[from] ExamFileError),
    /// The type is named nowhere and the item count is neither 71 nor 225.
    #[error("cannot tell the exam type: pass --type, or name it in the front matter, meta or the file name")]
    UnknownType,
}

impl crate::error::ErrorCode for ImportError {
    fn code(&self) -> &'static str {
        match self {
            ImportError::Unreadable(e) => e.code(),
            ImportError::UnknownType => "import.unknown_exam_type",
        }
    }
    fn is_retryable(&self) -> bool {
        false
    }
}

/// The codes of what the reader maps rather than refuses.
const MAPPED: [ProblemCode; 3] = [ProblemCode::FieldRenamed, ProblemCode::FieldType, ProblemCode::IdSequence];

/// Reads `text` (named `name`, for the type's last resort) for import as `forced`, else the type the front
/// matter, the `meta` block, the item count or the file name gives, and validates it in full.
///
/// Errors: [`ImportError`] when the text holds no exam or its type cannot be told.
pub fn read_for_import(text: &str, name: &str, forced: Option<ExamType>) -> Result<Candidate, ImportError> {
    let file = read_exam_file(text)?;
    let (exam_type, type_from) = exam_type_of(&file, name, forced).ok_or(ImportError::UnknownType)?;
    let spec = ExamSpec::builtin(exam_type);
    let report = validate_file(&file, &spec);
    let (notes, mut problems): (Vec<Problem>, Vec<Problem>) =
        report.problems.into_iter().partition(|p| MAPPED.contains(&p.code) && file.problems.contains(p));
    if let Some(claimed) =
        meta(&file.exam, &["totalQuestions", "questionCount", "total_questions"]).and_then(Value::as_u64)
        && claimed != file.exam.questions.len() as u64
    {
        let held = file.exam.questions.len();
        let message = format!("meta says {claimed} questions; the file holds {held} items");
        problems.push(Problem::exam(ProblemCode::QuestionCountMismatch, message));
    }
    let source_hash = content_hash(&file.exam);
    Ok(Candidate { exam_type, type_from, exam: file.exam, notes, problems, source_hash })
}

/// A value of the exam's `meta` block under the first of `keys` present.
fn meta<'a>(exam: &'a Exam, keys: &[&str]) -> Option<&'a Value> {
    let meta = exam.extra.get("meta")?.as_object()?;
    keys.iter().find_map(|k| meta.get(*k))
}

fn exam_type_of(
    file: &crate::exam::ExamFile,
    name: &str,
    forced: Option<ExamType>,
) -> Option<(ExamType, &'static str)> {
    let parse = |t: &str| t.trim().to_ascii_lowercase().parse::<ExamType>().ok();
    if let Some(t) = forced {
        return Some((t, "option"));
    }
    if let Some(t) = file.front_matter.as_ref().and_then(|f| f.exam_type.as_deref()).and_then(parse) {
        return Some((t, "front matter"));
    }
    if let Some(t) = meta(&file.exam, &["examType", "exam_type", "type"]).and_then(Value::as_str).and_then(parse) {
        return Some((t, "meta"));
    }
    let by_count =
        ExamType::ALL.into_iter().find(|t| ExamSpec::builtin(*t).item_count as usize == file.exam.questions.len());
    if let Some(t) = by_count {
        return Some((t, "item count"));
    }
    let lower = name.to_ascii_lowercase();
    ExamType::ALL.into_iter().find(|t| lower.contains(t.as_str())).map(|t| (t, "file name"))
}

/// What importing one file did, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum ImportOutcome {
    /// Valid (or repaired) and stored in the bank.
    #[serde(rename = "imported")]
    Imported {
        /// The bank exam's id.
        id: String,
    },
    /// The same content was in the bank already; nothing stored.
    #[serde(rename = "duplicate")]
    Duplicate {
        /// The bank exam holding it.
        id: String,
    },
    /// Invalid and not repaired: not imported.
    #[serde(rename = "invalid")]
    Invalid,
    /// Repair was asked for but could not make a valid exam: not imported.
    #[serde(rename = "repair_failed")]
    RepairFailed {
        /// The generator's error code.
        code: String,
        /// Its message.
        error: String,
    },
}

#[cfg(test)]
mod tests;

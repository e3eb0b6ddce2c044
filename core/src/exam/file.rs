//! Reading exam files: plain JSON (`{"questions": [...]}`) and the seed system's Markdown, a YAML front matter
//! block followed by the JSON, fenced or not, with prose around. Pure: parses a string, touches no file.
//!
//! Reading is lenient and reporting strict: only text that is not JSON at all (or JSON that holds no
//! `questions` array) is refused whole; a bad field is a problem of its item (see `read.rs`), and text after
//! the JSON document is a `trailing_text` problem. Either way every other rule still runs.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::model::Exam;
use super::read::read_exam_value;
use super::validate::{Problem, ProblemCode};

/// The YAML block at the top of a seed exam file. Known keys are typed loosely (any scalar is kept as text) so
/// old files load; keys this version does not know are kept in `other` for the round trip.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FrontMatter {
    /// The exam's id in the seed system.
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub exam_id: Option<String>,
    /// `diagnostic` or `practice`, as written.
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub exam_type: Option<String>,
    /// When the exam was generated, as written (usually ISO-8601).
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub generated_at: Option<String>,
    /// The number of questions the file claims to hold (the seed's truncated files claimed 71 or 225).
    #[serde(default, deserialize_with = "scalar_count", skip_serializing_if = "Option::is_none")]
    pub question_count: Option<u64>,
    /// The format version, as written.
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Any other keys, kept as found.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// An exam file as read: its front matter, when it had one, the exam as meant, and what is wrong with the file as
/// written.
#[derive(Debug, Clone, PartialEq)]
pub struct ExamFile {
    /// The YAML block of a Markdown file; `None` for plain JSON.
    pub front_matter: Option<FrontMatter>,
    /// The questions and any unknown top-level fields, read as meant: missing fields empty, fields of the wrong
    /// type or an older name read as the served shape has them, ids that are not numbers replaced by positions.
    pub exam: Exam,
    /// What reading found wrong with the file as written (`field_type`, `field_renamed`, `id_sequence` for ids
    /// that were replaced, `trailing_text`), items in order, then the file. Empty for a file in the served shape.
    /// [`validate_file`](crate::exam::validate_file) reports these with every other rule.
    pub problems: Vec<Problem>,
}

/// Why a file could not be read as an exam. Positions are 1-based lines and columns of the whole file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExamFileError {
    /// The YAML front matter is not closed or not valid YAML of the expected shape.
    #[error("bad front matter{}: {reason}", at(.line, .column))]
    BadFrontMatter {
        /// Line of the problem, when known.
        line: Option<usize>,
        /// Column of the problem, when known.
        column: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// The JSON was found but is not valid, or not an exam (for instance cut off mid-item).
    #[error("bad exam JSON at line {line}, column {column}: {reason}")]
    BadJson {
        /// Line of the problem.
        line: usize,
        /// Column of the problem.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// Nothing that looks like the exam's JSON object.
    #[error("no exam JSON found: expected an object like {{\"questions\": [...]}}")]
    NoJson,
    /// Valid JSON that holds no exam: not an object, or no `questions` array.
    #[error("not an exam at line {line}, column {column}: {reason}")]
    NotAnExam {
        /// Line where the JSON starts.
        line: usize,
        /// Column where the JSON starts.
        column: usize,
        /// What is missing.
        reason: String,
    },
}

fn at(line: &Option<usize>, column: &Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

impl crate::error::ErrorCode for ExamFileError {
    fn code(&self) -> &'static str {
        match self {
            ExamFileError::BadFrontMatter { .. } => "exam_file.bad_front_matter",
            ExamFileError::BadJson { .. } => "exam_file.bad_json",
            ExamFileError::NoJson => "exam_file.no_json",
            ExamFileError::NotAnExam { .. } => "exam_file.not_an_exam",
        }
    }

    fn is_retryable(&self) -> bool {
        false
    }
}

/// Reads an exam file: plain JSON, or Markdown with a `---` YAML front matter block followed by the JSON (in a
/// ```` ```json ```` fence or bare, prose around it ignored). A leading byte-order mark is skipped.
///
/// Only the first JSON value is the exam. Text after it is reported as `trailing_text` when it is inside the
/// fence, in a plain JSON file, or after JSON that opens the body; after bare JSON that follows prose, only text
/// that looks like JSON (a stray `]`, `}`, `,`, ...) is, and prose is allowed as before.
///
/// # Errors
/// [`ExamFileError`] when the front matter is bad, no JSON is found, the JSON is not valid JSON, or it holds no
/// `questions` array. Bad items are not errors: they are reported in [`ExamFile::problems`].
pub fn read_exam_file(text: &str) -> Result<ExamFile, ExamFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (front_matter, body_start) = split_front_matter(text)?;
    let json = locate_json(text, body_start).ok_or(ExamFileError::NoJson)?;
    let mut values = serde_json::Deserializer::from_str(&text[json.start..json.end]).into_iter::<Value>();
    let value = match values.next() {
        Some(Ok(value)) => value,
        Some(Err(e)) => {
            let (line, column) = file_position(text, json.start, e.line(), e.column());
            return Err(ExamFileError::BadJson {
                line,
                column,
                reason: strip_position(&e.to_string(), " at line "),
            });
        }
        None => return Err(ExamFileError::NoJson),
    };
    let after = json.start + values.byte_offset();
    let (exam, mut problems) = read_exam_value(value).map_err(|e| {
        let (line, column) = file_position(text, json.start, 1, 1);
        ExamFileError::NotAnExam { line, column, reason: e.0 }
    })?;
    let opens_body = text[body_start..json.start].trim().is_empty();
    if let Some(problem) = trailing_text(text, after, json.end, json.fenced || opens_body) {
        problems.push(problem);
    }
    Ok(ExamFile { front_matter, exam, problems })
}

/// Characters that cannot start prose after a JSON document: a stray bracket, comma or second value.
const JSON_CHARS: [char; 7] = [']', '}', '[', '{', ',', '"', ':'];

/// The `trailing_text` problem for `text[after..end]`: anything but white space when `strict`, else only
/// text that starts like JSON.
fn trailing_text(text: &str, after: usize, end: usize, strict: bool) -> Option<Problem> {
    let rest = &text[after..end];
    let found = rest.trim_start();
    if found.is_empty() || (!strict && !found.starts_with(JSON_CHARS)) {
        return None;
    }
    let at = end - found.len();
    let (line, column) = file_position(text, at, 1, 1);
    let shown: String = found.trim_end().chars().take(40).collect();
    let more = if found.trim_end().chars().count() > 40 { "..." } else { "" };
    let message = format!("text after the JSON document at line {line}, column {column}: {shown:?}{more}");
    Some(Problem::exam(ProblemCode::TrailingText, message))
}

impl ExamFile {
    /// Writes the file back: with front matter, the seed's Markdown form (YAML block, then the pretty JSON in a
    /// ```` ```json ```` fence); without, pretty JSON. Reading the result gives back an equal `ExamFile`.
    pub fn to_text(&self) -> String {
        // Neither can fail: every map key is a string and serde_json values hold no NaN.
        let json = serde_json::to_string_pretty(&self.exam).expect("an exam always serialises to JSON");
        match &self.front_matter {
            None => format!("{json}\n"),
            Some(fm) => {
                let yaml = serde_yaml_ng::to_string(fm).expect("front matter always serialises to YAML");
                format!("---\n{yaml}---\n\n```json\n{json}\n```\n")
            }
        }
    }
}

/// Lines of `text` with the byte offset each starts at (line terminators included in the line).
fn lines_with_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |offset, line| {
        let start = *offset;
        *offset += line.len();
        Some((start, line))
    })
}

/// The front matter, if the file starts (after blank lines) with a `---` line, and where the body begins.
fn split_front_matter(text: &str) -> Result<(Option<FrontMatter>, usize), ExamFileError> {
    let mut lines = lines_with_offsets(text).enumerate().skip_while(|(_, (_, l))| l.trim().is_empty());
    let Some((open_index, (_, first))) = lines.next() else {
        return Ok((None, 0));
    };
    if first.trim_end() != "---" {
        return Ok((None, 0));
    }
    let yaml_start = open_index + 1;
    let closing = lines.find(|(_, (_, l))| matches!(l.trim_end(), "---" | "..."));
    let Some((_, (close_offset, close_line))) = closing else {
        let reason = "the front matter opened here has no closing `---` line".into();
        return Err(ExamFileError::BadFrontMatter { line: Some(yaml_start), column: Some(1), reason });
    };
    let yaml_offset = lines_with_offsets(text).nth(yaml_start).map_or(close_offset, |(o, _)| o.min(close_offset));
    let yaml = &text[yaml_offset..close_offset];
    let body_start = close_offset + close_line.len();
    if yaml.trim().is_empty() {
        return Ok((Some(FrontMatter::default()), body_start));
    }
    serde_yaml_ng::from_str::<FrontMatter>(yaml).map(|fm| (Some(fm), body_start)).map_err(|e| {
        let location = e.location();
        ExamFileError::BadFrontMatter {
            line: location.as_ref().map(|l| yaml_start + l.line()),
            column: location.as_ref().map(|l| l.column()),
            reason: strip_position(&strip_position(&e.to_string(), " at line "), " at position "),
        }
    })
}

/// Where the exam JSON lies in a file: the byte range to parse, and whether it is the content of a fence.
struct JsonRegion {
    start: usize,
    end: usize,
    fenced: bool,
}

/// The exam JSON in `text` from `body_start`: the content of the first ```` ```json ```` fence (or a bare fence
/// whose content starts with `{`), else from the first line starting with `{`, else from the first `{`.
fn locate_json(text: &str, body_start: usize) -> Option<JsonRegion> {
    let body = &text[body_start..];
    let mut fence: Option<usize> = None;
    for (offset, line) in lines_with_offsets(body) {
        let trimmed = line.trim();
        match fence {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let content = offset + line.len();
                    let is_json = info.trim().eq_ignore_ascii_case("json")
                        || (info.trim().is_empty() && body[content..].trim_start().starts_with('{'));
                    if is_json {
                        fence = Some(content);
                    }
                }
            }
            Some(content) if trimmed.starts_with("```") => {
                return Some(JsonRegion { start: body_start + content, end: body_start + offset, fenced: true });
            }
            Some(_) => {}
        }
    }
    if let Some(content) = fence {
        return Some(JsonRegion { start: body_start + content, end: text.len(), fenced: true });
    }
    let start = lines_with_offsets(body)
        .find(|(_, l)| l.trim_start().starts_with('{'))
        .map(|(offset, l)| offset + (l.len() - l.trim_start().len()))
        .or_else(|| body.find('{'))?;
    Some(JsonRegion { start: body_start + start, end: text.len(), fenced: false })
}

/// Converts a serde_json position inside the slice starting at byte `start` into a position in the whole file.
fn file_position(text: &str, start: usize, line: usize, column: usize) -> (usize, usize) {
    let before = &text[..start];
    let base_line = before.matches('\n').count() + 1;
    let base_column = before.len() - before.rfind('\n').map_or(0, |i| i + 1);
    if line <= 1 { (base_line, base_column + column) } else { (base_line + line - 1, column) }
}

/// A parser message without its trailing `" at line N column M"`, since that position is relative to a slice.
fn strip_position(message: &str, marker: &str) -> String {
    message.find(marker).map_or(message, |i| &message[..i]).to_owned()
}

/// Any YAML scalar as text (numbers and booleans written as they read), or `None` for null.
fn scalar_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Int(i64),
        UInt(u64),
        Float(f64),
        Bool(bool),
    }
    Ok(Option::<Scalar>::deserialize(deserializer)?.map(|s| match s {
        Scalar::Text(t) => t,
        Scalar::Int(n) => n.to_string(),
        Scalar::UInt(n) => n.to_string(),
        Scalar::Float(x) => format!("{x:?}"),
        Scalar::Bool(b) => b.to_string(),
    }))
}

/// A count written as a number or as digits in a string.
fn scalar_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Count {
        Number(u64),
        Text(String),
    }
    match Option::<Count>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Count::Number(n)) => Ok(Some(n)),
        Some(Count::Text(t)) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("question_count {t:?} is not a whole number"))),
    }
}

#[cfg(test)]
mod tests;

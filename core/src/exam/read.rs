//! Lenient reading of an exam's JSON: every item is read as meant, and what is wrong with it as written becomes a
//! problem of that item, so one bad field never hides the rest of the report. A missing field reads as empty (the
//! rule of that field then reports it), a field of the wrong type is read as meant when that is clear (`"12"` as
//! id 12, domain `3` as Domain 3) and reported as `field_type`, an older field name (`stem`, `answer`, `kn`,
//! `scored`, of the old system's later files) is read under the current one and reported as `field_renamed`, and
//! an id that is missing or not a number is replaced by the item's position and reported as `id_sequence`.
//! Fields nobody knows are kept. A file already in the served shape reads exactly as the strict model does.

use serde_json::{Map, Value};

use super::model::{DomainField, Exam, Question};
use super::validate::{Problem, ProblemCode};
use crate::exam::Domain;

/// The JSON is valid but holds no exam: not an object, or no `questions` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotAnExam(pub(crate) String);

/// Reads an exam from a JSON value: `{"questions": [...]}` with any other top-level fields (a `meta` block of
/// the later format among them) kept. Returns the exam and the problems of its items as written.
pub(crate) fn read_exam_value(value: Value) -> Result<(Exam, Vec<Problem>), NotAnExam> {
    let Value::Object(mut top) = value else {
        return Err(NotAnExam(format!(
            "the JSON is {}, not an object like {{\"questions\": [...]}}",
            kind(&value)
        )));
    };
    let items = match top.shift_remove("questions") {
        Some(Value::Array(items)) => items,
        Some(other) => return Err(NotAnExam(format!("\"questions\" is {}, not an array", kind(&other)))),
        None => return Err(NotAnExam("the object has no \"questions\" array".into())),
    };
    let mut problems = Vec::new();
    let mut questions = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
        match item {
            Value::Object(map) => questions.push(read_item(map, position, &mut problems)),
            other => problems.push(Problem {
                code: ProblemCode::FieldType,
                question_id: Some(position),
                message: format!("item {position} is {}, not an object; it is left out", kind(&other)),
            }),
        }
    }
    Ok((Exam { questions, extra: top }, problems))
}

/// One item's fields, and what was wrong with them as written.
struct Fields {
    map: Map<String, Value>,
    notes: Vec<(ProblemCode, String)>,
}

fn read_item(map: Map<String, Value>, position: u32, out: &mut Vec<Problem>) -> Question {
    let mut f = Fields { map, notes: Vec::new() };
    let id = f.id(position);
    let question = f.text("question", &["stem"]);
    let options = f.options();
    let correct_answer = f.text("correct_answer", &["answer", "correctAnswer"]);
    let explanation = f.text("explanation", &[]);
    let domain = f.domain();
    let kn_id = f.kn_id();
    let difficulty = f.text("difficulty", &[]);
    let is_scored = f.is_scored();
    let kind = f.kind();
    out.extend(f.notes.into_iter().map(|(code, message)| Problem { code, question_id: Some(id), message }));
    Question {
        id,
        question,
        options,
        correct_answer,
        explanation,
        domain,
        kn_id,
        difficulty,
        is_scored,
        kind,
        extra: f.map,
    }
}

impl Fields {
    fn note(&mut self, code: ProblemCode, message: String) {
        self.notes.push((code, message));
    }

    /// The value of `name`, or of the first of `aliases` present (reported as renamed); `null` counts as absent.
    fn take(&mut self, name: &str, aliases: &[&str]) -> Option<Value> {
        if let Some(value) = self.map.shift_remove(name) {
            return (!value.is_null()).then_some(value);
        }
        let (alias, value) = aliases.iter().find_map(|a| self.map.shift_remove(*a).map(|v| (*a, v)))?;
        self.note(ProblemCode::FieldRenamed, format!("uses \"{alias}\" for \"{name}\"; read as \"{name}\""));
        (!value.is_null()).then_some(value)
    }

    fn id(&mut self, position: u32) -> u32 {
        let renumbered = |what: String| format!("{what}; numbered {position} by its position");
        match self.take("id", &[]) {
            Some(Value::Number(n)) if n.as_u64().is_some_and(|v| v <= u64::from(u32::MAX)) => {
                n.as_u64().and_then(|v| u32::try_from(v).ok()).unwrap_or(position)
            }
            Some(Value::String(s)) if s.trim().parse::<u32>().is_ok() => {
                let id = s.trim().parse().unwrap_or(position);
                self.note(ProblemCode::FieldType, format!("id is the text {s:?}, not a number; read as {id}"));
                id
            }
            None => {
                self.note(ProblemCode::IdSequence, renumbered("has no id".into()));
                position
            }
            Some(other) => {
                self.note(ProblemCode::IdSequence, renumbered(format!("id {other} is not an item number")));
                position
            }
        }
    }

    /// Text; a number or boolean is read as its text (reported); anything else, or nothing, is empty.
    fn text(&mut self, name: &str, aliases: &[&str]) -> String {
        match self.take(name, aliases) {
            None => String::new(),
            Some(Value::String(s)) => s,
            Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                self.note(
                    ProblemCode::FieldType,
                    format!("\"{name}\" is {}, not text; read as \"{v}\"", kind(&v)),
                );
                v.to_string()
            }
            Some(v) => {
                self.note(ProblemCode::FieldType, format!("\"{name}\" is {}, not text; read as empty", kind(&v)));
                String::new()
            }
        }
    }

    fn options(&mut self) -> Vec<String> {
        match self.take("options", &[]) {
            None => Vec::new(),
            Some(Value::Array(values)) => {
                let mut odd = Vec::new();
                let options = values
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| match v {
                        Value::String(s) => s,
                        v @ (Value::Number(_) | Value::Bool(_)) => {
                            odd.push(i);
                            v.to_string()
                        }
                        _ => {
                            odd.push(i);
                            String::new()
                        }
                    })
                    .collect();
                if !odd.is_empty() {
                    let which: Vec<String> = odd.iter().map(|i| (i + 1).to_string()).collect();
                    let message =
                        format!("options {} are not text; read as their text, or empty", which.join(", "));
                    self.note(ProblemCode::FieldType, message);
                }
                options
            }
            Some(v) => {
                self.note(
                    ProblemCode::FieldType,
                    format!("\"options\" is {}, not an array; read as none", kind(&v)),
                );
                Vec::new()
            }
        }
    }

    fn domain(&mut self) -> DomainField {
        match self.take("domain", &[]) {
            None => DomainField::Unrecognised(String::new()),
            Some(Value::String(s)) => Domain::parse(&s).map_or(DomainField::Unrecognised(s), DomainField::Known),
            Some(Value::Number(n)) => {
                let domain = n.as_u64().and_then(|v| u8::try_from(v).ok()).and_then(Domain::new);
                let message = match domain {
                    Some(d) => format!("domain is the number {n}, not text such as \"{d}\"; read as {d}"),
                    None => format!("domain is the number {n}, not text"),
                };
                self.note(ProblemCode::FieldType, message);
                domain.map_or(DomainField::Unrecognised(n.to_string()), DomainField::Known)
            }
            Some(v) => {
                self.note(ProblemCode::FieldType, format!("domain is {}, not text", kind(&v)));
                DomainField::Unrecognised(String::new())
            }
        }
    }

    fn kn_id(&mut self) -> String {
        match self.take("knId", &["kn", "kn_id"]) {
            Some(Value::Number(n)) => {
                self.note(ProblemCode::FieldType, format!("knId is the number {n}, not text; read as \"KN{n}\""));
                format!("KN{n}")
            }
            Some(Value::String(s)) => s,
            None => String::new(),
            Some(v) => {
                self.note(ProblemCode::FieldType, format!("knId is {}, not text; read as missing", kind(&v)));
                String::new()
            }
        }
    }

    /// `isScored`; missing means scored, as the front-end reads it.
    fn is_scored(&mut self) -> bool {
        let value = self.take("isScored", &["scored", "is_scored"]);
        let read = match &value {
            None => return true,
            Some(Value::Bool(b)) => return *b,
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => Some(true),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => Some(false),
            Some(Value::Number(n)) if n.as_u64() == Some(1) => Some(true),
            Some(Value::Number(n)) if n.as_u64() == Some(0) => Some(false),
            Some(_) => None,
        };
        let v = value.unwrap_or(Value::Null);
        let message = match read {
            Some(b) => format!("isScored is {} {v}, not true or false; read as {b}", kind(&v)),
            None => format!("isScored is {} {v}, not true or false; read as true", kind(&v)),
        };
        self.note(ProblemCode::FieldType, message);
        read.unwrap_or(true)
    }

    /// The item format; missing means `"standard"`.
    fn kind(&mut self) -> String {
        match self.take("type", &[]) {
            None => "standard".to_owned(),
            Some(Value::String(s)) => s,
            Some(v) => {
                self.note(
                    ProblemCode::FieldType,
                    format!("\"type\" is {}, not text; read as \"standard\"", kind(&v)),
                );
                "standard".to_owned()
            }
        }
    }
}

/// "a number", "an array", ... for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;

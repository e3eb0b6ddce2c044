//! A stored exam's JSON text, served as it is: the get route's payload without a parse into typed items and a
//! second serialization (about 0.6 to 0.9 ms of a 225-item get, BENCHMARKS.md "Node addon and Next.js").

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use super::model::Exam;

/// An exam's JSON text, `{"questions": [...]}`, exactly as the store holds it. Every stored exam was validated
/// and serialized from an [`Exam`] when it was written, so its text is already the served form; reading it back
/// checks only that it is one well-formed JSON value (a damaged row is an error, never a broken body), and
/// [`ExamJson::parse`] gives the typed exam when a caller needs the items.
#[derive(Clone)]
pub struct ExamJson(Box<RawValue>);

impl ExamJson {
    /// Takes stored text. Errors when it is not exactly one well-formed JSON value.
    pub fn from_stored(text: String) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text).map(Self)
    }

    /// The JSON text of `exam`, as the store writes it.
    pub fn of(exam: &Exam) -> Self {
        let raw = serde_json::value::to_raw_value(exam).expect("an exam always serializes to JSON");
        Self(raw)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The typed exam. Errors when the text is JSON but not an exam (a row damaged outside pregen).
    pub fn parse(&self) -> Result<Exam, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }
}

/// Serialized as the JSON value it holds, byte for byte.
impl Serialize for ExamJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Equal when the texts are equal.
impl PartialEq for ExamJson {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ExamJson {}

/// The length and the start of the text: a 225-item exam in a `{:?}` would be 300 KB.
impl fmt::Debug for ExamJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.as_str();
        let head: String = text.chars().take(60).collect();
        write!(f, "ExamJson({} bytes: {head}…)", text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exam::{ExamSpec, synthetic_exam};

    #[test]
    fn serves_the_stored_text_byte_for_byte() {
        let exam = synthetic_exam(&ExamSpec::diagnostic(), 7);
        let text = serde_json::to_string(&exam).unwrap();
        let json = ExamJson::from_stored(text.clone()).unwrap();
        assert_eq!(json.as_str(), text);
        assert_eq!(serde_json::to_string(&json).unwrap(), text);
        assert_eq!(json.parse().unwrap(), exam);
        assert_eq!(ExamJson::of(&exam), json);
    }

    #[test]
    fn nested_in_a_body_it_is_the_value_it_holds() {
        #[derive(Serialize)]
        struct Body<'a> {
            id: &'a str,
            questions: &'a ExamJson,
        }
        let json = ExamJson::from_stored(r#"{"questions":[]}"#.into()).unwrap();
        let body = serde_json::to_string(&Body { id: "e1", questions: &json }).unwrap();
        assert_eq!(body, r#"{"id":"e1","questions":{"questions":[]}}"#);
        let value = serde_json::to_value(&Body { id: "e1", questions: &json }).unwrap();
        assert_eq!(value, serde_json::json!({"id": "e1", "questions": {"questions": []}}));
    }

    #[test]
    fn damaged_text_is_refused() {
        for bad in ["", "{\"questions\":[", "{} {}", "not json"] {
            assert!(ExamJson::from_stored(bad.into()).is_err(), "{bad:?}");
        }
        let not_an_exam = ExamJson::from_stored(r#"{"questions": 3}"#.into()).unwrap();
        assert!(not_an_exam.parse().is_err());
    }

    #[test]
    fn debug_is_short() {
        let json = ExamJson::of(&synthetic_exam(&ExamSpec::practice(), 1));
        let shown = format!("{json:?}");
        assert!(shown.len() < 120, "{shown}");
        assert!(shown.contains(&format!("{} bytes", json.as_str().len())));
    }
}

//! The stored and served exam JSON, in the exact shape the front-end reads (see `seed-system.md`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::blueprint::Domain;

/// The two kinds of exam the product pre-generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExamType {
    /// 71 items, one per knowledge statement, all scored.
    Diagnostic,
    /// 225 items weighted by domain, 175 scored.
    Practice,
}

impl ExamType {
    /// Both types, in the order the old system listed them.
    pub const ALL: [ExamType; 2] = [ExamType::Diagnostic, ExamType::Practice];

    /// The wire name: `"diagnostic"` or `"practice"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExamType::Diagnostic => "diagnostic",
            ExamType::Practice => "practice",
        }
    }

    /// The type pre-generated after one of this type is finished: a practice exam after a diagnostic, and the reverse.
    pub fn next(self) -> Self {
        match self {
            ExamType::Diagnostic => ExamType::Practice,
            ExamType::Practice => ExamType::Diagnostic,
        }
    }
}

impl fmt::Display for ExamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text given was not `diagnostic` or `practice`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown exam type {0:?}: expected \"diagnostic\" or \"practice\"")]
pub struct UnknownExamType(pub String);

impl FromStr for ExamType {
    type Err = UnknownExamType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "diagnostic" => Ok(ExamType::Diagnostic),
            "practice" => Ok(ExamType::Practice),
            other => Err(UnknownExamType(other.to_owned())),
        }
    }
}

/// The `domain` field of an item: a recognised domain (written back as `"Domain N: Name"`), or text no form of
/// which names a domain, kept verbatim so validation can report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainField {
    /// A domain read from `"Domain N"`, `"Domain N: Name"` or the bare name.
    Known(Domain),
    /// Anything else, as found.
    Unrecognised(String),
}

impl DomainField {
    /// The domain, when recognised.
    pub fn domain(&self) -> Option<Domain> {
        match self {
            DomainField::Known(d) => Some(*d),
            DomainField::Unrecognised(_) => None,
        }
    }
}

impl From<Domain> for DomainField {
    fn from(d: Domain) -> Self {
        DomainField::Known(d)
    }
}

impl Serialize for DomainField {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DomainField::Known(d) => serializer.collect_str(d),
            DomainField::Unrecognised(raw) => serializer.serialize_str(raw),
        }
    }
}

impl<'de> Deserialize<'de> for DomainField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Ok(match Domain::parse(&raw) {
            Some(d) => DomainField::Known(d),
            None => DomainField::Unrecognised(raw),
        })
    }
}

fn default_true() -> bool {
    true
}

fn default_item_kind() -> String {
    "standard".to_owned()
}

/// One exam item. Field names are the front-end's (`correct_answer`, `knId`, `isScored`); `correct_answer` holds
/// the text of the right option, not a letter. Fields this version does not know are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// Position in the exam, 1..=N.
    pub id: u32,
    /// The stem.
    pub question: String,
    /// The answer options; a valid item has exactly four.
    pub options: Vec<String>,
    /// The text of the correct option.
    pub correct_answer: String,
    /// Why the key is right and the distractors are not.
    pub explanation: String,
    /// The content domain.
    pub domain: DomainField,
    /// The knowledge statement, e.g. `"KN33"`.
    #[serde(rename = "knId")]
    pub kn_id: String,
    /// `easy`, `medium` or `hard`.
    pub difficulty: String,
    /// Scored items count toward the result; unscored ones are pretest items.
    #[serde(rename = "isScored", default = "default_true")]
    pub is_scored: bool,
    /// The item format; `"standard"` for single-best-answer items.
    #[serde(rename = "type", default = "default_item_kind")]
    pub kind: String,
    /// Unknown fields (`source_file`, `question_type`, ...) kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A whole exam as stored and served: `{"questions": [...]}` plus any unknown top-level fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Exam {
    /// The items in order.
    pub questions: Vec<Question>,
    /// Unknown fields kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Exam {
    /// An exam of these items with no extra fields.
    pub fn new(questions: Vec<Question>) -> Self {
        Self { questions, extra: Map::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM: &str = r#"{
        "id": 1,
        "question": "Which test?",
        "options": ["a", "b", "c", "d"],
        "correct_answer": "b",
        "explanation": "because",
        "domain": "Domain 5",
        "knId": "KN33",
        "difficulty": "medium",
        "isScored": true,
        "type": "standard",
        "source_file": "old.md",
        "is_org_psych": false
    }"#;

    #[test]
    fn unknown_fields_survive_and_domain_is_written_canonically() {
        let json = format!(r#"{{"questions": [{ITEM}], "version": 2}}"#);
        let exam: Exam = serde_json::from_str(&json).unwrap();
        let q = &exam.questions[0];
        assert_eq!(q.domain, DomainField::Known(Domain::new(5).unwrap()));
        assert_eq!(q.extra["source_file"], "old.md");
        let back = serde_json::to_value(&exam).unwrap();
        assert_eq!(back["version"], 2);
        assert_eq!(back["questions"][0]["domain"], "Domain 5: Assessment and Diagnosis");
        assert_eq!(back["questions"][0]["is_org_psych"], false);
        assert_eq!(back["questions"][0]["knId"], "KN33");
        assert_eq!(back["questions"][0]["isScored"], true);
        let again: Exam = serde_json::from_value(back).unwrap();
        assert_eq!(again, exam);
    }

    #[test]
    fn unrecognised_domain_is_kept_verbatim() {
        let json = ITEM.replace("Domain 5", "Domain 12: Astrology");
        let q: Question = serde_json::from_str(&json).unwrap();
        assert_eq!(q.domain, DomainField::Unrecognised("Domain 12: Astrology".into()));
        assert_eq!(serde_json::to_value(&q).unwrap()["domain"], "Domain 12: Astrology");
    }

    #[test]
    fn exam_type_round_trips_and_alternates() {
        assert_eq!("practice".parse::<ExamType>(), Ok(ExamType::Practice));
        assert!("Practice".parse::<ExamType>().is_err());
        assert_eq!(ExamType::Diagnostic.next(), ExamType::Practice);
        assert_eq!(ExamType::Practice.next(), ExamType::Diagnostic);
        assert_eq!(serde_json::to_string(&ExamType::Diagnostic).unwrap(), "\"diagnostic\"");
    }
}

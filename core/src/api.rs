//! The JSON bodies of the old routes (`seed-system.md`), kept key for key so the Next.js pages read them unchanged.

use serde::Serialize;

use crate::exam::ExamJson;
use crate::store::{ClaimedExam, iso};

/// The reason the get route gives when nothing can be served.
pub const NO_VALID_EXAM: &str = "No valid pre-generated exam";

/// Body of `GET /api/get-pre-generated-exam` when it answers 200.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GetExamBody {
    /// An exam was claimed for the caller.
    Served {
        /// Always true.
        #[serde(rename = "preGenerated")]
        pre_generated: bool,
        /// The claimed exam's id.
        #[serde(rename = "examId")]
        exam_id: String,
        /// The exam JSON, `{questions: [...]}`, as stored.
        questions: ExamJson,
        /// When the exam would have expired, ISO-8601.
        #[serde(rename = "expiresAt")]
        expires_at: String,
    },
    /// Nothing servable was in stock.
    NotAvailable {
        /// Always false.
        #[serde(rename = "preGenerated")]
        pre_generated: bool,
        /// [`NO_VALID_EXAM`].
        reason: &'static str,
    },
}

impl GetExamBody {
    /// The body for a claim's result.
    pub fn from_claim(claim: Option<ClaimedExam>) -> Self {
        match claim {
            Some(c) => GetExamBody::Served {
                pre_generated: true,
                exam_id: c.id,
                questions: c.exam,
                expires_at: iso(c.expires_at),
            },
            None => GetExamBody::NotAvailable { pre_generated: false, reason: NO_VALID_EXAM },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exam::{Exam, ExamType, Question};
    use crate::store::UserId;
    use chrono::DateTime;

    #[test]
    fn bodies_have_the_old_keys() {
        let none = serde_json::to_value(GetExamBody::from_claim(None)).unwrap();
        assert_eq!(none, serde_json::json!({"preGenerated": false, "reason": "No valid pre-generated exam"}));
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let claim = ClaimedExam {
            id: "e1".into(),
            user_id: UserId::parse("u").unwrap(),
            exam_type: ExamType::Practice,
            exam: ExamJson::of(&Exam::new(Vec::<Question>::new())),
            created_at: t,
            expires_at: t,
            used_at: t,
        };
        let served = serde_json::to_value(GetExamBody::from_claim(Some(claim))).unwrap();
        assert_eq!(
            served,
            serde_json::json!({"preGenerated": true, "examId": "e1", "questions": {"questions": []},
                "expiresAt": "2023-11-14T22:13:20.000Z"})
        );
    }
}

//! Which rows of the old `public.pre_generated_exams` table are worth importing, and as what: pure rules over a
//! row read as it was stored. A row is imported only when it is unused, unexpired, of a known type and user, and
//! its questions pass the core validator against the built-in spec of its type; everything else is skipped with
//! the reason. The old row's expiry is kept.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::exam::{ExamSpec, ExamType, read_exam_file, validate_file};
use crate::policy::Policy;
use crate::store::{NewExam, UserId};

/// One row of the old table, as read (every column may be null but the id).
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyRow {
    /// The old row's id (a uuid, as text).
    pub id: String,
    /// The old `user_id` (a uuid of `auth.users`, as text).
    pub user_id: Option<String>,
    /// `diagnostic` or `practice`, as stored.
    pub exam_type: Option<String>,
    /// The `questions` JSON, as text: `{"questions": [...]}` (or a bare array of questions).
    pub questions: Option<String>,
    /// When it was generated.
    pub generated_at: Option<DateTime<Utc>>,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether it was served.
    pub used: Option<bool>,
    /// When the row was written.
    pub created_at: Option<DateTime<Utc>>,
}

/// Why a row is not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SkipReason {
    /// An earlier run imported it.
    AlreadyImported,
    /// It was served already.
    Used,
    /// It expired (at or before the run's `now`).
    Expired,
    /// A column is missing or unreadable: no user, an unknown type, no questions, no time to date it by.
    BadRow,
    /// The questions fail the core validator (the problem codes say how).
    Invalid,
}

/// A skipped row: the reason, and what exactly was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// Why.
    pub reason: SkipReason,
    /// The detail: the missing column, the validator's problem codes with counts, ...
    pub detail: String,
}

impl Skip {
    fn new(reason: SkipReason, detail: impl Into<String>) -> Self {
        Self { reason, detail: detail.into() }
    }
}

/// Judges `row` at `now`: the exam to store (created when the old one was generated, expiring when it did), or
/// why it is skipped. `policy` dates a row without `expires_at` (its creation plus the exam TTL, as the old
/// column's default did).
pub fn judge(row: &LegacyRow, now: DateTime<Utc>, policy: &Policy) -> Result<NewExam, Skip> {
    if row.used == Some(true) {
        return Err(Skip::new(SkipReason::Used, "used"));
    }
    let created_at = row
        .generated_at
        .or(row.created_at)
        .ok_or_else(|| Skip::new(SkipReason::BadRow, "neither generated_at nor created_at"))?;
    let expires_at = row.expires_at.unwrap_or_else(|| policy.expires_at(created_at));
    if expires_at <= now {
        return Err(Skip::new(SkipReason::Expired, format!("expired at {}", expires_at.to_rfc3339())));
    }
    let raw_user = row.user_id.as_deref().ok_or_else(|| Skip::new(SkipReason::BadRow, "no user_id"))?;
    let user = UserId::parse(raw_user).map_err(|e| Skip::new(SkipReason::BadRow, format!("user_id: {e}")))?;
    let exam_type: ExamType = row
        .exam_type
        .as_deref()
        .ok_or_else(|| Skip::new(SkipReason::BadRow, "no exam_type"))?
        .parse()
        .map_err(|e| Skip::new(SkipReason::BadRow, format!("exam_type: {e}")))?;
    let questions = row.questions.as_deref().ok_or_else(|| Skip::new(SkipReason::BadRow, "no questions"))?;
    // The old column held `{"questions": [...]}`; a bare array is read as that object.
    let text = if questions.trim_start().starts_with('[') {
        format!("{{\"questions\": {questions}}}")
    } else {
        questions.to_owned()
    };
    let file = read_exam_file(&text).map_err(|e| Skip::new(SkipReason::Invalid, format!("questions: {e}")))?;
    let spec = ExamSpec::builtin(exam_type);
    let report = validate_file(&file, &spec);
    if !report.is_valid() {
        let codes: Vec<String> =
            report.count_by_code().into_iter().map(|(code, n)| format!("{} x{n}", code.as_str())).collect();
        return Err(Skip::new(SkipReason::Invalid, codes.join(", ")));
    }
    let mut exam = NewExam::new(user, exam_type, file.exam, &spec, created_at, policy)
        .map_err(|e| Skip::new(SkipReason::Invalid, e.to_string()))?;
    exam.expires_at = expires_at;
    Ok(exam)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::exam::synthetic_exam;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn valid_row() -> LegacyRow {
        let exam = synthetic_exam(&ExamSpec::diagnostic(), 7);
        LegacyRow {
            id: "00000000-0000-4000-8000-000000000001".into(),
            user_id: Some("9b2f0c1e-1111-4222-8333-444455556666".into()),
            exam_type: Some("diagnostic".into()),
            questions: Some(serde_json::to_string(&exam).unwrap()),
            generated_at: Some(now() - TimeDelta::days(2)),
            expires_at: Some(now() + TimeDelta::days(5)),
            used: Some(false),
            created_at: Some(now() - TimeDelta::days(2)),
        }
    }

    fn reason(row: &LegacyRow) -> SkipReason {
        judge(row, now(), &Policy::default()).unwrap_err().reason
    }

    #[test]
    fn a_valid_unused_unexpired_row_keeps_its_dates() {
        let exam = judge(&valid_row(), now(), &Policy::default()).unwrap();
        assert_eq!(exam.expires_at(), now() + TimeDelta::days(5));
        assert_eq!(exam.created_at, now() - TimeDelta::days(2));
        assert_eq!(exam.exam_type(), ExamType::Diagnostic);
        assert_eq!(exam.user_id().as_str(), "9b2f0c1e-1111-4222-8333-444455556666");

        let bare = LegacyRow {
            questions: Some(serde_json::to_string(&synthetic_exam(&ExamSpec::diagnostic(), 7).questions).unwrap()),
            expires_at: None,
            ..valid_row()
        };
        let exam = judge(&bare, now(), &Policy::default()).unwrap();
        assert_eq!(exam.expires_at(), now() - TimeDelta::days(2) + Policy::default().exam_ttl, "the old default");
    }

    #[test]
    fn used_expired_and_broken_rows_are_skipped_with_their_reason() {
        assert_eq!(reason(&LegacyRow { used: Some(true), ..valid_row() }), SkipReason::Used);
        assert_eq!(reason(&LegacyRow { expires_at: Some(now()), ..valid_row() }), SkipReason::Expired);
        assert_eq!(reason(&LegacyRow { exam_type: Some("final".into()), ..valid_row() }), SkipReason::BadRow);
        assert_eq!(reason(&LegacyRow { user_id: None, ..valid_row() }), SkipReason::BadRow);
        assert_eq!(reason(&LegacyRow { questions: None, ..valid_row() }), SkipReason::BadRow);
        let undated = LegacyRow { generated_at: None, created_at: None, expires_at: None, ..valid_row() };
        assert_eq!(reason(&undated), SkipReason::BadRow);
    }

    #[test]
    fn questions_that_fail_the_validator_are_skipped_with_the_problem_codes() {
        let practice_with_diagnostic_items = LegacyRow { exam_type: Some("practice".into()), ..valid_row() };
        let skip = judge(&practice_with_diagnostic_items, now(), &Policy::default()).unwrap_err();
        assert_eq!(skip.reason, SkipReason::Invalid);
        assert!(skip.detail.contains("incomplete"), "{}", skip.detail);
        let not_json = LegacyRow { questions: Some("{\"questions\": [".into()), ..valid_row() };
        assert_eq!(reason(&not_json), SkipReason::Invalid);
    }
}

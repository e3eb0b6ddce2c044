//! Checks of what a caller asks to enqueue, as text from outside (the browser tracker's
//! `enqueueExamGeneration(userId, examType)`): refused with a stable code before anything is queued. Also which
//! exam types a page trigger asks for.

use crate::error::ErrorCode;
use crate::exam::ExamType;

use super::job::JobKey;

/// The longest user id accepted, in characters, by the stores ([`crate::store::UserId::parse`] keeps this rule)
/// and by the browser tracker.
pub const MAX_USER_ID_CHARS: usize = 128;

/// Input an enqueue refuses; nothing is queued when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The user id is empty, too long, has control characters or surrounding whitespace.
    #[error("invalid userId: {0}")]
    UserId(String),
    /// The exam type is not `diagnostic` or `practice`.
    #[error("unknown exam type {0:?}: expected \"diagnostic\" or \"practice\"")]
    ExamType(String),
}

impl ErrorCode for InputError {
    fn code(&self) -> &'static str {
        match self {
            InputError::UserId(_) => "queue.invalid_user_id",
            InputError::ExamType(_) => "queue.invalid_exam_type",
        }
    }

    /// Bad input stays bad.
    fn is_retryable(&self) -> bool {
        false
    }
}

/// Checks a user id by the stores' rule: 1 to [`MAX_USER_ID_CHARS`] characters, no control characters, no
/// surrounding whitespace, not starting with the bank jobs' reserved [`BANK_KEY_PREFIX`](super::BANK_KEY_PREFIX).
pub fn check_user_id(raw: &str) -> Result<(), InputError> {
    if raw.is_empty() {
        return Err(InputError::UserId("must not be empty".into()));
    }
    let chars = raw.chars().count();
    if chars > MAX_USER_ID_CHARS {
        return Err(InputError::UserId(format!("{chars} characters, at most {MAX_USER_ID_CHARS}")));
    }
    if raw.chars().any(char::is_control) {
        return Err(InputError::UserId("must not contain control characters".into()));
    }
    if raw.trim() != raw {
        return Err(InputError::UserId("must not start or end with whitespace".into()));
    }
    if raw.starts_with(super::BANK_KEY_PREFIX) {
        return Err(InputError::UserId(format!("must not start with {:?} (bank jobs)", super::BANK_KEY_PREFIX)));
    }
    Ok(())
}

/// Reads an exam type's wire name (`"diagnostic"`, `"practice"`; exact, case-sensitive).
pub fn parse_exam_type(raw: &str) -> Result<ExamType, InputError> {
    raw.parse().map_err(|_| InputError::ExamType(raw.to_owned()))
}

/// The job key of a (user id, exam type name) pair given as text, checked.
pub fn parse_key(user_id: &str, exam_type: &str) -> Result<JobKey, InputError> {
    check_user_id(user_id)?;
    Ok(JobKey::new(user_id, parse_exam_type(exam_type)?))
}

/// The exam types a page trigger pre-generates: both on a page load (`None`), and after an exam of type `t` is
/// finished the other one (`t.next()`), as the old dashboard and exam pages did.
pub fn trigger_types(finished: Option<ExamType>) -> Vec<ExamType> {
    match finished {
        None => ExamType::ALL.to_vec(),
        Some(t) => vec![t.next()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_ids() -> Vec<String> {
        vec![
            "u".into(),
            "a1b2c3d4-0000-4000-8000-000000000000".into(),
            "user with inner spaces".into(),
            "ünïcödé-用户".into(),
            "x".repeat(MAX_USER_ID_CHARS),
            "é".repeat(MAX_USER_ID_CHARS),
        ]
    }

    fn bad_ids() -> Vec<String> {
        vec![
            String::new(),
            " ".into(),
            " u".into(),
            "u ".into(),
            "u\n".into(),
            "u\tv".into(),
            "\u{7f}".into(),
            "\u{0}u".into(),
            "x".repeat(MAX_USER_ID_CHARS + 1),
            "é".repeat(MAX_USER_ID_CHARS + 1),
        ]
    }

    #[test]
    fn user_ids_by_the_stores_rule() {
        for id in ok_ids() {
            assert_eq!(check_user_id(&id), Ok(()), "{id:?}");
        }
        for id in bad_ids() {
            let err = check_user_id(&id).unwrap_err();
            assert_eq!(err.code(), "queue.invalid_user_id", "{id:?}");
            assert!(!err.is_retryable());
        }
        assert_eq!(check_user_id("").unwrap_err().to_string(), "invalid userId: must not be empty");
    }

    #[cfg(feature = "runtime")]
    #[test]
    fn agrees_with_the_stores_user_id() {
        assert_eq!(MAX_USER_ID_CHARS, crate::store::MAX_USER_ID_CHARS);
        for id in ok_ids().into_iter().chain(bad_ids()) {
            assert_eq!(check_user_id(&id).is_ok(), crate::store::UserId::parse(&id).is_ok(), "{id:?}");
        }
    }

    #[test]
    fn exam_types_are_exact_wire_names() {
        assert_eq!(parse_exam_type("diagnostic"), Ok(ExamType::Diagnostic));
        assert_eq!(parse_exam_type("practice"), Ok(ExamType::Practice));
        for bad in ["", "Practice", "PRACTICE", " practice", "practice ", "diag", "exam", "undefined", "null"] {
            let err = parse_exam_type(bad).unwrap_err();
            assert_eq!((err.code(), err), ("queue.invalid_exam_type", InputError::ExamType(bad.into())));
        }
    }

    #[test]
    fn keys_check_the_user_first() {
        assert_eq!(parse_key("u1", "practice"), Ok(JobKey::new("u1", ExamType::Practice)));
        assert_eq!(parse_key("", "nope").unwrap_err().code(), "queue.invalid_user_id");
        assert_eq!(parse_key("u1", "nope").unwrap_err().code(), "queue.invalid_exam_type");
    }

    #[test]
    fn triggers_ask_for_both_types_or_the_next_one() {
        assert_eq!(trigger_types(None), [ExamType::Diagnostic, ExamType::Practice]);
        assert_eq!(trigger_types(Some(ExamType::Diagnostic)), [ExamType::Practice]);
        assert_eq!(trigger_types(Some(ExamType::Practice)), [ExamType::Diagnostic]);
    }
}

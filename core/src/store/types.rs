//! Values passed to and returned by the stores, shared by every backend.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::exam::{Exam, ExamJson, ExamSpec, ExamType, ValidationReport, validate_exam};
use crate::policy::Policy;
use crate::queue::LogEscaped;

/// The longest user id accepted, in characters. Supabase ids are 36; demo and test ids are short. One rule with
/// the browser's checks: [`crate::queue::check_user_id`].
pub use crate::queue::MAX_USER_ID_CHARS;

/// A validated user id: 1 to 128 characters, no control characters, no surrounding whitespace, not starting with
/// `@bank/` (reserved for bank jobs' keys, [`BANK_KEY_PREFIX`](crate::queue::BANK_KEY_PREFIX)). Format
/// characters (bidi controls, zero-width characters) and line separators are accepted as stored ids but
/// [`Display`](fmt::Display) escapes them (see [`escape_for_log`](crate::queue::escape_for_log)), so an id can be
/// put in a log line or an error text as it is; [`UserId::as_str`] is the raw id for queries and bodies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// Checks `raw` and wraps it; a bad id is an [`StoreError::InvalidInput`] naming `userId`.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        crate::queue::check_user_id(raw).map_err(|e| match e {
            crate::queue::InputError::UserId(why) => StoreError::invalid("userId", why),
            other => StoreError::invalid("userId", other.to_string()),
        })?;
        Ok(Self(raw.to_owned()))
    }

    /// The raw id as text, for queries and response bodies (not for log lines: use `Display`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id escaped for log lines and error texts by [`escape_for_log`](crate::queue::escape_for_log): ordinary ids
/// of any script unchanged, invisible and line-breaking characters as `\u{hex}`.
impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&LogEscaped(&self.0), f)
    }
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        UserId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Formats an instant the way every JSON body of the old routes did: ISO-8601 UTC with milliseconds.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Requests, tokens and cost of API use: per exam as stored, and summed over exams by analytics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenTotals {
    /// API requests (batch requests included).
    pub requests: u64,
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// What the requests cost, in USD (batch discount applied).
    pub cost_usd: f64,
}

/// What it took to generate one exam: stored with it and summed by analytics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationStats {
    /// Requests, tokens and cost.
    #[serde(flatten)]
    pub tokens: TokenTotals,
    /// Whether its first round went through the Batches API.
    pub batch: bool,
    /// When its generation was asked for (the job's enqueue time), for the trigger-to-ready figure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<DateTime<Utc>>,
}

/// An exam ready to be stored: validated against its spec when built, so a store never sees an invalid one.
#[derive(Debug, Clone)]
pub struct NewExam {
    pub(crate) user_id: UserId,
    pub(crate) exam_type: ExamType,
    pub(crate) exam: Exam,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) generation: GenerationStats,
}

impl NewExam {
    /// Validates `exam` against `spec` and stamps its creation and expiry from `policy`. An exam with any problem is
    /// refused with [`StoreError::InvalidExam`] carrying the full report.
    pub fn new(
        user_id: UserId,
        exam_type: ExamType,
        exam: Exam,
        spec: &ExamSpec,
        created_at: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<Self, StoreError> {
        let report: ValidationReport = validate_exam(&exam, spec);
        if !report.is_valid() {
            return Err(StoreError::InvalidExam(Box::new(report)));
        }
        Ok(Self {
            user_id,
            exam_type,
            exam,
            created_at,
            expires_at: policy.expires_at(created_at),
            generation: GenerationStats::default(),
        })
    }

    /// Attaches what it took to generate the exam.
    pub fn with_generation(mut self, generation: GenerationStats) -> Self {
        self.generation = generation;
        self
    }

    /// Whose exam it is.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// Its type.
    pub fn exam_type(&self) -> ExamType {
        self.exam_type
    }

    /// The validated exam.
    pub fn exam(&self) -> &Exam {
        &self.exam
    }

    /// When it expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}

/// A claimed exam's stored text as an [`ExamJson`]; text that is not one JSON value is [`StoreError::Corrupt`],
/// naming `what` (`exam`, `bank exam`) and its id.
pub(crate) fn stored_exam_json(
    what: &str,
    id: &dyn std::fmt::Display,
    json: String,
) -> Result<ExamJson, StoreError> {
    ExamJson::from_stored(json).map_err(|e| StoreError::Corrupt(format!("{what} {id} JSON: {e}")))
}

/// An exam handed out by a claim: it is marked used, and no other caller can receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedExam {
    /// The stored exam's id.
    pub id: String,
    /// Whose exam it is.
    pub user_id: UserId,
    /// Its type.
    pub exam_type: ExamType,
    /// The exam's stored JSON text, served as it is; [`ExamJson::parse`] gives the items.
    pub exam: ExamJson,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When it would have expired.
    pub expires_at: DateTime<Utc>,
    /// When this claim marked it used.
    pub used_at: DateTime<Utc>,
}

/// A (user, exam type) below its stock target, and by how many exams.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingExams {
    /// The active user.
    pub user_id: UserId,
    /// The exam type short of stock.
    pub exam_type: ExamType,
    /// How many exams to generate.
    pub missing: u32,
}

/// What one cleanup deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupReport {
    /// Unused exams deleted because they expired.
    pub expired_deleted: u64,
    /// Used exams deleted because their retention ran out.
    pub used_deleted: u64,
    /// How many bounded delete statements ran.
    pub batches: u64,
}

impl CleanupReport {
    /// Every exam deleted.
    pub fn total(&self) -> u64 {
        self.expired_deleted + self.used_deleted
    }
}

/// The per-user part of the analytics body, with the old keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserStatsSummary {
    /// Users with at least one stored exam.
    pub users_with_pre_gen: u64,
    /// Active users with no stored exam.
    pub users_without_pre_gen: u64,
    /// Stored exams per user with at least one, rounded to 2 decimals.
    pub avg_pre_gen_per_user: f64,
}

/// The old analytics body's `stats`, computed by aggregate SQL over the rows currently stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExamAnalytics {
    /// Rows stored.
    pub total_generated: u64,
    /// Rows marked used.
    pub total_used: u64,
    /// Rows not marked used (expired or not).
    pub total_unused: u64,
    /// Rows whose expiry has passed.
    pub total_expired: u64,
    /// Rows per user with at least one row, rounded to 2 decimals.
    pub average_exams_per_user: f64,
    /// Diagnostic rows.
    pub diagnostic_count: u64,
    /// Practice rows.
    pub practice_count: u64,
    /// round(100 x used / total); 0 when nothing is stored.
    pub used_percentage: u64,
    /// Unexpired rows expiring within the next 24 hours.
    #[serde(rename = "expiringWithin24h")]
    pub expiring_within_24h: u64,
    /// Per-user figures.
    pub user_stats: UserStatsSummary,
    /// When the figures were taken, ISO-8601 UTC.
    pub timestamp: String,
}

/// The raw counts a backend's aggregate query returns; [`ExamAnalytics::from_counts`] derives the ratios once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnalyticsCounts {
    /// Rows stored.
    pub total: u64,
    /// Rows used.
    pub used: u64,
    /// Rows expired at `now`.
    pub expired: u64,
    /// Diagnostic rows.
    pub diagnostic: u64,
    /// Practice rows.
    pub practice: u64,
    /// Unexpired rows expiring within 24 h.
    pub expiring_within_24h: u64,
    /// Distinct users with at least one row.
    pub users_with_rows: u64,
    /// Active users with no row.
    pub active_users_without_rows: u64,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl ExamAnalytics {
    /// Derives the body from the counts with the old meanings (see `seed-system.md`).
    pub fn from_counts(c: AnalyticsCounts, now: DateTime<Utc>) -> Self {
        let per_user =
            if c.users_with_rows == 0 { 0.0 } else { round2(c.total as f64 / c.users_with_rows as f64) };
        let used_percentage = if c.total == 0 { 0 } else { (c.used * 200 + c.total) / (c.total * 2) };
        Self {
            total_generated: c.total,
            total_used: c.used,
            total_unused: c.total - c.used,
            total_expired: c.expired,
            average_exams_per_user: per_user,
            diagnostic_count: c.diagnostic,
            practice_count: c.practice,
            used_percentage,
            expiring_within_24h: c.expiring_within_24h,
            user_stats: UserStatsSummary {
                users_with_pre_gen: c.users_with_rows,
                users_without_pre_gen: c.active_users_without_rows,
                avg_pre_gen_per_user: per_user,
            },
            timestamp: iso(now),
        }
    }
}

/// One user's stock of one exam type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeStock {
    /// Unused and unexpired exams (servable now).
    pub ready: u64,
    /// Of those, how many count toward the stock target (not expiring within the renewal margin).
    pub counting: u64,
    /// Used exams still kept.
    pub used: u64,
    /// Unused exams past their expiry, awaiting cleanup.
    pub expired: u64,
    /// When the next servable exam expires, ISO-8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_expires_at: Option<String>,
}

/// One user's pre-generation stats: stock per type and when they were last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserExamStats {
    /// The user.
    pub user_id: String,
    /// Diagnostic stock.
    pub diagnostic: TypeStock,
    /// Practice stock.
    pub practice: TypeStock,
    /// When the user was last recorded active, ISO-8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<String>,
    /// Whether the user is inside the active window now.
    pub active: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_checked() {
        assert!(UserId::parse("3f2b8c1e-0000-4000-8000-000000000001").is_ok());
        assert!(UserId::parse("demo-user-1").is_ok());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse(&"x".repeat(129)).is_err());
        assert!(UserId::parse(&"é".repeat(128)).is_ok());
        assert!(UserId::parse("bad\nid").is_err());
        assert!(UserId::parse("nul\0").is_err());
        assert!(UserId::parse(" padded").is_err());
        assert!(UserId::parse("@bank/0").is_err(), "bank jobs' keys are no user ids");
        assert!(UserId::parse("@bank").is_ok() && UserId::parse("bank/0").is_ok());
        let err = UserId::parse("").unwrap_err();
        assert_eq!(crate::error::ErrorCode::code(&err), "store.invalid_input");
    }

    #[test]
    fn user_ids_display_escaped_and_stay_raw_elsewhere() {
        let cases = [
            ("rtl\u{202e}txt", "rtl\\u{202e}txt"),
            ("split\u{2028}line", "split\\u{2028}line"),
            ("para\u{2029}x", "para\\u{2029}x"),
            ("zero\u{200b}width", "zero\\u{200b}width"),
            ("\u{feff}bom", "\\u{feff}bom"),
            ("iso\u{2066}late\u{2069}", "iso\\u{2066}late\\u{2069}"),
            ("José", "José"),
            ("山田太郎", "山田太郎"),
            ("😀-user", "😀-user"),
            ("3f2b8c1e-0000-4000-8000-000000000001", "3f2b8c1e-0000-4000-8000-000000000001"),
        ];
        for (raw, shown) in cases {
            let id = UserId::parse(raw).unwrap();
            assert_eq!(id.to_string(), shown);
            assert_eq!(format!("[Pre-Gen] served {id}"), format!("[Pre-Gen] served {shown}"));
            assert_eq!(id.as_str(), raw);
            assert_eq!(serde_json::to_value(&id).unwrap(), raw, "bodies carry the raw id");
        }
    }

    #[test]
    fn analytics_ratios_follow_the_old_meanings() {
        let now = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
        let a = ExamAnalytics::from_counts(
            AnalyticsCounts {
                total: 7,
                used: 2,
                expired: 1,
                diagnostic: 3,
                practice: 4,
                expiring_within_24h: 1,
                users_with_rows: 3,
                active_users_without_rows: 2,
            },
            now,
        );
        assert_eq!(a.total_unused, 5);
        assert_eq!(a.used_percentage, 29, "round(100 * 2 / 7) = round(28.57)");
        assert_eq!(a.average_exams_per_user, 2.33);
        assert_eq!(a.user_stats.avg_pre_gen_per_user, 2.33);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["expiringWithin24h"], 1);
        assert_eq!(json["userStats"]["usersWithoutPreGen"], 2);
        assert_eq!(json["timestamp"], "2025-10-09T08:53:20.000Z");
        let empty = ExamAnalytics::from_counts(AnalyticsCounts::default(), now);
        assert_eq!((empty.used_percentage, empty.average_exams_per_user), (0, 0.0));
    }

    #[test]
    fn used_percentage_rounds_half_up() {
        let now = DateTime::from_timestamp(0, 0).unwrap();
        let c = AnalyticsCounts { total: 8, used: 1, ..Default::default() };
        assert_eq!(ExamAnalytics::from_counts(c, now).used_percentage, 13, "12.5 rounds to 13");
    }
}

/// Totals behind the service's extra analytics: what the stored exams cost, how long they took from trigger to
/// ready, how jobs ended, and how often the get route found an exam.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationSummary {
    /// Requests, tokens and cost behind the stored exams.
    #[serde(flatten)]
    pub tokens: TokenTotals,
    /// Stored exams whose first round went through the Batches API.
    pub batch_exams: u64,
    /// Mean milliseconds from the trigger (job enqueued) to the exam stored, over exams that know both.
    pub mean_trigger_to_ready_ms: Option<f64>,
    /// Jobs kept by retention that succeeded.
    pub jobs_succeeded: u64,
    /// Jobs kept by retention that died.
    pub jobs_dead: u64,
    /// Get-route calls that served an exam.
    pub gets_served: u64,
    /// Get-route calls that found none.
    pub gets_missed: u64,
}

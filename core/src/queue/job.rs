//! The job record: who it is for, where it is in its life, its lease while running, and its last error.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::error::QueueError;
use super::escape::LogEscaped;
use super::options::QueueOptions;
use crate::error::ErrorCode;
use crate::exam::ExamType;

/// A job's identifier: a UUID in the durable stores, a counter (`"job-1"`) in the browser tracker.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub String);

impl JobId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for JobId {
    fn from(s: &str) -> Self {
        JobId(s.to_owned())
    }
}

impl From<String> for JobId {
    fn from(s: String) -> Self {
        JobId(s)
    }
}

/// What a job makes: one exam of a type for a user. At most one unfinished job exists per key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobKey {
    /// The user the exam is for.
    pub user_id: String,
    /// The type of exam to generate.
    pub exam_type: ExamType,
}

/// The prefix of a bank job's key: `@bank/<slot>` in place of a user id. User ids may not start with it (see
/// `store::UserId`), so a bank job's key never meets a user's.
pub const BANK_KEY_PREFIX: &str = "@bank/";

impl JobKey {
    /// The key of (`user_id`, `exam_type`).
    pub fn new(user_id: impl Into<String>, exam_type: ExamType) -> Self {
        Self { user_id: user_id.into(), exam_type }
    }

    /// The key of bank job `slot` of `exam_type`: a job that makes one shared exam. A sweep that finds the bank
    /// short by `n` enqueues slots `0..n`, so the one-unfinished-job-per-key rule dedupes bank jobs as it does
    /// users' jobs.
    pub fn bank(exam_type: ExamType, slot: u32) -> Self {
        Self { user_id: format!("{BANK_KEY_PREFIX}{slot}"), exam_type }
    }

    /// The slot of a bank job's key; `None` for a user's key.
    pub fn bank_slot(&self) -> Option<u32> {
        let digits = self.user_id.strip_prefix(BANK_KEY_PREFIX)?;
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.len() > 1 && digits.starts_with('0')
        {
            return None;
        }
        digits.parse().ok()
    }

    /// Whether the key names a bank job (a well-formed `@bank/<slot>`).
    pub fn is_bank(&self) -> bool {
        self.bank_slot().is_some()
    }

    /// The user id as it may appear in a log line (see [`escape_for_log`](super::escape_for_log)).
    pub fn user_for_log(&self) -> LogEscaped<'_> {
        LogEscaped(&self.user_id)
    }
}

/// `"<exam type> for <user>"`, the user escaped for log lines (see [`escape_for_log`](super::escape_for_log)).
impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} for {}", self.exam_type, self.user_for_log())
    }
}

/// Where a job is in its life. `Pending`, `Running` and `RetryWait` are unfinished; the other three are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its first attempt (or returned by a graceful release), due at `run_at`.
    Pending,
    /// An attempt is under way; a lease names the holder.
    Running,
    /// An attempt failed and another is allowed, due at `run_at` after the backoff.
    RetryWait,
    /// An attempt succeeded. Final.
    Succeeded,
    /// Attempts ran out, or a failure was not retryable; the last error is kept. Final.
    Dead,
    /// Cancelled before it ran (or between attempts). Final.
    Cancelled,
}

impl JobState {
    /// Every state, in life order.
    pub const ALL: [JobState; 6] = [
        JobState::Pending,
        JobState::Running,
        JobState::RetryWait,
        JobState::Succeeded,
        JobState::Dead,
        JobState::Cancelled,
    ];

    /// The stored and wire name: `"pending"`, `"running"`, `"retry_wait"`, `"succeeded"`, `"dead"`, `"cancelled"`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::RetryWait => "retry_wait",
            JobState::Succeeded => "succeeded",
            JobState::Dead => "dead",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Whether the state is final (succeeded, dead, cancelled): such a job never changes again.
    pub fn is_finished(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Dead | JobState::Cancelled)
    }

    /// Whether the job still holds its key (pending, running, retry wait), so an enqueue returns it.
    pub fn is_unfinished(self) -> bool {
        !self.is_finished()
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = QueueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| QueueError::UnknownState(s.to_owned()))
    }
}

/// Who holds a running job and until when. A holder that stops heartbeating loses the job at `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// The worker holding the job; unique per worker process (a UUID or host:pid:n).
    pub holder: String,
    /// The lease is valid strictly before this instant.
    pub expires_at: DateTime<Utc>,
}

/// Why an attempt failed, kept on the job (and on a dead job forever) with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobError {
    /// A stable dotted code such as `"claude.rate_limited"` or `"queue.timeout"`.
    pub code: String,
    /// Human-readable detail; never contains secrets.
    pub message: String,
}

impl JobError {
    /// An error with `code` and `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into() }
    }

    /// The code and text of any error of this crate.
    pub fn from_error<E: ErrorCode + fmt::Display + ?Sized>(err: &E) -> Self {
        Self::new(err.code(), err.to_string())
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// One pre-generation job: its key, state, attempt count and times. Changed only by the transitions in
/// [`crate::queue`], which return a new job and leave the old one untouched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// The job's id.
    pub id: JobId,
    /// The (user, exam type) it generates for; serialised as `userId` and `examType`.
    #[serde(flatten)]
    pub key: JobKey,
    /// Where it is in its life.
    pub state: JobState,
    /// Attempts started and not released: 1 while the first attempt runs. Also the fencing token with the holder.
    pub attempt: u32,
    /// Attempts allowed, copied from the retry policy when enqueued.
    pub max_attempts: u32,
    /// Times a running attempt was handed back ([`release`](super::release)): graceful shutdowns and spent
    /// budgets. Never reset.
    #[serde(default)]
    pub releases: u32,
    /// Releases that return their attempt, copied from [`QueueOptions::max_releases`] when enqueued; every
    /// release beyond it spends the attempt, so a job cut short again and again cannot loop forever.
    #[serde(default = "default_max_releases")]
    pub max_releases: u32,
    /// When it may next start (pending, retry wait); kept as-is once running or finished.
    pub run_at: DateTime<Utc>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When any transition last changed it.
    pub updated_at: DateTime<Utc>,
    /// When the latest attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// While running: when the attempt times out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    /// While running: who holds it and until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// When it reached a final state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The error of the latest failed attempt; cleared by success, kept by death.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<JobError>,
}

impl Job {
    /// A new pending job for `key`, due at once, allowed `options.retry.max_attempts` attempts.
    pub fn new(id: JobId, key: JobKey, now: DateTime<Utc>, options: &QueueOptions) -> Self {
        Self {
            id,
            key,
            state: JobState::Pending,
            attempt: 0,
            max_attempts: options.retry.max_attempts,
            releases: 0,
            max_releases: options.max_releases,
            run_at: now,
            created_at: now,
            updated_at: now,
            started_at: None,
            deadline: None,
            lease: None,
            finished_at: None,
            last_error: None,
        }
    }

    /// Whether the job is final (succeeded, dead, cancelled).
    pub fn is_finished(&self) -> bool {
        self.state.is_finished()
    }

    /// Whether the job still holds its key (pending, running, retry wait).
    pub fn is_unfinished(&self) -> bool {
        self.state.is_unfinished()
    }

    /// Whether a worker may start it at `now`: waiting (pending or retry wait) and `run_at <= now` (inclusive).
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        matches!(self.state, JobState::Pending | JobState::RetryWait) && self.run_at <= now
    }

    /// Whether it is running under a lease that has expired at `now` (`expires_at <= now`), so its holder is
    /// presumed gone and the job may be recorded as abandoned.
    pub fn lease_expired(&self, now: DateTime<Utc>) -> bool {
        self.state == JobState::Running && self.lease.as_ref().is_none_or(|lease| lease.expires_at <= now)
    }

    /// Whether it is running past its attempt deadline at `now` (`deadline <= now`).
    pub fn deadline_passed(&self, now: DateTime<Utc>) -> bool {
        self.state == JobState::Running && self.deadline.is_some_and(|deadline| deadline <= now)
    }
}

fn default_max_releases() -> u32 {
    QueueOptions::default().max_releases
}

/// `t + d`, saturating at the representable range instead of panicking on absurd durations.
pub(super) fn later(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    let bound = if d < TimeDelta::zero() { DateTime::<Utc>::MIN_UTC } else { DateTime::<Utc>::MAX_UTC };
    t.checked_add_signed(d).unwrap_or(bound)
}

/// The dedupe rule: the unfinished job holding `key` among `jobs`, which an enqueue of `key` returns instead of
/// creating a second one. Finished jobs of the same key do not count.
pub fn unfinished_for<'a>(jobs: impl IntoIterator<Item = &'a Job>, key: &JobKey) -> Option<&'a Job> {
    jobs.into_iter().find(|job| job.is_unfinished() && job.key == *key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_760_000_000, 0).unwrap()
    }

    fn job() -> Job {
        Job::new(JobId::from("job-1"), JobKey::new("u1", ExamType::Practice), t0(), &QueueOptions::default())
    }

    #[test]
    fn bank_keys_carry_their_slot_and_user_keys_none() {
        let key = JobKey::bank(ExamType::Diagnostic, 7);
        assert_eq!(key.user_id, "@bank/7");
        assert_eq!((key.bank_slot(), key.is_bank()), (Some(7), true));
        for user in ["u1", "@bank", "@bank/", "@bank/x", "@bank/07", "@bank/-1", "bank/1", "@bank/99999999999"] {
            assert_eq!(JobKey::new(user, ExamType::Practice).bank_slot(), None, "{user}");
        }
        assert_eq!(JobKey::bank(ExamType::Practice, 0).bank_slot(), Some(0));
    }

    #[test]
    fn state_names_round_trip() {
        for state in JobState::ALL {
            assert_eq!(state.as_str().parse::<JobState>(), Ok(state));
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
            assert_ne!(state.is_finished(), state.is_unfinished());
        }
        assert_eq!(JobState::RetryWait.as_str(), "retry_wait");
        assert_eq!("Pending".parse::<JobState>(), Err(QueueError::UnknownState("Pending".into())));
        let finished: Vec<_> = JobState::ALL.into_iter().filter(|s| s.is_finished()).collect();
        assert_eq!(finished, [JobState::Succeeded, JobState::Dead, JobState::Cancelled]);
    }

    #[test]
    fn new_job_is_pending_and_due_now() {
        let j = job();
        assert_eq!((j.state, j.attempt, j.max_attempts), (JobState::Pending, 0, 3));
        assert_eq!((j.releases, j.max_releases), (0, QueueOptions::default().max_releases));
        assert!(j.is_due(t0()));
        assert!(!j.is_due(t0() - chrono::TimeDelta::milliseconds(1)));
        assert!(!j.lease_expired(t0()));
    }

    #[test]
    fn serialises_camel_case_with_flat_key() {
        let mut j = job();
        j.last_error = Some(JobError::new("claude.overloaded", "529"));
        let json = serde_json::to_value(&j).unwrap();
        assert_eq!(json["userId"], "u1");
        assert_eq!(json["examType"], "practice");
        assert_eq!(json["maxAttempts"], 3);
        assert_eq!(json["state"], "pending");
        assert_eq!(json["lastError"]["code"], "claude.overloaded");
        assert!(json.get("lease").is_none());
        assert_eq!((json["releases"].clone(), json["maxReleases"].clone()), (0.into(), j.max_releases.into()));
        let back: Job = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, j);
        let mut older = json;
        let fields = older.as_object_mut().unwrap();
        fields.remove("releases");
        fields.remove("maxReleases");
        assert_eq!(serde_json::from_value::<Job>(older).unwrap(), j, "jobs written before release counting read");
    }

    #[test]
    fn a_key_displays_its_user_escaped() {
        assert_eq!(JobKey::new("u1", ExamType::Practice).to_string(), "practice for u1");
        let key = JobKey::new("ad\u{200b}min\u{202e}\u{2028}x", ExamType::Diagnostic);
        assert_eq!(key.to_string(), "diagnostic for ad\\u{200b}min\\u{202e}\\u{2028}x");
        assert_eq!(key.user_for_log().to_string(), "ad\\u{200b}min\\u{202e}\\u{2028}x");
        assert_eq!(JobKey::new("山田", ExamType::Practice).to_string(), "practice for 山田");
    }

    #[test]
    fn dedupe_finds_only_unfinished_jobs_of_the_key() {
        let mut done = job();
        done.state = JobState::Succeeded;
        let other = Job::new(
            JobId::from("job-2"),
            JobKey::new("u1", ExamType::Diagnostic),
            t0(),
            &QueueOptions::default(),
        );
        let live = Job { id: JobId::from("job-3"), ..job() };
        let key = JobKey::new("u1", ExamType::Practice);
        assert_eq!(unfinished_for([&done, &other], &key), None);
        assert_eq!(unfinished_for([&done, &other, &live], &key).map(|j| &j.id), Some(&live.id));
    }

    #[test]
    fn job_error_from_crate_errors() {
        let err = QueueError::AlreadyRunning;
        assert_eq!(JobError::from_error(&err), JobError::new("queue.already_running", "job is already running"));
    }
}

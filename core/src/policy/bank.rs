//! The bank's rules: how long a shared exam serves and how often, and how many new exams the bank needs so that
//! every active user has enough exams they have not seen. Pure: the stores turn these numbers into query
//! parameters, and [`plan_population`] states the planning rule over plain values so a store's set-based query
//! can be checked against it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::PolicyError;
use crate::exam::ExamType;

/// The numbers of the shared bank. Defaults: 2 unseen exams per active user and type, at least 3 exams per type,
/// an exam retires after 200 assignments or 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BankPolicy {
    /// Servable exams of a type every active user should have never been assigned (2, at least 1).
    pub unseen_target: u32,
    /// Servable exams of each type the bank keeps however few users there are (3).
    pub min_size: u32,
    /// An exam retires once it has been assigned this many times (200), which bounds its exposure.
    pub max_assignments: u32,
    /// An exam retires this long after it was stored (30 days).
    #[serde(with = "super::millis")]
    pub max_age: TimeDelta,
}

impl Default for BankPolicy {
    fn default() -> Self {
        Self { unseen_target: 2, min_size: 3, max_assignments: 200, max_age: TimeDelta::days(30) }
    }
}

/// One bank exam as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankExamLife {
    /// Its type.
    pub exam_type: ExamType,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// How many users it was assigned to.
    pub assignments: u32,
    /// When it was last assigned.
    pub last_assigned_at: Option<DateTime<Utc>>,
}

impl BankPolicy {
    /// Refuses numbers that cannot work: an exam that may never be assigned, or never lives.
    pub fn check(&self) -> Result<(), PolicyError> {
        if self.unseen_target == 0 {
            return Err(PolicyError(
                "bank unseen_target must be at least 1 (a user who saw everything needs one)",
            ));
        }
        if self.max_assignments == 0 {
            return Err(PolicyError("bank max_assignments must be at least 1"));
        }
        if self.max_age <= TimeDelta::zero() {
            return Err(PolicyError("bank max_age must be positive"));
        }
        Ok(())
    }

    /// When a bank exam stored at `created_at` retires by age (exclusive: it is no longer servable then).
    pub fn expires_at(&self, created_at: DateTime<Utc>) -> DateTime<Utc> {
        created_at + self.max_age
    }

    /// Whether the exam is retired at `now`: assigned `max_assignments` times, or past its age.
    pub fn is_retired(&self, exam: &BankExamLife, now: DateTime<Utc>) -> bool {
        exam.assignments >= self.max_assignments || self.expires_at(exam.created_at) <= now
    }

    /// Whether the exam may be assigned at `now` (to a user who never received it).
    pub fn is_servable(&self, exam: &BankExamLife, now: DateTime<Utc>) -> bool {
        !self.is_retired(exam, now)
    }

    /// Whether the exam counts toward the bank when planning at `now`: servable, with at least one assignment
    /// left, and not retiring by age before `cutoff` (the policy's stock cut-off, so a successor is made in time).
    pub fn counts_for_planning(&self, exam: &BankExamLife, cutoff: DateTime<Utc>) -> bool {
        exam.assignments < self.max_assignments && self.expires_at(exam.created_at) > cutoff
    }

    /// Whether cleanup at `now` deletes the exam: retired, and not assigned within `retention` (a user who
    /// received it lately may still be loading it).
    pub fn is_deletable(&self, exam: &BankExamLife, now: DateTime<Utc>, retention: TimeDelta) -> bool {
        self.is_retired(exam, now) && exam.last_assigned_at.is_none_or(|t| t <= now - retention)
    }

    /// New exams a type needs: enough that the user who has seen the most of the `counted` exams still has
    /// `unseen_target` unseen (`max_seen` is that user's count, `None` without active users), and at least
    /// `min_size` in all.
    pub fn needed(&self, counted: u32, max_seen: Option<u32>) -> u32 {
        let for_users = max_seen.map_or(0, |seen| {
            let unseen = counted.saturating_sub(seen);
            self.unseen_target.saturating_sub(unseen)
        });
        for_users.max(self.min_size.saturating_sub(counted))
    }
}

/// The planning rule over plain values: for each type, how many new exams the bank needs at `now`, given the
/// stored exams (by id), who received which, and the active users. `cutoff` is the stock cut-off
/// ([`Policy::stock_cutoff`](super::Policy::stock_cutoff)). A store's set-based planning must agree with this.
pub fn plan_population(
    policy: &BankPolicy,
    exams: &BTreeMap<String, BankExamLife>,
    assignments: &[(String, String)],
    active_users: &BTreeSet<String>,
    cutoff: DateTime<Utc>,
) -> BTreeMap<ExamType, u32> {
    let counted: BTreeMap<&str, &BankExamLife> = exams
        .iter()
        .filter(|(_, e)| policy.counts_for_planning(e, cutoff))
        .map(|(id, e)| (id.as_str(), e))
        .collect();
    ExamType::ALL
        .into_iter()
        .map(|exam_type| {
            let size = counted.values().filter(|e| e.exam_type == exam_type).count();
            let max_seen = active_users
                .iter()
                .map(|user| {
                    assignments
                        .iter()
                        .filter(|(u, id)| {
                            u == user && counted.get(id.as_str()).is_some_and(|e| e.exam_type == exam_type)
                        })
                        .count()
                })
                .max();
            let as_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            (exam_type, policy.needed(as_u32(size), max_seen.map(as_u32)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_760_000_000, 0).unwrap()
    }

    fn exam(assignments: u32, last: Option<DateTime<Utc>>) -> BankExamLife {
        BankExamLife { exam_type: ExamType::Practice, created_at: t0(), assignments, last_assigned_at: last }
    }

    #[test]
    fn retirement_by_count_and_by_age_at_their_boundaries() {
        let p = BankPolicy { max_assignments: 3, ..BankPolicy::default() };
        assert!(p.is_servable(&exam(2, None), t0()));
        assert!(p.is_retired(&exam(3, None), t0()));
        let end = t0() + TimeDelta::days(30);
        assert!(p.is_servable(&exam(0, None), end - TimeDelta::milliseconds(1)));
        assert!(p.is_retired(&exam(0, None), end));
    }

    #[test]
    fn cleanup_waits_for_the_last_assignment_to_age() {
        let p = BankPolicy { max_assignments: 3, ..BankPolicy::default() };
        let day = TimeDelta::days(1);
        let last = t0() + TimeDelta::hours(5);
        let retired = exam(3, Some(last));
        assert!(!p.is_deletable(&retired, last + day - TimeDelta::milliseconds(1), day));
        assert!(p.is_deletable(&retired, last + day, day));
        assert!(!p.is_deletable(&exam(2, Some(last)), last + day * 2, day), "still servable");
        assert!(p.is_deletable(&exam(0, None), t0() + TimeDelta::days(30), day), "aged out, never assigned");
    }

    #[test]
    fn need_covers_the_most_advanced_user_and_the_minimum() {
        let p = BankPolicy { unseen_target: 2, min_size: 3, ..BankPolicy::default() };
        assert_eq!(p.needed(0, None), 3, "an empty bank without users still gets its minimum");
        assert_eq!(p.needed(5, Some(0)), 0);
        assert_eq!(p.needed(5, Some(3)), 0, "two unseen left");
        assert_eq!(p.needed(5, Some(4)), 1);
        assert_eq!(p.needed(5, Some(5)), 2, "seen everything");
        assert_eq!(p.needed(1, Some(1)), 2, "the target outweighs the minimum");
        assert_eq!(p.needed(1, Some(0)), 2, "the minimum outweighs the target");
    }

    #[test]
    fn bad_numbers_are_refused() {
        assert!(BankPolicy::default().check().is_ok());
        assert!(BankPolicy { max_assignments: 0, ..BankPolicy::default() }.check().is_err());
        assert!(BankPolicy { unseen_target: 0, ..BankPolicy::default() }.check().is_err());
        assert!(BankPolicy { max_age: TimeDelta::zero(), ..BankPolicy::default() }.check().is_err());
    }
}

//! Exam specs: an exam kind as data (item count, scored count, allocation rule) and the per-domain, per-KN and
//! per-slot tables derived from it in integer arithmetic, so generator and validator agree to the item.

use serde::{Deserialize, Serialize};

use super::blueprint::{Domain, Kn};
use super::model::ExamType;

/// How an exam spreads its items over the blueprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allocation {
    /// One item per knowledge statement (KN1..KN71), so the spec must have exactly 71 items.
    OnePerKn,
    /// Items per domain by largest-remainder rounding of the blueprint weights, then spread evenly over each
    /// domain's knowledge statements.
    WeightedByDomain,
}

/// An exam kind as data, so an operator can add one (say a 57-item weighted diagnostic) without code changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExamSpec {
    /// A label for logs and reports, e.g. `"practice"`.
    pub name: String,
    /// How many items the exam holds.
    pub item_count: u32,
    /// How many of them count toward the result; the rest are unscored pretest items.
    pub scored_count: u32,
    /// How items are spread over domains and knowledge statements.
    pub allocation: Allocation,
}

/// A spec that no exam can satisfy, refused by [`ExamSpec::check`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The name is empty or only white space.
    #[error("invalid exam spec: the name is empty")]
    EmptyName,
    /// `item_count` is zero.
    #[error("invalid exam spec {name:?}: item_count is 0")]
    NoItems {
        /// The spec's name.
        name: String,
    },
    /// `item_count` is above [`ExamSpec::MAX_ITEMS`].
    #[error("invalid exam spec {name:?}: item_count {item_count} is above the limit of {max}")]
    TooManyItems {
        /// The spec's name.
        name: String,
        /// The count asked for.
        item_count: u32,
        /// The limit.
        max: u32,
    },
    /// `scored_count` is zero, so the exam could not produce a result.
    #[error("invalid exam spec {name:?}: scored_count is 0")]
    NoScoredItems {
        /// The spec's name.
        name: String,
    },
    /// More scored items than items.
    #[error("invalid exam spec {name:?}: scored_count {scored_count} is more than item_count {item_count}")]
    ScoredExceedsItems {
        /// The spec's name.
        name: String,
        /// The scored count asked for.
        scored_count: u32,
        /// The item count.
        item_count: u32,
    },
    /// `OnePerKn` with an item count other than 71.
    #[error("invalid exam spec {name:?}: one_per_kn needs exactly 71 items, not {item_count}")]
    OnePerKnCount {
        /// The spec's name.
        name: String,
        /// The item count given.
        item_count: u32,
    },
}

impl crate::error::ErrorCode for SpecError {
    fn code(&self) -> &'static str {
        match self {
            SpecError::EmptyName => "spec.empty_name",
            SpecError::NoItems { .. } => "spec.no_items",
            SpecError::TooManyItems { .. } => "spec.too_many_items",
            SpecError::NoScoredItems { .. } => "spec.no_scored_items",
            SpecError::ScoredExceedsItems { .. } => "spec.scored_exceeds_items",
            SpecError::OnePerKnCount { .. } => "spec.one_per_kn_count",
        }
    }

    fn is_retryable(&self) -> bool {
        false
    }
}

/// One item a generator must write: which knowledge statement it covers and whether it is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemSlot {
    /// The knowledge statement (and so the domain) of the item.
    pub kn: Kn,
    /// Whether the item counts toward the result.
    pub is_scored: bool,
}

const KN_TOTAL: u64 = Kn::COUNT as u64;

impl ExamSpec {
    /// The largest item count [`ExamSpec::check`] accepts; a guard against typos, well above the real 225.
    pub const MAX_ITEMS: u32 = 1_000;

    /// The diagnostic: 71 items, one per knowledge statement, all scored.
    pub fn diagnostic() -> Self {
        Self { name: "diagnostic".into(), item_count: 71, scored_count: 71, allocation: Allocation::OnePerKn }
    }

    /// The practice exam: 225 items weighted by domain, 175 scored and 50 unscored pretest items.
    pub fn practice() -> Self {
        Self {
            name: "practice".into(),
            item_count: 225,
            scored_count: 175,
            allocation: Allocation::WeightedByDomain,
        }
    }

    /// The built-in spec of an exam type.
    pub fn builtin(exam_type: ExamType) -> Self {
        match exam_type {
            ExamType::Diagnostic => Self::diagnostic(),
            ExamType::Practice => Self::practice(),
        }
    }

    /// Refuses specs no exam can satisfy: empty name, 0 items, more than [`Self::MAX_ITEMS`], 0 scored,
    /// more scored than items, or `OnePerKn` with other than 71 items.
    pub fn check(&self) -> Result<(), SpecError> {
        let name = || self.name.clone();
        if self.name.trim().is_empty() {
            return Err(SpecError::EmptyName);
        }
        if self.item_count == 0 {
            return Err(SpecError::NoItems { name: name() });
        }
        if self.item_count > Self::MAX_ITEMS {
            return Err(SpecError::TooManyItems {
                name: name(),
                item_count: self.item_count,
                max: Self::MAX_ITEMS,
            });
        }
        if self.scored_count == 0 {
            return Err(SpecError::NoScoredItems { name: name() });
        }
        if self.scored_count > self.item_count {
            return Err(SpecError::ScoredExceedsItems {
                name: name(),
                scored_count: self.scored_count,
                item_count: self.item_count,
            });
        }
        if self.allocation == Allocation::OnePerKn && u64::from(self.item_count) != KN_TOTAL {
            return Err(SpecError::OnePerKnCount { name: name(), item_count: self.item_count });
        }
        Ok(())
    }

    /// Items per domain (index 0 is domain 1). `WeightedByDomain`: largest-remainder rounding of
    /// `item_count × weight / 100` (ties: higher weight, then lower domain number). `OnePerKn`: each domain's KN
    /// count, whatever `item_count` says (a spec that disagrees fails [`Self::check`]).
    pub fn domain_counts(&self) -> [u32; 8] {
        match self.allocation {
            Allocation::OnePerKn => kn_counts_per_domain(),
            Allocation::WeightedByDomain => largest_remainder(self.item_count, weights(), 100, None),
        }
    }

    /// Scored items per domain, never above [`Self::domain_counts`]. `WeightedByDomain`: the same rounding as
    /// the domain counts applied to `scored_count` (so 175 gives 18/23/19/21/28/26/12/28), with a domain that
    /// would get more scored than total items skipped when handing out remainders. `OnePerKn`: largest
    /// remainder of `scored_count × kn_count / 71` per domain, same tie rule (71 scored gives every item).
    pub fn scored_domain_counts(&self) -> [u32; 8] {
        let totals = self.domain_counts();
        let scored = self.scored_count.min(totals.iter().sum());
        match self.allocation {
            Allocation::OnePerKn => largest_remainder(scored, totals, KN_TOTAL, Some(totals)),
            Allocation::WeightedByDomain => largest_remainder(scored, weights(), 100, Some(totals)),
        }
    }

    /// Items per knowledge statement (index 0 is KN1): a domain's items spread as evenly as possible over its
    /// knowledge statements, the first statements taking the one extra item when the count does not divide.
    pub fn kn_counts(&self) -> [u32; 71] {
        let mut out = [0; 71];
        for (domain, count) in Domain::ALL.into_iter().zip(self.domain_counts()) {
            for (kn, n) in domain.knowledge_statements().zip(spread_evenly(count, domain.kn_count())) {
                out[kn.index()] = n;
            }
        }
        out
    }

    /// Every item the generator must write, grouped by knowledge statement in order (scored slots first within a
    /// KN). Counts per domain, per KN and per scored flag equal the tables above; a domain's unscored slots are
    /// spread over its knowledge statements as evenly as possible. Callers wanting a mixed order shuffle it.
    pub fn slots(&self) -> Vec<ItemSlot> {
        let kn_counts = self.kn_counts();
        let scored_counts = self.scored_domain_counts();
        let mut slots = Vec::with_capacity(kn_counts.iter().sum::<u32>() as usize);
        for (domain, scored) in Domain::ALL.into_iter().zip(scored_counts) {
            let kns: Vec<Kn> = domain.knowledge_statements().collect();
            let per_kn: Vec<u32> = kns.iter().map(|kn| kn_counts[kn.index()]).collect();
            let scored_per_kn = scored_round_robin(&per_kn, scored);
            for ((kn, total), scored) in kns.into_iter().zip(per_kn).zip(scored_per_kn) {
                slots.extend((0..total).map(|i| ItemSlot { kn, is_scored: i < scored }));
            }
        }
        slots
    }
}

fn weights() -> [u32; 8] {
    Domain::ALL.map(Domain::weight_percent)
}

fn kn_counts_per_domain() -> [u32; 8] {
    Domain::ALL.map(|d| d.kn_count() as u32)
}

/// Splits `total` into shares proportional to `shares / denominator` by largest remainder, in `u64` so no count
/// overflows. Ties go to the higher blueprint weight, then the lower domain number. With `caps`, no domain is
/// raised above its cap; the rare seats left over (none for specs `check` accepts) go, in the same order, to any
/// domain still below its cap.
fn largest_remainder(total: u32, shares: [u32; 8], denominator: u64, caps: Option<[u32; 8]>) -> [u32; 8] {
    let total = u64::from(total);
    let mut out = [0u32; 8];
    let mut remainders = [0u64; 8];
    for i in 0..8 {
        let exact = total * u64::from(shares[i]);
        out[i] = u32::try_from(exact / denominator).unwrap_or(u32::MAX);
        remainders[i] = exact % denominator;
    }
    let mut left = total.saturating_sub(out.iter().map(|&n| u64::from(n)).sum());
    let weights = weights();
    let mut order: [usize; 8] = std::array::from_fn(|i| i);
    order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]).then(weights[b].cmp(&weights[a])).then(a.cmp(&b)));
    let room = |i: usize, out: &[u32; 8]| caps.is_none_or(|caps| out[i] < caps[i]);
    for &i in &order {
        if left == 0 {
            break;
        }
        if remainders[i] > 0 && room(i, &out) {
            out[i] += 1;
            left -= 1;
        }
    }
    while left > 0 {
        let Some(&i) = order.iter().find(|&&i| room(i, &out)) else {
            break;
        };
        out[i] += 1;
        left -= 1;
    }
    out
}

/// `count` split over `parts` as evenly as possible, the first parts taking the extra one.
fn spread_evenly(count: u32, parts: usize) -> impl Iterator<Item = u32> {
    let parts = parts as u32;
    (0..parts).map(move |i| count / parts + u32::from(i < count % parts))
}

/// How many of each KN's items are scored when `scored` are chosen round-robin: first item of every KN, then the
/// second of every KN that has one, and so on. The scored counts per KN then differ by at most one.
fn scored_round_robin(per_kn: &[u32], scored: u32) -> Vec<u32> {
    let mut out = vec![0; per_kn.len()];
    let mut left = scored.min(per_kn.iter().sum());
    let mut round = 0;
    while left > 0 {
        for (taken, &total) in out.iter_mut().zip(per_kn) {
            if left > 0 && total > round {
                *taken += 1;
                left -= 1;
            }
        }
        round += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::error::ErrorCode;

    fn weighted(item_count: u32, scored_count: u32) -> ExamSpec {
        ExamSpec { name: "custom".into(), item_count, scored_count, allocation: Allocation::WeightedByDomain }
    }

    /// Per-domain, per-KN and per-flag counts of a spec's slots.
    fn slot_tables(spec: &ExamSpec) -> ([u32; 8], [u32; 8], [u32; 71]) {
        let (mut domains, mut scored, mut kns) = ([0; 8], [0; 8], [0; 71]);
        for slot in spec.slots() {
            domains[slot.kn.domain().index()] += 1;
            scored[slot.kn.domain().index()] += u32::from(slot.is_scored);
            kns[slot.kn.index()] += 1;
        }
        (domains, scored, kns)
    }

    #[test]
    fn practice_tables_match_the_blueprint() {
        let spec = ExamSpec::practice();
        assert_eq!(spec.check(), Ok(()));
        assert_eq!(spec.domain_counts(), [22, 29, 25, 27, 36, 34, 16, 36]);
        assert_eq!(spec.scored_domain_counts(), [18, 23, 19, 21, 28, 26, 12, 28]);
        let kns = spec.kn_counts();
        assert_eq!(kns[..5], [5, 5, 4, 4, 4]);
        assert_eq!(kns.iter().sum::<u32>(), 225);
    }

    #[test]
    fn diagnostic_tables_match_the_blueprint() {
        let spec = ExamSpec::diagnostic();
        assert_eq!(spec.check(), Ok(()));
        assert_eq!(spec.domain_counts(), [5, 8, 7, 8, 13, 11, 8, 11]);
        assert_eq!(spec.scored_domain_counts(), [5, 8, 7, 8, 13, 11, 8, 11]);
        assert_eq!(spec.kn_counts(), [1; 71]);
        assert!(spec.slots().iter().all(|s| s.is_scored));
    }

    #[test]
    fn the_57_item_weighted_example_matches() {
        let spec = weighted(57, 57);
        assert_eq!(spec.domain_counts(), [6, 7, 6, 7, 9, 9, 4, 9]);
        assert_eq!(spec.scored_domain_counts(), spec.domain_counts());
    }

    #[test]
    fn slots_agree_with_the_tables() {
        for spec in [ExamSpec::diagnostic(), ExamSpec::practice(), weighted(57, 40)] {
            let slots = spec.slots();
            assert_eq!(slots.len(), spec.item_count as usize);
            assert_eq!(slots.iter().filter(|s| s.is_scored).count(), spec.scored_count as usize);
            let (domains, scored, kns) = slot_tables(&spec);
            assert_eq!(domains, spec.domain_counts(), "{}", spec.name);
            assert_eq!(scored, spec.scored_domain_counts(), "{}", spec.name);
            assert_eq!(kns, spec.kn_counts(), "{}", spec.name);
        }
    }

    #[test]
    fn practice_unscored_items_spread_over_kns() {
        let spec = ExamSpec::practice();
        let slots = spec.slots();
        for domain in Domain::ALL {
            let unscored: Vec<u32> = domain
                .knowledge_statements()
                .map(|kn| slots.iter().filter(|s| s.kn == kn && !s.is_scored).count() as u32)
                .collect();
            let (lo, hi) = (unscored.iter().min().unwrap(), unscored.iter().max().unwrap());
            assert!(hi - lo <= 1, "{domain}: {unscored:?}");
        }
    }

    #[test]
    fn one_per_kn_with_fewer_scored_spreads_them_by_domain_size() {
        let spec = ExamSpec { scored_count: 50, ..ExamSpec::diagnostic() };
        let scored = spec.scored_domain_counts();
        assert_eq!(scored.iter().sum::<u32>(), 50);
        assert!(scored.iter().zip(spec.domain_counts()).all(|(s, t)| *s <= t));
    }

    #[test]
    fn impossible_specs_are_refused_with_stable_codes() {
        let code = |spec: ExamSpec| spec.check().unwrap_err().code();
        assert_eq!(code(weighted(0, 0)), "spec.no_items");
        assert_eq!(code(weighted(10, 11)), "spec.scored_exceeds_items");
        assert_eq!(code(weighted(10, 0)), "spec.no_scored_items");
        assert_eq!(code(weighted(5000, 10)), "spec.too_many_items");
        assert_eq!(
            code(ExamSpec { item_count: 70, scored_count: 70, ..ExamSpec::diagnostic() }),
            "spec.one_per_kn_count"
        );
        assert_eq!(code(ExamSpec { name: " ".into(), ..ExamSpec::practice() }), "spec.empty_name");
        assert!(!weighted(0, 0).check().unwrap_err().is_retryable());
    }

    #[test]
    fn spec_is_data() {
        let json = r#"{"name":"mini","itemCount":57,"scoredCount":57,"allocation":"weighted_by_domain"}"#;
        let spec: ExamSpec = serde_json::from_str(json).unwrap();
        assert_eq!(spec, ExamSpec { name: "mini".into(), ..weighted(57, 57) });
        assert_eq!(serde_json::to_string(&spec).unwrap(), json);
        assert_eq!(serde_json::to_string(&Allocation::OnePerKn).unwrap(), "\"one_per_kn\"");
        assert_eq!(ExamSpec::builtin(ExamType::Practice), ExamSpec::practice());
        assert!(serde_json::from_str::<ExamSpec>(&json.replace("itemCount", "itemcount")).is_err());
    }

    #[test]
    fn scored_counts_never_exceed_totals_where_plain_rounding_would() {
        // Plain largest remainder gives 33 scored of 34 as 3/4/4/4/5/5/3/5: three scored items in domain 7,
        // which has only two (the Alabama paradox). The cap moves that seat to domain 5.
        let spec = weighted(34, 33);
        assert_eq!(spec.domain_counts(), [3, 4, 4, 4, 6, 5, 2, 6]);
        assert_eq!(spec.scored_domain_counts(), [3, 4, 4, 4, 6, 5, 2, 5]);
    }

    proptest! {
        #[test]
        fn weighted_tables_sum_and_stay_within_one_of_quota(items in 1u32..=500, scored_frac in 0.0f64..=1.0) {
            let scored = ((f64::from(items) * scored_frac).round() as u32).min(items);
            let spec = weighted(items, scored);
            let (totals, scored_counts, kns) = (spec.domain_counts(), spec.scored_domain_counts(), spec.kn_counts());
            prop_assert_eq!(totals.iter().sum::<u32>(), items);
            prop_assert_eq!(scored_counts.iter().sum::<u32>(), scored);
            prop_assert_eq!(kns.iter().sum::<u32>(), items);
            for d in Domain::ALL {
                let (i, w) = (d.index(), i64::from(d.weight_percent()));
                // |count - n·w/100| < 1  ⇔  |100·count - n·w| < 100
                prop_assert!((100 * i64::from(totals[i]) - i64::from(items) * w).abs() < 100, "{d}: {totals:?}");
                prop_assert!((100 * i64::from(scored_counts[i]) - i64::from(scored) * w).abs() < 100,
                    "{d}: {scored_counts:?}");
                prop_assert!(scored_counts[i] <= totals[i]);
            }
            let (slot_domains, slot_scored, slot_kns) = slot_tables(&spec);
            prop_assert_eq!(slot_domains, totals);
            prop_assert_eq!(slot_scored, scored_counts);
            prop_assert_eq!(slot_kns, kns);
        }
    }
}

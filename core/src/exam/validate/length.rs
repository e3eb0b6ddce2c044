//! The answer-length cue: a key that is the strictly longest option far more often than chance lets a test-wise
//! candidate score without knowing the content (the old system's files had it in 20-87% of items).
//!
//! Under the null of an unbiased writer the key is the strictly longest of four options with probability at most
//! 1/4, so the count over an exam of `n` items is at most Binomial(n, 1/4). An exam is flagged when that count
//! reaches the smallest `k` with `P(X >= k) <= 0.001`: one exam in a thousand written without the cue is flagged.

use super::text::visible_len;
use crate::exam::Question;

/// The chance that the key is the strictly longest of four options when nothing favours it.
const NULL_SHARE: f64 = 0.25;
/// The false-alarm rate the limit is set at: `P(count > limit) <= 0.001` for an exam without the cue.
const FALSE_ALARM: f64 = 0.001;

/// Whether the key looks longer than every other option: its visible length (characters after Unicode
/// compatibility folding, with zero-width characters removed and white space runs counted once) is strictly
/// greater than each other option's, so invisible padding neither makes nor hides the cue. `false` when the key
/// matches no option or the item has fewer than two options.
pub fn key_is_strictly_longest(q: &Question) -> bool {
    let Some(key) = q.options.iter().position(|o| *o == q.correct_answer) else { return false };
    if q.options.len() < 2 {
        return false;
    }
    let key_len = visible_len(&q.options[key]);
    // An ASCII option of fewer bytes than the key's visible length is shorter without reading it.
    let shorter = |o: &String| (o.len() < key_len && o.is_ascii()) || visible_len(o) < key_len;
    q.options.iter().enumerate().all(|(i, o)| i == key || shorter(o))
}

/// The most items of an `n`-item exam whose key may be the strictly longest option: the largest count whose
/// upper tail under Binomial(n, 1/4) is still above 0.001. For 71 items it is 30 (42%), for 225 items 77 (34%).
pub fn length_cue_limit(n: usize) -> usize {
    // Walk the pmf from the top down in log space (ln P(X = n) = n ln p, and each step down multiplies by
    // k / (n - k + 1) * q / p), summing the upper tail, and stop at the first k whose tail exceeds the false-alarm
    // rate: every count up to and including k is plausible without the cue. Linear in n.
    let (p, q) = (NULL_SHARE, 1.0 - NULL_SHARE);
    let step = (q / p).ln();
    let mut ln_pmf = n as f64 * p.ln();
    let mut tail = 0.0;
    for k in (0..=n).rev() {
        tail += ln_pmf.exp();
        if tail > FALSE_ALARM {
            return k;
        }
        if k > 0 {
            ln_pmf += (k as f64).ln() - ((n - k + 1) as f64).ln() + step;
        }
    }
    0
}

/// How many items of `questions` have their key as the strictly longest option.
pub(super) fn longest_key_count(questions: &[Question]) -> usize {
    questions.iter().filter(|q| key_is_strictly_longest(q)).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exam::Kn;
    use crate::exam::validate::test_support::question;

    #[test]
    fn limits_follow_the_binomial_tail() {
        // Hand-checked against the Binomial(n, 1/4) upper tail: P(X >= limit + 1) <= 0.001 < P(X >= limit).
        assert_eq!(length_cue_limit(71), 30);
        assert_eq!(length_cue_limit(225), 77);
        assert_eq!(length_cue_limit(0), 0);
        for n in [1usize, 4, 10, 40, 71, 100, 225, 500] {
            let limit = length_cue_limit(n);
            assert!(limit * 4 >= n, "never below the null mean: n={n} limit={limit}");
            assert!(limit <= n);
        }
        assert!((1..300).all(|n| length_cue_limit(n) <= length_cue_limit(n + 1)), "monotone in n");
    }

    /// The upper tail P(X >= k) of Binomial(n, 1/4), summed term by term from log factorials.
    fn upper_tail(n: usize, k: usize) -> f64 {
        let ln_factorial: Vec<f64> = (0..=n)
            .scan(0.0, |acc, i| {
                *acc += if i < 2 { 0.0 } else { (i as f64).ln() };
                Some(*acc)
            })
            .collect();
        (k..=n)
            .map(|j| {
                let ln_choose = ln_factorial[n] - ln_factorial[j] - ln_factorial[n - j];
                (ln_choose + j as f64 * 0.25f64.ln() + (n - j) as f64 * 0.75f64.ln()).exp()
            })
            .sum()
    }

    #[test]
    fn limits_agree_with_the_tail_summed_directly() {
        for n in (1..=240).chain([500, 1000]) {
            let limit = length_cue_limit(n);
            assert!(upper_tail(n, limit + 1) <= FALSE_ALARM, "n={n}: beyond the limit is rare");
            assert!(upper_tail(n, limit) > FALSE_ALARM, "n={n}: the limit itself is plausible");
        }
    }

    #[test]
    fn strictly_longest_means_longer_than_each_other_option() {
        let mut q = question(1, Kn::new(1).unwrap(), true);
        assert!(!key_is_strictly_longest(&q), "all four options have the same length");
        q.options[0] = "Statement 1 for item 1, with a qualifier".into();
        q.correct_answer = q.options[0].clone();
        assert!(key_is_strictly_longest(&q));
        q.options[2] = "Statement 3 for item 1, with a qualifier".into();
        assert!(!key_is_strictly_longest(&q), "a tie is not strictly longest");
        q.correct_answer = "matches nothing".into();
        assert!(!key_is_strictly_longest(&q));
    }

    #[test]
    fn invisible_padding_neither_makes_nor_hides_the_cue() {
        let mut q = question(1, Kn::new(1).unwrap(), true);
        q.options[0] = format!("{}\u{200B}\u{200B}  ", q.options[0]);
        q.correct_answer = q.options[0].clone();
        assert!(!key_is_strictly_longest(&q), "zero-width characters and trailing spaces add no length");
        q.options[0] = "Statement 1 for item 1 (longer)".into();
        q.correct_answer = q.options[0].clone();
        q.options[1] = "Statement 2 for\u{00A0}\u{00A0}\u{00A0}item 1\u{FEFF}".into();
        assert!(
            key_is_strictly_longest(&q),
            "padding a distractor with invisible or repeated spaces hides nothing"
        );
    }
}

//! Table tests of the kind: labelled options in many forms, and terms that start like a label but are not one.

use super::*;

fn item(options: &[&str], key: usize) -> Question {
    let mut q = crate::exam::validate::test_support::question(3, crate::exam::Kn::new(7).unwrap(), true);
    q.options = options.iter().map(|o| (*o).to_owned()).collect();
    q.correct_answer = q.options[key].clone();
    q
}

fn flagged(options: &[&str]) -> Vec<(usize, bool)> {
    let owned: Vec<String> = options.iter().map(|o| (*o).to_owned()).collect();
    labelled_options(&owned)
}

const PLAIN: [&str; 3] = ["Operant conditioning", "Classical conditioning", "Observational learning"];

/// One labelled option among plain ones: caught on its own.
const ALONE: &[(&str, bool)] = &[
    ("A", true),
    ("b", true),
    ("(c)", true),
    ("[D]", true),
    ("D.", true),
    ("d)", true),
    ("C:", true),
    ("iii", true),
    ("(iv)", true),
    ("IV.", true),
    ("(2)", true),
    ("3)", true),
    ("Option A", true),
    ("Answer (B)", true),
    ("Ａ", true),
    ("(a) Rely on clinical intuition", false),
    ("(a)Rely on clinical intuition", false),
    ("[B] Rely on clinical intuition", false),
    ("B) Rely on clinical intuition", false),
    ("b) rely on clinical intuition", false),
    ("c: rely on clinical intuition", false),
    ("C: Rely on clinical intuition", false),
    ("D - Rely on clinical intuition", false),
    ("D \u{2013} Rely on clinical intuition", false),
    ("a. rely on clinical intuition", false),
    ("ii. Rely on clinical intuition", false),
    ("III) Rely on clinical intuition", false),
    ("(1) Rely on clinical intuition", false),
    ("2) Rely on clinical intuition", false),
    ("Option A: Rely on clinical intuition", false),
    ("Choice C. Rely on clinical intuition", false),
    ("\u{FF08}ａ\u{FF09} Rely on clinical intuition", false),
    ("\u{200B}(a) Rely on clinical intuition", false),
];

/// Terms that start like a label: never caught, whatever the other options are.
const NOT_LABELS: &[&str] = &[
    "A-B-A design",
    "A-B-A-B reversal design",
    "A priori reasoning",
    "A claim that confuses correlation with causation",
    "I/O psychology",
    "I would refer the client",
    "B. F. Skinner",
    "A. T. Beck's cognitive triad",
    "I. P. Pavlov",
    "E. coli infection",
    "C. elegans",
    "D. melanogaster",
    "Type A behavior pattern",
    "Cluster B personality disorders",
    "Schedule A",
    "Vitamin B12",
    "B12 deficiency",
    "2",
    "4.",
    "1 - 2 sessions a week",
    "1.5 standard deviations",
    "3:1 ratio",
    "Answer honestly",
    "Response cost",
    "Option value",
    "IV drug use",
    "Aaron Beck",
];

#[test]
fn a_labelled_option_is_caught_among_plain_ones() {
    for &(option, bare) in ALONE {
        let options = [option, PLAIN[0], PLAIN[1], PLAIN[2]];
        assert_eq!(flagged(&options), [(0, bare)], "{option:?}");
    }
}

#[test]
fn terms_that_start_like_a_label_pass_even_beside_labelled_options() {
    for &option in NOT_LABELS {
        assert_eq!(flagged(&[option, PLAIN[0], PLAIN[1], PLAIN[2]]), [], "{option:?}");
        let beside = flagged(&[option, "B. Operant conditioning", "C. Classical conditioning", "D. Modeling"]);
        assert_eq!(beside, [(1, false), (2, false), (3, false)], "{option:?}");
    }
}

#[test]
fn dotted_capital_labels_count_when_the_item_uses_several() {
    let all = ["A. Operant conditioning", "B. Classical conditioning", "C. Modeling", "D. Habituation"];
    assert_eq!(flagged(&all), [(0, false), (1, false), (2, false), (3, false)]);
    // One "A. Name" alone is how a name is written.
    assert_eq!(flagged(&["A. Bandura", PLAIN[0], PLAIN[1], PLAIN[2]]), []);
    assert_eq!(flagged(&["A. Bandura", "A. Maslow", PLAIN[1], PLAIN[2]]), [], "one label letter twice is names");
    assert_eq!(flagged(&["I. Stage one", "II. Stage two", "III. Stage three", "IV. Stage four"]).len(), 4);
    assert_eq!(flagged(&["1. First", "2. Second", "3. Third", "4. Fourth"]).len(), 4);
    assert_eq!(flagged(&["A", "B", "C", "D"]), [(0, true), (1, true), (2, true), (3, true)]);
}

#[test]
fn stripping_removes_labels_and_keeps_the_key() {
    let mut q =
        item(&["A. Operant conditioning", "B. Classical conditioning", "C. Modeling", "D. Habituation"], 2);
    let repair = strip_option_labels(&mut q);
    assert_eq!(repair, LabelRepair { stripped: vec![0, 1, 2, 3], key_from_label: false });
    assert_eq!(q.options, ["Operant conditioning", "Classical conditioning", "Modeling", "Habituation"]);
    assert_eq!(q.correct_answer, "Modeling");
    assert!(labelled_options(&q.options).is_empty());
}

#[test]
fn stripping_resolves_a_key_written_as_a_label() {
    let mut q =
        item(&["(a) Operant “conditioning”", "(b) Classical conditioning", "(c) Modeling", "(d) Habituation"], 0);
    q.correct_answer = "B".into();
    let repair = strip_option_labels(&mut q);
    assert!(repair.key_from_label && repair.stripped.len() == 4);
    assert_eq!(q.options[0], "Operant “conditioning”", "the text after the label is kept as written");
    assert_eq!(q.correct_answer, "Classical conditioning");
}

#[test]
fn stripping_leaves_plain_items_and_bare_labels_alone() {
    let mut plain = item(&["B. F. Skinner", PLAIN[0], PLAIN[1], PLAIN[2]], 1);
    let before = plain.clone();
    assert!(strip_option_labels(&mut plain).is_empty());
    assert_eq!(plain, before);
    let mut bare = item(&["A", "B", "C", "D"], 2);
    assert!(strip_option_labels(&mut bare).is_empty());
    assert_eq!(bare.options, ["A", "B", "C", "D"]);
}

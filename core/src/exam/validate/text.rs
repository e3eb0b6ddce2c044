//! Text comparison for the validator: option folding, stem normalising and the banned-option test. The per-item
//! tests allocate nothing, so a 225-item exam validates in well under a millisecond.

/// Whether two options are the same after trimming, collapsing white space and case folding.
pub(super) fn same_option(a: &str, b: &str) -> bool {
    let (mut a, mut b) = (a.split_whitespace(), b.split_whitespace());
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if same_word(x, y) => {}
            _ => return false,
        }
    }
}

fn same_word(x: &str, y: &str) -> bool {
    if x.is_ascii() && y.is_ascii() {
        x.eq_ignore_ascii_case(y)
    } else {
        x.chars().flat_map(char::to_lowercase).eq(y.chars().flat_map(char::to_lowercase))
    }
}

/// Lower-case words with punctuation and white space between them reduced to one space.
pub(super) fn normalise_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in words(text) {
        if !out.is_empty() {
            out.push(' ');
        }
        if word.is_ascii() {
            let start = out.len();
            out.push_str(word);
            out[start..].make_ascii_lowercase();
        } else {
            out.extend(word.chars().flat_map(char::to_lowercase));
        }
    }
    out
}

/// The alphanumeric runs of `text`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

fn is_any(word: &str, list: &[&str]) -> bool {
    list.iter().any(|w| w.eq_ignore_ascii_case(word))
}

/// Option labels a letter-combination option is made of ("A and C", "I and III only").
const LABELS: [&str; 9] = ["a", "b", "c", "d", "e", "i", "ii", "iii", "iv"];
/// Words that may sit between labels in such an option ("both A and B are correct").
const LABEL_GLUE: [&str; 21] = [
    "and", "or", "nor", "both", "neither", "either", "only", "but", "not", "all", "of", "option", "options",
    "answer", "answers", "choice", "choices", "are", "is", "correct", "true",
];
/// First words of an option that points at the others ("all of the above", "none of these").
const OPENERS: [&str; 7] = ["all", "none", "both", "neither", "either", "any", "each"];
/// Words after an opener that name the other options.
const REFERENTS: [&str; 9] =
    ["these", "those", "following", "options", "answers", "choices", "statements", "responses", "alternatives"];
/// Words that may follow "all/none of these" without making it about something else.
const TAIL: [&str; 11] =
    ["are", "is", "correct", "true", "right", "apply", "applies", "listed", "given", "options", "answers"];
/// Of [`TAIL`], the words that make a bare opener a verdict on the other options ("none is correct").
const VERDICTS: [&str; 5] = ["correct", "true", "right", "apply", "applies"];

/// Whether the option refers to other options instead of standing alone: "all/none/both of the above" (and
/// "of these", "none of the options"), "none is correct", or letter combinations such as "Both A and B",
/// "A, B and C", "Neither A nor B". Options that merely contain "and" ("Classical and operant conditioning",
/// "Vitamin A and D") pass.
pub(super) fn is_banned_option(option: &str) -> bool {
    is_label_combination(option) || refers_to_the_others(option)
}

/// Only labels and glue words, with at least two labels: "Both A and B", "I and III only".
fn is_label_combination(option: &str) -> bool {
    let mut labels = 0;
    for word in words(option) {
        if is_any(word, &LABELS) {
            labels += 1;
        } else if !is_any(word, &LABEL_GLUE) {
            return false;
        }
    }
    labels >= 2
}

/// An opener, optionally "of" / "the", then "above" (anything may follow), or a referent followed only by tail
/// words, or only tail words including a verdict.
fn refers_to_the_others(option: &str) -> bool {
    let mut words = words(option);
    if !words.next().is_some_and(|first| is_any(first, &OPENERS)) {
        return false;
    }
    let mut rest = words.skip_while(|w| is_any(w, &["of", "the"])).peekable();
    match rest.peek() {
        Some(next) if next.eq_ignore_ascii_case("above") => true,
        Some(next) if is_any(next, &REFERENTS) => rest.skip(1).all(|w| is_any(w, &TAIL)),
        _ => {
            let mut verdict = false;
            rest.all(|w| {
                verdict |= is_any(w, &VERDICTS);
                is_any(w, &TAIL)
            }) && verdict
        }
    }
}

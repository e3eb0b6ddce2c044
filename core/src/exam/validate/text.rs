//! Text normalisation for the validator: option folding, stem normalising and the banned-option test.

/// An option compared for duplicates: trimmed, inner white space collapsed, case folded.
pub(super) fn fold_option(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lower-case words with punctuation and white space between them reduced to one space.
pub(super) fn normalise_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
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
const REFERENTS: [&str; 9] = [
    "these",
    "those",
    "following",
    "options",
    "answers",
    "choices",
    "statements",
    "responses",
    "alternatives",
];
/// Words that may follow "all/none of these" without making it about something else.
const TAIL: [&str; 11] = [
    "are", "is", "correct", "true", "right", "apply", "applies", "listed", "given", "options", "answers",
];
/// Of [`TAIL`], the words that make a bare opener a verdict on the other options ("none is correct").
const VERDICTS: [&str; 5] = ["correct", "true", "right", "apply", "applies"];

/// Whether the option refers to other options instead of standing alone: "all/none/both of the above" (and
/// "of these", "none of the options"), "none is correct", or letter combinations such as "Both A and B",
/// "A, B and C", "Neither A nor B". Options that merely contain "and" ("Classical and operant conditioning",
/// "Vitamin A and D") pass.
pub(super) fn is_banned_option(option: &str) -> bool {
    let normalised = normalise_words(option);
    let words: Vec<&str> = normalised.split(' ').filter(|w| !w.is_empty()).collect();
    if words.iter().filter(|w| LABELS.contains(w)).count() >= 2
        && words.iter().all(|w| LABELS.contains(w) || LABEL_GLUE.contains(w))
    {
        return true;
    }
    let Some((first, rest)) = words.split_first() else {
        return false;
    };
    if !OPENERS.contains(first) {
        return false;
    }
    let rest: Vec<&str> = rest.iter().copied().skip_while(|w| *w == "of" || *w == "the").collect();
    match rest.split_first() {
        Some((&"above", _)) => true,
        Some((next, tail)) if REFERENTS.contains(next) => tail.iter().all(|w| TAIL.contains(w)),
        _ => rest.iter().all(|w| TAIL.contains(w)) && rest.iter().any(|w| VERDICTS.contains(w)),
    }
}

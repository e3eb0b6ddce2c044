//! Options that refer to other options instead of standing alone (`option_banned`). Such an option gives the
//! answer away to a test-wise candidate and loses its meaning once options are shuffled. Two kinds:
//!
//! - a collective or positional reference: a quantifier (`all`, `none`, `both`, `either`, `neither`, `any`,
//!   `each`) pointing at the options as a group: "All of the above", "None of the choices above",
//!   "All of the preceding", "Neither of the previous two", "Both of these", "None is correct", "All except C",
//!   and ordinal references such as "The first and third options";
//! - labels naming other options: "Both A and B are part of the theory", "A and C only", "Options 1 and 3",
//!   "I and III", "Neither A nor B", "Option C".
//!
//! Ordinary uses of the same words pass: "None", "Both parents", "All-or-none learning", "Vitamin A and D",
//! "Type A and Type B personality", "Cluster B traits", "All other things being equal", "B. F. Skinner".

use super::lexer::{Token, is_any, token_iter, tokens};
use super::text::clean;

/// Words that make a collective reference when they point at the options.
const QUANTIFIERS: [&str; 8] = ["all", "none", "both", "either", "neither", "any", "each", "every"];
/// Positional words that only ever mean "the options given": a reference wherever they follow `the`/`of`.
const STRONG_POSITIONAL: [&str; 4] = ["above", "foregoing", "aforementioned", "aforesaid"];
/// Positional words that point back at the options only when nothing but tail words follows them.
const POSITIONAL: [&str; 11] = [
    "preceding",
    "previous",
    "prior",
    "earlier",
    "former",
    "latter",
    "other",
    "others",
    "remaining",
    "following",
    "listed",
];
/// Nouns that name the options themselves.
const OPTION_NOUNS: [&str; 15] = [
    "option",
    "options",
    "choice",
    "choices",
    "answer",
    "answers",
    "alternative",
    "alternatives",
    "response",
    "responses",
    "statement",
    "statements",
    "one",
    "ones",
    "selections",
];
/// Counts and ordinals that may follow a quantifier ("both of the first two", "neither of the previous two").
const COUNTS: [&str; 14] =
    ["two", "three", "four", "2", "3", "4", "first", "second", "third", "fourth", "last", "1st", "2nd", "3rd"];
/// Ordinals only, for "The first and third options".
const ORDINALS: [&str; 8] = ["first", "second", "third", "fourth", "last", "1st", "2nd", "3rd"];
/// Words that may end a reference without making it about something else.
const TAIL: [&str; 29] = [
    "are",
    "is",
    "be",
    "were",
    "was",
    "correct",
    "true",
    "right",
    "accurate",
    "valid",
    "apply",
    "applies",
    "applicable",
    "false",
    "incorrect",
    "wrong",
    "possible",
    "plausible",
    "likely",
    "given",
    "listed",
    "shown",
    "mentioned",
    "stated",
    "presented",
    "described",
    "here",
    "only",
    "equally",
];
/// Of [`TAIL`], the verdicts that make a bare quantifier a reference ("None is correct", "Both are true").
const VERDICTS: [&str; 14] = [
    "correct",
    "true",
    "right",
    "accurate",
    "valid",
    "apply",
    "applies",
    "applicable",
    "false",
    "incorrect",
    "wrong",
    "possible",
    "plausible",
    "likely",
];
/// Words that open an exception to a reference ("All except C", "All but the first").
const EXCEPT: [&str; 3] = ["except", "but", "save"];
/// Words that may come before a label list ("Both A and B", "Only A and C").
const LIST_OPENERS: [&str; 7] = ["both", "either", "neither", "only", "just", "the", "of"];
/// Letter and roman-numeral labels of options.
const LABELS: [&str; 9] = ["a", "b", "c", "d", "e", "i", "ii", "iii", "iv"];
/// Digit labels, counted only when the option names options ("Options 1 and 3") or ends in `only`/a verdict.
const DIGIT_LABELS: [&str; 5] = ["1", "2", "3", "4", "5"];
/// Words joining labels in a list.
const LIST_JOINS: [&str; 5] = ["and", "or", "nor", "plus", "not"];

/// Words an option that refers to other options can start with (besides a quantifier, or a strong positional
/// word anywhere).
const FIRST_WORDS: [&[&str]; 5] = [&LIST_OPENERS, &LABELS, &DIGIT_LABELS, &OPTION_NOUNS, &ORDINALS];
/// Words that can follow such a first word in a reference ("A and", "Options 1", "The above", "Only the").
const SECOND_WORDS: [&[&str]; 12] = [
    &LABELS,
    &DIGIT_LABELS,
    &LIST_JOINS,
    &LIST_OPENERS,
    &OPTION_NOUNS,
    &COUNTS,
    &QUANTIFIERS,
    &TAIL,
    &EXCEPT,
    &STRONG_POSITIONAL,
    &POSITIONAL,
    &["but"],
];

/// Whether the option refers to other options instead of standing alone.
pub(super) fn refers_to_other_options(option: &str) -> bool {
    let text = clean(option);
    if !might_refer(&text) {
        return false;
    }
    let tokens = tokens(&text);
    let mut words = Vec::with_capacity(tokens.len());
    words.extend(tokens.iter().filter_map(|t| t.word()));
    collective_reference(&words) || names_options(&tokens) || ordinal_reference(&words)
}

/// A cheap first look that allocates nothing: the option starts with a quantifier, or with a word that can open a
/// list or an ordinal reference followed by one that can go on with it (or by punctuation, or nothing), or it
/// holds a strong positional word. Most options ("Use ...", "A widely held ...", "The best-supported ...") fail
/// it and skip the full reading.
fn might_refer(text: &str) -> bool {
    let mut head = token_iter(text);
    let first = match head.next() {
        None => return false,
        Some(Token::Punct(c)) => return matches!(c, '(' | '['),
        Some(Token::Word(w)) => w,
    };
    if is_any(first, &QUANTIFIERS) {
        return true;
    }
    let opens = FIRST_WORDS.iter().any(|list| is_any(first, list))
        && match head.next() {
            None | Some(Token::Punct(_)) => true,
            Some(Token::Word(second)) => SECOND_WORDS.iter().any(|list| is_any(second, list)),
        };
    opens || has_strong_positional(text)
}

/// Whether a word of [`STRONG_POSITIONAL`] occurs, by one pass over the bytes (the words are ASCII and start
/// with `a` or `f`).
fn has_strong_positional(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut word_start = true;
    for (i, &b) in bytes.iter().enumerate() {
        let starts_word = std::mem::replace(&mut word_start, !b.is_ascii_alphanumeric());
        if starts_word && matches!(b | 0x20, b'a' | b'f') {
            let word_end =
                bytes[i..].iter().position(|c| !c.is_ascii_alphanumeric()).map_or(bytes.len(), |n| i + n);
            if STRONG_POSITIONAL.iter().any(|w| bytes[i..word_end].eq_ignore_ascii_case(w.as_bytes())) {
                return true;
            }
        }
    }
    false
}

/// A quantifier pointing at the options: anywhere with a strong positional word ("..., or all of the above"),
/// otherwise only as the option's first word.
fn collective_reference(words: &[&str]) -> bool {
    for (i, w) in words.iter().enumerate() {
        if is_any(w, &STRONG_POSITIONAL) && i > 0 && is_any(words[i - 1], &["the", "of", "these", "those"]) {
            return true;
        }
        if i == 0 && is_any(w, &QUANTIFIERS) && points_at_options(&words[1..]) {
            return true;
        }
    }
    false
}

/// What follows a quantifier makes it a reference to the options.
fn points_at_options(rest: &[&str]) -> bool {
    let mut k = usize::from(rest.first().is_some_and(|w| w.eq_ignore_ascii_case("of")));
    let (mut demonstrative, mut counted) = (false, false);
    while let Some(w) = rest.get(k) {
        if w.eq_ignore_ascii_case("the") {
        } else if is_any(w, &["these", "those"]) {
            demonstrative = true;
        } else if is_any(w, &COUNTS) {
            counted = true;
        } else {
            break;
        }
        k += 1;
    }
    let Some(next) = rest.get(k) else { return demonstrative || counted };
    let after = &rest[k + 1..];
    if is_any(next, &POSITIONAL) || is_any(next, &OPTION_NOUNS) || next.eq_ignore_ascii_case("them") {
        return only_refers_back(after);
    }
    if is_any(next, &EXCEPT) {
        // "All except C", "All but the first", "None but option D"; not "All but one participant".
        return !after.is_empty()
            && after.iter().all(|w| {
                is_any(w, &LABELS)
                    || is_any(w, &LIST_JOINS)
                    || is_any(w, &COUNTS)
                    || is_any(w, &OPTION_NOUNS)
                    || w.eq_ignore_ascii_case("the")
            });
    }
    if demonstrative || counted {
        return only_refers_back(&rest[k..]);
    }
    rest[k..].iter().all(|w| is_any(w, &TAIL)) && rest[k..].iter().any(|w| is_any(w, &VERDICTS))
}

/// Only tail words, counts, option nouns and positional words follow, up to an optional exception
/// ("... except C").
fn only_refers_back(after: &[&str]) -> bool {
    let until = after.iter().position(|w| is_any(w, &EXCEPT)).unwrap_or(after.len());
    after[..until].iter().all(|w| {
        is_any(w, &TAIL)
            || is_any(w, &COUNTS)
            || is_any(w, &OPTION_NOUNS)
            || is_any(w, &POSITIONAL)
            || is_any(w, &STRONG_POSITIONAL)
            || is_any(w, &["of", "the", "these", "those", "them", "two"])
    })
}

/// Labels naming options at the start: "Both A and B ...", "A, B, and C", "(A) and (C) only", "Options 1 and 3",
/// "Option C", "Only B".
fn names_options(tokens: &[Token<'_>]) -> bool {
    let mut i = 0;
    let (mut naming, mut only) = (false, false);
    while let Some(t) = tokens.get(i) {
        if t.is_any(&OPTION_NOUNS) && !t.is_any(&["one", "ones"]) {
            naming = true;
        } else if t.is("only") || t.is("just") {
            only = true;
        } else if !(t.is_any(&LIST_OPENERS) || (naming && t.is_punct(':'))) {
            break;
        }
        i += 1;
    }
    let (mut letters, mut digits) = (0, 0);
    while let Some((label, next)) = label_at(tokens, i) {
        if label.chars().all(|c| c.is_ascii_digit()) {
            digits += 1;
        } else {
            letters += 1;
        }
        i = next;
        let joined = skip_joins(tokens, i);
        if joined == i {
            break;
        }
        i = joined;
    }
    let rest: Vec<&str> = tokens[i.min(tokens.len())..].iter().filter_map(|t| t.word()).collect();
    let tail_only = rest.iter().all(|w| is_any(w, &TAIL));
    let verdict = tail_only
        && (rest.iter().any(|w| is_any(w, &VERDICTS))
            || rest.first().is_some_and(|w| w.eq_ignore_ascii_case("only")));
    let labels = letters + if naming || verdict { digits } else { 0 };
    // Two labels or more name options whatever follows; a single one only when the option says so ("Option C",
    // "Only B", "C is correct"), since a lone "a" is usually the article.
    labels >= 2 || (labels == 1 && letters + digits == 1 && tail_only && (naming || only || verdict))
}

/// The label at `i` (`A`, `(b)`, `[iii]`, `3`) and the index after it.
fn label_at<'a>(tokens: &[Token<'a>], mut i: usize) -> Option<(&'a str, usize)> {
    let open = tokens.get(i).is_some_and(|t| t.is_punct('(') || t.is_punct('['));
    i += usize::from(open);
    let word = tokens.get(i)?.word()?;
    if !(is_any(word, &LABELS) || is_any(word, &DIGIT_LABELS)) {
        return None;
    }
    i += 1;
    // "a" followed by a word is the article ("A and a half"), not a label ("Either a or b").
    let next_word = tokens.get(i).and_then(|t| t.word());
    if word == "a" && next_word.is_some_and(|w| !is_any(w, &LIST_JOINS) && !is_any(w, &TAIL)) {
        return None;
    }
    if tokens.get(i).is_some_and(|t| t.is_punct(')') || t.is_punct(']')) {
        i += 1;
    } else if open {
        return None;
    }
    Some((word, i))
}

/// Skips list separators (`,`, `&`, `/`, `and`, `or`, `nor`, `but not`, ...) from `i`.
fn skip_joins(tokens: &[Token<'_>], mut i: usize) -> usize {
    while tokens.get(i).is_some_and(|t| {
        t.is_punct(',')
            || t.is_punct('&')
            || t.is_punct('/')
            || t.is_punct(';')
            || t.is_any(&LIST_JOINS)
            || t.is("but")
    }) {
        i += 1;
    }
    i
}

/// Ordinals naming options: "The first and third options", "Only the last two choices". Without an option noun
/// ("The first two", "First") an ordinal may be a real answer, so it passes.
fn ordinal_reference(words: &[&str]) -> bool {
    let lead =
        words.iter().take_while(|w| is_any(w, &["the", "only", "just", "both", "either", "neither"])).count();
    let body = &words[lead..];
    let run = body.iter().take_while(|w| is_any(w, &COUNTS) || is_any(w, &LIST_JOINS)).count();
    let has_ordinal = body[..run].iter().any(|w| is_any(w, &ORDINALS));
    let after = &body[run..];
    has_ordinal
        && after.first().is_some_and(|w| is_any(w, &OPTION_NOUNS) && !is_any(w, &["one", "ones"]))
        && after[1..].iter().all(|w| is_any(w, &TAIL))
}

#[cfg(test)]
mod tests;

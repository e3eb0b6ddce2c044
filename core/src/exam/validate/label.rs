//! Options that are only a label ("A", "(c)", "D.", "iii") or begin with one ("A. text", "(a) text", "B) text",
//! "c: text", "Option A: text") (`option_labelled`). Options are shuffled in code, so a printed label is wrong
//! after the shuffle (a generated exam showed the wrong letter on 216 of 284 options).
//!
//! `"A. text"` is also how names and species are written ("B. F. Skinner", "A. Bandura", "C. elegans"), so it
//! counts only when it is plainly a label: a lower-case letter ("a. text"), a roman numeral ("ii. text"), or
//! when another option of the item carries a different label. Initials ("B. F.") and a lower-case word after
//! an upper-case letter ("E. coli") never count. Terms that merely start with a letter pass: "A-B-A design",
//! "A priori reasoning", "I/O psychology", "A claim that ...". A lone letter ("A", "C") always counts, even where
//! it is the content (vitamin C among "A", "B12", "D"): a reader cannot tell it from a label, so write "Vitamin C".

use std::borrow::Cow;

use super::text::clean;
use crate::exam::Question;

/// How an option starts with a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Only a label: "A", "(b)", "C.", "Option D".
    Bare,
    /// A label and text, plainly: "(a) text", "B) text", "c: text", "ii. text", "a. text".
    Prefix,
    /// "A. Text": a label only when another option carries a different label.
    Dotted,
}

/// A label found at the start of an option.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    form: Form,
    /// The label, lower case: `"a"`, `"iii"`, `"2"`.
    key: &'static str,
    /// Byte offset in the cleaned text where the option's own text starts.
    content: usize,
}

const LETTERS: [&str; 5] = ["a", "b", "c", "d", "e"];
const ROMANS: [&str; 4] = ["i", "ii", "iii", "iv"];
const DIGITS: [&str; 5] = ["1", "2", "3", "4", "5"];
const NAMING: [&str; 5] = ["option", "choice", "answer", "alternative", "response"];

/// The positions of the options of an item that are a label or begin with one, each with whether it is only a
/// label (nothing left once the label is removed).
pub(super) fn labelled_options(options: &[String]) -> Vec<(usize, bool)> {
    let mut found: Vec<(usize, Found)> = Vec::new();
    for (i, option) in options.iter().enumerate() {
        if let Some(f) = find_label(&clean(option)) {
            found.push((i, f));
        }
    }
    let corroborated = found.iter().any(|(_, f)| f.key != found[0].1.key);
    found
        .into_iter()
        .filter(|(_, f)| f.form != Form::Dotted || corroborated)
        .map(|(i, f)| (i, f.form == Form::Bare))
        .collect()
}

/// The label at the start of cleaned `text`, if any.
fn find_label(text: &str) -> Option<Found> {
    let trimmed = text.trim_start();
    let mut at = text.len() - trimmed.len();
    let mut naming = false;
    let word_end = trimmed.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(trimmed.len());
    if word_end > 0
        && NAMING.iter().any(|n| n.eq_ignore_ascii_case(&trimmed[..word_end]))
        && trimmed[word_end..].starts_with(char::is_whitespace)
    {
        naming = true;
        let after = &trimmed[word_end..];
        at += word_end + (after.len() - after.trim_start().len());
    }
    let rest = &text[at..];
    let open = rest.starts_with(['(', '[']);
    at += usize::from(open);
    let rest = &text[at..];
    let label_len = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
    let label = &rest[..label_len];
    let known = |list: &[&'static str]| list.iter().copied().find(|l| l.eq_ignore_ascii_case(label));
    let (roman, digit) = (known(&ROMANS), known(&DIGITS));
    let key = known(&LETTERS).or(roman).or(digit)?;
    let (is_roman, is_digit) = (roman.is_some(), digit.is_some());
    at += label_len;
    let closed = open && text[at..].starts_with([')', ']']);
    if open && !closed {
        return None;
    }
    at += usize::from(closed);
    let spaced_dash =
        text[at..].trim_start().strip_prefix('-').is_some_and(|r| r.starts_with(char::is_whitespace));
    if spaced_dash {
        if is_digit {
            return None; // "1 - 2 sessions" is a range.
        }
        at = text.len() - text[at..].trim_start().len();
    }
    let sep = text[at..].chars().next().filter(|c| matches!(c, '.' | ':' | ')' | '-') && !(*c == ')' && closed));
    if let Some(c) = sep {
        at += c.len_utf8();
    }
    let after = &text[at..];
    let content = after.trim_start();
    let spaced = after.len() > content.len();
    let content_at = text.len() - content.len();
    let found = |form| Some(Found { form, key, content: content_at });
    if content.is_empty() {
        // A lone digit ("2", "4.") is a number, not a label.
        let bare = closed || naming || !is_digit || matches!(sep, Some(':' | ')'));
        return if bare { found(Form::Bare) } else { None };
    }
    if !closed && !spaced {
        return None; // "A-B-A", "A.B.", "I/O", "c:d".
    }
    if closed || naming || matches!(sep, Some(':' | ')' | '-')) {
        return found(Form::Prefix);
    }
    if sep != Some('.') {
        return None; // "A claim", "I would".
    }
    let mut next = content.chars();
    let (first, second) = (next.next().unwrap_or(' '), next.next());
    if first.is_ascii_uppercase() && matches!(second, Some('.') | None) {
        return None; // Initials: "B. F. Skinner", "I. P. Pavlov".
    }
    let lower_label = label.chars().all(|c| c.is_ascii_lowercase());
    match (first.is_lowercase(), lower_label || (is_roman && label.len() > 1)) {
        (_, true) => found(Form::Prefix),
        (true, false) => None, // "C. elegans", "E. coli".
        (false, false) => found(Form::Dotted),
    }
}

/// What [`strip_option_labels`] changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelRepair {
    /// Positions (0-based) of the options whose label was removed.
    pub stripped: Vec<usize>,
    /// Whether `correct_answer` was a label ("C") and was replaced by the text of the option so labelled.
    pub key_from_label: bool,
}

impl LabelRepair {
    /// True when nothing was changed.
    pub fn is_empty(&self) -> bool {
        self.stripped.is_empty() && !self.key_from_label
    }
}

/// Removes the labels that begin options of `q` ("A. text" becomes "text"), the same way in `correct_answer`,
/// and replaces a `correct_answer` that is only a label ("C") by the text of the option that carried it. Options
/// that are only a label are left for validation to report (nothing would remain). Returns what it changed, so an
/// importer can say so; an item without labels is left as it is.
pub fn strip_option_labels(q: &mut Question) -> LabelRepair {
    let mut repair = LabelRepair::default();
    let labelled = labelled_options(&q.options);
    let key_label = find_label(&clean(&q.correct_answer)).filter(|f| f.form == Form::Bare).map(|f| f.key);
    let key_is_option = q.options.contains(&q.correct_answer);
    let mut key_text = None;
    for (i, bare) in labelled {
        if bare {
            continue;
        }
        let option = &q.options[i];
        let cleaned = clean(option);
        let Some(found) = find_label(&cleaned) else { continue };
        let text = original_suffix(option, &cleaned[found.content..]).into_owned();
        if *option == q.correct_answer {
            q.correct_answer = text.clone();
        } else if !key_is_option && key_label == Some(found.key) {
            key_text = Some(text.clone());
        }
        q.options[i] = text;
        repair.stripped.push(i);
    }
    if let Some(text) = key_text {
        q.correct_answer = text;
        repair.key_from_label = true;
    }
    repair
}

/// The end of `original` that reads as `content` once cleaned (the same bytes when the text is ASCII), trimmed.
fn original_suffix<'a>(original: &'a str, content: &str) -> Cow<'a, str> {
    let content = content.trim();
    if original.is_ascii() {
        let end = original.trim_end();
        return Cow::Borrowed(&end[end.len() - content.len()..]);
    }
    original
        .char_indices()
        .map(|(i, _)| &original[i..])
        .find(|suffix| clean(suffix).trim() == content)
        .map_or_else(|| Cow::Owned(content.to_owned()), |s| Cow::Borrowed(s.trim()))
}

#[cfg(test)]
mod tests;

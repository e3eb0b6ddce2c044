//! The one text normaliser of the validator: options and stems are compared the way a reader sees them.
//!
//! [`clean`] removes what a reader cannot see or tell apart: Unicode compatibility forms (NFKC: full-width letters,
//! ligatures, no-break spaces), zero-width and other format characters, and the many kinds of quote and dash.
//! [`fold`] then drops case, punctuation and spacing, keeping the marks that change a meaning (a sign or decimal
//! point in a number, `<`, `=`, `%`, ...), so `"X"` and `"X."`, `"self-esteem"` and `"self esteem"` compare
//! equal while `"-.80"` and `".80"` or `"p < .05"` and `"p > .05"` do not. ASCII text, the usual case, is
//! borrowed as is.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// The text as a reader sees it: NFKC, format characters (zero-width spaces and joiners, soft hyphens, bidi
/// controls, variation selectors) removed, quotes made `'` or `"`, dashes and the minus sign made `-`.
/// Case, punctuation and spacing are kept.
pub(crate) fn clean(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.nfkc().filter(|&c| !is_format(c)).map(unify).collect())
}

/// Characters that take no room on the page (Unicode category Cf and its neighbours in effect).
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// One quote of each kind and one dash.
fn unify(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{2035}' | '\u{02BC}' | '\u{00B4}'
        | '`' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{2036}' | '\u{00AB}' | '\u{00BB}'
        | '\u{2039}' | '\u{203A}' | '\u{300C}' | '\u{300D}' => '"',
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{2E3A}' | '\u{2E3B}' | '\u{FE58}' | '\u{FE63}' | '\u{00AF}' => {
            '-'
        }
        other => other,
    }
}

/// The comparison form of `text`: [`clean`], lower case, and the words (runs of letters and digits, numbers with
/// their sign and decimal point) and symbols (`+ < = > % $ ±` ...) joined by single spaces. Punctuation and
/// spacing are dropped. Two options, or two stems, are the same to a reader when their folds are equal.
pub(crate) fn fold(text: &str) -> String {
    let text = clean(text);
    if text.is_ascii() {
        return fold_ascii(text.as_bytes());
    }
    let mut out = String::with_capacity(text.len());
    out.extend(Folded::new(&text));
    out
}

/// [`fold`] of ASCII text, byte by byte: the same rules as [`Folded`], several times faster (stems are long).
fn fold_ascii(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let (mut in_word, mut emitted) = (false, false);
    let mut start_token = |out: &mut Vec<u8>| {
        if std::mem::replace(&mut emitted, true) {
            out.push(b' ');
        }
    };
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_alphanumeric() {
            if !in_word {
                start_token(&mut out);
                in_word = true;
            }
            out.push(b.to_ascii_lowercase());
            continue;
        }
        let (c, prev, rest) = (char::from(b), i.checked_sub(1).map(|j| char::from(bytes[j])), &bytes[i + 1..]);
        if in_word && starts_with_digit(rest) && is_inside_number(c, prev) {
            if b == b'.' {
                out.push(b'.');
            }
        } else if !in_word && is_number_start(c, prev, rest) {
            start_token(&mut out);
            out.push(b);
            in_word = true;
        } else if is_symbol(c) {
            start_token(&mut out);
            out.push(b);
            in_word = false;
        } else {
            in_word = false;
        }
    }
    String::from_utf8(out).expect("ASCII in, ASCII out")
}

/// Whether two texts have the same [`fold`], compared char by char without building either (most options differ
/// within their first few characters).
pub(crate) fn same_fold(a: &str, b: &str) -> bool {
    let (a, b) = (clean(a), clean(b));
    Folded::new(&a).eq(Folded::new(&b))
}

/// Whether the [`fold`] of `text` is empty (only punctuation and spacing).
pub(crate) fn folds_to_nothing(text: &str) -> bool {
    Folded::new(&clean(text)).next().is_none()
}

/// The characters of [`fold`] of text already [`clean`]ed, produced lazily.
struct Folded<'a> {
    chars: std::str::Chars<'a>,
    prev: Option<char>,
    in_word: bool,
    emitted: bool,
    /// Output waiting to be returned: at most a separating space and a lower-cased character (up to three).
    queue: [char; 4],
    queued: usize,
    taken: usize,
}

impl<'a> Folded<'a> {
    fn new(cleaned: &'a str) -> Self {
        Self {
            chars: cleaned.chars(),
            prev: None,
            in_word: false,
            emitted: false,
            queue: ['\0'; 4],
            queued: 0,
            taken: 0,
        }
    }

    fn push(&mut self, c: char) {
        self.queue[self.queued] = c;
        self.queued += 1;
    }

    /// Starts a token: one space first unless it is the first.
    fn start_token(&mut self) {
        if self.emitted {
            self.push(' ');
        }
        self.emitted = true;
    }

    /// Reads one input character into the queue; false at the end of the text.
    fn step(&mut self) -> bool {
        let Some(c) = self.chars.next() else { return false };
        let prev = self.prev.replace(c);
        if c.is_ascii_alphanumeric() {
            if !self.in_word {
                self.start_token();
                self.in_word = true;
            }
            self.push(c.to_ascii_lowercase());
            return true;
        }
        let rest = self.chars.as_str().as_bytes();
        if c.is_alphanumeric() {
            if !self.in_word {
                self.start_token();
                self.in_word = true;
            }
            for l in c.to_lowercase() {
                self.push(l);
            }
        } else if self.in_word && starts_with_digit(rest) && is_inside_number(c, prev) {
            // 2.5 and -.80 keep their point; 1,000 is 1000.
            if c == '.' {
                self.push('.');
            }
        } else if !self.in_word && is_number_start(c, prev, rest) {
            self.start_token();
            self.push(c);
            self.in_word = true;
        } else if is_symbol(c) {
            self.start_token();
            self.push(c);
            self.in_word = false;
        } else {
            self.in_word = false;
        }
        true
    }
}

impl Iterator for Folded<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        if self.taken == self.queued && self.in_word {
            // The hot path: an ASCII letter or digit inside a word is returned as is, lower-cased.
            let mut ahead = self.chars.clone();
            if let Some(c) = ahead.next().filter(char::is_ascii_alphanumeric) {
                self.chars = ahead;
                self.prev = Some(c);
                return Some(c.to_ascii_lowercase());
            }
        }
        if self.taken == self.queued {
            (self.taken, self.queued) = (0, 0);
            while self.queued == 0 {
                if !self.step() {
                    return None;
                }
            }
        }
        self.taken += 1;
        Some(self.queue[self.taken - 1])
    }
}

fn starts_with_digit(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(u8::is_ascii_digit)
}

/// A decimal point after a digit or a sign, or a thousands comma after a digit (the next character is a digit).
fn is_inside_number(c: char, prev: Option<char>) -> bool {
    match (c, prev) {
        ('.', Some(p)) => p.is_ascii_digit() || p == '-',
        (',', Some(p)) => p.is_ascii_digit(),
        _ => false,
    }
}

/// A sign or a leading decimal point that belongs to the number after it: `-0.85`, `.05`, `-.80`.
fn is_number_start(c: char, prev: Option<char>, rest: &[u8]) -> bool {
    if prev.is_some_and(char::is_alphanumeric) {
        return false;
    }
    match c {
        '.' => starts_with_digit(rest),
        '-' => starts_with_digit(rest) || (rest.first() == Some(&b'.') && starts_with_digit(&rest[1..])),
        _ => false,
    }
}

/// Marks that carry meaning and are kept by [`fold`]: ASCII `+ < = > % $ # & @ | ~ ^ *`, and any other
/// non-ASCII character that is neither a letter, a digit, white space nor punctuation (`± ≤ ≥ ° → €` ...).
fn is_symbol(c: char) -> bool {
    if c.is_ascii() {
        return matches!(c, '+' | '<' | '=' | '>' | '%' | '$' | '#' | '&' | '@' | '|' | '~' | '^' | '*');
    }
    !(c.is_alphanumeric() || c.is_whitespace() || is_punctuation(c))
}

/// Non-ASCII punctuation left after [`clean`]: Latin-1 marks, the General Punctuation block (less per-mille
/// signs) and CJK punctuation.
fn is_punctuation(c: char) -> bool {
    matches!(
        c,
        '\u{00A1}' | '\u{00A7}' | '\u{00B6}' | '\u{00B7}' | '\u{00BF}' | '\u{037E}' | '\u{0387}'
            | '\u{2016}'..='\u{202F}'
            | '\u{2032}'..='\u{205E}'
            | '\u{3001}'..='\u{3003}'
            | '\u{3008}'..='\u{3011}'
            | '\u{3014}'..='\u{301F}'
            | '\u{30FB}'
    )
}

/// How long the text looks: characters after [`clean`], white space runs counted as one, ends trimmed.
pub(crate) fn visible_len(text: &str) -> usize {
    if text.is_ascii() {
        let mut space = false;
        return text.trim().bytes().fold(0, |len, b| {
            if char::from(b).is_whitespace() {
                space = true;
                len
            } else {
                len + 1 + usize::from(std::mem::take(&mut space))
            }
        });
    }
    let text = clean(text);
    let mut len = 0;
    let mut space = false;
    for c in text.trim().chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            len += 1 + usize::from(space);
            space = false;
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_a_reader_cannot_tell_apart_fold_the_same() {
        let same = [
            ("Classical conditioning", "Classical conditioning."),
            ("Classical conditioning", "  classical   CONDITIONING!  "),
            ("Classical conditioning", "Classical\u{200B} conditioning"),
            ("Classical conditioning", "Class\u{00AD}ical condi\u{200D}tioning"),
            ("Classical conditioning", "\u{FEFF}Classical conditioning\u{2060}"),
            ("Classical conditioning", "Ｃｌａｓｓｉｃａｌ ｃｏｎｄｉｔｉｏｎｉｎｇ"),
            ("Classical conditioning", "Classical\u{00A0}conditioning"),
            ("Classical conditioning", "Classical\u{202F}conditioning"),
            ("Classical conditioning", "Classical\tconditioning\n"),
            ("self-esteem", "self esteem"),
            ("self-esteem", "self\u{2013}esteem"),
            ("self-esteem", "self\u{2014}esteem"),
            ("self-esteem", "self\u{2011}esteem"),
            ("the client's goals", "the client\u{2019}s goals"),
            ("\"reinforcement\"", "\u{201C}reinforcement\u{201D}"),
            ("reinforcement", "'reinforcement'"),
            ("Beck's triad", "Beck\u{2019}s triad"),
            ("ﬁxed-ratio schedule", "fixed ratio schedule"),
            ("Stage 2 (concrete)", "stage 2: concrete"),
            ("1,000 participants", "1000 participants"),
            ("Ä", "A\u{0308}"),
        ];
        for (a, b) in same {
            assert_eq!(fold(a), fold(b), "{a:?} vs {b:?}");
            assert!(!fold(a).is_empty());
        }
    }

    #[test]
    fn different_meanings_stay_different() {
        let different = [
            ("r = -.80", "r = .80"),
            ("r = -0.85", "r = 0.85"),
            ("p < .05", "p > .05"),
            ("p < .05", "p < .5"),
            ("2.5 standard deviations", "25 standard deviations"),
            ("50%", "50"),
            ("IQ ≥ 130", "IQ ≤ 130"),
            ("Type A", "Type B"),
            ("classical conditioning", "operant conditioning"),
            ("5-10 sessions", "510 sessions"),
        ];
        for (a, b) in different {
            assert_ne!(fold(a), fold(b), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn fold_keeps_words_numbers_and_symbols() {
        assert_eq!(fold("Which is BEST?"), "which is best");
        assert_eq!(fold("r = -.80, p < .05"), "r = -.80 p < .05");
        assert_eq!(fold("a 5-10% rise"), "a 5 10 % rise");
        assert_eq!(fold("IQ ± 15"), "iq ± 15");
        assert_eq!(fold("...?!"), "");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn clean_borrows_ascii_and_unifies_the_rest() {
        assert!(matches!(clean("plain text"), Cow::Borrowed(_)));
        assert_eq!(clean("\u{201C}A\u{201D} \u{2014} B\u{2019}s\u{200B}"), "\"A\" - B's");
        assert_eq!(clean("Ａ．"), "A.");
    }

    proptest::proptest! {
        #[test]
        fn the_ascii_path_folds_as_the_general_one(text in "[ -~\t\n]{0,48}") {
            let general: String = Folded::new(&text).collect();
            proptest::prop_assert_eq!(fold_ascii(text.as_bytes()), general);
        }

        #[test]
        fn same_fold_agrees_with_comparing_folds(a in "[a-c .,-]{0,12}", b in "[a-c .,-]{0,12}") {
            proptest::prop_assert_eq!(same_fold(&a, &b), fold(&a) == fold(&b));
        }
    }

    #[test]
    fn visible_length_ignores_what_takes_no_room() {
        assert_eq!(visible_len("  a  b "), 3);
        assert_eq!(visible_len("a\u{200B}b\u{FEFF}"), 2);
        assert_eq!(visible_len("Ｘ"), 1);
        assert_eq!(visible_len(""), 0);
    }
}

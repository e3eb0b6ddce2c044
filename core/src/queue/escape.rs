//! Escaping of caller-supplied text (user ids) for log lines: the one rule every log site uses, through
//! [`escape_for_log`] or the [`LogEscaped`] wrapper that `UserId` and [`super::JobKey`] display with.
//!
//! A user id reaches the logs from a request. A bidi override (U+202E) would reorder the rest of the line on a
//! terminal, a line or paragraph separator (U+2028, U+2029) splits one log line in two for many readers, and
//! zero-width or other format characters hide what an id really is. So every character of the general
//! categories Other (`Cc` control, `Cf` format, `Cs`, `Co` private use, `Cn` unassigned) and the separators
//! `Zl` and `Zp` is written as `\u{hex}`, and the backslash itself as `\\`, which keeps the escaping reversible
//! (two different ids never log the same). Letters, marks, digits, punctuation, symbols and spaces of any
//! script pass unchanged: accents, CJK, emoji.

use std::borrow::Cow;
use std::fmt::{self, Write};

use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// Whether `c` is written escaped in a log line: the backslash, and every character of the general categories
/// Other (`Cc`, `Cf`, `Cs`, `Co`, `Cn`), line separator (`Zl`) and paragraph separator (`Zp`).
pub fn needs_log_escape(c: char) -> bool {
    c == '\\'
        || c.general_category_group() == GeneralCategoryGroup::Other
        || matches!(c.general_category(), GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator)
}

/// `text` as it may appear in a log line: unchanged (borrowed) when nothing needs escaping, otherwise each
/// character of [`needs_log_escape`] written as `\u{hex}` (lower-case hex, as Rust writes it) and `\` as `\\`.
pub fn escape_for_log(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_log_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    // Writing to a String cannot fail.
    let _ = write!(out, "{}", LogEscaped(text));
    Cow::Owned(out)
}

/// Displays the wrapped text escaped by the rule of [`escape_for_log`], without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEscaped<'a>(pub &'a str);

impl fmt::Display for LogEscaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| needs_log_escape(c)) {
            f.write_str(&rest[..at])?;
            if c == '\\' {
                f.write_str("\\\\")?;
            } else {
                write!(f, "\\u{{{:x}}}", u32::from(c))?;
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_line_breaking_characters_are_escaped() {
        let cases = [
            // Cc: C0, DEL, C1 (NEL ends lines too).
            ("a\u{0}b", "a\\u{0}b"),
            ("a\nb", "a\\u{a}b"),
            ("a\rb", "a\\u{d}b"),
            ("a\tb", "a\\u{9}b"),
            ("esc\u{1b}[31m", "esc\\u{1b}[31m"),
            ("del\u{7f}", "del\\u{7f}"),
            ("nel\u{85}x", "nel\\u{85}x"),
            ("csi\u{9b}", "csi\\u{9b}"),
            // Zl, Zp.
            ("line\u{2028}split", "line\\u{2028}split"),
            ("para\u{2029}split", "para\\u{2029}split"),
            // Cf: bidi embeddings, overrides, isolates and marks.
            ("user\u{202e}gnp.exe", "user\\u{202e}gnp.exe"),
            ("\u{202a}\u{202b}\u{202c}\u{202d}", "\\u{202a}\\u{202b}\\u{202c}\\u{202d}"),
            ("\u{2066}x\u{2067}y\u{2068}z\u{2069}", "\\u{2066}x\\u{2067}y\\u{2068}z\\u{2069}"),
            ("lrm\u{200e}rlm\u{200f}alm\u{61c}", "lrm\\u{200e}rlm\\u{200f}alm\\u{61c}"),
            // Cf: zero-width space, non-joiner, joiner, word joiner, invisible operators, soft hyphen, BOM.
            ("ad\u{200b}min", "ad\\u{200b}min"),
            ("a\u{200c}b\u{200d}c\u{2060}d", "a\\u{200c}b\\u{200d}c\\u{2060}d"),
            ("f\u{2061}x\u{2062}y\u{2063}z\u{2064}", "f\\u{2061}x\\u{2062}y\\u{2063}z\\u{2064}"),
            ("soft\u{ad}hyphen", "soft\\u{ad}hyphen"),
            ("\u{feff}bom", "\\u{feff}bom"),
            ("mongolian\u{180e}vs", "mongolian\\u{180e}vs"),
            ("arabic\u{600}number", "arabic\\u{600}number"),
            ("annot\u{fff9}a\u{fffb}", "annot\\u{fff9}a\\u{fffb}"),
            ("tag\u{e0001}\u{e0041}", "tag\\u{e0001}\\u{e0041}"),
            // Co, Cn: private use and unassigned.
            ("pua\u{e000}", "pua\\u{e000}"),
            ("plane15\u{f0000}", "plane15\\u{f0000}"),
            ("nonchar\u{ffff}", "nonchar\\u{ffff}"),
            // The escape character itself, so the escaping stays reversible.
            ("back\\slash", "back\\\\slash"),
            ("looks\\u{202e}escaped", "looks\\\\u{202e}escaped"),
        ];
        for (raw, logged) in cases {
            assert_eq!(escape_for_log(raw), logged, "{:?}", raw.chars().map(u32::from).collect::<Vec<_>>());
            assert_eq!(LogEscaped(raw).to_string(), logged);
            assert!(!logged.chars().any(|c| c != '\\' && needs_log_escape(c)), "{logged}");
        }
    }

    #[test]
    fn ordinary_ids_of_any_script_pass_unchanged() {
        let ids = [
            "3f2b8c1e-0000-4000-8000-000000000001",
            "demo-user-1",
            "user@example.com",
            "José Álvarez",
            "Zoë Ångström",
            "e\u{301}cole", // e + combining acute (Mn), decomposed accents
            "Ελληνικά",
            "Кириллица",
            "עברית",
            "العربية",
            "हिन्दी",
            "ไทย",
            "山田太郎",
            "김민준",
            "ユーザー",
            "😀",
            "❤\u{fe0f}", // emoji with a variation selector (Mn)
            "👍🏽",        // emoji with a skin-tone modifier (Sk)
            "🇫🇷",        // a flag: two regional indicators (So)
            "name with spaces",
            "ideographic\u{3000}space",
            "no-break\u{a0}space",
            "a+b=c (x) [y] {z} #1 $2 %3 &4",
        ];
        for id in ids {
            assert!(matches!(escape_for_log(id), Cow::Borrowed(s) if s == id), "{id}");
            assert_eq!(LogEscaped(id).to_string(), id);
        }
    }

    #[test]
    fn an_escaped_line_is_one_line() {
        let raw = "a\u{2028}b\u{2029}c\nd\re\u{85}f";
        let logged = escape_for_log(raw);
        assert_eq!(logged.lines().count(), 1);
        assert!(!logged.contains(['\u{2028}', '\u{2029}', '\u{85}']));
    }
}

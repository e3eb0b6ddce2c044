//! Words and punctuation of an option, for the rules that read its first words (references to other options,
//! option labels). Works on [`clean`](super::text::clean) text and borrows from it.

/// One token: a word, or one punctuation or symbol character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// Letters and digits, with inner hyphens, slashes and apostrophes (`all-or-none`, `A-B-A`, `I/O`, `Beck's`)
    /// and decimal points (`2.5`) kept inside.
    Word(&'a str),
    /// Anything else that is not white space.
    Punct(char),
}

impl<'a> Token<'a> {
    /// The word, if this is one.
    pub(super) fn word(self) -> Option<&'a str> {
        match self {
            Token::Word(w) => Some(w),
            Token::Punct(_) => None,
        }
    }

    /// Whether this is the word `w` (ASCII case ignored).
    pub(super) fn is(self, w: &str) -> bool {
        self.word().is_some_and(|x| x.eq_ignore_ascii_case(w))
    }

    /// Whether this is one of `list` (ASCII case ignored).
    pub(super) fn is_any(self, list: &[&str]) -> bool {
        self.word().is_some_and(|x| is_any(x, list))
    }

    /// Whether this is the punctuation `c`.
    pub(super) fn is_punct(self, c: char) -> bool {
        self == Token::Punct(c)
    }
}

/// Whether `word` is one of `list` (ASCII case ignored; the lists are lower-case ASCII).
pub(super) fn is_any(word: &str, list: &[&str]) -> bool {
    list.iter().any(|w| w.eq_ignore_ascii_case(word))
}

/// The tokens of `text`, in order.
pub(super) fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::with_capacity(text.len() / 4 + 4);
    out.extend(token_iter(text));
    out
}

/// The tokens of `text` one by one, without allocating.
pub(super) fn token_iter(text: &str) -> impl Iterator<Item = Token<'_>> {
    Tokens { text, chars: text.char_indices() }
}

struct Tokens<'a> {
    text: &'a str,
    chars: std::str::CharIndices<'a>,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let (start, c) = self.chars.by_ref().find(|(_, c)| !c.is_whitespace())?;
        if !c.is_alphanumeric() {
            return Some(Token::Punct(c));
        }
        let (mut end, mut last) = (start + c.len_utf8(), c);
        loop {
            let mut ahead = self.chars.clone();
            let Some((i, n)) = ahead.next() else { break };
            let take = n.is_alphanumeric()
                || match n {
                    '-' | '/' | '\'' => ahead.next().is_some_and(|(_, a)| a.is_alphanumeric()),
                    '.' => last.is_ascii_digit() && ahead.next().is_some_and(|(_, a)| a.is_ascii_digit()),
                    _ => false,
                };
            if !take {
                break;
            }
            self.chars.next();
            (end, last) = (i + n.len_utf8(), n);
        }
        Some(Token::Word(&self.text[start..end]))
    }
}

#[cfg(test)]
mod tests {
    use super::Token::{Punct, Word};
    use super::*;

    #[test]
    fn words_keep_inner_joiners_and_punctuation_stands_alone() {
        assert_eq!(
            tokens("(A) and B, all-or-none A-B-A I/O Beck's 2.5 B. F. Skinner"),
            [
                Punct('('),
                Word("A"),
                Punct(')'),
                Word("and"),
                Word("B"),
                Punct(','),
                Word("all-or-none"),
                Word("A-B-A"),
                Word("I/O"),
                Word("Beck's"),
                Word("2.5"),
                Word("B"),
                Punct('.'),
                Word("F"),
                Punct('.'),
                Word("Skinner"),
            ]
        );
        assert_eq!(
            tokens("A- text 'quoted'"),
            [Word("A"), Punct('-'), Word("text"), Punct('\''), Word("quoted"), Punct('\'')]
        );
        assert_eq!(tokens(""), []);
    }
}

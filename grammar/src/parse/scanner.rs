//! The hand-written scanner (same tokens and trivia as the grammar), used for recovery, for naming
//! the offending token and for the nesting limits; the syntax tree itself is built from pest's pairs.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokKind {
    /// `[A-Za-z_][A-Za-z0-9_]*`, keywords included.
    Word,
    Number,
    Str,
    UnterminatedStr,
    /// `/*` without `*/`: the token runs to the end of the input.
    UnterminatedComment,
    /// ASCII punctuation, `<-` and `->`.
    Punct,
    /// Any other character.
    Other,
    Eof,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Tok<'s> {
    pub(super) kind: TokKind,
    pub(super) text: &'s str,
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Tok<'_> {
    pub(super) fn is(&self, punct: &str) -> bool {
        self.kind == TokKind::Punct && self.text == punct
    }
    pub(super) fn is_word(&self, word: &str) -> bool {
        self.kind == TokKind::Word && self.text == word
    }
    pub(super) fn is_block_keyword(&self) -> bool {
        self.is_word("layer") || self.is_word("model")
    }
    pub(super) fn is_opener(&self) -> bool {
        self.is("(") || self.is("[") || self.is("{")
    }
    pub(super) fn is_closer(&self) -> bool {
        self.is(")") || self.is("]") || self.is("}")
    }
    /// The span a diagnostic about this token points at.
    pub(super) fn span(&self) -> Span {
        match self.kind {
            TokKind::UnterminatedComment => Span::new(self.start, self.start + 2),
            _ => Span::new(self.start, self.end),
        }
    }
    /// How the token is named in messages.
    pub(super) fn describe(&self) -> String {
        match self.kind {
            TokKind::Eof => "end of input".into(),
            TokKind::Str => "a string".into(),
            TokKind::UnterminatedStr => "an unterminated string".into(),
            TokKind::UnterminatedComment => "an unterminated comment".into(),
            TokKind::Other => match self.text.chars().next() {
                Some(c) if c.is_control() || c.is_whitespace() => {
                    format!("character U+{:04X}", c as u32)
                }
                _ => format!("`{}`", self.text),
            },
            _ => {
                if self.text.chars().count() > 32 {
                    let head: String = self.text.chars().take(30).collect();
                    format!("`{head}…`")
                } else {
                    format!("`{}`", self.text)
                }
            }
        }
    }
}

/// Skips whitespace and comments like the grammar's `WHITESPACE` and `COMMENT`. Stops at an
/// unterminated `/*`.
pub(super) fn skip_trivia(src: &str, mut pos: usize) -> usize {
    let bytes = src.as_bytes();
    loop {
        match bytes.get(pos) {
            Some(b' ' | b'\t' | b'\r' | b'\n') => pos += 1,
            Some(b'/') if bytes.get(pos + 1) == Some(&b'/') => {
                pos = src[pos..].find('\n').map_or(src.len(), |k| pos + k);
            }
            Some(b'/') if bytes.get(pos + 1) == Some(&b'*') => match src[pos + 2..].find("*/") {
                Some(k) => pos += 2 + k + 2,
                None => return pos,
            },
            _ => return pos,
        }
    }
}

pub(super) fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The token starting at `pos` (which must not be trivia).
pub(super) fn token_at(src: &str, pos: usize) -> Tok<'_> {
    let rest = &src[pos..];
    let bytes = rest.as_bytes();
    let tok = |kind, len: usize| Tok {
        kind,
        text: &rest[..len],
        start: pos,
        end: pos + len,
    };
    let Some(&c) = bytes.first() else {
        return tok(TokKind::Eof, 0);
    };
    let digits_from = |mut k: usize| {
        while bytes.get(k).is_some_and(u8::is_ascii_digit) {
            k += 1;
        }
        k
    };
    if c.is_ascii_alphabetic() || c == b'_' {
        let len = bytes.iter().take_while(|&&b| is_ident_char(b)).count();
        tok(TokKind::Word, len)
    } else if c.is_ascii_digit() {
        let mut len = digits_from(0);
        if bytes.get(len) == Some(&b'.') && bytes.get(len + 1).is_some_and(u8::is_ascii_digit) {
            len = digits_from(len + 1);
        }
        if matches!(bytes.get(len), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(bytes.get(len + 1), Some(b'+' | b'-')));
            if bytes.get(len + 1 + sign).is_some_and(u8::is_ascii_digit) {
                len = digits_from(len + 1 + sign);
            }
        }
        tok(TokKind::Number, len)
    } else if c == b'"' {
        match rest[1..].find(['"', '\n']) {
            Some(k) if bytes[1 + k] == b'"' => tok(TokKind::Str, k + 2),
            Some(k) => tok(TokKind::UnterminatedStr, k + 1),
            None => tok(TokKind::UnterminatedStr, rest.len()),
        }
    } else if rest.starts_with("/*") {
        tok(TokKind::UnterminatedComment, rest.len())
    } else if rest.starts_with("<-") || rest.starts_with("->") {
        tok(TokKind::Punct, 2)
    } else if c.is_ascii() && !c.is_ascii_control() {
        tok(TokKind::Punct, 1)
    } else {
        let len = rest.chars().next().map_or(1, char::len_utf8);
        tok(TokKind::Other, len)
    }
}

/// Words that cannot be names (see `reserved` in the grammar).
pub(super) fn reserved_word(word: &str) -> bool {
    pub(super) const KEYWORDS: [&str; 16] = [
        "layer",
        "model",
        "dims",
        "self_loops",
        "input",
        "param",
        "labels",
        "mask",
        "output",
        "attention",
        "as",
        "classes",
        "node",
        "sum",
        "mean",
        "softmax",
    ];
    KEYWORDS.contains(&word) || reduce_prefix(word).is_some()
}

/// `Some("sum_")` for `sum_c`, `sum_`, ...
pub(super) fn reduce_prefix(word: &str) -> Option<&'static str> {
    ["sum_", "mean_", "softmax_"]
        .into_iter()
        .find(|p| word.starts_with(p))
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let before = &src[..pos.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |k| k + 1);
    (line, before[line_start..].chars().count() + 1)
}

pub(super) fn list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

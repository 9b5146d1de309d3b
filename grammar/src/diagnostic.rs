//! Errors and warnings that point into a source file with line, column and a caret.

use crate::ast::Span;
use std::fmt;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The file cannot be used.
    Error,
    /// The file works but something looks wrong (an unused parameter, ...).
    Warning,
    /// A second place another diagnostic refers to ("first defined here"), rendered under it.
    Note,
}

/// One message about one place in a source file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The headline, a full sentence without the trailing period.
    pub message: String,
    /// Where.
    pub span: Span,
    /// Short text printed after the caret.
    pub label: String,
    /// An optional hint printed below.
    pub help: Option<String>,
    /// Other places the message refers to (a first definition), each rendered as a `note:` with its
    /// own caret, between the caret line and the help.
    pub notes: Vec<(Span, String)>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            label: String::new(),
            help: None,
            notes: Vec::new(),
        }
    }
    /// A warning at `span`.
    pub fn warning(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(span, message)
        }
    }
    /// Adds the text printed after the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }
    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
    /// Adds a second place the message refers to, e.g. `with_note(first, "`y` is first defined here")`.
    pub fn with_note(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.notes.push((span, message.into()));
        self
    }
    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
    /// Renders the diagnostic against `source`, rustc style:
    ///
    /// ```text
    /// error: unknown tensor `xq`
    ///   --> models/gatv2.gat:12:38
    ///    |
    /// 12 |     s[i <- j, h] = sum_c att[h, c] * xq[j, h, c];
    ///    |                                      ^^ not declared in layer `gatv2`
    /// ```
    ///
    /// A source line longer than [`MAX_LINE_CHARS`] is cut to [`CONTEXT_CHARS`] characters on
    /// either side of the caret, with `…` where text was left out (the caret stays under the
    /// same character; the column in `-->` is the real one).
    pub fn render(&self, source: &Source) -> String {
        let (line, _) = source.line_col(self.span.start);
        let (name, shown_line, col) = source.location(self.span.start);
        let text = source.line_text(line);
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        let num = shown_line.to_string();
        let pad = " ".repeat(num.len());
        let line_start = source.line_start(line);
        let start = floor_boundary(text, self.span.start.saturating_sub(line_start));
        let end = floor_boundary(text, self.span.end.saturating_sub(line_start)).max(start);
        let (shown, lead, width) = excerpt(text, start, end);
        let mut out = format!(
            "{kind}: {}\n{pad}--> {}:{shown_line}:{col}\n{pad} |\n{num} | {shown}\n{pad} | {lead}{}",
            self.message,
            name,
            "^".repeat(width)
        );
        if !self.label.is_empty() {
            out.push(' ');
            out.push_str(&self.label);
        }
        for (span, message) in &self.notes {
            let note = Diagnostic {
                severity: Severity::Note,
                ..Diagnostic::error(*span, message.clone())
            };
            out.push('\n');
            out.push_str(&note.render(source));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("\n{pad} = help: {help}"));
        }
        out
    }
}

/// Source lines up to this many characters are shown whole.
pub const MAX_LINE_CHARS: usize = 120;

/// Characters shown on either side of the caret when a line is cut.
pub const CONTEXT_CHARS: usize = 60;

/// At most this many errors, and as many warnings, are rendered by [`Rendered`]; a note says how
/// many more there were.
pub const MAX_SHOWN: usize = 100;

/// The largest char boundary of `text` at or before byte `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// What to print of line `text` for a caret under bytes `start..end` (char boundaries, `start <=
/// end <= text.len()`): the shown text, the whitespace before the caret (tabs kept, so the caret
/// lines up under a tab too) and the caret's width in characters (at least 1).
fn excerpt(text: &str, start: usize, end: usize) -> (String, String, usize) {
    let blank = |s: &str| -> String {
        s.chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect()
    };
    let long = text.len() > MAX_LINE_CHARS && text.chars().nth(MAX_LINE_CHARS).is_some();
    if !long {
        let width = text[start..end].chars().count().max(1);
        return (text.to_string(), blank(&text[..start]), width);
    }
    // A caret as wide as the rest of a long line would be as long as the line: cut it too.
    let width = text[start..end].chars().take(2 * CONTEXT_CHARS).count();
    let caret_end = text[start..]
        .char_indices()
        .nth(width)
        .map_or(text.len(), |(i, _)| start + i);
    let left = text[..start]
        .char_indices()
        .rev()
        .nth(CONTEXT_CHARS - 1)
        .map_or(0, |(i, _)| i);
    let right = text[caret_end..]
        .char_indices()
        .nth(CONTEXT_CHARS)
        .map_or(text.len(), |(i, _)| caret_end + i);
    let (open, close) = (left > 0, right < text.len());
    let shown = format!(
        "{}{}{}",
        if open { "…" } else { "" },
        &text[left..right],
        if close { "…" } else { "" }
    );
    let lead = format!(
        "{}{}",
        if open { " " } else { "" },
        blank(&text[left..start])
    );
    (shown, lead, width.max(1))
}

/// The text diagnostics point into: one file, or several files one after another (a file and the
/// files it `use`s), each shown under its own name with its own line numbers.
#[derive(Clone, Debug)]
pub struct Source {
    /// The name shown in messages (usually the path) of the first file.
    pub name: String,
    /// The text of all files, each followed by a line break when there are several.
    pub text: String,
    line_starts: Vec<usize>,
    /// Each file's name, first byte in `text` and first line (1-based), in order.
    parts: Vec<(String, usize, usize)>,
}

impl Source {
    /// Wraps a text under a display name.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        let name = name.into();
        Source::combined(vec![(name, text.into())])
    }
    /// Several files as one text; a span's file is the one its start falls in.
    pub fn combined(files: Vec<(String, String)>) -> Source {
        let several = files.len() > 1;
        let mut text = String::new();
        let mut parts = Vec::new();
        for (name, body) in files {
            let first_line = text.matches('\n').count() + 1;
            parts.push((name, text.len(), first_line));
            text.push_str(&body);
            if several {
                text.push('\n');
            }
        }
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            name: parts.first().map(|p| p.0.clone()).unwrap_or_default(),
            text,
            line_starts,
            parts,
        }
    }
    /// Where each file starts in [`text`](Self::text), by name, in order.
    pub fn files(&self) -> impl Iterator<Item = (&str, usize)> {
        self.parts.iter().map(|(n, start, _)| (n.as_str(), *start))
    }
    /// The file a byte offset falls in: its name and first line.
    fn part(&self, offset: usize) -> (&str, usize) {
        let k = self
            .parts
            .partition_point(|p| p.1 <= offset)
            .saturating_sub(1);
        self.parts
            .get(k)
            .map_or(("", 1), |(n, _, line)| (n.as_str(), *line))
    }
    /// The file name, 1-based line and column (in characters) of a byte offset, as shown in
    /// messages.
    pub fn location(&self, offset: usize) -> (&str, usize, usize) {
        let (line, col) = self.line_col(offset);
        let (name, first) = self.part(offset.min(self.text.len()));
        (name, line + 1 - first, col)
    }
    /// 1-based line (counted over the whole text) and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        (line, col)
    }
    fn line_start(&self, line: usize) -> usize {
        self.line_starts[line - 1]
    }
    fn line_text(&self, line: usize) -> &str {
        let start = self.line_start(line);
        let end = self
            .line_starts
            .get(line)
            .map(|e| e - 1)
            .unwrap_or(self.text.len());
        self.text
            .get(start..end.max(start))
            .unwrap_or("")
            .trim_end_matches('\r')
    }
}

/// All diagnostics of a file, rendered one after another.
pub struct Rendered<'a>(pub &'a [Diagnostic], pub &'a Source);

impl fmt::Display for Rendered<'_> {
    /// Renders at most [`MAX_SHOWN`] errors and as many warnings, in order, then a note with the
    /// number left out (one more than the cap is shown rather than noted).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.0.iter().filter(|d| d.is_error()).count();
        let totals = [errors, self.0.len() - errors];
        let limit = totals.map(|n| if n > MAX_SHOWN + 1 { MAX_SHOWN } else { n });
        let mut seen = [0usize; 2];
        for d in self.0 {
            let kind = usize::from(!d.is_error());
            seen[kind] += 1;
            if seen[kind] > limit[kind] {
                continue;
            }
            if seen[0] + seen[1] > 1 {
                writeln!(f)?;
            }
            writeln!(f, "{}", d.render(self.1))?;
        }
        let hidden: Vec<String> = ["error", "warning"]
            .iter()
            .zip(totals.iter().zip(limit))
            .filter(|(_, (&total, shown))| total > *shown)
            .map(|(kind, (&total, shown))| format!("{} more {kind}s", total - shown))
            .collect();
        if !hidden.is_empty() {
            writeln!(
                f,
                "\nnote: {} not shown (only the first {MAX_SHOWN} of each kind are printed)",
                hidden.join(" and ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shown source line and the caret line of a rendering, without their gutters.
    fn shown(rendered: &str) -> (String, String) {
        let lines: Vec<&str> = rendered.lines().collect();
        let cut = |l: &str| {
            l.split_once(" | ")
                .map_or(String::new(), |(_, t)| t.to_string())
        };
        (cut(lines[3]), cut(lines[4]))
    }

    /// The character the caret's first `^` points at.
    fn under_caret(rendered: &str) -> char {
        let (text, caret) = shown(rendered);
        let col = caret.chars().take_while(|&c| c != '^').count();
        text.chars().nth(col).unwrap()
    }

    fn at(source: &Source, needle: &str) -> Span {
        let start = source.text.find(needle).unwrap();
        Span::new(start, start + needle.len())
    }

    #[test]
    fn short_lines_are_shown_whole() {
        let src = Source::new(
            "m.gat",
            "layer a {\n    s[i] = sum_c att[h, c] * xq[j, h, c];\n}",
        );
        let d = Diagnostic::error(at(&src, "xq"), "unknown tensor `xq`").with_label("not declared");
        assert_eq!(
            d.render(&src),
            "error: unknown tensor `xq`\n --> m.gat:2:30\n  |\n2 |     s[i] = sum_c att[h, c] * \
             xq[j, h, c];\n  |                              ^^ not declared"
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        let line = format!("{}TARGET{}", "a, ".repeat(1000), " + b".repeat(1000));
        let src = Source::new("m.gat", format!("layer a {{\n{line}\n}}"));
        let r = Diagnostic::warning(at(&src, "TARGET"), "here").render(&src);
        let (text, caret) = shown(&r);
        assert!(text.starts_with('…') && text.ends_with('…'), "{text}");
        assert_eq!(
            text.chars().count(),
            1 + CONTEXT_CHARS + 6 + CONTEXT_CHARS + 1
        );
        assert_eq!(caret.trim_start(), "^^^^^^");
        assert_eq!(under_caret(&r), 'T');
        // The column is the real one.
        assert!(r.contains("--> m.gat:2:3001\n"), "{r}");
        // Near either end of the line, only the other side is cut.
        let r = Diagnostic::warning(Span::new(10, 11), "start").render(&src);
        let (text, _) = shown(&r);
        assert!(text.starts_with("a, a,") && text.ends_with('…'), "{text}");
        assert_eq!(under_caret(&r), 'a');
        let end = src.text.len() - 3;
        let r = Diagnostic::warning(Span::new(end, end + 1), "end").render(&src);
        let (text, _) = shown(&r);
        assert!(text.starts_with('…') && text.ends_with(" + b"), "{text}");
        assert_eq!(under_caret(&r), 'b');
    }

    #[test]
    fn cutting_respects_multibyte_characters_and_tabs() {
        // Multi-byte characters on both sides of the caret, and a tab within the shown window.
        let line = format!("{}\t→é{}", "é字".repeat(500), "✓x".repeat(500));
        let src = Source::new("m.gat", line.clone());
        let start = line.find('→').unwrap();
        let r = Diagnostic::error(Span::new(start, start + 3), "arrow").render(&src);
        let (text, caret) = shown(&r);
        assert_eq!(under_caret(&r), '→');
        assert!(caret.contains('\t'), "{caret:?}");
        assert_eq!(caret.trim_start(), "^");
        assert!(text.starts_with('…') && text.ends_with('…'));
        // A span starting inside a character is moved to its start, never split.
        let r = Diagnostic::error(Span::new(start + 1, start + 2), "inside").render(&src);
        assert_eq!(under_caret(&r), '→');
    }

    #[test]
    fn a_caret_over_most_of_a_long_line_is_cut_too() {
        let line = "x".repeat(10_000);
        let src = Source::new("m.gat", line);
        let r = Diagnostic::error(Span::new(0, 10_000), "all of it").render(&src);
        let (text, caret) = shown(&r);
        assert_eq!(caret, "^".repeat(2 * CONTEXT_CHARS));
        assert_eq!(text.chars().count(), 3 * CONTEXT_CHARS + 1);
        assert!(r.len() < 1000);
    }

    #[test]
    fn long_lists_are_capped_with_a_note() {
        let src = Source::new("m.gat", "param a, b;");
        let warn = Diagnostic::warning(Span::new(6, 7), "`a` is never used");
        let err = Diagnostic::error(Span::new(9, 10), "bad `b`");
        let count = |r: &str, what: &str| r.matches(what).count();

        let many = vec![warn.clone(); 20_000];
        let r = Rendered(&many, &src).to_string();
        assert_eq!(count(&r, "warning: "), MAX_SHOWN);
        assert!(r.ends_with(
            "\nnote: 19900 more warnings not shown (only the first 100 of each kind are printed)\n"
        ));

        // One more than the cap is shown: a note would take as much room.
        let just = vec![err.clone(); MAX_SHOWN + 1];
        let r = Rendered(&just, &src).to_string();
        assert_eq!(count(&r, "error: "), MAX_SHOWN + 1);
        assert!(!r.contains("note:"));

        // Each kind has its own cap; the order is kept.
        let mut mixed = vec![err.clone(); 150];
        mixed.extend(vec![warn.clone(); 3]);
        mixed.insert(0, warn);
        let r = Rendered(&mixed, &src).to_string();
        assert_eq!(count(&r, "error: "), MAX_SHOWN);
        assert_eq!(count(&r, "warning: "), 4);
        assert!(r.starts_with("warning: "));
        assert!(r.contains("note: 50 more errors not shown"));
        assert_eq!(Rendered(&[], &src).to_string(), "");
    }
}

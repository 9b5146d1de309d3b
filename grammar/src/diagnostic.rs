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
    pub fn render(&self, source: &Source) -> String {
        let (line, col) = source.line_col(self.span.start);
        let text = source.line_text(line);
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        let num = line.to_string();
        let pad = " ".repeat(num.len());
        let start_in_line = self.span.start - source.line_start(line);
        let end = self.span.end.min(source.line_start(line) + text.len());
        let width = text
            .get(start_in_line..end.max(self.span.start) - source.line_start(line))
            .map(|s| s.chars().count())
            .unwrap_or(1)
            .max(1);
        let lead: String = text
            .get(..start_in_line)
            .unwrap_or("")
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let mut out = format!(
            "{kind}: {}\n{pad}--> {}:{line}:{col}\n{pad} |\n{num} | {text}\n{pad} | {lead}{}",
            self.message,
            source.name,
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

/// A source file: its display name and text.
#[derive(Clone, Debug)]
pub struct Source {
    /// The name shown in messages (usually the path).
    pub name: String,
    /// The text.
    pub text: String,
    line_starts: Vec<usize>,
}

impl Source {
    /// Wraps a text under a display name.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            name: name.into(),
            text,
            line_starts,
        }
    }
    /// 1-based line and column (in characters) of a byte offset.
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, d) in self.0.iter().enumerate() {
            if k > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{}", d.render(self.1))?;
        }
        Ok(())
    }
}

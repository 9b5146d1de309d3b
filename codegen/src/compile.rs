//! Parse, check, lower and differentiate a `.gat` text in one call.

use crate::ir::Program;
use gatgrad_grammar::{Diagnostic, Rendered, Source};

/// A failed compilation: every diagnostic, rendered with file, line, column and caret.
#[derive(Debug)]
pub struct Failure {
    /// Rendered messages.
    pub rendered: String,
    /// The diagnostics.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses, checks, lowers and differentiates `text` (called `name` in messages). On success returns
/// the program and the rendered warnings (empty if none).
pub fn compile_source(name: &str, text: &str) -> Result<(Program, String), Failure> {
    compile_in(&Source::new(name, text))
}

/// Like [`compile_source`] for a file gathered with the files it `use`s
/// ([`gatgrad_grammar::sources::gather`]): a failed `use` or a syntax error in any of them fails
/// the compilation, and every message points into its own file.
pub fn compile_gathered(
    loaded: &gatgrad_grammar::sources::Loaded,
) -> Result<(Program, String), Failure> {
    if !loaded.errors.is_empty() {
        return Err(Failure {
            rendered: Rendered(&loaded.errors, &loaded.source).to_string(),
            diagnostics: loaded.errors.clone(),
        });
    }
    compile_in(&loaded.source)
}

/// Compiles the whole text of `source` (one file, or several gathered into one).
pub fn compile_in(source: &Source) -> Result<(Program, String), Failure> {
    let text = source.text.as_str();
    let file = gatgrad_grammar::parse(text).map_err(|diagnostics| Failure {
        rendered: Rendered(&diagnostics, source).to_string(),
        diagnostics,
    })?;
    let lowered = crate::lower(&file);
    let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
        lowered.diagnostics.into_iter().partition(|d| d.is_error());
    let warnings_text = Rendered(&warnings, source).to_string();
    let Some(mut program) = lowered.program.filter(|_| errors.is_empty()) else {
        let mut all = errors;
        all.extend(warnings);
        all.sort_by_key(|d| d.span.start);
        return Err(Failure {
            rendered: Rendered(&all, source).to_string(),
            diagnostics: all,
        });
    };
    crate::invariant::store_invariants(&mut program);
    if let Err(msg) = crate::differentiate(&mut program) {
        let d = Diagnostic::error(Default::default(), format!("cannot differentiate: {msg}"));
        return Err(Failure {
            rendered: Rendered(std::slice::from_ref(&d), source).to_string(),
            diagnostics: vec![d],
        });
    }
    Ok((program, warnings_text))
}

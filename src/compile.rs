//! From `.gat` text to a differentiated [`Program`]: parse, check, lower, differentiate.

use gatgrad_codegen::ir::Program;
use gatgrad_grammar::{Diagnostic, Rendered, Source};

/// A checked, differentiated layer or model, with the warnings found on the way.
#[derive(Debug)]
pub struct Compiled {
    /// Forward and derivative equations.
    pub program: Program,
    /// Warnings, rendered (empty when there were none).
    pub warnings: String,
}

/// Why a file could not be compiled.
#[derive(Debug)]
pub struct CompileError {
    /// Every diagnostic, rendered with file, line, column and caret.
    pub rendered: String,
    /// The diagnostics themselves.
    pub diagnostics: Vec<Diagnostic>,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rendered)
    }
}

impl std::error::Error for CompileError {}

/// Parses, checks, lowers and differentiates `text` (shown as `name` in messages).
pub fn compile(name: &str, text: &str) -> Result<Compiled, CompileError> {
    let source = Source::new(name, text);
    let file = match gatgrad_grammar::parse(text) {
        Ok(f) => f,
        Err(diagnostics) => {
            return Err(CompileError {
                rendered: Rendered(&diagnostics, &source).to_string(),
                diagnostics,
            })
        }
    };
    let lowered = gatgrad_codegen::lower(&file);
    let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
        lowered.diagnostics.into_iter().partition(|d| d.is_error());
    let warnings_text = Rendered(&warnings, &source).to_string();
    let Some(mut program) = lowered.program.filter(|_| errors.is_empty()) else {
        let mut all = errors;
        all.extend(warnings);
        all.sort_by_key(|d| d.span.start);
        return Err(CompileError {
            rendered: Rendered(&all, &source).to_string(),
            diagnostics: all,
        });
    };
    if let Err(msg) = gatgrad_codegen::differentiate(&mut program) {
        let d = Diagnostic::error(Default::default(), format!("cannot differentiate: {msg}"));
        return Err(CompileError {
            rendered: Rendered(std::slice::from_ref(&d), &source).to_string(),
            diagnostics: vec![d],
        });
    }
    Ok(Compiled {
        program,
        warnings: warnings_text,
    })
}

/// Reads and compiles a `.gat` file; I/O errors become a one-line message.
pub fn compile_file(path: &std::path::Path) -> Result<Compiled, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    compile(&path.display().to_string(), &text).map_err(|e| e.rendered)
}

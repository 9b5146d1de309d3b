//! From `.gat` text to a differentiated [`Program`]: parse, check, lower, differentiate.

use gatgrad_codegen::ir::Program;
use gatgrad_grammar::Diagnostic;

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
    match gatgrad_codegen::compile_source(name, text) {
        Ok((program, warnings)) => Ok(Compiled { program, warnings }),
        Err(f) => Err(CompileError {
            rendered: f.rendered,
            diagnostics: f.diagnostics,
        }),
    }
}

/// Reads and compiles a `.gat` file; I/O errors become a one-line message.
pub fn compile_file(path: &std::path::Path) -> Result<Compiled, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    compile(&path.display().to_string(), &text).map_err(|e| e.rendered)
}

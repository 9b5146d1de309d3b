//! From `.gat` text to a differentiated [`Program`]: parse, check, lower, differentiate.

use gatgrad_codegen::ir::Program;
use gatgrad_grammar::files::gather_files;
use gatgrad_grammar::sources::Loaded;
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

/// Reads and compiles a `.gat` file and the files it `use`s; I/O errors become a one-line message.
pub fn compile_file(path: &std::path::Path) -> Result<Compiled, String> {
    compile_gathered(&gather_file(path)?).map_err(|e| e.rendered)
}

/// Compiles a file gathered with [`gather_file`]; messages point into the file they are about.
pub fn compile_gathered(loaded: &Loaded) -> Result<Compiled, CompileError> {
    match gatgrad_codegen::compile_gathered(loaded) {
        Ok((program, warnings)) => Ok(Compiled { program, warnings }),
        Err(f) => Err(CompileError {
            rendered: f.rendered,
            diagnostics: f.diagnostics,
        }),
    }
}

/// Reads `path` and every file it `use`s (paths relative to the file that names them; each file
/// once). Only the root file's I/O errors are returned here; a `use` that cannot be read is an
/// error of the program, in [`Loaded::errors`], pointing at the `use`. The gathered text,
/// `source.text`, is a self-contained program: it compiles with [`compile`] as well.
pub fn gather_file(path: &std::path::Path) -> Result<Loaded, String> {
    let root = read_source(path)?;
    Ok(gather_files(
        path,
        &path.display().to_string(),
        root,
        &mut |p| read_source(p),
    ))
}

/// `.gat` files longer than this are refused (the zoo's are a few KB; even 200 000 equations
/// take 7 MB).
pub const MAX_SOURCE_BYTES: u64 = 64_000_000;

/// Reads a `.gat` file as UTF-8, reading at most [`MAX_SOURCE_BYTES`] (so a FIFO or a device
/// that never ends is refused instead of filling memory); errors are one line.
pub fn read_source(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let fail = |e: std::io::Error| format!("cannot read `{}`: {e}", path.display());
    let file = std::fs::File::open(path).map_err(fail)?;
    let mut bytes = Vec::new();
    file.take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(format!(
            "cannot read `{}`: longer than the {} a .gat file may have",
            path.display(),
            gatgrad_runtime::memory::format_bytes(MAX_SOURCE_BYTES as u128)
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "cannot read `{}`: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

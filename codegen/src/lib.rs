//! gatgrad's middle end: the typed IR of an attention layer, checking and lowering from the syntax
//! tree, the reverse-mode differentiator, the simplifier and the printers (Unicode text and LaTeX).
//!
//! Architecture invariant: this crate knows nothing about graphs in memory or about running code;
//! it turns text into equations and equations into other equations (and, later, into Rust tokens).

pub mod canonical;
pub mod compare;
pub mod compile;
pub mod diff;
pub mod emit;
pub mod expand;
pub mod facts;
pub mod init;
pub mod invariant;
pub mod ir;
pub mod literal;
pub mod lower;
pub mod normal;
pub mod plan;
pub mod primitives;
pub mod print;
pub mod simplify;
pub mod terms;

pub use compile::{compile_gathered, compile_in, compile_source, Failure};
pub use diff::differentiate;
pub use lower::{lower, Lowered};

/// Reads a `.gat` file with the files it `use`s, for tests over the zoo (codegen itself does no
/// I/O).
#[cfg(test)]
pub(crate) fn read_gathered(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.display().to_string();
    let loaded = gatgrad_grammar::files::gather_files(path, &name, text, &mut |p| {
        std::fs::read_to_string(p).map_err(|e| format!("cannot read `{}`: {e}", p.display()))
    });
    assert!(loaded.errors.is_empty(), "{}", path.display());
    loaded.source.text
}

/// Every zoo file (`models/**/*.gat`), by its path under `models/` (`dgl/gatv2.gat`), with the
/// files it `use`s, sorted.
#[cfg(test)]
pub(crate) fn zoo_sources() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "gat") {
                out.push(p);
            }
        }
    }
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../models"));
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    assert!(files.len() >= 8, "the zoo has {} files", files.len());
    files
        .into_iter()
        .map(|f| {
            let text = read_gathered(&f);
            let name = f.strip_prefix(dir).unwrap().display().to_string();
            (name, text)
        })
        .collect()
}

//! Inputs shared by the campaigns: the `.gat` files of the repository, the reference tensor
//! files, and running a compiled program on one of them.

use crate::harness::{root, Ctx, Input};
use crate::panics::guarded;
use crate::rng::Rng;
use gatgrad::runtime::TensorFile;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Every `models/*.gat` and `tests/fixtures/**/*.gat`, by path relative to the root, with its text.
pub fn gat_files() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "gat") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    if let Ok(entries) = std::fs::read_dir(root().join("models")) {
        paths.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "gat")),
        );
    }
    walk(&root().join("tests/fixtures"), &mut paths);
    paths.sort();
    let files: Vec<(String, String)> = paths
        .into_iter()
        .filter_map(|p| {
            // Gathered with the files it `use`s: a self-contained program.
            let text = gatgrad::gather_file(&p).ok()?.source.text;
            let name = p.strip_prefix(root()).unwrap_or(&p).display().to_string();
            Some((name, text))
        })
        .collect();
    assert!(
        files.iter().any(|(n, _)| n.starts_with("models/")),
        "no models/*.gat found"
    );
    files
}

/// The reference tensor files, by file name.
pub fn reference_cases() -> Vec<(String, Vec<u8>)> {
    let dir = root().join("tests/reference");
    let mut cases: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/reference")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    cases.sort();
    assert!(cases.iter().any(|(n, _)| n == "gatv2_basic.safetensors"));
    cases
}

/// Which panic location `compile` hits on `text`, if any.
fn compile_panics(text: &str) -> Option<String> {
    guarded(|| {
        let _ = gatgrad::compile("fuzz.gat", text);
    })
    .err()
    .map(|(loc, _)| loc)
}

/// The cases a mutant that still compiles is run on.
pub struct Cases {
    /// By file name.
    pub files: Vec<(String, TensorFile)>,
}

impl Cases {
    /// Reads every reference case.
    pub fn load() -> Cases {
        let files = reference_cases()
            .into_iter()
            .map(|(name, bytes)| {
                let f = TensorFile::from_bytes(&name, bytes).expect("reference case is valid");
                (name, f)
            })
            .collect();
        Cases { files }
    }
}

/// [`gatgrad::cases::run_case`] in f64 with no overrides.
pub fn run_case_f64(
    program: &gatgrad::codegen::ir::Program,
    file: &TensorFile,
) -> Result<Vec<gatgrad::cases::Named>, gatgrad::runtime::DataError> {
    gatgrad::cases::run_case::<f64>(program, file, &HashMap::new(), &HashMap::new())
}

/// Compiles `text` under `catch_unwind`, counting the outcome for `kind` — `compiles`,
/// `parse error` (refused by the parser) or `check error` (parsed, refused later) — and returns
/// the program if it compiled.
pub fn compile_counted(
    ctx: &mut Ctx,
    kind: &str,
    name: &str,
    text: &str,
    note: impl FnOnce() -> String,
) -> Option<gatgrad::Compiled> {
    let result = ctx.check(
        "compile",
        text.as_bytes(),
        || Input::Text {
            text: text.to_string(),
            note: note(),
        },
        || gatgrad::compile(name, text).ok(),
    );
    let outcome = match &result {
        Some(Some(_)) => "compiles",
        Some(None) if gatgrad::grammar::parse(text).is_err() => "parse error",
        Some(None) => "check error",
        None => "PANIC",
    };
    ctx.tally(kind, outcome);
    result.flatten()
}

/// Runs a program that compiled on one of the reference cases (chosen by `rng`), checking
/// that `run_case` does not panic; the outcome is counted for `{kind} run_case`.
pub fn run_on_a_case(
    rng: &mut Rng,
    ctx: &mut Ctx,
    kind: &str,
    c: &gatgrad::Compiled,
    text: &str,
    note: &str,
) {
    thread_local! {
        static CASES: Cases = Cases::load();
    }
    CASES.with(|cases| {
        let (case_name, file) = rng.pick(&cases.files);
        let result = ctx.check(
            &format!("run_case({case_name})"),
            text.as_bytes(),
            || Input::Text {
                text: text.to_string(),
                note: format!("{note}; compiles, then run_case on {case_name}"),
            },
            || run_case_f64(&c.program, file).is_ok(),
        );
        let outcome = match result {
            Some(true) => "ok",
            Some(false) => "error",
            None => "PANIC",
        };
        ctx.tally(&format!("{kind} run_case"), outcome);
    });
}

/// For shrinking: where running `stage` on `text` panics, if it does.
pub fn stage_panics(stage: &str, text: &str) -> Option<String> {
    if stage == "compile" {
        return compile_panics(text);
    }
    let case = stage
        .strip_prefix("run_case(")?
        .strip_suffix(')')?
        .to_string();
    let c = gatgrad::compile("fuzz.gat", text).ok()?;
    let bytes = std::fs::read(root().join("tests/reference").join(&case)).ok()?;
    let file = TensorFile::from_bytes(&case, bytes).ok()?;
    guarded(|| {
        let _ = run_case_f64(&c.program, &file);
    })
    .err()
    .map(|(loc, _)| loc)
}

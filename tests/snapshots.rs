//! Data-driven snapshots: one per fixture and stage. Review changes with `cargo insta review`;
//! CI runs with `INSTA_UPDATE=no`, so any changed snapshot fails.
//!
//! - every zoo model: forward + derivative equations as text, and as LaTeX; generated code of two;
//! - every file in tests/fixtures/derivatives: the same, as text and as LaTeX;
//! - every file in tests/fixtures/errors and tests/fixtures/syntax: the rendered messages.

use std::path::Path;

fn rel_name(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Compiles a file with the files it `use`s, named relative to the repository in messages.
fn compile(path: &Path) -> Result<gatgrad::Compiled, String> {
    gatgrad::compile_file(Path::new(&rel_name(path)))
}

fn derivatives(path: &Path, style: gatgrad::codegen::print::Style) -> String {
    let c = compile(path).unwrap_or_else(|e| panic!("{e}"));
    let pr = gatgrad::codegen::print::Printer::new(&c.program, style);
    format!("# forward\n{}\n# backward\n{}", pr.forward(), pr.backward())
}

#[test]
fn zoo_derivatives_text() {
    insta::glob!("../models", "**/*.gat", |path| {
        insta::assert_snapshot!(derivatives(path, gatgrad::codegen::print::Style::Text));
    });
}

#[test]
fn zoo_derivatives_latex() {
    insta::glob!("../models", "**/*.gat", |path| {
        insta::assert_snapshot!(derivatives(path, gatgrad::codegen::print::Style::Latex));
    });
}

#[test]
fn fixture_derivatives_text() {
    insta::glob!("fixtures/derivatives", "*.gat", |path| {
        insta::assert_snapshot!(derivatives(path, gatgrad::codegen::print::Style::Text));
    });
}

#[test]
fn fixture_derivatives_latex() {
    insta::glob!("fixtures/derivatives", "*.gat", |path| {
        insta::assert_snapshot!(derivatives(path, gatgrad::codegen::print::Style::Latex));
    });
}

fn messages(path: &Path) -> String {
    match compile(path) {
        Ok(_) => panic!("{} should not compile", path.display()),
        Err(rendered) => rendered,
    }
}

#[test]
fn error_messages() {
    insta::glob!("fixtures/errors", "*.gat", |path| {
        insta::assert_snapshot!(messages(path));
    });
}

#[test]
fn syntax_error_messages() {
    insta::glob!("fixtures/syntax", "*.gat", |path| {
        insta::assert_snapshot!(messages(path));
    });
}

fn generated(path: &Path) -> String {
    let c = compile(path).unwrap_or_else(|e| panic!("{e}"));
    gatgrad::codegen::expand::pretty(&c.program).unwrap()
}

/// Generated code for two models only (one layer, one two-layer model with a loss): the
/// decisions behind it are reviewed in the plan snapshots of every model (`tests/plans.rs`).
#[test]
fn zoo_generated_code() {
    insta::glob!("../models", "{gatv2,gatv2_two_layer}.gat", |path| {
        insta::assert_snapshot!(generated(path));
    });
}

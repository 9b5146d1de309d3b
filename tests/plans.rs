//! The kernel plan of every zoo model, as `gatgrad plan` prints it: the review artefact for
//! code-generation decisions (one insta snapshot per model; `cargo insta review` to accept).

use std::path::Path;

fn plan(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let name = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    let c = gatgrad::compile_file(Path::new(&name)).unwrap_or_else(|e| panic!("{e}"));
    gatgrad::codegen::plan::Plan::build(&c.program).to_string()
}

#[test]
fn zoo_plans() {
    insta::glob!("../models", "**/*.gat", |path| {
        insta::assert_snapshot!(plan(path));
    });
}

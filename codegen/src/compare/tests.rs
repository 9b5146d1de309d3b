//! Comparisons of zoo layers: what differs is found by role, and nothing that is the same is
//! reported.

use super::*;

fn program(file: &str) -> Program {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(file);
    let text = crate::read_gathered(&path);
    program_of(&text)
}

fn program_of(text: &str) -> Program {
    crate::compile_source("test", text)
        .unwrap_or_else(|f| panic!("{}", f.rendered))
        .0
}

fn roles(c: &Comparison) -> Vec<&str> {
    c.differences.iter().map(|d| d.role.as_str()).collect()
}

/// Every name changed: tensors, parameters and their file names, dimensions, constants, indices.
fn renamed(text: &str) -> String {
    let mut t = text.to_string();
    for (from, to) in [
        ("W_l", "Wsrc"),
        ("b_l", "bsrc"),
        ("W_r", "Wdst"),
        ("b_r", "bdst"),
        ("lin_l", "fc_a"),
        ("lin_r", "fc_b"),
        ("\"att\"", "\"scorer\""),
        ("att[", "scorer["),
        ("bias", "shift"),
        ("xl", "left"),
        ("xr", "right"),
        ("slope", "leak"),
        ("dropout =", "rate ="),
        ("dropout)", "rate)"),
        ("F,", "A,"),
        ("f: F", "f: A"),
        ("[H*C, F]", "[H*C, A]"),
    ] {
        t = t.replace(from, to);
    }
    t
}

#[test]
fn a_renamed_copy_is_equivalent() {
    let text = crate::read_gathered(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/gatv2.gat"),
    );
    let copy = renamed(&text);
    assert_ne!(copy, text);
    let (a, b) = (program_of(&text), program_of(&copy));
    let c = compare(&a, &b);
    assert!(c.equivalent, "{:?}", c.differences);
    assert!(c.differences.is_empty(), "{:?}", c.differences);
    assert!(c.derivatives.is_empty(), "{:?}", c.derivatives);
    let mapping = c.mapping(&a, &b);
    assert!(mapping
        .iter()
        .any(|(_, x, y)| x == "lin_l.weight" && y == "fc_a.weight"));
    assert!(mapping.iter().any(|(_, x, y)| x == "att" && y == "scorer"));
}

#[test]
fn pyg_and_dgl_gatv2_differ_in_four_parts() {
    let (a, b) = (program("gatv2.gat"), program("dgl/gatv2.gat"));
    let c = compare(&a, &b);
    assert!(!c.equivalent);
    assert_eq!(
        roles(&c),
        [
            "output bias",
            "self-loop policy",
            "output layout",
            "initialisation"
        ]
    );
    let mapping = c.mapping(&a, &b);
    for (x, y) in [
        ("lin_l.weight", "fc_src.weight"),
        ("lin_l.bias", "fc_src.bias"),
        ("lin_r.weight", "fc_dst.weight"),
        ("lin_r.bias", "fc_dst.bias"),
        ("att", "attn"),
        ("x", "x"),
    ] {
        assert!(
            mapping.iter().any(|(_, p, q)| p == x && q == y),
            "{x} ↔ {y} in {mapping:?}"
        );
    }
    let only: Vec<&str> = c
        .only_a
        .iter()
        .map(|(_, t)| a.tensor(*t).external.as_str())
        .collect();
    assert_eq!(only, ["bias"]);
    assert!(c.only_b.is_empty());
    // The output bias's gradient exists on one side only; every other gradient is the same.
    let derivatives: Vec<&str> = c.derivatives.iter().map(|d| d.role.as_str()).collect();
    assert_eq!(derivatives, ["∂bias (output bias, first file only)"]);
}

#[test]
fn shared_weights_change_the_target_transform_and_the_score() {
    let c = compare(&program("gatv2.gat"), &program("gatv2_shared.gat"));
    assert_eq!(roles(&c), ["target transform", "score"]);
}

#[test]
fn a_residual_is_found_where_it_is() {
    let c = compare(
        &program("dgl/gatv2.gat"),
        &program("dgl/gatv2_residual.gat"),
    );
    assert_eq!(roles(&c), ["residual"]);
    assert_eq!(c.only_b.len(), 2, "res_fc.weight and res_fc.bias");
    // The residual reads the input: its gradient differs, the others do not.
    let derivatives: Vec<&str> = c.derivatives.iter().map(|d| d.role.as_str()).collect();
    assert_eq!(
        derivatives,
        [
            "∂x ↔ ∂x",
            "∂res_fc.weight (residual, second file only)",
            "∂res_fc.bias (residual, second file only)"
        ]
    );
}

#[test]
fn gat_and_gatv2_differ_in_their_score() {
    let c = compare(&program("gat.gat"), &program("gatv2.gat"));
    assert!(!c.equivalent);
    assert!(roles(&c).contains(&"score"), "{:?}", roles(&c));
    assert!(!roles(&c).contains(&"self-loop policy"));
}

#[test]
fn a_file_is_equivalent_to_itself() {
    for (file, text) in crate::zoo_sources() {
        let p = program_of(&text);
        let c = compare(&p, &p);
        assert!(c.equivalent, "{file}");
        assert!(c.differences.is_empty(), "{file}: {:?}", c.differences);
    }
}

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

/// `models/gatv2.gat` with each `(from, to)` replaced (each `from` must occur).
fn gatv2_edited(edits: &[(&str, &str)]) -> String {
    let mut text = crate::read_gathered(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/gatv2.gat"),
    );
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} is not in models/gatv2.gat");
        text = text.replace(from, to);
    }
    text
}

/// Compares `models/gatv2.gat` with an edited copy.
fn against_gatv2(edits: &[(&str, &str)]) -> (Program, Program, Comparison) {
    let a = program("gatv2.gat");
    let b = program_of(&gatv2_edited(edits));
    let c = compare(&a, &b);
    (a, b, c)
}

/// The same function: equivalent, nothing listed, every parameter paired with its own copy.
fn assert_same(a: &Program, b: &Program, c: &Comparison) {
    assert!(c.equivalent, "{:?}", c.differences);
    assert!(c.differences.is_empty(), "{:?}", c.differences);
    assert!(c.derivatives.is_empty(), "{:?}", c.derivatives);
    let mapping = c.mapping(a, b);
    assert_eq!(mapping.len(), 7, "{mapping:?}");
    for (role, x, y) in &mapping {
        assert_eq!(x, y, "{role}");
    }
}

const Z: &str = "z[i <- j, h, c]  = xl[j, h, c] + xr[i, h, c];";
const XL: &str = "xl[n, h, c] = sum_f W_l[h, c, f] * x[n, f] + b_l[h, c];";
const XR: &str = "xr[n, h, c] = sum_f W_r[h, c, f] * x[n, f] + b_r[h, c];";

#[test]
fn swapped_summands_are_the_same_function() {
    let (a, b, c) = against_gatv2(&[
        (Z, "z[i <- j, h, c] = xr[i, h, c] + xl[j, h, c];"),
        (
            XL,
            "xl[n, h, c] = b_l[h, c] + sum_f W_l[h, c, f] * x[n, f];",
        ),
        (
            "out[i, h, c] = sum_{j -> i} alpha[i <- j, h] * xl[j, h, c] + bias[h, c];",
            "out[i, h, c] = bias[h, c] + sum_{j -> i} alpha[i <- j, h] * xl[j, h, c];",
        ),
    ]);
    assert_same(&a, &b, &c);
}

#[test]
fn swapped_factors_are_the_same_function() {
    let (a, b, c) = against_gatv2(&[
        (
            "att[h, c] * leaky_relu(z[i <- j, h, c], slope)",
            "leaky_relu(z[i <- j, h, c], slope) * att[h, c]",
        ),
        (
            "alpha[i <- j, h] * xl[j, h, c]",
            "xl[j, h, c] * alpha[i <- j, h]",
        ),
        ("W_l[h, c, f] * x[n, f]", "x[n, f] * W_l[h, c, f]"),
    ]);
    assert_same(&a, &b, &c);
}

#[test]
fn declarations_and_independent_equations_in_another_order_are_the_same_function() {
    let params = "    param W_l[h: H, c: C, f: F] as \"lin_l.weight\" [H*C, F];\n    param b_l[h: H, c: C]       as \"lin_l.bias\"   [H*C];\n";
    let (a, b, c) = against_gatv2(&[
        // The source transform's parameters declared last, `xr` defined before `xl`.
        (params, ""),
        (
            "    param bias[h: H, c: C]      as \"bias\"         [H*C];\n",
            &format!("    param bias[h: H, c: C]      as \"bias\"         [H*C];\n{params}"),
        ),
        (&format!("{XL}\n    {XR}"), &format!("{XR}\n    {XL}")),
    ]);
    assert_same(&a, &b, &c);
}

#[test]
fn a_canonical_order_does_not_make_different_functions_equal() {
    // Source and target exchanged: another function.
    let (_, _, c) = against_gatv2(&[(Z, "z[i <- j, h, c] = xl[i, h, c] + xr[j, h, c];")]);
    assert!(!c.equivalent);
    assert!(roles(&c).contains(&"score"), "{:?}", roles(&c));
    // A difference keeps its sign: `xl - xr` is `-xr + xl`, and not `xr - xl`.
    let minus = |z: &str| program_of(&gatv2_edited(&[(Z, z)]));
    let d = minus("z[i <- j, h, c] = xl[j, h, c] - xr[i, h, c];");
    let same = minus("z[i <- j, h, c] = -xr[i, h, c] + xl[j, h, c];");
    let other = minus("z[i <- j, h, c] = xr[i, h, c] - xl[j, h, c];");
    assert!(compare(&d, &same).equivalent);
    assert!(!compare(&d, &other).equivalent);
    // A quotient keeps its order.
    let div = |s: &str| {
        program_of(&gatv2_edited(&[(
            "att[h, c] * leaky_relu(z[i <- j, h, c], slope)",
            s,
        )]))
    };
    let (p, q) = (
        div("att[h, c] / (1 + leaky_relu(z[i <- j, h, c], slope) ^ 2)"),
        div("(1 + leaky_relu(z[i <- j, h, c], slope) ^ 2) / att[h, c]"),
    );
    assert!(!compare(&p, &q).equivalent);
}

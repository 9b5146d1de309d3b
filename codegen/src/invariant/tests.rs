//! The stored sub-expressions of small layers, read from their printed forward equations.

use crate::print::{Printer, Style};

/// The forward equations of a layer with these declarations and equations, one per line.
fn forward(decls: &str, eqs: &str) -> String {
    let src = format!("layer t() {{ dims F, H, C; {decls} {eqs} }}");
    let (p, _) = crate::compile_source("t.gat", &src).unwrap_or_else(|f| panic!("{}", f.rendered));
    Printer::new(&p, Style::Text).forward()
}

const DECLS: &str = "input x[n: node, f: F]; input r[n: node]; \
                     input q[n: node, h: H, c: C]; param W[h: H, c: C, f: F]; \
                     param V[c: C, f: F]; param u[h: H, f: F]; param w[h: H, c: C]; param b[c: C];";

#[test]
fn an_inline_gate_is_stored_per_edge_and_head() {
    let f = forward(
        DECLS,
        "xl[n, h, c] = sum_f W[h, c, f] * x[n, f];
         out[i, h, c] = sum_{j -> i} sigmoid(sum_d w[h, d] * (xl[j, h, d] + xl[i, h, d])) * xl[j, h, c];
         output out;",
    );
    assert_eq!(
        f.lines().skip(1).collect::<Vec<_>>(),
        [
            "out_sigmoid[i ← j, h] = sigmoid(Σ_d w[h, d] · (xl[j, h, d] + xl[i, h, d]))",
            "out[i, h, c] = Σ_{j → i} out_sigmoid[i ← j, h] · xl[j, h, c]",
        ]
    );
}

#[test]
fn node_and_dense_shapes() {
    let f = forward(
        DECLS,
        "out[n, c] = sum_f V[c, f] * x[n, f] * exp(b[c]) / sqrt(sum_g x[n, g] * x[n, g]);
         output out;",
    );
    assert!(f.contains("out_exp[c] = exp(b[c])\n"), "{f}");
    assert!(
        f.contains("out_sqrt[n] = sqrt(Σ_g x[n, g] · x[n, g])\n"),
        "{f}"
    );
    assert!(f.ends_with("out_exp[c] / out_sqrt[n]\n"), "{f}");
}

#[test]
fn one_expression_in_several_equations_is_stored_once() {
    let f = forward(
        DECLS,
        "y[n, f] = x[n, f] * tanh(sum_g x[n, g]);
         out[m, f] = y[m, f] + tanh(sum_k x[m, k]);
         output out;",
    );
    assert_eq!(f.matches("= tanh(").count(), 1, "{f}");
    assert!(f.ends_with("out[m, f] = y[m, f] + y_tanh[m]\n"), "{f}");
}

#[test]
fn a_call_whose_derivative_reads_its_argument_has_its_argument_stored() {
    let f = forward(
        DECLS,
        "out[i, h, c] = sum_{j -> i} log(sum_f u[h, f] * x[j, f]) * q[j, h, c];
         output out;",
    );
    assert!(f.starts_with("out_log_sum[i ← j, h] = Σ_f u[h, f] · x[j, f]\nout_log[i ← j, h] = log(out_log_sum[i ← j, h])\n"), "{f}");
}

#[test]
fn what_is_not_stored() {
    // A comparison alone, constants, and what depends on every index in scope stay as written.
    let kept = [
        "out[n, f] = x[n, f] / clamp_min(r[n], 0.5);",
        "out[n, f] = x[n, f] / sqrt(F);",
        "out[n, f] = exp(x[n, f]) * x[n, f];",
        "out[n, c] = sum_f V[c, f] * exp(V[c, f] * x[n, f]);",
        "out[n, h] = sum_{j -> n} exp(sum_f u[h, f] * x[j, f]);",
    ];
    for eq in kept {
        let f = forward(DECLS, &format!("{eq} output out;"));
        assert_eq!(f.lines().count(), 1, "{eq}: {f}");
    }
}

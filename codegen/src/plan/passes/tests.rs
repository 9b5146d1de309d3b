//! Each pass on small plans: the plan before and after it, as outlines (see `Plan::outline`).

use super::super::Plan;

/// A minimal GATv2 layer: two transforms, scores over `z`, softmax, dropout, aggregation.
const GATV2: &str = "layer g(slope = 0.2, dropout = 0.5) {
    dims F, H, C;
    input x[n: node, f: F];
    param W_l[h: H, c: C, f: F]; param W_r[h: H, c: C, f: F];
    param att[h: H, c: C];
    xl[n, h, c] = sum_f W_l[h, c, f] * x[n, f];
    xr[n, h, c] = sum_f W_r[h, c, f] * x[n, f];
    z[i <- j, h, c] = xl[j, h, c] + xr[i, h, c];
    s[i <- j, h] = sum_c att[h, c] * leaky_relu(z[i <- j, h, c], slope);
    a[i <- j, h] = softmax_j s[i <- j, h];
    alpha[i <- j, h] = dropout(a[i <- j, h], dropout);
    out[i, h, c] = sum_{j -> i} alpha[i <- j, h] * xl[j, h, c];
    output out;
}";

fn plan(src: &str, after: &str) -> Plan {
    let (program, _) =
        crate::compile_source("test.gat", src).unwrap_or_else(|f| panic!("{}", f.rendered));
    Plan::build_until(&program, Some(after)).unwrap()
}

fn outline(src: &str, after: &str) -> String {
    plan(src, after).outline()
}

/// The outline after `pass` and after the pass before it.
fn before_after(src: &str, pass: &str) -> (String, String) {
    let k = super::PASSES.iter().position(|p| p.name == pass).unwrap();
    (outline(src, super::PASSES[k - 1].name), outline(src, pass))
}

fn layer(dims: &str, decls: &str, eqs: &str) -> String {
    format!("layer t(slope = 0.2) {{ dims {dims}; {decls} {eqs} }}")
}

#[test]
fn schedule_inlines_edge_tensors_with_two_dense_axes_and_hoists_softmax_statistics() {
    let p = plan(GATV2, "schedule");
    let names: Vec<&str> = p
        .inlined
        .iter()
        .map(|t| p.program.tensor(*t).name.as_str())
        .collect();
    assert_eq!(names, ["z", "∂z"]);
    // `z` is gone from the forward; the softmax adjoint's Σ_k α·dα became its own equation.
    assert_eq!(
        p.outline(),
        "forward: ? | ? | ? | ? | ? | ?\nbackward: ? | ? | ? | ? | ? | ? | ? | ? | ? | ?\n"
    );
    assert!(p
        .program
        .tensor(p.backward_eqs[2].lhs)
        .name
        .starts_with("hoisted"));
}

/// A neighbourhood sum plus a residual product `Σ_f W[h, f] · x[i, f]` written inline, or split.
fn residual(inline: bool) -> String {
    let (res, term) = if inline {
        ("", "sum_f W[h, f] * x[i, f]")
    } else {
        ("r[n, h] = sum_f W[h, f] * x[n, f];", "r[i, h]")
    };
    layer(
        "F, H",
        "input x[n: node, f: F]; param V[h: H, f: F]; param W[h: H, f: F];",
        &format!(
            "y[n, h] = sum_f V[h, f] * x[n, f]; {res} out[i, h] = sum_{{j -> i}} y[j, h] + {term}; output out;"
        ),
    )
}

#[test]
fn copies_are_read_through() {
    // `∂r[n, h] = ∂out[n, h]` is dropped; the GEMMs of `∂x` and `∂W` read `∂out`.
    let (before, after) = before_after(&residual(false), "copies");
    assert_eq!(
        before.lines().nth(1).unwrap(),
        "backward: ? | ? | ? | ? | ?"
    );
    assert_eq!(after.lines().nth(1).unwrap(), "backward: ? | ? | ? | ?");
    let p = plan(&residual(false), "copies");
    let names: Vec<&str> = p
        .inlined
        .iter()
        .map(|t| p.program.tensor(*t).name.as_str())
        .collect();
    assert_eq!(names, ["∂r"]);
}

#[test]
fn lift_makes_inline_contractions_gemms() {
    let (before, after) = before_after(&residual(true), "lift");
    assert_eq!(before.lines().next().unwrap(), "forward: ? | ?");
    assert_eq!(after.lines().next().unwrap(), "forward: ? | ? | ?");
    let p = plan(&residual(true), "lift");
    assert_eq!(
        p.program.tensor(p.forward_eqs[0].lhs).name,
        format!("lifted{}", p.program.tensors.len() - 1),
        "x is an input, so the lifted product comes first"
    );
    // Both spellings end with the same plan.
    let inline = outline(&residual(true), "prefetch");
    assert_eq!(inline, outline(&residual(false), "prefetch"));
    assert!(
        inline.starts_with("forward: gemm | gemm | rows+gather"),
        "{inline}"
    );
    // A contraction with a node tensor read elsewhere than at the row's node is not lifted.
    let src = layer(
        "F, H",
        "input x[n: node, f: F]; param W[h: H, f: F];",
        "out[i, h] = sum_{j -> i} sum_f W[h, f] * x[j, f] + sum_f W[h, f] * x[i, f] * x[i, f]; output out;",
    );
    assert_eq!(outline(&src, "lift").lines().next().unwrap(), "forward: ?");
}

#[test]
fn gemm_takes_transforms_and_weight_gradients_only() {
    let (before, after) = before_after(GATV2, "gemm");
    assert_eq!(
        before,
        "forward: ? | ? | ? | ? | ? | ?\nbackward: ? | ? | ? | ? | ? | ? | ? | ? | ? | ?\n"
    );
    assert_eq!(after, "forward: gemm | gemm | ? | ? | ? | ?\nbackward: ? | ? | ? | ? | ? | ? | gemm | gemmT | gemmT | ?\n");
    // A contraction whose summand is not one product of a node read and a dense read is not a GEMM.
    let src = layer(
        "F, H",
        "input x[n: node, f: F]; param W[h: H, f: F];",
        "y[n, h] = sum_f W[h, f] * x[n, f] * x[n, f]; output y;",
    );
    assert_eq!(outline(&src, "gemm").lines().next().unwrap(), "forward: ?");
}

#[test]
fn entrywise_rows_and_compact_tensors() {
    let src = layer(
        "F",
        "input x[n: node, f: F];",
        "y[n, f] = relu(x[n, f]); output y;",
    );
    let (before, after) = before_after(&src, "entrywise");
    assert_eq!(before.lines().next().unwrap(), "forward: ?");
    assert_eq!(after.lines().next().unwrap(), "forward: entries");
    let p = plan(&src, "entrywise");
    let compact: Vec<&str> = p
        .compact
        .iter()
        .map(|t| p.program.tensor(*t).name.as_str())
        .collect();
    assert!(
        compact.contains(&"x") && compact.contains(&"y"),
        "{compact:?}"
    );
}

#[test]
fn loops_normalise_stored_scores_or_compute_them_first() {
    let (before, after) = before_after(GATV2, "loops");
    assert_eq!(
        before.lines().next().unwrap(),
        "forward: gemm | gemm | ? | ? | ? | ?"
    );
    assert_eq!(after, "forward: gemm | gemm | edges | softmax(stored) | edges | rows+gather\nbackward: edges | edges | rows+gather | edges | rows+gather | rows+gather | gemm | gemmT | gemmT | sum\n");
    let src = layer(
        "F, H",
        "input x[n: node, f: F]; param att[h: H, f: F];",
        "a[i <- j, h] = softmax_j sum_f att[h, f] * x[j, f]; out[i, h] = sum_{j -> i} a[i <- j, h]; output out;",
    );
    assert_eq!(
        outline(&src, "loops").lines().next().unwrap(),
        "forward: softmax | rows+gather"
    );
}

#[test]
fn deferred_elu_under_a_dropout_mask() {
    let src = layer(
        "F",
        "input x[n: node, f: F];",
        "y[n, f] = dropout(elu(x[n, f], 1.0), 0.5); output y;",
    );
    let (before, after) = before_after(&src, "deferred");
    assert_eq!(before.lines().next().unwrap(), "forward: entries");
    assert_eq!(after.lines().next().unwrap(), "forward: entries+deferred");
    let p = plan(&src, "deferred");
    let crate::plan::Strategy::Entrywise { deferred: Some(d) } = &p.forward[0].steps[0].strategy
    else {
        panic!("not deferred");
    };
    assert!(
        d.mask.is_some(),
        "the dropout mask decides which entries need the exact elu"
    );
    // Without elu there is nothing to defer.
    let src = layer(
        "F",
        "input x[n: node, f: F];",
        "y[n, f] = dropout(relu(x[n, f]), 0.5); output y;",
    );
    assert_eq!(
        outline(&src, "deferred").lines().next().unwrap(),
        "forward: entries"
    );
}

#[test]
fn params_skips_the_input_gradient() {
    let (before, after) = before_after(GATV2, "params");
    assert!(!before.contains('!'));
    assert_eq!(after.lines().nth(1).unwrap(), "backward: edges | edges | rows+gather | edges | rows+gather | rows+gather | gemm! | gemmT | gemmT | sum");
}

#[test]
fn fuse_merges_target_local_runs_without_reordering() {
    let (before, after) = before_after(GATV2, "fuse");
    assert_eq!(before, "forward: gemm | gemm | edges | softmax(stored) | edges | rows+gather\nbackward: edges | edges | rows+gather | edges | rows+gather | rows+gather | gemm! | gemmT | gemmT | sum\n");
    // `d xl` sums over out-edges: not target-local, so it stays its own kernel.
    assert_eq!(after, "forward: gemm | gemm | fused@g0[edges softmax edges rows+gather]\nbackward: fused@g0[edges edges rows+gather edges rows+gather] | rows+gather | gemm! | gemmT | gemmT | sum\n");
}

#[test]
fn block_sums_need_contiguous_blocks_stored_before_the_kernel() {
    let (before, after) = before_after(GATV2, "block_sums");
    assert!(before.starts_with("forward: gemm | gemm | fused@g0[edges softmax"));
    assert!(after.starts_with("forward: gemm | gemm | fused@g0[edges+blocks softmax"));
    // `u` is written by the same kernel and read along `h` only: no block sums for `s`.
    let src = layer(
        "F, H, C",
        "input x[n: node, f: F]; param W[h: H, c: C, f: F]; param att[h: H, c: C];",
        "xl[n, h, c] = sum_f W[h, c, f] * x[n, f];
         u[i <- j, h] = sum_c att[h, c] * xl[j, h, c];
         s[i <- j, h] = sum_c u[i <- j, h] * xl[i, h, c];
         a[i <- j, h] = softmax_j s[i <- j, h];
         out[i, h, c] = sum_{j -> i} a[i <- j, h] * xl[j, h, c]; output out;",
    );
    assert_eq!(
        outline(&src, "block_sums").lines().next().unwrap(),
        "forward: gemm | fused@g0[edges+blocks edges softmax rows+gather]"
    );
}

#[test]
fn head_walk_for_a_mean_over_heads() {
    let src = GATV2.replace(
        "out[i, h, c] = sum_{j -> i} alpha[i <- j, h] * xl[j, h, c];",
        "out[i, c] = mean_h sum_{j -> i} alpha[i <- j, h] * xl[j, h, c];",
    );
    let (before, after) = before_after(&src, "head_walk");
    assert_eq!(
        before.lines().next().unwrap(),
        "forward: gemm | gemm | fused@g0[edges+blocks softmax edges rows]"
    );
    assert_eq!(
        after.lines().next().unwrap(),
        "forward: gemm | gemm | fused@g0[edges+blocks softmax edges rows+heads]"
    );
}

#[test]
fn prefetch_far_rows_of_fused_kernels_out_edge_sums_and_edge_sums() {
    let (before, after) = before_after(GATV2, "prefetch");
    assert!(!before.contains('^'));
    assert_eq!(after, "forward: gemm | gemm | fused@g0[edges+blocks softmax edges rows+gather]^\nbackward: fused@g0[edges+blocks edges rows+gather edges rows+gather sum@target]^ | rows+gather^ | gemm! | gemmT | gemmT\n");
    let p = plan(GATV2, "prefetch");
    let names = |ts: &[crate::ir::TensorId]| {
        ts.iter()
            .map(|t| p.program.tensor(*t).name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&p.forward[2].prefetch_next_target), ["xl"]);
    let crate::plan::Strategy::NodeRows { gathers, .. } = &p.backward[1].steps[0].strategy else {
        panic!("d xl is node rows");
    };
    assert_eq!(names(&gathers[0].prefetch), ["xr", "∂out"]);
    // Edge tensors are stored in target order: a walk over out-edges reaches their rows at
    // random, so they are prefetched too; a walk over in-edges reads them in order.
    let alpha_ds: Vec<String> = ["alpha", "∂s"].map(String::from).into();
    let mut got = names(&gathers[0].prefetch_edges);
    got.sort();
    assert_eq!(got, alpha_ds);
    let before = plan(GATV2, "head_walk");
    let crate::plan::Strategy::NodeRows { gathers, .. } = &before.backward[1].steps[0].strategy
    else {
        panic!("d xl is node rows");
    };
    assert!(gathers[0].prefetch_edges.is_empty());
}

#[test]
fn after_an_unknown_pass_names_the_passes() {
    let (program, _) = crate::compile_source("test.gat", GATV2).unwrap();
    let err = Plan::build_until(&program, Some("nope")).unwrap_err();
    assert!(
        err.starts_with("no pass `nope`; the passes are, in order: schedule, copies, lift, gemm,"),
        "{err}"
    );
}

#[test]
fn every_zoo_plan_leaves_nothing_undecided() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../models");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "gat") {
            let text = crate::read_gathered(&path);
            let (program, _) = crate::compile_source("zoo", &text).unwrap();
            let outline = Plan::build(&program).outline();
            assert!(!outline.contains('?'), "{}: {outline}", path.display());
        }
    }
}

#[test]
fn fold_sums_moves_an_edge_sum_into_the_fused_pass_that_computes_what_it_reads() {
    let (before, after) = before_after(GATV2, "fold_sums");
    assert_eq!(before.lines().nth(1).unwrap(), "backward: fused@g0[edges edges rows+gather edges rows+gather] | rows+gather | gemm! | gemmT | gemmT | sum");
    assert_eq!(after.lines().nth(1).unwrap(), "backward: fused@g0[edges edges rows+gather edges rows+gather sum@target] | rows+gather | gemm! | gemmT | gemmT");
    // `∂att` moved to just after the fused kernel's equations; the kernels after it kept theirs.
    let p = plan(GATV2, "fold_sums");
    let names: Vec<&str> = p
        .backward_eqs
        .iter()
        .map(|eq| p.program.tensor(eq.lhs).name.as_str())
        .collect();
    assert_eq!(names[5], "∂att");
    assert_eq!(p.backward[0].eqs, 0..6);
    assert_eq!(p.backward[1].eqs, 6..7);
    for k in &p.backward {
        for (step, e) in k.steps.iter().zip(k.eqs.clone()) {
            assert_eq!(step.eq, e);
        }
    }
}

#[test]
fn fold_sums_leaves_a_sum_over_nodes() {
    // `∂b[h, c] = Σ_n ∂xl[n, h, c]` sums node rows, not edges: it keeps its own kernel.
    let src = GATV2
        .replace(
            "param att[h: H, c: C];",
            "param att[h: H, c: C]; param b[h: H, c: C];",
        )
        .replace("* x[n, f];\n    xr", "* x[n, f] + b[h, c];\n    xr");
    let after = outline(&src, "fold_sums");
    let backward = after.lines().nth(1).unwrap();
    assert!(backward.split(" | ").any(|k| k == "sum"), "{after}");
    assert!(after.contains("sum@target"), "{after}");
}

#[test]
fn scratch_keeps_edge_tensors_that_only_their_fused_kernel_reads() {
    let p = plan(GATV2, "scratch");
    let names: Vec<&str> = p
        .scratch
        .iter()
        .map(|t| p.program.tensor(*t).name.as_str())
        .collect();
    // `a` and `∂a` (attention and its adjoint) are read by diagnostics, `alpha` and `∂s` by later
    // kernels: they stay stored.
    assert_eq!(names, ["s", "∂alpha"]);
    assert!(plan(GATV2, "prefetch").scratch.is_empty());
}

//! Rust emission: a differentiated [`Program`] becomes two functions, `forward` and `backward`, over
//! a table of tensors (`v[tensor id]`), specialised to the layer:
//!
//! - dense contractions of a node tensor with a parameter (`Σ_f W[h, c, f] x[n, f]`) and their
//!   adjoints (`Σ_n d xl[n, h, c] x[n, f]`, `Σ_{h,c} d xl[n, h, c] W[h, c, f]`) become GEMM calls;
//! - node and edge equations become loops parallel over rows (rayon), gathers over in-edges (CSR by
//!   target) or out-edges (CSR by source): no atomics, the same bits for any thread count;
//! - edge tensors with two or more dense axes are inlined, never stored (see [`schedule`]);
//! - sums over all nodes or edges into a parameter gradient are chunked, deterministic reductions.
//! - consecutive equations local to the targets of one graph (scores, softmax, aggregation) become
//!   one parallel pass over targets (see `fuse.rs`).
//!
//! Each block starts with a comment holding the equation it implements.

mod access;
mod blocks;
mod deferred;
mod entrywise;
mod expr;
mod fuse;
mod gemm;
mod heads;
pub mod helpers;
mod loops;
mod prefetch;

use crate::ir::*;
use crate::plan::walk::{collect_accesses, End};
use crate::plan::{Gather, Phase, Plan, Strategy};
use crate::print::{Printer, Style};
use helpers::Helper;
use std::fmt::Write;

/// Generated source and what it needs.
pub struct Generated {
    /// Rust items (functions and constants), to be placed inside an `impl` block or a module.
    pub items: String,
    /// Number of tensor slots the functions index (the program's tensors plus hoisted ones).
    pub num_tensors: usize,
}

/// Emits `forward` and `backward` for a differentiated program. `krate` is the path of the gatgrad
/// facade as seen from the generated code (`::gatgrad`, or `crate` inside gatgrad itself).
pub fn generate(p: &Program, krate: &str) -> Result<Generated, String> {
    print(&Plan::build(p), krate)
}

/// Spells out a plan as Rust source. An error is a gatgrad bug: a step no pass decided.
pub fn print(plan: &Plan, krate: &str) -> Result<Generated, String> {
    for phase in [Phase::Forward, Phase::Backward] {
        let eqs = plan.equations(phase);
        for step in plan.kernels(phase).iter().flat_map(|k| &k.steps) {
            if step.strategy == Strategy::Generic {
                return Err(format!(
                    "internal: no pass decided how to evaluate `{}`",
                    Printer::new(&plan.program, Style::Text).equation(&eqs[step.eq])
                ));
            }
        }
    }
    let g = Gen {
        p: &plan.program,
        pr: Printer::new(&plan.program, Style::Text),
        krate,
        compactable: &plan.compact,
        bound: Default::default(),
        slices: Default::default(),
        counter: Default::default(),
        out_slice: Default::default(),
        fused: Default::default(),
        row_binds: Default::default(),
    };
    let mut items = String::new();
    let _ = writeln!(
        items,
        "/// Number of tensor slots `forward` and `backward` index."
    );
    let _ = writeln!(
        items,
        "pub const NUM_TENSORS: usize = {};",
        plan.program.tensors.len()
    );
    let (float, bound) = (Helper::Float.path(krate), Helper::Bound.path(krate));
    let header = |name: &str| {
        format!(
            "#[allow(unused_variables, unused_mut, unused_parens, clippy::all)]\npub fn {name}<T: {float}>(b: &{bound}, v: &mut [Vec<T>])"
        )
    };
    let timed = Helper::Timed.path(krate);
    let mut params_calls = String::new();
    for (phase, name, doc) in [
        (
            Phase::Forward,
            "forward",
            "Evaluates the forward equations in order.",
        ),
        (
            Phase::Backward,
            "backward",
            "Evaluates the derivative equations (after `forward`, with the seed set).",
        ),
    ] {
        let eqs = plan.equations(phase);
        let mut calls = String::new();
        for kernel in plan.kernels(phase) {
            let fname = Plan::kernel_name(phase, kernel);
            match kernel.fused {
                Some(graph) => items.push_str(&g.fused(&fname, kernel, eqs, graph)),
                None => {
                    let step = &kernel.steps[0];
                    let eq = &eqs[step.eq];
                    let _ = writeln!(items, "#[doc = \" `{}`\"]", g.text(eq));
                    let _ = writeln!(items, "{} {{", header(&fname));
                    items.push_str(&g.prelude(std::slice::from_ref(eq)));
                    items.push_str(&g.equation(eq, &step.strategy));
                    items.push_str("}\n");
                }
            }
            let call = format!("{timed}(\"{fname}\", || {fname}(b, v));\n");
            calls.push_str(&call);
            if phase == Phase::Backward && kernel.for_params {
                params_calls.push_str(&call);
            }
        }
        let _ = writeln!(items, "/// {doc}");
        let _ = writeln!(items, "{} {{\n{calls}}}", header(name));
    }
    let _ = writeln!(
        items,
        "/// The derivative equations parameter gradients need (no input gradients)."
    );
    let _ = writeln!(items, "{} {{\n{params_calls}}}", header("backward_params"));
    Ok(Generated {
        items,
        num_tensors: plan.program.tensors.len(),
    })
}

struct Gen<'a> {
    p: &'a Program,
    pr: Printer<'a>,
    krate: &'a str,
    /// Variables bound by the loops around the code being emitted.
    bound: std::cell::RefCell<Vec<VarId>>,
    /// Reads served from a row slice bound before the innermost loop: access → `r7[i5]`.
    slices: std::cell::RefCell<std::collections::HashMap<ExprId, String>>,
    counter: std::cell::Cell<usize>,
    /// The innermost loop variable along which the output slice `orow` is bound.
    out_slice: std::cell::Cell<Option<VarId>>,
    /// Tensors that may be stored in the compact layout of a zero pattern (the plan's decision).
    compactable: &'a std::collections::BTreeSet<TensorId>,
    /// Outputs of the fused loop being emitted: read through the rows the visited target owns
    /// (`o7.row(e)`), see [`fuse`].
    fused: std::cell::RefCell<std::collections::HashSet<TensorId>>,
    /// Rows of fused outputs bound once where their position is bound: (tensor, at) → `q12_i21`.
    row_binds: std::cell::RefCell<std::collections::HashMap<(TensorId, At), String>>,
}

fn var(v: VarId) -> String {
    format!("i{}", v.0)
}

impl Gen<'_> {
    /// The path of a `__private` item, as this code spells it.
    fn helper(&self, h: Helper) -> String {
        h.path(self.krate)
    }

    /// Local bindings every function starts with: sizes, graphs, constants.
    fn prelude(&self, eqs: &[Equation]) -> String {
        let p = self.p;
        let mut s = String::new();
        let tensor_id = self.helper(Helper::TensorId);
        for k in 0..p.dims.len() {
            let _ = writeln!(s, "let d{k}: usize = b.dims[{k}];");
        }
        let _ = writeln!(s, "let nn: usize = b.raw.num_nodes();");
        for k in 0..p.graphs.len() {
            let _ = writeln!(
                s,
                "let g{k} = &b.graphs[{k}]; let src{k} = g{k}.sources(); let dst{k} = g{k}.targets();"
            );
        }
        for k in 0..p.scalars.len() {
            let _ = writeln!(s, "let c{k}: T = T::of(b.consts[{k}]);");
        }
        let mut labels = std::collections::BTreeSet::new();
        for eq in eqs {
            if let Rhs::Expr(e) | Rhs::Softmax(e) = eq.rhs {
                collect_labels(p, e, &mut labels);
            }
        }
        for t in labels {
            let _ = writeln!(s, "let lab{t} = &b.labels[&{tensor_id}({t})];");
        }
        let mut masks = std::collections::BTreeSet::new();
        for eq in eqs {
            if let Rhs::Expr(e) | Rhs::Softmax(e) = eq.rhs {
                collect_mask_counts(p, e, &mut masks);
            }
        }
        for t in masks {
            let _ = writeln!(
                s,
                "let mc{t}: T = T::of(b.mask_count({tensor_id}({t})) as f64);"
            );
        }
        s
    }

    fn len_expr(&self, t: TensorId) -> String {
        let tensor = self.p.tensor(t);
        let mut parts = Vec::new();
        match tensor.domain {
            Domain::Dense => {}
            Domain::Node => parts.push("nn".to_string()),
            Domain::Edge(g) => parts.push(format!("g{}.num_edges()", g.0)),
        }
        parts.extend(tensor.dims.iter().map(|d| format!("d{}", d.0)));
        if parts.is_empty() {
            "1".into()
        } else {
            parts.join(" * ")
        }
    }

    fn width_expr(&self, t: TensorId) -> String {
        let dims = &self.p.tensor(t).dims;
        if dims.is_empty() {
            "1".into()
        } else {
            dims.iter()
                .map(|d| format!("d{}", d.0))
                .collect::<Vec<_>>()
                .join(" * ")
        }
    }

    fn reads(&self, eq: &Equation) -> Vec<TensorId> {
        crate::plan::walk::reads(self.p, eq)
    }

    fn equation(&self, eq: &Equation, strategy: &Strategy) -> String {
        let lhs = eq.lhs.0;
        let stored_len = self.helper(Helper::StoredLen);
        let tensor_id = self.helper(Helper::TensorId);
        let mut s = String::new();
        let _ = writeln!(s, "{{");
        let _ = writeln!(s, "let mut out = ::std::mem::take(&mut v[{lhs}]);");
        // Every equation writes all of its output (a sparse one only its pattern, stored
        // compactly), so a buffer of the right size is reused without clearing.
        let mut len = self.len_expr(eq.lhs);
        if matches!(strategy, Strategy::Entrywise { .. }) {
            len = format!("{stored_len}(b, {tensor_id}({lhs}), {len})");
        }
        let _ = writeln!(
            s,
            "let len = {len}; if out.len() != len {{ out.clear(); out.resize(len, T::ZERO); }}"
        );
        let _ = writeln!(s, "{{");
        for t in self.reads(eq) {
            let _ = writeln!(s, "let t{0} = &v[{0}][..];", t.0);
        }
        // GEMMs and element-wise equations read either layout of a pattern tensor; the others
        // read dense views.
        let raw = matches!(
            strategy,
            Strategy::Entrywise { .. } | Strategy::Gemm { .. } | Strategy::GemmTransposed { .. }
        );
        if !raw {
            s.push_str(&self.dense_views(eq));
        }
        s.push_str(&self.body(eq, strategy));
        let _ = writeln!(s, "}}");
        let _ = writeln!(s, "v[{lhs}] = out;");
        let _ = writeln!(s, "}}");
        s
    }

    /// Shadows the compactable tensors an equation reads by their dense layout.
    fn dense_views(&self, eq: &Equation) -> String {
        self.dense_views_of(&self.reads(eq))
    }

    /// Shadows the compactable tensors among `reads` by their dense layout.
    fn dense_views_of(&self, reads: &[TensorId]) -> String {
        let dense_view = self.helper(Helper::DenseView);
        let tensor_id = self.helper(Helper::TensorId);
        let mut s = String::new();
        for &t in reads {
            if self.compactable.contains(&t) {
                let _ = writeln!(
                    s,
                    "let t{0}_dense = {dense_view}(b, {tensor_id}({0}), t{0}); let t{0} = &t{0}_dense[..];",
                    t.0
                );
            }
        }
        s
    }

    fn body(&self, eq: &Equation, strategy: &Strategy) -> String {
        let p = self.p;
        let par_copy = self.helper(Helper::ParCopy);
        let loop_fill = self.helper(Helper::LoopFill);
        let cross_entropy = self.helper(Helper::CrossEntropy);
        let tensor_id = self.helper(Helper::TensorId);
        let softmax_by_target = self.helper(Helper::SoftmaxByTarget);
        let par_edges_by_target = self.helper(Helper::ParEdgesByTarget);
        let par_rows = self.helper(Helper::ParRows);
        match (strategy, &eq.rhs) {
            (Strategy::Reshape, &Rhs::Reshape(src)) => {
                format!("{par_copy}(&mut out, t{});\n", src.0)
            }
            (Strategy::LoopFill { adjoint: false }, &Rhs::LoopFill(src)) => format!(
                "{loop_fill}(b, t{}, {}, &mut out, false);\n",
                src.0,
                self.width_expr(eq.lhs)
            ),
            (Strategy::LoopFill { adjoint: true }, &Rhs::LoopFillAdjoint(src)) => format!(
                "{loop_fill}(b, t{}, {}, &mut out, true);\n",
                src.0,
                self.width_expr(src)
            ),
            (
                Strategy::CrossEntropy,
                &Rhs::CrossEntropy {
                    logits,
                    labels,
                    mask,
                },
            ) => format!(
                "out[0] = {cross_entropy}(b, t{}, {}, {tensor_id}({}), {tensor_id}({}));\n",
                logits.0,
                self.width_expr(logits),
                labels.0,
                mask.0
            ),
            (Strategy::Softmax { graph, stored }, &Rhs::Softmax(body)) => {
                let (e, g) = (eq.vars[0], graph.0);
                let width = self.width_expr(eq.lhs);
                if let Some(scores) = stored {
                    // Scores already stored edge by edge are normalised in place of a copy.
                    return format!(
                        "{softmax_by_target}(g{g}, t{}, {width}, &mut out);\n",
                        scores.0
                    );
                }
                let mut s = format!("let mut scores = vec![T::ZERO; out.len()];\n{par_edges_by_target}(g{g}, &mut scores, {width}, |row_id, row| {{\nlet {} = row_id;\n", var(e));
                self.bound.borrow_mut().push(e);
                s.push_str(&self.dense_loops(&eq.vars[1..], body, "row", &|g: &Self| {
                    format!(
                        "{} = {};",
                        g.out_ref("row", &eq.vars[1..]),
                        g.rust_expr(body)
                    )
                }));
                self.bound.borrow_mut().clear();
                let _ = write!(
                    s,
                    "}});\n{softmax_by_target}(g{g}, &scores, {width}, &mut out);\n"
                );
                s
            }
            (Strategy::Gemm { terms, bias }, Rhs::Expr(_)) => self.gemm(eq, terms, *bias),
            (Strategy::GemmTransposed { terms }, Rhs::Expr(_)) => self.gemm_transposed(terms),
            (Strategy::Entrywise { deferred }, &Rhs::Expr(e)) => {
                self.entrywise(eq, e, deferred.as_ref())
            }
            (Strategy::NodeRows { gathers, rest, .. }, &Rhs::Expr(e)) => format!(
                "{par_rows}(&mut out, {}, |row_id, row| {{\nlet {} = row_id;\n{}}});\n",
                self.width_expr(eq.lhs),
                var(eq.vars[0]),
                self.row_body(eq, e, gathers, rest)
            ),
            (Strategy::EdgeRows { prefetch_ahead, .. }, &Rhs::Expr(e)) => {
                let Domain::Edge(g) = p.tensor(eq.lhs).domain else {
                    unreachable!("edge rows of a tensor on edges")
                };
                format!(
                    "{par_edges_by_target}(g{}, &mut out, {}, |row_id, row| {{\nlet {} = row_id;\n{}{}}});\n",
                    g.0,
                    self.width_expr(eq.lhs),
                    var(eq.vars[0]),
                    self.prefetch_edge_ahead(eq.vars[0], prefetch_ahead),
                    self.row_body(eq, e, &[], &[])
                )
            }
            (
                Strategy::ChunkedSum {
                    over: r,
                    body,
                    prefetch_ahead,
                },
                Rhs::Expr(_),
            ) => {
                let (r, body) = (*r, *body);
                let driver = match p.var(r).kind {
                    VarKind::Edge(g) => format!(
                        "{}::<T>(g{}, ",
                        self.helper(Helper::ParSumEdgesByTarget),
                        g.0
                    ),
                    _ => format!("{}::<T>(nn, ", self.helper(Helper::ParSumRows)),
                };
                let width = self.width_expr(eq.lhs);
                let ahead = self.prefetch_edge_ahead(r, prefetch_ahead);
                let mut s = format!(
                    "let acc = {driver}{width}, |row_id, acc| {{\nlet {} = row_id;\n{ahead}",
                    var(r)
                );
                self.bound.borrow_mut().push(r);
                s.push_str(&self.dense_loops(&eq.vars, body, "acc", &|g: &Self| {
                    format!("{} += {};", g.out_ref("acc", &eq.vars), g.rust_expr(body))
                }));
                self.bound.borrow_mut().clear();
                s.push_str("});\nout.copy_from_slice(&acc);\n");
                s
            }
            (Strategy::DenseLoops, &Rhs::Expr(e)) => {
                self.dense_loops(&eq.vars, e, "out", &|g: &Self| {
                    format!("{} = {};", g.out_ref("out", &eq.vars), g.rust_expr(e))
                })
            }
            (strategy, _) => unreachable!(
                "strategy {strategy:?} does not fit its equation (the passes pair them)"
            ),
        }
    }
}

fn collect_labels(p: &Program, e: ExprId, out: &mut std::collections::BTreeSet<u32>) {
    if let Node::OneHot { labels, .. } = p.arena.get(e) {
        out.insert(labels.0);
    }
    for c in p.arena.children(e) {
        collect_labels(p, c, out);
    }
}

fn collect_mask_counts(p: &Program, e: ExprId, out: &mut std::collections::BTreeSet<u32>) {
    if let Node::MaskCount(t) = p.arena.get(e) {
        out.insert(t.0);
    }
    for c in p.arena.children(e) {
        collect_mask_counts(p, c, out);
    }
}

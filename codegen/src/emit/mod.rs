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

mod blocks;
mod deferred;
mod fuse;
mod heads;
pub mod helpers;

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
                    format!("{} = {};", g.out_ref("row", &eq.vars[1..]), g.ex(body))
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
                    format!("{} += {};", g.out_ref("acc", &eq.vars), g.ex(body))
                }));
                self.bound.borrow_mut().clear();
                s.push_str("});\nout.copy_from_slice(&acc);\n");
                s
            }
            (Strategy::DenseLoops, &Rhs::Expr(e)) => {
                self.dense_loops(&eq.vars, e, "out", &|g: &Self| {
                    format!("{} = {};", g.out_ref("out", &eq.vars), g.ex(e))
                })
            }
            (strategy, _) => unreachable!(
                "strategy {strategy:?} does not fit its equation (the passes pair them)"
            ),
        }
    }

    /// The code filling `row`, the output row of `eq.vars[0]` (a node or an edge bound by the
    /// caller), for a node or edge equation `eq` with right-hand side `e`: with `gathers`, the
    /// `rest` of the terms first, then each neighbourhood sum with its edges outside.
    fn row_body(&self, eq: &Equation, e: ExprId, gathers: &[Gather], rest: &[ExprId]) -> String {
        let dense = &eq.vars[1..];
        self.bound.borrow_mut().push(eq.vars[0]);
        let s = if gathers.is_empty() {
            self.dense_loops(dense, e, "row", &|g: &Self| {
                format!("{} = {};", g.out_ref("row", dense), g.ex(e))
            })
        } else {
            // Edges outside, features inside (SpMM order): each neighbour's row is read
            // once, contiguously, instead of once per output feature.
            let mut s = match rest.first() {
                Some(&first) => self.dense_loops(dense, first, "row", &|g: &Self| {
                    let sum: Vec<String> = rest.iter().map(|t| g.ex(*t)).collect();
                    format!("{} = {};", g.out_ref("row", dense), sum.join(" + "))
                }),
                None => "row.iter_mut().for_each(|x| *x = T::ZERO);\n".to_string(),
            };
            for gather in gathers {
                let (range, body) = (gather.range, gather.body);
                let mut inner = self.bind_rows(body, range.var());
                self.bound.borrow_mut().push(range.var());
                inner += &self.dense_loops(dense, body, "row", &|g: &Self| {
                    format!("{} += {};", g.out_ref("row", dense), g.ex(body))
                });
                self.bound.borrow_mut().retain(|v| *v != range.var());
                self.unbind_rows(range.var());
                s.push_str(&self.gather_loop(gather, &inner));
                s.push('\n');
            }
            s
        };
        self.bound.borrow_mut().clear();
        s
    }

    /// `T[n, f] = e` entry by entry. When `T` has a zero pattern, only its entries are computed and
    /// stored compactly, reading `[n, f]` operands through their compact layout; otherwise every
    /// entry, reading dense views.
    fn entrywise(
        &self,
        eq: &Equation,
        e: ExprId,
        deferred: Option<&crate::plan::Deferred>,
    ) -> String {
        let compact_of = self.helper(Helper::Compact);
        let dense_view = self.helper(Helper::DenseView);
        let tensor_id = self.helper(Helper::TensorId);
        let par_entries = self.helper(Helper::ParEntries);
        let par_rows = self.helper(Helper::ParRows);
        let width = self.width_expr(eq.lhs);
        let (n, f) = (var(eq.vars[0]), var(eq.vars[1]));
        let mut reads = Vec::new();
        collect_accesses(self.p, e, &mut reads);
        let mut views = String::new();
        let (mut compact, mut other) = (Vec::new(), Vec::new());
        for r in reads {
            let Node::Access { tensor, at, dense } = self.p.arena.get(r) else {
                continue;
            };
            if *at != Some(At::Node(eq.vars[0])) || dense[..] != eq.vars[1..] {
                other.push(*tensor);
                continue;
            }
            self.slices
                .borrow_mut()
                .insert(r, format!("c{}[k]", tensor.0));
            if !compact.contains(tensor) {
                compact.push(*tensor);
                let _ = writeln!(views, "let c{0} = {compact_of}(pat, t{0});", tensor.0);
            }
        }
        // Other reads of a compactable tensor (rare) see its dense layout.
        for t in other {
            if self.compactable.contains(&t) && !views.contains(&format!("let t{}_dense", t.0)) {
                let _ = writeln!(
                    views,
                    "let t{0}_dense = {dense_view}(b, {tensor_id}({0}), t{0}); let t{0} = &t{0}_dense[..];",
                    t.0
                );
            }
        }
        let sparse = self.ex(e);
        self.slices.borrow_mut().clear();
        let row = self.entrywise_row(eq, e, deferred);
        format!(
            "match b.sparse.get(&{tensor_id}({lhs})) {{\nSome(pat) => {{ {views}{par_entries}(pat, &mut out, |{n}, {f}, k| {sparse}); }}\nNone => {{ {dviews}{par_rows}(&mut out, {width}, |row_id, row| {{ let {n} = row_id; {row} }}); }}\n}}\n",
            lhs = eq.lhs.0,
            dviews = self.dense_views(eq),
        )
    }

    /// Nested loops over dense variables around the code `inner` makes; reads along the innermost
    /// variable become row slices bound before the innermost loop.
    fn dense_loops(
        &self,
        vars: &[VarId],
        e: ExprId,
        target: &str,
        inner: &dyn Fn(&Self) -> String,
    ) -> String {
        let mut s = String::new();
        let dense: Vec<VarId> = vars
            .iter()
            .copied()
            .filter(|v| matches!(self.p.var(*v).kind, VarKind::Dense(_)))
            .collect();
        for (k, v) in dense.iter().enumerate() {
            let VarKind::Dense(d) = self.p.var(*v).kind else {
                continue;
            };
            if k + 1 == dense.len() {
                s.push_str(&self.bind_slices(*v, e));
                // The output row along the innermost axis, so that indexing needs no bound checks.
                let prefix = self.local_offset(&dense[..k]);
                let _ = writeln!(
                    s,
                    "let ob = ({prefix}) * d{0}; let orow = &mut {target}[ob..ob + d{0}];",
                    d.0
                );
                self.out_slice.set(Some(*v));
            }
            self.bound.borrow_mut().push(*v);
            let _ = writeln!(s, "for {} in 0..d{} {{", var(*v), d.0);
        }
        let body = inner(self);
        self.out_slice.set(None);
        s.push_str(&body);
        if !dense.is_empty() {
            s.push('\n');
        }
        for v in &dense {
            s.push_str("}\n");
            self.bound.borrow_mut().retain(|x| x != v);
            self.unbind_slices(*v);
        }
        s
    }

    /// Binds `let rK = &tT[base..base + d]` for reads in `e` whose last index is the loop variable
    /// `v` and whose other indices are fixed outside the loop.
    fn bind_slices(&self, v: VarId, e: ExprId) -> String {
        let VarKind::Dense(dv) = self.p.var(v).kind else {
            return String::new();
        };
        let mut reads = Vec::new();
        collect_reads(self.p, e, v, &mut reads);
        let bound = self.bound.borrow().clone();
        let mut s = String::new();
        for r in reads {
            if self.slices.borrow().contains_key(&r) {
                continue;
            }
            let Node::Access { tensor, at, dense } = self.p.arena.get(r).clone() else {
                continue;
            };
            let outside = at.map(|a| bound.contains(&a.var())).unwrap_or(true)
                && dense[..dense.len() - 1].iter().all(|x| bound.contains(x));
            if !outside {
                continue;
            }
            let n = self.counter.get();
            self.counter.set(n + 1);
            if let (true, Some(at)) = (self.fused.borrow().contains(&tensor), at) {
                // A row of the fused loop's outputs, owned by the target being visited.
                let off = self.row_offset(tensor, &dense[..dense.len() - 1]);
                let _ = writeln!(
                    s,
                    "let base{n} = ({off}) * d{}; let r{n} = &{}[base{n}..base{n} + d{}];",
                    dv.0,
                    self.fused_row(tensor, at),
                    dv.0
                );
            } else {
                let t = self.p.tensor(tensor);
                let mut off = match at {
                    Some(at) => self.node_pos(at),
                    None => "0".into(),
                };
                for (d, x) in t.dims.iter().zip(&dense[..dense.len() - 1]) {
                    off = format!("({off}) * d{} + {}", d.0, var(*x));
                }
                let _ = writeln!(
                    s,
                    "let base{n} = ({off}) * d{}; let r{n} = &t{}[base{n}..base{n} + d{}];",
                    dv.0, tensor.0, dv.0
                );
            }
            self.slices
                .borrow_mut()
                .insert(r, format!("r{n}[{}]", var(v)));
        }
        s
    }

    fn unbind_slices(&self, v: VarId) {
        let suffix = format!("[{}]", var(v));
        self.slices
            .borrow_mut()
            .retain(|_, s| !s.ends_with(&suffix));
    }

    /// The output element for dense variables `vars` of `target` (`row`, `acc` or `out`): the
    /// innermost output slice when one is bound.
    fn out_ref(&self, target: &str, vars: &[VarId]) -> String {
        match (self.out_slice.get(), vars.last()) {
            (Some(v), Some(last)) if v == *last => format!("orow[{}]", var(v)),
            _ => format!("{target}[{}]", self.local_offset(vars)),
        }
    }

    /// Row-major offset of dense variables (within a row).
    fn local_offset(&self, vars: &[VarId]) -> String {
        let mut off = "0".to_string();
        for v in vars {
            if let VarKind::Dense(d) = self.p.var(*v).kind {
                off = format!("({off}) * d{} + {}", d.0, var(*v));
            }
        }
        off
    }

    fn node_pos(&self, at: At) -> String {
        match at {
            At::Node(v) | At::Edge(v) => var(v),
            At::Src(e) | At::Dst(e) => {
                let g = match self.p.var(e).kind {
                    VarKind::Edge(g) => g.0,
                    _ => 0,
                };
                let arr = if matches!(at, At::Src(_)) {
                    "src"
                } else {
                    "dst"
                };
                format!("({arr}{g}[{}] as usize)", var(e))
            }
        }
    }

    fn access(&self, t: TensorId, at: Option<At>, dense: &[VarId]) -> String {
        let tensor = self.p.tensor(t);
        if let (true, Some(at)) = (self.fused.borrow().contains(&t), at) {
            return format!("{}[{}]", self.fused_row(t, at), self.row_offset(t, dense));
        }
        let mut off = match at {
            Some(at) => self.node_pos(at),
            None => "0".into(),
        };
        for (d, v) in tensor.dims.iter().zip(dense) {
            off = format!("({off}) * d{} + {}", d.0, var(*v));
        }
        format!("t{}[{off}]", t.0)
    }

    /// The row at `at` of the fused output `t`: bound once (`q12_i21`), or fetched where it is read.
    fn fused_row(&self, t: TensorId, at: At) -> String {
        match self.row_binds.borrow().get(&(t, at)) {
            Some(q) => q.clone(),
            None => format!("o{}.row({})", t.0, self.node_pos(at)),
        }
    }

    /// Binds `let qT_iV = oT.row(..)` for the rows of fused outputs that `e` reads at a position
    /// given by variable `v` (just bound), so that loops inside index a slice.
    fn bind_rows(&self, e: ExprId, v: VarId) -> String {
        if self.fused.borrow().is_empty() {
            return String::new();
        }
        let mut reads = Vec::new();
        collect_accesses(self.p, e, &mut reads);
        let mut s = String::new();
        for r in reads {
            let Node::Access {
                tensor,
                at: Some(at),
                ..
            } = *self.p.arena.get(r)
            else {
                continue;
            };
            if at.var() != v
                || !self.fused.borrow().contains(&tensor)
                || self.row_binds.borrow().contains_key(&(tensor, at))
            {
                continue;
            }
            // One tensor is read at one kind of position (edge, target or node), so the
            // tensor and the variable name the row.
            let q = format!("q{}_{}", tensor.0, var(v));
            let _ = writeln!(s, "let {q} = o{}.row({});", tensor.0, self.node_pos(at));
            self.row_binds.borrow_mut().insert((tensor, at), q);
        }
        s
    }

    fn unbind_rows(&self, v: VarId) {
        self.row_binds
            .borrow_mut()
            .retain(|(_, at), _| at.var() != v);
    }

    /// Offset of dense indices `dense` (a prefix of `t`'s dense axes) within a row of `t`.
    fn row_offset(&self, t: TensorId, dense: &[VarId]) -> String {
        let mut off = "0".to_string();
        for (d, v) in self.p.tensor(t).dims.iter().zip(dense) {
            off = format!("({off}) * d{} + {}", d.0, var(*v));
        }
        off
    }

    fn scalar(&self, s: Scalar) -> String {
        match s {
            Scalar::Lit(b) => format!("T::of({:?})", f64::from_bits(b)),
            Scalar::Named(id) => format!("c{}", id.0),
        }
    }

    fn range_loop(&self, range: Range, body: &str) -> String {
        match range {
            Range::Dense(v) => {
                let VarKind::Dense(d) = self.p.var(v).kind else {
                    return String::new();
                };
                format!("for {} in 0..d{} {{ {body} }}", var(v), d.0)
            }
            Range::InEdges { edge, of } | Range::OutEdges { edge, of } => {
                let g = match self.p.var(edge).kind {
                    VarKind::Edge(g) => g.0,
                    _ => 0,
                };
                let list = if matches!(range, Range::InEdges { .. }) {
                    "in_edges"
                } else {
                    "out_edges"
                };
                format!(
                    "for &ee in g{g}.{list}({}) {{ let {} = ee as usize; {body} }}",
                    self.node_pos(of),
                    var(edge)
                )
            }
            Range::AllNodes(v) => format!("for {} in 0..nn {{ {body} }}", var(v)),
            Range::AllEdges(v) => {
                let g = match self.p.var(v).kind {
                    VarKind::Edge(g) => g.0,
                    _ => 0,
                };
                format!("for {} in 0..g{g}.num_edges() {{ {body} }}", var(v))
            }
        }
    }

    /// A loop over a neighbourhood; when it reads node rows at the far end of each edge (random
    /// rows: the sources of a target's in-edges, the targets of a node's out-edges), the rows of
    /// the edge a few places ahead in the CSR index are prefetched, so several cache misses overlap.
    fn gather_loop(&self, gather: &Gather, inner: &str) -> String {
        let (edge, end, csr, of) = match gather.range {
            _ if gather.prefetch.is_empty() => return self.range_loop(gather.range, inner),
            Range::InEdges { edge, of } => (edge, End::Src, "in_csr", of),
            Range::OutEdges { edge, of } => (edge, End::Dst, "out_csr", of),
            _ => unreachable!("only neighbourhood sums prefetch"),
        };
        let VarKind::Edge(g) = self.p.var(edge).kind else {
            unreachable!("a neighbourhood runs over edges")
        };
        // The edges of consecutive nodes are consecutive in the CSR index, so looking ahead in it
        // also covers the first edges of the next node.
        format!(
            "let (ptr, list) = g{g}.{csr}(); \
             for k in ptr[{n}]..ptr[{n} + 1] {{ \
             if let Some(&pe) = list.get(k + {prefetch_distance}) {{ {fetch} }} \
             let {} = list[k] as usize; {inner} }}",
            var(edge),
            g = g.0,
            prefetch_distance = self.helper(Helper::PrefetchDistance),
            fetch = self.prefetch_at(&gather.prefetch, g, end, "pe as usize"),
            n = self.node_pos(of),
        )
    }

    /// Statements prefetching the rows of `tensors` at endpoint `end` of edge `pe` of graph `g`.
    pub(super) fn prefetch_at(
        &self,
        tensors: &[TensorId],
        g: GraphId,
        end: End,
        pe: &str,
    ) -> String {
        let prefetch_row = self.helper(Helper::PrefetchRow);
        let ends = match end {
            End::Src => "src",
            End::Dst => "dst",
        };
        let mut s = String::new();
        for t in tensors {
            let w = self.width_expr(*t);
            let _ = write!(
                s,
                "{prefetch_row}(t{}, ({ends}{}[{pe}] as usize) * ({w}), {w});",
                t.0, g.0
            );
        }
        s
    }

    /// In a loop over the edges of `g` in target order, prefetches the rows of `far` at the source
    /// of edge `e + PREFETCH_DISTANCE` (usually a later edge of the same or the next target).
    fn prefetch_edge_ahead(&self, edge: VarId, far: &[TensorId]) -> String {
        if far.is_empty() {
            return String::new();
        }
        let VarKind::Edge(g) = self.p.var(edge).kind else {
            unreachable!("prefetching ahead runs over edges")
        };
        let prefetch_distance = self.helper(Helper::PrefetchDistance);
        format!(
            "{{ let pe = {} + {prefetch_distance}; if pe < g{}.num_edges() {{ {} }} }}\n",
            var(edge),
            g.0,
            self.prefetch_at(far, g, End::Src, "pe")
        )
    }

    /// One element of an expression, as a Rust expression of type `T`.
    fn ex(&self, e: ExprId) -> String {
        let p = self.p;
        let float = self.helper(Helper::Float);
        match p.arena.get(e).clone() {
            Node::Const(s) => self.scalar(s),
            Node::DimSize(d) => format!("T::of(d{} as f64)", d.0),
            Node::MaskCount(t) => format!("mc{}", t.0),
            Node::OneHot { labels, at, class } => format!(
                "(if lab{}[{}] == {} {{ T::ONE }} else {{ T::ZERO }})",
                labels.0,
                self.node_pos(at),
                var(class)
            ),
            Node::Access { tensor, at, dense } => match self.slices.borrow().get(&e) {
                Some(s) => s.clone(),
                None => self.access(tensor, at, &dense),
            },
            Node::Add(a, b) => format!("({} + {})", self.ex(a), self.ex(b)),
            Node::Sub(a, b) => format!("({} - {})", self.ex(a), self.ex(b)),
            Node::Mul(a, b) => format!("({} * {})", self.ex(a), self.ex(b)),
            Node::Div(a, b) => format!("({} / {})", self.ex(a), self.ex(b)),
            Node::Neg(a) => format!("(-{})", self.ex(a)),
            Node::Pow(a, s) => {
                if s == Scalar::lit(2.0) {
                    format!("{{ let x = {}; x * x }}", self.ex(a))
                } else {
                    format!("{float}::powf({}, {})", self.ex(a), self.scalar(s))
                }
            }
            Node::Call(f, a, arg) => {
                let x = self.ex(a);
                let y = arg.map(|s| self.scalar(s));
                f.primitive()
                    .rust_call(&helpers::module(self.krate), &x, y.as_deref())
            }
            Node::Reduce { op, range, body } => {
                let pre = match range {
                    Range::Dense(v) => self.bind_slices(v, body),
                    _ => String::new(),
                };
                let rows = self.bind_rows(body, range.var());
                self.bound.borrow_mut().push(range.var());
                let b = self.ex(body);
                let b = if rows.is_empty() {
                    b
                } else {
                    format!("{{ {rows} {b} }}")
                };
                self.bound.borrow_mut().pop();
                self.unbind_slices(range.var());
                self.unbind_rows(range.var());
                match op {
                    ReduceOp::Sum => format!(
                        "{{ {pre} let mut acc = T::ZERO; {} acc }}",
                        self.range_loop(range, &format!("acc += {b};"))
                    ),
                    ReduceOp::Mean => format!(
                        "{{ {pre} let mut acc = T::ZERO; let mut cnt = 0usize; {} if cnt == 0 {{ T::ZERO }} else {{ acc / T::of(cnt as f64) }} }}",
                        self.range_loop(range, &format!("cnt += 1; acc += {b};"))
                    ),
                    ReduceOp::LogSumExp => format!(
                        "{{ {pre} let mut mx = T::of(f64::NEG_INFINITY); {} let mut se = T::ZERO; {} mx + {float}::ln(se) }}",
                        self.range_loop(range, &format!("mx = {float}::max(mx, {b});")),
                        self.range_loop(range, &format!("se += {float}::exp({b} - mx);"))
                    ),
                }
            }
        }
    }

    fn size(&self, vars: &[VarId]) -> String {
        if vars.is_empty() {
            return "1".into();
        }
        vars.iter()
            .map(|v| match self.p.var(*v).kind {
                VarKind::Dense(d) => format!("d{}", d.0),
                _ => "1".into(),
            })
            .collect::<Vec<_>>()
            .join(" * ")
    }

    /// `out[n, O] = Σ_S X[n, S] · W[O, S] (or W[S, O]) (+ Σ more products) (+ bias[O])`.
    fn gemm(
        &self,
        eq: &Equation,
        terms: &[crate::plan::GemmTerm],
        bias: Option<TensorId>,
    ) -> String {
        let node_matmul = self.helper(Helper::NodeMatmul);
        let tensor_id = self.helper(Helper::TensorId);
        let par_rows = self.helper(Helper::ParRows);
        let o = &eq.vars[1..];
        let osz = self.size(o);
        let mut code = String::new();
        for (k, t) in terms.iter().enumerate() {
            let _ = writeln!(
                code,
                "{node_matmul}(b, {tensor_id}({0}), t{0}, {ssz}, t{1}, {osz}, {w_os}, {2}, &mut out);",
                t.x.0,
                t.w.0,
                k > 0,
                ssz = self.size(&t.contracted),
                w_os = t.w_out_first,
            );
        }
        if let Some(bt) = bias {
            let _ = writeln!(
                code,
                "{par_rows}(&mut out, {osz}, |_, row| {{ for (r, bv) in row.iter_mut().zip(t{}.iter()) {{ *r += *bv; }} }});",
                bt.0
            );
        }
        code
    }

    /// `out[P, Q] = Σ_n A[n, P] · B[n, Q]` (+ more products): Aᵀ B.
    fn gemm_transposed(&self, terms: &[crate::plan::GemmTTerm]) -> String {
        let node_t_matmul = self.helper(Helper::NodeTMatmul);
        let tensor_id = self.helper(Helper::TensorId);
        let mut code = String::new();
        for (k, t) in terms.iter().enumerate() {
            let _ = writeln!(
                code,
                "{node_t_matmul}(b, {tensor_id}({0}), t{0}, {psz}, {tensor_id}({1}), t{1}, {qsz}, {2}, &mut out);",
                t.a.0,
                t.b.0,
                k > 0,
                psz = self.size(&t.a_vars),
                qsz = self.size(&t.b_vars),
            );
        }
        code
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

/// Reads in `e` whose last dense index is `v`, not looking inside loops that rebind `v`.
fn collect_reads(p: &Program, e: ExprId, v: VarId, out: &mut Vec<ExprId>) {
    match p.arena.get(e) {
        Node::Access { dense, .. } if dense.last() == Some(&v) => {
            if !out.contains(&e) {
                out.push(e)
            }
        }
        Node::Reduce { range, .. } if range.var() == v => {}
        _ => {
            for c in p.arena.children(e) {
                collect_reads(p, c, v, out);
            }
        }
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

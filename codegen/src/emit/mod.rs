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
mod tokens;

use crate::ir::*;
use crate::plan::walk::{collect_accesses, End};
use crate::plan::{Gather, Phase, Plan, Strategy};
use crate::print::{Printer, Style};
use helpers::Helper;
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use tokens::{dim, graph, int, local, numbered, product, values, var};

/// Generated code and what it needs.
pub struct Generated {
    /// Rust items (functions and constants), to be placed inside an `impl` block or a module.
    pub items: TokenStream,
    /// Number of tensor slots the functions index (the program's tensors plus hoisted ones).
    pub num_tensors: usize,
}

/// Emits `forward` and `backward` for a differentiated program. `krate` is the path of the gatgrad
/// facade as seen from the generated code (`::gatgrad`, or `crate` inside gatgrad itself).
pub fn generate(p: &Program, krate: &TokenStream) -> Result<Generated, String> {
    print(&Plan::build(p), krate)
}

/// Spells out a plan as Rust tokens. An error is a gatgrad bug: a step no pass decided.
pub fn print(plan: &Plan, krate: &TokenStream) -> Result<Generated, String> {
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
        scratch: &plan.scratch,
        bound: Default::default(),
        slices: Default::default(),
        counter: Default::default(),
        out_slice: Default::default(),
        fused: Default::default(),
        row_binds: Default::default(),
        neighbourhoods: Default::default(),
    };
    let num_tensors = int(plan.program.tensors.len());
    let (float, bound) = (Helper::Float.path(krate), Helper::Bound.path(krate));
    let header = |name: &Ident| {
        quote! {
            #[allow(unused_variables, unused_mut, unused_parens, clippy::all)]
            pub fn #name<T: #float>(b: &#bound, v: &mut [Vec<T>])
        }
    };
    let timed = Helper::Timed.path(krate);
    let mut items = quote! {
        /// Number of tensor slots `forward` and `backward` index.
        pub const NUM_TENSORS: usize = #num_tensors;
    };
    let mut params_calls = Vec::new();
    for (phase, name, doc) in [
        (
            Phase::Forward,
            "forward",
            " Evaluates the forward equations in order.",
        ),
        (
            Phase::Backward,
            "backward",
            " Evaluates the derivative equations (after `forward`, with the seed set).",
        ),
    ] {
        let eqs = plan.equations(phase);
        let mut calls = Vec::new();
        for kernel in plan.kernels(phase) {
            let fname = local(&Plan::kernel_name(phase, kernel));
            match kernel.fused {
                Some(graph) => items.extend(g.fused(&fname, kernel, eqs, graph)),
                None => {
                    let step = &kernel.steps[0];
                    let eq = &eqs[step.eq];
                    let doc = format!(" `{}`", g.text(eq));
                    let header = header(&fname);
                    let prelude = g.prelude(std::slice::from_ref(eq));
                    let body = g.equation(eq, &step.strategy);
                    items.extend(quote! {
                        #[doc = #doc]
                        #header {
                            #prelude
                            #body
                        }
                    });
                }
            }
            let label = fname.to_string();
            let call = quote!(#timed(#label, || #fname(b, v)););
            if phase == Phase::Backward && kernel.for_params {
                params_calls.push(call.clone());
            }
            calls.push(call);
        }
        let header = header(&local(name));
        items.extend(quote! {
            #[doc = #doc]
            #header { #(#calls)* }
        });
    }
    let header = header(&local("backward_params"));
    items.extend(quote! {
        /// The derivative equations parameter gradients need (no input gradients).
        #header { #(#params_calls)* }
    });
    Ok(Generated {
        items,
        num_tensors: plan.program.tensors.len(),
    })
}

struct Gen<'a> {
    p: &'a Program,
    pr: Printer<'a>,
    krate: &'a TokenStream,
    /// Variables bound by the loops around the code being emitted.
    bound: std::cell::RefCell<Vec<VarId>>,
    /// Reads served from a row slice bound before the innermost loop (access → `r7[i5]`).
    slices: std::cell::RefCell<std::collections::HashMap<ExprId, Slice>>,
    counter: std::cell::Cell<usize>,
    /// The innermost loop variable along which the output slice `orow` is bound.
    out_slice: std::cell::Cell<Option<VarId>>,
    /// Tensors that may be stored in the compact layout of a zero pattern (the plan's decision).
    compactable: &'a std::collections::BTreeSet<TensorId>,
    /// Edge tensors kept for the visited target only (the plan's decision, see [`fuse`]).
    scratch: &'a std::collections::BTreeSet<TensorId>,
    /// Outputs of the fused loop being emitted: read through the rows the visited target owns
    /// (`o7.row(e)`), see [`fuse`].
    fused: std::cell::RefCell<std::collections::HashSet<TensorId>>,
    /// Rows of fused outputs bound once where their position is bound: (tensor, at) → `q12_i21`.
    row_binds: std::cell::RefCell<std::collections::HashMap<(TensorId, At), Ident>>,
    /// The neighbourhood loops around the code being emitted, outermost first: inside one, the
    /// near end of its edge is the node it runs over, and the far end of an out-edge is read in
    /// by-source order (see [`Gen::node_pos`]).
    neighbourhoods: std::cell::RefCell<Vec<Range>>,
}

/// A read served from a slice bound outside the loops that index it.
struct Slice {
    /// The element read (`r7[i5]`, `c3[k]`).
    read: TokenStream,
    /// The loop variable the slice is indexed by, if it is bound for that loop only.
    along: Option<VarId>,
}

impl Gen<'_> {
    /// The path of a `__private` item, as this code spells it.
    fn helper(&self, h: Helper) -> TokenStream {
        h.path(self.krate)
    }

    /// Local bindings every function starts with: sizes, graphs, constants.
    fn prelude(&self, eqs: &[Equation]) -> TokenStream {
        let p = self.p;
        let tensor_id = self.helper(Helper::TensorId);
        let dims = (0..p.dims.len()).map(|k| {
            let (d, k) = (dim(DimId(k as u32)), int(k));
            quote!(let #d: usize = b.dims[#k];)
        });
        let graphs = (0..p.graphs.len()).map(|k| {
            let g = graph(GraphId(k as u32));
            let (src, dst) = (numbered("src", k as u32), numbered("dst", k as u32));
            let k = int(k);
            quote!(let #g = &b.graphs[#k]; let #src = #g.sources(); let #dst = #g.targets();)
        });
        let consts = (0..p.scalars.len()).map(|k| {
            let c = numbered("c", k as u32);
            let k = int(k);
            quote!(let #c: T = T::of(b.consts[#k]);)
        });
        let mut labels = std::collections::BTreeSet::new();
        for eq in eqs {
            if let Rhs::Expr(e) | Rhs::Softmax(e) = eq.rhs {
                collect_labels(p, e, &mut labels);
            }
        }
        let labels = labels.into_iter().map(|t| {
            let lab = numbered("lab", t);
            let t = int(t as usize);
            quote!(let #lab = &b.labels[&#tensor_id(#t)];)
        });
        let mut masks = std::collections::BTreeSet::new();
        for eq in eqs {
            if let Rhs::Expr(e) | Rhs::Softmax(e) = eq.rhs {
                collect_mask_counts(p, e, &mut masks);
            }
        }
        let masks = masks.into_iter().map(|t| {
            let mc = numbered("mc", t);
            let t = int(t as usize);
            quote!(let #mc: T = T::of(b.mask_count(#tensor_id(#t)) as f64);)
        });
        quote! {
            #(#dims)*
            let nn: usize = b.raw.num_nodes();
            #(#graphs)*
            #(#consts)*
            #(#labels)*
            #(#masks)*
        }
    }

    fn len_expr(&self, t: TensorId) -> TokenStream {
        let tensor = self.p.tensor(t);
        let mut factors = Vec::new();
        match tensor.domain {
            Domain::Dense => {}
            Domain::Node => factors.push(quote!(nn)),
            Domain::Edge(g) => {
                let g = graph(g);
                factors.push(quote!(#g.num_edges()))
            }
        }
        factors.extend(tensor.dims.iter().map(|&d| {
            let d = dim(d);
            quote!(#d)
        }));
        product(factors)
    }

    fn width_expr(&self, t: TensorId) -> TokenStream {
        product(
            self.p
                .tensor(t)
                .dims
                .iter()
                .map(|&d| {
                    let d = dim(d);
                    quote!(#d)
                })
                .collect(),
        )
    }

    fn reads(&self, eq: &Equation) -> Vec<TensorId> {
        crate::plan::walk::reads(self.p, eq)
    }

    fn equation(&self, eq: &Equation, strategy: &Strategy) -> TokenStream {
        let lhs = int(eq.lhs.index());
        let stored_len = self.helper(Helper::StoredLen);
        let tensor_id = self.helper(Helper::TensorId);
        // Every equation writes all of its output (a sparse one only its pattern, stored
        // compactly), so a buffer of the right size is reused without clearing.
        let mut len = self.len_expr(eq.lhs);
        if matches!(strategy, Strategy::Entrywise { .. }) {
            len = quote!(#stored_len(b, #tensor_id(#lhs), #len));
        }
        let reads = self.reads(eq).into_iter().map(|t| {
            let (name, t) = (values(t), int(t.index()));
            quote!(let #name = &v[#t][..];)
        });
        // GEMMs and element-wise equations read either layout of a pattern tensor; the others
        // read dense views.
        let raw = matches!(
            strategy,
            Strategy::Entrywise { .. } | Strategy::Gemm { .. } | Strategy::GemmTransposed { .. }
        );
        let views = if raw {
            TokenStream::new()
        } else {
            self.dense_views(eq)
        };
        let body = self.body(eq, strategy);
        quote! {
            {
                let mut out = ::std::mem::take(&mut v[#lhs]);
                let len = #len; if out.len() != len { out.clear(); out.resize(len, T::ZERO); }
                {
                    #(#reads)*
                    #views
                    #body
                }
                v[#lhs] = out;
            }
        }
    }

    /// Shadows the compactable tensors an equation reads by their dense layout.
    fn dense_views(&self, eq: &Equation) -> TokenStream {
        self.dense_views_of(&self.reads(eq))
    }

    /// Shadows the compactable tensors among `reads` by their dense layout.
    fn dense_views_of(&self, reads: &[TensorId]) -> TokenStream {
        reads
            .iter()
            .filter(|t| self.compactable.contains(t))
            .map(|&t| self.dense_view(t))
            .collect()
    }

    /// Shadows tensor `t` by its dense layout.
    fn dense_view(&self, t: TensorId) -> TokenStream {
        let dense_view = self.helper(Helper::DenseView);
        let tensor_id = self.helper(Helper::TensorId);
        let (name, dense, id) = (values(t), format_ident!("t{}_dense", t.0), int(t.index()));
        quote!(let #dense = #dense_view(b, #tensor_id(#id), #name); let #name = &#dense[..];)
    }

    fn body(&self, eq: &Equation, strategy: &Strategy) -> TokenStream {
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
                let src = values(src);
                quote!(#par_copy(&mut out, #src);)
            }
            (Strategy::LoopFill { adjoint: false }, &Rhs::LoopFill(src)) => {
                let width = self.width_expr(eq.lhs);
                let src = values(src);
                quote!(#loop_fill(b, #src, #width, &mut out, false);)
            }
            (Strategy::LoopFill { adjoint: true }, &Rhs::LoopFillAdjoint(src)) => {
                let width = self.width_expr(src);
                let src = values(src);
                quote!(#loop_fill(b, #src, #width, &mut out, true);)
            }
            (
                Strategy::CrossEntropy,
                &Rhs::CrossEntropy {
                    logits,
                    labels,
                    mask,
                },
            ) => {
                let width = self.width_expr(logits);
                let logits = values(logits);
                let (labels, mask) = (int(labels.index()), int(mask.index()));
                quote!(out[0] = #cross_entropy(b, #logits, #width, #tensor_id(#labels), #tensor_id(#mask));)
            }
            (Strategy::Softmax { graph: g, stored }, &Rhs::Softmax(body)) => {
                let (e, g) = (eq.vars[0], graph(*g));
                let width = self.width_expr(eq.lhs);
                if let Some(scores) = stored {
                    // Scores already stored edge by edge are normalised in place of a copy.
                    let scores = values(*scores);
                    return quote!(#softmax_by_target(#g, #scores, #width, &mut out););
                }
                self.bound.borrow_mut().push(e);
                let loops = self.dense_loops(&eq.vars[1..], body, "row", &|g: &Self| {
                    let (out, value) = (g.out_ref("row", &eq.vars[1..]), g.rust_expr(body));
                    quote!(#out = #value;)
                });
                self.bound.borrow_mut().clear();
                let e = var(e);
                quote! {
                    let mut scores = vec![T::ZERO; out.len()];
                    #par_edges_by_target(#g, &mut scores, #width, |row_id, row| {
                        let #e = row_id;
                        #loops
                    });
                    #softmax_by_target(#g, &scores, #width, &mut out);
                }
            }
            (Strategy::Gemm { terms, bias }, Rhs::Expr(_)) => self.gemm(eq, terms, *bias),
            (Strategy::GemmTransposed { terms }, Rhs::Expr(_)) => self.gemm_transposed(terms),
            (Strategy::Entrywise { deferred }, &Rhs::Expr(e)) => {
                self.entrywise(eq, e, deferred.as_ref())
            }
            (Strategy::NodeRows { gathers, rest, .. }, &Rhs::Expr(e)) => {
                let width = self.width_expr(eq.lhs);
                let n = var(eq.vars[0]);
                let body = self.row_body(eq, e, gathers, rest);
                quote! {
                    #par_rows(&mut out, #width, |row_id, row| {
                        let #n = row_id;
                        #body
                    });
                }
            }
            (Strategy::EdgeRows { prefetch_ahead, .. }, &Rhs::Expr(e)) => {
                let Domain::Edge(g) = p.tensor(eq.lhs).domain else {
                    unreachable!("edge rows of a tensor on edges")
                };
                let (g, width, edge) = (graph(g), self.width_expr(eq.lhs), var(eq.vars[0]));
                let ahead = self.prefetch_edge_ahead(eq.vars[0], prefetch_ahead);
                let body = self.row_body(eq, e, &[], &[]);
                quote! {
                    #par_edges_by_target(#g, &mut out, #width, |row_id, row| {
                        let #edge = row_id;
                        #ahead
                        #body
                    });
                }
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
                let (driver, over) = match p.var(r).kind {
                    VarKind::Edge(g) => {
                        let g = graph(g);
                        (self.helper(Helper::ParSumEdgesByTarget), quote!(#g))
                    }
                    _ => (self.helper(Helper::ParSumRows), quote!(nn)),
                };
                let width = self.width_expr(eq.lhs);
                let ahead = self.prefetch_edge_ahead(r, prefetch_ahead);
                self.bound.borrow_mut().push(r);
                let loops = self.dense_loops(&eq.vars, body, "acc", &|g: &Self| {
                    let (acc, value) = (g.out_ref("acc", &eq.vars), g.rust_expr(body));
                    quote!(#acc += #value;)
                });
                self.bound.borrow_mut().clear();
                let r = var(r);
                quote! {
                    let acc = #driver::<T>(#over, #width, |row_id, acc| {
                        let #r = row_id;
                        #ahead
                        #loops
                    });
                    out.copy_from_slice(&acc);
                }
            }
            (Strategy::DenseLoops, &Rhs::Expr(e)) => {
                self.dense_loops(&eq.vars, e, "out", &|g: &Self| {
                    let (out, value) = (g.out_ref("out", &eq.vars), g.rust_expr(e));
                    quote!(#out = #value;)
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

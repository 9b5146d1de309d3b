//! Printing fused kernels: one parallel pass over the targets of a graph evaluating, for each
//! target, every step's rows in turn with the same row code as unfused (see the `fuse` pass in
//! `plan`), so the results are the same bits.

use super::tokens::{int, local, numbered};
use super::{graph, values, var, Gen, Helper};
use crate::ir::*;
use crate::plan::walk::End;
use crate::plan::{Kernel, Strategy};
use proc_macro2::{Ident, TokenStream};
use quote::quote;
use std::collections::HashSet;

impl Gen<'_> {
    /// One function for a run of target-local equations on graph `g`: a parallel loop over the
    /// targets of `g` that evaluates, for each target, every equation's part in order.
    pub(super) fn fused(
        &self,
        name: &Ident,
        kernel: &Kernel,
        all: &[Equation],
        g: GraphId,
    ) -> TokenStream {
        let float = self.helper(Helper::Float);
        let bound = self.helper(Helper::Bound);
        let target_out = self.helper(Helper::TargetOut);
        let par_by_target = self.helper(Helper::ParByTarget);
        let eqs = &all[kernel.eqs.clone()];
        let summary = format!(
            " Fused: one parallel pass over the targets `i` of graph {} evaluating, for each target and in this order:",
            g.0
        );
        let docs = eqs.iter().map(|eq| format!(" - `{}`", self.text(eq)));
        let prelude = self.prelude(eqs);
        // Sums into dense tensors come out of the driver; every other equation writes rows.
        let sums: Vec<TensorId> = kernel
            .steps
            .iter()
            .filter(|s| matches!(s.strategy, Strategy::TargetSum { .. }))
            .map(|s| all[s.eq].lhs)
            .collect();
        let outputs: Vec<TensorId> = eqs
            .iter()
            .map(|eq| eq.lhs)
            .filter(|t| !sums.contains(t))
            .collect();
        let stored: Vec<TensorId> = outputs
            .iter()
            .copied()
            .filter(|t| !self.scratch.contains(t))
            .collect();
        let takes = stored.iter().map(|&t| {
            let (out, id, len) = (numbered("out", t.0), int(t.index()), self.len_expr(t));
            quote! {
                let mut #out = ::std::mem::take(&mut v[#id]);
                let len = #len; if #out.len() != len { #out.clear(); #out.resize(len, T::ZERO); }
            }
        });
        let takes: TokenStream = takes.collect();
        let mut reads: Vec<TensorId> = eqs.iter().flat_map(|eq| self.reads(eq)).collect();
        reads.sort();
        reads.dedup();
        reads.retain(|t| !outputs.contains(t) && !sums.contains(t));
        let read_binds = reads.iter().map(|&t| {
            let (name, id) = (values(t), int(t.index()));
            quote!(let #name = &v[#id][..];)
        });
        let read_binds: TokenStream = read_binds.collect();
        let views = self.dense_views_of(&reads);
        let gv = graph(g);
        let outs = outputs.iter().map(|&t| {
            let (out, width) = (numbered("out", t.0), self.width_expr(t));
            if self.scratch.contains(&t) {
                return quote!(#target_out::scratch(#gv, #width),);
            }
            let kind = local(match self.p.tensor(t).domain {
                Domain::Edge(_) => "edges",
                _ => "nodes",
            });
            quote!(#target_out::#kind(#gv, &mut #out, #width),)
        });
        let outs: TokenStream = outs.collect();
        let names = outputs.iter().map(|t| numbered("o", t.0));
        let prefetch = self.prefetch_next_target(&kernel.prefetch_next_target, g);
        *self.fused.borrow_mut() = outputs.iter().copied().collect::<HashSet<_>>();
        let parts: TokenStream = kernel
            .steps
            .iter()
            .map(|step| {
                let eq = &all[step.eq];
                let doc = format!(" `{}`", self.text(eq));
                let part = match step.strategy {
                    Strategy::TargetSum { over, body } => {
                        let k = sums.iter().position(|t| *t == eq.lhs).unwrap_or(0);
                        self.target_sum(eq, over, body, k, g)
                    }
                    _ => self.part(eq, &step.strategy),
                };
                quote! {
                    #[doc = #doc]
                    #part
                }
            })
            .collect();
        self.fused.borrow_mut().clear();
        // A scratch tensor's slot is emptied, so no stale values of another run are read.
        let puts = outputs.iter().map(|&t| {
            let (out, id) = (numbered("out", t.0), int(t.index()));
            if self.scratch.contains(&t) {
                quote!(v[#id] = Vec::new();)
            } else {
                quote!(v[#id] = #out;)
            }
        });
        let run = if sums.is_empty() {
            quote! {
                #par_by_target(#gv, &outs, |target, rows, scratch| {
                    let [#(#names),*] = rows else { unreachable!() };
                    #prefetch
                    #parts
                });
            }
        } else {
            let with_sums = self.helper(Helper::ParByTargetWithSums);
            let widths = sums.iter().map(|&t| self.len_expr(t));
            let results = sums.iter().map(|&t| {
                let id = int(t.index());
                quote!(v[#id] = sums.next().expect("one sum per step");)
            });
            quote! {
                let sums = #with_sums(#gv, &outs, &[#(#widths),*], |target, rows, scratch, accs| {
                    let [#(#names),*] = rows else { unreachable!() };
                    #prefetch
                    #parts
                });
                let mut sums = sums.into_iter();
                #(#results)*
            }
        };
        quote! {
            #[doc = #summary]
            #(#[doc = #docs])*
            #[allow(unused_variables, unused_mut, unused_parens, unused_doc_comments, clippy::all)]
            pub fn #name<T: #float>(b: &#bound, v: &mut [Vec<T>]) {
                #prelude
                {
                    #takes
                    {
                        #read_binds
                        #views
                        let outs = [
                            #outs
                        ];
                        #run
                    }
                    #(#puts)*
                }
            }
        }
    }

    /// The part of a sum over all edges for the visited target: its in-edges' terms added to the
    /// chunk's accumulator `accs[k]`, with the loops of a separate sum.
    fn target_sum(
        &self,
        eq: &Equation,
        over: VarId,
        body: ExprId,
        k: usize,
        g: GraphId,
    ) -> TokenStream {
        self.bound.borrow_mut().push(over);
        let rows = self.bind_rows(body, over);
        let loops = self.dense_loops(&eq.vars, body, "acc", &|g: &Self| {
            let (acc, value) = (g.out_ref("acc", &eq.vars), g.rust_expr(body));
            quote!(#acc += #value;)
        });
        self.unbind_rows(over);
        self.bound.borrow_mut().clear();
        let (r, k, g) = (var(over), int(k), graph(g));
        quote! {
            {
                let acc = &mut accs[#k][..];
                for &ee in #g.in_edges(target) {
                    let #r = ee as usize;
                    #rows
                    #loops
                }
            }
        }
    }

    /// Node rows the kernel reads at the sources of in-edges are gathered at random; while target
    /// `i` is computed, those of target `i + 1`'s in-edges are prefetched.
    fn prefetch_next_target(&self, far: &[TensorId], g: GraphId) -> TokenStream {
        if far.is_empty() {
            return TokenStream::new();
        }
        let fetch = self.prefetch_at(far, g, End::Src, quote!(pe as usize));
        let g = graph(g);
        quote! {
            if target + 1 < #g.num_nodes() { for &pe in #g.in_edges(target + 1) { #fetch } }
        }
    }

    /// The part of a step of a fused kernel for the visited target, as one statement.
    fn part(&self, eq: &Equation, strategy: &Strategy) -> TokenStream {
        let o = numbered("o", eq.lhs.0);
        let head = var(eq.vars[0]);
        match (strategy, &eq.rhs) {
            (Strategy::TargetSoftmax { scores }, _) => {
                let scores = if self.fused.borrow().contains(scores) {
                    let o = numbered("o", scores.0);
                    quote!(&*#o)
                } else {
                    let rows = self.helper(Helper::Rows);
                    let (t, width) = (values(*scores), self.width_expr(*scores));
                    quote!(&#rows::new(#t, #width))
                };
                let softmax_target = self.helper(Helper::SoftmaxTarget);
                quote!(#softmax_target(#scores, #o, scratch);)
            }
            // The rows are closure arguments, as in `par_edges_by_target` and `par_rows`: the
            // optimiser then knows they alias no other tensor.
            (Strategy::EdgeRows { block_sums, .. }, &Rhs::Expr(e)) => {
                let rows = self.bind_rows(e, eq.vars[0]);
                let body = match block_sums {
                    Some(blocks) => self.block_sums(blocks),
                    None => self.row_body(eq, e, &[], &[]),
                };
                self.unbind_rows(eq.vars[0]);
                quote!(#o.each_edge(|#head, row| { #rows #body });)
            }
            (
                Strategy::NodeRows {
                    gathers,
                    rest,
                    head_walk,
                },
                &Rhs::Expr(e),
            ) => {
                let rows = self.bind_rows(e, eq.vars[0]);
                let body = match head_walk {
                    Some(walk) => self.head_sums(eq, walk),
                    None => self.row_body(eq, e, gathers, rest),
                };
                self.unbind_rows(eq.vars[0]);
                quote!(#o.own_row(|#head, row| { #rows #body });)
            }
            (strategy, _) => unreachable!("{strategy:?} is not a part of a fused kernel"),
        }
    }

    /// An equation as text for a doc attribute, on one line.
    pub(super) fn text(&self, eq: &Equation) -> String {
        self.pr.equation(eq).replace('\n', " ")
    }
}

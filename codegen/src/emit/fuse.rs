//! Printing fused kernels: one parallel pass over the targets of a graph evaluating, for each
//! target, every step's rows in turn with the same row code as unfused (see the `fuse` pass in
//! `plan`), so the results are the same bits.

use super::{var, Gen, Helper};
use crate::ir::*;
use crate::plan::walk::End;
use crate::plan::{Kernel, Strategy};
use std::collections::HashSet;
use std::fmt::Write;

impl Gen<'_> {
    /// One function for a run of target-local equations on graph `g`: a parallel loop over the
    /// targets of `g` that evaluates, for each target, every equation's part in order.
    pub(super) fn fused(
        &self,
        name: &str,
        kernel: &Kernel,
        all: &[Equation],
        g: GraphId,
    ) -> String {
        let float = self.helper(Helper::Float);
        let bound = self.helper(Helper::Bound);
        let target_out = self.helper(Helper::TargetOut);
        let par_by_target = self.helper(Helper::ParByTarget);
        let eqs = &all[kernel.eqs.clone()];
        let mut s = String::new();
        let _ = writeln!(
            s,
            "/// Fused: one parallel pass over the targets `i` of graph {} evaluating, for each target and in this order:",
            g.0
        );
        for eq in eqs {
            let _ = writeln!(s, "#[doc = \" - `{}`\"]", self.text(eq));
        }
        let _ = writeln!(
            s,
            "#[allow(unused_variables, unused_mut, unused_parens, unused_doc_comments, clippy::all)]\npub fn {name}<T: {float}>(b: &{bound}, v: &mut [Vec<T>]) {{"
        );
        s.push_str(&self.prelude(eqs));
        s.push_str("{\n");
        let outputs: Vec<TensorId> = eqs.iter().map(|eq| eq.lhs).collect();
        for t in &outputs {
            let _ = writeln!(
                s,
                "let mut out{0} = ::std::mem::take(&mut v[{0}]);\nlet len = {1}; if out{0}.len() != len {{ out{0}.clear(); out{0}.resize(len, T::ZERO); }}",
                t.0,
                self.len_expr(*t)
            );
        }
        s.push_str("{\n");
        let mut reads: Vec<TensorId> = eqs.iter().flat_map(|eq| self.reads(eq)).collect();
        reads.sort();
        reads.dedup();
        reads.retain(|t| !outputs.contains(t));
        for t in &reads {
            let _ = writeln!(s, "let t{0} = &v[{0}][..];", t.0);
        }
        s.push_str(&self.dense_views_of(&reads));
        s.push_str("let outs = [\n");
        for t in &outputs {
            let kind = match self.p.tensor(*t).domain {
                Domain::Edge(_) => "edges",
                _ => "nodes",
            };
            let _ = writeln!(
                s,
                "{target_out}::{kind}(g{}, &mut out{}, {}),",
                g.0,
                t.0,
                self.width_expr(*t)
            );
        }
        s.push_str("];\n");
        let names: Vec<String> = outputs.iter().map(|t| format!("o{}", t.0)).collect();
        let _ = writeln!(
            s,
            "{par_by_target}(g{}, &outs, |target, rows, scratch| {{\nlet [{}] = rows else {{ unreachable!() }};",
            g.0,
            names.join(", ")
        );
        s.push_str(&self.prefetch_next_target(&kernel.prefetch_next_target, g));
        *self.fused.borrow_mut() = outputs.iter().copied().collect::<HashSet<_>>();
        for step in &kernel.steps {
            let eq = &all[step.eq];
            let _ = writeln!(s, "#[doc = \" `{}`\"]", self.text(eq));
            s.push_str(&self.part(eq, &step.strategy));
        }
        self.fused.borrow_mut().clear();
        s.push_str("});\n}\n");
        for t in &outputs {
            let _ = writeln!(s, "v[{0}] = out{0};", t.0);
        }
        s.push_str("}\n}\n");
        s
    }

    /// Node rows the kernel reads at the sources of in-edges are gathered at random; while target
    /// `i` is computed, those of target `i + 1`'s in-edges are prefetched.
    fn prefetch_next_target(&self, far: &[TensorId], g: GraphId) -> String {
        if far.is_empty() {
            return String::new();
        }
        format!(
            "if target + 1 < g{g}.num_nodes() {{ for &pe in g{g}.in_edges(target + 1) {{ {} }} }}\n",
            self.prefetch_at(far, g, End::Src, "pe as usize"),
            g = g.0
        )
    }

    /// The part of a step of a fused kernel for the visited target, as one statement.
    fn part(&self, eq: &Equation, strategy: &Strategy) -> String {
        let lhs = eq.lhs.0;
        let head = var(eq.vars[0]);
        match (strategy, &eq.rhs) {
            (Strategy::TargetSoftmax { scores }, _) => {
                let scores = if self.fused.borrow().contains(scores) {
                    format!("&*o{}", scores.0)
                } else {
                    format!(
                        "&{}::new(t{}, {})",
                        self.helper(Helper::Rows),
                        scores.0,
                        self.width_expr(*scores)
                    )
                };
                format!(
                    "{}({scores}, o{lhs}, scratch);\n",
                    self.helper(Helper::SoftmaxTarget)
                )
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
                format!("o{lhs}.each_edge(|{head}, row| {{\n{rows}{body}}});\n")
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
                format!("o{lhs}.own_row(|{head}, row| {{\n{rows}{body}}});\n")
            }
            (strategy, _) => unreachable!("{strategy:?} is not a part of a fused kernel"),
        }
    }

    /// An equation as text for a doc attribute.
    pub(super) fn text(&self, eq: &Equation) -> String {
        self.pr.equation(eq).replace('\n', " ").replace('"', "\\\"")
    }
}

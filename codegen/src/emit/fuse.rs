//! Loop fusion by target: consecutive equations that, for a target `i` of a graph, need only
//! what `i` owns (the rows of its in-edges and its own node row) become one parallel loop over
//! targets that evaluates each equation's part for `i` in turn, so the rows of `i`'s neighbourhood
//! are gathered once per pass instead of once per equation.
//!
//! Target-local equations on a graph `g`:
//!
//! - an edge equation on `g` without graph reductions (per in-edge of `i`, its row);
//! - a softmax on `g` of a stored score tensor (over the in-edges of `i`);
//! - a node equation whose graph reductions all run over the in-edges of its own node on `g`
//!   (row `i`: aggregations, hoisted per-target statistics).
//!
//! A run never reorders equations, and an equation joins it only if everything it reads from
//! earlier equations of the run is owned by the visited target: the same edge (or an in-edge of the
//! node being computed, inside its reduction) for edge tensors, the target itself for node
//! tensors. Each row is computed by the same expression as without fusion, so the results are
//! bitwise identical; every output is stored whole, as before.

use super::{var, End, Gen};
use crate::ir::*;
use std::collections::HashSet;
use std::fmt::Write;
use std::ops::Range as Span;

/// A function of the generated code: one equation, or a fused run on a graph.
pub(super) struct Run {
    /// Indices of the equations, in the forward or backward list.
    pub eqs: Span<usize>,
    /// The graph whose targets a fused run visits (`None`: a single equation, emitted as before).
    pub graph: Option<GraphId>,
}

/// What a target-local equation computes for one target.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    /// The rows of the in-edges of the target.
    Edges,
    /// The softmax over the in-edges of the target of the stored scores.
    Softmax(TensorId),
    /// The row of the target.
    Node,
}

impl Gen<'_> {
    /// Splits `eqs` into maximal runs of two or more consecutive target-local equations on one
    /// graph and single equations. `keep` (backward) marks the equations parameter gradients need:
    /// a run never mixes needed and unneeded equations, so `backward_params` calls whole runs.
    pub(super) fn runs(&self, eqs: &[Equation], keep: Option<&[bool]>) -> Vec<Run> {
        let mut out = Vec::new();
        let mut k = 0;
        while k < eqs.len() {
            let mut end = k + 1;
            if let Some((g, _)) = self.target_local(&eqs[k]) {
                let mut written = vec![eqs[k].lhs];
                while end < eqs.len() {
                    let eq = &eqs[end];
                    let joins = matches!(self.target_local(eq), Some((h, _)) if h == g)
                        && !matches!(keep, Some(keep) if keep[end] != keep[k])
                        && !written.contains(&eq.lhs)
                        && !eqs[k..end].iter().any(|e| self.reads(e).contains(&eq.lhs))
                        && self.reads_owned(eq, &written);
                    if !joins {
                        break;
                    }
                    written.push(eq.lhs);
                    end += 1;
                }
            }
            let graph = if end - k >= 2 {
                self.target_local(&eqs[k]).map(|(g, _)| g)
            } else {
                None
            };
            out.push(Run { eqs: k..end, graph });
            k = end;
        }
        out
    }

    /// The graph and the per-target part of a target-local equation (see the module comment).
    fn target_local(&self, eq: &Equation) -> Option<(GraphId, Part)> {
        let p = self.p;
        let head = *eq.vars.first()?;
        match (&eq.rhs, p.tensor(eq.lhs).domain) {
            (Rhs::Softmax(body), Domain::Edge(g)) => match p.arena.get(*body) {
                Node::Access {
                    tensor,
                    at: Some(At::Edge(x)),
                    dense,
                } if *x == head && dense[..] == eq.vars[1..] => Some((g, Part::Softmax(*tensor))),
                _ => None,
            },
            (&Rhs::Expr(e), Domain::Edge(g)) => {
                let ok = p.var(head).kind == VarKind::Edge(g)
                    && self.gemm(eq, e).is_none()
                    && graph_ranges(p, e).is_empty();
                ok.then_some((g, Part::Edges))
            }
            (&Rhs::Expr(e), Domain::Node) => {
                if self.elementwise(eq).is_some() || self.gemm(eq, e).is_some() {
                    return None;
                }
                let mut graph = None;
                for r in graph_ranges(p, e) {
                    let Range::InEdges {
                        edge,
                        of: At::Node(n),
                    } = r
                    else {
                        return None;
                    };
                    let VarKind::Edge(g) = p.var(edge).kind else {
                        return None;
                    };
                    if n != head || graph.is_some_and(|h| h != g) {
                        return None;
                    }
                    graph = Some(g);
                }
                graph.map(|g| (g, Part::Node))
            }
            _ => None,
        }
    }

    /// True when every read in `eq` of a tensor in `run` is of a row the visited target owns.
    fn reads_owned(&self, eq: &Equation, run: &[TensorId]) -> bool {
        let head = eq.vars[0];
        match eq.rhs {
            Rhs::Softmax(e) => self.owned(e, run, &[head], &[]),
            Rhs::Expr(e) => match self.p.tensor(eq.lhs).domain {
                Domain::Edge(_) => self.owned(e, run, &[head], &[]),
                _ => self.owned(e, run, &[], &[head]),
            },
            _ => false,
        }
    }

    /// `owned` for an expression: `edges` are edge variables whose value is an in-edge of the
    /// target, `nodes` node variables whose value is the target.
    fn owned(&self, e: ExprId, run: &[TensorId], edges: &[VarId], nodes: &[VarId]) -> bool {
        let p = self.p;
        match p.arena.get(e) {
            Node::Access {
                tensor,
                at,
                dense: _,
            } if run.contains(tensor) => match (*at, p.tensor(*tensor).domain) {
                (Some(At::Edge(v)), Domain::Edge(_)) => edges.contains(&v),
                (Some(At::Dst(v)), Domain::Node) => edges.contains(&v),
                (Some(At::Node(v)), Domain::Node) => nodes.contains(&v),
                _ => false,
            },
            Node::OneHot { labels, .. } if run.contains(labels) => false,
            Node::MaskCount(t) if run.contains(t) => false,
            Node::Reduce {
                range:
                    Range::InEdges {
                        edge,
                        of: At::Node(n),
                    },
                body,
                ..
            } if nodes.contains(n) => {
                let inner: Vec<VarId> = edges.iter().copied().chain([*edge]).collect();
                self.owned(*body, run, &inner, nodes)
            }
            _ => p
                .arena
                .children(e)
                .into_iter()
                .all(|c| self.owned(c, run, edges, nodes)),
        }
    }

    /// One function for a run of target-local equations on graph `g`: a parallel loop over the
    /// targets of `g` that evaluates, for each target, every equation's part in order.
    pub(super) fn fused(&self, name: &str, eqs: &[Equation], g: GraphId) -> String {
        let pv = self.pv();
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
            "#[allow(unused_variables, unused_mut, unused_parens, unused_doc_comments, clippy::all)]\npub fn {name}<T: {pv}::Float>(b: &{pv}::Bound, v: &mut [Vec<T>]) {{"
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
                "{pv}::TargetOut::{kind}(g{}, &mut out{}, {}),",
                g.0,
                t.0,
                self.width_expr(*t)
            );
        }
        s.push_str("];\n");
        let names: Vec<String> = outputs.iter().map(|t| format!("o{}", t.0)).collect();
        let _ = writeln!(
            s,
            "{pv}::par_by_target(g{}, &outs, |target, rows, scratch| {{\nlet [{}] = rows else {{ unreachable!() }};",
            g.0,
            names.join(", ")
        );
        s.push_str(&self.prefetch_next_target(eqs, g, &outputs));
        *self.fused.borrow_mut() = outputs.iter().copied().collect::<HashSet<_>>();
        for eq in eqs {
            let _ = writeln!(s, "#[doc = \" `{}`\"]", self.text(eq));
            s.push_str(&self.part(eq, &pv));
        }
        self.fused.borrow_mut().clear();
        s.push_str("});\n}\n");
        for t in &outputs {
            let _ = writeln!(s, "v[{0}] = out{0};", t.0);
        }
        s.push_str("}\n}\n");
        s
    }

    /// Node rows the run reads at the sources of in-edges are gathered at random; while target
    /// `i` is computed, those of target `i + 1`'s in-edges are prefetched.
    fn prefetch_next_target(&self, eqs: &[Equation], g: GraphId, outputs: &[TensorId]) -> String {
        let mut far = Vec::new();
        for eq in eqs {
            if let Rhs::Expr(e) = eq.rhs {
                self.end_reads(e, g, End::Src, None, &mut far);
            }
        }
        far.retain(|t| !outputs.contains(t));
        if far.is_empty() {
            return String::new();
        }
        format!(
            "if target + 1 < g{g}.num_nodes() {{ for &pe in g{g}.in_edges(target + 1) {{ {} }} }}\n",
            self.prefetch_at(&far, g, End::Src, "pe as usize"),
            g = g.0
        )
    }

    /// The part of a target-local equation for the visited target, as one statement.
    fn part(&self, eq: &Equation, rt: &str) -> String {
        let lhs = eq.lhs.0;
        let head = var(eq.vars[0]);
        match (self.target_local(eq).map(|(_, part)| part), &eq.rhs) {
            (Some(Part::Softmax(scores)), _) => {
                let scores = if self.fused.borrow().contains(&scores) {
                    format!("&*o{}", scores.0)
                } else {
                    format!(
                        "&{rt}::Rows::new(t{}, {})",
                        scores.0,
                        self.width_expr(scores)
                    )
                };
                format!("{rt}::softmax_target({scores}, o{lhs}, scratch);\n")
            }
            // The rows are closure arguments, as in `par_edges_by_target` and `par_rows`: the
            // optimiser then knows they alias no other tensor.
            (Some(part @ (Part::Edges | Part::Node)), &Rhs::Expr(e)) => {
                let rows = self.bind_rows(e, eq.vars[0]);
                let (visit, special) = match part {
                    Part::Edges => ("each_edge", self.block_sums(eq, e)),
                    _ => ("own_row", self.head_sums(eq, e)),
                };
                let body = special.unwrap_or_else(|| self.row_body(eq, e));
                self.unbind_rows(eq.vars[0]);
                format!("o{lhs}.{visit}(|{head}, row| {{\n{rows}{body}}});\n")
            }
            _ => "compile_error!(\"not a target-local equation\");\n".into(),
        }
    }

    /// An equation as text for a doc attribute.
    pub(super) fn text(&self, eq: &Equation) -> String {
        self.pr.equation(eq).replace('\n', " ").replace('"', "\\\"")
    }
}

/// The graph reductions (over in-edges, out-edges, all nodes or all edges) anywhere in `e`.
fn graph_ranges(p: &Program, e: ExprId) -> Vec<Range> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        if let Node::Reduce { range, .. } = p.arena.get(x) {
            if !matches!(range, Range::Dense(_)) {
                out.push(*range);
            }
        }
        stack.extend(p.arena.children(x));
    }
    out
}

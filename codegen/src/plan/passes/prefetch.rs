//! Prefetch: loops that gather node rows at the far end of edges (random rows) prefetch them, so
//! several cache misses overlap. A fused kernel prefetches the next target's neighbourhood while
//! it computes the current target; an edge loop in target order, or a chunked sum over edges, the
//! source rows of the edge a few places ahead; a node's neighbourhood sum the far rows of the
//! edge a few places ahead in the CSR index (except over in-edges inside a fused kernel, which
//! prefetches those itself); a sum over a node's out-edges also the rows of the edge tensors it
//! reads at the edge a few places ahead (stored in target order, they are random rows too).

use super::super::walk::{collect_accesses, end_reads, End};
use super::super::{Gather, Plan, Strategy};
use crate::ir::*;
use std::collections::BTreeSet;

/// The pass.
pub(super) fn run(plan: &mut Plan) {
    let p = &plan.program;
    let inlined = &plan.inlined;
    for (kernels, eqs) in [
        (&mut plan.forward, &plan.forward_eqs),
        (&mut plan.backward, &plan.backward_eqs),
    ] {
        for k in kernels.iter_mut() {
            if let Some(g) = k.fused {
                let outputs: Vec<TensorId> = k.eqs.clone().map(|e| eqs[e].lhs).collect();
                let mut far = Vec::new();
                for e in k.eqs.clone() {
                    if let Rhs::Expr(x) = eqs[e].rhs {
                        end_reads(p, x, g, End::Src, None, &mut far);
                    }
                }
                far.retain(|t| !outputs.contains(t));
                k.prefetch_next_target = far;
            }
            let fused = k.fused.is_some();
            for step in &mut k.steps {
                let eq = &eqs[step.eq];
                match &mut step.strategy {
                    Strategy::EdgeRows { prefetch_ahead, .. } if !fused => {
                        if let (&Rhs::Expr(e), Domain::Edge(_)) = (&eq.rhs, p.tensor(eq.lhs).domain)
                        {
                            *prefetch_ahead = ahead(p, eq.vars[0], e);
                        }
                    }
                    Strategy::ChunkedSum {
                        over,
                        body,
                        prefetch_ahead,
                    } => *prefetch_ahead = ahead(p, *over, *body),
                    Strategy::NodeRows {
                        gathers, head_walk, ..
                    } => {
                        for gather in gathers.iter_mut() {
                            gather.prefetch = far_rows(p, gather, fused);
                            gather.prefetch_edges = edge_rows(p, gather, inlined);
                        }
                        if let Some(walk) = head_walk {
                            walk.gather.prefetch = far_rows(p, &walk.gather, fused);
                            walk.gather.prefetch_edges = edge_rows(p, &walk.gather, inlined);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Node tensors read at the source of edge variable `edge` in `body`, when `edge` runs over the
/// edges of a graph in target order.
fn ahead(p: &Program, edge: VarId, body: ExprId) -> Vec<TensorId> {
    let VarKind::Edge(g) = p.var(edge).kind else {
        return Vec::new();
    };
    let mut far = Vec::new();
    end_reads(p, body, g, End::Src, Some(edge), &mut far);
    far
}

/// Edge tensors a sum over a node's out-edges reads at the summed edge (rows in target order,
/// reached in source order: at random), except those kept in registers only.
fn edge_rows(p: &Program, gather: &Gather, inlined: &BTreeSet<TensorId>) -> Vec<TensorId> {
    let Range::OutEdges { edge, .. } = gather.range else {
        return Vec::new();
    };
    let mut reads = Vec::new();
    collect_accesses(p, gather.body, &mut reads);
    let mut rows: Vec<TensorId> = reads
        .into_iter()
        .filter_map(|r| match *p.arena.get(r) {
            Node::Access {
                tensor,
                at: Some(At::Edge(v)),
                ..
            } if v == edge && !inlined.contains(&tensor) => Some(tensor),
            _ => None,
        })
        .collect();
    rows.sort();
    rows.dedup();
    rows
}

/// Node tensors a neighbourhood sum reads at the far end of its edges.
fn far_rows(p: &Program, gather: &Gather, fused: bool) -> Vec<TensorId> {
    let (edge, end) = match gather.range {
        Range::InEdges { .. } if fused => return Vec::new(),
        Range::InEdges { edge, .. } => (edge, End::Src),
        Range::OutEdges { edge, .. } => (edge, End::Dst),
        _ => return Vec::new(),
    };
    let VarKind::Edge(g) = p.var(edge).kind else {
        return Vec::new();
    };
    let mut far = Vec::new();
    end_reads(p, gather.body, g, end, Some(edge), &mut far);
    far
}

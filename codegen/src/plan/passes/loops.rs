//! Loops for every equation the earlier passes left undecided: a softmax (normalising stored
//! scores directly, or computing them first), node rows (sums over the node's in- or out-edges
//! with the edges outside and the features inside, SpMM order), edge rows in target order,
//! chunked sums over all nodes or edges into a dense tensor, and plain dense loops.

use super::super::walk::flatten_add;
use super::super::{Gather, Plan, Strategy};
use crate::ir::*;

/// The pass.
pub(super) fn run(plan: &mut Plan) {
    super::decide_generic(plan, |p, eq| Some(strategy(p, eq)));
}

fn strategy(p: &Program, eq: &Equation) -> Strategy {
    match eq.rhs {
        Rhs::Softmax(body) => match p.var(eq.vars[0]).kind {
            VarKind::Edge(graph) => Strategy::Softmax {
                graph,
                stored: stored_scores(p, eq, body),
            },
            // Lowering only makes softmaxes over edges; left undecided, the printer reports it.
            _ => Strategy::Generic,
        },
        Rhs::Expr(e) => match p.tensor(eq.lhs).domain {
            Domain::Node => {
                let (gathers, rest) = neighbourhood_terms(p, eq, e).unwrap_or_default();
                Strategy::NodeRows {
                    gathers,
                    rest,
                    head_walk: None,
                }
            }
            Domain::Edge(_) => Strategy::EdgeRows {
                block_sums: None,
                prefetch_ahead: Vec::new(),
            },
            Domain::Dense => match *p.arena.get(e) {
                Node::Reduce {
                    op: ReduceOp::Sum,
                    range: Range::AllNodes(r) | Range::AllEdges(r),
                    body,
                } => Strategy::ChunkedSum {
                    over: r,
                    body,
                    prefetch_ahead: Vec::new(),
                },
                _ => Strategy::DenseLoops,
            },
        },
        _ => Strategy::Generic,
    }
}

/// The stored score tensor a softmax normalises, when its body is one read of it at the
/// softmax's own edge and dense variables.
pub(crate) fn stored_scores(p: &Program, eq: &Equation, body: ExprId) -> Option<TensorId> {
    match p.arena.get(body) {
        Node::Access {
            tensor,
            at: Some(At::Edge(x)),
            dense,
        } if *x == eq.vars[0] && dense[..] == eq.vars[1..] => Some(*tensor),
        _ => None,
    }
}

/// Splits the right-hand side of a node equation with dense axes into sums over the in- or
/// out-edges of its node and the remaining terms; `None` if there is no such sum.
fn neighbourhood_terms(
    p: &Program,
    eq: &Equation,
    e: ExprId,
) -> Option<(Vec<Gather>, Vec<ExprId>)> {
    if eq.vars.len() < 2 {
        return None;
    }
    let mut terms = Vec::new();
    flatten_add(p, e, &mut terms);
    let mut gathers = Vec::new();
    let mut rest = Vec::new();
    for t in terms {
        match *p.arena.get(t) {
            Node::Reduce {
                op: ReduceOp::Sum,
                range:
                    range @ (Range::InEdges {
                        of: At::Node(n), ..
                    }
                    | Range::OutEdges {
                        of: At::Node(n), ..
                    }),
                body,
            } if n == eq.vars[0] => gathers.push(Gather {
                range,
                body,
                prefetch: Vec::new(),
                prefetch_edges: Vec::new(),
            }),
            _ => rest.push(t),
        }
    }
    if gathers.is_empty() {
        return None;
    }
    Some((gathers, rest))
}

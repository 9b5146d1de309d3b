//! Head walks: a node equation of a fused kernel that reduces over heads a sum over the node's
//! in-edges, `out[i, c] = mean_h Σ_{j → i} body[h, c] (+ rest)` (GATv2Conv with `concat=False`),
//! walks the edges once with every head's sum in its own row of scratch. The sums then meet per
//! output entry as before: each head's sum starts from zero and adds the edges in CSR order, heads
//! are added in order from zero and the mean divides by their count — the same bits as heads
//! outside, which walk the edges once per head and output entry.

use super::super::walk::has_reduce;
use super::super::{Gather, HeadWalk, Plan, Strategy};
use crate::ir::*;

/// The pass.
pub(super) fn run(plan: &mut Plan) {
    for (kernels, eqs) in [
        (&mut plan.forward, &plan.forward_eqs),
        (&mut plan.backward, &plan.backward_eqs),
    ] {
        for k in kernels.iter_mut().filter(|k| k.fused.is_some()) {
            for step in &mut k.steps {
                if let Strategy::NodeRows { head_walk, .. } = &mut step.strategy {
                    *head_walk = walk(&plan.program, &eqs[step.eq]);
                }
            }
        }
    }
}

/// The head-walk form of a node equation.
pub(crate) fn walk(p: &Program, eq: &Equation) -> Option<HeadWalk> {
    let Rhs::Expr(e) = eq.rhs else {
        return None;
    };
    let (n, dense) = (eq.vars[0], &eq.vars[1..]);
    if dense.is_empty() {
        return None;
    }
    let heads = |x: ExprId| match *p.arena.get(x) {
        Node::Reduce {
            op: op @ (ReduceOp::Mean | ReduceOp::Sum),
            range: Range::Dense(h),
            body,
        } => match *p.arena.get(body) {
            Node::Reduce {
                op: ReduceOp::Sum,
                range:
                    range @ Range::InEdges {
                        of: At::Node(of), ..
                    },
                body,
            } if of == n && !dense.contains(&h) && !has_reduce(p, body) => {
                Some((op, h, range, body))
            }
            _ => None,
        },
        _ => None,
    };
    let (reduction, rest) = match *p.arena.get(e) {
        Node::Add(a, b) => match (heads(a), heads(b)) {
            (Some(r), None) if !has_reduce(p, b) => (r, Some((b, false))),
            (None, Some(r)) if !has_reduce(p, a) => (r, Some((a, true))),
            _ => return None,
        },
        _ => (heads(e)?, None),
    };
    let (op, head, range, body) = reduction;
    let VarKind::Dense(_) = p.var(head).kind else {
        return None;
    };
    Some(HeadWalk {
        op,
        head,
        gather: Gather {
            range,
            body,
            prefetch: Vec::new(),
            prefetch_edges: Vec::new(),
        },
        rest,
    })
}

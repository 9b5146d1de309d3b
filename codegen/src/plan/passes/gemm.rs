//! GEMM selection: `out[n, O] = Σ_S X[n, S] · W[O, S] (+ …) (+ bias[O])` (a node tensor times a
//! dense one) and `out[P, Q] = Σ_n A[n, P] · B[n, Q] (+ …)` (the weight gradient) become matrix
//! products; any other form is left undecided.

use super::super::walk::flatten_add;
use super::super::{GemmTTerm, GemmTerm, Plan, Strategy};
use crate::ir::*;

/// The pass: decides every equation of a GEMM form.
pub(super) fn run(plan: &mut Plan) {
    super::decide_generic(plan, matmul);
}

/// The GEMM strategy of an equation, if it has a GEMM form.
pub(crate) fn matmul(p: &Program, eq: &Equation) -> Option<Strategy> {
    let Rhs::Expr(e) = eq.rhs else {
        return None;
    };
    match p.tensor(eq.lhs).domain {
        Domain::Node => node_matmul(p, eq, e),
        Domain::Dense => {
            let Node::Reduce {
                op: ReduceOp::Sum,
                range: Range::AllNodes(n),
                body,
            } = *p.arena.get(e)
            else {
                return None;
            };
            transposed_matmul(p, eq, n, body)
        }
        Domain::Edge(_) => None,
    }
}

fn is_bias(p: &Program, e: ExprId, o: &[VarId]) -> bool {
    matches!(p.arena.get(e), Node::Access { at: None, dense, .. } if dense == o)
}

/// The tensor and dense indices of `e` when it reads a node tensor at node `n`.
fn node_read(p: &Program, e: ExprId, n: VarId) -> Option<(TensorId, Vec<VarId>)> {
    match p.arena.get(e) {
        Node::Access {
            tensor,
            at: Some(At::Node(x)),
            dense,
        } if *x == n => Some((*tensor, dense.clone())),
        _ => None,
    }
}

fn node_matmul(p: &Program, eq: &Equation, e: ExprId) -> Option<Strategy> {
    let n = eq.vars[0];
    let o = &eq.vars[1..];
    let (core, bias) = match *p.arena.get(e) {
        Node::Add(a, b) if is_bias(p, b, o) => (a, Some(b)),
        Node::Add(a, b) if is_bias(p, a, o) => (b, Some(a)),
        _ => (e, None),
    };
    let mut s_vars = Vec::new();
    let mut body = core;
    while let Node::Reduce {
        op: ReduceOp::Sum,
        range: Range::Dense(v),
        body: b,
    } = *p.arena.get(body)
    {
        s_vars.push(v);
        body = b;
    }
    if s_vars.is_empty() {
        return None;
    }
    let mut products = Vec::new();
    flatten_add(p, body, &mut products);
    let mut terms = Vec::new();
    for term in products {
        let Node::Mul(a, b) = *p.arena.get(term) else {
            return None;
        };
        let (x, w) = if node_read(p, a, n).is_some_and(|(_, d)| d == s_vars) {
            (a, b)
        } else {
            (b, a)
        };
        let (xt, xd) = node_read(p, x, n)?;
        let Node::Access {
            tensor: wt,
            at: None,
            dense: wd,
        } = p.arena.get(w).clone()
        else {
            return None;
        };
        if xd != s_vars {
            return None;
        }
        let os: Vec<VarId> = o.iter().chain(&s_vars).copied().collect();
        let so: Vec<VarId> = s_vars.iter().chain(o).copied().collect();
        let w_out_first = if wd == os {
            true
        } else if wd == so {
            false
        } else {
            return None;
        };
        terms.push(GemmTerm {
            x: xt,
            w: wt,
            contracted: s_vars.clone(),
            w_out_first,
        });
    }
    let bias = match bias {
        Some(b) => match p.arena.get(b) {
            Node::Access { tensor, .. } => Some(*tensor),
            _ => return None,
        },
        None => None,
    };
    Some(Strategy::Gemm { terms, bias })
}

fn transposed_matmul(p: &Program, eq: &Equation, n: VarId, body: ExprId) -> Option<Strategy> {
    let mut products = Vec::new();
    flatten_add(p, body, &mut products);
    let mut terms = Vec::new();
    for term in products {
        let Node::Mul(a, b) = *p.arena.get(term) else {
            return None;
        };
        let (Some((at_, ad)), Some((bt, bd))) = (node_read(p, a, n), node_read(p, b, n)) else {
            return None;
        };
        if ad.is_empty() || bd.is_empty() {
            return None;
        }
        let cat: Vec<VarId> = ad.iter().chain(&bd).copied().collect();
        if cat != eq.vars {
            return None;
        }
        terms.push(GemmTTerm {
            a: at_,
            a_vars: ad,
            b: bt,
            b_vars: bd,
        });
    }
    Some(Strategy::GemmTransposed { terms })
}

//! Copies are not evaluated: an equation `T[v] = A[v]` that only copies another tensor of the same
//! shape (the adjoint `∂res[n, h, c] = ∂out[n, h, c]` of a tensor added to the output) is dropped,
//! and every read of `T` reads `A` instead. `T` is then never stored. Tensors read from outside
//! the generated code (the output, the loss, the attention and its adjoint, gradients of inputs
//! and parameters) and tensors read whole (by a reshape, a loop fill or the loss) are kept.

use super::super::Plan;
use crate::ir::*;
use std::collections::{HashMap, HashSet};

/// The pass: forwards every copy, then starts the kernels afresh (it runs before any strategy is
/// decided).
pub(super) fn run(plan: &mut Plan) {
    let p = &plan.program;
    let mut keep: HashSet<TensorId> = [Some(p.output), p.attention, p.loss, p.seed]
        .into_iter()
        .flatten()
        .collect();
    keep.extend(p.grads.iter().map(|&(_, g)| g));
    for eq in plan.forward_eqs.iter().chain(&plan.backward_eqs) {
        match eq.rhs {
            Rhs::Reshape(t) | Rhs::LoopFill(t) | Rhs::LoopFillAdjoint(t) => {
                keep.insert(t);
            }
            Rhs::CrossEntropy { logits, .. } => {
                keep.insert(logits);
            }
            Rhs::Softmax(_) => {
                keep.insert(eq.lhs);
            }
            Rhs::Expr(_) => {}
        }
    }
    for (k, t) in p.tensors.iter().enumerate() {
        if let Role::Adjoint(of) = t.role {
            if keep.contains(&of) && p.equations.iter().any(|e| e.lhs == of) {
                keep.insert(TensorId(k as u32));
            }
        }
    }
    let mut alias: HashMap<TensorId, TensorId> = HashMap::new();
    for eq in plan.forward_eqs.iter().chain(&plan.backward_eqs) {
        if let Some(src) = copy_of(p, eq) {
            if !keep.contains(&eq.lhs) {
                let src = alias.get(&src).copied().unwrap_or(src);
                alias.insert(eq.lhs, src);
            }
        }
    }
    if alias.is_empty() {
        return;
    }
    let mut p = std::mem::take(&mut plan.program);
    for eqs in [&mut plan.forward_eqs, &mut plan.backward_eqs] {
        eqs.retain(|eq| !alias.contains_key(&eq.lhs));
        for eq in eqs.iter_mut() {
            if let Rhs::Expr(e) | Rhs::Softmax(e) = eq.rhs {
                let e2 = rename_reads(&mut p, e, &alias);
                eq.rhs = match eq.rhs {
                    Rhs::Softmax(_) => Rhs::Softmax(e2),
                    _ => Rhs::Expr(e2),
                };
            }
        }
    }
    plan.program = p;
    plan.inlined.extend(alias.keys().copied());
    plan.forward = super::kernels(&plan.forward_eqs);
    plan.backward = super::kernels(&plan.backward_eqs);
}

/// `Some(A)` when `eq` is `T[v] = A[v]`, `A` another tensor of `T`'s domain and dims.
fn copy_of(p: &Program, eq: &Equation) -> Option<TensorId> {
    let Rhs::Expr(e) = eq.rhs else {
        return None;
    };
    let Node::Access { tensor, at, dense } = p.arena.get(e) else {
        return None;
    };
    let (t, a) = (p.tensor(eq.lhs), p.tensor(*tensor));
    if *tensor == eq.lhs || t.domain != a.domain || t.dims != a.dims {
        return None;
    }
    let vars: Vec<VarId> = at.iter().map(|at| at.var()).chain(dense.clone()).collect();
    let same_place = matches!(
        (t.domain, at),
        (Domain::Dense, None)
            | (Domain::Node, Some(At::Node(_)))
            | (Domain::Edge(_), Some(At::Edge(_)))
    );
    (same_place && vars == eq.vars).then_some(*tensor)
}

/// `e` with every read of a key of `alias` reading its value instead, the tree's shape unchanged
/// (an explicit stack: children are rebuilt before their parents).
fn rename_reads(p: &mut Program, e: ExprId, alias: &HashMap<TensorId, TensorId>) -> ExprId {
    let mut read = Vec::new();
    p.tensors_read(e, &mut read);
    if !read.iter().any(|t| alias.contains_key(t)) {
        return e;
    }
    let mut done: HashMap<ExprId, ExprId> = HashMap::new();
    let mut stack = vec![(e, false)];
    while let Some((x, children_done)) = stack.pop() {
        if done.contains_key(&x) {
            continue;
        }
        let kids = p.arena.children(x);
        if !children_done {
            stack.push((x, true));
            stack.extend(kids.into_iter().map(|c| (c, false)));
            continue;
        }
        let m = |c: ExprId| done.get(&c).copied().unwrap_or(c);
        let node = match p.arena.get(x).clone() {
            Node::Access { tensor, at, dense } => Node::Access {
                tensor: alias.get(&tensor).copied().unwrap_or(tensor),
                at,
                dense,
            },
            Node::Add(a, b) => Node::Add(m(a), m(b)),
            Node::Sub(a, b) => Node::Sub(m(a), m(b)),
            Node::Mul(a, b) => Node::Mul(m(a), m(b)),
            Node::Div(a, b) => Node::Div(m(a), m(b)),
            Node::Neg(a) => Node::Neg(m(a)),
            Node::Pow(a, s) => Node::Pow(m(a), s),
            Node::Call(f, a, arg) => Node::Call(f, m(a), arg),
            Node::Reduce { op, range, body } => Node::Reduce {
                op,
                range,
                body: m(body),
            },
            leaf => leaf,
        };
        let new = p.arena.intern(node);
        done.insert(x, new);
    }
    done[&e]
}

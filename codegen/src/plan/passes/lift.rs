//! Lifting inline contractions: a term `Σ_S W[O, S] · X[n, S]` of a larger node equation
//! (`out[i, h, c] = Σ_{j → i} α · xl[j, h, c] + Σ_f W_res[h, c, f] · x[i, f] + bias[h, c]`) becomes
//! its own tensor, defined by an equation of GEMM form, so it is computed by one GEMM (or sparse ×
//! dense product) instead of a dot product per entry inside the row loop. The equation then reads
//! the lifted tensor where the term was; the shape of its sum is kept, so the terms are still
//! added in the order written.
//!
//! The lifted equation is placed right after the last equation of its phase that defines a tensor
//! it reads (first when it reads none), where a user writing it as its own tensor would put it.

use super::super::walk::reads;
use super::super::Plan;
use super::gemm::matmul;
use crate::ir::*;
use std::collections::HashMap;

/// The pass: lifts the contraction terms of both phases, then starts the kernels afresh (it runs
/// before any strategy is decided).
pub(super) fn run(plan: &mut Plan) {
    let mut p = std::mem::take(&mut plan.program);
    plan.forward_eqs = lift_all(&mut p, std::mem::take(&mut plan.forward_eqs));
    plan.backward_eqs = lift_all(&mut p, std::mem::take(&mut plan.backward_eqs));
    plan.program = p;
    plan.forward = super::kernels(&plan.forward_eqs);
    plan.backward = super::kernels(&plan.backward_eqs);
}

/// The equations of one phase with every contraction term lifted.
fn lift_all(p: &mut Program, eqs: Vec<Equation>) -> Vec<Equation> {
    let mut out: Vec<Equation> = Vec::with_capacity(eqs.len());
    for mut eq in eqs {
        for lifted in lift_equation(p, &mut eq) {
            let read = reads(p, &lifted);
            let at = out
                .iter()
                .rposition(|e| read.contains(&e.lhs))
                .map_or(0, |k| k + 1);
            out.insert(at, lifted);
        }
        out.push(eq);
    }
    out
}

/// Replaces the contraction terms of `eq` (a node equation that is not itself of GEMM form) by
/// reads of new tensors; returns the equations defining them.
fn lift_equation(p: &mut Program, eq: &mut Equation) -> Vec<Equation> {
    let Rhs::Expr(e) = eq.rhs else {
        return Vec::new();
    };
    if p.tensor(eq.lhs).domain != Domain::Node
        || !matches!(p.arena.get(e), Node::Add(..))
        || matmul(p, eq).is_some()
    {
        return Vec::new();
    }
    let mut terms = Vec::new();
    add_terms(p, e, &mut terms);
    let mut lifted = Vec::new();
    let mut repl = HashMap::new();
    for term in terms {
        if repl.contains_key(&term) {
            continue;
        }
        if let Some((def, read)) = as_lifted(p, eq, term) {
            lifted.push(def);
            repl.insert(term, read);
        }
    }
    if !lifted.is_empty() {
        eq.rhs = Rhs::Expr(replace_terms(p, e, &repl));
    }
    lifted
}

/// The terms of the chain of `+` at `e` (not looking through `-` or any other node).
fn add_terms(p: &Program, e: ExprId, out: &mut Vec<ExprId>) {
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        match *p.arena.get(x) {
            Node::Add(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            _ => out.push(x),
        }
    }
}

/// `term` as the equation of a new node tensor `lifted[n, O'] = term` when that equation has GEMM
/// form, with the read that replaces it.
fn as_lifted(p: &mut Program, eq: &Equation, term: ExprId) -> Option<(Equation, ExprId)> {
    if !matches!(
        p.arena.get(term),
        Node::Reduce {
            op: ReduceOp::Sum,
            range: Range::Dense(_),
            ..
        }
    ) {
        return None;
    }
    let n = eq.vars[0];
    let free = p.arena.free_vars(term).to_vec();
    if !free.contains(&n) || free.iter().any(|v| !eq.vars.contains(v)) {
        return None;
    }
    let vars: Vec<VarId> = eq
        .vars
        .iter()
        .copied()
        .filter(|v| free.contains(v))
        .collect();
    let mut dims = Vec::new();
    for v in &vars[1..] {
        let VarKind::Dense(d) = p.var(*v).kind else {
            return None;
        };
        dims.push(d);
    }
    let k = p.tensors.len();
    let candidate = Equation {
        lhs: TensorId(k as u32),
        vars: vars.clone(),
        rhs: Rhs::Expr(term),
    };
    p.add_tensor(Tensor {
        name: format!("lifted{k}"),
        external: format!("lifted{k}"),
        domain: Domain::Node,
        dims,
        external_shape: None,
        role: Role::Defined,
        index_names: vars.iter().map(|v| p.var(*v).name.clone()).collect(),
    });
    if matmul(p, &candidate).is_none() {
        p.tensors.pop();
        return None;
    }
    let read = p.arena.intern(Node::Access {
        tensor: candidate.lhs,
        at: Some(At::Node(n)),
        dense: vars[1..].to_vec(),
    });
    Some((candidate, read))
}

/// `e` with the terms of its chain of `+` replaced as `repl` says, the tree's shape unchanged.
fn replace_terms(p: &mut Program, e: ExprId, repl: &HashMap<ExprId, ExprId>) -> ExprId {
    // The spine of `+` nodes, parents before children; rebuilt children first.
    let mut spine = Vec::new();
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        if let Node::Add(a, b) = *p.arena.get(x) {
            spine.push(x);
            stack.push(a);
            stack.push(b);
        }
    }
    let mut done: HashMap<ExprId, ExprId> = repl.clone();
    for &x in spine.iter().rev() {
        let Node::Add(a, b) = *p.arena.get(x) else {
            continue;
        };
        let a2 = done.get(&a).copied().unwrap_or(a);
        let b2 = done.get(&b).copied().unwrap_or(b);
        let new = p.arena.intern(Node::Add(a2, b2));
        done.insert(x, new);
    }
    done[&e]
}

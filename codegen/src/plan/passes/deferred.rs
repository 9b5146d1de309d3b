//! Deferred `elu`: an entry-wise equation `q · f(x)` (or `f(x) · q`) where `f` is `elu` or `elu'`,
//! whose `x ≤ 0` branch calls `exp`/`expm1` (10–15 ns per entry in libm), is evaluated in two
//! passes:
//!
//! 1. every entry with `f` replaced by a cheap stand-in (`f::elu_sign`, `f::elu_grad_sign`), exact
//!    where `x > 0`; elsewhere of the same sign and class as `f(x)`, so its product with a zero has
//!    the same bits;
//! 2. the entries that need the exact value recomputed: `x ≤ 0` (or NaN), and, when `q` has a
//!    dropout mask among its factors, only where that mask is non-zero (elsewhere `q` is ±0 or
//!    NaN, and so is the product, whatever `f(x)` is).
//!
//! After dropout 0.6 that is one entry in five instead of every one. The results are the same
//! bits as one pass.

use super::super::{Deferred, Plan, Strategy};
use crate::ir::*;

/// The pass.
pub(super) fn run(plan: &mut Plan) {
    for (kernels, eqs) in [
        (&mut plan.forward, &plan.forward_eqs),
        (&mut plan.backward, &plan.backward_eqs),
    ] {
        for step in kernels.iter_mut().flat_map(|k| k.steps.iter_mut()) {
            if let Strategy::Entrywise { deferred } = &mut step.strategy {
                *deferred = deferral(&plan.program, &eqs[step.eq]);
            }
        }
    }
}

/// The two passes of an entry-wise equation of that form.
pub(crate) fn deferral(p: &Program, eq: &Equation) -> Option<Deferred> {
    let Rhs::Expr(e) = eq.rhs else {
        return None;
    };
    let Node::Mul(l, r) = *p.arena.get(e) else {
        return None;
    };
    let call = |x: ExprId| match *p.arena.get(x) {
        Node::Call(func @ (Func::Elu | Func::EluGrad), a, Some(s)) => Some((func, a, s)),
        _ => None,
    };
    let ((func, arg, alpha), other, call_left) = match (call(l), call(r)) {
        (Some(c), _) => (c, r, true),
        (None, Some(c)) => (c, l, false),
        (None, None) => return None,
    };
    Some(Deferred {
        func,
        arg,
        alpha,
        other,
        call_left,
        mask: mask_factor(p, eq, other),
    })
}

/// A factor of the product `q` that reads a dropout mask at the equation's own `[n, f]`.
fn mask_factor(p: &Program, eq: &Equation, q: ExprId) -> Option<ExprId> {
    match p.arena.get(q) {
        Node::Mul(a, b) => mask_factor(p, eq, *a).or_else(|| mask_factor(p, eq, *b)),
        Node::Access {
            tensor,
            at: Some(At::Node(n)),
            dense,
        } if Some(n) == eq.vars.first()
            && dense[..] == eq.vars[1..]
            && matches!(p.tensor(*tensor).role, Role::Dropout { .. }) =>
        {
            Some(q)
        }
        _ => None,
    }
}

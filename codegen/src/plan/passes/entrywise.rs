//! Entry-wise node equations: `T[n, f] = e` without reductions is computed entry by entry, and
//! only over its zero pattern when it has one. Decides which tensors may be stored compactly:
//! inputs and dropout masks of shape `[N, F]` and the results of entry-wise equations.

use super::super::walk::has_reduce;
use super::super::{Plan, Strategy};
use crate::ir::*;

/// The pass.
pub(super) fn run(plan: &mut Plan) {
    super::decide_generic(plan, |p, eq| {
        entrywise(p, eq).then_some(Strategy::Entrywise { deferred: None })
    });
    let p = &plan.program;
    let mut compact: std::collections::BTreeSet<TensorId> = p
        .equations
        .iter()
        .chain(&p.backward)
        .filter(|eq| entrywise(p, eq))
        .map(|eq| eq.lhs)
        .collect();
    for (k, t) in p.tensors.iter().enumerate() {
        if t.domain == Domain::Node
            && t.dims.len() == 1
            && matches!(t.role, Role::Input | Role::Dropout { .. })
        {
            compact.insert(TensorId(k as u32));
        }
    }
    plan.compact = compact;
}

/// A node equation `T[n, f] = e` without reductions.
pub(crate) fn entrywise(p: &Program, eq: &Equation) -> bool {
    matches!(eq.rhs, Rhs::Expr(e) if p.tensor(eq.lhs).domain == Domain::Node
        && eq.vars.len() == 2
        && !has_reduce(p, e))
}

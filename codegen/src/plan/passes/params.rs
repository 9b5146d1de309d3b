//! Which backward kernels parameter gradients need: training calls `backward_params`, which skips
//! what only input gradients need (`d x` of a bag-of-words input is an N × F product).

use super::super::walk::reads;
use super::super::Plan;
use crate::ir::*;

/// The pass: marks each backward kernel (one equation each at this point).
pub(super) fn run(plan: &mut Plan) {
    let keep = needed_for_params(&plan.program, &plan.backward_eqs);
    for k in &mut plan.backward {
        k.for_params = k.eqs.clone().any(|e| keep[e]);
    }
}

/// Per backward equation: whether a parameter's gradient depends on it.
pub(crate) fn needed_for_params(p: &Program, backward: &[Equation]) -> Vec<bool> {
    let mut needed: Vec<TensorId> = p
        .grads
        .iter()
        .filter(|(leaf, _)| p.tensor(*leaf).role == Role::Param)
        .map(|(_, g)| *g)
        .collect();
    let mut keep = vec![false; backward.len()];
    for (k, eq) in backward.iter().enumerate().rev() {
        if !needed.contains(&eq.lhs) {
            continue;
        }
        keep[k] = true;
        needed.extend(reads(p, eq));
    }
    keep
}

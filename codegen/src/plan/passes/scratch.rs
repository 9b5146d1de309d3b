//! Edge tensors that live for one target only: a fused kernel that defines an edge tensor and is
//! its only reader never stores `E` rows of it, only the visited target's in-edges, in a buffer
//! of the task (`TargetOut::scratch`). This is liveness at the granularity of a kernel: such a
//! tensor is dead once the pass over its target moves on.

use super::super::walk::reads;
use super::super::{Phase, Plan, Strategy};
use crate::ir::*;
use std::collections::BTreeSet;

/// The pass: fills [`Plan::scratch`].
pub(super) fn run(plan: &mut Plan) {
    let p = &plan.program;
    let softmax_outputs: BTreeSet<TensorId> = plan
        .forward_eqs
        .iter()
        .filter(|eq| matches!(eq.rhs, Rhs::Softmax(_)))
        .map(|eq| eq.lhs)
        .collect();
    // What callers read after a run: the output, the loss, attention weights, the seed, and every
    // gradient of an input or a parameter; diagnostics also read the softmax outputs (attention
    // weights of each layer) and their adjoints.
    let mut observed: BTreeSet<TensorId> = [Some(p.output), p.loss, p.attention, p.seed]
        .into_iter()
        .flatten()
        .collect();
    observed.extend(p.grads.iter().map(|(_, g)| *g));
    observed.extend(softmax_outputs.iter().copied());
    for (k, t) in p.tensors.iter().enumerate() {
        if let Role::Adjoint(of) = t.role {
            if softmax_outputs.contains(&of) {
                observed.insert(TensorId(k as u32));
            }
        }
    }
    let mut scratch = BTreeSet::new();
    for phase in [Phase::Forward, Phase::Backward] {
        let eqs = plan.equations(phase);
        for (k, kernel) in plan.kernels(phase).iter().enumerate() {
            let Some(g) = kernel.fused else { continue };
            for step in &kernel.steps {
                let t = eqs[step.eq].lhs;
                if p.tensor(t).domain != Domain::Edge(g)
                    || observed.contains(&t)
                    || matches!(step.strategy, Strategy::TargetSoftmax { .. })
                    || read_elsewhere(plan, phase, k, t)
                {
                    continue;
                }
                scratch.insert(t);
            }
        }
    }
    plan.scratch = scratch;
}

/// Whether any kernel but kernel `k` of `phase` reads `t` (in either phase).
fn read_elsewhere(plan: &Plan, phase: Phase, k: usize, t: TensorId) -> bool {
    [Phase::Forward, Phase::Backward].into_iter().any(|ph| {
        let eqs = plan.equations(ph);
        plan.kernels(ph).iter().enumerate().any(|(j, kernel)| {
            (ph != phase || j != k)
                && kernel
                    .eqs
                    .clone()
                    .any(|e| reads(&plan.program, &eqs[e]).contains(&t))
        })
    })
}

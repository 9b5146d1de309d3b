//! A sum over every edge of a graph into a dense tensor (a parameter gradient such as
//! `∂att[h, c] = Σ_{i ← j ∈ E} ∂s[i ← j, h] · leaky_relu(xl[j] + xr[i])`) joins the fused pass over
//! that graph's targets that computes what it reads, instead of a pass of its own that gathers
//! the same rows again. The fused pass then visits targets in the chunks a separate sum uses
//! (`CHUNK` targets, each chunk's sum from zero, chunks added in order), so the bits stay the same.
//!
//! The sum moves to just after the fused kernel's equations; that reorders the backward, which is
//! sound because nothing between them writes what the sum reads or touches what it writes.

use super::super::walk::reads;
use super::super::{Plan, Step, Strategy};
use super::fuse::owned;
use crate::ir::*;

/// The pass: folds every such sum, one at a time, into the nearest fused kernel before it.
pub(super) fn run(plan: &mut Plan) {
    while let Some((sum, into)) = find(plan) {
        fold(plan, sum, into);
    }
}

/// `(k, f)`: backward kernel `k`, a sum over all edges of graph `g`, can join fused kernel `f`.
fn find(plan: &Plan) -> Option<(usize, usize)> {
    let p = &plan.program;
    let eqs = &plan.backward_eqs;
    for (k, kernel) in plan.backward.iter().enumerate() {
        let (None, [step]) = (kernel.fused, &kernel.steps[..]) else {
            continue;
        };
        let Strategy::ChunkedSum { over, body, .. } = step.strategy else {
            continue;
        };
        let VarKind::Edge(g) = p.var(over).kind else {
            continue;
        };
        let eq = &eqs[step.eq];
        let read = reads(p, eq);
        for f in (0..k).rev() {
            let fk = &plan.backward[f];
            let written: Vec<TensorId> = fk.eqs.clone().map(|e| eqs[e].lhs).collect();
            if fk.fused == Some(g)
                && (kernel.for_params || !fk.for_params)
                && owned(p, body, &written, &[over], &[])
                && plan.backward[f + 1..k].iter().all(|between| {
                    between.eqs.clone().all(|e| {
                        !read.contains(&eqs[e].lhs)
                            && eqs[e].lhs != eq.lhs
                            && !reads(p, &eqs[e]).contains(&eq.lhs)
                    })
                })
            {
                return Some((k, f));
            }
            if written.iter().any(|t| read.contains(t)) {
                break;
            }
        }
    }
    None
}

/// Moves the equation of kernel `sum` to just after fused kernel `into`'s equations and makes it
/// that kernel's last step.
fn fold(plan: &mut Plan, sum: usize, into: usize) {
    let kernel = plan.backward.remove(sum);
    let from = kernel.steps[0].eq;
    let Strategy::ChunkedSum { over, body, .. } = kernel.steps[0].strategy else {
        unreachable!("only sums are folded")
    };
    let to = plan.backward[into].eqs.end;
    let eq = plan.backward_eqs.remove(from);
    plan.backward_eqs.insert(to, eq);
    // Equations `to..from` move one place later.
    let renumber = |e: usize| if (to..from).contains(&e) { e + 1 } else { e };
    for k in &mut plan.backward {
        k.eqs = renumber(k.eqs.start)..renumber(k.eqs.end - 1) + 1;
        for s in &mut k.steps {
            s.eq = renumber(s.eq);
        }
    }
    let target = &mut plan.backward[into];
    target.eqs.end += 1;
    target.for_params |= kernel.for_params;
    target.steps.push(Step {
        eq: to,
        strategy: Strategy::TargetSum { over, body },
    });
}

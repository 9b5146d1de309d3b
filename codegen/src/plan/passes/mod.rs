//! The passes that build a plan, in order. Each is a function from plan to plan that makes one
//! kind of decision; each has unit tests on small plans (`tests.rs`).

mod copies;
mod deferred;
mod entrywise;
mod fold;
mod fuse;
mod gemm;
mod heads;
mod lift;
mod loops;
mod params;
mod prefetch;
mod scratch;
#[cfg(test)]
mod tests;

use super::{schedule, Kernel, Plan, Strategy};
use crate::ir::*;

/// A named pass over a plan.
pub struct Pass {
    /// Its name, as `gatgrad plan --after NAME` takes it.
    pub name: &'static str,
    /// What it decides, in one line.
    pub about: &'static str,
    /// The rewrite.
    pub run: fn(&mut Plan),
}

/// The pipeline, in order.
pub const PASSES: &[Pass] = &[
    Pass {
        name: "schedule",
        about: "edge tensors with two or more dense axes are inlined where read (never stored); per-node statistics are hoisted out of edge and node rows",
        run: schedule_pass,
    },
    Pass {
        name: "copies",
        about: "equations that only copy another tensor (∂res = ∂out) are dropped; their readers read the original",
        run: copies::run,
    },
    Pass {
        name: "lift",
        about: "a contraction of a node tensor with a dense tensor inside a larger node equation becomes its own tensor, computed by a GEMM",
        run: lift::run,
    },
    Pass {
        name: "gemm",
        about: "contractions of a node tensor with a dense tensor, and their adjoints, become GEMMs (or sparse × dense products)",
        run: gemm::run,
    },
    Pass {
        name: "entrywise",
        about: "node equations [n, f] without reductions are computed entry by entry; which tensors may be stored compactly",
        run: entrywise::run,
    },
    Pass {
        name: "loops",
        about: "every other equation gets its loop: softmax, node rows (neighbourhood sums edges outside), edge rows, chunked sums into parameters, dense loops",
        run: loops::run,
    },
    Pass {
        name: "deferred",
        about: "entry-wise q · elu(x) and q · elu'(x) in two passes: a cheap stand-in, then exp/expm1 only where needed",
        run: deferred::run,
    },
    Pass {
        name: "params",
        about: "marks the backward kernels parameter gradients need (backward_params skips input gradients)",
        run: params::run,
    },
    Pass {
        name: "fuse",
        about: "consecutive equations local to the targets of one graph become one pass over targets",
        run: fuse::run,
    },
    Pass {
        name: "fold_sums",
        about: "a sum over every edge into a parameter gradient joins the fused pass over targets that computes what it reads (same chunks, same bits)",
        run: fold::run,
    },
    Pass {
        name: "block_sums",
        about: "in fused kernels, per-head sums of contiguous [h, c] blocks become one flat loop of terms",
        run: fuse::block_sums,
    },
    Pass {
        name: "head_walk",
        about: "in fused kernels, a mean over heads of in-edge sums walks the edges once",
        run: heads::run,
    },
    Pass {
        name: "prefetch",
        about: "rows gathered at the far end of edges are prefetched: the next target's neighbourhood, or a few edges ahead",
        run: prefetch::run,
    },
    Pass {
        name: "scratch",
        about: "edge tensors that only their own fused kernel reads are kept for the visited target only (never stored)",
        run: scratch::run,
    },
];

/// The plan before any pass: the program's equations as written, one undecided kernel each.
pub(super) fn initial(p: &Program) -> Plan {
    Plan {
        forward: kernels(&p.equations),
        backward: kernels(&p.backward),
        forward_eqs: p.equations.clone(),
        backward_eqs: p.backward.clone(),
        program: p.clone(),
        inlined: Default::default(),
        compact: Default::default(),
        scratch: Default::default(),
    }
}

/// One kernel per equation; equations whose kind fixes their evaluation (reshape, loop fill,
/// cross-entropy) get it, the rest are undecided.
fn kernels(eqs: &[Equation]) -> Vec<Kernel> {
    eqs.iter()
        .enumerate()
        .map(|(k, eq)| {
            let mut kernel = Kernel::single(k);
            kernel.steps[0].strategy = match eq.rhs {
                Rhs::Reshape(_) => Strategy::Reshape,
                Rhs::LoopFill(_) => Strategy::LoopFill { adjoint: false },
                Rhs::LoopFillAdjoint(_) => Strategy::LoopFill { adjoint: true },
                Rhs::CrossEntropy { .. } => Strategy::CrossEntropy,
                Rhs::Expr(_) | Rhs::Softmax(_) => Strategy::Generic,
            };
            kernel
        })
        .collect()
}

/// The `schedule` pass (see [`schedule`]): rewrites the equations, so it runs first and
/// starts the kernels afresh.
fn schedule_pass(plan: &mut Plan) {
    let s = schedule::schedule(&plan.program);
    plan.forward = kernels(&s.forward);
    plan.backward = kernels(&s.backward);
    plan.program = s.program;
    plan.forward_eqs = s.forward;
    plan.backward_eqs = s.backward;
    plan.inlined = s.inlined.into_iter().collect();
}

/// Applies `decide` to every undecided step of both phases: `Some` replaces its strategy.
pub(super) fn decide_generic(
    plan: &mut Plan,
    decide: impl Fn(&Program, &Equation) -> Option<Strategy>,
) {
    for (kernels, eqs) in [
        (&mut plan.forward, &plan.forward_eqs),
        (&mut plan.backward, &plan.backward_eqs),
    ] {
        for k in kernels.iter_mut() {
            for step in &mut k.steps {
                if step.strategy == Strategy::Generic {
                    if let Some(s) = decide(&plan.program, &eqs[step.eq]) {
                        step.strategy = s;
                    }
                }
            }
        }
    }
}

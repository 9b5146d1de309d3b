//! The kernel plan: every decision the generated code embodies, as data between the scheduled IR
//! and the printer (`emit`), in the way Halide keeps a schedule apart from its algorithm.
//!
//! A [`Plan`] is two lists of [`Kernel`]s, the forward and the backward. A kernel is one function
//! of the generated code: its loop domain, the equations it evaluates in order (one [`Step`]
//! each, with its [`Strategy`]), what it stores, and whether parameter gradients need it. The plan
//! is built by a pipeline of named passes ([`PASSES`]), each a function from plan to plan that
//! makes one decision (GEMM selection, entry-wise rows, neighbourhood order, deferred `elu`, fusion
//! by target, per-head block sums, head walks, prefetch), so any stage can be printed
//! (`gatgrad plan MODEL.gat --after PASS`) and each pass is unit-tested on small plans.
//!
//! Architecture invariant: a pass never changes what is computed, only how; the printer makes no
//! decisions, it spells out the plan.

mod display;
mod passes;
pub mod schedule;
pub(crate) mod walk;

pub use passes::{Pass, PASSES};

use crate::ir::*;
use std::collections::BTreeSet;
use std::ops::Range as Span;

/// The forward or the backward half of a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The forward equations, in order.
    Forward,
    /// The derivative equations, in order.
    Backward,
}

/// Every decision about how a differentiated program runs.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The scheduled program: hoisted per-node statistics appended to its tensors.
    pub program: Program,
    /// Forward equations, in evaluation order (after inlining and hoisting).
    pub forward_eqs: Vec<Equation>,
    /// Backward equations, in evaluation order (after inlining and hoisting).
    pub backward_eqs: Vec<Equation>,
    /// Tensors never stored: their definition is evaluated where they are read (in registers).
    pub inlined: BTreeSet<TensorId>,
    /// Tensors that may be stored in the compact layout of a zero pattern set at run time:
    /// inputs, dropout masks and entry-wise results of shape `[N, F]`.
    pub compact: BTreeSet<TensorId>,
    /// Edge tensors kept for one target at a time inside the fused kernel that defines them, its
    /// only reader: never stored (see the `scratch` pass).
    pub scratch: BTreeSet<TensorId>,
    /// The forward kernels, in order.
    pub forward: Vec<Kernel>,
    /// The backward kernels, in order.
    pub backward: Vec<Kernel>,
}

/// One function of the generated code.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    /// The indices of its equations in the phase's list (consecutive).
    pub eqs: Span<usize>,
    /// `Some(g)`: one parallel pass over the targets of graph `g`, evaluating every step's part
    /// for each target in turn; `None`: a single step over its own domain.
    pub fused: Option<GraphId>,
    /// One step per equation, in order.
    pub steps: Vec<Step>,
    /// Backward: parameter gradients need this kernel (`backward_params` calls it). Always true
    /// in the forward.
    pub for_params: bool,
    /// Fused kernels: node tensors gathered at the sources of in-edges, whose rows for the next
    /// target are prefetched while the current one is computed.
    pub prefetch_next_target: Vec<TensorId>,
}

/// One equation of a kernel and how it is evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The index of the equation in the phase's list.
    pub eq: usize,
    /// How its rows are computed.
    pub strategy: Strategy,
}

/// How one equation is evaluated.
#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    /// Not decided yet (only before the passes that decide run).
    Generic,
    /// A copy into another layout of the same memory.
    Reshape,
    /// PyG's self-loop feature fill (`adjoint`: its transpose).
    LoopFill {
        /// The transpose, accumulating loop rows back into the edges they were filled from.
        adjoint: bool,
    },
    /// The masked mean cross-entropy, one scalar.
    CrossEntropy,
    /// A softmax over the in-edges of each target.
    Softmax {
        /// The graph whose targets' in-edges it normalises over.
        graph: GraphId,
        /// `Some(t)`: the scores are the stored tensor `t`, normalised directly; `None`: the scores
        /// are computed edge by edge into a scratch buffer first.
        stored: Option<TensorId>,
    },
    /// `out[n, O] = Σ_S X[n, S] · W[O, S] (+ …) (+ bias[O])`: one GEMM (or sparse × dense product
    /// when `X` has a zero pattern) per term, then the bias.
    Gemm {
        /// The products, accumulated in order.
        terms: Vec<GemmTerm>,
        /// The bias added to every row.
        bias: Option<TensorId>,
    },
    /// `out[P, Q] = Σ_n A[n, P] · B[n, Q] (+ …)`: Aᵀ·B per term.
    GemmTransposed {
        /// The products, accumulated in order.
        terms: Vec<GemmTTerm>,
    },
    /// A node equation `T[n, f] = e` without reductions, entry by entry (only over the pattern, in
    /// the compact layout, when `T` has one).
    Entrywise {
        /// `q · elu(x)` or `q · elu'(x)`: a cheap pass, then the exact value where needed.
        deferred: Option<Deferred>,
    },
    /// A node equation, row by row in parallel.
    NodeRows {
        /// Sums over the node's in- or out-edges, evaluated edges outside and features inside
        /// (SpMM order), after the remaining terms.
        gathers: Vec<Gather>,
        /// The remaining terms (when `gathers` is not empty).
        rest: Vec<ExprId>,
        /// A mean (or sum) over heads of an in-edge sum, walking the edges once.
        head_walk: Option<HeadWalk>,
    },
    /// An edge equation, row by row in target order.
    EdgeRows {
        /// Per-head sums of contiguous `[h, c]` blocks as one flat loop of terms.
        block_sums: Option<BlockSums>,
        /// Node tensors read at the source of an edge a few places ahead, prefetched.
        prefetch_ahead: Vec<TensorId>,
    },
    /// A softmax inside a fused kernel: over the target's in-edges of the stored scores.
    TargetSoftmax {
        /// The score tensor.
        scores: TensorId,
    },
    /// A sum over all nodes or edges into a dense tensor (a parameter gradient): fixed chunks of
    /// rows, partial sums added in order.
    ChunkedSum {
        /// The variable of the rows summed over.
        over: VarId,
        /// The summand.
        body: ExprId,
        /// Node tensors read at the source of an edge a few places ahead, prefetched.
        prefetch_ahead: Vec<TensorId>,
    },
    /// A sum over every edge of a graph into a dense tensor, as a step of the fused pass over
    /// that graph's targets: each visited target adds its in-edges' terms, in the chunks of
    /// targets and the order of [`Strategy::ChunkedSum`] (the same bits).
    TargetSum {
        /// The edge variable summed over.
        over: VarId,
        /// The summand.
        body: ExprId,
    },
    /// A small dense equation: plain loops.
    DenseLoops,
}

/// One product of a [`Strategy::Gemm`].
#[derive(Clone, Debug, PartialEq)]
pub struct GemmTerm {
    /// The node tensor `X[n, S]`.
    pub x: TensorId,
    /// The dense tensor `W`.
    pub w: TensorId,
    /// The contracted variables `S`.
    pub contracted: Vec<VarId>,
    /// `W` is laid out `[O, S]` (else `[S, O]`).
    pub w_out_first: bool,
}

/// One product of a [`Strategy::GemmTransposed`].
#[derive(Clone, Debug, PartialEq)]
pub struct GemmTTerm {
    /// `A[n, P]`.
    pub a: TensorId,
    /// `P`.
    pub a_vars: Vec<VarId>,
    /// `B[n, Q]`.
    pub b: TensorId,
    /// `Q`.
    pub b_vars: Vec<VarId>,
}

/// The two passes of a deferred entry-wise equation `q · f(x)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Deferred {
    /// `f`: `elu` or `elu'`.
    pub func: Func,
    /// `x`.
    pub arg: ExprId,
    /// `f`'s scalar argument.
    pub alpha: Scalar,
    /// The other factor.
    pub other: ExprId,
    /// `f(x)` is the left factor.
    pub call_left: bool,
    /// A dropout-mask factor of `other`: where it is zero, the exact value is not needed.
    pub mask: Option<ExprId>,
}

/// A sum over a node's in- or out-edges, with the node rows it gathers at the far end.
#[derive(Clone, Debug, PartialEq)]
pub struct Gather {
    /// The edges summed over.
    pub range: Range,
    /// The summand.
    pub body: ExprId,
    /// Node tensors read at the far end, prefetched a few edges ahead in the CSR index.
    pub prefetch: Vec<TensorId>,
    /// Edge tensors read at the summed edge itself when the sum runs over out-edges: their rows
    /// are stored in target order, so a walk in source order reaches them at random, and the
    /// rows of the edge a few places ahead are prefetched too.
    pub prefetch_edges: Vec<TensorId>,
}

/// `out[i, c] = mean_h Σ_{j → i} body[h, c] (+ rest)`, walking the in-edges once.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadWalk {
    /// Mean or sum over heads.
    pub op: ReduceOp,
    /// The head variable.
    pub head: VarId,
    /// The neighbourhood sum.
    pub gather: Gather,
    /// The term added after the head reduction (`true`: it comes first in the sum).
    pub rest: Option<(ExprId, bool)>,
}

/// `s[e, h] = Σ_c body[h, c]` over contiguous `[h, c]` blocks.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockSums {
    /// The head variable.
    pub head: VarId,
    /// The channel variable summed over.
    pub channel: VarId,
    /// The summand.
    pub body: ExprId,
}

impl Plan {
    /// The plan after every pass.
    pub fn build(p: &Program) -> Plan {
        Self::build_until(p, None).expect("every pass exists")
    }

    /// The plan after the passes up to and including `after` (all passes when `None`); an error
    /// names the passes when `after` is not one of them.
    pub fn build_until(p: &Program, after: Option<&str>) -> Result<Plan, String> {
        if let Some(name) = after {
            if !PASSES.iter().any(|pass| pass.name == name) {
                let names: Vec<&str> = PASSES.iter().map(|pass| pass.name).collect();
                return Err(format!(
                    "no pass `{name}`; the passes are, in order: {}",
                    names.join(", ")
                ));
            }
        }
        let mut plan = passes::initial(p);
        for pass in PASSES {
            (pass.run)(&mut plan);
            if Some(pass.name) == after {
                break;
            }
        }
        Ok(plan)
    }

    /// The kernels of a phase in one line each, with a short tag per step: `gemm`, `gemmT`,
    /// `entries` (`+deferred`), `rows` (`+gather`, `+heads`), `edges` (`+blocks`), `softmax`
    /// (`(stored)`), `sum`, `dense`, `reshape`, `fill`, `fill'`, `xent`, `?` (undecided); a fused
    /// kernel is `fused@gK[…]`, a backward kernel parameter gradients skip ends in `!`, and `^`
    /// marks a prefetch. For one-line assertions in tests.
    pub fn outline(&self) -> String {
        let mut out = String::new();
        for (phase, name) in [(Phase::Forward, "forward"), (Phase::Backward, "backward")] {
            let kernels: Vec<String> = self
                .kernels(phase)
                .iter()
                .map(|k| {
                    let steps: Vec<String> = k.steps.iter().map(|s| s.strategy.tag()).collect();
                    let mut s = match k.fused {
                        Some(g) => format!("fused@g{}[{}]", g.0, steps.join(" ")),
                        None => steps.join(" "),
                    };
                    if !k.prefetch_next_target.is_empty() {
                        s.push('^');
                    }
                    if !k.for_params {
                        s.push('!');
                    }
                    s
                })
                .collect();
            out.push_str(&format!("{name}: {}\n", kernels.join(" | ")));
        }
        out
    }

    /// The kernels of a phase.
    pub fn kernels(&self, phase: Phase) -> &[Kernel] {
        match phase {
            Phase::Forward => &self.forward,
            Phase::Backward => &self.backward,
        }
    }

    /// The equations of a phase.
    pub fn equations(&self, phase: Phase) -> &[Equation] {
        match phase {
            Phase::Forward => &self.forward_eqs,
            Phase::Backward => &self.backward_eqs,
        }
    }

    /// The name of a kernel's function in the generated code (`forward_3`, `backward_5_to_8`).
    pub fn kernel_name(phase: Phase, k: &Kernel) -> String {
        let prefix = match phase {
            Phase::Forward => "forward",
            Phase::Backward => "backward",
        };
        let (first, last) = (k.eqs.start, k.eqs.end - 1);
        if first == last {
            format!("{prefix}_{first}")
        } else {
            format!("{prefix}_{first}_to_{last}")
        }
    }
}

impl Strategy {
    /// The short tag of [`Plan::outline`].
    pub fn tag(&self) -> String {
        let prefetch = |far: &[TensorId]| if far.is_empty() { "" } else { "^" };
        match self {
            Strategy::Generic => "?".into(),
            Strategy::Reshape => "reshape".into(),
            Strategy::LoopFill { adjoint: false } => "fill".into(),
            Strategy::LoopFill { adjoint: true } => "fill'".into(),
            Strategy::CrossEntropy => "xent".into(),
            Strategy::Softmax {
                stored: Some(_), ..
            } => "softmax(stored)".into(),
            Strategy::Softmax { stored: None, .. } => "softmax".into(),
            Strategy::Gemm { .. } => "gemm".into(),
            Strategy::GemmTransposed { .. } => "gemmT".into(),
            Strategy::Entrywise { deferred: None } => "entries".into(),
            Strategy::Entrywise { deferred: Some(_) } => "entries+deferred".into(),
            Strategy::NodeRows {
                head_walk: Some(w), ..
            } => format!("rows+heads{}", prefetch(&w.gather.prefetch)),
            Strategy::NodeRows { gathers, .. } if gathers.is_empty() => "rows".into(),
            Strategy::NodeRows { gathers, .. } => {
                let far = gathers.iter().any(|g| !g.prefetch.is_empty());
                format!("rows+gather{}", if far { "^" } else { "" })
            }
            Strategy::EdgeRows {
                block_sums,
                prefetch_ahead,
            } => format!(
                "edges{}{}",
                if block_sums.is_some() { "+blocks" } else { "" },
                prefetch(prefetch_ahead)
            ),
            Strategy::TargetSoftmax { .. } => "softmax".into(),
            Strategy::ChunkedSum { prefetch_ahead, .. } => {
                format!("sum{}", prefetch(prefetch_ahead))
            }
            Strategy::TargetSum { .. } => "sum@target".into(),
            Strategy::DenseLoops => "dense".into(),
        }
    }
}

impl Kernel {
    /// A kernel of one equation whose strategy is not decided yet.
    pub fn single(eq: usize) -> Kernel {
        Kernel {
            eqs: eq..eq + 1,
            fused: None,
            steps: vec![Step {
                eq,
                strategy: Strategy::Generic,
            }],
            for_params: true,
            prefetch_next_target: Vec::new(),
        }
    }
}

//! Loop fusion by target: consecutive equations that, for a target `i` of a graph, need only
//! what `i` owns (the rows of its in-edges and its own node row) become one kernel: a parallel
//! loop over targets that evaluates each equation's part for `i` in turn, so the rows of `i`'s
//! neighbourhood are gathered once per pass instead of once per equation.
//!
//! Target-local equations on a graph `g`:
//!
//! - an edge equation on `g` without graph reductions (per in-edge of `i`, its row);
//! - a softmax on `g` of a stored score tensor (over the in-edges of `i`);
//! - a node equation whose graph reductions all run over the in-edges of its own node on `g`
//!   (row `i`: aggregations, hoisted per-target statistics).
//!
//! A run never reorders equations, and an equation joins it only if everything it reads from
//! earlier equations of the run is owned by the visited target: the same edge (or an in-edge of the
//! node being computed, inside its reduction) for edge tensors, the target itself for node
//! tensors. Each row is computed by the same expression as without fusion, so the results are
//! bitwise identical; every output is stored whole, as before.
//!
//! Also the `block_sums` pass: in a fused kernel, an edge equation `s[e, h] = Σ_c body[h, c]`
//! whose reads along `(h, c)` are contiguous `[h, c]` blocks of tensors stored before the kernel
//! (`att[h, c]`, `xl[j, h, c]`, `xr[i, h, c]`) is evaluated as one flat loop over the `H·C` terms
//! (vectorised), then one sum per head over its `C` terms. Each head's sum starts from zero and
//! adds the same terms in the same order as a loop per head, so the bits are the same.

use super::super::walk::{collect_accesses, graph_ranges, has_reduce, reads};
use super::super::{BlockSums, Kernel, Plan, Strategy};
use crate::ir::*;

/// The pass: merges maximal runs of two or more consecutive target-local kernels on one graph.
/// In the backward, a run never mixes kernels parameter gradients need with others, so
/// `backward_params` calls whole kernels.
pub(super) fn run(plan: &mut Plan) {
    let p = &plan.program;
    plan.forward = fuse(p, &plan.forward_eqs, std::mem::take(&mut plan.forward));
    plan.backward = fuse(p, &plan.backward_eqs, std::mem::take(&mut plan.backward));
}

fn fuse(p: &Program, eqs: &[Equation], kernels: Vec<Kernel>) -> Vec<Kernel> {
    let mut out: Vec<Kernel> = Vec::new();
    let mut k = 0;
    while k < kernels.len() {
        let first = &kernels[k];
        let mut end = k + 1;
        let local = single_step(first).and_then(|s| target_local(p, &eqs[s.eq], &s.strategy));
        if let Some(g) = local {
            let mut written = vec![eqs[first.eqs.start].lhs];
            while end < kernels.len() {
                let next = &kernels[end];
                let Some(step) = single_step(next) else {
                    break;
                };
                let eq = &eqs[step.eq];
                let joins = target_local(p, eq, &step.strategy) == Some(g)
                    && next.for_params == first.for_params
                    && !written.contains(&eq.lhs)
                    && !eqs[first.eqs.start..step.eq]
                        .iter()
                        .any(|e| reads(p, e).contains(&eq.lhs))
                    && reads_owned(p, eq, &written);
                if !joins {
                    break;
                }
                written.push(eq.lhs);
                end += 1;
            }
        }
        if end - k >= 2 {
            let steps = kernels[k..end]
                .iter()
                .flat_map(|kernel| kernel.steps.iter().cloned())
                .map(|mut step| {
                    if let Strategy::Softmax {
                        stored: Some(scores),
                        ..
                    } = step.strategy
                    {
                        step.strategy = Strategy::TargetSoftmax { scores };
                    }
                    step
                })
                .collect();
            out.push(Kernel {
                eqs: kernels[k].eqs.start..kernels[end - 1].eqs.end,
                fused: local,
                steps,
                for_params: first.for_params,
                prefetch_next_target: Vec::new(),
            });
        } else {
            out.push(kernels[k].clone());
        }
        k = end;
    }
    out
}

fn single_step(k: &Kernel) -> Option<&super::super::Step> {
    match (&k.fused, &k.steps[..]) {
        (None, [step]) => Some(step),
        _ => None,
    }
}

/// The graph of a target-local equation (see the module comment).
fn target_local(p: &Program, eq: &Equation, strategy: &Strategy) -> Option<GraphId> {
    let head = *eq.vars.first()?;
    match (strategy, &eq.rhs, p.tensor(eq.lhs).domain) {
        (
            Strategy::Softmax {
                stored: Some(_), ..
            },
            Rhs::Softmax(_),
            Domain::Edge(g),
        ) => Some(g),
        (Strategy::EdgeRows { .. }, &Rhs::Expr(e), Domain::Edge(g)) => {
            let ok = p.var(head).kind == VarKind::Edge(g) && graph_ranges(p, e).is_empty();
            ok.then_some(g)
        }
        (Strategy::NodeRows { .. }, &Rhs::Expr(e), Domain::Node) => {
            let mut graph = None;
            for r in graph_ranges(p, e) {
                let Range::InEdges {
                    edge,
                    of: At::Node(n),
                } = r
                else {
                    return None;
                };
                let VarKind::Edge(g) = p.var(edge).kind else {
                    return None;
                };
                if n != head || graph.is_some_and(|h| h != g) {
                    return None;
                }
                graph = Some(g);
            }
            graph
        }
        _ => None,
    }
}

/// True when every read in `eq` of a tensor in `run` is of a row the visited target owns.
fn reads_owned(p: &Program, eq: &Equation, run: &[TensorId]) -> bool {
    let head = eq.vars[0];
    match eq.rhs {
        Rhs::Softmax(e) => owned(p, e, run, &[head], &[]),
        Rhs::Expr(e) => match p.tensor(eq.lhs).domain {
            Domain::Edge(_) => owned(p, e, run, &[head], &[]),
            _ => owned(p, e, run, &[], &[head]),
        },
        _ => false,
    }
}

/// `reads_owned` for an expression: `edges` are edge variables whose value is an in-edge of the
/// target, `nodes` node variables whose value is the target.
pub(super) fn owned(
    p: &Program,
    e: ExprId,
    run: &[TensorId],
    edges: &[VarId],
    nodes: &[VarId],
) -> bool {
    // (expression, edge variables bound to in-edges of the target so far)
    let mut stack: Vec<(ExprId, Vec<VarId>)> = vec![(e, edges.to_vec())];
    while let Some((x, edges)) = stack.pop() {
        match p.arena.get(x) {
            Node::Access { tensor, at, .. } if run.contains(tensor) => {
                let ok = match (*at, p.tensor(*tensor).domain) {
                    (Some(At::Edge(v)), Domain::Edge(_)) => edges.contains(&v),
                    (Some(At::Dst(v)), Domain::Node) => edges.contains(&v),
                    (Some(At::Node(v)), Domain::Node) => nodes.contains(&v),
                    _ => false,
                };
                if !ok {
                    return false;
                }
            }
            Node::OneHot { labels, .. } if run.contains(labels) => return false,
            Node::MaskCount(t) if run.contains(t) => return false,
            Node::Reduce {
                range:
                    Range::InEdges {
                        edge,
                        of: At::Node(n),
                    },
                body,
                ..
            } if nodes.contains(n) => {
                let inner: Vec<VarId> = edges.iter().copied().chain([*edge]).collect();
                stack.push((*body, inner));
            }
            _ => {
                for c in p.arena.children(x) {
                    stack.push((c, edges.clone()));
                }
            }
        }
    }
    true
}

/// The `block_sums` pass (see the module comment).
pub(super) fn block_sums(plan: &mut Plan) {
    for (kernels, eqs) in [
        (&mut plan.forward, &plan.forward_eqs),
        (&mut plan.backward, &plan.backward_eqs),
    ] {
        for k in kernels.iter_mut().filter(|k| k.fused.is_some()) {
            let outputs: Vec<TensorId> = k.eqs.clone().map(|e| eqs[e].lhs).collect();
            for step in &mut k.steps {
                if let Strategy::EdgeRows { block_sums, .. } = &mut step.strategy {
                    *block_sums = blocks(&plan.program, &eqs[step.eq], &outputs);
                }
            }
        }
    }
}

/// The block-sum form of a fused edge equation, reading no output of its kernel.
pub(crate) fn blocks(p: &Program, eq: &Equation, outputs: &[TensorId]) -> Option<BlockSums> {
    let &[edge, h] = &eq.vars[..] else {
        return None;
    };
    let Rhs::Expr(e) = eq.rhs else {
        return None;
    };
    let Node::Reduce {
        op: ReduceOp::Sum,
        range: Range::Dense(c),
        body,
    } = *p.arena.get(e)
    else {
        return None;
    };
    let (VarKind::Dense(_), VarKind::Dense(_)) = (p.var(h).kind, p.var(c).kind) else {
        return None;
    };
    if has_reduce(p, body) {
        return None;
    }
    let mut accesses = Vec::new();
    collect_accesses(p, body, &mut accesses);
    for r in accesses {
        let Node::Access { tensor, at, dense } = p.arena.get(r) else {
            continue;
        };
        if dense.is_empty() {
            continue;
        }
        if dense[..] != [h, c] || at.is_some_and(|a| a.var() != edge) || outputs.contains(tensor) {
            return None;
        }
    }
    Some(BlockSums {
        head: h,
        channel: c,
        body,
    })
}

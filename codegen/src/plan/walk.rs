//! Queries over expressions that the passes and the printer share. None of them recurses: each
//! walks the arena with an explicit stack, so their depth does not grow with the input.

use crate::ir::*;

/// The terms of a sum `a + b + …`, left to right.
pub(crate) fn flatten_add(p: &Program, e: ExprId, out: &mut Vec<ExprId>) {
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

/// True when `e` contains a reduction.
pub(crate) fn has_reduce(p: &Program, e: ExprId) -> bool {
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        if matches!(p.arena.get(x), Node::Reduce { .. }) {
            return true;
        }
        stack.extend(p.arena.children(x));
    }
    false
}

/// Every tensor read in `e` (each access once), in the order a left-to-right walk meets them.
pub(crate) fn collect_accesses(p: &Program, e: ExprId, out: &mut Vec<ExprId>) {
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        if let Node::Access { .. } = p.arena.get(x) {
            if !out.contains(&x) {
                out.push(x);
            }
        }
        let children = p.arena.children(x);
        stack.extend(children.into_iter().rev());
    }
}

/// The graph reductions (over in-edges, out-edges, all nodes or all edges) anywhere in `e`.
pub(crate) fn graph_ranges(p: &Program, e: ExprId) -> Vec<Range> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        if let Node::Reduce { range, .. } = p.arena.get(x) {
            if !matches!(range, Range::Dense(_)) {
                out.push(*range);
            }
        }
        stack.extend(p.arena.children(x));
    }
    out
}

/// The tensors an equation reads (sorted, without its own left-hand side).
pub(crate) fn reads(p: &Program, eq: &Equation) -> Vec<TensorId> {
    let mut out = Vec::new();
    match eq.rhs {
        Rhs::Expr(e) | Rhs::Softmax(e) => p.tensors_read(e, &mut out),
        Rhs::Reshape(t) | Rhs::LoopFill(t) | Rhs::LoopFillAdjoint(t) => out.push(t),
        Rhs::CrossEntropy { logits, .. } => out.push(logits),
    }
    out.sort();
    out.dedup();
    out.retain(|t| *t != eq.lhs);
    out
}

/// An endpoint of an edge.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum End {
    /// The source `j`.
    Src,
    /// The target `i`.
    Dst,
}

/// The node tensors `e` reads at endpoint `end` of an edge of graph `g` (of edge variable `edge`
/// only, when given), sorted: rows gathered at random when the edges are visited from their other
/// endpoint. Adds to `out`, which stays sorted.
pub(crate) fn end_reads(
    p: &Program,
    e: ExprId,
    g: GraphId,
    end: End,
    edge: Option<VarId>,
    out: &mut Vec<TensorId>,
) {
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        if let Node::Access {
            tensor,
            at: Some(at @ (At::Src(v) | At::Dst(v))),
            ..
        } = *p.arena.get(x)
        {
            if matches!(at, At::Src(_)) == (end == End::Src)
                && edge.is_none_or(|w| w == v)
                && p.var(v).kind == VarKind::Edge(g)
                && p.tensor(tensor).domain == Domain::Node
                && !out.contains(&tensor)
            {
                out.push(tensor);
            }
        }
        stack.extend(p.arena.children(x));
    }
    out.sort();
}

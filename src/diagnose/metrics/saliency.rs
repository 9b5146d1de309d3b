//! Edge saliency: how much the loss relies on each edge's attention weight.

use super::check_edge_tensor;
use gatgrad_runtime::kernels::Float;
use gatgrad_runtime::Graph;
use std::cmp::Ordering;

/// Per edge and head, `|α · ∂L/∂α|`: the first-order change of the loss if the edge's
/// attention weight were scaled to zero, i.e. how much the loss relies on that edge.
/// `[E, H]` in, `[E, H]` out; panics if the slices differ in length.
pub fn saliency<T: Float>(alpha: &[T], grad_alpha: &[T]) -> Vec<f64> {
    assert_eq!(
        alpha.len(),
        grad_alpha.len(),
        "saliency: `alpha` has {} values, `grad_alpha` {}",
        alpha.len(),
        grad_alpha.len()
    );
    alpha
        .iter()
        .zip(grad_alpha)
        .map(|(a, g)| (a.to_f64() * g.to_f64()).abs())
        .collect()
}

/// The in-edges of `node` as `(edge, source, score)`, `score` summed over heads of the
/// `[E, H]` tensor `scores` (e.g. [`saliency`]), sorted by descending score; ties keep
/// increasing edge order and NaN scores come last. Panics if `node` is out of range or
/// `scores` is not `E * heads` long.
pub fn rank_in_edges(
    graph: &Graph,
    node: usize,
    scores: &[f64],
    heads: usize,
) -> Vec<(usize, usize, f64)> {
    check_edge_tensor("rank_in_edges", graph, scores.len(), heads);
    let mut ranked: Vec<(usize, usize, f64)> = graph
        .in_edges(node)
        .iter()
        .map(|&e| {
            let e = e as usize;
            let score = scores[e * heads..(e + 1) * heads].iter().sum();
            (e, graph.src(e), score)
        })
        .collect();
    ranked.sort_by(|a, b| match (a.2.is_nan(), b.2.is_nan()) {
        (false, false) => b.2.partial_cmp(&a.2).unwrap_or(Ordering::Equal),
        (a_nan, b_nan) => a_nan.cmp(&b_nan),
    });
    ranked
}

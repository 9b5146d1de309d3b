//! The shape of attention: normalized entropy and the largest coefficient per node.

use super::{check_edge_tensor, mean};
use gatgrad_runtime::kernels::Float;
use gatgrad_runtime::Graph;

/// The normalized attention entropy of every node with in-degree ≥ 2, per head: a list of
/// `(node, [entropy of head 0, .., head H-1])` in increasing node order (for histograms).
///
/// For node `i` with in-edges `e_1..e_d` (`d ≥ 2`, multi-edges and self loops counted) and head
/// `h`, the value is `(−Σ_k α[e_k, h] ln α[e_k, h]) / ln d`: 1 when `i` spreads its attention
/// uniformly over its neighbours, 0 when all of it goes to one edge. `0 · ln 0` is taken as 0
/// (so are non-positive `α`, which a softmax never produces). `α` is assumed to sum to 1 over
/// each node's in-edges, as a softmax output does; it is not renormalised.
///
/// Nodes with in-degree 0 or 1 are **skipped**: with one neighbour the softmax is forced to
/// `α = 1`, the entropy is `0 / ln 1` and carries no information about what the layer learned.
pub fn node_normalized_entropy<T: Float>(
    graph: &Graph,
    alpha: &[T],
    heads: usize,
) -> Vec<(usize, Vec<f64>)> {
    check_edge_tensor("node_normalized_entropy", graph, alpha.len(), heads);
    let mut out = Vec::new();
    for i in 0..graph.num_nodes() {
        let edges = graph.in_edges(i);
        if edges.len() < 2 {
            continue;
        }
        let log_d = (edges.len() as f64).ln();
        let per_head = (0..heads)
            .map(|h| {
                let entropy: f64 = edges
                    .iter()
                    .map(|&e| {
                        let a = alpha[e as usize * heads + h].to_f64();
                        if a > 0.0 {
                            -a * a.ln()
                        } else {
                            0.0
                        }
                    })
                    .sum();
                entropy / log_d
            })
            .collect();
        out.push((i, per_head));
    }
    out
}

/// The mean, per head, of [`node_normalized_entropy`] over the nodes with in-degree ≥ 2
/// (nodes with in-degree < 2 are skipped, see there). 1 = uniform attention everywhere (the
/// layer behaves like a mean aggregator), 0 = every node attends to exactly one neighbour.
/// A head is NaN when no node has in-degree ≥ 2.
pub fn normalized_entropy<T: Float>(graph: &Graph, alpha: &[T], heads: usize) -> Vec<f64> {
    head_means(&node_normalized_entropy(graph, alpha, heads), heads)
}

/// Per head, the mean of per-node values such as [`node_normalized_entropy`]'s (NaN when there
/// is no node).
pub fn head_means(nodes: &[(usize, Vec<f64>)], heads: usize) -> Vec<f64> {
    (0..heads)
        .map(|h| mean(nodes.iter().map(|(_, v)| v[h]).sum(), nodes.len()))
        .collect()
}

/// The mean over `values`' finite entries; NaN when there is none.
pub fn mean_finite(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, count) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    mean(sum, count)
}

/// Per head, the mean over nodes with at least one in-edge of the largest attention weight
/// on any in-edge: `mean_i max_{e → i} α[e, h]`. Near 1 means each node picks one neighbour;
/// near `mean_i 1/deg(i)` means uniform attention. NaN when no node has an in-edge.
pub fn mean_max_attention<T: Float>(graph: &Graph, alpha: &[T], heads: usize) -> Vec<f64> {
    check_edge_tensor("mean_max_attention", graph, alpha.len(), heads);
    let mut sums = vec![0.0f64; heads];
    let mut count = 0usize;
    for i in 0..graph.num_nodes() {
        let edges = graph.in_edges(i);
        if edges.is_empty() {
            continue;
        }
        count += 1;
        for (h, sum) in sums.iter_mut().enumerate() {
            let max = edges
                .iter()
                .map(|&e| alpha[e as usize * heads + h].to_f64())
                .fold(f64::NEG_INFINITY, f64::max);
            *sum += max;
        }
    }
    sums.into_iter().map(|s| mean(s, count)).collect()
}

/// The fraction of `values` for which `pred` holds (NaN for an empty slice).
///
/// For example `fraction_in_region(&scores, |s| s <= 0.0)` is the share of attention-score
/// pre-activations in `leaky_relu`'s negative region, where the slope (0.2 by default) shrinks
/// both the score and its gradient.
pub fn fraction_in_region<T: Copy>(values: &[T], pred: impl Fn(T) -> bool) -> f64 {
    let hits = values.iter().filter(|&&v| pred(v)).count();
    mean(hits as f64, values.len())
}

//! Pure diagnostic metrics over attention coefficients, gradients and loss curves.
//!
//! Conventions shared by every function here:
//!
//! - Per-edge tensors (attention `α`, its gradient `∂L/∂α`, score pre-activations) are stored
//!   row-major `[E, H]`: the value of edge `e` and head `h` is at `e * heads + h`. Edge ids are
//!   those of the [`Graph`] the tensor was computed on, so pass the graph *with* self loops when
//!   the layer adds them (`graph.with_self_loops().0`).
//! - Inputs are generic over [`Float`] (f32 or f64); results are always `f64`, accumulated in
//!   f64.
//! - "No data" (an average over an empty set) is `f64::NAN`, never a panic and never a made-up
//!   zero. [`flags`] ignores non-finite entries where a NaN means "no data".
//! - A per-edge tensor whose length is not `E * heads` is a programming error and panics with a
//!   message naming the function.

use gatgrad_runtime::kernels::Float;
use gatgrad_runtime::Graph;
use std::cmp::Ordering;

fn check_edge_tensor(what: &str, graph: &Graph, values: usize, heads: usize) {
    assert_eq!(
        Some(values),
        graph.num_edges().checked_mul(heads),
        "{what}: expected E * heads = {} * {heads} values, found {values}",
        graph.num_edges()
    );
}

fn mean(sum: f64, count: usize) -> f64 {
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

// ---------------------------------------------------------------------------------------------
// Attention shape
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Gradient statistics
// ---------------------------------------------------------------------------------------------

/// The Euclidean norm `‖x‖₂`, accumulated in f64. Finite inputs whose squares would overflow
/// are rescaled, so the result is infinite or NaN only if an input is.
pub fn l2_norm<T: Float>(x: &[T]) -> f64 {
    let sum: f64 = x
        .iter()
        .map(|v| {
            let v = v.to_f64();
            v * v
        })
        .sum();
    if sum.is_finite() {
        return sum.sqrt();
    }
    let max = x.iter().map(|v| v.to_f64().abs()).fold(0.0f64, f64::max);
    if !max.is_finite() || x.iter().any(|v| v.to_f64().is_nan()) {
        return sum.sqrt();
    }
    let scaled: f64 = x
        .iter()
        .map(|v| {
            let v = v.to_f64() / max;
            v * v
        })
        .sum();
    max * scaled.sqrt()
}

/// `grad_norm / param_norm`: the relative size of a gradient step before the learning rate.
/// NaN ("undefined") when the parameter norm is exactly zero (e.g. a zero-initialised bias),
/// the convention of `gatgrad train`'s gradient log.
pub fn ratio(grad_norm: f64, param_norm: f64) -> f64 {
    if param_norm == 0.0 {
        f64::NAN
    } else {
        grad_norm / param_norm
    }
}

/// `‖after − before‖ / ‖before‖`: how far one optimiser step moved a parameter, relative to
/// its size (≈ 1e-3 is the usual healthy order of magnitude); NaN for a zero `before`, as
/// [`ratio`]. Panics if the slices differ in length.
pub fn update_ratio<T: Float>(before: &[T], after: &[T]) -> f64 {
    assert_eq!(
        before.len(),
        after.len(),
        "update_ratio: `before` has {} values, `after` {}",
        before.len(),
        after.len()
    );
    let diff: Vec<f64> = before
        .iter()
        .zip(after)
        .map(|(b, a)| a.to_f64() - b.to_f64())
        .collect();
    ratio(l2_norm(&diff), l2_norm(before))
}

/// The fraction of entries that are exactly zero (`-0.0` included); NaN for an empty slice.
/// Many exact zeros in a weight gradient point at dead units (ReLU/ELU saturation, dropout)
/// or at rows of the input that are always zero (bag-of-words features).
pub fn zero_fraction<T: Float>(grad: &[T]) -> f64 {
    fraction_in_region(grad, |g| g == T::ZERO)
}

/// Which path of an attention layer a parameter belongs to, judged by its PyG name (see
/// [`param_role`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamRole {
    /// Only influences the attention coefficients α.
    Attention,
    /// Carries the messages that α weighs (or feeds both; see [`param_role`]).
    Value,
    /// Anything else (e.g. `lin_skip`, a classifier head).
    Other,
}

/// Classifies a PyG parameter name (any prefix, e.g. `conv1.`):
///
/// - [`ParamRole::Attention`]: the last segment is `att`, `att_src`, `att_dst` or `beta`
///   (AGNN's temperature), or the name contains `lin_r` (GATv2's target transform, used only
///   inside the score), `lin_query` or `lin_key` (TransformerConv's scores).
/// - [`ParamRole::Value`]: the name contains `lin_l`, `lin.` or `lin_value`, or the last
///   segment is `bias`. GATConv's shared `lin.weight` also feeds the scores through `att_src`
///   and `att_dst`; it is counted as value because that is where most of its gradient comes
///   from in practice and because it is the only path for the messages.
/// - [`ParamRole::Other`]: everything else.
///
/// Attention is tested first, so `lin_r.bias` is attention.
pub fn param_role(name: &str) -> ParamRole {
    let last = name.rsplit('.').next().unwrap_or(name);
    let attention = matches!(last, "att" | "att_src" | "att_dst" | "beta")
        || ["lin_r", "lin_query", "lin_key"]
            .iter()
            .any(|p| name.contains(p));
    if attention {
        return ParamRole::Attention;
    }
    let value = ["lin_l", "lin.", "lin_value"]
        .iter()
        .any(|p| name.contains(p))
        || last == "bias";
    if value {
        ParamRole::Value
    } else {
        ParamRole::Other
    }
}

/// The split of the total squared gradient norm `Σ_p ‖∂L/∂p‖²` between parameter roles.
/// The three shares sum to 1, or are all 0 when every gradient is zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientShare {
    /// Share reaching [`ParamRole::Attention`] parameters.
    pub attention: f64,
    /// Share reaching [`ParamRole::Value`] parameters.
    pub value: f64,
    /// Share reaching [`ParamRole::Other`] parameters.
    pub other: f64,
}

/// How the squared gradient norm divides between the attention path and the value path,
/// from `(PyG name, gradient norm)` pairs, classified by [`param_role`].
///
/// A GAT whose attention share stays near zero is effectively training a mean aggregator:
/// the loss barely depends on α. Non-finite norms make every share NaN.
pub fn gradient_share<S: AsRef<str>>(norms: &[(S, f64)]) -> GradientShare {
    let mut parts = [0.0f64; 3];
    for (name, norm) in norms {
        let slot = match param_role(name.as_ref()) {
            ParamRole::Attention => 0,
            ParamRole::Value => 1,
            ParamRole::Other => 2,
        };
        parts[slot] += norm * norm;
    }
    let total: f64 = parts.iter().sum();
    let share = |p: f64| if total == 0.0 { 0.0 } else { p / total };
    GradientShare {
        attention: share(parts[0]),
        value: share(parts[1]),
        other: share(parts[2]),
    }
}

// ---------------------------------------------------------------------------------------------
// Edge saliency
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------------------------

/// A gradient norm below this counts as vanished (the same threshold as `gatgrad train`'s
/// gradient table).
pub const VANISHING_GRADIENT: f64 = 1e-10;
/// A gradient norm more than this many times its first recorded value counts as exploded
/// (the same threshold as `gatgrad train`'s gradient table).
pub const EXPLODING_GROWTH: f64 = 1e4;
/// A gradient norm above this counts as exploded whatever its history.
pub const EXPLODING_GRADIENT: f64 = 1e6;
/// Mean normalized entropy over a layer's heads above which its attention counts as uniform.
pub const UNIFORM_ATTENTION: f64 = 0.98;
/// The window, in epochs, over which a stalled loss is judged.
pub const STALL_WINDOW: usize = 20;
/// Relative change of the loss over [`STALL_WINDOW`] epochs below which it counts as stalled.
pub const STALLED_LOSS: f64 = 1e-3;
/// A loss below this has converged rather than stalled and is never flagged.
pub const CONVERGED_LOSS: f64 = 1e-6;
/// Final training accuracy below which the model counts as unable to fit its training data.
pub const UNDERFIT_ACCURACY: f64 = 0.9;

/// What a [`Flag`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// The last gradient norm is below [`VANISHING_GRADIENT`].
    VanishingGradient,
    /// The gradient norm grew past [`EXPLODING_GROWTH`] × its first value or past
    /// [`EXPLODING_GRADIENT`].
    ExplodingGradient,
    /// A gradient norm was NaN or infinite.
    NonFiniteGradient,
    /// The mean normalized entropy over a layer's heads exceeds [`UNIFORM_ATTENTION`].
    UniformAttention,
    /// The loss changed by less than [`STALLED_LOSS`] (relative) over [`STALL_WINDOW`] epochs.
    StalledLoss,
    /// The final training accuracy is below [`UNDERFIT_ACCURACY`].
    Underfitting,
}

/// One finding: what, about which parameter/layer (`"loss"` for the loss), and a one-sentence
/// explanation with the numbers behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// The kind of problem.
    pub kind: FlagKind,
    /// The parameter name, layer name or `"loss"`.
    pub subject: String,
    /// One sentence for a human.
    pub explanation: String,
}

/// Everything [`flags`] looks at; leave a field empty to skip its checks.
#[derive(Debug, Clone, Default)]
pub struct Observations<'a> {
    /// Per parameter, its name and gradient norm per epoch, oldest first.
    pub grad_norms: Vec<(&'a str, &'a [f64])>,
    /// Per attention layer, its name and [`normalized_entropy`] per head (latest epoch).
    pub entropy: Vec<(&'a str, &'a [f64])>,
    /// The training loss per epoch, oldest first.
    pub losses: &'a [f64],
    /// The final training accuracy (evaluation mode), if known.
    pub train_acc: Option<f64>,
}

/// Checks `obs` against the thresholds above, in the order gradients (per parameter:
/// non-finite, else exploding, else vanishing), attention (per layer), loss, training accuracy.
pub fn flags(obs: &Observations) -> Vec<Flag> {
    let mut out = Vec::new();
    let flag = |kind, subject: &str, explanation: String| Flag {
        kind,
        subject: subject.to_string(),
        explanation,
    };
    for &(name, norms) in &obs.grad_norms {
        let (Some(&first), Some(&last)) = (norms.first(), norms.last()) else {
            continue;
        };
        if let Some(epoch) = norms.iter().position(|v| !v.is_finite()) {
            out.push(flag(
                FlagKind::NonFiniteGradient,
                name,
                format!(
                    "The gradient norm of `{name}` became {} at epoch {epoch}, so training \
                     diverged numerically (check the learning rate and the softmax inputs).",
                    norms[epoch]
                ),
            ));
            continue;
        }
        let max = norms.iter().copied().fold(0.0f64, f64::max);
        let base = first.max(VANISHING_GRADIENT);
        if max > EXPLODING_GRADIENT || max > EXPLODING_GROWTH * base {
            out.push(flag(
                FlagKind::ExplodingGradient,
                name,
                format!(
                    "The gradient norm of `{name}` reached {max:.3e} (first epoch {first:.3e}), \
                     above the limits of {EXPLODING_GROWTH:.0e}x growth or {EXPLODING_GRADIENT:.0e}, \
                     so updates are likely unstable."
                ),
            ));
        } else if last < VANISHING_GRADIENT {
            out.push(flag(
                FlagKind::VanishingGradient,
                name,
                format!(
                    "The gradient norm of `{name}` is {last:.3e}, below {VANISHING_GRADIENT:.0e}, \
                     so this parameter has effectively stopped learning."
                ),
            ));
        }
    }
    for &(layer, heads) in &obs.entropy {
        let finite: Vec<f64> = heads.iter().copied().filter(|v| v.is_finite()).collect();
        let m = mean(finite.iter().sum(), finite.len());
        if m > UNIFORM_ATTENTION {
            out.push(flag(
                FlagKind::UniformAttention,
                layer,
                format!(
                    "The attention of `{layer}` has mean normalized entropy {m:.4} (above \
                     {UNIFORM_ATTENTION}), so it is close to uniform and the layer acts like a \
                     mean aggregator."
                ),
            ));
        }
    }
    let losses = obs.losses;
    if losses.len() > STALL_WINDOW {
        let last = losses[losses.len() - 1];
        let before = losses[losses.len() - 1 - STALL_WINDOW];
        if last.is_finite() && before.is_finite() && last.abs() >= CONVERGED_LOSS {
            let change = (last - before).abs() / before.abs().max(f64::MIN_POSITIVE);
            if change < STALLED_LOSS {
                out.push(flag(
                    FlagKind::StalledLoss,
                    "loss",
                    format!(
                        "The loss moved from {before:.6} to {last:.6} over the last \
                         {STALL_WINDOW} epochs (relative change {change:.1e} < {STALLED_LOSS:.0e}), \
                         so training has stalled."
                    ),
                ));
            }
        }
    }
    if let Some(acc) = obs.train_acc.filter(|a| *a < UNDERFIT_ACCURACY) {
        out.push(flag(
            FlagKind::Underfitting,
            "train_acc",
            format!(
                "The final training accuracy is {:.1} % (below {:.0} %), so the model cannot fit \
                 its own training data: with attention, a sign that it cannot select the \
                 neighbours the labels depend on (static attention ranks neighbours the same for \
                 every query).",
                100.0 * acc,
                100.0 * UNDERFIT_ACCURACY
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// Node 0 ← {1, 2, 3} (edges 0, 1, 2), node 1 ← {0} (edge 3), nodes 2 and 3 no in-edges.
    fn star() -> Graph {
        Graph::new(4, vec![1, 2, 3, 0], vec![0, 0, 0, 1]).unwrap()
    }

    #[test]
    fn uniform_attention_has_entropy_exactly_one() {
        let g = star();
        // Two heads, both uniform over node 0's three in-edges; node 1's single edge is 1.
        let third = 1.0 / 3.0;
        let alpha = vec![third, third, third, third, third, third, 1.0, 1.0];
        let h = normalized_entropy(&g, &alpha, 2);
        assert_eq!(h.len(), 2);
        for v in h {
            assert!(close(v, 1.0, 1e-15), "{v}");
        }
        // Node 1 (in-degree 1) and nodes 2, 3 (in-degree 0) are skipped.
        let per_node = node_normalized_entropy(&g, &alpha, 2);
        assert_eq!(per_node.len(), 1);
        assert_eq!(per_node[0].0, 0);
        // Two equal weights: entropy ln 2 / ln 2 is exactly 1.
        let pair = Graph::new(2, vec![0, 1], vec![1, 1]).unwrap();
        assert_eq!(normalized_entropy(&pair, &[0.5f64, 0.5], 1), vec![1.0]);
        assert_eq!(normalized_entropy(&pair, &[0.5f32, 0.5], 1), vec![1.0]);
    }

    #[test]
    fn one_hot_attention_has_entropy_zero() {
        let g = star();
        let alpha = vec![0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0];
        assert_eq!(normalized_entropy(&g, &alpha, 2), vec![0.0, 0.0]);
        assert_eq!(mean_max_attention(&g, &alpha, 2), vec![1.0, 1.0]);
    }

    #[test]
    fn three_edge_hand_example() {
        let g = star();
        // Node 0: α = (1/2, 1/4, 1/4). Entropy = ½ln2 + 2·¼ln4 = 1.5 ln 2;
        // normalized: 1.5 ln 2 / ln 3 = 0.946394630357186...
        let alpha = vec![0.5f64, 0.25, 0.25, 1.0];
        let h = normalized_entropy(&g, &alpha, 1);
        let expected = 1.5 * 2f64.ln() / 3f64.ln();
        assert!(close(h[0], expected, 1e-15), "{} vs {expected}", h[0]);
        assert!(close(h[0], 0.946_394_630_357_186, 1e-12));
        // Max: node 0 → 0.5, node 1 → 1.0; mean 0.75.
        assert_eq!(mean_max_attention(&g, &alpha, 1), vec![0.75]);
        // f32 input agrees to f32 precision.
        let alpha32: Vec<f32> = alpha.iter().map(|&a| a as f32).collect();
        assert!(close(
            normalized_entropy(&g, &alpha32, 1)[0],
            expected,
            1e-6
        ));
    }

    #[test]
    fn no_eligible_nodes_give_nan() {
        let g = Graph::new(3, vec![0], vec![1]).unwrap();
        assert!(normalized_entropy(&g, &[1.0f64], 1)[0].is_nan());
        let empty = Graph::new(2, vec![], vec![]).unwrap();
        assert!(mean_max_attention::<f64>(&empty, &[], 1)[0].is_nan());
        assert!(normalized_entropy::<f64>(&empty, &[], 0).is_empty());
    }

    #[test]
    #[should_panic(expected = "normalized_entropy: expected E * heads = 4 * 2 values, found 4")]
    fn wrong_alpha_length_panics() {
        normalized_entropy(&star(), &[0.25f64; 4], 2);
    }

    #[test]
    fn fraction_in_region_counts() {
        let s = [-1.0f64, 0.0, 0.5, 2.0];
        assert_eq!(fraction_in_region(&s, |v| v <= 0.0), 0.5);
        assert_eq!(fraction_in_region(&s, |v| v > 10.0), 0.0);
        assert!(fraction_in_region(&[] as &[f64], |v| v <= 0.0).is_nan());
        assert_eq!(fraction_in_region(&[1u8, 2, 3], |v| v == 2), 1.0 / 3.0);
    }

    #[test]
    fn gradient_statistics() {
        assert_eq!(l2_norm(&[3.0f64, 4.0]), 5.0);
        assert_eq!(l2_norm(&[3.0f32, -4.0]), 5.0);
        assert_eq!(l2_norm::<f64>(&[]), 0.0);
        // Squares overflow f64, the norm does not.
        let big = l2_norm(&[3e200f64, 4e200]);
        assert!(close(big / 5e200, 1.0, 1e-15), "{big}");
        assert!(l2_norm(&[1.0, f64::NAN]).is_nan());
        assert_eq!(l2_norm(&[1.0, f64::INFINITY]), f64::INFINITY);

        assert_eq!(ratio(1.0, 4.0), 0.25);
        assert!(ratio(0.0, 0.0).is_nan());
        assert!(ratio(1.0, 0.0).is_nan());
        assert!(update_ratio(&[0.0f64], &[1.0]).is_nan());

        // ‖(3, 4)‖ / ‖(6, 8)‖ = 0.5.
        assert_eq!(update_ratio(&[6.0f64, 8.0], &[9.0, 12.0]), 0.5);
        assert_eq!(update_ratio(&[1.0f32, 1.0], &[1.0, 1.0]), 0.0);

        assert_eq!(zero_fraction(&[0.0f64, -0.0, 1e-300, 2.0]), 0.5);
        assert!(zero_fraction::<f32>(&[]).is_nan());
    }

    #[test]
    #[should_panic(expected = "update_ratio")]
    fn update_ratio_length_mismatch_panics() {
        update_ratio(&[1.0f64], &[1.0, 2.0]);
    }

    #[test]
    fn roles_follow_pyg_names() {
        use ParamRole::*;
        for (name, role) in [
            ("att", Attention),
            ("conv1.att", Attention),
            ("conv2.att_src", Attention),
            ("conv2.att_dst", Attention),
            ("conv1.lin_r.weight", Attention),
            ("conv1.lin_r.bias", Attention),
            ("lin_query.weight", Attention),
            ("lin_key.bias", Attention),
            ("beta", Attention),
            ("conv1.lin_l.weight", Value),
            ("conv1.lin_l.bias", Value),
            ("conv1.lin.weight", Value),
            ("lin_value.weight", Value),
            ("conv1.bias", Value),
            ("bias", Value),
            ("lin_skip.weight", Other),
            ("classifier.weight", Other),
            ("attention_mlp", Other),
        ] {
            assert_eq!(param_role(name), role, "{name}");
        }
    }

    #[test]
    fn gradient_share_splits_squared_norms() {
        let norms = [
            ("conv1.att", 1.0),
            ("conv1.lin_r.weight", 1.0),
            ("conv1.lin_l.weight", 2.0),
            ("conv1.bias", 1.0),
            ("lin_skip.weight", 1.0),
        ];
        // Squares: attention 1 + 1 = 2, value 4 + 1 = 5, other 1; total 8.
        let s = gradient_share(&norms);
        assert_eq!(
            s,
            GradientShare {
                attention: 0.25,
                value: 0.625,
                other: 0.125
            }
        );
        let owned = vec![("att".to_string(), 0.0), ("bias".to_string(), 0.0)];
        let z = gradient_share(&owned);
        assert_eq!((z.attention, z.value, z.other), (0.0, 0.0, 0.0));
        assert!(gradient_share(&[("att", f64::NAN)]).attention.is_nan());
    }

    #[test]
    fn saliency_ranks_in_edges() {
        let g = star();
        // Two heads. Edge 0 (from 1): |0.5·-2| + |0.5·0| = 1; edge 1 (from 2): 0.1·1 + 0.3·10 = 3.1;
        // edge 2 (from 3): 0.4·1 + 0.2·1 = 0.6; edge 3 (into node 1): anything.
        let alpha = vec![0.5f64, 0.5, 0.1, 0.3, 0.4, 0.2, 1.0, 1.0];
        let grad = vec![-2.0f64, 0.0, 1.0, -10.0, 1.0, 1.0, 5.0, 5.0];
        let s = saliency(&alpha, &grad);
        assert_eq!(s[0], 1.0);
        assert_eq!(s[3], 3.0);
        let ranked = rank_in_edges(&g, 0, &s, 2);
        let order: Vec<(usize, usize)> = ranked.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(order, vec![(1, 2), (0, 1), (2, 3)]);
        assert!(close(ranked[0].2, 3.1, 1e-15));
        assert!(close(ranked[2].2, 0.6, 1e-15));
        assert_eq!(rank_in_edges(&g, 1, &s, 2), vec![(3, 0, 10.0)]);
        assert!(rank_in_edges(&g, 2, &s, 2).is_empty());
    }

    #[test]
    fn ranking_ties_and_nan() {
        let g = star();
        let ranked = rank_in_edges(&g, 0, &[1.0, f64::NAN, 1.0, 0.0], 1);
        let order: Vec<usize> = ranked.iter().map(|r| r.0).collect();
        assert_eq!(order, vec![0, 2, 1]);
    }

    fn kinds(f: &[Flag]) -> Vec<(FlagKind, &str)> {
        f.iter().map(|f| (f.kind, f.subject.as_str())).collect()
    }

    #[test]
    fn healthy_run_raises_no_flags() {
        let norms = [1.0, 0.8, 0.5, 0.3];
        let entropy = [0.7, 0.95];
        let losses: Vec<f64> = (0..40).map(|t| 2.0 * 0.95f64.powi(t)).collect();
        let obs = Observations {
            grad_norms: vec![("conv1.att", &norms)],
            entropy: vec![("conv1", &entropy)],
            losses: &losses,
            train_acc: Some(UNDERFIT_ACCURACY),
        };
        assert!(flags(&obs).is_empty(), "{:?}", flags(&obs));
        assert!(flags(&Observations::default()).is_empty());
    }

    #[test]
    fn gradient_flags() {
        let vanishing = [1e-3, 1e-8, 5e-11];
        let recovered = [1e-3, 5e-11, 1e-4];
        let grown = [1e-3, 1.0, 20.0];
        let huge = [1e7];
        let nan = [1.0, f64::NAN, f64::INFINITY];
        let steady = [0.5, 0.6];
        let obs = Observations {
            grad_norms: vec![
                ("a", &vanishing),
                ("b", &recovered),
                ("c", &grown),
                ("d", &huge),
                ("e", &nan),
                ("f", &steady),
                ("g", &[]),
            ],
            ..Default::default()
        };
        let f = flags(&obs);
        assert_eq!(
            kinds(&f),
            vec![
                (FlagKind::VanishingGradient, "a"),
                (FlagKind::ExplodingGradient, "c"),
                (FlagKind::ExplodingGradient, "d"),
                (FlagKind::NonFiniteGradient, "e"),
            ]
        );
        assert!(
            f[0].explanation.contains("5.000e-11"),
            "{}",
            f[0].explanation
        );
        assert!(f[3].explanation.contains("epoch 1"), "{}", f[3].explanation);
        for flag in &f {
            assert!(flag.explanation.ends_with('.'));
            assert_eq!(
                flag.explanation.matches(". ").count(),
                0,
                "{}",
                flag.explanation
            );
        }
    }

    #[test]
    fn uniform_attention_flag() {
        let uniform = [0.99, 0.985];
        let borderline = [0.98, 0.98];
        let sharp = [0.99, 0.5];
        let nan_head = [f64::NAN, 0.999];
        let all_nan = [f64::NAN];
        let obs = Observations {
            entropy: vec![
                ("conv1", &uniform),
                ("conv2", &borderline),
                ("conv3", &sharp),
                ("conv4", &nan_head),
                ("conv5", &all_nan),
            ],
            ..Default::default()
        };
        let f = flags(&obs);
        assert_eq!(
            kinds(&f),
            vec![
                (FlagKind::UniformAttention, "conv1"),
                (FlagKind::UniformAttention, "conv4"),
            ]
        );
        assert!(f[0].explanation.contains("0.9875"), "{}", f[0].explanation);
    }

    #[test]
    fn stalled_loss_flag() {
        let check = |losses: &[f64]| {
            kinds(&flags(&Observations {
                losses,
                ..Default::default()
            }))
            .into_iter()
            .map(|(k, s)| (k, s.to_string()))
            .collect::<Vec<_>>()
        };
        let flat: Vec<f64> = vec![1.0; 21];
        assert_eq!(
            check(&flat),
            vec![(FlagKind::StalledLoss, "loss".to_string())]
        );
        // 20 epochs only: not enough history.
        assert!(check(&flat[..20]).is_empty());
        // Relative change 0.0005 over the window: stalled; 0.002: not.
        let mut slow = vec![5.0; 30];
        slow[29] = 5.0 * (1.0 - 5e-4);
        assert_eq!(check(&slow).len(), 1);
        slow[29] = 5.0 * (1.0 - 2e-3);
        assert!(check(&slow).is_empty());
        // Only the last 21 values matter: an early drop does not hide a stall.
        let mut late = vec![1.0; 40];
        late[0] = 10.0;
        assert_eq!(check(&late).len(), 1);
        // Converged to (near) zero, or diverged: not a stall.
        assert!(check(&[0.0; 25]).is_empty());
        let mut nan = vec![1.0; 25];
        nan[24] = f64::NAN;
        assert!(check(&nan).is_empty());
    }

    #[test]
    fn underfitting_is_flagged_below_the_threshold_only() {
        let at = |acc: f64| {
            flags(&Observations {
                train_acc: Some(acc),
                ..Default::default()
            })
        };
        assert_eq!(kinds(&at(0.415)), [(FlagKind::Underfitting, "train_acc")]);
        assert!(at(0.415)[0].explanation.contains("41.5 %"));
        assert!(at(UNDERFIT_ACCURACY).is_empty());
        assert!(at(1.0).is_empty());
    }
}

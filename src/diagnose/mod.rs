//! Foundations for diagnosing graph-attention training: metrics over attention, gradients and
//! losses ([`metrics`]), and synthetic tasks whose solution needs sharp, query-dependent
//! attention ([`synthetic`]).
//!
//! # What the metrics tell a GNN researcher
//!
//! - **Normalized attention entropy** ([`metrics::normalized_entropy`]): per node, the entropy
//!   of its attention distribution divided by the entropy of the uniform one, `ln deg`. Near 1
//!   everywhere, the layer is a (costly) mean aggregator: attention learned nothing, often
//!   because its gradient is tiny compared with the value path's or because, as with GAT's
//!   static attention, the ranking of neighbours cannot depend on the query. Near 0, each node
//!   reads one neighbour; good on lookup tasks, a sign of over-confidence on homophilous
//!   citation graphs. Nodes with in-degree < 2 are skipped (their softmax is forced to 1).
//! - **Mean max attention** ([`metrics::mean_max_attention`]): the same question, answered in
//!   probability units: the average weight of each node's favourite neighbour.
//! - **Fraction in a region** ([`metrics::fraction_in_region`]): e.g. the share of score
//!   pre-activations in `leaky_relu`'s negative part, where scores and their gradients are
//!   scaled by the slope; a share near 1 means the attention vector sits in the "dead" region.
//! - **Gradient norms, gradient/parameter and update/parameter ratios, zero fraction**
//!   ([`metrics::l2_norm`], [`metrics::ratio`], [`metrics::update_ratio`],
//!   [`metrics::zero_fraction`]): whether each parameter learns at a sensible relative speed
//!   (update ratios around 1e-3 are the classic rule of thumb), and how much of a gradient is
//!   structurally zero.
//! - **Gradient share** ([`metrics::gradient_share`]): the fraction of the squared gradient
//!   norm that reaches the attention parameters (those that feed only a softmax, found by dataflow:
//!   `att`, `att_src`, `att_dst`, `lin_r`, ...)
//!   rather than the value path (`lin_l`, `lin`, `bias`). The derivative chain of Neumeier et
//!   al. (arXiv 2304.10939) shows every attention gradient passes through the softmax Jacobian
//!   `diag(α) − α αᵀ`, which shrinks as attention saturates or spreads over many neighbours;
//!   this measures how much gradient is left on a real run.
//! - **Edge saliency** ([`metrics::saliency`], [`metrics::rank_in_edges`]): `|α · ∂L/∂α|`, the
//!   first-order loss change if an edge were dropped from the softmax's output, ranked over a
//!   node's in-edges to answer "which neighbours does this prediction depend on?".
//! - **Flags** ([`metrics::flags`]): vanishing, exploding and non-finite gradients, uniform
//!   attention and a stalled loss, each with a documented threshold (`pub const`s in
//!   [`metrics`]) and a one-sentence explanation.
//!
//! # Synthetic tasks
//!
//! [`synthetic::dictlookup`] is Brody et al.'s DictionaryLookup (ICLR 2022): the benchmark
//! that separates static (GAT) from dynamic (GATv2) attention. [`synthetic::sparse_target`] is
//! the same lookup on a sparse random graph. Both produce a plain
//! [`Dataset`](gatgrad_runtime::Dataset), so training and every metric above apply unchanged,
//! and the right answer is known: the attention should be one-hot on the matching neighbour.

pub mod defaults;
pub mod layers;
pub mod metrics;
pub mod output;
pub mod record;
pub mod run;
pub mod synthetic;

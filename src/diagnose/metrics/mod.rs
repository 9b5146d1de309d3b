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
//!
//! One file per concept: [`attention`] (entropy, max attention), [`gradients`] (norms, ratios,
//! shares by parameter kind), [`saliency`] (edge saliency and ranking), [`flag`] (the flags and
//! their thresholds); everything is re-exported here.

pub mod attention;
pub mod flag;
pub mod gradients;
pub mod saliency;

pub use attention::*;
pub use flag::*;
pub use gradients::*;
pub use saliency::*;

use gatgrad_runtime::Graph;

pub(crate) fn check_edge_tensor(what: &str, graph: &Graph, values: usize, heads: usize) {
    assert_eq!(
        Some(values),
        graph.num_edges().checked_mul(heads),
        "{what}: expected E * heads = {} * {heads} values, found {values}",
        graph.num_edges()
    );
}

pub(crate) fn mean(sum: f64, count: usize) -> f64 {
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

#[cfg(test)]
mod tests;

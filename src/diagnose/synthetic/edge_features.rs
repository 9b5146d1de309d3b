//! Edge features of the synthetic tasks (`edge_dim=D` in a spec): `D` columns per edge, in
//! `edge_index` order, that tell a model which in-neighbours carry the target's class.
//!
//! Column 0 is a noisy hint: 1 if the edge's source carries the class the target is labelled with
//! (the lookup's answer), else 0, plus noise uniform in `[-0.5, 0.5)`. The other columns are noise
//! uniform in `[-1, 1)`. So a layer that reads edge features (PyG's `edge_dim`) can learn to
//! attend to the right neighbour from the hint without solving the lookup from the node features.
//!
//! The values come from stream 1 of the seed's ChaCha8 generator; the generators draw everything
//! else from stream 0, so asking for edge features changes no other tensor of the dataset.

use super::MAX_SIZE;
use gatgrad_runtime::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The `[E, D]` edge features for `num_edges` edges; `hint(e)` says whether the source of edge `e`
/// carries its target's class. Errors if `E · D` exceeds [`MAX_SIZE`].
pub(super) fn edge_features(
    num_edges: usize,
    dim: usize,
    seed: u64,
    hint: impl Fn(usize) -> bool,
) -> Result<Tensor<f64>, String> {
    match num_edges.checked_mul(dim) {
        Some(n) if n <= MAX_SIZE => {}
        _ => {
            return Err(format!(
            "edge_dim={dim}: {num_edges} edges × {dim} features would exceed {MAX_SIZE} values; \
                 choose a smaller edge_dim"
        ))
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1);
    let mut data = Vec::with_capacity(num_edges * dim);
    for e in 0..num_edges {
        let flag = if hint(e) { 1.0 } else { 0.0 };
        data.push(flag + rng.gen_range(-0.5..0.5));
        for _ in 1..dim {
            data.push(rng.gen_range(-1.0..1.0));
        }
    }
    Ok(Tensor {
        shape: vec![num_edges, dim],
        data,
    })
}

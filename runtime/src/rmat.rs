//! A reproducible power-law graph: the R-MAT generator (Chakrabarti, Zhan and Faloutsos, 2004),
//! for benchmarks on skewed degrees (hubs with thousands of in-edges) where a uniform random graph
//! has none.
//!
//! Each edge picks its source and target bit by bit on a `2^k × 2^k` grid (`2^k ≥ n`): at every
//! level one of the four quadrants with probabilities `a, b, c, d`; a pair outside `0..n` is drawn
//! again. Node ids are then permuted at random, so that degree says nothing about id (as Graph500
//! does).

use crate::graph::{check_size, Graph};
use crate::DataError;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The quadrant probabilities `a, b, c` (`d = 1 − a − b − c = 0.05`): a little more skewed than
/// Graph500's `0.57, 0.19, 0.19`, so that 100k nodes and 1M edges have a hub of more than 10⁴
/// in-edges (13,327 with seed 1; Graph500's give 9,702) and 1M / 10M one of 61,192.
pub const PROBABILITIES: (f64, f64, f64) = (0.6, 0.175, 0.175);

/// An R-MAT multigraph with `e` edges on `n` nodes from a ChaCha8 generator seeded with `seed`
/// (multi-edges and self loops occur). Errors when `e > 0` edges have no node, when `n + e`
/// exceeds `u32::MAX`, or when the graph does not fit in the available memory (`what` names where
/// the sizes came from).
pub fn rmat_graph(n: usize, e: usize, seed: u64, what: &str) -> Result<Graph, DataError> {
    if n == 0 && e > 0 {
        return Err(DataError::new(format!(
            "{what}: {e} edges need at least one node"
        )));
    }
    check_size(n, e, what)?;
    let levels = usize::BITS - n.saturating_sub(1).leading_zeros();
    let (a, b, c) = PROBABILITIES;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut src = Vec::with_capacity(e);
    let mut dst = Vec::with_capacity(e);
    while src.len() < e {
        let (mut s, mut t) = (0usize, 0usize);
        for _ in 0..levels {
            let r: f64 = rng.gen();
            let (bs, bt) = if r < a {
                (0, 0)
            } else if r < a + b {
                (0, 1)
            } else if r < a + b + c {
                (1, 0)
            } else {
                (1, 1)
            };
            s = 2 * s + bs;
            t = 2 * t + bt;
        }
        if s < n && t < n {
            src.push(s as u32);
            dst.push(t as u32);
        }
    }
    let mut ids: Vec<u32> = (0..n as u32).collect();
    ids.shuffle(&mut rng);
    for v in src.iter_mut().chain(dst.iter_mut()) {
        *v = ids[*v as usize];
    }
    Ok(Graph::from_valid(n, src, dst))
}

#[cfg(test)]
mod tests {
    use super::rmat_graph;

    #[test]
    fn rmat_is_reproducible_and_skewed() {
        let g = rmat_graph(10_000, 100_000, 7, "test").unwrap();
        let h = rmat_graph(10_000, 100_000, 7, "test").unwrap();
        assert_eq!(g.edge_index().data, h.edge_index().data);
        assert_eq!(g.num_edges(), 100_000);
        let max_in = (0..g.num_nodes())
            .map(|i| g.in_edges(i).len())
            .max()
            .unwrap();
        // A uniform graph of this size has a largest in-degree of about 25; R-MAT has hubs.
        assert!(max_in > 1_000, "largest in-degree {max_in}");
        let other = rmat_graph(10_000, 100_000, 8, "test").unwrap();
        assert_ne!(g.edge_index().data, other.edge_index().data);
    }

    #[test]
    fn rmat_edge_cases() {
        assert_eq!(rmat_graph(1, 5, 0, "t").unwrap().num_edges(), 5);
        assert_eq!(rmat_graph(0, 0, 0, "t").unwrap().num_nodes(), 0);
        assert!(rmat_graph(0, 3, 0, "t").is_err());
        // A node count that is not a power of two: every id in range.
        let g = rmat_graph(1000, 5000, 1, "t").unwrap();
        assert!(g.edge_index().data.iter().all(|&v| (0..1000).contains(&v)));
    }
}

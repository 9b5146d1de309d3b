//! Dropout masks of the training loop: entries `0` or `1 / (1 - p)` drawn from a counter-based
//! hash, so a mask depends only on (seed, epoch, mask, position), never on the thread count.
//! The mask of a tensor with a known zero pattern is stored compactly (one value per pattern
//! entry, see [`gatgrad_runtime::pattern`]); its values are keyed by their dense position.

use gatgrad_runtime::kernels::Pattern;
use rayon::prelude::*;

/// Entries per parallel task of a dense mask.
const CHUNK: usize = 8192;

/// 53 random bits from a counter-based hash of (seed, stream, position).
fn bits(seed: u64, stream: u64, k: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(k.wrapping_mul(0x94D0_49BB_1331_11EB));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z >> 11
}

/// A counter-based random number in [0, 1): the same for a given key whatever the thread count.
pub fn uniform(seed: u64, stream: u64, k: u64) -> f64 {
    bits(seed, stream, k) as f64 / (1u64 << 53) as f64
}

/// How a mask's entries are laid out, which decides the position each entry is keyed by.
#[derive(Clone, Copy)]
pub enum Layout<'a> {
    /// Dense, keyed by the entry's index.
    Dense,
    /// Compact over a zero pattern, keyed by the entry's dense position.
    Pattern(&'a Pattern),
    /// An edge tensor stored in target order: row `r` is keyed as the row of PyG edge
    /// `origin[r]`, so masks do not depend on how edges are stored.
    Edges(&'a [u32]),
}

/// Draws a training mask: each entry is dropped with probability `p` (keyed by `seed`,
/// `stream` and its position: dropped when [`uniform`] `< p`), kept ones are scaled by
/// `1 / (1 - p)`.
pub fn fill_train(vals: &mut Vec<f32>, layout: Layout, p: f64, seed: u64, stream: u64) {
    let keep = (1.0 / (1.0 - p)) as f32;
    // `uniform < p` is `bits < p · 2^53` (both sides exact), i.e. `bits < ceil(p · 2^53)`.
    let threshold = (p * (1u64 << 53) as f64).ceil() as u64;
    // `move` closures keep the captured values in registers (by reference, they are reloaded
    // for every entry: the loop runs three times slower).
    fill_mask(vals, layout, move |k| {
        if bits(seed, stream, k as u64) < threshold {
            0.0
        } else {
            keep
        }
    });
}

/// The evaluation mask: all ones.
pub fn fill_eval(vals: &mut Vec<f32>, layout: Layout) {
    fill_mask(vals, layout, |_| 1.0);
}

/// Sets every entry `k` of a dropout mask to `value(k)`; for the mask of a sparse tensor only the
/// pattern's entries, the only ones ever read, stored compactly.
fn fill_mask(vals: &mut Vec<f32>, layout: Layout, value: impl Fn(usize) -> f32 + Sync + Send) {
    match layout {
        Layout::Pattern(pat) => {
            vals.resize(pat.nnz(), 0.0);
            let cols = pat.cols;
            gatgrad_runtime::pattern::par_entries(pat, vals, move |r, c, _| value(r * cols + c));
        }
        Layout::Edges(origin) => {
            let width = vals.len().checked_div(origin.len()).unwrap_or(0).max(1);
            let rows = CHUNK.div_ceil(width);
            vals.par_chunks_mut(rows * width)
                .enumerate()
                .for_each(move |(c, chunk)| {
                    for (r, row) in chunk.chunks_mut(width).enumerate() {
                        let base = origin[c * rows + r] as usize * width;
                        for (h, v) in row.iter_mut().enumerate() {
                            *v = value(base + h);
                        }
                    }
                })
        }
        Layout::Dense => vals
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(move |(c, chunk)| {
                for (i, v) in chunk.iter_mut().enumerate() {
                    *v = value(c * CHUNK + i);
                }
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The integer threshold drops exactly the entries whose `uniform` is below `p`.
    #[test]
    fn threshold_agrees_with_uniform() {
        for p in [0.0, 0.1, 0.5, 0.6, 0.999] {
            let mut vals = vec![0.0f32; 20_000];
            fill_train(&mut vals, Layout::Dense, p, 7, 3);
            for (k, v) in vals.iter().enumerate() {
                let dropped = uniform(7, 3, k as u64) < p;
                assert_eq!(*v == 0.0, dropped, "p = {p}, k = {k}");
            }
        }
    }

    /// An edge mask stored in target order holds, row by row, the mask PyG's order would have.
    #[test]
    fn edge_masks_follow_their_edges() {
        let origin = [2u32, 0, 3, 1];
        let (mut dense, mut edges) = (vec![0.0f32; 12], vec![0.0f32; 12]);
        fill_train(&mut dense, Layout::Dense, 0.5, 1, 2);
        fill_train(&mut edges, Layout::Edges(&origin), 0.5, 1, 2);
        for (r, &o) in origin.iter().enumerate() {
            let o = o as usize;
            assert_eq!(edges[r * 3..r * 3 + 3], dense[o * 3..o * 3 + 3]);
        }
    }
}

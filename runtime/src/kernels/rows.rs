//! Parallel loops over rows: each row written by one task, and sums over rows in fixed chunks
//! added in chunk order, so the bits do not depend on the thread count; and two in-row helpers.

use super::Float;
use rayon::prelude::*;

/// Rows per work item of the parallel sums ([`par_sum_rows`], [`par_sum_edges_by_target`]); fixed
/// so results never depend on the thread count.
pub const CHUNK: usize = 256;

/// Rows (or targets) per work item of the loops that write disjoint rows ([`par_rows`],
/// [`par_by_target`], [`par_edges_by_target`]). Their results do not depend on it; small items
/// keep the threads evenly loaded to the end of each loop.
pub const TASK: usize = 64;

/// Fills `out` (rows of `width`) in parallel: `f(row, slice)` for every row.
pub fn par_rows<T: Float>(out: &mut [T], width: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    if width == 0 {
        return;
    }
    out.par_chunks_mut(width * TASK)
        .enumerate()
        .for_each(|(c, chunk)| {
            for (r, row) in chunk.chunks_mut(width).enumerate() {
                f(c * TASK + r, row);
            }
        });
}
/// `out.copy_from_slice(src)`, in parallel blocks (a reshape copies a whole hidden layer).
pub fn par_copy<T: Float>(out: &mut [T], src: &[T]) {
    assert_eq!(out.len(), src.len(), "par_copy: lengths");
    const BLOCK: usize = 16 * 1024;
    out.par_chunks_mut(BLOCK)
        .zip(src.par_chunks(BLOCK))
        .for_each(|(o, s)| o.copy_from_slice(s));
}

/// `Σ_rows f(row)` into a buffer of `width`, in parallel and deterministically: rows are summed in
/// fixed chunks, and chunk sums are added in chunk order.
pub fn par_sum_rows<T: Float>(
    rows: usize,
    width: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) -> Vec<T> {
    let chunks = rows.div_ceil(CHUNK);
    let partial: Vec<Vec<T>> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let mut acc = vec![T::ZERO; width];
            for r in c * CHUNK..((c + 1) * CHUNK).min(rows) {
                f(r, &mut acc);
            }
            acc
        })
        .collect();
    let mut out = vec![T::ZERO; width];
    for p in partial {
        for (o, v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
    out
}
/// Overwrites `row[j]` with `exact(j)` wherever `redo(j)`. The conditions of 64 entries at a time
/// are gathered into a bit set first, so that the loop does not branch on each entry: generated
/// code fills a row with a cheap stand-in and then recomputes the few entries that need an
/// expensive function (`elu` of a negative input, when its dropout mask keeps it).
#[inline(always)]
pub fn recompute_where<T>(row: &mut [T], redo: impl Fn(usize) -> bool, exact: impl Fn(usize) -> T) {
    for start in (0..row.len()).step_by(64) {
        let len = (row.len() - start).min(64);
        let mut bits = 0u64;
        for j in 0..len {
            bits |= (redo(start + j) as u64) << j;
        }
        while bits != 0 {
            let j = start + bits.trailing_zeros() as usize;
            row[j] = exact(j);
            bits &= bits - 1;
        }
    }
}

/// `out[h] = Σ_c terms[h · block + c]` for every `h`, each sum starting from zero and adding its
/// `block` terms in order: the bits of a loop per `h`, for terms computed beforehand in one
/// vectorised loop (see the code generator's `blocks.rs`).
#[inline(always)]
pub fn sum_blocks<T: Float>(out: &mut [T], terms: &[T], block: usize) {
    assert_eq!(terms.len(), out.len() * block, "sum_blocks: terms");
    if block == 0 {
        out.iter_mut().for_each(|o| *o = T::ZERO);
        return;
    }
    for (o, ts) in out.iter_mut().zip(terms.chunks_exact(block)) {
        let mut acc = T::ZERO;
        for &t in ts {
            acc += t;
        }
        *o = acc;
    }
}

//! Node tensors `[N, cols]` known to be zero outside a [`Pattern`] (bag-of-words features, their
//! dropout and what is derived from them element-wise), their two storage layouts, and the sparse ×
//! dense products that read them.
//!
//! A pattern tensor is stored either densely (`N × cols` values) or *compactly*: one value per
//! pattern entry, in pattern order (the values array of a CSR matrix). [`compact`] and [`expand`]
//! give either view of either layout; the layouts coincide when the pattern is full.

use crate::kernels::{par_rows, Float, TASK};
use rayon::prelude::*;
use std::borrow::Cow;

/// The positions of a node tensor `[N, cols]` that may be non-zero (CSR without values); every
/// other entry is known to be zero. Bag-of-words features are ~1% dense.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    /// Row pointers, `N + 1` entries.
    pub indptr: Vec<usize>,
    /// Column of each possibly non-zero entry.
    pub indices: Vec<u32>,
    /// Number of columns.
    pub cols: usize,
}

impl Pattern {
    /// Columns of row `r`.
    pub fn row(&self, r: usize) -> &[u32] {
        &self.indices[self.indptr[r]..self.indptr[r + 1]]
    }
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }
    /// Number of entries (the length of the compact layout).
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
    /// The same positions with every row's columns sorted and distinct, so that a full pattern's
    /// compact layout is the dense one.
    pub fn canonical(&self) -> Pattern {
        let mut indptr = Vec::with_capacity(self.indptr.len());
        let mut indices = Vec::with_capacity(self.indices.len());
        indptr.push(0);
        for r in 0..self.rows() {
            let mut row = self.row(r).to_vec();
            row.sort_unstable();
            row.dedup();
            indices.extend(row);
            indptr.push(indices.len());
        }
        Pattern {
            indptr,
            indices,
            cols: self.cols,
        }
    }
}

/// A pattern's entries by column (CSC without values), for products with the pattern's transpose.
#[derive(Clone, Debug, PartialEq)]
pub struct Columns {
    /// Column pointers, `cols + 1` entries.
    colptr: Vec<usize>,
    /// `(row, compact position)` of each entry, column by column, rows ascending.
    entries: Vec<(u32, u32)>,
}

impl Columns {
    /// Indexes `pat` by column.
    pub fn new(pat: &Pattern) -> Columns {
        let mut colptr = vec![0usize; pat.cols + 1];
        for &c in &pat.indices {
            colptr[c as usize + 1] += 1;
        }
        for c in 0..pat.cols {
            colptr[c + 1] += colptr[c];
        }
        let mut next = colptr.clone();
        let mut entries = vec![(0u32, 0u32); pat.nnz()];
        for r in 0..pat.rows() {
            for k in pat.indptr[r]..pat.indptr[r + 1] {
                let c = pat.indices[k] as usize;
                entries[next[c]] = (r as u32, k as u32);
                next[c] += 1;
            }
        }
        Columns { colptr, entries }
    }
    /// `(row, compact position)` of column `c`'s entries.
    fn column(&self, c: usize) -> &[(u32, u32)] {
        &self.entries[self.colptr[c]..self.colptr[c + 1]]
    }
}

/// The compact layout of a pattern tensor stored in either layout (borrowed when already compact).
pub fn compact<'a, T: Float>(pat: &Pattern, values: &'a [T]) -> Cow<'a, [T]> {
    if values.len() == pat.nnz() {
        return Cow::Borrowed(values);
    }
    let mut out = Vec::with_capacity(pat.nnz());
    for r in 0..pat.rows() {
        out.extend(
            pat.row(r)
                .iter()
                .map(|&c| values[r * pat.cols + c as usize]),
        );
    }
    Cow::Owned(out)
}

/// The dense layout of a pattern tensor stored in either layout (borrowed when already dense).
pub fn expand<'a, T: Float>(pat: &Pattern, values: &'a [T]) -> Cow<'a, [T]> {
    if values.len() != pat.nnz() {
        return Cow::Borrowed(values);
    }
    let mut out = vec![T::ZERO; pat.rows() * pat.cols];
    for r in 0..pat.rows() {
        for k in pat.indptr[r]..pat.indptr[r + 1] {
            out[r * pat.cols + pat.indices[k] as usize] = values[k];
        }
    }
    Cow::Owned(out)
}

/// Fills a compact pattern tensor in parallel: `f(row, column, position)` for every entry.
pub fn par_entries<T: Float>(
    pat: &Pattern,
    out: &mut [T],
    f: impl Fn(usize, usize, usize) -> T + Sync,
) {
    assert_eq!(out.len(), pat.nnz());
    let rows = pat.rows();
    let sh = crate::kernels::SharedSlice::new(out);
    (0..rows.div_ceil(TASK)).into_par_iter().for_each(|c| {
        let (r0, r1) = (c * TASK, ((c + 1) * TASK).min(rows));
        let (k0, k1) = (pat.indptr[r0], pat.indptr[r1]);
        // SAFETY: the entries of rows r0..r1 belong to this chunk alone.
        let vals = unsafe { sh.slice_mut(k0, k1 - k0) };
        fill_entries(pat, r0..r1, vals, &f);
    });
}

/// The entries of rows `rows` into `vals` (which starts at the first of them). A function of its
/// own so that `vals` is known not to alias `f`'s captures, which then stay in registers.
fn fill_entries<T>(
    pat: &Pattern,
    rows: std::ops::Range<usize>,
    vals: &mut [T],
    f: &impl Fn(usize, usize, usize) -> T,
) {
    let k0 = pat.indptr[rows.start];
    for r in rows {
        for k in pat.indptr[r]..pat.indptr[r + 1] {
            vals[k - k0] = f(r, pat.indices[k] as usize, k);
        }
    }
}

/// `row[j] += Σ_e v_e · src[o_e + j]` for every `j`, over the entries `(o_e, v_e)` in order. Blocks
/// of 64, then 16 columns are summed in registers over all entries (the same additions in the same
/// order as entry by entry over the whole row), so the loads of `src` rows do not wait on stores
/// to `row`, and a block's additions run in independent chains.
#[inline(always)]
fn add_scaled_rows<T: Float>(
    row: &mut [T],
    src: &[T],
    entries: impl Iterator<Item = (usize, T)> + Clone,
) {
    let start = add_scaled_blocks::<T, 64>(row, src, entries.clone(), 0);
    let start = add_scaled_blocks::<T, 16>(row, src, entries.clone(), start);
    let width = row.len();
    for (o, v) in entries {
        for (r, s) in row[start..].iter_mut().zip(&src[o + start..o + width]) {
            *r += v * *s;
        }
    }
}

/// [`add_scaled_rows`] for the blocks of `B` columns from `start` on; returns where they end.
#[inline(always)]
fn add_scaled_blocks<T: Float, const B: usize>(
    row: &mut [T],
    src: &[T],
    entries: impl Iterator<Item = (usize, T)> + Clone,
    mut start: usize,
) -> usize {
    while start + B <= row.len() {
        let mut acc = [T::ZERO; B];
        acc.copy_from_slice(&row[start..start + B]);
        for (o, v) in entries.clone() {
            for (a, s) in acc.iter_mut().zip(&src[o + start..][..B]) {
                *a += v * *s;
            }
        }
        row[start..start + B].copy_from_slice(&acc);
        start += B;
    }
    start
}

/// `out[N, o] (+)= X[N, cols] · W'` with `X` a compact pattern tensor (`vals`). `W` is stored
/// `[o, cols]` when `w_os`, else `[cols, o]`.
#[allow(clippy::too_many_arguments)]
pub fn sparse_nd<T: Float>(
    pat: &Pattern,
    vals: &[T],
    w: &[T],
    o: usize,
    w_os: bool,
    accumulate: bool,
    out: &mut [T],
) {
    let s = pat.cols;
    let wt: Cow<[T]> = if w_os {
        // Transposed in parallel blocks of 64 rows of `t` (16 KiB for o = 64, cache-resident),
        // into memory not zeroed first (a serial memset of the whole of `t` would cost as much).
        let mut t: Vec<T> = Vec::with_capacity(s * o);
        const B: usize = 64;
        t.spare_capacity_mut()[..s * o]
            .par_chunks_mut(B * o.max(1))
            .enumerate()
            .for_each(|(c, block)| {
                let b0 = c * B;
                let rows = block.len() / o.max(1);
                for a in 0..o {
                    let wrow = &w[a * s + b0..a * s + b0 + rows];
                    for (r, &v) in wrow.iter().enumerate() {
                        block[r * o + a].write(v);
                    }
                }
            });
        // SAFETY: the blocks cover the `s · o` entries, and each block writes all of its own.
        unsafe { t.set_len(s * o) };
        t.into()
    } else {
        w.into()
    };
    let wt: &[T] = &wt;
    let (indptr, indices) = (&pat.indptr[..], &pat.indices[..]);
    par_rows(out, o, move |n, row| {
        if !accumulate {
            row.iter_mut().for_each(|r| *r = T::ZERO);
        }
        let entries = indptr[n]..indptr[n + 1];
        let (cols, vals) = (&indices[entries.clone()], &vals[entries]);
        add_scaled_rows(
            row,
            wt,
            cols.iter().zip(vals).map(|(&f, &v)| (f as usize * o, v)),
        );
    });
}

/// `out (+)= Xᵀ D` where `X` is a compact pattern tensor (`vals`) and `D` is dense `[N, width]`:
/// `out[c, :] = Σ_n X[n, c] · D[n, :]`, `[cols, width]`, or its transpose `[width, cols]` when
/// `transposed`. Each output row is summed by one task over its column's rows in ascending order,
/// so the result does not depend on the thread count.
#[allow(clippy::too_many_arguments)]
pub fn sparse_tn<T: Float>(
    pat: &Pattern,
    columns: &Columns,
    vals: &[T],
    d: &[T],
    width: usize,
    transposed: bool,
    accumulate: bool,
    out: &mut [T],
) {
    let column = |c: usize, row: &mut [T]| {
        let entries = columns.column(c).iter();
        add_scaled_rows(
            row,
            d,
            entries.map(|&(n, k)| (n as usize * width, vals[k as usize])),
        );
    };
    if !transposed {
        par_rows(out, width, |c, row| {
            if !accumulate {
                row.iter_mut().for_each(|o| *o = T::ZERO);
            }
            column(c, row);
        });
        return;
    }
    let mut by_col = Vec::with_capacity(pat.cols * width);
    by_col.par_extend(rayon::iter::repeat_n(T::ZERO, pat.cols * width));
    par_rows(&mut by_col, width, column);
    let by_col = &by_col[..];
    par_rows(out, pat.cols, |r, orow| {
        for (c, o) in orow.iter_mut().enumerate() {
            let v = by_col[c * width + r];
            *o = if accumulate { *o + v } else { T::ZERO + v };
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    // [[1, 0, 2], [0, 0, 0], [0, 3, 0]] with row 0 listed unsorted and with a duplicate.
    fn pattern() -> Pattern {
        Pattern {
            indptr: vec![0, 3, 3, 4],
            indices: vec![2, 0, 2, 1],
            cols: 3,
        }
    }

    #[test]
    fn canonical_sorts_and_dedups() {
        let p = pattern().canonical();
        assert_eq!(p.indptr, vec![0, 2, 2, 3]);
        assert_eq!(p.indices, vec![0, 2, 1]);
    }

    #[test]
    fn layouts_round_trip() {
        let p = pattern().canonical();
        let dense = [1.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0];
        let c = compact(&p, &dense[..]);
        assert_eq!(&c[..], &[1.0, 2.0, 3.0]);
        assert_eq!(&expand(&p, &c)[..], &dense[..]);
        assert!(matches!(compact(&p, &c[..]), Cow::Borrowed(_)));
        assert!(matches!(expand(&p, &dense[..]), Cow::Borrowed(_)));
    }

    /// Widths with 64-blocks, 16-blocks and a remainder give the bits of entry-by-entry sums.
    #[test]
    fn blocked_products_sum_entries_in_order() {
        let (rows, cols, width) = (5, 7, 64 + 16 + 3);
        let p = Pattern {
            indptr: vec![0, 3, 3, 7, 9, 12],
            indices: vec![0, 3, 6, 1, 2, 3, 5, 0, 6, 2, 4, 6],
            cols,
        };
        let x: Vec<f32> = (0..p.nnz()).map(|k| (k as f32 * 0.7).sin() * 1e3).collect();
        let w: Vec<f32> = (0..cols * width).map(|k| (k as f32 * 1.3).cos()).collect();
        let mut nd = vec![0.0f32; rows * width];
        sparse_nd(&p, &x, &w, width, false, false, &mut nd);
        let mut tn = vec![0.0f32; cols * width];
        let d: Vec<f32> = (0..rows * width).map(|k| (k as f32 * 0.3).sin()).collect();
        sparse_tn(&p, &Columns::new(&p), &x, &d, width, false, false, &mut tn);
        let (mut nd_want, mut tn_want) = (vec![0.0f32; rows * width], vec![0.0f32; cols * width]);
        for r in 0..rows {
            for k in p.indptr[r]..p.indptr[r + 1] {
                let c = p.indices[k] as usize;
                for j in 0..width {
                    nd_want[r * width + j] += x[k] * w[c * width + j];
                }
            }
        }
        for c in 0..cols {
            for r in 0..rows {
                for k in p.indptr[r]..p.indptr[r + 1] {
                    if p.indices[k] as usize == c {
                        for j in 0..width {
                            tn_want[c * width + j] += x[k] * d[r * width + j];
                        }
                    }
                }
            }
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&nd), bits(&nd_want));
        assert_eq!(bits(&tn), bits(&tn_want));
    }

    #[test]
    fn products_match_dense() {
        let p = pattern().canonical();
        let x = [1.0, 2.0, 3.0]; // compact
        let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // [cols = 3, o = 2]
        let mut out = vec![9.0; 6];
        sparse_nd(&p, &x, &w, 2, false, false, &mut out);
        assert_eq!(out, vec![11.0, 14.0, 0.0, 0.0, 9.0, 12.0]);
        let wt = [1.0, 3.0, 5.0, 2.0, 4.0, 6.0]; // the same W stored [o, cols]
        sparse_nd(&p, &x, &wt, 2, true, true, &mut out);
        assert_eq!(out, vec![22.0, 28.0, 0.0, 0.0, 18.0, 24.0]);
        let d = [1.0, 1.0, 7.0, 7.0, 2.0, 0.0]; // [N = 3, width = 2]
        let mut xtd = vec![0.0; 6];
        sparse_tn(&p, &Columns::new(&p), &x, &d, 2, false, false, &mut xtd);
        assert_eq!(xtd, vec![1.0, 1.0, 6.0, 0.0, 2.0, 2.0]);
        let mut dtx = vec![1.0; 6];
        sparse_tn(&p, &Columns::new(&p), &x, &d, 2, true, true, &mut dtx);
        assert_eq!(dtx, vec![2.0, 7.0, 3.0, 2.0, 1.0, 3.0]);
    }
}

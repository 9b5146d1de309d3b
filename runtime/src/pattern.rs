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

/// Output entries [`sparse_nd`] accumulates in registers at a time.
const LANES: usize = 64;

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
        // Transposed in parallel blocks of 64 rows of `t` (16 KiB for o = 64, cache-resident).
        let mut t = vec![T::ZERO; s * o];
        const B: usize = 64;
        t.par_chunks_mut(B * o.max(1))
            .enumerate()
            .for_each(|(c, block)| {
                let b0 = c * B;
                let rows = block.len() / o.max(1);
                for a in 0..o {
                    let wrow = &w[a * s + b0..a * s + b0 + rows];
                    for (r, &v) in wrow.iter().enumerate() {
                        block[r * o + a] = v;
                    }
                }
            });
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
        // Blocks of LANES outputs are summed in registers over the row's entries (the same
        // additions in the same order as entry by entry over the whole row), so the loads of `W`
        // rows do not wait on stores to `row`.
        let mut start = 0;
        while start + LANES <= o {
            let mut acc = [T::ZERO; LANES];
            acc.copy_from_slice(&row[start..start + LANES]);
            for (&f, &v) in cols.iter().zip(vals) {
                let w = &wt[f as usize * o + start..][..LANES];
                for (a, wv) in acc.iter_mut().zip(w) {
                    *a += v * *wv;
                }
            }
            row[start..start + LANES].copy_from_slice(&acc);
            start += LANES;
        }
        for (&f, &v) in cols.iter().zip(vals) {
            let f = f as usize;
            for (r, wv) in row[start..].iter_mut().zip(&wt[f * o + start..(f + 1) * o]) {
                *r += v * *wv;
            }
        }
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
        for &(n, k) in columns.column(c) {
            let (n, v) = (n as usize, vals[k as usize]);
            for (o, dv) in row.iter_mut().zip(&d[n * width..(n + 1) * width]) {
                *o += v * *dv;
            }
        }
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
    let mut by_col = vec![T::ZERO; pat.cols * width];
    par_rows(&mut by_col, width, column);
    if !accumulate {
        out.iter_mut().for_each(|o| *o = T::ZERO);
    }
    for (c, row) in by_col.chunks(width.max(1)).enumerate() {
        for (r, v) in row.iter().enumerate() {
            out[r * pat.cols + c] += *v;
        }
    }
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

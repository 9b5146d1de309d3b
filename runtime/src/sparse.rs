//! Sparse row-major (CSR) matrices of f64, for bag-of-words node features.

use crate::error::DataError;

/// A `num_rows x num_cols` matrix in CSR form: row `r` holds the entries
/// `indices[k] -> values[k]` for `k` in `indptr[r]..indptr[r + 1]`. Column indices within
/// a row need not be sorted or distinct (duplicates add up).
#[derive(Debug, Clone, PartialEq)]
pub struct SparseRows {
    num_rows: usize,
    num_cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f64>,
}

impl SparseRows {
    /// A CSR matrix; errors unless `indptr` has `num_rows + 1` entries, starts at 0, never
    /// decreases and ends at `indices.len() == values.len()`, every index is
    /// `< num_cols`, and every value is finite.
    pub fn new(
        num_rows: usize,
        num_cols: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        values: Vec<f64>,
    ) -> Result<SparseRows, DataError> {
        let fail = |what: String| Err(DataError::new(format!("sparse rows: {what}")));
        if indptr.len().checked_sub(1) != Some(num_rows) {
            return fail(format!(
                "indptr has {} entries, expected {} rows + 1",
                indptr.len(),
                num_rows
            ));
        }
        if indices.len() != values.len() {
            return fail(format!(
                "{} indices but {} values",
                indices.len(),
                values.len()
            ));
        }
        if indptr[0] != 0 || indptr[num_rows] != indices.len() {
            return fail(format!(
                "indptr must run from 0 to {}, found {} to {}",
                indices.len(),
                indptr[0],
                indptr[num_rows]
            ));
        }
        if let Some(r) = indptr.windows(2).position(|w| w[1] < w[0]) {
            return fail(format!("indptr decreases at row {r}"));
        }
        if let Some(k) = indices.iter().position(|&c| c as usize >= num_cols) {
            return fail(format!(
                "column index {} at {k} out of range for {num_cols} columns",
                indices[k]
            ));
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return fail(format!("value {} at {k} is not finite", values[k]));
        }
        Ok(SparseRows::from_valid(
            num_rows, num_cols, indptr, indices, values,
        ))
    }

    /// Assembles a matrix the caller has already validated.
    pub(crate) fn from_valid(
        num_rows: usize,
        num_cols: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        values: Vec<f64>,
    ) -> SparseRows {
        SparseRows {
            num_rows,
            num_cols,
            indptr,
            indices,
            values,
        }
    }

    /// A CSR copy of a dense row-major `[num_rows, num_cols]` matrix, keeping nonzeros.
    pub fn from_dense(
        num_rows: usize,
        num_cols: usize,
        dense: &[f64],
    ) -> Result<SparseRows, DataError> {
        if num_rows.checked_mul(num_cols) != Some(dense.len()) || num_cols > u32::MAX as usize {
            return Err(DataError::new(format!(
                "sparse rows: {} dense values do not form a {num_rows} x {num_cols} matrix",
                dense.len()
            )));
        }
        let mut indptr = Vec::with_capacity(num_rows + 1);
        let mut indices = Vec::new();
        let mut values = Vec::new();
        indptr.push(0);
        for row in dense.chunks(num_cols.max(1)).take(num_rows) {
            for (c, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    indices.push(c as u32);
                    values.push(v);
                }
            }
            indptr.push(indices.len());
        }
        // Zero columns: no chunks, but every row is empty.
        indptr.resize(num_rows + 1, 0);
        SparseRows::new(num_rows, num_cols, indptr, indices, values)
    }

    /// The number of rows.
    pub fn num_rows(&self) -> usize {
        self.num_rows
    }

    /// The number of columns.
    pub fn num_cols(&self) -> usize {
        self.num_cols
    }

    /// The number of stored entries.
    pub fn nnz(&self) -> usize {
        self.values.len()
    }

    /// Row `r` as `(column indices, values)` (panics if `r >= num_rows`).
    pub fn row(&self, r: usize) -> (&[u32], &[f64]) {
        let range = self.indptr[r]..self.indptr[r + 1];
        (&self.indices[range.clone()], &self.values[range])
    }

    /// The row pointers (`num_rows + 1` entries).
    pub fn indptr(&self) -> &[usize] {
        &self.indptr
    }

    /// The column index of every stored entry.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// The value of every stored entry.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Row normalisation as PyG's `NormalizeFeatures`: each row is divided by its sum
    /// clamped below at 1 (`x / x.sum(-1).clamp(min=1)`), so rows summing to 0 are left
    /// unchanged. For bag-of-words features (entries >= 0, sums 0 or >= 1) this is
    /// "divide by the row sum". PyG also subtracts the global minimum first, which is a
    /// no-op for non-negative features with at least one zero; that shift is not applied.
    pub fn row_normalize(&mut self) {
        for r in 0..self.num_rows {
            let range = self.indptr[r]..self.indptr[r + 1];
            let row = &mut self.values[range];
            let sum: f64 = row.iter().sum();
            let scale = 1.0 / sum.max(1.0);
            row.iter_mut().for_each(|v| *v *= scale);
        }
    }

    /// The dense row-major `[num_rows, num_cols]` matrix; errors if it does not fit in the
    /// [available](crate::memory::available) memory.
    pub fn to_dense(&self) -> Result<Vec<f64>, DataError> {
        crate::memory::reserve(
            &format!(
                "the dense [{}, {}] copy of the sparse features (f64)",
                self.num_rows, self.num_cols
            ),
            crate::memory::bytes_of(&[self.num_rows, self.num_cols], 8),
        )?;
        let mut dense = vec![0.0; self.num_rows * self.num_cols];
        for r in 0..self.num_rows {
            let (cols, vals) = self.row(r);
            let out = &mut dense[r * self.num_cols..(r + 1) * self.num_cols];
            for (&c, &v) in cols.iter().zip(vals) {
                out[c as usize] += v;
            }
        }
        Ok(dense)
    }

    /// `self · rhs` where `rhs` is a dense row-major `[num_cols, width]` matrix; the result
    /// is `[num_rows, width]`.
    pub fn matmul(&self, rhs: &[f64], width: usize) -> Result<Vec<f64>, DataError> {
        self.check_dense(rhs.len(), self.num_cols, width, "matmul")?;
        let mut out = vec![0.0; self.num_rows * width];
        for (r, out_row) in out.chunks_mut(width.max(1)).enumerate().take(self.num_rows) {
            let (cols, vals) = self.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                let c = c as usize;
                for (o, w) in out_row.iter_mut().zip(&rhs[c * width..(c + 1) * width]) {
                    *o += v * w;
                }
            }
        }
        Ok(out)
    }

    /// `selfᵀ · rhs` where `rhs` is a dense row-major `[num_rows, width]` matrix; the result
    /// is `[num_cols, width]` (the weight gradient of [`matmul`](Self::matmul)).
    pub fn t_matmul(&self, rhs: &[f64], width: usize) -> Result<Vec<f64>, DataError> {
        self.check_dense(rhs.len(), self.num_rows, width, "t_matmul")?;
        let mut out = vec![0.0; self.num_cols * width];
        for r in 0..self.num_rows {
            let (cols, vals) = self.row(r);
            let g = &rhs[r * width..(r + 1) * width];
            for (&c, &v) in cols.iter().zip(vals) {
                let c = c as usize;
                for (o, gv) in out[c * width..(c + 1) * width].iter_mut().zip(g) {
                    *o += v * gv;
                }
            }
        }
        Ok(out)
    }

    fn check_dense(
        &self,
        len: usize,
        rows: usize,
        width: usize,
        op: &str,
    ) -> Result<(), DataError> {
        if rows.checked_mul(width) == Some(len) {
            Ok(())
        } else {
            Err(DataError::new(format!(
                "sparse {op}: dense operand has {len} values, expected {rows} x {width}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SparseRows {
        // [[1, 0, 2], [0, 0, 0], [0, 0.5, 0]]
        SparseRows::new(3, 3, vec![0, 2, 2, 3], vec![0, 2, 1], vec![1.0, 2.0, 0.5]).unwrap()
    }

    #[test]
    fn accessors_and_dense() {
        let m = sample();
        assert_eq!((m.num_rows(), m.num_cols(), m.nnz()), (3, 3, 3));
        assert_eq!(m.row(0), (&[0u32, 2][..], &[1.0, 2.0][..]));
        assert_eq!(
            m.to_dense().unwrap(),
            vec![1.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0]
        );
        assert_eq!(
            SparseRows::from_dense(3, 3, &m.to_dense().unwrap()).unwrap(),
            m
        );
        assert_eq!(
            SparseRows::from_dense(2, 0, &[]).unwrap().indptr(),
            &[0, 0, 0]
        );
    }

    #[test]
    fn a_dense_copy_too_large_for_memory_is_refused() {
        // 40 rows and 10^15 columns claimed, nothing stored: 320 PB dense.
        let m = SparseRows::new(40, 1_000_000_000_000_000, vec![0; 41], vec![], vec![]).unwrap();
        let err = m.to_dense().unwrap_err().to_string();
        assert!(
            err.starts_with(
                "the dense [40, 1000000000000000] copy of the sparse features (f64) needs 320.0 PB, this machine has"
            ),
            "{err}"
        );
    }

    #[test]
    fn normalize_like_pyg() {
        let mut m = sample();
        m.row_normalize();
        // Row 0 sums to 3; row 1 is empty; row 2 sums to 0.5 < 1, so it is kept.
        assert_eq!(m.values(), &[1.0 / 3.0, 2.0 / 3.0, 0.5]);
    }

    #[test]
    fn products_match_dense() {
        let m = sample();
        let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // [3, 2]
        assert_eq!(
            m.matmul(&w, 2).unwrap(),
            vec![11.0, 14.0, 0.0, 0.0, 1.5, 2.0]
        );
        let g = [1.0, 1.0, 7.0, 7.0, 2.0, 0.0]; // [3, 2]
        assert_eq!(
            m.t_matmul(&g, 2).unwrap(),
            vec![1.0, 1.0, 1.0, 0.0, 2.0, 2.0]
        );
        assert!(m.matmul(&w[..5], 2).is_err());
        assert!(m.t_matmul(&g, 3).is_err());
    }

    #[test]
    fn invalid_csr_is_rejected() {
        assert!(SparseRows::new(2, 3, vec![0, 1], vec![0], vec![1.0]).is_err());
        assert!(SparseRows::new(1, 3, vec![1, 1], vec![0], vec![1.0]).is_err());
        assert!(SparseRows::new(2, 3, vec![0, 2, 1], vec![0], vec![1.0]).is_err());
        assert!(SparseRows::new(1, 3, vec![0, 1], vec![3], vec![1.0]).is_err());
        assert!(SparseRows::new(1, 3, vec![0, 1], vec![0], vec![f64::NAN]).is_err());
        assert!(SparseRows::new(1, 3, vec![0, 1], vec![0], vec![]).is_err());
    }
}

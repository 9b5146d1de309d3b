//! GEMM split into parallel row or column blocks, with the bits of one call.

use super::{Float, CHUNK};
use rayon::prelude::*;

/// Rows of `C` per task of [`par_gemm`]: a multiple of matrixmultiply's row block (64) and of its
/// microkernel heights (≤ 16), so the tasks tile `C` into the same microkernel blocks as one call.
pub const GEMM_ROWS: usize = CHUNK;

/// Columns of `C` per task of [`par_gemm`] when it splits columns: a multiple of matrixmultiply's microkernel widths
/// (≤ 16).
pub const GEMM_COLS: usize = 32;

/// Multiply-adds below which [`par_gemm`] stays on the calling thread.
const GEMM_PAR_WORK: usize = 1 << 18;

/// `T::gemm` with `alpha = 1` into a row-major `C` of `n` columns.
#[allow(clippy::too_many_arguments)]
fn gemm_rows<T: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    (rsa, csa): (isize, isize),
    b: &[T],
    (rsb, csb): (isize, isize),
    beta: T,
    c: &mut [T],
) {
    let one = T::ONE;
    T::gemm(
        m, k, n, one, a, rsa, csa, b, rsb, csb, beta, c, n as isize, 1,
    );
}

/// `C = A · B + beta · C` for `C` row-major `[m, n]` (`T::gemm` with `alpha = 1`; `A` and `B` with
/// (row, column) strides `sa`, `sb`), in parallel tasks: of [`GEMM_ROWS`] rows of `A` and `C`
/// when there are more rows than that, else of [`GEMM_COLS`] columns of `B` and `C`. `k` is never
/// split, and matrixmultiply computes each element of `C` as one microkernel accumulation over all
/// of `k` (blocked the same way for any `m` and `n`), so the result is bitwise that of a single
/// `T::gemm` call, for any thread count. The strides of `A`'s rows and `B`'s columns must not be
/// negative.
#[allow(clippy::too_many_arguments)]
pub fn par_gemm<T: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    sa: (isize, isize),
    b: &[T],
    sb: (isize, isize),
    beta: T,
    c: &mut [T],
) {
    let c = &mut c[..m * n];
    if m * k * n < GEMM_PAR_WORK || (m <= GEMM_ROWS && n <= GEMM_COLS) {
        return gemm_rows(m, k, n, a, sa, b, sb, beta, c);
    }
    if m > GEMM_ROWS {
        let rsa = usize::try_from(sa.0).expect("par_gemm: negative row stride");
        c.par_chunks_mut(GEMM_ROWS * n)
            .enumerate()
            .for_each(|(t, block)| {
                let a = &a[t * GEMM_ROWS * rsa..];
                gemm_rows(block.len() / n, k, n, a, sa, b, sb, beta, block);
            });
        return;
    }
    // Few rows: each task copies its columns of `C` out, runs `T::gemm` on them with the caller's
    // `beta` and copies them back.
    let csb = usize::try_from(sb.1).expect("par_gemm: negative column stride");
    let c_in: &[T] = c;
    let blocks: Vec<Vec<T>> = (0..n.div_ceil(GEMM_COLS))
        .into_par_iter()
        .map(|t| {
            let cols = t * GEMM_COLS..((t + 1) * GEMM_COLS).min(n);
            let rows = c_in.chunks(n).flat_map(|row| &row[cols.clone()]);
            let mut block: Vec<T> = rows.copied().collect();
            let b = &b[cols.start * csb..];
            gemm_rows(m, k, cols.len(), a, sa, b, sb, beta, &mut block);
            block
        })
        .collect();
    for (t, block) in blocks.iter().enumerate() {
        let w = block.len() / m;
        for (row, src) in c.chunks_mut(n).zip(block.chunks(w)) {
            row[t * GEMM_COLS..][..w].copy_from_slice(src);
        }
    }
}

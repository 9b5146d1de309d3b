//! Building blocks for generated code: a float trait, GEMM, and parallel loops whose results are
//! bitwise identical for any number of threads (work is split into fixed-size chunks that do not
//! depend on the thread count, and partial sums are combined in chunk order).

use rayon::prelude::*;

/// The element types generated code runs on (`f32`, `f64`).
pub trait Float:
    Copy
    + Send
    + Sync
    + Default
    + PartialOrd
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + std::ops::AddAssign
    + 'static
{
    /// 0
    const ZERO: Self;
    /// 1
    const ONE: Self;
    /// From f64 (rounding).
    fn of(v: f64) -> Self;
    /// To f64.
    fn to_f64(self) -> f64;
    /// e^x
    fn exp(self) -> Self;
    /// ln x
    fn ln(self) -> Self;
    /// √x
    fn sqrt(self) -> Self;
    /// tanh x
    fn tanh(self) -> Self;
    /// x^p
    fn powf(self, p: Self) -> Self;
    /// max(x, y)
    fn max(self, y: Self) -> Self;
    /// ln(1 + x)
    fn ln_1p(self) -> Self;
    /// e^x - 1
    fn exp_m1(self) -> Self;
    /// |x|
    fn abs(self) -> Self;
    /// `C = alpha · A · B + beta · C` with arbitrary strides (row stride, column stride).
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: &[Self],
        rsa: isize,
        csa: isize,
        b: &[Self],
        rsb: isize,
        csb: isize,
        beta: Self,
        c: &mut [Self],
        rsc: isize,
        csc: isize,
    );
}

macro_rules! float_impl {
    ($t:ty, $gemm:path) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            fn of(v: f64) -> Self {
                v as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            fn powf(self, p: Self) -> Self {
                <$t>::powf(self, p)
            }
            fn max(self, y: Self) -> Self {
                <$t>::max(self, y)
            }
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            fn exp_m1(self) -> Self {
                <$t>::exp_m1(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: &[Self],
                rsa: isize,
                csa: isize,
                b: &[Self],
                rsb: isize,
                csb: isize,
                beta: Self,
                c: &mut [Self],
                rsc: isize,
                csc: isize,
            ) {
                if m == 0 || n == 0 {
                    return;
                }
                let span = |rows: usize, cols: usize, rs: isize, cs: isize| {
                    if rows == 0 || cols == 0 {
                        0
                    } else {
                        ((rows - 1) as isize * rs + (cols - 1) as isize * cs) as usize + 1
                    }
                };
                assert!(a.len() >= span(m, k, rsa, csa), "gemm: A too short");
                assert!(b.len() >= span(k, n, rsb, csb), "gemm: B too short");
                assert!(c.len() >= span(m, n, rsc, csc), "gemm: C too short");
                // SAFETY: the asserts above bound every index the kernel touches.
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        alpha,
                        a.as_ptr(),
                        rsa,
                        csa,
                        b.as_ptr(),
                        rsb,
                        csb,
                        beta,
                        c.as_mut_ptr(),
                        rsc,
                        csc,
                    )
                }
            }
        }
    };
}

float_impl!(f32, matrixmultiply::sgemm);
float_impl!(f64, matrixmultiply::dgemm);

/// Rows per work item of [`par_rows`] and [`par_sum_rows`]; fixed so results never depend on the
/// thread count.
pub const CHUNK: usize = 256;

/// Fills `out` (rows of `width`) in parallel: `f(row, slice)` for every row.
pub fn par_rows<T: Float>(out: &mut [T], width: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    if width == 0 {
        return;
    }
    out.par_chunks_mut(width * CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            for (r, row) in chunk.chunks_mut(width).enumerate() {
                f(c * CHUNK + r, row);
            }
        });
}

/// `Σ_rows f(row)` into a buffer of `width`, in parallel and deterministically: rows are summed in
/// fixed chunks, and chunk sums are added in chunk order.
pub fn par_sum_rows<T: Float>(rows: usize, width: usize, f: impl Fn(usize, &mut [T]) + Sync) -> Vec<T> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_matches_naive_with_transposes() {
        let (m, k, n) = (3, 4, 2);
        let a: Vec<f64> = (0..m * k).map(|x| x as f64 * 0.5 - 1.0).collect();
        let b: Vec<f64> = (0..n * k).map(|x| (x as f64).sin()).collect();
        // C = A · Bᵀ where B is stored [n, k].
        let mut c = vec![0.0; m * n];
        f64::gemm(m, k, n, 1.0, &a, k as isize, 1, &b, 1, k as isize, 0.0, &mut c, n as isize, 1);
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k).map(|t| a[i * k + t] * b[j * k + t]).sum();
                assert!((c[i * n + j] - want).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn sums_are_identical_across_thread_counts() {
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                par_sum_rows::<f32>(10_000, 3, |r, acc| {
                    for (k, a) in acc.iter_mut().enumerate() {
                        *a += ((r * 7 + k) as f32).sin() * 1e-3;
                    }
                })
            })
        };
        let one = run(1);
        let two = run(2);
        assert_eq!(
            one.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            two.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
}

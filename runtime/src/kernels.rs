//! Building blocks for generated code: a float trait, GEMM, and parallel loops whose results are
//! bitwise identical for any number of threads (work is split into fixed-size chunks that do not
//! depend on the thread count, and partial sums are combined in chunk order).

use rayon::prelude::*;

pub use crate::pattern::Pattern;

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
        f64::gemm(
            m, k, n, 1.0, &a, k as isize, 1, &b, 1, k as isize, 0.0, &mut c, n as isize, 1,
        );
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k).map(|t| a[i * k + t] * b[j * k + t]).sum();
                assert!((c[i * n + j] - want).abs() < 1e-12);
            }
        }
    }

    fn split_gemms_match_one_call<T: Float>() {
        let values = |len: usize, seed: usize| -> Vec<T> {
            (0..len)
                .map(|i| T::of(((i * 7919 + seed * 104_729) % 1_000_003) as f64 / 1e6 - 0.5))
                .collect()
        };
        let bits = |v: &[T]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
        let pools = [1, 2].map(|t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
        });
        // Shapes of the dense Cora products (k above matrixmultiply's block of 256 for the
        // transposed one), with uneven last tasks, and `A` / `B` both plain and transposed.
        // Split by rows, by rows, by columns, by rows.
        for (m, k, n) in [(2708, 64, 7), (1000, 7, 64), (7, 2708, 64), (300, 600, 70)] {
            let (a, b) = (values(m * k, 1), values(k * n, 2));
            for (sa, sb) in [
                ((k as isize, 1), (n as isize, 1)),
                ((1, m as isize), (1, k as isize)),
            ] {
                for beta in [T::ZERO, T::ONE] {
                    let mut want = values(m * n, 3);
                    let one = T::ONE;
                    T::gemm(
                        m, k, n, one, &a, sa.0, sa.1, &b, sb.0, sb.1, beta, &mut want, n as isize,
                        1,
                    );
                    for pool in &pools {
                        let mut got = values(m * n, 3);
                        pool.install(|| par_gemm(m, k, n, &a, sa, &b, sb, beta, &mut got));
                        assert_eq!(bits(&got), bits(&want), "{m}×{k}×{n} {sa:?} {sb:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn split_gemms_are_bitwise_one_gemm() {
        split_gemms_match_one_call::<f32>();
        split_gemms_match_one_call::<f64>();
    }

    #[test]
    fn sums_are_identical_across_thread_counts() {
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
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

    /// Special values, then every 4099th bit pattern: all signs, zeros, subnormals, infinities
    /// and NaNs, in f32 and in f64 via the f32 values.
    fn inputs() -> Vec<f32> {
        let mut xs = vec![0.0, -0.0, 1e-45, -1e-45, -1.0, -1.5, -17.0, -104.0, -1e30];
        xs.extend([
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MIN,
            f32::MAX,
        ]);
        xs.extend((0..u32::MAX / 4099).map(|k| f32::from_bits(k * 4099)));
        xs
    }

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// The stand-ins agree with `elu` and `elu'` where `x > 0`, and wherever they are multiplied by
    /// a zero or a NaN (on either side), whatever `x` and `alpha`.
    #[test]
    fn elu_stand_ins_have_the_same_products_with_zero() {
        let alphas = [1.0, 0.5, 0.0, -0.0, -2.0, 1e30, f64::INFINITY, f64::NAN];
        for x in inputs() {
            for &alpha in &alphas {
                for (exact, cheap) in [
                    (
                        f::elu::<f64>(x as f64, alpha),
                        f::elu_sign::<f64>(x as f64, alpha),
                    ),
                    (
                        f::elu_grad(x as f64, alpha),
                        f::elu_grad_sign(x as f64, alpha),
                    ),
                ] {
                    if x > 0.0 {
                        assert!(same(exact, cheap), "x = {x}, alpha = {alpha}");
                    }
                    for q in [0.0, -0.0, f64::NAN] {
                        assert!(
                            same(exact * q, cheap * q),
                            "x = {x}, alpha = {alpha}, q = {q}"
                        );
                        assert!(
                            same(q * exact, q * cheap),
                            "x = {x}, alpha = {alpha}, q = {q}"
                        );
                    }
                }
                let a = alpha as f32;
                for (exact, cheap) in [
                    (f::elu::<f32>(x, a), f::elu_sign::<f32>(x, a)),
                    (f::elu_grad(x, a), f::elu_grad_sign(x, a)),
                ] {
                    if x > 0.0 {
                        assert!(same(exact as f64, cheap as f64), "x = {x}, alpha = {a}");
                    }
                    for q in [0.0f32, -0.0] {
                        assert!(
                            same((exact * q) as f64, (cheap * q) as f64),
                            "x = {x}, q = {q}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn sum_blocks_adds_each_block_in_order_from_zero() {
        // 1e8 + 1 - 1e8 is 0 in f32 left to right, 1 in any other order.
        let terms = [1e8f32, 1.0, -1e8, -0.0, -0.0, -0.0, 3.0, 0.5, 0.25];
        let mut out = [9.0f32; 3];
        sum_blocks(&mut out, &terms, 3);
        assert_eq!(out.map(f32::to_bits), [0.0f32, 0.0, 3.75].map(f32::to_bits));
        let mut empty = [9.0f32; 2];
        sum_blocks(&mut empty, &[], 0);
        assert_eq!(empty, [0.0, 0.0]);
    }

    #[test]
    fn recompute_where_visits_exactly_the_flagged_entries() {
        for len in [0, 1, 63, 64, 65, 130] {
            let mut row: Vec<usize> = vec![0; len];
            recompute_where(&mut row, |j| j % 3 == 1 || j == 64, |j| j + 1);
            for (j, v) in row.iter().enumerate() {
                let flagged = j % 3 == 1 || j == 64;
                assert_eq!(*v, if flagged { j + 1 } else { 0 }, "len {len}, entry {j}");
            }
        }
    }
}

/// Per-target softmax of edge scores, PyG style: per target and column the maximum is subtracted
/// and 1e-16 is added to the denominator. `scores` and `out` are `[E, width]` by edge id; each
/// target writes only its own in-edges, so targets run in parallel (in fixed chunks). Edge rows
/// are read whole; per column, maxima and sums run over the in-edges in CSR order (see
/// [`softmax_target`], which fused loops call for one target).
pub fn softmax_by_target<T: Float>(
    graph: &crate::Graph,
    scores: &[T],
    width: usize,
    out: &mut [T],
) {
    assert_eq!(scores.len(), graph.num_edges() * width);
    assert_eq!(out.len(), scores.len());
    let scores = Rows::new(scores, width);
    let outs = [TargetOut::edges(graph, out, width)];
    par_by_target(graph, &outs, |_, rows, scratch| {
        softmax_target(&scores, &mut rows[0], scratch);
    });
}

/// The softmax of [`softmax_by_target`] for the target `out` is at: reads the score rows of its
/// in-edges from `scores` and writes their rows of `out` (`scratch` holds the per-column maxima
/// and denominators).
pub fn softmax_target<T: Float, S: EdgeRows<T> + ?Sized>(
    scores: &S,
    out: &mut TargetRows<'_, T>,
    scratch: &mut Vec<T>,
) {
    let width = out.width;
    scratch.clear();
    scratch.resize(width, T::of(f64::NEG_INFINITY));
    scratch.resize(2 * width, T::ZERO);
    let (mx, denom) = scratch.split_at_mut(width);
    for &e in out.graph.in_edges(out.target) {
        let row = scores.edge_row(e as usize);
        for (m, &x) in mx.iter_mut().zip(row) {
            *m = m.max(x);
        }
    }
    out.each_edge(|e, orow| {
        let row = scores.edge_row(e);
        for (((o, &x), &m), d) in orow.iter_mut().zip(row).zip(&*mx).zip(denom.iter_mut()) {
            *o = (x - m).exp();
            *d += *o;
        }
    });
    denom.iter_mut().for_each(|d| *d += T::of(1e-16));
    out.each_edge(|_, orow| {
        for (o, &d) in orow.iter_mut().zip(&*denom) {
            *o = *o / d;
        }
    });
}

/// Row access to an edge tensor by edge id (what [`softmax_target`] reads scores through).
pub trait EdgeRows<T> {
    /// The row of edge `e`.
    fn edge_row(&self, e: usize) -> &[T];
}

/// A tensor stored as rows of `width`, read only.
pub struct Rows<'a, T> {
    data: &'a [T],
    width: usize,
}

impl<'a, T> Rows<'a, T> {
    /// Rows of `width` over `data`.
    pub fn new(data: &'a [T], width: usize) -> Self {
        Rows { data, width }
    }
}

impl<T> EdgeRows<T> for Rows<'_, T> {
    fn edge_row(&self, e: usize) -> &[T] {
        &self.data[e * self.width..(e + 1) * self.width]
    }
}

/// An output of a loop over targets ([`par_by_target`]): an edge tensor (rows by edge id, each
/// owned by the edge's target) or a node tensor (rows by node id, each owned by that node).
pub struct TargetOut<'a, T> {
    data: SharedSlice<'a, T>,
    width: usize,
    by_edge: bool,
}

impl<'a, T> TargetOut<'a, T> {
    /// An edge tensor of graph `g`: `out` holds `E` rows of `width`.
    pub fn edges(g: &crate::Graph, out: &'a mut [T], width: usize) -> Self {
        assert_eq!(
            out.len(),
            g.num_edges() * width,
            "edge tensor of the wrong size"
        );
        TargetOut {
            data: SharedSlice::new(out),
            width,
            by_edge: true,
        }
    }

    /// A node tensor of graph `g`: `out` holds `N` rows of `width`.
    pub fn nodes(g: &crate::Graph, out: &'a mut [T], width: usize) -> Self {
        assert_eq!(
            out.len(),
            g.num_nodes() * width,
            "node tensor of the wrong size"
        );
        TargetOut {
            data: SharedSlice::new(out),
            width,
            by_edge: false,
        }
    }
}

/// One task's access to a [`TargetOut`] while [`par_by_target`] visits a target `i`: the rows of
/// the edges entering `i` (edge tensors) or row `i` (node tensors), and no others.
///
/// Rows are written through [`each_edge`](Self::each_edge) (which walks `i`'s in-edges itself)
/// and [`own_row`](Self::own_row), and read through [`row`](Self::row), which checks that the row
/// belongs to `i`.
pub struct TargetRows<'s, T> {
    ptr: *mut T,
    len: usize,
    width: usize,
    by_edge: bool,
    graph: &'s crate::Graph,
    target: usize,
    _life: std::marker::PhantomData<&'s mut [T]>,
}

impl<T> TargetRows<'_, T> {
    /// The start of row `k`, checking only that the row is in bounds.
    #[inline]
    fn start(&self, k: usize) -> usize {
        assert!((k + 1) * self.width <= self.len, "row {k} out of bounds");
        k * self.width
    }

    /// Row `k`, to read: `k` must be an in-edge of the current target (edge tensors) or the
    /// target itself (node tensors), else this panics.
    #[inline]
    pub fn row(&self, k: usize) -> &[T] {
        let owner = if self.by_edge {
            self.graph.targets()[k] as usize
        } else {
            k
        };
        assert!(
            owner == self.target,
            "row {k} does not belong to target {}",
            self.target
        );
        let start = self.start(k);
        // SAFETY: in bounds (checked). Row `k` belongs to the current target (checked), which only
        // this task visits, and only through this value; `&self` keeps it from being written
        // while the returned slice lives.
        unsafe { std::slice::from_raw_parts(self.ptr.add(start), self.width) }
    }

    /// `f(e, row of e)` for every in-edge `e` of the current target, in CSR order (an edge
    /// tensor). The row is a closure argument, so the optimiser knows it aliases nothing else.
    #[inline]
    pub fn each_edge(&mut self, mut f: impl FnMut(usize, &mut [T])) {
        assert!(self.by_edge, "each_edge on a node tensor");
        for &e in self.graph.in_edges(self.target) {
            let e = e as usize;
            let start = self.start(e);
            // SAFETY: in bounds (checked). `e` enters the current target (the graph's CSR lists
            // every edge under its target only), which only this task visits, and only through
            // this value; `&mut self` makes the slice the only live access to the row.
            f(e, unsafe {
                std::slice::from_raw_parts_mut(self.ptr.add(start), self.width)
            });
        }
    }

    /// `f(i, row of i)` for the current target `i` (a node tensor).
    #[inline]
    pub fn own_row(&mut self, f: impl FnOnce(usize, &mut [T])) {
        assert!(!self.by_edge, "own_row on an edge tensor");
        let i = self.target;
        let start = self.start(i);
        // SAFETY: in bounds (checked); row `i` belongs to the current target, see `each_edge`.
        f(i, unsafe {
            std::slice::from_raw_parts_mut(self.ptr.add(start), self.width)
        });
    }
}

impl<T> EdgeRows<T> for TargetRows<'_, T> {
    fn edge_row(&self, e: usize) -> &[T] {
        self.row(e)
    }
}

/// Visits every target `i` of `g`, targets in parallel in fixed chunks of [`TASK`] and in
/// increasing order within a chunk: `f(i, rows, scratch)`, where `rows[k]` gives access to the rows
/// of `outs[k]` that `i` owns (its in-edges' rows, or its own node row) and `scratch` is a buffer
/// reused across the targets of a chunk. Every row of every output is owned by exactly one target,
/// so whatever `f` writes is the same for any thread count.
pub fn par_by_target<T: Float>(
    g: &crate::Graph,
    outs: &[TargetOut<'_, T>],
    f: impl Fn(usize, &mut [TargetRows<'_, T>], &mut Vec<T>) + Sync,
) {
    let n = g.num_nodes();
    (0..n.div_ceil(TASK)).into_par_iter().for_each(|c| {
        // One `TargetRows` per output and task, made only here: the rows it hands out are those of
        // the target being visited, and targets are split between tasks, so no two tasks (and no
        // two live values in one task) reach the same row.
        let mut rows: Vec<TargetRows<'_, T>> = outs
            .iter()
            .map(|o| TargetRows {
                ptr: o.data.ptr,
                len: o.data.len,
                width: o.width,
                by_edge: o.by_edge,
                graph: g,
                target: 0,
                _life: std::marker::PhantomData,
            })
            .collect();
        let mut scratch = Vec::new();
        for i in c * TASK..((c + 1) * TASK).min(n) {
            for r in rows.iter_mut() {
                r.target = i;
            }
            f(i, &mut rows, &mut scratch);
        }
    });
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

/// A slice written from several tasks at provably disjoint positions.
pub struct SharedSlice<'a, T> {
    ptr: *mut T,
    len: usize,
    _life: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: callers of `write` guarantee that no two tasks write the same index.
unsafe impl<T: Send> Send for SharedSlice<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SharedSlice<'_, T> {}

impl<'a, T> SharedSlice<'a, T> {
    /// Wraps a slice.
    pub fn new(s: &'a mut [T]) -> Self {
        SharedSlice {
            ptr: s.as_mut_ptr(),
            len: s.len(),
            _life: std::marker::PhantomData,
        }
    }
    /// Writes position `k`.
    ///
    /// # Safety
    /// No other task may read or write `k` concurrently.
    pub unsafe fn write(&self, k: usize, v: T) {
        assert!(k < self.len);
        // SAFETY: in bounds (checked) and exclusive (the caller's contract).
        unsafe { *self.ptr.add(k) = v };
    }
}

/// Element-wise functions with the same definitions as the interpreter's.
pub mod f {
    use super::Float;

    /// leaky_relu(x, slope), as `x · (1 or slope)`: the same bits as a branch (`x · 1 = x`), but a
    /// select the compiler need not turn into an unpredictable jump.
    #[inline(always)]
    pub fn leaky_relu<T: Float>(x: T, slope: T) -> T {
        x * if x > T::ZERO { T::ONE } else { slope }
    }
    /// 1 if x > 0 else slope
    #[inline(always)]
    pub fn leaky_relu_grad<T: Float>(x: T, slope: T) -> T {
        if x > T::ZERO {
            T::ONE
        } else {
            slope
        }
    }
    /// elu(x, alpha)
    #[inline(always)]
    pub fn elu<T: Float>(x: T, alpha: T) -> T {
        if x > T::ZERO {
            x
        } else {
            alpha * x.exp_m1()
        }
    }
    /// 1 if x > 0 else alpha·e^x
    #[inline(always)]
    pub fn elu_grad<T: Float>(x: T, alpha: T) -> T {
        if x > T::ZERO {
            T::ONE
        } else {
            alpha * x.exp()
        }
    }
    /// `elu(x, alpha)` where `x > 0`; elsewhere a cheap value of the same sign and class (zero,
    /// finite, infinite or NaN) as `elu(x, alpha)`, so that its product with a zero or a NaN has
    /// the same bits as that of `elu(x, alpha)`. Generated code evaluates it first and recomputes
    /// the entries that need the exact `elu` (see [`recompute_where`](super::recompute_where)).
    #[inline(always)]
    pub fn elu_sign<T: Float>(x: T, alpha: T) -> T {
        if x > T::ZERO {
            x
        } else {
            // expm1 maps [-inf, 0] into [-1, 0] keeping the sign (and -0), and NaN to NaN.
            alpha * if x < -T::ONE { -T::ONE } else { x }
        }
    }
    /// `elu'(x, alpha)` where `x > 0`; elsewhere a cheap stand-in whose product with a zero or a
    /// NaN has the same bits as that of `elu'(x, alpha)`, as [`elu_sign`] is for `elu`.
    #[inline(always)]
    pub fn elu_grad_sign<T: Float>(x: T, alpha: T) -> T {
        if x > T::ZERO {
            T::ONE
        } else {
            // e^x is in [+0, 1] for x <= 0 and NaN for NaN; `alpha · 1` has the sign of
            // `alpha · e^x`, and a product of zero with either is zero or NaN alike.
            #[allow(clippy::eq_op)]
            let nan = x != x;
            alpha * if nan { x } else { T::ONE }
        }
    }
    /// max(x, 0)
    #[inline(always)]
    pub fn relu<T: Float>(x: T) -> T {
        if x > T::ZERO {
            x
        } else {
            T::ZERO
        }
    }
    /// 1 if x > 0 else 0
    #[inline(always)]
    pub fn step<T: Float>(x: T) -> T {
        if x > T::ZERO {
            T::ONE
        } else {
            T::ZERO
        }
    }
    /// 1 / (1 + e^-x)
    #[inline(always)]
    pub fn sigmoid<T: Float>(x: T) -> T {
        T::ONE / (T::ONE + (-x).exp())
    }
    /// x · sigmoid(x) (SiLU): `−0` at `−∞` (the limit) rather than `−∞ · 0`.
    #[inline(always)]
    pub fn silu<T: Float>(x: T) -> T {
        let s = sigmoid(x);
        if s == T::ZERO {
            -T::ZERO
        } else {
            x * s
        }
    }
    /// silu'(x) = σ(x) · (1 + x · (1 − σ(x))), with `1 − σ(x) = e^-x · σ(x)` (no
    /// cancellation): `−0` at `−∞` and `1` at `∞` (the limits) rather than `0 · ∞`.
    #[inline(always)]
    pub fn silu_grad<T: Float>(x: T) -> T {
        let u = (-x).exp();
        let s = T::ONE / (T::ONE + u);
        if s == T::ZERO {
            -T::ZERO
        } else if u == T::ZERO {
            T::ONE
        } else {
            s * (T::ONE + x * (u * s))
        }
    }
    /// gelu(x) = x · Φ(x), `Φ` the standard normal distribution function (PyTorch's exact
    /// form), evaluated in f64 ([`crate::normal::gelu`]).
    #[inline]
    pub fn gelu<T: Float>(x: T) -> T {
        T::of(crate::normal::gelu(x.to_f64()))
    }
    /// gelu'(x) = Φ(x) + x · φ(x), evaluated in f64 ([`crate::normal::gelu_grad`]).
    #[inline]
    pub fn gelu_grad<T: Float>(x: T) -> T {
        T::of(crate::normal::gelu_grad(x.to_f64()))
    }
    /// ln(1 + e^x), PyTorch's threshold 20
    #[inline(always)]
    pub fn softplus<T: Float>(x: T) -> T {
        if x > T::of(20.0) {
            x
        } else {
            x.exp().ln_1p()
        }
    }
    /// sign(x)
    #[inline(always)]
    pub fn sign<T: Float>(x: T) -> T {
        if x > T::ZERO {
            T::ONE
        } else if x < T::ZERO {
            -T::ONE
        } else {
            T::ZERO
        }
    }
    /// max(x, lo)
    #[inline(always)]
    pub fn clamp_min<T: Float>(x: T, lo: T) -> T {
        if x > lo {
            x
        } else {
            lo
        }
    }
    /// 1 if x ≥ lo else 0
    #[inline(always)]
    pub fn ge<T: Float>(x: T, lo: T) -> T {
        if x >= lo {
            T::ONE
        } else {
            T::ZERO
        }
    }
}

impl<T> SharedSlice<'_, T> {
    /// The mutable sub-slice `[start, start + len)`.
    ///
    /// # Safety
    /// No other task may access any position of that range concurrently.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice_mut(&self, start: usize, len: usize) -> &mut [T] {
        assert!(start + len <= self.len);
        // SAFETY: in bounds (checked) and exclusive (the caller's contract).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}

/// Fills the rows (of `width`) of an edge tensor target by target: `f(edge, row)` for every
/// in-edge of every target, targets in parallel. Reads of the target's own rows stay in cache
/// across its in-edges. Every edge has exactly one target, so rows are written once.
pub fn par_edges_by_target<T: Float>(
    g: &crate::Graph,
    out: &mut [T],
    width: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    assert_eq!(out.len(), g.num_edges() * width);
    let sh = SharedSlice::new(out);
    let n = g.num_nodes();
    (0..n.div_ceil(TASK)).into_par_iter().for_each(|c| {
        for i in c * TASK..((c + 1) * TASK).min(n) {
            for &e in g.in_edges(i) {
                let e = e as usize;
                // SAFETY: edge `e` is visited once, by the task owning its target.
                let row = unsafe { sh.slice_mut(e * width, width) };
                f(e, row);
            }
        }
    });
}

/// `Σ_edges f(edge)` into a buffer of `width`, visiting edges target by target in fixed chunks of
/// targets whose partial sums are added in order (deterministic for any thread count).
pub fn par_sum_edges_by_target<T: Float>(
    g: &crate::Graph,
    width: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) -> Vec<T> {
    par_sum_rows(g.num_nodes(), width, |i, acc| {
        for &e in g.in_edges(i) {
            f(e as usize, acc);
        }
    })
}

/// Mean cross-entropy `log Σ_k e^{x_k} − x_{y}` of `logits` (rows of `k`) over the rows where `mask`
/// is set, accumulated in f64 (0 when the mask is empty).
pub fn masked_cross_entropy<T: Float>(logits: &[T], k: usize, y: &[usize], mask: &[bool]) -> f64 {
    let mut total = 0.0f64;
    let mut count = 0usize;
    for (n, row) in logits.chunks(k).enumerate() {
        if !mask[n] {
            continue;
        }
        let mx = row
            .iter()
            .map(|v| v.to_f64())
            .fold(f64::NEG_INFINITY, f64::max);
        let lse = mx
            + row
                .iter()
                .map(|v| (v.to_f64() - mx).exp())
                .sum::<f64>()
                .ln();
        total += lse - row[y[n]].to_f64();
        count += 1;
    }
    total / count.max(1) as f64
}

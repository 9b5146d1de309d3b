//! Unit tests of the kernels: split GEMMs, sums across thread counts, the `elu` stand-ins,
//! block sums and recomputation.

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
                    m, k, n, one, &a, sa.0, sa.1, &b, sb.0, sb.1, beta, &mut want, n as isize, 1,
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
                    elementwise::elu::<f64>(x as f64, alpha),
                    elementwise::elu_sign::<f64>(x as f64, alpha),
                ),
                (
                    elementwise::elu_grad(x as f64, alpha),
                    elementwise::elu_grad_sign(x as f64, alpha),
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
                (
                    elementwise::elu::<f32>(x, a),
                    elementwise::elu_sign::<f32>(x, a),
                ),
                (
                    elementwise::elu_grad(x, a),
                    elementwise::elu_grad_sign(x, a),
                ),
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

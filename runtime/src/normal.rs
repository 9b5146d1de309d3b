//! The standard normal distribution function `Φ(x) = (1 + erf(x / √2)) / 2` in f64, for
//! `gelu(x) = x · Φ(x)` and its derivative `Φ(x) + x · φ(x)` (PyTorch's exact, erf form).
//!
//! `Φ` is evaluated without cancellation: near 0 as `1/2 + erf(x / √2) / 2`, and elsewhere from
//! the tail `Φ(−t) = e^(−t²/2) · erfcx(t / √2) / 2` (`erfcx(z) = e^(z²) · erfc(z)`, a smooth,
//! slowly varying function), with `t²` carried to twice the working precision so the
//! exponential keeps its accuracy far out in the tail. Both `erf(z) / z` (for `|z| ≤ 1/2`) and
//! `erfcx` (for `1/2 ≤ z ≤ 28`; beyond, the tail underflows) are Chebyshev series, fitted by
//! `runtime/tools/fit_erfcx.py`. Measured against mpmath, `Φ` is within 4 ulps (2 in `erfcx`).
//! The table's reference evaluator (`gatgrad_codegen::normal`) computes the same quantities by
//! another method; a test compares the two.

use std::f64::consts::FRAC_1_SQRT_2;

/// `1 / √(2π)`.
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// `erf(z) / z` as a Chebyshev series in `8z² − 1` (`|z| ≤ 1/2`).
const ERF_SMALL: [f64; 10] = [
    1.083882205490613,
    -0.04367779108737525,
    0.0008071118294133213,
    -1.191317951927046e-05,
    1.440278733630302e-07,
    -1.467715582316901e-09,
    1.2902439604484931e-11,
    -9.963857180158627e-14,
    6.857505844536554e-16,
    -4.25524584991268e-18,
];
/// `erfcx(z)` as a Chebyshev series in `4z − 3` (`1/2 ≤ z ≤ 1`).
const ERFCX_HALF_ONE: [f64; 14] = [
    0.5142540300448141,
    -0.09353436157631646,
    0.007349543567965961,
    -0.0005170287683170955,
    3.327489181039832e-05,
    -1.9877609419315706e-06,
    1.1137198399251981e-07,
    -5.898649609389129e-09,
    2.9712990142852805e-10,
    -1.430488185776242e-11,
    6.608616284222898e-13,
    -2.939555278237893e-14,
    1.2624996910923745e-15,
    -5.240060859272093e-17,
];
/// `erfcx(z)` as a Chebyshev series in `2z − 3` (`1 ≤ z ≤ 2`).
const ERFCX_ONE_TWO: [f64; 17] = [
    0.331427281639452,
    -0.0850021377067432,
    0.009951127341466115,
    -0.0010810888102208325,
    0.0001102324363119495,
    -1.0636830518218601e-05,
    9.775012680479055e-07,
    -8.597922867888315e-08,
    7.2677084117248425e-09,
    -5.923543840592542e-10,
    4.6683928572294154e-11,
    -3.5661277015677288e-12,
    2.645877951906767e-13,
    -1.9101658667347927e-14,
    1.3439764866689656e-15,
    -9.22862586358592e-17,
    6.166538925305747e-18,
];
/// `erfcx(z)` as a Chebyshev series in `z − 3` (`2 ≤ z ≤ 4`).
const ERFCX_TWO_FOUR: [f64; 19] = [
    0.1874295690262241,
    -0.05794652883669097,
    0.008595247387396534,
    -0.0012284613640242594,
    0.00016974366686180488,
    -2.2738329337044562e-05,
    2.959844378804878e-06,
    -3.7513575581379714e-07,
    4.6372828761738244e-08,
    -5.599455392564088e-09,
    6.613160896679916e-10,
    -7.648271522199816e-11,
    8.6709043258765e-12,
    -9.645456274371989e-13,
    1.0536827958274151e-13,
    -1.1312630791525853e-14,
    1.1945168599792162e-15,
    -1.2411859700371542e-16,
    1.2575168967414823e-17,
];
/// `z · erfcx(z)` as a Chebyshev series in `u = 1/z` mapped from [1/28, 1/4] (`4 ≤ z ≤ 28`).
const ERFCX_FAR: [f64; 16] = [
    0.55725421288866,
    -0.007972373295032285,
    -0.0013431218123331518,
    5.646831314365585e-05,
    3.0488399431128435e-06,
    -4.099421206948675e-07,
    3.032148727018597e-09,
    2.6844353834009837e-09,
    -2.019874682764787e-10,
    -9.172724273160921e-12,
    2.710594131603187e-12,
    -1.3389220323691203e-13,
    -1.9002494609681658e-14,
    3.497927690149997e-15,
    -1.092008998798001e-16,
    -3.670075402546323e-17,
];

/// Σ c_k T_k(s) (Clenshaw's recurrence), for `s` in [−1, 1].
fn chebyshev(c: &[f64], s: f64) -> f64 {
    let (mut b1, mut b2) = (0.0, 0.0);
    for &ck in c[1..].iter().rev() {
        (b1, b2) = (2.0 * s * b1 - b2 + ck, b1);
    }
    s * b1 - b2 + c[0]
}

/// `erf(z)` for `|z| ≤ 1/2`.
fn erf_small(z: f64) -> f64 {
    z * chebyshev(&ERF_SMALL, 8.0 * (z * z) - 1.0)
}

/// `e^(z²) · erfc(z)` for `1/2 ≤ z ≤ 28`.
fn erfcx(z: f64) -> f64 {
    if z < 1.0 {
        chebyshev(&ERFCX_HALF_ONE, 4.0 * z - 3.0)
    } else if z < 2.0 {
        chebyshev(&ERFCX_ONE_TWO, 2.0 * z - 3.0)
    } else if z < 4.0 {
        chebyshev(&ERFCX_TWO_FOUR, z - 3.0)
    } else {
        // 1/28 ≤ u ≤ 1/4, mapped onto [−1, 1].
        let u = 1.0 / z;
        chebyshev(&ERFCX_FAR, (u - 1.0 / 7.0) * (56.0 / 6.0)) * u
    }
}

/// `e^(−t²/2)` with `t²` to twice the working precision.
fn exp_half_square(t: f64) -> f64 {
    let tt = t * t;
    let err = t.mul_add(t, -tt);
    (-0.5 * tt).exp() * (1.0 - 0.5 * err)
}

/// `Φ(−t)` for `t / √2 ≥ 1/2` (0 once it underflows, and at `t = ∞`).
fn lower_tail(t: f64) -> f64 {
    let z = t * FRAC_1_SQRT_2;
    if z >= 28.0 {
        return 0.0;
    }
    0.5 * exp_half_square(t) * erfcx(z)
}

/// The standard normal distribution function `Φ(x)`; NaN for NaN.
pub fn normal_cdf(x: f64) -> f64 {
    let z = x * FRAC_1_SQRT_2;
    if z < -0.5 {
        lower_tail(-x)
    } else if z <= 0.5 {
        0.5 + 0.5 * erf_small(z)
    } else {
        1.0 - lower_tail(x)
    }
}

/// The standard normal density `φ(x) = e^(−x²/2) / √(2π)` (0 at ±∞, NaN for NaN).
pub fn normal_pdf(x: f64) -> f64 {
    if x.is_infinite() {
        return 0.0;
    }
    FRAC_1_SQRT_2PI * exp_half_square(x)
}

/// `x · p` for a probability or density `p` that is 0 only where `x` is infinite or so large
/// that the product underflows: a zero of the sign of `x` instead of `±∞ · 0 = NaN` at `±∞`.
fn times(x: f64, p: f64) -> f64 {
    if p == 0.0 {
        0.0f64.copysign(x)
    } else {
        x * p
    }
}

/// `gelu(x) = x · Φ(x)`: `−0` at `−∞`, `∞` at `∞`, NaN for NaN.
pub fn gelu(x: f64) -> f64 {
    times(x, normal_cdf(x))
}

/// `gelu'(x) = Φ(x) + x · φ(x)`: `0` at `−∞`, `1` at `∞`, NaN for NaN.
pub fn gelu_grad(x: f64) -> f64 {
    normal_cdf(x) + times(x, normal_pdf(x))
}

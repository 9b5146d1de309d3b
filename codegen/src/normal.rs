//! Reference evaluation of the standard normal distribution function `Φ(x) = erfc(−x / √2) / 2`
//! and density `φ`, for the table entries of `gelu` and `gelu'`: slow and plainly correct, as the
//! interpreter is the oracle rather than the fast path.
//!
//! Near 0, `erf` is its Maclaurin series. Elsewhere `Φ(−t) = e^(−t²/2) · erfcx(t / √2) / 2`, where
//! `erfcx(z) = e^(z²) erfc(z) = (2/√π) ∫₀^∞ e^(−2zs − s²) ds`, an integral of a positive,
//! smooth, decaying function, evaluated by the trapezoidal rule after a double-exponential
//! change of variable (exact to about one ulp with a step of 1/16). The runtime computes the same
//! quantities from fitted Chebyshev series (`gatgrad_runtime::normal`); `tests/primitives.rs`
//! checks both against values computed with mpmath and against each other.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// `erf(z)` for `|z| ≤ 1/2`: `(2/√π) Σ (−1)ⁿ z^(2n+1) / (n! (2n+1))`, whose terms shrink by a
/// factor of at least 4.
fn erf_series(z: f64) -> f64 {
    let w = z * z;
    let mut power = z;
    let mut sum = z;
    for n in 1..40 {
        power *= -w / n as f64;
        let term = power / (2 * n + 1) as f64;
        sum += term;
        if term.abs() <= 1e-17 * sum.abs() {
            break;
        }
    }
    2.0 / PI.sqrt() * sum
}

/// `erfcx(z)` for `z ≥ 1/2`: with `s = v / (2z)`, `erfcx(z) = (1 / (z√π)) ∫₀^∞ e^(−v − v²/(4z²)) dv`,
/// and with `v = exp(t − e^(−t))` the integrand decays double-exponentially in both directions
/// of `t`; the trapezoidal sum (compensated) stops once its terms are negligible.
fn erfcx(z: f64) -> f64 {
    const STEP: f64 = 1.0 / 16.0;
    let q = 1.0 / (4.0 * z * z);
    let (mut sum, mut carry) = (0.0f64, 0.0f64);
    for direction in [1.0, -1.0] {
        let first = if direction > 0.0 { 0 } else { 1 };
        for k in first..2000 {
            let t = direction * k as f64 * STEP;
            let v = (t - (-t).exp()).exp();
            let term = (-v - v * v * q).exp() * v * (1.0 + (-t).exp());
            // Neumaier's compensated sum.
            let next = sum + term;
            carry += if sum.abs() >= term.abs() {
                (sum - next) + term
            } else {
                (term - next) + sum
            };
            sum = next;
            if term < 1e-18 * sum && k > 3 {
                break;
            }
        }
    }
    (sum + carry) * STEP / (z * PI.sqrt())
}

/// `e^(−t²/2)`, with `t²` to twice the working precision.
fn exp_half_square(t: f64) -> f64 {
    let tt = t * t;
    let err = t.mul_add(t, -tt);
    (-0.5 * tt).exp() * (1.0 - 0.5 * err)
}

/// `Φ(−t)` for `t / √2 ≥ 1/2`; 0 once it underflows (`t / √2 ≥ 28`) and at `t = ∞`.
fn lower_tail(t: f64) -> f64 {
    let z = t * FRAC_1_SQRT_2;
    if z >= 28.0 {
        return 0.0;
    }
    0.5 * exp_half_square(t) * erfcx(z)
}

/// The standard normal distribution function `Φ(x)`; NaN for NaN.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let z = x * FRAC_1_SQRT_2;
    if z < -0.5 {
        lower_tail(-x)
    } else if z <= 0.5 {
        0.5 + 0.5 * erf_series(z)
    } else {
        1.0 - lower_tail(x)
    }
}

/// The standard normal density `φ(x) = e^(−x²/2) / √(2π)`; 0 at ±∞.
pub fn normal_pdf(x: f64) -> f64 {
    if x.is_infinite() {
        return 0.0;
    }
    exp_half_square(x) / (2.0 * PI).sqrt()
}

/// `x · p` for a probability or density `p` that is 0 only where `x` is infinite or the product
/// underflows: a zero of the sign of `x` rather than `±∞ · 0 = NaN`.
pub fn times(x: f64, p: f64) -> f64 {
    if p == 0.0 {
        0.0f64.copysign(x)
    } else {
        x * p
    }
}

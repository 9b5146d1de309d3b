//! Reference evaluation of the standard normal distribution function `Φ(x) = erfc(−x / √2) / 2`
//! and density `φ`, for the table entries of `gelu` and `gelu'`: slow and plainly correct, as the
//! interpreter is the oracle rather than the fast path.
//!
//! Near 0, `erf` is its Maclaurin series. Elsewhere the upper tail `Q(t) = 1 − Φ(t)` of `t = |x|`
//! is `φ(t) · R(t)`, with Mills' ratio `R(t) = ∫₀^∞ e^(−tu − u²/2) du`, an integral of a positive,
//! smooth, decaying function, evaluated by the trapezoidal rule after a double-exponential
//! change of variable (exact to about one ulp with a step of 1/16), and `φ(t)` from `t` split in
//! two so that the square of its leading half is exact. The runtime computes the same quantities
//! by another method, fitted Chebyshev series for `erfcx` (`gatgrad_runtime::normal`), and shares
//! no code with this file; `tests/primitives.rs` checks both against values computed with mpmath
//! and against each other.

use std::f64::consts::{FRAC_1_SQRT_2, PI, SQRT_2};

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

/// Mills' ratio `R(t) = ∫₀^∞ e^(−tu − u²/2) du` for `t ≥ 1/√2`: with `v = tu`,
/// `R(t) = (1 / t) ∫₀^∞ e^(−v − v²/(2t²)) dv`, and with `v = exp(s − e^(−s))` the integrand decays
/// double-exponentially in both directions of `s`; the trapezoidal sum (compensated) stops once
/// its terms are negligible.
fn mills_ratio(t: f64) -> f64 {
    const STEP: f64 = 1.0 / 16.0;
    let q = 1.0 / (2.0 * t * t);
    let (mut sum, mut carry) = (0.0f64, 0.0f64);
    for direction in [1.0, -1.0] {
        let first = if direction > 0.0 { 0 } else { 1 };
        for k in first..2000 {
            let s = direction * k as f64 * STEP;
            let v = (s - (-s).exp()).exp();
            let term = (-v - v * v * q).exp() * v * (1.0 + (-s).exp());
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
    (sum + carry) * STEP / t
}

/// `Q(t) = 1 − Φ(t)` for `t ≥ 1/√2`; 0 once it underflows (`t ≥ 28√2`) and at `t = ∞`.
fn upper_tail(t: f64) -> f64 {
    if t >= 28.0 * SQRT_2 {
        return 0.0;
    }
    normal_pdf(t) * mills_ratio(t)
}

/// The standard normal distribution function `Φ(x)`; NaN for NaN.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let t = x.abs();
    if t <= FRAC_1_SQRT_2 {
        return 0.5 + 0.5 * erf_series(x * FRAC_1_SQRT_2);
    }
    let q = upper_tail(t);
    if x < 0.0 {
        q
    } else {
        1.0 - q
    }
}

/// The standard normal density `φ(x) = e^(−x²/2) / √(2π)`; 0 at ±∞. `x` is split into a head of
/// 26 significant bits, whose square is exact, and an exact tail: `x²/2 = head²/2 + tail · (head
/// + tail/2)`, the second part small.
pub fn normal_pdf(x: f64) -> f64 {
    if x.is_infinite() {
        return 0.0;
    }
    let head = f64::from_bits(x.to_bits() & !((1u64 << 27) - 1));
    let tail = x - head;
    (-0.5 * (head * head)).exp() * (-(tail * (head + 0.5 * tail))).exp() / (2.0 * PI).sqrt()
}

/// `x · p` for a probability or density `p` that is 0 only where `x` is infinite or the product
/// underflows: a zero of the sign of `x` rather than `±∞ · 0 = NaN`.
pub fn times(x: f64, p: f64) -> f64 {
    if p != 0.0 {
        x * p
    } else {
        0.0f64.copysign(x)
    }
}

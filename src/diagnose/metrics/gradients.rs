//! Gradient statistics: norms, ratios, exact zeros, and the split of the gradient between the
//! attention path and the value path.

use super::fraction_in_region;
use gatgrad_runtime::kernels::Float;

/// The Euclidean norm `‖x‖₂`, accumulated in f64. Finite inputs whose squares would overflow
/// are rescaled, so the result is infinite or NaN only if an input is.
pub fn l2_norm<T: Float>(x: &[T]) -> f64 {
    let sum: f64 = x
        .iter()
        .map(|v| {
            let v = v.to_f64();
            v * v
        })
        .sum();
    if sum.is_finite() {
        return sum.sqrt();
    }
    let max = x.iter().map(|v| v.to_f64().abs()).fold(0.0f64, f64::max);
    if !max.is_finite() || x.iter().any(|v| v.to_f64().is_nan()) {
        return sum.sqrt();
    }
    let scaled: f64 = x
        .iter()
        .map(|v| {
            let v = v.to_f64() / max;
            v * v
        })
        .sum();
    max * scaled.sqrt()
}

/// `grad_norm / param_norm`: the relative size of a gradient step before the learning rate.
/// NaN ("undefined") when the parameter norm is exactly zero (e.g. a zero-initialised bias),
/// the convention of `gatgrad train`'s gradient log.
pub fn ratio(grad_norm: f64, param_norm: f64) -> f64 {
    if param_norm == 0.0 {
        f64::NAN
    } else {
        grad_norm / param_norm
    }
}

/// `‖after − before‖ / ‖before‖`: how far one optimiser step moved a parameter, relative to
/// its size (≈ 1e-3 is the usual healthy order of magnitude); NaN for a zero `before`, as
/// [`ratio`]. Panics if the slices differ in length.
pub fn update_ratio<T: Float>(before: &[T], after: &[T]) -> f64 {
    assert_eq!(
        before.len(),
        after.len(),
        "update_ratio: `before` has {} values, `after` {}",
        before.len(),
        after.len()
    );
    let diff: Vec<f64> = before
        .iter()
        .zip(after)
        .map(|(b, a)| a.to_f64() - b.to_f64())
        .collect();
    ratio(l2_norm(&diff), l2_norm(before))
}

/// The fraction of entries that are exactly zero (`-0.0` included); NaN for an empty slice.
/// Many exact zeros in a weight gradient point at dead units (ReLU/ELU saturation, dropout)
/// or at rows of the input that are always zero (bag-of-words features).
pub fn zero_fraction<T: Float>(grad: &[T]) -> f64 {
    fraction_in_region(grad, |g| g == T::ZERO)
}

pub use gatgrad_codegen::facts::ParamKind;

/// The split of the total squared gradient norm `Σ_p ‖∂L/∂p‖²` between parameter roles.
/// The three shares sum to 1, or are all 0 when every gradient is zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientShare {
    /// Share reaching [`ParamKind::Attention`] parameters.
    pub attention: f64,
    /// Share reaching [`ParamKind::Value`] parameters.
    pub value: f64,
    /// Share reaching [`ParamKind::Other`] parameters.
    pub other: f64,
}

/// How the squared gradient norm divides between the attention path and the value path,
/// from `(kind, gradient norm)` pairs (kinds from the program's dataflow, see
/// [`gatgrad_codegen::facts::Facts::params`]).
///
/// A GAT whose attention share stays near zero is effectively training a mean aggregator:
/// the loss barely depends on α. Non-finite norms make every share NaN.
pub fn gradient_share(norms: &[(ParamKind, f64)]) -> GradientShare {
    let mut parts = [0.0f64; 3];
    for (kind, norm) in norms {
        let slot = match kind {
            ParamKind::Attention => 0,
            ParamKind::Value => 1,
            ParamKind::Other => 2,
        };
        parts[slot] += norm * norm;
    }
    let total: f64 = parts.iter().sum();
    let share = |p: f64| if total == 0.0 { 0.0 } else { p / total };
    GradientShare {
        attention: share(parts[0]),
        value: share(parts[1]),
        other: share(parts[2]),
    }
}

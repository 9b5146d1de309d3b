//! Element-wise functions generated code calls (`leaky_relu`, `elu`, `sigmoid`, `gelu`, ...), with
//! the same definitions as the interpreter's; generated code spells this module `__private::f`.

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

//! The element types generated code runs on, with their GEMM.

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

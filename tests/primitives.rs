//! The table of element-wise functions (`codegen/src/primitives.rs`) against everything that
//! must agree with it, entry by entry, so a function added to the table is covered by adding it:
//!
//! - the runtime function each entry names, called exactly as generated code spells it, agrees
//!   with the entry's f64 evaluator on special values (±0, ±∞, NaN, subnormal, huge), a sweep
//!   of bit patterns and a dense range, in f64 and in f32;
//! - each derivative rule agrees with central differences of the evaluator;
//! - the evaluators and the runtime of `gelu`/`gelu'` agree with values computed with mpmath;
//! - the function list of `docs/language.md` is the table's.

use gatgrad::codegen::ir::{Arena, ExprId, Func, Node, Scalar};
use gatgrad::codegen::primitives::{docs_table, Operands, PRIMITIVES};
use gatgrad::runtime::kernels::elementwise;
use std::f64::consts::{FRAC_1_SQRT_2, SQRT_2};

gatgrad::primitive_calls!(runtime_call);

/// Constant arguments tried for functions that take one (defaults are added).
const ARGS: [f64; 5] = [0.2, 1.0, 1.5, 0.0, -0.5];

/// The constant arguments to try with `func`.
fn args(func: Func) -> Vec<f64> {
    match func.primitive().arg {
        None => vec![0.0],
        Some(a) => a.default.into_iter().chain(ARGS).collect(),
    }
}

/// xorshift64*: a seeded, portable sequence.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Special values, random bit patterns and a dense range of `[-40, 40]`.
fn sweep_f64() -> Vec<f64> {
    let mut xs = vec![
        0.0,
        f64::INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
        f64::from_bits(1),
        1e-300,
        1e-8,
        0.5,
        1.0,
        2.0,
        20.0,
        20.000001,
        88.7,
        100.0,
        709.0,
        710.0,
        745.0,
        1e10,
        f64::MAX,
    ];
    xs.extend(xs.clone().iter().map(|x| -x));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..4000 {
        xs.push(f64::from_bits(rng.next()));
    }
    for _ in 0..6000 {
        xs.push(rng.uniform(-40.0, 40.0));
    }
    xs
}

/// The f32 sweep: the f64 one rounded, plus f32's own extremes.
fn sweep_f32() -> Vec<f32> {
    let mut xs: Vec<f32> = sweep_f64().iter().map(|&x| x as f32).collect();
    for x in [
        f32::MIN_POSITIVE,
        f32::from_bits(1),
        f32::MAX,
        88.72,
        89.0,
        103.0,
    ] {
        xs.extend([x, -x]);
    }
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..4000 {
        xs.push(f32::from_bits(rng.next() as u32));
    }
    xs
}

/// A float type the runtime computes in, as far as this test needs it.
trait Probe: gatgrad::runtime::kernels::Float {
    /// Units in the last place between two finite values of the same sign (±0 are one point).
    fn ulps(a: Self, b: Self) -> f64;
    /// The value `k` representable steps away.
    fn step(self, k: i64) -> Self;
    /// True for NaN.
    fn nan(self) -> bool;
    /// Same bits.
    fn same(a: Self, b: Self) -> bool;
    /// Differences below this are underflow, not disagreement: f32 code computes `e^x` in f32,
    /// where results below about 1e-38 go to zero or subnormal earlier than in f64.
    const UNDERFLOW: f64;
}

macro_rules! probe {
    ($t:ty, $bits:ty, $signed:ty, $underflow:expr) => {
        impl Probe for $t {
            fn ulps(a: Self, b: Self) -> f64 {
                let key = |x: $t| {
                    let i = x.to_bits() as $signed;
                    if i < 0 {
                        <$signed>::MIN.wrapping_sub(i)
                    } else {
                        i
                    }
                };
                (i128::from(key(a)) - i128::from(key(b))).unsigned_abs() as f64
            }
            fn step(self, k: i64) -> Self {
                if !self.is_finite() {
                    return self;
                }
                let i = self.to_bits() as $signed;
                let key = if i < 0 {
                    <$signed>::MIN.wrapping_sub(i)
                } else {
                    i
                };
                let moved = key.saturating_add(k as $signed);
                let bits = if moved < 0 {
                    <$signed>::MIN.wrapping_sub(moved)
                } else {
                    moved
                };
                let y = <$t>::from_bits(bits as $bits);
                if y.is_finite() {
                    y
                } else {
                    self
                }
            }
            fn nan(self) -> bool {
                self.is_nan()
            }
            fn same(a: Self, b: Self) -> bool {
                a.to_bits() == b.to_bits()
            }
            const UNDERFLOW: f64 = $underflow;
        }
    };
}
probe!(f64, u64, i64, 0.0);
probe!(f32, u32, i32, 1e-30);

/// Tolerance in ulps, of the result and of the input.
const ULPS: i64 = 4;

/// True if the runtime's `got` is what the table defines at `x`: the same bits (any NaN for
/// NaN); or within [`ULPS`] of the range of the table's values at inputs within [`ULPS`] of `x`
/// (so a result that differs only in rounding passes, also near a zero of the function, where
/// the relative error of any implementation is large); or both below underflow.
fn agrees<T: Probe>(func: Func, x: T, arg: T, got: T) -> bool {
    let want = T::of(func.eval(x.to_f64(), arg.to_f64()));
    if T::same(got, want) || (got.nan() && want.nan()) {
        return true;
    }
    if got.nan() || want.nan() {
        return false;
    }
    let (g, w) = (got.to_f64(), want.to_f64());
    if !g.is_finite() || !w.is_finite() {
        return false;
    }
    if (g - w).abs() < T::UNDERFLOW {
        return true;
    }
    if g == 0.0 && w == 0.0 {
        // ±0 of different signs.
        return false;
    }
    [-ULPS, 0, ULPS].iter().any(|&k| {
        let near = T::of(func.eval(x.step(k).to_f64(), arg.to_f64()));
        T::ulps(got, near) <= ULPS as f64
    }) || {
        let lo = T::of(func.eval(x.step(-ULPS).to_f64(), arg.to_f64())).to_f64();
        let hi = T::of(func.eval(x.step(ULPS).to_f64(), arg.to_f64())).to_f64();
        g >= lo.min(hi) && g <= lo.max(hi)
    }
}

fn runtime_matches_table<T: Probe>(xs: &[T]) {
    for &func in Func::ALL {
        let mut checked = 0;
        for a in args(func) {
            let arg = T::of(a);
            for &x in xs {
                let got = runtime_call(func, x, arg);
                assert!(
                    agrees(func, x, arg, got),
                    "{}({x:?}, {arg:?}): the runtime gives {got:?}, the table {:?} ({})",
                    func.primitive().name,
                    func.eval(x.to_f64(), a),
                    std::any::type_name::<T>()
                );
                checked += 1;
            }
        }
        assert!(checked > 10_000);
    }
}

#[test]
fn runtime_matches_table_f64() {
    runtime_matches_table::<f64>(&sweep_f64());
}

#[test]
fn runtime_matches_table_f32() {
    runtime_matches_table::<f32>(&sweep_f32());
}

/// The agreement check itself: it rejects a wrong function, a wrong sign of zero and a NaN.
#[test]
fn agreement_check_rejects_differences() {
    assert!(agrees(Func::Exp, 1.0f64, 0.0, 1.0f64.exp()));
    assert!(!agrees(Func::Exp, 1.0f64, 0.0, 2.718_281_828_459_1));
    assert!(!agrees(Func::Tanh, 0.3f64, 0.0, 0.3f64.sin()));
    assert!(!agrees(Func::Relu, -1.0f64, 0.0, -0.0));
    assert!(!agrees(Func::Sigmoid, 0.0f64, 0.0, f64::NAN));
    assert!(!agrees(Func::Silu, f64::NEG_INFINITY, 0.0, f64::NAN));
    assert!(!agrees(Func::Exp, 1.0f32, 0.0, 1.0f32.exp() * 1.0001));
}

/// Points away from every function's kinks (0, and the constant arguments of [`ARGS`]).
const POINTS: [f64; 9] = [-3.7, -1.3, -0.45, 0.35, 0.9, 2.2, 5.1, 12.5, 24.0];

/// The value of an expression built from literals.
fn constant(ar: &Arena, e: ExprId) -> f64 {
    let lit = |s: Scalar| match s {
        Scalar::Lit(bits) => f64::from_bits(bits),
        Scalar::Named(_) => panic!("a named constant in a derivative rule of literals"),
    };
    match *ar.get(e) {
        Node::Const(s) => lit(s),
        Node::Add(a, b) => constant(ar, a) + constant(ar, b),
        Node::Sub(a, b) => constant(ar, a) - constant(ar, b),
        Node::Mul(a, b) => constant(ar, a) * constant(ar, b),
        Node::Div(a, b) => constant(ar, a) / constant(ar, b),
        Node::Neg(a) => -constant(ar, a),
        Node::Pow(a, p) => constant(ar, a).powf(lit(p)),
        Node::Call(f, a, arg) => f.eval(constant(ar, a), arg.map_or(0.0, lit)),
        ref other => panic!("a derivative rule of literals built {other:?}"),
    }
}

/// Every derivative rule, built in an arena from constants and evaluated, against the central difference of the evaluator.
#[test]
fn derivative_rules_match_finite_differences() {
    let mut covered = 0;
    for &func in Func::ALL {
        let p = func.primitive();
        let Some(rule) = p.derivative else {
            assert!(
                !p.callable,
                "`{}` can be called but has no derivative",
                p.name
            );
            continue;
        };
        for a in args(func) {
            for x in POINTS {
                let y = func.eval(x, a);
                if !y.is_finite() {
                    continue; // outside the domain (log, sqrt of a negative number)
                }
                let mut ar = Arena::default();
                let arg = p.arg.map(|_| Scalar::lit(a));
                let xe = ar.num(x);
                let ye = ar.num(y);
                let d = rule(&mut ar, Operands { x: xe, y: ye, arg });
                let derived = constant(&ar, d);
                let h = 1e-6 * x.abs().max(1.0);
                let fd = (func.eval(x + h, a) - func.eval(x - h, a)) / (2.0 * h);
                assert!(
                    (fd - derived).abs() <= 1e-7 * (1.0 + derived.abs()),
                    "{}'({x}, {a}): rule {derived:e}, finite difference {fd:e}",
                    p.name
                );
                covered += 1;
            }
        }
    }
    assert!(covered > 100);
}

/// `(x, gelu(x), gelu'(x))`, computed with mpmath at 50 digits from the exact f64 `x` and
/// rounded to f64.
const GELU: [(f64, f64, f64); 27] = [
    (-37.0, -2.1184613523340935e-298, -7.838298669418516e-297),
    (-30.0, -1.472014178144456e-196, -4.416031690708495e-195),
    (-20.0, -5.507248237212468e-88, -1.1014360483133464e-86),
    (-10.0, -7.619853024160526e-23, -7.618400096464814e-22),
    (-7.5, -2.393168754683172e-13, -1.7938314830426485e-12),
    (-5.0, -1.4332578593959695e-06, -7.146946001792295e-06),
    (-3.0, -0.0040496940948902835, -0.011945647204183927),
    (-2.0, -0.04550026389635842, -0.0852318010781969),
    (-1.5, -0.1002108019032871, -0.12746919222997952),
    (-1.0, -0.15865525393145705, -0.0833154705876863),
    (-0.75, -0.16997051428265114, 0.0007742782607648957),
    (-0.5, -0.15426876936299344, 0.13250487534383715),
    (-0.1, -0.0460172162722971, 0.4204769079752698),
    (-1e-05, -4.999960105771961e-06, 0.49999202115439223),
    (1e-05, 5.0000398942280396e-06, 0.5000079788456078),
    (0.1, 0.053982783727702904, 0.5795230920247302),
    (0.5, 0.34573123063700656, 0.8674951246561629),
    (FRAC_1_SQRT_2, 0.5375778871974611, 0.9799455836403845),
    (1.0, 0.8413447460685429, 1.0833154705876864),
    (SQRT_2, 1.3029862263925718, 1.1289041451851547),
    (2.0, 1.9544997361036416, 1.085231801078197),
    (2.8284271247461903, 2.821811808494806, 1.0183281178635684),
    (3.0, 2.99595030590511, 1.011945647204184),
    (5.656854249492381, 5.65685420588579, 1.0000002462560644),
    (8.0, 7.999999999999995, 1.0000000000000397),
    (10.0, 10.0, 1.0),
    (38.5, 38.5, 1.0),
];

#[test]
fn gelu_matches_mpmath() {
    for (x, gelu, grad) in GELU {
        // gelu' = Φ(x) + x·φ(x) is a sum of terms below 1.1 in size; near its zero at −0.7518
        // they cancel, and an error of one ulp of the terms is many ulps of the sum.
        for (what, got, want, floor) in [
            ("table gelu", Func::Gelu.eval(x, 0.0), gelu, 0.0),
            (
                "table gelu'",
                Func::GeluGrad.eval(x, 0.0),
                grad,
                f64::EPSILON,
            ),
            ("runtime gelu", elementwise::gelu(x), gelu, 0.0),
            (
                "runtime gelu'",
                elementwise::gelu_grad(x),
                grad,
                f64::EPSILON,
            ),
        ] {
            let ulps = f64::ulps(got, want);
            assert!(
                ulps <= 4.0 || (got - want).abs() <= floor,
                "{what}({x}) = {got:e}, mpmath {want:e}: {ulps} ulps"
            );
        }
    }
    for (x, want) in [
        (f64::NEG_INFINITY, (-0.0, 0.0)),
        (f64::INFINITY, (f64::INFINITY, 1.0)),
        (-40.0, (-0.0, -0.0)),
    ] {
        for got in [
            (Func::Gelu.eval(x, 0.0), Func::GeluGrad.eval(x, 0.0)),
            (elementwise::gelu(x), elementwise::gelu_grad(x)),
        ] {
            assert!(
                f64::same(got.0, want.0) && got.1 == want.1,
                "gelu, gelu' at {x}: {got:?}, want {want:?}"
            );
        }
    }
    assert!(Func::Gelu.eval(f64::NAN, 0.0).is_nan() && elementwise::gelu(f64::NAN).is_nan());
}

/// `docs/language.md` lists the table's functions between its `functions:` markers. With
/// `GATGRAD_UPDATE_DOCS=1` the test writes the table there instead.
#[test]
fn docs_list_the_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/language.md");
    let text = std::fs::read_to_string(path).unwrap();
    let (begin, end) = ("<!-- functions: begin -->\n", "<!-- functions: end -->");
    let a = text
        .find(begin)
        .expect("docs/language.md: no functions: begin marker")
        + begin.len();
    let b = text
        .find(end)
        .expect("docs/language.md: no functions: end marker");
    let want = docs_table();
    if text[a..b] == want {
        return;
    }
    if std::env::var_os("GATGRAD_UPDATE_DOCS").is_some() {
        std::fs::write(path, format!("{}{want}{}", &text[..a], &text[b..])).unwrap();
        return;
    }
    panic!(
        "docs/language.md's function list differs from codegen/src/primitives.rs; run with \
         GATGRAD_UPDATE_DOCS=1 or paste:\n{want}"
    );
}

/// Every table entry is unique by name, and the enum and the table line up.
#[test]
fn table_is_consistent() {
    assert_eq!(Func::ALL.len(), PRIMITIVES.len());
    for (k, f) in Func::ALL.iter().enumerate() {
        assert_eq!(*f as usize, k);
        let name = f.primitive().name;
        assert_eq!(
            PRIMITIVES.iter().filter(|p| p.name == name).count(),
            1,
            "`{name}` is in the table twice"
        );
        if f.primitive().callable {
            assert_eq!(Func::from_user_name(name), Some(*f));
        } else {
            assert_eq!(Func::from_user_name(name), None);
        }
    }
}

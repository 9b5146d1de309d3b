//! The element-wise functions, one table entry each: everything the compiler, the interpreter,
//! generated code, the printers and the diagnostics know about a function lives in its entry of
//! [`PRIMITIVES`] — its DSL name and constant argument (with its default), its f64 evaluator,
//! its derivative rule, the runtime function generated code calls, its LaTeX spelling, and
//! whether diagnostics treat it as an attention-score nonlinearity.
//!
//! Adding a function is adding one entry to the `primitives!` list below (plus, since the
//! runtime knows nothing about the DSL, the runtime function its entry names). The enum [`Func`]
//! is generated from the same list, so it cannot disagree with the table. A test in the root
//! crate checks every entry's runtime function against its evaluator (`tests/primitives.rs`),
//! and another checks the function list in `docs/language.md` against [`docs_table`].

use crate::emit::helpers::Helper;
use crate::ir::{Arena, ExprId, Scalar};
use crate::normal;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// What a derivative rule builds from: the call `y = f(x, arg)`.
#[derive(Clone, Copy, Debug)]
pub struct Operands {
    /// The argument `x` (the differentiated one).
    pub x: ExprId,
    /// The call itself, `y = f(x, arg)`, or the read of the tensor that stores it when the call
    /// is a whole right-hand side; a rule may use it where that is cheaper (`exp' = y`,
    /// `tanh' = 1 − y²`).
    pub y: ExprId,
    /// The constant second argument, if the function has one.
    pub arg: Option<Scalar>,
}

/// The constant second argument of a function (`slope` of `leaky_relu`).
#[derive(Clone, Copy, Debug)]
pub struct ConstArg {
    /// Its name in messages and documentation.
    pub name: &'static str,
    /// Its value when a call leaves it out, if it may.
    pub default: Option<f64>,
}

/// A runtime function generated code calls: `name` in the item `module` of the facade's private
/// prelude (`__private::Float::exp`, `__private::f::sigmoid`).
#[derive(Clone, Copy, Debug)]
pub struct RuntimeFn {
    /// The `__private` item holding it: the float trait or the element-wise functions.
    pub module: Helper,
    /// Its name there.
    pub name: &'static str,
}

impl RuntimeFn {
    /// A method of the float trait (`Float::exp`).
    const fn float(name: &'static str) -> RuntimeFn {
        RuntimeFn {
            module: Helper::Float,
            name,
        }
    }

    /// One of the runtime's element-wise functions (`f::sigmoid`).
    const fn elementwise(name: &'static str) -> RuntimeFn {
        RuntimeFn {
            module: Helper::Elementwise,
            name,
        }
    }
}

/// How a function is spelled in LaTeX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Latex {
    /// A command of its own (`\exp`), followed by the parenthesised arguments.
    Command(&'static str),
    /// `\operatorname{name}` followed by the parenthesised arguments.
    Operator,
    /// `\sqrt{x}`.
    Sqrt,
}

/// One element-wise function.
#[derive(Clone, Copy, Debug)]
pub struct Primitive {
    /// The name, in `.gat` files (if [`callable`](Self::callable)) and printed equations.
    pub name: &'static str,
    /// True if a `.gat` file may call it; false for functions only derivatives produce
    /// (`step`, `elu'`, ...).
    pub callable: bool,
    /// The constant second argument, if any (the first argument is always the differentiated one).
    pub arg: Option<ConstArg>,
    /// What it computes, in Markdown, for `docs/language.md`.
    pub meaning: &'static str,
    /// Evaluates `f(x, arg)` in f64 (`arg` is 0 for functions without one). This is the
    /// definition: the interpreter and constant folding use it, and the runtime function must
    /// agree with it.
    pub eval: fn(f64, f64) -> f64,
    /// Builds `∂f/∂x` in the arena. `None` for functions that are themselves first derivatives
    /// and are never differentiated again (a `.gat` file cannot call them).
    pub derivative: Option<fn(&mut Arena, Operands) -> ExprId>,
    /// The runtime function generated code calls (`Float::exp`, `f::sigmoid`); it takes `x` and
    /// then the constant argument, both of the generated code's float type.
    pub rust: RuntimeFn,
    /// Its LaTeX spelling.
    pub latex: Latex,
    /// For the nonlinearities `gatgrad diagnose` looks for in attention scores: where the
    /// function is flat or negative (its slope at most about half its maximum, or its output
    /// shrunk towards 0), the region whose share of pre-activations it reports.
    pub flat_region: Option<fn(f64) -> bool>,
}

impl Primitive {
    /// The number of arguments, the constant one included.
    pub fn arity(&self) -> usize {
        1 + usize::from(self.arg.is_some())
    }

    /// The Rust expression generated code evaluates for `f(x, arg)`, given the Rust expressions
    /// of `x` and of the constant argument, for the facade at `krate` (`::gatgrad`).
    pub fn rust_call(
        &self,
        krate: &TokenStream,
        x: TokenStream,
        arg: Option<TokenStream>,
    ) -> TokenStream {
        let module = self.rust.module.path(krate);
        let name = Ident::new(self.rust.name, Span::call_site());
        match arg {
            Some(a) => quote!(#module::#name(#x, #a)),
            None => quote!(#module::#name(#x)),
        }
    }

    /// How a call is written in `.gat` files: `exp(x)`, `leaky_relu(x, slope)`.
    pub fn call_syntax(&self) -> String {
        match self.arg {
            Some(a) => format!("{}(x, {})", self.name, a.name),
            None => format!("{}(x)", self.name),
        }
    }
}

/// `x < 0`: the flat or negative region of the ReLU family (and of functions shaped like it).
fn negative(x: f64) -> bool {
    x < 0.0
}

/// `1` if `x > 0`, else `other` (PyTorch's choice at 0 for the ReLU family).
fn one_if_positive(x: f64, other: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else {
        other
    }
}

macro_rules! primitives {
    ($( $(#[$doc:meta])* $variant:ident => $entry:expr, )*) => {
        /// The element-wise functions, one per entry of [`PRIMITIVES`] (in the same order). The
        /// first argument is the differentiated one; a second one is a constant.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Func {
            $( $(#[$doc])* $variant, )*
        }

        /// The table of element-wise functions, indexed by [`Func`].
        pub static PRIMITIVES: &[Primitive] = &[ $( $entry, )* ];

        impl Func {
            /// Every function, in table order.
            pub const ALL: &'static [Func] = &[ $( Func::$variant, )* ];
        }
    };
}

primitives! {
    /// `exp(x)`
    Exp => Primitive {
        name: "exp",
        callable: true,
        arg: None,
        meaning: "`e^x`",
        eval: |x, _| x.exp(),
        derivative: Some(|_, o| o.y),
        rust: RuntimeFn::float("exp"),
        latex: Latex::Command("\\exp"),
        flat_region: None,
    },
    /// `log(x)`
    Log => Primitive {
        name: "log",
        callable: true,
        arg: None,
        meaning: "the natural logarithm",
        eval: |x, _| x.ln(),
        derivative: Some(|ar, o| {
            let one = ar.num(1.0);
            ar.div(one, o.x)
        }),
        rust: RuntimeFn::float("ln"),
        latex: Latex::Command("\\log"),
        flat_region: None,
    },
    /// `sqrt(x)`
    Sqrt => Primitive {
        name: "sqrt",
        callable: true,
        arg: None,
        meaning: "`√x`",
        eval: |x, _| x.sqrt(),
        derivative: Some(|ar, o| {
            let half = ar.num(0.5);
            ar.div(half, o.y)
        }),
        rust: RuntimeFn::float("sqrt"),
        latex: Latex::Sqrt,
        flat_region: None,
    },
    /// `tanh(x)`
    Tanh => Primitive {
        name: "tanh",
        callable: true,
        arg: None,
        meaning: "the hyperbolic tangent",
        eval: |x, _| x.tanh(),
        derivative: Some(|ar, o| {
            let one = ar.num(1.0);
            let sq = ar.pow(o.y, Scalar::lit(2.0));
            ar.sub(one, sq)
        }),
        rust: RuntimeFn::float("tanh"),
        latex: Latex::Command("\\tanh"),
        // Slope below 0.08 of its maximum.
        flat_region: Some(|x| x.abs() > 2.0),
    },
    /// `sigmoid(x)`
    Sigmoid => Primitive {
        name: "sigmoid",
        callable: true,
        arg: None,
        meaning: "`1 / (1 + exp(-x))`",
        eval: |x, _| 1.0 / (1.0 + (-x).exp()),
        derivative: Some(|ar, o| {
            let one = ar.num(1.0);
            let om = ar.sub(one, o.y);
            ar.mul(o.y, om)
        }),
        rust: RuntimeFn::elementwise("sigmoid"),
        latex: Latex::Operator,
        // Slope below 0.02 of its maximum.
        flat_region: Some(|x| x.abs() > 4.0),
    },
    /// `relu(x)`
    Relu => Primitive {
        name: "relu",
        callable: true,
        arg: None,
        meaning: "`max(x, 0)`",
        eval: |x, _| if x > 0.0 { x } else { 0.0 },
        derivative: Some(|ar, o| ar.call(Func::Step, o.x, None)),
        rust: RuntimeFn::elementwise("relu"),
        latex: Latex::Operator,
        flat_region: Some(negative),
    },
    /// `leaky_relu(x, slope)`
    LeakyRelu => Primitive {
        name: "leaky_relu",
        callable: true,
        arg: Some(ConstArg { name: "slope", default: Some(0.01) }),
        meaning: "`x` if `x > 0`, else `slope * x`",
        eval: |x, slope| if x > 0.0 { x } else { slope * x },
        derivative: Some(|ar, o| ar.call(Func::LeakyReluGrad, o.x, o.arg)),
        rust: RuntimeFn::elementwise("leaky_relu"),
        latex: Latex::Operator,
        flat_region: Some(negative),
    },
    /// `elu(x, alpha)`
    Elu => Primitive {
        name: "elu",
        callable: true,
        arg: Some(ConstArg { name: "alpha", default: Some(1.0) }),
        meaning: "`x` if `x > 0`, else `alpha * (exp(x) - 1)`",
        eval: |x, alpha| if x > 0.0 { x } else { alpha * x.exp_m1() },
        derivative: Some(|ar, o| ar.call(Func::EluGrad, o.x, o.arg)),
        rust: RuntimeFn::elementwise("elu"),
        latex: Latex::Operator,
        flat_region: Some(negative),
    },
    /// `softplus(x)`
    Softplus => Primitive {
        name: "softplus",
        callable: true,
        arg: None,
        meaning: "`log(1 + exp(x))` (PyTorch's, linear above 20)",
        eval: |x, _| if x > 20.0 { x } else { x.exp().ln_1p() },
        derivative: Some(|ar, o| ar.call(Func::Sigmoid, o.x, None)),
        rust: RuntimeFn::elementwise("softplus"),
        latex: Latex::Operator,
        flat_region: Some(negative),
    },
    /// `abs(x)`
    Abs => Primitive {
        name: "abs",
        callable: true,
        arg: None,
        meaning: "the absolute value",
        eval: |x, _| x.abs(),
        derivative: Some(|ar, o| ar.call(Func::Sign, o.x, None)),
        rust: RuntimeFn::float("abs"),
        latex: Latex::Operator,
        flat_region: None,
    },
    /// `clamp_min(x, lo)`
    ClampMin => Primitive {
        name: "clamp_min",
        callable: true,
        arg: Some(ConstArg { name: "lo", default: None }),
        meaning: "`max(x, lo)`",
        eval: |x, lo| if x > lo { x } else { lo },
        derivative: Some(|ar, o| ar.call(Func::Ge, o.x, o.arg)),
        rust: RuntimeFn::elementwise("clamp_min"),
        latex: Latex::Operator,
        flat_region: None,
    },
    /// `step(x)`: 1 if x > 0 else 0 (derivative of relu).
    Step => Primitive {
        name: "step",
        callable: false,
        arg: None,
        meaning: "`1` if `x > 0`, else `0`",
        eval: |x, _| one_if_positive(x, 0.0),
        derivative: Some(|ar, _| ar.num(0.0)),
        rust: RuntimeFn::elementwise("step"),
        latex: Latex::Operator,
        flat_region: None,
    },
    /// `leaky_relu'(x, slope)`: 1 if x > 0 else slope (PyG's choice at 0).
    LeakyReluGrad => Primitive {
        name: "leaky_relu'",
        callable: false,
        arg: Some(ConstArg { name: "slope", default: None }),
        meaning: "`1` if `x > 0`, else `slope`",
        eval: one_if_positive,
        derivative: Some(|ar, _| ar.num(0.0)),
        rust: RuntimeFn::elementwise("leaky_relu_grad"),
        latex: Latex::Operator,
        flat_region: None,
    },
    /// `elu'(x, alpha)`: 1 if x > 0 else alpha·exp(x).
    EluGrad => Primitive {
        name: "elu'",
        callable: false,
        arg: Some(ConstArg { name: "alpha", default: None }),
        meaning: "`1` if `x > 0`, else `alpha * exp(x)`",
        eval: |x, alpha| if x > 0.0 { 1.0 } else { alpha * x.exp() },
        derivative: None,
        rust: RuntimeFn::elementwise("elu_grad"),
        latex: Latex::Operator,
        flat_region: None,
    },
    /// `sign(x)`
    Sign => Primitive {
        name: "sign",
        callable: false,
        arg: None,
        meaning: "`1`, `-1` or `0`",
        eval: |x, _| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        },
        derivative: Some(|ar, _| ar.num(0.0)),
        rust: RuntimeFn::elementwise("sign"),
        latex: Latex::Operator,
        flat_region: None,
    },
    /// `ge(x, lo)`: 1 if x ≥ lo else 0 (derivative of clamp_min).
    Ge => Primitive {
        name: "ge",
        callable: false,
        arg: Some(ConstArg { name: "lo", default: None }),
        meaning: "`1` if `x ≥ lo`, else `0`",
        eval: |x, lo| if x >= lo { 1.0 } else { 0.0 },
        derivative: Some(|ar, _| ar.num(0.0)),
        rust: RuntimeFn::elementwise("ge"),
        latex: Latex::Operator,
        flat_region: None,
    },
    /// `silu(x)`: x · sigmoid(x).
    Silu => Primitive {
        name: "silu",
        callable: true,
        arg: None,
        meaning: "`x * sigmoid(x)` (SiLU, swish)",
        eval: |x, _| {
            let s = 1.0 / (1.0 + (-x).exp());
            // The limit -0 at -∞ rather than -∞ · 0.
            if s == 0.0 {
                -0.0
            } else {
                x * s
            }
        },
        derivative: Some(|ar, o| ar.call(Func::SiluGrad, o.x, None)),
        rust: RuntimeFn::elementwise("silu"),
        latex: Latex::Operator,
        flat_region: Some(negative),
    },
    /// `silu'(x)`: σ(x) · (1 + x · (1 − σ(x))).
    SiluGrad => Primitive {
        name: "silu'",
        callable: false,
        arg: None,
        meaning: "`sigmoid(x) * (1 + x * (1 - sigmoid(x)))`",
        // With u = e^(-x): σ(x) = 1 / (1 + u) and 1 − σ(x) = u · σ(x), without cancellation.
        eval: |x, _| {
            let u = (-x).exp();
            let s = 1.0 / (1.0 + u);
            // The limits -0 at -∞ and 1 at ∞ rather than 0 · ∞.
            if s == 0.0 {
                -0.0
            } else if u == 0.0 {
                1.0
            } else {
                s * (1.0 + x * (u * s))
            }
        },
        derivative: None,
        rust: RuntimeFn::elementwise("silu_grad"),
        latex: Latex::Operator,
        flat_region: None,
    },
    /// `gelu(x)`: x · Φ(x), the exact (erf) form.
    Gelu => Primitive {
        name: "gelu",
        callable: true,
        arg: None,
        meaning: "`x * Φ(x)` with `Φ(x) = (1 + erf(x / √2)) / 2` (PyTorch's exact form)",
        eval: |x, _| normal::times(x, normal::normal_cdf(x)),
        derivative: Some(|ar, o| ar.call(Func::GeluGrad, o.x, None)),
        rust: RuntimeFn::elementwise("gelu"),
        latex: Latex::Operator,
        flat_region: Some(negative),
    },
    /// `gelu'(x)`: Φ(x) + x · φ(x).
    GeluGrad => Primitive {
        name: "gelu'",
        callable: false,
        arg: None,
        meaning: "`Φ(x) + x * φ(x)`",
        eval: |x, _| normal::normal_cdf(x) + normal::times(x, normal::normal_pdf(x)),
        derivative: None,
        rust: RuntimeFn::elementwise("gelu_grad"),
        latex: Latex::Operator,
        flat_region: None,
    },
}

impl Func {
    /// Its table entry.
    pub fn primitive(self) -> &'static Primitive {
        &PRIMITIVES[self as usize]
    }

    /// The name, and its number of arguments.
    pub fn signature(self) -> (&'static str, usize) {
        let p = self.primitive();
        (p.name, p.arity())
    }

    /// The function a `.gat` file calls by `name`, if there is one.
    pub fn from_user_name(name: &str) -> Option<Func> {
        Func::ALL
            .iter()
            .copied()
            .find(|f| f.primitive().callable && f.primitive().name == name)
    }

    /// Evaluates the function (`arg` is ignored by functions without a constant argument).
    pub fn eval(self, x: f64, arg: f64) -> f64 {
        (self.primitive().eval)(x, arg)
    }
}

/// The functions a `.gat` file may call, as a help line lists them:
/// `exp, log, ..., leaky_relu(x, slope), ...`.
pub fn help_list() -> String {
    let names: Vec<String> = PRIMITIVES
        .iter()
        .filter(|p| p.callable)
        .map(|p| match p.arg {
            Some(a) => format!("{}(x, {})", p.name, a.name),
            None => p.name.to_string(),
        })
        .collect();
    names.join(", ")
}

/// The Markdown table of the functions a `.gat` file may call, as `docs/language.md` shows it.
pub fn docs_table() -> String {
    let mut s = String::from("| call | meaning |\n| --- | --- |\n");
    for p in PRIMITIVES.iter().filter(|p| p.callable) {
        let default = match p.arg {
            Some(ConstArg {
                name,
                default: Some(v),
            }) => format!(" (`{name}` is {v} if left out)"),
            _ => String::new(),
        };
        s.push_str(&format!(
            "| `{}` | {}{default} |\n",
            p.call_syntax(),
            p.meaning
        ));
    }
    s
}

/// Tokens of a function `fn NAME<T: Float>(f: Func, x: T, arg: T) -> T` that evaluates each
/// function of the table exactly as generated code spells it ([`Primitive::rust_call`]), for the
/// test that checks the runtime against the table. `name` is the function's name (one
/// identifier, else a `compile_error!`); `krate` is the path of the `gatgrad` crate.
pub fn runtime_calls(name: TokenStream, krate: &TokenStream) -> TokenStream {
    let name: Ident = match syn::parse2(name) {
        Ok(name) => name,
        Err(e) => return e.to_compile_error(),
    };
    let arms = Func::ALL.iter().zip(PRIMITIVES).map(|(f, p)| {
        let variant = format_ident!("{f:?}");
        let call = p.rust_call(krate, quote!(x), p.arg.map(|_| quote!(arg)));
        quote!(#krate::codegen::ir::Func::#variant => #call,)
    });
    let float = Helper::Float.path(krate);
    quote! {
        #[doc = " `f(x, arg)` as generated code computes it, for every function of the table."]
        #[allow(unused_variables)]
        fn #name<T: #float>(f: #krate::codegen::ir::Func, x: T, arg: T) -> T {
            match f { #(#arms)* }
        }
    }
}

//! Programs built to sit at the limits the language promises to handle: long chains of equations
//! (thousands, each reading `x`, so the gradient of `x` is one sum with a term per equation),
//! wide sums (one equation with as many terms as a statement may hold, and more), and deep
//! nesting (up to the nesting limit, and past it). Each program knows what must happen to it —
//! compile, or be refused with a given message — and, where it has one, the closed form of
//! `grad.x` on the tiny case of [`tiny_case`] (gradient of the output's sum).
//!
//! All programs have the same signature: `input x[n: node, f: F]`, output `y[n, f]`.

use crate::corpus::run_case_f64;
use crate::harness::{excerpt, Ctx, Input};
use crate::rng::Rng;
use crate::tensors::Tensors;
use gatgrad::codegen::print::{Printer, Style};
use gatgrad::runtime::{serialize_tensors, TensorData, TensorFile};

/// The statement limits of `docs/language.md`.
pub const MAX_NESTING: usize = 64;
/// At most this many operators (`+ - * / ^`, unary minus, reductions) in a statement.
pub const MAX_OPERATORS: usize = 1000;

/// What must happen to a generated program.
pub enum Expected {
    /// It compiles; `grad_x(x)` is the closed form of `grad.x` at an entry of value `x`, if known.
    Compiles { grad_x: Option<Closed> },
    /// It is refused with an error containing this text.
    Refused(&'static str),
}

/// `grad.x = constant + linear · x`, entry by entry.
#[derive(Clone, Copy)]
pub struct Closed {
    pub constant: f64,
    pub linear: f64,
}

/// A generated program and what it is for.
pub struct Generated {
    /// The class it belongs to (the outcome counts are kept per class).
    pub kind: &'static str,
    pub text: String,
    /// How it was made, for a report (the text itself may be thousands of lines).
    pub about: String,
    pub expected: Expected,
}

const HEADER: &str = "    dims F;\n    input x[n: node, f: F];\n";

/// A few coefficients whose sums are exact in f64.
const COEFFICIENTS: [f64; 5] = [0.5, 1.0, 2.0, -1.0, 0.25];

fn coefficient(rng: &mut Rng) -> f64 {
    *rng.pick(&COEFFICIENTS)
}

/// A chain of `n` equations `t_k = t_{k-1} + c_k · x`: compiles, and `grad.x = 1 + Σ c_k`.
pub fn long_chain(rng: &mut Rng) -> Generated {
    let n = *rng.pick(&[300, 2000, 12000, 20000]);
    let mut s = format!("layer chain() {{\n{HEADER}    t0[n, f] = x[n, f];\n");
    let mut sum = 1.0;
    for k in 1..n {
        let c = coefficient(rng);
        sum += c;
        s.push_str(&format!(
            "    t{k}[n, f] = t{}[n, f] + {c} * x[n, f];\n",
            k - 1
        ));
    }
    s.push_str(&format!(
        "    y[n, f] = t{}[n, f];\n    output y;\n}}\n",
        n - 1
    ));
    Generated {
        kind: "long chain",
        text: s,
        about: format!("a chain of {n} equations t_k = t_(k-1) + c_k * x"),
        expected: Expected::Compiles {
            grad_x: Some(Closed {
                constant: sum,
                linear: 0.0,
            }),
        },
    }
}

/// A chain of `n` random steps, each reading the previous node tensor and `x`, through
/// element-wise functions, neighbourhood sums, edge tensors and softmax; values stay bounded.
pub fn mixed_chain(rng: &mut Rng) -> Generated {
    let n = *rng.pick(&[200, 3000, 10000]);
    let mut s = format!("layer mixed() {{\n{HEADER}    t0[i, f] = x[i, f];\n");
    let mut steps = [0usize; 6];
    for k in 1..n {
        let p = format!("t{}", k - 1);
        let step = rng.below(6);
        steps[step] += 1;
        match step {
            0 => s.push_str(&format!(
                "    t{k}[i, f] = 0.5 * {p}[i, f] + {}(x[i, f]);\n",
                rng.pick(&["tanh", "sigmoid"])
            )),
            1 => s.push_str(&format!(
                "    t{k}[i, f] = 0.5 * {p}[i, f] + 0.01 * sum_g x[i, g];\n"
            )),
            2 => s.push_str(&format!(
                "    t{k}[i, f] = 0.5 * {p}[i, f] + 0.1 * (mean_{{j -> i}} {p}[j, f]);\n"
            )),
            3 => s.push_str(&format!(
                "    e{k}[i <- j, f] = tanh({p}[j, f] * x[i, f]);\n    \
                 t{k}[i, f] = 0.5 * {p}[i, f] + 0.1 * (sum_{{j -> i}} e{k}[i <- j, f]);\n"
            )),
            4 => s.push_str(&format!(
                "    s{k}[i <- j, f] = {p}[j, f] * x[i, f];\n    \
                 a{k}[i <- j, f] = softmax_j s{k}[i <- j, f];\n    \
                 t{k}[i, f] = 0.5 * {p}[i, f] + (sum_{{j -> i}} a{k}[i <- j, f] * {p}[j, f]);\n"
            )),
            _ => s.push_str(&format!(
                "    t{k}[i, f] = 0.5 * {}({p}[i, f], 0.2) + 0.1 * x[i, f];\n",
                rng.pick(&["leaky_relu", "clamp_min"])
            )),
        }
    }
    s.push_str(&format!(
        "    y[i, f] = t{}[i, f];\n    output y;\n}}\n",
        n - 1
    ));
    Generated {
        kind: "mixed chain",
        text: s,
        about: format!(
            "a chain of {n} random steps (tanh/sigmoid, dense sum, neighbourhood mean, edge \
             tensor, softmax, leaky_relu/clamp_min: {steps:?})"
        ),
        expected: Expected::Compiles { grad_x: None },
    }
}

/// One equation summing terms `c · x[n, f]` (one operator, two when `c` is negative),
/// `c · x[n, f] · x[n, f]` (two or three) and `x[n, f]` up to about `target` operators: compiles (with `grad.x = Σ c_lin + 2 x Σ c_sq`) up to
/// [`MAX_OPERATORS`], refused beyond.
pub fn wide_sum(rng: &mut Rng) -> Generated {
    let target: usize = *rng.pick(&[40, 400, 999, 1000, 1001, 1002, 3000, 20000]);
    let mut terms = Vec::new();
    let (mut ops, mut lin, mut sq) = (0usize, 0.0, 0.0);
    loop {
        // A term costs its own operators, plus the `+` joining it to the previous one.
        let joint = usize::from(!terms.is_empty());
        let left = target.saturating_sub(ops + joint);
        if left == 0 {
            break;
        }
        // A negative coefficient is a unary minus: one more operator.
        let c = coefficient(rng);
        let sign = usize::from(c < 0.0);
        if left >= 2 + sign && rng.chance(1, 3) {
            terms.push(format!("{c} * x[n, f] * x[n, f]"));
            sq += c;
            ops += joint + 2 + sign;
        } else if left > sign {
            terms.push(format!("{c} * x[n, f]"));
            lin += c;
            ops += joint + 1 + sign;
        } else {
            terms.push("x[n, f]".to_string());
            lin += 1.0;
            ops += joint;
        }
    }
    let text = format!(
        "layer wide() {{\n{HEADER}    y[n, f] = {};\n    output y;\n}}\n",
        terms.join(" + ")
    );
    let expected = if ops <= MAX_OPERATORS {
        Expected::Compiles {
            grad_x: Some(Closed {
                constant: lin,
                linear: 2.0 * sq,
            }),
        }
    } else {
        Expected::Refused("statement too long")
    };
    Generated {
        kind: if ops <= MAX_OPERATORS {
            "wide sum"
        } else {
            "too wide sum"
        },
        text,
        about: format!("one equation of {} terms, {ops} operators", terms.len()),
        expected,
    }
}

/// One equation nesting random wrappers (brackets, unary minus, bounded functions, a product,
/// a dense sum) around `x[n, f]` to a depth near [`MAX_NESTING`]: compiles up to the limit,
/// refused beyond. The depth is counted as the parser counts it: brackets (the index bracket of
/// `x[n, f]` too), unary minus signs and reductions.
pub fn deep_nesting(rng: &mut Rng) -> Generated {
    let target = rng.range(MAX_NESTING - 12, MAX_NESTING + 4);
    let mut open = String::new();
    let mut close = Vec::new();
    // The innermost `[` of `x[n, f]`.
    let mut depth = 1;
    let mut summed = false;
    let mut used = Vec::new();
    while depth < target {
        let (o, c, d) = match rng.below(9) {
            0 => ("(", ")", 1),
            1 => ("-", "", 1),
            2 => ("tanh(", ")", 1),
            3 => ("sigmoid(", ")", 1),
            4 => ("leaky_relu(", ", 0.2)", 1),
            5 => ("0.5 * (", ")", 1),
            6 => ("x[n, f] * (", ")", 1),
            7 if !summed && depth + 2 <= target => {
                summed = true;
                ("sum_g x[n, g] * (", ")", 2)
            }
            _ => ("softplus(", ")", 1),
        };
        open.push_str(o);
        close.push(c);
        used.push(o.trim_end_matches('('));
        depth += d;
    }
    close.reverse();
    let text = format!(
        "layer deep() {{\n{HEADER}    y[n, f] = {open}x[n, f]{};\n    output y;\n}}\n",
        close.concat()
    );
    let ok = depth <= MAX_NESTING;
    Generated {
        kind: if ok {
            "deep nesting"
        } else {
            "too deep nesting"
        },
        text,
        about: format!("one equation nested {depth} deep: {}", used.join(" ")),
        expected: if ok {
            Expected::Compiles { grad_x: None }
        } else {
            Expected::Refused("nested too deeply")
        },
    }
}

/// The nodes and features of [`tiny_case`].
pub const TINY_NODES: usize = 4;
/// Features per node in [`tiny_case`].
pub const TINY_FEATURES: usize = 3;

/// `x` (entries 0.1, 0.2, …), a graph with a cycle, a self loop and a node without in-edges
/// from others, and `grad_out` all ones (so `grad.x` is the gradient of the output's sum).
pub fn tiny_case() -> TensorFile {
    let numel = TINY_NODES * TINY_FEATURES;
    let x: Vec<f64> = (0..numel).map(|k| 0.1 * (k + 1) as f64).collect();
    let t: Tensors = vec![
        (
            "x".into(),
            vec![TINY_NODES, TINY_FEATURES],
            TensorData::F64(x),
        ),
        (
            "edge_index".into(),
            vec![2, 5],
            TensorData::I64(vec![0, 1, 2, 3, 0, 1, 2, 0, 3, 2]),
        ),
        (
            "grad_out".into(),
            vec![TINY_NODES, TINY_FEATURES],
            TensorData::F64(vec![1.0; numel]),
        ),
    ];
    let bytes = serialize_tensors(&t, None).expect("the tiny case serialises");
    TensorFile::from_bytes("tiny.safetensors", bytes).expect("the tiny case reads back")
}

/// The value of `x` at entry `k` of [`tiny_case`].
pub fn tiny_x(k: usize) -> f64 {
    0.1 * (k + 1) as f64
}

/// One iteration of the campaign: a generated program compiles (then prints, in text and LaTeX,
/// and runs on [`tiny_case`], its `grad.x` checked against the closed form) or is refused with
/// the limit's message, as it must.
pub fn iteration(rng: &mut Rng, ctx: &mut Ctx) {
    let g = match rng.below(8) {
        0 | 1 => long_chain(rng),
        2 | 3 => mixed_chain(rng),
        4 | 5 => wide_sum(rng),
        _ => deep_nesting(rng),
    };
    let input = || Input::Large {
        text: g.text.clone(),
        about: g.about.clone(),
    };
    let first_lines = |s: &str| excerpt(s, 6, 200);
    let compiled = ctx.check("compile", g.text.as_bytes(), input, || {
        gatgrad::compile("limits.gat", &g.text)
    });
    let outcome = match (compiled, &g.expected) {
        (None, _) => "compile PANIC",
        (Some(Err(e)), Expected::Refused(message)) if e.rendered.contains(message) => {
            "refused as expected"
        }
        (Some(Err(e)), Expected::Refused(message)) => {
            let why = format!("expected `{message}`, got:\n{}", first_lines(&e.rendered));
            ctx.fail("compile", "refused with another message", why, input());
            "refused with another message"
        }
        (Some(Err(e)), Expected::Compiles { .. }) => {
            let why = first_lines(&e.rendered);
            ctx.fail(
                "compile",
                "a program within the limits refused",
                why,
                input(),
            );
            "refused (must compile)"
        }
        (Some(Ok(_)), Expected::Refused(message)) => {
            let why = format!("compiles, expected `{message}`");
            ctx.fail(
                "compile",
                "a program past the limits accepted",
                why,
                input(),
            );
            "compiles (must be refused)"
        }
        (Some(Ok(c)), Expected::Compiles { grad_x }) => {
            let printed = ctx.check("print", g.text.as_bytes(), input, || {
                [Style::Text, Style::Latex].map(|style| {
                    let p = Printer::new(&c.program, style);
                    p.forward().len() + p.backward().len()
                })
            });
            let ran = match printed {
                None => None,
                Some(_) => ctx.check("run_case", g.text.as_bytes(), input, || {
                    run_case_f64(&c.program, &tiny_case())
                }),
            };
            match (printed, ran, grad_x) {
                (None, _, _) => "print PANIC",
                (_, None, _) => "run_case PANIC",
                (_, Some(Err(e)), _) => {
                    let why = format!("run_case on the tiny case: {e}");
                    ctx.fail("run_case", "a valid program failed to run", why, input());
                    "run_case error"
                }
                (_, Some(Ok(_)), None) => "runs",
                (_, Some(Ok(named)), Some(closed)) => {
                    let got = named.iter().find(|(n, _, _)| n == "grad.x");
                    let values = got.map(|(_, _, v)| v.as_slice()).unwrap_or_default();
                    let wrong = values.iter().enumerate().find(|&(k, &v)| {
                        let want = closed.constant + closed.linear * tiny_x(k);
                        (v - want).abs() > 1e-9 * want.abs().max(1.0)
                    });
                    match (values.len(), wrong) {
                        (0, _) => {
                            let why = "no grad.x in the results".to_string();
                            ctx.fail("run_case", "grad.x missing", why, input());
                            "runs, no grad.x"
                        }
                        (_, Some((k, v))) => {
                            let want = closed.constant + closed.linear * tiny_x(k);
                            let why = format!("grad.x[{k}] = {v}, the closed form says {want}");
                            ctx.fail(
                                "run_case",
                                "grad.x differs from its closed form",
                                why,
                                input(),
                            );
                            "runs, grad.x WRONG"
                        }
                        _ => "runs, grad.x exact",
                    }
                }
            }
        }
    };
    ctx.tally(g.kind, outcome);
}

//! The typed program generator: random programs with the signature of `models/gatv2.gat` that
//! are well typed most of the time.

use crate::rng::Rng;

/// A dense dimension of the typed generator, with its canonical index.
#[derive(Clone, Copy, PartialEq)]
enum Dim {
    F,
    H,
    C,
}

impl Dim {
    fn name(self) -> &'static str {
        match self {
            Dim::F => "F",
            Dim::H => "H",
            Dim::C => "C",
        }
    }

    fn index(self) -> &'static str {
        match self {
            Dim::F => "f",
            Dim::H => "h",
            Dim::C => "c",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Dom {
    Node,
    Edge,
    Dense,
}

struct Typed {
    name: String,
    dom: Dom,
    dims: Vec<Dim>,
}

/// Where an expression is generated: the equation's domain (node `i`, or edge `i <- j`) and the
/// dense indices bound by the left-hand side and enclosing reductions.
#[derive(Clone)]
struct ExprSite {
    dom: Dom,
    dense: Vec<Dim>,
    /// Inside the body of a neighbourhood reduction (no second one allowed).
    in_neighbourhood: bool,
}

/// A program with the signature of `models/gatv2.gat` (same inputs and parameter names, output
/// `out[i, h, c]`) whose equations are random but well typed most of the time, so that it gets
/// through the checker, lowering and differentiation, and often runs on
/// `tests/reference/gatv2_basic.safetensors`.
pub fn typed_program(rng: &mut Rng) -> String {
    use Dim::*;
    let mut s =
        String::from("layer typed(slope = 0.2, p = 0.0, alpha = 1.0) {\n    dims F, H, C;\n");
    if rng.chance(2, 3) {
        s.push_str("    self_loops;\n");
    }
    s.push_str(
        "    input x[n: node, f: F];
    param W_l[h: H, c: C, f: F] as \"lin_l.weight\" [H*C, F];
    param b_l[h: H, c: C]       as \"lin_l.bias\"   [H*C];
    param W_r[h: H, c: C, f: F] as \"lin_r.weight\" [H*C, F];
    param b_r[h: H, c: C]       as \"lin_r.bias\"   [H*C];
    param att[h: H, c: C]       as \"att\"          [1, H, C];
    param bias[h: H, c: C]      as \"bias\"         [H*C];
",
    );
    let mut tensors = vec![
        Typed {
            name: "x".into(),
            dom: Dom::Node,
            dims: vec![F],
        },
        Typed {
            name: "W_l".into(),
            dom: Dom::Dense,
            dims: vec![H, C, F],
        },
        Typed {
            name: "b_l".into(),
            dom: Dom::Dense,
            dims: vec![H, C],
        },
        Typed {
            name: "W_r".into(),
            dom: Dom::Dense,
            dims: vec![H, C, F],
        },
        Typed {
            name: "b_r".into(),
            dom: Dom::Dense,
            dims: vec![H, C],
        },
        Typed {
            name: "att".into(),
            dom: Dom::Dense,
            dims: vec![H, C],
        },
        Typed {
            name: "bias".into(),
            dom: Dom::Dense,
            dims: vec![H, C],
        },
    ];
    let mut attention = None;
    let n_eq = rng.range(0, 7);
    for k in 0..n_eq {
        let dom = if rng.chance(1, 2) {
            Dom::Node
        } else {
            Dom::Edge
        };
        let dims: Vec<Dim> = [H, C, F].into_iter().filter(|_| rng.chance(1, 2)).collect();
        let name = format!("t{k}");
        let lhs = lhs_of(rng, &name, dom, &dims);
        let scope = ExprSite {
            dom,
            dense: dims.clone(),
            in_neighbourhood: false,
        };
        // Softmax and dropout only stand as a whole right-hand side.
        let edges: Vec<&Typed> = tensors
            .iter()
            .filter(|t| t.dom == Dom::Edge && t.dims == dims)
            .collect();
        let rhs = if dom == Dom::Edge && !edges.is_empty() && rng.chance(1, 3) {
            let src = rng.pick(&edges);
            let idx = access_indices(&src.dims);
            if rng.chance(1, 4) {
                format!("dropout({}[i <- j{idx}], p)", src.name)
            } else {
                attention.get_or_insert_with(|| name.clone());
                format!(
                    "softmax_{} {}[i <- j{idx}]",
                    rng.pick(&["j", "{j -> i}"]),
                    src.name
                )
            }
        } else {
            anchored(rng, &tensors, &scope)
        };
        s.push_str(&format!("    {lhs} = {rhs};\n"));
        tensors.push(Typed { name, dom, dims });
    }
    let scope = ExprSite {
        dom: Dom::Node,
        dense: vec![H, C],
        in_neighbourhood: false,
    };
    let rhs = anchored(rng, &tensors, &scope);
    let lhs = if rng.chance(3, 4) {
        "out[i, h: H, c: C]"
    } else {
        "out[i, h, c]"
    };
    s.push_str(&format!("    {lhs} = {rhs};\n    output out;\n"));
    if let Some(a) = attention {
        if rng.chance(1, 2) {
            s.push_str(&format!("    attention {a};\n"));
        }
    }
    s.push_str("}\n");
    s
}

/// A random expression that (nearly always) reads a node tensor at `i` in a node equation, as
/// the checker requires the node index to occur on the right-hand side.
fn anchored(rng: &mut Rng, tensors: &[Typed], scope: &ExprSite) -> String {
    let e = typed_expr(rng, tensors, scope, 0);
    if scope.dom != Dom::Node || rng.chance(1, 10) {
        return e;
    }
    let nodes: Vec<&Typed> = tensors.iter().filter(|t| t.dom == Dom::Node).collect();
    let t = *rng.pick(&nodes);
    let no_neighbourhood = ExprSite {
        in_neighbourhood: true,
        ..scope.clone()
    };
    let anchor = typed_access(rng, t, &no_neighbourhood);
    format!("{e} {} {anchor}", rng.pick(&["+", "-", "*"]))
}

fn lhs_of(rng: &mut Rng, name: &str, dom: Dom, dims: &[Dim]) -> String {
    let mut idx = vec![match dom {
        Dom::Edge => "i <- j".to_string(),
        _ => "i".to_string(),
    }];
    for d in dims {
        // Annotated, so that an index the right-hand side does not use is still well defined.
        if rng.chance(4, 5) {
            idx.push(format!("{}: {}", d.index(), d.name()));
        } else {
            idx.push(d.index().to_string());
        }
    }
    format!("{name}[{}]", idx.join(", "))
}

fn access_indices(dims: &[Dim]) -> String {
    dims.iter().map(|d| format!(", {}", d.index())).collect()
}

/// An expression valid in `scope` (most of the time: a few choices are deliberately off).
fn typed_expr(rng: &mut Rng, tensors: &[Typed], scope: &ExprSite, depth: usize) -> String {
    let sub = |rng: &mut Rng, scope: &ExprSite| typed_expr(rng, tensors, scope, depth + 1);
    if depth >= 4 || rng.chance(2, 5) {
        return typed_atom(rng, tensors, scope);
    }
    match rng.below(16) {
        0 | 1 => format!("{} + {}", sub(rng, scope), sub(rng, scope)),
        2 => format!("{} - {}", sub(rng, scope), sub(rng, scope)),
        3 | 4 => format!("{} * {}", sub(rng, scope), sub(rng, scope)),
        5 => format!("{} / (1 + ({}) ^ 2)", sub(rng, scope), sub(rng, scope)),
        6 => format!("-{}", sub(rng, scope)),
        7 => format!(
            "({}) ^ {}",
            sub(rng, scope),
            rng.pick(&["2", "3", "0.5", "-0.5", "-1", "0", "1"])
        ),
        8 => format!(
            "{}({})",
            rng.pick(&crate::text::table_functions(false)),
            sub(rng, scope)
        ),
        9 => format!(
            "{}({}, {})",
            rng.pick(&crate::text::table_functions(true)),
            sub(rng, scope),
            rng.pick(&["slope", "alpha", "0.1", "-1"])
        ),
        10 | 11 => {
            // A dense reduction over a dimension not bound yet, whose body uses it.
            let free: Vec<Dim> = [Dim::F, Dim::H, Dim::C]
                .into_iter()
                .filter(|d| !scope.dense.contains(d))
                .collect();
            if free.is_empty() {
                return sub(rng, scope);
            }
            let d = *rng.pick(&free);
            let mut inner = scope.clone();
            inner.dense.push(d);
            let users: Vec<&Typed> = tensors.iter().filter(|t| t.dims.contains(&d)).collect();
            let anchor = if users.is_empty() {
                d.name().to_string()
            } else {
                {
                    let t = *rng.pick(&users);
                    typed_access(rng, t, &inner)
                }
            };
            let op = rng.pick(&["sum", "mean"]);
            if rng.chance(1, 2) {
                format!("{op}_{} {anchor} * {}", d.index(), sub(rng, &inner))
            } else {
                format!("({op}_{} {anchor})", d.index())
            }
        }
        12 | 13 if scope.dom == Dom::Node && !scope.in_neighbourhood => {
            // A neighbourhood reduction: the body is an edge expression.
            let inner = ExprSite {
                dom: Dom::Edge,
                dense: scope.dense.clone(),
                in_neighbourhood: true,
            };
            let op = rng.pick(&["sum", "mean"]);
            format!("({op}_{{j -> i}} ({}))", sub(rng, &inner))
        }
        14 => format!("({})", sub(rng, scope)),
        _ => typed_atom(rng, tensors, scope),
    }
}

fn typed_atom(rng: &mut Rng, tensors: &[Typed], scope: &ExprSite) -> String {
    match rng.below(10) {
        0 => rng.pick(&["1", "0.5", "2", "1e-3", "0"]).to_string(),
        1 => rng.pick(&["slope", "alpha", "H", "C"]).to_string(),
        _ => {
            let t = rng.pick(tensors);
            typed_access(rng, t, scope)
        }
    }
}

/// Reads `t` in `scope`, reducing over what the scope does not bind.
fn typed_access(rng: &mut Rng, t: &Typed, scope: &ExprSite) -> String {
    let missing: Vec<Dim> = t
        .dims
        .iter()
        .copied()
        .filter(|d| !scope.dense.contains(d))
        .collect();
    let idx = access_indices(&t.dims);
    let body = match (t.dom, scope.dom) {
        (Dom::Dense, _) => {
            if t.dims.is_empty() {
                t.name.clone()
            } else {
                format!("{}[{}]", t.name, &idx[2..])
            }
        }
        (Dom::Node, Dom::Node) => {
            if !scope.in_neighbourhood && rng.chance(1, 4) {
                format!("(sum_{{j -> i}} {}[j{idx}])", t.name)
            } else {
                format!("{}[i{idx}]", t.name)
            }
        }
        (Dom::Node, Dom::Edge) => format!("{}[{}{idx}]", t.name, rng.pick(&["i", "j"])),
        (Dom::Edge, Dom::Edge) => format!("{}[i <- j{idx}]", t.name),
        (Dom::Edge, Dom::Node) => {
            if scope.in_neighbourhood {
                // Deliberately wrong now and then.
                format!("{}[i <- j{idx}]", t.name)
            } else {
                format!("(sum_{{j -> i}} {}[i <- j{idx}])", t.name)
            }
        }
        (Dom::Node | Dom::Edge, Dom::Dense) => format!("{}[i{idx}]", t.name),
    };
    if missing.is_empty() {
        body
    } else {
        let names: Vec<&str> = missing.iter().map(|d| d.index()).collect();
        if names.len() == 1 {
            format!("(sum_{} {body})", names[0])
        } else {
            format!("(sum_{{{}}} {body})", names.join(", "))
        }
    }
}

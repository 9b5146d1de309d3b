//! Random text for the compiler: random bytes, token soups, pathologically deep inputs and random
//! (mostly well-formed) programs.

use crate::rng::Rng;

/// Tokens and fragments of the language, and characters that tend to upset lexers.
pub const TOKENS: &[&str] = &[
    "layer",
    "model",
    "dims",
    "self_loops",
    "input",
    "param",
    "labels",
    "mask",
    "output",
    "attention",
    "as",
    "classes",
    "node",
    "sum",
    "mean",
    "softmax",
    "sum_",
    "sum_f",
    "sum_c",
    "sum_n",
    "mean_h",
    "mean_",
    "softmax_j",
    "softmax_",
    "sum_{",
    "sum_{j -> i}",
    "sum_{h, c}",
    "mean_{j -> i}",
    "softmax_{j -> i}",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    ":",
    "=",
    "+",
    "-",
    "*",
    "/",
    "^",
    "<-",
    "->",
    "<",
    ">",
    ".",
    "x",
    "x[n, f]",
    "x[n]",
    "x[]",
    "W",
    "W[h, c, f]",
    "att[h, c]",
    "z[i <- j, h, c]",
    "a[i <- j, h]",
    "out",
    "out[i, h, c]",
    "n",
    "i",
    "j",
    "h",
    "c",
    "f",
    "F",
    "H",
    "C",
    "K",
    "i <- j",
    "n: node",
    "f: F",
    "h: H",
    "[H*C, F]",
    "[1, H, C]",
    "[1]",
    "\"lin_l.weight\"",
    "\"",
    "\"unterminated",
    "leaky_relu(",
    "elu(",
    "exp(",
    "log(",
    "sqrt(",
    "tanh(",
    "abs(",
    "sigmoid(",
    "relu(",
    "softplus(",
    "clamp_min(",
    "dropout(",
    "cross_entropy(out, y, train_mask)",
    "conv1:",
    "conv1: gatv2(",
    "gatv2",
    "slope",
    "dropout",
    "0",
    "1",
    "2",
    "0.2",
    "1e-3",
    "2.5E+2",
    "1e999",
    "1e",
    "2.",
    ".5",
    "-1",
    "-0.5",
    "00000000000000000000000000000000000001",
    "18446744073709551616",
    "NaN",
    "inf",
    "//",
    "/*",
    "*/",
    "// comment\n",
    "/* block */",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "α",
    "β_1",
    "→",
    "←",
    "∑",
    "é",
    "e\u{301}",
    "\u{0}",
    "\u{7f}",
    "\u{feff}",
    "\u{200b}",
    "\u{202e}",
    "🦀",
    "𝔽",
    "Ω",
    "\u{10ffff}",
    "ǅ",
    "ﬁ",
    "İ",
    "\\",
    "'",
    "`",
    "$",
    "#",
    "@",
    "!",
    "?",
    "&",
    "|",
    "%",
    "~",
];

/// Random bytes (mostly printable) or random Unicode scalar values.
pub fn random_bytes(rng: &mut Rng) -> String {
    let max = if rng.chance(1, 10) { 4000 } else { 200 };
    let len = rng.below(max);
    let mut bytes = Vec::with_capacity(len);
    for _ in 0..len {
        // Bias toward printable ASCII so the lexer gets past the first byte now and then.
        let b = if rng.chance(3, 4) {
            rng.range(0x20, 0x7f) as u8
        } else {
            rng.below(256) as u8
        };
        bytes.push(b);
    }
    if rng.chance(1, 2) {
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        // Random scalar values, including the awkward ones.
        let n = rng.below(200);
        (0..n)
            .map(|_| loop {
                let c = match rng.below(4) {
                    0 => rng.below(0x80) as u32,
                    1 => rng.below(0x800) as u32,
                    2 => rng.below(0x1_0000) as u32,
                    _ => rng.below(0x11_0000) as u32,
                };
                if let Some(c) = char::from_u32(c) {
                    break c;
                }
            })
            .collect()
    }
}

/// Random [`TOKENS`], often inside a block.
pub fn token_soup(rng: &mut Rng) -> String {
    let max = if rng.chance(1, 8) { 600 } else { 80 };
    let n = rng.below(max);
    let mut s = String::new();
    // Often start like a real block so the parser gets further.
    if rng.chance(1, 2) {
        s.push_str(rng.word(&[
            "layer l() {\n",
            "layer l {\n",
            "model m(p = 0.5) {\n",
            "layer ",
        ]));
    }
    for _ in 0..n {
        s.push_str(rng.word(TOKENS));
        if rng.chance(1, 2) {
            s.push(' ');
        }
    }
    if rng.chance(1, 2) {
        s.push_str("\n}\n");
    }
    s
}

/// Pathologically deep or long inputs: nesting, operator chains, long names, many statements.
pub fn deep_input(rng: &mut Rng) -> String {
    let depth = *rng.pick(&[10, 63, 64, 65, 100, 1000, 5000, 20000]);
    let body = match rng.below(12) {
        0 => format!("{}x[n, f]{}", "(".repeat(depth), ")".repeat(depth)),
        1 => format!("{}x[n, f]", "-".repeat(depth)),
        2 => format!("{}x[n, f]", "- ".repeat(depth)),
        3 => format!("{}x[n, f]", "sum_f ".repeat(depth)),
        4 => format!("{}x[n, f]{}", "exp(".repeat(depth), ")".repeat(depth)),
        5 => vec!["x[n, f]"; depth.max(1)].join(" + "),
        6 => vec!["x[n, f]"; depth.max(1)].join(" * "),
        7 => format!("x[n, f]{}", " ^ 2".repeat(depth.min(50))),
        8 => format!("{}x[n, f]{}", "(1 + ".repeat(depth), ")".repeat(depth)),
        9 => format!("{}x[n, f]", "mean_f sum_f ".repeat(depth)),
        10 => format!("x[{}]", vec!["n"; depth].join(", ")),
        _ => format!(
            "{}x[n, f]{}",
            "leaky_relu(".repeat(depth),
            ", 0.2)".repeat(depth)
        ),
    };
    let prefix = if rng.chance(1, 2) { "(" } else { "" };
    match rng.below(4) {
        0 => format!(
            "layer deep() {{\n    dims F;\n    input x[n: node, f: F];\n    y[n, f] = {prefix}{body};\n    output y;\n}}\n"
        ),
        1 => {
            // Many statements, each using the previous one twice.
            let mut s = String::from("layer chain() {\n    dims F;\n    input x[n: node, f: F];\n    t0[n, f] = x[n, f];\n");
            let k = depth.min(3000);
            for i in 1..=k {
                s.push_str(&format!(
                    "    t{i}[n, f] = t{}[n, f] * t{}[n, f] + x[n, f];\n",
                    i - 1,
                    i - 1
                ));
            }
            s.push_str(&format!("    output t{k};\n}}\n"));
            s
        }
        2 => {
            let name = "a".repeat(depth);
            format!("layer {name}() {{\n    dims F;\n    input {name}[n: node, f: F];\n    y[n, f] = {name}[n, f];\n    output y;\n}}\n")
        }
        _ => "{".repeat(depth) + &"}".repeat(depth / 2),
    }
}

/// A random program that follows the grammar, with names and indices that are only sometimes
/// right: it gets through the parser and exercises the checker, lowering and differentiation.
pub fn random_program(rng: &mut Rng) -> String {
    let dims = ["F", "H", "C", "D"];
    let mut s = String::new();
    let consts = ["slope", "p", "alpha"];
    s.push_str("layer rnd(slope = 0.2, p = 0.0, alpha = 1.0) {\n    dims F, H, C");
    if rng.chance(1, 3) {
        s.push_str(", D");
    }
    s.push_str(";\n");
    if rng.chance(1, 2) {
        s.push_str("    self_loops;\n");
    }
    // Tensors in scope: (name, kind, dense dims). kind: 0 node, 1 edge, 2 dense, 3 scalar.
    let mut tensors: Vec<(String, u8, Vec<&str>)> = vec![("x".into(), 0, vec!["F"])];
    s.push_str("    input x[n: node, f: F];\n");
    if rng.chance(1, 4) {
        s.push_str("    input e[i <- j, d: D];\n");
        tensors.push(("e".into(), 1, vec!["D"]));
    }
    let params: &[(&str, &str, Vec<&str>)] = &[
        (
            "W",
            "[h: H, c: C, f: F] as \"lin.weight\" [H*C, F]",
            vec!["H", "C", "F"],
        ),
        ("att", "[h: H, c: C] as \"att\" [1, H, C]", vec!["H", "C"]),
        ("b", "[h: H, c: C] as \"bias\" [H*C]", vec!["H", "C"]),
        ("v", "[c: C]", vec!["C"]),
        ("beta", " as \"beta\" [1]", vec![]),
        ("gamma", "", vec![]),
    ];
    for (name, decl, ds) in params {
        if rng.chance(2, 3) {
            s.push_str(&format!("    param {name}{decl};\n"));
            tensors.push((
                name.to_string(),
                if ds.is_empty() { 3 } else { 2 },
                ds.clone(),
            ));
        }
    }
    let index_of = |d: &str| match d {
        "F" => "f",
        "H" => "h",
        "C" => "c",
        _ => "d",
    };
    let n_eq = rng.range(1, 8);
    let mut last = "x".to_string();
    for k in 0..n_eq {
        let kind = *rng.pick(&[0u8, 0, 1, 1, 2, 3]);
        let mut ds: Vec<&str> = dims.iter().copied().filter(|_| rng.chance(1, 3)).collect();
        if rng.chance(1, 6) {
            ds.push(*rng.pick(&dims));
        }
        let mut lhs_idx: Vec<String> = Vec::new();
        let mut scope: Vec<String> = Vec::new();
        match kind {
            0 => {
                lhs_idx.push(rng.pick(&["n", "i"]).to_string());
                scope.push(lhs_idx[0].clone());
            }
            1 => {
                lhs_idx.push("i <- j".into());
                scope.extend(["i".to_string(), "j".to_string()]);
            }
            _ => {}
        }
        for d in &ds {
            let idx = index_of(d);
            if rng.chance(1, 5) {
                lhs_idx.push(format!("{idx}: {d}"));
            } else {
                lhs_idx.push(idx.to_string());
            }
            scope.push(idx.to_string());
        }
        let name = format!("t{k}");
        let lhs = if kind == 3 || lhs_idx.is_empty() {
            name.clone()
        } else {
            format!("{name}[{}]", lhs_idx.join(", "))
        };
        let rhs = random_expr(rng, &tensors, &scope, &consts, 0);
        s.push_str(&format!("    {lhs} = {rhs};\n"));
        tensors.push((name.clone(), if kind == 3 { 3 } else { kind }, ds));
        last = name;
    }
    if rng.chance(9, 10) {
        s.push_str(&format!("    output {last};\n"));
    }
    if rng.chance(1, 4) {
        let edge: Vec<&String> = tensors.iter().filter(|t| t.1 == 1).map(|t| &t.0).collect();
        if let Some(a) = edge.first() {
            s.push_str(&format!("    attention {a};\n"));
        }
    }
    s.push_str("}\n");
    if rng.chance(1, 4) {
        s = format!(
            "{s}\nmodel net(p = 0.5) {{\n    dims F, K;\n    input x[n: node, f: F];\n    labels y[n: node] classes K;\n    mask m[n: node];\n    h[n, d] = conv1: rnd(x, p = p);\n    out[n, k] = {};\n    loss = cross_entropy(out, y, m);\n    output out;\n}}\n",
            rng.pick(&["conv2: rnd(h)", "h[n, k]", "sum_d h[n, d]", "conv2: rnd(x, slope = -1)"])
        );
    }
    s
}

/// A random expression over `tensors` (name, kind, dense dims) for [`random_program`].
fn random_expr(
    rng: &mut Rng,
    tensors: &[(String, u8, Vec<&str>)],
    scope: &[String],
    consts: &[&str],
    depth: usize,
) -> String {
    let leaf = depth >= 4 || rng.chance(1, 3);
    if leaf {
        return match rng.below(6) {
            0 => rng.pick(&["0", "1", "2.5", "1e-3", "0.5"]).to_string(),
            1 => rng.pick(consts).to_string(),
            2 => rng.pick(&["F", "H", "C"]).to_string(),
            _ => {
                let (name, kind, ds) = rng.pick(tensors);
                let mut idx: Vec<String> = Vec::new();
                match kind {
                    0 => idx.push(rng.pick(&["n", "i", "j"]).to_string()),
                    1 => idx.push(rng.pick(&["i <- j", "j <- i", "i <- i"]).to_string()),
                    _ => {}
                }
                for d in ds {
                    let right = match *d {
                        "F" => "f",
                        "H" => "h",
                        "C" => "c",
                        _ => "d",
                    };
                    if rng.chance(7, 8) {
                        idx.push(right.into());
                    } else if let Some(s) = scope.first() {
                        idx.push(s.clone());
                    }
                }
                if idx.is_empty() || *kind == 3 {
                    name.clone()
                } else {
                    format!("{name}[{}]", idx.join(", "))
                }
            }
        };
    }
    let sub = |rng: &mut Rng| random_expr(rng, tensors, scope, consts, depth + 1);
    match rng.below(14) {
        0 => format!("{} + {}", sub(rng), sub(rng)),
        1 => format!("{} - {}", sub(rng), sub(rng)),
        2 => format!("{} * {}", sub(rng), sub(rng)),
        3 => format!("{} / {}", sub(rng), sub(rng)),
        4 => format!("-{}", sub(rng)),
        5 => format!(
            "({}) ^ {}",
            sub(rng),
            rng.pick(&["2", "-0.5", "0.5", "3", "0", "-1"])
        ),
        6 => format!("{}({})", rng.pick(&table_functions(false)), sub(rng)),
        7 => format!(
            "{}({}, {})",
            rng.pick(&[table_functions(true), vec!["dropout"]].concat()),
            sub(rng),
            rng.pick(&["slope", "0.2", "p", "alpha", "-1"])
        ),
        8 => format!(
            "sum_{} {}",
            rng.pick(&["f", "h", "c", "d", "n", "{h, c}"]),
            sub(rng)
        ),
        9 => format!(
            "mean_{} {}",
            rng.pick(&["f", "h", "c", "{j -> i}"]),
            sub(rng)
        ),
        10 => format!("sum_{{j -> i}} {}", sub(rng)),
        11 => format!("softmax_{} {}", rng.pick(&["j", "{j -> i}", "h"]), sub(rng)),
        12 => format!("({})", sub(rng)),
        _ => format!("{} * ({} + {})", sub(rng), sub(rng), sub(rng)),
    }
}

/// The element-wise functions a `.gat` file may call, from the table: those without a constant
/// argument, or those with one.
pub(crate) fn table_functions(with_arg: bool) -> Vec<&'static str> {
    gatgrad::codegen::primitives::PRIMITIVES
        .iter()
        .filter(|p| p.callable && p.arg.is_some() == with_arg)
        .map(|p| p.name)
        .collect()
}

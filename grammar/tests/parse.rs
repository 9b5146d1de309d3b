//! Parser tests: the language example, precedence, spans, error messages and robustness.

use gatgrad_grammar::ast::*;
use gatgrad_grammar::{parse, Diagnostic, Rendered, Source};
use std::time::Instant;

/// The example of the language reference, without its deliberately wrong line.
const EXAMPLE: &str = r#"// line comments; /* block comments */ too
layer gatv2(slope = 0.2, dropout = 0.0) {     // constants with defaults
    dims F, H, C;
    self_loops;

    input x[n: node, f: F];
    input e[i <- j, d: D];                     // edge-indexed input (edge features)
    param W_l[h: H, c: C, f: F] as "lin_l.weight" [H*C, F];
    param att[h: H, c: C]       as "att"          [1, H, C];
    param beta as "beta";                      /* a scalar parameter */
    labels y[n: node] classes K;
    mask train_mask[n: node];

    xl[n, h, c] = sum_f W_l[h, c, f] * x[n, f] + b_l[h, c];
    z[i <- j, h, c]  = xl[j, h, c] + xr[i, h, c];
    s[i <- j, h]     = sum_c att[h, c] * leaky_relu(z[i <- j, h, c], slope);
    a[i <- j, h]     = softmax_j s[i <- j, h];
    a2[i <- j, h]    = softmax_{j -> i} s[i <- j, h];
    alpha[i <- j, h] = dropout(a[i <- j, h], dropout);
    out[i, h, c] = sum_{j -> i} alpha[i <- j, h] * xl[j, h, c] + bias[h, c];
    m[i, c] = mean_h sum_{j -> i} alpha[i <- j, h] * xl[j, h, c];
    t[n, h: H] = 1.0;                          // lhs index with explicit dim
    q[i, h] = sum_{h2, c} x[i, c] ^ 2 / sqrt(C) - -x[i, h];
    output out;
    attention a;
}
model two_layer(p = 0.6) {
    input x[n: node, f: F];
    labels y[n: node] classes K;
    mask train_mask[n: node];
    h0[n, f] = dropout(x[n, f], p);
    h1[n, d] = conv1: gatv2(h0, dropout = p);
    h2[n, d] = dropout(elu(h1[n, d], 1.0), p);
    out[n, k] = conv2: gatv2_mean(h2, dropout = p, slope = 0.2);
    loss = cross_entropy(out, y, train_mask);
    output out;
}
"#;

fn render(src: &str, diags: &[Diagnostic]) -> String {
    Rendered(diags, &Source::new("test.gat", src)).to_string()
}

fn ok(src: &str) -> File {
    parse(src).unwrap_or_else(|d| panic!("unexpected errors:\n{}", render(src, &d)))
}

fn errors(src: &str) -> Vec<Diagnostic> {
    match parse(src) {
        Ok(f) => panic!("expected errors, parsed {f:#?}"),
        Err(d) => {
            assert!(!d.is_empty());
            d
        }
    }
}

fn text(src: &str, span: Span) -> &str {
    &src[span.start..span.end]
}

/// A compact, fully parenthesised rendering of an expression.
fn show(e: &Expr) -> String {
    fn idx(i: &Index) -> String {
        match i {
            Index::Var(v) => v.name.clone(),
            Index::Edge { target, source, .. } => format!("{}<-{}", target.name, source.name),
        }
    }
    match e {
        Expr::Number(v, _) => format!("{v}"),
        Expr::Name(n) => n.name.clone(),
        Expr::Access { name, indices, .. } => format!(
            "{}[{}]",
            name.name,
            indices.iter().map(idx).collect::<Vec<_>>().join(",")
        ),
        Expr::Binary { op, lhs, rhs, .. } => {
            let op = match op {
                BinOp::Add => "+",
                BinOp::Sub => "-",
                BinOp::Mul => "*",
                BinOp::Div => "/",
            };
            format!("({} {op} {})", show(lhs), show(rhs))
        }
        Expr::Neg(x, _) => format!("(-{})", show(x)),
        Expr::Pow { base, exponent, .. } => format!("({} ^ {exponent})", show(base)),
        Expr::Call { func, args, .. } => format!(
            "{}({})",
            func.name,
            args.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        Expr::Reduce {
            op, binder, body, ..
        } => {
            let op = match op {
                ReduceOp::Sum => "sum",
                ReduceOp::Mean => "mean",
                ReduceOp::Softmax => "softmax",
            };
            let binder = match binder {
                Binder::Vars(v) => v
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                Binder::InEdges { source, target } => match target {
                    Some(t) => format!("{}->{}", source.name, t.name),
                    None => format!("{}->?", source.name),
                },
            };
            format!("({op}_{{{binder}}} {})", show(body))
        }
    }
}

/// The right-hand side of `y = EXPR;` in a layer.
fn rhs(expr: &str) -> Expr {
    let src = format!("layer t {{ y = {expr}; }}");
    let file = ok(&src);
    match &file.blocks[0].stmts[0] {
        Stmt::Equation(eq) => eq.rhs.clone(),
        other => panic!("not an equation: {other:?}"),
    }
}

fn equations(block: &Block) -> Vec<&Equation> {
    block
        .stmts
        .iter()
        .filter_map(|s| match s {
            Stmt::Equation(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn decl<'a>(block: &'a Block, name: &str) -> &'a TensorDecl {
    block
        .stmts
        .iter()
        .find_map(|s| match s {
            Stmt::Tensor(t) if t.name.name == name => Some(t),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no declaration of {name}"))
}

#[test]
fn example_tree_shape() {
    let file = ok(EXAMPLE);
    assert_eq!(file.blocks.len(), 2);
    let layer = &file.blocks[0];
    assert_eq!(layer.kind, BlockKind::Layer);
    assert_eq!(layer.name.name, "gatv2");
    let consts: Vec<_> = layer
        .consts
        .iter()
        .map(|c| (c.name.name.as_str(), c.default))
        .collect();
    assert_eq!(consts, [("slope", 0.2), ("dropout", 0.0)]);
    assert_eq!(text(EXAMPLE, layer.consts[0].span), "slope = 0.2");
    assert!(text(EXAMPLE, layer.span).starts_with("layer gatv2("));
    assert!(text(EXAMPLE, layer.span).ends_with('}'));

    match &layer.stmts[0] {
        Stmt::Dims(d) => assert_eq!(
            d.iter()
                .map(|i| (i.name.name.as_str(), i.default))
                .collect::<Vec<_>>(),
            [("F", None), ("H", None), ("C", None)]
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(&layer.stmts[1], Stmt::SelfLoops(s) if text(EXAMPLE, *s) == "self_loops;"));

    let x = decl(layer, "x");
    assert_eq!(x.kind, TensorKind::Input);
    assert!(
        matches!(&x.axes[..], [AxisDecl::Node(n), AxisDecl::Dense { index, dim }]
        if n.name == "n" && index.name == "f" && dim.name == "F")
    );
    assert_eq!(x.external, None);
    assert_eq!(text(EXAMPLE, x.span), "input x[n: node, f: F];");

    let e = decl(layer, "e");
    assert!(
        matches!(&e.axes[0], AxisDecl::Edge { target, source } if target.name == "i" && source.name == "j")
    );

    let w = decl(layer, "W_l");
    assert_eq!(w.kind, TensorKind::Param);
    assert_eq!(w.axes.len(), 3);
    let ext = w.external.as_ref().unwrap();
    assert_eq!(ext.value, "lin_l.weight");
    assert_eq!(text(EXAMPLE, ext.span), "\"lin_l.weight\"");
    let shape = w.external_shape.as_ref().unwrap();
    let factors: Vec<Vec<&str>> = shape
        .iter()
        .map(|d| d.factors.iter().map(|f| f.name.as_str()).collect())
        .collect();
    assert_eq!(factors, [vec!["H", "C"], vec!["F"]]);
    assert_eq!(text(EXAMPLE, shape[0].span), "H*C");

    let att = decl(layer, "att");
    let att_shape = att.external_shape.as_ref().unwrap();
    assert!(att_shape[0].factors.is_empty(), "`1` has no factors");
    assert_eq!(att_shape.len(), 3);

    let beta = decl(layer, "beta");
    assert!(beta.axes.is_empty());
    assert_eq!(beta.external.as_ref().unwrap().value, "beta");
    assert_eq!(beta.external_shape, None);

    let y = decl(layer, "y");
    assert_eq!(y.kind, TensorKind::Labels);
    assert_eq!(y.classes.as_ref().unwrap().name, "K");
    assert_eq!(decl(layer, "train_mask").kind, TensorKind::Mask);

    let eqs = equations(layer);
    let shown: Vec<(String, String)> = eqs
        .iter()
        .map(|e| (e.name.name.clone(), show(&e.rhs)))
        .collect();
    let expect = [
        ("xl", "((sum_{f} (W_l[h,c,f] * x[n,f])) + b_l[h,c])"),
        ("z", "(xl[j,h,c] + xr[i,h,c])"),
        ("s", "(sum_{c} (att[h,c] * leaky_relu(z[i<-j,h,c], slope)))"),
        ("a", "(softmax_{j->?} s[i<-j,h])"),
        ("a2", "(softmax_{j->i} s[i<-j,h])"),
        ("alpha", "dropout(a[i<-j,h], dropout)"),
        (
            "out",
            "((sum_{j->i} (alpha[i<-j,h] * xl[j,h,c])) + bias[h,c])",
        ),
        ("m", "(mean_{h} (sum_{j->i} (alpha[i<-j,h] * xl[j,h,c])))"),
        ("t", "1"),
        ("q", "((sum_{h2,c} ((x[i,c] ^ 2) / sqrt(C))) - (-x[i,h]))"),
    ];
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(shown, expect);

    // Left-hand sides.
    let z = eqs[1];
    assert!(
        matches!(&z.indices[0].index, Index::Edge { target, source, span }
        if target.name == "i" && source.name == "j" && text(EXAMPLE, *span) == "i <- j")
    );
    let t = eqs.iter().find(|e| e.name.name == "t").unwrap();
    assert_eq!(t.indices[0].dim, None);
    assert_eq!(t.indices[1].dim.as_ref().unwrap().name, "H");
    assert_eq!(text(EXAMPLE, t.span), "t[n, h: H] = 1.0;");

    assert!(matches!(&layer.stmts[layer.stmts.len() - 2], Stmt::Output(o) if o.name.name == "out"));
    assert!(matches!(layer.stmts.last(), Some(Stmt::Attention(a)) if a.name == "a"));

    let model = &file.blocks[1];
    assert_eq!(model.kind, BlockKind::Model);
    assert_eq!(model.name.name, "two_layer");
    let calls: Vec<&LayerCall> = model
        .stmts
        .iter()
        .filter_map(|s| match s {
            Stmt::Call(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2);
    let c1 = calls[0];
    assert_eq!(
        (
            c1.lhs.name.as_str(),
            c1.prefix.name.as_str(),
            c1.layer.name.as_str()
        ),
        ("h1", "conv1", "gatv2")
    );
    assert_eq!(c1.indices.len(), 2);
    assert_eq!(
        c1.inputs
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        ["h0"]
    );
    assert!(
        matches!(&c1.consts[..], [ConstArg { name, value: ConstValue::Name(p) }] if name.name == "dropout" && p.name == "p")
    );
    assert_eq!(
        text(EXAMPLE, c1.span),
        "h1[n, d] = conv1: gatv2(h0, dropout = p);"
    );
    let c2 = calls[1];
    assert_eq!(c2.layer.name, "gatv2_mean");
    assert!(
        matches!(&c2.consts[1].value, ConstValue::Number(v, s) if *v == 0.2 && text(EXAMPLE, *s) == "0.2")
    );

    let loss = model
        .stmts
        .iter()
        .find_map(|s| match s {
            Stmt::Loss(l) => Some(l),
            _ => None,
        })
        .unwrap();
    assert_eq!(loss.name.name, "loss");
    assert_eq!(loss.func.name, "cross_entropy");
    assert_eq!(
        loss.args
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["out", "y", "train_mask"]
    );
    assert_eq!(
        text(EXAMPLE, loss.span),
        "loss = cross_entropy(out, y, train_mask);"
    );

    let h2 = equations(model)
        .into_iter()
        .find(|e| e.name.name == "h2")
        .unwrap();
    assert_eq!(show(&h2.rhs), "dropout(elu(h1[n,d], 1), p)");
}

#[test]
fn example_with_numeric_index_reports_it() {
    let src = EXAMPLE.replace(
        "    output out;\n    attention a;",
        "    total = sum_n x[n, 0];\n    output out;\n    attention a;",
    );
    let d = errors(&src);
    assert_eq!(d.len(), 1, "{}", render(&src, &d));
    assert_eq!(d[0].message, "expected an index like `n`, `h` or `i <- j`");
    assert_eq!(text(&src, d[0].span), "0");
}

#[test]
fn precedence() {
    let cases = [
        ("a + b * c", "(a + (b * c))"),
        ("a - b - c", "((a - b) - c)"),
        ("a / b * c", "((a / b) * c)"),
        ("sum_f W * x + b", "((sum_{f} (W * x)) + b)"),
        ("a * sum_c b * c", "(a * (sum_{c} (b * c)))"),
        ("a * sum_c b * c + d", "((a * (sum_{c} (b * c))) + d)"),
        ("sum_a sum_b x * y", "(sum_{a} (sum_{b} (x * y)))"),
        ("sum_a x * sum_b y * z", "(sum_{a} (x * (sum_{b} (y * z))))"),
        ("-x ^ 2", "(-(x ^ 2))"),
        ("x ^ -0.5", "(x ^ -0.5)"),
        ("x ^ - 2", "(x ^ -2)"),
        ("-a * b", "((-a) * b)"),
        ("a - -b", "(a - (-b))"),
        ("- - a", "(-(-a))"),
        ("-sum_c x * y", "(-(sum_{c} (x * y)))"),
        ("(a + b) * c", "((a + b) * c)"),
        ("(sum_c a) * b", "((sum_{c} a) * b)"),
        ("f(a + b, g(c)) ^ 2", "(f((a + b), g(c)) ^ 2)"),
        ("f()", "f()"),
        (
            "softmax_j s[i <- j, h] * 2",
            "(softmax_{j->?} (s[i<-j,h] * 2))",
        ),
        ("softmax_{j} s[i <- j]", "(softmax_{j->?} s[i<-j])"),
        ("sum_j x[j]", "(sum_{j} x[j])"),
        ("mean_{j -> i} x[j]", "(mean_{j->i} x[j])"),
        ("1e-3 * 2.5E+2", "(0.001 * 250)"),
        ("summary * sum_x x", "(summary * (sum_{x} x))"),
    ];
    for (src, want) in cases {
        assert_eq!(show(&rhs(src)), want, "{src}");
    }
}

#[test]
fn spans_cover_source_text() {
    let src = "layer t { y[i, h] = (a[i <- j, h] + 2) * sum_c w[c] ^ 2 - -b; }";
    let file = ok(src);
    let Stmt::Equation(eq) = &file.blocks[0].stmts[0] else {
        panic!()
    };
    assert_eq!(
        text(src, eq.span),
        "y[i, h] = (a[i <- j, h] + 2) * sum_c w[c] ^ 2 - -b;"
    );
    let Expr::Binary { lhs, rhs, span, .. } = &eq.rhs else {
        panic!()
    };
    assert_eq!(text(src, *span), "(a[i <- j, h] + 2) * sum_c w[c] ^ 2 - -b");
    assert_eq!(text(src, rhs.span()), "-b");
    let Expr::Binary {
        lhs: paren,
        rhs: red,
        span,
        ..
    } = &**lhs
    else {
        panic!()
    };
    assert_eq!(text(src, *span), "(a[i <- j, h] + 2) * sum_c w[c] ^ 2");
    assert_eq!(text(src, paren.span()), "a[i <- j, h] + 2");
    assert_eq!(text(src, red.span()), "sum_c w[c] ^ 2");
    let Expr::Reduce { body, .. } = &**red else {
        panic!()
    };
    assert_eq!(text(src, body.span()), "w[c] ^ 2");
    let Expr::Binary { lhs: access, .. } = &**paren else {
        panic!()
    };
    let Expr::Access { indices, .. } = &**access else {
        panic!()
    };
    assert_eq!(text(src, indices[0].span()), "i <- j");
    assert_eq!(text(src, access.span()), "a[i <- j, h]");
}

#[test]
fn accepted_variants() {
    // Empty and missing constant lists, negative defaults, comments everywhere, scalar lhs.
    let src = "layer a() { } layer b { } model c(lr = -1e-2, k = 3) {
        /* a */ x /* b */ [ /* c */ n /* d */ ] = // e
            y[n] ; // f
        s = 2;
        loss = cross_entropy(out, y, m);
        l2 = cross_entropy(out[n], y);
    }";
    let file = ok(src);
    assert_eq!(file.blocks.len(), 3);
    assert!(file.blocks[0].consts.is_empty() && file.blocks[1].consts.is_empty());
    assert_eq!(file.blocks[2].consts[0].default, -1e-2);
    let stmts = &file.blocks[2].stmts;
    assert!(matches!(&stmts[0], Stmt::Equation(e) if e.name.name == "x" && e.indices.len() == 1));
    assert!(matches!(&stmts[1], Stmt::Equation(e) if e.indices.is_empty()));
    assert!(matches!(&stmts[2], Stmt::Loss(_)));
    // Not a loss statement: the arguments are not bare names, so it is a call expression.
    assert!(
        matches!(&stmts[3], Stmt::Equation(e) if matches!(&e.rhs, Expr::Call { func, .. } if func.name == "cross_entropy"))
    );
    // Names may contain keywords and digits as long as they are not keywords themselves.
    ok("layer t { summary[n] = nodes[n] + input2[n] + as_[n] + means[n] + x_sum_[n]; }");
    // A byte-order mark and CRLF line ends.
    ok("\u{feff}layer t {\r\n  y = 1;\r\n}\r\n");
    // An empty file has no blocks.
    assert!(ok("").blocks.is_empty());
    assert!(ok("  // only a comment").blocks.is_empty());
}

/// The message and the offending text of each error.
fn messages(src: &str) -> Vec<(String, String)> {
    errors(src)
        .iter()
        .map(|d| (d.message.clone(), text(src, d.span).to_string()))
        .collect()
}

#[test]
fn errors_are_readable() {
    let m = |s: &str| messages(s);
    let one = |s: &str| {
        let v = messages(s);
        assert_eq!(v.len(), 1, "{s}: {v:?}");
        v.into_iter().next().unwrap()
    };
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());

    // Missing `;` at the end of a line: zero-width caret after the last token, and the next
    // statement is still parsed (its error is reported too).
    let v = m("layer a {\n  x[n] = y[n]\n  z[n] = w[n] + ;\n}");
    assert_eq!(
        v,
        [
            pair("expected `;` after the equation", ""),
            pair("expected an expression", ";")
        ]
    );
    assert_eq!(
        one("layer a { x[n] = y[n] z[n]; }"),
        pair("expected `;` after the equation", "z")
    );
    assert_eq!(
        one("layer a { x[n] = y[n] }"),
        pair("expected `;` after the equation", "}")
    );
    assert_eq!(
        one("model a { h[n, d] = c: g(x) }"),
        pair("expected `;` after the layer call", "}")
    );
    assert_eq!(
        one("model a { loss = cross_entropy(a, b, c) }"),
        pair("expected `;` after the loss", "}")
    );
    assert_eq!(
        one("layer a { param W[h: H] as \"w\" x; }"),
        pair("expected `;` after the declaration", "x")
    );
    assert_eq!(
        one("layer a { dims F G; }"),
        pair("expected `,` or `;` in the `dims` list", "G")
    );

    assert_eq!(
        one("layer a { y = x[n, 0]; }"),
        pair("expected an index like `n`, `h` or `i <- j`", "0")
    );
    assert_eq!(
        one("layer a { y = x[]; }"),
        pair("expected an index like `n`, `h` or `i <- j`", "]")
    );
    assert_eq!(
        one("layer a { y[i <- ] = 1; }"),
        pair("expected the source index after `<-`, like `i <- j`", "]")
    );
    assert_eq!(one("layer a { y = exp(x)); }"), pair("unexpected `)`", ")"));
    assert_eq!(one("layer a { y = exp(x]; }"), pair("unexpected `]`", "]"));
    assert_eq!(
        one("layer a { y = exp(x; }"),
        pair("expected `,` or `)`", ";")
    );
    assert_eq!(
        one("layer a { y = x * ; }"),
        pair("expected an expression", ";")
    );
    assert_eq!(
        one("layer a { y = x ^ p; }"),
        pair("expected a number after `^`", "p")
    );
    assert_eq!(
        one("layer a { y = 1e999; }"),
        pair("number out of range", "1e999")
    );
    assert_eq!(
        one("layer a { y = x ^ 1e400; }"),
        pair("number out of range", "1e400")
    );
    assert_eq!(
        one("layer a(s = 1e999) { }"),
        pair("number out of range", "1e999")
    );
    assert_eq!(
        one("layer a { y = sum_ c x; }"),
        pair(
            "expected the index to reduce over right after `sum_`",
            "sum_"
        )
    );
    assert_eq!(one("layer a { y = sum x; }").1, "sum");
    assert_eq!(
        one("layer a { y = sum_x; }"),
        pair("expected an expression", ";")
    );
    assert_eq!(one("layer a { y = sum_{} x; }").1, "}");
    assert_eq!(
        one("layer a { y = softmax_{h, c} x; }"),
        pair("softmax over several indices", "{h, c}")
    );
    assert_eq!(
        one("layer a { sum_total = 1; }"),
        pair("`sum_total` cannot be used as a name", "sum_total")
    );
    assert_eq!(
        one("layer a { y = node; }"),
        pair(
            "`node` is a reserved word and cannot be used as a name",
            "node"
        )
    );
    assert_eq!(
        one("layer a { input x[n]; }"),
        pair(
            "incomplete axis: expected `: node`, `: DIM` or `<- SOURCE`",
            "]"
        )
    );
    assert_eq!(one("layer a { 42; }"), pair("expected a statement", "42"));
    assert_eq!(one("layer a { y = 1; } }"), pair("unexpected `}`", "}"));
    assert_eq!(
        one("x = 1;"),
        pair("expected `layer`, `model` or `use`", "x")
    );
    assert_eq!(
        one("layer a { y = \"s; }"),
        pair("unterminated string: missing closing `\"`", "\"s; }")
    );
    assert_eq!(
        one("layer a { /* y = 1; }"),
        pair("unterminated block comment: missing `*/`", "/*")
    );
    assert_eq!(one("layer a(slope) { }"), pair("expected `=`", ")"));
    assert_eq!(
        one("layer a { y = x ^ 2 ^ 3; }"),
        pair("powers do not chain", "^")
    );
    assert_eq!(one("layer a { y = 1. * x; }"), pair("unexpected `.`", "."));
    assert_eq!(one("layer a { y = .5 * x; }"), pair("unexpected `.`", "."));
    assert_eq!(one("layer a { param W as \"w\" [2, H]; }").1, "2");
    assert_eq!(
        one("model m { h[n, d] = c: g(dropout = p, x); }"),
        pair("input after a constant argument", "x")
    );
    assert_eq!(
        one("model m { h[n, d] = c: g(x, dropout = ); }"),
        pair("expected a number or a constant name", ")")
    );

    // Unterminated blocks: at the end of input (zero width) and before the next block.
    assert_eq!(
        one("layer a {\n  y = 1;\n"),
        pair("unterminated block: missing `}`", "")
    );
    assert_eq!(
        one("layer a {\n  y = 1;\nmodel b { }"),
        pair("unterminated block: missing `}`", "model")
    );
}

#[test]
fn several_errors_are_reported() {
    let src = "layer a(s = ) {
    y[n] = x[n, 0];
    z[n] = (x[n];
    w = 1e999;
    ok[n] = x[n];
    v = exp(x));
}
layer b {
    u[n] = +;
}
stray
model c { o = 1; }
";
    let v = messages(src);
    let msgs: Vec<&str> = v.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "expected a number",
            "expected an index like `n`, `h` or `i <- j`",
            "expected `)`",
            "number out of range",
            "unexpected `)`",
            "expected an expression",
            "expected `layer`, `model` or `use`",
        ],
        "{v:?}"
    );
}

#[test]
fn error_count_is_capped_and_parsing_stays_linear() {
    let src = format!("layer a {{{}\n}}", "\n  a = b".repeat(50_000));
    let start = Instant::now();
    let d = errors(&src);
    assert_eq!(d.len(), 101);
    assert_eq!(d[100].message, "too many syntax errors");
    assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
    // Recovery after each of many broken statements.
    let src = format!("layer a {{{}}}", " x = );".repeat(50_000));
    assert_eq!(errors(&src).len(), 101);
}

#[test]
fn zero_width_spans_render_a_caret() {
    for src in [
        "layer a {",
        "layer a {\n  y = x\n",
        "layer a { y = x[",
        "layer",
    ] {
        let d = errors(src);
        let out = render(src, &d);
        assert!(out.contains('^'), "{out}");
        for diag in &d {
            assert!(diag.span.end <= src.len());
        }
    }
}

#[test]
fn messages_never_show_rule_names() {
    let bad = [
        "index_name",
        "binder_name",
        "dim_name",
        "lbrack",
        "rbrack",
        "lparen",
        "rparen",
        "semi",
        "_stmt",
        "equation",
        "EOI",
        "SOI",
        "Rule",
        "signed_number",
        "reduce_op",
        "unary",
        "WHITESPACE",
    ];
    let sources = [
        "layer",
        "layer a",
        "layer a(",
        "layer a(x",
        "layer a(x =",
        "layer a { input",
        "layer a { input x[",
        "layer a { input x[n:",
        "layer a { param x as",
        "layer a { param x as \"x\" [",
        "layer a { labels y[n: node] classes",
        "layer a { y[",
        "layer a { y[n",
        "layer a { y[n:",
        "layer a { y =",
        "layer a { y = sum_{",
        "layer a { y = sum_{a ->",
        "layer a { y = f(",
        "layer a { y = x ^",
        "layer a { y = c:",
        "layer a { y = c: g(",
        "layer a { y = c: g(x, k =",
        "layer a { dims",
        "layer a { output",
        "layer a { self_loops",
        "layer a { loss = cross_entropy(",
    ];
    for src in sources {
        let d = errors(src);
        for diag in &d {
            let all = format!(
                "{} {} {}",
                diag.message,
                diag.label,
                diag.help.clone().unwrap_or_default()
            );
            for word in bad {
                assert!(!all.contains(word), "{src:?}: {all}");
            }
        }
    }
}

/// A tiny xorshift generator: deterministic, no dependencies.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Checks the invariants every result must satisfy, and renders every diagnostic.
fn check(src: &str) {
    if let Err(d) = parse(src) {
        assert!(!d.is_empty());
        for diag in &d {
            assert!(
                diag.span.start <= diag.span.end && diag.span.end <= src.len(),
                "{src:?} {diag:?}"
            );
            assert!(src.is_char_boundary(diag.span.start) && src.is_char_boundary(diag.span.end));
            assert!(!diag.message.is_empty());
        }
        let _ = render(src, &d);
    }
}

#[test]
fn mutations_never_panic() {
    const PIECES: [&str; 24] = [
        "(", ")", "[", "]", "{", "}", ";", ",", ":", "=", "<-", "->", "-", "^", "*", "sum_", "\"",
        "/*", "//", "\n", "é", "\u{0}", "layer", "1e999",
    ];
    let start = Instant::now();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let chars: Vec<char> = EXAMPLE.chars().collect();
    for _ in 0..2000 {
        let mut text = chars.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(text.len() + 1);
            match rng.below(3) {
                0 if at < text.len() => {
                    let len = 1 + rng.below(8);
                    text.drain(at..(at + len).min(text.len()));
                }
                1 => {
                    let piece = PIECES[rng.below(PIECES.len())];
                    for (k, c) in piece.chars().enumerate() {
                        text.insert(at + k, c);
                    }
                }
                _ if at < text.len() => {
                    let c = char::from_u32(rng.below(0x3000) as u32).unwrap_or('?');
                    text[at] = c;
                }
                _ => {}
            }
        }
        let src: String = text.into_iter().collect();
        check(&src);
    }
    let elapsed = start.elapsed();
    assert!(elapsed.as_secs() < 30, "2000 mutations took {elapsed:?}");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = XorShift(12345);
    for len in [0usize, 1, 2, 3, 10, 100, 1000] {
        for _ in 0..50 {
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            check(&String::from_utf8_lossy(&bytes));
            // Bytes drawn from the language's own alphabet hit more of the grammar.
            const ALPHA: &[u8] = b"layer model {}()[];,:=<->+-*/^ sum_ 01e9. \"x\n";
            let s: Vec<u8> = (0..len).map(|_| ALPHA[rng.below(ALPHA.len())]).collect();
            check(&String::from_utf8_lossy(&s));
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let wrap = |open: &str, close: &str, n: usize| {
        format!("layer a {{ y = {}x{}; }}", open.repeat(n), close.repeat(n))
    };
    // Within the limit.
    ok(&wrap("(", ")", 60));
    ok(&wrap("exp(", ")", 60));
    ok(&wrap("-", "", 60));
    ok(&wrap("sum_c ", "", 60));
    // Over it, a little and a lot.
    for n in [65, 1000, 100_000] {
        for (open, close) in [
            ("(", ")"),
            ("f(", ")"),
            ("-", ""),
            ("sum_c ", ""),
            ("- sum_c (", ")"),
        ] {
            let src = wrap(open, close, n);
            let d = errors(&src);
            assert_eq!(d.len(), 1);
            assert_eq!(d[0].message, "expression nested too deeply");
        }
    }
    // Long flat chains are fine up to the operator limit, then an error.
    ok(&format!("layer a {{ y = x{}; }}", " + x".repeat(900)));
    let d = errors(&format!("layer a {{ y = x{}; }}", " * x".repeat(100_000)));
    assert_eq!(d[0].message, "statement too long");
    // Deep brackets outside expressions are skipped without recursion.
    check(&"{".repeat(100_000));
    check(&format!("layer a {{ {} }}", "[".repeat(100_000)));
    check(&format!("layer a({}) {{ }}", "(".repeat(100_000)));
}

#[test]
fn fixtures_have_one_or_two_errors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/syntax");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("gat") {
            continue;
        }
        count += 1;
        let src = std::fs::read_to_string(&path).unwrap();
        assert!(
            src.starts_with("// "),
            "{}: no comment at the top",
            path.display()
        );
        let d = errors(&src);
        assert!(
            (1..=2).contains(&d.len()),
            "{}:\n{}",
            path.display(),
            render(&src, &d)
        );
    }
    assert!((8..=14).contains(&count), "{count} fixtures");
}

#[test]
fn documented_examples_parse() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/language.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let mut blocks = 0;
    // Odd chunks are inside fences. Fences marked `text` hold schematics; the others, when they are
    // whole blocks, must parse.
    for chunk in doc.split("```").skip(1).step_by(2) {
        if chunk.starts_with("text") {
            continue;
        }
        let code = chunk.trim();
        let whole =
            code.starts_with("layer ") || code.starts_with("model ") || code.starts_with("// ");
        if whole && code.contains('{') {
            ok(code);
            blocks += 1;
        }
    }
    assert!(blocks >= 2, "{blocks} examples found");
}

#[test]
fn dims_take_default_sizes() {
    let f = ok("layer l() { dims F, H = 4, C = 1; input x[n: node, f: F]; y[n] = sum_f x[n, f]; output y; }");
    match &f.blocks[0].stmts[0] {
        Stmt::Dims(d) => assert_eq!(
            d.iter()
                .map(|i| (i.name.name.as_str(), i.default))
                .collect::<Vec<_>>(),
            [("F", None), ("H", Some(4)), ("C", Some(1))]
        ),
        other => panic!("{other:?}"),
    }
    for bad in ["0", "1.5", "1e3"] {
        let src = format!("layer l() {{ dims H = {bad}; }}");
        let d = errors(&src);
        let shown = render(&src, &d);
        assert!(shown.contains("invalid default size"), "{shown}");
        assert!(shown.contains("1:22"), "{shown}");
    }
}

//! Dimension sizes: solved from tensor shapes, from `--dim` hints, or from a declared default
//! (`dims H = 2`) when neither can fix them.

use gatgrad::runtime::Tensor;
use gatgrad::shapes::{solve_dims, Data};

const LAYER: &str = "layer l() {
    dims F, H = 2, C;
    input x[n: node, f: F];
    param W[h: H, c: C, f: F] as \"lin.weight\" [H*C, F];
    y[n, h, c] = sum_f W[h, c, f] * x[n, f];
    output y;
}";

fn sizes(hints: &[(&str, usize)]) -> Vec<(String, usize)> {
    let p = gatgrad::compile("dims.gat", LAYER).unwrap().program;
    let mut data = Data {
        num_nodes: 3,
        ..Data::default()
    };
    let t = |shape: Vec<usize>| Tensor {
        data: vec![0.5; shape.iter().product()],
        shape,
    };
    data.reals.insert("x".into(), t(vec![3, 5]));
    data.reals.insert("param.lin.weight".into(), t(vec![12, 5]));
    for (k, v) in hints {
        data.dims.insert(k.to_string(), *v);
    }
    let dims = solve_dims(&p, &data, &[0]).unwrap();
    p.dims.iter().map(|d| d.name.clone()).zip(dims).collect()
}

#[test]
fn a_declared_default_fixes_what_the_shapes_cannot() {
    let want = |h: usize| vec![("F".into(), 5), ("H".into(), h), ("C".into(), 12 / h)];
    assert_eq!(sizes(&[]), want(2));
    // A hint wins over the default.
    assert_eq!(sizes(&[("H", 4)]), want(4));
    assert_eq!(sizes(&[("C", 2)]), want(6));
}

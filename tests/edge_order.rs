//! Edge tensors are stored in target order inside a bound program; data goes in and comes out in
//! PyG's edge order. Checked by hand on a graph whose edges are not sorted by target, with edge
//! features filled for the self loops as PyG's `fill_value='mean'` does.

use gatgrad::interp::Interpreter;
use gatgrad::runtime::Tensor;
use gatgrad::shapes::Data;

const LAYER: &str = "
layer weighted() {
    dims F, D;
    self_loops;
    input x[n: node, f: F];
    input e[i <- j, d: D];
    param w[d: D];
    out[i, f] = sum_{j -> i} (sum_d w[d] * e[i <- j, d]) * x[j, f];
    output out;
}
";

fn real(shape: Vec<usize>, data: Vec<f64>) -> Tensor<f64> {
    Tensor { shape, data }
}

#[test]
fn edge_features_and_their_gradient_keep_pyg_order() {
    let p = gatgrad::compile("weighted.gat", LAYER).unwrap().program;
    // PyG order: 2→0, 1→0, 0→2, 1→1 (dropped by the self-loop rule), 0→1.
    let mut data = Data {
        num_nodes: 3,
        src: vec![2, 1, 0, 1, 0],
        dst: vec![0, 0, 2, 1, 1],
        ..Default::default()
    };
    data.reals
        .insert("x".into(), real(vec![3, 1], vec![10.0, 100.0, 1000.0]));
    data.reals
        .insert("e".into(), real(vec![5, 1], vec![1.0, 2.0, 3.0, 4.0, 5.0]));
    data.reals
        .insert("param.w".into(), real(vec![1], vec![1.0]));
    let mut it: Interpreter<f64> = Interpreter::new(&p, &data).unwrap();
    it.set(p.seed.unwrap(), vec![1.0; 3]).unwrap();
    it.forward();
    it.backward();
    // Loops get the mean feature of the node's other in-edges: 1.5, 5 and 3.
    let out = it.value(p.output).unwrap();
    assert_eq!(out, &[1000.0 + 200.0 + 15.0, 50.0 + 500.0, 30.0 + 3000.0]);
    let e = p.find_tensor("e").unwrap();
    let grad = p.grads.iter().find(|(l, _)| *l == e).unwrap().1;
    let stored = it.value(grad).unwrap();
    // d e = x[src] plus the loop's share of the mean; the dropped self loop gets nothing.
    let pyg = it.bound.to_pyg_order(&p, grad, stored);
    assert_eq!(pyg, vec![1005.0, 105.0, 1010.0, 0.0, 110.0]);
}

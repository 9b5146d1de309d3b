// A valid inline layer: the attribute implements `Generated`, whose forward and backward run.

use gatgrad::exec::{Generated, Session};
use gatgrad::runtime::random_graph;
use gatgrad::synth::{dim_sizes, random_data};

#[gatgrad::derive_gradients(source = "
layer neighbour_average() {
    dims F, C;
    input x[n: node, f: F];
    param W[c: C, f: F] as \"lin.weight\" [C, F];
    h[n, c] = sum_f W[c, f] * x[n, f];
    out[i, c] = mean_{j -> i} tanh(h[j, c]);
    output out;
}
")]
pub struct MeanNeighbours;

fn main() {
    assert!(MeanNeighbours::EQUATIONS.contains("out"));
    let p = MeanNeighbours::program();
    let graph = random_graph(5, 8, 1);
    let dims = dim_sizes(&p, |_| 3);
    let data = random_data(&p, &graph, &dims, 1);
    let mut s = Session::<f64>::new(p.clone(), &data, MeanNeighbours::NUM_TENSORS).unwrap();
    s.forward::<MeanNeighbours>();
    let seed = vec![1.0; s.value(p.output).len()];
    s.backward::<MeanNeighbours>(Some(&seed));
    assert_eq!(p.grads.len(), 2);
}

//! The results of a run of generated code in the layout PyG and the reference files use: `out`,
//! the attention `alpha` with the edge index it belongs to, and the gradient of every
//! differentiable leaf under its external name, edge tensors in PyG's edge order. For callers
//! that hand tensors over in memory (the Python extension); [`crate::cases`] writes the same
//! layout to files from the interpreter.

use crate::bound::Bound;
use crate::exec::Session;
use gatgrad_codegen::ir::{Domain, Program, TensorId};
use gatgrad_runtime::kernels::Float;

/// The shape of tensor `t` as PyG stores it: a parameter's declared external shape
/// (`[H*C, F]`), a node or edge tensor's graph axis then its dense axes flattened.
pub fn pyg_shape(p: &Program, b: &Bound, t: TensorId) -> Vec<usize> {
    let tensor = p.tensor(t);
    let natural = b.shape(p, t);
    match (&tensor.external_shape, tensor.domain) {
        (Some(groups), Domain::Dense) => groups
            .iter()
            .map(|g| g.iter().map(|d| b.dims[d.index()]).product())
            .collect(),
        (_, Domain::Dense) => natural,
        _ => vec![natural[0], natural[1..].iter().product()],
    }
}

/// Tensor `t` of a session in PyG's layout and edge order, with its [`pyg_shape`].
pub fn pyg_value<T: Float>(s: &Session<T>, t: TensorId) -> (Vec<usize>, Vec<T>) {
    let dense = s.dense_value(t);
    (
        pyg_shape(&s.program, &s.bound, t),
        s.bound.to_pyg_order(&s.program, t, &dense),
    )
}

/// The attention tensor with the edge index it is over (`[2, E]`, sources then targets, in
/// PyG's order: the given edges, or those of the graph PyG builds with its self loops), if the
/// program declares one on a graph.
pub fn attention<T: Float>(s: &Session<T>) -> Option<(Vec<usize>, Vec<T>, Vec<i64>)> {
    let a = s.program.attention?;
    let Domain::Edge(g) = s.program.tensor(a).domain else {
        return None;
    };
    let (shape, values) = pyg_value(s, a);
    let graph = &s.bound.graphs[g.index()];
    let origin = s.bound.edge_origin(g);
    let e = graph.num_edges();
    let mut edge_index = vec![0i64; 2 * e];
    for (k, &o) in origin.iter().enumerate() {
        edge_index[o as usize] = graph.src(k) as i64;
        edge_index[e + o as usize] = graph.dst(k) as i64;
    }
    Some((shape, values, edge_index))
}

/// The gradient of every differentiable leaf (inputs and parameters), by external name, after a
/// backward pass; a leaf with no path to the output gets zeros, as autograd reports it. Consumes
/// the session: a gradient stored in PyG's layout already is moved out, not copied.
pub fn gradients<T: Float>(mut s: Session<T>) -> Vec<(String, Vec<usize>, Vec<T>)> {
    let leaves: Vec<TensorId> = s.program.leaves().collect();
    leaves
        .into_iter()
        .map(|leaf| {
            let p = &s.program;
            let name = p.tensor(leaf).external.clone();
            let shape = pyg_shape(p, &s.bound, leaf);
            match p.grads.iter().find(|(l, _)| *l == leaf).map(|(_, g)| *g) {
                Some(g) => {
                    let values = take_pyg_value(&mut s, g);
                    (name, shape, values)
                }
                None => {
                    let len = shape.iter().product();
                    (name, shape, vec![T::ZERO; len])
                }
            }
        })
        .collect()
}

/// Tensor `t` in PyG's layout and edge order: moved out of the session when it is stored that way
/// (a dense node or parameter tensor), else a reordered copy.
fn take_pyg_value<T: Float>(s: &mut Session<T>, t: TensorId) -> Vec<T> {
    let stored_as_pyg =
        !s.bound.sparse.contains_key(&t) && !matches!(s.program.tensor(t).domain, Domain::Edge(_));
    if stored_as_pyg {
        std::mem::take(&mut s.values[t.index()])
    } else {
        pyg_value(s, t).1
    }
}

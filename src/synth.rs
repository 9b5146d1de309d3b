//! Random data for any program: seeded values for every input, parameter, label and mask, shaped
//! for chosen dimension sizes. Used by the finite-difference tests and the benchmarks.

use crate::shapes::{file_name, Data};
use gatgrad_codegen::facts::Facts;
use gatgrad_codegen::ir::*;
use gatgrad_runtime::{Graph, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a free dimension is for, as [`Facts`] tells it (see [`dim_sizes_by_role`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DimRole {
    /// The input's feature width.
    Features,
    /// The class count.
    Classes,
    /// The heads of a layer instance (`output`: of the layer whose output is the program's).
    Heads {
        /// True for the output layer.
        output: bool,
    },
    /// The channels per head of a layer instance.
    Channels {
        /// True for the output layer.
        output: bool,
    },
    /// The feature width of an edge input (PyG's `edge_dim`).
    EdgeFeatures,
    /// Anything else.
    Other,
}

/// Sizes for every dimension: `size(role)` for each free dimension, by its role in the program
/// (the first role found wins: the input width before a layer's channels that equal it), products
/// computed.
pub fn dim_sizes_by_role(p: &Program, f: &Facts, size: impl Fn(DimRole) -> usize) -> Vec<usize> {
    let mut roles: Vec<(DimId, DimRole)> = Vec::new();
    let mut put = |d: DimId, r: DimRole| {
        let d = p.dim_root(d);
        if !roles.iter().any(|(x, _)| *x == d) {
            roles.push((d, r));
        }
    };
    if let Some(d) = f.features {
        put(d, DimRole::Features);
    }
    if let Some(d) = f.classes {
        put(d, DimRole::Classes);
    }
    for (k, l) in f.layers.iter().enumerate() {
        let output = f.output_layer == Some(k);
        for h in &l.heads {
            put(*h, DimRole::Heads { output });
        }
        for c in &l.channels {
            put(*c, DimRole::Channels { output });
        }
    }
    for t in &p.tensors {
        if t.role == Role::Input && matches!(t.domain, Domain::Edge(_)) {
            for d in &t.dims {
                put(*d, DimRole::EdgeFeatures);
            }
        }
    }
    sizes(p, |root| {
        size(
            roles
                .iter()
                .find(|(d, _)| *d == root)
                .map_or(DimRole::Other, |(_, r)| *r),
        )
    })
}

/// Sizes for every dimension: `size(name)` for each free dimension (by its unprefixed name, e.g.
/// `H`), products computed.
pub fn dim_sizes(p: &Program, size: impl Fn(&str) -> usize) -> Vec<usize> {
    sizes(p, |root| {
        let name = &p.dims[root.index()].name;
        size(name.rsplit('.').next().unwrap_or(name))
    })
}

/// Sizes for every dimension from `size(root)` for each free dimension's representative, products
/// computed.
fn sizes(p: &Program, size: impl Fn(DimId) -> usize) -> Vec<usize> {
    let mut out = vec![0usize; p.dims.len()];
    let is_product: Vec<bool> = (0..p.dims.len())
        .map(|d| {
            let root = p.dim_root(DimId(d as u32));
            p.dim_products.iter().any(|(x, _)| p.dim_root(*x) == root)
        })
        .collect();
    for (d, slot) in out.iter_mut().enumerate() {
        let root = p.dim_root(DimId(d as u32));
        if !is_product[root.index()] {
            *slot = size(root);
        }
    }
    for _ in 0..p.dims.len() {
        for (x, parts) in &p.dim_products {
            let v: usize = parts.iter().map(|d| out[p.dim_root(*d).index()]).product();
            let root = p.dim_root(*x);
            for (d, slot) in out.iter_mut().enumerate() {
                if p.dim_root(DimId(d as u32)) == root {
                    *slot = v;
                }
            }
        }
    }
    out
}

/// Random data for `p` on `graph` with the given dimension sizes (see [`dim_sizes`]).
pub fn random_data(p: &Program, graph: &Graph, dims: &[usize], seed: u64) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = graph.num_nodes();
    let mut data = Data {
        num_nodes: n,
        src: graph.sources().to_vec(),
        dst: graph.targets().to_vec(),
        ..Data::default()
    };
    for (k, d) in p.dims.iter().enumerate() {
        let root = p.dim_root(DimId(k as u32));
        let product = p.dim_products.iter().any(|(x, _)| p.dim_root(*x) == root);
        if root.index() == k && !product {
            data.dims.insert(d.name.clone(), dims[k]);
        }
    }
    for t in &p.tensors {
        let name = file_name(t);
        let dense: Vec<usize> = t.dims.iter().map(|d| dims[d.index()]).collect();
        match &t.role {
            Role::Input | Role::Param => {
                let mut shape = match &t.external_shape {
                    Some(g) => g
                        .iter()
                        .map(|g| g.iter().map(|d| dims[d.index()]).product())
                        .collect(),
                    None => dense.clone(),
                };
                match t.domain {
                    Domain::Dense => {}
                    Domain::Node => shape.insert(0, n),
                    Domain::Edge(_) => shape.insert(0, graph.num_edges()),
                }
                let len = shape.iter().product();
                let data_v: Vec<f64> = (0..len).map(|_| rng.gen_range(-1.0..1.0)).collect();
                data.reals.insert(
                    name,
                    Tensor {
                        shape,
                        data: data_v,
                    },
                );
            }
            Role::Labels { classes } => {
                let k = dims[classes.index()].max(1);
                data.labels
                    .insert(name, (0..n).map(|_| rng.gen_range(0..k) as i64).collect());
            }
            Role::Mask => {
                let mut m: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.6)).collect();
                m[0] = true;
                data.masks.insert(name, m);
            }
            _ => {}
        }
    }
    data
}

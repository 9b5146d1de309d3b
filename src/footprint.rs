//! The memory a program bound to data will take, computed from solved dimension sizes before
//! anything is allocated, and checked against what the machine has
//! ([`gatgrad_runtime::memory`]) once for the whole run.
//!
//! The estimate is an upper bound: every tensor of the program (forward values and gradients) in
//! the precision of the run, except, for generated code, the tensors its schedule never stores
//! ([`Footprint::of_generated`]); the f64 copies of the given tensors a
//! [`Bound`](crate::bound::Bound) holds; and the graphs with their target-order copies.

use gatgrad_codegen::ir::*;
use gatgrad_runtime::{memory, DataError, Graph};
use std::collections::HashSet;

/// What a bound program allocates, in elements and bytes (all saturating: a size that overflows
/// is one no machine has).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Elements of all tensors, stored in the run's precision.
    pub elements: u128,
    /// Elements of the given tensors (inputs, parameters, masks, dropout masks), of which a bound
    /// program keeps an f64 copy.
    pub given: u128,
    /// Elements of the parameters.
    pub params: u128,
    /// Bytes of the graphs: the raw one and each graph variant in target order.
    pub graph_bytes: u128,
    /// The largest tensor and its element count.
    pub largest: Option<(TensorId, u128)>,
}

impl Footprint {
    /// The footprint of `p` evaluated by the interpreter (which stores every tensor) with
    /// dimension sizes `dims` on `num_nodes` nodes, with `num_edges[g]` edges in graph variant `g`
    /// (missing variants count as no edges).
    pub fn of(p: &Program, dims: &[usize], num_nodes: usize, num_edges: &[usize]) -> Footprint {
        Footprint::count(p, dims, num_nodes, num_edges, &HashSet::new())
    }

    /// [`Footprint::of`] for generated code, which never stores the tensors its schedule inlines
    /// (edge tensors with two or more dense axes, such as `z[i <- j, h, c]`).
    pub fn of_generated(
        p: &Program,
        dims: &[usize],
        num_nodes: usize,
        num_edges: &[usize],
    ) -> Footprint {
        let inlined = gatgrad_codegen::plan::schedule::schedule(p).inlined;
        Footprint::count(p, dims, num_nodes, num_edges, &inlined)
    }

    fn count(
        p: &Program,
        dims: &[usize],
        num_nodes: usize,
        num_edges: &[usize],
        unstored: &HashSet<TensorId>,
    ) -> Footprint {
        let mut f = Footprint::default();
        for (k, t) in p.tensors.iter().enumerate() {
            if unstored.contains(&TensorId(k as u32)) {
                continue;
            }
            let n = elements(t, dims, num_nodes, num_edges);
            f.elements = f.elements.saturating_add(n);
            if matches!(
                t.role,
                Role::Input | Role::Param | Role::Mask | Role::Dropout { .. }
            ) {
                f.given = f.given.saturating_add(n);
            }
            if t.role == Role::Param {
                f.params = f.params.saturating_add(n);
            }
            if f.largest.map_or(true, |(_, m)| n > m) {
                f.largest = Some((TensorId(k as u32), n));
            }
        }
        // The graph as given: the raw variant's edges (a program with only a self-loop variant
        // has at most as many).
        let raw = p
            .graphs
            .iter()
            .position(|g| *g == GraphKind::Raw)
            .and_then(|g| num_edges.get(g))
            .or(num_edges.iter().max())
            .copied()
            .unwrap_or(0);
        f.graph_bytes = Graph::bytes(num_nodes, raw);
        for g in 0..p.graphs.len() {
            let e = num_edges.get(g).copied().unwrap_or(0);
            // The variant's graph and the original id of each of its edges.
            f.graph_bytes = f
                .graph_bytes
                .saturating_add(Graph::bytes(num_nodes, e))
                .saturating_add(4 * e as u128);
        }
        f
    }

    /// Bytes of a bound program computing in floats of `elem_bytes`: every tensor, plus the f64
    /// copies of the given tensors, plus the graphs.
    pub fn bytes(&self, elem_bytes: usize) -> u128 {
        self.elements
            .saturating_mul(elem_bytes as u128)
            .saturating_add(self.given.saturating_mul(8))
            .saturating_add(self.graph_bytes)
    }

    /// Errors unless [`bytes`](Self::bytes)`(elem_bytes) + extra` fits in the available memory.
    /// The message names the run (`what`, e.g. ``evaluating `gatv2` ``), its precision and its
    /// largest tensor with the sizes behind it.
    pub fn reserve(
        &self,
        p: &Program,
        dims: &[usize],
        elem_bytes: usize,
        extra: u128,
        what: &str,
    ) -> Result<(), DataError> {
        let precision = if elem_bytes == 4 { "f32" } else { "f64" };
        let largest = match self.largest {
            Some((t, _)) => format!(" (largest tensor: {})", describe(p, t, dims)),
            None => String::new(),
        };
        memory::reserve(
            &format!("{what} in {precision}{largest}"),
            self.bytes(elem_bytes).saturating_add(extra),
        )
    }
}

/// Upper bounds of the edge counts of each graph variant of `p` on a graph of `num_nodes` nodes
/// and `num_edges` edges (a self-loop variant has at most one more edge per node), for checking a
/// run before its graphs are built.
pub fn edge_counts(p: &Program, num_nodes: usize, num_edges: usize) -> Vec<usize> {
    p.graphs
        .iter()
        .map(|g| match g {
            GraphKind::Raw => num_edges,
            GraphKind::SelfLoops => num_edges.saturating_add(num_nodes),
        })
        .collect()
}

/// The number of elements of tensor `t` (saturating).
fn elements(t: &Tensor, dims: &[usize], num_nodes: usize, num_edges: &[usize]) -> u128 {
    let lead = match t.domain {
        Domain::Dense => 1,
        Domain::Node => num_nodes,
        Domain::Edge(g) => num_edges.get(g.index()).copied().unwrap_or(0),
    };
    let sizes: Vec<usize> = t
        .dims
        .iter()
        .map(|d| dims.get(d.index()).copied().unwrap_or(0))
        .collect();
    memory::bytes_of(&sizes, 1).saturating_mul(lead as u128)
}

/// ``tensor `y` [nodes, H=2000000000]``: the tensor with the size of each axis.
fn describe(p: &Program, t: TensorId, dims: &[usize]) -> String {
    let tensor = p.tensor(t);
    let mut axes = Vec::new();
    match tensor.domain {
        Domain::Dense => {}
        Domain::Node => axes.push("nodes".to_string()),
        Domain::Edge(_) => axes.push("edges".to_string()),
    }
    for d in &tensor.dims {
        let size = dims.get(d.index()).copied().unwrap_or(0);
        axes.push(format!("{}={size}", p.dims[d.index()].name));
    }
    format!("`{}` [{}]", tensor.name, axes.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(src: &str) -> Program {
        crate::compile("t.gat", src).unwrap().program
    }

    const BIG: &str = "layer big {
        dims F, H;
        input x[n: node, f: F];
        param w[h: H];
        y[n, h: H] = sum_f x[n, f] * w[h];
        output y;
    }";

    #[test]
    fn counts_every_tensor_and_the_given_ones() {
        let p = program(BIG);
        // F = 3, H = 5 on 7 nodes.
        let dims: Vec<usize> = p
            .dims
            .iter()
            .map(|d| if d.name == "F" { 3 } else { 5 })
            .collect();
        let f = Footprint::of(&p, &dims, 7, &[]);
        // x [7, 3], w [5], y [7, 5], the row sum Σ_f x[n, f] that y reads for every h (stored
        // once per node by `codegen::invariant`, [7]) and their gradients.
        assert_eq!(f.elements, 2 * (21 + 5 + 35 + 7));
        assert_eq!((f.given, f.params), (21 + 5, 5));
        // The graph as given and its one variant in target order.
        assert_eq!(p.graphs, vec![GraphKind::Raw]);
        assert_eq!(f.graph_bytes, 2 * Graph::bytes(7, 0));
        assert_eq!(
            f.bytes(4),
            4 * 2 * (21 + 5 + 35 + 7) + 8 * (21 + 5) + 2 * Graph::bytes(7, 0)
        );
        let (t, n) = f.largest.unwrap();
        assert_eq!(n, 35);
        assert!(["y", "d y"].contains(&p.tensor(t).name.as_str()));
    }

    #[test]
    fn huge_sizes_saturate_and_are_refused_by_name() {
        let p = program(BIG);
        let dims: Vec<usize> = p
            .dims
            .iter()
            .map(|d| if d.name == "F" { 3 } else { usize::MAX })
            .collect();
        let f = Footprint::of(&p, &dims, usize::MAX, &[]);
        assert_eq!(f.bytes(8), u128::MAX);
        let err = f
            .reserve(&p, &dims, 8, 0, "evaluating `big`")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "evaluating `big` in f64 (largest tensor: `y` [nodes, H={}]) needs 3.4e38 bytes, this machine has",
                usize::MAX
            )),
            "{err}"
        );
    }

    #[test]
    fn generated_code_does_not_store_inlined_edge_tensors() {
        use crate::exec::Generated;
        let p = crate::zoo::GatV2::program();
        let dims: Vec<usize> = p
            .dims
            .iter()
            .map(|d| match d.name.as_str() {
                "H" => 4,
                "C" => 16,
                "F" => 64,
                _ => 64,
            })
            .collect();
        let all = Footprint::of(&p, &dims, 100, &[1100]);
        let stored = Footprint::of_generated(&p, &dims, 100, &[1100]);
        // `z` [edges, H, C] and its adjoint are inlined.
        assert_eq!(all.elements - stored.elements, 2 * 1100 * 4 * 16);
        assert_eq!(
            (all.given, all.graph_bytes),
            (stored.given, stored.graph_bytes)
        );
        let (t, _) = all.largest.unwrap();
        assert!(p.tensor(t).name.ends_with('z'), "{}", p.tensor(t).name);
    }

    #[test]
    fn self_loop_variants_get_one_edge_per_node_more() {
        use crate::exec::Generated;
        let p = crate::zoo::GatV2::program();
        assert_eq!(p.graphs, vec![GraphKind::SelfLoops, GraphKind::Raw]);
        assert_eq!(edge_counts(&p, 10, 100), vec![110, 100]);
        // Raw graph 100 edges, then each variant with its edge origins.
        let f = Footprint::of(&p, &vec![1; p.dims.len()], 10, &[110, 100]);
        assert_eq!(
            f.graph_bytes,
            Graph::bytes(10, 100) + Graph::bytes(10, 110) + 440 + Graph::bytes(10, 100) + 400
        );
        let p = crate::zoo::GatV2NoLoops::program();
        assert_eq!(edge_counts(&p, 10, 100), vec![100]);
    }
}

//! A directed graph stored as an edge list plus CSR indexes by target and by source.

use crate::error::DataError;
use crate::memory;
use crate::tensor_file::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// A directed multigraph with `N` nodes and `E` edges; edge `e` goes from `src(e)` to
/// `dst(e)`.
///
/// This follows PyG's `edge_index` convention: row 0 holds the source `j`, row 1 the
/// target `i`, and messages flow from `j` to `i`. Edges are indexed twice, as CSR:
/// by target ([`in_edges`](Self::in_edges)) and by source ([`out_edges`](Self::out_edges)),
/// each group listing edge ids in increasing order.
///
/// Node ids and edge ids are `u32`; `N + E` must not exceed `u32::MAX`, so that one self
/// loop per node can always be added.
///
/// Cloning a graph is cheap: clones share its edge lists and indexes, which never change once
/// built (a graph prepared once from Python is bound to every run on it without a copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    p: Arc<Parts>,
}

/// The edge lists and indexes of a [`Graph`].
#[derive(Debug, PartialEq, Eq)]
struct Parts {
    n: usize,
    src: Vec<u32>,
    dst: Vec<u32>,
    in_ptr: Vec<usize>,
    in_edges: Vec<u32>,
    out_ptr: Vec<usize>,
    out_edges: Vec<u32>,
    /// The target of each edge of `out_edges`, in the same order: a loop over a node's out-edges
    /// reads the far end sequentially instead of through the edge id.
    out_targets: Vec<u32>,
    /// Edge `e` is the `e`-th entry of `in_edges` (see [`Graph::in_edges_in_order`]).
    in_order: bool,
}

impl Graph {
    /// A graph with `n` nodes and edges `src[e] -> dst[e]`. Errors if the lists differ in
    /// length, a node id is `>= n`, `n + E` exceeds `u32::MAX`, or its indexes do not fit in
    /// the [available](memory::available) memory.
    pub fn new(n: usize, src: Vec<u32>, dst: Vec<u32>) -> Result<Graph, DataError> {
        if src.len() != dst.len() {
            return Err(DataError::new(format!(
                "graph: {} sources but {} targets",
                src.len(),
                dst.len()
            )));
        }
        check_size(n, src.len(), "graph")?;
        for (e, (&s, &d)) in src.iter().zip(&dst).enumerate() {
            for (role, v) in [("source", s), ("target", d)] {
                if v as usize >= n {
                    return Err(DataError::new(format!(
                        "graph: edge {e} has {role} node {v}, out of range for {n} nodes"
                    )));
                }
            }
        }
        Ok(Graph::from_valid(n, src, dst))
    }

    /// A graph from a PyG `edge_index` of shape `[2, E]` (row 0 source, row 1 target).
    /// Errors name the tensor `edge_index`, e.g.
    /// ``tensor `edge_index`: node index 12 out of range for 8 nodes (column 5)``.
    pub fn from_edge_index(n: usize, edge_index: &Tensor<i64>) -> Result<Graph, DataError> {
        const NAME: &str = "edge_index";
        let shape = &edge_index.shape;
        if shape.len() != 2
            || shape[0] != 2
            || Some(edge_index.data.len()) != shape[1].checked_mul(2)
        {
            return Err(DataError::shape(NAME, "[2, E]", shape));
        }
        let e = shape[1];
        check_size(n, e, "tensor `edge_index`")?;
        let convert = |row: &[i64]| -> Result<Vec<u32>, DataError> {
            row.iter()
                .enumerate()
                .map(|(col, &v)| {
                    if v < 0 || v as u64 >= n as u64 {
                        Err(DataError::tensor(
                            NAME,
                            format_args!(
                                "node index {v} out of range for {n} nodes (column {col})"
                            ),
                        ))
                    } else {
                        Ok(v as u32)
                    }
                })
                .collect()
        };
        let (row0, row1) = edge_index.data.split_at(e);
        let src = convert(row0)?;
        let dst = convert(row1)?;
        Ok(Graph::from_valid(n, src, dst))
    }

    /// Builds the CSR indexes; the caller guarantees all ids are in range.
    pub(crate) fn from_valid(n: usize, src: Vec<u32>, dst: Vec<u32>) -> Graph {
        let (in_ptr, in_edges) = csr(n, &dst);
        let (out_ptr, out_edges) = csr(n, &src);
        let out_targets = out_edges.iter().map(|&e| dst[e as usize]).collect();
        let in_order = in_edges.iter().enumerate().all(|(k, &e)| e as usize == k);
        Graph {
            p: Arc::new(Parts {
                n,
                src,
                dst,
                in_ptr,
                in_edges,
                out_ptr,
                out_edges,
                out_targets,
                in_order,
            }),
        }
    }

    /// The memory a graph of `n` nodes and `e` edges takes, with the scratch space of building
    /// its indexes: edge lists, two CSR indexes and the targets in by-source order (20 bytes per
    /// edge), two row-pointer arrays and a cursor array (24 bytes per node).
    pub fn bytes(n: usize, e: usize) -> u128 {
        20 * e as u128 + 24 * (n as u128 + 1)
    }

    /// The number of nodes `N`.
    #[inline]
    pub fn num_nodes(&self) -> usize {
        self.p.n
    }

    /// Bytes its edge lists and CSR indexes (both ways) hold on the heap.
    pub fn heap_bytes(&self) -> usize {
        let u32s = self.p.src.capacity()
            + self.p.dst.capacity()
            + self.p.in_edges.capacity()
            + self.p.out_edges.capacity()
            + self.p.out_targets.capacity();
        let usizes = self.p.in_ptr.capacity() + self.p.out_ptr.capacity();
        u32s * std::mem::size_of::<u32>() + usizes * std::mem::size_of::<usize>()
    }

    /// The number of edges `E`.
    #[inline]
    pub fn num_edges(&self) -> usize {
        self.p.src.len()
    }

    /// The source node of edge `e` (panics if `e >= E`, like slice indexing).
    #[inline]
    pub fn src(&self, e: usize) -> usize {
        self.p.src[e] as usize
    }

    /// The target node of edge `e` (panics if `e >= E`, like slice indexing).
    #[inline]
    pub fn dst(&self, e: usize) -> usize {
        self.p.dst[e] as usize
    }

    /// The source node of every edge (PyG `edge_index[0]`).
    #[inline]
    pub fn sources(&self) -> &[u32] {
        &self.p.src
    }

    /// The target node of every edge (PyG `edge_index[1]`).
    #[inline]
    pub fn targets(&self) -> &[u32] {
        &self.p.dst
    }

    /// The ids of the edges entering node `i`, in increasing order (panics if `i >= N`).
    #[inline]
    pub fn in_edges(&self, i: usize) -> &[u32] {
        &self.p.in_edges[self.p.in_ptr[i]..self.p.in_ptr[i + 1]]
    }

    /// The ids of the edges leaving node `j`, in increasing order — or, in a graph made by
    /// [`sorted_by_target`](Self::sorted_by_target), in the order of their original ids (panics
    /// if `j >= N`).
    #[inline]
    pub fn out_edges(&self, j: usize) -> &[u32] {
        &self.p.out_edges[self.p.out_ptr[j]..self.p.out_ptr[j + 1]]
    }

    /// The number of edges entering node `i` (panics if `i >= N`).
    #[inline]
    pub fn in_degree(&self, i: usize) -> usize {
        self.p.in_ptr[i + 1] - self.p.in_ptr[i]
    }

    /// The number of edges leaving node `j` (panics if `j >= N`).
    #[inline]
    pub fn out_degree(&self, j: usize) -> usize {
        self.p.out_ptr[j + 1] - self.p.out_ptr[j]
    }

    /// The CSR index by target: `(ptr, edges)` with `ptr.len() == N + 1`; the edges
    /// entering `i` are `edges[ptr[i]..ptr[i + 1]]`.
    #[inline]
    pub fn in_csr(&self) -> (&[usize], &[u32]) {
        (&self.p.in_ptr, &self.p.in_edges)
    }

    /// The CSR index by source: `(ptr, edges)` with `ptr.len() == N + 1`; the edges
    /// leaving `j` are `edges[ptr[j]..ptr[j + 1]]`.
    #[inline]
    pub fn out_csr(&self) -> (&[usize], &[u32]) {
        (&self.p.out_ptr, &self.p.out_edges)
    }

    /// Whether the in-edges of every node are numbered consecutively in target order (edge `e`
    /// is the `e`-th entry of the CSR index by target), as in a graph made by
    /// [`sorted_by_target`](Self::sorted_by_target).
    #[inline]
    pub fn in_edges_in_order(&self) -> bool {
        self.p.in_order
    }

    /// The target of each edge of the by-source CSR index, parallel to [`out_csr`](Self::out_csr)'s
    /// edges: `out_targets()[k] == dst(out_csr().1[k])`.
    #[inline]
    pub fn out_targets(&self) -> &[u32] {
        &self.p.out_targets
    }

    /// The PyG `edge_index` of this graph: shape `[2, E]`, row 0 sources, row 1 targets.
    pub fn edge_index(&self) -> Tensor<i64> {
        let data = self
            .p
            .src
            .iter()
            .chain(&self.p.dst)
            .map(|&v| v as i64)
            .collect();
        Tensor {
            shape: vec![2, self.num_edges()],
            data,
        }
    }

    /// The same graph with its edges renumbered in target order (stable: the in-edges of a
    /// node keep their relative order), and for each new edge id its id in `self`.
    ///
    /// Edge tensors stored in this order are read sequentially by every loop over targets'
    /// in-edges. The out-edges of a node are listed in the order of their original ids, so a sum
    /// over in-edges or over out-edges visits the same edges in the same order as in `self`
    /// (and gives the same bits).
    pub fn sorted_by_target(&self) -> (Graph, Vec<u32>) {
        let origin = self.p.in_edges.clone();
        let mut new_id = vec![0u32; origin.len()];
        for (new, &old) in origin.iter().enumerate() {
            new_id[old as usize] = new as u32;
        }
        let src = origin.iter().map(|&e| self.p.src[e as usize]).collect();
        let dst = origin.iter().map(|&e| self.p.dst[e as usize]).collect();
        let graph = Graph {
            p: Arc::new(Parts {
                n: self.p.n,
                src,
                dst,
                in_ptr: self.p.in_ptr.clone(),
                in_edges: (0..origin.len() as u32).collect(),
                out_ptr: self.p.out_ptr.clone(),
                out_edges: self
                    .p
                    .out_edges
                    .iter()
                    .map(|&e| new_id[e as usize])
                    .collect(),
                out_targets: self.p.out_targets.clone(),
                in_order: true,
            }),
        };
        (graph, origin)
    }

    /// Self loops exactly as PyG `GATConv`/`GATv2Conv` add them (`remove_self_loops`
    /// then `add_self_loops`): every existing self loop is dropped, the other edges keep
    /// their order, and one loop `(n, n)` per node `n = 0..N` is appended after them.
    pub fn with_self_loops(&self) -> (Graph, SelfLoopMap) {
        let kept = self
            .p
            .src
            .iter()
            .zip(&self.p.dst)
            .filter(|(s, d)| s != d)
            .count();
        let total = kept + self.p.n;
        let mut src = Vec::with_capacity(total);
        let mut dst = Vec::with_capacity(total);
        let mut origin = Vec::with_capacity(total);
        for (e, (&s, &d)) in self.p.src.iter().zip(&self.p.dst).enumerate() {
            if s != d {
                src.push(s);
                dst.push(d);
                origin.push(Some(e as u32));
            }
        }
        // `N + E <= u32::MAX` is an invariant of `Graph`, so these ids fit.
        let nodes = 0..self.p.n as u32;
        src.extend(nodes.clone());
        dst.extend(nodes.clone());
        origin.extend(nodes.clone().map(|_| None));
        let loop_edge = nodes.map(|i| kept as u32 + i).collect();
        let map = SelfLoopMap {
            num_nodes: self.p.n,
            num_original_edges: self.num_edges(),
            origin,
            loop_edge,
        };
        (Graph::from_valid(self.p.n, src, dst), map)
    }
}

/// How the edges of [`Graph::with_self_loops`]'s result relate to the original graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfLoopMap {
    num_nodes: usize,
    num_original_edges: usize,
    origin: Vec<Option<u32>>,
    loop_edge: Vec<u32>,
}

impl SelfLoopMap {
    /// The original edge id behind new edge `e`, or `None` for an appended loop
    /// (panics if `e` is not an edge of the new graph).
    pub fn origin(&self, e: usize) -> Option<usize> {
        self.origin[e].map(|o| o as usize)
    }

    /// [`origin`](Self::origin) for every new edge.
    pub fn origins(&self) -> &[Option<u32>] {
        &self.origin
    }

    /// The id, in the new graph, of node `i`'s self loop (panics if `i >= N`).
    pub fn loop_edge(&self, i: usize) -> usize {
        self.loop_edge[i] as usize
    }

    /// The number of edges of the original graph, self loops included.
    pub fn num_original_edges(&self) -> usize {
        self.num_original_edges
    }

    /// The number of edges of the new graph.
    pub fn num_new_edges(&self) -> usize {
        self.origin.len()
    }

    /// Edge features for the new graph, as PyG's `fill_value='mean'`: kept edges copy
    /// their original feature row, and node `i`'s loop gets the mean of the rows of the
    /// original non-self-loop edges entering `i` (zeros if there are none).
    ///
    /// `feats` is `[E_original, width]` row-major; the result is `[E_new, width]`.
    /// Errors if `original_graph` is not the graph this map was made from (by size) or
    /// `feats` has the wrong length.
    pub fn fill_loop_features(
        &self,
        original_graph: &Graph,
        feats: &[f64],
        width: usize,
    ) -> Result<Vec<f64>, DataError> {
        self.check(
            original_graph,
            feats.len(),
            self.num_original_edges,
            width,
            "features",
        )?;
        let mut out = vec![0.0; self.origin.len() * width];
        for (e, o) in self.origin.iter().enumerate() {
            if let Some(o) = o {
                let o = *o as usize;
                out[e * width..(e + 1) * width].copy_from_slice(&feats[o * width..(o + 1) * width]);
            }
        }
        for (i, &l) in self.loop_edge.iter().enumerate() {
            let l = l as usize;
            let row = &mut out[l * width..(l + 1) * width];
            let mut count = 0usize;
            for &e in original_graph.in_edges(i) {
                let e = e as usize;
                if original_graph.p.src[e] as usize != i {
                    count += 1;
                    for (r, f) in row.iter_mut().zip(&feats[e * width..(e + 1) * width]) {
                        *r += f;
                    }
                }
            }
            if count > 0 {
                let inv = 1.0 / count as f64;
                row.iter_mut().for_each(|r| *r *= inv);
            }
        }
        Ok(out)
    }

    /// The adjoint of [`fill_loop_features`](Self::fill_loop_features): maps the gradient
    /// `[E_new, width]` with respect to the new edge features to the gradient
    /// `[E_original, width]` with respect to the original ones. Removed original self
    /// loops get zero gradient.
    pub fn fill_loop_features_backward(
        &self,
        original_graph: &Graph,
        grad: &[f64],
        width: usize,
    ) -> Result<Vec<f64>, DataError> {
        self.check(
            original_graph,
            grad.len(),
            self.origin.len(),
            width,
            "gradient",
        )?;
        let mut out = vec![0.0; self.num_original_edges * width];
        for (e, o) in self.origin.iter().enumerate() {
            if let Some(o) = o {
                let o = *o as usize;
                out[o * width..(o + 1) * width].copy_from_slice(&grad[e * width..(e + 1) * width]);
            }
        }
        for (i, &l) in self.loop_edge.iter().enumerate() {
            let l = l as usize;
            let g = &grad[l * width..(l + 1) * width];
            let is_kept = |e: &&u32| original_graph.p.src[**e as usize] as usize != i;
            let count = original_graph.in_edges(i).iter().filter(is_kept).count();
            if count == 0 {
                continue;
            }
            let inv = 1.0 / count as f64;
            for &e in original_graph.in_edges(i).iter().filter(is_kept) {
                let e = e as usize;
                for (o, gv) in out[e * width..(e + 1) * width].iter_mut().zip(g) {
                    *o += gv * inv;
                }
            }
        }
        Ok(out)
    }

    fn check(
        &self,
        original_graph: &Graph,
        len: usize,
        rows: usize,
        width: usize,
        what: &str,
    ) -> Result<(), DataError> {
        if original_graph.num_nodes() != self.num_nodes
            || original_graph.num_edges() != self.num_original_edges
        {
            return Err(DataError::new(format!(
                "self loops: the graph has {} nodes and {} edges, but the map was made for {} nodes and {} edges",
                original_graph.num_nodes(),
                original_graph.num_edges(),
                self.num_nodes,
                self.num_original_edges
            )));
        }
        if rows.checked_mul(width) != Some(len) {
            return Err(DataError::new(format!(
                "self loops: {what} have {len} values, expected {rows} edges x width {width}"
            )));
        }
        Ok(())
    }
}

/// A reproducible random multigraph: `e` edges whose source and target are drawn
/// independently and uniformly from `0..n` (so multi-edges and self loops occur), from a
/// ChaCha8 generator seeded with `seed`.
///
/// With `n == 0` the graph has no edges. `n` and `e` are clamped so that `n + e` fits in
/// `u32` (far beyond what fits in memory).
pub fn random_graph(n: usize, e: usize, seed: u64) -> Graph {
    let n = n.min(u32::MAX as usize);
    let e = if n == 0 {
        0
    } else {
        e.min(u32::MAX as usize - n)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut src = Vec::with_capacity(e);
    let mut dst = Vec::with_capacity(e);
    for _ in 0..e {
        src.push(rng.gen_range(0..n as u32));
        dst.push(rng.gen_range(0..n as u32));
    }
    Graph::from_valid(n, src, dst)
}

/// [`random_graph`] for sizes given by a user: errors instead of clamping when `n + e` exceeds
/// `u32::MAX` or `e > 0` edges need nodes, and when the graph does not fit in the available
/// memory (`what` names where the sizes came from, e.g. `--nodes/--edges`).
pub fn try_random_graph(n: usize, e: usize, seed: u64, what: &str) -> Result<Graph, DataError> {
    if n == 0 && e > 0 {
        return Err(DataError::new(format!(
            "{what}: {e} edges need at least one node"
        )));
    }
    check_size(n, e, what)?;
    Ok(random_graph(n, e, seed))
}

pub(crate) fn check_size(n: usize, e: usize, what: &str) -> Result<(), DataError> {
    reserve_graph(n, e, what, 0)
}

/// Errors unless `n + e <= u32::MAX`, the limit that keeps node and edge ids (self loops
/// included) within `u32`, and unless a graph of that size ([`Graph::bytes`]) and `extra` bytes
/// fit in the available memory; `what` says where the sizes came from.
pub fn reserve_graph(n: usize, e: usize, what: &str, extra: u128) -> Result<(), DataError> {
    match n.checked_add(e) {
        Some(t) if t <= u32::MAX as usize => {}
        _ => {
            return Err(DataError::new(format!(
                "{what}: {n} nodes and {e} edges exceed the limit of {} nodes + edges",
                u32::MAX
            )))
        }
    }
    memory::reserve(
        &format!(
            "{what}: a graph of {n} node{} and {e} edge{}",
            if n == 1 { "" } else { "s" },
            if e == 1 { "" } else { "s" }
        ),
        Graph::bytes(n, e).saturating_add(extra),
    )
}

/// A stable counting sort of edge ids by `keys[e]` (all `< n`): `(ptr, edges)`.
fn csr(n: usize, keys: &[u32]) -> (Vec<usize>, Vec<u32>) {
    let mut ptr = vec![0usize; n + 1];
    for &k in keys {
        ptr[k as usize + 1] += 1;
    }
    for i in 0..n {
        ptr[i + 1] += ptr[i];
    }
    let mut next = ptr[..n].to_vec();
    let mut edges = vec![0u32; keys.len()];
    for (e, &k) in keys.iter().enumerate() {
        let slot = &mut next[k as usize];
        edges[*slot] = e as u32;
        *slot += 1;
    }
    (ptr, edges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(shape: Vec<usize>, data: Vec<i64>) -> Tensor<i64> {
        Tensor { shape, data }
    }

    #[test]
    fn csr_groups_edges_in_id_order() {
        // Edges: 0:1->0, 1:2->0, 2:0->1, 3:2->0, 4:1->1
        let g = Graph::new(3, vec![1, 2, 0, 2, 1], vec![0, 0, 1, 0, 1]).unwrap();
        assert_eq!(g.num_nodes(), 3);
        assert_eq!(g.num_edges(), 5);
        assert_eq!(g.in_edges(0), &[0, 1, 3]);
        assert_eq!(g.in_edges(1), &[2, 4]);
        assert_eq!(g.in_edges(2), &[] as &[u32]);
        assert_eq!(g.out_edges(1), &[0, 4]);
        assert_eq!(g.out_edges(2), &[1, 3]);
        assert_eq!(g.in_degree(0), 3);
        assert_eq!(g.out_degree(0), 1);
        assert_eq!((g.src(3), g.dst(3)), (2, 0));
        let (ptr, edges) = g.in_csr();
        assert_eq!(ptr, &[0, 3, 5, 5]);
        assert_eq!(edges.len(), 5);
        let back = Graph::from_edge_index(3, &g.edge_index()).unwrap();
        assert_eq!(back, g);
    }

    #[test]
    fn bad_graphs_are_rejected() {
        let err = Graph::new(2, vec![0, 1], vec![1]).unwrap_err();
        assert_eq!(err.to_string(), "graph: 2 sources but 1 targets");
        let err = Graph::new(2, vec![0, 1], vec![1, 2]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "graph: edge 1 has target node 2, out of range for 2 nodes"
        );

        let err = Graph::from_edge_index(8, &tensor(vec![3, 10], vec![0; 30])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tensor `edge_index`: expected shape [2, E], found [3, 10]"
        );
        let mut data = vec![0i64; 12];
        data[5] = 12;
        let err = Graph::from_edge_index(8, &tensor(vec![2, 6], data)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tensor `edge_index`: node index 12 out of range for 8 nodes (column 5)"
        );
        let mut data = vec![0i64; 12];
        data[8] = -1;
        let err = Graph::from_edge_index(8, &tensor(vec![2, 6], data)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tensor `edge_index`: node index -1 out of range for 8 nodes (column 2)"
        );
        let err = Graph::from_edge_index(8, &tensor(vec![2, 6], vec![0; 11])).unwrap_err();
        assert!(err.to_string().contains("expected shape [2, E]"));
    }

    #[test]
    fn self_loops_follow_pyg() {
        // 0:0->1, 1:1->1 (loop), 2:2->1, 3:2->2 (loop), 4:0->1 (multi-edge)
        let g = Graph::new(3, vec![0, 1, 2, 2, 0], vec![1, 1, 1, 2, 1]).unwrap();
        let (h, map) = g.with_self_loops();
        assert_eq!(h.sources(), &[0, 2, 0, 0, 1, 2]);
        assert_eq!(h.targets(), &[1, 1, 1, 0, 1, 2]);
        assert_eq!(
            map.origins(),
            &[Some(0), Some(2), Some(4), None, None, None]
        );
        assert_eq!(
            (map.loop_edge(0), map.loop_edge(1), map.loop_edge(2)),
            (3, 4, 5)
        );
        assert_eq!(map.origin(1), Some(2));
        assert_eq!(map.num_original_edges(), 5);
        assert_eq!(map.num_new_edges(), 6);
        assert_eq!(h.in_edges(1), &[0, 1, 2, 4]);

        let feats = vec![1.0, 10.0, 100.0, 1000.0, 4.0];
        let filled = map.fill_loop_features(&g, &feats, 1).unwrap();
        // Node 0: no incoming edges -> 0; node 1: mean(1, 100, 4) = 35; node 2: none -> 0.
        assert_eq!(filled, vec![1.0, 100.0, 4.0, 0.0, 35.0, 0.0]);

        assert!(map.fill_loop_features(&g, &feats[..4], 1).is_err());
        let other = Graph::new(3, vec![0], vec![1]).unwrap();
        assert!(map.fill_loop_features(&other, &feats[..1], 1).is_err());
        assert!(map.fill_loop_features_backward(&g, &[0.0; 5], 1).is_err());
    }

    #[test]
    fn fill_backward_is_the_adjoint() {
        let g = random_graph(30, 200, 7);
        assert!(g.sources().iter().zip(g.targets()).any(|(s, d)| s == d));
        let (h, map) = g.with_self_loops();
        let width = 3;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let x: Vec<f64> = (0..g.num_edges() * width)
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let y: Vec<f64> = (0..h.num_edges() * width)
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let ax = map.fill_loop_features(&g, &x, width).unwrap();
        let aty = map.fill_loop_features_backward(&g, &y, width).unwrap();
        let lhs: f64 = ax.iter().zip(&y).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&aty).map(|(a, b)| a * b).sum();
        assert!(
            (lhs - rhs).abs() < 1e-12 * (1.0 + lhs.abs()),
            "{lhs} vs {rhs}"
        );
        // Removed self loops get zero gradient.
        for e in 0..g.num_edges() {
            if g.src(e) == g.dst(e) {
                assert!(aty[e * width..(e + 1) * width].iter().all(|v| *v == 0.0));
            }
        }
    }

    /// Renumbering by target keeps every neighbourhood's edges, in their original order.
    #[test]
    fn sorted_by_target_keeps_neighbourhood_order() {
        let g = random_graph(30, 200, 5);
        let (s, origin) = g.sorted_by_target();
        assert_eq!(s.num_edges(), g.num_edges());
        for e in 0..s.num_edges() {
            let o = origin[e] as usize;
            assert_eq!((s.src(e), s.dst(e)), (g.src(o), g.dst(o)));
        }
        assert!(s.targets().windows(2).all(|w| w[0] <= w[1]));
        for n in 0..30 {
            let back =
                |edges: &[u32]| -> Vec<u32> { edges.iter().map(|&e| origin[e as usize]).collect() };
            assert_eq!(back(s.in_edges(n)), g.in_edges(n));
            assert_eq!(back(s.out_edges(n)), g.out_edges(n));
            assert_eq!(s.in_degree(n), g.in_degree(n));
        }
    }

    #[test]
    fn claimed_sizes_are_checked_before_building() {
        // Two billion nodes claimed for one edge: 48 GB of row pointers, refused by name.
        let err = Graph::from_edge_index(2_000_000_000, &tensor(vec![2, 1], vec![0, 1]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "tensor `edge_index`: a graph of 2000000000 nodes and 1 edge needs 48.0 GB, this machine has"
            ),
            "{err}"
        );
        assert_eq!(Graph::bytes(2_000_000_000, 1), 20 + 24 * 2_000_000_001);
        // Random graphs from user sizes: errors instead of clamping.
        let err = try_random_graph(10, 100_000_000_000, 0, "gen-graph")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "gen-graph: 10 nodes and 100000000000 edges exceed the limit of 4294967295 nodes + edges"
        );
        assert!(try_random_graph(0, 5, 0, "x").is_err());
        assert_eq!(
            try_random_graph(30, 200, 7, "x").unwrap(),
            random_graph(30, 200, 7)
        );
        assert!(reserve_graph(10, 10, "x", u128::MAX).is_err());
    }

    #[test]
    fn random_graph_is_reproducible() {
        let a = random_graph(100, 500, 42);
        let b = random_graph(100, 500, 42);
        let c = random_graph(100, 500, 43);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.num_edges(), 500);
        assert!(a.sources().iter().chain(a.targets()).all(|&v| v < 100));
        assert_eq!(random_graph(0, 10, 1).num_edges(), 0);
        let (ptr, edges) = a.out_csr();
        assert_eq!(ptr[100], 500);
        assert!(edges.iter().all(|&e| e < 500));
    }
}

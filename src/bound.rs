//! A program bound to data: graphs built (with PyG's self loops where a layer asks for them),
//! dimension sizes solved, constants, labels and masks checked. Shared by the reference
//! interpreter and by generated code.

use crate::footprint::Footprint;
use crate::prepared::PreparedGraphs;
use crate::shapes::{file_name, solve_dims, Data};
use gatgrad_codegen::ir::*;
use gatgrad_runtime::kernels::Float;
use gatgrad_runtime::pattern::{Columns, Pattern};
use gatgrad_runtime::{DataError, Graph, SelfLoopMap};
use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// Everything but the computed tensors.
pub struct Bound {
    /// Size of each dimension (indexed by [`DimId`]).
    pub dims: Vec<usize>,
    /// One graph per graph variant of the program, its edges numbered in target order
    /// ([`Graph::sorted_by_target`]): edge tensors are stored in this order, so loops over a
    /// target's in-edges read them sequentially. [`Bound::edge_origin`] maps back to PyG's order.
    pub graphs: Vec<Graph>,
    /// The kind of each graph variant.
    kinds: Vec<GraphKind>,
    /// The PyG id, in the raw graph, of each edge of the raw graph in target order.
    raw_origin: Arc<[u32]>,
    /// The same for the self-loop graph, if used.
    loop_origin: Option<Arc<[u32]>>,
    /// The graph as given, in PyG's edge order.
    pub raw: Graph,
    /// How the self-loop graph was made from the raw one, if used.
    pub loop_map: Option<Arc<SelfLoopMap>>,
    /// Labels by tensor.
    pub labels: HashMap<TensorId, Vec<usize>>,
    /// Node masks by tensor.
    pub masks: HashMap<TensorId, Vec<bool>>,
    /// Values of the named constants.
    pub consts: Vec<f64>,
    /// Given tensors (inputs, parameters, dropout masks, node masks as 0/1), by tensor id.
    pub initial: Vec<Option<Given>>,
    /// Node tensors known to be zero outside a pattern (a bag-of-words input, its dropout mask and
    /// what is derived from it element-wise): generated code stores them compactly and multiplies
    /// them sparse × dense (see [`gatgrad_runtime::pattern`]).
    pub sparse: HashMap<TensorId, Arc<Pattern>>,
    /// The same patterns indexed by column (set together with [`Bound::sparse`]).
    pub columns: HashMap<TensorId, Arc<Columns>>,
}

impl Bound {
    /// Bytes the bound graphs hold on the heap: each variant's edge lists and CSR indexes, the
    /// graph as given, and the maps back to PyG's edge order.
    pub fn graph_bytes(&self) -> usize {
        let origins = self.raw_origin.len() + self.loop_origin.as_ref().map_or(0, |o| o.len());
        self.graphs.iter().map(Graph::heap_bytes).sum::<usize>()
            + self.raw.heap_bytes()
            + origins * std::mem::size_of::<u32>()
    }

    /// Binds data to a program, checking every tensor, for the interpreter computing in f64.
    pub fn new(p: &Program, data: &Data) -> Result<Bound, DataError> {
        Bound::for_run(p, data, 8, false)
    }

    /// Binds data to a program, checking every tensor, for a run storing its tensors in floats of
    /// `elem_bytes` bytes, by generated code (`generated`) or the interpreter: once the sizes are
    /// solved, and before anything of that size is allocated, the memory of the whole run
    /// ([`Footprint`]) must fit in what the machine has.
    pub fn for_run(
        p: &Program,
        data: &Data,
        elem_bytes: usize,
        generated: bool,
    ) -> Result<Bound, DataError> {
        let prepared =
            PreparedGraphs::for_program(p, data.num_nodes, data.src.clone(), data.dst.clone())?;
        Bound::for_run_prepared(p, data, prepared, elem_bytes, generated)
    }

    /// Like [`Bound::for_run`], on graphs prepared beforehand (`data`'s node count and edges are
    /// not read; its other tensors are). `prepared` must serve `p` ([`PreparedGraphs::serves`]).
    pub fn for_run_prepared(
        p: &Program,
        data: &Data,
        prepared: PreparedGraphs,
        elem_bytes: usize,
        generated: bool,
    ) -> Result<Bound, DataError> {
        let PreparedGraphs {
            raw,
            raw_sorted,
            raw_origin,
            loops,
        } = prepared;
        if loops.is_none() && p.graphs.contains(&GraphKind::SelfLoops) {
            return Err(DataError::new(
                "the graphs were prepared without the self loops the program adds",
            ));
        }
        let mut raw_sorted = Some(raw_sorted);
        let (mut loop_graph, loop_map, loop_origin) = match loops {
            Some((g, m, o)) => (Some(g), Some(m), Some(o)),
            None => (None, None, None),
        };
        if raw.num_nodes() != data.num_nodes {
            return Err(DataError::new(format!(
                "the graph has {} nodes but the data {}",
                raw.num_nodes(),
                data.num_nodes
            )));
        }
        // The self-loop graph is there whenever the program uses it (checked above). A variant
        // that no index variable runs over and no tensor lives on (the raw graph of a layer that
        // adds self loops) is kept edgeless: nothing reads its edges.
        let graphs: Vec<Graph> = p
            .graphs
            .iter()
            .enumerate()
            .map(|(k, g)| match g {
                _ if !reads_edges_of(p, GraphId(k as u32)) => {
                    Graph::new(raw.num_nodes(), Vec::new(), Vec::new())
                }
                // Moved, not copied: a program lists each kind of graph once.
                GraphKind::SelfLoops => Ok(loop_graph.take().expect("checked above")),
                GraphKind::Raw => Ok(raw_sorted.take().expect("one raw variant")),
            })
            .collect::<Result<_, _>>()?;
        let uses_loops = p.graphs.contains(&GraphKind::SelfLoops);
        let loop_origin = loop_origin.filter(|_| uses_loops);
        let loop_map = loop_map.filter(|_| uses_loops);
        let num_nodes = raw.num_nodes();
        let num_edges: Vec<usize> = graphs.iter().map(|g| g.num_edges()).collect();
        let dims = solve_dims(p, data, &num_edges)?;
        let footprint = Footprint {
            // The graphs are built already.
            graph_bytes: 0,
            ..if generated {
                Footprint::of_generated(p, &dims, num_nodes, &num_edges)
            } else {
                Footprint::of(p, &dims, num_nodes, &num_edges)
            }
        };
        footprint.reserve(p, &dims, elem_bytes, 0, &format!("running `{}`", p.name))?;
        let mut consts: Vec<f64> = p.scalars.iter().map(|s| s.default).collect();
        for (name, v) in &data.consts {
            match p.scalars.iter().position(|s| &s.name == name) {
                Some(k) => consts[k] = *v,
                None => {
                    let known: Vec<&str> = p.scalars.iter().map(|s| s.name.as_str()).collect();
                    return Err(DataError::new(format!(
                        "unknown constant `{name}` (constants: {})",
                        known.join(", ")
                    )));
                }
            }
        }
        let mut b = Bound {
            dims,
            graphs,
            kinds: p.graphs.clone(),
            raw_origin,
            loop_origin,
            raw,
            loop_map,
            labels: HashMap::new(),
            masks: HashMap::new(),
            consts,
            initial: vec![None; p.tensors.len()],
            sparse: HashMap::new(),
            columns: HashMap::new(),
        };
        for (k, t) in p.tensors.iter().enumerate() {
            let id = TensorId(k as u32);
            let name = file_name(t);
            match &t.role {
                Role::Input | Role::Param => {
                    b.initial[k] = Some(match data.reals.get(&name) {
                        Some(t) => Given::F64(b.to_stored_order(p, id, &t.data)),
                        None => Given::F32(b.to_stored_order(p, id, &data.reals_f32[&name].data)),
                    });
                }
                Role::Labels { classes } => {
                    let kc = b.dims[classes.index()];
                    let mut ys = Vec::new();
                    for (n, &y) in data.labels[&name].iter().enumerate() {
                        if y < 0 || y as usize >= kc {
                            return Err(DataError::tensor(
                                &name,
                                format!("label {y} of node {n} is not a class in 0..{kc}"),
                            ));
                        }
                        ys.push(y as usize);
                    }
                    b.labels.insert(id, ys);
                }
                Role::Mask => {
                    let m = data.masks[&name].clone();
                    if !m.iter().any(|&x| x) {
                        return Err(DataError::tensor(&name, "the mask selects no node"));
                    }
                    b.initial[k] = Some(Given::F64(m.iter().map(|&x| x as u8 as f64).collect()));
                    b.masks.insert(id, m);
                }
                Role::Dropout { .. } => {
                    let len: usize = b.shape(p, id).iter().product();
                    b.initial[k] = Some(match data.dropout.get(&t.name) {
                        Some(v) if v.len() == len => Given::F64(b.to_stored_order(p, id, v)),
                        Some(v) => {
                            return Err(DataError::tensor(
                                &t.name,
                                format!("dropout mask has {} entries, expected {len}", v.len()),
                            ))
                        }
                        // Evaluation: a mask of ones, the same in any edge order.
                        None => Given::Ones(len),
                    });
                }
                Role::Defined | Role::Adjoint(_) => {}
            }
        }
        Ok(b)
    }

    /// The PyG id of each stored edge of graph variant `g` (edge `e` of `graphs[g]` is edge
    /// `edge_origin(g)[e]` of the graph PyG builds: the given one, or it with self loops).
    pub fn edge_origin(&self, g: GraphId) -> &[u32] {
        match self.kinds[g.index()] {
            GraphKind::Raw => &self.raw_origin,
            GraphKind::SelfLoops => self.loop_origin.as_deref().unwrap_or_default(),
        }
    }

    /// Values of tensor `t` given in PyG's edge order, in the order they are stored (a copy;
    /// tensors without an edge axis are returned as they are).
    pub fn to_stored_order<V: Copy>(&self, p: &Program, t: TensorId, values: &[V]) -> Vec<V> {
        match p.tensor(t).domain {
            Domain::Edge(g) => {
                let order = self.edge_origin(g);
                let width = values.len().checked_div(order.len()).unwrap_or(0);
                gather_rows(values, order, width)
            }
            _ => values.to_vec(),
        }
    }

    /// Stored values of tensor `t` in PyG's edge order (a copy; tensors without an edge axis are
    /// returned as they are).
    pub fn to_pyg_order<V: Copy + Default>(
        &self,
        p: &Program,
        t: TensorId,
        values: &[V],
    ) -> Vec<V> {
        match p.tensor(t).domain {
            Domain::Edge(g) => {
                let order = self.edge_origin(g);
                let width = values.len().checked_div(order.len()).unwrap_or(0);
                scatter_rows(values, order, width)
            }
            _ => values.to_vec(),
        }
    }

    /// Edge features of the self-loop graph from those of the raw graph (PyG's
    /// `fill_value='mean'`), both stored in target order; with `adjoint`, the gradient mapped back.
    pub fn loop_fill(&self, x: &[f64], width: usize, adjoint: bool) -> Result<Vec<f64>, DataError> {
        let (Some(map), Some(loop_origin)) = (&self.loop_map, &self.loop_origin) else {
            return Err(DataError::new("the program has no self-loop graph"));
        };
        if adjoint {
            let g = scatter_rows(x, loop_origin, width);
            let y = map.fill_loop_features_backward(&self.raw, &g, width)?;
            Ok(gather_rows(&y, &self.raw_origin, width))
        } else {
            let xs = scatter_rows(x, &self.raw_origin, width);
            let y = map.fill_loop_features(&self.raw, &xs, width)?;
            Ok(gather_rows(&y, loop_origin, width))
        }
    }

    /// The shape of a tensor: graph axis length (if any), then dense sizes.
    pub fn shape(&self, p: &Program, t: TensorId) -> Vec<usize> {
        let tensor = p.tensor(t);
        let mut s = Vec::new();
        match tensor.domain {
            Domain::Dense => {}
            Domain::Node => s.push(self.raw.num_nodes()),
            Domain::Edge(g) => s.push(self.graphs[g.index()].num_edges()),
        }
        s.extend(tensor.dims.iter().map(|d| self.dims[d.index()]));
        s
    }

    /// Declares input `t` zero outside `pattern`, and every tensor defined as `t[n, f] · (...)`
    /// (dropout of it, for instance) as well. A dropout mask multiplying such a tensor shares its
    /// pattern (its other entries are never read), so the mask and the product can be stored
    /// compactly (see [`gatgrad_runtime::pattern`]).
    pub fn set_sparse(&mut self, p: &Program, t: TensorId, pattern: Pattern) {
        let pattern = Arc::new(pattern.canonical());
        let columns = Arc::new(Columns::new(&pattern));
        let mut marked = vec![t];
        for eq in &p.equations {
            let Rhs::Expr(e) = eq.rhs else { continue };
            let Node::Mul(a, b) = *p.arena.get(e) else {
                continue;
            };
            // The tensor an operand reads at the equation's own `[n, f]`, if any.
            let elementwise = |x: ExprId| match p.arena.get(x) {
                Node::Access {
                    tensor,
                    at: Some(At::Node(n)),
                    dense,
                } if Some(n) == eq.vars.first() && dense[..] == eq.vars[1..] => Some(*tensor),
                _ => None,
            };
            let (ta, tb) = (elementwise(a), elementwise(b));
            let sparse = |x: Option<TensorId>| {
                x.is_some_and(|x| marked.contains(&x) || self.sparse.contains_key(&x))
            };
            if !(sparse(ta) || sparse(tb)) {
                continue;
            }
            marked.push(eq.lhs);
            for mask in [ta, tb].into_iter().flatten() {
                if matches!(p.tensor(mask).role, Role::Dropout { .. }) {
                    marked.push(mask);
                }
            }
        }
        for m in marked {
            self.sparse.insert(m, pattern.clone());
            self.columns.insert(m, columns.clone());
        }
    }

    /// Number of nodes selected by a mask tensor.
    pub fn mask_count(&self, t: TensorId) -> usize {
        self.masks
            .get(&t)
            .map(|m| m.iter().filter(|x| **x).count())
            .unwrap_or(0)
    }
}

/// A given tensor's values in the order they are stored, in the precision the caller handed them
/// over in (see [`Data::reals_f32`]).
#[derive(Clone, Debug)]
pub enum Given {
    /// Double precision.
    F64(Vec<f64>),
    /// Single precision.
    F32(Vec<f32>),
    /// This many ones (a dropout mask in evaluation mode).
    Ones(usize),
}

impl Given {
    /// The values in double precision (a copy for single-precision ones).
    pub fn to_f64(&self) -> Cow<'_, [f64]> {
        match self {
            Given::F64(v) => Cow::Borrowed(v),
            Given::F32(v) => Cow::Owned(v.iter().map(|x| *x as f64).collect()),
            Given::Ones(n) => Cow::Owned(vec![1.0; *n]),
        }
    }

    /// The values in precision `T`: moved when they are in it already, else converted.
    pub fn into_float<T: Float>(self) -> Vec<T> {
        match self {
            Given::F64(v) => same_or_convert(v),
            Given::F32(v) => same_or_convert(v),
            Given::Ones(n) => vec![T::ONE; n],
        }
    }
}

/// `v` as a `Vec<T>`: itself when `S` is `T`, else converted element by element.
fn same_or_convert<S: Float, T: Float>(v: Vec<S>) -> Vec<T> {
    let mut v = Some(v);
    if let Some(same) = (&mut v as &mut dyn Any).downcast_mut::<Option<Vec<T>>>() {
        return same.take().expect("set above");
    }
    let v = v.expect("not taken");
    v.into_iter().map(|x| T::of(x.to_f64())).collect()
}

/// `out[r] = values[order[r]]`, row by row (rows of `width` entries).
fn gather_rows<V: Copy>(values: &[V], order: &[u32], width: usize) -> Vec<V> {
    let mut out = Vec::with_capacity(values.len());
    for &o in order {
        let o = o as usize * width;
        out.extend_from_slice(&values[o..o + width]);
    }
    out
}

/// `out[order[r]] = values[r]`, row by row: the inverse of [`gather_rows`].
fn scatter_rows<V: Copy + Default>(values: &[V], order: &[u32], width: usize) -> Vec<V> {
    let mut out = vec![V::default(); values.len()];
    for (r, &o) in order.iter().enumerate() {
        let o = o as usize * width;
        out[o..o + width].copy_from_slice(&values[r * width..(r + 1) * width]);
    }
    out
}

/// Whether anything of `p` reads the edges of graph variant `g`: an index variable over its
/// edges or a tensor on them.
fn reads_edges_of(p: &Program, g: GraphId) -> bool {
    p.vars.iter().any(|v| v.kind == VarKind::Edge(g))
        || p.tensors.iter().any(|t| t.domain == Domain::Edge(g))
}

#[cfg(test)]
mod tests {
    use super::Given;

    #[test]
    fn given_values_move_when_in_the_run_precision_and_convert_otherwise() {
        let v = vec![0.1f32, -2.5, 3.0e-8];
        let ptr = v.as_ptr();
        let same: Vec<f32> = Given::F32(v.clone()).into_float();
        assert_eq!(same, v);
        let moved: Vec<f32> = Given::F32(v).into_float();
        assert_eq!(
            moved.as_ptr(),
            ptr,
            "an f32 tensor bound to an f32 run is not copied"
        );
        let wide: Vec<f64> = Given::F32(moved.clone()).into_float();
        assert_eq!(wide, moved.iter().map(|x| *x as f64).collect::<Vec<_>>());
        let narrow: Vec<f32> = Given::F64(vec![0.1, 1.0 / 3.0]).into_float();
        assert_eq!(narrow, vec![0.1f32, (1.0f64 / 3.0) as f32]);
        assert_eq!(Given::Ones(3).into_float::<f32>(), vec![1.0f32; 3]);
        assert_eq!(&*Given::Ones(2).to_f64(), &[1.0, 1.0]);
        assert_eq!(&*Given::F32(vec![0.5]).to_f64(), &[0.5]);
    }
}

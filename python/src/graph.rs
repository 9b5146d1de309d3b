//! A graph prepared once from an `edge_index` (CSR by target and by source, PyG's self loops),
//! held by Python and reused by every run on it; the Python side keeps one per `edge_index` it
//! sees (`gatgrad.torch` keys them by data pointer, version counter and shape).

use crate::errors::value_error;
use gatgrad::prepared::PreparedGraphs;
use gatgrad::runtime::Graph;
use numpy::{PyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use std::sync::Arc;

/// The graphs of one `edge_index`: as given, renumbered by target, and with PyG's self loops.
#[pyclass(frozen, module = "gatgrad._gatgrad")]
pub struct PreparedGraph {
    /// The prepared graphs (always with the self-loop graph, so any program can run on them).
    pub graphs: Arc<PreparedGraphs>,
}

#[pymethods]
impl PreparedGraph {
    /// Prepares the graph of `edge_index` (int64 `[2, E]`, row 0 sources) on `num_nodes` nodes.
    /// A node id outside `0..num_nodes` raises `IndexError`, a wrong shape `ValueError`.
    #[new]
    fn new(
        py: Python<'_>,
        edge_index: PyReadonlyArray2<'_, i64>,
        num_nodes: usize,
    ) -> PyResult<Self> {
        let shape = edge_index.shape();
        if shape[0] != 2 {
            return Err(PyValueError::new_err(format!(
                "edge_index has shape {shape:?}; expected [2, E] (row 0 sources, row 1 targets)"
            )));
        }
        let e = shape[1];
        let view = edge_index.as_array();
        let mut rows = [Vec::with_capacity(e), Vec::with_capacity(e)];
        for (r, row) in rows.iter_mut().enumerate() {
            for (k, &v) in view.row(r).iter().enumerate() {
                if v < 0 || v as u64 >= num_nodes as u64 {
                    return Err(PyIndexError::new_err(format!(
                        "edge_index[{r}, {k}] = {v} is not a node id: x has {num_nodes} nodes \
                         (ids 0..{num_nodes})"
                    )));
                }
                row.push(v as u32);
            }
        }
        let [src, dst] = rows;
        let graphs = py.detach(move || {
            Graph::new(num_nodes, src, dst).map(|raw| PreparedGraphs::new(raw, true))
        });
        Ok(PreparedGraph {
            graphs: Arc::new(graphs.map_err(value_error)?),
        })
    }

    /// The number of nodes.
    #[getter]
    fn num_nodes(&self) -> usize {
        self.graphs.raw.num_nodes()
    }

    /// The number of edges of the graph with PyG's self loops (existing loops removed, one loop
    /// per node appended).
    #[getter]
    fn num_loop_edges(&self) -> usize {
        self.graphs
            .loops
            .as_ref()
            .map_or(0, |(g, _, _)| g.num_edges())
    }

    /// The edge index PyG's `add_self_loops` makes of the given one (int64, flattened `[2, E']`).
    fn loop_edge_index<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let Some((g, _, origin)) = &self.graphs.loops else {
            return Err(PyValueError::new_err(
                "the graph was prepared without self loops",
            ));
        };
        let e = g.num_edges();
        let mut out = vec![0i64; 2 * e];
        for (k, &o) in origin.iter().enumerate() {
            out[o as usize] = g.src(k) as i64;
            out[e + o as usize] = g.dst(k) as i64;
        }
        Ok(PyArray1::from_vec(py, out))
    }
}

//! The datasets embedded in gatgrad (`cora`, `citeseer`: Planetoid, public split, raw features)
//! as numpy arrays, so Python code gets them without a download.

use crate::errors::value_error;
use gatgrad::runtime::Dataset;
use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The embedded dataset `name`: `x` (float32 `[N, F]`, raw bag-of-words), `edge_index` (int64
/// `[2, E]`), `y` (int64 `[N]`), `train_mask` / `val_mask` / `test_mask` (bool `[N]`) and
/// `num_classes`.
#[pyfunction]
pub fn dataset<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyDict>> {
    let d = Dataset::builtin(name).map_err(value_error)?;
    let (n, f) = (d.num_nodes, d.num_features);
    let mut x = vec![0f32; n * f];
    for r in 0..n {
        let (cols, vals) = d.features.row(r);
        for (&c, &v) in cols.iter().zip(vals) {
            x[r * f + c as usize] = v as f32;
        }
    }
    let out = PyDict::new(py);
    out.set_item("x", PyArray1::from_vec(py, x).reshape([n, f])?)?;
    let ei = d.graph.edge_index();
    out.set_item(
        "edge_index",
        PyArray1::from_vec(py, ei.data).reshape(ei.shape)?,
    )?;
    let y: Vec<i64> = d.y.iter().map(|&v| v as i64).collect();
    out.set_item("y", PyArray1::from_vec(py, y))?;
    for (key, m) in [
        ("train_mask", &d.train_mask),
        ("val_mask", &d.val_mask),
        ("test_mask", &d.test_mask),
    ] {
        out.set_item(key, PyArray1::from_vec(py, m.clone()))?;
    }
    out.set_item("num_classes", d.num_classes)?;
    out.set_item("name", d.name)?;
    Ok(out)
}

//! What Python needs to know about a compiled-in program before running it: its parameters and
//! inputs under their external names with their shapes for given dimension sizes (to create and
//! initialise parameters, and to tell torch the shapes of results without computing them), its
//! dropout masks, constants and graphs; and which compiled-in program a `.gat` file is.

use crate::models;
use gatgrad::codegen::ir::{DimId, Domain, GraphKind, Program, Role, Tensor};
use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::collections::HashMap;

fn program(model: &str) -> PyResult<Program> {
    models::program(model).ok_or_else(|| {
        let known: Vec<&str> = models::programs().iter().map(|c| c.name).collect();
        PyKeyError::new_err(format!(
            "no compiled-in model `{model}` (compiled in: {})",
            known.join(", ")
        ))
    })
}

fn domain(t: &Tensor) -> &'static str {
    match t.domain {
        Domain::Dense => "dense",
        Domain::Node => "node",
        Domain::Edge(_) => "edge",
    }
}

/// The size of dimension `d` from sizes given by name (its own name or that of a dimension it
/// is known to equal), else its declared default.
fn size(p: &Program, d: DimId, dims: &HashMap<String, usize>) -> Option<usize> {
    let r = p.dim_repr[d.index()];
    dims.get(&p.dims[d.index()].name)
        .or_else(|| {
            (0..p.dims.len())
                .filter(|&k| p.dim_repr[k] == r)
                .find_map(|k| dims.get(&p.dims[k].name))
        })
        .copied()
        .or(p.dim_defaults[r.index()])
}

/// The shape of a tensor as PyG stores it, `-1` for the graph axis, `None` if a size is missing.
fn shape(p: &Program, t: &Tensor, dims: &HashMap<String, usize>) -> Option<Vec<i64>> {
    match (&t.external_shape, t.domain) {
        (Some(groups), Domain::Dense) => groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|d| size(p, *d, dims).map(|s| s as i64))
                    .product()
            })
            .collect(),
        (_, Domain::Dense) => t
            .dims
            .iter()
            .map(|d| size(p, *d, dims).map(|s| s as i64))
            .collect(),
        _ => {
            let width: Option<i64> = t
                .dims
                .iter()
                .map(|d| size(p, *d, dims).map(|s| s as i64))
                .product();
            Some(vec![-1, width?])
        }
    }
}

/// A description of compiled-in program `model`: `params` and `inputs` (lists of
/// `(external name, domain)`), `dims` (names), `consts` (name → default), `dropout` (mask
/// names), `self_loops`, `attention` (whether it reports one) and, when `dims` gives every size,
/// `shapes` (external name → shape, `-1` for the graph axis; also `out` and `alpha`).
#[pyfunction]
#[pyo3(signature = (model, dims = HashMap::new()))]
pub fn info<'py>(
    py: Python<'py>,
    model: &str,
    dims: HashMap<String, usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let p = program(model)?;
    let d = PyDict::new(py);
    let list = |role: fn(&Role) -> bool| -> Vec<(String, &'static str)> {
        p.tensors
            .iter()
            .filter(|t| role(&t.role))
            .map(|t| (t.external.clone(), domain(t)))
            .collect()
    };
    d.set_item("params", list(|r| matches!(r, Role::Param)))?;
    d.set_item("inputs", list(|r| matches!(r, Role::Input)))?;
    let names: Vec<&str> = (0..p.dims.len())
        .filter(|&k| p.dim_repr[k].index() == k)
        .map(|k| p.dims[k].name.as_str())
        .collect();
    d.set_item("dims", names)?;
    let consts = PyDict::new(py);
    for s in &p.scalars {
        consts.set_item(&s.name, s.default)?;
    }
    d.set_item("consts", consts)?;
    d.set_item("dropout", models::dropout_masks(&p))?;
    d.set_item("self_loops", p.graphs.contains(&GraphKind::SelfLoops))?;
    d.set_item("attention", p.attention.is_some())?;
    d.set_item("loss", p.loss.is_some())?;
    let shapes = PyDict::new(py);
    let mut complete = true;
    for t in &p.tensors {
        if matches!(t.role, Role::Param | Role::Input) {
            match shape(&p, t, &dims) {
                Some(s) => shapes.set_item(&t.external, s)?,
                None => complete = false,
            }
        }
    }
    for (key, t) in [("out", Some(p.output)), ("alpha", p.attention)] {
        if let Some(t) = t {
            match shape(&p, p.tensor(t), &dims) {
                Some(s) => shapes.set_item(key, s)?,
                None => complete = false,
            }
        }
    }
    if complete {
        d.set_item("shapes", shapes)?;
    }
    Ok(d)
}

/// The compiled-in models, as `(name, file)` pairs.
#[pyfunction]
#[pyo3(name = "models")]
pub fn compiled_models<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, models::programs().iter().map(|c| (c.name, c.file)))
}

/// The name of the compiled-in model whose program is the one of the `.gat` file at `path`
/// (comments, spacing and index names do not matter), or `None`. A file that does not compile
/// raises `ValueError` with gatgrad's diagnostics.
#[pyfunction]
pub fn model_for_file(path: std::path::PathBuf) -> PyResult<Option<&'static str>> {
    let compiled = gatgrad::compile_file(&path).map_err(PyValueError::new_err)?;
    Ok(compiled_in(&compiled.program))
}

/// [`model_for_file`] for the text of a `.gat` file without `use` lines (no file needed):
/// how `gatgrad.torch` finds whether the program it generated for a PyG configuration is
/// compiled in. `name` names the text in diagnostics.
#[pyfunction]
pub fn model_for_text(name: &str, text: &str) -> PyResult<Option<&'static str>> {
    let compiled = gatgrad::compile(name, text).map_err(|e| PyValueError::new_err(e.rendered))?;
    Ok(compiled_in(&compiled.program))
}

/// The compiled-in model whose program is `program`, by canonical text.
fn compiled_in(program: &gatgrad::codegen::ir::Program) -> Option<&'static str> {
    models::by_canonical(&gatgrad::codegen::canonical::canonical_text(program))
}

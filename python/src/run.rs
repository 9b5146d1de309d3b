//! One run of a compiled-in program: bound to the tensors Python hands over, its generated
//! forward run with the GIL released, then on request its backward from `∂out`. The session keeps
//! every stored tensor between the two, as autograd keeps saved tensors.

use crate::errors::value_error;
use crate::graph::PreparedGraph;
use crate::models::{self, Compiled, Runs};
use crate::threads;
use gatgrad::bound::Given;
use gatgrad::exec::Session;
use gatgrad::runtime::kernels::Float;
use gatgrad::runtime::Tensor;
use gatgrad::shapes::Data;
use numpy::{
    Element, PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::HashMap;

/// A session in either precision.
enum Any {
    F32(Session<f32>),
    F64(Session<f64>),
}

/// A forward run of a compiled-in program, ready for its backward.
#[pyclass(module = "gatgrad._gatgrad")]
pub struct Run {
    model: &'static Compiled,
    session: Option<Any>,
    threads: usize,
}

/// A float array as handed over, in its own precision.
enum Real {
    F64(Tensor<f64>),
    F32(Tensor<f32>),
}

/// An array's values in C order. A C-contiguous array (what torch hands over for a contiguous
/// tensor) is read as one slice: iterating an n-dimensional view element by element costs several
/// times more on inputs of millions of values.
fn values<T: Element + Copy>(a: &PyReadonlyArrayDyn<'_, T>) -> Tensor<T> {
    let data = match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().iter().copied().collect(),
    };
    Tensor {
        shape: a.shape().to_vec(),
        data,
    }
}

/// Reads a float array (float32 or float64) without converting it.
fn real(name: &str, a: &Bound<'_, PyAny>) -> PyResult<Real> {
    if let Ok(a) = a.extract::<PyReadonlyArrayDyn<'_, f64>>() {
        return Ok(Real::F64(values(&a)));
    }
    if let Ok(a) = a.extract::<PyReadonlyArrayDyn<'_, f32>>() {
        return Ok(Real::F32(values(&a)));
    }
    Err(PyValueError::new_err(format!(
        "`{name}` must be a float32 or float64 array"
    )))
}

impl Real {
    fn shape(&self) -> &[usize] {
        match self {
            Real::F64(t) => &t.shape,
            Real::F32(t) => &t.shape,
        }
    }

    /// The values in precision `T` (moved when they are in it already).
    fn into_float<T: Float>(self) -> Vec<T> {
        match self {
            Real::F64(t) => Given::F64(t.data).into_float(),
            Real::F32(t) => Given::F32(t.data).into_float(),
        }
    }
}

/// Values as a numpy array of the given shape.
fn array<'py, T: Element>(
    py: Python<'py>,
    shape: &[usize],
    v: Vec<T>,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    PyArray1::from_vec(py, v).reshape(shape.to_vec())
}

/// Runs the forward of compiled-in program `model` on `graph`. `tensors` maps file names
/// (`x`, `param.lin_l.weight`, `edge_attr`) to float arrays, `dropout` dropout-mask names to
/// masks in PyG's edge order (absent: evaluation mode), `consts` overrides constants (`slope`),
/// `dims` fixes sizes the tensors cannot; `f32` picks the precision, `threads` the thread count.
#[pyfunction]
#[pyo3(signature = (model, graph, tensors, dropout, consts, dims, f32, threads))]
#[allow(clippy::too_many_arguments)]
pub fn forward(
    py: Python<'_>,
    model: &str,
    graph: &PreparedGraph,
    tensors: &Bound<'_, PyDict>,
    dropout: &Bound<'_, PyDict>,
    consts: HashMap<String, f64>,
    dims: HashMap<String, usize>,
    f32: bool,
    threads: usize,
) -> PyResult<Run> {
    let Some(compiled) = models::find(model) else {
        return Err(PyValueError::new_err(format!(
            "no compiled-in model `{model}`"
        )));
    };
    let program = models::program(compiled.name).ok_or_else(|| {
        PyRuntimeError::new_err(format!("model `{}` has no program", compiled.name))
    })?;
    let mut data = Data {
        num_nodes: graph.graphs.raw.num_nodes(),
        consts,
        dims,
        ..Data::default()
    };
    for (k, v) in tensors.iter() {
        let k: String = k.extract()?;
        match real(&k, &v)? {
            Real::F64(t) => {
                data.reals.insert(k, t);
            }
            Real::F32(t) => {
                data.reals_f32.insert(k, t);
            }
        }
    }
    for (k, v) in dropout.iter() {
        let k: String = k.extract()?;
        let t = real(&k, &v)?.into_float::<f64>();
        data.dropout.insert(k, t);
    }
    let prepared = (*graph.graphs).clone();
    let slots = compiled.slots;
    let session = py.detach(move || {
        threads::install(threads, move || {
            if f32 {
                Session::new_prepared(program, &data, prepared, slots).map(|mut s| {
                    Runs::<f32>::forward(compiled, &mut s);
                    Any::F32(s)
                })
            } else {
                Session::new_prepared(program, &data, prepared, slots).map(|mut s| {
                    Runs::<f64>::forward(compiled, &mut s);
                    Any::F64(s)
                })
            }
        })
    });
    Ok(Run {
        model: compiled,
        session: Some(session.map_err(value_error)?),
        threads,
    })
}

fn outputs<'py, T: Float + Element>(
    py: Python<'py>,
    s: &Session<T>,
    attention: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let p = &s.program;
    let (shape, v) = gatgrad::results::pyg_value(s, p.output);
    d.set_item("out", array(py, &shape, v)?)?;
    if let Some((shape, v, ei)) = attention.then(|| gatgrad::results::attention(s)).flatten() {
        d.set_item("alpha", array(py, &shape, v)?)?;
        let e = ei.len() / 2;
        d.set_item("alpha_edge_index", array(py, &[2, e], ei)?)?;
    }
    Ok(d)
}

fn backward<'py, T: Float + Element>(
    py: Python<'py>,
    model: &'static Compiled,
    threads: usize,
    mut s: Session<T>,
    grad_out: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>>
where
    Compiled: Runs<T>,
{
    let p = &s.program;
    let want = gatgrad::results::pyg_shape(p, &s.bound, p.output);
    let seed = real("grad_out", grad_out)?;
    if seed.shape() != want {
        return Err(PyValueError::new_err(format!(
            "grad_out has shape {:?}; expected {want:?}, the shape of the output",
            seed.shape()
        )));
    }
    let seed: Vec<T> = seed.into_float();
    let grads = py.detach(move || {
        threads::install(threads, move || {
            model.backward(&mut s, seed);
            gatgrad::results::gradients(s)
        })
    });
    let d = PyDict::new(py);
    for (name, shape, v) in grads {
        d.set_item(name, array(py, &shape, v)?)?;
    }
    Ok(d)
}

#[pymethods]
impl Run {
    /// The results of the forward: `out`, and with `attention` also `alpha` and
    /// `alpha_edge_index` when the program declares its attention.
    #[pyo3(signature = (attention = true))]
    fn outputs<'py>(&self, py: Python<'py>, attention: bool) -> PyResult<Bound<'py, PyDict>> {
        match &self.session {
            Some(Any::F32(s)) => outputs(py, s, attention),
            Some(Any::F64(s)) => outputs(py, s, attention),
            None => Err(PyRuntimeError::new_err(
                "this run's backward has already run",
            )),
        }
    }

    /// Runs the backward from `grad_out` (the gradient of the output, in its shape) and returns
    /// the gradient of every input and parameter by its external name. A run's backward runs once.
    fn backward<'py>(
        &mut self,
        py: Python<'py>,
        grad_out: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        match self.session.take() {
            Some(Any::F32(s)) => backward(py, self.model, self.threads, s, grad_out),
            Some(Any::F64(s)) => backward(py, self.model, self.threads, s, grad_out),
            None => Err(PyRuntimeError::new_err(
                "this run's backward has already run",
            )),
        }
    }
}

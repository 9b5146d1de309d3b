//! One run of a compiled-in program: bound to the tensors Python hands over, its generated
//! forward run with the GIL released, then on request its backward from `∂out`. The session keeps
//! every stored tensor between the two, as autograd keeps saved tensors.

use crate::errors::value_error;
use crate::graph::PreparedGraph;
use crate::models::{self, Compiled, Runs};
use crate::threads;
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

/// Reads a float array (float32 or float64) as an f64 tensor, in C order. A C-contiguous array
/// (what torch hands over for a contiguous tensor) is read as one slice: iterating an n-dimensional
/// view element by element costs several times more on inputs of millions of values.
fn real(name: &str, a: &Bound<'_, PyAny>) -> PyResult<Tensor<f64>> {
    if let Ok(a) = a.extract::<PyReadonlyArrayDyn<'_, f64>>() {
        let data = match a.as_slice() {
            Ok(s) => s.to_vec(),
            Err(_) => a.as_array().iter().copied().collect(),
        };
        return Ok(Tensor {
            shape: a.shape().to_vec(),
            data,
        });
    }
    if let Ok(a) = a.extract::<PyReadonlyArrayDyn<'_, f32>>() {
        let data = match a.as_slice() {
            Ok(s) => s.iter().map(|v| *v as f64).collect(),
            Err(_) => a.as_array().iter().map(|v| *v as f64).collect(),
        };
        return Ok(Tensor {
            shape: a.shape().to_vec(),
            data,
        });
    }
    Err(PyValueError::new_err(format!(
        "`{name}` must be a float32 or float64 array"
    )))
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
        let t = real(&k, &v)?;
        data.reals.insert(k, t);
    }
    for (k, v) in dropout.iter() {
        let k: String = k.extract()?;
        let t = real(&k, &v)?;
        data.dropout.insert(k, t.data);
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
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let p = &s.program;
    let (shape, v) = gatgrad::results::pyg_value(s, p.output);
    d.set_item("out", array(py, &shape, v)?)?;
    if let Some((shape, v, ei)) = gatgrad::results::attention(s) {
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
    if seed.shape != want {
        return Err(PyValueError::new_err(format!(
            "grad_out has shape {:?}; expected {want:?}, the shape of the output",
            seed.shape
        )));
    }
    let seed: Vec<T> = seed.data.iter().map(|v| T::of(*v)).collect();
    let grads = py.detach(move || {
        threads::install(threads, move || {
            model.backward(&mut s, &seed);
            gatgrad::results::gradients(&s)
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
    /// The results of the forward: `out`, and `alpha` with `alpha_edge_index` when the program
    /// declares its attention.
    fn outputs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        match &self.session {
            Some(Any::F32(s)) => outputs(py, s),
            Some(Any::F64(s)) => outputs(py, s),
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

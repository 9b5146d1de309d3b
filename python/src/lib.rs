//! `gatgrad._gatgrad`: the Rust half of the Python package. It runs the generated forward and
//! backward of the programs compiled into it ([`models`]) on arrays handed over by numpy, with the
//! GIL released, on graphs prepared once ([`graph`]). `gatgrad/torch.py` wraps it as torch custom
//! operators and modules.

mod dataset;
mod errors;
mod graph;
mod info;
mod models;
mod run;
mod threads;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _gatgrad(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<graph::PreparedGraph>()?;
    m.add_class::<run::Run>()?;
    m.add_function(wrap_pyfunction!(run::forward, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::dataset, m)?)?;
    m.add_function(wrap_pyfunction!(info::info, m)?)?;
    m.add_function(wrap_pyfunction!(info::compiled_models, m)?)?;
    m.add_function(wrap_pyfunction!(info::model_for_file, m)?)?;
    Ok(())
}

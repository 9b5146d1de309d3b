//! `gatgrad._gatgrad`: the Rust half of the Python package. It runs the generated forward and
//! backward of the programs compiled into it ([`models`]) on arrays handed over by numpy, with the
//! GIL released, on graphs prepared once ([`graph`]). `gatgrad/torch.py` wraps it as torch custom
//! operators and modules.
//!
//! The same code serves the extension modules built on first use of a user's `.gat` file
//! ([`on_demand`]): such a module is a crate of its own, in the on-demand cache, that applies
//! `#[derive_gradients]` to the file and calls [`program_module`] with a table of one
//! [`Compiled`] program. It exports the same functions and classes as `gatgrad._gatgrad`, so
//! Python drives both alike; only Python objects (numpy arrays, dicts, its own classes) cross
//! between the two libraries, never a Rust type.

mod dataset;
mod errors;
mod graph;
mod info;
mod models;
mod on_demand;
mod run;
mod threads;

pub use models::Compiled;
/// The pyo3 this crate is built with, for the `#[pymodule]` of a module built on first use
/// (`#[pyo3(crate = "gatgrad_python::pyo3")]`), so its version is this crate's.
pub use pyo3;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _gatgrad(m: &Bound<'_, PyModule>) -> PyResult<()> {
    add_common(m)?;
    m.add_function(wrap_pyfunction!(dataset::dataset, m)?)?;
    m.add_function(wrap_pyfunction!(on_demand::build_program, m)?)?;
    m.add_function(wrap_pyfunction!(on_demand::cache_dir, m)?)?;
    Ok(())
}

/// Fills the extension module built on first use for `programs` (one program, called
/// `program`): the functions and classes that run programs, as in `gatgrad._gatgrad`.
pub fn program_module(m: &Bound<'_, PyModule>, programs: &'static [Compiled]) -> PyResult<()> {
    models::set_programs(programs);
    add_common(m)
}

/// What every module of this crate exports: preparing graphs, describing and running programs.
fn add_common(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<graph::PreparedGraph>()?;
    m.add_class::<run::Run>()?;
    m.add_function(wrap_pyfunction!(run::forward, m)?)?;
    m.add_function(wrap_pyfunction!(info::info, m)?)?;
    m.add_function(wrap_pyfunction!(info::compiled_models, m)?)?;
    m.add_function(wrap_pyfunction!(info::model_for_file, m)?)?;
    m.add_function(wrap_pyfunction!(info::model_for_text, m)?)?;
    Ok(())
}

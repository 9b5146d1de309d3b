//! gatgrad's errors as Python exceptions: bad data is a `ValueError` carrying gatgrad's one-line
//! message, a node id out of range an `IndexError`.

use gatgrad::runtime::DataError;
use pyo3::exceptions::PyValueError;
use pyo3::PyErr;

/// A [`DataError`] as the `ValueError` Python code catches.
pub fn value_error(e: DataError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

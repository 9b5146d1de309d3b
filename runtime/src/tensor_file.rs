//! Reading and writing safetensors files, with every problem reported as a [`DataError`]
//! that names the file or the tensor.

use crate::error::{fmt_shape, DataError};
use crate::memory;
use crate::output::OutputPath;
use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, TensorView};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

mod bounded_read;
mod decode;
#[cfg(test)]
mod tests;
mod write;

use bounded_read::{check_header_len, check_tensor_count, read_bounded};
pub use bounded_read::{MAX_HEADER_BYTES, MAX_TENSORS};
use decode::*;
pub use write::{serialize_tensors, write_tensors, write_tensors_to, TensorData};

/// A dense tensor read from a file: row-major `data` with `shape`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor<T> {
    /// The dimensions, outermost first.
    pub shape: Vec<usize>,
    /// The elements in row-major (C) order; `data.len()` is the product of `shape`.
    pub data: Vec<T>,
}

impl<T> Tensor<T> {
    /// Checks the shape against `expected`, where `None` accepts any size in that
    /// dimension. The error reads ``tensor `name`: expected shape [2, _], found [3, 10]``.
    pub fn expect_shape(&self, name: &str, expected: &[Option<usize>]) -> Result<(), DataError> {
        let ok = self.shape.len() == expected.len()
            && self
                .shape
                .iter()
                .zip(expected)
                .all(|(d, e)| e.is_none() || *e == Some(*d));
        if ok {
            return Ok(());
        }
        let parts: Vec<String> = expected
            .iter()
            .map(|e| e.map_or_else(|| "_".to_string(), |e| e.to_string()))
            .collect();
        Err(DataError::shape(
            name,
            &format!("[{}]", parts.join(", ")),
            &self.shape,
        ))
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }
}

/// Where one tensor lives in the file.
#[derive(Debug, Clone)]
struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    /// Absolute byte range in the file.
    start: usize,
    end: usize,
}

/// A whole safetensors file held in memory, validated when it is opened.
///
/// Typed accessors ([`f64`](Self::f64), [`i64`](Self::i64), [`mask`](Self::mask),
/// [`f32`](Self::f32)) convert compatible dtypes and reject everything else with an error
/// naming the tensor.
#[derive(Debug, Clone)]
pub struct TensorFile {
    name: String,
    bytes: Vec<u8>,
    entries: HashMap<String, Entry>,
    metadata: Option<HashMap<String, String>>,
}

impl TensorFile {
    /// Reads and validates the file at `path`; errors name the path.
    ///
    /// Nothing larger than the file says it holds is read: a regular file is read once its size
    /// fits in the [available](memory::available) memory; a pipe or device is read up to the
    /// end its header declares (so `/dev/zero` or an endless FIFO is refused after its first
    /// bytes). Headers over [`MAX_HEADER_BYTES`] are refused before they are read.
    pub fn load(path: impl AsRef<Path>) -> Result<TensorFile, DataError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes = read_bounded(path, &name)?;
        TensorFile::from_bytes(&name, bytes)
    }

    /// Validates `bytes` as a safetensors file; `name` is used in error messages only.
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<TensorFile, DataError> {
        let invalid = |why: String| {
            DataError::file(name, format_args!("not a valid safetensors file ({why})"))
        };
        let len = bytes.len();
        let Some(len_bytes) = bytes.get(..8) else {
            return Err(invalid(format!(
                "{len} bytes is shorter than the 8-byte header length"
            )));
        };
        let mut raw = [0u8; 8];
        raw.copy_from_slice(len_bytes);
        let header_len = u64::from_le_bytes(raw);
        let data_start = match usize::try_from(header_len) {
            Ok(n) if n <= len - 8 => n + 8,
            _ => {
                return Err(invalid(format!(
                    "header length {header_len} exceeds file size {len}"
                )))
            }
        };
        check_header_len(name, header_len)?;
        let data_len = len - data_start;
        // Our own pass over the header first: it names the offending tensor, and it keeps
        // absurd offsets away from the safetensors crate's unchecked arithmetic.
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..data_start])
            .map_err(|e| invalid(format!("header is not valid JSON: {e}")))?;
        let Some(object) = header.as_object() else {
            return Err(invalid("header is not a JSON object".to_string()));
        };
        check_tensor_count(name, object)?;
        let mut names: Vec<&String> = object.keys().filter(|k| *k != "__metadata__").collect();
        names.sort();
        let mut declared_end = 0usize;
        for tname in names {
            let info = &object[tname.as_str()];
            let offsets: Option<[u64; 2]> = info
                .get("data_offsets")
                .and_then(|o| serde_json::from_value(o.clone()).ok());
            let Some([s, e]) = offsets else {
                return Err(invalid(format!(
                    "tensor `{tname}` has no valid `data_offsets`"
                )));
            };
            if s > data_len as u64 || e > data_len as u64 {
                return Err(invalid(format!(
                    "tensor `{tname}` has data offsets [{s}, {e}] beyond the {data_len} data bytes; truncated file?"
                )));
            }
            declared_end = declared_end.max(e as usize);
            let dtype: Option<Dtype> = info
                .get("dtype")
                .and_then(|d| serde_json::from_value(d.clone()).ok());
            let shape: Option<Vec<usize>> = info
                .get("shape")
                .and_then(|d| serde_json::from_value(d.clone()).ok());
            let (Some(dtype), Some(shape)) = (dtype, shape) else {
                return Err(invalid(format!(
                    "tensor `{tname}` has a missing or unknown dtype or shape"
                )));
            };
            let nbytes = shape
                .iter()
                .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d));
            if nbytes != e.checked_sub(s).map(|n| n as usize) {
                return Err(invalid(format!(
                    "tensor `{tname}` of dtype {dtype:?} and shape {} does not fit its data offsets [{s}, {e}]",
                    fmt_shape(&shape)
                )));
            }
        }
        // The crate parses the header once more; the first parse's tree is not needed any more.
        drop(header);
        let metadata = match SafeTensors::read_metadata(&bytes) {
            Ok((_, metadata)) => metadata,
            Err(err) => {
                let why = match err {
                    SafeTensorError::HeaderTooLarge => {
                        format!("header length {header_len} is over the 100 MB limit")
                    }
                    SafeTensorError::InvalidOffset(t) => {
                        format!("tensor `{t}` does not start where the previous tensor ends")
                    }
                    SafeTensorError::MetadataIncompleteBuffer => format!(
                        "the tensors cover {declared_end} bytes but {data_len} bytes follow the header"
                    ),
                    SafeTensorError::InvalidHeader
                    | SafeTensorError::InvalidHeaderStart
                    | SafeTensorError::InvalidHeaderDeserialization
                    | SafeTensorError::JsonError(_) => {
                        "header is not a valid safetensors header".to_string()
                    }
                    other => format!("{other:?}"),
                };
                return Err(invalid(why));
            }
        };
        let entries = metadata
            .tensors()
            .into_iter()
            .map(|(tname, info)| {
                let entry = Entry {
                    dtype: info.dtype,
                    shape: info.shape.clone(),
                    start: data_start + info.data_offsets.0,
                    end: data_start + info.data_offsets.1,
                };
                (tname, entry)
            })
            .collect();
        Ok(TensorFile {
            name: name.to_string(),
            metadata: metadata.metadata().clone(),
            bytes,
            entries,
        })
    }

    /// The name used in error messages (the path for [`load`](Self::load)).
    pub fn file_name(&self) -> &str {
        &self.name
    }

    /// The tensor names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.entries.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Whether a tensor called `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The shape of tensor `name`.
    pub fn shape(&self, name: &str) -> Result<&[usize], DataError> {
        Ok(&self.entry(name)?.shape)
    }

    /// The dtype of tensor `name` as spelled in the file (`"F32"`, `"I64"`, ...).
    pub fn dtype(&self, name: &str) -> Result<String, DataError> {
        Ok(format!("{:?}", self.entry(name)?.dtype))
    }

    /// The `__metadata__` string map of the header, if any.
    pub fn metadata(&self) -> Option<&HashMap<String, String>> {
        self.metadata.as_ref()
    }

    /// Tensor `name` as f64; accepts F64 and F32. Rejects NaN and ±inf, naming the
    /// first position: ``tensor `x`: contains NaN at [3, 1]``.
    pub fn f64(&self, name: &str) -> Result<Tensor<f64>, DataError> {
        let (entry, bytes) = self.raw(name)?;
        reserve_decoded(name, entry, 8, "f64")?;
        let data: Vec<f64> = match entry.dtype {
            Dtype::F64 => decode(bytes, f64::from_le_bytes),
            Dtype::F32 => decode(bytes, |b: [u8; 4]| f32::from_le_bytes(b) as f64),
            other => return Err(wrong_dtype(name, "F64 or F32", other)),
        };
        check_finite(name, &entry.shape, data.iter().copied())?;
        Ok(Tensor {
            shape: entry.shape.clone(),
            data,
        })
    }

    /// Tensor `name` as f32; accepts F32 and F64 (rounded). Rejects NaN and ±inf,
    /// including F64 values too large for f32.
    pub fn f32(&self, name: &str) -> Result<Tensor<f32>, DataError> {
        let (entry, bytes) = self.raw(name)?;
        reserve_decoded(name, entry, 4, "f32")?;
        let data: Vec<f32> = match entry.dtype {
            Dtype::F32 => decode(bytes, f32::from_le_bytes),
            Dtype::F64 => decode(bytes, |b: [u8; 8]| f64::from_le_bytes(b) as f32),
            other => return Err(wrong_dtype(name, "F32 or F64", other)),
        };
        check_finite(name, &entry.shape, data.iter().map(|v| *v as f64))?;
        Ok(Tensor {
            shape: entry.shape.clone(),
            data,
        })
    }

    /// Tensor `name` as i64; accepts I64 and I32.
    pub fn i64(&self, name: &str) -> Result<Tensor<i64>, DataError> {
        let (entry, bytes) = self.raw(name)?;
        reserve_decoded(name, entry, 8, "i64")?;
        let data: Vec<i64> = match entry.dtype {
            Dtype::I64 => decode(bytes, i64::from_le_bytes),
            Dtype::I32 => decode(bytes, |b: [u8; 4]| i32::from_le_bytes(b) as i64),
            other => return Err(wrong_dtype(name, "I64 or I32", other)),
        };
        Ok(Tensor {
            shape: entry.shape.clone(),
            data,
        })
    }

    /// Tensor `name` in the type it is stored in (I32 widened to [`TensorData::I64`], BOOL read as
    /// [`TensorData::U8`]), without checking its values: for copying or rewriting files.
    pub fn data(&self, name: &str) -> Result<TensorData, DataError> {
        let (entry, bytes) = self.raw(name)?;
        reserve_decoded(name, entry, 8, "stored")?;
        Ok(match entry.dtype {
            Dtype::F64 => TensorData::F64(decode(bytes, f64::from_le_bytes)),
            Dtype::F32 => TensorData::F32(decode(bytes, f32::from_le_bytes)),
            Dtype::I64 => TensorData::I64(decode(bytes, i64::from_le_bytes)),
            Dtype::I32 => TensorData::I64(decode(bytes, |b: [u8; 4]| i32::from_le_bytes(b) as i64)),
            Dtype::U8 | Dtype::BOOL => TensorData::U8(bytes.to_vec()),
            other => return Err(wrong_dtype(name, "F64, F32, I64, I32, U8 or BOOL", other)),
        })
    }

    /// Tensor `name` as booleans; accepts U8, BOOL, I64 and I32 holding only 0 and 1
    /// (any shape, flattened in row-major order).
    pub fn mask(&self, name: &str) -> Result<Vec<bool>, DataError> {
        let (entry, bytes) = self.raw(name)?;
        reserve_decoded(name, entry, 1, "booleans")?;
        match entry.dtype {
            Dtype::U8 | Dtype::BOOL => to_mask(name, &entry.shape, bytes.iter().map(|&b| b as i64)),
            Dtype::I64 => to_mask(name, &entry.shape, elems(bytes).map(i64::from_le_bytes)),
            Dtype::I32 => to_mask(
                name,
                &entry.shape,
                elems(bytes).map(|b| i32::from_le_bytes(b) as i64),
            ),
            other => Err(wrong_dtype(name, "U8, BOOL, I64 or I32", other)),
        }
    }

    fn entry(&self, name: &str) -> Result<&Entry, DataError> {
        self.entries
            .get(name)
            .ok_or_else(|| DataError::missing(name))
    }

    fn raw(&self, name: &str) -> Result<(&Entry, &[u8]), DataError> {
        let entry = self.entry(name)?;
        // The range was validated against the buffer in `from_bytes`.
        let bytes = self
            .bytes
            .get(entry.start..entry.end)
            .ok_or_else(|| DataError::tensor(name, "data lies outside the file"))?;
        Ok((entry, bytes))
    }
}

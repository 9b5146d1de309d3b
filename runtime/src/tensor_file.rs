//! Reading and writing safetensors files, with every problem reported as a [`DataError`]
//! that names the file or the tensor.

use crate::error::{fmt_shape, DataError};
use crate::memory;
use crate::output::OutputPath;
use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, TensorView};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

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

/// Headers longer than this are refused before they are read: a header takes about 60 bytes
/// per tensor, so this allows far more tensors than [`MAX_TENSORS`], and it bounds what parsing
/// a header costs (its JSON tree takes many times its length).
pub const MAX_HEADER_BYTES: u64 = 16_000_000;

/// Files with more tensors than this are refused (a model's parameters are a few dozen tensors).
pub const MAX_TENSORS: usize = 100_000;

fn check_header_len(name: &str, header_len: u64) -> Result<(), DataError> {
    if header_len <= MAX_HEADER_BYTES {
        return Ok(());
    }
    Err(DataError::file(
        name,
        format_args!(
            "not a valid safetensors file (a header of {} is over the {} this reader accepts)",
            memory::format_bytes(header_len as u128),
            memory::format_bytes(MAX_HEADER_BYTES as u128)
        ),
    ))
}

fn check_tensor_count(
    name: &str,
    header: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), DataError> {
    let count = header.len() - usize::from(header.contains_key("__metadata__"));
    if count <= MAX_TENSORS {
        return Ok(());
    }
    Err(DataError::file(
        name,
        format_args!("holds {count} tensors, more than the {MAX_TENSORS} this reader accepts"),
    ))
}

/// Reads a safetensors file without reading more than it can hold (see [`TensorFile::load`]).
fn read_bounded(path: &Path, name: &str) -> Result<Vec<u8>, DataError> {
    let io = |e: std::io::Error| DataError::file(name, format_args!("cannot read: {e}"));
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(DataError::file(
            name,
            "is a directory, not a safetensors file",
        ));
    }
    let mut file = std::io::BufReader::new(file);
    // The 8-byte header length first: an absurd one is refused before anything else is read.
    let mut head = Vec::with_capacity(8);
    (&mut file).take(8).read_to_end(&mut head).map_err(io)?;
    let header_len = match <[u8; 8]>::try_from(&head[..]) {
        Ok(raw) => u64::from_le_bytes(raw),
        // Too short: let `from_bytes` say so.
        Err(_) => return Ok(head),
    };
    if meta.is_file() {
        let size = meta.len();
        if header_len <= size.saturating_sub(8) {
            check_header_len(name, header_len)?;
        }
        memory::reserve(&format!("reading `{name}`"), size as u128)?;
        let mut bytes = Vec::with_capacity(size as usize);
        bytes.extend_from_slice(&head);
        // A file that grows while it is read is cut at the size it had.
        file.take(size - 8).read_to_end(&mut bytes).map_err(io)?;
        return Ok(bytes);
    }
    // A pipe or a device: the header says how much follows.
    check_header_len(name, header_len)?;
    let mut bytes = head;
    (&mut file)
        .take(header_len)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 != 8 + header_len {
        // Truncated: let `from_bytes` say so.
        return Ok(bytes);
    }
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..]).map_err(|e| {
        DataError::file(
            name,
            format_args!("not a valid safetensors file (header is not valid JSON: {e})"),
        )
    })?;
    let Some(object) = header.as_object() else {
        return Ok(bytes);
    };
    check_tensor_count(name, object)?;
    let data_len = object
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .filter_map(|(_, info)| info.get("data_offsets")?.get(1)?.as_u64())
        .max()
        .unwrap_or(0);
    drop(header);
    memory::reserve(
        &format!("reading `{name}`"),
        8 + header_len as u128 + data_len as u128,
    )?;
    (&mut file)
        .take(data_len)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    // One byte more than declared is enough to tell the file holds more than its header says.
    file.take(1).read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

/// Errors unless tensor `name` decoded to `elem_bytes` per element fits in the available memory
/// (a file of f32 or U8 values takes up to eight times its size once decoded).
fn reserve_decoded(
    name: &str,
    entry: &Entry,
    elem_bytes: usize,
    ty: &str,
) -> Result<(), DataError> {
    memory::reserve(
        &format!("tensor `{name}` as {ty} values"),
        memory::bytes_of(&entry.shape, elem_bytes),
    )
}

/// Booleans from 0/1 values; anything else is an error naming its position.
fn to_mask(
    name: &str,
    shape: &[usize],
    values: impl Iterator<Item = i64>,
) -> Result<Vec<bool>, DataError> {
    let mut out = Vec::with_capacity(values.size_hint().0);
    for (pos, v) in values.enumerate() {
        if v != 0 && v != 1 {
            return Err(DataError::tensor(
                name,
                format_args!("value {v} at {} is not 0 or 1", fmt_index(shape, pos)),
            ));
        }
        out.push(v == 1);
    }
    Ok(out)
}

/// The fixed-size elements of `bytes` (a trailing partial element is ignored).
fn elems<const N: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    bytes.chunks_exact(N).map(|c| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        a
    })
}

/// Little-endian decoding of fixed-size elements.
fn decode<const N: usize, T>(bytes: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            f(a)
        })
        .collect()
}

fn wrong_dtype(name: &str, accepted: &str, found: Dtype) -> DataError {
    DataError::tensor(
        name,
        format_args!("expected dtype {accepted}, found {found:?}"),
    )
}

fn check_finite(
    name: &str,
    shape: &[usize],
    values: impl Iterator<Item = f64>,
) -> Result<(), DataError> {
    for (pos, v) in values.enumerate() {
        if !v.is_finite() {
            let what = if v.is_nan() {
                "NaN"
            } else if v > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            return Err(DataError::tensor(
                name,
                format_args!("contains {what} at {}", fmt_index(shape, pos)),
            ));
        }
    }
    Ok(())
}

/// The multi-index of flat position `pos` in a row-major tensor of `shape`, as `[i, j]`.
fn fmt_index(shape: &[usize], mut pos: usize) -> String {
    let mut index = vec![0usize; shape.len()];
    for (slot, &dim) in index.iter_mut().zip(shape).rev() {
        if dim > 0 {
            *slot = pos % dim;
            pos /= dim;
        }
    }
    fmt_shape(&index)
}

/// The elements of a tensor to write.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// 64-bit floats (`F64`).
    F64(Vec<f64>),
    /// 32-bit floats (`F32`).
    F32(Vec<f32>),
    /// 64-bit signed integers (`I64`).
    I64(Vec<i64>),
    /// Bytes (`U8`), e.g. masks.
    U8(Vec<u8>),
}

impl TensorData {
    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::F64(v) => v.len(),
            TensorData::F32(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::U8(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn dtype(&self) -> Dtype {
        match self {
            TensorData::F64(_) => Dtype::F64,
            TensorData::F32(_) => Dtype::F32,
            TensorData::I64(_) => Dtype::I64,
            TensorData::U8(_) => Dtype::U8,
        }
    }

    fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            TensorData::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::U8(v) => v.clone(),
        }
    }
}

/// Serializes tensors `(name, shape, data)` and optional header metadata into the bytes
/// of a safetensors file. Errors if a shape does not match its data length, or a name
/// is repeated or is `__metadata__`.
pub fn serialize_tensors(
    tensors: &[(String, Vec<usize>, TensorData)],
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>, DataError> {
    let mut seen = std::collections::HashSet::new();
    let mut encoded = Vec::with_capacity(tensors.len());
    for (name, shape, data) in tensors {
        if name == "__metadata__" {
            return Err(DataError::tensor(name, "this name is reserved"));
        }
        if !seen.insert(name.as_str()) {
            return Err(DataError::tensor(name, "given more than once"));
        }
        let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if numel != Some(data.len()) {
            return Err(DataError::tensor(
                name,
                format_args!(
                    "shape {} does not match the {} values given",
                    fmt_shape(shape),
                    data.len()
                ),
            ));
        }
        encoded.push((
            name.as_str(),
            shape.clone(),
            data.dtype(),
            data.to_le_bytes(),
        ));
    }
    let mut views = Vec::with_capacity(encoded.len());
    for (name, shape, dtype, bytes) in &encoded {
        let view = TensorView::new(*dtype, shape.clone(), bytes)
            .map_err(|e| DataError::tensor(name, format_args!("cannot serialize: {e:?}")))?;
        views.push((*name, view));
    }
    safetensors::serialize(views, &metadata)
        .map_err(|e| DataError::new(format!("cannot serialize tensors: {e:?}")))
}

/// Writes tensors `(name, shape, data)` and optional header metadata to a safetensors file
/// at `path`, through an [`OutputPath`]: a regular file is replaced atomically (a failure never
/// leaves a partial output file), a symlink's target is replaced, a FIFO or character device is
/// written directly, anything else is refused.
pub fn write_tensors(
    path: impl AsRef<Path>,
    tensors: &[(String, Vec<usize>, TensorData)],
    metadata: Option<HashMap<String, String>>,
) -> Result<(), DataError> {
    let bytes = serialize_tensors(tensors, metadata)?;
    OutputPath::check(path)?.write_bytes(&bytes)
}

/// [`write_tensors`] to an output checked earlier (e.g. when the arguments were read).
pub fn write_tensors_to(
    out: &OutputPath,
    tensors: &[(String, Vec<usize>, TensorData)],
    metadata: Option<HashMap<String, String>>,
) -> Result<(), DataError> {
    out.write_bytes(&serialize_tensors(tensors, metadata)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(tensors: &[(String, Vec<usize>, TensorData)]) -> Vec<u8> {
        let mut meta = HashMap::new();
        meta.insert("name".to_string(), "t".to_string());
        serialize_tensors(tensors, Some(meta)).expect("serializes")
    }

    fn sample() -> Vec<(String, Vec<usize>, TensorData)> {
        vec![
            (
                "w".into(),
                vec![2, 3],
                TensorData::F64(vec![1., 2., 3., 4., 5., 6.]),
            ),
            ("h".into(), vec![3], TensorData::F32(vec![0.5, 1.5, 2.5])),
            ("idx".into(), vec![2, 2], TensorData::I64(vec![0, 1, -1, 7])),
            ("m".into(), vec![3], TensorData::U8(vec![1, 0, 1])),
        ]
    }

    #[test]
    fn round_trip_and_conversions() {
        let f = TensorFile::from_bytes("t.safetensors", bytes_of(&sample())).unwrap();
        assert_eq!(f.names(), vec!["h", "idx", "m", "w"]);
        assert!(f.has("w") && !f.has("zz"));
        assert_eq!(f.shape("w").unwrap(), &[2, 3]);
        assert_eq!(f.dtype("idx").unwrap(), "I64");
        assert_eq!(f.metadata().unwrap()["name"], "t");
        let w = f.f64("w").unwrap();
        assert_eq!(w.data, vec![1., 2., 3., 4., 5., 6.]);
        w.expect_shape("w", &[Some(2), None]).unwrap();
        assert_eq!(
            w.expect_shape("w", &[Some(3), None])
                .unwrap_err()
                .to_string(),
            "tensor `w`: expected shape [3, _], found [2, 3]"
        );
        assert_eq!(f.f64("h").unwrap().data, vec![0.5, 1.5, 2.5]);
        assert_eq!(f.f32("w").unwrap().data[5], 6.0);
        assert_eq!(f.i64("idx").unwrap().data, vec![0, 1, -1, 7]);
        assert_eq!(f.mask("m").unwrap(), vec![true, false, true]);
        assert_eq!(
            f.f64("idx").unwrap_err().to_string(),
            "tensor `idx`: expected dtype F64 or F32, found I64"
        );
        assert_eq!(
            f.mask("idx").unwrap_err().to_string(),
            "tensor `idx`: value -1 at [1, 0] is not 0 or 1"
        );
        assert_eq!(
            f.i64("param.att").unwrap_err().to_string(),
            "missing tensor `param.att`"
        );
        for (name, _, data) in sample() {
            assert_eq!(f.data(&name).unwrap(), data, "{name}");
        }
    }

    #[test]
    fn non_finite_values_are_located() {
        let t = vec![(
            "x".to_string(),
            vec![4, 2],
            TensorData::F32(vec![0., 0., 0., 0., 0., 0., f32::NAN, 0.]),
        )];
        let f = TensorFile::from_bytes("t", bytes_of(&t)).unwrap();
        assert_eq!(
            f.f64("x").unwrap_err().to_string(),
            "tensor `x`: contains NaN at [3, 0]"
        );
        let t = vec![(
            "y".to_string(),
            vec![2],
            TensorData::F64(vec![1.0, f64::NEG_INFINITY]),
        )];
        let f = TensorFile::from_bytes("t", bytes_of(&t)).unwrap();
        assert_eq!(
            f.f64("y").unwrap_err().to_string(),
            "tensor `y`: contains -inf at [1]"
        );
        let t = vec![("z".to_string(), vec![1], TensorData::F64(vec![1e300]))];
        let f = TensorFile::from_bytes("t", bytes_of(&t)).unwrap();
        assert_eq!(
            f.f32("z").unwrap_err().to_string(),
            "tensor `z`: contains inf at [0]"
        );
    }

    #[test]
    fn corrupt_files_are_rejected() {
        let good = bytes_of(&sample());
        let short = TensorFile::from_bytes("a.safetensors", good[..5].to_vec()).unwrap_err();
        assert!(short
            .to_string()
            .starts_with("file `a.safetensors`: not a valid safetensors file"));

        let mut big = good.clone();
        big[..8].copy_from_slice(&99_999_999u64.to_le_bytes());
        big.truncate(120);
        assert_eq!(
            TensorFile::from_bytes("foo.safetensors", big).unwrap_err().to_string(),
            "file `foo.safetensors`: not a valid safetensors file (header length 99999999 exceeds file size 120)"
        );

        let truncated = TensorFile::from_bytes("t", good[..good.len() - 3].to_vec()).unwrap_err();
        assert!(truncated.to_string().contains("truncated"), "{truncated}");

        let mut padded = good.clone();
        padded.extend([0u8; 8]);
        let padded = TensorFile::from_bytes("t", padded).unwrap_err();
        assert!(padded.to_string().contains("follow the header"), "{padded}");

        let mut garbage = good.clone();
        garbage[8] = b'#';
        let garbage = TensorFile::from_bytes("t", garbage).unwrap_err();
        assert!(garbage.to_string().contains("not valid JSON"), "{garbage}");

        // Absurd offsets must be an error, not an arithmetic overflow.
        let header = format!(
            "{{\"a\":{{\"dtype\":\"U8\",\"shape\":[{}],\"data_offsets\":[0,{}]}}}}",
            usize::MAX,
            usize::MAX
        );
        let mut evil = (header.len() as u64).to_le_bytes().to_vec();
        evil.extend(header.as_bytes());
        assert!(TensorFile::from_bytes("t", evil).is_err());

        let missing = TensorFile::load("/nonexistent/dir/x.safetensors").unwrap_err();
        assert!(missing
            .to_string()
            .starts_with("file `/nonexistent/dir/x.safetensors`: cannot read"));
    }

    /// A scratch directory removed on drop.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("gatgrad-rd-{}-{tag}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A header of `n` empty tensors.
    fn empty_tensors(n: usize) -> Vec<u8> {
        let entries: Vec<String> = (0..n)
            .map(|k| format!("\"t{k}\":{{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}"))
            .collect();
        let header = format!("{{{}}}", entries.join(","));
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        bytes
    }

    #[test]
    fn headers_and_tensor_counts_are_capped() {
        let ok = TensorFile::from_bytes("t", empty_tensors(3)).unwrap();
        assert_eq!(ok.names().len(), 3);
        assert_eq!(
            TensorFile::from_bytes("t", empty_tensors(MAX_TENSORS + 1))
                .unwrap_err()
                .to_string(),
            "file `t`: holds 100001 tensors, more than the 100000 this reader accepts"
        );
        // A header over the limit is refused by its length alone.
        let mut long = (MAX_HEADER_BYTES + 1).to_le_bytes().to_vec();
        long.resize(MAX_HEADER_BYTES as usize + 9, b' ');
        assert_eq!(
            TensorFile::from_bytes("t", long).unwrap_err().to_string(),
            "file `t`: not a valid safetensors file (a header of 16.0 MB is over the 16.0 MB this reader accepts)"
        );
    }

    #[test]
    fn loading_reads_no_more_than_the_file_holds() {
        let dir = Scratch::new("load");
        // A regular file larger than any machine's memory is not read (a sparse file: no disk used).
        let huge = dir.0.join("huge.safetensors");
        let f = std::fs::File::create(&huge).unwrap();
        f.set_len(1 << 43).unwrap();
        let err = TensorFile::load(&huge).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("reading `{}` needs 8.8 TB", huge.display())),
            "{err}"
        );
        // A header length over the limit is refused after 8 bytes, even before the file's end.
        let mut long = (u64::MAX / 2).to_le_bytes().to_vec();
        long.extend([b'{'; 100]);
        std::fs::write(&huge, &long).unwrap();
        let err = TensorFile::load(&huge).unwrap_err().to_string();
        assert!(err.contains("exceeds file size 108"), "{err}");
        let dir_err = TensorFile::load(&dir.0).unwrap_err().to_string();
        assert!(
            dir_err.ends_with("is a directory, not a safetensors file"),
            "{dir_err}"
        );
    }

    #[test]
    fn a_fifo_is_read_to_the_end_its_header_declares() {
        use std::io::Write as _;
        let dir = Scratch::new("fifo");
        let fifo = dir.0.join("in.safetensors");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.map(|s| s.success()).unwrap_or(false) {
            return; // no mkfifo on this system
        }
        let good = bytes_of(&sample());
        let feed = |mut bytes: Vec<u8>, endless: bool| {
            let path = fifo.clone();
            std::thread::spawn(move || {
                let Ok(mut w) = std::fs::OpenOptions::new().write(true).open(path) else {
                    return;
                };
                if w.write_all(&bytes).is_err() || !endless {
                    return;
                }
                bytes.iter_mut().for_each(|b| *b = 0);
                // Endless: until the reader goes away (a broken pipe).
                while w.write_all(&bytes).is_ok() {}
            })
        };
        let writer = feed(good.clone(), false);
        let f = TensorFile::load(&fifo).unwrap();
        writer.join().unwrap();
        assert_eq!(f.f64("w").unwrap().data, vec![1., 2., 3., 4., 5., 6.]);
        // The same bytes followed by endless zeros: one byte past the declared end is enough.
        let writer = feed(good, true);
        let err = TensorFile::load(&fifo).unwrap_err().to_string();
        writer.join().unwrap();
        assert!(err.contains("follow the header"), "{err}");
    }

    #[test]
    fn serialize_rejects_bad_input() {
        let bad = vec![("w".to_string(), vec![2, 2], TensorData::F64(vec![1.0]))];
        assert_eq!(
            serialize_tensors(&bad, None).unwrap_err().to_string(),
            "tensor `w`: shape [2, 2] does not match the 1 values given"
        );
        let twice = vec![
            ("w".to_string(), vec![1], TensorData::F64(vec![1.0])),
            ("w".to_string(), vec![1], TensorData::F64(vec![1.0])),
        ];
        assert!(serialize_tensors(&twice, None).is_err());
    }

    #[test]
    fn write_is_atomic_and_readable() {
        let dir = std::env::temp_dir().join(format!("gatgrad-tf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.safetensors");
        write_tensors(&path, &sample(), None).unwrap();
        let f = TensorFile::load(&path).unwrap();
        assert!(f.metadata().is_none());
        assert_eq!(f.i64("idx").unwrap().shape, vec![2, 2]);
        // A failing write leaves the old file untouched and no temporary behind.
        let bad = vec![("w".to_string(), vec![3], TensorData::F64(vec![1.0]))];
        assert!(write_tensors(&path, &bad, None).is_err());
        assert!(TensorFile::load(&path).is_ok());
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
        // Writing into a missing directory fails cleanly.
        let err = write_tensors(dir.join("no/such/x.safetensors"), &sample(), None).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

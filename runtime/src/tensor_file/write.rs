//! Writing safetensors files: the elements to write, serialization and the write through an
//! [`OutputPath`].

use super::*;

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

//! Decoding the bytes of one tensor: memory reserved first, little-endian elements, masks from 0/1
//! values, and non-finite values located by their multi-index.

use super::*;

/// Errors unless tensor `name` decoded to `elem_bytes` per element fits in the available memory
/// (a file of f32 or U8 values takes up to eight times its size once decoded).
pub(super) fn reserve_decoded(
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
pub(super) fn to_mask(
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
pub(super) fn elems<const N: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    bytes.chunks_exact(N).map(|c| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        a
    })
}

/// Little-endian decoding of fixed-size elements.
pub(super) fn decode<const N: usize, T>(bytes: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            f(a)
        })
        .collect()
}

pub(super) fn wrong_dtype(name: &str, accepted: &str, found: Dtype) -> DataError {
    DataError::tensor(
        name,
        format_args!("expected dtype {accepted}, found {found:?}"),
    )
}

pub(super) fn check_finite(
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
pub(super) fn fmt_index(shape: &[usize], mut pos: usize) -> String {
    let mut index = vec![0usize; shape.len()];
    for (slot, &dim) in index.iter_mut().zip(shape).rev() {
        if dim > 0 {
            *slot = pos % dim;
            pos /= dim;
        }
    }
    fmt_shape(&index)
}

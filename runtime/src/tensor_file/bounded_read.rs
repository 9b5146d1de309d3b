//! Reading a tensor file without reading past what it can hold: header length and tensor count
//! limits, checked before anything is allocated.

use super::*;

/// Headers longer than this are refused before they are read: a header takes about 60 bytes
/// per tensor, so this allows far more tensors than [`MAX_TENSORS`], and it bounds what parsing
/// a header costs (its JSON tree takes many times its length).
pub const MAX_HEADER_BYTES: u64 = 16_000_000;

/// Files with more tensors than this are refused (a model's parameters are a few dozen tensors).
pub const MAX_TENSORS: usize = 100_000;

pub(super) fn check_header_len(name: &str, header_len: u64) -> Result<(), DataError> {
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

pub(super) fn check_tensor_count(
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
pub(super) fn read_bounded(path: &Path, name: &str) -> Result<Vec<u8>, DataError> {
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

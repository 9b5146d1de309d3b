//! Helpers shared by the library's test targets (`mod support;`, or `#[path]` from a folder).

pub mod tensors;

//! Helpers shared by the command line's test targets (`mod support;`, or `#[path]` from a folder).

pub mod tensors;

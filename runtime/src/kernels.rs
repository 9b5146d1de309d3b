//! Building blocks for generated code: a float trait, GEMM, and parallel loops whose results are
//! bitwise identical for any number of threads (work is split into fixed-size chunks that do not
//! depend on the thread count, and partial sums are combined in chunk order).

pub mod elementwise;
mod float;
mod gemm;
mod rows;
mod shared_slice;
mod softmax;
mod targets;
#[cfg(test)]
mod tests;

pub use crate::pattern::Pattern;
pub use float::Float;
pub use gemm::*;
pub use rows::*;
pub use shared_slice::SharedSlice;
pub use softmax::*;
pub use targets::*;

//! Runtime support for gatgrad: the data that graph-attention models run on.
//!
//! - [`Graph`]: a directed multigraph with CSR indexes by target and by source, built
//!   from a PyG-style `edge_index` (row 0 source `j`, row 1 target `i`), with
//!   [`Graph::with_self_loops`] reproducing PyG `GATConv`/`GATv2Conv` self-loop handling
//!   (including `fill_value='mean'` for edge features and its adjoint).
//! - [`TensorFile`] / [`write_tensors`]: safetensors reading (validated up front, typed
//!   accessors) and writing through [`OutputPath`], which never destroys what is at a path
//!   (regular files replaced atomically, symlinks followed, FIFOs and devices written directly).
//! - [`memory`]: how much memory this process may still allocate, and [`memory::reserve`],
//!   the check every claimed size passes before it is allocated.
//! - [`Dataset`]: the Planetoid citation datasets (Cora and Citeseer are embedded), with
//!   features as [`SparseRows`] and PyG-style row normalisation.
//!
//! Bad input never panics: every problem is a [`DataError`], one line naming the file,
//! tensor or metadata key at fault.
//!
//! ```
//! use gatgrad_runtime::Dataset;
//!
//! let mut cora = Dataset::builtin("cora")?;
//! cora.row_normalize();
//! let (graph, loops) = cora.graph.with_self_loops();
//! assert_eq!(graph.num_edges(), cora.num_edges() + cora.num_nodes);
//! assert_eq!(loops.loop_edge(0), cora.num_edges());
//! # Ok::<(), gatgrad_runtime::DataError>(())
//! ```
#![warn(missing_docs)]

pub mod dataset;
pub mod error;
pub mod graph;
pub mod kernels;
pub mod memory;
pub mod normal;
pub mod output;
pub mod pattern;
pub mod prefetch;
pub mod rmat;
pub mod sparse;
pub mod tensor_file;

pub use dataset::Dataset;
pub use error::DataError;
pub use graph::{random_graph, reserve_graph, try_random_graph, Graph, SelfLoopMap};
pub use output::{OutputFile, OutputPath};
pub use sparse::SparseRows;
pub use tensor_file::{
    serialize_tensors, write_tensors, write_tensors_to, Tensor, TensorData, TensorFile,
};

//! gatgrad: write a graph-attention layer as formulas, get exact, reviewable gradients.
//!
//! This facade crate ties the pieces together: [`compile`] (parse, check, lower, differentiate),
//! [`shapes`] (dimension solving against data), [`interp`] (the reference interpreter) and
//! [`cases`] (reading and writing tensor files in the PyG reference layout).

pub mod adam;
pub mod bench;
pub mod bound;
pub mod cases;
pub mod compare_numeric;
pub mod compile;
pub mod diagnose;
pub mod dropout;
pub mod edge_inputs;
pub mod eval;
pub mod extra_model;
pub mod footprint;
pub mod init;
pub mod interp;
pub mod prepared;
pub mod results;
pub mod setup;
pub mod shapes;
pub mod synth;
pub mod train;
pub mod trainable;
pub mod yardstick;

pub use gatgrad_codegen as codegen;
pub use gatgrad_grammar as grammar;
pub use gatgrad_runtime as runtime;

pub use compile::{compile, compile_file, compile_gathered, gather_file, CompileError, Compiled};
pub use gatgrad_macros::derive_gradients;
#[doc(hidden)]
pub use gatgrad_macros::primitive_calls;

pub mod exec;
pub mod zoo;

/// Items generated code refers to, each named by the emitter's table of them
/// (`gatgrad_codegen::emit::helpers::Helper`). Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bound::Bound;
    pub use crate::exec::{
        cross_entropy, dense_view, loop_fill, node_matmul, node_t_matmul, stored_len, timed,
        Generated,
    };
    pub use gatgrad_codegen::ir;
    pub use gatgrad_codegen::ir::TensorId;
    /// The element-wise functions, under the short name generated code spells them by
    /// (`__private::f::elu`).
    pub use gatgrad_runtime::kernels::elementwise as f;
    pub use gatgrad_runtime::kernels::{
        par_by_target, par_by_target_with_sums, par_copy, par_edges_by_target, par_rows,
        par_sum_edges_by_target, par_sum_rows, recompute_where, softmax_by_target, softmax_target,
        sum_blocks, Float, Rows, TargetOut,
    };
    pub use gatgrad_runtime::pattern::{compact, par_entries};
    pub use gatgrad_runtime::prefetch::{prefetch_row, DISTANCE as PREFETCH_DISTANCE};
}

// Lets the `#[derive_gradients]` output (which names `::gatgrad`) compile inside this crate too.
extern crate self as gatgrad;

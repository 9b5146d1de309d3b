//! gatgrad: write a graph-attention layer as formulas, get exact, reviewable gradients.
//!
//! This facade crate ties the pieces together: [`compile`] (parse, check, lower, differentiate),
//! [`bind`] (dimension solving against data), [`interp`] (the reference interpreter) and
//! [`cases`] (reading and writing tensor files in the PyG reference layout).

pub mod bind;
pub mod bound;
pub mod cases;
pub mod compile;
pub mod interp;
pub mod synth;

pub use gatgrad_codegen as codegen;
pub use gatgrad_grammar as grammar;
pub use gatgrad_runtime as runtime;

pub use compile::{compile, compile_file, CompileError, Compiled};

//! gatgrad's middle end: the typed IR of an attention layer, checking and lowering from the syntax
//! tree, the reverse-mode differentiator, the simplifier and the printers (Unicode text and LaTeX).
//!
//! Architecture invariant: this crate knows nothing about graphs in memory or about running code;
//! it turns text into equations and equations into other equations (and, later, into Rust tokens).

pub mod canonical;
pub mod compile;
pub mod diff;
pub mod emit;
pub mod expand;
pub mod facts;
pub mod ir;
pub mod lower;
pub mod normal;
pub mod plan;
pub mod primitives;
pub mod print;
pub mod simplify;
pub mod terms;

pub use compile::{compile_gathered, compile_in, compile_source, Failure};
pub use diff::differentiate;
pub use lower::{lower, Lowered};

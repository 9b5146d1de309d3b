//! The gatgrad attention DSL: a [pest](https://pest.rs) grammar (`src/gat.pest`), the syntax tree
//! with source spans ([`ast`]), and diagnostics that point into the source ([`diagnostic`]).
//!
//! ```
//! let file = gatgrad_grammar::parse("layer id() { input x[n: node, f: F]; output x; }").unwrap();
//! assert_eq!(file.blocks[0].name.name, "id");
//!
//! let source = "layer broken { y[n] = x[n, 0]; }";
//! let errors = gatgrad_grammar::parse(source).unwrap_err();
//! let src = gatgrad_grammar::Source::new("broken.gat", source);
//! let text = gatgrad_grammar::Rendered(&errors, &src).to_string();
//! assert!(text.contains("expected an index like `n`, `h` or `i <- j`"));
//! ```
//!
//! The language is documented in `docs/language.md` at the root of the repository.

pub mod ast;
pub mod diagnostic;
pub mod files;
mod parse;
pub mod sources;

pub use diagnostic::{Diagnostic, Rendered, Severity, Source};
pub use parse::parse;

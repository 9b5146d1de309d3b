//! `#[derive_gradients]`: the compile-time front door of gatgrad.
//!
//! A thin shell: all generation lives in `gatgrad_codegen::expand`, an ordinary library over
//! `proc_macro2::TokenStream`, so it is unit-tested without a compiler run.
//!
//! ```ignore
//! #[gatgrad::derive_gradients(file = "models/gatv2.gat")]
//! pub struct GatV2;
//! ```

use proc_macro::TokenStream;

/// Generates specialised forward and backward code for the layer or model in a `.gat` file
/// (`file = "path"`, relative to the crate root) or given inline (`source = "layer ... { ... }"`).
#[proc_macro_attribute]
pub fn derive_gradients(attr: TokenStream, item: TokenStream) -> TokenStream {
    gatgrad_codegen::expand::expand(attr.into(), item.into()).into()
}

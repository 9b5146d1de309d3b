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

/// `primitive_calls!(name)` defines `fn name<T: Float>(f: Func, x: T, arg: T) -> T`, which
/// evaluates each element-wise function of the table exactly as generated code spells the call,
/// for the test that checks the runtime's implementations against the table.
#[doc(hidden)]
#[proc_macro]
pub fn primitive_calls(input: TokenStream) -> TokenStream {
    let krate = gatgrad_codegen::emit::helpers::facade();
    gatgrad_codegen::primitives::runtime_calls(input.into(), &krate).into()
}

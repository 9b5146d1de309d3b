//! The expansion behind `#[derive_gradients]`, as an ordinary function over token streams so it can
//! be tested without a compiler run.
//!
//! ```text
//! #[derive_gradients(file = "models/gatv2.gat")]
//! pub struct GatV2;
//! ```
//!
//! keeps the struct and implements `gatgrad::exec::Generated` for it: `SOURCE`, `EQUATIONS` (the
//! printed derivatives), the program as data (`program()`, see [`crate::literal`]), `forward` and
//! `backward` for any float type. A DSL error becomes one
//! `compile_error!` on the attribute whose message carries the DSL file, line and column.

use crate::emit::helpers::{facade, Helper};
use crate::print::{Printer, Style};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, MetaNameValue, Token};

/// Expands the attribute. `attr` holds `file = "..."` or `source = "..."` (and optionally
/// `krate = "crate"`); `item` is the struct it is placed on.
pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(attr.clone(), item.clone()) {
        Ok(ts) => ts,
        Err(e) => {
            let err = e.to_compile_error();
            // Keep the item so that uses of the struct do not add errors of their own.
            quote! { #err #item }
        }
    }
}

fn try_expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = syn::parse::Parser::parse2(
        Punctuated::<MetaNameValue, Token![,]>::parse_terminated,
        attr.clone(),
    )?;
    let strukt: syn::ItemStruct = syn::parse2(item.clone())?;
    let mut file = None;
    let mut source = None;
    let mut krate = facade();
    for a in &args {
        let key = a
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let literal = match &a.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => s,
            other => return Err(syn::Error::new_spanned(other, "expected a string literal")),
        };
        let value = literal.value();
        match key.as_str() {
            "file" => file = Some((value, a.clone())),
            "source" => source = Some(value),
            "krate" => {
                let path = literal.parse::<syn::Path>().map_err(|_| {
                    syn::Error::new_spanned(
                        literal,
                        "`krate` must be the path of the gatgrad crate, such as `::gatgrad` or `crate`",
                    )
                })?;
                krate = path.into_token_stream();
            }
            _ => {
                return Err(syn::Error::new_spanned(
                    &a.path,
                    "unknown argument: expected `file = \"path.gat\"` or `source = \"layer ...\"`",
                ))
            }
        }
    }
    let base = std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()),
    );
    let (name, text, root) = match (file, source) {
        (Some((f, arg)), None) => {
            let path = base.join(&f);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                syn::Error::new_spanned(&arg, format!("cannot read `{}`: {e}", path.display()))
            })?;
            (f, text, path)
        }
        (None, Some(s)) => ("inline".to_string(), s, base.join("inline")),
        _ => {
            return Err(syn::Error::new(
                Span::call_site(),
                "give exactly one of `file = \"path.gat\"` or `source = \"layer ...\"`",
            ))
        }
    };
    // Every file read, so that cargo rebuilds when one of them changes.
    let mut read_paths: Vec<String> = Vec::new();
    if root.is_file() {
        read_paths.push(root.display().to_string());
    }
    let mut read = |path: &std::path::Path| {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        read_paths.push(path.display().to_string());
        Ok(text)
    };
    let loaded = gatgrad_grammar::files::gather_files(&root, &name, text, &mut read);
    let text = loaded.source.text.clone();
    let (program, _warnings) = crate::compile_gathered(&loaded).map_err(|f| {
        syn::Error::new_spanned(&attr, format!("gatgrad DSL error\n{}", f.rendered))
    })?;
    let gen = crate::emit::generate(&program, &krate).map_err(|e| {
        syn::Error::new(
            Span::call_site(),
            format!("gatgrad bug, please report it: {e}"),
        )
    })?;
    let items = gen.items;
    let pr = Printer::new(&program, Style::Text);
    let equations = format!("{}\n{}", pr.forward(), pr.backward());
    let ident = &strukt.ident;
    let module = format_ident!("__gatgrad_{}", ident.to_string().to_lowercase());
    let (generated, float, bound) = (
        Helper::Generated.path(&krate),
        Helper::Float.path(&krate),
        Helper::Bound.path(&krate),
    );
    let ir = Helper::Ir.path(&krate);
    let literal = crate::literal::program_literal(&program, &ir);
    let track = read_paths
        .iter()
        .map(|p| quote! { const _: &str = include_str!(#p); });
    Ok(quote! {
        #strukt
        #[doc(hidden)]
        #[allow(non_snake_case, clippy::all)]
        mod #module {
            #items
        }
        impl #generated for #ident {
            const SOURCE: &'static str = #text;
            const EQUATIONS: &'static str = #equations;
            const NUM_TENSORS: usize = #module::NUM_TENSORS;
            fn program() -> #ir::Program {
                #literal
            }
            fn forward<T: #float>(b: &#bound, v: &mut [Vec<T>]) {
                #module::forward(b, v)
            }
            fn backward<T: #float>(b: &#bound, v: &mut [Vec<T>]) {
                #module::backward(b, v)
            }
            fn backward_params<T: #float>(b: &#bound, v: &mut [Vec<T>]) {
                #module::backward_params(b, v)
            }
        }
        #(#track)*
    })
}

/// The generated code of a program, formatted for review (what snapshots hold).
pub fn pretty(program: &crate::ir::Program) -> Result<String, String> {
    let gen = crate::emit::generate(program, &facade())?;
    let file: syn::File = syn::parse2(gen.items).map_err(|e| e.to_string())?;
    Ok(prettyplease::unparse(&file))
}

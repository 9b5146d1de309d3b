//! The small pieces the emitter builds its tokens from: the names of generated code's locals
//! (`i5` for index variable 5, `t7` for the values of tensor 7, `d0`, `g1`, ...), integer
//! literals, products of sizes, and float constants spelled as Rust's shortest round-trip text.

use crate::ir::{DimId, GraphId, TensorId, VarId};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};
use std::str::FromStr;

/// A local of generated code named by the emitter (`row`, `acc`, `out`, ...).
pub(super) fn local(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// A local named by a prefix and a number: `numbered("t", 7)` is `t7`.
pub(super) fn numbered(prefix: &str, n: u32) -> Ident {
    format_ident!("{prefix}{n}")
}

/// The local holding the value of index variable `v` (`i5`).
pub(super) fn var(v: VarId) -> Ident {
    numbered("i", v.0)
}

/// The local holding the size of dimension `d` (`d0`).
pub(super) fn dim(d: DimId) -> Ident {
    numbered("d", d.0)
}

/// The local holding graph `g` (`g1`).
pub(super) fn graph(g: GraphId) -> Ident {
    numbered("g", g.0)
}

/// The local holding the values tensor `t` is read from (`t7`).
pub(super) fn values(t: TensorId) -> Ident {
    numbered("t", t.0)
}

/// An integer literal without a suffix (`7`, not `7usize`: generated code lets the index type
/// decide).
pub(super) fn int(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// `a * b * c`, or `1` for no factors.
pub(super) fn product(factors: Vec<TokenStream>) -> TokenStream {
    let mut factors = factors.into_iter();
    match factors.next() {
        None => quote!(1),
        Some(first) => quote!(#first #(* #factors)*),
    }
}

/// An `f64` value as a Rust expression: a float literal spelled as `{:?}` spells it (the
/// shortest text that reads back as the same bits: `0.2`, `2.0`, `1e-16`), negated when the value
/// is negative (so `-0.0` stays negative zero), and the `f64` constants for values no literal
/// writes (infinities, NaN).
pub(super) fn float(x: f64) -> TokenStream {
    if x.is_nan() {
        return quote!(f64::NAN);
    }
    let magnitude = if x.is_infinite() {
        quote!(f64::INFINITY)
    } else {
        let text = format!("{:?}", x.abs());
        // `{:?}` of a finite non-negative float is always a float literal; the fallback spells
        // the same value if a compiler ever disagreed.
        let lit = Literal::from_str(&text).unwrap_or_else(|_| Literal::f64_unsuffixed(x.abs()));
        quote!(#lit)
    };
    if x.is_sign_negative() {
        quote!(-#magnitude)
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_spelled_as_the_shortest_text_that_reads_back() {
        for (x, text) in [
            (0.2, "0.2"),
            (2.0, "2.0"),
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-0.0, "- 0.0"),
            (-0.5, "- 0.5"),
            (1e-16, "1e-16"),
            (1e-12, "1e-12"),
            (1e16, "1e16"),
            (0.1 + 0.2, "0.30000000000000004"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e308"),
            (f64::INFINITY, "f64 :: INFINITY"),
            (f64::NEG_INFINITY, "- f64 :: INFINITY"),
            (f64::NAN, "f64 :: NAN"),
        ] {
            assert_eq!(float(x).to_string(), text, "{x:?}");
            if x.is_finite() {
                let back: f64 = text.replace("- ", "-").parse().unwrap();
                assert_eq!(back.to_bits(), x.to_bits(), "{text}");
            }
        }
    }

    #[test]
    fn integers_have_no_suffix_and_products_default_to_one() {
        assert_eq!(int(7).to_string(), "7");
        assert_eq!(numbered("t", 12).to_string(), "t12");
        assert_eq!(product(vec![]).to_string(), "1");
        let (a, b) = (local("nn"), numbered("d", 0));
        assert_eq!(product(vec![quote!(#a), quote!(#b)]).to_string(), "nn * d0");
    }
}

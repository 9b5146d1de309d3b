//! Printing deferred entry-wise equations (the `deferred` pass in `plan`): each row in two passes,
//! every entry with `elu`/`elu'` replaced by its cheap stand-in, then `recompute_where` redoes
//! exactly the entries that need the exact value, found through a 64-bit mask rather than a
//! branch per entry.

use super::{var, Gen, Helper};
use crate::ir::*;
use crate::plan::Deferred;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The two passes of a deferred equation, as expressions in the current access context.
struct Passes {
    /// The right-hand side with `f` replaced by its stand-in.
    cheap: TokenStream,
    /// The condition under which an entry needs the exact right-hand side.
    redo: TokenStream,
}

impl Gen<'_> {
    fn passes(&self, d: &Deferred) -> Passes {
        let elementwise = self.helper(Helper::Elementwise);
        let name = format_ident!(
            "{}",
            match d.func {
                Func::Elu => "elu_sign",
                Func::EluGrad => "elu_grad_sign",
                other => unreachable!("no stand-in for {other:?}"),
            }
        );
        let x = self.rust_expr(d.arg);
        let alpha = self.scalar(d.alpha);
        let f = quote!(#elementwise::#name(#x, #alpha));
        let qs = self.rust_expr(d.other);
        let cheap = if d.call_left {
            quote!((#f * #qs))
        } else {
            quote!((#qs * #f))
        };
        // `&`, not `&&`: both sides are cheap, and a short circuit would branch per entry.
        let mut redo = quote!(!(#x > T::ZERO));
        if let Some(m) = d.mask {
            let m = self.rust_expr(m);
            redo = quote!((#redo) & (#m != T::ZERO));
        }
        Passes { cheap, redo }
    }

    /// The body of `par_rows` filling `row`, the row of node `eq.vars[0]`, in two passes if `e`
    /// has the form above, else in one. Operand rows are sliced once, so that neither pass checks
    /// bounds per entry.
    pub(super) fn entrywise_row(
        &self,
        eq: &Equation,
        e: ExprId,
        deferred: Option<&crate::plan::Deferred>,
    ) -> TokenStream {
        let recompute_where = self.helper(Helper::RecomputeWhere);
        let width = self.width_expr(eq.lhs);
        let (n, f) = (eq.vars[0], eq.vars[1]);
        self.bound.borrow_mut().push(n);
        let slices = self.bind_slices(f, e);
        let fv = var(f);
        let code = match deferred.map(|d| self.passes(d)) {
            Some(Passes { cheap, redo }) => {
                let exact = self.rust_expr(e);
                quote! {
                    #slices
                    let row = &mut row[..#width];
                    for #fv in 0..#width { row[#fv] = #cheap; }
                    #recompute_where(row, |#fv| #redo, |#fv| #exact);
                }
            }
            None => {
                let value = self.rust_expr(e);
                quote! {
                    #slices
                    let row = &mut row[..#width];
                    for #fv in 0..#width { row[#fv] = #value; }
                }
            }
        };
        self.unbind_slices(f);
        self.bound.borrow_mut().retain(|v| *v != n);
        code
    }
}

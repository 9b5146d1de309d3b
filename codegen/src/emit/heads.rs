//! Printing head walks (the `head_walk` pass in `plan`): a node's in-edges are walked once, every
//! head's sum going to its own row of the kernel's scratch buffer, then the heads meet per output
//! entry in order.

use super::{dim, var, Gen};
use crate::ir::*;
use crate::plan::HeadWalk;
use proc_macro2::TokenStream;
use quote::quote;

impl Gen<'_> {
    /// The statements filling `row` (the row of node `eq.vars[0]`).
    pub(super) fn head_sums(&self, eq: &Equation, walk: &HeadWalk) -> TokenStream {
        let p = self.p;
        let (n, dense) = (eq.vars[0], &eq.vars[1..]);
        let (op, h, range, body) = (walk.op, walk.head, walk.gather.range, walk.gather.body);
        let rest = walk.rest;
        let VarKind::Dense(dh) = p.var(h).kind else {
            unreachable!("heads are a dense axis")
        };
        let (hv, dh, edge) = (var(h), dim(dh), range.var());
        let width = self.width_expr(eq.lhs);
        let at = self.local_offset(dense);

        self.bound.borrow_mut().push(n);
        let rows = self.bind_rows(body, edge);
        self.bound.borrow_mut().extend([edge, h]);
        self.enter_neighbourhood(range);
        let loops = self.dense_loops(dense, body, "nbh", &|g: &Self| {
            let (out, value) = (g.out_ref("nbh", dense), g.rust_expr(body));
            quote!(#out += #value;)
        });
        self.leave_neighbourhood(range);
        let inner = quote! {
            #rows
            for #hv in 0..#dh {
                let nbh = &mut nb[#hv * (#width)..(#hv + 1) * (#width)];
                #loops
            }
        };
        self.bound.borrow_mut().retain(|v| *v != edge && *v != h);
        self.unbind_rows(edge);
        let edges = self.gather_loop(&walk.gather, inner);

        let head_sum = match op {
            ReduceOp::Mean => quote! {{
                let mut acc = T::ZERO; let mut cnt = 0usize;
                for #hv in 0..#dh { cnt += 1; acc += nb[#hv * (#width) + #at]; }
                if cnt == 0 { T::ZERO } else { acc / T::of(cnt as f64) }
            }},
            _ => quote! {{
                let mut acc = T::ZERO;
                for #hv in 0..#dh { acc += nb[#hv * (#width) + #at]; }
                acc
            }},
        };
        let rest_expr = rest.map_or(body, |(r, _)| r);
        let fill = self.dense_loops(dense, rest_expr, "row", &|g: &Self| {
            let out = g.out_ref("row", dense);
            let value = match rest {
                None => head_sum.clone(),
                Some((r, false)) => {
                    let r = g.rust_expr(r);
                    quote!((#head_sum + #r))
                }
                Some((r, true)) => {
                    let r = g.rust_expr(r);
                    quote!((#r + #head_sum))
                }
            };
            quote!(#out = #value;)
        });
        self.bound.borrow_mut().retain(|v| *v != n);
        quote! {
            let hw = #dh * (#width);
            if scratch.len() < hw { scratch.resize(hw, T::ZERO); }
            let nb = &mut scratch[..hw];
            nb.iter_mut().for_each(|x| *x = T::ZERO);
            #edges
            #fill
        }
    }
}

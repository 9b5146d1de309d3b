//! Printing per-head block sums (the `block_sums` pass in `plan`): one flat loop over the `H·C`
//! terms into the kernel's scratch buffer, then one sum per head over its `C` terms
//! (`sum_blocks`). A loop per head over `C = 8` terms would be scalar.

use super::{dim, values, Gen, Helper, Slice};
use crate::ir::*;
use crate::plan::walk::collect_accesses;
use crate::plan::BlockSums;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

impl Gen<'_> {
    /// The statements filling `row` (the row of the visited edge) for a fused edge equation
    /// `s[e, h] = Σ_c body[h, c]`.
    pub(super) fn block_sums(&self, blocks: &BlockSums) -> TokenStream {
        let p = self.p;
        let sum_blocks = self.helper(Helper::SumBlocks);
        let (VarKind::Dense(dh), VarKind::Dense(dc)) =
            (p.var(blocks.head).kind, p.var(blocks.channel).kind)
        else {
            unreachable!("block sums run over dense axes")
        };
        let mut reads = Vec::new();
        collect_accesses(p, blocks.body, &mut reads);
        let mut binds = TokenStream::new();
        let mut bound = Vec::new();
        for r in reads {
            let Node::Access { tensor, at, dense } = p.arena.get(r).clone() else {
                continue;
            };
            if dense.is_empty() {
                continue;
            }
            let pos = at.map_or(quote!(0), |a| self.node_pos(a));
            let n = self.counter.get();
            self.counter.set(n + 1);
            let (base, slice, t) = (
                format_ident!("base{n}"),
                format_ident!("r{n}"),
                values(tensor),
            );
            binds.extend(quote!(let #base = (#pos) * w; let #slice = &#t[#base..#base + w];));
            self.slices.borrow_mut().insert(
                r,
                Slice {
                    read: quote!(#slice[kk]),
                    along: None,
                },
            );
            bound.push(r);
        }
        let term = self.rust_expr(blocks.body);
        let mut slices = self.slices.borrow_mut();
        for r in &bound {
            slices.remove(r);
        }
        let (h, c) = (dim(dh), dim(dc));
        quote! {
            let w = #h * #c;
            #binds
            if scratch.len() < w { scratch.resize(w, T::ZERO); }
            let buf = &mut scratch[..w];
            for kk in 0..w { buf[kk] = #term; }
            #sum_blocks(&mut row[..#h], buf, #c);
        }
    }
}

//! Where a read lands: the position of a node, the offset of an element, and the rows of a fused
//! loop's outputs that the visited target owns.

use super::*;

impl Gen<'_> {
    pub(super) fn node_pos(&self, at: At) -> TokenStream {
        match at {
            At::Node(v) | At::Edge(v) => {
                let v = var(v);
                quote!(#v)
            }
            At::Src(e) | At::Dst(e) => {
                let around = self
                    .neighbourhoods
                    .borrow()
                    .iter()
                    .rev()
                    .find(|r| r.var() == e)
                    .copied();
                match (around, at) {
                    (Some(Range::InEdges { of, .. }), At::Dst(_))
                    | (Some(Range::OutEdges { of, .. }), At::Src(_)) => return self.node_pos(of),
                    (Some(Range::OutEdges { .. }), At::Dst(_)) => {
                        let far = loops::far_end(e);
                        return quote!(#far);
                    }
                    _ => {}
                }
                let g = match self.p.var(e).kind {
                    VarKind::Edge(g) => g.0,
                    _ => 0,
                };
                let end = if matches!(at, At::Src(_)) {
                    "src"
                } else {
                    "dst"
                };
                let (ends, e) = (numbered(end, g), var(e));
                quote!((#ends[#e] as usize))
            }
        }
    }

    pub(super) fn access(&self, t: TensorId, at: Option<At>, dense: &[VarId]) -> TokenStream {
        let tensor = self.p.tensor(t);
        if let (true, Some(at)) = (self.fused.borrow().contains(&t), at) {
            let (row, offset) = (self.fused_row(t, at), self.row_offset(t, dense));
            return quote!(#row[#offset]);
        }
        let mut off = match at {
            Some(at) => self.node_pos(at),
            None => quote!(0),
        };
        for (&d, &v) in tensor.dims.iter().zip(dense) {
            let (d, v) = (dim(d), var(v));
            off = quote!((#off) * #d + #v);
        }
        let t = values(t);
        quote!(#t[#off])
    }

    /// The row at `at` of the fused output `t`: bound once (`q12_i21`), or fetched where it is read.
    pub(super) fn fused_row(&self, t: TensorId, at: At) -> TokenStream {
        match self.row_binds.borrow().get(&(t, at)) {
            Some(q) => quote!(#q),
            None => {
                let (o, pos) = (numbered("o", t.0), self.node_pos(at));
                quote!(#o.row(#pos))
            }
        }
    }

    /// Binds `let qT_iV = oT.row(..)` for the rows of fused outputs that `e` reads at a position
    /// given by variable `v` (just bound), so that loops inside index a slice.
    pub(super) fn bind_rows(&self, e: ExprId, v: VarId) -> TokenStream {
        if self.fused.borrow().is_empty() {
            return TokenStream::new();
        }
        let mut reads = Vec::new();
        collect_accesses(self.p, e, &mut reads);
        let mut binds = TokenStream::new();
        for r in reads {
            let Node::Access {
                tensor,
                at: Some(at),
                ..
            } = *self.p.arena.get(r)
            else {
                continue;
            };
            if at.var() != v
                || !self.fused.borrow().contains(&tensor)
                || self.row_binds.borrow().contains_key(&(tensor, at))
            {
                continue;
            }
            // One tensor is read at one kind of position (edge, target or node), so the
            // tensor and the variable name the row.
            let q = format_ident!("q{}_{}", tensor.0, var(v));
            let (o, pos) = (numbered("o", tensor.0), self.node_pos(at));
            binds.extend(quote!(let #q = #o.row(#pos);));
            self.row_binds.borrow_mut().insert((tensor, at), q);
        }
        binds
    }

    /// Enters the loop of a neighbourhood sum: reads at its edge's ends spell as [`node_pos`]
    /// says until [`leave_neighbourhood`].
    pub(super) fn enter_neighbourhood(&self, range: Range) {
        if matches!(range, Range::InEdges { .. } | Range::OutEdges { .. }) {
            self.neighbourhoods.borrow_mut().push(range);
        }
    }

    /// Leaves the loop [`enter_neighbourhood`] entered.
    pub(super) fn leave_neighbourhood(&self, range: Range) {
        if matches!(range, Range::InEdges { .. } | Range::OutEdges { .. }) {
            let left = self.neighbourhoods.borrow_mut().pop();
            debug_assert_eq!(left, Some(range), "neighbourhood loops nest");
        }
    }

    pub(super) fn unbind_rows(&self, v: VarId) {
        self.row_binds
            .borrow_mut()
            .retain(|(_, at), _| at.var() != v);
    }

    /// Offset of dense indices `dense` (a prefix of `t`'s dense axes) within a row of `t`.
    pub(super) fn row_offset(&self, t: TensorId, dense: &[VarId]) -> TokenStream {
        let mut off = quote!(0);
        for (&d, &v) in self.p.tensor(t).dims.iter().zip(dense) {
            let (d, v) = (dim(d), var(v));
            off = quote!((#off) * #d + #v);
        }
        off
    }
}

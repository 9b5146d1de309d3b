//! Element-wise equations over `[n, f]`: only the entries of a zero pattern, stored compactly,
//! when the output has one; otherwise every entry.

use super::*;

impl Gen<'_> {
    /// `T[n, f] = e` entry by entry. When `T` has a zero pattern, only its entries are computed and
    /// stored compactly, reading `[n, f]` operands through their compact layout; otherwise every
    /// entry, reading dense views.
    pub(super) fn entrywise(
        &self,
        eq: &Equation,
        e: ExprId,
        deferred: Option<&crate::plan::Deferred>,
    ) -> TokenStream {
        let compact_of = self.helper(Helper::Compact);
        let tensor_id = self.helper(Helper::TensorId);
        let par_entries = self.helper(Helper::ParEntries);
        let par_rows = self.helper(Helper::ParRows);
        let width = self.width_expr(eq.lhs);
        let (n, f) = (var(eq.vars[0]), var(eq.vars[1]));
        let mut reads = Vec::new();
        collect_accesses(self.p, e, &mut reads);
        let mut views = TokenStream::new();
        let (mut compact, mut other) = (Vec::new(), Vec::new());
        for r in reads {
            let Node::Access { tensor, at, dense } = self.p.arena.get(r) else {
                continue;
            };
            if *at != Some(At::Node(eq.vars[0])) || dense[..] != eq.vars[1..] {
                other.push(*tensor);
                continue;
            }
            let c = numbered("c", tensor.0);
            self.slices.borrow_mut().insert(
                r,
                Slice {
                    read: quote!(#c[k]),
                    along: None,
                },
            );
            if !compact.contains(tensor) {
                compact.push(*tensor);
                let t = values(*tensor);
                views.extend(quote!(let #c = #compact_of(pat, #t);));
            }
        }
        // Other reads of a compactable tensor (rare) see its dense layout.
        let mut viewed = Vec::new();
        for t in other {
            if self.compactable.contains(&t) && !viewed.contains(&t) {
                viewed.push(t);
                views.extend(self.dense_view(t));
            }
        }
        let sparse = self.rust_expr(e);
        self.slices.borrow_mut().clear();
        let row = self.entrywise_row(eq, e, deferred);
        let (lhs, dense_views) = (int(eq.lhs.index()), self.dense_views(eq));
        quote! {
            match b.sparse.get(&#tensor_id(#lhs)) {
                Some(pat) => { #views #par_entries(pat, &mut out, |#n, #f, k| #sparse); }
                None => { #dense_views #par_rows(&mut out, #width, |row_id, row| { let #n = row_id; #row }); }
            }
        }
    }
}

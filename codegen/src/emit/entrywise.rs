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
    ) -> String {
        let compact_of = self.helper(Helper::Compact);
        let dense_view = self.helper(Helper::DenseView);
        let tensor_id = self.helper(Helper::TensorId);
        let par_entries = self.helper(Helper::ParEntries);
        let par_rows = self.helper(Helper::ParRows);
        let width = self.width_expr(eq.lhs);
        let (n, f) = (var(eq.vars[0]), var(eq.vars[1]));
        let mut reads = Vec::new();
        collect_accesses(self.p, e, &mut reads);
        let mut views = String::new();
        let (mut compact, mut other) = (Vec::new(), Vec::new());
        for r in reads {
            let Node::Access { tensor, at, dense } = self.p.arena.get(r) else {
                continue;
            };
            if *at != Some(At::Node(eq.vars[0])) || dense[..] != eq.vars[1..] {
                other.push(*tensor);
                continue;
            }
            self.slices
                .borrow_mut()
                .insert(r, format!("c{}[k]", tensor.0));
            if !compact.contains(tensor) {
                compact.push(*tensor);
                let _ = writeln!(views, "let c{0} = {compact_of}(pat, t{0});", tensor.0);
            }
        }
        // Other reads of a compactable tensor (rare) see its dense layout.
        for t in other {
            if self.compactable.contains(&t) && !views.contains(&format!("let t{}_dense", t.0)) {
                let _ = writeln!(
                    views,
                    "let t{0}_dense = {dense_view}(b, {tensor_id}({0}), t{0}); let t{0} = &t{0}_dense[..];",
                    t.0
                );
            }
        }
        let sparse = self.rust_expr(e);
        self.slices.borrow_mut().clear();
        let row = self.entrywise_row(eq, e, deferred);
        format!(
            "match b.sparse.get(&{tensor_id}({lhs})) {{\nSome(pat) => {{ {views}{par_entries}(pat, &mut out, |{n}, {f}, k| {sparse}); }}\nNone => {{ {dviews}{par_rows}(&mut out, {width}, |row_id, row| {{ let {n} = row_id; {row} }}); }}\n}}\n",
            lhs = eq.lhs.0,
            dviews = self.dense_views(eq),
        )
    }
}

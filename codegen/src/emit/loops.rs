//! Loop nests: node and edge rows with their neighbourhood sums (edges outside, features inside),
//! dense loops with reads along the innermost axis bound to row slices, and loops over a range.

use super::*;

impl Gen<'_> {
    /// The code filling `row`, the output row of `eq.vars[0]` (a node or an edge bound by the
    /// caller), for a node or edge equation `eq` with right-hand side `e`: with `gathers`, the
    /// `rest` of the terms first, then each neighbourhood sum with its edges outside.
    pub(super) fn row_body(
        &self,
        eq: &Equation,
        e: ExprId,
        gathers: &[Gather],
        rest: &[ExprId],
    ) -> TokenStream {
        let dense = &eq.vars[1..];
        self.bound.borrow_mut().push(eq.vars[0]);
        let code = if gathers.is_empty() {
            self.dense_loops(dense, e, "row", &|g: &Self| {
                let (out, value) = (g.out_ref("row", dense), g.rust_expr(e));
                quote!(#out = #value;)
            })
        } else {
            // Edges outside, features inside (SpMM order): each neighbour's row is read
            // once, contiguously, instead of once per output feature.
            let mut code = match rest.first() {
                Some(&first) => self.dense_loops(dense, first, "row", &|g: &Self| {
                    let out = g.out_ref("row", dense);
                    let mut terms = rest.iter().map(|t| g.rust_expr(*t));
                    let first = terms.next();
                    quote!(#out = #first #(+ #terms)*;)
                }),
                None => quote!(row.iter_mut().for_each(|x| *x = T::ZERO);),
            };
            for gather in gathers {
                let (range, body) = (gather.range, gather.body);
                let rows = self.bind_rows(body, range.var());
                self.bound.borrow_mut().push(range.var());
                self.enter_neighbourhood(range);
                let loops = self.dense_loops(dense, body, "row", &|g: &Self| {
                    let (out, value) = (g.out_ref("row", dense), g.rust_expr(body));
                    quote!(#out += #value;)
                });
                self.leave_neighbourhood(range);
                self.bound.borrow_mut().retain(|v| *v != range.var());
                self.unbind_rows(range.var());
                code.extend(self.gather_loop(gather, quote!(#rows #loops)));
            }
            code
        };
        self.bound.borrow_mut().clear();
        code
    }

    /// Nested loops over dense variables around the code `inner` makes; reads along the innermost
    /// variable become row slices bound before the innermost loop.
    pub(super) fn dense_loops(
        &self,
        vars: &[VarId],
        e: ExprId,
        target: &str,
        inner: &dyn Fn(&Self) -> TokenStream,
    ) -> TokenStream {
        let target = local(target);
        let dense: Vec<VarId> = vars
            .iter()
            .copied()
            .filter(|v| matches!(self.p.var(*v).kind, VarKind::Dense(_)))
            .collect();
        // Each loop with what precedes it inside the loop around it, outermost first.
        let mut loops = Vec::new();
        for (k, v) in dense.iter().enumerate() {
            let VarKind::Dense(d) = self.p.var(*v).kind else {
                continue;
            };
            let d = dim(d);
            let mut before = TokenStream::new();
            if k + 1 == dense.len() {
                before.extend(self.bind_slices(*v, e));
                // The output row along the innermost axis, so that indexing needs no bound checks.
                let prefix = self.local_offset(&dense[..k]);
                before.extend(quote! {
                    let ob = (#prefix) * #d; let orow = &mut #target[ob..ob + #d];
                });
                self.out_slice.set(Some(*v));
            }
            self.bound.borrow_mut().push(*v);
            loops.push((before, var(*v), d));
        }
        let mut code = inner(self);
        self.out_slice.set(None);
        for v in &dense {
            self.bound.borrow_mut().retain(|x| x != v);
            self.unbind_slices(*v);
        }
        for (before, v, d) in loops.into_iter().rev() {
            code = quote! {
                #before
                for #v in 0..#d {
                    #code
                }
            };
        }
        code
    }

    /// Binds `let rK = &tT[base..base + d]` for reads in `e` whose last index is the loop variable
    /// `v` and whose other indices are fixed outside the loop.
    pub(super) fn bind_slices(&self, v: VarId, e: ExprId) -> TokenStream {
        let VarKind::Dense(dv) = self.p.var(v).kind else {
            return TokenStream::new();
        };
        let dv = dim(dv);
        let mut reads = Vec::new();
        collect_reads(self.p, e, v, &mut reads);
        let bound = self.bound.borrow().clone();
        let mut binds = TokenStream::new();
        for r in reads {
            if self.slices.borrow().contains_key(&r) {
                continue;
            }
            let Node::Access { tensor, at, dense } = self.p.arena.get(r).clone() else {
                continue;
            };
            let outside = at.map(|a| bound.contains(&a.var())).unwrap_or(true)
                && dense[..dense.len() - 1].iter().all(|x| bound.contains(x));
            if !outside {
                continue;
            }
            let n = self.counter.get();
            self.counter.set(n + 1);
            let (base, slice) = (format_ident!("base{n}"), format_ident!("r{n}"));
            let (off, row) = if let (true, Some(at)) = (self.fused.borrow().contains(&tensor), at) {
                // A row of the fused loop's outputs, owned by the target being visited.
                let off = self.row_offset(tensor, &dense[..dense.len() - 1]);
                (off, self.fused_row(tensor, at))
            } else {
                let t = self.p.tensor(tensor);
                let mut off = match at {
                    Some(at) => self.node_pos(at),
                    None => quote!(0),
                };
                for (&d, &x) in t.dims.iter().zip(&dense[..dense.len() - 1]) {
                    let (d, x) = (dim(d), var(x));
                    off = quote!((#off) * #d + #x);
                }
                let t = values(tensor);
                (off, quote!(#t))
            };
            binds.extend(quote! {
                let #base = (#off) * #dv; let #slice = &#row[#base..#base + #dv];
            });
            let i = var(v);
            self.slices.borrow_mut().insert(
                r,
                Slice {
                    read: quote!(#slice[#i]),
                    along: Some(v),
                },
            );
        }
        binds
    }

    pub(super) fn unbind_slices(&self, v: VarId) {
        self.slices.borrow_mut().retain(|_, s| s.along != Some(v));
    }

    /// The output element for dense variables `vars` of `target` (`row`, `acc` or `out`): the
    /// innermost output slice when one is bound.
    pub(super) fn out_ref(&self, target: &str, vars: &[VarId]) -> TokenStream {
        match (self.out_slice.get(), vars.last()) {
            (Some(v), Some(last)) if v == *last => {
                let v = var(v);
                quote!(orow[#v])
            }
            _ => {
                let (target, off) = (local(target), self.local_offset(vars));
                quote!(#target[#off])
            }
        }
    }

    /// Row-major offset of dense variables (within a row).
    pub(super) fn local_offset(&self, vars: &[VarId]) -> TokenStream {
        let mut off = quote!(0);
        for &v in vars {
            if let VarKind::Dense(d) = self.p.var(v).kind {
                let (d, v) = (dim(d), var(v));
                off = quote!((#off) * #d + #v);
            }
        }
        off
    }

    pub(super) fn range_loop(&self, range: Range, body: TokenStream) -> TokenStream {
        match range {
            Range::Dense(v) => {
                let VarKind::Dense(d) = self.p.var(v).kind else {
                    return TokenStream::new();
                };
                let (v, d) = (var(v), dim(d));
                quote!(for #v in 0..#d { #body })
            }
            Range::InEdges { edge, of } => {
                let g = match self.p.var(edge).kind {
                    VarKind::Edge(g) => g,
                    _ => GraphId(0),
                };
                let (g, of, edge) = (graph(g), self.node_pos(of), var(edge));
                quote!(for &ee in #g.in_edges(#of) { let #edge = ee as usize; #body })
            }
            Range::OutEdges { edge, of } => self.out_edges_loop(edge, of, TokenStream::new(), body),
            Range::AllNodes(v) => {
                let v = var(v);
                quote!(for #v in 0..nn { #body })
            }
            Range::AllEdges(v) => {
                let g = match self.p.var(v).kind {
                    VarKind::Edge(g) => g,
                    _ => GraphId(0),
                };
                let (g, v) = (graph(g), var(v));
                quote!(for #v in 0..#g.num_edges() { #body })
            }
        }
    }

    /// A loop over a neighbourhood; when it reads node rows at the far end of each edge (random
    /// rows: the sources of a target's in-edges, the targets of a node's out-edges), the rows of
    /// the edge a few places ahead in the CSR index are prefetched, so several cache misses overlap.
    pub(super) fn gather_loop(&self, gather: &Gather, inner: TokenStream) -> TokenStream {
        let (edge, of) = match gather.range {
            _ if gather.prefetch.is_empty() && gather.prefetch_edges.is_empty() => {
                return self.range_loop(gather.range, inner)
            }
            Range::InEdges { edge, of } | Range::OutEdges { edge, of } => (edge, of),
            _ => unreachable!("only neighbourhood sums prefetch"),
        };
        let VarKind::Edge(g) = self.p.var(edge).kind else {
            unreachable!("a neighbourhood runs over edges")
        };
        let prefetch_distance = self.helper(Helper::PrefetchDistance);
        // The edges of consecutive nodes are consecutive in the CSR index, so looking ahead in it
        // also covers the first edges of the next node.
        if let Range::OutEdges { .. } = gather.range {
            // The far ends in by-source order: read sequentially, for the row and the prefetch.
            // Edge tensors are stored in target order, so their rows are random here too.
            let fetch = self.prefetch_rows(&gather.prefetch, quote!((pj as usize)));
            let fetch_edges = self.prefetch_rows(&gather.prefetch_edges, quote!((pe as usize)));
            let ahead = quote! {
                if let Some(&pj) = far.get(k + #prefetch_distance) { #fetch }
                if let Some(&pe) = list.get(k + #prefetch_distance) { #fetch_edges }
            };
            return self.out_edges_loop(edge, of, ahead, inner);
        }
        let fetch = self.prefetch_at(&gather.prefetch, g, End::Src, quote!(pe as usize));
        let (n, g, edge) = (self.node_pos(of), graph(g), var(edge));
        quote! {
            let (ptr, list) = #g.in_csr();
            for k in ptr[#n]..ptr[#n + 1] {
                if let Some(&pe) = list.get(k + #prefetch_distance) { #fetch }
                let #edge = list[k] as usize;
                #inner
            }
        }
    }

    /// A loop over the out-edges of `of` in the by-source CSR index, binding the edge and its far
    /// end (read in by-source order, [`far_end`]); `ahead` comes first in each iteration.
    fn out_edges_loop(
        &self,
        edge: VarId,
        of: At,
        ahead: TokenStream,
        body: TokenStream,
    ) -> TokenStream {
        let g = match self.p.var(edge).kind {
            VarKind::Edge(g) => g,
            _ => GraphId(0),
        };
        let (g, of, far) = (graph(g), self.node_pos(of), far_end(edge));
        let edge = var(edge);
        quote! {
            let (ptr, list) = #g.out_csr();
            let far = #g.out_targets();
            for k in ptr[#of]..ptr[#of + 1] {
                #ahead
                let #edge = list[k] as usize;
                let #far = far[k] as usize;
                #body
            }
        }
    }
}

/// The local holding the far end (the target) of edge `edge` in a loop over a node's out-edges.
pub(super) fn far_end(edge: VarId) -> Ident {
    numbered("far", edge.0)
}

/// Reads in `e` whose last dense index is `v`, not looking inside loops that rebind `v`.
pub(super) fn collect_reads(p: &Program, e: ExprId, v: VarId, out: &mut Vec<ExprId>) {
    match p.arena.get(e) {
        Node::Access { dense, .. } if dense.last() == Some(&v) => {
            if !out.contains(&e) {
                out.push(e)
            }
        }
        Node::Reduce { range, .. } if range.var() == v => {}
        _ => {
            for c in p.arena.children(e) {
                collect_reads(p, c, v, out);
            }
        }
    }
}

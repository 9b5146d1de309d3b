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
    ) -> String {
        let dense = &eq.vars[1..];
        self.bound.borrow_mut().push(eq.vars[0]);
        let s = if gathers.is_empty() {
            self.dense_loops(dense, e, "row", &|g: &Self| {
                format!("{} = {};", g.out_ref("row", dense), g.rust_expr(e))
            })
        } else {
            // Edges outside, features inside (SpMM order): each neighbour's row is read
            // once, contiguously, instead of once per output feature.
            let mut s = match rest.first() {
                Some(&first) => self.dense_loops(dense, first, "row", &|g: &Self| {
                    let sum: Vec<String> = rest.iter().map(|t| g.rust_expr(*t)).collect();
                    format!("{} = {};", g.out_ref("row", dense), sum.join(" + "))
                }),
                None => "row.iter_mut().for_each(|x| *x = T::ZERO);\n".to_string(),
            };
            for gather in gathers {
                let (range, body) = (gather.range, gather.body);
                let mut inner = self.bind_rows(body, range.var());
                self.bound.borrow_mut().push(range.var());
                inner += &self.dense_loops(dense, body, "row", &|g: &Self| {
                    format!("{} += {};", g.out_ref("row", dense), g.rust_expr(body))
                });
                self.bound.borrow_mut().retain(|v| *v != range.var());
                self.unbind_rows(range.var());
                s.push_str(&self.gather_loop(gather, &inner));
                s.push('\n');
            }
            s
        };
        self.bound.borrow_mut().clear();
        s
    }

    /// Nested loops over dense variables around the code `inner` makes; reads along the innermost
    /// variable become row slices bound before the innermost loop.
    pub(super) fn dense_loops(
        &self,
        vars: &[VarId],
        e: ExprId,
        target: &str,
        inner: &dyn Fn(&Self) -> String,
    ) -> String {
        let mut s = String::new();
        let dense: Vec<VarId> = vars
            .iter()
            .copied()
            .filter(|v| matches!(self.p.var(*v).kind, VarKind::Dense(_)))
            .collect();
        for (k, v) in dense.iter().enumerate() {
            let VarKind::Dense(d) = self.p.var(*v).kind else {
                continue;
            };
            if k + 1 == dense.len() {
                s.push_str(&self.bind_slices(*v, e));
                // The output row along the innermost axis, so that indexing needs no bound checks.
                let prefix = self.local_offset(&dense[..k]);
                let _ = writeln!(
                    s,
                    "let ob = ({prefix}) * d{0}; let orow = &mut {target}[ob..ob + d{0}];",
                    d.0
                );
                self.out_slice.set(Some(*v));
            }
            self.bound.borrow_mut().push(*v);
            let _ = writeln!(s, "for {} in 0..d{} {{", var(*v), d.0);
        }
        let body = inner(self);
        self.out_slice.set(None);
        s.push_str(&body);
        if !dense.is_empty() {
            s.push('\n');
        }
        for v in &dense {
            s.push_str("}\n");
            self.bound.borrow_mut().retain(|x| x != v);
            self.unbind_slices(*v);
        }
        s
    }

    /// Binds `let rK = &tT[base..base + d]` for reads in `e` whose last index is the loop variable
    /// `v` and whose other indices are fixed outside the loop.
    pub(super) fn bind_slices(&self, v: VarId, e: ExprId) -> String {
        let VarKind::Dense(dv) = self.p.var(v).kind else {
            return String::new();
        };
        let mut reads = Vec::new();
        collect_reads(self.p, e, v, &mut reads);
        let bound = self.bound.borrow().clone();
        let mut s = String::new();
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
            if let (true, Some(at)) = (self.fused.borrow().contains(&tensor), at) {
                // A row of the fused loop's outputs, owned by the target being visited.
                let off = self.row_offset(tensor, &dense[..dense.len() - 1]);
                let _ = writeln!(
                    s,
                    "let base{n} = ({off}) * d{}; let r{n} = &{}[base{n}..base{n} + d{}];",
                    dv.0,
                    self.fused_row(tensor, at),
                    dv.0
                );
            } else {
                let t = self.p.tensor(tensor);
                let mut off = match at {
                    Some(at) => self.node_pos(at),
                    None => "0".into(),
                };
                for (d, x) in t.dims.iter().zip(&dense[..dense.len() - 1]) {
                    off = format!("({off}) * d{} + {}", d.0, var(*x));
                }
                let _ = writeln!(
                    s,
                    "let base{n} = ({off}) * d{}; let r{n} = &t{}[base{n}..base{n} + d{}];",
                    dv.0, tensor.0, dv.0
                );
            }
            self.slices
                .borrow_mut()
                .insert(r, format!("r{n}[{}]", var(v)));
        }
        s
    }

    pub(super) fn unbind_slices(&self, v: VarId) {
        let suffix = format!("[{}]", var(v));
        self.slices
            .borrow_mut()
            .retain(|_, s| !s.ends_with(&suffix));
    }

    /// The output element for dense variables `vars` of `target` (`row`, `acc` or `out`): the
    /// innermost output slice when one is bound.
    pub(super) fn out_ref(&self, target: &str, vars: &[VarId]) -> String {
        match (self.out_slice.get(), vars.last()) {
            (Some(v), Some(last)) if v == *last => format!("orow[{}]", var(v)),
            _ => format!("{target}[{}]", self.local_offset(vars)),
        }
    }

    /// Row-major offset of dense variables (within a row).
    pub(super) fn local_offset(&self, vars: &[VarId]) -> String {
        let mut off = "0".to_string();
        for v in vars {
            if let VarKind::Dense(d) = self.p.var(*v).kind {
                off = format!("({off}) * d{} + {}", d.0, var(*v));
            }
        }
        off
    }

    pub(super) fn range_loop(&self, range: Range, body: &str) -> String {
        match range {
            Range::Dense(v) => {
                let VarKind::Dense(d) = self.p.var(v).kind else {
                    return String::new();
                };
                format!("for {} in 0..d{} {{ {body} }}", var(v), d.0)
            }
            Range::InEdges { edge, of } | Range::OutEdges { edge, of } => {
                let g = match self.p.var(edge).kind {
                    VarKind::Edge(g) => g.0,
                    _ => 0,
                };
                let list = if matches!(range, Range::InEdges { .. }) {
                    "in_edges"
                } else {
                    "out_edges"
                };
                format!(
                    "for &ee in g{g}.{list}({}) {{ let {} = ee as usize; {body} }}",
                    self.node_pos(of),
                    var(edge)
                )
            }
            Range::AllNodes(v) => format!("for {} in 0..nn {{ {body} }}", var(v)),
            Range::AllEdges(v) => {
                let g = match self.p.var(v).kind {
                    VarKind::Edge(g) => g.0,
                    _ => 0,
                };
                format!("for {} in 0..g{g}.num_edges() {{ {body} }}", var(v))
            }
        }
    }

    /// A loop over a neighbourhood; when it reads node rows at the far end of each edge (random
    /// rows: the sources of a target's in-edges, the targets of a node's out-edges), the rows of
    /// the edge a few places ahead in the CSR index are prefetched, so several cache misses overlap.
    pub(super) fn gather_loop(&self, gather: &Gather, inner: &str) -> String {
        let (edge, end, csr, of) = match gather.range {
            _ if gather.prefetch.is_empty() => return self.range_loop(gather.range, inner),
            Range::InEdges { edge, of } => (edge, End::Src, "in_csr", of),
            Range::OutEdges { edge, of } => (edge, End::Dst, "out_csr", of),
            _ => unreachable!("only neighbourhood sums prefetch"),
        };
        let VarKind::Edge(g) = self.p.var(edge).kind else {
            unreachable!("a neighbourhood runs over edges")
        };
        // The edges of consecutive nodes are consecutive in the CSR index, so looking ahead in it
        // also covers the first edges of the next node.
        format!(
            "let (ptr, list) = g{g}.{csr}(); \
             for k in ptr[{n}]..ptr[{n} + 1] {{ \
             if let Some(&pe) = list.get(k + {prefetch_distance}) {{ {fetch} }} \
             let {} = list[k] as usize; {inner} }}",
            var(edge),
            g = g.0,
            prefetch_distance = self.helper(Helper::PrefetchDistance),
            fetch = self.prefetch_at(&gather.prefetch, g, end, "pe as usize"),
            n = self.node_pos(of),
        )
    }
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

//! Per-head sums in fused runs: an edge equation `s[e, h] = Σ_c body[h, c]` whose reads along
//! `(h, c)` are contiguous `[h, c]` blocks (`att[h, c]`, `xl[j, h, c]`, `xr[i, h, c]`) is
//! evaluated as one flat loop over the `H·C` terms (vectorised) into the run's scratch buffer,
//! then one sum per head over its `C` terms (`sum_blocks`). Each head's sum starts from zero and
//! adds the same terms in the same order as a loop per head, so the bits are the same; a loop per
//! head over `C = 8` terms is scalar.

use super::{has_reduce, Gen};
use crate::ir::*;
use std::fmt::Write;

impl Gen<'_> {
    /// The statements filling `row` (the row of the edge `eq.vars[0]`) for a fused edge equation
    /// of that form; `None` for any other form.
    pub(super) fn block_sums(&self, eq: &Equation, e: ExprId) -> Option<String> {
        let p = self.p;
        let pv = self.pv();
        let &[edge, h] = &eq.vars[..] else {
            return None;
        };
        let Node::Reduce {
            op: ReduceOp::Sum,
            range: Range::Dense(c),
            body,
        } = *p.arena.get(e)
        else {
            return None;
        };
        let (VarKind::Dense(dh), VarKind::Dense(dc)) = (p.var(h).kind, p.var(c).kind) else {
            return None;
        };
        if has_reduce(p, body) {
            return None;
        }
        let mut reads = Vec::new();
        super::collect_accesses(p, body, &mut reads);
        let mut binds = String::new();
        let mut bound = Vec::new();
        for r in reads {
            let Node::Access { tensor, at, dense } = p.arena.get(r).clone() else {
                continue;
            };
            if dense.is_empty() {
                continue;
            }
            if dense[..] != [h, c]
                || at.is_some_and(|a| a.var() != edge)
                || self.fused.borrow().contains(&tensor)
            {
                self.forget(&bound);
                return None;
            }
            let pos = at.map_or("0".to_string(), |a| self.node_pos(a));
            let n = self.counter.get();
            self.counter.set(n + 1);
            let _ = writeln!(
                binds,
                "let base{n} = ({pos}) * w; let r{n} = &t{}[base{n}..base{n} + w];",
                tensor.0
            );
            self.slices.borrow_mut().insert(r, format!("r{n}[kk]"));
            bound.push(r);
        }
        let term = self.ex(body);
        self.forget(&bound);
        Some(format!(
            "let w = d{h} * d{c};\n{binds}if scratch.len() < w {{ scratch.resize(w, T::ZERO); }}\nlet buf = &mut scratch[..w];\nfor kk in 0..w {{ buf[kk] = {term}; }}\n{pv}::sum_blocks(&mut row[..d{h}], buf, d{c});\n",
            h = dh.0,
            c = dc.0,
        ))
    }

    fn forget(&self, reads: &[ExprId]) {
        let mut slices = self.slices.borrow_mut();
        for r in reads {
            slices.remove(r);
        }
    }
}

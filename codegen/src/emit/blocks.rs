//! Printing per-head block sums (the `block_sums` pass in `plan`): one flat loop over the `H·C`
//! terms into the kernel's scratch buffer, then one sum per head over its `C` terms
//! (`sum_blocks`). A loop per head over `C = 8` terms would be scalar.

use super::{Gen, Helper};
use crate::ir::*;
use crate::plan::walk::collect_accesses;
use crate::plan::BlockSums;
use std::fmt::Write;

impl Gen<'_> {
    /// The statements filling `row` (the row of the visited edge) for a fused edge equation
    /// `s[e, h] = Σ_c body[h, c]`.
    pub(super) fn block_sums(&self, blocks: &BlockSums) -> String {
        let p = self.p;
        let sum_blocks = self.helper(Helper::SumBlocks);
        let (VarKind::Dense(dh), VarKind::Dense(dc)) =
            (p.var(blocks.head).kind, p.var(blocks.channel).kind)
        else {
            unreachable!("block sums run over dense axes")
        };
        let mut reads = Vec::new();
        collect_accesses(p, blocks.body, &mut reads);
        let mut binds = String::new();
        let mut bound = Vec::new();
        for r in reads {
            let Node::Access { tensor, at, dense } = p.arena.get(r).clone() else {
                continue;
            };
            if dense.is_empty() {
                continue;
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
        let term = self.rust_expr(blocks.body);
        let mut slices = self.slices.borrow_mut();
        for r in &bound {
            slices.remove(r);
        }
        format!(
            "let w = d{h} * d{c};\n{binds}if scratch.len() < w {{ scratch.resize(w, T::ZERO); }}\nlet buf = &mut scratch[..w];\nfor kk in 0..w {{ buf[kk] = {term}; }}\n{sum_blocks}(&mut row[..d{h}], buf, d{c});\n",
            h = dh.0,
            c = dc.0,
        )
    }
}

//! Printing head walks (the `head_walk` pass in `plan`): a node's in-edges are walked once, every
//! head's sum going to its own row of the kernel's scratch buffer, then the heads meet per output
//! entry in order.

use super::{var, Gen};
use crate::ir::*;
use crate::plan::HeadWalk;

impl Gen<'_> {
    /// The statements filling `row` (the row of node `eq.vars[0]`).
    pub(super) fn head_sums(&self, eq: &Equation, walk: &HeadWalk) -> String {
        let p = self.p;
        let (n, dense) = (eq.vars[0], &eq.vars[1..]);
        let (op, h, range, body) = (walk.op, walk.head, walk.gather.range, walk.gather.body);
        let rest = walk.rest;
        let VarKind::Dense(dh) = p.var(h).kind else {
            unreachable!("heads are a dense axis")
        };
        let (hv, edge) = (var(h), range.var());
        let width = self.width_expr(eq.lhs);
        let at = self.local_offset(dense);

        self.bound.borrow_mut().push(n);
        let mut inner = self.bind_rows(body, edge);
        self.bound.borrow_mut().extend([edge, h]);
        inner += &format!(
            "for {hv} in 0..d{dh} {{\nlet nbh = &mut nb[{hv} * ({width})..({hv} + 1) * ({width})];\n",
            dh = dh.0
        );
        inner += &self.dense_loops(dense, body, "nbh", &|g: &Self| {
            format!("{} += {};", g.out_ref("nbh", dense), g.rust_expr(body))
        });
        inner += "}\n";
        self.bound.borrow_mut().retain(|v| *v != edge && *v != h);
        self.unbind_rows(edge);
        let edges = self.gather_loop(&walk.gather, &inner);

        let head_sum = match op {
            ReduceOp::Mean => format!(
                "{{ let mut acc = T::ZERO; let mut cnt = 0usize; for {hv} in 0..d{dh} {{ cnt += 1; acc += nb[{hv} * ({width}) + {at}]; }} if cnt == 0 {{ T::ZERO }} else {{ acc / T::of(cnt as f64) }} }}",
                dh = dh.0
            ),
            _ => format!(
                "{{ let mut acc = T::ZERO; for {hv} in 0..d{dh} {{ acc += nb[{hv} * ({width}) + {at}]; }} acc }}",
                dh = dh.0
            ),
        };
        let rest_expr = rest.map_or(body, |(r, _)| r);
        let fill = self.dense_loops(dense, rest_expr, "row", &|g: &Self| {
            let value = match rest {
                None => head_sum.clone(),
                Some((r, false)) => format!("({head_sum} + {})", g.rust_expr(r)),
                Some((r, true)) => format!("({} + {head_sum})", g.rust_expr(r)),
            };
            format!("{} = {value};", g.out_ref("row", dense))
        });
        self.bound.borrow_mut().retain(|v| *v != n);
        format!(
            "let hw = d{dh} * ({width});\nif scratch.len() < hw {{ scratch.resize(hw, T::ZERO); }}\nlet nb = &mut scratch[..hw];\nnb.iter_mut().for_each(|x| *x = T::ZERO);\n{edges}\n{fill}",
            dh = dh.0
        )
    }
}

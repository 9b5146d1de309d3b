//! Node equations of a fused run that reduce over heads a sum over the node's in-edges,
//! `out[i, c] = mean_h Σ_{j → i} body[h, c] (+ rest)` (GATv2Conv with `concat=False`), with
//! the edges outside: each in-edge's rows are read once, and every head's sum goes to its own
//! row of the run's scratch buffer. The sums then meet per output entry as before: each head's sum
//! starts from zero and adds the edges in CSR order, heads are added in order from zero and the
//! mean divides by their count — the same bits as heads outside, which walk the edges once per
//! head and output entry.

use super::{has_reduce, var, Gen};
use crate::ir::*;

impl Gen<'_> {
    /// The statements filling `row` (the row of node `eq.vars[0]`) when `e` has that form.
    pub(super) fn head_sums(&self, eq: &Equation, e: ExprId) -> Option<String> {
        let p = self.p;
        let (n, dense) = (eq.vars[0], &eq.vars[1..]);
        if dense.is_empty() {
            return None;
        }
        // `e` is the head reduction, or the head reduction plus a term without reductions.
        let heads = |x: ExprId| match *p.arena.get(x) {
            Node::Reduce {
                op: op @ (ReduceOp::Mean | ReduceOp::Sum),
                range: Range::Dense(h),
                body,
            } => match *p.arena.get(body) {
                Node::Reduce {
                    op: ReduceOp::Sum,
                    range:
                        range @ Range::InEdges {
                            of: At::Node(of), ..
                        },
                    body,
                } if of == n && !dense.contains(&h) && !has_reduce(p, body) => {
                    Some((op, h, range, body))
                }
                _ => None,
            },
            _ => None,
        };
        let (reduction, rest) = match *p.arena.get(e) {
            Node::Add(a, b) => match (heads(a), heads(b)) {
                (Some(r), None) if !has_reduce(p, b) => (r, Some((b, false))),
                (None, Some(r)) if !has_reduce(p, a) => (r, Some((a, true))),
                _ => return None,
            },
            _ => (heads(e)?, None),
        };
        let (op, h, range, body) = reduction;
        let VarKind::Dense(dh) = p.var(h).kind else {
            return None;
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
            format!("{} += {};", g.out_ref("nbh", dense), g.ex(body))
        });
        inner += "}\n";
        self.bound.borrow_mut().retain(|v| *v != edge && *v != h);
        self.unbind_rows(edge);
        let edges = self.gather_loop(range, body, &inner);

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
                Some((r, false)) => format!("({head_sum} + {})", g.ex(r)),
                Some((r, true)) => format!("({} + {head_sum})", g.ex(r)),
            };
            format!("{} = {value};", g.out_ref("row", dense))
        });
        self.bound.borrow_mut().retain(|v| *v != n);
        Some(format!(
            "let hw = d{dh} * ({width});\nif scratch.len() < hw {{ scratch.resize(hw, T::ZERO); }}\nlet nb = &mut scratch[..hw];\nnb.iter_mut().for_each(|x| *x = T::ZERO);\n{edges}\n{fill}",
            dh = dh.0
        ))
    }
}

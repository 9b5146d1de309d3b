//! Entry-wise node equations `q · f(x)` (or `f(x) · q`) where `f` is `elu` or `elu'`, whose
//! `x ≤ 0` branch calls `exp`/`expm1` (10–15 ns per entry in libm). Each row is evaluated in two
//! passes:
//!
//! 1. every entry with `f` replaced by a cheap stand-in (`f::elu_sign`, `f::elu_grad_sign`), exact
//!    where `x > 0`; elsewhere of the same sign and class as `f(x)`, so its product with a zero has
//!    the same bits;
//! 2. the entries that need the exact value recomputed: `x ≤ 0` (or NaN), and, when `q` has a
//!    dropout mask among its factors, only where that mask is non-zero (elsewhere `q` is ±0 or
//!    NaN, and so is the product, whatever `f(x)` is).
//!
//! After dropout 0.6 that is one entry in five instead of every one, and the recomputation does
//! not branch per entry (see `recompute_where`). The results are the same bits as one pass.

use super::{var, Gen};
use crate::ir::*;

/// The two passes of a deferred equation, as expressions in the current access context.
pub(super) struct Deferred {
    /// The right-hand side with `f` replaced by its stand-in.
    pub cheap: String,
    /// The condition under which an entry needs the exact right-hand side.
    pub redo: String,
}

impl Gen<'_> {
    /// The two passes of the entry-wise right-hand side `e` of `eq`, if it has that form.
    pub(super) fn deferred(&self, eq: &Equation, e: ExprId) -> Option<Deferred> {
        let p = self.p;
        let pv = self.pv();
        let Node::Mul(l, r) = *p.arena.get(e) else {
            return None;
        };
        let stand_in = |x: ExprId| match *p.arena.get(x) {
            Node::Call(Func::Elu, a, Some(s)) => Some(("elu_sign", a, s)),
            Node::Call(Func::EluGrad, a, Some(s)) => Some(("elu_grad_sign", a, s)),
            _ => None,
        };
        let (call, q, call_left) = match (stand_in(l), stand_in(r)) {
            (Some(c), _) => (c, r, true),
            (None, Some(c)) => (c, l, false),
            (None, None) => return None,
        };
        let (name, arg, alpha) = call;
        let x = self.ex(arg);
        let f = format!("{pv}::f::{name}({x}, {})", self.scalar(alpha));
        let qs = self.ex(q);
        let cheap = if call_left {
            format!("({f} * {qs})")
        } else {
            format!("({qs} * {f})")
        };
        // `&`, not `&&`: both sides are cheap, and a short circuit would branch per entry.
        let mut redo = format!("!({x} > T::ZERO)");
        if let Some(m) = self.mask_factor(eq, q) {
            redo = format!("({redo}) & ({} != T::ZERO)", self.ex(m));
        }
        Some(Deferred { cheap, redo })
    }

    /// A factor of the product `q` that reads a dropout mask at the equation's own `[n, f]`: where
    /// it is zero, `q` is ±0 or NaN.
    fn mask_factor(&self, eq: &Equation, q: ExprId) -> Option<ExprId> {
        let p = self.p;
        match p.arena.get(q) {
            Node::Mul(a, b) => self
                .mask_factor(eq, *a)
                .or_else(|| self.mask_factor(eq, *b)),
            Node::Access {
                tensor,
                at: Some(At::Node(n)),
                dense,
            } if Some(n) == eq.vars.first()
                && dense[..] == eq.vars[1..]
                && matches!(p.tensor(*tensor).role, Role::Dropout { .. }) =>
            {
                Some(q)
            }
            _ => None,
        }
    }

    /// The body of `par_rows` filling `row`, the row of node `eq.vars[0]`, in two passes if `e`
    /// has the form above, else in one. Operand rows are sliced once, so that neither pass checks
    /// bounds per entry.
    pub(super) fn entrywise_row(&self, eq: &Equation, e: ExprId) -> String {
        let pv = self.pv();
        let width = self.width_expr(eq.lhs);
        let (n, f) = (eq.vars[0], eq.vars[1]);
        self.bound.borrow_mut().push(n);
        let slices = self.bind_slices(f, e);
        let row = format!("let row = &mut row[..{width}];\n");
        let fv = var(f);
        let s = match self.deferred(eq, e) {
            Some(d) => format!(
                "{slices}{row}for {fv} in 0..{width} {{ row[{fv}] = {cheap}; }}\n{pv}::recompute_where(row, |{fv}| {redo}, |{fv}| {exact});\n",
                cheap = d.cheap,
                redo = d.redo,
                exact = self.ex(e),
            ),
            None => format!(
                "{slices}{row}for {fv} in 0..{width} {{ row[{fv}] = {}; }}\n",
                self.ex(e)
            ),
        };
        self.unbind_slices(f);
        self.bound.borrow_mut().retain(|v| *v != n);
        s
    }
}

//! Printing deferred entry-wise equations (the `deferred` pass in `plan`): each row in two passes,
//! every entry with `elu`/`elu'` replaced by its cheap stand-in, then `recompute_where` redoes
//! exactly the entries that need the exact value, found through a 64-bit mask rather than a
//! branch per entry.

use super::{var, Gen, Helper};
use crate::ir::*;
use crate::plan::Deferred;

/// The two passes of a deferred equation, as expressions in the current access context.
struct Passes {
    /// The right-hand side with `f` replaced by its stand-in.
    cheap: String,
    /// The condition under which an entry needs the exact right-hand side.
    redo: String,
}

impl Gen<'_> {
    fn passes(&self, d: &Deferred) -> Passes {
        let elementwise = self.helper(Helper::Elementwise);
        let name = match d.func {
            Func::Elu => "elu_sign",
            Func::EluGrad => "elu_grad_sign",
            other => unreachable!("no stand-in for {other:?}"),
        };
        let x = self.rust_expr(d.arg);
        let f = format!("{elementwise}::{name}({x}, {})", self.scalar(d.alpha));
        let qs = self.rust_expr(d.other);
        let cheap = if d.call_left {
            format!("({f} * {qs})")
        } else {
            format!("({qs} * {f})")
        };
        // `&`, not `&&`: both sides are cheap, and a short circuit would branch per entry.
        let mut redo = format!("!({x} > T::ZERO)");
        if let Some(m) = d.mask {
            redo = format!("({redo}) & ({} != T::ZERO)", self.rust_expr(m));
        }
        Passes { cheap, redo }
    }

    /// The body of `par_rows` filling `row`, the row of node `eq.vars[0]`, in two passes if `e`
    /// has the form above, else in one. Operand rows are sliced once, so that neither pass checks
    /// bounds per entry.
    pub(super) fn entrywise_row(
        &self,
        eq: &Equation,
        e: ExprId,
        deferred: Option<&crate::plan::Deferred>,
    ) -> String {
        let recompute_where = self.helper(Helper::RecomputeWhere);
        let width = self.width_expr(eq.lhs);
        let (n, f) = (eq.vars[0], eq.vars[1]);
        self.bound.borrow_mut().push(n);
        let slices = self.bind_slices(f, e);
        let row = format!("let row = &mut row[..{width}];\n");
        let fv = var(f);
        let s = match deferred.map(|d| self.passes(d)) {
            Some(d) => format!(
                "{slices}{row}for {fv} in 0..{width} {{ row[{fv}] = {cheap}; }}\n{recompute_where}(row, |{fv}| {redo}, |{fv}| {exact});\n",
                cheap = d.cheap,
                redo = d.redo,
                exact = self.rust_expr(e),
            ),
            None => format!(
                "{slices}{row}for {fv} in 0..{width} {{ row[{fv}] = {}; }}\n",
                self.rust_expr(e)
            ),
        };
        self.unbind_slices(f);
        self.bound.borrow_mut().retain(|v| *v != n);
        s
    }
}

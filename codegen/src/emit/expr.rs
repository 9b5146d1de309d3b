//! One element of an expression as a Rust expression of the generated code's float type.

use super::*;

impl Gen<'_> {
    /// One element of an expression, as a Rust expression of type `T`.
    pub(super) fn rust_expr(&self, e: ExprId) -> String {
        let p = self.p;
        let float = self.helper(Helper::Float);
        match p.arena.get(e).clone() {
            Node::Const(s) => self.scalar(s),
            Node::DimSize(d) => format!("T::of(d{} as f64)", d.0),
            Node::MaskCount(t) => format!("mc{}", t.0),
            Node::OneHot { labels, at, class } => format!(
                "(if lab{}[{}] == {} {{ T::ONE }} else {{ T::ZERO }})",
                labels.0,
                self.node_pos(at),
                var(class)
            ),
            Node::Access { tensor, at, dense } => match self.slices.borrow().get(&e) {
                Some(s) => s.clone(),
                None => self.access(tensor, at, &dense),
            },
            Node::Add(a, b) => format!("({} + {})", self.rust_expr(a), self.rust_expr(b)),
            Node::Sub(a, b) => format!("({} - {})", self.rust_expr(a), self.rust_expr(b)),
            Node::Mul(a, b) => format!("({} * {})", self.rust_expr(a), self.rust_expr(b)),
            Node::Div(a, b) => format!("({} / {})", self.rust_expr(a), self.rust_expr(b)),
            Node::Neg(a) => format!("(-{})", self.rust_expr(a)),
            Node::Pow(a, s) => {
                if s == Scalar::lit(2.0) {
                    format!("{{ let x = {}; x * x }}", self.rust_expr(a))
                } else {
                    format!("{float}::powf({}, {})", self.rust_expr(a), self.scalar(s))
                }
            }
            Node::Call(f, a, arg) => {
                let x = self.rust_expr(a);
                let y = arg.map(|s| self.scalar(s));
                f.primitive()
                    .rust_call(&helpers::module(self.krate), &x, y.as_deref())
            }
            Node::Reduce { op, range, body } => {
                let pre = match range {
                    Range::Dense(v) => self.bind_slices(v, body),
                    _ => String::new(),
                };
                let rows = self.bind_rows(body, range.var());
                self.bound.borrow_mut().push(range.var());
                let b = self.rust_expr(body);
                let b = if rows.is_empty() {
                    b
                } else {
                    format!("{{ {rows} {b} }}")
                };
                self.bound.borrow_mut().pop();
                self.unbind_slices(range.var());
                self.unbind_rows(range.var());
                match op {
                    ReduceOp::Sum => format!(
                        "{{ {pre} let mut acc = T::ZERO; {} acc }}",
                        self.range_loop(range, &format!("acc += {b};"))
                    ),
                    ReduceOp::Mean => format!(
                        "{{ {pre} let mut acc = T::ZERO; let mut cnt = 0usize; {} if cnt == 0 {{ T::ZERO }} else {{ acc / T::of(cnt as f64) }} }}",
                        self.range_loop(range, &format!("cnt += 1; acc += {b};"))
                    ),
                    ReduceOp::LogSumExp => format!(
                        "{{ {pre} let mut mx = T::of(f64::NEG_INFINITY); {} let mut se = T::ZERO; {} mx + {float}::ln(se) }}",
                        self.range_loop(range, &format!("mx = {float}::max(mx, {b});")),
                        self.range_loop(range, &format!("se += {float}::exp({b} - mx);"))
                    ),
                }
            }
        }
    }

    pub(super) fn scalar(&self, s: Scalar) -> String {
        match s {
            Scalar::Lit(b) => format!("T::of({:?})", f64::from_bits(b)),
            Scalar::Named(id) => format!("c{}", id.0),
        }
    }
}

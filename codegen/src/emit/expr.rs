//! One element of an expression as a Rust expression of the generated code's float type.

use super::*;

impl Gen<'_> {
    /// One element of an expression, as a Rust expression of type `T`.
    pub(super) fn rust_expr(&self, e: ExprId) -> TokenStream {
        let p = self.p;
        let float = self.helper(Helper::Float);
        match p.arena.get(e).clone() {
            Node::Const(s) => self.scalar(s),
            Node::DimSize(d) => {
                let d = dim(d);
                quote!(T::of(#d as f64))
            }
            Node::MaskCount(t) => {
                let mc = numbered("mc", t.0);
                quote!(#mc)
            }
            Node::OneHot { labels, at, class } => {
                let (lab, pos, class) = (numbered("lab", labels.0), self.node_pos(at), var(class));
                quote!((if #lab[#pos] == #class { T::ONE } else { T::ZERO }))
            }
            Node::Access { tensor, at, dense } => match self.slices.borrow().get(&e) {
                Some(slice) => slice.read.clone(),
                None => self.access(tensor, at, &dense),
            },
            Node::Add(a, b) => {
                let (a, b) = (self.rust_expr(a), self.rust_expr(b));
                quote!((#a + #b))
            }
            Node::Sub(a, b) => {
                let (a, b) = (self.rust_expr(a), self.rust_expr(b));
                quote!((#a - #b))
            }
            Node::Mul(a, b) => {
                let (a, b) = (self.rust_expr(a), self.rust_expr(b));
                quote!((#a * #b))
            }
            Node::Div(a, b) => {
                let (a, b) = (self.rust_expr(a), self.rust_expr(b));
                quote!((#a / #b))
            }
            Node::Neg(a) => {
                let a = self.rust_expr(a);
                quote!((-#a))
            }
            Node::Pow(a, s) => {
                let a = self.rust_expr(a);
                if s == Scalar::lit(2.0) {
                    quote!({ let x = #a; x * x })
                } else {
                    let s = self.scalar(s);
                    quote!(#float::powf(#a, #s))
                }
            }
            Node::Call(f, a, arg) => {
                let x = self.rust_expr(a);
                let y = arg.map(|s| self.scalar(s));
                f.primitive().rust_call(self.krate, x, y)
            }
            Node::Reduce { op, range, body } => {
                let pre = match range {
                    Range::Dense(v) => self.bind_slices(v, body),
                    _ => TokenStream::new(),
                };
                let rows = self.bind_rows(body, range.var());
                self.bound.borrow_mut().push(range.var());
                self.enter_neighbourhood(range);
                let b = self.rust_expr(body);
                self.leave_neighbourhood(range);
                let b = if rows.is_empty() {
                    b
                } else {
                    quote!({ #rows #b })
                };
                self.bound.borrow_mut().pop();
                self.unbind_slices(range.var());
                self.unbind_rows(range.var());
                match op {
                    ReduceOp::Sum => {
                        let sum = self.range_loop(range, quote!(acc += #b;));
                        quote!({ #pre let mut acc = T::ZERO; #sum acc })
                    }
                    ReduceOp::Mean => {
                        let sum = self.range_loop(range, quote!(cnt += 1; acc += #b;));
                        quote! {{
                            #pre let mut acc = T::ZERO; let mut cnt = 0usize; #sum
                            if cnt == 0 { T::ZERO } else { acc / T::of(cnt as f64) }
                        }}
                    }
                    ReduceOp::LogSumExp => {
                        let max = self.range_loop(range, quote!(mx = #float::max(mx, #b);));
                        let sum = self.range_loop(range, quote!(se += #float::exp(#b - mx);));
                        quote! {{
                            #pre let mut mx = T::of(f64::NEG_INFINITY); #max
                            let mut se = T::ZERO; #sum mx + #float::ln(se)
                        }}
                    }
                }
            }
        }
    }

    /// A constant as a value of type `T`: `T::of(0.2)` for a literal, `c3` for a named one.
    pub(super) fn scalar(&self, s: Scalar) -> TokenStream {
        match s {
            Scalar::Lit(b) => {
                let x = tokens::float(f64::from_bits(b));
                quote!(T::of(#x))
            }
            Scalar::Named(id) => {
                let c = numbered("c", id.0);
                quote!(#c)
            }
        }
    }
}

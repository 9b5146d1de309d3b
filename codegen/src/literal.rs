//! A [`Program`] as a Rust expression that rebuilds it, so generated code carries its program as
//! data made at build time and the runtime never re-runs the compiler (`Generated::program()`).
//!
//! Architecture invariant: `eval(literal(p)) == p` for every program the compiler produces; the
//! facade's `tests/generated.rs` checks it for every zoo model against a fresh compile.

use crate::init::Init;
use crate::ir::*;
use proc_macro2::{Literal as Lit, TokenStream};
use quote::{format_ident, quote};

/// The expression that rebuilds `program`, naming the IR through `ir` (a path such as
/// `::gatgrad::__private::ir`).
pub fn program_literal(program: &Program, ir: &TokenStream) -> TokenStream {
    let p = program;
    let nodes = (0..p.arena.len()).map(|k| p.arena.get(ExprId(k as u32)).literal(ir));
    let fields = [
        ("name", p.name.literal(ir)),
        ("dims", p.dims.literal(ir)),
        ("scalars", p.scalars.literal(ir)),
        ("graphs", p.graphs.literal(ir)),
        ("tensors", p.tensors.literal(ir)),
        ("vars", p.vars.literal(ir)),
        (
            "arena",
            quote! { #ir::Arena::from_nodes(::std::vec![#(#nodes),*]) },
        ),
        ("equations", p.equations.literal(ir)),
        ("output", p.output.literal(ir)),
        ("loss", p.loss.literal(ir)),
        ("attention", p.attention.literal(ir)),
        ("dim_repr", p.dim_repr.literal(ir)),
        ("dim_defaults", p.dim_defaults.literal(ir)),
        ("dim_products", p.dim_products.literal(ir)),
        ("backward", p.backward.literal(ir)),
        ("grads", p.grads.literal(ir)),
        ("seed", p.seed.literal(ir)),
        ("inits", p.inits.literal(ir)),
    ]
    .map(|(name, value)| {
        let name = format_ident!("{name}");
        quote! { #name: #value }
    });
    quote! { #ir::Program { #(#fields),* } }
}

/// A value that can be written as a Rust expression over the IR's types.
trait Literal {
    fn literal(&self, ir: &TokenStream) -> TokenStream;
}

impl Literal for String {
    fn literal(&self, _: &TokenStream) -> TokenStream {
        quote! { ::std::string::String::from(#self) }
    }
}

impl Literal for usize {
    fn literal(&self, _: &TokenStream) -> TokenStream {
        let n = Lit::usize_suffixed(*self);
        quote! { #n }
    }
}

impl Literal for f64 {
    fn literal(&self, _: &TokenStream) -> TokenStream {
        let bits = Lit::u64_suffixed(self.to_bits());
        quote! { f64::from_bits(#bits) }
    }
}

impl<T: Literal> Literal for Vec<T> {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        let items = self.iter().map(|x| x.literal(ir));
        quote! { ::std::vec![#(#items),*] }
    }
}

impl<T: Literal> Literal for Option<T> {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        match self {
            Some(x) => {
                let x = x.literal(ir);
                quote! { ::core::option::Option::Some(#x) }
            }
            None => quote! { ::core::option::Option::None },
        }
    }
}

impl<A: Literal, B: Literal> Literal for (A, B) {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        let (a, b) = (self.0.literal(ir), self.1.literal(ir));
        quote! { (#a, #b) }
    }
}

macro_rules! id_literal {
    ($($name:ident),*) => {$(
        impl Literal for $name {
            fn literal(&self, ir: &TokenStream) -> TokenStream {
                let n = Lit::u32_unsuffixed(self.0);
                quote! { #ir::$name(#n) }
            }
        }
    )*};
}
id_literal!(ExprId, DimId, TensorId, VarId, ScalarId, GraphId);

impl Literal for Dim {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        let name = self.name.literal(ir);
        quote! { #ir::Dim { name: #name } }
    }
}

impl Literal for GraphKind {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        match self {
            GraphKind::Raw => quote! { #ir::GraphKind::Raw },
            GraphKind::SelfLoops => quote! { #ir::GraphKind::SelfLoops },
        }
    }
}

impl Literal for Domain {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        match self {
            Domain::Dense => quote! { #ir::Domain::Dense },
            Domain::Node => quote! { #ir::Domain::Node },
            Domain::Edge(g) => {
                let g = g.literal(ir);
                quote! { #ir::Domain::Edge(#g) }
            }
        }
    }
}

impl Literal for Role {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        match self {
            Role::Input => quote! { #ir::Role::Input },
            Role::Param => quote! { #ir::Role::Param },
            Role::Labels { classes } => {
                let c = classes.literal(ir);
                quote! { #ir::Role::Labels { classes: #c } }
            }
            Role::Mask => quote! { #ir::Role::Mask },
            Role::Dropout { p } => {
                let p = p.literal(ir);
                quote! { #ir::Role::Dropout { p: #p } }
            }
            Role::Defined => quote! { #ir::Role::Defined },
            Role::Adjoint(t) => {
                let t = t.literal(ir);
                quote! { #ir::Role::Adjoint(#t) }
            }
        }
    }
}

impl Literal for Tensor {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        let Tensor {
            name,
            external,
            domain,
            dims,
            external_shape,
            role,
            index_names,
        } = self;
        let (name, external, domain, dims) = (
            name.literal(ir),
            external.literal(ir),
            domain.literal(ir),
            dims.literal(ir),
        );
        let (external_shape, role, index_names) = (
            external_shape.literal(ir),
            role.literal(ir),
            index_names.literal(ir),
        );
        quote! {
            #ir::Tensor {
                name: #name,
                external: #external,
                domain: #domain,
                dims: #dims,
                external_shape: #external_shape,
                role: #role,
                index_names: #index_names,
            }
        }
    }
}

impl Literal for Scalar {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        match self {
            Scalar::Lit(bits) => {
                let bits = Lit::u64_suffixed(*bits);
                quote! { #ir::Scalar::Lit(#bits) }
            }
            Scalar::Named(s) => {
                let s = s.literal(ir);
                quote! { #ir::Scalar::Named(#s) }
            }
        }
    }
}

impl Literal for NamedScalar {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        let (name, default) = (self.name.literal(ir), self.default.literal(ir));
        quote! { #ir::NamedScalar { name: #name, default: #default } }
    }
}

impl Literal for VarKind {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        match self {
            VarKind::Dense(d) => {
                let d = d.literal(ir);
                quote! { #ir::VarKind::Dense(#d) }
            }
            VarKind::Node => quote! { #ir::VarKind::Node },
            VarKind::Edge(g) => {
                let g = g.literal(ir);
                quote! { #ir::VarKind::Edge(#g) }
            }
        }
    }
}

impl Literal for Var {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        let (name, kind) = (self.name.literal(ir), self.kind.literal(ir));
        let (target, source) = (self.target.literal(ir), self.source.literal(ir));
        quote! { #ir::Var { name: #name, kind: #kind, target: #target, source: #source } }
    }
}

impl Literal for At {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        let (variant, v) = match self {
            At::Node(v) => ("Node", v),
            At::Src(v) => ("Src", v),
            At::Dst(v) => ("Dst", v),
            At::Edge(v) => ("Edge", v),
        };
        let (variant, v) = (format_ident!("{variant}"), v.literal(ir));
        quote! { #ir::At::#variant(#v) }
    }
}

impl Literal for Range {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        match self {
            Range::Dense(v) => {
                let v = v.literal(ir);
                quote! { #ir::Range::Dense(#v) }
            }
            Range::AllNodes(v) => {
                let v = v.literal(ir);
                quote! { #ir::Range::AllNodes(#v) }
            }
            Range::AllEdges(v) => {
                let v = v.literal(ir);
                quote! { #ir::Range::AllEdges(#v) }
            }
            Range::InEdges { edge, of } => {
                let (edge, of) = (edge.literal(ir), of.literal(ir));
                quote! { #ir::Range::InEdges { edge: #edge, of: #of } }
            }
            Range::OutEdges { edge, of } => {
                let (edge, of) = (edge.literal(ir), of.literal(ir));
                quote! { #ir::Range::OutEdges { edge: #edge, of: #of } }
            }
        }
    }
}

impl Literal for ReduceOp {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        match self {
            ReduceOp::Sum => quote! { #ir::ReduceOp::Sum },
            ReduceOp::Mean => quote! { #ir::ReduceOp::Mean },
            ReduceOp::LogSumExp => quote! { #ir::ReduceOp::LogSumExp },
        }
    }
}

impl Literal for Func {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        let k = Func::ALL
            .iter()
            .position(|f| f == self)
            .expect("every function is in the table");
        quote! { #ir::Func::ALL[#k] }
    }
}

impl Literal for Node {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        let binary = |variant: &str, a: &ExprId, b: &ExprId| {
            let (variant, a, b) = (format_ident!("{variant}"), a.literal(ir), b.literal(ir));
            quote! { #ir::Node::#variant(#a, #b) }
        };
        match self {
            Node::Const(s) => {
                let s = s.literal(ir);
                quote! { #ir::Node::Const(#s) }
            }
            Node::Access { tensor, at, dense } => {
                let (tensor, at, dense) = (tensor.literal(ir), at.literal(ir), dense.literal(ir));
                quote! { #ir::Node::Access { tensor: #tensor, at: #at, dense: #dense } }
            }
            Node::Add(a, b) => binary("Add", a, b),
            Node::Sub(a, b) => binary("Sub", a, b),
            Node::Mul(a, b) => binary("Mul", a, b),
            Node::Div(a, b) => binary("Div", a, b),
            Node::Neg(a) => {
                let a = a.literal(ir);
                quote! { #ir::Node::Neg(#a) }
            }
            Node::Pow(a, p) => {
                let (a, p) = (a.literal(ir), p.literal(ir));
                quote! { #ir::Node::Pow(#a, #p) }
            }
            Node::Call(f, a, arg) => {
                let (f, a, arg) = (f.literal(ir), a.literal(ir), arg.literal(ir));
                quote! { #ir::Node::Call(#f, #a, #arg) }
            }
            Node::Reduce { op, range, body } => {
                let (op, range, body) = (op.literal(ir), range.literal(ir), body.literal(ir));
                quote! { #ir::Node::Reduce { op: #op, range: #range, body: #body } }
            }
            Node::OneHot { labels, at, class } => {
                let (labels, at, class) = (labels.literal(ir), at.literal(ir), class.literal(ir));
                quote! { #ir::Node::OneHot { labels: #labels, at: #at, class: #class } }
            }
            Node::MaskCount(t) => {
                let t = t.literal(ir);
                quote! { #ir::Node::MaskCount(#t) }
            }
            Node::DimSize(d) => {
                let d = d.literal(ir);
                quote! { #ir::Node::DimSize(#d) }
            }
        }
    }
}

impl Literal for Rhs {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        match self {
            Rhs::Expr(e) => {
                let e = e.literal(ir);
                quote! { #ir::Rhs::Expr(#e) }
            }
            Rhs::Softmax(e) => {
                let e = e.literal(ir);
                quote! { #ir::Rhs::Softmax(#e) }
            }
            Rhs::Reshape(t) => {
                let t = t.literal(ir);
                quote! { #ir::Rhs::Reshape(#t) }
            }
            Rhs::LoopFill(t) => {
                let t = t.literal(ir);
                quote! { #ir::Rhs::LoopFill(#t) }
            }
            Rhs::LoopFillAdjoint(t) => {
                let t = t.literal(ir);
                quote! { #ir::Rhs::LoopFillAdjoint(#t) }
            }
            Rhs::CrossEntropy {
                logits,
                labels,
                mask,
            } => {
                let (logits, labels, mask) =
                    (logits.literal(ir), labels.literal(ir), mask.literal(ir));
                quote! { #ir::Rhs::CrossEntropy { logits: #logits, labels: #labels, mask: #mask } }
            }
        }
    }
}

impl Literal for Init {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        let init = quote! { #ir::Init };
        match self {
            Init::Glorot => quote! { #init::Glorot },
            Init::XavierUniform { gain } => {
                let gain = gain.literal(ir);
                quote! { #init::XavierUniform { gain: #gain } }
            }
            Init::XavierNormal { gain } => {
                let gain = gain.literal(ir);
                quote! { #init::XavierNormal { gain: #gain } }
            }
            Init::Zeros => quote! { #init::Zeros },
            Init::Ones => quote! { #init::Ones },
        }
    }
}

impl Literal for Equation {
    fn literal(&self, ir: &TokenStream) -> TokenStream {
        let (lhs, vars, rhs) = (
            self.lhs.literal(ir),
            self.vars.literal(ir),
            self.rhs.literal(ir),
        );
        quote! { #ir::Equation { lhs: #lhs, vars: #vars, rhs: #rhs } }
    }
}

#[cfg(test)]
mod tests {
    use super::program_literal;
    use quote::quote;

    /// The literal of a small program names every table it fills, and every arena node in order.
    #[test]
    fn a_small_program_as_a_literal() {
        let src = "layer l { dims F; input x[n: node, f: F]; param w[f: F]; \
                   y[n] = sum_f w[f] * x[n, f]; output y; }";
        let (program, _) = crate::compile_source("l.gat", src).expect("compiles");
        let text = program_literal(&program, &quote! { ir }).to_string();
        assert!(text.starts_with("ir :: Program { name :"), "{text}");
        let nodes = text.matches("ir :: Node ::").count();
        assert_eq!(nodes, program.arena.len(), "{text}");
        assert!(text.contains("ir :: Role :: Param"), "{text}");
    }
}

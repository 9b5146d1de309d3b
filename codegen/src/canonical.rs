//! A canonical text of a program's IR: equal for two programs exactly when they differ only in
//! what cannot change the generated code's computation — comments, spacing, and the names of index
//! variables (`W[h, c, f]` and `W[a, b, k]` are the same read). Every equation, constant and its
//! value, declaration (display and PyG name, domain, dimensions, file shape, role), graph variant,
//! and the output, loss and attention tensors are part of it, so it can key a cache of generated
//! code and decide whether a file is a compiled model.

use crate::init::Init;
use crate::ir::*;
use std::fmt::Write;

/// The canonical text of `p` (see the module documentation). Only the forward program is written:
/// the backward is derived from it.
pub fn canonical_text(p: &Program) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "program {}", p.name);
    for (k, d) in p.dims.iter().enumerate() {
        let _ = write!(out, "dim {} = {}", d.name, p.dim_root(DimId(k as u32)).0);
        if let Some(v) = p.dim_defaults.get(k).copied().flatten() {
            let _ = write!(out, " default {v}");
        }
        out.push('\n');
    }
    for (d, parts) in &p.dim_products {
        let parts: Vec<String> = parts.iter().map(|x| x.0.to_string()).collect();
        let _ = writeln!(out, "product {} = {}", d.0, parts.join("*"));
    }
    for s in &p.scalars {
        let _ = writeln!(out, "const {} = {:#x}", s.name, s.default.to_bits());
    }
    for g in &p.graphs {
        let _ = writeln!(out, "graph {g:?}");
    }
    for (k, t) in p.tensors.iter().enumerate() {
        let dims: Vec<String> = t.dims.iter().map(|d| d.0.to_string()).collect();
        let _ = write!(
            out,
            "tensor {} as {:?} {} [{}] {}",
            t.name,
            t.external,
            domain(t.domain),
            dims.join(", "),
            role(&t.role)
        );
        if let Some(groups) = &t.external_shape {
            let groups: Vec<String> = groups
                .iter()
                .map(|g| {
                    let g: Vec<String> = g.iter().map(|d| d.0.to_string()).collect();
                    format!("[{}]", g.join("*"))
                })
                .collect();
            let _ = write!(out, " file {}", groups.join(", "));
        }
        if let Some(init) = p.inits.iter().find(|(x, _)| x.index() == k).map(|(_, i)| i) {
            // Bits, so that two gains that print alike are still told apart.
            let _ = write!(out, " init {init}");
            if let Init::XavierUniform { gain } | Init::XavierNormal { gain } = init {
                let _ = write!(out, " {:#x}", gain.to_bits());
            }
        }
        out.push('\n');
    }
    for e in &p.equations {
        let mut w = Writer {
            p,
            names: Vec::new(),
            out: String::new(),
        };
        for v in &e.vars {
            w.bind(*v);
        }
        let lhs: Vec<String> = e.vars.iter().map(|v| w.var(*v)).collect();
        match e.rhs {
            Rhs::Expr(x) => w.expr(x),
            Rhs::Softmax(x) => {
                w.out.push_str("softmax ");
                w.expr(x)
            }
            Rhs::Reshape(t) => {
                let _ = write!(w.out, "reshape {}", t.0);
            }
            Rhs::LoopFill(t) => {
                let _ = write!(w.out, "loop_fill {}", t.0);
            }
            Rhs::LoopFillAdjoint(t) => {
                let _ = write!(w.out, "loop_fill_adjoint {}", t.0);
            }
            Rhs::CrossEntropy {
                logits,
                labels,
                mask,
            } => {
                let _ = write!(w.out, "cross_entropy {} {} {}", logits.0, labels.0, mask.0);
            }
        }
        let _ = writeln!(out, "eq {}[{}] = {}", e.lhs.0, lhs.join(", "), w.out);
    }
    let opt = |t: Option<TensorId>| t.map_or("-".to_string(), |t| t.0.to_string());
    let _ = writeln!(
        out,
        "output {} loss {} attention {}",
        p.output.0,
        opt(p.loss),
        opt(p.attention)
    );
    out
}

/// The canonical text of the expression `e` over the variables `vars`, bound in that order: equal
/// for two expressions that differ only in their index variables (`Σ_g x[n, g]` written in two
/// equations), different for any difference in what they compute or in the shape of their sums.
pub fn expression_text(p: &Program, vars: &[VarId], e: ExprId) -> String {
    let mut w = Writer {
        p,
        names: Vec::new(),
        out: String::new(),
    };
    for v in vars {
        w.bind(*v);
    }
    w.expr(e);
    w.out
}

fn domain(d: Domain) -> String {
    match d {
        Domain::Dense => "dense".into(),
        Domain::Node => "node".into(),
        Domain::Edge(g) => format!("edge{}", g.0),
    }
}

fn role(r: &Role) -> String {
    match r {
        Role::Labels { classes } => format!("labels classes {}", classes.0),
        Role::Dropout { p } => format!("dropout {}", scalar(*p)),
        Role::Adjoint(t) => format!("adjoint {}", t.0),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn scalar(s: Scalar) -> String {
    match s {
        Scalar::Lit(b) => format!("{b:#x}"),
        Scalar::Named(id) => format!("c{}", id.0),
    }
}

/// Writes expressions with index variables named by the order they are bound in.
struct Writer<'a> {
    p: &'a Program,
    names: Vec<VarId>,
    out: String,
}

impl Writer<'_> {
    fn bind(&mut self, v: VarId) {
        self.names.push(v);
    }

    /// A variable's canonical name: the position of its innermost binding, and its range.
    fn var(&self, v: VarId) -> String {
        let k = self.names.iter().rposition(|x| *x == v);
        let kind = match self.p.var(v).kind {
            VarKind::Dense(d) => format!("d{}", d.0),
            VarKind::Node => "n".into(),
            VarKind::Edge(g) => format!("e{}", g.0),
        };
        match k {
            Some(k) => format!("v{k}:{kind}"),
            // A variable used unbound cannot come out of lowering; keep it distinct anyway.
            None => format!("free{}:{kind}", v.0),
        }
    }

    fn at(&self, a: At) -> String {
        match a {
            At::Node(v) => self.var(v),
            At::Src(v) => format!("src({})", self.var(v)),
            At::Dst(v) => format!("dst({})", self.var(v)),
            At::Edge(v) => format!("edge({})", self.var(v)),
        }
    }

    fn expr(&mut self, e: ExprId) {
        // Sums are written as their flat list of terms: chains can be long.
        let (first, rest) = self.p.arena.sum_terms(e);
        if !rest.is_empty() {
            self.out.push('(');
            self.node(first);
            for t in rest {
                self.out.push_str(if t.negated { " - " } else { " + " });
                self.node(t.expr);
            }
            self.out.push(')');
            return;
        }
        self.node(e)
    }

    fn node(&mut self, e: ExprId) {
        match self.p.arena.get(e).clone() {
            Node::Const(s) => self.out.push_str(&scalar(s)),
            Node::Access { tensor, at, dense } => {
                let mut idx: Vec<String> = at.map(|a| self.at(a)).into_iter().collect();
                idx.extend(dense.iter().map(|v| self.var(*v)));
                let _ = write!(self.out, "t{}[{}]", tensor.0, idx.join(", "));
            }
            Node::Add(a, b) | Node::Sub(a, b) => {
                // Reached only as a right operand that is itself a sum (one term).
                let op = if matches!(self.p.arena.get(e), Node::Add(..)) {
                    " + "
                } else {
                    " - "
                };
                self.out.push('(');
                self.expr(a);
                self.out.push_str(op);
                self.expr(b);
                self.out.push(')');
            }
            Node::Mul(a, b) => self.binary(a, " * ", b),
            Node::Div(a, b) => self.binary(a, " / ", b),
            Node::Neg(a) => {
                self.out.push_str("-(");
                self.expr(a);
                self.out.push(')');
            }
            Node::Pow(a, s) => {
                self.out.push('(');
                self.expr(a);
                let _ = write!(self.out, ") ^ {}", scalar(s));
            }
            Node::Call(f, a, s) => {
                let _ = write!(self.out, "{f:?}(");
                self.expr(a);
                if let Some(s) = s {
                    let _ = write!(self.out, ", {}", scalar(s));
                }
                self.out.push(')');
            }
            Node::Reduce { op, range, body } => {
                let of = match range {
                    Range::InEdges { of, .. } => format!(" in {}", self.at(of)),
                    Range::OutEdges { of, .. } => format!(" out {}", self.at(of)),
                    Range::Dense(_) => String::new(),
                    Range::AllNodes(_) => " all nodes".into(),
                    Range::AllEdges(_) => " all edges".into(),
                };
                self.bind(range.var());
                let _ = write!(self.out, "{op:?}_{{{}{of}}}(", self.var(range.var()));
                self.expr(body);
                self.out.push(')');
                self.names.pop();
            }
            Node::OneHot { labels, at, class } => {
                let _ = write!(
                    self.out,
                    "[t{}[{}] = {}]",
                    labels.0,
                    self.at(at),
                    self.var(class)
                );
            }
            Node::MaskCount(t) => {
                let _ = write!(self.out, "count(t{})", t.0);
            }
            Node::DimSize(d) => {
                let _ = write!(self.out, "size(d{})", d.0);
            }
        }
    }

    fn binary(&mut self, a: ExprId, op: &str, b: ExprId) {
        self.out.push('(');
        self.expr(a);
        self.out.push_str(op);
        self.expr(b);
        self.out.push(')');
    }
}

#[cfg(test)]
mod tests;

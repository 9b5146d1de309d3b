//! The structure of what a tensor computes, with every name taken out: a tensor is written as the
//! expression that defines it, each tensor it reads labelled by the order in which the walk from
//! it first meets it (`T0`, `T1`, ...), dimensions and constants likewise. Two tensors whose
//! texts are equal compute the same function of their leaves up to a renaming of tensors,
//! parameters, dimensions and indices — and the labels pair their leaves.
//!
//! Graph variants are not written (an edge is an edge): whether a layer adds self loops is a
//! difference of its own (see [`super::roles`]). The operands of sums and products are written in
//! a canonical order ([`super::order`]), so `a + b` and `b + a` are one text, and so is a program
//! that declares its tensors or writes its independent equations in another order: the walk meets
//! tensors in an order fixed by what they compute, not by where the file puts them.

use super::order::Keys;
use crate::ir::*;
use std::collections::HashMap;
use std::fmt::Write;

/// How deep a chain of tensors the walk follows before it gives up.
const MAX_DEPTH: usize = 4000;

/// One walk (see the module documentation).
pub(super) struct Structure<'a> {
    p: &'a Program,
    /// The equation defining each tensor, forward and backward.
    defs: HashMap<TensorId, &'a Equation>,
    /// Tensors written as a fixed name instead of their definition (a role's inputs).
    fixed: HashMap<TensorId, String>,
    /// Whether a parameter's text holds its initialisation.
    with_init: bool,
    labels: HashMap<TensorId, usize>,
    dims: HashMap<DimId, usize>,
    scalars: HashMap<ScalarId, usize>,
    /// One line per labelled tensor, in label order.
    lines: Vec<String>,
    /// The tensors in label order.
    order: Vec<TensorId>,
    depth: usize,
    /// Set when the walk went deeper than [`MAX_DEPTH`].
    pub too_deep: bool,
    /// The canonical order of operands.
    keys: Keys<'a>,
}

impl<'a> Structure<'a> {
    /// A walk over `p`; `fixed` tensors are written by the given names.
    pub(super) fn new(p: &'a Program, fixed: HashMap<TensorId, String>, with_init: bool) -> Self {
        let defs = p
            .equations
            .iter()
            .chain(&p.backward)
            .map(|e| (e.lhs, e))
            .collect();
        let keys = Keys::new(p, &fixed, with_init);
        Structure {
            p,
            defs,
            fixed,
            with_init,
            labels: HashMap::new(),
            dims: HashMap::new(),
            scalars: HashMap::new(),
            lines: Vec::new(),
            order: Vec::new(),
            depth: 0,
            too_deep: false,
            keys,
        }
    }

    /// The text of everything `t` depends on, `t` last.
    pub(super) fn text_of(mut self, t: TensorId) -> (String, Vec<TensorId>) {
        let top = self.visit(t);
        let mut out = self.lines.join("\n");
        let _ = write!(out, "\nresult {top}");
        (out, self.order)
    }

    /// The text of expression `e` over the variables `vars` (a term of an equation), labelling
    /// what it reads; the walk goes on with the same labels.
    pub(super) fn term(&mut self, vars: &[VarId], e: ExprId) -> String {
        let mut w = Vars::default();
        for v in vars {
            w.bind(*v);
        }
        self.expr(&mut w, e)
    }

    /// The key of expression `e` over the variables `vars`: equal for two terms that compute the
    /// same up to names, so terms can be put in a canonical order ([`super::order`]).
    pub(super) fn term_key(&self, vars: &[VarId], e: ExprId) -> String {
        let mut w = Vars::default();
        for v in vars {
            w.bind(*v);
        }
        self.keys.expr(&mut w, e)
    }

    /// The definitions met so far (by [`Structure::term`]) and the tensors in label order.
    pub(super) fn text_of_nothing(self) -> (String, Vec<TensorId>) {
        (self.lines.join("\n"), self.order)
    }

    /// The label of `t`, walking its definition the first time.
    fn visit(&mut self, t: TensorId) -> String {
        if let Some(name) = self.fixed.get(&t) {
            return name.clone();
        }
        if let Some(k) = self.labels.get(&t) {
            return format!("T{k}");
        }
        let k = self.labels.len();
        self.labels.insert(t, k);
        self.order.push(t);
        self.lines.push(String::new());
        if self.depth >= MAX_DEPTH {
            self.too_deep = true;
            return format!("T{k}");
        }
        self.depth += 1;
        let tensor = self.p.tensor(t);
        let dims: Vec<String> = tensor.dims.iter().map(|d| self.dim(*d)).collect();
        let domain = match tensor.domain {
            Domain::Dense => "dense",
            Domain::Node => "node",
            Domain::Edge(_) => "edge",
        };
        let head = format!("T{k}: {domain}[{}]", dims.join(", "));
        let body = match (&tensor.role, self.defs.get(&t).copied()) {
            (_, Some(eq)) => self.rhs(eq),
            (Role::Param, None) => {
                let mut s = "param".to_string();
                if let Some(groups) = &tensor.external_shape {
                    let _ = write!(s, " file {}", self.groups(groups));
                }
                if self.with_init {
                    match self.p.init_of(t) {
                        Some(init) => {
                            let _ = write!(s, " init {init}");
                        }
                        None => s.push_str(" init default"),
                    }
                }
                s
            }
            (Role::Input, None) => {
                let mut s = "input".to_string();
                if let Some(groups) = &tensor.external_shape {
                    let _ = write!(s, " file {}", self.groups(groups));
                }
                s
            }
            (Role::Labels { classes }, None) => format!("labels {}", self.dim(*classes)),
            (Role::Mask, None) => "mask".into(),
            (Role::Dropout { p }, None) => format!("dropout mask {}", self.scalar(*p)),
            // The upstream gradient the caller supplies: what it is the gradient of is the
            // output, whose definition is not part of this tensor's computation.
            (Role::Adjoint(_), None) => "given upstream gradient".into(),
            (Role::Defined, None) => "undefined".into(),
        };
        self.depth -= 1;
        self.lines[k] = format!("{head} = {body}");
        format!("T{k}")
    }

    fn dim(&mut self, d: DimId) -> String {
        let root = self.p.dim_root(d);
        let n = self.dims.len();
        format!("D{}", *self.dims.entry(root).or_insert(n))
    }

    fn groups(&mut self, groups: &[Vec<DimId>]) -> String {
        let gs: Vec<String> = groups
            .iter()
            .map(|g| {
                let g: Vec<String> = g.iter().map(|d| self.dim(*d)).collect();
                format!("[{}]", g.join("*"))
            })
            .collect();
        gs.join(", ")
    }

    fn scalar(&mut self, s: Scalar) -> String {
        match s {
            Scalar::Lit(b) => format!("{}", f64::from_bits(b)),
            Scalar::Named(id) => {
                let n = self.scalars.len();
                let k = *self.scalars.entry(id).or_insert(n);
                format!("c{k}={}", self.p.scalars[id.index()].default)
            }
        }
    }

    fn rhs(&mut self, eq: &Equation) -> String {
        let mut w = Vars::default();
        for v in &eq.vars {
            w.bind(*v);
        }
        let lhs: Vec<String> = eq.vars.iter().map(|v| w.var(self.p, *v)).collect();
        let body = match &eq.rhs {
            Rhs::Expr(x) => self.expr(&mut w, *x),
            Rhs::Softmax(x) => format!("softmax {}", self.expr(&mut w, *x)),
            Rhs::Reshape(t) => format!("reshape {}", self.visit(*t)),
            Rhs::LoopFill(t) => format!("loop fill {}", self.visit(*t)),
            Rhs::LoopFillAdjoint(t) => format!("loop fill adjoint {}", self.visit(*t)),
            Rhs::CrossEntropy {
                logits,
                labels,
                mask,
            } => format!(
                "cross entropy {} {} {}",
                self.visit(*logits),
                self.visit(*labels),
                self.visit(*mask)
            ),
        };
        format!("[{}] {body}", lhs.join(", "))
    }

    fn expr(&mut self, w: &mut Vars, e: ExprId) -> String {
        let terms = self.keys.terms(w, e);
        if let [(false, t)] = terms.as_slice() {
            return self.node(w, *t);
        }
        let parts: Vec<String> = terms
            .into_iter()
            .map(|(neg, t)| format!("{}{}", if neg { "-" } else { "+" }, self.node(w, t)))
            .collect();
        format!("({})", parts.join(" "))
    }

    fn node(&mut self, w: &mut Vars, e: ExprId) -> String {
        let p = self.p;
        match p.arena.get(e).clone() {
            Node::Const(s) => self.scalar(s),
            Node::Access { tensor, at, dense } => {
                let mut idx: Vec<String> = at.map(|a| w.at(p, a)).into_iter().collect();
                idx.extend(dense.iter().map(|v| w.var(p, *v)));
                format!("{}[{}]", self.visit(tensor), idx.join(", "))
            }
            Node::Add(..) | Node::Sub(..) | Node::Neg(..) => self.expr(w, e),
            Node::Mul(..) => {
                let factors = self.keys.factors(w, e);
                let parts: Vec<String> = factors.into_iter().map(|f| self.expr(w, f)).collect();
                format!("({})", parts.join(" * "))
            }
            Node::Div(a, b) => format!("({} / {})", self.expr(w, a), self.expr(w, b)),
            Node::Pow(a, s) => format!("({}) ^ {}", self.expr(w, a), self.scalar(s)),
            Node::Call(f, a, s) => {
                let arg = self.expr(w, a);
                match s {
                    Some(s) => format!("{f:?}({arg}, {})", self.scalar(s)),
                    None => format!("{f:?}({arg})"),
                }
            }
            Node::Reduce { op, range, body } => {
                let of = match range {
                    Range::InEdges { of, .. } => format!(" in {}", w.at(p, of)),
                    Range::OutEdges { of, .. } => format!(" out {}", w.at(p, of)),
                    Range::Dense(_) => String::new(),
                    Range::AllNodes(_) => " all nodes".into(),
                    Range::AllEdges(_) => " all edges".into(),
                };
                w.bind(range.var());
                let v = w.var(p, range.var());
                let body = self.expr(w, body);
                w.unbind();
                format!("{op:?}_{{{v}{of}}}({body})")
            }
            Node::OneHot { labels, at, class } => {
                format!(
                    "[{}[{}] = {}]",
                    self.visit(labels),
                    w.at(p, at),
                    w.var(p, class)
                )
            }
            Node::MaskCount(t) => format!("count({})", self.visit(t)),
            Node::DimSize(d) => format!("size({})", self.dim(d)),
        }
    }
}

/// Index variables named by the order they are bound in.
#[derive(Default)]
pub(super) struct Vars {
    names: Vec<VarId>,
}

impl Vars {
    /// Binds `v` (a reduction's variable, or an equation's).
    pub(super) fn bind(&mut self, v: VarId) {
        self.names.push(v);
    }

    /// Unbinds the variable bound last.
    pub(super) fn unbind(&mut self) {
        self.names.pop();
    }

    /// `v` named by its binding's position.
    pub(super) fn var(&self, p: &Program, v: VarId) -> String {
        let kind = match p.var(v).kind {
            VarKind::Dense(_) => "d",
            VarKind::Node => "n",
            VarKind::Edge(_) => "e",
        };
        match self.names.iter().rposition(|x| *x == v) {
            Some(k) => format!("v{k}{kind}"),
            None => format!("free{}{kind}", v.0),
        }
    }

    /// A graph index named by its variable's binding.
    pub(super) fn at(&self, p: &Program, a: At) -> String {
        match a {
            At::Node(v) => self.var(p, v),
            At::Src(v) => format!("src({})", self.var(p, v)),
            At::Dst(v) => format!("dst({})", self.var(p, v)),
            At::Edge(v) => format!("edge({})", self.var(p, v)),
        }
    }
}

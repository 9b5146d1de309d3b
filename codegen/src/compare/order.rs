//! A canonical order for the operands of sums and products, so that [`super::structure`] writes
//! `xl[j] + xr[i]` and `xr[i] + xl[j]`, or `att · leaky_relu(z)` and `leaky_relu(z) · att`, as one
//! text, and the order in which a file declares its tensors or writes its independent equations
//! does not show.
//!
//! Each operand gets a *key*: what it computes with no name and no label in it — a tensor it
//! reads is written as a hash of its own key, a bound index by the position of its binding, a
//! named constant by its value — so the key of an operand is the same in two programs that are
//! the same up to renaming and reordering. Keys are computed once per tensor, in program order
//! (a definition comes before its readers), so no walk recurses through the chain of tensors.
//! The operands of a sum (flattened through nested `+`, `-` and negation, each with its sign) and
//! of a product (flattened through nested `·`) are then visited in the order of their keys.
//!
//! Reordering operands of `+` and `·` never changes the function, so two programs whose canonical
//! texts are equal are still the same function: keys decide only the order. Operands whose keys
//! tie are the same computation up to which leaves they read (`W_l · x` and `W_r · x` with two
//! parameters of one shape); they keep the order the file wrote them in.

use super::structure::Vars;
use crate::ir::*;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fmt::Write;
use std::hash::{Hash, Hasher};

/// The keys of one program's tensors (see the module documentation).
pub(super) struct Keys<'a> {
    p: &'a Program,
    with_init: bool,
    /// The hash of each defined (or fixed) tensor's key.
    tensors: HashMap<TensorId, u64>,
}

fn hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

impl<'a> Keys<'a> {
    /// The keys of `p`'s tensors; a `fixed` tensor's key is its fixed name (its definition is not
    /// part of what is compared); `with_init` puts parameters' initialisation into their keys.
    pub(super) fn new(p: &'a Program, fixed: &HashMap<TensorId, String>, with_init: bool) -> Self {
        let mut keys = Keys {
            p,
            with_init,
            tensors: HashMap::new(),
        };
        for (t, name) in fixed {
            let key = format!("fixed {name} {}", keys.head(*t));
            keys.tensors.insert(*t, hash(&key));
        }
        for eq in p.equations.iter().chain(&p.backward) {
            if !keys.tensors.contains_key(&eq.lhs) {
                let key = keys.equation(eq);
                keys.tensors.insert(eq.lhs, hash(&key));
            }
        }
        keys
    }

    /// The operands of the sum `e` with their signs (`true`: subtracted), in canonical order.
    pub(super) fn terms(&self, w: &mut Vars, e: ExprId) -> Vec<(bool, ExprId)> {
        let mut keyed: Vec<(String, (bool, ExprId))> = self
            .flat_terms(e)
            .into_iter()
            .map(|(neg, t)| (format!("{}{}", sign(neg), self.node(w, t)), (neg, t)))
            .collect();
        keyed.sort_by(|x, y| x.0.cmp(&y.0));
        keyed.into_iter().map(|(_, t)| t).collect()
    }

    /// The factors of the product `e`, in canonical order.
    pub(super) fn factors(&self, w: &mut Vars, e: ExprId) -> Vec<ExprId> {
        let mut keyed: Vec<(String, ExprId)> = self
            .flat_factors(e)
            .into_iter()
            .map(|f| (self.expr(w, f), f))
            .collect();
        keyed.sort_by(|x, y| x.0.cmp(&y.0));
        keyed.into_iter().map(|(_, f)| f).collect()
    }

    /// The key of expression `e` over the variables bound in `w`.
    pub(super) fn expr(&self, w: &mut Vars, e: ExprId) -> String {
        let terms = self.flat_terms(e);
        if let [(false, t)] = terms.as_slice() {
            return self.node(w, *t);
        }
        let mut keys: Vec<String> = terms
            .into_iter()
            .map(|(neg, t)| format!("{}{}", sign(neg), self.node(w, t)))
            .collect();
        keys.sort();
        format!("({})", keys.join(" "))
    }

    /// `e` as a list of signed terms: through `+`, `-` and negation, at any depth (a stack, not
    /// recursion: a derivative's sum has one term per read).
    fn flat_terms(&self, e: ExprId) -> Vec<(bool, ExprId)> {
        let mut out = Vec::new();
        let mut stack = vec![(false, e)];
        while let Some((neg, x)) = stack.pop() {
            match *self.p.arena.get(x) {
                Node::Add(a, b) => {
                    stack.push((neg, b));
                    stack.push((neg, a));
                }
                Node::Sub(a, b) => {
                    stack.push((!neg, b));
                    stack.push((neg, a));
                }
                Node::Neg(a) => stack.push((!neg, a)),
                _ => out.push((neg, x)),
            }
        }
        out
    }

    /// `e` as a list of factors, through nested products.
    fn flat_factors(&self, e: ExprId) -> Vec<ExprId> {
        let mut out = Vec::new();
        let mut stack = vec![e];
        while let Some(x) = stack.pop() {
            match *self.p.arena.get(x) {
                Node::Mul(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                _ => out.push(x),
            }
        }
        out
    }

    /// The key of a tensor read: its hash when it is defined (or fixed), else what the leaf is.
    fn tensor(&self, t: TensorId) -> String {
        match self.tensors.get(&t) {
            Some(h) => format!("#{h:016x}"),
            None => self.leaf(t),
        }
    }

    /// A tensor's domain and number of axes.
    fn head(&self, t: TensorId) -> String {
        let tensor = self.p.tensor(t);
        let domain = match tensor.domain {
            Domain::Dense => "dense",
            Domain::Node => "node",
            Domain::Edge(_) => "edge",
        };
        format!("{domain}/{}", tensor.dims.len())
    }

    /// The key of a tensor no equation defines.
    fn leaf(&self, t: TensorId) -> String {
        let tensor = self.p.tensor(t);
        // `~` sorts after every other key: leaves come after what is computed from them, so a
        // canonical `Σ_f W · x + b` keeps the weight before the bias.
        let mut s = format!("~{}", self.head(t));
        match &tensor.role {
            Role::Param => {
                s.push_str(" param");
                if let Some(groups) = &tensor.external_shape {
                    let sizes: Vec<String> = groups.iter().map(|g| g.len().to_string()).collect();
                    let _ = write!(s, " file [{}]", sizes.join(","));
                }
                if self.with_init {
                    match self.p.init_of(t) {
                        Some(init) => {
                            let _ = write!(s, " init {init}");
                        }
                        None => s.push_str(" init default"),
                    }
                }
            }
            Role::Input => s.push_str(" input"),
            Role::Labels { .. } => s.push_str(" labels"),
            Role::Mask => s.push_str(" mask"),
            Role::Dropout { p } => {
                let _ = write!(s, " dropout {}", self.scalar(*p));
            }
            Role::Adjoint(_) => s.push_str(" upstream"),
            Role::Defined => s.push_str(" undefined"),
        }
        s
    }

    fn scalar(&self, s: Scalar) -> String {
        match s {
            Scalar::Lit(b) => format!("{}", f64::from_bits(b)),
            Scalar::Named(id) => format!("c={}", self.p.scalars[id.index()].default),
        }
    }

    fn equation(&self, eq: &Equation) -> String {
        let mut w = Vars::default();
        for v in &eq.vars {
            w.bind(*v);
        }
        let body = match &eq.rhs {
            Rhs::Expr(x) => self.expr(&mut w, *x),
            Rhs::Softmax(x) => format!("softmax {}", self.expr(&mut w, *x)),
            Rhs::Reshape(t) => format!("reshape {}", self.tensor(*t)),
            Rhs::LoopFill(t) => format!("loop fill {}", self.tensor(*t)),
            Rhs::LoopFillAdjoint(t) => format!("loop fill adjoint {}", self.tensor(*t)),
            Rhs::CrossEntropy {
                logits,
                labels,
                mask,
            } => format!(
                "cross entropy {} {} {}",
                self.tensor(*logits),
                self.tensor(*labels),
                self.tensor(*mask)
            ),
        };
        format!("{} = {body}", self.head(eq.lhs))
    }

    fn node(&self, w: &mut Vars, e: ExprId) -> String {
        let p = self.p;
        match p.arena.get(e).clone() {
            Node::Const(s) => self.scalar(s),
            Node::Access { tensor, at, dense } => {
                let mut idx: Vec<String> = at.map(|a| w.at(p, a)).into_iter().collect();
                idx.extend(dense.iter().map(|v| w.var(p, *v)));
                format!("{}[{}]", self.tensor(tensor), idx.join(","))
            }
            Node::Add(..) | Node::Sub(..) | Node::Neg(..) => self.expr(w, e),
            Node::Mul(..) => {
                let mut keys: Vec<String> = self
                    .flat_factors(e)
                    .into_iter()
                    .map(|f| self.expr(w, f))
                    .collect();
                keys.sort();
                format!("(* {})", keys.join(" "))
            }
            Node::Div(a, b) => format!("(/ {} {})", self.expr(w, a), self.expr(w, b)),
            Node::Pow(a, s) => format!("(^ {} {})", self.expr(w, a), self.scalar(s)),
            Node::Call(f, a, s) => {
                let arg = self.expr(w, a);
                match s {
                    Some(s) => format!("{f:?}({arg}, {})", self.scalar(s)),
                    None => format!("{f:?}({arg})"),
                }
            }
            Node::Reduce { op, range, body } => {
                let of = match range {
                    Range::InEdges { of, .. } => format!("in {}", w.at(p, of)),
                    Range::OutEdges { of, .. } => format!("out {}", w.at(p, of)),
                    Range::Dense(_) => "dense".into(),
                    Range::AllNodes(_) => "all nodes".into(),
                    Range::AllEdges(_) => "all edges".into(),
                };
                w.bind(range.var());
                let v = w.var(p, range.var());
                let body = self.expr(w, body);
                w.unbind();
                format!("{op:?}{{{v} {of}}}({body})")
            }
            Node::OneHot { labels, at, class } => format!(
                "[{}[{}]={}]",
                self.tensor(labels),
                w.at(p, at),
                w.var(p, class)
            ),
            Node::MaskCount(t) => format!("count({})", self.tensor(t)),
            Node::DimSize(_) => "size".into(),
        }
    }
}

fn sign(negated: bool) -> &'static str {
    if negated {
        "-"
    } else {
        "+"
    }
}

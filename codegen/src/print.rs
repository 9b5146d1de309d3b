//! Printing equations as Unicode text (`∂xl[n, h, c] = Σ_{i : n → i} ...`) and as LaTeX.
//!
//! `∂T` (LaTeX `\partial T`) is the gradient of the loss with respect to `T` (for a layer without a
//! loss, of the scalar whose gradient the caller supplies as `∂out`); no tensor or index can be
//! written with `∂`, so it never reads as an index. What is printed is exactly what is computed:
//! every variable a reduction binds is shown under a name that no other variable in scope has
//! (`k'` when `k` is taken), so no bound name captures a free one.

use crate::ir::*;
use crate::primitives::Latex;
use std::collections::HashMap;

/// Output style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Unicode text, one equation per line.
    Text,
    /// LaTeX math, one equation per line.
    Latex,
}

/// Prints forward or derivative equations of a program.
pub struct Printer<'a> {
    p: &'a Program,
    style: Style,
}

/// The names variables are shown under while one equation is printed.
#[derive(Default)]
struct Names {
    /// Each variable in scope: its name (edge variables: the names of their target and source).
    shown: HashMap<VarId, (String, String)>,
    /// Every name in scope, outermost first; a reduction pushes the names it binds and pops them
    /// when its body is printed.
    taken: Vec<String>,
}

impl Names {
    /// `want`, or `want'`, `want''`, ... : the first that no variable in scope is shown as.
    fn fresh(&self, want: &str) -> String {
        let mut name = want.to_string();
        while self.taken.contains(&name) {
            name.push('\'');
        }
        name
    }
    /// Brings a node or dense variable into scope under a fresh name.
    fn bind(&mut self, v: VarId, want: &str) {
        let n = self.fresh(want);
        self.taken.push(n.clone());
        self.shown.insert(v, (n.clone(), n));
    }
    /// Brings an edge variable into scope: each end keeps the name given (`Ok`, the name of a node
    /// already in scope) or gets a fresh one (`Err`, the preferred name).
    fn bind_edge(&mut self, e: VarId, target: Result<String, &str>, source: Result<String, &str>) {
        let mut end = |want: Result<String, &str>| match want {
            Ok(n) => n,
            Err(w) => {
                let n = self.fresh(w);
                self.taken.push(n.clone());
                n
            }
        };
        let t = end(target);
        let s = end(source);
        self.shown.insert(e, (t, s));
    }
}

const ADD: u8 = 1;
const MUL: u8 = 2;
const UNARY: u8 = 3;
const ATOM: u8 = 4;

impl<'a> Printer<'a> {
    /// A printer in the given style.
    pub fn new(p: &'a Program, style: Style) -> Printer<'a> {
        Printer { p, style }
    }

    fn latex(&self) -> bool {
        self.style == Style::Latex
    }

    /// All forward equations, one per line.
    pub fn forward(&self) -> String {
        self.p
            .equations
            .iter()
            .map(|e| self.equation(e) + "\n")
            .collect()
    }

    /// All derivative equations, one per line, in evaluation order.
    pub fn backward(&self) -> String {
        self.p
            .backward
            .iter()
            .map(|e| self.equation(e) + "\n")
            .collect()
    }

    /// The derivative equations needed for the gradient of one tensor (by display or file name),
    /// in evaluation order; `None` if it has no gradient.
    pub fn backward_for(&self, name: &str) -> Option<String> {
        let (_, target) = self.p.grads.iter().find(|(t, _)| {
            let t = self.p.tensor(*t);
            t.name == name || t.external == name
        })?;
        // Keep the equations the target depends on.
        let mut needed = std::collections::HashSet::from([*target]);
        let mut keep = vec![false; self.p.backward.len()];
        let mut read = Vec::new();
        for (k, eq) in self.p.backward.iter().enumerate().rev() {
            if !needed.contains(&eq.lhs) {
                continue;
            }
            keep[k] = true;
            read.clear();
            match eq.rhs {
                Rhs::Expr(e) | Rhs::Softmax(e) => self.p.tensors_read(e, &mut read),
                Rhs::Reshape(t) | Rhs::LoopFill(t) | Rhs::LoopFillAdjoint(t) => read.push(t),
                Rhs::CrossEntropy { logits, .. } => read.push(logits),
            }
            needed.extend(read.iter().copied());
        }
        Some(
            self.p
                .backward
                .iter()
                .zip(keep)
                .filter(|(_, k)| *k)
                .map(|(e, _)| self.equation(e) + "\n")
                .collect(),
        )
    }

    /// One equation.
    pub fn equation(&self, eq: &Equation) -> String {
        let names = &mut Names::default();
        for &v in &eq.vars {
            self.bind_free(v, names);
        }
        if let Rhs::Expr(e) | Rhs::Softmax(e) = eq.rhs {
            for &v in self.p.arena.free_vars(e) {
                if !names.shown.contains_key(&v) {
                    self.bind_free(v, names);
                }
            }
        }
        let lhs = self.lhs(eq, names);
        let rhs = match &eq.rhs {
            Rhs::Expr(e) => self.expr_at(*e, 0, true, names),
            Rhs::Softmax(e) => {
                let (target, source) = names.shown[&eq.vars[0]].clone();
                let (target, source) = (self.var_name(&target), self.var_name(&source));
                let body = self.expr_at(*e, MUL, true, names);
                if self.latex() {
                    format!("\\operatorname{{softmax}}_{{{source} \\to {target}}} {body}")
                } else {
                    format!("softmax_{{{source} → {target}}} {body}")
                }
            }
            Rhs::Reshape(t) => {
                // The same memory: the node index is shared, the dense axes are flattened. The
                // other tensor's dense axes are named apart from ours.
                let node = eq.vars.first().map(|v| self.var_name(&names.shown[v].0));
                let ours: Vec<String> = eq.vars[1..]
                    .iter()
                    .map(|v| self.var_name(&names.shown[v].0))
                    .collect();
                let theirs: Vec<String> = self.p.tensor(*t).index_names[1..]
                    .iter()
                    .map(|n| {
                        let n = names.fresh(n);
                        names.taken.push(n.clone());
                        self.var_name(&n)
                    })
                    .collect();
                let mut idx: Vec<String> = node.into_iter().collect();
                idx.extend(theirs.iter().cloned());
                let (with, flat) = if self.latex() {
                    ("\\quad\\text{with } ", "\\text{ flattened}")
                } else {
                    (" with ", " flattened")
                };
                format!(
                    "{}{with}({}) = ({}){flat}",
                    self.indexed(&self.name(*t), &idx),
                    ours.join(", "),
                    theirs.join(", ")
                )
            }
            Rhs::LoopFill(t) => format!(
                "{}{}",
                self.same_indices(eq, *t, names),
                self.words(
                    " on original edges; mean of the target's in-edge features on self loops"
                )
            ),
            Rhs::LoopFillAdjoint(t) => format!(
                "{}{}",
                self.same_indices(eq, *t, names),
                self.words(
                    " on each edge + its share (1/in-degree) of the target's self-loop gradient"
                )
            ),
            Rhs::CrossEntropy {
                logits,
                labels,
                mask,
            } => {
                let (l, y, m) = (self.name(*logits), self.name(*labels), self.name(*mask));
                if self.latex() {
                    format!("-\\frac{{1}}{{|{m}|}} \\sum_{{n \\in {m}}} \\log \\operatorname{{softmax}}({l}_{{n}})_{{{y}_{{n}}}}")
                } else {
                    format!("-(1/|{m}|) Σ_{{n ∈ {m}}} log softmax({l}[n])[{y}[n]]")
                }
            }
        };
        format!("{lhs} = {rhs}")
    }

    /// Prose in an equation (LaTeX: set as text).
    fn words(&self, text: &str) -> String {
        if self.latex() {
            format!("\\quad\\text{{{}}}", text.trim_start())
        } else {
            text.to_string()
        }
    }

    /// Brings a left-hand-side variable into scope, under its own name unless another variable
    /// of the equation already has it.
    fn bind_free(&self, v: VarId, names: &mut Names) {
        let var = self.p.var(v);
        match var.kind {
            VarKind::Edge(_) => names.bind_edge(v, Err(&var.target), Err(&var.source)),
            _ => names.bind(v, &var.name),
        }
    }

    /// Tensor `t` read at the left-hand-side indices of `eq` (it has the same axes).
    fn same_indices(&self, eq: &Equation, t: TensorId, names: &Names) -> String {
        let (at, dense) = self.split(eq);
        self.access(t, at, dense, names)
    }

    fn split<'e>(&self, eq: &'e Equation) -> (Option<At>, &'e [VarId]) {
        match eq.vars.first().map(|v| self.p.var(*v).kind) {
            Some(VarKind::Node) => (Some(At::Node(eq.vars[0])), &eq.vars[1..]),
            Some(VarKind::Edge(_)) => (Some(At::Edge(eq.vars[0])), &eq.vars[1..]),
            _ => (None, &eq.vars[..]),
        }
    }

    fn lhs(&self, eq: &Equation, names: &Names) -> String {
        let (at, dense) = self.split(eq);
        self.access(eq.lhs, at, dense, names)
    }

    /// A tensor's display name in this style.
    pub fn name(&self, t: TensorId) -> String {
        let tensor = self.p.tensor(t);
        match (tensor.role.clone(), self.latex()) {
            (Role::Adjoint(of), false) => format!("∂{}", self.name(of)),
            (Role::Adjoint(of), true) => format!("\\partial {}", self.name(of)),
            (_, false) => tensor.name.clone(),
            (_, true) => latex_name(&tensor.name),
        }
    }

    fn indexed(&self, name: &str, idx: &[String]) -> String {
        if idx.is_empty() {
            return name.to_string();
        }
        if self.latex() {
            format!("{name}_{{{}}}", idx.join(",\\, "))
        } else {
            format!("{name}[{}]", idx.join(", "))
        }
    }

    /// The name a variable is shown under (target and source for an edge variable).
    fn shown(&self, v: VarId, names: &Names) -> (String, String) {
        match names.shown.get(&v) {
            Some((t, s)) => (self.var_name(t), self.var_name(s)),
            None => {
                let var = self.p.var(v);
                match var.kind {
                    VarKind::Edge(_) => (self.var_name(&var.target), self.var_name(&var.source)),
                    _ => (self.var_name(&var.name), self.var_name(&var.name)),
                }
            }
        }
    }

    fn at(&self, at: At, names: &Names) -> String {
        match at {
            At::Node(v) | At::Dst(v) => self.shown(v, names).0,
            At::Src(e) => self.shown(e, names).1,
            At::Edge(e) => {
                let (t, s) = self.shown(e, names);
                if self.latex() {
                    format!("{t} \\leftarrow {s}")
                } else {
                    format!("{t} ← {s}")
                }
            }
        }
    }

    fn var_name(&self, n: &str) -> String {
        if self.latex() {
            // Primes stay primes: `k'` is `k'`, not `\mathrm{k'}`.
            let base = n.trim_end_matches('\'');
            format!("{}{}", latex_name(base), &n[base.len()..])
        } else {
            n.to_string()
        }
    }

    fn access(&self, t: TensorId, at: Option<At>, dense: &[VarId], names: &Names) -> String {
        let mut idx = Vec::new();
        if let Some(at) = at {
            idx.push(self.at(at, names));
        }
        idx.extend(dense.iter().map(|v| self.shown(*v, names).0));
        self.indexed(&self.name(t), &idx)
    }

    fn scalar(&self, s: Scalar) -> String {
        match s {
            Scalar::Lit(b) => number(f64::from_bits(b)),
            Scalar::Named(id) => self.var_name(&self.p.scalars[id.index()].name),
        }
    }

    /// One expression at top level, its free variables under their own names.
    pub fn expr(&self, e: ExprId) -> String {
        let names = &mut Names::default();
        for &v in self.p.arena.free_vars(e) {
            self.bind_free(v, names);
        }
        self.expr_at(e, 0, true, names)
    }

    fn paren(&self, s: String) -> String {
        if self.latex() {
            format!("\\left({s}\\right)")
        } else {
            format!("({s})")
        }
    }

    /// Brings the variable a range binds into scope, named apart from every name in scope.
    fn bind_range(&self, r: Range, names: &mut Names) {
        match r {
            Range::Dense(v) | Range::AllNodes(v) => names.bind(v, &self.p.var(v).name),
            Range::InEdges { edge, of } => {
                let target = names_at(of, names, self.p);
                names.bind_edge(edge, Ok(target), Err(&self.p.var(edge).source));
            }
            Range::OutEdges { edge, of } => {
                let source = names_at(of, names, self.p);
                names.bind_edge(edge, Err(&self.p.var(edge).target), Ok(source));
            }
            Range::AllEdges(e) => {
                let v = self.p.var(e);
                names.bind_edge(e, Err(&v.target), Err(&v.source));
            }
        }
    }

    /// The head of a reduction over `ranges`, whose variables are in scope.
    fn range(&self, op: ReduceOp, ranges: &[Range], names: &Names) -> String {
        let latex = self.latex();
        let sym = match (op, latex) {
            (ReduceOp::Sum, false) => "Σ".to_string(),
            (ReduceOp::Sum, true) => "\\sum".to_string(),
            (ReduceOp::Mean, false) => "mean".to_string(),
            (ReduceOp::Mean, true) => "\\operatorname{mean}".to_string(),
            (ReduceOp::LogSumExp, false) => "logsumexp".to_string(),
            (ReduceOp::LogSumExp, true) => "\\operatorname{logsumexp}".to_string(),
        };
        let arrow = if latex { " \\to " } else { " → " };
        let left = if latex { " \\leftarrow " } else { " ← " };
        let parts: Vec<String> = ranges
            .iter()
            .map(|r| match *r {
                Range::Dense(v) | Range::AllNodes(v) => self.shown(v, names).0,
                Range::InEdges { edge, .. } => {
                    let (t, s) = self.shown(edge, names);
                    format!("{s}{arrow}{t}")
                }
                Range::OutEdges { edge, .. } => {
                    let (t, s) = self.shown(edge, names);
                    format!("{t} : {s}{arrow}{t}")
                }
                Range::AllEdges(e) => {
                    let (t, s) = self.shown(e, names);
                    let inn = if latex { " \\in E" } else { " ∈ E" };
                    format!("{t}{left}{s}{inn}")
                }
            })
            .collect();
        let joined = parts.join(",");
        if joined.chars().count() == 1 && !latex {
            format!("{sym}_{joined}")
        } else {
            format!("{sym}_{{{joined}}}")
        }
    }

    fn expr_at(&self, e: ExprId, prec: u8, tail: bool, names: &mut Names) -> String {
        let ar = &self.p.arena;
        let latex = self.latex();
        let (s, own) = match ar.get(e).clone() {
            Node::Const(s) => (self.scalar(s), ATOM),
            Node::DimSize(d) => (self.var_name(&self.p.dims[d.index()].name), ATOM),
            Node::MaskCount(t) => (format!("|{}|", self.name(t)), ATOM),
            Node::OneHot { labels, at, class } => {
                let y = self.indexed(&self.name(labels), &[self.at(at, names)]);
                (format!("[{y} = {}]", self.shown(class, names).0), ATOM)
            }
            Node::Access { tensor, at, dense } => (self.access(tensor, at, &dense, names), ATOM),
            Node::Add(..) | Node::Sub(..) => {
                // A chain of sums is printed term by term with a loop (see `terms`); only the last
                // term can be followed by what follows the whole sum.
                let (first, rest) = ar.sum_terms(e);
                let mut s = self.expr_at(first, ADD, true, names);
                for (k, t) in rest.iter().enumerate() {
                    let last_tail = k + 1 < rest.len() || tail || prec > ADD;
                    let (op, rp) = if t.negated { ("-", MUL) } else { ("+", ADD) };
                    s.push_str(&format!(
                        " {op} {}",
                        self.expr_at(t.expr, rp, last_tail, names)
                    ));
                }
                (s, ADD)
            }
            Node::Mul(a, b) => {
                let inner_tail = tail || prec > MUL;
                let op = if latex { " \\cdot " } else { " · " };
                (
                    format!(
                        "{}{op}{}",
                        self.expr_at(a, MUL, false, names),
                        self.expr_at(b, MUL, inner_tail, names)
                    ),
                    MUL,
                )
            }
            Node::Div(a, b) => {
                if latex {
                    (
                        format!(
                            "\\frac{{{}}}{{{}}}",
                            self.expr_at(a, 0, true, names),
                            self.expr_at(b, 0, true, names)
                        ),
                        ATOM,
                    )
                } else {
                    (
                        format!(
                            "{} / {}",
                            self.expr_at(a, MUL, false, names),
                            self.expr_at(b, UNARY, false, names)
                        ),
                        MUL,
                    )
                }
            }
            Node::Neg(a) => (
                format!("-{}", self.expr_at(a, UNARY, tail || prec > UNARY, names)),
                UNARY,
            ),
            Node::Pow(a, s) => {
                let base = self.expr_at(a, ATOM, false, names);
                if latex {
                    (format!("{{{base}}}^{{{}}}", self.scalar(s)), ATOM)
                } else {
                    (format!("{base}^{}", self.scalar(s)), ATOM)
                }
            }
            Node::Call(f, a, arg) => {
                let prim = f.primitive();
                let name = if latex {
                    match prim.latex {
                        Latex::Command(c) => c.to_string(),
                        Latex::Sqrt => String::new(),
                        Latex::Operator => {
                            format!("\\operatorname{{{}}}", prim.name.replace('_', "\\_"))
                        }
                    }
                } else {
                    prim.name.to_string()
                };
                let inner = self.expr_at(a, 0, true, names);
                let args = match arg {
                    Some(s) => format!("{inner}, {}", self.scalar(s)),
                    None => inner,
                };
                if latex && prim.latex == Latex::Sqrt {
                    (format!("\\sqrt{{{args}}}"), ATOM)
                } else if latex {
                    (format!("{name}\\left({args}\\right)"), ATOM)
                } else {
                    (format!("{name}({args})"), ATOM)
                }
            }
            Node::Reduce { op, range, body } => {
                // Merge directly nested reductions of the same kind: Σ_h Σ_c → Σ_{h,c}.
                let mut ranges = vec![range];
                let mut body = body;
                while let Node::Reduce {
                    op: op2,
                    range: r2,
                    body: b2,
                } = ar.get(body)
                {
                    if *op2 != op || !matches!((range, r2), (Range::Dense(_), Range::Dense(_))) {
                        break;
                    }
                    ranges.push(*r2);
                    body = *b2;
                }
                // Bind the reduction's variables for its head and body, then restore the scope.
                let depth = names.taken.len();
                let saved: Vec<_> = ranges
                    .iter()
                    .map(|r| (r.var(), names.shown.get(&r.var()).cloned()))
                    .collect();
                for r in &ranges {
                    self.bind_range(*r, names);
                }
                let head = self.range(op, &ranges, names);
                let needs = prec > MUL || !tail;
                let b = self.expr_at(body, MUL, tail || needs, names);
                names.taken.truncate(depth);
                for (v, old) in saved.into_iter().rev() {
                    match old {
                        Some(n) => names.shown.insert(v, n),
                        None => names.shown.remove(&v),
                    };
                }
                let s = format!("{head} {b}");
                if needs {
                    return self.paren(s);
                }
                (s, MUL)
            }
        };
        if own < prec {
            self.paren(s)
        } else {
            s
        }
    }
}

/// The raw name of the node `of` refers to, as shown in `names`.
fn names_at(of: At, names: &Names, p: &Program) -> String {
    let (v, target) = match of {
        At::Node(v) | At::Dst(v) | At::Edge(v) => (v, true),
        At::Src(v) => (v, false),
    };
    match names.shown.get(&v) {
        Some((t, s)) => {
            if target {
                t.clone()
            } else {
                s.clone()
            }
        }
        None => {
            let var = p.var(v);
            match (var.kind, target) {
                (VarKind::Edge(_), true) => var.target.clone(),
                (VarKind::Edge(_), false) => var.source.clone(),
                _ => var.name.clone(),
            }
        }
    }
}

fn number(v: f64) -> String {
    if v == 0.0 || (v.abs() >= 1e-4 && v.abs() < 1e6) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

const GREEK: &[&str] = &[
    "alpha", "beta", "gamma", "delta", "epsilon", "theta", "lambda", "mu", "sigma", "tau", "phi",
    "omega",
];

fn latex_name(name: &str) -> String {
    if GREEK.contains(&name) {
        return format!("\\{name}");
    }
    if name.chars().count() == 1 {
        return name.to_string();
    }
    format!("\\mathrm{{{}}}", name.replace('_', "\\_"))
}

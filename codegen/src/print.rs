//! Printing equations as Unicode text (`d xl[n, h, c] = Σ_{i : n → i} ...`) and as LaTeX.

use crate::ir::*;
use crate::primitives::Latex;

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
        let mut needed = vec![*target];
        let mut keep = vec![false; self.p.backward.len()];
        for (k, eq) in self.p.backward.iter().enumerate().rev() {
            if !needed.contains(&eq.lhs) {
                continue;
            }
            keep[k] = true;
            match eq.rhs {
                Rhs::Expr(e) | Rhs::Softmax(e) => self.p.tensors_read(e, &mut needed),
                Rhs::Reshape(t) | Rhs::LoopFill(t) | Rhs::LoopFillAdjoint(t) => needed.push(t),
                Rhs::CrossEntropy { logits, .. } => needed.push(logits),
            }
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
        let lhs = self.lhs(eq);
        let rhs = match &eq.rhs {
            Rhs::Expr(e) => self.expr(*e),
            Rhs::Softmax(e) => {
                let v = self.p.var(eq.vars[0]);
                let body = self.expr_at(*e, MUL, true);
                if self.latex() {
                    format!(
                        "\\operatorname{{softmax}}_{{{} \\to {}}} {body}",
                        v.source, v.target
                    )
                } else {
                    format!("softmax_{{{} → {}}} {body}", v.source, v.target)
                }
            }
            Rhs::Reshape(t) => {
                // The same memory: the node index is shared, the dense axes are flattened.
                let node = eq.vars.first().map(|v| self.var_name(&self.p.var(*v).name));
                let ours: Vec<String> = eq.vars[1..]
                    .iter()
                    .map(|v| self.var_name(&self.p.var(*v).name))
                    .collect();
                let theirs: Vec<String> = self.p.tensor(*t).index_names[1..]
                    .iter()
                    .map(|n| self.var_name(n))
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
                "{} on original edges; mean of the target's in-edge features on self loops",
                self.tensor_with_own_indices(*t)
            ),
            Rhs::LoopFillAdjoint(t) => format!(
                "{} on each edge + its share (1/in-degree) of the target's self-loop gradient",
                self.tensor_with_own_indices(*t)
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

    fn tensor_with_own_indices(&self, t: TensorId) -> String {
        let tensor = self.p.tensor(t);
        let idx: Vec<String> = tensor
            .index_names
            .iter()
            .map(|s| {
                if self.latex() {
                    s.replace(" <- ", " \\leftarrow ")
                } else {
                    s.replace(" <- ", " ← ")
                }
            })
            .collect();
        self.indexed(&self.name(t), &idx)
    }

    fn lhs(&self, eq: &Equation) -> String {
        let (at, dense) = match eq.vars.first().map(|v| self.p.var(*v).kind) {
            Some(VarKind::Node) => (Some(At::Node(eq.vars[0])), &eq.vars[1..]),
            Some(VarKind::Edge(_)) => (Some(At::Edge(eq.vars[0])), &eq.vars[1..]),
            _ => (None, &eq.vars[..]),
        };
        self.access(eq.lhs, at, dense)
    }

    /// A tensor's display name in this style.
    pub fn name(&self, t: TensorId) -> String {
        let tensor = self.p.tensor(t);
        if !self.latex() {
            return tensor.name.clone();
        }
        match tensor.role {
            Role::Adjoint(of) => format!("\\partial {}", self.name(of)),
            _ => latex_name(&tensor.name),
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

    fn at(&self, at: At) -> String {
        match at {
            At::Node(v) => self.var_name(&self.p.var(v).name),
            At::Src(e) => self.var_name(&self.p.var(e).source),
            At::Dst(e) => self.var_name(&self.p.var(e).target),
            At::Edge(e) => {
                let v = self.p.var(e);
                if self.latex() {
                    format!(
                        "{} \\leftarrow {}",
                        self.var_name(&v.target),
                        self.var_name(&v.source)
                    )
                } else {
                    format!("{} ← {}", v.target, v.source)
                }
            }
        }
    }

    fn var_name(&self, n: &str) -> String {
        if self.latex() {
            latex_name(n)
        } else {
            n.to_string()
        }
    }

    fn access(&self, t: TensorId, at: Option<At>, dense: &[VarId]) -> String {
        let mut idx = Vec::new();
        if let Some(at) = at {
            idx.push(self.at(at));
        }
        idx.extend(dense.iter().map(|v| self.var_name(&self.p.var(*v).name)));
        self.indexed(&self.name(t), &idx)
    }

    fn scalar(&self, s: Scalar) -> String {
        match s {
            Scalar::Lit(b) => number(f64::from_bits(b)),
            Scalar::Named(id) => self.var_name(&self.p.scalars[id.index()].name),
        }
    }

    /// One expression at top level.
    pub fn expr(&self, e: ExprId) -> String {
        self.expr_at(e, 0, true)
    }

    fn paren(&self, s: String) -> String {
        if self.latex() {
            format!("\\left({s}\\right)")
        } else {
            format!("({s})")
        }
    }

    fn range(&self, op: ReduceOp, ranges: &[Range]) -> String {
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
                Range::Dense(v) | Range::AllNodes(v) => self.var_name(&self.p.var(v).name),
                Range::InEdges { edge, of } => {
                    format!(
                        "{}{arrow}{}",
                        self.var_name(&self.p.var(edge).source),
                        self.at(of)
                    )
                }
                Range::OutEdges { edge, of } => format!(
                    "{} : {}{arrow}{}",
                    self.var_name(&self.p.var(edge).target),
                    self.at(of),
                    self.var_name(&self.p.var(edge).target)
                ),
                Range::AllEdges(e) => {
                    let v = self.p.var(e);
                    let inn = if latex { " \\in E" } else { " ∈ E" };
                    format!(
                        "{}{left}{}{inn}",
                        self.var_name(&v.target),
                        self.var_name(&v.source)
                    )
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

    fn expr_at(&self, e: ExprId, prec: u8, tail: bool) -> String {
        let ar = &self.p.arena;
        let latex = self.latex();
        let (s, own) = match ar.get(e).clone() {
            Node::Const(s) => (self.scalar(s), ATOM),
            Node::DimSize(d) => (self.var_name(&self.p.dims[d.index()].name), ATOM),
            Node::MaskCount(t) => (format!("|{}|", self.name(t)), ATOM),
            Node::OneHot { labels, at, class } => {
                let y = self.indexed(&self.name(labels), &[self.at(at)]);
                (
                    format!("[{y} = {}]", self.var_name(&self.p.var(class).name)),
                    ATOM,
                )
            }
            Node::Access { tensor, at, dense } => (self.access(tensor, at, &dense), ATOM),
            Node::Add(a, b) | Node::Sub(a, b) => {
                let inner_tail = tail || prec > ADD;
                let op = if matches!(ar.get(e), Node::Add(..)) {
                    "+"
                } else {
                    "-"
                };
                let rp = if op == "-" { MUL } else { ADD };
                (
                    format!(
                        "{} {op} {}",
                        self.expr_at(a, ADD, true),
                        self.expr_at(b, rp, inner_tail)
                    ),
                    ADD,
                )
            }
            Node::Mul(a, b) => {
                let inner_tail = tail || prec > MUL;
                let op = if latex { " \\cdot " } else { " · " };
                (
                    format!(
                        "{}{op}{}",
                        self.expr_at(a, MUL, false),
                        self.expr_at(b, MUL, inner_tail)
                    ),
                    MUL,
                )
            }
            Node::Div(a, b) => {
                if latex {
                    (
                        format!("\\frac{{{}}}{{{}}}", self.expr(a), self.expr(b)),
                        ATOM,
                    )
                } else {
                    (
                        format!(
                            "{} / {}",
                            self.expr_at(a, MUL, false),
                            self.expr_at(b, UNARY, false)
                        ),
                        MUL,
                    )
                }
            }
            Node::Neg(a) => (
                format!("-{}", self.expr_at(a, UNARY, tail || prec > UNARY)),
                UNARY,
            ),
            Node::Pow(a, s) => {
                let base = self.expr_at(a, ATOM, false);
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
                let inner = self.expr(a);
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
                let head = self.range(op, &ranges);
                let needs = prec > MUL || !tail;
                let b = self.expr_at(body, MUL, tail || needs);
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

//! Invariant sub-expressions get their own stored tensor, before differentiation, so how a user
//! spells the math does not decide how often it is evaluated.
//!
//! A gate written inline,
//! `out[i, h, c] = Σ_{j → i} α[i ← j, h] · sigmoid(Σ_d w[h, d] · (xl[j, h, d] + xr[i, h, d])) · xl[j, h, c]`,
//! depends on the edge and the head but not on the channel `c`, yet evaluated where it is written
//! it is computed once per channel: `C` reductions of length `C` and `C` calls of `exp` per edge
//! and head, and as many again in every derivative that reads it. This rewrite makes it what the
//! user would have written as its own equation, `out_sigmoid[i ← j, h] = sigmoid(Σ_d …)`, placed
//! right before the equation it came from, and the equation reads `out_sigmoid[i ← j, h]` where
//! the call was. The rest of the compiler then treats it as any stored tensor: the differentiator
//! reads its value where a derivative rule needs it (`∂u = ∂g · g · (1 − g)` reading the stored
//! gate, see `Differ::stored`), the plan stores it once per edge and head, and the printed
//! derivatives show it.
//!
//! Which sub-expressions: at every place of a right-hand side the variables *in scope* are the
//! equation's own and those bound by the reductions around that place. A sub-expression is
//! *invariant* there when it does not depend on some variable in scope (a node whose in- or
//! out-edges are being summed counts as read when the edge is: `Σ_{j → i} exp(s[i ← j])` is
//! evaluated once per edge already). It is stored when, in addition, its outermost operation is
//! a reduction or a function call and it does real work: it reads a tensor (`sqrt(C)` is a
//! constant) and holds a reduction or a call of a function that is more than a comparison (see
//! [`cheap`]: `x[n, f] / clamp_min(norm[n], ε)` stays as written). The walk goes from the
//! outside in and stops at the first such sub-expression, so the largest one is stored;
//! products, sums and quotients around it stay where they are (they cost as much to read as to
//! recompute, and a call kept outermost lets its derivative read the stored value). A stored
//! call whose derivative rule reads its argument (`relu' = step(x)`, `log' = 1 / x`) and whose
//! argument does real work gets its argument stored as well, so the backward does not evaluate
//! the argument again. The same sub-expression written in several equations (each with its own
//! index variables) is stored once, the first time, by its canonical text
//! ([`expression_text`]).
//!
//! Why before differentiation rather than as a plan pass (as `plan::passes::lift` is): the
//! derivatives of a stored tensor are built from it, so they read the stored value and print
//! with it (`gatgrad derive`); a plan pass would see a backward already written in terms of the
//! whole expression. The inline and the split spelling thus become the same program up to the
//! tensor's name, with the same plan. The interpreter, diagnostics and generated code all see
//! the stored tensor (they index one tensor table).
//!
//! The stored tensor's shape comes from the free variables of the sub-expression: an edge tensor
//! when it reads an edge variable (a target or source node bound with that edge's neighbourhood
//! sum is that edge's `dst` or `src`), a node tensor when it reads one node variable, a dense
//! tensor otherwise, with the dense variables in the order they came into scope. A
//! sub-expression whose free variables fit none of these (two edge variables, a node unrelated
//! to the edge) stays where it is.
//!
//! The stored value is the same expression evaluated once, so every sum keeps its terms and
//! their order: the program computes the same bits as before, and as the program with the
//! sub-expression written as its own tensor.

use crate::canonical::expression_text;
use crate::ir::*;
use crate::primitives::Operands;
use crate::simplify::Repl;
use std::collections::{HashMap, HashSet};

/// Gives every invariant sub-expression of the forward equations of `p` its own tensor (see the
/// module documentation). Runs before differentiation.
pub fn store_invariants(p: &mut Program) {
    let eqs = std::mem::take(&mut p.equations);
    let mut store = Store {
        names: p.tensors.iter().map(|t| t.name.clone()).collect(),
        tensors: HashMap::new(),
    };
    let mut out = Vec::with_capacity(eqs.len());
    for eq in eqs {
        rewrite(p, eq, &mut store, &mut out);
    }
    p.equations = out;
}

/// What the rewrite of one program shares between its equations.
struct Store {
    /// Every tensor name of the program.
    names: HashSet<String>,
    /// Each stored tensor by its domain and the canonical text of its equation
    /// ([`expression_text`]): the same sub-expression written in several equations, each with
    /// its own variables, is stored once.
    tensors: HashMap<(Domain, String), TensorId>,
}

/// A variable in scope, with the range that binds it (`None` for the equation's own).
#[derive(Clone, Copy)]
struct InScope {
    var: VarId,
    range: Option<Range>,
}

/// Appends `eq` to `out` with its invariant sub-expressions replaced by reads, preceded by the
/// equations that define them.
fn rewrite(p: &mut Program, mut eq: Equation, store: &mut Store, out: &mut Vec<Equation>) {
    let (Rhs::Expr(e) | Rhs::Softmax(e)) = eq.rhs else {
        out.push(eq);
        return;
    };
    let mut w = Walk {
        lhs: eq.lhs,
        stored: HashMap::new(),
        defs: Vec::new(),
        store,
    };
    let mut scope: Vec<InScope> = eq
        .vars
        .iter()
        .map(|&var| InScope { var, range: None })
        .collect();
    let e2 = w.walk(p, e, &mut scope);
    let defs = std::mem::take(&mut w.defs);
    for def in defs {
        rewrite(p, def, store, out);
    }
    eq.rhs = match eq.rhs {
        Rhs::Softmax(_) => Rhs::Softmax(e2),
        _ => Rhs::Expr(e2),
    };
    out.push(eq);
}

/// The walk over one right-hand side.
struct Walk<'a> {
    /// The tensor the equation defines (new tensors are named after it).
    lhs: TensorId,
    /// Sub-expressions already stored, with the read that replaces them.
    stored: HashMap<ExprId, ExprId>,
    /// The equations of the tensors stored so far, in order.
    defs: Vec<Equation>,
    /// What the program's equations share.
    store: &'a mut Store,
}

impl Walk<'_> {
    /// `e` with its largest invariant sub-expressions that do work replaced by reads.
    fn walk(&mut self, p: &mut Program, e: ExprId, scope: &mut Vec<InScope>) -> ExprId {
        if let Some(&r) = self.stored.get(&e) {
            return r;
        }
        let node = p.arena.get(e).clone();
        let outermost_work = matches!(node, Node::Reduce { .. } | Node::Call(..));
        if outermost_work && invariant(p, e, scope) && does_work(p, e) {
            if let Some(read) = self.store(p, e, scope) {
                self.stored.insert(e, read);
                return read;
            }
        }
        match node {
            Node::Add(..) | Node::Sub(..) => self.walk_sum(p, e, scope),
            Node::Mul(a, b) | Node::Div(a, b) => {
                let (a2, b2) = (self.walk(p, a, scope), self.walk(p, b, scope));
                if (a2, b2) == (a, b) {
                    return e;
                }
                p.arena.intern(match node {
                    Node::Mul(..) => Node::Mul(a2, b2),
                    _ => Node::Div(a2, b2),
                })
            }
            Node::Neg(a) => {
                let a2 = self.walk(p, a, scope);
                p.arena.intern(Node::Neg(a2))
            }
            Node::Pow(a, s) => {
                let a2 = self.walk(p, a, scope);
                p.arena.intern(Node::Pow(a2, s))
            }
            Node::Call(f, a, arg) => {
                let a2 = self.walk(p, a, scope);
                p.arena.intern(Node::Call(f, a2, arg))
            }
            Node::Reduce { op, range, body } => {
                scope.push(InScope {
                    var: range.var(),
                    range: Some(range),
                });
                let body2 = self.walk(p, body, scope);
                scope.pop();
                p.arena.intern(Node::Reduce {
                    op,
                    range,
                    body: body2,
                })
            }
            Node::Const(_)
            | Node::Access { .. }
            | Node::OneHot { .. }
            | Node::MaskCount(_)
            | Node::DimSize(_) => e,
        }
    }

    /// A chain of `+` and `-` rebuilt with a loop (it can be as long as the text), its shape
    /// unchanged, each term walked.
    fn walk_sum(&mut self, p: &mut Program, e: ExprId, scope: &mut Vec<InScope>) -> ExprId {
        // The spine of `+`/`-` nodes, parents before children.
        let mut spine = Vec::new();
        let mut terms = Vec::new();
        let mut stack = vec![e];
        while let Some(x) = stack.pop() {
            match *p.arena.get(x) {
                Node::Add(a, b) | Node::Sub(a, b) => {
                    spine.push(x);
                    stack.push(a);
                    stack.push(b);
                }
                _ => terms.push(x),
            }
        }
        let mut done: HashMap<ExprId, ExprId> = HashMap::new();
        for t in terms {
            if let std::collections::hash_map::Entry::Vacant(slot) = done.entry(t) {
                slot.insert(self.walk(p, t, scope));
            }
        }
        for &x in spine.iter().rev() {
            let node = p.arena.get(x).clone();
            let (Node::Add(a, b) | Node::Sub(a, b)) = node else {
                continue;
            };
            let (a2, b2) = (done[&a], done[&b]);
            let new = if (a2, b2) == (a, b) {
                x
            } else if matches!(node, Node::Add(..)) {
                p.arena.intern(Node::Add(a2, b2))
            } else {
                p.arena.intern(Node::Sub(a2, b2))
            };
            done.insert(x, new);
        }
        done[&e]
    }

    /// Stores `e` as a new tensor defined by its own equation; returns the read that replaces
    /// it, or `None` when its free variables give it no tensor shape.
    fn store(&mut self, p: &mut Program, e: ExprId, scope: &[InScope]) -> Option<ExprId> {
        let shape = Shape::of(p, p.arena.free_vars(e), scope)?;
        let mut map: HashMap<VarId, Repl> = HashMap::new();
        let mut vars = Vec::new();
        let mut index_names = Vec::new();
        let (domain, at) = match shape.graph {
            Graph::Edge { var, node } => {
                let v = p.var(var).clone();
                let VarKind::Edge(g) = v.kind else {
                    return None;
                };
                let own = p.add_edge_var(&v.target, &v.source, g);
                map.insert(var, Repl::Var(own));
                match node {
                    Some((n, At::Dst(_))) => map.insert(n, Repl::DstOf(own)),
                    Some((n, _)) => map.insert(n, Repl::SrcOf(own)),
                    None => None,
                };
                vars.push(own);
                index_names.push(format!("{} <- {}", v.target, v.source));
                (Domain::Edge(g), Some(At::Edge(var)))
            }
            Graph::Node(n) => {
                let name = p.var(n).name.clone();
                let own = p.add_var(&name, VarKind::Node);
                map.insert(n, Repl::Var(own));
                vars.push(own);
                index_names.push(name);
                (Domain::Node, Some(At::Node(n)))
            }
            Graph::None => (Domain::Dense, None),
        };
        let mut dims = Vec::new();
        for &v in &shape.dense {
            let info = p.var(v).clone();
            let VarKind::Dense(d) = info.kind else {
                return None;
            };
            let own = p.add_var(&info.name, info.kind);
            map.insert(v, Repl::Var(own));
            vars.push(own);
            index_names.push(info.name);
            dims.push(d);
        }
        let body = p.arena.subst(e, &map);
        let read = |p: &mut Program, t: TensorId| {
            p.arena.intern(Node::Access {
                tensor: t,
                at,
                dense: shape.dense.clone(),
            })
        };
        let key = (domain, expression_text(p, &vars, body));
        if let Some(&t) = self.store.tensors.get(&key) {
            return Some(read(p, t));
        }
        let name = self.name(p, body);
        let t = p.add_tensor(Tensor {
            name: name.clone(),
            external: name,
            domain,
            dims,
            external_shape: None,
            role: Role::Defined,
            index_names,
        });
        self.store.tensors.insert(key, t);
        let rhs = self.store_argument(p, t, &vars, body);
        self.defs.push(Equation {
            lhs: t,
            vars,
            rhs: Rhs::Expr(rhs),
        });
        Some(read(p, t))
    }

    /// For the equation `t[vars] = f(u)` about to be stored: `f(U[..])` with `u` stored as its own
    /// tensor `U` when `f`'s derivative reads its argument and `u` does work; otherwise `body`.
    fn store_argument(
        &mut self,
        p: &mut Program,
        t: TensorId,
        vars: &[VarId],
        body: ExprId,
    ) -> ExprId {
        let Node::Call(f, u, arg) = *p.arena.get(body) else {
            return body;
        };
        if !does_work(p, u) || !derivative_reads_argument(f, arg) {
            return body;
        }
        // `u` may read fewer variables than `t` has; the shape keeps those it reads.
        let scope: Vec<InScope> = vars
            .iter()
            .map(|&var| InScope { var, range: None })
            .collect();
        let lhs = std::mem::replace(&mut self.lhs, t);
        let read = self.store(p, u, &scope);
        self.lhs = lhs;
        match read {
            Some(r) => p.arena.intern(Node::Call(f, r, arg)),
            None => body,
        }
    }

    /// A name for the tensor storing `body`, after the equation it came from and what it
    /// computes (`out_sigmoid`, `conv1.out_sum`), unique in the program.
    fn name(&mut self, p: &Program, body: ExprId) -> String {
        let what = match p.arena.get(body) {
            Node::Call(f, ..) => f.primitive().name.trim_end_matches('\'').to_string(),
            Node::Reduce { op, .. } => match op {
                ReduceOp::Sum => "sum".to_string(),
                ReduceOp::Mean => "mean".to_string(),
                ReduceOp::LogSumExp => "logsumexp".to_string(),
            },
            _ => "value".to_string(),
        };
        let base = format!("{}_{what}", p.tensor(self.lhs).name);
        let mut name = base.clone();
        let mut k = 2;
        while self.store.names.contains(&name) {
            name = format!("{base}{k}");
            k += 1;
        }
        self.store.names.insert(name.clone());
        name
    }
}

/// True when `e` does not depend on some variable in scope. A node whose in- or out-edges are
/// being summed is determined by the edge (`Σ_{j → i} exp(s[i ← j])` reads `i` through the edge,
/// once per edge already), so an expression that reads the edge depends on it.
fn invariant(p: &Program, e: ExprId, scope: &[InScope]) -> bool {
    let free = p.arena.free_vars(e);
    let through_edge = |n: VarId| {
        scope.iter().any(|s| {
            free.contains(&s.var)
                && matches!(s.range,
                    Some(Range::InEdges { of: At::Node(m), .. } | Range::OutEdges { of: At::Node(m), .. })
                        if m == n)
        })
    };
    scope
        .iter()
        .any(|s| !free.contains(&s.var) && !through_edge(s.var))
}

/// True when `e` reads a tensor and holds a reduction or a call of a function that is not
/// [`cheap`]. An expression of constants alone (`sqrt(C)`) is left to be folded where it is.
fn does_work(p: &Program, e: ExprId) -> bool {
    let mut stack = vec![e];
    let mut seen = HashSet::new();
    let (mut reads, mut work) = (false, false);
    while let Some(x) = stack.pop() {
        if !seen.insert(x) {
            continue;
        }
        match p.arena.get(x) {
            Node::Access { .. } => reads = true,
            Node::Reduce { .. } => work = true,
            Node::Call(f, ..) if !cheap(*f) => work = true,
            _ => {}
        }
        stack.extend(p.arena.children(x));
    }
    reads && work
}

/// Functions that are a comparison and a select or a multiplication (`relu`, `abs`,
/// `clamp_min`, ...): as cheap to evaluate again as to read from memory, so a call of one alone
/// is not worth a tensor (`x[n, f] / clamp_min(norm[n], 1e-12)` stays as written).
fn cheap(f: Func) -> bool {
    matches!(
        f,
        Func::Relu
            | Func::LeakyRelu
            | Func::Abs
            | Func::ClampMin
            | Func::Step
            | Func::LeakyReluGrad
            | Func::Sign
            | Func::Ge
    )
}

/// True when the derivative rule of `f` reads its argument `x` (not only its value `y`): asked of
/// the rule itself, on stand-ins for `x` and `y` in an arena of its own.
fn derivative_reads_argument(f: Func, arg: Option<Scalar>) -> bool {
    let Some(rule) = f.primitive().derivative else {
        return false;
    };
    let mut arena = Arena::default();
    let x = arena.intern(Node::DimSize(DimId(0)));
    let y = arena.intern(Node::DimSize(DimId(1)));
    let d = rule(&mut arena, Operands { x, y, arg });
    let mut stack = vec![d];
    while let Some(e) = stack.pop() {
        if e == x {
            return true;
        }
        stack.extend(arena.children(e));
    }
    false
}

/// Where a stored tensor's graph axis comes from.
enum Graph {
    /// An edge variable; with the node variable bound as its target or source, if read.
    Edge {
        var: VarId,
        node: Option<(VarId, At)>,
    },
    /// A node variable.
    Node(VarId),
    /// No graph axis.
    None,
}

/// The shape of a stored tensor: its graph axis and its dense variables, in scope order.
struct Shape {
    graph: Graph,
    dense: Vec<VarId>,
}

impl Shape {
    /// The shape of a tensor holding an expression with these free variables at a place with
    /// this scope, if there is one.
    fn of(p: &Program, free: &[VarId], scope: &[InScope]) -> Option<Shape> {
        let mut edges = Vec::new();
        let mut nodes = Vec::new();
        let mut dense = Vec::new();
        for s in scope.iter().filter(|s| free.contains(&s.var)) {
            match p.var(s.var).kind {
                VarKind::Edge(_) => edges.push(*s),
                VarKind::Node => nodes.push(s.var),
                VarKind::Dense(_) => dense.push(s.var),
            }
        }
        if free.iter().any(|v| !scope.iter().any(|s| s.var == *v)) {
            return None;
        }
        let graph = match (edges.as_slice(), nodes.as_slice()) {
            ([], []) => Graph::None,
            ([], [n]) => Graph::Node(*n),
            ([e], []) => Graph::Edge {
                var: e.var,
                node: None,
            },
            ([e], [n]) => {
                // The node must be the one whose neighbourhood binds the edge.
                let end = match e.range {
                    Some(Range::InEdges {
                        of: At::Node(m), ..
                    }) if m == *n => At::Dst(e.var),
                    Some(Range::OutEdges {
                        of: At::Node(m), ..
                    }) if m == *n => At::Src(e.var),
                    _ => return None,
                };
                Graph::Edge {
                    var: e.var,
                    node: Some((*n, end)),
                }
            }
            _ => return None,
        };
        Some(Shape { graph, dense })
    }
}

#[cfg(test)]
mod tests;

//! Reverse-mode symbolic differentiation, one rule per operator.
//!
//! Forward equations are visited last to first. For `T[vars] = rhs`, the adjoint `∂T[vars]` is pushed
//! down the expression tree (sum: unchanged; product: times the other factor; `f(x)`: times `f'(x)`;
//! reductions: broadcast into the body) until it reaches a tensor read `A[at, dense]`, where it becomes
//! a contribution to `∂A`: the variables the read fixes are renamed to `∂A`'s own, and every other
//! variable in scope is summed. The graph rules fall out of that last step:
//!
//! - `A[j]` read at the source of an edge sums over the out-edges of `j` (a gather on the transposed
//!   graph: no atomics, deterministic);
//! - `A[i]` read at the target sums over the in-edges of `i`;
//! - a parameter read inside an edge or node equation sums over all edges or nodes.
//!
//! A softmax over in-edges has its Jacobian-vector rule,
//! `∂s[i <- j] = α[i <- j] (∂α[i <- j] - Σ_{k -> i} α[i <- k] ∂α[i <- k])`.

use crate::ir::*;
use crate::primitives::Operands;
use crate::simplify::Repl;
use std::collections::HashMap;

/// A binding in scope while walking an expression.
#[derive(Clone, Copy, Debug)]
enum InScope {
    /// A left-hand-side variable of the equation.
    Free(VarId),
    /// A variable bound by a reduction around the current node.
    Bound(Range),
}

impl InScope {
    fn var(self) -> VarId {
        match self {
            InScope::Free(v) => v,
            InScope::Bound(r) => r.var(),
        }
    }
}

/// Appends the derivative equations to `p` (see [`Program::backward`], [`Program::grads`],
/// [`Program::seed`]).
pub fn differentiate(p: &mut Program) -> Result<(), String> {
    let mut d = Differ {
        adj: HashMap::new(),
        adj_vars: HashMap::new(),
        contribs: HashMap::new(),
        reshape_contribs: HashMap::new(),
        canon: HashMap::new(),
        defining: HashMap::new(),
        stored: None,
    };
    let eqs = p.equations.clone();
    for (k, eq) in eqs.iter().enumerate().rev() {
        d.defining.insert(eq.lhs, k);
    }
    // Seed.
    let root = p.loss.unwrap_or(p.output);
    let droot = d.adjoint(p, root);
    if p.loss.is_some() {
        let one = p.arena.num(1.0);
        p.backward.push(Equation {
            lhs: droot,
            vars: vec![],
            rhs: Rhs::Expr(one),
        });
    } else {
        p.seed = Some(droot);
    }
    for eq in eqs.iter().rev() {
        let Some(&dt) = d.adj.get(&eq.lhs) else {
            continue;
        };
        if eq.lhs != root {
            d.finalize(p, eq.lhs)?;
        }
        let (at, dense) = split_vars(p, &eq.vars);
        let g = p.arena.intern(Node::Access {
            tensor: dt,
            at,
            dense: dense.clone(),
        });
        let ctx: Vec<InScope> = eq.vars.iter().map(|&v| InScope::Free(v)).collect();
        match eq.rhs {
            Rhs::Expr(e) => {
                let value = p.arena.intern(Node::Access {
                    tensor: eq.lhs,
                    at,
                    dense: dense.clone(),
                });
                d.stored = Some((e, value));
                let r = d.push_adjoint(p, e, g, &mut ctx.clone());
                d.stored = None;
                r?
            }
            Rhs::Softmax(body) => {
                let e = eq.vars[0];
                let a = p.arena.intern(Node::Access {
                    tensor: eq.lhs,
                    at,
                    dense: dense.clone(),
                });
                let ag = p.arena.mul(a, g);
                let var = p.var(e).clone();
                let VarKind::Edge(graph) = var.kind else {
                    return Err("softmax defines a non-edge tensor".into());
                };
                let k = p.add_edge_var(&var.target, "k", graph);
                let mut m = HashMap::new();
                m.insert(e, Repl::Var(k));
                let ag_k = p.arena.subst(ag, &m);
                let sum = p.arena.reduce(
                    ReduceOp::Sum,
                    Range::InEdges {
                        edge: k,
                        of: At::Dst(e),
                    },
                    ag_k,
                );
                let diff = p.arena.sub(g, sum);
                let ds = p.arena.mul(a, diff);
                d.push_adjoint(p, body, ds, &mut ctx.clone())?;
            }
            Rhs::Reshape(src) | Rhs::LoopFill(src) => {
                if d.is_differentiable(p, src) {
                    d.adjoint(p, src);
                    let fill = matches!(eq.rhs, Rhs::LoopFill(_));
                    if d.reshape_contribs.insert(src, (dt, fill)).is_some() {
                        return Err(format!(
                            "`{}` is reshaped twice; read it through one name only",
                            p.tensor(src).name
                        ));
                    }
                }
            }
            Rhs::LoopFillAdjoint(_) => return Err("cannot differentiate a derivative".into()),
            Rhs::CrossEntropy {
                logits,
                labels,
                mask,
            } => {
                if !d.is_differentiable(p, logits) {
                    continue;
                }
                d.adjoint(p, logits);
                let lv = d.adj_vars[&logits].clone();
                let (n, k) = (lv[0], lv[1]);
                let VarKind::Dense(kd) = p.var(k).kind else {
                    return Err("logits without a class axis".into());
                };
                let k2 = p.add_var("k'", VarKind::Dense(kd));
                let x = p.arena.intern(Node::Access {
                    tensor: logits,
                    at: Some(At::Node(n)),
                    dense: vec![k],
                });
                let x2 = p.arena.intern(Node::Access {
                    tensor: logits,
                    at: Some(At::Node(n)),
                    dense: vec![k2],
                });
                let lse = p.arena.reduce(ReduceOp::LogSumExp, Range::Dense(k2), x2);
                let shifted = p.arena.sub(x, lse);
                let prob = p.arena.call(Func::Exp, shifted, None);
                let onehot = p.arena.intern(Node::OneHot {
                    labels,
                    at: At::Node(n),
                    class: k,
                });
                let diff = p.arena.sub(prob, onehot);
                let m = p.arena.intern(Node::Access {
                    tensor: mask,
                    at: Some(At::Node(n)),
                    dense: vec![],
                });
                let count = p.arena.intern(Node::MaskCount(mask));
                let w = p.arena.div(m, count);
                let gw = p.arena.mul(g, w);
                let c = p.arena.mul(gw, diff);
                d.contribs.entry(logits).or_default().push(c);
            }
        }
    }
    let leaves: Vec<TensorId> = p.leaves().collect();
    for t in leaves {
        if d.adj.contains_key(&t) {
            d.finalize(p, t)?;
            p.grads.push((t, d.adj[&t]));
        }
    }
    Ok(())
}

fn split_vars(p: &Program, vars: &[VarId]) -> (Option<At>, Vec<VarId>) {
    match vars.first().map(|v| p.var(*v).kind) {
        Some(VarKind::Node) => (Some(At::Node(vars[0])), vars[1..].to_vec()),
        Some(VarKind::Edge(_)) => (Some(At::Edge(vars[0])), vars[1..].to_vec()),
        _ => (None, vars.to_vec()),
    }
}

struct Differ {
    adj: HashMap<TensorId, TensorId>,
    adj_vars: HashMap<TensorId, Vec<VarId>>,
    contribs: HashMap<TensorId, Vec<ExprId>>,
    reshape_contribs: HashMap<TensorId, (TensorId, bool)>,
    /// Canonical bound variables, so that sums built by different contributions to the same adjoint
    /// share their variable and can merge.
    canon: HashMap<(TensorId, u8, u32, u32), VarId>,
    /// The index of the forward equation defining each tensor (what [`Program::definition`]
    /// finds, without a scan per adjoint).
    defining: HashMap<TensorId, usize>,
    /// While the right-hand side `e` of `T[vars] = e` is walked: `(e, T[vars])`, so a derivative
    /// rule that uses the function's value (`sigmoid' = y · (1 − y)`) reads the stored `T` instead
    /// of evaluating the call again.
    stored: Option<(ExprId, ExprId)>,
}

impl Differ {
    fn is_differentiable(&self, p: &Program, t: TensorId) -> bool {
        matches!(p.tensor(t).role, Role::Input | Role::Param | Role::Defined)
    }

    /// The adjoint tensor of `t`, created on first use.
    fn adjoint(&mut self, p: &mut Program, t: TensorId) -> TensorId {
        if let Some(&a) = self.adj.get(&t) {
            return a;
        }
        let tensor = p.tensor(t).clone();
        let a = p.add_tensor(Tensor {
            name: format!("∂{}", tensor.name),
            external: format!("grad.{}", tensor.external),
            domain: tensor.domain,
            dims: tensor.dims.clone(),
            external_shape: tensor.external_shape.clone(),
            role: Role::Adjoint(t),
            index_names: tensor.index_names.clone(),
        });
        let vars = match self.defining.get(&t) {
            Some(&k) => p.equations[k].vars.clone(),
            None => fresh_vars(p, t),
        };
        self.adj.insert(t, a);
        self.adj_vars.insert(t, vars);
        a
    }

    fn canonical(
        &mut self,
        p: &mut Program,
        t: TensorId,
        tag: u8,
        a: u32,
        b: u32,
        make: impl FnOnce(&mut Program) -> VarId,
    ) -> VarId {
        *self.canon.entry((t, tag, a, b)).or_insert_with(|| make(p))
    }

    /// Writes `∂t = Σ contributions` into the backward list.
    fn finalize(&mut self, p: &mut Program, t: TensorId) -> Result<(), String> {
        let dt = self.adj[&t];
        let vars = self.adj_vars[&t].clone();
        let list = self.contribs.remove(&t).unwrap_or_default();
        if let Some((src, fill)) = self.reshape_contribs.remove(&t) {
            if !list.is_empty() {
                return Err(format!(
                    "`{}` is both reshaped and read directly; read it through one name only",
                    p.tensor(t).name
                ));
            }
            let rhs = if fill {
                Rhs::LoopFillAdjoint(src)
            } else {
                Rhs::Reshape(src)
            };
            p.backward.push(Equation { lhs: dt, vars, rhs });
            return Ok(());
        }
        let mut sum = p.arena.num(0.0);
        for c in list {
            sum = p.arena.add(sum, c);
        }
        p.backward.push(Equation {
            lhs: dt,
            vars,
            rhs: Rhs::Expr(sum),
        });
        Ok(())
    }

    /// True when the expression reads a differentiable tensor (an explicit stack, each shared
    /// node visited once).
    fn depends(&self, p: &Program, e: ExprId) -> bool {
        let mut stack = vec![e];
        let mut seen = std::collections::HashSet::new();
        while let Some(e) = stack.pop() {
            if !seen.insert(e) {
                continue;
            }
            match p.arena.get(e) {
                Node::Access { tensor, .. } => {
                    if self.is_differentiable(p, *tensor) {
                        return true;
                    }
                }
                _ => stack.extend(p.arena.children(e)),
            }
        }
        false
    }

    /// Pushes the adjoint `g` of expression `e` down to the tensors it reads.
    fn push_adjoint(
        &mut self,
        p: &mut Program,
        e: ExprId,
        g: ExprId,
        ctx: &mut Vec<InScope>,
    ) -> Result<(), String> {
        if !self.depends(p, e) {
            return Ok(());
        }
        let node = p.arena.get(e).clone();
        match node {
            Node::Const(_) | Node::OneHot { .. } | Node::MaskCount(_) | Node::DimSize(_) => {}
            Node::Access { tensor, at, dense } => self.contribute(p, tensor, at, &dense, g, ctx)?,
            Node::Add(..) | Node::Sub(..) => {
                // A chain of sums is taken apart with a loop (see `terms`), term by term in order.
                let (first, rest) = p.arena.sum_terms(e);
                self.push_adjoint(p, first, g, ctx)?;
                for t in rest {
                    let gt = if t.negated { p.arena.neg(g) } else { g };
                    self.push_adjoint(p, t.expr, gt, ctx)?;
                }
            }
            Node::Mul(a, b) => {
                if self.depends(p, a) {
                    let ga = p.arena.mul(g, b);
                    self.push_adjoint(p, a, ga, ctx)?;
                }
                if self.depends(p, b) {
                    let gb = p.arena.mul(g, a);
                    self.push_adjoint(p, b, gb, ctx)?;
                }
            }
            Node::Div(a, b) => {
                if self.depends(p, a) {
                    let ga = p.arena.div(g, b);
                    self.push_adjoint(p, a, ga, ctx)?;
                }
                if self.depends(p, b) {
                    let ge = p.arena.mul(g, e);
                    let q = p.arena.div(ge, b);
                    let gb = p.arena.neg(q);
                    self.push_adjoint(p, b, gb, ctx)?;
                }
            }
            Node::Neg(a) => {
                let ng = p.arena.neg(g);
                self.push_adjoint(p, a, ng, ctx)?;
            }
            Node::Pow(a, s) => {
                let Scalar::Lit(bits) = s else {
                    return Err("power with a named exponent".into());
                };
                let k = f64::from_bits(bits);
                let km1 = p.arena.pow(a, Scalar::lit(k - 1.0));
                let kk = p.arena.num(k);
                let dp = p.arena.mul(kk, km1);
                let ga = p.arena.mul(g, dp);
                self.push_adjoint(p, a, ga, ctx)?;
            }
            Node::Call(f, a, arg) => {
                let Some(rule) = f.primitive().derivative else {
                    return Err(format!(
                        "`{}` is a derivative and has no derivative rule of its own",
                        f.primitive().name
                    ));
                };
                let y = match self.stored {
                    Some((rhs, value)) if rhs == e => value,
                    _ => e,
                };
                let deriv = rule(&mut p.arena, Operands { x: a, y, arg });
                let ga = p.arena.mul(g, deriv);
                self.push_adjoint(p, a, ga, ctx)?;
            }
            Node::Reduce { op, range, body } => {
                let gb = match op {
                    ReduceOp::Sum => g,
                    ReduceOp::Mean => {
                        let count = count_of(p, range);
                        p.arena.div(g, count)
                    }
                    ReduceOp::LogSumExp => {
                        let sh = p.arena.sub(body, e);
                        let w = p.arena.call(Func::Exp, sh, None);
                        p.arena.mul(g, w)
                    }
                };
                ctx.push(InScope::Bound(range));
                let r = self.push_adjoint(p, body, gb, ctx);
                ctx.pop();
                r?;
            }
        }
        Ok(())
    }

    /// Turns the adjoint `g` reaching the read `tensor[at, dense]` into a contribution to `∂tensor`.
    fn contribute(
        &mut self,
        p: &mut Program,
        tensor: TensorId,
        at: Option<At>,
        dense: &[VarId],
        g: ExprId,
        ctx: &[InScope],
    ) -> Result<(), String> {
        if !self.is_differentiable(p, tensor) {
            return Ok(());
        }
        self.adjoint(p, tensor);
        let targets = self.adj_vars[&tensor].clone();
        let domain = p.tensor(tensor).domain;
        let gshift = usize::from(domain != Domain::Dense);
        let mut g = g;
        let mut at = at;
        // Canonical graph context: a node variable, or an edge variable (a node variable whose
        // in-edges are being visited is the target of that edge).
        let mut node_var = None;
        let mut edge_var = None;
        for s in ctx {
            let v = s.var();
            match p.var(v).kind {
                VarKind::Node => node_var = Some(v),
                VarKind::Edge(_) => {
                    if let InScope::Bound(Range::InEdges {
                        of: At::Node(n), ..
                    }) = s
                    {
                        let mut m = HashMap::new();
                        m.insert(*n, Repl::DstOf(v));
                        g = p.arena.subst(g, &m);
                        if at == Some(At::Node(*n)) {
                            at = Some(At::Dst(v));
                        }
                        node_var = None;
                    }
                    edge_var = Some(v);
                }
                VarKind::Dense(_) => {}
            }
        }
        let mut sub: HashMap<VarId, Repl> = HashMap::new();
        let mut graph_range = None;
        match (domain, at, node_var, edge_var) {
            (Domain::Dense, None, Some(n), None) => {
                let c = self.canonical(p, tensor, 0, 0, 0, |p| {
                    let name = p.var(n).name.clone();
                    p.add_var(name, VarKind::Node)
                });
                sub.insert(n, Repl::Var(c));
                graph_range = Some(Range::AllNodes(c));
            }
            (Domain::Dense, None, None, Some(e)) => {
                let c = self.canonical(p, tensor, 1, 0, 0, |p| {
                    let v = p.var(e).clone();
                    let VarKind::Edge(gid) = v.kind else {
                        unreachable!()
                    };
                    p.add_edge_var(&v.target, &v.source, gid)
                });
                sub.insert(e, Repl::Var(c));
                graph_range = Some(Range::AllEdges(c));
            }
            (Domain::Dense, None, None, None) => {}
            (Domain::Node, Some(At::Node(v)), Some(n), None) if v == n => {
                sub.insert(n, Repl::Var(targets[0]));
            }
            (Domain::Node, Some(At::Dst(v)), None, Some(e)) if v == e => {
                let tname = p.var(targets[0]).name.clone();
                let c = self.canonical(p, tensor, 2, 0, 0, |p| {
                    let src = p.var(e).source.clone();
                    let VarKind::Edge(gid) = p.var(e).kind else {
                        unreachable!()
                    };
                    p.add_edge_var(&tname, &src, gid)
                });
                sub.insert(e, Repl::Var(c));
                graph_range = Some(Range::InEdges {
                    edge: c,
                    of: At::Node(targets[0]),
                });
            }
            (Domain::Node, Some(At::Src(v)), None, Some(e)) if v == e => {
                let sname = p.var(targets[0]).name.clone();
                let c = self.canonical(p, tensor, 3, 0, 0, |p| {
                    let tgt = p.var(e).target.clone();
                    let VarKind::Edge(gid) = p.var(e).kind else {
                        unreachable!()
                    };
                    p.add_edge_var(&tgt, &sname, gid)
                });
                sub.insert(e, Repl::Var(c));
                graph_range = Some(Range::OutEdges {
                    edge: c,
                    of: At::Node(targets[0]),
                });
            }
            (Domain::Edge(_), Some(At::Edge(v)), None, Some(e)) if v == e => {
                sub.insert(e, Repl::Var(targets[0]));
            }
            _ => {
                return Err(format!(
                    "internal: cannot place the gradient of `{}` read at {:?}",
                    p.tensor(tensor).name,
                    at
                ))
            }
        }
        for (k, v) in dense.iter().enumerate() {
            sub.insert(*v, Repl::Var(targets[gshift + k]));
        }
        // Dense variables in scope that the read does not fix are summed.
        let mut summed = Vec::new();
        let mut per_dim: HashMap<DimId, u32> = HashMap::new();
        for s in ctx {
            let v = s.var();
            if let VarKind::Dense(dim) = p.var(v).kind {
                if let std::collections::hash_map::Entry::Vacant(slot) = sub.entry(v) {
                    let root = p.dim_root(dim);
                    let occ = per_dim.entry(root).or_insert(0);
                    let name = p.var(v).name.clone();
                    let c = self.canonical(p, tensor, 4, root.0, *occ, |p| {
                        p.add_var(name, VarKind::Dense(dim))
                    });
                    *occ += 1;
                    slot.insert(Repl::Var(c));
                    summed.push(c);
                }
            }
        }
        let mut body = p.arena.subst(g, &sub);
        for v in summed.into_iter().rev() {
            body = p.arena.reduce(ReduceOp::Sum, Range::Dense(v), body);
        }
        if let Some(r) = graph_range {
            body = p.arena.reduce(ReduceOp::Sum, r, body);
        }
        self.contribs.entry(tensor).or_default().push(body);
        Ok(())
    }
}

/// Fresh variables for every axis of a tensor, named after its declared index names.
pub fn fresh_vars(p: &mut Program, t: TensorId) -> Vec<VarId> {
    let tensor = p.tensor(t).clone();
    let mut names = tensor.index_names.iter();
    let mut vars = Vec::new();
    match tensor.domain {
        Domain::Dense => {}
        Domain::Node => {
            let n = names.next().cloned().unwrap_or_else(|| "n".into());
            vars.push(p.add_var(n, VarKind::Node));
        }
        Domain::Edge(g) => {
            let n = names.next().cloned().unwrap_or_else(|| "i <- j".into());
            let (a, b) = n.split_once(" <- ").unwrap_or(("i", "j"));
            vars.push(p.add_edge_var(a, b, g));
        }
    }
    for (k, d) in tensor.dims.iter().enumerate() {
        let n = names.next().cloned().unwrap_or_else(|| format!("d{k}"));
        vars.push(p.add_var(n, VarKind::Dense(*d)));
    }
    vars
}

/// The number of elements a range visits, as an expression.
fn count_of(p: &mut Program, range: Range) -> ExprId {
    match range {
        Range::Dense(v) => {
            let VarKind::Dense(d) = p.var(v).kind else {
                return p.arena.num(1.0);
            };
            p.arena.intern(Node::DimSize(d))
        }
        Range::InEdges { edge, of } | Range::OutEdges { edge, of } => {
            let inbound = matches!(range, Range::InEdges { .. });
            let one = p.arena.num(1.0);
            let fresh = {
                let v = p.var(edge).clone();
                let VarKind::Edge(g) = v.kind else {
                    return one;
                };
                p.add_edge_var(&v.target, &v.source, g)
            };
            let r = if inbound {
                Range::InEdges { edge: fresh, of }
            } else {
                Range::OutEdges { edge: fresh, of }
            };
            p.arena.reduce(ReduceOp::Sum, r, one)
        }
        Range::AllNodes(_) | Range::AllEdges(_) => {
            let one = p.arena.num(1.0);
            let v = p.var(range.var()).clone();
            let fresh = p.add_var(v.name.clone(), v.kind);
            let r = match range {
                Range::AllNodes(_) => Range::AllNodes(fresh),
                _ => Range::AllEdges(fresh),
            };
            p.arena.reduce(ReduceOp::Sum, r, one)
        }
    }
}

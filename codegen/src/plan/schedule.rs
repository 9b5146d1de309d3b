//! Rewrites that decide what generated code materialises:
//!
//! - **inlining**: an edge tensor with two or more dense axes (`z[i <- j, h, c]`, `d z`) is never
//!   stored; its definition is substituted where it is read, so no `E × H × C` buffer exists;
//! - **hoisting**: a reduction over the neighbourhood of an edge's endpoint inside an edge equation
//!   (`Σ_{k -> i} α[i <- k] dα[i <- k]` in the softmax backward) depends only on that node, so it
//!   becomes a per-node statistic computed once;
//! - the same for a reduction over a dense axis inside a node equation that depends on the node
//!   only (`logsumexp_{k'} out[n, k']` in the cross-entropy adjoint `d out[n, k]`): computed once
//!   per node instead of once per entry of the row.

use crate::ir::*;
use crate::simplify::Repl;
use std::collections::{HashMap, HashSet};

/// The equations generated code evaluates, after inlining and hoisting.
pub struct Schedule {
    /// The program with hoisted tensors appended (ids of existing tensors are unchanged).
    pub program: Program,
    /// Forward equations to evaluate, in order.
    pub forward: Vec<Equation>,
    /// Backward equations to evaluate, in order.
    pub backward: Vec<Equation>,
    /// Tensors substituted into their readers and never stored.
    pub inlined: HashSet<TensorId>,
}

/// Builds the schedule of a differentiated program.
pub fn schedule(p: &Program) -> Schedule {
    let mut p = p.clone();
    let keep: HashSet<TensorId> = [Some(p.output), p.attention, p.loss]
        .into_iter()
        .flatten()
        .collect();
    // Tensors read whole (by a reshape, a loop fill or the loss) must be stored.
    let mut keep = keep;
    for eq in p.equations.iter().chain(&p.backward) {
        match eq.rhs {
            Rhs::Reshape(t) | Rhs::LoopFill(t) | Rhs::LoopFillAdjoint(t) => {
                keep.insert(t);
            }
            Rhs::CrossEntropy { logits, .. } => {
                keep.insert(logits);
            }
            _ => {}
        }
    }
    let mut defs: HashMap<TensorId, (Vec<VarId>, ExprId)> = HashMap::new();
    let mut inlined = HashSet::new();
    let mut forward = Vec::new();
    let mut backward = Vec::new();
    let eqs: Vec<(bool, Equation)> = p
        .equations
        .iter()
        .map(|e| (true, e.clone()))
        .chain(p.backward.iter().map(|e| (false, e.clone())))
        .collect();
    for (is_fwd, mut eq) in eqs {
        if let Rhs::Expr(e) | Rhs::Softmax(e) = eq.rhs {
            let mut memo = HashMap::new();
            let e2 = inline(&mut p, e, &defs, &mut memo);
            eq.rhs = match eq.rhs {
                Rhs::Expr(_) => Rhs::Expr(e2),
                _ => Rhs::Softmax(e2),
            };
        }
        let t = p.tensor(eq.lhs).clone();
        let inlinable = matches!(t.domain, Domain::Edge(_))
            && t.dims.len() >= 2
            && !keep.contains(&eq.lhs)
            && matches!(eq.rhs, Rhs::Expr(_));
        if inlinable {
            if let Rhs::Expr(e) = eq.rhs {
                defs.insert(eq.lhs, (eq.vars.clone(), e));
                inlined.insert(eq.lhs);
                continue;
            }
        }
        let mut hoisted = Vec::new();
        if let Rhs::Expr(e) = eq.rhs {
            if let Some(&ev) = eq.vars.first() {
                if matches!(p.var(ev).kind, VarKind::Edge(_)) {
                    let mut memo = HashMap::new();
                    let e2 = hoist(&mut p, e, ev, &eq.vars[1..], &mut hoisted, &mut memo);
                    eq.rhs = Rhs::Expr(e2);
                } else if p.var(ev).kind == VarKind::Node && eq.vars.len() >= 2 {
                    let mut memo = HashMap::new();
                    let e2 = hoist_node_stat(&mut p, e, ev, &mut hoisted, &mut memo);
                    eq.rhs = Rhs::Expr(e2);
                }
            }
        }
        let list = if is_fwd { &mut forward } else { &mut backward };
        list.extend(hoisted);
        list.push(eq);
    }
    Schedule {
        program: p,
        forward,
        backward,
        inlined,
    }
}

fn inline(
    p: &mut Program,
    e: ExprId,
    defs: &HashMap<TensorId, (Vec<VarId>, ExprId)>,
    memo: &mut HashMap<ExprId, ExprId>,
) -> ExprId {
    if defs.is_empty() {
        return e;
    }
    if let Some(&r) = memo.get(&e) {
        return r;
    }
    let node = p.arena.get(e).clone();
    let out = match node {
        Node::Access {
            tensor,
            at: Some(At::Edge(ev)),
            dense,
        } if defs.contains_key(&tensor) => {
            let (vars, body) = defs[&tensor].clone();
            let mut map = HashMap::new();
            map.insert(vars[0], Repl::Var(ev));
            for (v, d) in vars[1..].iter().zip(&dense) {
                map.insert(*v, Repl::Var(*d));
            }
            p.arena.subst(body, &map)
        }
        _ => rebuild(p, e, &mut |p, c| inline(p, c, defs, memo)),
    };
    memo.insert(e, out);
    out
}

/// Replaces neighbourhood reductions around an endpoint of edge `ev` by per-node tensors.
fn hoist(
    p: &mut Program,
    e: ExprId,
    ev: VarId,
    dense: &[VarId],
    out: &mut Vec<Equation>,
    memo: &mut HashMap<ExprId, ExprId>,
) -> ExprId {
    if let Some(&r) = memo.get(&e) {
        return r;
    }
    let node = p.arena.get(e).clone();
    let result = match node {
        Node::Reduce { op, range, body } => {
            let end = match range {
                Range::InEdges { of, .. } | Range::OutEdges { of, .. } => match of {
                    At::Dst(v) | At::Src(v) if v == ev => Some(of),
                    _ => None,
                },
                _ => None,
            };
            let free: Vec<VarId> = p.arena.free_vars(e).to_vec();
            let only_node_and_dense = free.iter().all(|v| *v == ev || dense.contains(v));
            match end {
                Some(of) if only_node_and_dense && !uses_edge_beyond(p, e, ev, of) => {
                    hoist_one(p, e, ev, of, dense, &free, out)
                }
                _ => {
                    let body = hoist(p, body, ev, dense, out, memo);
                    p.arena.reduce(op, range, body)
                }
            }
        }
        _ => rebuild(p, e, &mut |p, c| hoist(p, c, ev, dense, out, memo)),
    };
    memo.insert(e, result);
    result
}

/// Replaces reductions over dense axes that depend on node `n` only by per-node tensors.
fn hoist_node_stat(
    p: &mut Program,
    e: ExprId,
    n: VarId,
    out: &mut Vec<Equation>,
    memo: &mut HashMap<ExprId, ExprId>,
) -> ExprId {
    if let Some(&r) = memo.get(&e) {
        return r;
    }
    let node = p.arena.get(e).clone();
    let result = match node {
        Node::Reduce {
            range: Range::Dense(_),
            ..
        } if p.arena.free_vars(e) == [n] => {
            let name = p.var(n).name.clone();
            let fresh = p.add_var(&name, VarKind::Node);
            let body = p.arena.subst(e, &HashMap::from([(n, Repl::Var(fresh))]));
            let k = p.tensors.len();
            let t = p.add_tensor(Tensor {
                name: format!("hoisted{k}"),
                external: format!("hoisted{k}"),
                domain: Domain::Node,
                dims: Vec::new(),
                external_shape: None,
                role: Role::Defined,
                index_names: vec![name],
            });
            out.push(Equation {
                lhs: t,
                vars: vec![fresh],
                rhs: Rhs::Expr(body),
            });
            p.arena.intern(Node::Access {
                tensor: t,
                at: Some(At::Node(n)),
                dense: Vec::new(),
            })
        }
        _ => rebuild(p, e, &mut |p, c| hoist_node_stat(p, c, n, out, memo)),
    };
    memo.insert(e, result);
    result
}

/// `e` with each child `c` replaced by `f(c)`, rebuilt through the simplifying constructors
/// (leaves are returned as they are).
fn rebuild(
    p: &mut Program,
    e: ExprId,
    f: &mut dyn FnMut(&mut Program, ExprId) -> ExprId,
) -> ExprId {
    let node = p.arena.get(e).clone();
    match node {
        Node::Add(a, b) | Node::Sub(a, b) | Node::Mul(a, b) | Node::Div(a, b) => {
            let a2 = f(p, a);
            let b2 = f(p, b);
            match node {
                Node::Add(..) => p.arena.add(a2, b2),
                Node::Sub(..) => p.arena.sub(a2, b2),
                Node::Mul(..) => p.arena.mul(a2, b2),
                _ => p.arena.div(a2, b2),
            }
        }
        Node::Neg(a) => {
            let a = f(p, a);
            p.arena.neg(a)
        }
        Node::Pow(a, s) => {
            let a = f(p, a);
            p.arena.pow(a, s)
        }
        Node::Call(func, a, arg) => {
            let a = f(p, a);
            p.arena.call(func, a, arg)
        }
        Node::Reduce { op, range, body } => {
            let body = f(p, body);
            p.arena.reduce(op, range, body)
        }
        _ => e,
    }
}

/// True when the expression reads edge `ev` other than through the endpoint `of`.
fn uses_edge_beyond(p: &Program, e: ExprId, ev: VarId, of: At) -> bool {
    let mut bad = false;
    visit(p, e, &mut |n| {
        if let Node::Access { at: Some(at), .. } | Node::OneHot { at, .. } = n {
            if at.var() == ev && *at != of {
                bad = true;
            }
        }
    });
    bad
}

fn visit(p: &Program, e: ExprId, f: &mut impl FnMut(&Node)) {
    f(p.arena.get(e));
    for c in p.arena.children(e) {
        visit(p, c, f);
    }
}

fn hoist_one(
    p: &mut Program,
    e: ExprId,
    ev: VarId,
    of: At,
    dense: &[VarId],
    free: &[VarId],
    out: &mut Vec<Equation>,
) -> ExprId {
    let used: Vec<VarId> = dense.iter().copied().filter(|v| free.contains(v)).collect();
    let var = p.var(ev).clone();
    let node_name = match of {
        At::Dst(_) => var.target.clone(),
        _ => var.source.clone(),
    };
    let n = p.add_var(&node_name, VarKind::Node);
    let mut vars = vec![n];
    let mut map = HashMap::new();
    let mut index_names = vec![node_name.clone()];
    let mut dims = Vec::new();
    for v in &used {
        let info = p.var(*v).clone();
        let VarKind::Dense(d) = info.kind else {
            continue;
        };
        let nv = p.add_var(&info.name, info.kind);
        map.insert(*v, nv);
        vars.push(nv);
        index_names.push(info.name.clone());
        dims.push(d);
    }
    let body = rewrite_endpoint(p, e, ev, n, &map);
    let k = p.tensors.len();
    let t = p.add_tensor(Tensor {
        name: format!("hoisted{k}"),
        external: format!("hoisted{k}"),
        domain: Domain::Node,
        dims,
        external_shape: None,
        role: Role::Defined,
        index_names,
    });
    out.push(Equation {
        lhs: t,
        vars,
        rhs: Rhs::Expr(body),
    });
    p.arena.intern(Node::Access {
        tensor: t,
        at: Some(of),
        dense: used,
    })
}

/// Rewrites `Dst(ev)` / `Src(ev)` to the node variable `n` and dense variables through `map`.
fn rewrite_endpoint(
    p: &mut Program,
    e: ExprId,
    ev: VarId,
    n: VarId,
    map: &HashMap<VarId, VarId>,
) -> ExprId {
    let fix = |at: At| -> At {
        match at {
            At::Dst(v) | At::Src(v) if v == ev => At::Node(n),
            other => other,
        }
    };
    let mv = |v: VarId| *map.get(&v).unwrap_or(&v);
    let node = p.arena.get(e).clone();
    match node {
        Node::Access { tensor, at, dense } => p.arena.intern(Node::Access {
            tensor,
            at: at.map(fix),
            dense: dense.into_iter().map(mv).collect(),
        }),
        Node::OneHot { labels, at, class } => p.arena.intern(Node::OneHot {
            labels,
            at: fix(at),
            class: mv(class),
        }),
        Node::Reduce { op, range, body } => {
            let range = match range {
                Range::InEdges { edge, of } => Range::InEdges { edge, of: fix(of) },
                Range::OutEdges { edge, of } => Range::OutEdges { edge, of: fix(of) },
                r => r,
            };
            let body = rewrite_endpoint(p, body, ev, n, map);
            p.arena.intern(Node::Reduce { op, range, body })
        }
        Node::Add(a, b) | Node::Sub(a, b) | Node::Mul(a, b) | Node::Div(a, b) => {
            let a2 = rewrite_endpoint(p, a, ev, n, map);
            let b2 = rewrite_endpoint(p, b, ev, n, map);
            p.arena.intern(match node {
                Node::Add(..) => Node::Add(a2, b2),
                Node::Sub(..) => Node::Sub(a2, b2),
                Node::Mul(..) => Node::Mul(a2, b2),
                _ => Node::Div(a2, b2),
            })
        }
        Node::Neg(a) => {
            let a = rewrite_endpoint(p, a, ev, n, map);
            p.arena.intern(Node::Neg(a))
        }
        Node::Pow(a, s) => {
            let a = rewrite_endpoint(p, a, ev, n, map);
            p.arena.intern(Node::Pow(a, s))
        }
        Node::Call(f, a, arg) => {
            let a = rewrite_endpoint(p, a, ev, n, map);
            p.arena.intern(Node::Call(f, a, arg))
        }
        Node::Const(_) | Node::MaskCount(_) | Node::DimSize(_) => e,
    }
}

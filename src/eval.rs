//! Element-by-element evaluation of IR expressions over a tensor table: the core of the reference
//! interpreter, also used by diagnostics to read quantities that generated code never stores
//! (a GATv2 score's pre-activation lives only in registers) by inlining their definitions.

use crate::bound::Bound;
use gatgrad_codegen::ir::*;
use gatgrad_runtime::kernels::Float;
use gatgrad_runtime::Graph;
use std::collections::HashMap;

/// A table of tensor values, read one element at a time.
pub trait Values {
    /// Element `offset` of tensor `t`, or `None` when the tensor has no values.
    fn read(&self, t: TensorId, offset: usize) -> Option<f64>;
}

impl<T: crate::interp::Real> Values for [Option<Vec<T>>] {
    fn read(&self, t: TensorId, offset: usize) -> Option<f64> {
        self[t.index()]
            .as_ref()
            .and_then(|v| v.get(offset))
            .map(|x| x.to_f64())
    }
}

/// The table of a [`crate::exec::Session`]: an empty vector is a tensor generated code did not
/// store.
impl<T: Float> Values for [Vec<T>] {
    fn read(&self, t: TensorId, offset: usize) -> Option<f64> {
        self.get(t.index())
            .and_then(|v| v.get(offset))
            .map(|x| x.to_f64())
    }
}

/// Evaluates expressions of a program bound to data, reading tensors from `values`.
pub struct Evaluator<'a, V: Values + ?Sized> {
    p: &'a Program,
    bound: &'a Bound,
    values: &'a V,
    /// Definitions used for tensors without values: left-hand-side variables and body.
    definitions: HashMap<TensorId, (Vec<VarId>, ExprId)>,
}

impl<'a, V: Values + ?Sized> Evaluator<'a, V> {
    /// An evaluator that reads every tensor from `values` (a missing one reads as NaN).
    pub fn new(p: &'a Program, bound: &'a Bound, values: &'a V) -> Self {
        Evaluator {
            p,
            bound,
            values,
            definitions: HashMap::new(),
        }
    }

    /// An evaluator that computes a tensor without values from its (forward or derivative)
    /// equation, when that is an element-wise expression.
    pub fn inlining(p: &'a Program, bound: &'a Bound, values: &'a V) -> Self {
        let definitions = p
            .equations
            .iter()
            .chain(&p.backward)
            .filter_map(|eq| match eq.rhs {
                Rhs::Expr(e) => Some((eq.lhs, (eq.vars.clone(), e))),
                _ => None,
            })
            .collect();
        Evaluator {
            definitions,
            ..Evaluator::new(p, bound, values)
        }
    }

    /// The node (or, for [`At::Edge`], the edge) an index refers to under `env`.
    pub fn node_of(&self, at: At, env: &[usize]) -> usize {
        match at {
            At::Node(v) => env[v.index()],
            At::Src(e) => self.edge_graph(e).src(env[e.index()]),
            At::Dst(e) => self.edge_graph(e).dst(env[e.index()]),
            At::Edge(e) => env[e.index()],
        }
    }

    /// The graph an edge variable ranges over.
    pub fn edge_graph(&self, e: VarId) -> &'a Graph {
        match self.p.var(e).kind {
            VarKind::Edge(g) => &self.bound.graphs[g.index()],
            _ => &self.bound.raw,
        }
    }

    fn scalar(&self, s: Scalar) -> f64 {
        self.p.scalar_value(s, &self.bound.consts)
    }

    /// Evaluates one element of an expression under the variable values in `env` (restored on
    /// return).
    pub fn eval(&self, e: ExprId, env: &mut [usize]) -> f64 {
        match self.p.arena.get(e) {
            Node::Const(s) => self.scalar(*s),
            Node::DimSize(d) => self.bound.dims[d.index()] as f64,
            Node::MaskCount(t) => self.bound.masks[t].iter().filter(|b| **b).count() as f64,
            Node::OneHot { labels, at, class } => {
                let n = self.node_of(*at, env);
                (self.bound.labels[labels][n] == env[class.index()]) as u8 as f64
            }
            Node::Access { tensor, at, dense } => self.access(*tensor, *at, dense, env),
            Node::Add(..) | Node::Sub(..) => {
                // A derivative's sum can have a term per equation of the program: take the chain
                // apart with a loop, adding in the order (and so with the bits) of the nesting.
                let (first, rest) = self.p.arena.sum_terms(e);
                let mut acc = self.eval(first, env);
                for t in rest {
                    let x = self.eval(t.expr, env);
                    acc = if t.negated { acc - x } else { acc + x };
                }
                acc
            }
            Node::Mul(a, b) => self.eval(*a, env) * self.eval(*b, env),
            Node::Div(a, b) => self.eval(*a, env) / self.eval(*b, env),
            Node::Neg(a) => -self.eval(*a, env),
            Node::Pow(a, s) => {
                let x = self.eval(*a, env);
                let k = self.scalar(*s);
                if k == 2.0 {
                    x * x
                } else {
                    x.powf(k)
                }
            }
            Node::Call(f, a, arg) => {
                let x = self.eval(*a, env);
                let y = arg.map(|s| self.scalar(s)).unwrap_or(0.0);
                f.eval(x, y)
            }
            Node::Reduce { op, range, body } => self.reduce(*op, *range, *body, env),
        }
    }

    fn access(&self, tensor: TensorId, at: Option<At>, dense: &[VarId], env: &mut [usize]) -> f64 {
        let position = at.map(|at| self.node_of(at, env));
        let mut offset = position.unwrap_or(0);
        for (d, v) in self.p.tensor(tensor).dims.iter().zip(dense) {
            offset = offset * self.bound.dims[d.index()] + env[v.index()];
        }
        if let Some(x) = self.values.read(tensor, offset) {
            return x;
        }
        let Some((vars, body)) = self.definitions.get(&tensor) else {
            return f64::NAN;
        };
        // Bind the definition's variables to this element, evaluate, and restore them.
        const MAX_AXES: usize = 8;
        if vars.len() > MAX_AXES || dense.len() + usize::from(position.is_some()) != vars.len() {
            return f64::NAN;
        }
        let mut indices = [0usize; MAX_AXES];
        for (slot, k) in indices.iter_mut().zip(
            position
                .into_iter()
                .chain(dense.iter().map(|v| env[v.index()])),
        ) {
            *slot = k;
        }
        let mut saved = [0usize; MAX_AXES];
        for (k, v) in vars.iter().enumerate() {
            saved[k] = env[v.index()];
            env[v.index()] = indices[k];
        }
        let x = self.eval(*body, env);
        for (k, v) in vars.iter().enumerate() {
            env[v.index()] = saved[k];
        }
        x
    }

    fn reduce(&self, op: ReduceOp, range: Range, body: ExprId, env: &mut [usize]) -> f64 {
        let var = range.var().index();
        let saved = env[var];
        let items: Vec<usize> = match range {
            Range::Dense(v) => match self.p.var(v).kind {
                VarKind::Dense(d) => (0..self.bound.dims[d.index()]).collect(),
                _ => vec![],
            },
            Range::InEdges { edge, of } => {
                let n = self.node_of(of, env);
                self.edge_graph(edge)
                    .in_edges(n)
                    .iter()
                    .map(|e| *e as usize)
                    .collect()
            }
            Range::OutEdges { edge, of } => {
                let n = self.node_of(of, env);
                self.edge_graph(edge)
                    .out_edges(n)
                    .iter()
                    .map(|e| *e as usize)
                    .collect()
            }
            Range::AllNodes(_) => (0..self.bound.raw.num_nodes()).collect(),
            Range::AllEdges(e) => (0..self.edge_graph(e).num_edges()).collect(),
        };
        let out = match op {
            ReduceOp::Sum | ReduceOp::Mean => {
                let mut acc = 0.0;
                for &k in &items {
                    env[var] = k;
                    acc += self.eval(body, env);
                }
                if op == ReduceOp::Mean {
                    if items.is_empty() {
                        0.0
                    } else {
                        acc / items.len() as f64
                    }
                } else {
                    acc
                }
            }
            ReduceOp::LogSumExp => {
                let vals: Vec<f64> = items
                    .iter()
                    .map(|&k| {
                        env[var] = k;
                        self.eval(body, env)
                    })
                    .collect();
                let mx = vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                mx + vals.iter().map(|v| (v - mx).exp()).sum::<f64>().ln()
            }
        };
        env[var] = saved;
        out
    }
}

/// Sets the variables of a left-hand side from a flat row-major position.
pub fn set_env(env: &mut [usize], vars: &[VarId], shape: &[usize], mut flat: usize) {
    for (v, s) in vars.iter().zip(shape).rev() {
        env[v.index()] = flat % s;
        flat /= s;
    }
}

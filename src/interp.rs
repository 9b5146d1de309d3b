//! The reference interpreter: evaluates forward and derivative equations element by element, exactly
//! as printed. It is slow and obviously correct, the oracle that generated code is tested against.

use crate::bind::Data;
use crate::bound::Bound;
use gatgrad_codegen::ir::*;
use gatgrad_runtime::{DataError, Graph};

/// The floating-point type the interpreter computes in (`f64` or `f32`).
pub trait Real: Copy + Default + PartialOrd + std::fmt::Debug + 'static {
    /// From f64 (rounding).
    fn from_f64(v: f64) -> Self;
    /// To f64.
    fn to_f64(self) -> f64;
}

impl Real for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
}

impl Real for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

/// A program bound to data, evaluated element by element.
pub struct Interpreter<'p, T: Real> {
    p: &'p Program,
    /// The data: sizes, graphs, constants, labels and masks.
    pub bound: Bound,
    values: Vec<Option<Vec<T>>>,
}

impl<'p, T: Real> Interpreter<'p, T> {
    /// Binds data to a program, checking every tensor.
    pub fn new(p: &'p Program, data: &Data) -> Result<Self, DataError> {
        let bound = Bound::new(p, data)?;
        let mut values = Vec::with_capacity(bound.initial.len());
        for (k, v) in bound.initial.iter().enumerate() {
            let Some(v) = v else {
                values.push(None);
                continue;
            };
            let conv: Vec<T> = v.iter().map(|x| T::from_f64(*x)).collect();
            if let Some(bad) = conv.iter().position(|x| !x.to_f64().is_finite()) {
                return Err(DataError::tensor(
                    &crate::bind::file_name(p.tensor(TensorId(k as u32))),
                    format!(
                        "value {} at position {bad} does not fit the chosen precision",
                        v[bad]
                    ),
                ));
            }
            values.push(Some(conv));
        }
        Ok(Interpreter { p, bound, values })
    }

    /// Sizes of the dimensions.
    pub fn dims(&self) -> &[usize] {
        &self.bound.dims
    }

    /// The shape of a tensor under the bound sizes.
    pub fn shape(&self, t: TensorId) -> Vec<usize> {
        self.bound.shape(self.p, t)
    }

    /// The graph of a variant.
    pub fn graph(&self, g: GraphId) -> &Graph {
        &self.bound.graphs[g.index()]
    }

    /// The value of a tensor, if computed or given.
    pub fn value(&self, t: TensorId) -> Option<&[T]> {
        self.values[t.index()].as_deref()
    }

    /// Sets a tensor's value (the seed `d out`, for instance).
    pub fn set(&mut self, t: TensorId, v: Vec<T>) -> Result<(), DataError> {
        let len: usize = self.shape(t).iter().product();
        if v.len() != len {
            return Err(DataError::tensor(
                &self.p.tensor(t).name,
                format!("expected {len} values, found {}", v.len()),
            ));
        }
        self.values[t.index()] = Some(v);
        Ok(())
    }

    /// Runs all forward equations.
    pub fn forward(&mut self) {
        for eq in &self.p.equations {
            let v = self.equation(eq);
            self.values[eq.lhs.index()] = Some(v);
        }
    }

    /// Runs all derivative equations (after [`forward`](Self::forward) and setting the seed).
    pub fn backward(&mut self) {
        for eq in &self.p.backward {
            let v = self.equation(eq);
            self.values[eq.lhs.index()] = Some(v);
        }
    }

    fn equation(&self, eq: &Equation) -> Vec<T> {
        let shape = self.shape(eq.lhs);
        let len: usize = shape.iter().product();
        match &eq.rhs {
            Rhs::Expr(e) => {
                let mut env = vec![0usize; self.p.vars.len()];
                let mut out = Vec::with_capacity(len);
                for flat in 0..len {
                    set_env(&mut env, &eq.vars, &shape, flat);
                    out.push(T::from_f64(self.eval(*e, &mut env)));
                }
                out
            }
            Rhs::Softmax(body) => self.softmax(eq, *body, &shape),
            Rhs::Reshape(src) => self.values[src.index()].clone().unwrap_or_default(),
            Rhs::LoopFill(src) => {
                let width: usize = shape[1..].iter().product();
                let x: Vec<f64> = self.f64s(*src);
                let map = self.bound.loop_map.as_ref().expect("self-loop graph");
                let y = map
                    .fill_loop_features(&self.bound.raw, &x, width)
                    .expect("shapes checked at binding");
                y.into_iter().map(T::from_f64).collect()
            }
            Rhs::LoopFillAdjoint(src) => {
                let width: usize = shape[1..].iter().product();
                let g: Vec<f64> = self.f64s(*src);
                let map = self.bound.loop_map.as_ref().expect("self-loop graph");
                let y = map
                    .fill_loop_features_backward(&self.bound.raw, &g, width)
                    .expect("shapes checked at binding");
                y.into_iter().map(T::from_f64).collect()
            }
            Rhs::CrossEntropy {
                logits,
                labels,
                mask,
            } => {
                let x = self.f64s(*logits);
                let k = self.shape(*logits)[1];
                let loss = gatgrad_runtime::kernels::masked_cross_entropy(
                    &x,
                    k,
                    &self.bound.labels[labels],
                    &self.bound.masks[mask],
                );
                vec![T::from_f64(loss)]
            }
        }
    }

    fn f64s(&self, t: TensorId) -> Vec<f64> {
        self.values[t.index()]
            .as_ref()
            .map(|v| v.iter().map(|x| x.to_f64()).collect())
            .unwrap_or_default()
    }

    fn softmax(&self, eq: &Equation, body: ExprId, shape: &[usize]) -> Vec<T> {
        let len: usize = shape.iter().product();
        let inner: usize = shape[1..].iter().product();
        let VarKind::Edge(g) = self.p.var(eq.vars[0]).kind else {
            return vec![T::default(); len];
        };
        let graph = &self.bound.graphs[g.index()];
        let mut env = vec![0usize; self.p.vars.len()];
        let mut scores = vec![0.0f64; len];
        for (flat, s) in scores.iter_mut().enumerate() {
            set_env(&mut env, &eq.vars, shape, flat);
            *s = self.eval(body, &mut env);
        }
        let mut out = vec![T::default(); len];
        for i in 0..graph.num_nodes() {
            let edges = graph.in_edges(i);
            for d in 0..inner {
                let mx = edges
                    .iter()
                    .map(|&e| scores[e as usize * inner + d])
                    .fold(f64::NEG_INFINITY, f64::max);
                let denom: f64 = edges
                    .iter()
                    .map(|&e| (scores[e as usize * inner + d] - mx).exp())
                    .sum::<f64>()
                    + 1e-16;
                for &e in edges {
                    let k = e as usize * inner + d;
                    out[k] = T::from_f64((scores[k] - mx).exp() / denom);
                }
            }
        }
        out
    }

    fn node_of(&self, at: At, env: &[usize]) -> usize {
        match at {
            At::Node(v) => env[v.index()],
            At::Src(e) => self.edge_graph(e).src(env[e.index()]),
            At::Dst(e) => self.edge_graph(e).dst(env[e.index()]),
            At::Edge(e) => env[e.index()],
        }
    }

    fn edge_graph(&self, e: VarId) -> &Graph {
        match self.p.var(e).kind {
            VarKind::Edge(g) => &self.bound.graphs[g.index()],
            _ => &self.bound.raw,
        }
    }

    fn scalar(&self, s: Scalar) -> f64 {
        self.p.scalar_value(s, &self.bound.consts)
    }

    /// Evaluates one element of an expression under the variable values in `env`.
    fn eval(&self, e: ExprId, env: &mut [usize]) -> f64 {
        match self.p.arena.get(e) {
            Node::Const(s) => self.scalar(*s),
            Node::DimSize(d) => self.bound.dims[d.index()] as f64,
            Node::MaskCount(t) => self.bound.masks[t].iter().filter(|b| **b).count() as f64,
            Node::OneHot { labels, at, class } => {
                let n = self.node_of(*at, env);
                (self.bound.labels[labels][n] == env[class.index()]) as u8 as f64
            }
            Node::Access { tensor, at, dense } => {
                let tensor_ = self.p.tensor(*tensor);
                let mut offset = 0usize;
                if let Some(at) = at {
                    offset = self.node_of(*at, env);
                }
                for (d, v) in tensor_.dims.iter().zip(dense) {
                    offset = offset * self.bound.dims[d.index()] + env[v.index()];
                }
                match &self.values[tensor.index()] {
                    Some(v) => v[offset].to_f64(),
                    None => panic!("tensor `{}` read before it was computed", tensor_.name),
                }
            }
            Node::Add(a, b) => self.eval(*a, env) + self.eval(*b, env),
            Node::Sub(a, b) => self.eval(*a, env) - self.eval(*b, env),
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
fn set_env(env: &mut [usize], vars: &[VarId], shape: &[usize], mut flat: usize) {
    for (v, s) in vars.iter().zip(shape).rev() {
        env[v.index()] = flat % s;
        flat /= s;
    }
}

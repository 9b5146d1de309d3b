//! The reference interpreter: evaluates forward and derivative equations element by element, exactly
//! as printed. It is slow and obviously correct, the oracle that generated code is tested against.

use crate::bound::Bound;
use crate::eval::{set_env, Evaluator};
use crate::shapes::Data;
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
        let bound = Bound::for_run(p, data, std::mem::size_of::<T>(), false)?;
        let mut values = Vec::with_capacity(bound.initial.len());
        for (k, v) in bound.initial.iter().enumerate() {
            let Some(v) = v else {
                values.push(None);
                continue;
            };
            let v = v.to_f64();
            let conv: Vec<T> = v.iter().map(|x| T::from_f64(*x)).collect();
            if let Some(bad) = conv.iter().position(|x| !x.to_f64().is_finite()) {
                return Err(DataError::tensor(
                    &crate::shapes::file_name(p.tensor(TensorId(k as u32))),
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

    /// Sets a tensor's value (the seed `∂out`, for instance).
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
                let ev = Evaluator::new(self.p, &self.bound, self.values.as_slice());
                let mut env = vec![0usize; self.p.vars.len()];
                let mut out = Vec::with_capacity(len);
                for flat in 0..len {
                    set_env(&mut env, &eq.vars, &shape, flat);
                    out.push(T::from_f64(ev.eval(*e, &mut env)));
                }
                out
            }
            Rhs::Softmax(body) => self.softmax(eq, *body, &shape),
            Rhs::Reshape(src) => self.values[src.index()].clone().unwrap_or_default(),
            Rhs::LoopFill(src) => {
                let width: usize = shape[1..].iter().product();
                let x: Vec<f64> = self.f64s(*src);
                let y = self
                    .bound
                    .loop_fill(&x, width, false)
                    .expect("shapes checked at binding");
                y.into_iter().map(T::from_f64).collect()
            }
            Rhs::LoopFillAdjoint(src) => {
                let width: usize = shape[1..].iter().product();
                let g: Vec<f64> = self.f64s(*src);
                let y = self
                    .bound
                    .loop_fill(&g, width, true)
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
        let ev = Evaluator::new(self.p, &self.bound, self.values.as_slice());
        let mut env = vec![0usize; self.p.vars.len()];
        let mut scores = vec![0.0f64; len];
        for (flat, s) in scores.iter_mut().enumerate() {
            set_env(&mut env, &eq.vars, shape, flat);
            *s = ev.eval(body, &mut env);
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
}

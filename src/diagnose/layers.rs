//! Finding the attention layers of a program and what to measure in each: the softmax output α,
//! its adjoint, and the score nonlinearity whose pre-activations can sit in a flat region.

use crate::bound::Bound;
use crate::eval::{set_env, Evaluator, Values};
use gatgrad_codegen::ir::*;
use rayon::prelude::*;

/// Most pre-activations evaluated per layer and epoch; larger layers are sampled with a fixed
/// stride over the score's elements, so the fraction is an estimate (standard error below 0.2
/// percentage points) over the same elements every epoch.
pub const MAX_PREACTIVATIONS: usize = 1 << 16;

/// One attention layer: a softmax over a graph's in-edges.
#[derive(Clone, Debug)]
pub struct AttentionLayer {
    /// Instance name (`conv1`), or the program's name for a single layer.
    pub name: String,
    /// The softmax output α (`[E, H]`).
    pub alpha: TensorId,
    /// Its adjoint `d α`, if the program has one.
    pub adjoint: Option<TensorId>,
    /// The graph α lives on.
    pub graph: GraphId,
    /// The score nonlinearity, if the score applies one.
    pub score: Option<ScoreNonlinearity>,
}

/// A nonlinearity inside the attention score, and how to enumerate its pre-activations.
#[derive(Clone, Debug)]
pub struct ScoreNonlinearity {
    /// The function.
    pub func: Func,
    /// Its argument.
    pub arg: ExprId,
    /// The tensor whose definition contains the call.
    pub owner: TensorId,
    /// Its left-hand-side variables.
    pub vars: Vec<VarId>,
    /// Dense reductions enclosing the call (their variables must be enumerated too).
    pub inner: Vec<VarId>,
}

impl ScoreNonlinearity {
    /// Where the function is flat or negative, as its table entry says
    /// ([`Primitive::flat_region`](gatgrad_codegen::primitives::Primitive::flat_region)): for the
    /// ReLU family and softplus a negative input (slope at most half its maximum, the output
    /// shrunk towards 0 or −slope·|x|); for tanh `|x| > 2` and for sigmoid `|x| > 4` (slope below
    /// 0.08 resp. 0.02 of its maximum).
    pub fn in_flat_region(&self, x: f64) -> bool {
        self.func
            .primitive()
            .flat_region
            .is_some_and(|flat| flat(x))
    }
}

/// The attention layers of `p`, in forward order.
pub fn attention_layers(p: &Program) -> Vec<AttentionLayer> {
    let mut out = Vec::new();
    for eq in &p.equations {
        let Rhs::Softmax(body) = eq.rhs else {
            continue;
        };
        let t = p.tensor(eq.lhs);
        let Domain::Edge(graph) = t.domain else {
            continue;
        };
        let name = t
            .name
            .rsplit_once('.')
            .map(|(a, _)| a.to_string())
            .unwrap_or_else(|| p.name.clone());
        let adjoint = p
            .tensors
            .iter()
            .position(|x| x.role == Role::Adjoint(eq.lhs))
            .map(|k| TensorId(k as u32));
        out.push(AttentionLayer {
            name,
            alpha: eq.lhs,
            adjoint,
            graph,
            score: find_nonlinearity(p, body, eq.lhs, &eq.vars, 3),
        });
    }
    out
}

fn definition(p: &Program, t: TensorId) -> Option<&Equation> {
    p.equations
        .iter()
        .find(|e| e.lhs == t && matches!(e.rhs, Rhs::Expr(_)))
}

/// The first scoring nonlinearity reachable from `e` (following tensor definitions up to
/// `depth` levels).
fn find_nonlinearity(
    p: &Program,
    e: ExprId,
    owner: TensorId,
    vars: &[VarId],
    depth: usize,
) -> Option<ScoreNonlinearity> {
    fn walk(
        p: &Program,
        e: ExprId,
        inner: &mut Vec<VarId>,
        found: &mut Option<(Func, ExprId, Vec<VarId>)>,
        accesses: &mut Vec<TensorId>,
    ) {
        if found.is_some() {
            return;
        }
        match p.arena.get(e) {
            Node::Call(f, a, _) => {
                if f.primitive().flat_region.is_some() {
                    *found = Some((*f, *a, inner.clone()));
                } else {
                    walk(p, *a, inner, found, accesses);
                }
            }
            Node::Access { tensor, .. } => accesses.push(*tensor),
            Node::Add(a, b) | Node::Sub(a, b) | Node::Mul(a, b) | Node::Div(a, b) => {
                walk(p, *a, inner, found, accesses);
                walk(p, *b, inner, found, accesses);
            }
            Node::Neg(a) | Node::Pow(a, _) => walk(p, *a, inner, found, accesses),
            Node::Reduce {
                range: Range::Dense(v),
                body,
                ..
            } => {
                inner.push(*v);
                walk(p, *body, inner, found, accesses);
                inner.pop();
            }
            _ => {}
        }
    }
    let mut found = None;
    let mut accesses = Vec::new();
    walk(p, e, &mut Vec::new(), &mut found, &mut accesses);
    if let Some((func, arg, inner)) = found {
        return Some(ScoreNonlinearity {
            func,
            arg,
            owner,
            vars: vars.to_vec(),
            inner,
        });
    }
    if depth == 0 {
        return None;
    }
    accesses.into_iter().find_map(|t| {
        let eq = definition(p, t)?;
        let Rhs::Expr(body) = eq.rhs else {
            return None;
        };
        find_nonlinearity(p, body, eq.lhs, &eq.vars, depth - 1)
    })
}

/// Per head (the owner's last `heads` elements cycle fastest), the fraction of the score's
/// pre-activations in the flat region, evaluated from the tensors in `values` (inlining what
/// generated code did not store). NaN per head where nothing was evaluated.
pub fn flat_fraction<V: Values + Sync + ?Sized>(
    p: &Program,
    bound: &Bound,
    values: &V,
    score: &ScoreNonlinearity,
    heads: usize,
) -> Vec<f64> {
    let shape = bound.shape(p, score.owner);
    let outer: usize = shape.iter().product();
    let inner_sizes: Vec<usize> = score
        .inner
        .iter()
        .map(|v| match p.var(*v).kind {
            VarKind::Dense(d) => bound.dims[d.index()],
            _ => 1,
        })
        .collect();
    let inner: usize = inner_sizes.iter().product();
    if outer == 0 || inner == 0 || heads == 0 {
        return vec![f64::NAN; heads];
    }
    let stride = (outer * inner).div_ceil(MAX_PREACTIVATIONS).max(1);
    let ev = Evaluator::inlining(p, bound, values);
    let counts = (0..outer)
        .into_par_iter()
        .step_by(stride)
        .fold(
            || {
                (
                    vec![0usize; heads],
                    vec![0usize; heads],
                    vec![0usize; p.vars.len()],
                )
            },
            |(mut flat, mut total, mut env), k| {
                set_env(&mut env, &score.vars, &shape, k);
                let h = k % heads;
                for j in 0..inner {
                    set_env(&mut env, &score.inner, &inner_sizes, j);
                    let x = ev.eval(score.arg, &mut env);
                    if x.is_finite() {
                        total[h] += 1;
                        flat[h] += usize::from(score.in_flat_region(x));
                    }
                }
                (flat, total, env)
            },
        )
        .map(|(f, t, _)| (f, t))
        .reduce(
            || (vec![0; heads], vec![0; heads]),
            |(mut f, mut t), (f2, t2)| {
                for h in 0..heads {
                    f[h] += f2[h];
                    t[h] += t2[h];
                }
                (f, t)
            },
        );
    (0..heads)
        .map(|h| {
            if counts.1[h] == 0 {
                f64::NAN
            } else {
                counts.0[h] as f64 / counts.1[h] as f64
            }
        })
        .collect()
}

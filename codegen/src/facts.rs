//! Facts about a program that the runtime needs, derived from roles and dataflow in the IR, never
//! from the names a user chose: which dimension is the input feature width and which the class
//! count, the heads and channels of every layer instance, which constants are dropout rates, which
//! parameters are biases, and which parameters feed the attention scores or the messages.
//!
//! Dataflow is followed forward through the equations. A *layer instance* is the output of one
//! layer call (the tensor a model's `h[n, d] = conv1: gat(...)` reshapes), or, in a program without
//! layer calls, the program's output. Its heads are the dense axes of the softmax tensors that
//! reach it; its channels are the rest of its output axes.

use crate::ir::*;

/// How a parameter takes part in attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// Reaches a softmax's argument and never the messages it weighs (`att`, GATv2's `lin_r`).
    Attention,
    /// Reaches the messages that a neighbourhood sum aggregates (possibly also the scores, as
    /// GAT's shared `lin.weight`), or is a bias added to such an aggregation.
    Value,
    /// Anything else (a skip connection's weight, a classifier head).
    Other,
}

/// One layer instance: the output of a layer call, with its heads and channels.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerFacts {
    /// The layer's output tensor as the layer defines it (`conv1.out[i, h, c]`).
    pub output: TensorId,
    /// The node tensor of the call site that flattens it (`h1[n, d]`), if it is a layer call.
    pub call: Option<TensorId>,
    /// The softmax tensors of this instance (usually one).
    pub softmax: Vec<TensorId>,
    /// Head dimensions (roots): the dense axes of its softmax tensors.
    pub heads: Vec<DimId>,
    /// Channel dimensions (roots): the output's axes that are not heads.
    pub channels: Vec<DimId>,
    /// True when the heads are axes of the output (concatenated), false when reduced (averaged).
    pub concat: bool,
}

/// Everything [`facts`] derives.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// The node input with one feature axis (`x[n: node, f: F]`).
    pub input: Option<TensorId>,
    /// The root of the input's feature dimension.
    pub features: Option<DimId>,
    /// The labels tensor.
    pub labels: Option<TensorId>,
    /// The root of the class-count dimension (`labels y[n] classes K`).
    pub classes: Option<DimId>,
    /// The first node mask (the loss's training mask when there is a loss).
    pub mask: Option<TensorId>,
    /// Layer instances in evaluation order.
    pub layers: Vec<LayerFacts>,
    /// The instance whose output is (or flows last into) the program output.
    pub output_layer: Option<usize>,
    /// Named constants used as the rate of a `dropout(...)` call.
    pub dropout_rates: Vec<ScalarId>,
    /// Parameters initialised as biases: every read of them is an added (or subtracted) term of
    /// an equation's right-hand side, never a factor.
    pub biases: Vec<TensorId>,
    /// Every parameter with its [`ParamKind`], in declaration order.
    pub params: Vec<(TensorId, ParamKind)>,
}

impl Facts {
    /// The kind of parameter `t` ([`ParamKind::Other`] for a tensor that is not a parameter).
    pub fn param_kind(&self, t: TensorId) -> ParamKind {
        self.params
            .iter()
            .find(|(p, _)| *p == t)
            .map_or(ParamKind::Other, |(_, k)| *k)
    }

    /// True when parameter `t` is initialised as a bias.
    pub fn is_bias(&self, t: TensorId) -> bool {
        self.biases.contains(&t)
    }

    /// True when named constant `s` is a dropout rate.
    pub fn is_dropout_rate(&self, s: ScalarId) -> bool {
        self.dropout_rates.contains(&s)
    }
}

/// The facts of `p` (see the module documentation).
pub fn facts(p: &Program) -> Facts {
    let find = |pred: &dyn Fn(&Tensor) -> bool| {
        p.tensors.iter().position(pred).map(|k| TensorId(k as u32))
    };
    let input = find(&|t| t.role == Role::Input && t.domain == Domain::Node && t.dims.len() == 1);
    let labels = find(&|t| matches!(t.role, Role::Labels { .. }));
    let mask = p
        .equations
        .iter()
        .find_map(|e| match e.rhs {
            Rhs::CrossEntropy { mask, .. } => Some(mask),
            _ => None,
        })
        .or_else(|| find(&|t| t.role == Role::Mask));
    let classes = labels.and_then(|l| match p.tensor(l).role {
        Role::Labels { classes } => Some(p.dim_root(classes)),
        _ => None,
    });
    let mut dropout_rates = Vec::new();
    for t in &p.tensors {
        if let Role::Dropout {
            p: Scalar::Named(s),
        } = t.role
        {
            if !dropout_rates.contains(&s) {
                dropout_rates.push(s);
            }
        }
    }
    let (layers, output_layer) = layers(p);
    let biases = biases(p);
    let params = param_kinds(p, &biases);
    Facts {
        input,
        features: input.map(|x| p.dim_root(p.tensor(x).dims[0])),
        labels,
        classes,
        mask,
        layers,
        output_layer,
        dropout_rates,
        biases,
        params,
    }
}

/// The tensors an equation's right-hand side reads, with repetitions.
fn reads(p: &Program, e: &Equation) -> Vec<TensorId> {
    let mut out = Vec::new();
    match e.rhs {
        Rhs::Expr(x) | Rhs::Softmax(x) => p.tensors_read(x, &mut out),
        Rhs::Reshape(t) | Rhs::LoopFill(t) | Rhs::LoopFillAdjoint(t) => out.push(t),
        Rhs::CrossEntropy {
            logits,
            labels,
            mask,
        } => out.extend([logits, labels, mask]),
    }
    out
}

/// Marks every tensor that `from` flows into through the forward equations (`from` included).
/// Flow does not pass an equation for which `stop` holds: its left-hand side (and what only it
/// feeds) is not marked.
fn downstream(p: &Program, from: TensorId, stop: &dyn Fn(&Equation) -> bool) -> Vec<bool> {
    let mut reached = vec![false; p.tensors.len()];
    reached[from.index()] = true;
    for e in &p.equations {
        if !stop(e) && reads(p, e).iter().any(|t| reached[t.index()]) {
            reached[e.lhs.index()] = true;
        }
    }
    reached
}

fn is_softmax(e: &Equation) -> bool {
    matches!(e.rhs, Rhs::Softmax(_))
}

fn is_call(e: &Equation) -> bool {
    matches!(e.rhs, Rhs::Reshape(_))
}

fn layers(p: &Program) -> (Vec<LayerFacts>, Option<usize>) {
    let mut outs: Vec<(TensorId, Option<TensorId>)> = p
        .equations
        .iter()
        .filter_map(|e| match e.rhs {
            Rhs::Reshape(inner) => Some((inner, Some(e.lhs))),
            _ => None,
        })
        .collect();
    if outs.is_empty() {
        outs.push((p.output, None));
    }
    let softmaxes: Vec<(TensorId, Vec<bool>)> = p
        .equations
        .iter()
        .filter(|e| is_softmax(e))
        .map(|e| (e.lhs, downstream(p, e.lhs, &is_call)))
        .collect();
    let mut layers = Vec::new();
    for (output, call) in outs {
        let softmax: Vec<TensorId> = softmaxes
            .iter()
            .filter(|(_, r)| r[output.index()])
            .map(|(s, _)| *s)
            .collect();
        let mut heads = Vec::new();
        for s in &softmax {
            for d in &p.tensor(*s).dims {
                let r = p.dim_root(*d);
                if !heads.contains(&r) {
                    heads.push(r);
                }
            }
        }
        let out_dims: Vec<DimId> = p
            .tensor(output)
            .dims
            .iter()
            .map(|d| p.dim_root(*d))
            .collect();
        let concat = !heads.is_empty() && heads.iter().all(|h| out_dims.contains(h));
        let channels = out_dims
            .iter()
            .copied()
            .filter(|d| !heads.contains(d))
            .collect();
        layers.push(LayerFacts {
            output,
            call,
            softmax,
            heads,
            channels,
            concat,
        });
    }
    let output_layer = layers
        .iter()
        .position(|l| l.output == p.output || l.call == Some(p.output))
        .or_else(|| {
            layers.iter().rposition(|l| {
                downstream(p, l.call.unwrap_or(l.output), &|_| false)[p.output.index()]
            })
        });
    (layers, output_layer)
}

/// Parameters whose every read is a term of a sum at the top of an equation's right-hand side.
fn biases(p: &Program) -> Vec<TensorId> {
    let mut additive = vec![0usize; p.tensors.len()];
    let mut total = vec![0usize; p.tensors.len()];
    for e in &p.equations {
        let all = reads(p, e);
        for t in &all {
            total[t.index()] += 1;
        }
        if let Rhs::Expr(x) = e.rhs {
            let (first, rest) = p.arena.sum_terms(x);
            for term in std::iter::once(first).chain(rest.iter().map(|t| t.expr)) {
                let mut term = term;
                while let Node::Neg(inner) = p.arena.get(term) {
                    term = *inner;
                }
                if let Node::Access { tensor, .. } = p.arena.get(term) {
                    additive[tensor.index()] += 1;
                }
            }
        }
    }
    (0..p.tensors.len())
        .map(|k| TensorId(k as u32))
        .filter(|t| {
            p.tensor(*t).role == Role::Param
                && total[t.index()] > 0
                && additive[t.index()] == total[t.index()]
        })
        .collect()
}

/// True when the expression contains a neighbourhood sum (an aggregation over in- or out-edges).
fn aggregates(p: &Program, e: ExprId) -> bool {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        if let Node::Reduce {
            range: Range::InEdges { .. } | Range::OutEdges { .. },
            ..
        } = p.arena.get(e)
        {
            return true;
        }
        stack.extend(p.arena.children(e));
    }
    false
}

/// Tensors read inside the body of a neighbourhood sum: the messages an aggregation weighs.
fn messages(p: &Program) -> Vec<bool> {
    let mut out = vec![false; p.tensors.len()];
    for e in &p.equations {
        let Rhs::Expr(x) = e.rhs else { continue };
        let mut stack = vec![(x, false)];
        while let Some((e, inside)) = stack.pop() {
            let node = p.arena.get(e);
            let inside = inside
                || matches!(
                    node,
                    Node::Reduce {
                        range: Range::InEdges { .. } | Range::OutEdges { .. },
                        ..
                    }
                );
            if let (Node::Access { tensor, .. }, true) = (node, inside) {
                out[tensor.index()] = true;
            }
            stack.extend(p.arena.children(e).into_iter().map(|c| (c, inside)));
        }
    }
    out
}

fn param_kinds(p: &Program, biases: &[TensorId]) -> Vec<(TensorId, ParamKind)> {
    let messages = messages(p);
    let softmax_args: Vec<bool> = {
        let mut v = vec![false; p.tensors.len()];
        for e in p.equations.iter().filter(|e| is_softmax(e)) {
            for t in reads(p, e) {
                v[t.index()] = true;
            }
        }
        v
    };
    // Equations that aggregate a neighbourhood: a bias added there is on the value path.
    let aggregation_eqs: Vec<TensorId> = p
        .equations
        .iter()
        .filter(|e| matches!(e.rhs, Rhs::Expr(x) if aggregates(p, x)))
        .map(|e| e.lhs)
        .collect();
    // Flow is followed within one layer instance and not through a softmax: what a softmax's
    // result feeds is attention's effect, not the parameter's own path.
    let stop = |e: &Equation| is_softmax(e) || is_call(e);
    let mut out = Vec::new();
    for (k, t) in p.tensors.iter().enumerate() {
        if t.role != Role::Param {
            continue;
        }
        let id = TensorId(k as u32);
        let reached = downstream(p, id, &stop);
        let hits = |set: &[bool]| reached.iter().zip(set).any(|(r, s)| *r && *s);
        let bias_of_aggregation = biases.contains(&id)
            && p.equations
                .iter()
                .any(|e| aggregation_eqs.contains(&e.lhs) && reads(p, e).contains(&id));
        let kind = if hits(&messages) || bias_of_aggregation {
            ParamKind::Value
        } else if hits(&softmax_args) {
            ParamKind::Attention
        } else {
            ParamKind::Other
        };
        out.push((id, kind));
    }
    out
}

#[cfg(test)]
mod tests;

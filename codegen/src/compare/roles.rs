//! What each part of an attention layer is, found from the program's dataflow, never from names:
//! the output equation's terms (the neighbourhood aggregation, a residual, an output bias), the
//! attention weights and the message values the aggregation reads, the softmax and the score it
//! normalises, and the transform the score reads at the target.

use crate::ir::*;

/// The parts of one attention layer (see the module documentation).
#[derive(Clone, Debug)]
pub(super) struct Roles {
    /// The output tensor and its defining equation's index.
    pub output: TensorId,
    pub output_eq: usize,
    /// The aggregation term of the output equation: `Σ_{j → i} α · v`.
    pub aggregation: ExprId,
    /// The other terms: those reading only parameters (an output bias) and the rest (a residual).
    pub bias_terms: Vec<(bool, ExprId)>,
    pub residual_terms: Vec<(bool, ExprId)>,
    /// The edge tensor of attention weights the aggregation reads.
    pub weights: TensorId,
    /// The node tensor the aggregation reads at the source (the message value, the source
    /// transform).
    pub value: TensorId,
    /// The tensor the softmax normalises (the score), when its argument is one tensor.
    pub score: Option<TensorId>,
    /// The node tensor the score reads at the target, other than the value (the target
    /// transform); `None` when it reads the value there too (shared weights) or nothing.
    pub target: Option<TensorId>,
    /// The graph the softmax works on.
    pub graph: GraphKind,
}

/// The defining forward equation of `t`.
fn def(p: &Program, t: TensorId) -> Option<(usize, &Equation)> {
    p.equations.iter().enumerate().find(|(_, e)| e.lhs == t)
}

/// Node tensors read at the source (`Src`) or target (`Dst`) of an edge in `e`.
fn ends(p: &Program, e: ExprId, src: bool) -> Vec<TensorId> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        if let Node::Access {
            tensor,
            at: Some(at),
            ..
        } = p.arena.get(x)
        {
            let wanted = match at {
                At::Src(_) => src,
                At::Dst(_) => !src,
                _ => false,
            };
            if wanted && !out.contains(tensor) {
                out.push(*tensor);
            }
        }
        stack.extend(p.arena.children(x));
    }
    out
}

/// Whether `e` holds a sum over in-edges.
fn aggregates(p: &Program, e: ExprId) -> bool {
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        if let Node::Reduce {
            range: Range::InEdges { .. },
            ..
        } = p.arena.get(x)
        {
            return true;
        }
        stack.extend(p.arena.children(x));
    }
    false
}

/// The tensors `e` reads, each once.
fn reads(p: &Program, e: ExprId) -> Vec<TensorId> {
    let mut out = Vec::new();
    p.tensors_read(e, &mut out);
    out.dedup();
    out
}

/// Follows copies and dropout from `t` back to a softmax: `alpha = dropout(a)` reaches `a`.
fn softmax_behind(p: &Program, t: TensorId) -> Option<TensorId> {
    let mut cur = t;
    for _ in 0..16 {
        let (_, eq) = def(p, cur)?;
        match eq.rhs {
            Rhs::Softmax(_) => return Some(cur),
            Rhs::Expr(x) => {
                let next = reads(p, x)
                    .into_iter()
                    .find(|r| matches!(p.tensor(*r).domain, Domain::Edge(_)))?;
                cur = next;
            }
            _ => return None,
        }
    }
    None
}

impl Roles {
    /// The roles of `p`'s output layer, or why there are none.
    pub(super) fn find(p: &Program) -> Result<Roles, String> {
        let output = p.output;
        let (output_eq, eq) = def(p, output).ok_or("its output is not defined by an equation")?;
        let Rhs::Expr(rhs) = eq.rhs else {
            return Err("its output is not an expression (a model's flattened layer call)".into());
        };
        let (first, rest) = p.arena.sum_terms(rhs);
        let terms = std::iter::once((false, first)).chain(rest.iter().map(|t| (t.negated, t.expr)));
        let mut aggregation = None;
        let mut bias_terms = Vec::new();
        let mut residual_terms = Vec::new();
        for (neg, t) in terms {
            if aggregation.is_none() && aggregates(p, t) {
                aggregation = Some(t);
            } else if reads(p, t).iter().all(|r| p.tensor(*r).role == Role::Param) {
                bias_terms.push((neg, t));
            } else {
                residual_terms.push((neg, t));
            }
        }
        let aggregation = aggregation.ok_or("its output sums over no neighbourhood")?;
        let weights = reads(p, aggregation)
            .into_iter()
            .find(|r| matches!(p.tensor(*r).domain, Domain::Edge(_)))
            .ok_or("its aggregation reads no edge tensor of attention weights")?;
        let value = *ends(p, aggregation, true)
            .first()
            .ok_or("its aggregation reads no node tensor at the source")?;
        let softmax =
            softmax_behind(p, weights).ok_or("its attention weights come from no softmax")?;
        let graph = match p.tensor(softmax).domain {
            Domain::Edge(g) => p.graphs[g.index()],
            _ => GraphKind::Raw,
        };
        let (_, seq) = def(p, softmax).ok_or("its softmax is not defined")?;
        let arg = match seq.rhs {
            Rhs::Softmax(x) => x,
            _ => unreachable!("softmax_behind returns softmax tensors"),
        };
        let score = match p.arena.get(arg) {
            Node::Access { tensor, .. } if def(p, *tensor).is_some() => Some(*tensor),
            _ => None,
        };
        // The target transform: a node tensor read at the target somewhere in the score's
        // definition (looking through edge tensors such as GATv2's `z`).
        let mut target = None;
        let mut stack = vec![arg];
        let mut seen = Vec::new();
        while let Some(x) = stack.pop() {
            if let Some(t) = ends(p, x, false).into_iter().next() {
                target = Some(t);
                break;
            }
            for r in reads(p, x) {
                if matches!(p.tensor(r).domain, Domain::Edge(_)) && !seen.contains(&r) {
                    seen.push(r);
                    if let Some((
                        _,
                        Equation {
                            rhs: Rhs::Expr(y), ..
                        },
                    )) = def(p, r)
                    {
                        stack.push(*y);
                    }
                }
            }
        }
        Ok(Roles {
            output,
            output_eq,
            aggregation,
            bias_terms,
            residual_terms,
            weights,
            value,
            score,
            target: target.filter(|t| *t != value),
            graph,
        })
    }
}

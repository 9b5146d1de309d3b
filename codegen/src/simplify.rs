//! Smart constructors that simplify as they build: constants fold, zeros and ones vanish, factors that
//! do not depend on a reduction's variable move out of it, and sums over the same range merge. Every
//! expression the differentiator builds goes through these, so derivatives come out short.

use crate::ir::*;
use std::collections::HashMap;

/// What a variable is replaced by in [`Arena::subst`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repl {
    /// Another variable of the same kind.
    Var(VarId),
    /// (Node variables only) the target node of an edge variable.
    DstOf(VarId),
    /// (Node variables only) the source node of an edge variable.
    SrcOf(VarId),
}

impl Arena {
    /// A literal constant.
    pub fn num(&mut self, v: f64) -> ExprId {
        self.intern(Node::Const(Scalar::lit(v)))
    }
    /// A constant (literal or named).
    pub fn scalar(&mut self, s: Scalar) -> ExprId {
        self.intern(Node::Const(s))
    }
    fn is_lit(&self, id: ExprId, v: f64) -> bool {
        self.lit(id) == Some(v)
    }
    /// `a + b`
    pub fn add(&mut self, a: ExprId, b: ExprId) -> ExprId {
        if self.is_lit(a, 0.0) {
            return b;
        }
        if self.is_lit(b, 0.0) {
            return a;
        }
        if let (Some(x), Some(y)) = (self.lit(a), self.lit(b)) {
            return self.num(x + y);
        }
        if let Node::Neg(nb) = *self.get(b) {
            return self.sub(a, nb);
        }
        if let (
            Node::Reduce {
                op: ReduceOp::Sum,
                range: ra,
                body: ba,
            },
            Node::Reduce {
                op: ReduceOp::Sum,
                range: rb,
                body: bb,
            },
        ) = (self.get(a).clone(), self.get(b).clone())
        {
            if ra == rb {
                let body = self.add(ba, bb);
                return self.reduce(ReduceOp::Sum, ra, body);
            }
        }
        self.intern(Node::Add(a, b))
    }
    /// `a - b`
    pub fn sub(&mut self, a: ExprId, b: ExprId) -> ExprId {
        if self.is_lit(b, 0.0) {
            return a;
        }
        if self.is_lit(a, 0.0) {
            return self.neg(b);
        }
        if a == b {
            return self.num(0.0);
        }
        if let (Some(x), Some(y)) = (self.lit(a), self.lit(b)) {
            return self.num(x - y);
        }
        if let Node::Neg(nb) = *self.get(b) {
            return self.add(a, nb);
        }
        self.intern(Node::Sub(a, b))
    }
    /// `a * b`
    pub fn mul(&mut self, a: ExprId, b: ExprId) -> ExprId {
        if self.is_lit(a, 0.0) || self.is_lit(b, 0.0) {
            return self.num(0.0);
        }
        if self.is_lit(a, 1.0) {
            return b;
        }
        if self.is_lit(b, 1.0) {
            return a;
        }
        if let (Some(x), Some(y)) = (self.lit(a), self.lit(b)) {
            return self.num(x * y);
        }
        if self.is_lit(a, -1.0) {
            return self.neg(b);
        }
        if self.is_lit(b, -1.0) {
            return self.neg(a);
        }
        if let Node::Neg(na) = *self.get(a) {
            let m = self.mul(na, b);
            return self.neg(m);
        }
        if let Node::Neg(nb) = *self.get(b) {
            let m = self.mul(a, nb);
            return self.neg(m);
        }
        // Constants go in front: `2 * x`, not `x * 2`.
        if self.lit(b).is_some() && self.lit(a).is_none() {
            return self.intern(Node::Mul(b, a));
        }
        self.intern(Node::Mul(a, b))
    }
    /// `a / b`
    pub fn div(&mut self, a: ExprId, b: ExprId) -> ExprId {
        if self.is_lit(a, 0.0) {
            return a;
        }
        if self.is_lit(b, 1.0) {
            return a;
        }
        if let (Some(x), Some(y)) = (self.lit(a), self.lit(b)) {
            if y != 0.0 {
                return self.num(x / y);
            }
        }
        if let Node::Neg(na) = *self.get(a) {
            let d = self.div(na, b);
            return self.neg(d);
        }
        self.intern(Node::Div(a, b))
    }
    /// `-a`
    pub fn neg(&mut self, a: ExprId) -> ExprId {
        if let Some(x) = self.lit(a) {
            return self.num(-x);
        }
        if let Node::Neg(inner) = *self.get(a) {
            return inner;
        }
        if let Node::Sub(x, y) = *self.get(a) {
            return self.intern(Node::Sub(y, x));
        }
        self.intern(Node::Neg(a))
    }
    /// `a ^ p`
    pub fn pow(&mut self, a: ExprId, p: Scalar) -> ExprId {
        if p == Scalar::lit(1.0) {
            return a;
        }
        if p == Scalar::lit(0.0) {
            return self.num(1.0);
        }
        self.intern(Node::Pow(a, p))
    }
    /// `f(a, arg)`
    pub fn call(&mut self, f: Func, a: ExprId, arg: Option<Scalar>) -> ExprId {
        if let (Some(x), None | Some(Scalar::Lit(_))) = (self.lit(a), arg) {
            let y = arg.map(|s| match s {
                Scalar::Lit(b) => f64::from_bits(b),
                Scalar::Named(_) => f64::NAN,
            });
            return self.num(f.eval(x, y.unwrap_or(0.0)));
        }
        self.intern(Node::Call(f, a, arg))
    }
    /// A reduction. A sum pulls out factors that do not depend on its variable.
    pub fn reduce(&mut self, op: ReduceOp, range: Range, body: ExprId) -> ExprId {
        if op != ReduceOp::LogSumExp && self.is_lit(body, 0.0) {
            return body;
        }
        let var = range.var();
        if op == ReduceOp::Sum {
            match *self.get(body) {
                Node::Mul(a, b) if !self.mentions(a, var) => {
                    let inner = self.reduce(op, range, b);
                    return self.mul(a, inner);
                }
                Node::Mul(a, b) if !self.mentions(b, var) => {
                    let inner = self.reduce(op, range, a);
                    return self.mul(inner, b);
                }
                Node::Neg(a) => {
                    let inner = self.reduce(op, range, a);
                    return self.neg(inner);
                }
                Node::Div(a, b) if !self.mentions(b, var) => {
                    let inner = self.reduce(op, range, a);
                    return self.div(inner, b);
                }
                _ => {}
            }
        }
        self.intern(Node::Reduce { op, range, body })
    }

    /// Renames free variables. Bound variables are left alone (they are never in `map`).
    pub fn subst(&mut self, id: ExprId, map: &HashMap<VarId, Repl>) -> ExprId {
        let mut memo = HashMap::new();
        self.subst_memo(id, map, &mut memo)
    }

    /// The substitution walks with an explicit stack (a derivative's sum can have a term per
    /// equation of the program): a node is rebuilt once all its children are. Only a reduction
    /// whose variable shadows an entry of the map starts a walk of its own, so the depth of the
    /// Rust stack is bounded by the nesting of reductions.
    fn subst_memo(
        &mut self,
        root: ExprId,
        map: &HashMap<VarId, Repl>,
        memo: &mut HashMap<ExprId, ExprId>,
    ) -> ExprId {
        let mut stack = vec![(root, false)];
        while let Some((id, children_done)) = stack.pop() {
            if memo.contains_key(&id) {
                continue;
            }
            if !self.free_vars(id).iter().any(|v| map.contains_key(v)) {
                memo.insert(id, id);
                continue;
            }
            let node = self.get(id).clone();
            let shadowing =
                matches!(node, Node::Reduce { range, .. } if map.contains_key(&range.var()));
            if !children_done && !shadowing {
                let children = self.children(id);
                if children.iter().any(|c| !memo.contains_key(c)) {
                    stack.push((id, true));
                    stack.extend(children.into_iter().rev().map(|c| (c, false)));
                    continue;
                }
            }
            let out = self.rebuild(id, node, map, memo);
            memo.insert(id, out);
        }
        memo[&root]
    }

    /// Rebuilds one node under the substitution, its children already in `memo`.
    fn rebuild(
        &mut self,
        id: ExprId,
        node: Node,
        map: &HashMap<VarId, Repl>,
        memo: &mut HashMap<ExprId, ExprId>,
    ) -> ExprId {
        let at_map = |at: At| -> At {
            match at {
                At::Node(v) => match map.get(&v) {
                    Some(Repl::Var(w)) => At::Node(*w),
                    Some(Repl::DstOf(e)) => At::Dst(*e),
                    Some(Repl::SrcOf(e)) => At::Src(*e),
                    None => at,
                },
                At::Src(e) | At::Dst(e) | At::Edge(e) => {
                    let e2 = match map.get(&e) {
                        Some(Repl::Var(w)) => *w,
                        _ => e,
                    };
                    match at {
                        At::Src(_) => At::Src(e2),
                        At::Dst(_) => At::Dst(e2),
                        _ => At::Edge(e2),
                    }
                }
            }
        };
        let var_map = |v: VarId| -> VarId {
            match map.get(&v) {
                Some(Repl::Var(w)) => *w,
                _ => v,
            }
        };
        let m = |c: ExprId| memo[&c];
        match node {
            Node::Const(_) | Node::MaskCount(_) | Node::DimSize(_) => id,
            Node::Access { tensor, at, dense } => self.intern(Node::Access {
                tensor,
                at: at.map(at_map),
                dense: dense.into_iter().map(var_map).collect(),
            }),
            Node::OneHot { labels, at, class } => self.intern(Node::OneHot {
                labels,
                at: at_map(at),
                class: var_map(class),
            }),
            Node::Add(a, b) => {
                let (a, b) = (m(a), m(b));
                self.add(a, b)
            }
            Node::Sub(a, b) => {
                let (a, b) = (m(a), m(b));
                self.sub(a, b)
            }
            Node::Mul(a, b) => {
                let (a, b) = (m(a), m(b));
                self.mul(a, b)
            }
            Node::Div(a, b) => {
                let (a, b) = (m(a), m(b));
                self.div(a, b)
            }
            Node::Neg(a) => {
                let a = m(a);
                self.neg(a)
            }
            Node::Pow(a, p) => {
                let a = m(a);
                self.pow(a, p)
            }
            Node::Call(f, a, arg) => {
                let a = m(a);
                self.call(f, a, arg)
            }
            Node::Reduce { op, range, body } => {
                let range = match range {
                    Range::InEdges { edge, of } => Range::InEdges {
                        edge,
                        of: at_map(of),
                    },
                    Range::OutEdges { edge, of } => Range::OutEdges {
                        edge,
                        of: at_map(of),
                    },
                    r => r,
                };
                // The bound variable shadows any substitution of the same variable.
                let body = if map.contains_key(&range.var()) {
                    let mut inner = map.clone();
                    inner.remove(&range.var());
                    self.subst_memo(body, &inner, &mut HashMap::new())
                } else {
                    m(body)
                };
                self.reduce(op, range, body)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_fold() {
        let mut a = Arena::default();
        let x = a.intern(Node::Access {
            tensor: TensorId(0),
            at: None,
            dense: vec![VarId(0)],
        });
        let zero = a.num(0.0);
        let one = a.num(1.0);
        assert_eq!(a.add(x, zero), x);
        assert_eq!(a.mul(one, x), x);
        assert_eq!(a.mul(zero, x), zero);
        let nx = a.neg(x);
        assert_eq!(a.neg(nx), x);
        assert_eq!(a.sub(x, x), zero);
        let two = a.num(2.0);
        let three = a.num(3.0);
        let six = a.mul(two, three);
        assert_eq!(a.lit(six), Some(6.0));
    }

    #[test]
    fn sums_pull_out_independent_factors_and_merge() {
        let mut a = Arena::default();
        let (h, c) = (VarId(0), VarId(1));
        let g = a.intern(Node::Access {
            tensor: TensorId(0),
            at: None,
            dense: vec![h],
        });
        let w = a.intern(Node::Access {
            tensor: TensorId(1),
            at: None,
            dense: vec![h, c],
        });
        let body = a.mul(g, w);
        let s = a.reduce(ReduceOp::Sum, Range::Dense(c), body);
        let inner = a.reduce(ReduceOp::Sum, Range::Dense(c), w);
        assert_eq!(s, a.mul(g, inner));
        let ww = a.mul(w, w);
        let s1 = a.reduce(ReduceOp::Sum, Range::Dense(c), w);
        let s2 = a.reduce(ReduceOp::Sum, Range::Dense(c), ww);
        let merged = a.add(s1, s2);
        let both = a.add(w, ww);
        assert_eq!(
            a.get(merged),
            &Node::Reduce {
                op: ReduceOp::Sum,
                range: Range::Dense(c),
                body: both
            }
        );
    }
}

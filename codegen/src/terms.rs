//! Sums as lists of terms, walked without recursion.
//!
//! A derivative `∂T` collects one term per read of `T`, so its sum grows with the length of the
//! program, not with anything the user nested: a chain of 18 000 equations that each read `x` gives
//! `∂x` 18 000 terms. The simplifier builds such a sum as a left-nested chain of `+` and `-`
//! (`((a + b) - c) + d`), so every walk that descends into left operands would need stack in
//! proportion to the program. Walkers take the chain apart here with a loop instead and recurse only
//! into the terms, whose depth is bounded by the nesting the parser accepts in one statement.

use crate::ir::{Arena, ExprId, Node};

/// One term of a flattened sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Term {
    /// True when the term is subtracted.
    pub negated: bool,
    /// The term (never itself the left operand of a `+` or `-`: that continues the chain).
    pub expr: ExprId,
}

impl Arena {
    /// The terms of the chain of `+` and `-` rooted at `id`, left to right: `(a + b) - c` gives `a`,
    /// then `[+b, -c]`. Evaluating the first term and then adding or subtracting the others in order
    /// gives exactly the bits of the nested expression. An expression that is not a sum is its own
    /// first term with no others. A right operand that is itself a sum is one term.
    pub fn sum_terms(&self, id: ExprId) -> (ExprId, Vec<Term>) {
        let mut rest = Vec::new();
        let mut cur = id;
        loop {
            match *self.get(cur) {
                Node::Add(a, b) => {
                    rest.push(Term {
                        negated: false,
                        expr: b,
                    });
                    cur = a;
                }
                Node::Sub(a, b) => {
                    rest.push(Term {
                        negated: true,
                        expr: b,
                    });
                    cur = a;
                }
                _ => break,
            }
        }
        rest.reverse();
        (cur, rest)
    }
}

#[cfg(test)]
mod tests {
    use crate::ir::*;

    #[test]
    fn a_left_chain_flattens_in_order() {
        let mut a = Arena::default();
        let x: Vec<ExprId> = (0..4)
            .map(|k| {
                a.intern(Node::Access {
                    tensor: TensorId(k),
                    at: None,
                    dense: vec![],
                })
            })
            .collect();
        let ab = a.intern(Node::Add(x[0], x[1]));
        let abc = a.intern(Node::Sub(ab, x[2]));
        let cd = a.intern(Node::Add(x[2], x[3]));
        let all = a.intern(Node::Add(abc, cd));
        let (first, rest) = a.sum_terms(all);
        assert_eq!(first, x[0]);
        let signs: Vec<(bool, ExprId)> = rest.iter().map(|t| (t.negated, t.expr)).collect();
        assert_eq!(signs, vec![(false, x[1]), (true, x[2]), (false, cd)]);
        assert_eq!(a.sum_terms(x[3]), (x[3], vec![]));
    }
}

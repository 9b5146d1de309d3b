//! How free index names are used inside an expression, to infer what each ranges over.

use super::*;

/// How `name` is first used as a free index inside `e`: as a node or on a dense axis.
pub(super) fn usage_of(p: &Program, sc: &BlockScope, name: &str, e: &ast::Expr) -> Option<Usage> {
    match e {
        ast::Expr::Number(..) | ast::Expr::Name(_) => None,
        ast::Expr::Access {
            name: t, indices, ..
        } => {
            let Some(Sym::Tensor(t)) = sc.syms.get(&t.name) else {
                return None;
            };
            let tensor = p.tensor(*t);
            let g = usize::from(tensor.domain != Domain::Dense);
            for (k, ix) in indices.iter().enumerate() {
                match ix {
                    ast::Index::Var(v) if v.name == name => {
                        if k < g {
                            return Some(Usage::Node);
                        }
                        return tensor.dims.get(k - g).map(|d| Usage::Dense(*d));
                    }
                    ast::Index::Edge { target, source, .. }
                        if target.name == name || source.name == name =>
                    {
                        return Some(Usage::Node);
                    }
                    _ => {}
                }
            }
            None
        }
        ast::Expr::Binary { lhs, rhs, .. } => {
            usage_of(p, sc, name, lhs).or_else(|| usage_of(p, sc, name, rhs))
        }
        ast::Expr::Neg(a, _) | ast::Expr::Pow { base: a, .. } => usage_of(p, sc, name, a),
        ast::Expr::Call { args, .. } => args.iter().find_map(|a| usage_of(p, sc, name, a)),
        ast::Expr::Reduce { binder, body, .. } => match binder {
            ast::Binder::Vars(v) if v.iter().any(|v| v.name == name) => None,
            ast::Binder::InEdges { source, .. } if source.name == name => None,
            ast::Binder::InEdges {
                target: Some(t), ..
            } if t.name == name => Some(Usage::Node),
            _ => usage_of(p, sc, name, body),
        },
    }
}

/// Every way `name` is used as a free index inside `e`, in source order.
pub(super) fn usages(
    p: &Program,
    sc: &BlockScope,
    name: &str,
    e: &ast::Expr,
    out: &mut Vec<Usage>,
) {
    match e {
        ast::Expr::Number(..) | ast::Expr::Name(_) => {}
        ast::Expr::Access { .. } => {
            // An access may use the name several times; collect each position.
            if let ast::Expr::Access {
                name: t, indices, ..
            } = e
            {
                if let Some(Sym::Tensor(t)) = sc.syms.get(&t.name) {
                    let tensor = p.tensor(*t);
                    let g = usize::from(tensor.domain != Domain::Dense);
                    for (k, ix) in indices.iter().enumerate() {
                        match ix {
                            ast::Index::Var(v) if v.name == name => {
                                if k < g {
                                    out.push(Usage::Node);
                                } else if let Some(d) = tensor.dims.get(k - g) {
                                    out.push(Usage::Dense(*d));
                                }
                            }
                            ast::Index::Edge { target, source, .. }
                                if target.name == name || source.name == name =>
                            {
                                out.push(Usage::Node)
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        ast::Expr::Binary { lhs, rhs, .. } => {
            usages(p, sc, name, lhs, out);
            usages(p, sc, name, rhs, out);
        }
        ast::Expr::Neg(a, _) | ast::Expr::Pow { base: a, .. } => usages(p, sc, name, a, out),
        ast::Expr::Call { args, .. } => args.iter().for_each(|a| usages(p, sc, name, a, out)),
        ast::Expr::Reduce { binder, body, .. } => match binder {
            ast::Binder::Vars(v) if v.iter().any(|v| v.name == name) => {}
            ast::Binder::InEdges { source, .. } if source.name == name => {}
            ast::Binder::InEdges {
                target: Some(t), ..
            } if t.name == name => {
                out.push(Usage::Node);
                usages(p, sc, name, body, out);
            }
            _ => usages(p, sc, name, body, out),
        },
    }
}

/// True when the expression reads a name that is unknown or whose definition failed.
pub(super) fn mentions_broken(sc: &BlockScope, e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Number(..) => false,
        ast::Expr::Name(n) => matches!(sc.syms.get(&n.name), None | Some(Sym::Poisoned)),
        ast::Expr::Access { name, .. } => !matches!(sc.syms.get(&name.name), Some(Sym::Tensor(_))),
        ast::Expr::Binary { lhs, rhs, .. } => mentions_broken(sc, lhs) || mentions_broken(sc, rhs),
        ast::Expr::Neg(a, _) | ast::Expr::Pow { base: a, .. } => mentions_broken(sc, a),
        ast::Expr::Call { args, .. } => args.iter().any(|a| mentions_broken(sc, a)),
        ast::Expr::Reduce { body, .. } => mentions_broken(sc, body),
    }
}

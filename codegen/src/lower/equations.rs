//! Equations and the loss statement: the left-hand side's indices and what they range over,
//! the kind of right-hand side (expression, softmax, dropout, reshape, ...).

use super::*;

impl Lowerer {
    pub(super) fn equation(&mut self, sc: &mut BlockScope, eq: &ast::Equation) {
        let name = &eq.name.name;
        if !self.is_new(sc, &eq.name) {
            return;
        }
        sc.claim(&eq.name, Sym::Poisoned);
        // Left-hand side: what each index ranges over.
        let mut env = Env::default();
        let mut vars = Vec::new();
        let mut domain = Domain::Dense;
        let mut dims = Vec::new();
        let mut index_names = Vec::new();
        let mut ok = true;
        let mut seen = HashSet::new();
        let mut broken = false;
        for (k, li) in eq.indices.iter().enumerate() {
            match &li.index {
                ast::Index::Edge {
                    target,
                    source,
                    span,
                } => {
                    if k > 0 {
                        self.err(*span, "only the first index can be an edge `i <- j`", "");
                        ok = false;
                        continue;
                    }
                    if target.name == source.name {
                        self.err(*span, "an edge needs two different index names", "");
                        ok = false;
                        continue;
                    }
                    seen.insert(target.name.clone());
                    seen.insert(source.name.clone());
                    let e = env.bind_edge(&mut self.p, &target.name, &source.name, sc.graph);
                    domain = Domain::Edge(sc.graph);
                    index_names.push(format!("{} <- {}", target.name, source.name));
                    vars.push(e);
                }
                ast::Index::Var(v) => {
                    if !seen.insert(v.name.clone()) {
                        self.err(v.span, format!("index `{}` appears twice", v.name), "");
                        ok = false;
                        continue;
                    }
                    let usage = match &li.dim {
                        Some(d) => self.dim(sc, d).map(Usage::Dense),
                        None => {
                            let mut all = Vec::new();
                            usages(&self.p, sc, &v.name, &eq.rhs, &mut all);
                            let node = all.iter().find(|u| **u == Usage::Node).copied();
                            let dense = all.iter().find(|u| **u != Usage::Node).copied();
                            if k == 0 {
                                node.or(dense)
                            } else {
                                dense.or(node)
                            }
                        }
                    };
                    match usage {
                        Some(Usage::Node) if k == 0 => {
                            let id = self.p.add_var(&v.name, VarKind::Node);
                            domain = Domain::Node;
                            env.node_ctx = true;
                            env.names
                                .push((v.name.clone(), Binding::Node(At::Node(id))));
                            vars.push(id);
                        }
                        Some(Usage::Node) => {
                            self.err(
                                v.span,
                                format!(
                                    "`{}` is used as a node index, so it must come first",
                                    v.name
                                ),
                                "node index in a dense position",
                            );
                            ok = false;
                        }
                        Some(Usage::Dense(d)) => {
                            let id = self.p.add_var(&v.name, VarKind::Dense(d));
                            env.names.push((v.name.clone(), Binding::Dense(id, d)));
                            dims.push(d);
                            vars.push(id);
                        }
                        None if li.dim.is_none() && mentions_broken(sc, &eq.rhs) => {
                            env.names.push((v.name.clone(), Binding::Unknown));
                            broken = true;
                        }
                        None => {
                            if li.dim.is_none() {
                                self.diags.push(
                                    Diagnostic::error(
                                        v.span,
                                        format!(
                                            "cannot tell what `{}` ranges over: it does not occur on the right-hand side",
                                            v.name
                                        ),
                                    )
                                    .with_label("unused index")
                                    .with_help(if k == 0 {
                                        format!(
                                            "read a node tensor at `{0}` on the right (e.g. `x[{0}, f]`), remove it, or give a dense dimension: `{0}: D`",
                                            v.name
                                        )
                                    } else {
                                        format!("remove it, or give its dimension: `{}: D`", v.name)
                                    }),
                                );
                            }
                            env.names.push((v.name.clone(), Binding::Unknown));
                            broken = true;
                        }
                    }
                    index_names.push(v.name.clone());
                }
            }
        }
        if broken {
            // Report what else is wrong on the right-hand side, then give up on this equation.
            // The whole-right-hand-side forms (`softmax_j`, `dropout`) are checked as such: only
            // what they apply to is an expression.
            if ok {
                let inner = match &eq.rhs {
                    ast::Expr::Reduce {
                        op: ast::ReduceOp::Softmax,
                        body,
                        ..
                    } => &**body,
                    ast::Expr::Call { func, args, .. }
                        if func.name == "dropout" && args.len() == 2 =>
                    {
                        &args[0]
                    }
                    e => e,
                };
                let _ = self.expr(sc, &mut env, inner);
            }
            ok = false;
        }
        if !ok {
            sc.define(name, Sym::Poisoned);
            return;
        }
        let t = self.p.add_tensor(Tensor {
            name: sc.full(name),
            external: sc.full(name),
            domain,
            dims: dims.clone(),
            external_shape: None,
            role: Role::Defined,
            index_names,
        });
        // Right-hand side.
        let rhs = match &eq.rhs {
            ast::Expr::Reduce {
                op: ast::ReduceOp::Softmax,
                binder,
                body,
                span,
            } => {
                let Some(edge) = env.edge.clone() else {
                    self.err(
                        *span,
                        "softmax over a neighbourhood defines an edge tensor",
                        "the left-hand side must be indexed by an edge `i <- j`",
                    );
                    sc.define(name, Sym::Poisoned);
                    return;
                };
                let (src, tgt) = match binder {
                    ast::Binder::InEdges { source, target } => (source.clone(), target.clone()),
                    ast::Binder::Vars(v) if v.len() == 1 => (v[0].clone(), None),
                    _ => {
                        self.err(
                            *span,
                            "softmax ranges over one source index: `softmax_j`",
                            "",
                        );
                        sc.define(name, Sym::Poisoned);
                        return;
                    }
                };
                if src.name != edge.source || tgt.as_ref().is_some_and(|t| t.name != edge.target) {
                    self.err(
                        src.span,
                        format!(
                            "softmax must range over the source `{}` of this equation's edge `{} <- {}`",
                            edge.source, edge.target, edge.source
                        ),
                        "wrong index",
                    );
                    sc.define(name, Sym::Poisoned);
                    return;
                }
                self.expr(sc, &mut env, body).map(Rhs::Softmax)
            }
            ast::Expr::Call { func, args, span } if func.name == "dropout" => {
                if args.len() != 2 {
                    self.err(*span, "dropout takes two arguments: `dropout(x, p)`", "");
                    None
                } else {
                    let body = self.expr(sc, &mut env, &args[0]);
                    let p = self.const_arg(sc, &args[1], "the dropout probability");
                    match (body, p) {
                        (Some(body), Some(p)) => {
                            let mask = self.p.add_tensor(Tensor {
                                name: sc.full(&generated_name("dropmask", name)),
                                external: sc.full(&generated_name("dropmask", name)),
                                domain,
                                dims: dims.clone(),
                                external_shape: None,
                                role: Role::Dropout { p },
                                index_names: self.p.tensor(t).index_names.clone(),
                            });
                            let at = match domain {
                                Domain::Dense => None,
                                Domain::Node => Some(At::Node(vars[0])),
                                Domain::Edge(_) => Some(At::Edge(vars[0])),
                            };
                            let g = usize::from(at.is_some());
                            let m = self.p.arena.intern(Node::Access {
                                tensor: mask,
                                at,
                                dense: vars[g..].to_vec(),
                            });
                            Some(Rhs::Expr(self.p.arena.mul(body, m)))
                        }
                        _ => None,
                    }
                }
            }
            e => self.expr(sc, &mut env, e).map(Rhs::Expr),
        };
        match rhs {
            Some(rhs) => {
                let body = match rhs {
                    Rhs::Expr(b) | Rhs::Softmax(b) => Some(b),
                    _ => None,
                };
                if let Some(b) = body {
                    for (li, v) in eq.indices.iter().zip(&vars) {
                        let free = self.p.arena.free_vars(b);
                        // What the user wrote decides: `x[n, f]^0` mentions `n` even though it
                        // simplifies to 1.
                        let mut written = Vec::new();
                        usages(&self.p, sc, &self.p.var(*v).name, &eq.rhs, &mut written);
                        if li.dim.is_none()
                            && !free.contains(v)
                            && written.is_empty()
                            && !matches!(li.index, ast::Index::Edge { .. })
                        {
                            self.err(
                                li.index.span(),
                                format!(
                                    "index `{}` does not occur freely on the right-hand side",
                                    self.p.var(*v).name
                                ),
                                "every element would be the same",
                            );
                        }
                    }
                }
                self.p.equations.push(Equation { lhs: t, vars, rhs });
                sc.define(name, Sym::Tensor(t));
            }
            None => sc.define(name, Sym::Poisoned),
        }
    }

    pub(super) fn loss(&mut self, sc: &mut BlockScope, loss: &ast::LossStmt) {
        if let Some((_, first)) = sc.loss {
            self.diags.push(
                Diagnostic::error(loss.span, "a model has one loss, and this is a second one")
                    .with_label("second loss")
                    .with_note(first, "the first loss is here")
                    .with_help("training minimises one scalar: keep one `loss` statement"),
            );
            return;
        }
        if !self.is_new(sc, &loss.name) {
            return;
        }
        sc.claim(&loss.name, Sym::Poisoned);
        if loss.func.name != "cross_entropy" || loss.args.len() != 3 {
            self.err(
                loss.span,
                "the loss must be `cross_entropy(logits, labels, mask)`",
                "",
            );
            return;
        }
        let mut ts = Vec::new();
        for a in &loss.args {
            match self.lookup_tensor(sc, a) {
                Some(Some(t)) => {
                    self.used.insert(t);
                    ts.push(t)
                }
                _ => return,
            }
        }
        let (logits, labels, mask) = (ts[0], ts[1], ts[2]);
        let lt = self.p.tensor(logits).clone();
        if lt.domain != Domain::Node || lt.dims.len() != 1 {
            self.err(
                loss.args[0].span,
                "the logits must be a node tensor `[n, k]`",
                "",
            );
            return;
        }
        match self.p.tensor(labels).role {
            Role::Labels { classes } => self.p.unify_dims(classes, lt.dims[0]),
            _ => {
                self.err(
                    loss.args[1].span,
                    format!("`{}` is not declared as `labels`", loss.args[1].name),
                    "",
                );
                return;
            }
        }
        if self.p.tensor(mask).role != Role::Mask {
            self.err(
                loss.args[2].span,
                format!("`{}` is not declared as `mask`", loss.args[2].name),
                "",
            );
            return;
        }
        let t = self.p.add_tensor(Tensor {
            name: sc.full(&loss.name.name),
            external: sc.full(&loss.name.name),
            domain: Domain::Dense,
            dims: vec![],
            external_shape: None,
            role: Role::Defined,
            index_names: vec![],
        });
        self.p.equations.push(Equation {
            lhs: t,
            vars: vec![],
            rhs: Rhs::CrossEntropy {
                logits,
                labels,
                mask,
            },
        });
        sc.define(&loss.name.name, Sym::Tensor(t));
        sc.loss = Some((t, loss.span));
    }
}

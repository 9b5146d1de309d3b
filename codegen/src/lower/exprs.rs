//! Expressions: constants, calls of element-wise functions, reductions and tensor reads, with
//! the index of every read checked against the tensor's domain and dimensions.

use super::*;

impl Lowerer {
    pub(super) fn const_arg(
        &mut self,
        sc: &BlockScope,
        e: &ast::Expr,
        what: &str,
    ) -> Option<Scalar> {
        match e {
            ast::Expr::Number(v, _) => Some(Scalar::lit(*v)),
            ast::Expr::Neg(inner, _) => match &**inner {
                ast::Expr::Number(v, _) => Some(Scalar::lit(-*v)),
                _ => {
                    self.err(
                        e.span(),
                        format!("{what} must be a number or a named constant"),
                        "",
                    );
                    None
                }
            },
            ast::Expr::Name(n) => match sc.syms.get(&n.name) {
                Some(Sym::Const(s)) => Some(*s),
                _ => {
                    self.err(
                        n.span,
                        format!("{what} must be a number or a named constant, and `{}` is not a constant", n.name),
                        "",
                    );
                    None
                }
            },
            _ => {
                self.err(
                    e.span(),
                    format!("{what} must be a number or a named constant"),
                    "",
                );
                None
            }
        }
    }

    pub(super) fn expr(&mut self, sc: &BlockScope, env: &mut Env, e: &ast::Expr) -> Option<ExprId> {
        match e {
            ast::Expr::Number(v, _) => Some(self.p.arena.num(*v)),
            ast::Expr::Name(n) => match sc.syms.get(&n.name) {
                Some(Sym::Const(s)) => Some(self.p.arena.scalar(*s)),
                Some(Sym::Dim(d)) => Some(self.p.arena.intern(Node::DimSize(*d))),
                Some(Sym::Tensor(t)) => {
                    let t = *t;
                    let tensor = self.p.tensor(t);
                    if tensor.domain == Domain::Dense && tensor.dims.is_empty() {
                        self.used.insert(t);
                        Some(self.p.arena.intern(Node::Access {
                            tensor: t,
                            at: None,
                            dense: vec![],
                        }))
                    } else {
                        self.err(
                            n.span,
                            format!(
                                "`{}` needs indices: it has {} axes",
                                n.name,
                                tensor.index_names.len()
                            ),
                            "",
                        );
                        None
                    }
                }
                Some(Sym::Poisoned) => None,
                None => {
                    let msg = if env.get(&n.name).is_some() {
                        format!(
                            "`{}` is an index; an index can only be used inside brackets",
                            n.name
                        )
                    } else {
                        format!("unknown name `{}`", n.name)
                    };
                    self.err(n.span, msg, "");
                    None
                }
            },
            ast::Expr::Access {
                name,
                indices,
                span,
            } => self.access(sc, env, name, indices, *span),
            ast::Expr::Binary { op, lhs, rhs, .. } => {
                let a = self.expr(sc, env, lhs);
                let b = self.expr(sc, env, rhs);
                let (a, b) = (a?, b?);
                let ar = &mut self.p.arena;
                Some(match op {
                    ast::BinOp::Add => ar.add(a, b),
                    ast::BinOp::Sub => ar.sub(a, b),
                    ast::BinOp::Mul => ar.mul(a, b),
                    ast::BinOp::Div => ar.div(a, b),
                })
            }
            ast::Expr::Neg(a, _) => {
                let a = self.expr(sc, env, a)?;
                Some(self.p.arena.neg(a))
            }
            ast::Expr::Pow { base, exponent, .. } => {
                let a = self.expr(sc, env, base)?;
                Some(self.p.arena.pow(a, Scalar::lit(*exponent)))
            }
            ast::Expr::Call { func, args, span } => self.call_expr(sc, env, func, args, *span),
            ast::Expr::Reduce {
                op,
                binder,
                body,
                span,
            } => self.reduce(sc, env, *op, binder, body, *span),
        }
    }

    pub(super) fn call_expr(
        &mut self,
        sc: &BlockScope,
        env: &mut Env,
        func: &ast::Ident,
        args: &[ast::Expr],
        span: Span,
    ) -> Option<ExprId> {
        // Lowered first, so that a wrong call still reports errors in its argument and counts
        // as a use of the tensors it reads.
        let x = args.first().map(|a| self.expr(sc, env, a));
        let Some(f) = Func::from_user_name(&func.name) else {
            let msg = match func.name.as_str() {
                "dropout" => "dropout must be the whole right-hand side of an equation: `h[n, f] = dropout(x[n, f], p);`".to_string(),
                "cross_entropy" => "cross_entropy is a loss statement of a model: `loss = cross_entropy(out, y, mask);`".to_string(),
                _ => format!("unknown function `{}`", func.name),
            };
            self.diags.push(
                Diagnostic::error(func.span, msg)
                    .with_help(format!("functions: {}", primitives::help_list())),
            );
            return None;
        };
        let prim = f.primitive();
        let arity = prim.arity();
        let default = prim.arg.and_then(|a| a.default);
        let ok_count = args.len() == arity || (default.is_some() && args.len() == 1);
        if !ok_count || args.is_empty() {
            let help = match prim.arg {
                Some(ConstArg {
                    name,
                    default: Some(v),
                }) => format!(
                    "call it as `{}`, or `{}(x)` for {name} = {v}",
                    prim.call_syntax(),
                    prim.name
                ),
                _ => format!("call it as `{}`", prim.call_syntax()),
            };
            self.diags.push(
                Diagnostic::error(
                    span,
                    format!(
                        "`{}` takes {} argument(s), {} given",
                        func.name,
                        arity,
                        args.len()
                    ),
                )
                .with_help(help),
            );
            return None;
        }
        let x = x.flatten();
        let arg = if arity == 2 {
            match args.get(1) {
                Some(a) => Some(self.const_arg(
                    sc,
                    a,
                    &format!("the second argument of `{}`", func.name),
                )?),
                None => default.map(Scalar::lit),
            }
        } else {
            None
        };
        Some(self.p.arena.call(f, x?, arg))
    }

    pub(super) fn reduce(
        &mut self,
        sc: &BlockScope,
        env: &mut Env,
        op: ast::ReduceOp,
        binder: &ast::Binder,
        body: &ast::Expr,
        span: Span,
    ) -> Option<ExprId> {
        let rop = match op {
            ast::ReduceOp::Sum => ReduceOp::Sum,
            ast::ReduceOp::Mean => ReduceOp::Mean,
            ast::ReduceOp::Softmax => {
                self.diags.push(
                    Diagnostic::error(
                        span,
                        "softmax must be the whole right-hand side of an edge equation",
                    )
                    .with_label("nested softmax")
                    .with_help("define it on its own: `a[i <- j, h] = softmax_j s[i <- j, h];`"),
                );
                return None;
            }
        };
        match binder {
            ast::Binder::Vars(names) => {
                let (first, rest) = names.split_first()?;
                if env.get(&first.name).is_some() {
                    self.err(
                        first.span,
                        format!("index `{}` is already bound here", first.name),
                        "choose another name",
                    );
                    return None;
                }
                let usage = usage_of(&self.p, sc, &first.name, body);
                let (binding, range, mark_node) = match usage {
                    Some(Usage::Dense(d)) => {
                        let v = self.p.add_var(&first.name, VarKind::Dense(d));
                        (Binding::Dense(v, d), Range::Dense(v), false)
                    }
                    Some(Usage::Node) => {
                        if env.node_ctx || env.edge.is_some() {
                            self.err(
                                first.span,
                                format!("`{}` over all nodes is only allowed where no node or edge index is in scope", first.name),
                                "",
                            );
                            return None;
                        }
                        let v = self.p.add_var(&first.name, VarKind::Node);
                        (Binding::Node(At::Node(v)), Range::AllNodes(v), true)
                    }
                    // The body reads something broken (already reported): its range is unknown.
                    None if mentions_broken(sc, body) => return None,
                    None => {
                        self.err(
                            first.span,
                            format!("the reduction over `{}` does nothing: `{}` does not occur in its body", first.name, first.name),
                            "index not used",
                        );
                        return None;
                    }
                };
                env.names.push((first.name.clone(), binding));
                let saved = env.node_ctx;
                env.node_ctx |= mark_node;
                let inner = if rest.is_empty() {
                    self.expr(sc, env, body)
                } else {
                    self.reduce(sc, env, op, &ast::Binder::Vars(rest.to_vec()), body, span)
                };
                env.node_ctx = saved;
                env.names.pop();
                Some(self.p.arena.reduce(rop, range, inner?))
            }
            ast::Binder::InEdges { source, target } => {
                let Some(target) = target else {
                    self.err(span, "write the neighbourhood as `sum_{j -> i}`", "");
                    return None;
                };
                let of = match env.get(&target.name) {
                    Some(Binding::Node(At::Node(v))) if env.edge.is_none() => At::Node(v),
                    Some(Binding::Node(_)) => {
                        self.diags.push(
                            Diagnostic::error(target.span, "a neighbourhood reduction inside an edge equation is not supported")
                                .with_help("compute it as a node tensor first, then read that tensor here"),
                        );
                        return None;
                    }
                    Some(Binding::Dense(..)) => {
                        self.err(
                            target.span,
                            format!("`{}` is a dense index, not a node", target.name),
                            "",
                        );
                        return None;
                    }
                    Some(Binding::Unknown) => return None,
                    None => {
                        self.err(
                            target.span,
                            format!(
                                "free index `{}` is not bound on the left-hand side",
                                target.name
                            ),
                            "",
                        );
                        return None;
                    }
                };
                if env.get(&source.name).is_some() {
                    self.err(
                        source.span,
                        format!("index `{}` is already bound here", source.name),
                        "choose another name",
                    );
                    return None;
                }
                let e = env.bind_edge(&mut self.p, &target.name, &source.name, sc.graph);
                let inner = self.expr(sc, env, body);
                env.edge = None;
                env.names.pop();
                env.names.pop();
                Some(
                    self.p
                        .arena
                        .reduce(rop, Range::InEdges { edge: e, of }, inner?),
                )
            }
        }
    }

    pub(super) fn access(
        &mut self,
        sc: &BlockScope,
        env: &mut Env,
        name: &ast::Ident,
        indices: &[ast::Index],
        span: Span,
    ) -> Option<ExprId> {
        let t = self.lookup_tensor(sc, name)??;
        self.used.insert(t);
        let tensor = self.p.tensor(t).clone();
        let g = usize::from(tensor.domain != Domain::Dense);
        if indices.len() != g + tensor.dims.len() {
            self.diags.push(
                Diagnostic::error(
                    span,
                    format!(
                        "`{}` has {} ({}) but {} given",
                        name.name,
                        plural(g + tensor.dims.len(), "index", "indices"),
                        tensor.index_names.join(", "),
                        plural(indices.len(), "is", "are")
                    ),
                )
                .with_label("wrong number of indices"),
            );
            return None;
        }
        let mut ok = true;
        let at = match tensor.domain {
            Domain::Dense => None,
            Domain::Node => match &indices[0] {
                ast::Index::Var(v) => match env.get(&v.name) {
                    Some(Binding::Node(at)) => Some(at),
                    Some(Binding::Unknown) => return None,
                    Some(Binding::Dense(_, d)) => {
                        self.err(
                            v.span,
                            format!(
                                "`{}` ranges over {}, but the first index of `{}` is a node",
                                v.name,
                                self.dim_name(d),
                                name.name
                            ),
                            "dense index in a node position",
                        );
                        None
                    }
                    None => {
                        self.free_index_error(v);
                        None
                    }
                },
                ast::Index::Edge { span, .. } => {
                    self.err(
                        *span,
                        format!("`{}` is indexed by node, not by edge", name.name),
                        "write a node index such as `i` or `j`",
                    );
                    None
                }
            },
            Domain::Edge(graph) => match &indices[0] {
                ast::Index::Edge {
                    target,
                    source,
                    span,
                } => match &env.edge {
                    None => {
                        self.diags.push(
                            Diagnostic::error(
                                *span,
                                format!(
                                    "edge tensor `{}` can only be read in an edge equation or inside `sum_{{j -> i}}`",
                                    name.name
                                ),
                            )
                            .with_label("no edge in scope"),
                        );
                        None
                    }
                    Some(ctx) if ctx.target != target.name || ctx.source != source.name => {
                        self.err(
                            *span,
                            format!(
                                "the edge in scope is `{} <- {}`; other edges cannot be read here",
                                ctx.target, ctx.source
                            ),
                            "not the edge in scope",
                        );
                        None
                    }
                    Some(ctx) if ctx.graph != graph => {
                        self.err(
                            *span,
                            format!(
                                "`{}` lives on a different graph (with or without self loops)",
                                name.name
                            ),
                            "",
                        );
                        None
                    }
                    Some(ctx) => Some(At::Edge(ctx.var)),
                },
                other => {
                    self.err(
                        other.span(),
                        format!(
                            "`{}` is indexed by edge: write `{}[i <- j, ...]`",
                            name.name, name.name
                        ),
                        "expected an edge index",
                    );
                    None
                }
            },
        };
        if g == 1 && at.is_none() {
            ok = false;
        }
        let mut dense = Vec::new();
        for (k, (ix, d)) in indices[g..].iter().zip(&tensor.dims).enumerate() {
            match ix {
                ast::Index::Var(v) => match env.get(&v.name) {
                    Some(Binding::Unknown) => return None,
                    Some(Binding::Dense(var, vd)) => {
                        if self.p.dim_root(vd) != self.p.dim_root(*d) {
                            self.err(
                                v.span,
                                format!(
                                    "dimension mismatch: `{}` ranges over {}, but axis {} of `{}` has dimension {}",
                                    v.name,
                                    self.dim_name(vd),
                                    k + g + 1,
                                    name.name,
                                    self.dim_name(*d)
                                ),
                                "",
                            );
                            ok = false;
                        } else if dense.contains(&var) {
                            self.err(v.span, format!("index `{}` appears twice in one access; diagonals are not supported", v.name), "");
                            ok = false;
                        }
                        dense.push(var);
                    }
                    Some(Binding::Node(_)) => {
                        self.err(
                            v.span,
                            format!(
                                "`{}` is a node index, but axis {} of `{}` is dense ({})",
                                v.name,
                                k + g + 1,
                                name.name,
                                self.dim_name(*d)
                            ),
                            "",
                        );
                        ok = false;
                    }
                    None => {
                        self.free_index_error(v);
                        ok = false;
                    }
                },
                ast::Index::Edge { span, .. } => {
                    self.err(*span, "an edge index can only be the first index", "");
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        Some(self.p.arena.intern(Node::Access {
            tensor: t,
            at,
            dense,
        }))
    }

    pub(super) fn free_index_error(&mut self, v: &ast::Ident) {
        self.diags.push(
            Diagnostic::error(
                v.span,
                format!(
                    "free index `{}` is not bound on the left-hand side or by a reduction",
                    v.name
                ),
            )
            .with_label("unbound index")
            .with_help(format!(
                "add `{}` to the left-hand side, or sum over it with `sum_{}`",
                v.name, v.name
            )),
        );
    }

    pub(super) fn dim_name(&self, d: DimId) -> String {
        self.p.dims[d.index()].name.clone()
    }
}

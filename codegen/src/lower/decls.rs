//! Declarations: dimensions, tensors (inputs, parameters, dropout masks, labels) and the lookup
//! of a declared tensor by name.

use super::*;

impl Lowerer {
    pub(super) fn dim(&mut self, sc: &BlockScope, name: &ast::Ident) -> Option<DimId> {
        match sc.syms.get(&name.name) {
            Some(Sym::Dim(d)) => Some(*d),
            _ => {
                self.diags.push(
                    Diagnostic::error(name.span, format!("unknown dimension `{}`", name.name))
                        .with_label("not declared")
                        .with_help(format!("declare it with `dims {};`", name.name)),
                );
                None
            }
        }
    }

    pub(super) fn decl(
        &mut self,
        sc: &mut BlockScope,
        d: &ast::TensorDecl,
        bind: Option<(TensorId, Span)>,
    ) {
        let name = &d.name.name;
        if !self.is_new(sc, &d.name) {
            return;
        }
        sc.claim(&d.name, Sym::Poisoned);
        let mut domain = Domain::Dense;
        let mut dims = Vec::new();
        let mut index_names = Vec::new();
        let mut ok = true;
        // Each index name once: `x[n: node, n: F]` would print `x[n, n]`.
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for axis in &d.axes {
            let names: Vec<&ast::Ident> = match axis {
                ast::AxisDecl::Node(n) => vec![n],
                ast::AxisDecl::Edge { target, source } => vec![target, source],
                ast::AxisDecl::Dense { index, .. } => vec![index],
            };
            for n in names {
                if let Some(&first) = seen.get(n.name.as_str()) {
                    self.diags.push(
                        Diagnostic::error(
                            n.span,
                            format!("index `{}` names two axes of `{name}`", n.name),
                        )
                        .with_label("second axis with this name")
                        .with_note(first, "first used here"),
                    );
                    ok = false;
                } else {
                    seen.insert(&n.name, n.span);
                }
            }
        }
        for (k, axis) in d.axes.iter().enumerate() {
            match axis {
                ast::AxisDecl::Node(n) | ast::AxisDecl::Edge { target: n, .. } if k > 0 => {
                    self.err(
                        n.span,
                        "only the first axis of a tensor can be a node or edge axis",
                        "graph axis in a later position",
                    );
                    ok = false;
                }
                ast::AxisDecl::Node(n) => {
                    domain = Domain::Node;
                    index_names.push(n.name.clone());
                }
                ast::AxisDecl::Edge { target, source } => {
                    domain = Domain::Edge(sc.graph);
                    index_names.push(format!("{} <- {}", target.name, source.name));
                }
                ast::AxisDecl::Dense { index, dim } => {
                    index_names.push(index.name.clone());
                    match self.dim(sc, dim) {
                        Some(id) => dims.push(id),
                        None => ok = false,
                    }
                }
            }
        }
        let kind_word = match d.kind {
            ast::TensorKind::Input => "input",
            ast::TensorKind::Param => "parameter",
            ast::TensorKind::Labels => "labels",
            ast::TensorKind::Mask => "mask",
        };
        match d.kind {
            ast::TensorKind::Param if domain != Domain::Dense => {
                self.err(
                    d.span,
                    format!("parameter `{name}` cannot be indexed by node or edge"),
                    "parameters have dense axes only",
                );
                ok = false;
            }
            ast::TensorKind::Labels | ast::TensorKind::Mask
                if domain != Domain::Node || !dims.is_empty() =>
            {
                self.err(
                    d.span,
                    format!("{kind_word} `{name}` must be declared as `{name}[n: node]`"),
                    "one value per node",
                );
                ok = false;
            }
            _ => {}
        }
        let role = match d.kind {
            ast::TensorKind::Input => Role::Input,
            ast::TensorKind::Param => Role::Param,
            ast::TensorKind::Mask => Role::Mask,
            ast::TensorKind::Labels => match &d.classes {
                Some(c) => match self.dim(sc, c) {
                    Some(k) => Role::Labels { classes: k },
                    None => {
                        ok = false;
                        Role::Mask
                    }
                },
                None => {
                    self.err(
                        d.span,
                        format!("labels `{name}` need their class count: `classes K`"),
                        "",
                    );
                    ok = false;
                    Role::Mask
                }
            },
        };
        let external_shape = match &d.external_shape {
            None => None,
            Some(groups) => {
                let (out, resolved) = self.dim_groups(sc, groups);
                ok &= resolved;
                let flat: Vec<DimId> = out.iter().flatten().copied().collect();
                let span = d
                    .external_node
                    .or(groups.first().map(|g| g.span))
                    .unwrap_or(d.span)
                    .join(groups.last().map(|g| g.span).unwrap_or(d.span));
                let problem = match (domain, d.external_node) {
                    (Domain::Dense, None) | (Domain::Node, Some(_)) if flat == dims => None,
                    (Domain::Dense, None) => Some((
                        format!(
                            "the file shape of `{name}` must list its dense dimensions in order"
                        ),
                        "does not match the declared axes",
                        "e.g. `param W[h: H, c: C, f: F] as \"lin.weight\" [H*C, F];`",
                    )),
                    (Domain::Node, Some(_)) => Some((
                        format!(
                            "the file shape of `{name}` must list its dense dimensions in order \
                             after `node`"
                        ),
                        "does not match the declared axes",
                        "e.g. `input x[n: node, h: H, c: C] as \"x\" [node, H*C];`",
                    )),
                    (Domain::Node, None) => Some((
                        format!("the file shape of node tensor `{name}` must start with `node`"),
                        "no node axis",
                        "write the node axis first: `[node, H*C]`",
                    )),
                    (Domain::Dense, Some(_)) => Some((
                        format!("`{name}` has no node axis, but its file shape starts with `node`"),
                        "not a node tensor",
                        "remove `node` from the file shape, or declare a node axis `n: node`",
                    )),
                    (Domain::Edge(_), _) => Some((
                        format!("edge tensor `{name}` cannot have a file shape"),
                        "edge tensors are stored as [E, dense axes]",
                        "remove the bracket list after the name",
                    )),
                };
                if let (true, Some((msg, label, help))) = (ok, problem) {
                    self.diags.push(
                        Diagnostic::error(span, msg)
                            .with_label(label)
                            .with_help(help),
                    );
                    ok = false;
                }
                Some(out)
            }
        };
        let init = match self.init_decl(d) {
            Ok(init) => init,
            Err(()) => {
                ok = false;
                None
            }
        };
        if !ok {
            sc.define(name, Sym::Poisoned);
            return;
        }
        if let Some((t, span)) = bind {
            let given = self.p.tensor(t).clone();
            let kinds = self.p.graphs.clone();
            let loops = |g: GraphId| kinds[g.index()] == GraphKind::SelfLoops;
            // An edge tensor of the raw graph passed to a layer with `self_loops;` gets the loop
            // features PyG's `fill_value="mean"` gives them, as a declared edge input does.
            let fill = match (given.domain, domain) {
                (Domain::Node, Domain::Node) => false,
                (Domain::Edge(a), Domain::Edge(b)) if a == b => false,
                (Domain::Edge(a), Domain::Edge(b)) if !loops(a) && loops(b) => true,
                (Domain::Edge(_), Domain::Edge(_)) => {
                    self.err(
                        span,
                        format!(
                            "`{}` has the self loops of its block, but layer `{}` has no \
                             `self_loops;`: pass edge features of the graph as given",
                            given.name, sc.block
                        ),
                        "edge tensor of the self-loop graph",
                    );
                    sc.define(name, Sym::Poisoned);
                    return;
                }
                _ => {
                    let kind = |d: Domain| match d {
                        Domain::Node => "a node tensor",
                        Domain::Edge(_) => "an edge tensor",
                        Domain::Dense => "a dense tensor",
                    };
                    self.err(
                        span,
                        format!(
                            "input `{name}` of layer `{}` is {}, but `{}` is {}",
                            sc.block,
                            kind(domain),
                            given.name,
                            kind(given.domain)
                        ),
                        "layer inputs passed in a call must be node or edge tensors like the input",
                    );
                    sc.define(name, Sym::Poisoned);
                    return;
                }
            };
            if given.dims.len() != dims.len() {
                self.err(
                    span,
                    format!(
                        "`{}` has {} dense axes but input `{name}` of layer `{}` has {}",
                        given.name,
                        given.dims.len(),
                        sc.block,
                        dims.len()
                    ),
                    "rank mismatch",
                );
                sc.define(name, Sym::Poisoned);
                return;
            }
            for (a, b) in given.dims.iter().zip(&dims) {
                self.p.unify_dims(*a, *b);
            }
            self.used.insert(t);
            if fill {
                let filled = match self.loop_fills.get(&t) {
                    Some(&f) => f,
                    None => {
                        let filled_name = generated_name("loops", &given.name);
                        let f = self.loop_filled(filled_name, t, domain, &dims, index_names);
                        self.loop_fills.insert(t, f);
                        f
                    }
                };
                sc.define(name, Sym::Tensor(filled));
            } else {
                sc.define(name, Sym::Tensor(t));
            }
            return;
        }
        let external = sc.full(
            d.external
                .as_ref()
                .map(|s| s.value.as_str())
                .unwrap_or(name),
        );
        let raw_graph = self.p.graph(GraphKind::Raw);
        let loops =
            matches!(domain, Domain::Edge(g) if self.p.graphs[g.index()] == GraphKind::SelfLoops);
        let t = self.p.add_tensor(Tensor {
            name: sc.full(name),
            external,
            domain: if loops {
                Domain::Edge(raw_graph)
            } else {
                domain
            },
            dims: dims.clone(),
            external_shape,
            role,
            index_names: index_names.clone(),
        });
        if matches!(d.kind, ast::TensorKind::Input | ast::TensorKind::Param) {
            self.decls.push((t, d.name.span, kind_word));
        }
        if let Some(init) = init {
            self.p.inits.push((t, init));
        }
        let file_span = d.external.as_ref().map(|e| e.span).unwrap_or(d.name.span);
        self.externals.push((t, file_span));
        if loops {
            // Edge features given on the raw graph; the layer reads them on the self-loop graph.
            let filled_name = sc.full(&generated_name("loops", name));
            let filled = self.loop_filled(filled_name, t, domain, &dims, index_names);
            self.used.insert(t);
            self.decls.retain(|(x, _, _)| *x != t);
            self.decls.push((filled, d.name.span, kind_word));
            sc.define(name, Sym::Tensor(filled));
        } else {
            sc.define(name, Sym::Tensor(t));
        }
    }

    /// The tensor `name` of the self-loop graph `domain` that PyG's self-loop rule makes from
    /// the raw-graph edge tensor `raw` (its loops get the mean feature of their in-edges).
    fn loop_filled(
        &mut self,
        name: String,
        raw: TensorId,
        domain: Domain,
        dims: &[DimId],
        index_names: Vec<String>,
    ) -> TensorId {
        let filled = self.p.add_tensor(Tensor {
            name: name.clone(),
            external: name,
            domain,
            dims: dims.to_vec(),
            external_shape: None,
            role: Role::Defined,
            index_names,
        });
        let vars = self.vars_for(filled);
        self.p.equations.push(Equation {
            lhs: filled,
            vars,
            rhs: Rhs::LoopFill(raw),
        });
        filled
    }

    /// Fresh variables for every axis of a tensor, named after its index names.
    pub(super) fn vars_for(&mut self, t: TensorId) -> Vec<VarId> {
        crate::diff::fresh_vars(&mut self.p, t)
    }

    pub(super) fn lookup_tensor(
        &mut self,
        sc: &BlockScope,
        name: &ast::Ident,
    ) -> Option<Option<TensorId>> {
        match sc.syms.get(&name.name) {
            Some(Sym::Tensor(t)) => Some(Some(*t)),
            Some(Sym::Poisoned) => Some(None),
            Some(Sym::Dim(_)) => {
                self.err(
                    name.span,
                    format!("`{}` is a dimension, not a tensor", name.name),
                    "",
                );
                None
            }
            Some(Sym::Const(_)) => {
                self.err(
                    name.span,
                    format!("`{}` is a constant, not a tensor", name.name),
                    "",
                );
                None
            }
            None => {
                self.diags.push(
                    Diagnostic::error(name.span, format!("unknown tensor `{}`", name.name))
                        .with_label(format!("not declared or defined above in `{}`", sc.block)),
                );
                None
            }
        }
    }
}

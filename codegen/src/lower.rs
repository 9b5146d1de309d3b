//! Checking and lowering: syntax tree → [`Program`]. Every problem becomes a [`Diagnostic`] with the
//! span of the offending text; lowering goes on after an error so that one run reports all of them.

use crate::ir::*;
use crate::primitives::{self, ConstArg};
use gatgrad_grammar::ast::{self, Span};
use gatgrad_grammar::Diagnostic;
use std::collections::{HashMap, HashSet};

/// The result of [`lower`]: a program when there were no errors, and every diagnostic found.
#[derive(Debug)]
pub struct Lowered {
    /// The entry layer or model, lowered, if the file has no errors.
    pub program: Option<Program>,
    /// Errors and warnings in source order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks a parsed file and lowers its entry point (its `model`, else its last `layer`).
pub fn lower(file: &ast::File) -> Lowered {
    let mut l = Lowerer::default();
    let mut blocks: HashMap<String, &ast::Block> = HashMap::new();
    for b in &file.blocks {
        if let Some(first) = blocks.get(&b.name.name) {
            l.twice(
                b.name.span,
                first.name.span,
                format!("`{}` is defined twice in this file", b.name.name),
            );
            continue;
        }
        blocks.insert(b.name.name.clone(), b);
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for c in &b.consts {
            if let Some(&first) = seen.get(c.name.name.as_str()) {
                l.twice(
                    c.name.span,
                    first,
                    format!(
                        "constant `{}` is declared twice in `{}`",
                        c.name.name, b.name.name
                    ),
                );
            } else {
                seen.insert(&c.name.name, c.name.span);
            }
        }
    }
    let models: Vec<&ast::Block> = file
        .blocks
        .iter()
        .filter(|b| b.kind == ast::BlockKind::Model)
        .collect();
    if models.len() > 1 {
        l.twice(
            models[1].name.span,
            models[0].name.span,
            "a file may hold at most one `model`",
        );
    }
    let entry = match models.first().copied().or(file.blocks.last()) {
        Some(b) => b,
        None => {
            l.diags.push(Diagnostic::error(
                Span::new(0, 0),
                "the file defines no `layer` and no `model`",
            ));
            return l.finish(None);
        }
    };
    l.p.name = entry.name.name.clone();
    let mut sc = Scope::new(String::new(), entry, &mut l.p);
    if entry.kind == ast::BlockKind::Model {
        sc.layers = blocks
            .iter()
            .filter(|(_, b)| b.kind == ast::BlockKind::Layer)
            .map(|(k, b)| (k.clone(), (*b).clone()))
            .collect();
    }
    for c in &entry.consts {
        if sc.syms.contains_key(&c.name.name) {
            continue; // declared twice: reported above
        }
        let id = l.add_scalar(&c.name.name, c.default);
        sc.claim(&c.name, Sym::Const(Scalar::Named(id)));
    }
    let out = l.block(&mut sc, entry, None);
    if let Some(out) = out {
        l.p.output = out;
        l.p.attention = sc.attention;
    }
    l.p.loss = sc.loss.map(|(t, _)| t);
    l.unused_warnings();
    l.external_clashes();
    let ok = out.is_some();
    l.finish(if ok { Some(()) } else { None })
}

#[derive(Clone, Debug)]
enum Sym {
    Dim(DimId),
    Const(Scalar),
    Tensor(TensorId),
    /// A name whose definition failed: uses stay silent to avoid cascades.
    Poisoned,
}

struct Scope {
    prefix: String,
    block: String,
    is_model: bool,
    graph: GraphId,
    syms: HashMap<String, Sym>,
    /// Where each name in `syms` was first defined (for "first defined here" notes).
    defined_at: HashMap<String, Span>,
    layers: HashMap<String, ast::Block>,
    attention: Option<TensorId>,
    /// The loss and its statement.
    loss: Option<(TensorId, Span)>,
    /// Instance prefixes of the layer calls so far, and where each was used.
    prefixes: HashMap<String, Span>,
}

impl Scope {
    fn new(prefix: String, block: &ast::Block, p: &mut Program) -> Scope {
        let loops = block
            .stmts
            .iter()
            .any(|s| matches!(s, ast::Stmt::SelfLoops(_)));
        let graph = p.graph(if loops {
            GraphKind::SelfLoops
        } else {
            GraphKind::Raw
        });
        Scope {
            prefix,
            block: block.name.name.clone(),
            is_model: block.kind == ast::BlockKind::Model,
            graph,
            syms: HashMap::new(),
            defined_at: HashMap::new(),
            layers: HashMap::new(),
            attention: None,
            loss: None,
            prefixes: HashMap::new(),
        }
    }
    /// Sets what a name already claimed (see [`Scope::claim`]) stands for.
    fn define(&mut self, name: &str, sym: Sym) {
        self.syms.insert(name.to_string(), sym);
    }
    /// Defines a new name, remembering where.
    fn claim(&mut self, name: &ast::Ident, sym: Sym) {
        self.defined_at.insert(name.name.clone(), name.span);
        self.define(&name.name, sym);
    }
    fn full(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }
}

/// How an index name is bound while lowering an expression.
#[derive(Clone, Copy, Debug)]
enum Binding {
    Dense(VarId, DimId),
    Node(At),
    /// An index whose range could not be inferred because the right-hand side already has an
    /// error; reads using it stay silent.
    Unknown,
}

#[derive(Clone, Debug)]
struct EdgeCtx {
    var: VarId,
    target: String,
    source: String,
    graph: GraphId,
}

#[derive(Clone, Debug, Default)]
struct Env {
    names: Vec<(String, Binding)>,
    edge: Option<EdgeCtx>,
    /// A node variable is in scope (node equation or `sum_n`).
    node_ctx: bool,
}

impl Env {
    fn get(&self, name: &str) -> Option<Binding> {
        self.names
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| *b)
    }
}

/// How a free index is used in an expression (to infer what it ranges over).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Usage {
    Node,
    Dense(DimId),
}

#[derive(Default)]
struct Lowerer {
    p: Program,
    diags: Vec<Diagnostic>,
    used: HashSet<TensorId>,
    decls: Vec<(TensorId, Span, &'static str)>,
    /// Every tensor read from files, with the span of its file name (`as "..."`, else its name).
    externals: Vec<(TensorId, Span)>,
}

/// What a layer call binds: the model tensors passed as inputs (`None`: one that is broken), and
/// the layer name in the call.
struct CallSite<'a> {
    inputs: &'a [(Option<TensorId>, Span)],
    layer: &'a ast::Ident,
}

impl Lowerer {
    fn finish(mut self, ok: Option<()>) -> Lowered {
        self.diags.sort_by_key(|d| (d.span.start, d.is_error()));
        // A layer called twice reports a mistake in its text once.
        self.diags.dedup();
        let has_errors = self.diags.iter().any(|d| d.is_error());
        Lowered {
            program: if has_errors || ok.is_none() {
                None
            } else {
                Some(self.p)
            },
            diagnostics: self.diags,
        }
    }

    fn err(&mut self, span: Span, msg: impl Into<String>, label: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(span, msg).with_label(label));
    }

    /// An error at `span` about something `first` already did, with a note pointing there.
    fn twice(&mut self, span: Span, first: Span, msg: impl Into<String>) {
        self.diags.push(
            Diagnostic::error(span, msg)
                .with_label("second definition")
                .with_note(first, "first defined here"),
        );
    }

    /// Reports `name` as defined twice when it is; true when it is new.
    fn is_new(&mut self, sc: &Scope, name: &ast::Ident) -> bool {
        if !sc.syms.contains_key(&name.name) {
            return true;
        }
        let first = sc.defined_at.get(&name.name).copied();
        let d = Diagnostic::error(name.span, format!("`{}` is already defined", name.name))
            .with_label("second definition");
        self.diags.push(match first {
            Some(f) => d.with_note(f, "first defined here"),
            None => d,
        });
        false
    }

    /// A layer call passes no tensor for input `decl` of `block`.
    fn missing_input(&mut self, block: &ast::Block, call: &CallSite, decl: &ast::TensorDecl) {
        let takes = block
            .stmts
            .iter()
            .filter(|s| matches!(s, ast::Stmt::Tensor(d) if d.kind == ast::TensorKind::Input))
            .count();
        let name = &decl.name.name;
        self.diags.push(
            Diagnostic::error(
                call.layer.span,
                format!(
                    "layer `{}` takes {} but the call passes {}",
                    block.name.name,
                    plural(takes, "input", "inputs"),
                    call.inputs.len()
                ),
            )
            .with_label(format!("no tensor for input `{name}`"))
            .with_note(decl.name.span, format!("input `{name}` is declared here")),
        );
    }

    /// Two tensors read from (or whose gradients are written to) the same file tensor.
    fn external_clashes(&mut self) {
        let mut seen: HashMap<String, (TensorId, Span)> = HashMap::new();
        for (t, span) in std::mem::take(&mut self.externals) {
            let ext = self.p.tensor(t).external.clone();
            match seen.get(&ext) {
                Some(&(first, first_span)) => {
                    let (a, b) = (&self.p.tensor(first).name, &self.p.tensor(t).name);
                    self.diags.push(
                        Diagnostic::error(
                            span,
                            format!("`{b}` and `{a}` have the same name in files: `{ext}`"),
                        )
                        .with_label("second use of the name")
                        .with_note(first_span, format!("`{a}` is named `{ext}` here"))
                        .with_help("give each input and parameter its own name with `as \"...\"`"),
                    );
                }
                None => {
                    seen.insert(ext, (t, span));
                }
            }
        }
    }

    fn add_scalar(&mut self, name: &str, default: f64) -> ScalarId {
        self.p.scalars.push(NamedScalar {
            name: name.to_string(),
            default,
        });
        ScalarId(self.p.scalars.len() as u32 - 1)
    }

    fn unused_warnings(&mut self) {
        let mut seen = HashSet::new();
        let decls = std::mem::take(&mut self.decls);
        for (t, span, what) in decls {
            if !self.used.contains(&t) && seen.insert(span) {
                let name = self.p.tensor(t).name.clone();
                self.diags.push(
                    Diagnostic::warning(span, format!("{what} `{name}` is never used"))
                        .with_label("declared here"),
                );
            }
        }
    }

    /// Lowers the statements of a layer or model. `call` binds the layer's inputs (calls only).
    fn block(
        &mut self,
        sc: &mut Scope,
        block: &ast::Block,
        call: Option<&CallSite>,
    ) -> Option<TensorId> {
        let mut next_input = 0;
        let mut output = None;
        let mut output_at: Option<Span> = None;
        let mut attention_at: Option<Span> = None;
        let mut missing_reported = false;
        for stmt in &block.stmts {
            match stmt {
                ast::Stmt::Dims(decls) => {
                    for decl in decls {
                        let n = &decl.name;
                        if !self.is_new(sc, n) {
                            continue;
                        }
                        let d = self.p.add_dim(sc.full(&n.name));
                        self.p.dim_defaults[d.index()] = decl.default;
                        sc.claim(n, Sym::Dim(d));
                    }
                }
                ast::Stmt::SelfLoops(_) => {}
                ast::Stmt::Tensor(decl) => {
                    let bind = match call {
                        Some(c) if decl.kind == ast::TensorKind::Input => {
                            let b = c.inputs.get(next_input).copied();
                            next_input += 1;
                            if b.is_none() {
                                // One error per call, at the call; the other unbound inputs stay
                                // silent.
                                if !missing_reported {
                                    missing_reported = true;
                                    self.missing_input(block, c, decl);
                                }
                                if self.is_new(sc, &decl.name) {
                                    sc.claim(&decl.name, Sym::Poisoned);
                                }
                                continue;
                            }
                            match b {
                                Some((Some(t), span)) => Some((t, span)),
                                _ => {
                                    if self.is_new(sc, &decl.name) {
                                        sc.claim(&decl.name, Sym::Poisoned);
                                    }
                                    continue;
                                }
                            }
                        }
                        _ => None,
                    };
                    self.decl(sc, decl, bind);
                }
                ast::Stmt::Output(name) if output_at.is_some() => {
                    let first = output_at.unwrap_or(name.span);
                    self.diags.push(
                        Diagnostic::error(
                            name.span,
                            format!("`{}` has more than one `output` statement", block.name.name),
                        )
                        .with_label("second output")
                        .with_note(first, "the first output is here")
                        .with_help("a layer or model returns one tensor: keep one `output`"),
                    );
                }
                ast::Stmt::Attention(name) if attention_at.is_some() => {
                    let first = attention_at.unwrap_or(name.span);
                    self.diags.push(
                        Diagnostic::error(
                            name.span,
                            format!(
                                "`{}` has more than one `attention` statement",
                                block.name.name
                            ),
                        )
                        .with_label("second attention tensor")
                        .with_note(first, "the first is here")
                        .with_help("one attention tensor is reported as `alpha`: keep one"),
                    );
                }
                ast::Stmt::Output(name) => {
                    output_at = Some(name.span);
                    match sc.syms.get(&name.name) {
                        Some(Sym::Tensor(t)) => {
                            let t = *t;
                            self.used.insert(t);
                            if self.p.tensor(t).domain != Domain::Node {
                                self.err(
                                    name.span,
                                    format!("the output `{}` must be indexed by node", name.name),
                                    "not a node tensor",
                                );
                            } else {
                                output = Some(t);
                            }
                        }
                        Some(Sym::Poisoned) => {}
                        _ => self.err(
                            name.span,
                            format!("unknown tensor `{}`", name.name),
                            "nothing of that name is defined above",
                        ),
                    }
                }
                ast::Stmt::Attention(name) => {
                    attention_at = Some(name.span);
                    match sc.syms.get(&name.name) {
                        Some(Sym::Tensor(t))
                            if matches!(self.p.tensor(*t).domain, Domain::Edge(_)) =>
                        {
                            sc.attention = Some(*t);
                        }
                        Some(Sym::Poisoned) => {}
                        _ => self.err(
                            name.span,
                            format!("`{}` is not an edge tensor defined above", name.name),
                            "attention must name an edge tensor",
                        ),
                    }
                }
                ast::Stmt::Equation(eq) => self.equation(sc, eq),
                ast::Stmt::Call(call) => {
                    if !sc.is_model {
                        self.err(
                            call.span,
                            "layers can only be called inside a `model`",
                            "layer call in a layer",
                        );
                        continue;
                    }
                    self.call(sc, call);
                }
                ast::Stmt::Loss(loss) => {
                    if !sc.is_model {
                        self.err(
                            loss.span,
                            "a loss can only be declared inside a `model`",
                            "loss in a layer",
                        );
                        continue;
                    }
                    self.loss(sc, loss);
                }
            }
        }
        if let Some(c) = call.filter(|c| c.inputs.len() > next_input) {
            self.err(
                c.inputs[next_input].1,
                format!(
                    "layer `{}` takes {} but the call passes {}",
                    sc.block,
                    plural(next_input, "input", "inputs"),
                    c.inputs.len()
                ),
                "extra input",
            );
        }
        let has_output = block
            .stmts
            .iter()
            .any(|s| matches!(s, ast::Stmt::Output(_)));
        if !has_output {
            self.diags.push(
                Diagnostic::error(
                    block.name.span,
                    format!("`{}` never says which tensor it returns", block.name.name),
                )
                .with_label("no `output` statement")
                .with_help("add `output NAME;` naming the node tensor it computes"),
            );
        }
        output
    }

    fn dim(&mut self, sc: &Scope, name: &ast::Ident) -> Option<DimId> {
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

    fn decl(&mut self, sc: &mut Scope, d: &ast::TensorDecl, bind: Option<(TensorId, Span)>) {
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
                let mut out = Vec::new();
                for g in groups {
                    let mut ids = Vec::new();
                    for f in &g.factors {
                        match self.dim(sc, f) {
                            Some(id) => ids.push(id),
                            None => ok = false,
                        }
                    }
                    out.push(ids);
                }
                let flat: Vec<DimId> = out.iter().flatten().copied().collect();
                if ok && (domain != Domain::Dense || flat != dims) {
                    let span = groups
                        .first()
                        .map(|g| g.span)
                        .unwrap_or(d.span)
                        .join(groups.last().map(|g| g.span).unwrap_or(d.span));
                    self.diags.push(
                        Diagnostic::error(
                            span,
                            format!(
                                "the file shape of `{name}` must list its dense dimensions in order"
                            ),
                        )
                        .with_label("does not match the declared axes")
                        .with_help("e.g. `param W[h: H, c: C, f: F] as \"lin.weight\" [H*C, F];`"),
                    );
                    ok = false;
                }
                Some(out)
            }
        };
        if !ok {
            sc.define(name, Sym::Poisoned);
            return;
        }
        if let Some((t, span)) = bind {
            let given = self.p.tensor(t).clone();
            if given.domain != Domain::Node || domain != Domain::Node {
                self.err(
                    span,
                    "layer inputs passed in a call must be node tensors",
                    "not a node tensor",
                );
                sc.define(name, Sym::Poisoned);
                return;
            }
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
            sc.define(name, Sym::Tensor(t));
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
        let file_span = d.external.as_ref().map(|e| e.span).unwrap_or(d.name.span);
        self.externals.push((t, file_span));
        if loops {
            // Edge features given on the raw graph; the layer reads them on the self-loop graph.
            let filled = self.p.add_tensor(Tensor {
                name: sc.full(&generated_name("loops", name)),
                external: sc.full(&generated_name("loops", name)),
                domain,
                dims: dims.clone(),
                external_shape: None,
                role: Role::Defined,
                index_names,
            });
            let vars = self.vars_for(filled);
            self.p.equations.push(Equation {
                lhs: filled,
                vars,
                rhs: Rhs::LoopFill(t),
            });
            self.used.insert(t);
            self.decls.retain(|(x, _, _)| *x != t);
            self.decls.push((filled, d.name.span, kind_word));
            sc.define(name, Sym::Tensor(filled));
        } else {
            sc.define(name, Sym::Tensor(t));
        }
    }

    /// Fresh variables for every axis of a tensor, named after its index names.
    fn vars_for(&mut self, t: TensorId) -> Vec<VarId> {
        crate::diff::fresh_vars(&mut self.p, t)
    }

    fn lookup_tensor(&mut self, sc: &Scope, name: &ast::Ident) -> Option<Option<TensorId>> {
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

    fn equation(&mut self, sc: &mut Scope, eq: &ast::Equation) {
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
                    let e = self.p.add_edge_var(&target.name, &source.name, sc.graph);
                    domain = Domain::Edge(sc.graph);
                    env.names
                        .push((target.name.clone(), Binding::Node(At::Dst(e))));
                    env.names
                        .push((source.name.clone(), Binding::Node(At::Src(e))));
                    env.edge = Some(EdgeCtx {
                        var: e,
                        target: target.name.clone(),
                        source: source.name.clone(),
                        graph: sc.graph,
                    });
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

    fn const_arg(&mut self, sc: &Scope, e: &ast::Expr, what: &str) -> Option<Scalar> {
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

    fn expr(&mut self, sc: &Scope, env: &mut Env, e: &ast::Expr) -> Option<ExprId> {
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

    fn call_expr(
        &mut self,
        sc: &Scope,
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

    fn reduce(
        &mut self,
        sc: &Scope,
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
                let e = self.p.add_edge_var(&target.name, &source.name, sc.graph);
                env.names
                    .push((target.name.clone(), Binding::Node(At::Dst(e))));
                env.names
                    .push((source.name.clone(), Binding::Node(At::Src(e))));
                env.edge = Some(EdgeCtx {
                    var: e,
                    target: target.name.clone(),
                    source: source.name.clone(),
                    graph: sc.graph,
                });
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

    fn access(
        &mut self,
        sc: &Scope,
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

    fn free_index_error(&mut self, v: &ast::Ident) {
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

    fn dim_name(&self, d: DimId) -> String {
        self.p.dims[d.index()].name.clone()
    }

    fn call(&mut self, sc: &mut Scope, call: &ast::LayerCall) {
        let lhs = &call.lhs.name;
        if !self.is_new(sc, &call.lhs) {
            return;
        }
        sc.claim(&call.lhs, Sym::Poisoned);
        // Each call has its own prefix: two instances under one prefix would share parameters
        // and files by accident.
        if let Some(&first) = sc.prefixes.get(&call.prefix.name) {
            self.diags.push(
                Diagnostic::error(
                    call.prefix.span,
                    format!(
                        "the prefix `{}` is used by two layer calls",
                        call.prefix.name
                    ),
                )
                .with_label("second call with this prefix")
                .with_note(first, "first used here")
                .with_help("give each layer call its own prefix: `h2[n, d] = conv2: ...`"),
            );
            return;
        }
        sc.prefixes
            .insert(call.prefix.name.clone(), call.prefix.span);
        let Some(layer) = sc.layers.get(&call.layer.name).cloned() else {
            self.err(
                call.layer.span,
                format!("unknown layer `{}`", call.layer.name),
                "no layer of that name in this file",
            );
            sc.define(lhs, Sym::Poisoned);
            return;
        };
        let mut inputs = Vec::new();
        for i in &call.inputs {
            // An input that is unknown (reported here) or broken (reported where it is defined)
            // leaves that input of the layer silent; the rest of the layer is still checked.
            match self.lookup_tensor(sc, i) {
                Some(Some(t)) => inputs.push((Some(t), i.span)),
                _ => inputs.push((None, i.span)),
            }
        }
        let prefix = format!("{}{}.", sc.prefix, call.prefix.name);
        let mut inner = Scope::new(prefix, &layer, &mut self.p);
        let mut given: HashMap<&str, Span> = HashMap::new();
        for a in &call.consts {
            if let Some(&first) = given.get(a.name.name.as_str()) {
                self.diags.push(
                    Diagnostic::error(
                        a.name.span,
                        format!("constant `{}` is given twice in this call", a.name.name),
                    )
                    .with_label("second value")
                    .with_note(first, "first given here"),
                );
            } else {
                given.insert(&a.name.name, a.name.span);
            }
        }
        for c in &layer.consts {
            if inner.syms.contains_key(&c.name.name) {
                continue; // declared twice in the layer: reported once, for the file
            }
            let over = call.consts.iter().find(|a| a.name.name == c.name.name);
            let s = match over.map(|a| &a.value) {
                Some(ast::ConstValue::Name(n)) => match sc.syms.get(&n.name) {
                    Some(Sym::Const(s)) => *s,
                    _ => {
                        self.err(
                            n.span,
                            format!("`{}` is not a constant of this model", n.name),
                            "",
                        );
                        Scalar::lit(c.default)
                    }
                },
                Some(ast::ConstValue::Number(v, _)) => {
                    Scalar::Named(self.add_scalar(&inner.full(&c.name.name), *v))
                }
                None => Scalar::Named(self.add_scalar(&inner.full(&c.name.name), c.default)),
            };
            inner.claim(&c.name, Sym::Const(s));
        }
        for a in &call.consts {
            if !layer.consts.iter().any(|c| c.name.name == a.name.name) {
                self.err(
                    a.name.span,
                    format!(
                        "layer `{}` has no constant `{}`",
                        layer.name.name, a.name.name
                    ),
                    "",
                );
            }
        }
        let site = CallSite {
            inputs: &inputs,
            layer: &call.layer,
        };
        let Some(out) = self.block(&mut inner, &layer, Some(&site)) else {
            sc.define(lhs, Sym::Poisoned);
            return;
        };
        let out_t = self.p.tensor(out).clone();
        let [ast::LhsIndex {
            index: ast::Index::Var(n),
            ..
        }, ast::LhsIndex {
            index: ast::Index::Var(d),
            ..
        }] = &call.indices[..]
        else {
            self.err(
                call.span,
                format!("write the result of a layer call as `{lhs}[n, d]`: a node index and one flattened feature index"),
                "",
            );
            sc.define(lhs, Sym::Poisoned);
            return;
        };
        let dim = if out_t.dims.len() == 1 {
            out_t.dims[0]
        } else {
            let names: Vec<String> = out_t.dims.iter().map(|d| self.dim_name(*d)).collect();
            let dim = self.p.add_dim(names.join("*"));
            self.p.dim_products.push((dim, out_t.dims.clone()));
            dim
        };
        let t = self.p.add_tensor(Tensor {
            name: sc.full(lhs),
            external: sc.full(lhs),
            domain: Domain::Node,
            dims: vec![dim],
            external_shape: None,
            role: Role::Defined,
            index_names: vec![n.name.clone(), d.name.clone()],
        });
        let vars = self.vars_for(t);
        self.p.equations.push(Equation {
            lhs: t,
            vars,
            rhs: Rhs::Reshape(out),
        });
        sc.define(lhs, Sym::Tensor(t));
    }

    fn loss(&mut self, sc: &mut Scope, loss: &ast::LossStmt) {
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

/// How `name` is first used as a free index inside `e`: as a node or on a dense axis.
fn usage_of(p: &Program, sc: &Scope, name: &str, e: &ast::Expr) -> Option<Usage> {
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

/// The name of a tensor lowering makes for user tensor `of` (`dropmask(h)`, `loops(e)`). The
/// parentheses keep it apart from every name a user can write.
fn generated_name(what: &str, of: &str) -> String {
    format!("{what}({of})")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Every way `name` is used as a free index inside `e`, in source order.
fn usages(p: &Program, sc: &Scope, name: &str, e: &ast::Expr, out: &mut Vec<Usage>) {
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
fn mentions_broken(sc: &Scope, e: &ast::Expr) -> bool {
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

//! Checking and lowering: syntax tree → [`Program`]. Every problem becomes a [`Diagnostic`] with the
//! span of the offending text; lowering goes on after an error so that one run reports all of them.

use crate::ir::*;
use crate::primitives::{self, ConstArg};
use gatgrad_grammar::ast::{self, Span};
use gatgrad_grammar::Diagnostic;
use std::collections::{HashMap, HashSet};
use usage::*;

mod checks;
mod decls;
mod equations;
mod exprs;
mod init;
mod inline;
mod layout;
mod usage;

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
    let mut sc = BlockScope::new(String::new(), entry, &mut l.p);
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

/// The names in scope while one `layer` or `model` block is lowered: a layer call lowers the
/// called layer in a scope of its own, under the call's prefix.
struct BlockScope {
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

impl BlockScope {
    fn new(prefix: String, block: &ast::Block, p: &mut Program) -> BlockScope {
        let loops = block
            .stmts
            .iter()
            .any(|s| matches!(s, ast::Stmt::SelfLoops(_)));
        let graph = p.graph(if loops {
            GraphKind::SelfLoops
        } else {
            GraphKind::Raw
        });
        BlockScope {
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
    /// Sets what a name already claimed (see [`BlockScope::claim`]) stands for.
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
    /// Binds `target <- source` to a new edge variable of `graph` (the target at its `dst`, the
    /// source at its `src`) and makes it the edge in scope.
    fn bind_edge(&mut self, p: &mut Program, target: &str, source: &str, graph: GraphId) -> VarId {
        let e = p.add_edge_var(target, source, graph);
        self.names
            .push((target.to_string(), Binding::Node(At::Dst(e))));
        self.names
            .push((source.to_string(), Binding::Node(At::Src(e))));
        self.edge = Some(EdgeCtx {
            var: e,
            target: target.to_string(),
            source: source.to_string(),
            graph,
        });
        e
    }
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
    /// The self-loop-graph tensor made from each raw-graph edge tensor passed to a layer with
    /// `self_loops;`: every such call reads the one fill (an input has one adjoint rule).
    loop_fills: HashMap<TensorId, TensorId>,
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
    fn is_new(&mut self, sc: &BlockScope, name: &ast::Ident) -> bool {
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

    fn add_scalar(&mut self, name: &str, default: f64) -> ScalarId {
        self.p.scalars.push(NamedScalar {
            name: name.to_string(),
            default,
        });
        ScalarId(self.p.scalars.len() as u32 - 1)
    }

    /// Lowers the statements of a layer or model. `call` binds the layer's inputs (calls only).
    fn block(
        &mut self,
        sc: &mut BlockScope,
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
                ast::Stmt::Output(o) if output_at.is_some() => {
                    let name = &o.name;
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
                ast::Stmt::Output(o) => {
                    let name = &o.name;
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
                                if let Some(groups) = &o.layout {
                                    let layout = self.output_layout(sc, t, groups, o.layout_span);
                                    // Only the file's own output is stored outside; a called
                                    // layer's output is flattened into the model's tensor.
                                    if call.is_none() {
                                        self.p.tensors[t.index()].external_shape = layout;
                                    }
                                }
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
}

/// The name of a tensor lowering makes for user tensor `of` (`dropmask(h)`, `loops(e)`). The
/// parentheses keep it apart from every name a user can write.
fn generated_name(what: &str, of: &str) -> String {
    format!("{what}({of})")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

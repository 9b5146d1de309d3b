//! Layer calls in a model: the called layer is lowered again under the call's prefix (`conv1.`),
//! its inputs bound to the tensors the call passes.

use super::*;

impl Lowerer {
    pub(super) fn call(&mut self, sc: &mut BlockScope, call: &ast::LayerCall) {
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
        let mut inner = BlockScope::new(prefix, &layer, &mut self.p);
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

    /// A layer call passes no tensor for input `decl` of `block`.
    pub(super) fn missing_input(
        &mut self,
        block: &ast::Block,
        call: &CallSite,
        decl: &ast::TensorDecl,
    ) {
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
}

//! Building the syntax tree from pest pairs.

use super::*;

pub(super) type P<'i> = Pair<'i, Rule>;

/// Builds AST nodes from the pairs of one pest call on the slice starting at `base`.
pub(super) struct Build<'d> {
    pub(super) base: usize,
    pub(super) diags: &'d mut Vec<Diagnostic>,
}

pub(super) fn child<'i>(p: &P<'i>, rule: Rule) -> Option<P<'i>> {
    p.clone().into_inner().find(|c| c.as_rule() == rule)
}

pub(super) fn children<'i>(p: &P<'i>, rule: Rule) -> impl Iterator<Item = P<'i>> {
    p.clone().into_inner().filter(move |c| c.as_rule() == rule)
}

impl Build<'_> {
    /// The source span of a pair. A rule ending in an optional part (`power`, `reduction`, ...)
    /// also covers the whitespace pest skipped before trying that part, so the end is taken from the
    /// last token (every token is a leaf pair).
    pub(super) fn span(&self, p: &P<'_>) -> Span {
        let s = p.as_span();
        let end = p
            .clone()
            .into_inner()
            .flatten()
            .filter(|q| q.clone().into_inner().next().is_none())
            .map(|q| q.as_span().end())
            .max()
            .unwrap_or(s.end());
        Span::new(self.base + s.start(), self.base + end)
    }

    pub(super) fn ident(&self, p: &P<'_>) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(p),
        }
    }

    /// `H` or `H = 1`; the default must be a positive whole number.
    pub(super) fn dim_decl(&mut self, p: &P<'_>) -> Option<DimDecl> {
        let name = self.ident(&child(p, Rule::dim_name)?);
        let default = match child(p, Rule::number) {
            None => None,
            Some(n) => match n.as_str().parse::<usize>() {
                Ok(v) if v > 0 => Some(v),
                _ => {
                    self.diags.push(
                        Diagnostic::error(self.span(&n), "invalid default size")
                            .with_label("not a positive whole number")
                            .with_help(format!("write e.g. `{} = 1`", name.name)),
                    );
                    None
                }
            },
        };
        Some(DimDecl { name, default })
    }

    pub(super) fn idents(&self, p: &P<'_>, rule: Rule) -> Vec<Ident> {
        children(p, rule).map(|c| self.ident(&c)).collect()
    }

    /// A `number` pair; must be finite.
    pub(super) fn number(&mut self, p: &P<'_>) -> f64 {
        let value = p.as_str().parse::<f64>().unwrap_or(f64::INFINITY);
        if !value.is_finite() {
            self.diags.push(
                Diagnostic::error(self.span(p), "number out of range")
                    .with_label("too large for a 64-bit float")
                    .with_help("numbers must be finite (at most about 1.8e308)"),
            );
        }
        value
    }

    /// A `signed_number` or `exponent` pair.
    pub(super) fn signed(&mut self, p: &P<'_>) -> f64 {
        let negative = child(p, Rule::minus).is_some();
        let value = child(p, Rule::number).map_or(0.0, |n| self.number(&n));
        if negative {
            -value
        } else {
            value
        }
    }

    pub(super) fn const_decl(&mut self, p: P<'_>) -> Option<ConstDecl> {
        let name = self.ident(&child(&p, Rule::name)?);
        let default = self.signed(&child(&p, Rule::signed_number)?);
        Some(ConstDecl {
            name,
            default,
            span: self.span(&p),
        })
    }

    pub(super) fn stmt(&mut self, p: P<'_>) -> Option<Stmt> {
        let inner = p.into_inner().next()?;
        let span = self.span(&inner);
        Some(match inner.as_rule() {
            Rule::dims_stmt => Stmt::Dims(
                children(&inner, Rule::dim_decl)
                    .filter_map(|d| self.dim_decl(&d))
                    .collect(),
            ),
            Rule::self_loops_stmt => Stmt::SelfLoops(span),
            Rule::output_stmt => Stmt::Output(self.output(&inner)?),
            Rule::attention_stmt => Stmt::Attention(self.ident(&child(&inner, Rule::name)?)),
            Rule::decl_stmt => Stmt::Tensor(self.decl(&inner)?),
            Rule::loss_stmt => {
                let mut names = self.idents(&inner, Rule::name).into_iter();
                let name = names.next()?;
                Stmt::Loss(LossStmt {
                    name,
                    func: self.ident(&child(&inner, Rule::loss_func)?),
                    args: names.collect(),
                    span,
                })
            }
            Rule::call_stmt => Stmt::Call(self.layer_call(&inner)?),
            Rule::equation => {
                let name = self.ident(&child(&inner, Rule::name)?);
                let indices = match child(&inner, Rule::lhs_indices) {
                    Some(l) => self.lhs_indices(&l)?,
                    None => Vec::new(),
                };
                let rhs = self.expr(child(&inner, Rule::expr)?)?;
                Stmt::Equation(Equation {
                    name,
                    indices,
                    rhs,
                    span,
                })
            }
            _ => return None,
        })
    }

    pub(super) fn decl(&mut self, p: &P<'_>) -> Option<TensorDecl> {
        let kind = match child(p, Rule::decl_kind)?.as_str() {
            "input" => TensorKind::Input,
            "param" => TensorKind::Param,
            "labels" => TensorKind::Labels,
            _ => TensorKind::Mask,
        };
        let mut axes = Vec::new();
        if let Some(a) = child(p, Rule::axes) {
            for axis in children(&a, Rule::axis) {
                let inner = axis.into_inner().next()?;
                let names = self.idents(&inner, Rule::index_name);
                axes.push(match inner.as_rule() {
                    Rule::edge_axis => AxisDecl::Edge {
                        target: names.first()?.clone(),
                        source: names.get(1)?.clone(),
                    },
                    _ => match child(&inner, Rule::dim_name) {
                        Some(dim) => AxisDecl::Dense {
                            index: names.first()?.clone(),
                            dim: self.ident(&dim),
                        },
                        None => AxisDecl::Node(names.first()?.clone()),
                    },
                });
            }
        }
        let mut external = None;
        let mut external_shape = None;
        let mut external_node = None;
        if let Some(e) = child(p, Rule::external) {
            let s = child(&e, Rule::string)?;
            let text = s.as_str();
            external = Some(StrLit {
                value: text
                    .get(1..text.len().saturating_sub(1))
                    .unwrap_or("")
                    .to_string(),
                span: self.span(&s),
            });
            if let Some(shape) = child(&e, Rule::ext_shape) {
                external_node = child(&shape, Rule::kw_node).map(|n| self.span(&n));
                external_shape = Some(
                    children(&shape, Rule::dim_product)
                        .map(|d| self.dim_product(&d))
                        .collect(),
                );
            }
        }
        let classes = child(p, Rule::classes)
            .and_then(|c| child(&c, Rule::dim_name))
            .map(|d| self.ident(&d));
        let init = match child(p, Rule::init) {
            Some(i) => Some(self.init(&i)?),
            None => None,
        };
        Some(TensorDecl {
            kind,
            name: self.ident(&child(p, Rule::name)?),
            axes,
            external,
            external_shape,
            external_node,
            init,
            classes,
            span: self.span(p),
        })
    }

    /// `output out;` or `output out as [node, H, C];`.
    fn output(&mut self, p: &P<'_>) -> Option<OutputStmt> {
        let name = self.ident(&child(p, Rule::name)?);
        let (layout, layout_span) = match child(p, Rule::out_layout) {
            Some(l) => {
                let groups = children(&l, Rule::dim_product)
                    .map(|d| self.dim_product(&d))
                    .collect();
                let open = child(&l, Rule::lbrack).map(|b| self.span(&b));
                let close = child(&l, Rule::rbrack).map(|b| self.span(&b));
                let span = match (open, close) {
                    (Some(a), Some(b)) => a.join(b),
                    _ => self.span(&l),
                };
                (Some(groups), span)
            }
            None => (None, name.span),
        };
        Some(OutputStmt {
            name,
            layout,
            layout_span,
        })
    }

    /// `H*C` or `1`.
    fn dim_product(&self, d: &P<'_>) -> DimProduct {
        DimProduct {
            factors: self.idents(d, Rule::dim_name),
            span: self.span(d),
        }
    }

    /// `init xavier_normal(gain = relu)`.
    fn init(&mut self, p: &P<'_>) -> Option<InitDecl> {
        let scheme = self.ident(&child(p, Rule::init_name)?);
        let mut args = Vec::new();
        for a in children(p, Rule::init_arg) {
            let mut names = self.idents(&a, Rule::name).into_iter();
            let name = names.next()?;
            let value = match child(&a, Rule::signed_number) {
                Some(n) => InitValue::Number(self.signed(&n)),
                None => InitValue::Name(names.next()?),
            };
            args.push(InitArg {
                name,
                value,
                span: self.span(&a),
            });
        }
        Some(InitDecl {
            scheme,
            args,
            span: self.span(p),
        })
    }

    pub(super) fn layer_call(&mut self, p: &P<'_>) -> Option<LayerCall> {
        let mut names = self.idents(p, Rule::name).into_iter();
        let (lhs, prefix, layer) = (names.next()?, names.next()?, names.next()?);
        let indices = match child(p, Rule::lhs_indices) {
            Some(l) => self.lhs_indices(&l)?,
            None => Vec::new(),
        };
        let mut inputs = Vec::new();
        let mut consts = Vec::new();
        if let Some(args) = child(p, Rule::layer_args) {
            for arg in children(&args, Rule::layer_arg) {
                let inner = arg.into_inner().next()?;
                if inner.as_rule() == Rule::const_arg {
                    let name = self.ident(&child(&inner, Rule::name)?);
                    let v = child(&inner, Rule::const_value)?.into_inner().next()?;
                    let value = if v.as_rule() == Rule::signed_number {
                        ConstValue::Number(self.signed(&v), self.span(&v))
                    } else {
                        ConstValue::Name(self.ident(&v))
                    };
                    consts.push(ConstArg { name, value });
                } else {
                    let input = self.ident(&inner);
                    if !consts.is_empty() {
                        self.diags.push(
                            Diagnostic::error(input.span, "input after a constant argument")
                                .with_label("inputs must come first")
                                .with_help(
                                    "write the inputs, then the constants: \
                                     `conv1: gatv2(x, dropout = p)`",
                                ),
                        );
                    }
                    inputs.push(input);
                }
            }
        }
        Some(LayerCall {
            lhs,
            indices,
            prefix,
            layer,
            inputs,
            consts,
            span: self.span(p),
        })
    }

    pub(super) fn lhs_indices(&mut self, p: &P<'_>) -> Option<Vec<LhsIndex>> {
        let mut out = Vec::new();
        for l in children(p, Rule::lhs_index) {
            let index = match child(&l, Rule::edge_index) {
                Some(e) => self.edge_index(&e)?,
                None => Index::Var(self.ident(&child(&l, Rule::index_name)?)),
            };
            let dim = child(&l, Rule::dim_name).map(|d| self.ident(&d));
            out.push(LhsIndex { index, dim });
        }
        Some(out)
    }

    pub(super) fn edge_index(&self, p: &P<'_>) -> Option<Index> {
        let names = self.idents(p, Rule::index_name);
        Some(Index::Edge {
            target: names.first()?.clone(),
            source: names.get(1)?.clone(),
            span: self.span(p),
        })
    }

    /// Folds `operand (op operand)*` left-associatively; spans run from the first operand's pair.
    pub(super) fn chain(
        &mut self,
        p: P<'_>,
        operand: fn(&mut Self, P<'_>) -> Option<Expr>,
    ) -> Option<Expr> {
        let mut it = p.into_inner();
        let first = it.next()?;
        let start = self.span(&first).start;
        let mut acc = operand(self, first)?;
        while let (Some(op), Some(rhs)) = (it.next(), it.next()) {
            let end = self.span(&rhs).end;
            let op = match op.as_str() {
                "+" => BinOp::Add,
                "-" => BinOp::Sub,
                "*" => BinOp::Mul,
                _ => BinOp::Div,
            };
            let rhs = operand(self, rhs)?;
            acc = Expr::Binary {
                op,
                lhs: Box::new(acc),
                rhs: Box::new(rhs),
                span: Span::new(start, end),
            };
        }
        Some(acc)
    }

    pub(super) fn expr(&mut self, p: P<'_>) -> Option<Expr> {
        self.chain(p, Self::product)
    }

    pub(super) fn product(&mut self, p: P<'_>) -> Option<Expr> {
        self.chain(p, Self::unary)
    }

    pub(super) fn unary(&mut self, p: P<'_>) -> Option<Expr> {
        let inner = p.into_inner().next()?;
        let span = self.span(&inner);
        match inner.as_rule() {
            Rule::neg => {
                let operand = self.unary(child(&inner, Rule::unary)?)?;
                Some(Expr::Neg(Box::new(operand), span))
            }
            Rule::reduction => {
                let op = match child(&inner, Rule::reduce_op)?.as_str() {
                    "sum_" => ReduceOp::Sum,
                    "mean_" => ReduceOp::Mean,
                    _ => ReduceOp::Softmax,
                };
                let binder = self.binder(op, &child(&inner, Rule::binder)?)?;
                let body = self.product(child(&inner, Rule::product)?)?;
                Some(Expr::Reduce {
                    op,
                    binder,
                    body: Box::new(body),
                    span,
                })
            }
            _ => self.power(inner),
        }
    }

    pub(super) fn binder(&mut self, op: ReduceOp, p: &P<'_>) -> Option<Binder> {
        let single = |name: Ident| {
            if op == ReduceOp::Softmax {
                Binder::InEdges {
                    source: name,
                    target: None,
                }
            } else {
                Binder::Vars(vec![name])
            }
        };
        if let Some(name) = child(p, Rule::binder_name) {
            let name = self.ident(&name);
            return Some(single(name));
        }
        let group = child(p, Rule::binder_group)?;
        if let Some(edge) = child(&group, Rule::edge_binder) {
            let names = self.idents(&edge, Rule::binder_name);
            return Some(Binder::InEdges {
                source: names.first()?.clone(),
                target: Some(names.get(1)?.clone()),
            });
        }
        let mut names = self.idents(&group, Rule::binder_name);
        if op == ReduceOp::Softmax {
            if names.len() > 1 {
                self.diags.push(
                    Diagnostic::error(self.span(p), "softmax over several indices")
                        .with_label("softmax normalises over the in-edges of one target")
                        .with_help(
                            "write `softmax_j s[i <- j, h]` or `softmax_{j -> i} s[i <- j, h]`",
                        ),
                );
            }
            names.truncate(1);
            return Some(single(names.pop()?));
        }
        Some(Binder::Vars(names))
    }

    pub(super) fn power(&mut self, p: P<'_>) -> Option<Expr> {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let base = self.primary(it.next()?)?;
        match it.find(|c| c.as_rule() == Rule::exponent) {
            Some(e) => Some(Expr::Pow {
                base: Box::new(base),
                exponent: self.signed(&e),
                span,
            }),
            None => Some(base),
        }
    }

    pub(super) fn primary(&mut self, p: P<'_>) -> Option<Expr> {
        let span = self.span(&p);
        Some(match p.as_rule() {
            Rule::number => Expr::Number(self.number(&p), span),
            Rule::paren => self.expr(child(&p, Rule::expr)?)?,
            Rule::named => {
                let name = self.ident(&child(&p, Rule::name)?);
                if let Some(args) = child(&p, Rule::call_args) {
                    let mut exprs = Vec::new();
                    for a in children(&args, Rule::expr) {
                        exprs.push(self.expr(a)?);
                    }
                    Expr::Call {
                        func: name,
                        args: exprs,
                        span,
                    }
                } else if let Some(list) = child(&p, Rule::indices) {
                    let mut indices = Vec::new();
                    for i in children(&list, Rule::index) {
                        let inner = i.into_inner().next()?;
                        indices.push(if inner.as_rule() == Rule::edge_index {
                            self.edge_index(&inner)?
                        } else {
                            Index::Var(self.ident(&inner))
                        });
                    }
                    Expr::Access {
                        name,
                        indices,
                        span,
                    }
                } else {
                    Expr::Name(name)
                }
            }
            _ => return None,
        })
    }
}

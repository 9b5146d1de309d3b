//! The driver: blocks and statements, each parsed by its own pest call, and recovery after a
//! failing one (skip to the next `;` or the `}` ending the block).

use super::*;

pub(super) struct Driver<'s> {
    pub(super) src: &'s str,
    pub(super) diags: Vec<Diagnostic>,
    /// An unterminated string was reported: it may have swallowed the `}` of its block, so a
    /// missing `}` at the end of the file is not reported on top of it.
    pub(super) swallowed: bool,
}

/// Where a block body was opened, for "unterminated block" messages.
pub(super) struct Open {
    pub(super) kind: &'static str,
    pub(super) name: String,
    pub(super) brace: usize,
}

impl<'s> Driver<'s> {
    /// The next token at or after `pos`.
    pub(super) fn next(&self, pos: usize) -> Tok<'s> {
        token_at(self.src, skip_trivia(self.src, pos))
    }

    pub(super) fn file(&mut self) -> (Vec<Block>, Vec<Use>) {
        let mut pos = if self.src.starts_with('\u{feff}') {
            3
        } else {
            0
        };
        let mut blocks = Vec::new();
        let mut uses = Vec::new();
        loop {
            let t = self.next(pos);
            if self.give_up(t) {
                break;
            }
            match t.kind {
                TokKind::Eof => break,
                TokKind::UnterminatedComment => {
                    self.unterminated_comment(t);
                    break;
                }
                _ if t.is_word("use") => {
                    let (item, end) = self.use_item(t);
                    uses.extend(item);
                    pos = end;
                }
                _ if t.is_block_keyword() => {
                    let (block, end) = self.block(t.start);
                    blocks.extend(block);
                    pos = end;
                }
                _ => {
                    let d = if t.is("}") {
                        Diagnostic::error(t.span(), "unexpected `}`")
                            .with_label("no block is open here")
                    } else if t.kind == TokKind::UnterminatedStr {
                        unterminated_string(t)
                    } else {
                        Diagnostic::error(t.span(), "expected `layer`, `model` or `use`")
                            .with_label(format!("found {}", t.describe()))
                            .with_help(
                                "a file is a list of blocks: `layer NAME(...) { ... }` and \
                                 `model NAME(...) { ... }`, and `use \"other.gat\";` items",
                            )
                    };
                    self.diags.push(d);
                    pos = self.skip_to_block(t);
                }
            }
        }
        (blocks, uses)
    }

    /// `use "path";` starting at the `use` token `t`; on a syntax error, reports it and skips to
    /// the next block.
    fn use_item(&mut self, t: Tok<'s>) -> (Option<Use>, usize) {
        let path = self.next(t.end);
        if path.kind != TokKind::Str {
            let d = if path.kind == TokKind::UnterminatedStr {
                unterminated_string(path)
            } else {
                Diagnostic::error(path.span(), "expected a quoted file name after `use`")
                    .with_label(format!("found {}", path.describe()))
                    .with_help("write `use \"gatv2.gat\";` (a path relative to this file)")
            };
            self.diags.push(d);
            return (None, self.skip_to_block(path));
        }
        let semi = self.next(path.end);
        if !semi.is(";") {
            self.diags.push(
                Diagnostic::error(semi.span(), "expected `;` after the file name of `use`")
                    .with_label(format!("found {}", semi.describe())),
            );
            return (None, self.skip_to_block(semi));
        }
        let item = Use {
            path: StrLit {
                value: path.text[1..path.text.len() - 1].to_string(),
                span: path.span(),
            },
            span: Span::new(t.start, semi.end),
        };
        (Some(item), semi.end)
    }

    /// Skips from `t` (consumed) to the next `layer` or `model` outside brackets.
    pub(super) fn skip_to_block(&self, t: Tok<'s>) -> usize {
        let mut pos = t.end;
        let mut depth = 0usize;
        loop {
            let t = self.next(pos);
            match t.kind {
                TokKind::Eof | TokKind::UnterminatedComment => return t.start,
                _ if depth == 0 && t.is_block_keyword() => return t.start,
                _ if t.is_opener() => depth += 1,
                _ if t.is_closer() => depth = depth.saturating_sub(1),
                _ => {}
            }
            pos = t.end;
        }
    }

    /// Parses the block whose keyword starts at `start`; returns it (unless its header is broken)
    /// and where parsing goes on.
    pub(super) fn block(&mut self, start: usize) -> (Option<Block>, usize) {
        let head = match GatParser::parse(Rule::block_head, &self.src[start..]) {
            Ok(mut pairs) => pairs.next(),
            Err(err) => {
                let positives = positives(&err);
                let (diag, _) = self.syntax_error(start, Ctx::Header, &err);
                self.diags.push(diag);
                return (None, self.recover_header(start, &err, &positives));
            }
        };
        let Some(head) = head else {
            return (None, self.skip_to_block(self.next(start)));
        };
        let head_end = start + head.as_span().end();
        let mut b = Build {
            base: start,
            diags: &mut self.diags,
        };
        let mut kind = BlockKind::Layer;
        let mut name = None;
        let mut consts = Vec::new();
        let mut brace = head_end.saturating_sub(1);
        for p in head.into_inner() {
            match p.as_rule() {
                Rule::block_kind if p.as_str() == "model" => kind = BlockKind::Model,
                Rule::name => name = Some(b.ident(&p)),
                Rule::const_params => {
                    for c in p.into_inner().filter(|c| c.as_rule() == Rule::const_decl) {
                        consts.extend(b.const_decl(c));
                    }
                }
                Rule::lbrace => brace = b.span(&p).start,
                _ => {}
            }
        }
        let name = name.unwrap_or_else(|| Ident {
            name: String::new(),
            span: Span::new(start, start),
        });
        let open = Open {
            kind: if kind == BlockKind::Model {
                "model"
            } else {
                "layer"
            },
            name: name.name.clone(),
            brace,
        };
        let (stmts, end) = self.body(head_end, Some(open));
        let block = Block {
            kind,
            name,
            consts,
            stmts,
            span: Span::new(start, end),
        };
        (Some(block), end)
    }

    /// After a broken header: parse the body anyway (for its errors) if it can be found, else skip
    /// to the next block.
    pub(super) fn recover_header(
        &mut self,
        start: usize,
        err: &PestError<Rule>,
        wants: &BTreeSet<Want>,
    ) -> usize {
        let kw = self.next(start);
        let mut pos = kw.end;
        let mut parens = 0usize;
        loop {
            let t = self.next(pos);
            if t.is("{") {
                return self.body(t.end, None).1;
            }
            let stop = matches!(t.kind, TokKind::Eof | TokKind::UnterminatedComment)
                || t.is_block_keyword()
                || t.is("}")
                || (parens == 0 && t.is(";"));
            if stop {
                break;
            }
            if t.is("(") || t.is("[") {
                parens += 1;
            } else if t.is(")") || t.is("]") {
                parens = parens.saturating_sub(1);
            }
            pos = t.end;
        }
        let epos = start + error_pos(err);
        if wants.contains(&Want::LBrace) && epos > start {
            // `layer foo(a = 1)` with the `{` forgotten: the statements follow.
            self.body(epos, None).1
        } else {
            self.skip_to_block(kw)
        }
    }

    /// Parses statements up to the closing `}` (consumed). Returns them and the position after the
    /// block. `open` is `None` for the body of a block whose header was broken (its statements are
    /// checked, then dropped, and a missing `}` is not reported twice).
    pub(super) fn body(&mut self, mut pos: usize, open: Option<Open>) -> (Vec<Stmt>, usize) {
        let mut stmts = Vec::new();
        loop {
            let t = self.next(pos);
            if self.give_up(t) {
                return (stmts, self.src.len());
            }
            match t.kind {
                TokKind::Eof => {
                    if let (Some(open), false) = (&open, self.swallowed) {
                        let trimmed = self.src.trim_end_matches([' ', '\t', '\r', '\n']).len();
                        let at = pos.min(trimmed);
                        let d =
                            self.unterminated_block(Span::new(at, at), open, "the file ends here");
                        self.diags.push(d);
                    }
                    return (stmts, t.start);
                }
                TokKind::UnterminatedComment => {
                    self.unterminated_comment(t);
                    return (stmts, self.src.len());
                }
                _ if t.is("}") => return (stmts, t.end),
                _ if t.is_block_keyword() => {
                    if let Some(open) = &open {
                        let d = self.unterminated_block(
                            t.span(),
                            open,
                            "expected `}` before the next block",
                        );
                        self.diags.push(d);
                    }
                    return (stmts, t.start);
                }
                _ => pos = self.statement(t.start, &mut stmts),
            }
        }
    }

    /// Parses one statement starting at `start`; returns where the next one starts.
    pub(super) fn statement(&mut self, start: usize, stmts: &mut Vec<Stmt>) -> usize {
        let (skip_to, problem) = self.scan_statement(start);
        if let Some(d) = problem {
            self.diags.push(d);
            return skip_to;
        }
        match GatParser::parse(Rule::stmt, &self.src[start..]) {
            Ok(mut pairs) => {
                let Some(p) = pairs.next() else {
                    return skip_to;
                };
                let end = start + p.as_span().end();
                let mut b = Build {
                    base: start,
                    diags: &mut self.diags,
                };
                stmts.extend(b.stmt(p));
                end
            }
            Err(err) => {
                let ctx = self.classify(start);
                let (d, resume) = self.syntax_error(start, ctx, &err);
                self.swallowed |= d.message.starts_with("unterminated string");
                self.diags.push(d);
                resume.unwrap_or(skip_to)
            }
        }
    }

    /// Finds where the statement at `start` ends for recovery (after its `;`, or at a `}` closing
    /// the block, at `layer`/`model`, or at the end), and checks the nesting and length limits.
    pub(super) fn scan_statement(&self, start: usize) -> (usize, Option<Diagnostic>) {
        let mut pos = start;
        let mut first = true;
        let mut brackets = 0usize;
        // Unary minus signs and reductions still open at each bracket level.
        let mut prefixes: Vec<usize> = vec![0];
        let mut operators = 0usize;
        let mut prev: Option<Tok<'s>> = None;
        let mut problem = None;
        loop {
            let t = self.next(pos);
            match t.kind {
                TokKind::Eof | TokKind::UnterminatedComment => return (t.start, problem),
                _ if !first && t.is_block_keyword() => return (t.start, problem),
                _ if t.is(";") => return (t.end, problem),
                _ if brackets == 0 && t.is("}") => return (t.start, problem),
                _ => {}
            }
            if problem.is_none() {
                let value_before = prev.is_some_and(|p| {
                    matches!(p.kind, TokKind::Number | TokKind::Str)
                        || (p.kind == TokKind::Word && reduce_prefix(p.text).is_none())
                        || p.is(")")
                        || p.is("]")
                });
                let mut prefix = false;
                if t.is_opener() {
                    brackets += 1;
                    prefixes.push(0);
                } else if t.is_closer() {
                    if brackets > 0 {
                        brackets -= 1;
                        prefixes.pop();
                    }
                } else if (t.kind == TokKind::Word && reduce_prefix(t.text).is_some())
                    || (t.is("-") && !value_before)
                {
                    prefix = true;
                } else if t.is("+") || t.is("-") {
                    operators += 1;
                    if let Some(last) = prefixes.last_mut() {
                        *last = 0;
                    }
                } else if t.is("*") || t.is("/") || t.is("^") {
                    operators += 1;
                }
                if prefix {
                    operators += 1;
                    if let Some(last) = prefixes.last_mut() {
                        *last += 1;
                    }
                }
                let depth = brackets + prefixes.iter().sum::<usize>();
                if depth > MAX_NESTING {
                    problem = Some(
                        Diagnostic::error(t.span(), "expression nested too deeply")
                            .with_label(format!(
                                "more than {MAX_NESTING} levels of brackets, `-` and reductions"
                            ))
                            .with_help("split it into several equations"),
                    );
                } else if operators > MAX_OPERATORS {
                    problem = Some(
                        Diagnostic::error(t.span(), "statement too long")
                            .with_label(format!("more than {MAX_OPERATORS} operators"))
                            .with_help("split it into several equations"),
                    );
                }
            }
            prev = Some(t);
            first = false;
            pos = t.end;
        }
    }

    /// Guesses what the statement at `start` was meant to be, for messages.
    pub(super) fn classify(&self, start: usize) -> Ctx {
        let t = self.next(start);
        if t.kind != TokKind::Word {
            return Ctx::Statement;
        }
        match t.text {
            "dims" => return Ctx::Dims,
            "self_loops" => return Ctx::SelfLoops,
            "input" | "param" | "labels" | "mask" => return Ctx::Decl,
            "output" => return Ctx::Output,
            "attention" => return Ctx::Attention,
            _ => {}
        }
        let mut t = self.next(t.end);
        let bare = !t.is("[");
        if !bare {
            // Skip the left-hand side's indices.
            let mut depth = 0usize;
            loop {
                if t.kind == TokKind::Eof || t.is(";") {
                    return Ctx::Equation;
                }
                if t.is("[") {
                    depth += 1;
                } else if t.is("]") {
                    depth -= 1;
                    if depth == 0 {
                        t = self.next(t.end);
                        break;
                    }
                }
                t = self.next(t.end);
            }
        }
        if !t.is("=") {
            return Ctx::Equation;
        }
        let f = self.next(t.end);
        let after = self.next(f.end);
        if f.kind == TokKind::Word && after.is(":") {
            Ctx::LayerCall
        } else if bare && f.is_word("cross_entropy") && after.is("(") {
            Ctx::Loss
        } else {
            Ctx::Equation
        }
    }

    /// After [`MAX_ERRORS`] errors, says so (once) and tells the caller to stop.
    pub(super) fn give_up(&mut self, t: Tok<'_>) -> bool {
        if self.diags.len() < MAX_ERRORS {
            return false;
        }
        if self.diags.len() == MAX_ERRORS {
            self.diags.push(
                Diagnostic::error(t.span(), "too many syntax errors")
                    .with_label("parsing stopped here")
                    .with_help(format!("only the first {MAX_ERRORS} errors are reported")),
            );
        }
        true
    }

    pub(super) fn unterminated_comment(&mut self, t: Tok<'_>) {
        self.diags.push(
            Diagnostic::error(t.span(), "unterminated block comment: missing `*/`")
                .with_label("this comment is never closed"),
        );
    }

    pub(super) fn unterminated_block(&self, span: Span, open: &Open, label: &str) -> Diagnostic {
        let (line, col) = line_col(self.src, open.brace);
        Diagnostic::error(span, "unterminated block: missing `}`")
            .with_label(label)
            .with_help(format!(
                "the body of {} `{}` opens with the `{{` at line {line}, column {col}",
                open.kind, open.name
            ))
    }
}

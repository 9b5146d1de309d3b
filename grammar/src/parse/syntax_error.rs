//! A pest error of one header or statement, turned into a diagnostic that names the offending
//! token and what was expected there.

use super::*;

impl<'s> Driver<'s> {
    /// Turns a pest error of the header or statement starting at `start` into a diagnostic, and
    /// says where to go on when it is better than skipping to the next `;`.
    pub(super) fn syntax_error(
        &self,
        start: usize,
        ctx: Ctx,
        err: &PestError<Rule>,
    ) -> (Diagnostic, Option<usize>) {
        let epos = (start + error_pos(err)).min(self.src.len());
        let found = self.next(epos);
        let wants = positives(err);

        // The token before the error and the brackets still open there.
        let mut prev: Option<Tok<'s>> = None;
        let mut open: Vec<Tok<'s>> = Vec::new();
        let mut pos = start;
        loop {
            let t = self.next(pos);
            if t.start >= found.start || t.kind == TokKind::Eof {
                break;
            }
            if t.is_opener() {
                open.push(t);
            } else if t.is_closer() {
                open.pop();
            }
            prev = Some(t);
            pos = t.end;
        }
        let prev_end = prev.map_or(start, |p| p.end);
        let at_found = found.span();
        let at_eof = if found.kind == TokKind::Eof {
            Span::new(prev_end, prev_end)
        } else {
            at_found
        };
        let found_desc = found.describe();
        let found_label = format!("found {found_desc}");

        if found.kind == TokKind::UnterminatedComment {
            let d = Diagnostic::error(at_found, "unterminated block comment: missing `*/`")
                .with_label("this comment is never closed");
            return (d, None);
        }
        if found.kind == TokKind::UnterminatedStr {
            return (unterminated_string(found), None);
        }
        if wants.is_empty() {
            // pest gave up (stack or call limit); the nesting limits should prevent this.
            let d = Diagnostic::error(at_eof, "expression nested too deeply")
                .with_help("split it into several equations");
            return (d, None);
        }

        // Operators are accepted almost everywhere after an operand: only mention them when
        // nothing else would do.
        let mut shown: Vec<Want> = wants
            .iter()
            .copied()
            .filter(|w| *w != Want::Operator)
            .collect();
        if shown.is_empty() {
            shown.push(Want::Operator);
        }
        if shown.contains(&Want::Expr) {
            // A layer call's prefix is also a name: "an expression" says it all.
            shown.retain(|w| *w != Want::Name);
        }
        let can_end = [Want::Comma, Want::RParen, Want::RBracket, Want::RBrace];
        if shown.iter().any(|w| can_end.contains(w)) {
            // After `alpha` a `(` or `[` would make it a call or an access: as much noise as the
            // operators when the list could simply go on or end here.
            shown.retain(|w| *w != Want::LParen && *w != Want::LBracket);
        }
        let descs: Vec<&str> = shown.iter().map(|w| w.describe()).collect();
        let expected = list(&descs);

        let unclosed_help = || -> Option<String> {
            let top = open.last()?;
            let closer = match top.text {
                "(" => ")",
                "[" => "]",
                _ => "}",
            };
            let wanted = shown.iter().any(|w| w.closer() == Some(closer));
            wanted.then(|| {
                let (line, col) = line_col(self.src, top.start);
                format!(
                    "the `{}` at line {line}, column {col} is not closed",
                    top.text
                )
            })
        };
        let unmatched_closer = found.is_closer() && open.is_empty();
        let closes_top = open
            .last()
            .is_some_and(|o| matches!((o.text, found.text), ("(", ")") | ("[", "]") | ("{", "}")));
        let closer_wanted = shown.iter().any(|w| w.closer() == Some(found.text));

        // A stray closing bracket (a premature one that matches the open bracket is reported below
        // as "expected ..., found `]`").
        let stray =
            found.is(")") || found.is("]") || (found.is("}") && !wants.contains(&Want::Semi));
        if stray && !closer_wanted && !closes_top {
            let label = if unmatched_closer {
                format!("this `{}` has no matching opening bracket", found.text)
            } else {
                format!("expected {expected}")
            };
            let mut d = Diagnostic::error(at_found, format!("unexpected `{}`", found.text))
                .with_label(label);
            if unmatched_closer && wants.contains(&Want::Semi) {
                d = d.with_help(format!("expected `;` after {}", ctx.describe()));
            } else if let Some(h) = unclosed_help() {
                d = d.with_help(h);
            }
            return (d, None);
        }

        // `x ^ 2 ^ 3`
        if found.is("^") && (wants.contains(&Want::Semi) || wants.contains(&Want::Operator)) {
            let d = Diagnostic::error(at_found, "powers do not chain")
                .with_label("a second `^`")
                .with_help("use parentheses: `(x ^ 2) ^ 3`");
            return (d, None);
        }
        // `1.` or `.5`
        if found.is(".") {
            let after_number =
                prev.is_some_and(|p| p.kind == TokKind::Number && p.end == found.start);
            let d = Diagnostic::error(at_found, "unexpected `.`").with_label(if after_number {
                "a number needs digits after its `.`: write `1.0`"
            } else {
                "a number needs digits before its `.`: write `0.5`"
            });
            return (d, None);
        }

        // A missing `;`.
        if wants.contains(&Want::Semi) {
            let message = if ctx == Ctx::Dims && wants.contains(&Want::Comma) {
                "expected `,` or `;` in the `dims` list".to_string()
            } else {
                format!("expected `;` after {}", ctx.describe())
            };
            let line_break = found.kind == TokKind::Eof
                || self.src[prev_end..found.start.max(prev_end)].contains('\n');
            if line_break && prev.is_some() {
                let d = Diagnostic::error(Span::new(prev_end, prev_end), message)
                    .with_label("expected `;` here");
                // The next line is probably the next statement: go on from there.
                let resume =
                    (found.kind != TokKind::Eof && found.start > start).then_some(found.start);
                return (d, resume);
            }
            return (
                Diagnostic::error(at_found, message).with_label(found_label),
                None,
            );
        }

        // A reserved word where a name was expected.
        if found.kind == TokKind::Word
            && reserved_word(found.text)
            && shown.iter().any(|w| w.is_name())
        {
            let bare_reduction = matches!(found.text, "sum" | "mean" | "softmax");
            let d = match reduce_prefix(found.text) {
                None if bare_reduction && shown.contains(&Want::Expr) => Diagnostic::error(
                    at_found,
                    format!(
                        "`{0}` needs an index: a reduction is written `{0}_c BODY`",
                        found.text
                    ),
                )
                .with_label(format!("found {found_desc}"))
                .with_help(format!(
                    "write `{0}_c BODY`, `{0}_{{h, c}} BODY` or `{0}_{{j -> i}} BODY`",
                    found.text
                )),
                Some(prefix) if shown.contains(&Want::Expr) => Diagnostic::error(
                    at_found,
                    format!("expected the index to reduce over right after `{prefix}`"),
                )
                .with_label(format!("found {found_desc}"))
                .with_help(format!(
                    "write `{prefix}c BODY`, `{prefix}{{h, c}} BODY` or `{prefix}{{j -> i}} BODY`, \
                     with no space after `{prefix}`"
                )),
                Some(prefix) => Diagnostic::error(
                    at_found,
                    format!("`{}` cannot be used as a name", found.text),
                )
                .with_label(format!("expected {expected}"))
                .with_help(format!(
                    "names starting with `{prefix}` are reserved: `{prefix}c BODY` is a reduction"
                )),
                None => Diagnostic::error(
                    at_found,
                    format!(
                        "`{}` is a reserved word and cannot be used as a name",
                        found.text
                    ),
                )
                .with_label(format!("expected {expected}")),
            };
            return (d, None);
        }

        // A bad index.
        if shown.contains(&Want::Index) {
            let (message, label) = if prev.is_some_and(|p| p.is("<-")) {
                (
                    "expected the source index after `<-`, like `i <- j`".to_string(),
                    found_label,
                )
            } else {
                (
                    "expected an index like `n`, `h` or `i <- j`".to_string(),
                    found_label,
                )
            };
            let mut d = Diagnostic::error(at_eof, message).with_label(label);
            if found.kind == TokKind::Number {
                d = d.with_help(
                    "numeric indices are not supported: every index is a name, bound by the \
                     left-hand side or by a reduction",
                );
            }
            return (d, None);
        }
        if shown.contains(&Want::Binder) {
            let d = Diagnostic::error(
                at_eof,
                "expected the index to reduce over, like `sum_c`, `sum_{h, c}` or `sum_{j -> i}`",
            )
            .with_label(found_label);
            return (d, None);
        }
        if ctx == Ctx::Decl && shown.contains(&Want::Colon) && shown.contains(&Want::LArrow) {
            let d = Diagnostic::error(
                at_eof,
                "incomplete axis: expected `: node`, `: DIM` or `<- SOURCE`",
            )
            .with_label(found_label)
            .with_help(
                "declare each axis as `n: node` (nodes), `f: F` (a dense axis of dimension `F`) \
                     or `i <- j` (edges from `j` to `i`)",
            );
            return (d, None);
        }
        if shown.contains(&Want::Axis) {
            let d = Diagnostic::error(
                at_eof,
                "expected an axis like `n: node`, `f: F` or `i <- j`",
            )
            .with_label(found_label);
            return (d, None);
        }
        if shown.contains(&Want::Expr) {
            let d = Diagnostic::error(at_eof, "expected an expression").with_label(found_label);
            return (d, None);
        }
        if shown.contains(&Want::Exponent) {
            let d = Diagnostic::error(at_eof, "expected a number after `^`")
                .with_label(found_label)
                .with_help("powers take a constant exponent: `x ^ 2`, `x ^ -0.5`");
            return (d, None);
        }
        if shown == [Want::Stmt] {
            let d = Diagnostic::error(at_eof, "expected a statement")
                .with_label(found_label)
                .with_help(
                    "a statement is a declaration (`dims`, `input`, `param`, `labels`, `mask`), \
                     `self_loops;`, an equation `x[n] = ...;`, `output x;` or `attention a;`",
                );
            return (d, None);
        }

        // Anything else: list what would have been accepted.
        if ctx == Ctx::Header && shown == [Want::LBrace] && prev.is_some() {
            let line_break = found.kind == TokKind::Eof
                || self.src[prev_end..found.start.max(prev_end)].contains('\n');
            if line_break {
                let d = Diagnostic::error(
                    Span::new(prev_end, prev_end),
                    "expected `{` after the block header",
                )
                .with_label("expected `{` here");
                return (d, None);
            }
        }
        let mut d =
            Diagnostic::error(at_eof, format!("expected {expected}")).with_label(found_label);
        let keyword_as_name = ctx == Ctx::Decl
            && shown == [Want::Name]
            && prev.is_some_and(|p| p.start == skip_trivia(self.src, start));
        if keyword_as_name {
            let kw = prev.map_or("", |p| p.text);
            d = d.with_help(format!(
                "`{kw}` starts a declaration (`{kw} NAME[...];`): it cannot be used as a tensor name"
            ));
        } else if let Some(h) = unclosed_help() {
            d = d.with_help(h);
        } else if ctx == Ctx::Header && wants.contains(&Want::Eq) {
            d = d.with_help("a constant needs a default value: `slope = 0.2`");
        } else if ctx == Ctx::Header && wants.contains(&Want::Number) {
            d = d.with_help("the default value of a constant must be a number");
        } else if ctx == Ctx::LayerCall
            || wants.contains(&Want::LayerArg)
            || wants.contains(&Want::ConstValue)
        {
            d = d.with_help("a layer call is `PREFIX: LAYER(input, ..., constant = value, ...)`");
        }
        (d, None)
    }
}

pub(super) fn unterminated_string(t: Tok<'_>) -> Diagnostic {
    Diagnostic::error(t.span(), "unterminated string: missing closing `\"`")
        .with_label("this string is never closed")
        .with_help("a string must end on the line it starts")
}

/// Offset (in the parsed slice) of a pest error.
pub(super) fn error_pos(err: &PestError<Rule>) -> usize {
    match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
}

/// The rules pest would have accepted, in words.
pub(super) fn positives(err: &PestError<Rule>) -> BTreeSet<Want> {
    match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().filter_map(|r| want(*r)).collect()
        }
        ErrorVariant::CustomError { .. } => BTreeSet::new(),
    }
}

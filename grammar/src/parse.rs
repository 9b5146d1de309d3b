//! Parsing `.gat` text into the [`ast`](crate::ast) with readable, recoverable syntax errors.
//!
//! The grammar is `gat.pest`. The driver here parses each block header (`block_head`) and each
//! statement (`stmt`) with a separate pest call, so that after a failing statement it can skip to the
//! next `;` (or the `}` ending the block) and go on: one file can report several syntax errors.
//! A small hand-written scanner (same tokens and trivia as the grammar) is used only for that
//! recovery, for naming the offending token and for the nesting limits; the syntax tree itself is
//! built from pest's pairs.

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use pest::error::{Error as PestError, ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::Parser as _;
use pest_derive::Parser;
use std::collections::BTreeSet;

#[derive(Parser)]
#[grammar = "gat.pest"]
struct GatParser;

/// More levels of brackets, unary minus and reductions than this in one statement is an error (it
/// keeps the recursive parser and every later recursive pass far from a stack overflow).
const MAX_NESTING: usize = 64;
/// Parsing stops after this many syntax errors (recovering from each one may scan the rest of the
/// file, so this also keeps parsing linear).
const MAX_ERRORS: usize = 100;
/// More operators than this in one statement is an error (a left-deep chain of `+` is as deep a
/// tree as nested brackets are).
const MAX_OPERATORS: usize = 1000;

/// Parses a whole `.gat` file.
///
/// On failure returns every syntax error found (the parser recovers at statement and block level),
/// each pointing at the offending token.
pub fn parse(source: &str) -> Result<File, Vec<Diagnostic>> {
    let mut driver = Driver {
        src: source,
        diags: Vec::new(),
        swallowed: false,
    };
    let (blocks, uses) = driver.file();
    if driver.diags.iter().any(Diagnostic::is_error) {
        Err(driver.diags)
    } else {
        Ok(File { blocks, uses })
    }
}

// ---------------------------------------------------------------------------------------------
// Scanner

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokKind {
    /// `[A-Za-z_][A-Za-z0-9_]*`, keywords included.
    Word,
    Number,
    Str,
    UnterminatedStr,
    /// `/*` without `*/`: the token runs to the end of the input.
    UnterminatedComment,
    /// ASCII punctuation, `<-` and `->`.
    Punct,
    /// Any other character.
    Other,
    Eof,
}

#[derive(Clone, Copy, Debug)]
struct Tok<'s> {
    kind: TokKind,
    text: &'s str,
    start: usize,
    end: usize,
}

impl Tok<'_> {
    fn is(&self, punct: &str) -> bool {
        self.kind == TokKind::Punct && self.text == punct
    }
    fn is_word(&self, word: &str) -> bool {
        self.kind == TokKind::Word && self.text == word
    }
    fn is_block_keyword(&self) -> bool {
        self.is_word("layer") || self.is_word("model")
    }
    fn is_opener(&self) -> bool {
        self.is("(") || self.is("[") || self.is("{")
    }
    fn is_closer(&self) -> bool {
        self.is(")") || self.is("]") || self.is("}")
    }
    /// The span a diagnostic about this token points at.
    fn span(&self) -> Span {
        match self.kind {
            TokKind::UnterminatedComment => Span::new(self.start, self.start + 2),
            _ => Span::new(self.start, self.end),
        }
    }
    /// How the token is named in messages.
    fn describe(&self) -> String {
        match self.kind {
            TokKind::Eof => "end of input".into(),
            TokKind::Str => "a string".into(),
            TokKind::UnterminatedStr => "an unterminated string".into(),
            TokKind::UnterminatedComment => "an unterminated comment".into(),
            TokKind::Other => match self.text.chars().next() {
                Some(c) if c.is_control() || c.is_whitespace() => {
                    format!("character U+{:04X}", c as u32)
                }
                _ => format!("`{}`", self.text),
            },
            _ => {
                if self.text.chars().count() > 32 {
                    let head: String = self.text.chars().take(30).collect();
                    format!("`{head}…`")
                } else {
                    format!("`{}`", self.text)
                }
            }
        }
    }
}

/// Skips whitespace and comments like the grammar's `WHITESPACE` and `COMMENT`. Stops at an
/// unterminated `/*`.
fn skip_trivia(src: &str, mut pos: usize) -> usize {
    let bytes = src.as_bytes();
    loop {
        match bytes.get(pos) {
            Some(b' ' | b'\t' | b'\r' | b'\n') => pos += 1,
            Some(b'/') if bytes.get(pos + 1) == Some(&b'/') => {
                pos = src[pos..].find('\n').map_or(src.len(), |k| pos + k);
            }
            Some(b'/') if bytes.get(pos + 1) == Some(&b'*') => match src[pos + 2..].find("*/") {
                Some(k) => pos += 2 + k + 2,
                None => return pos,
            },
            _ => return pos,
        }
    }
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The token starting at `pos` (which must not be trivia).
fn token_at(src: &str, pos: usize) -> Tok<'_> {
    let rest = &src[pos..];
    let bytes = rest.as_bytes();
    let tok = |kind, len: usize| Tok {
        kind,
        text: &rest[..len],
        start: pos,
        end: pos + len,
    };
    let Some(&c) = bytes.first() else {
        return tok(TokKind::Eof, 0);
    };
    let digits_from = |mut k: usize| {
        while bytes.get(k).is_some_and(u8::is_ascii_digit) {
            k += 1;
        }
        k
    };
    if c.is_ascii_alphabetic() || c == b'_' {
        let len = bytes.iter().take_while(|&&b| is_ident_char(b)).count();
        tok(TokKind::Word, len)
    } else if c.is_ascii_digit() {
        let mut len = digits_from(0);
        if bytes.get(len) == Some(&b'.') && bytes.get(len + 1).is_some_and(u8::is_ascii_digit) {
            len = digits_from(len + 1);
        }
        if matches!(bytes.get(len), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(bytes.get(len + 1), Some(b'+' | b'-')));
            if bytes.get(len + 1 + sign).is_some_and(u8::is_ascii_digit) {
                len = digits_from(len + 1 + sign);
            }
        }
        tok(TokKind::Number, len)
    } else if c == b'"' {
        match rest[1..].find(['"', '\n']) {
            Some(k) if bytes[1 + k] == b'"' => tok(TokKind::Str, k + 2),
            Some(k) => tok(TokKind::UnterminatedStr, k + 1),
            None => tok(TokKind::UnterminatedStr, rest.len()),
        }
    } else if rest.starts_with("/*") {
        tok(TokKind::UnterminatedComment, rest.len())
    } else if rest.starts_with("<-") || rest.starts_with("->") {
        tok(TokKind::Punct, 2)
    } else if c.is_ascii() && !c.is_ascii_control() {
        tok(TokKind::Punct, 1)
    } else {
        let len = rest.chars().next().map_or(1, char::len_utf8);
        tok(TokKind::Other, len)
    }
}

/// Words that cannot be names (see `reserved` in the grammar).
fn reserved_word(word: &str) -> bool {
    const KEYWORDS: [&str; 16] = [
        "layer",
        "model",
        "dims",
        "self_loops",
        "input",
        "param",
        "labels",
        "mask",
        "output",
        "attention",
        "as",
        "classes",
        "node",
        "sum",
        "mean",
        "softmax",
    ];
    KEYWORDS.contains(&word) || reduce_prefix(word).is_some()
}

/// `Some("sum_")` for `sum_c`, `sum_`, ...
fn reduce_prefix(word: &str) -> Option<&'static str> {
    ["sum_", "mean_", "softmax_"]
        .into_iter()
        .find(|p| word.starts_with(p))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let before = &src[..pos.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |k| k + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

// ---------------------------------------------------------------------------------------------
// What the parser expected: pest's rule names turned into words

/// Something the parser would have accepted at the error position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Want {
    Semi,
    Expr,
    Index,
    Binder,
    Axis,
    LayerArg,
    ConstValue,
    Number,
    Exponent,
    Str,
    Dim,
    DimProduct,
    One,
    Node,
    Name,
    Stmt,
    BlockKind,
    As,
    Classes,
    Eq,
    Colon,
    LArrow,
    RArrow,
    Star,
    Minus,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Operator,
    Eoi,
}

impl Want {
    fn describe(self) -> &'static str {
        match self {
            Want::Semi => "`;`",
            Want::Expr => "an expression",
            Want::Index => "an index",
            Want::Binder => "a reduction index",
            Want::Axis => "an axis like `n: node`, `f: F` or `i <- j`",
            Want::LayerArg => "an input tensor or `constant = value`",
            Want::ConstValue => "a number or a constant name",
            Want::Number | Want::Exponent => "a number",
            Want::Str => "a quoted name like `\"lin.weight\"`",
            Want::Dim => "a dimension name like `F`",
            Want::DimProduct => "a dimension product like `H*C`, or `1`",
            Want::One => "`1`",
            Want::Node => "`node`",
            Want::Name => "a name",
            Want::Stmt => "a statement",
            Want::BlockKind => "`layer` or `model`",
            Want::As => "`as`",
            Want::Classes => "`classes`",
            Want::Eq => "`=`",
            Want::Colon => "`:`",
            Want::LArrow => "`<-`",
            Want::RArrow => "`->`",
            Want::Star => "`*`",
            Want::Minus => "`-`",
            Want::Comma => "`,`",
            Want::LParen => "`(`",
            Want::RParen => "`)`",
            Want::LBracket => "`[`",
            Want::RBracket => "`]`",
            Want::LBrace => "`{`",
            Want::RBrace => "`}`",
            Want::Operator => "an operator",
            Want::Eoi => "end of input",
        }
    }

    /// Whether the thing would be a name (so a reserved word there deserves its own message).
    fn is_name(self) -> bool {
        matches!(
            self,
            Want::Index
                | Want::Binder
                | Want::Axis
                | Want::Dim
                | Want::Name
                | Want::Stmt
                | Want::LayerArg
                | Want::ConstValue
                | Want::Expr
        )
    }

    /// The closing bracket this is, if any.
    fn closer(self) -> Option<&'static str> {
        match self {
            Want::RParen => Some(")"),
            Want::RBracket => Some("]"),
            Want::RBrace => Some("}"),
            _ => None,
        }
    }
}

/// The words for a rule pest reports as expected. Exhaustive on purpose: a new rule must say how
/// it is shown to users.
fn want(rule: Rule) -> Option<Want> {
    Some(match rule {
        Rule::semi => Want::Semi,
        Rule::comma => Want::Comma,
        Rule::colon => Want::Colon,
        Rule::eq => Want::Eq,
        Rule::lparen | Rule::const_params => Want::LParen,
        Rule::rparen => Want::RParen,
        Rule::lbrack | Rule::axes | Rule::ext_shape | Rule::indices | Rule::lhs_indices => {
            Want::LBracket
        }
        Rule::rbrack => Want::RBracket,
        Rule::lbrace => Want::LBrace,
        Rule::rbrace => Want::RBrace,
        Rule::larrow => Want::LArrow,
        Rule::rarrow => Want::RArrow,
        Rule::star => Want::Star,
        Rule::minus => Want::Minus,
        Rule::add_op | Rule::mul_op | Rule::pow_op => Want::Operator,
        Rule::number | Rule::signed_number => Want::Number,
        Rule::exponent => Want::Exponent,
        Rule::string => Want::Str,
        Rule::name | Rule::named | Rule::const_decl => Want::Name,
        Rule::call_args => Want::LParen,
        Rule::index_name | Rule::index | Rule::edge_index | Rule::lhs_index => Want::Index,
        Rule::binder_name | Rule::binder | Rule::binder_group | Rule::edge_binder => Want::Binder,
        Rule::axis | Rule::edge_axis | Rule::typed_axis => Want::Axis,
        Rule::layer_args | Rule::layer_arg | Rule::const_arg => Want::LayerArg,
        Rule::const_value => Want::ConstValue,
        Rule::dim_name | Rule::dim_decl => Want::Dim,
        Rule::dim_product => Want::DimProduct,
        Rule::one => Want::One,
        Rule::kw_node => Want::Node,
        Rule::kw_as | Rule::external => Want::As,
        Rule::kw_classes | Rule::classes => Want::Classes,
        Rule::block_kind | Rule::block | Rule::block_head | Rule::kw_use | Rule::use_item => {
            Want::BlockKind
        }
        Rule::stmt
        | Rule::decl_kind
        | Rule::kw_dims
        | Rule::kw_self_loops
        | Rule::kw_output
        | Rule::kw_attention
        | Rule::dims_stmt
        | Rule::self_loops_stmt
        | Rule::decl_stmt
        | Rule::output_stmt
        | Rule::attention_stmt
        | Rule::loss_stmt
        | Rule::call_stmt
        | Rule::equation => Want::Stmt,
        Rule::expr
        | Rule::product
        | Rule::unary
        | Rule::neg
        | Rule::reduction
        | Rule::reduce_op
        | Rule::power
        | Rule::paren
        | Rule::loss_func => Want::Expr,
        Rule::EOI | Rule::file => Want::Eoi,
        Rule::WHITESPACE
        | Rule::COMMENT
        | Rule::ident_start
        | Rule::ident_char
        | Rule::reserved
        | Rule::name_text => return None,
    })
}

/// What kind of statement failed, for "expected `;` after the equation".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    Header,
    Dims,
    SelfLoops,
    Decl,
    Output,
    Attention,
    Equation,
    LayerCall,
    Loss,
    Statement,
}

impl Ctx {
    fn describe(self) -> &'static str {
        match self {
            Ctx::Header => "the block header",
            Ctx::Dims => "the `dims` list",
            Ctx::SelfLoops => "`self_loops`",
            Ctx::Decl => "the declaration",
            Ctx::Output => "the `output` statement",
            Ctx::Attention => "the `attention` statement",
            Ctx::Equation => "the equation",
            Ctx::LayerCall => "the layer call",
            Ctx::Loss => "the loss",
            Ctx::Statement => "the statement",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Driver: blocks, statements, recovery

struct Driver<'s> {
    src: &'s str,
    diags: Vec<Diagnostic>,
    /// An unterminated string was reported: it may have swallowed the `}` of its block, so a
    /// missing `}` at the end of the file is not reported on top of it.
    swallowed: bool,
}

/// Where a block body was opened, for "unterminated block" messages.
struct Open {
    kind: &'static str,
    name: String,
    brace: usize,
}

impl<'s> Driver<'s> {
    /// The next token at or after `pos`.
    fn next(&self, pos: usize) -> Tok<'s> {
        token_at(self.src, skip_trivia(self.src, pos))
    }

    fn file(&mut self) -> (Vec<Block>, Vec<Use>) {
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
    fn skip_to_block(&self, t: Tok<'s>) -> usize {
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
    fn block(&mut self, start: usize) -> (Option<Block>, usize) {
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
    fn recover_header(
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
    fn body(&mut self, mut pos: usize, open: Option<Open>) -> (Vec<Stmt>, usize) {
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
    fn statement(&mut self, start: usize, stmts: &mut Vec<Stmt>) -> usize {
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
    fn scan_statement(&self, start: usize) -> (usize, Option<Diagnostic>) {
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
    fn classify(&self, start: usize) -> Ctx {
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
    fn give_up(&mut self, t: Tok<'_>) -> bool {
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

    fn unterminated_comment(&mut self, t: Tok<'_>) {
        self.diags.push(
            Diagnostic::error(t.span(), "unterminated block comment: missing `*/`")
                .with_label("this comment is never closed"),
        );
    }

    fn unterminated_block(&self, span: Span, open: &Open, label: &str) -> Diagnostic {
        let (line, col) = line_col(self.src, open.brace);
        Diagnostic::error(span, "unterminated block: missing `}`")
            .with_label(label)
            .with_help(format!(
                "the body of {} `{}` opens with the `{{` at line {line}, column {col}",
                open.kind, open.name
            ))
    }

    /// Turns a pest error of the header or statement starting at `start` into a diagnostic, and
    /// says where to go on when it is better than skipping to the next `;`.
    fn syntax_error(
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

fn unterminated_string(t: Tok<'_>) -> Diagnostic {
    Diagnostic::error(t.span(), "unterminated string: missing closing `\"`")
        .with_label("this string is never closed")
        .with_help("a string must end on the line it starts")
}

/// Offset (in the parsed slice) of a pest error.
fn error_pos(err: &PestError<Rule>) -> usize {
    match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
}

/// The rules pest would have accepted, in words.
fn positives(err: &PestError<Rule>) -> BTreeSet<Want> {
    match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().filter_map(|r| want(*r)).collect()
        }
        ErrorVariant::CustomError { .. } => BTreeSet::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Building the syntax tree from pest pairs

type P<'i> = Pair<'i, Rule>;

/// Builds AST nodes from the pairs of one pest call on the slice starting at `base`.
struct Build<'d> {
    base: usize,
    diags: &'d mut Vec<Diagnostic>,
}

fn child<'i>(p: &P<'i>, rule: Rule) -> Option<P<'i>> {
    p.clone().into_inner().find(|c| c.as_rule() == rule)
}

fn children<'i>(p: &P<'i>, rule: Rule) -> impl Iterator<Item = P<'i>> {
    p.clone().into_inner().filter(move |c| c.as_rule() == rule)
}

impl Build<'_> {
    /// The source span of a pair. A rule ending in an optional part (`power`, `reduction`, ...)
    /// also covers the whitespace pest skipped before trying that part, so the end is taken from the
    /// last token (every token is a leaf pair).
    fn span(&self, p: &P<'_>) -> Span {
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

    fn ident(&self, p: &P<'_>) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(p),
        }
    }

    /// `H` or `H = 1`; the default must be a positive whole number.
    fn dim_decl(&mut self, p: &P<'_>) -> Option<DimDecl> {
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

    fn idents(&self, p: &P<'_>, rule: Rule) -> Vec<Ident> {
        children(p, rule).map(|c| self.ident(&c)).collect()
    }

    /// A `number` pair; must be finite.
    fn number(&mut self, p: &P<'_>) -> f64 {
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
    fn signed(&mut self, p: &P<'_>) -> f64 {
        let negative = child(p, Rule::minus).is_some();
        let value = child(p, Rule::number).map_or(0.0, |n| self.number(&n));
        if negative {
            -value
        } else {
            value
        }
    }

    fn const_decl(&mut self, p: P<'_>) -> Option<ConstDecl> {
        let name = self.ident(&child(&p, Rule::name)?);
        let default = self.signed(&child(&p, Rule::signed_number)?);
        Some(ConstDecl {
            name,
            default,
            span: self.span(&p),
        })
    }

    fn stmt(&mut self, p: P<'_>) -> Option<Stmt> {
        let inner = p.into_inner().next()?;
        let span = self.span(&inner);
        Some(match inner.as_rule() {
            Rule::dims_stmt => Stmt::Dims(
                children(&inner, Rule::dim_decl)
                    .filter_map(|d| self.dim_decl(&d))
                    .collect(),
            ),
            Rule::self_loops_stmt => Stmt::SelfLoops(span),
            Rule::output_stmt => Stmt::Output(self.ident(&child(&inner, Rule::name)?)),
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

    fn decl(&mut self, p: &P<'_>) -> Option<TensorDecl> {
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
                external_shape = Some(
                    children(&shape, Rule::dim_product)
                        .map(|d| DimProduct {
                            factors: self.idents(&d, Rule::dim_name),
                            span: self.span(&d),
                        })
                        .collect(),
                );
            }
        }
        let classes = child(p, Rule::classes)
            .and_then(|c| child(&c, Rule::dim_name))
            .map(|d| self.ident(&d));
        Some(TensorDecl {
            kind,
            name: self.ident(&child(p, Rule::name)?),
            axes,
            external,
            external_shape,
            classes,
            span: self.span(p),
        })
    }

    fn layer_call(&mut self, p: &P<'_>) -> Option<LayerCall> {
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

    fn lhs_indices(&mut self, p: &P<'_>) -> Option<Vec<LhsIndex>> {
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

    fn edge_index(&self, p: &P<'_>) -> Option<Index> {
        let names = self.idents(p, Rule::index_name);
        Some(Index::Edge {
            target: names.first()?.clone(),
            source: names.get(1)?.clone(),
            span: self.span(p),
        })
    }

    /// Folds `operand (op operand)*` left-associatively; spans run from the first operand's pair.
    fn chain(&mut self, p: P<'_>, operand: fn(&mut Self, P<'_>) -> Option<Expr>) -> Option<Expr> {
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

    fn expr(&mut self, p: P<'_>) -> Option<Expr> {
        self.chain(p, Self::product)
    }

    fn product(&mut self, p: P<'_>) -> Option<Expr> {
        self.chain(p, Self::unary)
    }

    fn unary(&mut self, p: P<'_>) -> Option<Expr> {
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

    fn binder(&mut self, op: ReduceOp, p: &P<'_>) -> Option<Binder> {
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

    fn power(&mut self, p: P<'_>) -> Option<Expr> {
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

    fn primary(&mut self, p: P<'_>) -> Option<Expr> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const LAYER: &str = "layer gatv2(slope = 0.2) {
        dims F, H, C;
        self_loops;
        input x[n: node, f: F];
        param W[h: H, c: C, f: F] as \"lin.weight\" [H*C, F];
        labels y[n: node] classes K;
        xl[n, h, c] = sum_f W[h, c, f] * x[n, f];
        s[i <- j, h] = sum_c leaky_relu(xl[j, h, c] + xl[i, h, c], slope);
        a[i <- j, h] = softmax_j s[i <- j, h];
        out[i, h, c] = sum_{j -> i} a[i <- j, h] * xl[j, h, c];
        output out;
        attention a;
    }
    model m(p = 0.5) {
        h[n, d] = c1: gatv2(x, slope = p);
        loss = cross_entropy(h, y, mask1);
    }";

    /// The whole-file rule and the statement-by-statement driver agree on valid input.
    #[test]
    fn file_rule_accepts_what_the_driver_accepts() {
        assert!(GatParser::parse(Rule::file, LAYER).is_ok());
        assert!(parse(LAYER).is_ok());
        let bad = LAYER.replace("x[n, f];", "x[n, 0];");
        assert!(GatParser::parse(Rule::file, &bad).is_err());
        assert!(parse(&bad).is_err());
    }

    #[test]
    fn scanner_matches_grammar_tokens() {
        let src = "sum_{j -> i} x1[i <- j] ^ -1.5e-3 \"s\" /* c */ // d\n é";
        let mut pos = 0;
        let mut toks = Vec::new();
        loop {
            let t = token_at(src, skip_trivia(src, pos));
            if t.kind == TokKind::Eof {
                break;
            }
            toks.push(t.text);
            pos = t.end;
        }
        assert_eq!(
            toks,
            [
                "sum_", "{", "j", "->", "i", "}", "x1", "[", "i", "<-", "j", "]", "^", "-",
                "1.5e-3", "\"s\"", "é"
            ]
        );
    }

    #[test]
    fn reserved_words_match_the_grammar() {
        for word in [
            "layer",
            "node",
            "sum",
            "sum_x",
            "mean_",
            "softmax_y",
            "as",
            "classes",
        ] {
            assert!(reserved_word(word), "{word}");
            assert!(GatParser::parse(Rule::name, word).is_err(), "{word}");
        }
        for word in ["summary", "nodes", "as_", "layer2", "x_sum_", "_"] {
            assert!(!reserved_word(word), "{word}");
            let p = GatParser::parse(Rule::name, word).unwrap().next().unwrap();
            assert_eq!(p.as_str(), word);
        }
    }
}

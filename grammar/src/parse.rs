//! Parsing `.gat` text into the [`ast`](crate::ast) with readable, recoverable syntax errors.
//!
//! The grammar is `gat.pest`. The driver (`recovery.rs`) parses each block header (`block_head`)
//! and each statement (`stmt`) with a separate pest call, so that after a failing statement it can
//! skip to the next `;` (or the `}` ending the block) and go on: one file can report several syntax
//! errors. A small hand-written scanner (`scanner.rs`, same tokens and trivia as the grammar) is
//! used only for that recovery, for naming the offending token and for the nesting limits;
//! `syntax_error.rs` and `expected.rs` put pest's errors into words, and the syntax tree itself is
//! built from pest's pairs (`tree.rs`).

mod expected;
mod recovery;
mod scanner;
mod syntax_error;
mod tree;

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use expected::*;
use pest::error::{Error as PestError, ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::Parser as _;
use pest_derive::Parser;
use recovery::*;
use scanner::*;
use std::collections::BTreeSet;
use syntax_error::*;
use tree::*;

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

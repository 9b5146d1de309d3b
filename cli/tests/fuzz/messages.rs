//! Inputs that produce many diagnostics or very long source lines: thousands of unused
//! parameters on one line or on as many lines, thousands of lines with an error each, an error
//! at the end of a line of thousands of characters (with tabs and multi-byte characters before
//! it). Whatever the input, what the compiler prints must stay bounded: a capped number of
//! diagnostics, lines cut around the caret.

use crate::harness::{Ctx, Input};
use crate::rng::Rng;

/// At most this many diagnostics of each kind are printed (plus one note saying how many more).
pub const MAX_SHOWN: usize = 100;
/// No printed line is longer than this (characters): source lines are cut around the caret.
pub const MAX_LINE: usize = 400;
/// No rendering is larger than this (bytes).
pub const MAX_BYTES: usize = 256 << 10;

/// A generated input full of diagnostics.
pub struct Noisy {
    /// The class of input (outcomes are counted per class).
    pub kind: &'static str,
    pub text: String,
    /// How it was made, for a report.
    pub about: String,
}

const HEADER: &str = "layer noisy() {\n    dims F;\n    input x[n: node, f: F];\n";
const FOOTER: &str = "    y[n, f] = x[n, f];\n    output y;\n}\n";

/// One noisy input.
pub fn noisy(rng: &mut Rng) -> Noisy {
    let n = *rng.pick(&[50, 150, 2000, 20000]);
    // Something in front of the interesting part of a line: tabs and multi-byte characters shift
    // columns and must not shift the caret.
    let pad = *rng.pick(&["", "\t\t", "/* é 🦀 ∑ */ ", "\t/* ααααα */\t"]);
    match rng.below(4) {
        0 => {
            let params: String = (0..n).map(|k| format!("param p{k}[f: F]; ")).collect();
            Noisy {
                kind: "unused parameters on one line",
                text: format!("{HEADER}    {pad}{params}\n{FOOTER}"),
                about: format!("{n} unused parameters on one line"),
            }
        }
        1 => {
            let params: String = (0..n)
                .map(|k| format!("    {pad}param p{k}[f: F];\n"))
                .collect();
            Noisy {
                kind: "unused parameters on many lines",
                text: format!("{HEADER}{params}{FOOTER}"),
                about: format!("{n} unused parameters, one per line"),
            }
        }
        2 => {
            let eqs: String = (0..n)
                .map(|k| format!("    {pad}t{k}[n, f] = x[n, f] * unknown{k}[n, f];\n"))
                .collect();
            Noisy {
                kind: "an error on every line",
                text: format!("{HEADER}{eqs}{FOOTER}"),
                about: format!("{n} equations reading an unknown tensor"),
            }
        }
        _ => {
            // Many short statements on one line, then an unknown name at its end.
            let eqs: String = (0..n.min(5000))
                .map(|k| format!("{pad}t{k}[n, f] = x[n, f]; "))
                .collect();
            Noisy {
                kind: "an error at the end of a long line",
                text: format!("{HEADER}    {eqs}z[n, f] = nowhere[n, f];\n{FOOTER}"),
                about: format!(
                    "{} statements on one line, then an unknown name",
                    n.min(5000)
                ),
            }
        }
    }
}

/// What is wrong with a rendering (warnings or errors), if anything: too many diagnostics of a
/// kind, a line too long, or too many bytes.
pub fn unbounded(rendered: &str) -> Option<String> {
    for head in ["error", "warning"] {
        let shown = rendered
            .lines()
            .filter(|l| l.starts_with(&format!("{head}:")) || l.starts_with(&format!("{head}[")))
            .count();
        if shown > MAX_SHOWN {
            return Some(format!("{shown} {head}s printed (at most {MAX_SHOWN})"));
        }
    }
    if let Some((k, l)) = rendered
        .lines()
        .enumerate()
        .find(|(_, l)| l.chars().count() > MAX_LINE)
    {
        return Some(format!(
            "line {} of the rendering has {} characters (at most {MAX_LINE})",
            k + 1,
            l.chars().count()
        ));
    }
    if rendered.len() > MAX_BYTES {
        return Some(format!(
            "{} bytes printed (at most {MAX_BYTES})",
            rendered.len()
        ));
    }
    None
}

/// One iteration of the campaign: a noisy input, whose rendering must be bounded and not empty.
pub fn iteration(rng: &mut Rng, ctx: &mut Ctx) {
    let g = noisy(rng);
    let input = || Input::Large {
        text: g.text.clone(),
        about: g.about.clone(),
    };
    let result = ctx.check(
        "compile",
        g.text.as_bytes(),
        input,
        || match gatgrad::compile("noisy.gat", &g.text) {
            Ok(c) => c.warnings,
            Err(e) => e.rendered,
        },
    );
    let outcome = match result {
        None => "PANIC",
        Some(rendered) if rendered.trim().is_empty() => {
            let why = "no diagnostic printed".to_string();
            ctx.fail("compile", "nothing printed", why, input());
            "nothing printed"
        }
        Some(rendered) => match unbounded(&rendered) {
            None => "bounded",
            Some(why) => {
                ctx.fail("compile", "unbounded messages", why, input());
                "UNBOUNDED"
            }
        },
    };
    ctx.tally(g.kind, outcome);
}

//! Ambiguous programs: `models/gatv2_two_layer.gat` with one thing said twice (a loss, an
//! output, an attention statement, a layer constant, a keyword argument of a call, a layer-call
//! prefix, a parameter's file name, a dimension, a tensor definition) or a layer call missing its
//! input. Each must be an error — never "the last one wins" — and where two statements clash the
//! message must point at both.

use crate::harness::{Ctx, Input};
use crate::rng::Rng;

/// The model every mutation starts from.
pub const BASE: &str = "models/gatv2_two_layer.gat";

/// A mutated model and what its error must mention.
pub struct Ambiguous {
    /// The class of mutation (outcomes are counted per class).
    pub kind: &'static str,
    pub text: String,
    /// What was changed, for a report.
    pub about: String,
    /// The 1-based lines the error must mention (`file:LINE:`), or `None` for the unchanged
    /// model, which must compile.
    pub lines: Option<Vec<usize>>,
}

/// The 1-based number of the first line of `lines` (from index `from`) containing `needle`.
fn find(lines: &[String], from: usize, needle: &str) -> usize {
    from + lines[from..]
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not found in {BASE}"))
        + 1
}

/// One ambiguous mutation of `base` (the text of [`BASE`]), or now and then `base` itself.
pub fn ambiguous(rng: &mut Rng, base: &str) -> Ambiguous {
    let mut lines: Vec<String> = base.lines().map(String::from).collect();
    // The layer the mutation goes into: `gatv2` (concatenated heads) or `gatv2_mean`.
    let layer = if rng.chance(1, 2) {
        "layer gatv2("
    } else {
        "layer gatv2_mean("
    };
    let start = find(&lines, 0, layer) - 1;
    let model = find(&lines, 0, "model gatv2_two_layer") - 1;
    // Inserts `text` after 1-based line `after`; returns the new line's number.
    let insert = |lines: &mut Vec<String>, after: usize, text: String| {
        lines.insert(after, text);
        after + 1
    };
    let (kind, about, wanted): (&'static str, String, Option<Vec<usize>>) = match rng.below(11) {
        0 => {
            let first = find(&lines, model, "loss = cross_entropy");
            let end = find(&lines, model, "output out;");
            let name = rng.pick(&["loss", "loss2"]);
            let second = insert(
                &mut lines,
                rng.range(first, end),
                format!("    {name} = cross_entropy(out, y, train_mask);"),
            );
            (
                "two losses",
                format!("a second loss `{name}`"),
                Some(vec![first, second]),
            )
        }
        1 => {
            let (from, what) = if rng.chance(1, 2) {
                (model, "out")
            } else {
                (start, *rng.pick(&["out", "xl", "z"]))
            };
            let first = find(&lines, from, "output out;");
            let second = insert(&mut lines, first, format!("    output {what};"));
            (
                "two outputs",
                format!("`output {what};` after `output out;`"),
                Some(vec![first, second]),
            )
        }
        2 => {
            let first = find(&lines, start, "attention a;");
            let what = rng.pick(&["a", "alpha", "s"]);
            let second = insert(&mut lines, first, format!("    attention {what};"));
            (
                "two attention statements",
                format!("`attention {what};` added"),
                Some(vec![first, second]),
            )
        }
        3 => {
            let at = start + 1;
            let constant = rng.pick(&["slope = 0.1", "dropout = 0.5", "slope = 0.2"]);
            lines[at - 1] = lines[at - 1].replace(") {", &format!(", {constant}) {{"));
            (
                "layer constant twice",
                format!("`{constant}` added to `{layer}`"),
                Some(vec![at]),
            )
        }
        4 => {
            let at = find(&lines, model, "conv1: gatv2(");
            let arg = rng.pick(&[
                "dropout = 0.5",
                "dropout = dropout",
                "slope = 0.1, slope = 0.3",
            ]);
            lines[at - 1] = lines[at - 1].replace(");", &format!(", {arg});"));
            let about = format!("`{arg}` added to the call of conv1");
            let kind = if arg.starts_with("dropout") {
                "keyword argument twice"
            } else {
                "keyword argument twice (new name)"
            };
            (kind, about, Some(vec![at]))
        }
        5 => {
            let first = find(&lines, model, "conv1: gatv2(");
            let second = find(&lines, model, "conv2: gatv2_mean(");
            lines[second - 1] = lines[second - 1].replace("conv2:", "conv1:");
            (
                "one prefix for two calls",
                "conv2 renamed conv1".into(),
                Some(vec![first, second]),
            )
        }
        6 => {
            let (at, call) = if rng.chance(1, 2) {
                (find(&lines, model, "conv1: gatv2("), "conv1")
            } else {
                (find(&lines, model, "conv2: gatv2_mean("), "conv2")
            };
            let line = &lines[at - 1];
            let open = line.find('(').expect("a call");
            let comma = line[open..].find(", ").map(|c| open + c);
            lines[at - 1] = match comma {
                Some(c) => format!("{}{}", &line[..=open], &line[c + 2..]),
                None => line.clone(),
            };
            (
                "call without its input",
                format!("the input of {call} removed"),
                Some(vec![at]),
            )
        }
        7 => {
            let first = find(&lines, start, "as \"lin_l.bias\"");
            let second = find(&lines, start, "as \"lin_r.bias\"");
            lines[second - 1] = lines[second - 1].replace("lin_r.bias", "lin_l.bias");
            (
                "file name twice",
                "b_r stored as \"lin_l.bias\" too".into(),
                Some(vec![first, second]),
            )
        }
        8 => {
            let at = find(&lines, start, "dims F, H, C;");
            let dim = rng.pick(&["H", "F", "C"]);
            lines[at - 1] = lines[at - 1].replace("C;", &format!("C, {dim};"));
            (
                "dimension twice",
                format!("`{dim}` declared twice in `{layer}`"),
                Some(vec![at]),
            )
        }
        9 => {
            let first = find(&lines, start, "xr[n, h, c] = ");
            let end = find(&lines, start, "output out;");
            let second = insert(
                &mut lines,
                rng.range(first, end - 1),
                "    xr[n, h, c] = sum_f W_l[h, c, f] * x[n, f];".into(),
            );
            (
                "tensor defined twice",
                "a second definition of xr".into(),
                Some(vec![first, second]),
            )
        }
        _ => ("unchanged", "the model itself".into(), None),
    };
    let mut text = lines.join("\n");
    text.push('\n');
    Ambiguous {
        kind,
        text,
        about,
        lines: wanted,
    }
}

/// One iteration of the campaign: a mutation of `base` refused naming every place, or the
/// unchanged model compiled.
pub fn iteration(rng: &mut Rng, ctx: &mut Ctx, base: &str) {
    let Ambiguous {
        kind,
        text,
        about,
        lines,
    } = ambiguous(rng, base);
    let input = || Input::Text {
        text: text.clone(),
        note: format!("{BASE} with {about}"),
    };
    let outcome = match (
        ctx.check("compile", text.as_bytes(), input, || {
            gatgrad::compile(BASE, &text)
        }),
        lines,
    ) {
        (None, _) => "PANIC",
        (Some(Ok(_)), None) => "compiles",
        (Some(Err(e)), None) => {
            ctx.fail(
                "compile",
                "the unchanged model refused",
                e.rendered,
                input(),
            );
            "REFUSED"
        }
        (Some(Ok(_)), Some(_)) => {
            let why = "accepted: one of the two silently wins".to_string();
            ctx.fail("compile", kind, why, input());
            "ACCEPTED"
        }
        (Some(Err(e)), Some(lines)) => {
            let missing: Vec<String> = lines
                .iter()
                .filter(|l| !e.rendered.contains(&format!("{BASE}:{l}:")))
                .map(|l| l.to_string())
                .collect();
            if missing.is_empty() {
                "refused, every place named"
            } else {
                let why = format!("line(s) {} not named:\n{}", missing.join(", "), e.rendered);
                ctx.fail("compile", kind, why, input());
                "refused, a place not named"
            }
        }
    };
    ctx.tally(kind, outcome);
}

//! Edits that cannot change the computation keep the canonical text; edits that can change it.

use super::*;

fn canon(text: &str) -> String {
    let p = crate::compile_source("test", text)
        .unwrap_or_else(|f| panic!("{}\n{text}", f.rendered))
        .0;
    canonical_text(&p)
}

fn zoo() -> Vec<(String, String)> {
    crate::zoo_sources()
}

/// Comments removed, a comment after every statement, every space doubled, blank lines added.
fn respaced(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| {
            let l = l.replace(' ', "  ");
            if l.trim_end().ends_with(';') {
                format!("{l} // noted\n\n")
            } else {
                format!("\t{l}\n")
            }
        })
        .collect()
}

/// Replaces the first occurrence of `from` after the first `at` (or returns `None`).
fn edit(text: &str, at: &str, from: &str, to: &str) -> Option<String> {
    let start = text.find(at)?;
    let k = start + text[start..].find(from)?;
    Some(format!("{}{to}{}", &text[..k], &text[k + from.len()..]))
}

#[test]
fn spacing_and_comments_do_not_count() {
    for (file, text) in zoo() {
        assert_eq!(canon(&text), canon(&respaced(&text)), "{file}");
    }
}

#[test]
fn names_of_bound_indices_do_not_count() {
    let a = "layer l() { dims F, H; input x[n: node, f: F]; param w[h: H, f: F];
        y[n, h] = sum_f w[h, f] * x[n, f]; z[i, h] = sum_{j -> i} y[j, h]; output z; }";
    let b = "layer l() { dims F, H; input x[v: node, g: F]; param w[k: H, g: F];
        y[m, q] = sum_g w[q, g] * x[m, g]; z[t, q] = sum_{s -> t} y[s, q]; output z; }";
    assert_eq!(canon(a), canon(b));
    // The same indices in another place are another equation.
    let c = "layer l() { dims F, H; input x[n: node, f: F]; param w[h: H, f: F];
        y[n, h] = sum_f w[h, f] * x[n, f]; z[i, h] = sum_{j -> i} y[i, h]; output z; }";
    assert_ne!(canon(a), canon(c));
}

#[test]
fn every_equation_constant_and_declaration_counts() {
    let mut changed = 0;
    for (file, text) in zoo() {
        let base = canon(&text);
        // The block that compiles: a model's constants override its layers' defaults.
        let entry = if text.contains("\nmodel ") {
            "\nmodel "
        } else {
            "\nlayer "
        };
        let mutations = [
            ("a PyG name", edit(&text, "param ", "as \"", "as \"other_")),
            ("an operator", edit(&text, "] = ", " + ", " - ")),
            ("a constant", edit(&text, entry, "= 0.", "= 0.03")),
            ("a file shape", edit(&text, "param ", "[H*C", "[C*H")),
            (
                "a display name",
                edit(&text, "param ", "param ", "param renamed_"),
            ),
            ("a function", edit(&text, "] = ", "leaky_relu(", "elu(")),
        ];
        for (what, m) in mutations {
            let Some(m) = m else { continue };
            // A rename makes the file refer to a tensor that no longer exists: keep only the
            // edits that still compile.
            let Ok((p, _)) = crate::compile_source("test", &m) else {
                continue;
            };
            assert_ne!(base, canonical_text(&p), "{file}: changing {what}");
            changed += 1;
        }
    }
    assert!(changed >= 30, "only {changed} mutations compiled");
}

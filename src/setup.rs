//! The GAT paper's two-layer training setup built from a single layer, by the layer's roles: its
//! node input, its node output, its dropout-rate constants and its attention (see
//! [`gatgrad_codegen::facts`]). `models/gatv2_two_layer.gat` is this setup written by hand.
//!
//! The model drops out the inputs, runs the layer as `conv1`, applies ELU and dropout, and runs the
//! layer again as the output layer `conv2`, with cross-entropy on the training nodes; parameters
//! are named `conv1.*` and `conv2.*` as PyG's `state_dict`. Every dropout rate of the layer is
//! given the model's `dropout`. The sizes are not written: training gives the hidden layer
//! `heads × hidden` and the output layer `out_heads` heads (one by default, PyG's
//! `concat=False, heads=1` when the layer concatenates its heads) and the class count.

use crate::compile::compile;
use gatgrad_codegen::facts::facts;
use gatgrad_codegen::ir::{Domain, Role};
use gatgrad_grammar::ast::BlockKind;

/// The source text of the two-layer model built from the layer in `text` (a file of `layer`
/// blocks; with several, the last one — the one `gatgrad check` compiles — is used, and only it
/// is copied). `name` is the file's name in messages. Errors name what the layer lacks.
pub fn two_layer_setup(name: &str, text: &str) -> Result<String, String> {
    let compiled = compile(name, text).map_err(|e| e.rendered)?;
    let file = gatgrad_grammar::parse(text)
        .map_err(|_| format!("{name}: the file compiles but does not parse: a gatgrad bug"))?;
    if file.blocks.iter().any(|b| b.kind == BlockKind::Model) {
        return Err(format!(
            "{name} has a `model` block: it runs as written, not in the two-layer setup"
        ));
    }
    let Some(layer) = file.blocks.last() else {
        return Err(format!("{name} has no layer"));
    };
    let p = &compiled.program;
    let f = facts(p);
    let lname = &layer.name.name;
    let inputs: Vec<_> = p.tensors.iter().filter(|t| t.role == Role::Input).collect();
    let (Some(_), [_]) = (f.input, inputs.as_slice()) else {
        let names: Vec<&str> = inputs.iter().map(|t| t.name.as_str()).collect();
        return Err(format!(
            "{name}: layer `{lname}` must have exactly one input, a node tensor with one feature \
             axis (`input x[n: node, f: F];`), to run in the two-layer setup; it has {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                format!("`{}`", names.join("`, `"))
            }
        ));
    };
    let out = p.tensor(p.output);
    if out.domain != Domain::Node {
        return Err(format!(
            "{name}: the output `{}` of layer `{lname}` must be a node tensor to feed the next \
             layer and the loss",
            out.name
        ));
    }
    if f.layers.iter().all(|l| l.softmax.is_empty()) {
        return Err(format!(
            "{name}: layer `{lname}` has no softmax: the two-layer setup is for attention layers"
        ));
    }
    let rates: String = f
        .dropout_rates
        .iter()
        .map(|s| format!(", {} = dropout", p.scalars[s.index()].name))
        .collect();
    let block = &text[layer.span.start..layer.span.end];
    let model = format!("{lname}_two_layer_setup");
    Ok(format!(
        "// The GAT paper's two-layer setup built from layer `{lname}` by gatgrad::setup::two_layer_setup:
// dropout on the inputs, conv1, ELU, dropout, conv2 as the output layer (one head by default),
// cross-entropy on the training nodes.

{block}

model {model}(dropout = 0.6) {{
    dims F, K;
    input  x[n: node, f: F];
    labels y[n: node] classes K;
    mask   train_mask[n: node];

    x0[n, f]  = dropout(x[n, f], dropout);
    h1[n, d]  = conv1: {lname}(x0{rates});
    h2[n, d]  = dropout(elu(h1[n, d], 1.0), dropout);
    out[n, k] = conv2: {lname}(h2{rates});

    loss = cross_entropy(out, y, train_mask);
    output out;
}}
"
    ))
}

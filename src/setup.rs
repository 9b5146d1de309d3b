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
//!
//! A layer with edge inputs (`input e[i <- j, d: D] as "edge_attr";`, PyG's `edge_dim`) gets
//! them from the model: the model declares each as its own input under the same external name and
//! passes it to both layers, as PyG passes one `edge_attr` to every convolution; a layer with
//! `self_loops;` fills its loops' features with PyG's `fill_value="mean"`.

use crate::compile::compile;
use gatgrad_codegen::facts::facts;
use gatgrad_codegen::ir::{Domain, Program, Role, TensorId};
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
    let Some(x) = f.input else {
        return Err(
            several_axes_error(name, lname, p).unwrap_or_else(|| input_error(name, lname, p))
        );
    };
    // The layer's inputs in the order its calls pass them: the node input, and edge features
    // that the model declares as its own inputs and passes to both layers.
    let mut edge_decls = String::new();
    let mut first_args = Vec::new();
    let mut second_args = Vec::new();
    for (id, t) in p.tensors.iter().enumerate() {
        if t.role != Role::Input {
            continue;
        }
        if TensorId(id as u32) == x {
            first_args.push("x0".to_string());
            second_args.push("h2".to_string());
            continue;
        }
        let (Domain::Edge(_), [_]) = (t.domain, t.dims.as_slice()) else {
            return Err(input_error(name, lname, p));
        };
        // The model's input has the layer's name unless the model uses that name itself.
        let arg = match t.name.as_str() {
            "x" | "x0" | "h1" | "h2" | "out" | "y" | "train_mask" | "loss" => {
                format!("edge_{}", t.name)
            }
            name => name.to_string(),
        };
        let dim = edge_dim(edge_decls.lines().count());
        edge_decls.push_str(&format!(
            "    input  {arg}[i <- j, d: {dim}] as \"{}\";\n",
            t.external
        ));
        first_args.push(arg.clone());
        second_args.push(arg);
    }
    let dims: String = (0..edge_decls.lines().count())
        .map(|k| format!(", {}", edge_dim(k)))
        .collect();
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
    // The output layer must map to the class count: a layer whose output only has widths of its
    // input (AGNN propagates features without a transform) cannot.
    let input_dims: Vec<_> = p.tensor(x).dims.iter().map(|d| p.dim_root(*d)).collect();
    if out
        .dims
        .iter()
        .all(|d| input_dims.contains(&p.dim_root(*d)))
    {
        let x_name = &p.tensor(x).name;
        return Err(format!(
            "{name}: layer `{lname}` keeps the width of its input (`{}` has only the sizes of \
             `{x_name}`), so it cannot map features to classes as the two-layer setup's output \
             layer; write a `model` block with a layer that does",
            out.name
        ));
    }
    let rates: String = f
        .dropout_rates
        .iter()
        .map(|s| format!(", {} = dropout", p.scalars[s.index()].name))
        .collect();
    let block = &text[layer.span.start..layer.span.end];
    let model = format!("{lname}_two_layer_setup");
    let (first, second) = (first_args.join(", "), second_args.join(", "));
    Ok(format!(
        "// The GAT paper's two-layer setup built from layer `{lname}` by gatgrad::setup::two_layer_setup:
// dropout on the inputs, conv1, ELU, dropout, conv2 as the output layer (one head by default),
// cross-entropy on the training nodes.

{block}

model {model}(dropout = 0.6) {{
    dims F, K{dims};
    input  x[n: node, f: F];
{edge_decls}    labels y[n: node] classes K;
    mask   train_mask[n: node];

    x0[n, f]  = dropout(x[n, f], dropout);
    h1[n, d]  = conv1: {lname}({first}{rates});
    h2[n, d]  = dropout(elu(h1[n, d], 1.0), dropout);
    out[n, k] = conv2: {lname}({second}{rates});

    loss = cross_entropy(out, y, train_mask);
    output out;
}}
"
    ))
}

/// The model's name for the feature width of its `k`-th edge input: `D`, `D2`, `D3`, ...
fn edge_dim(k: usize) -> String {
    match k {
        0 => "D".to_string(),
        k => format!("D{}", k + 1),
    }
}

/// Why a layer whose node input has several feature axes (DGL's identity residual reads its
/// input as `[node, H, C]`) does not fit the two-layer setup, or `None` when it has no such input.
fn several_axes_error(name: &str, lname: &str, p: &Program) -> Option<String> {
    let x = p
        .tensors
        .iter()
        .find(|t| t.role == Role::Input && t.domain == Domain::Node && t.dims.len() > 1)?;
    let dim = |d: &gatgrad_codegen::ir::DimId| p.dims[p.dim_root(*d).index()].name.clone();
    let axes: Vec<String> = x.dims.iter().map(dim).collect();
    let out = p.tensor(p.output);
    let roots = |t: &gatgrad_codegen::ir::Tensor| -> Vec<_> {
        t.dims.iter().map(|d| p.dim_root(*d)).collect()
    };
    let out_roots = roots(out);
    let why = if roots(x).iter().all(|d| out_roots.contains(d)) {
        format!(
            ", so its input width is tied to its output's {} (an identity residual)",
            axes.join("·")
        )
    } else {
        String::new()
    };
    Some(format!(
        "{name}: layer `{lname}` cannot run in the two-layer setup: its node input `{}` has the \
         feature axes [{}]{why}, but the setup feeds one layer the dataset's features and the \
         other the hidden features, two different widths; it needs one feature axis \
         (`input x[n: node, f: F];`), or write a `model` block",
        x.name,
        axes.join(", ")
    ))
}

/// Why the inputs of layer `lname` in file `name` do not fit the two-layer setup.
fn input_error(name: &str, lname: &str, p: &Program) -> String {
    let names: Vec<&str> = p
        .tensors
        .iter()
        .filter(|t| t.role == Role::Input)
        .map(|t| t.name.as_str())
        .collect();
    format!(
        "{name}: layer `{lname}` must have one node input with one feature axis \
         (`input x[n: node, f: F];`) and may have edge inputs with one feature axis \
         (`input e[i <- j, d: D] as \"edge_attr\";`), to run in the two-layer setup; it has {}",
        if names.is_empty() {
            "none".to_string()
        } else {
            format!("`{}`", names.join("`, `"))
        }
    )
}

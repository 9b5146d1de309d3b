//! The two-layer training setup built from a single layer by its roles
//! (`gatgrad::setup::two_layer_setup`), and training with a layer that concatenates its heads
//! used as the output layer (one head, K = H·C with H = 1).

use gatgrad::codegen::facts::facts;
use gatgrad::codegen::ir::Role;
use gatgrad::runtime::Dataset;
use gatgrad::setup::two_layer_setup;
use gatgrad::train::{train, TrainConfig};

/// A file with the files it `use`s: a self-contained program.
fn read(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    gatgrad::gather_file(&full).unwrap().source.text
}

const FIXTURE: &str = "tests/fixtures/setup/gatv2.gat";

/// The fixture the model below is compiled from is what `two_layer_setup` writes today
/// (`GATGRAD_BLESS=1` rewrites it).
#[test]
fn the_fixture_is_up_to_date() {
    let made = two_layer_setup("models/gatv2.gat", &read("models/gatv2.gat")).unwrap();
    if std::env::var_os("GATGRAD_BLESS").is_some() {
        std::fs::write(format!("{}/{FIXTURE}", env!("CARGO_MANIFEST_DIR")), &made).unwrap();
    }
    assert_eq!(
        made,
        read(FIXTURE),
        "rerun with GATGRAD_BLESS=1 to rewrite {FIXTURE}"
    );
}

/// Every single-layer file of the zoo makes a model that compiles, with the layer's parameters
/// under `conv1.` and `conv2.`, two layer instances of the layer's heads, and the data roles.
#[test]
fn every_single_layer_of_the_zoo_makes_a_two_layer_model() {
    let mut made = 0;
    for file in gatgrad::zoo::FILES {
        let text = read(file);
        let layer = gatgrad::compile(file, &text).unwrap().program;
        if layer.loss.is_some() {
            assert!(two_layer_setup(file, &text)
                .unwrap_err()
                .contains("runs as written"));
            continue;
        }
        // A layer whose output has only its input's sizes (AGNN) cannot map to the classes.
        let out_dims = &layer.tensor(layer.output).dims;
        let input = layer
            .tensors
            .iter()
            .find(|t| t.role == Role::Input && t.domain == gatgrad::codegen::ir::Domain::Node)
            .unwrap();
        let roots = |ds: &[gatgrad::codegen::ir::DimId]| -> Vec<_> {
            ds.iter().map(|d| layer.dim_root(*d)).collect()
        };
        let (out_roots, in_roots) = (roots(out_dims), roots(&input.dims));
        if out_roots.iter().all(|d| in_roots.contains(d)) {
            let e = two_layer_setup(file, &text).unwrap_err();
            // An input viewed as several axes (DGL's identity residual reads `[N, H*C]` as
            // `[N, H, C]`) is refused for its form, with the width it is tied to.
            let why = if input.dims.len() > 1 {
                "its input width is tied to its output's H·C"
            } else {
                "keeps the width of its input"
            };
            assert!(e.contains(why), "{file}: {e}");
            continue;
        }
        let model_text = two_layer_setup(file, &text).unwrap();
        let model = gatgrad::compile("setup", &model_text)
            .unwrap_or_else(|e| panic!("{file}:\n{e}\n{model_text}"))
            .program;
        let params = |p: &gatgrad::codegen::ir::Program| -> Vec<String> {
            p.tensors
                .iter()
                .filter(|t| t.role == Role::Param)
                .map(|t| t.external.clone())
                .collect()
        };
        let mut want: Vec<String> = ["conv1.", "conv2."]
            .iter()
            .flat_map(|c| params(&layer).into_iter().map(move |n| format!("{c}{n}")))
            .collect();
        let mut got = params(&model);
        want.sort();
        got.sort();
        assert_eq!(got, want, "{file}");
        let (lf, mf) = (facts(&layer), facts(&model));
        assert!(
            mf.features.is_some() && mf.classes.is_some() && mf.mask.is_some(),
            "{file}"
        );
        assert_eq!(mf.layers.len(), 2, "{file}");
        assert_eq!(mf.output_layer, Some(1), "{file}");
        for l in &mf.layers {
            assert_eq!(l.heads.len(), lf.layers[0].heads.len(), "{file}");
            assert_eq!(l.concat, lf.layers[0].concat, "{file}");
        }
        // Each instance's dropout rate is the model's.
        let rates: Vec<&str> = mf
            .dropout_rates
            .iter()
            .map(|s| model.scalars[s.index()].name.as_str())
            .collect();
        assert_eq!(rates, ["dropout"], "{file}");
        made += 1;
    }
    assert!(made >= 6, "only {made} single-layer files");
}

#[test]
fn a_layer_with_two_node_inputs_is_refused_by_name() {
    let text = "layer two() {
        dims F;
        input x[n: node, f: F];
        input z[n: node, f: F];
        a[i <- j] = softmax_j sum_f z[i, f] * x[j, f];
        out[i, f] = sum_{j -> i} a[i <- j] * x[j, f];
        output out;
    }";
    let e = two_layer_setup("two.gat", text).unwrap_err();
    assert!(
        e.contains("must have one node input") && e.contains("`x`, `z`"),
        "{e}"
    );
}

/// A layer with edge features (PyG's `edge_dim`): the model declares them as its own input,
/// read from `edge_attr`, and passes them to both layers, which read one self-loop fill of them.
#[test]
fn edge_inputs_go_to_both_layers_through_one_fill() {
    use gatgrad::codegen::ir::{Domain, Rhs};
    let file = "examples/pyg/gatv2_edge_attr.gat";
    let made = two_layer_setup(file, &read(file)).unwrap();
    for line in [
        "    dims F, K, D;",
        "    input  e[i <- j, d: D] as \"edge_attr\";",
        "    h1[n, d]  = conv1: gatv2_edge_attr(x0, e, dropout = dropout);",
        "    out[n, k] = conv2: gatv2_edge_attr(h2, e, dropout = dropout);",
    ] {
        assert!(made.lines().any(|l| l == line), "no `{line}` in\n{made}");
    }
    let p = gatgrad::compile("setup", &made).unwrap().program;
    let inputs: Vec<&str> = gatgrad::edge_inputs::edge_inputs(&p)
        .into_iter()
        .map(|t| p.tensor(t).external.as_str())
        .collect();
    assert_eq!(inputs, ["edge_attr"]);
    let fills: Vec<_> = p
        .equations
        .iter()
        .filter(|e| matches!(e.rhs, Rhs::LoopFill(_)))
        .collect();
    assert_eq!(fills.len(), 1, "one fill for both layers");
    let fill = fills[0].lhs;
    assert!(matches!(p.tensor(fill).domain, Domain::Edge(_)));
    for layer in ["conv1.z", "conv2.z"] {
        let z = p.find_tensor(layer).unwrap();
        let eq = p.equations.iter().find(|e| e.lhs == z).unwrap();
        let Rhs::Expr(x) = eq.rhs else {
            panic!("{layer}")
        };
        let mut read = Vec::new();
        p.tensors_read(x, &mut read);
        assert!(read.contains(&fill), "{layer} does not read the fill");
    }
    for w in ["conv1.lin_edge.weight", "conv2.lin_edge.weight"] {
        assert!(p.tensors.iter().any(|t| t.external == w), "{w}");
    }
}

/// Training binds the dataset's `edge_attr`; a dataset without it is refused in one line.
#[test]
fn a_dataset_without_edge_attr_is_refused_by_the_library() {
    let file = "examples/pyg/gatv2_edge_attr.gat";
    let made = two_layer_setup(file, &read(file)).unwrap();
    let p = gatgrad::compile("setup", &made).unwrap().program;
    let cora = Dataset::builtin("cora").unwrap();
    let e = gatgrad::edge_inputs::check(&p, &cora, file).unwrap_err();
    assert_eq!(
        e,
        "dataset `cora` has no `edge_attr`, which input `e` of examples/pyg/gatv2_edge_attr.gat \
         needs; use a dataset file with `edge_attr` (see data/README.md) or \
         `sparse:nodes=N,degree=D,edge_dim=W`"
    );
    let with =
        gatgrad::diagnose::synthetic::parse_spec("sparse:nodes=40,degree=2,edge_dim=3").unwrap();
    gatgrad::edge_inputs::check(&p, &with, file).unwrap();
}

/// `models/gatv2.gat`'s concatenating layer used twice, as `two_layer_setup` writes it.
#[gatgrad::derive_gradients(file = "tests/fixtures/setup/gatv2.gat")]
struct GatV2Setup;

#[test]
fn a_concatenating_output_layer_trains_with_one_head() {
    let ds = Dataset::builtin("cora").unwrap();
    let cfg = TrainConfig {
        epochs: 5,
        patience: usize::MAX,
        ..Default::default()
    };
    let r = train::<GatV2Setup>(&ds, &cfg, |_| {}).unwrap();
    assert_eq!(r.history.len(), 5);
    let shapes: Vec<(&str, &[usize])> = r
        .best_params
        .iter()
        .map(|(n, s, _)| (n.as_str(), s.as_slice()))
        .collect();
    // conv1: 8 heads of 8 channels on 1433 features; conv2: one head of 7 channels on 64.
    assert!(
        shapes.contains(&("conv1.lin_l.weight", &[64, 1433][..])),
        "{shapes:?}"
    );
    assert!(
        shapes.contains(&("conv2.lin_l.weight", &[7, 64][..])),
        "{shapes:?}"
    );
    assert!(
        shapes.contains(&("conv2.att", &[1, 1, 7][..])),
        "{shapes:?}"
    );
    let last = r.history.last().unwrap();
    assert!(last.loss < r.history[0].loss, "{:?}", r.history);
    assert!(last.train_acc > 1.0 / 7.0, "{}", last.train_acc);
}

#[test]
fn an_output_that_cannot_hold_the_classes_is_an_error() {
    let ds = Dataset::builtin("cora").unwrap();
    // Cora has 7 classes: two concatenated heads cannot make 7 logits.
    let cfg = TrainConfig {
        epochs: 1,
        out_heads: 2,
        ..Default::default()
    };
    let e = train::<GatV2Setup>(&ds, &cfg, |_| {}).unwrap_err();
    assert!(
        e.contains("7") && e.contains("multiple of the 2 output heads"),
        "{e}"
    );
}

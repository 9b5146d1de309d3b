//! Training: bitwise reproducible for a seed whatever the thread count; the sparse input path gives
//! the same numbers as the dense one; a short run learns.

use gatgrad::exec::{Generated, Session};
use gatgrad::runtime::kernels::Pattern;
use gatgrad::runtime::Dataset;
use gatgrad::synth::{dim_sizes, random_data};
use gatgrad::train::{train, TrainConfig};
use gatgrad::zoo::GatV2TwoLayer;

fn run(threads: usize, epochs: usize) -> gatgrad::train::TrainResult {
    let ds = Dataset::builtin("cora").unwrap();
    let cfg = TrainConfig {
        epochs,
        seed: 3,
        ..Default::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| train::<GatV2TwoLayer>(&ds, &cfg, |_| {}).unwrap())
}

#[test]
fn same_bits_with_one_and_two_threads() {
    let (a, b) = (run(1, 6), run(2, 6));
    assert_eq!(a.history.len(), b.history.len());
    for (x, y) in a.history.iter().zip(&b.history) {
        assert_eq!(x.loss.to_bits(), y.loss.to_bits(), "epoch {}", x.epoch);
    }
    for ((n, _, x), (_, _, y)) in a.best_params.iter().zip(&b.best_params) {
        let xb: Vec<u32> = x.iter().map(|v| v.to_bits()).collect();
        let yb: Vec<u32> = y.iter().map(|v| v.to_bits()).collect();
        assert_eq!(xb, yb, "parameter {n}");
    }
}

#[test]
fn a_short_run_learns() {
    let r = run(2, 40);
    let first = r.history.first().unwrap();
    let last = r.history.last().unwrap();
    assert!(
        last.loss < first.loss * 0.8,
        "loss {} -> {}",
        first.loss,
        last.loss
    );
    assert!(
        r.best_val_acc > 0.6,
        "validation accuracy {}",
        r.best_val_acc
    );
}

#[test]
fn sparse_input_matches_dense() {
    let p = GatV2TwoLayer::program();
    let g = gatgrad::runtime::random_graph(300, 1500, 4);
    let dims = dim_sizes(&p, |name| match name {
        "H" => 2,
        "C" => 3,
        "K" => 4,
        _ => 50,
    });
    let mut data = random_data(&p, &g, &dims, 5);
    // Make x sparse: keep ~10% of the entries.
    let x = data.reals.get_mut("x").unwrap();
    let mut indptr = vec![0];
    let mut indices = Vec::new();
    for r in 0..300 {
        for c in 0..50 {
            let k = r * 50 + c;
            if (k * 7919) % 10 == 0 {
                indices.push(c as u32);
            } else {
                x.data[k] = 0.0;
            }
        }
        indptr.push(indices.len());
    }
    let x_id = p.find_tensor("x").unwrap();
    let mut dense: Session<f64> =
        Session::new(p.clone(), &data, GatV2TwoLayer::NUM_TENSORS).unwrap();
    let mut sparse: Session<f64> =
        Session::new(p.clone(), &data, GatV2TwoLayer::NUM_TENSORS).unwrap();
    sparse.bound.set_sparse(
        &p,
        x_id,
        Pattern {
            indptr,
            indices,
            cols: 50,
        },
    );
    assert!(
        sparse.bound.sparse.len() >= 2,
        "dropout of x should inherit the pattern"
    );
    for s in [&mut dense, &mut sparse] {
        s.forward::<GatV2TwoLayer>();
        GatV2TwoLayer::backward_params(&s.bound, &mut s.values);
    }
    for (_, gt) in p
        .grads
        .iter()
        .filter(|(l, _)| p.tensor(*l).role == gatgrad::codegen::ir::Role::Param)
    {
        let (a, b) = (dense.value(*gt), sparse.value(*gt));
        let scale = a.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let err = a
            .iter()
            .zip(b)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
            / scale;
        assert!(
            err < 1e-12,
            "`{}`: sparse path differs by {err:e}",
            p.tensor(*gt).name
        );
    }
}

/// A model whose output is not one row of K logits per node: `K × K` products per node.
#[gatgrad::derive_gradients(source = r#"
model pairwise() {
    dims F, K;
    input  x[n: node, f: F];
    labels y[n: node] classes K;
    mask   train_mask[n: node];
    param  W[k: K, f: F] as "w" [K, F];

    out[n, k] = sum_f W[k, f] * x[n, f];
    pairs[n, k, j] = out[n, k] * out[n, j];

    loss = cross_entropy(out, y, train_mask);
    output pairs;
}
"#)]
struct Pairwise;

#[test]
fn an_output_without_one_row_of_logits_per_node_is_an_error() {
    let ds = Dataset::builtin("cora").unwrap();
    let cfg = TrainConfig {
        epochs: 1,
        ..Default::default()
    };
    let err = train::<Pairwise>(&ds, &cfg, |_| {}).unwrap_err();
    assert_eq!(
        err,
        "the model's output `pairs` has shape [2708, 7, 7], but training on `cora` needs one row \
         of 7 logits (one per class) for each of its 2708 nodes: [2708, 7]"
    );
}

#[test]
fn settings_that_cannot_mean_anything_are_errors() {
    let ds = Dataset::builtin("cora").unwrap();
    let run = |cfg: TrainConfig| train::<GatV2TwoLayer>(&ds, &cfg, |_| {}).unwrap_err();
    let err = run(TrainConfig {
        epochs: 0,
        lr: -1.0,
        ..Default::default()
    });
    assert!(
        err.contains("epochs must be at least 1") && err.contains("greater than 0, got -1"),
        "{err}"
    );
    let err = run(TrainConfig {
        weight_decay: f64::NAN,
        dropout: Some(1.0),
        ..Default::default()
    });
    assert!(
        err.contains("weight decay") && err.contains("dropout rate must be in [0, 1), got 1"),
        "{err}"
    );
}

#[test]
fn empty_validation_and_test_masks_are_no_data_not_zero() {
    let mut ds = Dataset::builtin("cora").unwrap();
    ds.test_mask.iter_mut().for_each(|m| *m = false);
    let cfg = TrainConfig {
        epochs: 2,
        ..Default::default()
    };
    let r = train::<GatV2TwoLayer>(&ds, &cfg, |_| {}).unwrap();
    assert!(r.test_acc.is_nan() && r.history.iter().all(|e| e.test_acc.is_nan()));
    assert!(r.best_val_acc > 0.0 && r.best_val_acc <= 1.0);
    // Early stopping needs validation nodes; without early stopping the last epoch is reported.
    ds.val_mask.iter_mut().for_each(|m| *m = false);
    let err = train::<GatV2TwoLayer>(&ds, &cfg, |_| {}).unwrap_err();
    assert!(err.contains("val_mask selects no node"), "{err}");
    let no_stop = TrainConfig {
        patience: usize::MAX,
        ..cfg
    };
    let r = train::<GatV2TwoLayer>(&ds, &no_stop, |_| {}).unwrap();
    assert!(r.best_val_acc.is_nan() && r.history.iter().all(|e| e.val_loss.is_nan()));
    assert_eq!(r.epochs, 2);
    assert!(!r.best_params.is_empty());
}

#[test]
fn a_checkpoint_missing_parameters_names_them_all() {
    let ds = Dataset::builtin("cora").unwrap();
    let short = TrainConfig {
        epochs: 1,
        ..Default::default()
    };
    let mut tensors = std::collections::HashMap::new();
    for (name, shape, data) in train::<GatV2TwoLayer>(&ds, &short, |_| {})
        .unwrap()
        .best_params
    {
        let data = data.iter().map(|&v| v as f64).collect();
        tensors.insert(name, gatgrad::runtime::Tensor { shape, data });
    }
    tensors.remove("conv2.att");
    tensors.remove("conv1.bias");
    let mut names: Vec<String> = tensors.keys().cloned().collect();
    names.sort();
    let cfg = TrainConfig {
        init: Some(gatgrad::train::Checkpoint {
            name: "ckpt.st".into(),
            tensors,
            names,
        }),
        ..short
    };
    let err = train::<GatV2TwoLayer>(&ds, &cfg, |_| {}).unwrap_err();
    assert_eq!(
        err,
        "checkpoint `ckpt.st` lacks 2 of the model's 12 parameters: `conv1.bias`, `conv2.att`"
    );
}

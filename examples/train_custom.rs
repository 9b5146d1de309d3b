//! Training your own attention variant from your own crate, in a few lines.
//!
//! The layer is GATv2 with its score nonlinearity changed to `tanh`. `#[derive_gradients]`
//! generates the forward and backward code of the two-layer model at compile time, and
//! `gatgrad::train::train` trains it on the Cora copy embedded in gatgrad, in the GAT paper's
//! setup (8 heads of 8 channels, dropout 0.6, Adam with lr 0.005 and weight decay 5e-4, early
//! stopping on validation accuracy). Pass an epoch count to stop earlier:
//!
//! ```text
//! cargo run --release --example train_custom -- 200
//! ```

use gatgrad::runtime::Dataset;
use gatgrad::train::{train, TrainConfig};

/// Two GATv2-with-tanh layers: heads concatenated, ELU, heads averaged into the classes.
#[gatgrad::derive_gradients(source = r#"
layer gatv2_tanh(dropout = 0.0) {
    dims F, H, C;
    self_loops;

    input x[n: node, f: F];
    param W_l[h: H, c: C, f: F] as "lin_l.weight" [H*C, F];
    param b_l[h: H, c: C]       as "lin_l.bias"   [H*C];
    param W_r[h: H, c: C, f: F] as "lin_r.weight" [H*C, F];
    param b_r[h: H, c: C]       as "lin_r.bias"   [H*C];
    param att[h: H, c: C]       as "att"          [1, H, C];
    param bias[h: H, c: C]      as "bias"         [H*C];

    xl[n, h, c] = sum_f W_l[h, c, f] * x[n, f] + b_l[h, c];
    xr[n, h, c] = sum_f W_r[h, c, f] * x[n, f] + b_r[h, c];

    z[i <- j, h, c]  = xl[j, h, c] + xr[i, h, c];
    s[i <- j, h]     = sum_c att[h, c] * tanh(z[i <- j, h, c]);
    a[i <- j, h]     = softmax_j s[i <- j, h];
    alpha[i <- j, h] = dropout(a[i <- j, h], dropout);

    out[i, h, c] = sum_{j -> i} alpha[i <- j, h] * xl[j, h, c] + bias[h, c];

    output out;
    attention a;
}

layer gatv2_tanh_mean(dropout = 0.0) {
    dims F, H, C;
    self_loops;

    input x[n: node, f: F];
    param W_l[h: H, c: C, f: F] as "lin_l.weight" [H*C, F];
    param b_l[h: H, c: C]       as "lin_l.bias"   [H*C];
    param W_r[h: H, c: C, f: F] as "lin_r.weight" [H*C, F];
    param b_r[h: H, c: C]       as "lin_r.bias"   [H*C];
    param att[h: H, c: C]       as "att"          [1, H, C];
    param bias[c: C]            as "bias"         [C];

    xl[n, h, c] = sum_f W_l[h, c, f] * x[n, f] + b_l[h, c];
    xr[n, h, c] = sum_f W_r[h, c, f] * x[n, f] + b_r[h, c];

    z[i <- j, h, c]  = xl[j, h, c] + xr[i, h, c];
    s[i <- j, h]     = sum_c att[h, c] * tanh(z[i <- j, h, c]);
    a[i <- j, h]     = softmax_j s[i <- j, h];
    alpha[i <- j, h] = dropout(a[i <- j, h], dropout);

    out[i, c] = mean_h sum_{j -> i} alpha[i <- j, h] * xl[j, h, c] + bias[c];

    output out;
    attention a;
}

model gatv2_tanh_two_layer(dropout = 0.6) {
    dims F, K;
    input  x[n: node, f: F];
    labels y[n: node] classes K;
    mask   train_mask[n: node];

    x0[n, f]  = dropout(x[n, f], dropout);
    h1[n, d]  = conv1: gatv2_tanh(x0, dropout = dropout);
    h2[n, d]  = dropout(elu(h1[n, d], 1.0), dropout);
    out[n, k] = conv2: gatv2_tanh_mean(h2, dropout = dropout);

    loss = cross_entropy(out, y, train_mask);
    output out;
}
"#)]
pub struct GatV2TanhTwoLayer;

fn main() -> Result<(), String> {
    let epochs = match std::env::args().nth(1) {
        Some(a) => a
            .parse()
            .map_err(|_| format!("the epoch count must be a whole number, not `{a}`"))?,
        None => TrainConfig::default().epochs,
    };
    let cora = Dataset::builtin("cora").map_err(|e| e.to_string())?;
    let cfg = TrainConfig {
        epochs,
        ..TrainConfig::default()
    };
    let result = train::<GatV2TanhTwoLayer>(&cora, &cfg, |e| {
        if e.epoch % 50 == 0 {
            eprintln!(
                "epoch {:4}: loss {:.4}, validation {:.1} %",
                e.epoch,
                e.loss,
                100.0 * e.val_acc
            );
        }
    })?;
    println!(
        "{} epochs, best validation {:.1} %, test {:.1} %, {:.1} ms per epoch",
        result.epochs,
        100.0 * result.best_val_acc,
        100.0 * result.test_acc,
        1e3 * result.seconds_per_epoch
    );
    Ok(())
}

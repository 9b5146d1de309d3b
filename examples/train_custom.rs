//! Training your own attention variant from your own crate, in a few lines.
//!
//! The first layer is GATv2 with its score nonlinearity changed to `tanh`
//! (`examples/variants/gatv2_tanh.gat`). `#[derive_gradients]` reads the two-layer file and the
//! files it `use`s, generates the forward and backward code of the model at compile time, and
//! `gatgrad::train::train` trains it on the Cora copy embedded in gatgrad, in the GAT paper's
//! setup (8 heads of 8 channels, dropout 0.6, Adam with lr 0.005 and weight decay 5e-4, early
//! stopping on validation accuracy). Pass an epoch count to stop earlier:
//!
//! ```text
//! cargo run --release --example train_custom -- 200
//! ```

use gatgrad::runtime::Dataset;
use gatgrad::train::{train, TrainConfig};

/// GATv2 with `tanh` scores, heads concatenated, ELU, then GATv2 with heads averaged into the
/// classes: `examples/variants/gatv2_tanh_two_layer.gat`, which `use`s its layer files.
#[gatgrad::derive_gradients(file = "examples/variants/gatv2_tanh_two_layer.gat")]
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

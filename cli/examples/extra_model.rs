//! An executable with one more compiled model: the whole `gatgrad` command line, plus
//! `gatv2_tanh_two_layer.gat` (next to this file), whose generated code is compiled here.
//! `train`, `diagnose` and `bench` run it for that file, which plain `gatgrad` refuses:
//!
//! ```text
//! cargo run --release -p gatgrad-cli --example extra_model -- \
//!     train cli/examples/gatv2_tanh_two_layer.gat --dataset cora --epochs 20
//! ```

use gatgrad_cli::ExtraModel;

/// GATv2 with a tanh score, two layers, in the GAT paper's setup.
#[gatgrad::derive_gradients(file = "examples/gatv2_tanh_two_layer.gat")]
pub struct GatV2TanhTwoLayer;

fn main() -> std::process::ExitCode {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/gatv2_tanh_two_layer.gat"
    );
    gatgrad_cli::main_with([ExtraModel::new::<GatV2TanhTwoLayer>(file)])
}

//! One file per subcommand: its flags (a `clap::Args` struct) and its `run`. The help of each
//! subcommand is the doc comment of its [`Command`] variant.

use crate::status::Failure;
use gatgrad::extra_model::ExtraModel;

pub mod bench;
pub mod check;
pub mod derive;
pub mod diagnose;
pub mod diff;
pub mod gen_graph;
pub mod grad;
pub mod plan;
pub mod train;

/// The subcommands of `gatgrad`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Parse and check a model; exit status 1 on errors (warnings are printed but pass).
    Check(check::Args),
    /// Print the forward equations and the derivative equations of every parameter and input.
    Derive(derive::Args),
    /// Print the kernel plan: how the generated code evaluates every forward and derivative
    /// equation, kernel by kernel (loop domain, strategy, what is stored, what is prefetched).
    ///
    /// The plan is built by a pipeline of passes; `--after PASS` shows it after that pass, so
    /// each decision can be seen on its own.
    Plan(plan::Args),
    /// Evaluate forward and gradients with the reference interpreter on a tensor file.
    ///
    /// The input file holds `x`, `edge_index` (i64 [2, E], row 0 source), `param.<name>` for every
    /// parameter (the names the file declares: PyG's or DGL's state_dict names), and `grad_out`
    /// (the upstream gradient of the output, in the layer's output layout: PyG's [N, H*C] unless
    /// the layer declares another, such as DGL's `output out as [node, H, C]`) or,
    /// for a model with a loss, its labels and mask (e.g. `y`, `train_mask`). The output file gets
    /// `out` (and `loss`), `alpha` with `alpha_edge_index` when the layer declares its attention, and
    /// `grad.<name>` for every parameter and input. Exit status 2 on bad data; no output is written.
    Grad(grad::Args),
    /// Show where two layers differ as math, not as text.
    ///
    /// Each layer's parts are found by their role: source and target transforms, score,
    /// normalisation, aggregation, residual, output bias, self-loop policy, output layout and
    /// initialisation. Prints the parts that differ (first file `-`, second `+`), the gradient
    /// equations that differ as a consequence, and the parameters paired by role
    /// (`lin_l.weight ↔ fc_src.weight`). Exit status 0 when the layers are the same function up to
    /// renaming ("equivalent"), 1 when they differ.
    ///
    /// Example: gatgrad diff models/gatv2.gat models/dgl/gatv2.gat
    Diff(diff::Args),
    /// Train several attention variants on the same data and seeds and report where they learn.
    ///
    /// Each MODEL is any checked `.gat` file: a model trains as written, a single layer in the GAT
    /// paper's two-layer setup (see `gatgrad train --help`). Every
    /// epoch records the loss and accuracies; per parameter the gradient norm, its ratio to the
    /// parameter norm, the update ratio and the fraction of zero gradients; per attention layer
    /// and head the normalised attention entropy (1 = uniform), the mean largest attention
    /// weight, the fraction of score pre-activations in the nonlinearity's flat or negative
    /// region, and the share of gradient reaching the attention parameters. At the end, the
    /// in-edges of the explained nodes are ranked by attention and by gradient saliency
    /// |α · ∂L/∂α|. Writes DIR/report.html (self-contained), DIR/metrics.jsonl,
    /// DIR/summary.json and DIR/edge_importance.csv, and prints a summary with flags (vanishing,
    /// exploding or non-finite gradients, uniform attention, stalled loss,
    /// underfitting; thresholds in the report).
    ///
    /// Example: gatgrad diagnose models/gatv2.gat models/gat_plus.gat --dataset cora --seeds 3
    /// --report out/
    Diagnose(diagnose::Args),
    /// Train a model (full batch) on a citation graph and report test accuracy and gradient flow.
    ///
    /// Runs the generated code of any checked `.gat` file. A file with a `model` block trains as
    /// written; a single layer trains in the GAT paper's two-layer setup, built from its roles:
    /// dropout, the layer as `conv1` (8 heads × 8 hidden), ELU, dropout, the layer as the output
    /// layer `conv2` (one head), cross-entropy; dropout 0.6, Adam, early stopping on validation
    /// accuracy (patience 100). Prints a progress bar, a table of gradient norms per parameter,
    /// and one JSON line with the result.
    ///
    /// The zoo's generated code is compiled into gatgrad. Any other program is compiled on first
    /// use (about 15 s; the very first build also compiles gatgrad itself, a few minutes) into a
    /// cache in GATGRAD_CACHE_DIR (default ~/.cache/gatgrad) and reused by every file of the same
    /// program, whatever its comments and spacing. This needs a Rust toolchain (cargo on PATH).
    Train(train::Args),
    /// Write a seeded random graph as `edge_index` (i64 [2, E], row 0 source): uniform (every
    /// source and target equally likely) or power-law (R-MAT, hubs with thousands of in-edges).
    /// Prints the largest in-degree.
    GenGraph(gen_graph::Args),
    /// Time forward + backward of generated code (a zoo model by name, or any `.gat` file, compiled
    /// on first use as for `train`); prints one JSON line with the median `forward_s`,
    /// `backward_s`, `total_s` and `peak_rss_mib`, and `yardstick_s`: one plain sum aggregation at
    /// width heads × channels over the same graph (the floor of edge work), with `passes`, the
    /// total in such aggregations. Self loops are added as PyG does when the model asks for them.
    Bench(bench::Args),
}

impl Command {
    /// Runs the subcommand; `extras` are the executable's extra compiled models, which `train`,
    /// `diagnose` and `bench` use for every file whose program is theirs.
    pub fn run(self, extras: &[ExtraModel]) -> Result<(), Failure> {
        match self {
            Command::Check(a) => check::run(a),
            Command::Derive(a) => derive::run(a),
            Command::Plan(a) => plan::run(a),
            Command::Grad(a) => grad::run(a),
            Command::Diagnose(a) => diagnose::run(a, extras),
            Command::Diff(a) => diff::run(a),
            Command::Train(a) => train::run(a, extras),
            Command::GenGraph(a) => gen_graph::run(a),
            Command::Bench(a) => bench::run(a, extras),
        }
    }
}

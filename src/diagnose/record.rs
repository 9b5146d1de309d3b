//! What `gatgrad diagnose` measures, as plain data: filled by the runner ([`super::run`]),
//! written out as `metrics.jsonl` / `summary.json` / CSV and drawn by the HTML report.

use super::metrics::Flag;

/// Everything one `gatgrad diagnose` invocation measured.
#[derive(Clone, Debug, Default)]
pub struct Diagnosis {
    /// Dataset name as given (`cora`, `dictlookup:k=10`, a path).
    pub dataset: String,
    /// Nodes of the dataset's graph.
    pub num_nodes: usize,
    /// Edges of the dataset's graph (before self loops).
    pub num_edges: usize,
    /// Classes.
    pub num_classes: usize,
    /// Seeds every model was trained with.
    pub seeds: Vec<u64>,
    /// Maximum number of epochs per run.
    pub max_epochs: usize,
    /// One entry per model, in command-line order.
    pub models: Vec<ModelDiagnosis>,
    /// Wall time of the whole run, in seconds.
    pub seconds: f64,
}

/// One model (variant) trained with every seed.
#[derive(Clone, Debug, Default)]
pub struct ModelDiagnosis {
    /// Short name (the file stem, e.g. `gatv2`).
    pub model: String,
    /// The `.gat` file as given.
    pub path: String,
    /// Attention layers (instance names, e.g. `conv1`, `conv2`), in forward order.
    pub layers: Vec<String>,
    /// Heads of each attention layer (same order as `layers`).
    pub heads: Vec<usize>,
    /// Parameters by PyG name (`conv1.lin_l.weight`, ...), the order of every
    /// [`EpochRecord::params`].
    pub params: Vec<String>,
    /// One run per seed.
    pub runs: Vec<SeedRun>,
    /// Means over seeds of the last epoch's accuracies and loss.
    pub final_mean: Final,
    /// Sample standard deviations over seeds of the same (0 with a single seed), so variants
    /// can be compared with their spread.
    pub final_std: Final,
    /// Every seed's flags, each distinct (kind, subject) once, noting in how many seeds it was
    /// raised.
    pub flags: Vec<(Flag, usize)>,
}

/// Accuracies and training loss at the end of training.
#[derive(Clone, Copy, Debug, Default)]
pub struct Final {
    /// Training accuracy (evaluation mode).
    pub train_acc: f64,
    /// Validation accuracy.
    pub val_acc: f64,
    /// Test accuracy.
    pub test_acc: f64,
    /// Training loss (with dropout, as optimised).
    pub loss: f64,
}

/// One training run.
#[derive(Clone, Debug, Default)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// Per epoch, oldest first.
    pub epochs: Vec<EpochRecord>,
    /// Per attention layer: the normalised entropy of every (node with in-degree ≥ 2, head)
    /// after the first epoch's forward, for histograms.
    pub entropy_first: Vec<Vec<f64>>,
    /// The same after the last epoch.
    pub entropy_last: Vec<Vec<f64>>,
    /// Edge importance for the explained nodes, at the end of training.
    pub explanations: Vec<Explanation>,
    /// This run's flags.
    pub flags: Vec<Flag>,
    /// Wall time of the run, in seconds.
    pub seconds: f64,
}

/// One epoch's measurements.
#[derive(Clone, Debug, Default)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Training loss (with dropout).
    pub loss: f64,
    /// Training accuracy (evaluation mode, after the step).
    pub train_acc: f64,
    /// Validation accuracy.
    pub val_acc: f64,
    /// Test accuracy.
    pub test_acc: f64,
    /// Per parameter, in [`ModelDiagnosis::params`] order.
    pub params: Vec<ParamRecord>,
    /// Per attention layer, in [`ModelDiagnosis::layers`] order.
    pub layers: Vec<LayerRecord>,
}

/// One parameter tensor in one epoch.
#[derive(Clone, Copy, Debug, Default)]
pub struct ParamRecord {
    /// L2 norm of the gradient.
    pub grad_norm: f64,
    /// Gradient norm / parameter norm (NaN when the parameter is zero).
    pub grad_ratio: f64,
    /// ‖update‖ / ‖parameter before the update‖ (NaN when the parameter was zero).
    pub update_ratio: f64,
    /// Fraction of gradient entries exactly zero.
    pub zero_fraction: f64,
}

/// One attention layer in one epoch (training forward, before dropout on α).
#[derive(Clone, Debug, Default)]
pub struct LayerRecord {
    /// Per head: mean normalised attention entropy over nodes with in-degree ≥ 2 (1 = uniform).
    pub entropy: Vec<f64>,
    /// Per head: mean over nodes of the largest attention weight.
    pub max_attention: Vec<f64>,
    /// Per head: fraction of score pre-activations in the nonlinearity's flat or negative
    /// region (NaN when the score has no such nonlinearity).
    pub flat_fraction: Vec<f64>,
    /// Which nonlinearity `flat_fraction` refers to (`leaky_relu`, `softplus`, ...), if any.
    pub nonlinearity: Option<String>,
    /// Share of the layer's squared gradient norm reaching its attention parameters
    /// (`att`, `att_src`, `att_dst`, `lin_r`, ...).
    pub attention_share: f64,
    /// Share reaching its value path (`lin_l`, `lin`, `bias`).
    pub value_share: f64,
}

/// Why one node is classified as it is: its in-edges in one attention layer, ranked.
#[derive(Clone, Debug, Default)]
pub struct Explanation {
    /// The attention layer.
    pub layer: String,
    /// The explained node.
    pub node: usize,
    /// Its true class.
    pub label: usize,
    /// The predicted class.
    pub predicted: usize,
    /// Probability the model gives the true class.
    pub p_true: f64,
    /// In-edges (self loop included), sorted by decreasing saliency.
    pub edges: Vec<ExplainedEdge>,
}

/// One in-edge of an explained node.
#[derive(Clone, Debug, Default)]
pub struct ExplainedEdge {
    /// Edge id in the layer's graph, in PyG's order (self loops appended after the given edges).
    pub edge: usize,
    /// The neighbour (source node).
    pub source: usize,
    /// Attention weight, mean over heads.
    pub alpha: f64,
    /// Gradient saliency `|α · ∂L/∂α|` summed over heads, where `L` is the explained node's own
    /// cross-entropy.
    pub saliency: f64,
    /// 1-based rank by attention weight among the node's in-edges.
    pub rank_alpha: usize,
    /// 1-based rank by saliency.
    pub rank_saliency: usize,
    /// The neighbour's true class (for colouring).
    pub source_label: usize,
}

//! The zoo models compiled into the binary through `#[derive_gradients]`.

use crate::derive_gradients;

/// `models/gatv2.gat`: PyG `GATv2Conv` defaults.
#[derive_gradients(file = "models/gatv2.gat", krate = "crate")]
pub struct GatV2;

/// `models/gatv2_shared.gat`: `GATv2Conv(share_weights=True)`.
#[derive_gradients(file = "models/gatv2_shared.gat", krate = "crate")]
pub struct GatV2Shared;

/// `models/gatv2_no_loops.gat`: `GATv2Conv(add_self_loops=False)`.
#[derive_gradients(file = "models/gatv2_no_loops.gat", krate = "crate")]
pub struct GatV2NoLoops;

/// `models/gat.gat`: PyG `GATConv`.
#[derive_gradients(file = "models/gat.gat", krate = "crate")]
pub struct Gat;

/// `models/gatv2_two_layer.gat`: two GATv2 layers with ELU, dropout and cross-entropy.
#[derive_gradients(file = "models/gatv2_two_layer.gat", krate = "crate")]
pub struct GatV2TwoLayer;

/// `models/transformer.gat`: PyG `TransformerConv` defaults.
#[derive_gradients(file = "models/transformer.gat", krate = "crate")]
pub struct Transformer;

/// `models/agnn.gat`: PyG `AGNNConv(requires_grad=True)`.
#[derive_gradients(file = "models/agnn.gat", krate = "crate")]
pub struct Agnn;

/// `models/gat_plus.gat`: GAT+ (GATv2 with softplus).
#[derive_gradients(file = "models/gat_plus.gat", krate = "crate")]
pub struct GatPlus;

/// `models/gat_two_layer.gat`: two GATConv layers, the original GAT training setup.
#[derive_gradients(file = "models/gat_two_layer.gat", krate = "crate")]
pub struct GatTwoLayer;

/// `models/gat_plus_two_layer.gat`: two GAT+ layers, the GATv2 training setup with softplus scores.
#[derive_gradients(file = "models/gat_plus_two_layer.gat", krate = "crate")]
pub struct GatPlusTwoLayer;

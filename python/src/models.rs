//! The programs compiled into the extension: the PyG configurations of `GATv2Conv` and `GATConv`
//! from the zoo (`models/`) and from `examples/` (edge features, no bias, a residual connection,
//! GAT without self loops), each under a short name, with the dispatch from a name to its generated `forward` / `backward`.

use gatgrad::codegen::ir::{Program, Role};
use gatgrad::derive_gradients;
use gatgrad::exec::{Generated, Session};
use gatgrad::runtime::kernels::Float;
use gatgrad::zoo::*;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// `examples/pyg/gatv2_edge_attr.gat`: `GATv2Conv(edge_dim=D)`.
#[derive_gradients(file = "../examples/pyg/gatv2_edge_attr.gat")]
pub struct GatV2EdgeAttr;

/// `examples/pyg/gatv2_no_bias.gat`: `GATv2Conv(bias=False)`.
#[derive_gradients(file = "../examples/pyg/gatv2_no_bias.gat")]
pub struct GatV2NoBias;

/// `examples/variants/gatv2_residual_split.gat`: `GATv2Conv(residual=True)`.
#[derive_gradients(file = "../examples/variants/gatv2_residual_split.gat")]
pub struct GatV2Residual;

/// `examples/pyg/gat_no_loops.gat`: `GATConv(add_self_loops=False)`.
#[derive_gradients(file = "../examples/pyg/gat_no_loops.gat")]
pub struct GatNoLoops;

macro_rules! models {
    ($($name:literal => $ty:ty, $file:literal;)*) => {
        /// The compiled-in programs: name and the file it was generated from.
        pub const MODELS: &[(&str, &str)] = &[$(($name, $file)),*];

        /// The source text of a compiled-in program.
        pub fn source(name: &str) -> Option<&'static str> {
            match name {
                $($name => Some(<$ty as Generated>::SOURCE),)*
                _ => None,
            }
        }

        /// The number of tensor slots of a compiled-in program's generated code.
        pub fn slots(name: &str) -> Option<usize> {
            match name {
                $($name => Some(<$ty as Generated>::NUM_TENSORS),)*
                _ => None,
            }
        }

        /// Runs the generated forward of `name`; `false` if there is no such program.
        pub fn forward<T: Float>(name: &str, s: &mut Session<T>) -> bool {
            match name {
                $($name => s.forward::<$ty>(),)*
                _ => return false,
            }
            true
        }

        /// Runs the generated backward of `name` from the seed `∂out`.
        pub fn backward<T: Float>(name: &str, s: &mut Session<T>, seed: &[T]) -> bool {
            match name {
                $($name => s.backward::<$ty>(Some(seed)),)*
                _ => return false,
            }
            true
        }
    };
}

models! {
    "gatv2" => GatV2, "models/gatv2.gat";
    "gatv2_mean" => GatV2Mean, "models/gatv2_mean.gat";
    "gatv2_shared" => GatV2Shared, "models/gatv2_shared.gat";
    "gatv2_no_loops" => GatV2NoLoops, "models/gatv2_no_loops.gat";
    "gatv2_edge_attr" => GatV2EdgeAttr, "examples/pyg/gatv2_edge_attr.gat";
    "gatv2_no_bias" => GatV2NoBias, "examples/pyg/gatv2_no_bias.gat";
    "gatv2_residual" => GatV2Residual, "examples/variants/gatv2_residual_split.gat";
    "gat" => Gat, "models/gat.gat";
    "gat_mean" => GatMean, "models/gat_mean.gat";
    "gat_no_loops" => GatNoLoops, "examples/pyg/gat_no_loops.gat";
}

/// The program of a compiled-in model, compiled once per process.
pub fn program(name: &str) -> Option<Program> {
    static CACHE: OnceLock<Mutex<HashMap<String, Program>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = cache.get(name) {
        return Some(p.clone());
    }
    let p = gatgrad::compile("model", source(name)?).ok()?.program;
    cache.insert(name.to_string(), p.clone());
    Some(p)
}

/// The name of the compiled-in model whose program has canonical text `canonical`, if any.
pub fn by_canonical(canonical: &str) -> Option<&'static str> {
    static TEXTS: OnceLock<Vec<(&'static str, Option<String>)>> = OnceLock::new();
    TEXTS
        .get_or_init(|| {
            MODELS
                .iter()
                .map(|(name, _)| {
                    (
                        *name,
                        source(name).and_then(gatgrad::extra_model::canonical),
                    )
                })
                .collect()
        })
        .iter()
        .find(|(_, c)| c.as_deref() == Some(canonical))
        .map(|(name, _)| *name)
}

/// The dropout masks a program reads, by tensor name.
pub fn dropout_masks(p: &Program) -> Vec<String> {
    p.tensors
        .iter()
        .filter(|t| matches!(t.role, Role::Dropout { .. }))
        .map(|t| t.name.clone())
        .collect()
}

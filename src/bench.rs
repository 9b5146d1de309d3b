//! `gatgrad bench`: forward + backward of a zoo model's generated code on a (random) graph.

use crate::exec::{Generated, Session};
use crate::footprint::{edge_counts, Footprint};
use crate::runtime::kernels::Float;
use crate::runtime::{DataError, Graph, TensorFile};
use crate::synth::{dim_sizes_by_role, random_data, DimRole};
use crate::zoo::*;
use std::path::Path;
use std::time::Instant;

/// Sizes and settings of one benchmark run.
pub struct BenchConfig {
    /// Input features F.
    pub features: usize,
    /// Heads H.
    pub heads: usize,
    /// Channels per head C.
    pub channels: usize,
    /// Features per edge of an edge input (PyG's `edge_dim`), random like every input.
    pub edge_dim: usize,
    /// Timed repetitions (the median is reported).
    pub reps: usize,
    /// The timed backward also computes the gradients of the inputs (`∂x`); without it, only
    /// parameter gradients, as PyG's `out.sum().backward()` computes for an `x` that does not
    /// require a gradient.
    pub input_grads: bool,
}

/// Reads the graph of a benchmark from a safetensors file with `edge_index` (i64 `[2, E]`, row 0
/// source), as `gatgrad gen-graph` writes it. The node count is the `num_nodes` metadata when
/// present (validated as the dataset loader does: a non-negative integer that every edge index is
/// below), else one more than the largest node index; a file with neither is refused, as is a
/// graph without nodes.
pub fn load_graph(path: &Path) -> Result<Graph, DataError> {
    let file = TensorFile::load(path)?;
    let edge_index = file.i64("edge_index")?;
    let nodes = match file.metadata().and_then(|m| m.get("num_nodes")) {
        Some(raw) => raw.trim().parse::<usize>().map_err(|_| {
            DataError::file(
                file.file_name(),
                format_args!("metadata `num_nodes` is not a non-negative integer: {raw:?}"),
            )
        })?,
        // A negative index is reported by `from_edge_index`.
        None => match edge_index.data.iter().copied().max() {
            Some(m) => m.max(0) as usize + 1,
            None => {
                return Err(DataError::file(
                    file.file_name(),
                    "has no edges and no `num_nodes` metadata, so its node count is unknown; \
                     add `num_nodes` (gatgrad gen-graph writes it)",
                ))
            }
        },
    };
    if nodes == 0 {
        return Err(DataError::file(
            file.file_name(),
            "the graph has no nodes (metadata `num_nodes` is 0)",
        ));
    }
    let columns = edge_index.shape.get(1).copied().unwrap_or(0);
    crate::runtime::reserve_graph(
        nodes,
        columns,
        &format!("file `{}`: {nodes} nodes", path.display()),
        0,
    )?;
    Graph::from_edge_index(nodes, &edge_index)
}

/// Zoo models compiled into the binary, by name.
pub const MODELS: &[&str] = &[
    "gatv2",
    "gatv2_shared",
    "gatv2_no_loops",
    "gat",
    "transformer",
    "agnn",
    "gat_plus",
];

/// The generated source of a zoo model, by its name in [`MODELS`].
pub fn zoo_source(model: &str) -> Option<&'static str> {
    Some(match model {
        "gatv2" => GatV2::SOURCE,
        "gatv2_shared" => GatV2Shared::SOURCE,
        "gatv2_no_loops" => GatV2NoLoops::SOURCE,
        "gat" => Gat::SOURCE,
        "transformer" => Transformer::SOURCE,
        "agnn" => Agnn::SOURCE,
        "gat_plus" => GatPlus::SOURCE,
        _ => return None,
    })
}

/// The name in [`MODELS`] of the zoo model whose program has the canonical text `canonical`
/// (see [`crate::extra_model::canonical`]).
pub fn zoo_model_of(canonical: &str) -> Option<&'static str> {
    MODELS.iter().copied().find(|m| {
        zoo_source(m)
            .and_then(crate::extra_model::canonical)
            .as_deref()
            == Some(canonical)
    })
}

/// Runs the benchmark; returns `(forward_s, backward_s)` medians.
pub fn run(
    model: &str,
    graph: &Graph,
    cfg: &BenchConfig,
    f32_: bool,
) -> Result<(f64, f64), String> {
    if !MODELS.contains(&model) {
        return Err(format!(
            "unknown model `{model}` (choose from: {})",
            MODELS.join(", ")
        ));
    }
    run_zoo(model, graph, cfg, f32_)
}

/// [`run`] for a name in [`MODELS`].
#[cfg(feature = "zoo")]
fn run_zoo(
    model: &str,
    graph: &Graph,
    cfg: &BenchConfig,
    f32_: bool,
) -> Result<(f64, f64), String> {
    macro_rules! go {
        ($g:ty) => {
            run_generated::<$g>(graph, cfg, f32_)
        };
    }
    match model {
        "gatv2" => go!(GatV2),
        "gatv2_shared" => go!(GatV2Shared),
        "gatv2_no_loops" => go!(GatV2NoLoops),
        "gat" => go!(Gat),
        "transformer" => go!(Transformer),
        "agnn" => go!(Agnn),
        "gat_plus" => go!(GatPlus),
        _ => unreachable!("`{model}` is in MODELS"),
    }
}

/// [`run`] in a build without the zoo's generated code (feature `zoo` off): refused.
#[cfg(not(feature = "zoo"))]
fn run_zoo(model: &str, _: &Graph, _: &BenchConfig, _: bool) -> Result<(f64, f64), String> {
    Err(no_zoo(model))
}

/// Why a build without the feature `zoo` (a helper executable built on first use) cannot run
/// zoo model `model`: the zoo's generated code is not compiled into it.
pub fn no_zoo(model: &str) -> String {
    format!(
        "`{model}` is a zoo model, and this build of gatgrad has none compiled in (feature \
         `zoo` off, as in helpers built on first use): run it with the `gatgrad` command"
    )
}

/// Runs the benchmark on the generated model `G`, in f32 if `f32_` (else f64); returns
/// `(forward_s, backward_s)` medians.
pub fn run_generated<G: Generated>(
    graph: &Graph,
    cfg: &BenchConfig,
    f32_: bool,
) -> Result<(f64, f64), String> {
    if f32_ {
        time::<G, f32>(graph, cfg)
    } else {
        time::<G, f64>(graph, cfg)
    }
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn time<G: Generated, T: Float>(graph: &Graph, cfg: &BenchConfig) -> Result<(f64, f64), String> {
    let p = G::program();
    if cfg.heads.checked_mul(cfg.channels).is_none() {
        return Err(format!(
            "--heads {} and --channels {} are too large: their product overflows",
            cfg.heads, cfg.channels
        ));
    }
    let facts = gatgrad_codegen::facts::facts(&p);
    let dims = dim_sizes_by_role(&p, &facts, |role| match role {
        DimRole::Heads { .. } => cfg.heads,
        DimRole::Channels { .. } => cfg.channels,
        DimRole::EdgeFeatures => cfg.edge_dim,
        _ => cfg.features,
    });
    // The whole run before the random data is made: the session, the f64 data and the seed.
    let footprint = Footprint::of_generated(
        &p,
        &dims,
        graph.num_nodes(),
        &edge_counts(&p, graph.num_nodes(), graph.num_edges()),
    );
    let elem = std::mem::size_of::<T>();
    let extra = footprint.given.saturating_mul(8).saturating_add(
        footprint
            .largest
            .map_or(0, |(_, n)| n.saturating_mul(elem as u128)),
    );
    footprint
        .reserve(
            &p,
            &dims,
            elem,
            extra,
            &format!(
                "bench on {} nodes, {} edges with --features {} --heads {} --channels {}",
                graph.num_nodes(),
                graph.num_edges(),
                cfg.features,
                cfg.heads,
                cfg.channels
            ),
        )
        .map_err(|e| e.to_string())?;
    let data = random_data(&p, graph, &dims, 1);
    let mut s: Session<T> =
        Session::new(p.clone(), &data, G::NUM_TENSORS).map_err(|e| e.to_string())?;
    drop(data);
    let out_len: usize = s.bound.shape(&p, p.output).iter().product();
    // The session holds the one copy of the seed.
    s.set_seed(
        (0..out_len)
            .map(|k| T::of(((k % 17) as f64 - 8.0) / 8.0))
            .collect(),
    );
    let (mut fw, mut bw) = (Vec::new(), Vec::new());
    for rep in 0..cfg.reps + 1 {
        let t0 = Instant::now();
        s.forward::<G>();
        let t1 = Instant::now();
        if cfg.input_grads {
            s.backward::<G>(None);
        } else {
            s.backward_params::<G>(None);
        }
        let t2 = Instant::now();
        if rep > 0 {
            fw.push((t1 - t0).as_secs_f64());
            bw.push((t2 - t1).as_secs_f64());
        }
    }
    if std::env::var_os("GATGRAD_PROFILE").is_some() {
        crate::exec::set_profiling(true);
        s.forward::<G>();
        if cfg.input_grads {
            s.backward::<G>(None);
        } else {
            s.backward_params::<G>(None);
        }
        for (name, secs) in crate::exec::profile() {
            eprintln!("{name:>14} {:8.1} ms", secs * 1e3);
        }
        let memory = s.memory();
        let total: usize = memory.iter().map(|(_, b)| b).sum();
        eprintln!(
            "memory held after forward + backward: {:.1} MiB",
            mib(total)
        );
        for (name, bytes) in memory.iter().filter(|(_, b)| *b >= total / 200) {
            eprintln!("{name:>30} {:8.1} MiB", mib(*bytes));
        }
        crate::exec::set_profiling(false);
    }
    Ok((median(fw), median(bw)))
}

/// The yardstick for a model's edge work ([`crate::yardstick`]): one sum aggregation at width
/// `heads × channels` over the graph the model's edge tensors live on — `graph` with PyG's self
/// loops if the model adds them. `source` is the model's program text. Returns the median seconds.
pub fn yardstick(
    source: &str,
    graph: &Graph,
    cfg: &BenchConfig,
    f32_: bool,
) -> Result<f64, String> {
    let p = crate::compile("model", source)
        .map_err(|e| e.rendered)?
        .program;
    let looped;
    let g = if p
        .graphs
        .contains(&gatgrad_codegen::ir::GraphKind::SelfLoops)
    {
        looped = graph.with_self_loops().0;
        &looped
    } else {
        graph
    };
    let width = cfg.heads.saturating_mul(cfg.channels);
    if f32_ {
        crate::yardstick::aggregation_seconds::<f32>(g, width, cfg.reps)
    } else {
        crate::yardstick::aggregation_seconds::<f64>(g, width, cfg.reps)
    }
}

/// Peak resident set size of this process in MiB (Linux; 0 elsewhere).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

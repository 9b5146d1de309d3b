//! `gatgrad bench`.

use crate::args::{self, Dtype};
use crate::on_demand;
use crate::source::read_model;
use crate::status::Failure;
use gatgrad::extra_model::{BenchModel, ExtraModel};
use std::path::{Path, PathBuf};

// The flags of `gatgrad bench`; its help is the doc comment of `Command::Bench`.
#[derive(clap::Args)]
pub struct Args {
    /// A zoo model by name (gatv2, gatv2_shared, gatv2_no_loops, gat, transformer, agnn,
    /// gat_plus) or any `.gat` file `gatgrad check` accepts; a file that is not a zoo model has
    /// its generated code compiled on first use (cached, see `gatgrad train --help`).
    #[arg(long, value_name = "NAME|FILE.gat")]
    pub model: String,
    /// A graph written by `gatgrad gen-graph` (or any file with `edge_index`).
    #[arg(long, conflicts_with_all = ["nodes", "edges"])]
    pub graph: Option<PathBuf>,
    /// Nodes of a random graph (with --edges).
    #[arg(long, requires = "edges", value_parser = args::nodes, allow_negative_numbers = true)]
    pub nodes: Option<usize>,
    /// Edges of a random graph (with --nodes).
    #[arg(long, requires = "nodes")]
    pub edges: Option<usize>,
    /// Input features F.
    #[arg(long, default_value_t = 64, value_parser = args::count, allow_negative_numbers = true)]
    pub features: usize,
    /// Heads H.
    #[arg(long, default_value_t = 4, value_parser = args::count, allow_negative_numbers = true)]
    pub heads: usize,
    /// Channels per head C.
    #[arg(long, default_value_t = 16, value_parser = args::count, allow_negative_numbers = true)]
    pub channels: usize,
    /// Features per edge D of a model with edge inputs (`input e[i <- j, d: D]`, PyG's
    /// `edge_dim`); they are random, like the node features.
    #[arg(long, default_value_t = 4, value_parser = args::count, allow_negative_numbers = true)]
    pub edge_dim: usize,
    /// Threads (default: all cores).
    #[arg(long, value_parser = args::threads, allow_negative_numbers = true)]
    pub threads: Option<usize>,
    /// Element type.
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: Dtype,
    /// Timed repetitions (after one warm-up); the median is reported.
    #[arg(long, default_value_t = 5, value_parser = args::count, allow_negative_numbers = true)]
    pub reps: usize,
    /// Also compute the gradients of the inputs (∂x) in the timed backward. Without it only
    /// parameter gradients are computed, as PyG's `out.sum().backward()` does for features that
    /// do not require a gradient.
    #[arg(long)]
    pub input_grads: bool,
}

/// Times forward and backward and prints the result line.
pub fn run(a: Args, extras: &[ExtraModel]) -> Result<(), Failure> {
    let model = model(&a.model, extras)?;
    let g = match (&a.graph, a.nodes, a.edges) {
        (Some(path), _, _) => gatgrad::bench::load_graph(path).map_err(Failure::input)?,
        (None, Some(n), Some(e)) => gatgrad::runtime::try_random_graph(n, e, 0, "--nodes/--edges")
            .map_err(Failure::input)?,
        _ => return Err(Failure::input("give --graph FILE or --nodes N --edges E")),
    };
    let pool = crate::threads::pool(a.threads)?;
    let threads_used = pool.current_num_threads();
    let cfg = gatgrad::bench::BenchConfig {
        features: a.features,
        heads: a.heads,
        channels: a.channels,
        edge_dim: a.edge_dim,
        reps: a.reps,
        input_grads: a.input_grads,
    };
    let f32_ = matches!(a.dtype, Dtype::F32);
    let (fw, bw) = pool
        .install(|| model.bench(&g, &cfg, f32_))
        .map_err(Failure::input)?;
    let yardstick = pool
        .install(|| gatgrad::bench::yardstick(model.source(), &g, &cfg, f32_))
        .map_err(Failure::input)?;
    let line = serde_json::json!({
        "model": a.model,
        "nodes": g.num_nodes(),
        "edges": g.num_edges(),
        "features": a.features,
        "heads": a.heads,
        "channels": a.channels,
        "threads": threads_used,
        "dtype": if f32_ { "f32" } else { "f64" },
        "input_grads": a.input_grads,
        "forward_s": fw,
        "backward_s": bw,
        "total_s": fw + bw,
        "yardstick_s": yardstick,
        "passes": (fw + bw) / yardstick,
        "peak_rss_mib": gatgrad::bench::peak_rss_mib(),
    });
    println!("{line}");
    Ok(())
}

/// The model `--model` names: a zoo name, or a `.gat` file (whose generated code is compiled on
/// first use if this executable does not hold it).
fn model<'a>(value: &str, extras: &'a [ExtraModel]) -> Result<BenchModel<'a>, Failure> {
    if let Some(name) = gatgrad::bench::MODELS.iter().find(|m| **m == value) {
        return Ok(BenchModel::Zoo(name));
    }
    let path = Path::new(value);
    if !path.exists() && path.extension().is_none() {
        return Err(Failure::input(format!(
            "--model: `{value}` is neither a zoo model ({}) nor a .gat file",
            gatgrad::bench::MODELS.join(", ")
        )));
    }
    let text = read_model(path)?;
    let resolved = BenchModel::resolve(extras, path, &text);
    match resolved {
        Ok(m) => Ok(m),
        Err(e) => {
            on_demand::run_compiled(
                on_demand::needed(path, Err::<(), _>(e))?
                    .into_iter()
                    .collect(),
            )?;
            Err(Failure::input(
                "gatgrad bug: no compiled model and no helper",
            ))
        }
    }
}

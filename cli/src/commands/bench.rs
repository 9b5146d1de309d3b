//! `gatgrad bench`.

use crate::args::{self, Dtype};
use crate::status::Failure;
use gatgrad::extra_model::ExtraModel;
use std::path::{Path, PathBuf};

// The flags of `gatgrad bench`; its help is the doc comment of `Command::Bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Zoo model compiled into the binary: gatv2, gatv2_shared, gatv2_no_loops, gat,
    /// transformer, agnn, gat_plus.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(gatgrad::bench::MODELS))]
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
    /// Threads (default: all cores).
    #[arg(long, value_parser = args::threads, allow_negative_numbers = true)]
    pub threads: Option<usize>,
    /// Element type.
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: Dtype,
    /// Timed repetitions (after one warm-up); the median is reported.
    #[arg(long, default_value_t = 5, value_parser = args::count, allow_negative_numbers = true)]
    pub reps: usize,
}

/// Times forward and backward and prints the result line.
pub fn run(a: Args, extra: Option<&ExtraModel>) -> Result<(), Failure> {
    let g = match (&a.graph, a.nodes, a.edges) {
        (Some(path), _, _) => gatgrad::bench::load_graph(path).map_err(Failure::input)?,
        (None, Some(n), Some(e)) => gatgrad::runtime::try_random_graph(n, e, 0, "--nodes/--edges")
            .map_err(Failure::input)?,
        _ => return Err(Failure::input("give --graph FILE or --nodes N --edges E")),
    };
    // The extra model is named by the file it was built from, which must still hold its text.
    let extra = match extra {
        Some(x) if x.is_for(Path::new(&a.model)) => {
            let text =
                gatgrad::compile::read_source(Path::new(&a.model)).map_err(Failure::input)?;
            x.check_source(&text)
                .map_err(|e| Failure::input(format!("{}: {e}", a.model)))?;
            Some(x)
        }
        _ => None,
    };
    let pool = crate::threads::pool(a.threads)?;
    let threads_used = pool.current_num_threads();
    let cfg = gatgrad::bench::BenchConfig {
        features: a.features,
        heads: a.heads,
        channels: a.channels,
        reps: a.reps,
    };
    let f32_ = matches!(a.dtype, Dtype::F32);
    let (fw, bw) = pool
        .install(|| match extra {
            Some(x) => x.bench(&g, &cfg, f32_),
            None => gatgrad::bench::run(&a.model, &g, &cfg, f32_),
        })
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
        "forward_s": fw,
        "backward_s": bw,
        "total_s": fw + bw,
        "peak_rss_mib": gatgrad::bench::peak_rss_mib(),
    });
    println!("{line}");
    Ok(())
}

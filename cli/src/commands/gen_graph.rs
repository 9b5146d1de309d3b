//! `gatgrad gen-graph`.

use crate::args;
use crate::status::Failure;
use clap::builder::{PathBufValueParser, TypedValueParser};
use gatgrad::runtime::OutputPath;
use std::collections::HashMap;

// The flags of `gatgrad gen-graph`; its help is the doc comment of `Command::GenGraph`.
#[derive(clap::Args)]
pub struct Args {
    /// Number of nodes (at least 1).
    #[arg(long, value_parser = args::nodes, allow_negative_numbers = true)]
    pub nodes: usize,
    /// Number of edges (sources and targets uniform; multi-edges and self loops possible).
    #[arg(long)]
    pub edges: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0, value_parser = args::seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// Output file (safetensors).
    #[arg(long, value_parser = PathBufValueParser::new().try_map(args::output))]
    pub out: OutputPath,
}

/// Writes the random graph.
pub fn run(a: Args) -> Result<(), Failure> {
    let (nodes, edges, seed) = (a.nodes, a.edges, a.seed);
    // The graph, its `edge_index` as i64 and the file's bytes (16 bytes per edge each).
    gatgrad::runtime::reserve_graph(nodes, edges, "gen-graph", 32 * edges as u128)
        .map_err(Failure::input)?;
    let g = gatgrad::runtime::random_graph(nodes, edges, seed);
    let ei = g.edge_index();
    let mut meta = HashMap::new();
    meta.insert("num_nodes".to_string(), nodes.to_string());
    meta.insert("seed".to_string(), seed.to_string());
    let tensors = vec![(
        "edge_index".to_string(),
        ei.shape.clone(),
        gatgrad::runtime::TensorData::I64(ei.data),
    )];
    gatgrad::runtime::write_tensors_to(&a.out, &tensors, Some(meta)).map_err(Failure::input)?;
    println!(
        "wrote {} nodes, {} edges to {}",
        nodes,
        edges,
        a.out.path().display()
    );
    Ok(())
}

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
    /// Number of edges (multi-edges and self loops possible).
    #[arg(long)]
    pub edges: usize,
    /// How sources and targets are drawn.
    #[arg(long, value_enum, default_value_t = Kind::Uniform)]
    pub kind: Kind,
    /// Random seed.
    #[arg(long, default_value_t = 0, value_parser = args::seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// Output file (safetensors).
    #[arg(long, value_parser = PathBufValueParser::new().try_map(args::output))]
    pub out: OutputPath,
}

/// The random graph models `gen-graph` draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Sources and targets independent and uniform over the nodes.
    Uniform,
    /// R-MAT (quadrant probabilities 0.6/0.175/0.175/0.05, node ids permuted): power-law degrees.
    Rmat,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Uniform => "uniform",
            Kind::Rmat => "rmat",
        }
    }
}

/// Writes the random graph.
pub fn run(a: Args) -> Result<(), Failure> {
    let (nodes, edges, seed) = (a.nodes, a.edges, a.seed);
    // The graph, its `edge_index` as i64 and the file's bytes (16 bytes per edge each).
    gatgrad::runtime::reserve_graph(nodes, edges, "gen-graph", 32 * edges as u128)
        .map_err(Failure::input)?;
    let g = match a.kind {
        Kind::Uniform => gatgrad::runtime::random_graph(nodes, edges, seed),
        Kind::Rmat => gatgrad::runtime::rmat::rmat_graph(nodes, edges, seed, "--nodes/--edges")
            .map_err(Failure::input)?,
    };
    let max_in = (0..nodes).map(|i| g.in_edges(i).len()).max().unwrap_or(0);
    let ei = g.edge_index();
    let mut meta = HashMap::new();
    meta.insert("num_nodes".to_string(), nodes.to_string());
    meta.insert("seed".to_string(), seed.to_string());
    meta.insert("kind".to_string(), a.kind.name().to_string());
    let tensors = vec![(
        "edge_index".to_string(),
        ei.shape.clone(),
        gatgrad::runtime::TensorData::I64(ei.data),
    )];
    gatgrad::runtime::write_tensors_to(&a.out, &tensors, Some(meta)).map_err(Failure::input)?;
    println!(
        "wrote {} nodes, {} edges ({}, largest in-degree {max_in}) to {}",
        nodes,
        edges,
        a.kind.name(),
        a.out.path().display()
    );
    Ok(())
}

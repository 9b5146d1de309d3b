//! The graphs a program runs on, prepared once from an `edge_index` and reused by every run on the
//! same graph: the raw graph in PyG's edge order, it renumbered by target, and, for a program that
//! adds PyG's self loops, the self-loop graph with its map and its renumbering. A caller that
//! runs many times on one graph (a training loop from Python) prepares it once and binds each run
//! with [`crate::bound::Bound::for_run_prepared`]; the bound graphs are the same as those
//! [`crate::bound::Bound::for_run`] builds, so the results are the same bits.

use gatgrad_codegen::ir::{GraphKind, Program};
use gatgrad_runtime::{DataError, Graph, SelfLoopMap};
use std::sync::Arc;

/// The graph variants of a run, built from one `edge_index`. Cloning is cheap: the clones share
/// every edge list, index and map (see [`Graph`]), so each run binds them without a copy.
#[derive(Clone)]
pub struct PreparedGraphs {
    /// The graph as given, in PyG's edge order.
    pub raw: Graph,
    /// The raw graph with its edges numbered by target ([`Graph::sorted_by_target`]).
    pub raw_sorted: Graph,
    /// The PyG id of each edge of [`PreparedGraphs::raw_sorted`].
    pub raw_origin: Arc<[u32]>,
    /// The self-loop graph numbered by target, how it was made from the raw one, and the PyG id
    /// (in the graph PyG builds with its self loops) of each of its edges; `None` when not asked for.
    pub loops: Option<(Graph, Arc<SelfLoopMap>, Arc<[u32]>)>,
}

impl PreparedGraphs {
    /// Builds the graphs of `raw`; the self-loop graph only when `self_loops`.
    pub fn new(raw: Graph, self_loops: bool) -> PreparedGraphs {
        let (raw_sorted, raw_origin) = raw.sorted_by_target();
        let loops = self_loops.then(|| {
            let (g, map) = raw.with_self_loops();
            let (g, origin) = g.sorted_by_target();
            (g, Arc::new(map), Arc::from(origin))
        });
        PreparedGraphs {
            raw,
            raw_sorted,
            raw_origin: Arc::from(raw_origin),
            loops,
        }
    }

    /// Builds the graphs program `p` needs from `n` nodes and the edges `src[e] → dst[e]`.
    pub fn for_program(
        p: &Program,
        n: usize,
        src: Vec<u32>,
        dst: Vec<u32>,
    ) -> Result<PreparedGraphs, DataError> {
        let raw = Graph::new(n, src, dst)?;
        Ok(PreparedGraphs::new(
            raw,
            p.graphs.contains(&GraphKind::SelfLoops),
        ))
    }

    /// Whether these graphs serve program `p`: the self-loop graph is there if `p` uses it.
    pub fn serves(&self, p: &Program) -> bool {
        self.loops.is_some() || !p.graphs.contains(&GraphKind::SelfLoops)
    }
}

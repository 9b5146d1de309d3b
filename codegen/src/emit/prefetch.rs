//! Prefetch hints for the node rows a loop gathers at the far end of edges.

use super::*;

impl Gen<'_> {
    /// Statements prefetching the rows of `tensors` at endpoint `end` of edge `pe` of graph `g`.
    pub(super) fn prefetch_at(
        &self,
        tensors: &[TensorId],
        g: GraphId,
        end: End,
        pe: &str,
    ) -> String {
        let prefetch_row = self.helper(Helper::PrefetchRow);
        let ends = match end {
            End::Src => "src",
            End::Dst => "dst",
        };
        let mut s = String::new();
        for t in tensors {
            let w = self.width_expr(*t);
            let _ = write!(
                s,
                "{prefetch_row}(t{}, ({ends}{}[{pe}] as usize) * ({w}), {w});",
                t.0, g.0
            );
        }
        s
    }

    /// In a loop over the edges of `g` in target order, prefetches the rows of `far` at the source
    /// of edge `e + PREFETCH_DISTANCE` (usually a later edge of the same or the next target).
    pub(super) fn prefetch_edge_ahead(&self, edge: VarId, far: &[TensorId]) -> String {
        if far.is_empty() {
            return String::new();
        }
        let VarKind::Edge(g) = self.p.var(edge).kind else {
            unreachable!("prefetching ahead runs over edges")
        };
        let prefetch_distance = self.helper(Helper::PrefetchDistance);
        format!(
            "{{ let pe = {} + {prefetch_distance}; if pe < g{}.num_edges() {{ {} }} }}\n",
            var(edge),
            g.0,
            self.prefetch_at(far, g, End::Src, "pe")
        )
    }
}

//! Prefetch hints for the node rows a loop gathers at the far end of edges.

use super::*;

impl Gen<'_> {
    /// Statements prefetching the rows of `tensors` at endpoint `end` of edge `pe` of graph `g`.
    pub(super) fn prefetch_at(
        &self,
        tensors: &[TensorId],
        g: GraphId,
        end: End,
        pe: TokenStream,
    ) -> TokenStream {
        let ends = numbered(
            match end {
                End::Src => "src",
                End::Dst => "dst",
            },
            g.0,
        );
        self.prefetch_rows(tensors, quote!((#ends[#pe] as usize)))
    }

    /// Statements prefetching the rows of `tensors` at node `node`.
    pub(super) fn prefetch_rows(&self, tensors: &[TensorId], node: TokenStream) -> TokenStream {
        let prefetch_row = self.helper(Helper::PrefetchRow);
        tensors
            .iter()
            .map(|&t| {
                let (t, w) = (values(t), self.width_expr(t));
                quote!(#prefetch_row(#t, #node * (#w), #w);)
            })
            .collect()
    }

    /// In a loop over the edges of `g` in target order, prefetches the rows of `far` at the source
    /// of edge `e + PREFETCH_DISTANCE` (usually a later edge of the same or the next target).
    pub(super) fn prefetch_edge_ahead(&self, edge: VarId, far: &[TensorId]) -> TokenStream {
        if far.is_empty() {
            return TokenStream::new();
        }
        let VarKind::Edge(g) = self.p.var(edge).kind else {
            unreachable!("prefetching ahead runs over edges")
        };
        let prefetch_distance = self.helper(Helper::PrefetchDistance);
        let fetch = self.prefetch_at(far, g, End::Src, quote!(pe));
        let (edge, g) = (var(edge), graph(g));
        quote! {
            { let pe = #edge + #prefetch_distance; if pe < #g.num_edges() { #fetch } }
        }
    }
}

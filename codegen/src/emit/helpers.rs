//! The one surface generated code reaches the facade through: the items of `gatgrad::__private`
//! (defined in the facade's `lib.rs`), each spelled here and nowhere else in the emitter.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// An item of the facade's `__private` module that generated code names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Helper {
    /// The trait generated functions are generic over (`f32`, `f64`).
    Float,
    /// A program bound to data: sizes, graphs, constants, labels, patterns.
    Bound,
    /// The id of a tensor in the table generated functions index.
    TensorId,
    /// The trait a `#[derive_gradients]` struct implements.
    Generated,
    /// The IR's types, which the program literal a struct carries is written in.
    Ir,
    /// Times one generated kernel.
    Timed,
    /// The element-wise functions (`__private::f::elu`, ...).
    Elementwise,
    /// How many values a tensor stores (its pattern's entries when compact).
    StoredLen,
    /// A compactable tensor in its dense layout.
    DenseView,
    /// A node tensor's values at the entries of a zero pattern.
    Compact,
    /// A parallel copy (reshapes).
    ParCopy,
    /// PyG's self-loop feature fill, and its adjoint.
    LoopFill,
    /// The masked cross-entropy loss.
    CrossEntropy,
    /// `X · W` for a node tensor `X` (dense or by pattern).
    NodeMatmul,
    /// `Aᵀ · B` for node tensors.
    NodeTMatmul,
    /// Rows of a tensor filled in parallel.
    ParRows,
    /// The entries of a zero pattern filled in parallel.
    ParEntries,
    /// Edge rows filled target by target.
    ParEdgesByTarget,
    /// A fixed-chunk sum over all nodes.
    ParSumRows,
    /// A fixed-chunk sum over all edges, target by target.
    ParSumEdgesByTarget,
    /// The fused loop over the targets of a graph.
    ParByTarget,
    /// The fused loop over the targets of a graph that also sums into dense tensors.
    ParByTargetWithSums,
    /// An output of the fused loop (edge or node rows a target owns).
    TargetOut,
    /// A read-only edge tensor by rows.
    Rows,
    /// The per-target softmax of a whole edge tensor.
    SoftmaxByTarget,
    /// The softmax of one target's in-edges (inside the fused loop).
    SoftmaxTarget,
    /// Per-block sums of terms computed beforehand.
    SumBlocks,
    /// Exact values for the entries a cheap stand-in got wrong.
    RecomputeWhere,
    /// A prefetch hint for one row.
    PrefetchRow,
    /// How many edges ahead loops prefetch.
    PrefetchDistance,
}

impl Helper {
    /// The item's name inside `__private`.
    pub const fn name(self) -> &'static str {
        match self {
            Helper::Float => "Float",
            Helper::Bound => "Bound",
            Helper::TensorId => "TensorId",
            Helper::Generated => "Generated",
            Helper::Ir => "ir",
            Helper::Timed => "timed",
            Helper::Elementwise => "f",
            Helper::StoredLen => "stored_len",
            Helper::DenseView => "dense_view",
            Helper::Compact => "compact",
            Helper::ParCopy => "par_copy",
            Helper::LoopFill => "loop_fill",
            Helper::CrossEntropy => "cross_entropy",
            Helper::NodeMatmul => "node_matmul",
            Helper::NodeTMatmul => "node_t_matmul",
            Helper::ParRows => "par_rows",
            Helper::ParEntries => "par_entries",
            Helper::ParEdgesByTarget => "par_edges_by_target",
            Helper::ParSumRows => "par_sum_rows",
            Helper::ParSumEdgesByTarget => "par_sum_edges_by_target",
            Helper::ParByTarget => "par_by_target",
            Helper::ParByTargetWithSums => "par_by_target_with_sums",
            Helper::TargetOut => "TargetOut",
            Helper::Rows => "Rows",
            Helper::SoftmaxByTarget => "softmax_by_target",
            Helper::SoftmaxTarget => "softmax_target",
            Helper::SumBlocks => "sum_blocks",
            Helper::RecomputeWhere => "recompute_where",
            Helper::PrefetchRow => "prefetch_row",
            Helper::PrefetchDistance => "PREFETCH_DISTANCE",
        }
    }

    /// The item's path as generated code spells it, for the facade at `krate` (`::gatgrad`, or
    /// `crate` inside gatgrad itself).
    pub fn path(self, krate: &TokenStream) -> TokenStream {
        let module = module(krate);
        let name = Ident::new(self.name(), Span::call_site());
        quote!(#module::#name)
    }
}

/// The path of the `__private` module, for the facade at `krate`.
pub fn module(krate: &TokenStream) -> TokenStream {
    quote!(#krate::__private)
}

/// The facade's path as a crate that depends on it spells it: `::gatgrad`.
pub fn facade() -> TokenStream {
    quote!(::gatgrad)
}

#[cfg(test)]
mod tests {
    use super::{facade, module, Helper};
    use crate::primitives::PRIMITIVES;
    use quote::quote;

    #[test]
    fn paths_are_spelled_under_private() {
        assert_eq!(
            Helper::ParRows.path(&quote!(crate)).to_string(),
            "crate :: __private :: par_rows"
        );
        assert_eq!(
            Helper::Float.path(&facade()).to_string(),
            ":: gatgrad :: __private :: Float"
        );
    }

    /// The function table names its runtime functions relative to `__private`, through the float
    /// trait or the element-wise functions, and the calls generated code makes reach them there.
    #[test]
    fn primitives_call_through_the_private_surface() {
        for krate in [facade(), quote!(crate)] {
            let private = module(&krate).to_string();
            for p in PRIMITIVES {
                let via = p.rust.module;
                assert!(
                    via == Helper::Float || via == Helper::Elementwise,
                    "`{}` calls `{}` in `{via:?}`, outside `__private::{{{}, {}}}`",
                    p.name,
                    p.rust.name,
                    Helper::Float.name(),
                    Helper::Elementwise.name()
                );
                let arg = p.arg.map(|_| quote!(a));
                let call = p.rust_call(&krate, quote!(x), arg).to_string();
                let expected = format!("{private} :: {} :: {} (", via.name(), p.rust.name);
                assert!(
                    call.starts_with(&expected),
                    "`{}` is called as `{call}`",
                    p.name
                );
            }
        }
    }
}

//! `output out as [node, H, C];`: the layout a layer's output has in files. PyG flattens the
//! dense axes into one (`[N, H*C]`, the default); DGL keeps the heads axis (`[N, H, C]`). The
//! layout only says how the same row-major memory is shaped outside, so it never changes what is
//! computed; a layer called from a model is flattened to `[n, d]` whatever its layout.

use super::*;

impl Lowerer {
    /// The dimensions of each group of a file shape (`[H*C, F]` → `[[H, C], [F]]`), and whether
    /// every name resolved (an unknown one is reported by [`Lowerer::dim`] and left out).
    pub(super) fn dim_groups(
        &mut self,
        sc: &BlockScope,
        groups: &[ast::DimProduct],
    ) -> (Vec<Vec<DimId>>, bool) {
        let mut ok = true;
        let out = groups
            .iter()
            .map(|g| {
                g.factors
                    .iter()
                    .filter_map(|f| {
                        let id = self.dim(sc, f);
                        ok &= id.is_some();
                        id
                    })
                    .collect()
            })
            .collect();
        (out, ok)
    }

    /// Checks the layout of output `t` and returns its groups of dense dimensions, or `None`
    /// for PyG's flattened default (also when written out as `[node, H*C]`). Errors are reported
    /// and give `None`.
    pub(super) fn output_layout(
        &mut self,
        sc: &BlockScope,
        t: TensorId,
        groups: &[ast::DimProduct],
        span: Span,
    ) -> Option<Vec<Vec<DimId>>> {
        let (out, ok) = self.dim_groups(sc, groups);
        if !ok {
            return None;
        }
        let tensor = self.p.tensor(t);
        let roots = |ds: &mut dyn Iterator<Item = DimId>| -> Vec<DimId> {
            ds.map(|d| self.p.dim_root(d)).collect()
        };
        let declared = roots(&mut out.iter().flatten().copied());
        let axes = roots(&mut tensor.dims.iter().copied());
        if declared != axes {
            let shape: Vec<String> = tensor
                .dims
                .iter()
                .map(|d| self.p.dims[d.index()].name.clone())
                .collect();
            let name = tensor.name.clone();
            self.diags.push(
                Diagnostic::error(
                    span,
                    format!(
                        "the layout of output `{name}` must list its dense dimensions in order, \
                         after `node`"
                    ),
                )
                .with_label(format!(
                    "`{name}` has dense dimensions [{}]",
                    shape.join(", ")
                ))
                .with_help(format!(
                    "write `output {name} as [node, {}];` (each axis its own, as DGL) or \
                     `[node, {}]` (flattened, as PyG)",
                    shape.join(", "),
                    shape.join("*")
                )),
            );
            return None;
        }
        // One group holding every dense axis is the default; an output without dense axes is
        // stored `[N, 1]` by default, so `[node]` is a layout of its own.
        if out.len() == 1 && !out[0].is_empty() {
            return None;
        }
        Some(out)
    }
}

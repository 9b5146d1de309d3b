//! A model's edge inputs (`input e[i <- j, d: D] as "edge_attr";`, PyG's `edge_attr` with
//! `edge_dim=D`) bound to a dataset's edge features for training, diagnose and the two-layer
//! setup. The dataset gives them in `edge_index` order; the bound program reorders them and
//! fills the features of the self loops a layer adds (PyG's `fill_value="mean"`).

use crate::shapes::{file_name, Data};
use gatgrad_codegen::ir::{Domain, Program, Role, TensorId};
use gatgrad_runtime::Dataset;

/// The name PyG and gatgrad's datasets keep edge features under.
pub const EDGE_ATTR: &str = "edge_attr";

/// The edge inputs of `p`, in declaration order.
pub fn edge_inputs(p: &Program) -> Vec<TensorId> {
    p.tensors
        .iter()
        .enumerate()
        .filter(|(_, t)| t.role == Role::Input && matches!(t.domain, Domain::Edge(_)))
        .map(|(k, _)| TensorId(k as u32))
        .collect()
}

/// Errors unless `ds` has what every edge input of `p` reads: each must be read from
/// [`EDGE_ATTR`], and the dataset must have edge features. `model` names the model in messages
/// (a file path, or `model NAME`).
pub fn check(p: &Program, ds: &Dataset, model: &str) -> Result<(), String> {
    for id in edge_inputs(p) {
        let t = p.tensor(id);
        let name = file_name(t);
        if name != EDGE_ATTR {
            return Err(format!(
                "input `{}` of {model} reads edge features from `{name}`, but datasets keep them \
                 in `{EDGE_ATTR}`: declare it `as \"{EDGE_ATTR}\"`",
                t.name
            ));
        }
        if ds.edge_attr.is_none() {
            return Err(format!(
                "dataset `{}` has no `{EDGE_ATTR}`, which input `{}` of {model} needs; use a \
                 dataset file with `{EDGE_ATTR}` (see data/README.md) or \
                 `sparse:nodes=N,degree=D,edge_dim=W`",
                ds.name, t.name
            ));
        }
    }
    Ok(())
}

/// [`check`]s, then puts the dataset's edge features into `data` for every edge input of `p`.
pub fn bind(p: &Program, ds: &Dataset, model: &str, data: &mut Data) -> Result<(), String> {
    check(p, ds, model)?;
    if let (Some(e), false) = (&ds.edge_attr, edge_inputs(p).is_empty()) {
        data.reals.insert(EDGE_ATTR.to_string(), e.clone());
    }
    Ok(())
}

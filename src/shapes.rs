//! Binding data to a program: sizes of the named dimensions are solved from the shapes of the given
//! tensors, and every shape is checked, with one clear message naming the tensor on mismatch.

use gatgrad_codegen::ir::*;
use gatgrad_runtime::{DataError, Tensor};
use std::collections::HashMap;

/// The data a program runs on, keyed by file names (`x`, `param.lin_l.weight`, `y`, ...).
#[derive(Clone, Debug, Default)]
pub struct Data {
    /// Number of nodes.
    pub num_nodes: usize,
    /// `edge_index`: sources then targets.
    pub src: Vec<u32>,
    /// Targets.
    pub dst: Vec<u32>,
    /// Real-valued tensors (inputs and parameters), by file name.
    pub reals: HashMap<String, Tensor<f64>>,
    /// Real-valued tensors handed over in single precision (a float32 run from Python), by file
    /// name: bound without an f64 copy, and for an f32 run without any conversion. A name is
    /// looked up in [`Data::reals`] first.
    pub reals_f32: HashMap<String, Tensor<f32>>,
    /// Integer labels, by file name.
    pub labels: HashMap<String, Vec<i64>>,
    /// Node masks, by file name.
    pub masks: HashMap<String, Vec<bool>>,
    /// Dropout masks by tensor display name (absent: evaluation mode).
    pub dropout: HashMap<String, Vec<f64>>,
    /// Overrides of named constants, by display name.
    pub consts: HashMap<String, f64>,
    /// Sizes of dimensions the tensors cannot fix (`H` when every tensor stores `[H*C, ...]`), by
    /// display name (`H`, `conv1.H`).
    pub dims: HashMap<String, usize>,
}

impl Data {
    /// The shape of real-valued tensor `name`, in either precision.
    pub fn real_shape(&self, name: &str) -> Option<&[usize]> {
        match self.reals.get(name) {
            Some(t) => Some(&t.shape),
            None => self.reals_f32.get(name).map(|t| &t.shape[..]),
        }
    }
}

/// The file name of a tensor: parameters are stored as `param.<name>`.
pub fn file_name(t: &gatgrad_codegen::ir::Tensor) -> String {
    match t.role {
        Role::Param => format!("param.{}", t.external),
        _ => t.external.clone(),
    }
}

/// Sizes of every dimension (indexed by [`DimId`]) solved from the data.
pub fn solve_dims(p: &Program, data: &Data, num_edges: &[usize]) -> Result<Vec<usize>, DataError> {
    solve(p, data, num_edges, true)
}

/// Like [`solve_dims`], but tensors absent from `data` are skipped instead of reported (used to
/// learn parameter shapes before the parameters exist).
pub fn solve_dims_partial(
    p: &Program,
    data: &Data,
    num_edges: &[usize],
) -> Result<Vec<usize>, DataError> {
    solve(p, data, num_edges, false)
}

fn solve(
    p: &Program,
    data: &Data,
    num_edges: &[usize],
    strict: bool,
) -> Result<Vec<usize>, DataError> {
    // Constraint: product of dims (roots) == value, attributed to a tensor for messages.
    struct C {
        dims: Vec<DimId>,
        value: Value,
        tensor: String,
    }
    enum Value {
        Known(usize),
        Dim(DimId),
    }
    let mut cs = Vec::new();
    for t in &p.tensors {
        let name = file_name(t);
        let shape = match t.role {
            Role::Input | Role::Param => match data.real_shape(&name) {
                Some(shape) => shape.to_vec(),
                None if strict => return Err(DataError::missing(&name)),
                None => continue,
            },
            Role::Labels { classes } => {
                let Some(y) = data.labels.get(&name) else {
                    return Err(DataError::missing(&name));
                };
                if y.len() != data.num_nodes {
                    return Err(DataError::shape(
                        &name,
                        &format!("[{}]", data.num_nodes),
                        &[y.len()],
                    ));
                }
                // Labels do not fix the class count; they are checked against it below.
                let _ = classes;
                continue;
            }
            Role::Mask => {
                let Some(m) = data.masks.get(&name) else {
                    return Err(DataError::missing(&name));
                };
                if m.len() != data.num_nodes {
                    return Err(DataError::shape(
                        &name,
                        &format!("[{}]", data.num_nodes),
                        &[m.len()],
                    ));
                }
                continue;
            }
            _ => continue,
        };
        // A declared file shape (`[H*C, F]`, `[node, H*C]`), else one file axis per dense axis.
        let groups: Vec<Vec<DimId>> = match &t.external_shape {
            Some(g) => g.clone(),
            None => t.dims.iter().map(|d| vec![*d]).collect(),
        };
        let lead = match t.domain {
            Domain::Dense => None,
            Domain::Node => Some(data.num_nodes),
            Domain::Edge(g) => Some(num_edges[g.index()]),
        };
        let expected = describe(p, lead, &groups);
        let rank = groups.len() + usize::from(lead.is_some());
        // A scalar parameter may be stored as [1].
        let shape = if rank == 0 && shape == [1] {
            vec![]
        } else {
            shape
        };
        if shape.len() != rank {
            return Err(DataError::shape(&name, &expected, &shape));
        }
        let mut rest = &shape[..];
        if let Some(n) = lead {
            if shape[0] != n {
                let what = if t.domain == Domain::Node {
                    "nodes"
                } else {
                    "edges"
                };
                return Err(DataError::tensor(
                    &name,
                    format!("expected shape {expected}: first axis must be the {n} {what}, found {shape:?}"),
                ));
            }
            rest = &shape[1..];
        }
        for (g, &v) in groups.iter().zip(rest) {
            cs.push(C {
                dims: g.iter().map(|d| p.dim_root(*d)).collect(),
                value: Value::Known(v),
                tensor: name.clone(),
            });
        }
    }
    for (d, parts) in &p.dim_products {
        cs.push(C {
            dims: parts.iter().map(|d| p.dim_root(*d)).collect(),
            value: Value::Dim(p.dim_root(*d)),
            tensor: String::new(),
        });
    }
    let mut known: HashMap<DimId, usize> = HashMap::new();
    let mut source: HashMap<DimId, String> = HashMap::new();
    for (name, v) in &data.dims {
        match p.dims.iter().position(|d| &d.name == name) {
            Some(k) => {
                let root = p.dim_root(DimId(k as u32));
                known.insert(root, *v);
                source.insert(root, format!("--dim {name}={v}"));
            }
            None => {
                let names: Vec<&str> = p.dims.iter().map(|d| d.name.as_str()).collect();
                return Err(DataError::new(format!(
                    "unknown dimension `{name}` (dimensions: {})",
                    names.join(", ")
                )));
            }
        }
    }
    'outer: loop {
        let mut progress = false;
        for c in &cs {
            let target = match c.value {
                Value::Known(v) => Some(v),
                Value::Dim(d) => known.get(&d).copied(),
            };
            let unknown: Vec<DimId> = {
                let mut u: Vec<DimId> = c
                    .dims
                    .iter()
                    .copied()
                    .filter(|d| !known.contains_key(d))
                    .collect();
                u.dedup();
                u
            };
            let Some(prod) = c
                .dims
                .iter()
                .filter_map(|d| known.get(d))
                .try_fold(1usize, |a, &b| a.checked_mul(b))
            else {
                return Err(DataError::new(format!(
                    "dimension sizes too large: the product for `{}` overflows",
                    if c.tensor.is_empty() {
                        "a layer output"
                    } else {
                        &c.tensor
                    }
                )));
            };
            match (target, unknown.len()) {
                (Some(v), 0) if prod != v => {
                    let dims: Vec<String> = c
                        .dims
                        .iter()
                        .map(|d| format!("{}={}", p.dims[d.index()].name, known[d]))
                        .collect();
                    let origin: Vec<String> = c
                        .dims
                        .iter()
                        .filter_map(|d| {
                            source
                                .get(d)
                                .map(|s| format!("{} from `{s}`", p.dims[d.index()].name))
                        })
                        .collect();
                    return Err(DataError::tensor(
                        if c.tensor.is_empty() {
                            "(layer output)"
                        } else {
                            &c.tensor
                        },
                        format!(
                            "size {v} does not match {} = {prod} ({})",
                            dims.join("·"),
                            origin.join(", ")
                        ),
                    ));
                }
                (Some(v), 1)
                    if unknown.len() == c.dims.iter().filter(|d| **d == unknown[0]).count() =>
                {
                    if prod == 0 || v % prod != 0 || v / prod == 0 {
                        let what = format!(
                            "size {v} is not a multiple of {prod}, so dimension {} cannot be chosen",
                            p.dims[unknown[0].index()].name
                        );
                        return Err(if c.tensor.is_empty() {
                            let parts: Vec<&str> = c
                                .dims
                                .iter()
                                .map(|d| p.dims[d.index()].name.as_str())
                                .collect();
                            DataError::new(format!("a layer output of {}: {what}", parts.join("·")))
                        } else {
                            DataError::tensor(&c.tensor, what)
                        });
                    }
                    known.insert(unknown[0], v / prod);
                    source.insert(unknown[0], c.tensor.clone());
                    progress = true;
                }
                (None, 0) => {
                    if let Value::Dim(d) = c.value {
                        known.insert(d, prod);
                        progress = true;
                    }
                }
                _ => {}
            }
        }
        if !progress {
            // Stalled: fall back on declared defaults (`dims H = 1`) for what the data cannot fix.
            for (k, d) in p.dim_defaults.iter().enumerate() {
                let root = p.dim_root(DimId(k as u32));
                if let (Some(v), false) = (d, known.contains_key(&root)) {
                    known.insert(root, *v);
                    source.insert(root, format!("the default {}={v}", p.dims[k].name));
                    continue 'outer;
                }
            }
            break;
        }
    }
    let mut out = Vec::with_capacity(p.dims.len());
    for d in 0..p.dims.len() {
        let root = p.dim_root(DimId(d as u32));
        match known.get(&root) {
            Some(v) => out.push(*v),
            None => {
                // Only an error if something actually uses the dimension.
                let used = p
                    .tensors
                    .iter()
                    .any(|t| t.dims.iter().any(|x| p.dim_root(*x) == root));
                if used {
                    return Err(DataError::new(format!(
                        "cannot tell the size of dimension {0}: no given tensor fixes it; pass --dim {0}=SIZE",
                        p.dims[root.index()].name
                    )));
                }
                out.push(0);
            }
        }
    }
    // Whether tensors of these sizes fit in memory is checked by the caller, for the whole run
    // (`crate::footprint`).
    Ok(out)
}

fn describe(p: &Program, lead: Option<usize>, groups: &[Vec<DimId>]) -> String {
    let mut parts = Vec::new();
    if let Some(n) = lead {
        parts.push(n.to_string());
    }
    for g in groups {
        if g.is_empty() {
            parts.push("1".into());
        } else {
            let names: Vec<&str> = g.iter().map(|d| p.dims[d.index()].name.as_str()).collect();
            parts.push(names.join("*"));
        }
    }
    format!("[{}]", parts.join(", "))
}

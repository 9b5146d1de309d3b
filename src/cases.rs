//! Running a program on a tensor file in the PyG reference layout (`x`, `edge_index`,
//! `param.<name>`, `grad_out` or `y` + `train_mask`) and producing `out`, `loss`, `alpha` and
//! `grad.<name>`.

use crate::interp::{Interpreter, Real};
use crate::shapes::{file_name, Data};
use gatgrad_codegen::ir::*;
use gatgrad_runtime::{DataError, Graph, TensorData, TensorFile};
use std::collections::HashMap;

/// A named result tensor in file layout.
pub type Named = (String, Vec<usize>, Vec<f64>);

/// Reads everything `p` needs from `file`. `consts` overrides named constants.
pub fn read_data(
    p: &Program,
    file: &TensorFile,
    consts: &HashMap<String, f64>,
    dims: &HashMap<String, usize>,
) -> Result<Data, DataError> {
    let mut data = Data {
        consts: consts.clone(),
        dims: dims.clone(),
        ..Data::default()
    };
    for t in &p.tensors {
        let name = file_name(t);
        if is_read(t) && !file.has(&name) {
            return Err(missing(t, &name));
        }
        match t.role {
            Role::Input | Role::Param => {
                data.reals.insert(name.clone(), file.f64(&name)?);
            }
            Role::Labels { .. } => {
                data.labels.insert(name.clone(), file.i64(&name)?.data);
            }
            Role::Mask => {
                data.masks.insert(name.clone(), file.mask(&name)?);
            }
            _ => {}
        }
    }
    // The node count comes from the first node-indexed tensor.
    let n = p
        .tensors
        .iter()
        .find_map(|t| match (t.domain, &t.role) {
            (Domain::Node, Role::Input | Role::Param) => data
                .reals
                .get(&file_name(t))
                .and_then(|x| x.shape.first().copied()),
            (Domain::Node, Role::Labels { .. }) => data.labels.get(&file_name(t)).map(|y| y.len()),
            _ => None,
        })
        .ok_or_else(|| {
            DataError::new("the model has no node-indexed input to tell the number of nodes")
        })?;
    let g = Graph::from_edge_index(n, &file.i64("edge_index")?)?;
    data.num_nodes = n;
    data.src = g.sources().to_vec();
    data.dst = g.targets().to_vec();
    Ok(data)
}

/// Whether the tensor is read from the input file.
fn is_read(t: &Tensor) -> bool {
    matches!(
        t.role,
        Role::Input | Role::Param | Role::Labels { .. } | Role::Mask
    )
}

/// The message for a tensor the file lacks: which declaration reads it, and for edge inputs
/// where PyG keeps edge features.
fn missing(t: &Tensor, name: &str) -> DataError {
    let kind = match t.role {
        Role::Param => "param",
        Role::Labels { .. } => "labels",
        Role::Mask => "mask",
        _ => "input",
    };
    let declared = if t.external == t.name {
        format!("`{kind} {}`", t.name)
    } else {
        format!("`{kind} {}` (stored as `{}`)", t.name, t.external)
    };
    let mut msg = format!("missing tensor `{name}`: the model's {declared} reads it");
    if matches!(t.role, Role::Input) && matches!(t.domain, Domain::Edge(_)) && name != "edge_attr" {
        msg.push_str(
            "; PyG keeps edge features in `edge_attr`: declare the input `as \"edge_attr\"` \
             to read them from there",
        );
    }
    DataError::new(msg)
}

/// Names in `file` that running `p` on it does not read: tensors the model
/// declares no input, parameter, label or mask for. Results of a run (`out`, `loss`, `alpha`,
/// `alpha_edge_index`, `grad.*`) are not reported, since reference files hold them next to the
/// inputs. Sorted by name.
pub fn unread_tensors(p: &Program, file: &TensorFile) -> Vec<String> {
    let mut read: Vec<String> = p
        .tensors
        .iter()
        .filter(|t| is_read(t))
        .map(file_name)
        .collect();
    read.push("edge_index".into());
    if p.seed.is_some() {
        read.push("grad_out".into());
    }
    let result = |n: &str| {
        matches!(n, "out" | "loss" | "alpha" | "alpha_edge_index") || n.starts_with("grad.")
    };
    file.names()
        .into_iter()
        .filter(|n| !result(n) && !read.iter().any(|r| r == n))
        .map(str::to_string)
        .collect()
}

/// Shape of a tensor as stored in files: a parameter's declared shape (PyG's `[H*C, F]`); a node
/// or edge tensor's graph axis, then its declared layout (an output `as [node, H, C]`, DGL's)
/// or else its dense axes flattened into one (PyG's `[N, H*C]`).
pub fn file_shape<T: Real>(p: &Program, it: &Interpreter<T>, t: TensorId) -> Vec<usize> {
    let tensor = p.tensor(t);
    let natural = it.shape(t);
    let size = |g: &Vec<DimId>| -> usize { g.iter().map(|d| it.dims()[d.index()]).product() };
    match (&tensor.external_shape, tensor.domain) {
        (Some(groups), Domain::Dense) => groups.iter().map(size).collect(),
        (Some(groups), _) => std::iter::once(natural[0])
            .chain(groups.iter().map(size))
            .collect(),
        (None, Domain::Dense) => natural,
        (None, _) => vec![natural[0], natural[1..].iter().product()],
    }
}

/// The layout of output `t` in words, for messages about `grad_out`: the one its declaration
/// states (`output out as [node, H, C]`) or PyG's flattened default.
fn output_layout_words(p: &Program, t: TensorId) -> String {
    let tensor = p.tensor(t);
    let name = |d: &DimId| p.dims[d.index()].name.clone();
    let group = |g: &[DimId]| match g {
        [] => "1".to_string(),
        _ => g.iter().map(name).collect::<Vec<_>>().join("*"),
    };
    match &tensor.external_shape {
        Some(groups) => {
            let axes: Vec<String> = groups.iter().map(|g| group(g)).collect();
            format!(
                "the layer's output layout, `output {} as [node, {}]`",
                tensor.name,
                axes.join(", ")
            )
        }
        None => format!(
            "the output flattened as PyG's [node, {}]; a layer whose output keeps its axes \
             declares `output {} as [node, {}]`",
            group(&tensor.dims),
            tensor.name,
            tensor.dims.iter().map(name).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Runs forward and backward on a case file; returns the tensors to write, in a stable order.
pub fn run_case<T: Real>(
    p: &Program,
    file: &TensorFile,
    consts: &HashMap<String, f64>,
    dims: &HashMap<String, usize>,
) -> Result<Vec<Named>, DataError> {
    let data = read_data(p, file, consts, dims)?;
    let mut it: Interpreter<T> = Interpreter::new(p, &data)?;
    if let Some(seed) = p.seed {
        let g = file.f64("grad_out")?;
        let want = file_shape(p, &it, p.output);
        if g.shape != want {
            let expected = format!("{want:?} ({})", output_layout_words(p, p.output));
            return Err(DataError::shape("grad_out", &expected, &g.shape));
        }
        it.set(seed, g.data.iter().map(|v| T::from_f64(*v)).collect())?;
    }
    it.forward();
    it.backward();
    let mut out: Vec<Named> = Vec::new();
    // Edge tensors are stored in target order; files hold them in PyG's order.
    let get = |it: &Interpreter<T>, t: TensorId| -> Vec<f64> {
        let v: Vec<f64> = it
            .value(t)
            .map(|v| v.iter().map(|x| x.to_f64()).collect())
            .unwrap_or_default();
        it.bound.to_pyg_order(p, t, &v)
    };
    out.push((
        "out".into(),
        file_shape(p, &it, p.output),
        get(&it, p.output),
    ));
    if let Some(l) = p.loss {
        out.push(("loss".into(), vec![1], get(&it, l)));
    }
    if let Some(a) = p.attention {
        out.push(("alpha".into(), file_shape(p, &it, a), get(&it, a)));
        if let Domain::Edge(g) = p.tensor(a).domain {
            let graph = it.graph(g);
            let origin = it.bound.edge_origin(g);
            let mut ei = vec![0.0; 2 * graph.num_edges()];
            for (e, &o) in origin.iter().enumerate() {
                ei[o as usize] = graph.src(e) as f64;
                ei[graph.num_edges() + o as usize] = graph.dst(e) as f64;
            }
            out.push(("alpha_edge_index".into(), vec![2, graph.num_edges()], ei));
        }
    }
    for (leaf, grad) in &p.grads {
        let name = format!("grad.{}", p.tensor(*leaf).external);
        out.push((name, file_shape(p, &it, *leaf), get(&it, *grad)));
    }
    // Leaves with no path to the output still get a (zero) gradient, as autograd reports them.
    for leaf in p.leaves() {
        if !p.grads.iter().any(|(l, _)| *l == leaf) {
            let shape = file_shape(p, &it, leaf);
            let len = shape.iter().product();
            out.push((
                format!("grad.{}", p.tensor(leaf).external),
                shape,
                vec![0.0; len],
            ));
        }
    }
    for (name, _, v) in &out {
        if let Some(k) = v.iter().position(|x| !x.is_finite()) {
            return Err(DataError::tensor(
                name,
                format!("result entry {k} is not finite; check the scale of the inputs"),
            ));
        }
    }
    Ok(out)
}

/// Converts results to file tensors (`alpha_edge_index` as i64, the rest in the given precision).
pub fn to_file_tensors(named: Vec<Named>, f32_out: bool) -> Vec<(String, Vec<usize>, TensorData)> {
    named
        .into_iter()
        .map(|(n, s, v)| {
            let data = if n == "alpha_edge_index" {
                TensorData::I64(v.iter().map(|x| *x as i64).collect())
            } else if f32_out {
                TensorData::F32(v.iter().map(|x| *x as f32).collect())
            } else {
                TensorData::F64(v)
            };
            (n, s, data)
        })
        .collect()
}

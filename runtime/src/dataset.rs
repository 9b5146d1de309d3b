//! Planetoid citation datasets (Cora, Citeseer) stored as safetensors, validated on load.

use crate::error::DataError;
use crate::graph::Graph;
use crate::sparse::SparseRows;
use crate::tensor_file::{Tensor, TensorData, TensorFile};
use std::collections::HashMap;
use std::path::Path;

static CORA: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../data/cora.safetensors"
));
static CITESEER: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../data/citeseer.safetensors"
));

/// A node-classification dataset in the Planetoid layout, as PyG's `Planetoid` gives it.
///
/// File format (safetensors): `edge_index` i64 `[2, E]` (row 0 source, row 1 target),
/// `x_indptr` i64 `[N+1]`, `x_indices` i64 `[nnz]`, `x_values` f32 or f64 `[nnz]` (CSR
/// features), `y` i64 `[N]`, `train_mask`/`val_mask`/`test_mask` u8 `[N]`; optional
/// `edge_attr` f32 or f64 `[E, D]` (edge features, row `e` for column `e` of `edge_index`,
/// finite); optional header metadata `name`, `num_nodes`, `num_features`, `num_classes`,
/// `num_edges`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The dataset name (metadata `name`, else the file name).
    pub name: String,
    /// The number of nodes `N`.
    pub num_nodes: usize,
    /// The number of feature columns `F`.
    pub num_features: usize,
    /// The number of classes `C`; every label is `< C`.
    pub num_classes: usize,
    /// The citation graph, edges as in `edge_index` (both directions, no self loops in
    /// the builtin files).
    pub graph: Graph,
    /// The `[N, F]` node features; raw until [`row_normalize`](Self::row_normalize).
    pub features: SparseRows,
    /// The class of each node.
    pub y: Vec<usize>,
    /// Training nodes.
    pub train_mask: Vec<bool>,
    /// Validation nodes.
    pub val_mask: Vec<bool>,
    /// Test nodes.
    pub test_mask: Vec<bool>,
    /// Edge features `[E, D]`, one row per edge in `edge_index` order (PyG's `edge_attr`), if
    /// the dataset has them.
    pub edge_attr: Option<Tensor<f64>>,
}

impl Dataset {
    /// The names accepted by [`builtin`](Self::builtin).
    pub const BUILTIN: [&'static str; 2] = ["cora", "citeseer"];

    /// A dataset embedded in the crate: `"cora"` or `"citeseer"` (any case), public split,
    /// raw features.
    pub fn builtin(name: &str) -> Result<Dataset, DataError> {
        let bytes = match name.to_ascii_lowercase().as_str() {
            "cora" => CORA,
            "citeseer" => CITESEER,
            _ => {
                return Err(DataError::new(format!(
                    "unknown builtin dataset `{name}` (available: {})",
                    Self::BUILTIN.join(", ")
                )))
            }
        };
        Dataset::from_bytes(
            &format!("{}.safetensors", name.to_ascii_lowercase()),
            bytes.to_vec(),
        )
    }

    /// Reads and validates a dataset file.
    pub fn load(path: impl AsRef<Path>) -> Result<Dataset, DataError> {
        Dataset::from_tensor_file(&TensorFile::load(path)?)
    }

    /// Validates the bytes of a dataset file; `name` is used in messages and as the
    /// fallback dataset name.
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<Dataset, DataError> {
        Dataset::from_tensor_file(&TensorFile::from_bytes(name, bytes)?)
    }

    /// Validates a dataset held in an opened tensor file. Every check names the tensor
    /// (or metadata key) at fault.
    pub fn from_tensor_file(file: &TensorFile) -> Result<Dataset, DataError> {
        let meta = |key: &str| meta_usize(file, key);

        let y = file.i64("y")?;
        let num_nodes = match meta("num_nodes")? {
            Some(n) => n,
            None => y.shape.first().copied().unwrap_or(0),
        };
        expect_len(&y, "y", num_nodes, "num_nodes")?;
        if let Some(node) = y.data.iter().position(|&l| l < 0) {
            return Err(DataError::tensor(
                "y",
                format_args!("label {} at node {node} is negative", y.data[node]),
            ));
        }
        let num_classes = match meta("num_classes")? {
            Some(c) => c,
            None => y.data.iter().max().map_or(0, |&m| m as usize + 1),
        };
        if let Some(node) = y.data.iter().position(|&l| l as u64 >= num_classes as u64) {
            return Err(DataError::tensor(
                "y",
                format_args!(
                    "label {} at node {node} out of range for {num_classes} classes",
                    y.data[node]
                ),
            ));
        }
        let y: Vec<usize> = y.data.iter().map(|&l| l as usize).collect();

        let edge_index = file.i64("edge_index")?;
        if let Some(e) = meta("num_edges")? {
            edge_index
                .expect_shape("edge_index", &[Some(2), Some(e)])
                .map_err(|_| {
                    DataError::shape(
                        "edge_index",
                        &format!("[2, {e}] (metadata num_edges)"),
                        &edge_index.shape,
                    )
                })?;
        }
        let graph = Graph::from_edge_index(num_nodes, &edge_index)?;

        let features = read_features(file, num_nodes, meta("num_features")?)?;
        let edge_attr = read_edge_attr(file, graph.num_edges())?;

        let mut masks = Vec::with_capacity(3);
        for name in ["train_mask", "val_mask", "test_mask"] {
            let mask = file.mask(name)?;
            let shape = file.shape(name)?;
            if shape != [num_nodes] {
                return Err(DataError::shape(
                    name,
                    &format!("[{num_nodes}] (num_nodes)"),
                    shape,
                ));
            }
            masks.push(mask);
        }
        let test_mask = masks.pop().unwrap_or_default();
        let val_mask = masks.pop().unwrap_or_default();
        let train_mask = masks.pop().unwrap_or_default();

        let name = match file.metadata().and_then(|m| m.get("name")) {
            Some(n) => n.clone(),
            None => Path::new(file.file_name()).file_stem().map_or_else(
                || file.file_name().to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
        };
        Ok(Dataset {
            name,
            num_nodes,
            num_features: features.num_cols(),
            num_classes,
            graph,
            features,
            y,
            train_mask,
            val_mask,
            test_mask,
            edge_attr,
        })
    }

    /// The number of edges `E`.
    pub fn num_edges(&self) -> usize {
        self.graph.num_edges()
    }

    /// The width `D` of the edge features, if the dataset has them.
    pub fn edge_dim(&self) -> Option<usize> {
        self.edge_attr.as_ref().map(|t| t.shape[1])
    }

    /// Row-normalises the features as PyG's `NormalizeFeatures` (see
    /// [`SparseRows::row_normalize`]).
    pub fn row_normalize(&mut self) {
        self.features.row_normalize();
    }

    /// The ids of the nodes set in `mask`, ascending (e.g. `d.nodes(&d.train_mask)`).
    pub fn nodes(mask: &[bool]) -> Vec<usize> {
        mask.iter()
            .enumerate()
            .filter_map(|(i, &m)| m.then_some(i))
            .collect()
    }

    /// The tensors and header metadata of this dataset in the file format above
    /// (features as f32, edge features as f64), ready for
    /// [`write_tensors`](crate::write_tensors).
    #[allow(clippy::type_complexity)]
    pub fn to_tensors(
        &self,
    ) -> (
        Vec<(String, Vec<usize>, TensorData)>,
        HashMap<String, String>,
    ) {
        let n = self.num_nodes;
        let nnz = self.features.nnz();
        let edge_index = self.graph.edge_index();
        let mask = |m: &[bool]| TensorData::U8(m.iter().map(|&b| b as u8).collect());
        let mut tensors = vec![
            (
                "edge_index".to_string(),
                edge_index.shape,
                TensorData::I64(edge_index.data),
            ),
            (
                "x_indptr".to_string(),
                vec![n + 1],
                TensorData::I64(self.features.indptr().iter().map(|&p| p as i64).collect()),
            ),
            (
                "x_indices".to_string(),
                vec![nnz],
                TensorData::I64(self.features.indices().iter().map(|&c| c as i64).collect()),
            ),
            (
                "x_values".to_string(),
                vec![nnz],
                TensorData::F32(self.features.values().iter().map(|&v| v as f32).collect()),
            ),
            (
                "y".to_string(),
                vec![n],
                TensorData::I64(self.y.iter().map(|&l| l as i64).collect()),
            ),
            ("train_mask".to_string(), vec![n], mask(&self.train_mask)),
            ("val_mask".to_string(), vec![n], mask(&self.val_mask)),
            ("test_mask".to_string(), vec![n], mask(&self.test_mask)),
        ];
        if let Some(e) = &self.edge_attr {
            tensors.push((
                "edge_attr".to_string(),
                e.shape.clone(),
                TensorData::F64(e.data.clone()),
            ));
        }
        let metadata = [
            ("name", self.name.clone()),
            ("num_nodes", n.to_string()),
            ("num_features", self.num_features.to_string()),
            ("num_classes", self.num_classes.to_string()),
            ("num_edges", self.num_edges().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        (tensors, metadata)
    }
}

/// Reads metadata `key` as a count, if present.
fn meta_usize(file: &TensorFile, key: &str) -> Result<Option<usize>, DataError> {
    let Some(raw) = file.metadata().and_then(|m| m.get(key)) else {
        return Ok(None);
    };
    raw.trim().parse::<usize>().map(Some).map_err(|_| {
        DataError::file(
            file.file_name(),
            format_args!("metadata `{key}` is not a non-negative integer: {raw:?}"),
        )
    })
}

/// Errors unless `t` is one-dimensional of length `n` (`what` explains where `n` came from).
fn expect_len<T>(t: &Tensor<T>, name: &str, n: usize, what: &str) -> Result<(), DataError> {
    t.expect_shape(name, &[Some(n)])
        .map_err(|_| DataError::shape(name, &format!("[{n}] ({what})"), &t.shape))
}

/// Reads and checks the optional edge features `edge_attr`: `[E, D]` for the `E` columns of
/// `edge_index`, with `D ≥ 1` (finite values are checked by [`TensorFile::f64`]).
fn read_edge_attr(file: &TensorFile, num_edges: usize) -> Result<Option<Tensor<f64>>, DataError> {
    if !file.has("edge_attr") {
        return Ok(None);
    }
    let shape = file.shape("edge_attr")?;
    if shape.len() != 2 || shape[0] != num_edges || shape[1] == 0 {
        return Err(DataError::shape(
            "edge_attr",
            &format!("[{num_edges}, D] (one row of D ≥ 1 features per edge of `edge_index`)"),
            shape,
        ));
    }
    file.f64("edge_attr").map(Some)
}

/// Reads and checks the CSR features `x_indptr`, `x_indices`, `x_values`.
fn read_features(
    file: &TensorFile,
    num_nodes: usize,
    num_features: Option<usize>,
) -> Result<SparseRows, DataError> {
    let indptr = file.i64("x_indptr")?;
    expect_len(&indptr, "x_indptr", num_nodes + 1, "num_nodes + 1")?;
    let indices = file.i64("x_indices")?;
    if indices.shape.len() != 1 {
        return Err(DataError::shape("x_indices", "[nnz]", &indices.shape));
    }
    let nnz = indices.data.len();
    let values = file.f64("x_values")?;
    expect_len(&values, "x_values", nnz, "nnz, the length of `x_indices`")?;

    let first = indptr.data.first().copied().unwrap_or(0);
    if first != 0 {
        return Err(DataError::tensor(
            "x_indptr",
            format_args!("must start at 0, found {first}"),
        ));
    }
    if let Some(k) = indptr.data.windows(2).position(|w| w[1] < w[0]) {
        return Err(DataError::tensor(
            "x_indptr",
            format_args!(
                "decreases at position {} ({} then {})",
                k + 1,
                indptr.data[k],
                indptr.data[k + 1]
            ),
        ));
    }
    let last = indptr.data.last().copied().unwrap_or(0);
    if last as u64 != nnz as u64 {
        return Err(DataError::tensor(
            "x_indptr",
            format_args!("ends at {last}, but `x_indices` has {nnz} entries"),
        ));
    }

    if let Some(k) = indices.data.iter().position(|&c| c < 0) {
        return Err(DataError::tensor(
            "x_indices",
            format_args!("feature index {} at entry {k} is negative", indices.data[k]),
        ));
    }
    let num_features = match num_features {
        Some(f) => f,
        None => indices.data.iter().max().map_or(0, |&m| m as usize + 1),
    };
    if num_features > u32::MAX as usize {
        return Err(DataError::file(
            file.file_name(),
            format_args!("{num_features} features exceed the limit of {}", u32::MAX),
        ));
    }
    if let Some(k) = indices
        .data
        .iter()
        .position(|&c| c as u64 >= num_features as u64)
    {
        return Err(DataError::tensor(
            "x_indices",
            format_args!(
                "feature index {} at entry {k} out of range for {num_features} features",
                indices.data[k]
            ),
        ));
    }
    Ok(SparseRows::from_valid(
        num_nodes,
        num_features,
        indptr.data.iter().map(|&p| p as usize).collect(),
        indices.data.iter().map(|&c| c as u32).collect(),
        values.data,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_file::write_tensors;
    use std::path::PathBuf;

    fn count(mask: &[bool]) -> usize {
        mask.iter().filter(|&&m| m).count()
    }

    #[test]
    fn cora_loads() {
        let d = Dataset::builtin("cora").unwrap();
        assert_eq!(d.name, "cora");
        assert_eq!(
            (d.num_nodes, d.num_edges(), d.num_features, d.num_classes),
            (2708, 10556, 1433, 7)
        );
        assert_eq!(
            (
                count(&d.train_mask),
                count(&d.val_mask),
                count(&d.test_mask)
            ),
            (140, 500, 1000)
        );
        assert_eq!(d.graph.num_nodes(), 2708);
        assert_eq!(d.features.num_rows(), 2708);
        assert_eq!(Dataset::nodes(&d.train_mask), (0..140).collect::<Vec<_>>());
        // No self loops, both directions present.
        let g = &d.graph;
        assert!((0..g.num_edges()).all(|e| g.src(e) != g.dst(e)));
        assert!((0..g.num_edges()).all(|e| g
            .out_edges(g.dst(e))
            .iter()
            .any(|&r| g.dst(r as usize) == g.src(e))));
    }

    #[test]
    fn citeseer_loads_and_normalizes() {
        let mut d = Dataset::builtin("CiteSeer").unwrap();
        assert_eq!(
            (d.num_nodes, d.num_edges(), d.num_features, d.num_classes),
            (3327, 9104, 3703, 6)
        );
        assert_eq!(
            (
                count(&d.train_mask),
                count(&d.val_mask),
                count(&d.test_mask)
            ),
            (120, 500, 1000)
        );
        d.row_normalize();
        for r in 0..d.num_nodes {
            let (_, vals) = d.features.row(r);
            let sum: f64 = vals.iter().sum();
            assert!(
                vals.is_empty() || (sum - 1.0).abs() < 1e-12,
                "row {r} sums to {sum}"
            );
        }
        let err = Dataset::builtin("pubmed").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown builtin dataset `pubmed` (available: cora, citeseer)"
        );
    }

    /// A scratch directory removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!("gatgrad-ds-{}-{tag}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    type Tensors = Vec<(String, Vec<usize>, TensorData)>;

    /// A valid 4-node, 3-feature, 2-class dataset.
    fn tiny() -> (Tensors, HashMap<String, String>) {
        let g = Graph::new(4, vec![0, 1, 1, 2, 2, 3], vec![1, 0, 2, 1, 3, 2]).unwrap();
        let d = Dataset {
            name: "tiny".into(),
            num_nodes: 4,
            num_features: 3,
            num_classes: 2,
            graph: g,
            features: SparseRows::new(4, 3, vec![0, 2, 3, 3, 4], vec![0, 2, 1, 2], vec![1.0; 4])
                .unwrap(),
            y: vec![0, 1, 1, 0],
            train_mask: vec![true, false, false, false],
            val_mask: vec![false, true, false, false],
            test_mask: vec![false, false, true, true],
            edge_attr: None,
        };
        d.to_tensors()
    }

    /// [`tiny`] with `edge_attr` of the given shape and values added.
    fn tiny_with_edge_attr(
        shape: Vec<usize>,
        data: TensorData,
    ) -> (Tensors, HashMap<String, String>) {
        let (mut t, meta) = tiny();
        t.push(("edge_attr".into(), shape, data));
        (t, meta)
    }

    #[test]
    fn edge_attr_loads_in_edge_index_order_and_round_trips() {
        // Two features per edge; row e is edge e of `edge_index` (f32 widened to f64).
        let values: Vec<f32> = (0..12).map(|v| v as f32 * 0.5).collect();
        let (t, meta) = tiny_with_edge_attr(vec![6, 2], TensorData::F32(values.clone()));
        let d =
            Dataset::from_bytes("tiny", crate::serialize_tensors(&t, Some(meta)).unwrap()).unwrap();
        let e = d.edge_attr.as_ref().unwrap();
        assert_eq!(e.shape, vec![6, 2]);
        assert_eq!(e.data, values.iter().map(|&v| v as f64).collect::<Vec<_>>());
        assert_eq!(d.edge_dim(), Some(2));
        let (back, meta) = d.to_tensors();
        let again =
            Dataset::from_bytes("tiny", crate::serialize_tensors(&back, Some(meta)).unwrap())
                .unwrap();
        assert_eq!(again, d);
        // Without the tensor the dataset has no edge features.
        let (t, meta) = tiny();
        let d =
            Dataset::from_bytes("tiny", crate::serialize_tensors(&t, Some(meta)).unwrap()).unwrap();
        assert_eq!((d.edge_dim(), d.edge_attr), (None, None));
    }

    #[test]
    fn bad_edge_attr_is_explained() {
        let expected = "tensor `edge_attr`: expected shape [6, D] (one row of D ≥ 1 features per \
                        edge of `edge_index`), found";
        for (tag, shape) in [
            ("rows", vec![5, 2]),
            ("flat", vec![6]),
            ("rank3", vec![6, 1, 1]),
            ("width0", vec![6, 0]),
        ] {
            let len = shape.iter().product();
            let (t, meta) = tiny_with_edge_attr(shape.clone(), TensorData::F64(vec![0.0; len]));
            let err = load_error(&format!("ea-{tag}"), &t, meta);
            assert!(err.starts_with(expected), "{shape:?}: {err}");
        }
        let mut values = vec![1.0; 12];
        values[7] = f64::NAN;
        let (t, meta) = tiny_with_edge_attr(vec![6, 2], TensorData::F64(values));
        assert_eq!(
            load_error("ea-nan", &t, meta),
            "tensor `edge_attr`: contains NaN at [3, 1]"
        );
        let (t, meta) = tiny_with_edge_attr(vec![6, 2], TensorData::I64(vec![1; 12]));
        assert_eq!(
            load_error("ea-dtype", &t, meta),
            "tensor `edge_attr`: expected dtype F64 or F32, found I64"
        );
    }

    fn set(tensors: &mut Tensors, name: &str, shape: Vec<usize>, data: TensorData) {
        let slot = tensors.iter_mut().find(|t| t.0 == name).unwrap();
        slot.1 = shape;
        slot.2 = data;
    }

    /// Writes the tensors to a file and loads it, returning the error message.
    fn load_error(tag: &str, tensors: &Tensors, meta: HashMap<String, String>) -> String {
        let dir = TempDir::new(tag);
        let path = dir.0.join("bad.safetensors");
        write_tensors(&path, tensors, Some(meta)).unwrap();
        Dataset::load(&path).unwrap_err().to_string()
    }

    #[test]
    fn tiny_round_trips() {
        let (tensors, meta) = tiny();
        let dir = TempDir::new("ok");
        let path = dir.0.join("tiny.safetensors");
        write_tensors(&path, &tensors, Some(meta)).unwrap();
        let d = Dataset::load(&path).unwrap();
        assert_eq!((d.num_nodes, d.num_features, d.num_classes), (4, 3, 2));
        assert_eq!(d.graph.in_edges(1), &[0, 3]);
        assert_eq!(d.y, vec![0, 1, 1, 0]);
        // Without metadata, the sizes are inferred.
        write_tensors(&path, &tensors, None).unwrap();
        let d = Dataset::load(&path).unwrap();
        assert_eq!(d.name, "tiny");
        assert_eq!((d.num_nodes, d.num_features, d.num_classes), (4, 3, 2));
    }

    #[test]
    fn truncated_file() {
        let (tensors, meta) = tiny();
        let dir = TempDir::new("trunc");
        let path = dir.0.join("t.safetensors");
        write_tensors(&path, &tensors, Some(meta)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        let err = Dataset::load(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "file `{}`: not a valid safetensors file",
                path.display()
            )),
            "{err}"
        );
        std::fs::write(&path, &bytes[..100]).unwrap();
        let err = Dataset::load(&path).unwrap_err().to_string();
        assert!(err.contains("not a valid safetensors file"), "{err}");
    }

    #[test]
    fn wrong_dtype() {
        let (mut t, meta) = tiny();
        set(&mut t, "x_values", vec![4], TensorData::I64(vec![1; 4]));
        assert_eq!(
            load_error("dtype", &t, meta),
            "tensor `x_values`: expected dtype F64 or F32, found I64"
        );
    }

    #[test]
    fn wrong_shape() {
        let (mut t, meta) = tiny();
        set(
            &mut t,
            "edge_index",
            vec![3, 4],
            TensorData::I64(vec![0; 12]),
        );
        assert_eq!(
            load_error("shape", &t, meta.clone()),
            "tensor `edge_index`: expected shape [2, 6] (metadata num_edges), found [3, 4]"
        );
        let (mut t, _) = tiny();
        set(
            &mut t,
            "edge_index",
            vec![3, 4],
            TensorData::I64(vec![0; 12]),
        );
        assert_eq!(
            load_error("shape2", &t, HashMap::new()),
            "tensor `edge_index`: expected shape [2, E], found [3, 4]"
        );
        let (mut t, meta) = tiny();
        set(
            &mut t,
            "x_indptr",
            vec![4],
            TensorData::I64(vec![0, 2, 3, 3]),
        );
        assert_eq!(
            load_error("shape3", &t, meta),
            "tensor `x_indptr`: expected shape [5] (num_nodes + 1), found [4]"
        );
    }

    #[test]
    fn edge_index_out_of_range() {
        let (mut t, meta) = tiny();
        set(
            &mut t,
            "edge_index",
            vec![2, 6],
            TensorData::I64(vec![0, 1, 1, 2, 2, 3, 1, 0, 2, 1, 4, 2]),
        );
        assert_eq!(
            load_error("edge", &t, meta),
            "tensor `edge_index`: node index 4 out of range for 4 nodes (column 4)"
        );
    }

    #[test]
    fn label_out_of_range() {
        let (mut t, meta) = tiny();
        set(&mut t, "y", vec![4], TensorData::I64(vec![0, 1, 2, 0]));
        assert_eq!(
            load_error("label", &t, meta),
            "tensor `y`: label 2 at node 2 out of range for 2 classes"
        );
    }

    #[test]
    fn mask_of_wrong_length() {
        let (mut t, meta) = tiny();
        set(&mut t, "val_mask", vec![3], TensorData::U8(vec![0, 1, 0]));
        assert_eq!(
            load_error("mask", &t, meta),
            "tensor `val_mask`: expected shape [4] (num_nodes), found [3]"
        );
        let (mut t, meta) = tiny();
        set(
            &mut t,
            "train_mask",
            vec![4],
            TensorData::U8(vec![0, 2, 0, 0]),
        );
        assert_eq!(
            load_error("mask2", &t, meta),
            "tensor `train_mask`: value 2 at [1] is not 0 or 1"
        );
    }

    #[test]
    fn bad_feature_csr() {
        let (mut t, meta) = tiny();
        set(
            &mut t,
            "x_indptr",
            vec![5],
            TensorData::I64(vec![0, 3, 2, 3, 4]),
        );
        assert_eq!(
            load_error("indptr", &t, meta.clone()),
            "tensor `x_indptr`: decreases at position 2 (3 then 2)"
        );
        let (mut t, _) = tiny();
        set(
            &mut t,
            "x_indptr",
            vec![5],
            TensorData::I64(vec![1, 2, 3, 3, 4]),
        );
        assert_eq!(
            load_error("indptr2", &t, meta.clone()),
            "tensor `x_indptr`: must start at 0, found 1"
        );
        let (mut t, _) = tiny();
        set(
            &mut t,
            "x_indptr",
            vec![5],
            TensorData::I64(vec![0, 2, 3, 3, 3]),
        );
        assert_eq!(
            load_error("indptr3", &t, meta.clone()),
            "tensor `x_indptr`: ends at 3, but `x_indices` has 4 entries"
        );
        let (mut t, _) = tiny();
        set(
            &mut t,
            "x_indices",
            vec![4],
            TensorData::I64(vec![0, 2, 3, 2]),
        );
        assert_eq!(
            load_error("indices", &t, meta.clone()),
            "tensor `x_indices`: feature index 3 at entry 2 out of range for 3 features"
        );
        let (mut t, _) = tiny();
        set(
            &mut t,
            "x_values",
            vec![4],
            TensorData::F32(vec![1.0, f32::NAN, 1.0, 1.0]),
        );
        assert_eq!(
            load_error("values", &t, meta),
            "tensor `x_values`: contains NaN at [1]"
        );
    }

    #[test]
    fn metadata_problems() {
        let (t, mut meta) = tiny();
        meta.insert("num_nodes".into(), "5".into());
        assert_eq!(
            load_error("meta", &t, meta),
            "tensor `y`: expected shape [5] (num_nodes), found [4]"
        );
        let (t, mut meta) = tiny();
        meta.insert("num_classes".into(), "two".into());
        let err = load_error("meta2", &t, meta);
        assert!(
            err.ends_with("metadata `num_classes` is not a non-negative integer: \"two\""),
            "{err}"
        );
        let (t, meta) = tiny();
        let t: Tensors = t.into_iter().filter(|x| x.0 != "test_mask").collect();
        assert_eq!(
            load_error("missing", &t, meta),
            "missing tensor `test_mask`"
        );
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        use rand::{Rng, SeedableRng};
        let (tensors, meta) = tiny();
        let good = crate::tensor_file::serialize_tensors(&tensors, Some(meta)).unwrap();
        for len in 0..good.len() {
            assert!(Dataset::from_bytes("t", good[..len].to_vec()).is_err());
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..3000 {
            let mut bytes = good.clone();
            for _ in 0..rng.gen_range(1..4) {
                let k = rng.gen_range(0..bytes.len());
                bytes[k] = rng.gen();
            }
            let _ = Dataset::from_bytes("t", bytes);
        }
    }
}

//! Seeded synthetic node-classification tasks whose answer is known to depend on attending to
//! exactly one neighbour, as [`Dataset`]s the trainer accepts.
//!
//! - [`dictlookup`]: the DictionaryLookup benchmark of Brody, Alon & Yahav, "How Attentive are
//!   Graph Attention Networks?" (ICLR 2022, §4.1). Static attention (GAT) provably cannot
//!   solve it for every query; dynamic attention (GATv2) can.
//! - [`sparse_target`]: the same lookup on one sparse random graph, where every node is both a
//!   key and a query.
//!
//! Both are reproducible: the same arguments give the same dataset on every platform (ChaCha8).
//! Specs such as `dictlookup:k=10` or `sparse:nodes=1000,degree=4,seed=1` are read by
//! [`Spec::parse`] / [`parse_spec`]. With `edge_dim=D` (`edge_dim` argument `D > 0`) a dataset
//! also has `D` edge features per edge (PyG's `edge_attr`), see [`edge_features`].

mod edge_features;

use gatgrad_runtime::{Dataset, Graph, SparseRows};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Upper bound on nodes + edges of a generated dataset, so a typo in a spec cannot exhaust
/// memory.
pub const MAX_SIZE: usize = 20_000_000;

/// Default number of training graphs for `dictlookup` specs.
pub const DICT_TRAIN_GRAPHS: usize = 400;
/// Default number of held-out graphs for `dictlookup` specs.
pub const DICT_TEST_GRAPHS: usize = 100;
/// Default `k` for a bare `dictlookup` spec.
pub const DICT_K: usize = 10;
/// Default number of nodes for `sparse` specs.
pub const SPARSE_NODES: usize = 1000;
/// Default in-degree for `sparse` specs.
pub const SPARSE_DEGREE: usize = 4;
/// Number of classes of [`sparse_target`].
pub const SPARSE_CLASSES: usize = 4;

fn check_size(nodes: usize, edges: Option<usize>) -> Result<(), String> {
    match edges.and_then(|e| e.checked_add(nodes)) {
        Some(t) if t <= MAX_SIZE => Ok(()),
        _ => Err(format!(
            "the dataset would have more than {MAX_SIZE} nodes + edges; choose smaller sizes"
        )),
    }
}

/// Builds the sparse feature matrix from the nonzero columns of each row (all values 1).
fn one_hot_rows(rows: &[Vec<u32>], num_cols: usize) -> Result<SparseRows, String> {
    let mut indptr = Vec::with_capacity(rows.len() + 1);
    indptr.push(0);
    let mut indices = Vec::new();
    for r in rows {
        indices.extend_from_slice(r);
        indptr.push(indices.len());
    }
    let values = vec![1.0; indices.len()];
    SparseRows::new(rows.len(), num_cols, indptr, indices, values).map_err(|e| e.to_string())
}

/// The DictionaryLookup task (Brody et al. 2022, §4.1) as one disjoint-union dataset of
/// `train_graphs + test_graphs` bipartite graphs.
///
/// Graph `g` occupies nodes `2k·g .. 2k·(g+1)`: first its `k` **keys**, then its `k`
/// **queries**. Every key has an edge to every query (`k²` edges, keys → queries, grouped by
/// query); keys receive no edges. Key `i` has an attribute `a_i` (the keys' attributes are a
/// random permutation of `0..k`) and a value `v_i` (uniform in `0..k`, repeats allowed); the
/// queries' attributes are an independent random permutation of `0..k`.
///
/// Features (`2k` columns): a key is `[one-hot(a_i) ; one-hot(v_i)]`, a query
/// `[one-hot(a) ; 0]`. Classes: `k`. A query's label is the value of the key with the same
/// attribute, so each query must attend to exactly one of its `k` neighbours, and which one
/// depends on the query. Keys are not labelled: their `y` is their own value (a placeholder)
/// and every mask is false on them.
///
/// Split: `train_mask` holds the queries of the first `train_graphs` graphs; `val_mask` and
/// `test_mask` both hold the queries of the `test_graphs` held-out graphs (the paper reports
/// train and test accuracy only, so there is nothing to tune on a separate split).
///
/// With `edge_dim > 0`, the dataset has `edge_dim` edge features per edge; the hint column of
/// [`edge_features`] is set on the edges from keys whose value is the query's label.
///
/// Errors if `k < 2`, either graph count is 0, or the dataset would exceed [`MAX_SIZE`].
pub fn dictlookup(
    k: usize,
    train_graphs: usize,
    test_graphs: usize,
    seed: u64,
    edge_dim: usize,
) -> Result<Dataset, String> {
    if k < 2 {
        return Err(format!("dictlookup: k must be at least 2, got {k}"));
    }
    if train_graphs == 0 || test_graphs == 0 {
        return Err(format!(
            "dictlookup: need at least one training and one test graph, got train={train_graphs}, test={test_graphs}"
        ));
    }
    let graphs = train_graphs.saturating_add(test_graphs);
    let nodes = k.checked_mul(2).and_then(|w| graphs.checked_mul(w));
    let edges = k.checked_mul(k).and_then(|kk| graphs.checked_mul(kk));
    check_size(nodes.unwrap_or(usize::MAX), edges)?;
    let nodes = 2 * k * graphs;

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut src = Vec::with_capacity(k * k * graphs);
    let mut dst = Vec::with_capacity(k * k * graphs);
    let mut rows = Vec::with_capacity(nodes);
    let mut y = Vec::with_capacity(nodes);
    let mut train_mask = vec![false; nodes];
    let mut held_out = vec![false; nodes];
    let mut key_attr: Vec<usize> = (0..k).collect();
    let mut query_attr: Vec<usize> = (0..k).collect();
    let mut value_of_attr = vec![0usize; k];
    for g in 0..graphs {
        let base = 2 * k * g;
        key_attr.shuffle(&mut rng);
        query_attr.shuffle(&mut rng);
        for &a in &key_attr {
            let v = rng.gen_range(0..k);
            value_of_attr[a] = v;
            rows.push(vec![a as u32, (k + v) as u32]);
            y.push(v);
        }
        for (q, &a) in query_attr.iter().enumerate() {
            rows.push(vec![a as u32]);
            y.push(value_of_attr[a]);
            let node = base + k + q;
            if g < train_graphs {
                train_mask[node] = true;
            } else {
                held_out[node] = true;
            }
            for key in 0..k {
                src.push((base + key) as u32);
                dst.push(node as u32);
            }
        }
    }
    let edge_attr = (edge_dim > 0)
        .then(|| {
            edge_features::edge_features(src.len(), edge_dim, seed, |e| {
                y[src[e] as usize] == y[dst[e] as usize]
            })
        })
        .transpose()?;
    let graph = Graph::new(nodes, src, dst).map_err(|e| e.to_string())?;
    Ok(Dataset {
        name: format!("dictlookup-k{k}{}", edge_suffix(edge_dim)),
        num_nodes: nodes,
        num_features: 2 * k,
        num_classes: k,
        graph,
        features: one_hot_rows(&rows, 2 * k)?,
        y,
        train_mask,
        val_mask: held_out.clone(),
        test_mask: held_out,
        edge_attr,
    })
}

/// The part of a dataset's name that tells its edge features: `-e4` for four, none without.
fn edge_suffix(edge_dim: usize) -> String {
    if edge_dim > 0 {
        format!("-e{edge_dim}")
    } else {
        String::new()
    }
}

/// A sparse random graph where each node's class is the class of ONE specific in-neighbour,
/// which the node names by a *tag*: the same lookup as [`dictlookup`], with every node both a
/// key and a query and neighbourhoods shared between lookups.
///
/// Construction, with `T = degree` tags and [`SPARSE_CLASSES`] classes `C`:
///
/// 1. Tags: node `j` gets tag `t_j`; the list `j mod T` is shuffled, so every tag is held by
///    `⌊N/T⌋` or `⌈N/T⌉` nodes.
/// 2. Colours: node `j` gets a class feature `c_j`, uniform in `0..C`.
/// 3. Edges: for every node `i` and every tag `t` in `0..T`, one edge `j → i` from a node `j ≠ i`
///    drawn uniformly among the holders of tag `t`. So every node has in-degree exactly `T`, its
///    in-neighbours carry distinct tags (no multi-edges, no self loops), and out-degrees vary.
///    Edges are grouped by target, in tag order.
/// 4. Pointer: node `i` gets a pointer `p_i`, uniform in `0..T`; exactly one in-neighbour
///    `j*` has `t_{j*} = p_i`.
/// 5. Label: `y_i = c_{j*}`.
///
/// Features (`C + 2T` columns): `[one-hot(c_i) ; one-hot(t_i) ; one-hot(p_i)]`. A node's own
/// class feature is a distractor (it is independent of the label), so attending to the self
/// loop a GAT adds, or averaging, gives chance accuracy; a model must match the target's
/// pointer against the sources' tags, which needs dynamic attention for `T ≥ 3`.
///
/// Split: a seeded random permutation of the nodes, the first 60 % train, the next 20 %
/// validation, the rest test.
///
/// With `edge_dim > 0`, the dataset has `edge_dim` edge features per edge; the hint column of
/// [`edge_features`] is set on the edges whose source's class feature `c_j` is the target's
/// label (the pointed-to edge, and others that happen to carry the same class).
///
/// Errors if `degree == 0` or `nodes < 2 · degree` (every tag needs a holder other than the
/// node itself), or the dataset would exceed [`MAX_SIZE`].
pub fn sparse_target(
    nodes: usize,
    degree: usize,
    seed: u64,
    edge_dim: usize,
) -> Result<Dataset, String> {
    if degree == 0 {
        return Err("sparse: degree must be at least 1".to_string());
    }
    if nodes < degree.saturating_mul(2) {
        return Err(format!(
            "sparse: need at least 2 * degree = {} nodes for degree {degree}, got {nodes}",
            degree.saturating_mul(2)
        ));
    }
    check_size(nodes, nodes.checked_mul(degree))?;
    let tags_n = degree;
    let classes = SPARSE_CLASSES;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let mut tag: Vec<usize> = (0..nodes).map(|j| j % tags_n).collect();
    tag.shuffle(&mut rng);
    let class: Vec<usize> = (0..nodes).map(|_| rng.gen_range(0..classes)).collect();
    let mut holders = vec![Vec::new(); tags_n];
    for (j, &t) in tag.iter().enumerate() {
        holders[t].push(j);
    }

    let mut src = Vec::with_capacity(nodes * degree);
    let mut dst = Vec::with_capacity(nodes * degree);
    let mut rows = Vec::with_capacity(nodes);
    let mut y = Vec::with_capacity(nodes);
    for i in 0..nodes {
        let pointer = rng.gen_range(0..tags_n);
        let mut target_class = 0;
        for (t, h) in holders.iter().enumerate() {
            // Every tag has ≥ 2 holders (nodes ≥ 2T), so a holder other than `i` exists.
            let j = loop {
                let j = h[rng.gen_range(0..h.len())];
                if j != i {
                    break j;
                }
            };
            src.push(j as u32);
            dst.push(i as u32);
            if t == pointer {
                target_class = class[j];
            }
        }
        y.push(target_class);
        rows.push(vec![
            class[i] as u32,
            (classes + tag[i]) as u32,
            (classes + tags_n + pointer) as u32,
        ]);
    }

    let mut order: Vec<usize> = (0..nodes).collect();
    order.shuffle(&mut rng);
    let n_train = nodes * 6 / 10;
    let n_val = nodes * 2 / 10;
    let mut train_mask = vec![false; nodes];
    let mut val_mask = vec![false; nodes];
    let mut test_mask = vec![false; nodes];
    for (rank, &node) in order.iter().enumerate() {
        let mask = if rank < n_train {
            &mut train_mask
        } else if rank < n_train + n_val {
            &mut val_mask
        } else {
            &mut test_mask
        };
        mask[node] = true;
    }

    let num_features = classes + 2 * tags_n;
    let edge_attr = (edge_dim > 0)
        .then(|| {
            edge_features::edge_features(src.len(), edge_dim, seed, |e| {
                class[src[e] as usize] == y[dst[e] as usize]
            })
        })
        .transpose()?;
    let graph = Graph::new(nodes, src, dst).map_err(|e| e.to_string())?;
    Ok(Dataset {
        name: format!("sparse-n{nodes}-d{degree}-s{seed}{}", edge_suffix(edge_dim)),
        num_nodes: nodes,
        num_features,
        num_classes: classes,
        graph,
        features: one_hot_rows(&rows, num_features)?,
        y,
        train_mask,
        val_mask,
        test_mask,
        edge_attr,
    })
}

/// A parsed synthetic-dataset spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// `dictlookup:k=K[,train=G][,test=G][,seed=S]`, see [`dictlookup`].
    DictLookup {
        /// Keys (and queries, and classes) per graph.
        k: usize,
        /// Training graphs (default [`DICT_TRAIN_GRAPHS`]).
        train_graphs: usize,
        /// Held-out graphs (default [`DICT_TEST_GRAPHS`]).
        test_graphs: usize,
        /// Seed (default 0).
        seed: u64,
        /// Edge features per edge (default 0: none).
        edge_dim: usize,
    },
    /// `sparse:nodes=N,degree=D,seed=S[,edge_dim=D]`, see [`sparse_target`].
    Sparse {
        /// Nodes (default [`SPARSE_NODES`]).
        nodes: usize,
        /// In-degree of every node (default [`SPARSE_DEGREE`]).
        degree: usize,
        /// Seed (default 0).
        seed: u64,
        /// Edge features per edge (default 0: none).
        edge_dim: usize,
    },
}

impl Spec {
    /// Parses `KIND` or `KIND:key=value,key=value,...`. Kinds and keys:
    ///
    /// - `dictlookup`: `k` (default [`DICT_K`]), `train` (default [`DICT_TRAIN_GRAPHS`]),
    ///   `test` (default [`DICT_TEST_GRAPHS`]), `seed` (default 0). With k = 10 that is 500
    ///   graphs of 20 nodes: 10 000 nodes, 50 000 edges.
    /// - `sparse`: `nodes` (default [`SPARSE_NODES`]), `degree` (default [`SPARSE_DEGREE`]),
    ///   `seed` (default 0).
    /// - both: `edge_dim` (default 0), the number of edge features per edge (`edge_attr`).
    ///
    /// Values are non-negative integers. Unknown kinds or keys, repeated keys, missing `=`
    /// and malformed numbers are errors naming the culprit; value ranges are checked by the
    /// generators.
    pub fn parse(spec: &str) -> Result<Spec, String> {
        let spec = spec.trim();
        let (kind, args) = match spec.split_once(':') {
            Some((kind, args)) => (kind.trim(), Some(args)),
            None => (spec, None),
        };
        let keys: &[&str] = match kind {
            "dictlookup" => &["k", "train", "test", "seed", "edge_dim"],
            "sparse" => &["nodes", "degree", "seed", "edge_dim"],
            _ => {
                return Err(format!(
                    "unknown synthetic dataset `{kind}` in `{spec}` (expected `dictlookup:k=K` or `sparse:nodes=N,degree=D,seed=S`)"
                ))
            }
        };
        let mut values: Vec<Option<u64>> = vec![None; keys.len()];
        if let Some(args) = args {
            for part in args.split(',') {
                let part = part.trim();
                if part.is_empty() {
                    return Err(format!("empty argument in `{spec}`"));
                }
                let Some((key, value)) = part.split_once('=') else {
                    return Err(format!("`{part}` in `{spec}` is not of the form key=value"));
                };
                let (key, value) = (key.trim(), value.trim());
                let Some(slot) = keys.iter().position(|k| *k == key) else {
                    return Err(format!(
                        "unknown key `{key}` for `{kind}` (expected one of: {})",
                        keys.join(", ")
                    ));
                };
                if values[slot].is_some() {
                    return Err(format!("key `{key}` given twice in `{spec}`"));
                }
                let parsed = value.parse::<u64>().map_err(|_| {
                    format!("`{key}={value}`: expected a non-negative integer, found `{value}`")
                })?;
                values[slot] = Some(parsed);
            }
        }
        let get = |key: &str, default: u64| -> u64 {
            let slot = keys.iter().position(|k| *k == key);
            slot.and_then(|s| values[s]).unwrap_or(default)
        };
        let size = |key: &str, default: usize| -> Result<usize, String> {
            usize::try_from(get(key, default as u64)).map_err(|_| format!("`{key}` is too large"))
        };
        Ok(match kind {
            "dictlookup" => Spec::DictLookup {
                k: size("k", DICT_K)?,
                train_graphs: size("train", DICT_TRAIN_GRAPHS)?,
                test_graphs: size("test", DICT_TEST_GRAPHS)?,
                seed: get("seed", 0),
                edge_dim: size("edge_dim", 0)?,
            },
            _ => Spec::Sparse {
                nodes: size("nodes", SPARSE_NODES)?,
                degree: size("degree", SPARSE_DEGREE)?,
                seed: get("seed", 0),
                edge_dim: size("edge_dim", 0)?,
            },
        })
    }

    /// Generates the dataset.
    pub fn generate(&self) -> Result<Dataset, String> {
        match *self {
            Spec::DictLookup {
                k,
                train_graphs,
                test_graphs,
                seed,
                edge_dim,
            } => dictlookup(k, train_graphs, test_graphs, seed, edge_dim),
            Spec::Sparse {
                nodes,
                degree,
                seed,
                edge_dim,
            } => sparse_target(nodes, degree, seed, edge_dim),
        }
    }
}

/// [`Spec::parse`] then [`Spec::generate`].
pub fn parse_spec(spec: &str) -> Result<Dataset, String> {
    Spec::parse(spec)?.generate()
}

#[cfg(test)]
mod tests;

//! Tests of the synthetic datasets: shapes, reproducibility, specs and their errors.

use super::*;

/// The column of the single nonzero of `row` within `range`, checking the value is 1.
fn hot(ds: &Dataset, row: usize, range: std::ops::Range<usize>) -> Option<usize> {
    let (idx, vals) = ds.features.row(row);
    let hits: Vec<usize> = idx
        .iter()
        .zip(vals)
        .filter(|(&c, _)| range.contains(&(c as usize)))
        .map(|(&c, &v)| {
            assert_eq!(v, 1.0);
            c as usize - range.start
        })
        .collect();
    assert!(hits.len() <= 1, "row {row}: several hot columns {hits:?}");
    hits.first().copied()
}

fn check_common(ds: &Dataset) {
    assert_eq!(ds.graph.num_nodes(), ds.num_nodes);
    assert_eq!(ds.features.num_rows(), ds.num_nodes);
    assert_eq!(ds.features.num_cols(), ds.num_features);
    assert_eq!(ds.y.len(), ds.num_nodes);
    assert!(ds.y.iter().all(|&c| c < ds.num_classes));
    for m in [&ds.train_mask, &ds.val_mask, &ds.test_mask] {
        assert_eq!(m.len(), ds.num_nodes);
    }
    // Survives a round trip through the on-disk layout the trainer reads.
    let (tensors, meta) = ds.to_tensors();
    let bytes = gatgrad_runtime::serialize_tensors(&tensors, Some(meta)).unwrap();
    let back = Dataset::from_bytes("synthetic", bytes).unwrap();
    assert_eq!(back.y, ds.y);
    assert_eq!(back.graph, ds.graph);
    assert_eq!(back.features, ds.features);
    assert_eq!(back.num_classes, ds.num_classes);
    assert_eq!(back.train_mask, ds.train_mask);
    assert_eq!(back.test_mask, ds.test_mask);
}

#[test]
fn dictlookup_sizes_masks_and_labels() {
    let (k, train, test) = (4, 6, 3);
    let ds = dictlookup(k, train, test, 7, 0).unwrap();
    check_common(&ds);
    let graphs = train + test;
    assert_eq!(ds.num_nodes, 2 * k * graphs);
    assert_eq!(ds.graph.num_edges(), k * k * graphs);
    assert_eq!((ds.num_features, ds.num_classes), (2 * k, k));
    assert_eq!(ds.name, "dictlookup-k4");
    assert_eq!(ds.train_mask.iter().filter(|&&m| m).count(), k * train);
    assert_eq!(ds.val_mask.iter().filter(|&&m| m).count(), k * test);
    assert_eq!(ds.val_mask, ds.test_mask);

    for g in 0..graphs {
        let base = 2 * k * g;
        let keys = base..base + k;
        let mut key_attrs = Vec::new();
        for key in keys.clone() {
            assert!(!ds.train_mask[key] && !ds.val_mask[key] && !ds.test_mask[key]);
            assert_eq!(ds.graph.in_degree(key), 0);
            key_attrs.push(hot(&ds, key, 0..k).unwrap());
            assert_eq!(hot(&ds, key, k..2 * k), Some(ds.y[key]));
        }
        key_attrs.sort_unstable();
        assert_eq!(key_attrs, (0..k).collect::<Vec<_>>());
        let mut query_attrs = Vec::new();
        for q in base + k..base + 2 * k {
            assert_eq!(ds.train_mask[q], g < train);
            assert_eq!(ds.test_mask[q], g >= train);
            assert_eq!(ds.features.row(q).0.len(), 1);
            let a = hot(&ds, q, 0..k).unwrap();
            query_attrs.push(a);
            assert_eq!(hot(&ds, q, k..2 * k), None);
            // In-neighbours: exactly this graph's keys; the label is the value of the one
            // with the same attribute.
            let sources: Vec<usize> = ds
                .graph
                .in_edges(q)
                .iter()
                .map(|&e| ds.graph.src(e as usize))
                .collect();
            assert_eq!(sources, keys.clone().collect::<Vec<_>>());
            let matches: Vec<usize> = sources
                .iter()
                .filter(|&&s| hot(&ds, s, 0..k) == Some(a))
                .map(|&s| hot(&ds, s, k..2 * k).unwrap())
                .collect();
            assert_eq!(matches, vec![ds.y[q]]);
        }
        query_attrs.sort_unstable();
        assert_eq!(query_attrs, (0..k).collect::<Vec<_>>());
    }
}

#[test]
fn sparse_target_sizes_masks_and_labels() {
    let (n, d) = (203, 5);
    let ds = sparse_target(n, d, 11, 0).unwrap();
    check_common(&ds);
    let c = SPARSE_CLASSES;
    assert_eq!(
        (ds.num_nodes, ds.num_features, ds.num_classes),
        (n, c + 2 * d, c)
    );
    assert_eq!(ds.graph.num_edges(), n * d);
    let count = |m: &[bool]| m.iter().filter(|&&v| v).count();
    assert_eq!(count(&ds.train_mask), 121);
    assert_eq!(count(&ds.val_mask), 40);
    assert_eq!(count(&ds.test_mask), 42);
    for i in 0..n {
        let in_masks = [ds.train_mask[i], ds.val_mask[i], ds.test_mask[i]];
        assert_eq!(in_masks.iter().filter(|&&m| m).count(), 1, "node {i}");
    }
    let class = |j| hot(&ds, j, 0..c).unwrap();
    let tag = |j| hot(&ds, j, c..c + d).unwrap();
    let pointer = |j| hot(&ds, j, c + d..c + 2 * d).unwrap();
    let mut tag_counts = vec![0usize; d];
    for i in 0..n {
        assert_eq!(ds.features.row(i).0.len(), 3);
        tag_counts[tag(i)] += 1;
        assert_eq!(ds.graph.in_degree(i), d);
        let sources: Vec<usize> = ds
            .graph
            .in_edges(i)
            .iter()
            .map(|&e| ds.graph.src(e as usize))
            .collect();
        assert!(!sources.contains(&i), "self loop at {i}");
        let mut tags: Vec<usize> = sources.iter().map(|&s| tag(s)).collect();
        tags.sort_unstable();
        assert_eq!(tags, (0..d).collect::<Vec<_>>(), "node {i}");
        let target: Vec<usize> = sources
            .iter()
            .copied()
            .filter(|&s| tag(s) == pointer(i))
            .collect();
        assert_eq!(target.len(), 1);
        assert_eq!(ds.y[i], class(target[0]), "node {i}");
    }
    assert!(tag_counts.iter().all(|&t| t == n / d || t == n / d + 1));
    // The labels are not trivially the node's own class.
    let own = (0..n).filter(|&i| ds.y[i] == class(i)).count();
    assert!(own < n / 2, "{own}");
}

#[test]
fn generators_are_deterministic() {
    assert_eq!(dictlookup(5, 4, 2, 3, 0), dictlookup(5, 4, 2, 3, 0));
    assert_ne!(dictlookup(5, 4, 2, 3, 0), dictlookup(5, 4, 2, 4, 0));
    assert_eq!(sparse_target(100, 3, 9, 0), sparse_target(100, 3, 9, 0));
    assert_ne!(sparse_target(100, 3, 9, 0), sparse_target(100, 3, 10, 0));
    assert_eq!(
        parse_spec("sparse:nodes=100,degree=3,seed=9"),
        sparse_target(100, 3, 9, 0)
    );
}

#[test]
fn edge_features_have_the_shape_asked_for_and_change_nothing_else() {
    for spec in [
        "sparse:nodes=120,degree=3,seed=2",
        "dictlookup:k=3,train=4,test=2,seed=2",
    ] {
        let plain = parse_spec(spec).unwrap();
        let with = parse_spec(&format!("{spec},edge_dim=4")).unwrap();
        assert_eq!(plain.edge_attr, None);
        let e = with.edge_attr.clone().unwrap();
        assert_eq!(e.shape, vec![plain.num_edges(), 4], "{spec}");
        assert_eq!(with.edge_dim(), Some(4));
        assert!(with.name.ends_with("-e4"), "{}", with.name);
        // Everything but the edge features and the name is the dataset without them.
        let same = Dataset {
            name: plain.name.clone(),
            edge_attr: None,
            ..with.clone()
        };
        assert_eq!(same, plain, "{spec}");
        check_common(&with);
        let (tensors, meta) = with.to_tensors();
        let bytes = gatgrad_runtime::serialize_tensors(&tensors, Some(meta)).unwrap();
        assert_eq!(
            Dataset::from_bytes("synthetic", bytes).unwrap().edge_attr,
            with.edge_attr
        );
    }
}

#[test]
fn edge_features_are_reproducible_and_seeded() {
    let a = sparse_target(100, 3, 9, 2).unwrap().edge_attr.unwrap();
    let b = sparse_target(100, 3, 9, 2).unwrap().edge_attr.unwrap();
    let bits = |t: &gatgrad_runtime::Tensor<f64>| -> Vec<u64> {
        t.data.iter().map(|v| v.to_bits()).collect()
    };
    assert_eq!(bits(&a), bits(&b));
    let c = sparse_target(100, 3, 10, 2).unwrap().edge_attr.unwrap();
    assert_ne!(bits(&a), bits(&c));
    // A golden regression value, not an oracle: the first features as generated when the
    // option was written, so that a change of the generator or its stream (which would make
    // earlier runs irreproducible) fails here. The hint test below checks what they mean.
    let first: Vec<String> = a.data[..4].iter().map(|v| format!("{v:.6}")).collect();
    assert_eq!(first, ["-0.436211", "0.365783", "0.218520", "-0.364980"]);
}

#[test]
fn the_hint_column_tells_the_edges_that_carry_the_label() {
    for ds in [
        sparse_target(400, 4, 1, 3).unwrap(),
        dictlookup(4, 20, 5, 1, 3).unwrap(),
    ] {
        let e = ds.edge_attr.as_ref().unwrap();
        let c = SPARSE_CLASSES;
        // The class a source carries: its class feature (sparse) or its value (dictlookup keys).
        let carried = |j: usize| -> usize {
            if ds.name.starts_with("sparse") {
                hot(&ds, j, 0..c).unwrap()
            } else {
                ds.y[j]
            }
        };
        let (mut on, mut off) = (0, 0);
        for k in 0..ds.num_edges() {
            let (j, i) = (ds.graph.src(k), ds.graph.dst(k));
            let hint = e.data[k * 3];
            let expect = carried(j) == ds.y[i];
            assert!((-0.5..1.5).contains(&hint));
            assert_eq!(hint >= 0.5, expect, "{}: edge {k}: {hint}", ds.name);
            if expect {
                on += 1
            } else {
                off += 1
            }
            for v in &e.data[k * 3 + 1..k * 3 + 3] {
                assert!((-1.0..1.0).contains(v));
            }
        }
        assert!(on > 0 && off > 0, "{}: {on} {off}", ds.name);
    }
}

#[test]
fn edge_dim_is_parsed_and_bounded() {
    assert!(matches!(
        Spec::parse("sparse:edge_dim=4").unwrap(),
        Spec::Sparse { edge_dim: 4, .. }
    ));
    assert!(matches!(
        Spec::parse("dictlookup:k=3,edge_dim=2").unwrap(),
        Spec::DictLookup { edge_dim: 2, .. }
    ));
    let err = parse_spec("sparse:nodes=1000,degree=4,edge_dim=100000").unwrap_err();
    assert!(err.contains("choose a smaller edge_dim"), "{err}");
}

#[test]
fn smallest_cases_work() {
    let ds = dictlookup(2, 1, 1, 0, 0).unwrap();
    check_common(&ds);
    let ds = sparse_target(2, 1, 0, 0).unwrap();
    check_common(&ds);
    // Two nodes, one tag: each must point at the other.
    assert_eq!(ds.graph.sources(), &[1, 0]);
    assert_eq!(ds.graph.targets(), &[0, 1]);
}

#[test]
fn specs_parse_with_defaults() {
    assert_eq!(
        Spec::parse("dictlookup:k=10").unwrap(),
        Spec::DictLookup {
            k: 10,
            train_graphs: DICT_TRAIN_GRAPHS,
            test_graphs: DICT_TEST_GRAPHS,
            seed: 0,
            edge_dim: 0
        }
    );
    assert_eq!(
        Spec::parse("dictlookup").unwrap(),
        Spec::parse("dictlookup:k=10").unwrap()
    );
    assert_eq!(
        Spec::parse(" dictlookup: k=3 , seed=5,test=2,train=7 ").unwrap(),
        Spec::DictLookup {
            k: 3,
            train_graphs: 7,
            test_graphs: 2,
            seed: 5,
            edge_dim: 0
        }
    );
    assert_eq!(
        Spec::parse("sparse:nodes=50,degree=2,seed=3").unwrap(),
        Spec::Sparse {
            nodes: 50,
            degree: 2,
            seed: 3,
            edge_dim: 0
        }
    );
    assert_eq!(
        Spec::parse("sparse").unwrap(),
        Spec::Sparse {
            nodes: SPARSE_NODES,
            degree: SPARSE_DEGREE,
            seed: 0,
            edge_dim: 0
        }
    );
    let ds = parse_spec("dictlookup:k=10").unwrap();
    assert_eq!(ds.num_nodes, 10_000);
    assert_eq!(ds.graph.num_edges(), 50_000);
}

#[test]
fn bad_specs_are_explained() {
    for (spec, message) in [
        ("cora", "unknown synthetic dataset `cora`"),
        ("", "unknown synthetic dataset ``"),
        (
            "dictlookup:k",
            "`k` in `dictlookup:k` is not of the form key=value",
        ),
        (
            "dictlookup:k=",
            "`k=`: expected a non-negative integer, found ``",
        ),
        ("dictlookup:k=-3", "`k=-3`: expected a non-negative integer"),
        ("dictlookup:k=ten", "found `ten`"),
        ("dictlookup:k=3,,seed=1", "empty argument"),
        ("dictlookup:k=3,k=4", "key `k` given twice"),
        (
            "dictlookup:nodes=3",
            "unknown key `nodes` for `dictlookup` (expected one of: k, train, test, seed, edge_dim)",
        ),
        ("sparse:k=3", "unknown key `k` for `sparse`"),
        ("dictlookup:k=1", "k must be at least 2, got 1"),
        (
            "dictlookup:k=4,train=0",
            "at least one training and one test graph",
        ),
        (
            "dictlookup:k=4,test=0",
            "at least one training and one test graph",
        ),
        ("dictlookup:k=100000", "more than 20000000 nodes + edges"),
        ("dictlookup:k=18446744073709551615", "more than 20000000"),
        (
            "dictlookup:k=3,train=18446744073709551615",
            "more than 20000000",
        ),
        ("sparse:degree=0", "degree must be at least 1"),
        (
            "sparse:nodes=5,degree=3",
            "need at least 2 * degree = 6 nodes for degree 3, got 5",
        ),
        ("sparse:nodes=10000000,degree=10", "more than 20000000"),
        (
            "sparse:nodes=99999999999999999999",
            "expected a non-negative integer",
        ),
    ] {
        let err = parse_spec(spec).unwrap_err();
        assert!(err.contains(message), "`{spec}`: {err}");
    }
}

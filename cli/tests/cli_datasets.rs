//! `gatgrad train --dataset PATH` with a broken dataset file: one clear line naming the tensor,
//! exit status 2, never a panic. One test per case.

use gatgrad::runtime::{write_tensors, Dataset, TensorData};
use std::path::{Path, PathBuf};
use std::process::Command;

type Tensors = Vec<(String, Vec<usize>, TensorData)>;

fn base() -> (Tensors, std::collections::HashMap<String, String>) {
    Dataset::builtin("cora").unwrap().to_tensors()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gatgrad-ds-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The repository (the CLI package's parent folder): models and reference vectors live there.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the CLI package lies inside the repository")
        .to_path_buf()
}

fn run_train(path: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatgrad"))
        .args([
            "train",
            &root()
                .join("models/gatv2_two_layer.gat")
                .display()
                .to_string(),
        ])
        .args(["--dataset", &path.display().to_string(), "--epochs", "1"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn expect_error(name: &str, edit: impl FnOnce(&mut Tensors), tensor: &str) {
    let (mut t, meta) = base();
    edit(&mut t);
    let d = dir(name);
    let path = d.join("bad.safetensors");
    write_tensors(&path, &t, Some(meta)).unwrap();
    let (code, err) = run_train(&path);
    assert_eq!(code, 2, "{name}: exit status {code}, stderr: {err}");
    assert!(!err.contains("panicked"), "{name}: {err}");
    assert_eq!(
        err.trim().lines().count(),
        1,
        "{name}: expected one line, got: {err}"
    );
    assert!(
        err.contains(tensor),
        "{name}: message does not name `{tensor}`: {err}"
    );
    std::fs::remove_dir_all(&d).ok();
}

fn find(t: &mut Tensors, name: &str) -> usize {
    t.iter().position(|(n, _, _)| n == name).unwrap()
}

#[test]
fn truncated_file() {
    let (t, meta) = base();
    let d = dir("truncated");
    let path = d.join("bad.safetensors");
    write_tensors(&path, &t, Some(meta)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let (code, err) = run_train(&path);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("bad.safetensors"), "{err}");
}

#[test]
fn wrong_dtype() {
    expect_error(
        "dtype",
        |t| {
            let k = find(t, "y");
            let (_, shape, TensorData::I64(v)) = &t[k] else {
                panic!()
            };
            t[k] = (
                "y".into(),
                shape.clone(),
                TensorData::F32(v.iter().map(|x| *x as f32).collect()),
            );
        },
        "y",
    );
}

#[test]
fn wrong_shape() {
    expect_error(
        "shape",
        |t| {
            let k = find(t, "edge_index");
            let (_, shape, data) = t[k].clone();
            let TensorData::I64(v) = data else { panic!() };
            t[k] = (
                "edge_index".into(),
                vec![1, shape[0] * shape[1]],
                TensorData::I64(v),
            );
        },
        "edge_index",
    );
}

#[test]
fn edge_index_out_of_range() {
    expect_error(
        "range",
        |t| {
            let k = find(t, "edge_index");
            if let TensorData::I64(v) = &mut t[k].2 {
                v[5] = 1_000_000;
            }
        },
        "edge_index",
    );
}

#[test]
fn label_not_a_class() {
    expect_error(
        "label",
        |t| {
            let k = find(t, "y");
            if let TensorData::I64(v) = &mut t[k].2 {
                v[12] = 7;
            }
        },
        "y",
    );
}

#[test]
fn mask_of_wrong_length() {
    expect_error(
        "mask",
        |t| {
            let k = find(t, "val_mask");
            if let TensorData::U8(v) = &mut t[k].2 {
                v.pop();
            }
            t[k].1 = vec![2707];
        },
        "val_mask",
    );
}

#[test]
fn unknown_dataset_name() {
    let (code, err) = run_train(&PathBuf::from("no-such-dataset"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-such-dataset"), "{err}");
}

//! `gatgrad grad` with each zoo model reproduces PyTorch Geometric 2.8.1 autograd (float64 vectors in
//! tests/reference, copied from the shared reference set) to relative error ≤ 1e-9.

use gatgrad::runtime::TensorFile;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository (the CLI package's parent folder): models and reference vectors live there.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the CLI package lies inside the repository")
        .to_path_buf()
}

/// Max-norm relative error of `got` against `want`.
fn rel_err(got: &[f64], want: &[f64]) -> f64 {
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    got.iter()
        .zip(want)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

fn check_case(model: &str, case: &str) {
    let dir = std::env::temp_dir().join(format!("gatgrad-ref-{case}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out.safetensors");
    let input = root()
        .join("tests/reference")
        .join(format!("{case}.safetensors"));
    let status = Command::new(env!("CARGO_BIN_EXE_gatgrad"))
        .args([
            "grad",
            &root().join("models").join(model).display().to_string(),
        ])
        .args(["--inputs", &input.display().to_string()])
        .args(["--out", &out.display().to_string()])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "gatgrad grad failed for {case}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    compare(&input, &out, case);
    std::fs::remove_dir_all(&dir).ok();
}

fn compare(reference: &Path, ours: &Path, case: &str) {
    let want = TensorFile::load(reference).unwrap();
    let got = TensorFile::load(ours).unwrap();
    let mut checked = 0;
    for name in want.names() {
        let compared =
            name == "out" || name == "loss" || name == "alpha" || name.starts_with("grad.");
        if !compared || name == "grad_out" {
            continue;
        }
        assert!(got.has(name), "{case}: our output lacks `{name}`");
        let (w, g) = (want.f64(name).unwrap(), got.f64(name).unwrap());
        assert_eq!(g.shape, w.shape, "{case}: shape of `{name}`");
        let err = rel_err(&g.data, &w.data);
        assert!(err <= 1e-9, "{case}: `{name}` relative error {err:e}");
        checked += 1;
    }
    if want.has("alpha_edge_index") {
        let (w, g) = (
            want.i64("alpha_edge_index").unwrap(),
            got.i64("alpha_edge_index").unwrap(),
        );
        assert_eq!(g, w, "{case}: edges after self loops differ from PyG's");
    }
    assert!(checked >= 4, "{case}: only {checked} tensors compared");
}

#[test]
fn gatv2_basic() {
    check_case("gatv2.gat", "gatv2_basic");
}

#[test]
fn gatv2_share_weights() {
    check_case("gatv2_shared.gat", "gatv2_share_weights");
}

#[test]
fn gatv2_isolated_no_self_loops() {
    check_case("gatv2_no_loops.gat", "gatv2_isolated_no_self_loops");
}

#[test]
fn gat_v1() {
    check_case("gat.gat", "gat_v1");
}

#[test]
fn gatv2_two_layer() {
    check_case("gatv2_two_layer.gat", "gatv2_two_layer");
}

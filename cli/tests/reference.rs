//! `gatgrad grad` with each zoo model reproduces PyTorch Geometric 2.8.1 autograd (float64 vectors in
//! tests/reference, copied from the shared reference set) to relative error ≤ 1e-9, and the DGL
//! layers of `models/dgl/` reproduce DGL 2.1 autograd (tests/reference/dgl, in DGL's layout:
//! `out` and `grad_out` are `[N, H, C]`).

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

/// Runs `gatgrad grad models/MODEL` on `tests/reference/CASE.safetensors` and compares every
/// result the reference holds.
fn check_case(model: &str, case: &str) {
    let input = root()
        .join("tests/reference")
        .join(format!("{case}.safetensors"));
    check_file(model, &input, case);
}

#[path = "reference/dgl_derived.rs"]
mod dgl_derived;

/// [`check_case`] on any input file holding the expected results; returns what `grad` wrote.
fn check_file(model: &str, input: &Path, case: &str) -> TensorFile {
    run_and_compare(model, input, case, 4)
}

/// [`check_file`] for a case that holds only forward results (`out`, `alpha`).
fn check_file_forward(model: &str, input: &Path, case: &str) -> TensorFile {
    run_and_compare(model, input, case, 2)
}

/// Runs `grad` on `input` and compares at least `at_least` of its results.
fn run_and_compare(model: &str, input: &Path, case: &str, at_least: usize) -> TensorFile {
    let dir = std::env::temp_dir().join(format!(
        "gatgrad-ref-{}-{}",
        case.replace('/', "_"),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out.safetensors");
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
    compare(input, &out, case, at_least);
    let got = TensorFile::load(&out).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    got
}

fn compare(reference: &Path, ours: &Path, case: &str, at_least: usize) {
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
    assert!(
        checked >= at_least,
        "{case}: only {checked} tensors compared"
    );
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

#[test]
fn dgl_gatv2_basic() {
    check_case("dgl/gatv2.gat", "dgl/dgl_gatv2_basic");
}

#[test]
fn dgl_gatv2_share_weights() {
    check_case("dgl/gatv2_shared.gat", "dgl/dgl_gatv2_share_weights");
}

#[test]
fn dgl_gat() {
    check_case("dgl/gat.gat", "dgl/dgl_gat");
}

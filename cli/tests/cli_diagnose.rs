//! `gatgrad diagnose` from the command line: the files it writes and its refusals.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository (the CLI package's parent folder): models and reference vectors live there.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the CLI package lies inside the repository")
        .to_path_buf()
}

/// Runs `gatgrad` without a Rust toolchain (nothing here is built on first use).
fn gatgrad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatgrad"))
        .args(args)
        .current_dir(root())
        .env("PATH", "/nonexistent")
        .env("CARGO", "/nonexistent/cargo")
        .env("GATGRAD_CACHE_DIR", temp_dir("cache"))
        .output()
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gatgrad-cli-diagnose-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn writes_report_metrics_summary_and_edges() {
    let dir = temp_dir("ok");
    let out = gatgrad(&[
        "diagnose",
        "models/gatv2.gat",
        "models/gat_plus.gat",
        "--dataset",
        "sparse:nodes=200,degree=4,seed=1",
        "--seeds",
        "2",
        "--epochs",
        "3",
        "--heads",
        "2",
        "--hidden",
        "4",
        "--explain",
        "0,7",
        "--report",
        dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("gatv2") && stdout.contains("gat_plus"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("gat_plus"));
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2 * 2 * 3);
    for line in metrics.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["layers"]["conv1"]["entropy"].is_array(), "{line}");
        assert!(v["params"]["conv1.att"]["grad_norm"].is_number(), "{line}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["models"].as_array().unwrap().len(), 2);
    assert_eq!(summary["models"][1]["model"], "gat_plus");
    assert_eq!(summary["models"][0]["seeds"], serde_json::json!([0, 1]));
    let csv = std::fs::read_to_string(dir.join("edge_importance.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert!(!rows.is_empty());
    for r in &rows {
        let node: usize = r.split(',').nth(3).unwrap().parse().unwrap();
        assert!(node == 0 || node == 7, "{r}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_bad_arguments_with_one_clear_line() {
    let dir = temp_dir("bad");
    let d = dir.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["diagnose", "examples/pyg/gatv2_no_bias.gat", "--report", d],
            "no Rust toolchain found",
        ),
        (
            &[
                "diagnose",
                "models/gatv2.gat",
                "--dataset",
                "sparse:nodes=50",
                "--explain",
                "50",
                "--report",
                d,
            ],
            "node 50 does not exist",
        ),
        (
            &[
                "diagnose",
                "models/gatv2.gat",
                "--seeds",
                "0",
                "--report",
                d,
            ],
            "must be at least 1",
        ),
        (
            &[
                "diagnose",
                "models/gatv2.gat",
                "--dataset",
                "dictlookup:k=1",
                "--report",
                d,
            ],
            "k must be at least 2",
        ),
        (
            &["diagnose", "models/missing.gat", "--report", d],
            "cannot read",
        ),
    ];
    for (args, want) in cases {
        let out = gatgrad(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!dir.join("report.html").exists());
    }
}

/// Brody et al.'s DictionaryLookup with no training flags: the dataset's own defaults make
/// GATv2 fit the task (≥ 99 % training accuracy) and leave GAT's static attention below 90 %.
/// One seed keeps the test to about half a minute.
#[test]
fn dictlookup_defaults_separate_dynamic_from_static_attention() {
    let dir = temp_dir("dictlookup");
    let out = gatgrad(&[
        "diagnose",
        "models/gatv2.gat",
        "models/gat.gat",
        "--dataset",
        "dictlookup:k=10",
        "--seeds",
        "1",
        "--report",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let train_acc = |k: usize| summary["models"][k]["train_acc"].as_f64().unwrap();
    assert_eq!(summary["models"][0]["model"], "gatv2");
    assert_eq!(summary["models"][0]["epochs"], 300);
    assert!(train_acc(0) >= 0.99, "GATv2: {}", train_acc(0));
    assert!(train_acc(1) < 0.90, "GAT: {}", train_acc(1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run that fails removes the report folder it created: before training (a second file that
/// cannot run in the two-layer setup: the message names it, exit 1) and after the folder was
/// made (a node to explain that the graph does not have, exit 2).
#[test]
fn a_failed_run_leaves_no_report_folder() {
    let dir = temp_dir("failed");
    let report = dir.to_str().unwrap();
    let data = [
        "--dataset",
        "sparse:nodes=50,degree=3,seed=1",
        "--epochs",
        "1",
    ];
    let args = [
        &["diagnose", "models/gatv2.gat", "models/agnn.gat"][..],
        &data,
        &["--report", report],
    ]
    .concat();
    let out = gatgrad(&args);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("models/agnn.gat"), "{stderr}");
    assert!(!dir.exists(), "{} was left behind", dir.display());
    let args = [
        &["diagnose", "models/gatv2.gat"][..],
        &data,
        &["--explain", "999", "--report", report],
    ]
    .concat();
    let out = gatgrad(&args);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("node 999 does not exist"), "{stderr}");
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

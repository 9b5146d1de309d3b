//! Files without compiled code, end to end: `train`, `diagnose` and `bench` build a helper
//! executable on first use and reuse it for every file of the same program.
//!
//! The cache is `CARGO_TARGET_TMPDIR/gatgrad-cache`, its cargo folder the workspace's
//! (`support/cache.rs`): gatgrad's crates are built by the first run of a test that builds on
//! first use and kept there; every run makes programs of its own (a constant unique to the run), so each
//! first use below really builds.

#[path = "support/cache.rs"]
mod cache;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the CLI package lies inside the repository")
        .to_path_buf()
}

fn cache() -> PathBuf {
    cache::test_cache()
}

fn gatgrad(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatgrad"))
        .args(args)
        .current_dir(dir)
        .env("GATGRAD_CACHE_DIR", cache())
        .env("GATGRAD_CACHE_TARGET_DIR", cache::workspace_target())
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("run gatgrad")
}

fn entries() -> usize {
    std::fs::read_dir(cache().join("entries")).map_or(0, |d| d.count())
}

/// Checks a run succeeded; returns its stderr.
fn ok(what: &str, out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    stderr
}

const COMPILING: &str = "compiling generated code for";

#[test]
fn a_new_program_is_built_once_and_shared_by_files_of_the_same_program() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let layer = std::fs::read_to_string(root().join("examples/pyg/gatv2_no_bias.gat")).unwrap();
    assert!(
        layer.contains("slope = 0.2"),
        "the example changed its slope"
    );
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_000;
    let mine = layer.replace("slope = 0.2", &format!("slope = 0.2{run:09}"));
    std::fs::write(d.join("variant.gat"), &mine).unwrap();
    let train = [
        "train",
        "variant.gat",
        "--epochs",
        "2",
        "--dataset",
        "sparse:nodes=200,degree=4",
    ];

    // First use: built, then trained by the helper; its output is the command's.
    let out = gatgrad(d, &train);
    let stderr = ok("first use", &out);
    assert!(
        stderr.contains(&format!("{COMPILING} variant.gat, first use")),
        "{stderr}"
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["epochs"], 2, "{line}");
    assert_eq!(line["model"], "variant", "{line}");

    // Another file, other comments and spacing: the same program, nothing is built.
    let respelled = format!("// my own copy\n{}", mine.replace("    ", "\t"));
    std::fs::write(d.join("copy.gat"), respelled).unwrap();
    let before = entries();
    let copy = [
        "train",
        "copy.gat",
        "--epochs",
        "2",
        "--dataset",
        "sparse:nodes=200,degree=4",
    ];
    let out = gatgrad(d, &copy);
    let stderr = ok("comment-only copy", &out);
    assert!(!stderr.contains(COMPILING), "{stderr}");
    assert_eq!(entries(), before);
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        again["test_acc"], line["test_acc"],
        "same program, same seed: {again}"
    );

    // diagnose trains the same program: the same helper.
    let report = d.join("report");
    let out = gatgrad(
        d,
        &[
            "diagnose",
            "variant.gat",
            "--dataset",
            "sparse:nodes=200,degree=4",
            "--seeds",
            "1",
            "--epochs",
            "2",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let stderr = ok("diagnose", &out);
    assert!(!stderr.contains(COMPILING), "{stderr}");
    assert!(report.join("report.html").is_file());

    // An edited equation is another program: two concurrent first uses build it, both succeed
    // and the cache gains one entry.
    let edited = mine.replace(
        "leaky_relu(z[i <- j, h, c], slope)",
        "tanh(z[i <- j, h, c])",
    );
    assert_ne!(edited, mine);
    std::fs::write(d.join("edited.gat"), edited).unwrap();
    let before = entries();
    let edited_train = [
        "train",
        "edited.gat",
        "--epochs",
        "2",
        "--dataset",
        "sparse:nodes=200,degree=4",
    ];
    let outs: Vec<Output> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..2)
            .map(|_| s.spawn(|| gatgrad(d, &edited_train)))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let stderrs: Vec<String> = outs.iter().map(|o| ok("concurrent first use", o)).collect();
    assert!(stderrs.iter().any(|e| e.contains(COMPILING)), "{stderrs:?}");
    for o in &outs {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["epochs"], 2, "{v}");
    }
    assert_eq!(entries(), before + 1);

    // bench runs the layer itself, another program.
    let out = gatgrad(
        d,
        &[
            "bench",
            "--model",
            "variant.gat",
            "--nodes",
            "100",
            "--edges",
            "400",
            "--reps",
            "1",
        ],
    );
    ok("bench", &out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["total_s"].as_f64().is_some_and(|t| t > 0.0), "{v}");
}

//! The library a user's crate depends on (package `gatgrad`) must not pull in the command line's
//! crates: walks its normal dependencies, transitively, in `cargo metadata` (offline, from
//! `Cargo.lock`) and fails if clap, indicatif or plotters is among them.

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;

/// Crates that belong to the command line only.
const CLI_ONLY: &[&str] = &["clap", "clap_builder", "indicatif", "plotters"];

/// The names of every package `package` reaches through normal dependencies (not dev or build).
fn normal_dependencies(metadata: &Value, package: &str) -> HashSet<String> {
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve.nodes")
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let start = names
        .iter()
        .find(|(_, name)| **name == package)
        .map(|(id, _)| *id)
        .unwrap_or_else(|| panic!("no package `{package}` in cargo metadata"));
    let mut seen = HashSet::new();
    let mut todo = vec![start];
    while let Some(id) = todo.pop() {
        for dep in nodes[id]["deps"].as_array().expect("deps") {
            let normal = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| k["kind"].is_null());
            let dep_id = dep["pkg"].as_str().unwrap();
            if normal && seen.insert(names[dep_id].to_string()) {
                todo.push(dep_id);
            }
        }
    }
    seen
}

#[test]
fn the_library_does_not_depend_on_the_command_line_crates() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON");

    let library = normal_dependencies(&metadata, "gatgrad");
    // The walk sees the library's real dependencies, so an empty result cannot pass by accident.
    for expected in ["gatgrad-runtime", "gatgrad-macros", "rayon"] {
        assert!(
            library.contains(expected),
            "{expected} missing from {library:?}"
        );
    }
    let pulled: Vec<&&str> = CLI_ONLY.iter().filter(|c| library.contains(**c)).collect();
    assert!(
        pulled.is_empty(),
        "package `gatgrad` depends on {pulled:?}; the command line's crates belong in `cli/` \
         (package gatgrad-cli)"
    );
    // And the same walk does find them where they belong.
    let cli = normal_dependencies(&metadata, "gatgrad-cli");
    for c in ["clap", "indicatif", "plotters"] {
        assert!(cli.contains(c), "{c} missing from gatgrad-cli's {cli:?}");
    }
}

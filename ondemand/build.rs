//! Fingerprints the source tree that generated crates are built against.
//!
//! A generated crate depends on this workspace's packages by path, so its executable contains
//! whatever those sources say at the time it is built. The workspace version (`0.1.0`) does not
//! change when the code does, so the cache key also carries a hash of every file the generated
//! crate can see: the manifests, the lock file, the cargo configuration, and the sources of the
//! packages it depends on, this one included (with the zoo and the embedded datasets the root crate compiles in).
//! Exposed to the crate as `GATGRAD_SOURCE_FINGERPRINT`.

use std::path::{Path, PathBuf};

/// Files and folders of the workspace root that a generated crate's build reads.
const INPUTS: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    ".cargo/config.toml",
    "build.rs",
    "src",
    "models",
    "data",
    "grammar",
    "codegen",
    "macros",
    "runtime",
    "cli",
    "ondemand",
    // The Python extension's crate, which library templates depend on, and the example files
    // its compiled-in programs are generated from.
    "python/Cargo.toml",
    "python/src",
    "examples",
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest
        .parent()
        .expect("ondemand/ lives in the workspace root");
    let mut files = Vec::new();
    for input in INPUTS {
        let path = root.join(input);
        println!("cargo:rerun-if-changed={}", path.display());
        collect(&path, &mut files);
    }
    files.sort();
    let mut hasher = blake3::Hasher::new();
    for file in &files {
        let relative = file.strip_prefix(root).unwrap_or(file);
        let bytes = std::fs::read(file).unwrap_or_default();
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update(&[0]);
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    let hex = hasher.finalize().to_hex();
    println!("cargo:rustc-env=GATGRAD_SOURCE_FINGERPRINT={}", &hex[..16]);
}

/// Every regular file under `path` (itself if it is a file), skipping build outputs.
fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_file() {
        files.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        collect(&entry.path(), files);
    }
}

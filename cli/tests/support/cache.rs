//! Where the tests' programs built on first use go: one cache for every test target, whose cargo
//! folder is the workspace's own `target/`.
//!
//! Cargo does not lock the target folder while `cargo test` runs the tests, only while it builds
//! them, so a build on first use can share it. It then reuses the registry crates (syn, pest,
//! rayon, serde...) the workspace build compiled with the same features, flags and profile;
//! gatgrad's own crates are compiled once more (cargo hashes a path package by its path relative
//! to the workspace being built, and a generated crate is a workspace of its own). The Python
//! tests keep their cache at the same depth (`target/tmp/pytest-gatgrad-cache`), so their builds
//! reuse those too.

use std::path::{Path, PathBuf};

/// The test cache: `target/tmp/gatgrad-cache`.
pub fn test_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("gatgrad-cache")
}

/// The workspace's `target/` (the parent of `CARGO_TARGET_TMPDIR`).
pub fn workspace_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR lies in the target folder")
        .to_path_buf()
}

//! Running `cargo build --release` on a generated crate: its environment, its log, and reading
//! why it failed.

use crate::{Event, Toolchain};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// How one cargo run ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The executable is built.
    Built,
    /// An offline build needed crates the local registry does not have.
    NeedsNetwork,
    /// Downloading failed (no network, registry unreachable).
    FetchFailed,
    /// Anything else: the code did not compile or link.
    Failed,
}

/// Builds the crate in `crate_dir` into the shared `target_dir`, appending cargo's output to
/// `log`. The environment is made to say exactly what the key says: the toolchain's `RUSTC` and
/// flags (as `CARGO_ENCODED_RUSTFLAGS`, which wins over every configured flag), no profile or
/// build overrides from the caller's environment (except `CARGO_BUILD_JOBS`, which changes how
/// long a build takes, not what it builds), and the template's `env` (part of the key).
pub(crate) fn build(
    toolchain: &Toolchain,
    crate_dir: &Path,
    target_dir: &Path,
    env: &[(String, String)],
    log: &Path,
    offline: bool,
    events: &mut dyn FnMut(Event),
) -> std::io::Result<Outcome> {
    let mut log_file = File::options().create(true).append(true).open(log)?;
    let mut command = Command::new(&toolchain.cargo);
    command
        .args(["build", "--release"])
        .args(offline.then_some("--offline"))
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", toolchain.rustflags.join("\x1f"))
        .env("RUSTC", &toolchain.rustc)
        .env("CARGO_TERM_COLOR", "never")
        .env("CARGO_TERM_PROGRESS_WHEN", "never")
        .env_remove("RUSTFLAGS")
        .envs(env.iter().map(|(k, v)| (k, v)));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let overrides = name.starts_with("CARGO_PROFILE_") || name.starts_with("CARGO_BUILD_");
        if overrides && name != "CARGO_BUILD_JOBS" {
            command.env_remove(&*name);
        }
    }
    writeln!(log_file, "$ {command:?}")?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut offline_hint = false;
    let mut fetch_error = false;
    let mut compile_error = false;
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        writeln!(log_file, "{line}")?;
        let trimmed = line.trim();
        if trimmed.contains("--offline") || trimmed.contains("offline mode") {
            offline_hint = true;
        }
        if trimmed.starts_with("error: failed to download")
            || trimmed.starts_with("error: failed to get")
            || trimmed.contains("failed to query replaced source registry")
            || trimmed.contains("download of config.json failed")
        {
            fetch_error = true;
        }
        if trimmed.starts_with("error[") || trimmed.starts_with("error: could not compile") {
            compile_error = true;
        }
        if [
            "Compiling",
            "Downloading",
            "Downloaded",
            "Updating",
            "Locking",
        ]
        .iter()
        .any(|status| trimmed.starts_with(status))
        {
            events(Event::Cargo {
                line: trimmed.to_string(),
            });
        }
    }
    let status = child.wait()?;
    writeln!(log_file, "cargo exited with {status}")?;
    Ok(if status.success() {
        Outcome::Built
    } else if compile_error {
        Outcome::Failed
    } else if offline && offline_hint {
        Outcome::NeedsNetwork
    } else if fetch_error {
        Outcome::FetchFailed
    } else {
        Outcome::Failed
    })
}

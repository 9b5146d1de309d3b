//! Finding the Rust toolchain that will build generated code, and what about it decides the
//! machine code: the compiler version, the host triple, the flags and the CPU they target.

use crate::Error;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The compiler flags this workspace builds with (its `.cargo/config.toml`), applied to
/// generated crates too when neither `CARGO_ENCODED_RUSTFLAGS` nor `RUSTFLAGS` is set: generated
/// crates live outside the workspace, where that file is not read, and must be built like the
/// shared pieces they link.
const WORKSPACE_CARGO_CONFIG: &str = include_str!("../../.cargo/config.toml");

/// The environment a toolchain is looked up in: the process environment, or given values in
/// tests.
#[derive(Clone, Debug, Default)]
pub struct ToolchainEnv {
    /// `CARGO`: the cargo to use (cargo sets it for the programs it runs).
    pub cargo: Option<OsString>,
    /// `RUSTC`: the compiler cargo should call.
    pub rustc: Option<OsString>,
    /// `PATH`, searched for `cargo` (and `rustc`) when the variables above do not name one.
    pub path: Option<OsString>,
    /// `CARGO_ENCODED_RUSTFLAGS`: flags separated by `\x1f`; wins over `RUSTFLAGS`, as in cargo.
    pub encoded_rustflags: Option<OsString>,
    /// `RUSTFLAGS`: flags separated by spaces.
    pub rustflags: Option<OsString>,
}

impl ToolchainEnv {
    /// The variables of this process.
    pub fn from_process() -> ToolchainEnv {
        ToolchainEnv {
            cargo: std::env::var_os("CARGO"),
            rustc: std::env::var_os("RUSTC"),
            path: std::env::var_os("PATH"),
            encoded_rustflags: std::env::var_os("CARGO_ENCODED_RUSTFLAGS"),
            rustflags: std::env::var_os("RUSTFLAGS"),
        }
    }
}

/// A working Rust toolchain and the facts about it that the cache key includes.
#[derive(Clone, Debug)]
pub struct Toolchain {
    /// The cargo that builds.
    pub cargo: PathBuf,
    /// The rustc cargo is told to use (`RUSTC` in its environment).
    pub rustc: PathBuf,
    /// The whole output of `rustc -vV` (release, commit, LLVM version, host).
    pub rustc_version: String,
    /// The host triple (the `host:` line of `rustc -vV`); generated code is built for it.
    pub host: String,
    /// The compiler flags of every build (given to cargo as `CARGO_ENCODED_RUSTFLAGS`).
    pub rustflags: Vec<String>,
    /// `rustc --print cfg` under those flags: the target features the flags enable, which is
    /// what `-C target-cpu=native` means on this machine.
    pub target_cfg: String,
}

impl Toolchain {
    /// Finds the toolchain from this process's environment.
    pub fn find() -> Result<Toolchain, Error> {
        Toolchain::find_in(&ToolchainEnv::from_process())
    }

    /// Finds the toolchain from `env`: `CARGO` if it names a file, else `cargo` on `PATH`;
    /// `RUSTC` if set, else the `rustc` next to that cargo, else `rustc` on `PATH`. Runs
    /// `rustc -vV` and `rustc --print cfg` once each (tens of milliseconds).
    pub fn find_in(env: &ToolchainEnv) -> Result<Toolchain, Error> {
        let cargo_env = env.cargo.as_ref().map(PathBuf::from);
        let cargo = cargo_env
            .clone()
            .filter(|c| c.is_file())
            .or_else(|| on_path("cargo", env.path.as_deref()))
            .ok_or_else(|| Error::NoToolchain {
                cargo_env: cargo_env.filter(|c| !c.as_os_str().is_empty()),
            })?;
        let rustc = match &env.rustc {
            Some(r) if !r.is_empty() => {
                let r = PathBuf::from(r);
                if r.components().count() == 1 {
                    on_path(&r.to_string_lossy(), env.path.as_deref()).unwrap_or(r)
                } else {
                    r
                }
            }
            _ => cargo
                .parent()
                .map(|dir| dir.join(exe("rustc")))
                .filter(|r| r.is_file())
                .or_else(|| on_path("rustc", env.path.as_deref()))
                .unwrap_or_else(|| PathBuf::from(exe("rustc"))),
        };
        let rustflags = rustflags(env);
        let rustc_version = run(Command::new(&rustc).arg("-vV"))?;
        let host = rustc_version
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .map(str::trim)
            .map(str::to_string)
            .ok_or_else(|| Error::Toolchain {
                command: format!("{} -vV", rustc.display()),
                reason: "printed no `host:` line".to_string(),
            })?;
        let target_cfg = run(Command::new(&rustc)
            .args(["--print", "cfg"])
            .args(&rustflags))?;
        Ok(Toolchain {
            cargo,
            rustc,
            rustc_version,
            host,
            rustflags,
            target_cfg,
        })
    }
}

/// The flags cargo would use: `CARGO_ENCODED_RUSTFLAGS`, else `RUSTFLAGS`, else this
/// workspace's `[build] rustflags`.
fn rustflags(env: &ToolchainEnv) -> Vec<String> {
    if let Some(encoded) = &env.encoded_rustflags {
        let encoded = encoded.to_string_lossy();
        return encoded
            .split('\x1f')
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
    }
    if let Some(flags) = &env.rustflags {
        return flags
            .to_string_lossy()
            .split_whitespace()
            .map(str::to_string)
            .collect();
    }
    workspace_rustflags()
}

/// The `rustflags = [...]` list of the workspace's `.cargo/config.toml` (one line, strings in
/// double quotes).
pub(crate) fn workspace_rustflags() -> Vec<String> {
    let Some(line) = WORKSPACE_CARGO_CONFIG
        .lines()
        .find(|l| l.trim_start().starts_with("rustflags"))
    else {
        return Vec::new();
    };
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// `name` with the platform's executable suffix.
fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// The first file called `name` in the folders of `path`.
fn on_path(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    let file = exe(name);
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(&file))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Runs `command` and returns what it printed, or a toolchain error naming it.
fn run(command: &mut Command) -> Result<String, Error> {
    let shown = format!(
        "{} {}",
        Path::new(command.get_program()).display(),
        command
            .get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let output = command.output().map_err(|e| Error::Toolchain {
        command: shown.clone(),
        reason: format!("cannot be run ({e})"),
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(Error::Toolchain {
            command: shown,
            reason: format!("failed ({}): {}", output.status, first.trim()),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_flags_are_read_from_the_cargo_config() {
        assert_eq!(workspace_rustflags(), ["-C", "target-cpu=native"]);
    }

    #[test]
    fn encoded_flags_win_over_rustflags() {
        let env = ToolchainEnv {
            encoded_rustflags: Some("-C\x1ftarget-cpu=x86-64".into()),
            rustflags: Some("-C opt-level=1".into()),
            ..ToolchainEnv::default()
        };
        assert_eq!(rustflags(&env), ["-C", "target-cpu=x86-64"]);
        let env = ToolchainEnv {
            rustflags: Some(" -C  opt-level=1 ".into()),
            ..ToolchainEnv::default()
        };
        assert_eq!(rustflags(&env), ["-C", "opt-level=1"]);
    }
}

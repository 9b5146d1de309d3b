//! What can go wrong between a program text and a built helper executable, each a one-line
//! message that says what is wrong and what to do.

use std::fmt;
use std::path::PathBuf;

/// A failure of [`crate::Cache::get_or_build`] or of finding the toolchain.
#[derive(Debug)]
pub enum Error {
    /// No `cargo` to build with: `CARGO` is unset or names nothing, and `PATH` has none.
    NoToolchain {
        /// What `CARGO` was set to, when it was set to something that does not exist.
        cargo_env: Option<PathBuf>,
    },
    /// The toolchain was found but did not answer as a toolchain does (`rustc -vV` failed).
    Toolchain {
        /// The command that failed, as it was run.
        command: String,
        /// What went wrong, in a few words.
        reason: String,
    },
    /// The cache folder (or a folder inside it) cannot be created, read or written.
    CacheDir {
        /// The folder.
        path: PathBuf,
        /// What failed, from the operating system.
        reason: String,
    },
    /// No cache folder was given and the platform has no user cache directory.
    NoCacheDir,
    /// The source tree the generated crate depends on is not where this binary was built from.
    SourceTreeGone {
        /// Where the workspace was when this binary was built.
        path: PathBuf,
    },
    /// The generated crate did not compile: a gatgrad bug, since the program text was checked.
    BuildFailed {
        /// What was being compiled, as given in the request (e.g. `my_variant.gat`).
        what: String,
        /// The generated crate's `src/main.rs`, kept for the bug report.
        source: PathBuf,
        /// The full cargo output of the failed build.
        log: PathBuf,
    },
    /// The dependencies could not be downloaded (an offline build needed crates that the local
    /// registry does not have, and going online failed too).
    Fetch {
        /// The full cargo output of the failed attempt.
        log: PathBuf,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoToolchain { cargo_env } => {
                write!(f, "no Rust toolchain found: `cargo` is not on PATH")?;
                if let Some(cargo) = cargo_env {
                    write!(f, " and CARGO={} does not exist", cargo.display())?;
                }
                write!(
                    f,
                    "; gatgrad compiles generated code for a new program on first use, \
                     install Rust with rustup (https://rustup.rs) and try again"
                )
            }
            Error::Toolchain { command, reason } => write!(
                f,
                "the Rust toolchain does not work: `{command}` {reason}; \
                 check the installation (`rustup show`) or unset CARGO/RUSTC"
            ),
            Error::CacheDir { path, reason } => write!(
                f,
                "cannot use the cache folder {}: {reason}; set GATGRAD_CACHE_DIR to a writable folder",
                path.display()
            ),
            Error::NoCacheDir => write!(
                f,
                "no user cache folder on this system; set GATGRAD_CACHE_DIR to a writable folder"
            ),
            Error::SourceTreeGone { path } => write!(
                f,
                "the gatgrad source tree this binary was built from ({}) is gone, and generated \
                 code is built against it; rebuild gatgrad from its source tree",
                path.display()
            ),
            Error::BuildFailed { what, source, log } => write!(
                f,
                "gatgrad bug: the generated code for {what} does not compile; please report it \
                 with the generated source {} and the cargo log {}",
                source.display(),
                log.display()
            ),
            Error::Fetch { log } => write!(
                f,
                "cannot download the crates generated code depends on (offline, and going online \
                 failed); connect to the network once or run `cargo fetch` in the gatgrad source \
                 tree; cargo log: {}",
                log.display()
            ),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// An I/O failure on `path` inside the cache.
    pub(crate) fn cache_dir(path: impl Into<PathBuf>, err: std::io::Error) -> Error {
        Error::CacheDir {
            path: path.into(),
            reason: err.to_string(),
        }
    }
}

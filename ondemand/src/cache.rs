//! The cache folder: finding an entry by key, and building and publishing one atomically.
//!
//! ```text
//! <cache>/CACHEDIR.TAG
//! <cache>/entries/<key>/manifest.txt   what the key was made of; written last
//! <cache>/entries/<key>/bin/model      the helper executable (an executable's entry)
//! <cache>/entries/<key>/lib/libmodel.so the loadable library (a library's entry; the platform's
//!                                      prefix and suffix)
//! <cache>/entries/<key>/crate/         the generated crate (Cargo.toml, src/main.rs, model.gat)
//! <cache>/entries/<key>/build.log      cargo's output
//! <cache>/target/                      one cargo target folder for every entry, so gatgrad and its
//!                                      dependencies are compiled once for all programs (or the
//!                                      folder `GATGRAD_CACHE_TARGET_DIR` names)
//! <cache>/tmp/<key>-*/                 builds in progress, each laid out like an entry
//! <cache>/failed/<key>/                the last failed build of a key, kept for the bug report
//! ```
//!
//! A build happens in its own folder under `tmp/` and is renamed to `entries/<key>` when it is
//! complete. A rename within one file system is atomic, and renaming onto a folder that exists
//! fails, so an entry folder is always complete, a crash leaves only a `tmp/` folder (removed by
//! a later build once it is a day old), and of two concurrent first uses one publishes and the
//! other uses its entry. Concurrent builds wait for each other on cargo's lock of the shared
//! target folder; each gives its package its own name so neither overwrites the executable the
//! other is about to move.

use crate::cargo::{self, Outcome};
use crate::{CrateKind, CrateTemplate, Error, Event, Key, KeyInputs, Toolchain, GATGRAD_BUILD};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The variable naming the cache folder.
pub const CACHE_DIR_ENV: &str = "GATGRAD_CACHE_DIR";

/// The variable naming the shared cargo target folder, when it is not the cache's own
/// `<cache>/target`: e.g. the workspace's `target/`, whose gatgrad, pyo3 and other shared pieces
/// a build then reuses instead of compiling them a second time (CI does this). Only the pieces
/// built with the same features, flags, profile and environment are reused; cargo builds the
/// others next to them.
pub const CACHE_TARGET_DIR_ENV: &str = "GATGRAD_CACHE_TARGET_DIR";

/// The artifact's name inside an entry (`bin/model`, `lib/libmodel.so`).
const ARTIFACT: &str = "model";

/// A build folder under `tmp/` older than this is left over from a crash.
const STALE_BUILD: Duration = Duration::from_secs(24 * 60 * 60);

/// One program to get an executable or a library for (the template says which).
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// What to call it in messages, e.g. `my_variant.gat`.
    pub what: &'a str,
    /// The canonical program text: the key's first part.
    pub canonical_text: &'a str,
    /// The `.gat` files written next to the crate's manifest, as (file name, text): the
    /// caller's `main.rs` reads them with `#[derive_gradients(file = "model.gat")]`. Their
    /// programs must be the ones `canonical_text` describes (their comments may differ).
    pub gat_files: &'a [(&'a str, &'a str)],
    /// The crate's whole root file: `src/main.rs`, or `src/lib.rs` when the template builds a
    /// library. It is part of the key: it must not mention anything
    /// that differs between files of the same program (their names, their comments), or those
    /// files will not share an entry.
    pub main_rs: &'a str,
    /// Dependencies, lock file and profiles of the crate.
    pub template: &'a CrateTemplate,
}

/// A published entry.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Its key.
    pub key: Key,
    /// Its folder, `entries/<key>`.
    pub dir: PathBuf,
    /// The helper executable, or the loadable library.
    pub artifact: PathBuf,
    /// Whether this call built it (false: it was in the cache).
    pub built: bool,
}

impl Entry {
    /// A command that runs the helper executable (of an executable's entry).
    pub fn command(&self) -> Command {
        Command::new(&self.artifact)
    }
}

/// A cache folder. Nothing is created until the first build.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
    /// The shared cargo target folder if not `<root>/target`.
    target: Option<PathBuf>,
}

impl Cache {
    /// The cache in `GATGRAD_CACHE_DIR` if it is set and not empty, else `gatgrad/` in the
    /// user's cache folder (`~/.cache/gatgrad` on Linux); its shared cargo target folder is
    /// `GATGRAD_CACHE_TARGET_DIR` if that is set and not empty.
    pub fn from_env() -> Result<Cache, Error> {
        let cache = match std::env::var_os(CACHE_DIR_ENV) {
            Some(dir) if !dir.is_empty() => Cache::at(dir),
            _ => dirs::cache_dir()
                .map(|dir| Cache::at(dir.join("gatgrad")))
                .ok_or(Error::NoCacheDir)?,
        };
        Ok(match std::env::var_os(CACHE_TARGET_DIR_ENV) {
            Some(dir) if !dir.is_empty() => cache.with_target_dir(dir),
            _ => cache,
        })
    }

    /// The cache in `root`, made absolute (cargo runs in the generated crate's folder, where a
    /// relative path would mean something else).
    pub fn at(root: impl Into<PathBuf>) -> Cache {
        let root = root.into();
        Cache {
            root: std::path::absolute(&root).unwrap_or(root),
            target: None,
        }
    }

    /// This cache with its shared cargo target folder in `dir` (made absolute) instead of
    /// `<cache>/target`.
    pub fn with_target_dir(self, dir: impl Into<PathBuf>) -> Cache {
        let dir = dir.into();
        Cache {
            target: Some(std::path::absolute(&dir).unwrap_or(dir)),
            ..self
        }
    }

    /// Its folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The shared cargo target folder.
    pub fn target_dir(&self) -> PathBuf {
        self.target
            .clone()
            .unwrap_or_else(|| self.root.join("target"))
    }

    /// The key of `request` built by `toolchain`.
    pub fn key(&self, request: &Request, toolchain: &Toolchain) -> Key {
        Key::of(&KeyInputs {
            canonical_text: request.canonical_text,
            gatgrad_version: GATGRAD_BUILD,
            rustc_version: &toolchain.rustc_version,
            target: &toolchain.host,
            target_cfg: &toolchain.target_cfg,
            rustflags: &toolchain.rustflags,
            crate_text: &request.template.fingerprint_text(request.main_rs),
        })
    }

    /// The entry of `key`, if one is published and has its executable or library.
    pub fn lookup(&self, key: &Key) -> Option<Entry> {
        let dir = self.entry_dir(key);
        let artifact = artifact_in(&dir)?;
        dir.join("manifest.txt").is_file().then(|| Entry {
            key: key.clone(),
            dir,
            artifact,
            built: false,
        })
    }

    /// The entry for `request`: found in the cache (a few file-system checks), or built with
    /// `toolchain` and published. `events` hears of the build's steps; a cache hit reports
    /// nothing.
    pub fn get_or_build(
        &self,
        request: &Request,
        toolchain: &Toolchain,
        events: &mut dyn FnMut(Event),
    ) -> Result<Entry, Error> {
        let key = self.key(request, toolchain);
        if let Some(entry) = self.lookup(&key) {
            return Ok(entry);
        }
        let start = Instant::now();
        self.prepare()?;
        events(Event::Compiling {
            what: request.what.to_string(),
        });
        let tmp_root = self.root.join("tmp");
        let build = tempfile::Builder::new()
            .prefix(&format!("{key}-"))
            .tempdir_in(&tmp_root)
            .map_err(|e| Error::cache_dir(&tmp_root, e))?;
        let crate_dir = build.path().join("crate");
        let package = package_name(&key);
        request
            .template
            .write(&crate_dir, &package, request.main_rs, request.gat_files)
            .map_err(|e| Error::cache_dir(&crate_dir, e))?;
        let log = build.path().join("build.log");
        let target_dir = self.target_dir();
        let run = |offline: bool, events: &mut dyn FnMut(Event)| {
            let env = &request.template.env;
            cargo::build(
                toolchain,
                &crate_dir,
                &target_dir,
                env,
                &log,
                offline,
                events,
            )
            .map_err(|e| Error::Toolchain {
                command: format!("{} build --release", toolchain.cargo.display()),
                reason: format!("cannot be run ({e})"),
            })
        };
        let mut outcome = run(true, events)?;
        if outcome == Outcome::NeedsNetwork {
            events(Event::Downloading);
            outcome = run(false, events)?;
        }
        if outcome != Outcome::Built {
            let kept = self.keep_failed(&key, build.keep());
            let log = kept.join("build.log");
            return Err(match outcome {
                Outcome::FetchFailed | Outcome::NeedsNetwork => Error::Fetch { log },
                _ => Error::BuildFailed {
                    what: request.what.to_string(),
                    source: kept
                        .join("crate")
                        .join("src")
                        .join(request.template.root_file()),
                    log,
                },
            });
        }
        self.collect_artifact(&package, request.template.kind, build.path())?;
        let manifest = manifest(&key, request, toolchain, &package);
        let manifest_path = build.path().join("manifest.txt");
        std::fs::write(&manifest_path, manifest).map_err(|e| Error::cache_dir(manifest_path, e))?;
        let entry = self.publish(&key, build.keep(), events)?;
        events(Event::Done {
            seconds: start.elapsed().as_secs_f64(),
        });
        Ok(entry)
    }

    fn entry_dir(&self, key: &Key) -> PathBuf {
        self.root.join("entries").join(key.as_str())
    }

    /// Creates the cache's folders and its `CACHEDIR.TAG` (so backup tools skip it), and
    /// removes build folders left by crashes.
    fn prepare(&self) -> Result<(), Error> {
        let folders = ["entries", "tmp", "failed"].map(|dir| self.root.join(dir));
        for dir in folders.into_iter().chain([self.target_dir()]) {
            std::fs::create_dir_all(&dir).map_err(|e| Error::cache_dir(&dir, e))?;
        }
        let tag = self.root.join("CACHEDIR.TAG");
        if !tag.is_file() {
            std::fs::write(
                &tag,
                "Signature: 8a477f597d28d172789f06886806bc55\n\
                 # This folder is gatgrad's cache of generated code; it can be deleted.\n",
            )
            .map_err(|e| Error::cache_dir(&self.root, e))?;
        }
        if let Ok(builds) = std::fs::read_dir(self.root.join("tmp")) {
            for build in builds.flatten() {
                let old = build
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > STALE_BUILD);
                if old {
                    let _ = std::fs::remove_dir_all(build.path());
                }
            }
        }
        Ok(())
    }

    /// Moves the executable or library cargo built for `package` into `build/bin/` or
    /// `build/lib/`, and removes what the package left in the shared target folder (only the
    /// shared pieces are worth keeping).
    fn collect_artifact(&self, package: &str, kind: CrateKind, build: &Path) -> Result<(), Error> {
        let release = self.target_dir().join("release");
        let crate_name = package.replace('-', "_");
        // The file cargo writes and the stem of its `.d` file next to it.
        let (built, stem) = match kind {
            CrateKind::Executable => (
                format!("{package}{}", std::env::consts::EXE_SUFFIX),
                package.to_string(),
            ),
            CrateKind::Library => (
                library_file(&crate_name),
                format!("{}{crate_name}", std::env::consts::DLL_PREFIX),
            ),
        };
        let built = release.join(built);
        let to = artifact_path(build, kind);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::cache_dir(dir, e))?;
        }
        std::fs::rename(&built, &to).map_err(|e| Error::cache_dir(&built, e))?;
        let _ = std::fs::remove_file(release.join(format!("{stem}.d")));
        for (dir, prefix) in [
            (release.join("deps"), format!("{crate_name}-")),
            (release.join("deps"), library_file(&crate_name)),
            (release.join(".fingerprint"), format!("{package}-")),
        ] {
            let Ok(items) = std::fs::read_dir(&dir) else {
                continue;
            };
            for item in items.flatten() {
                if item.file_name().to_string_lossy().starts_with(&prefix) {
                    let path = item.path();
                    let _ = std::fs::remove_file(&path).or_else(|_| std::fs::remove_dir_all(&path));
                }
            }
        }
        Ok(())
    }

    /// Renames the complete build folder to `entries/<key>`. If another build published the
    /// key first, its entry is used and this one removed; a folder there without a manifest
    /// (emptied by hand) is replaced.
    fn publish(
        &self,
        key: &Key,
        build: PathBuf,
        events: &mut dyn FnMut(Event),
    ) -> Result<Entry, Error> {
        let dir = self.entry_dir(key);
        let mut replaced = false;
        loop {
            let Err(e) = std::fs::rename(&build, &dir) else {
                let Some(artifact) = artifact_in(&dir) else {
                    return Err(Error::cache_dir(
                        &dir,
                        std::io::Error::other("the published entry has no executable or library"),
                    ));
                };
                return Ok(Entry {
                    key: key.clone(),
                    artifact,
                    dir,
                    built: true,
                });
            };
            if let Some(entry) = self.lookup(key) {
                let _ = std::fs::remove_dir_all(&build);
                events(Event::Raced);
                return Ok(entry);
            }
            if replaced || !dir.exists() {
                let _ = std::fs::remove_dir_all(&build);
                return Err(Error::cache_dir(&dir, e));
            }
            let _ = std::fs::remove_dir_all(&dir);
            replaced = true;
        }
    }

    /// Moves a failed build to `failed/<key>` (replacing an older failure) and returns where it
    /// is; if that cannot be done it stays where it is.
    fn keep_failed(&self, key: &Key, build: PathBuf) -> PathBuf {
        let kept = self.root.join("failed").join(key.as_str());
        let _ = std::fs::remove_dir_all(&kept);
        match std::fs::rename(&build, &kept) {
            Ok(()) => kept,
            Err(_) => build,
        }
    }
}

/// The artifact's path in an entry (or build) folder of the given kind.
fn artifact_path(dir: &Path, kind: CrateKind) -> PathBuf {
    match kind {
        CrateKind::Executable => dir
            .join("bin")
            .join(format!("{ARTIFACT}{}", std::env::consts::EXE_SUFFIX)),
        CrateKind::Library => dir.join("lib").join(library_file(ARTIFACT)),
    }
}

/// The artifact an entry folder holds, of either kind.
fn artifact_in(dir: &Path) -> Option<PathBuf> {
    [CrateKind::Executable, CrateKind::Library]
        .into_iter()
        .map(|kind| artifact_path(dir, kind))
        .find(|path| path.is_file())
}

/// The file name cargo gives the dynamic library of crate `name` (`libname.so` on Linux).
fn library_file(name: &str) -> String {
    format!(
        "{}{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// A package name no other build running now has: the key's start, the process and a counter.
fn package_name(key: &Key) -> String {
    static BUILDS: AtomicU64 = AtomicU64::new(0);
    format!(
        "gatgrad-generated-{}-{}-{}",
        &key.as_str()[..12],
        std::process::id(),
        BUILDS.fetch_add(1, Ordering::Relaxed)
    )
}

/// The manifest of an entry: what its key was made of, for people looking into the cache.
fn manifest(key: &Key, request: &Request, toolchain: &Toolchain, package: &str) -> String {
    let release = toolchain
        .rustc_version
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .unwrap_or("?");
    format!(
        "key = {key}\nwhat = {}\ngatgrad = {GATGRAD_BUILD}\nrustc = {release}\ntarget = {}\n\
         rustflags = {}\npackage = {package}\n",
        request.what,
        toolchain.host,
        toolchain.rustflags.join(" "),
    )
}

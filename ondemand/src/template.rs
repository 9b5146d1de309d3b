//! The generated crate: a manifest, a lock file, the crate root the caller writes (`main.rs` of
//! an executable, `lib.rs` of a loadable library) and the model's `.gat` text, laid out in a
//! folder for cargo.

use crate::Error;
use std::path::{Path, PathBuf};

/// What a generated crate builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrateKind {
    /// A helper executable (`src/main.rs`), run as a child process.
    Executable,
    /// A dynamic library with a C ABI (`crate-type = ["cdylib"]`, `src/lib.rs`), loaded into a
    /// running process — a Python extension module, for the Python package.
    Library,
}

/// Everything about a generated crate except its crate root and program: what it builds, what
/// it depends on, which lock file pins their versions, its profiles and the environment of its
/// build.
#[derive(Clone, Debug)]
pub struct CrateTemplate {
    /// An executable or a loadable library.
    pub kind: CrateKind,
    /// The body of the `[dependencies]` table, TOML.
    pub dependencies: String,
    /// A `Cargo.lock` to start from, so the shared pieces resolve to the versions already built
    /// (and, with the registry populated, to crates that need no download).
    pub lockfile: Option<String>,
    /// `[profile.*]` tables, TOML, so generated code is optimised as the workspace is.
    pub profiles: String,
    /// Variables set in cargo's environment (e.g. `PYO3_PYTHON`, the interpreter a Python
    /// extension is built for). Part of the key.
    pub env: Vec<(String, String)>,
    /// Facts about the build's environment that change what is built without being passed to
    /// it (e.g. the Python version and ABI behind `PYO3_PYTHON`). Part of the key only.
    pub facts: Vec<(String, String)>,
}

impl CrateTemplate {
    /// A crate that depends on the `gatgrad` package of [`source_tree`] by path, with a copy of
    /// its `Cargo.lock` and the `[profile.*]` tables of its root `Cargo.toml`. Read from the
    /// tree now, since cargo will read the tree's sources when it builds.
    pub fn gatgrad() -> Result<CrateTemplate, Error> {
        let root = source_tree();
        let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
            .map_err(|_| Error::SourceTreeGone { path: root.clone() })?;
        let lockfile = std::fs::read_to_string(root.join("Cargo.lock"))
            .map_err(|_| Error::SourceTreeGone { path: root.clone() })?;
        Ok(CrateTemplate {
            kind: CrateKind::Executable,
            // Without the zoo's generated code (feature `zoo`): a generated crate runs its own
            // programs, and the zoo is most of the library's compile time.
            dependencies: format!(
                "gatgrad = {{ path = {}, default-features = false }}\n",
                toml_string(&root)
            ),
            lockfile: Some(lockfile),
            profiles: profile_tables(&manifest),
            env: Vec::new(),
            facts: Vec::new(),
        })
    }

    /// [`CrateTemplate::gatgrad`] as a loadable library that also depends on the Python
    /// extension's crate, `gatgrad-python`: the template of the extension modules the Python
    /// package builds on first use of a program. `python` is the interpreter it is built for
    /// (`sys.executable`, given to pyo3 as `PYO3_PYTHON`) and `python_abi` what decides binary
    /// compatibility with it (its version and ABI flags), so another interpreter gets another
    /// entry.
    pub fn gatgrad_python(python: &Path, python_abi: &str) -> Result<CrateTemplate, Error> {
        let mut template = CrateTemplate::gatgrad()?;
        template.kind = CrateKind::Library;
        // The package's library is called `_gatgrad` (the extension's module name); the
        // dependency's key names it `gatgrad_python` in the generated code. Without its default
        // feature `built-in`: the module runs its own programs, not the extension's built-in
        // ones, whose generated code is most of the dependency's compile time.
        template.dependencies.push_str(&format!(
            "gatgrad_python = {{ package = \"gatgrad-python\", path = {}, \
             default-features = false }}\n",
            toml_string(&source_tree().join("python"))
        ));
        template.env.push((
            "PYO3_PYTHON".to_string(),
            python.to_string_lossy().into_owned(),
        ));
        template
            .facts
            .push(("python".to_string(), python_abi.to_string()));
        Ok(template)
    }

    /// [`CrateTemplate::gatgrad`] that also depends on the command line, `gatgrad-cli`: the
    /// template of the helper executables `gatgrad` builds on first use of a program.
    pub fn gatgrad_cli() -> Result<CrateTemplate, Error> {
        let mut template = CrateTemplate::gatgrad()?;
        template.dependencies.push_str(&format!(
            "gatgrad-cli = {{ path = {}, default-features = false }}\n",
            toml_string(&source_tree().join("cli"))
        ));
        Ok(template)
    }

    /// A crate with the given `[dependencies]` body, no lock file and default profiles: a
    /// template for tests that must not wait for gatgrad to build.
    pub fn standalone(dependencies: &str) -> CrateTemplate {
        CrateTemplate {
            kind: CrateKind::Executable,
            dependencies: dependencies.to_string(),
            lockfile: None,
            profiles: String::new(),
            env: Vec::new(),
            facts: Vec::new(),
        }
    }

    /// The parts of this template that change what is built, for the cache key (the lock file
    /// is covered by the source fingerprint; it only pins versions cargo resolves anyway, but a
    /// changed one changes the key all the same).
    pub(crate) fn fingerprint_text(&self, main_rs: &str) -> String {
        let pairs = |pairs: &[(String, String)]| -> String {
            pairs.iter().map(|(k, v)| format!("{k}={v:?}\n")).collect()
        };
        let mut text = format!(
            "[dependencies]\n{}\n[profiles]\n{}\n[lock]\n{}\n[main.rs]\n{}",
            self.dependencies,
            self.profiles,
            self.lockfile.as_deref().unwrap_or(""),
            main_rs
        );
        // Executables keep the text (and so the keys) they had before libraries existed.
        if self.kind == CrateKind::Library || !self.env.is_empty() || !self.facts.is_empty() {
            text.push_str(&format!(
                "\n[kind]\n{:?}\n[env]\n{}[facts]\n{}",
                self.kind,
                pairs(&self.env),
                pairs(&self.facts)
            ));
        }
        text
    }

    /// The crate root's path inside the crate folder.
    pub(crate) fn root_file(&self) -> &'static str {
        match self.kind {
            CrateKind::Executable => "main.rs",
            CrateKind::Library => "lib.rs",
        }
    }

    /// Writes the crate into `dir`: `Cargo.toml` (package `package`), `Cargo.lock` if the
    /// template has one, the crate root `main_rs` (`src/main.rs`, or `src/lib.rs` for a
    /// library) and the `.gat` files. Returns the path of the crate root.
    pub(crate) fn write(
        &self,
        dir: &Path,
        package: &str,
        main_rs: &str,
        gat_files: &[(&str, &str)],
    ) -> std::io::Result<PathBuf> {
        let lib = match self.kind {
            CrateKind::Executable => "",
            CrateKind::Library => "\n[lib]\ncrate-type = [\"cdylib\"]\n",
        };
        let manifest = format!(
            "# Generated by gatgrad: built on first use of a program and cached.\n\
             [package]\n\
             name = \"{package}\"\n\
             version = \"0.0.0\"\n\
             edition = \"2021\"\n\
             publish = false\n\
             {lib}\
             \n\
             # Its own workspace, whatever folder the cache is in.\n\
             [workspace]\n\
             \n\
             [dependencies]\n\
             {}\n\
             {}",
            self.dependencies, self.profiles
        );
        std::fs::create_dir_all(dir.join("src"))?;
        std::fs::write(dir.join("Cargo.toml"), manifest)?;
        if let Some(lock) = &self.lockfile {
            std::fs::write(dir.join("Cargo.lock"), lock)?;
        }
        for (name, text) in gat_files {
            std::fs::write(dir.join(name), text)?;
        }
        let main = dir.join("src").join(self.root_file());
        std::fs::write(&main, main_rs)?;
        Ok(main)
    }
}

/// The workspace this library was built in (known at compile time). Generated crates depend on
/// its packages by path, so they link the same gatgrad as the binary that builds them. (An
/// installed binary whose source tree is gone cannot do this; it would depend on the published
/// crates by exact version, `gatgrad = "=0.1.0"`, with the lock file embedded at build time —
/// see ARCHITECTURE.md.)
pub fn source_tree() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The `[profile.*]` tables of a manifest, verbatim and in order: each runs from its header to
/// the next table header.
fn profile_tables(manifest: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in manifest.lines() {
        let header = line.trim_start();
        if header.starts_with('[') {
            inside = header.starts_with("[profile.");
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `path` as a TOML basic string.
fn toml_string(path: &Path) -> String {
    let mut out = String::from('"');
    for c in path.to_string_lossy().chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_tables_are_copied_from_header_to_next_table() {
        let manifest = "[package]\nname = \"x\"\n\n[profile.release]\ncodegen-units = 4\n\n\
                        [dependencies]\na = \"1\"\n[profile.dev.package.\"*\"]\nopt-level = 2\n";
        assert_eq!(
            profile_tables(manifest),
            "[profile.release]\ncodegen-units = 4\n\n[profile.dev.package.\"*\"]\nopt-level = 2\n"
        );
    }

    #[test]
    fn paths_are_escaped_for_toml() {
        assert_eq!(toml_string(Path::new("a\\b\"c")), "\"a\\\\b\\\"c\"");
    }

    #[test]
    fn the_source_tree_is_the_workspace_root() {
        assert!(source_tree().join("ondemand").join("Cargo.toml").is_file());
    }
}

//! Files whose generated code this executable does not hold: their programs are compiled on
//! first use into a helper executable (`gatgrad-ondemand`'s cache) — this command line plus
//! those programs as [`ExtraModel`]s — which then runs in this process's place with the same
//! arguments, so its output and exit status are the command's.

use crate::status::Failure;
use gatgrad::extra_model::{canonical, Unresolved};
use gatgrad_ondemand::{Cache, CrateTemplate, Event, Request, Toolchain};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

/// Set in a helper executable's environment: a helper that still finds a file uncompiled
/// reports a bug instead of building another helper.
pub const HELPER_ENV: &str = "GATGRAD_HELPER";

/// Whether this process is a helper executable started by [`run_compiled`].
pub fn is_helper() -> bool {
    std::env::var_os(HELPER_ENV).is_some()
}

/// A file of the command line and the program it needs compiled.
pub struct Needed {
    /// The file as given.
    pub file: String,
    /// The self-contained program text.
    pub program: String,
}

/// Sorts a file's resolution: `Ok(None)` if it has a compiled model, `Ok(Some(..))` if its
/// program has to be built, an error if the file cannot run.
pub fn needed<T>(file: &Path, resolved: Result<T, Unresolved>) -> Result<Option<Needed>, Failure> {
    match resolved {
        Ok(_) => Ok(None),
        Err(Unresolved::NotCompiled { program }) => Ok(Some(Needed {
            file: file.display().to_string(),
            program,
        })),
        Err(Unresolved::Invalid(e)) => Err(Failure::program(e)),
    }
}

/// Returns if nothing is needed. Otherwise builds (or finds in the cache) the helper executable
/// that holds every needed program and runs it in this process's place with this process's
/// arguments; returns only with an error.
pub fn run_compiled(needed: Vec<Needed>) -> Result<(), Failure> {
    if needed.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = needed.iter().map(|n| n.file.as_str()).collect();
    if is_helper() {
        return Err(Failure::input(format!(
            "gatgrad bug: the executable built for {} does not run it; please report it with \
             the file",
            names.join(", ")
        )));
    }
    let what = names.join(", ");
    let about = |e: gatgrad_ondemand::Error| Failure::input(format!("{what}: {e}"));
    let toolchain = Toolchain::find().map_err(about)?;
    let template = CrateTemplate::gatgrad_cli().map_err(about)?;
    let cache = Cache::from_env().map_err(about)?;
    let helper = Helper::of(&needed)?;
    let gat_files: Vec<(&str, &str)> = helper
        .files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let request = Request {
        what: &what,
        canonical_text: &helper.canonical_text,
        gat_files: &gat_files,
        main_rs: &helper.main_rs,
        template: &template,
    };
    let first_ever = !cache.target_dir().join("release").is_dir();
    let mut progress = Progress::new(first_ever);
    let entry = cache
        .get_or_build(&request, &toolchain, &mut |e| progress.event(e))
        .map_err(|e| {
            progress.abandon();
            Failure::input(e.to_string())
        })?;
    let mut command = entry.command();
    command
        .args(std::env::args_os().skip(1))
        .env(HELPER_ENV, "1");
    Err(exec(command, &entry.artifact))
}

/// Runs `command` in this process's place (on Unix), or as a child whose exit status becomes
/// this process's; returns only if it cannot be started.
fn exec(mut command: std::process::Command, executable: &Path) -> Failure {
    let cannot = |e: std::io::Error| {
        Failure::input(format!(
            "cannot run the executable built for this program ({}): {e}",
            executable.display()
        ))
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cannot(command.exec())
    }
    #[cfg(not(unix))]
    {
        match command.status() {
            Ok(status) => std::process::exit(status.code().unwrap_or(1)),
            Err(e) => cannot(e),
        }
    }
}

/// What a helper executable is built from, apart from the template: the part of the cache key
/// that depends on the programs, its `.gat` files and its `main.rs`.
#[derive(Debug, PartialEq, Eq)]
pub struct Helper {
    /// The canonical texts of the programs, in order: files that differ only in comments,
    /// spacing or index names share it, and with it their helper.
    pub canonical_text: String,
    /// `model0.gat`, … : the programs' texts, reading no other file.
    pub files: Vec<(String, String)>,
    /// The crate's `src/main.rs`.
    pub main_rs: String,
}

impl Helper {
    /// The helper that holds every program of `needed`.
    pub fn of(needed: &[Needed]) -> Result<Helper, Failure> {
        let mut canonical_text = String::new();
        let mut files = Vec::new();
        for (k, n) in needed.iter().enumerate() {
            let canon = canonical(&n.program).ok_or_else(|| {
                Failure::input(format!(
                    "gatgrad bug: the program built for {} does not compile",
                    n.file
                ))
            })?;
            canonical_text.push_str(&format!("# program {k}\n{canon}\n"));
            files.push((
                format!("model{k}.gat"),
                gatgrad::grammar::sources::without_uses(&n.program),
            ));
        }
        Ok(Helper {
            canonical_text,
            files,
            main_rs: main_rs(needed.len()),
        })
    }
}

/// The helper's `main.rs`: the command line with `count` programs, `model0.gat`, ….
fn main_rs(count: usize) -> String {
    let mut out = String::from(
        "// Generated by gatgrad on first use of a program: the `gatgrad` command line with the\n\
         // programs of this folder compiled in.\n\n",
    );
    for k in 0..count {
        out.push_str(&format!(
            "#[gatgrad::derive_gradients(file = \"model{k}.gat\")]\nstruct Model{k};\n\n"
        ));
    }
    out.push_str("fn main() -> std::process::ExitCode {\n    gatgrad_cli::main_with([\n");
    for k in 0..count {
        out.push_str(&format!(
            "        gatgrad_cli::ExtraModel::new::<Model{k}>(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/model{k}.gat\")),\n"
        ));
    }
    out.push_str("    ])\n}\n");
    out
}

/// What a build shows on stderr: one line when it starts, a spinner with cargo's current step
/// while it runs (on a terminal), one line when it is done.
struct Progress {
    first_ever: bool,
    spinner: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(first_ever: bool) -> Progress {
        Progress {
            first_ever,
            spinner: None,
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Compiling { what } => {
                eprintln!(
                    "compiling generated code for {what}, first use{}",
                    if self.first_ever {
                        " (the first build of all also compiles gatgrad itself into the cache: \
                         a few minutes)"
                    } else {
                        ""
                    }
                );
                if std::io::stderr().is_terminal() {
                    let s = indicatif::ProgressBar::new_spinner();
                    s.set_style(
                        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                    );
                    s.enable_steady_tick(Duration::from_millis(120));
                    self.spinner = Some(s);
                }
            }
            Event::Cargo { line } => {
                if let Some(s) = &self.spinner {
                    s.set_message(line);
                }
            }
            Event::Downloading => {
                self.println("the local registry lacks crates generated code needs: downloading")
            }
            Event::Raced => self.println("another gatgrad built the same program first: using it"),
            Event::Done { seconds } => {
                self.abandon();
                eprintln!("built in {seconds:.1} s; later uses start at once");
            }
        }
    }

    fn println(&self, line: &str) {
        match &self.spinner {
            Some(s) => s.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn abandon(&mut self) {
        if let Some(s) = self.spinner.take() {
            s.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper(text: &str) -> Helper {
        let needed = [Needed {
            file: "variant.gat".into(),
            program: text.to_string(),
        }];
        Helper::of(&needed).unwrap()
    }

    const LAYER: &str = include_str!("../../examples/pyg/gatv2_no_bias.gat");

    #[test]
    fn comments_and_spacing_do_not_change_the_helper_an_equation_does() {
        let base = helper(LAYER);
        let respelled = format!(
            "// my copy\n{}",
            LAYER.replace("    ", "  ").replace("= sum_f", "=   sum_f")
        );
        assert_ne!(respelled, LAYER);
        let again = helper(&respelled);
        assert_eq!(again.canonical_text, base.canonical_text);
        assert_eq!(again.main_rs, base.main_rs);
        let edited = LAYER.replace(
            "leaky_relu(z[i <- j, h, c], slope)",
            "tanh(z[i <- j, h, c])",
        );
        assert_ne!(edited, LAYER);
        assert_ne!(helper(&edited).canonical_text, base.canonical_text);
    }

    #[test]
    fn the_main_rs_compiles_every_program_and_reads_no_other_file() {
        let needed: Vec<Needed> = ["a.gat", "b.gat"]
            .iter()
            .map(|f| Needed {
                file: f.to_string(),
                program: format!("use \"other.gat\";\n{LAYER}"),
            })
            .collect();
        let h = Helper::of(&needed).unwrap();
        assert!(h.main_rs.contains("file = \"model0.gat\"") && h.main_rs.contains("Model1"));
        for (_, text) in &h.files {
            assert!(
                gatgrad::grammar::parse(text).unwrap().uses.is_empty(),
                "{text}"
            );
        }
    }
}

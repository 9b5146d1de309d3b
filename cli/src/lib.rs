//! The `gatgrad` command line, as a library: [`main_with`] runs the whole CLI, so an
//! executable built outside gatgrad can run it with one more compiled model.
//!
//! The library a user's crate depends on (`gatgrad`) has no command line, progress bars or
//! charts; they live here: flag parsing ([`args`]), one file per subcommand (`commands/`), the
//! training progress bar and gradient-flow table ([`training_report`]) and the HTML/SVG report
//! of `diagnose` ([`diagnose_html`]).
//!
//! # One more compiled model
//!
//! `train`, `diagnose` and `bench` run generated code, which has to be compiled into the
//! executable. `gatgrad` itself holds the zoo; an executable that also compiles a user's model
//! passes it as an [`ExtraModel`], and these commands then use it for the file it was built
//! from (for `bench`, `--model` takes that file's path as well as the zoo's names):
//!
//! ```ignore
//! #[gatgrad::derive_gradients(file = "my_model.gat")]
//! struct MyModel;
//!
//! fn main() -> std::process::ExitCode {
//!     gatgrad_cli::main_with(Some(gatgrad_cli::ExtraModel::new::<MyModel>("my_model.gat")))
//! }
//! ```

pub mod args;
mod commands;
pub mod dataset;
pub mod diagnose_html;
pub mod source;
pub mod status;
pub mod threads;
pub mod training_report;

pub use gatgrad::extra_model::ExtraModel;
pub use status::{Failure, Status};

use clap::builder::PossibleValuesParser;
use clap::{CommandFactory, FromArgMatches, Parser};
use std::process::ExitCode;

/// Symbolic gradients for graph attention.
///
/// Write an attention layer as formulas in a `.gat` file (see docs/language.md and the zoo in
/// models/), then check it, print the derivative of every parameter by the chain rule, or evaluate
/// forward and gradients on a graph from a safetensors file.
#[derive(Parser)]
#[command(name = "gatgrad", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: commands::Command,
}

/// Runs `gatgrad` on this process's arguments and returns its exit status; with `extra`,
/// `train`, `diagnose` and `bench` also run that model, for the file it was built from.
pub fn main_with(extra: Option<ExtraModel>) -> ExitCode {
    let mut command = Cli::command();
    if let Some(x) = &extra {
        let file = x.file().display().to_string();
        let names: Vec<String> = gatgrad::bench::MODELS
            .iter()
            .map(|m| m.to_string())
            .chain([file])
            .collect();
        command = command.mut_subcommand("bench", |b| {
            b.mut_arg("model", |a| {
                a.value_parser(PossibleValuesParser::new(names))
            })
        });
    }
    let cli = match command
        .try_get_matches()
        .and_then(|mut m| Cli::from_arg_matches_mut(&mut m))
    {
        Ok(cli) => cli,
        Err(e) => return argument_error(e).into(),
    };
    match cli.command.run(extra.as_ref()) {
        Ok(()) => Status::Success.into(),
        Err(f) => {
            eprintln!("{}", f.message);
            f.status.into()
        }
    }
}

/// Prints a clap error: help and version as clap does, anything else as one line (its first
/// paragraph, without clap's usage block) with exit status 2.
fn argument_error(e: clap::Error) -> Status {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        // Help asked for is a success; help shown because a subcommand is missing is not.
        let _ = e.print();
        return if e.exit_code() == 0 {
            Status::Success
        } else {
            Status::BadInput
        };
    }
    let text = e.render().to_string();
    // The first paragraph says what is wrong; of the rest, only clap's tips are kept.
    let mut paragraphs = text.split("\n\n").map(str::trim);
    let mut parts = vec![paragraphs.next().unwrap_or_default()];
    parts.extend(paragraphs.filter(|p| p.starts_with("tip:")));
    let line: Vec<&str> = parts
        .iter()
        .flat_map(|p| p.lines().map(str::trim))
        .collect();
    let line = line.join(" ").replace(" tip:", "; tip:");
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    if e.kind() == ErrorKind::ValueValidation {
        // Our own value parsers say what to give.
        eprintln!("{line}");
    } else {
        eprintln!("{line} (see --help)");
    }
    Status::BadInput
}

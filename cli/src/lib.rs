//! The `gatgrad` command line, as a library: [`main_with`] runs the whole CLI, so an
//! executable built outside gatgrad can run it with one more compiled model.
//!
//! The library a user's crate depends on (`gatgrad`) has no command line, progress bars or
//! charts; they live here: flag parsing ([`args`]), one file per subcommand (`commands/`), the
//! training progress bar and gradient-flow table ([`training_report`]) and the HTML/SVG report
//! of `diagnose` ([`diagnose_html`]).
//!
//! # More compiled models
//!
//! `train`, `diagnose` and `bench` run generated code, which has to be compiled into the
//! executable. `gatgrad` itself holds the zoo; for any other file it builds a helper executable
//! on first use ([`on_demand`]): this command line with the file's program compiled in as an
//! [`ExtraModel`]. An executable of your own can do the same by hand, and these commands then
//! use its models for every file whose program is theirs:
//!
//! ```ignore
//! #[gatgrad::derive_gradients(file = "my_model.gat")]
//! struct MyModel;
//!
//! fn main() -> std::process::ExitCode {
//!     gatgrad_cli::main_with([gatgrad_cli::ExtraModel::new::<MyModel>("my_model.gat")])
//! }
//! ```

pub mod args;
mod commands;
pub mod dataset;
pub mod diagnose_html;
pub mod on_demand;
pub mod source;
pub mod status;
pub mod threads;
pub mod training_report;

pub use gatgrad::extra_model::ExtraModel;
pub use status::{Failure, Status};

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

/// Runs `gatgrad` on this process's arguments and returns its exit status; `train`, `diagnose`
/// and `bench` also run the `extras`, for every file whose program is one of theirs.
pub fn main_with(extras: impl IntoIterator<Item = ExtraModel>) -> ExitCode {
    exit_quietly_on_closed_pipe();
    let extras: Vec<ExtraModel> = extras.into_iter().collect();
    let cli = match Cli::command()
        .try_get_matches()
        .and_then(|mut m| Cli::from_arg_matches_mut(&mut m))
    {
        Ok(cli) => cli,
        Err(e) => return argument_error(e).into(),
    };
    match cli.command.run(&extras) {
        Ok(()) => Status::Success.into(),
        Err(f) => {
            eprintln!("{}", f.message);
            f.status.into()
        }
    }
}

/// Output piped into a program that stops reading (`gatgrad plan m.gat | head`) ends the process
/// quietly, as it does for other Unix tools, instead of a panic in `println!`: Rust ignores
/// `SIGPIPE` by default, so the write fails with `EPIPE`; the default action is restored here.
fn exit_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called at the start of `main`, before any thread exists; `SIG_DFL` is a valid
    // disposition for `SIGPIPE`.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
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

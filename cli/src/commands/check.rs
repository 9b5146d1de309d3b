//! `gatgrad check`.

use crate::source::compile;
use crate::status::Failure;
use std::path::PathBuf;

// The flags of `gatgrad check`; its help is the doc comment of `Command::Check`.
#[derive(clap::Args)]
pub struct Args {
    /// The `.gat` file.
    pub model: PathBuf,
}

/// Checks the model and prints the parameters and inputs that get gradients.
pub fn run(a: Args) -> Result<(), Failure> {
    let c = compile(&a.model)?;
    let p = &c.program;
    let params = p
        .leaves()
        .map(|t| p.tensor(t).external.clone())
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "{}: ok — `{}`, gradients for: {params}",
        a.model.display(),
        p.name
    );
    Ok(())
}

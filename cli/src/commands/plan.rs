//! `gatgrad plan`.

use crate::source::compile;
use crate::status::Failure;
use std::path::PathBuf;

// The flags of `gatgrad plan`; its help is the doc comment of `Command::Plan`.
#[derive(clap::Args)]
pub struct Args {
    /// The `.gat` file.
    pub model: PathBuf,
    /// Stop after this pass.
    #[arg(long, value_name = "PASS", value_parser = clap::builder::PossibleValuesParser::new(
        gatgrad::codegen::plan::PASSES.iter().map(|p| clap::builder::PossibleValue::new(p.name).help(p.about))
    ))]
    pub after: Option<String>,
}

/// Prints the kernel plan, after every pass or after `--after`.
pub fn run(a: Args) -> Result<(), Failure> {
    let c = compile(&a.model)?;
    let plan = gatgrad::codegen::plan::Plan::build_until(&c.program, a.after.as_deref())
        .map_err(Failure::input)?;
    print!("{plan}");
    Ok(())
}

//! `gatgrad derive`.

use crate::source::compile;
use crate::status::Failure;
use clap::ValueEnum;
use gatgrad::codegen::print::{Printer, Style};
use std::path::PathBuf;

/// How `derive` prints equations.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// Unicode text.
    Text,
    /// LaTeX math.
    Latex,
}

// The flags of `gatgrad derive`; its help is the doc comment of `Command::Derive`.
#[derive(clap::Args)]
pub struct Args {
    /// The `.gat` file.
    pub model: PathBuf,
    /// Only the equations needed for the gradient of this parameter or input (its name in the
    /// file, e.g. `W_l`, or its PyG name, e.g. `lin_l.weight`).
    #[arg(long)]
    pub wrt: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Prints the forward and backward equations, or those of one gradient (`--wrt`).
pub fn run(a: Args) -> Result<(), Failure> {
    let c = compile(&a.model)?;
    let style = match a.format {
        Format::Text => Style::Text,
        Format::Latex => Style::Latex,
    };
    let pr = Printer::new(&c.program, style);
    match a.wrt {
        Some(name) => match pr.backward_for(&name) {
            Some(s) => print!("{s}"),
            None => {
                let names: Vec<String> = c
                    .program
                    .leaves()
                    .map(|t| c.program.tensor(t).name.clone())
                    .collect();
                return Err(Failure::program(format!(
                    "`{name}` is not a parameter or input with a gradient (try: {})",
                    names.join(", ")
                )));
            }
        },
        None => {
            println!("# forward");
            print!("{}", pr.forward());
            println!("\n# backward");
            print!("{}", pr.backward());
        }
    }
    Ok(())
}

//! `gatgrad grad`.

use crate::args::{self, Dtype};
use crate::source::compile;
use crate::status::Failure;
use clap::builder::{PathBufValueParser, TypedValueParser};
use gatgrad::runtime::{OutputPath, TensorFile};
use std::path::PathBuf;

// The flags of `gatgrad grad`; its help is the doc comment of `Command::Grad`.
#[derive(clap::Args)]
pub struct Args {
    /// The `.gat` file.
    pub model: PathBuf,
    /// Input tensors (safetensors).
    #[arg(long)]
    pub inputs: PathBuf,
    /// Where to write the results (safetensors).
    #[arg(long, value_parser = PathBufValueParser::new().try_map(args::output))]
    pub out: OutputPath,
    /// Override a named constant, e.g. `--set slope=0.1` or `--set conv1.slope=0.1`.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = args::constant, allow_negative_numbers = true)]
    pub set: Vec<(String, f64)>,
    /// Size of a dimension the tensors cannot fix, e.g. `--dim H=4` for a layer whose files
    /// store only `[H*C, F]`.
    #[arg(long = "dim", value_name = "NAME=SIZE", value_parser = args::dim)]
    pub dim: Vec<(String, usize)>,
    /// Precision of the interpreter.
    #[arg(long, value_enum, default_value = "f64")]
    pub dtype: Dtype,
}

/// Evaluates the model with the interpreter on the input file and writes the results.
pub fn run(a: Args) -> Result<(), Failure> {
    let consts = args::unique("--set", &a.set).map_err(Failure::input)?;
    let dims = args::unique("--dim", &a.dim).map_err(Failure::input)?;
    let c = compile(&a.model)?;
    let file = TensorFile::load(&a.inputs).map_err(Failure::input)?;
    let unread = gatgrad::cases::unread_tensors(&c.program, &file);
    if !unread.is_empty() {
        const SHOWN: usize = 20;
        let mut names: Vec<String> = unread
            .iter()
            .take(SHOWN)
            .map(|n| format!("`{n}`"))
            .collect();
        if unread.len() > SHOWN {
            names.push(format!("and {} more", unread.len() - SHOWN));
        }
        eprintln!(
            "warning: {} holds tensors the model does not read, ignored: {}",
            a.inputs.display(),
            names.join(", ")
        );
    }
    let named = match a.dtype {
        Dtype::F64 => gatgrad::cases::run_case::<f64>(&c.program, &file, &consts, &dims),
        Dtype::F32 => gatgrad::cases::run_case::<f32>(&c.program, &file, &consts, &dims),
    }
    .map_err(Failure::input)?;
    let tensors = gatgrad::cases::to_file_tensors(named, matches!(a.dtype, Dtype::F32));
    gatgrad::runtime::write_tensors_to(&a.out, &tensors, None).map_err(Failure::input)?;
    println!(
        "wrote {} tensors to {}",
        tensors.len(),
        a.out.path().display()
    );
    Ok(())
}

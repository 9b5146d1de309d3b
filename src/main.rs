//! The `gatgrad` command line.

use clap::{Parser, Subcommand, ValueEnum};
use gatgrad::codegen::print::{Printer, Style};
use gatgrad::runtime::TensorFile;
use std::collections::HashMap;
use std::path::PathBuf;
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
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Unicode text.
    Text,
    /// LaTeX math.
    Latex,
}

#[derive(Clone, Copy, ValueEnum)]
enum Dtype {
    /// 64-bit floats.
    F64,
    /// 32-bit floats.
    F32,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check a model; exit status 1 on errors (warnings are printed but pass).
    Check {
        /// The `.gat` file.
        model: PathBuf,
    },
    /// Print the forward equations and the derivative equations of every parameter and input.
    Derive {
        /// The `.gat` file.
        model: PathBuf,
        /// Only the equations needed for the gradient of this parameter or input (its name in the
        /// file, e.g. `W_l`, or its PyG name, e.g. `lin_l.weight`).
        #[arg(long)]
        wrt: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Evaluate forward and gradients with the reference interpreter on a tensor file.
    ///
    /// The input file holds `x`, `edge_index` (i64 [2, E], row 0 source), `param.<name>` for every
    /// parameter (PyG state_dict names), and `grad_out` (the upstream gradient of the output) or,
    /// for a model with a loss, its labels and mask (e.g. `y`, `train_mask`). The output file gets
    /// `out` (and `loss`), `alpha` with `alpha_edge_index` when the layer declares its attention, and
    /// `grad.<name>` for every parameter and input. Exit status 2 on bad data; no output is written.
    Grad {
        /// The `.gat` file.
        model: PathBuf,
        /// Input tensors (safetensors).
        #[arg(long)]
        inputs: PathBuf,
        /// Where to write the results (safetensors).
        #[arg(long)]
        out: PathBuf,
        /// Override a named constant, e.g. `--set slope=0.1` or `--set conv1.slope=0.1`.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Size of a dimension the tensors cannot fix, e.g. `--dim H=4` for a layer whose files
        /// store only `[H*C, F]`.
        #[arg(long = "dim", value_name = "NAME=SIZE")]
        dim: Vec<String>,
        /// Precision of the interpreter.
        #[arg(long, value_enum, default_value = "f64")]
        dtype: Dtype,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err((code, msg)) => {
            eprintln!("{msg}");
            ExitCode::from(code)
        }
    }
}

fn compile(path: &PathBuf) -> Result<gatgrad::Compiled, (u8, String)> {
    let c = gatgrad::compile_file(path).map_err(|m| (1, m))?;
    if !c.warnings.is_empty() {
        eprint!("{}", c.warnings);
    }
    Ok(c)
}

fn run(cli: Cli) -> Result<ExitCode, (u8, String)> {
    match cli.command {
        Command::Check { model } => {
            let c = compile(&model)?;
            let p = &c.program;
            let params = p
                .leaves()
                .map(|t| p.tensor(t).external.clone())
                .collect::<Vec<_>>()
                .join(", ");
            println!("{}: ok — `{}`, gradients for: {params}", model.display(), p.name);
        }
        Command::Derive { model, wrt, format } => {
            let c = compile(&model)?;
            let style = match format {
                Format::Text => Style::Text,
                Format::Latex => Style::Latex,
            };
            let pr = Printer::new(&c.program, style);
            match wrt {
                Some(name) => match pr.backward_for(&name) {
                    Some(s) => print!("{s}"),
                    None => {
                        let names: Vec<String> = c
                            .program
                            .leaves()
                            .map(|t| c.program.tensor(t).name.clone())
                            .collect();
                        return Err((
                            1,
                            format!("`{name}` is not a parameter or input with a gradient (try: {})", names.join(", ")),
                        ));
                    }
                },
                None => {
                    println!("# forward");
                    print!("{}", pr.forward());
                    println!("\n# backward");
                    print!("{}", pr.backward());
                }
            }
        }
        Command::Grad {
            model,
            inputs,
            out,
            set,
            dim,
            dtype,
        } => {
            let c = compile(&model)?;
            let mut consts = HashMap::new();
            for s in &set {
                let Some((k, v)) = s.split_once('=') else {
                    return Err((2, format!("--set expects NAME=VALUE, got `{s}`")));
                };
                let v: f64 = v
                    .trim()
                    .parse()
                    .map_err(|_| (2, format!("--set {k}: `{v}` is not a number")))?;
                if !v.is_finite() {
                    return Err((2, format!("--set {k}: value must be finite")));
                }
                consts.insert(k.trim().to_string(), v);
            }
            let mut dims = HashMap::new();
            for s in &dim {
                let parsed = s
                    .split_once('=')
                    .and_then(|(k, v)| Some((k.trim().to_string(), v.trim().parse::<usize>().ok()?)));
                match parsed {
                    Some((k, v)) if v > 0 => dims.insert(k, v),
                    _ => return Err((2, format!("--dim expects NAME=SIZE with SIZE ≥ 1, got `{s}`"))),
                };
            }
            let file = TensorFile::load(&inputs).map_err(|e| (2, e.to_string()))?;
            let named = match dtype {
                Dtype::F64 => gatgrad::cases::run_case::<f64>(&c.program, &file, &consts, &dims),
                Dtype::F32 => gatgrad::cases::run_case::<f32>(&c.program, &file, &consts, &dims),
            }
            .map_err(|e| (2, e.to_string()))?;
            let tensors = gatgrad::cases::to_file_tensors(named, matches!(dtype, Dtype::F32));
            gatgrad::runtime::write_tensors(&out, &tensors, None).map_err(|e| (2, e.to_string()))?;
            println!("wrote {} tensors to {}", tensors.len(), out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

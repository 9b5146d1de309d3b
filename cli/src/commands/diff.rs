//! `gatgrad diff`.

use crate::source::compile;
use crate::status::Failure;
use gatgrad::codegen::compare::compare;
use std::path::PathBuf;

// The flags of `gatgrad diff`; its help is the doc comment of `Command::Diff`.
#[derive(clap::Args)]
pub struct Args {
    /// The first layer (`.gat`).
    pub a: PathBuf,
    /// The second layer (`.gat`).
    pub b: PathBuf,
    /// Also run both on random data with paired parameters given the same values, and print the
    /// largest difference of the outputs and of each paired gradient.
    #[arg(long)]
    pub numeric: bool,
}

/// Prints where the two layers differ; exit status 1 when they are not equivalent.
pub fn run(a: Args) -> Result<(), Failure> {
    let ca = compile(&a.a)?;
    let cb = compile(&a.b)?;
    let (pa, pb) = (&ca.program, &cb.program);
    let c = compare(pa, pb);
    let (na, nb) = (a.a.display().to_string(), a.b.display().to_string());
    print!("{}", c.render(pa, pb, (&na, &nb)));
    if a.numeric {
        let pairs: Vec<_> = c.pairs.iter().map(|p| (p.a, p.b)).collect();
        let rows = gatgrad::compare_numeric::numeric_check(pa, pb, &pairs, 1)
            .map_err(|e| Failure::input(format!("--numeric: {e}")))?;
        println!("\nnumeric check (random data, paired parameters equal; |first − second|):");
        for r in &rows {
            println!(
                "    {:<44} max {:.3e}  relative {:.3e}",
                r.what, r.max_abs, r.relative
            );
        }
        let worst = rows.iter().fold(0.0f64, |m, r| m.max(r.relative));
        let agrees = (worst <= 1e-12) == c.equivalent;
        if !agrees {
            return Err(Failure::input(format!(
                "--numeric disagrees with the verdict (largest relative difference {worst:.3e}): \
                 a gatgrad bug, please report it"
            )));
        }
    }
    if c.equivalent {
        Ok(())
    } else {
        Err(Failure::program(format!(
            "{na} and {nb} are not equivalent ({} listed above)",
            match c.differences.len() {
                1 => "1 difference".to_string(),
                n => format!("{n} differences"),
            }
        )))
    }
}

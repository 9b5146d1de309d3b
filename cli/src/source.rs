//! Reading and checking the `.gat` file a command is given.

use crate::status::Failure;
use std::path::Path;

/// Reads and compiles a model, printing its warnings. A file that cannot be read is an
/// environment problem (exit status 2), not a wrong program (1).
pub fn compile(path: &Path) -> Result<gatgrad::Compiled, Failure> {
    let loaded = gatgrad::gather_file(path).map_err(Failure::input)?;
    gatgrad::compile_gathered(&loaded)
        .map(warned)
        .map_err(|e| Failure::program(e.rendered))
}

/// Reads a model to train (exit status 2 if it cannot be read), checks it (1 on errors) and
/// returns its text gathered with the files it `use`s (a self-contained program).
pub fn read_model(path: &Path) -> Result<String, Failure> {
    let loaded = gatgrad::gather_file(path).map_err(Failure::input)?;
    gatgrad::compile_gathered(&loaded)
        .map(warned)
        .map_err(|e| Failure::program(e.rendered))?;
    Ok(loaded.source.text)
}

/// Prints a compilation's warnings (except in a helper executable: the `gatgrad` that started it
/// has printed them).
fn warned(c: gatgrad::Compiled) -> gatgrad::Compiled {
    if !c.warnings.is_empty() && !crate::on_demand::is_helper() {
        eprint!("{}", c.warnings);
    }
    c
}

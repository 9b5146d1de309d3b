//! Measures a program's first use and a later start through the cache: builds (or finds) the
//! helper executable for `MODEL.gat` — a `#[derive_gradients]` struct of the model that trains
//! one epoch on embedded Cora — then runs it, and prints the seconds of each step.
//!
//! ```sh
//! GATGRAD_CACHE_DIR=/tmp/gatgrad-cache cargo run --release --locked -p gatgrad-ondemand \
//!     --example first_use -- my_variant.gat
//! ```

use gatgrad_ondemand::{Cache, CrateTemplate, Event, Request, Toolchain};
use std::time::Instant;

/// The helper's `main.rs`: the model from `model.gat`, one epoch on Cora.
const MAIN_RS: &str = r#"#[gatgrad::derive_gradients(file = "model.gat")]
struct Model;

fn main() {
    let data = gatgrad::runtime::Dataset::builtin("cora").expect("embedded Cora");
    let config = gatgrad::train::TrainConfig {
        epochs: 1,
        ..Default::default()
    };
    match gatgrad::train::train::<Model>(&data, &config, |_| {}) {
        Ok(result) => println!("trained {} epoch, {:.3} s per epoch", result.epochs, result.seconds_per_epoch),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
"#;

fn main() {
    let Some(file) = std::env::args().nth(1) else {
        eprintln!("usage: first_use MODEL.gat");
        std::process::exit(2);
    };
    if let Err(e) = measure(&file) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

fn measure(file: &str) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let start = Instant::now();
    let toolchain = Toolchain::find()?;
    let template = CrateTemplate::gatgrad()?;
    let cache = Cache::from_env()?;
    let found = start.elapsed().as_secs_f64();
    let request = Request {
        what: file,
        canonical_text: &text,
        gat_files: &[("model.gat", &text)],
        main_rs: MAIN_RS,
        template: &template,
    };
    let entry = cache.get_or_build(&request, &toolchain, &mut |event| match event {
        Event::Compiling { what } => eprintln!("compiling generated code for {what}, first use"),
        Event::Cargo { line } => eprintln!("  [{:6.2} s] {line}", start.elapsed().as_secs_f64()),
        Event::Done { seconds } => eprintln!("built in {seconds:.2} s"),
        other => eprintln!("{other:?}"),
    })?;
    let ready = start.elapsed().as_secs_f64();
    let status = entry.command().status()?;
    let total = start.elapsed().as_secs_f64();
    eprintln!(
        "toolchain + template {found:.3} s, entry {} after {ready:.3} s ({}), helper ran until \
         {total:.3} s ({status})",
        entry.key,
        if entry.built { "built" } else { "cached" },
    );
    Ok(())
}

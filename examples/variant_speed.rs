//! How a user spells the math does not decide the speed: trains the two-layer GATv2 variants of
//! `examples/variants/` (residual written inline, residual in its own tensor, a sigmoid-gated
//! message with its gate in its own tensor and written inline) beside the zoo's `GatV2TwoLayer` on embedded Cora, interleaved round by round so a
//! noisy machine slows them alike, and prints each model's median epoch time and its ratios.
//!
//! ```text
//! cargo run --release --example variant_speed [ROUNDS] [EPOCHS]
//! ```
//!
//! Targets: inline residual within 1.2× of split and within 1.5× of GATv2; gated well under 2×
//! GATv2; inline gate within 1.2× of split.

use gatgrad::exec::Generated;
use gatgrad::runtime::Dataset;
use gatgrad::train::{train, TrainConfig};
use gatgrad::zoo::GatV2TwoLayer;
use std::time::Instant;

/// GATv2Conv(residual=True) as conv1, the residual product written inline.
#[gatgrad::derive_gradients(file = "examples/variants/gatv2_residual_inline_two_layer.gat")]
pub struct ResidualInline;

/// The same model with the residual product in its own tensor.
#[gatgrad::derive_gradients(file = "examples/variants/gatv2_residual_split_two_layer.gat")]
pub struct ResidualSplit;

/// GATv2 with a per-edge, per-head sigmoid gate on the message as conv1.
#[gatgrad::derive_gradients(file = "examples/variants/gatv2_gated_two_layer.gat")]
pub struct Gated;

/// The same model with the gate written inline in the output equation.
#[gatgrad::derive_gradients(file = "examples/variants/gatv2_gated_inline_two_layer.gat")]
pub struct GatedInline;

/// Trains `G` for `epochs` epochs and returns the time between consecutive epochs (the first
/// epoch, which includes binding the data, is left out), with the final test accuracy.
fn epoch_times<G: Generated>(ds: &Dataset, epochs: usize) -> Result<(Vec<f64>, f64), String> {
    let cfg = TrainConfig {
        epochs,
        patience: usize::MAX,
        ..Default::default()
    };
    let mut last: Option<Instant> = None;
    let mut times = Vec::new();
    let result = train::<G>(ds, &cfg, |_| {
        let now = Instant::now();
        if let Some(t) = last {
            times.push((now - t).as_secs_f64());
        }
        last = Some(now);
    })?;
    Ok((times, result.test_acc))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn arg(k: usize, default: usize) -> Result<usize, String> {
    match std::env::args().nth(k) {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(v) if v >= 1 => Ok(v),
            _ => Err(format!(
                "argument {k} must be a whole number of at least 1, got `{s}`"
            )),
        },
    }
}

fn run() -> Result<(), String> {
    let rounds = arg(1, 5)?;
    let epochs = arg(2, 12)?.max(2);
    let ds = Dataset::builtin("cora").map_err(|e| e.to_string())?;
    type Trainer = fn(&Dataset, usize) -> Result<(Vec<f64>, f64), String>;
    let models: [(&str, Trainer); 5] = [
        ("gatv2 (zoo)", epoch_times::<GatV2TwoLayer>),
        ("residual inline", epoch_times::<ResidualInline>),
        ("residual split", epoch_times::<ResidualSplit>),
        ("gated", epoch_times::<Gated>),
        ("gated inline", epoch_times::<GatedInline>),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); models.len()];
    let mut acc = vec![0.0; models.len()];
    for round in 0..rounds {
        for (k, (name, f)) in models.iter().enumerate() {
            let (t, a) = f(&ds, epochs)?;
            eprintln!(
                "round {}/{rounds}: {name:<16} {:.4} s per epoch (median of {})",
                round + 1,
                median(&mut t.clone()),
                t.len()
            );
            times[k].extend(t);
            acc[k] = a;
        }
    }
    let med: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    println!("median epoch time on Cora, {rounds} interleaved rounds of {epochs} epochs:");
    for (k, (name, _)) in models.iter().enumerate() {
        println!(
            "  {name:<16} {:.4} s  ({:.2}× gatv2; test accuracy after {epochs} epochs {:.1} %)",
            med[k],
            med[k] / med[0],
            100.0 * acc[k]
        );
    }
    println!(
        "  residual inline / split: {:.2}× (target ≤ 1.2×); inline / gatv2: {:.2}× (target ≤ 1.5×); gated / gatv2: {:.2}× (target well under 2×); gated inline / split: {:.2}× (target ≤ 1.2×)",
        med[1] / med[2],
        med[1] / med[0],
        med[3] / med[0],
        med[4] / med[3]
    );
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

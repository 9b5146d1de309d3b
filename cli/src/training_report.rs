//! Training from the command line: choosing the compiled model, the progress bar, the per-epoch
//! gradient log and the closing gradient-flow table.

use gatgrad::extra_model::{CompiledModel, ExtraModel};
use gatgrad::runtime::{Dataset, OutputPath};
use gatgrad::train::{EpochStats, TrainConfig, TrainResult};
use std::io::Write;
use std::path::Path;

/// Gradient norm below which a gradient counts as vanished (the diagnose threshold).
pub const VANISHED: f64 = gatgrad::diagnose::metrics::VANISHING_GRADIENT;
/// Growth over the first epoch's norm above which a gradient counts as exploded (the diagnose
/// threshold).
pub const EXPLODED: f64 = gatgrad::diagnose::metrics::EXPLODING_GROWTH;

/// The model file to train, and the executable's extra compiled models.
pub struct Model<'a> {
    /// The `.gat` file as given.
    pub path: &'a Path,
    /// Its text.
    pub source: &'a str,
    /// The extra models; one is used if it runs this file's program.
    pub extras: &'a [ExtraModel],
}

/// Trains the compiled model for `model` ([`CompiledModel::resolve`]), with a progress bar on
/// stderr and, if `log` is given, one JSON line per epoch. The log replaces a regular file only
/// once training has ended (also when it stopped on a non-finite loss: the log then holds the
/// epochs run).
pub fn train_with_progress(
    model: &Model,
    ds: &Dataset,
    cfg: &TrainConfig,
    log: Option<&OutputPath>,
) -> Result<TrainResult, String> {
    let mut log = match log {
        Some(p) => Some(p.create().map_err(|e| e.to_string())?),
        None => None,
    };
    let bar = indicatif::ProgressBar::new(cfg.epochs as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut log_err = None;
    let mut on_epoch = |s: &EpochStats| {
        bar.set_position(s.epoch as u64);
        bar.set_message(format!(
            "loss {:.4}  train {}  val {}  test {}",
            s.loss,
            fraction(s.train_acc),
            fraction(s.val_acc),
            fraction(s.test_acc)
        ));
        if let Some(w) = log.as_mut() {
            let grads: serde_json::Map<String, serde_json::Value> = s
                .grads
                .iter()
                .map(|g| {
                    let stats = serde_json::json!({"grad_norm": g.grad_norm, "ratio": g.ratio});
                    (g.name.clone(), stats)
                })
                .collect();
            let line = serde_json::json!({
                "epoch": s.epoch, "loss": s.loss, "train_acc": s.train_acc,
                "val_acc": s.val_acc, "test_acc": s.test_acc, "grads": grads,
            });
            if log_err.is_none() {
                if let Err(e) = writeln!(w, "{line}") {
                    log_err = Some(w.error(e).to_string());
                }
            }
        }
    };
    let result = CompiledModel::resolve(model.extras, model.path, model.source)
        .map_err(String::from)
        .and_then(|t| t.train(ds, cfg, &mut gatgrad::train::Callback(&mut on_epoch)));
    bar.finish_and_clear();
    if let Some(e) = log_err {
        return Err(format!("the gradient log: {e}"));
    }
    if let Some(w) = log {
        w.finish().map_err(|e| format!("the gradient log: {e}"))?;
    }
    result
}

/// An accuracy with three decimals, `–` when there is none (an empty mask).
fn fraction(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "–".into()
    }
}

/// Per parameter: first, last, smallest and largest gradient norm, with flags.
pub fn gradient_table(r: &TrainResult) -> String {
    let Some(first) = r.history.first() else {
        return String::new();
    };
    let mut out = format!(
        "{:<24} {:>11} {:>11} {:>11} {:>11}  flags\n",
        "parameter", "first", "last", "min", "max"
    );
    for (k, name) in first.grads.iter().map(|g| &g.name).enumerate() {
        let norms: Vec<f64> = r.history.iter().map(|e| e.grads[k].grad_norm).collect();
        let (f, l) = (norms[0], norms[norms.len() - 1]);
        let min = norms.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = norms.iter().cloned().fold(0.0f64, f64::max);
        let mut flags = Vec::new();
        if norms.iter().any(|v| !v.is_finite()) {
            flags.push("non-finite");
        }
        if min < VANISHED {
            flags.push("vanished");
        }
        if max > EXPLODED * f.max(VANISHED) {
            flags.push("exploded");
        }
        out.push_str(&format!(
            "{name:<24} {f:>11.3e} {l:>11.3e} {min:>11.3e} {max:>11.3e}  {}\n",
            flags.join(", ")
        ));
    }
    out
}

//! The machine-readable outputs of `gatgrad diagnose` (`metrics.jsonl`, `summary.json`,
//! `edge_importance.csv`) and its terminal summary.

use super::metrics::mean_finite;
use super::record::*;
use gatgrad_runtime::OutputPath;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::Path;

/// A finite number as JSON, anything else (NaN: "no data") as `null`.
fn num(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

fn nums(v: &[f64]) -> Value {
    Value::Array(v.iter().map(|x| num(*x)).collect())
}

/// One JSON object per model, seed and epoch.
pub fn metrics_lines(d: &Diagnosis) -> Vec<Value> {
    let mut out = Vec::new();
    for m in &d.models {
        for run in &m.runs {
            for e in &run.epochs {
                let params: serde_json::Map<String, Value> = m
                    .params
                    .iter()
                    .zip(&e.params)
                    .map(|(name, p)| {
                        let v = json!({
                            "grad_norm": num(p.grad_norm),
                            "grad_ratio": num(p.grad_ratio),
                            "update_ratio": num(p.update_ratio),
                            "zero_fraction": num(p.zero_fraction),
                        });
                        (name.clone(), v)
                    })
                    .collect();
                let layers: serde_json::Map<String, Value> = m
                    .layers
                    .iter()
                    .zip(&e.layers)
                    .map(|(name, l)| {
                        let v = json!({
                            "entropy": nums(&l.entropy),
                            "max_attention": nums(&l.max_attention),
                            "flat_fraction": nums(&l.flat_fraction),
                            "nonlinearity": l.nonlinearity,
                            "attention_grad_share": num(l.attention_share),
                            "value_grad_share": num(l.value_share),
                        });
                        (name.clone(), v)
                    })
                    .collect();
                out.push(json!({
                    "model": m.model,
                    "seed": run.seed,
                    "epoch": e.epoch,
                    "loss": num(e.loss),
                    "train_acc": num(e.train_acc),
                    "val_acc": num(e.val_acc),
                    "test_acc": num(e.test_acc),
                    "params": params,
                    "layers": layers,
                }));
            }
        }
    }
    out
}

/// `{"models": [{"model", "dataset", "seeds", "train_acc", "val_acc", "test_acc", "loss",
/// "flags": [...]}]}`, accuracies and loss as means over seeds at the end of training.
pub fn summary(d: &Diagnosis) -> Value {
    let models: Vec<Value> = d
        .models
        .iter()
        .map(|m| {
            let flags: Vec<Value> = m
                .flags
                .iter()
                .map(|(f, seeds)| {
                    json!({
                        "kind": format!("{:?}", f.kind),
                        "subject": f.subject,
                        "seeds": seeds,
                        "explanation": f.explanation,
                    })
                })
                .collect();
            json!({
                "model": m.model,
                "path": m.path,
                "dataset": d.dataset,
                "seeds": d.seeds,
                "epochs": d.max_epochs,
                "train_acc": num(m.final_mean.train_acc),
                "val_acc": num(m.final_mean.val_acc),
                "test_acc": num(m.final_mean.test_acc),
                "loss": num(m.final_mean.loss),
                "flags": flags,
            })
        })
        .collect();
    json!({ "models": models, "seconds": num(d.seconds) })
}

/// The edge-importance table: one row per model, seed, layer, explained node and in-edge.
pub fn edges_csv(d: &Diagnosis) -> String {
    let mut out = String::from(
        "model,seed,layer,node,label,predicted,p_true,edge,source,source_label,alpha,saliency,\
         rank_alpha,rank_saliency\n",
    );
    for m in &d.models {
        for run in &m.runs {
            for x in &run.explanations {
                for e in &x.edges {
                    let _ = writeln!(
                        out,
                        "{},{},{},{},{},{},{:.6},{},{},{},{:.6e},{:.6e},{},{}",
                        csv_field(&m.model),
                        run.seed,
                        csv_field(&x.layer),
                        x.node,
                        x.label,
                        x.predicted,
                        x.p_true,
                        e.edge,
                        e.source,
                        e.source_label,
                        e.alpha,
                        e.saliency,
                        e.rank_alpha,
                        e.rank_saliency
                    );
                }
            }
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The files [`write_data`] writes into the report folder.
pub const FILES: [&str; 3] = ["metrics.jsonl", "summary.json", "edge_importance.csv"];

/// Writes `metrics.jsonl`, `summary.json` and `edge_importance.csv` into `dir`, each through an
/// [`OutputPath`] (a regular file is replaced atomically, nothing else is destroyed).
pub fn write_data(d: &Diagnosis, dir: &Path) -> Result<(), String> {
    let write = |name: &str, text: String| {
        OutputPath::check(dir.join(name))
            .and_then(|out| out.write_bytes(text.as_bytes()))
            .map_err(|e| e.to_string())
    };
    let [metrics, summary_file, edges] = FILES;
    let mut lines = String::new();
    for v in metrics_lines(d) {
        lines.push_str(&v.to_string());
        lines.push('\n');
    }
    write(metrics, lines)?;
    let summary = serde_json::to_string_pretty(&summary(d)).unwrap_or_default();
    write(summary_file, summary + "\n")?;
    write(edges, edges_csv(d))
}

/// A fraction as a percentage with one decimal, "–" when not finite.
pub fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1} %", 100.0 * v)
    } else {
        "–".into()
    }
}

/// A few lines for the terminal: per model the final accuracies, each attention layer's last
/// entropy and gradient share, and the flags.
pub fn terminal_summary(d: &Diagnosis) -> String {
    let mut out = format!(
        "{} · {} nodes, {} edges · seeds {} · {} epochs · {:.1} s\n",
        d.dataset,
        d.num_nodes,
        d.num_edges,
        d.seeds.len(),
        d.max_epochs,
        d.seconds
    );
    let _ = writeln!(
        out,
        "{:<22} {:>9} {:>9} {:>9} {:>9}  flags",
        "model", "train", "val", "test", "loss"
    );
    for m in &d.models {
        let _ = writeln!(
            out,
            "{:<22} {:>9} {:>9} {:>9} {:>9.4}  {}",
            m.model,
            pct(m.final_mean.train_acc),
            pct(m.final_mean.val_acc),
            pct(m.final_mean.test_acc),
            m.final_mean.loss,
            m.flags.len()
        );
    }
    for m in &d.models {
        for (k, layer) in m.layers.iter().enumerate() {
            let lasts: Vec<&LayerRecord> = m
                .runs
                .iter()
                .filter_map(|r| r.epochs.last()?.layers.get(k))
                .collect();
            let entropy: Vec<f64> = lasts
                .iter()
                .map(|l| mean_finite(l.entropy.iter().copied()))
                .collect();
            let flat: Vec<f64> = lasts
                .iter()
                .map(|l| mean_finite(l.flat_fraction.iter().copied()))
                .collect();
            let share: Vec<f64> = lasts.iter().map(|l| l.attention_share).collect();
            let _ = writeln!(
                out,
                "  {} {layer}: attention entropy {:.3} (1 = uniform), flat pre-activations {}, \
                 attention share of gradient {}",
                m.model,
                mean_finite(entropy),
                pct(mean_finite(flat)),
                pct(mean_finite(share)),
            );
        }
        for (f, seeds) in &m.flags {
            let _ = writeln!(
                out,
                "  {} ⚑ {:?} [{}] in {seeds}/{} seeds: {}",
                m.model,
                f.kind,
                f.subject,
                m.runs.len(),
                f.explanation
            );
        }
    }
    out
}

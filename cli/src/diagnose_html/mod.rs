//! The self-contained HTML report of `gatgrad diagnose`: one file with inline CSS and SVG
//! charts ([`charts`], [`neighbourhood`]), no scripts and nothing fetched, so it opens offline.
//!
//! Sections: a header (dataset, sizes, seeds, epochs, wall time); a summary table per model
//! with the variants' curves overlaid; the flags raised, with their explanations and the
//! thresholds behind them; per model, training curves, gradient norms, per-head entropy and
//! last-epoch tables per layer/head and per parameter; entropy histograms; edge importance.
//!
//! Every text that comes from data (file, model, layer and parameter names, flag explanations)
//! is HTML-escaped. A non-finite number is shown as "–" in tables and skipped in charts.

mod charts;
mod neighbourhood;

use gatgrad::diagnose::metrics::{
    mean_finite, FlagKind, CONVERGED_LOSS, EXPLODING_GRADIENT, EXPLODING_GROWTH, STALLED_LOSS,
    STALL_WINDOW, UNDERFIT_ACCURACY, UNIFORM_ATTENTION, VANISHING_GRADIENT,
};
use gatgrad::diagnose::output::pct;
use gatgrad::diagnose::record::{Diagnosis, EpochRecord, Explanation, ModelDiagnosis};
use gatgrad::runtime::OutputPath;
use neighbourhood::MAX_NEIGHBOURS;
use std::fmt::Write;
use std::path::Path;

const CSS: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; line-height: 1.45; }
h1 { margin-bottom: 4px; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: 4px; margin-top: 40px; }
h3 { margin: 24px 0 8px; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
.meta { color: #555; margin: 0 0 8px; }
.meta span { margin-right: 18px; white-space: nowrap; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
th, td { border: 1px solid #d6d6d6; padding: 4px 9px; vertical-align: top; }
th { background: #f4f4f4; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.flagged td { background: #fff3f0; }
.flag { color: #b3261e; font-weight: 600; white-space: nowrap; }
.chart svg { max-width: 100%; height: auto; display: block; }
.note { color: #666; font-size: 13px; margin: 2px 0 10px; }
.error { color: #b3261e; }
.cards { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px; width: 350px; }
.card h4 { margin: 0 0 6px; font-size: 15px; }
.card table { font-size: 12px; margin: 6px 0 0; width: 100%; }
.card th, .card td { padding: 3px 5px; }
.ok { color: #2a9d3a; font-weight: 600; }
.wrong { color: #d62728; font-weight: 600; }
"#;

/// The report's file name in the report folder.
pub const FILE: &str = "report.html";

/// Renders `d` as the report and writes it to `path` through an [`OutputPath`] (the folder must
/// exist; a regular file is replaced atomically, nothing else is destroyed).
pub fn write_html(d: &Diagnosis, path: &Path) -> Result<(), String> {
    OutputPath::check(path)
        .and_then(|out| out.write_bytes(render_html(d).as_bytes()))
        .map_err(|e| format!("cannot write the report: {e}"))
}

/// The whole report as one self-contained HTML document.
pub fn render_html(d: &Diagnosis) -> String {
    let mut h = String::new();
    let title = format!("gatgrad diagnose — {}", esc(&d.dataset));
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    header(&mut h, d);
    summary(&mut h, d);
    flags(&mut h, d);
    for (i, m) in d.models.iter().enumerate() {
        model_section(&mut h, i, m);
    }
    histograms(&mut h, d);
    edge_importance(&mut h, d);
    h.push_str("</body>\n</html>\n");
    h
}

/// HTML-escapes `s` for text and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `v` with `decimals` decimals, "–" when not finite.
fn fixed(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "–".into()
    }
}

/// Scientific notation with three significant digits, "–" when not finite.
fn sci(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2e}")
    } else {
        "–".into()
    }
}

/// A numeric table cell.
fn num(text: String) -> String {
    format!("<td class=\"n\">{text}</td>")
}

/// A numeric table cell spanning `rows` rows.
fn spanning_num(text: String, rows: usize) -> String {
    format!("<td class=\"n\" rowspan=\"{rows}\">{text}</td>")
}

/// An inline chart, or the reason it could not be drawn.
fn chart(svg: Result<String, String>) -> String {
    match svg {
        Ok(svg) => format!("<div class=\"chart\">{svg}</div>\n"),
        Err(e) => format!(
            "<p class=\"error\">The chart could not be drawn: {}</p>\n",
            esc(&e)
        ),
    }
}

/// The human name of a flag kind.
fn kind_name(kind: FlagKind) -> &'static str {
    match kind {
        FlagKind::VanishingGradient => "vanishing gradient",
        FlagKind::ExplodingGradient => "exploding gradient",
        FlagKind::NonFiniteGradient => "non-finite gradient",
        FlagKind::UniformAttention => "uniform attention",
        FlagKind::StalledLoss => "stalled loss",
        FlagKind::Underfitting => "underfitting",
    }
}

/// The flags of `m` about `subject`, as a cell's content.
fn flags_of(m: &ModelDiagnosis, subject: &str) -> String {
    m.flags
        .iter()
        .filter(|(f, _)| f.subject == subject)
        .map(|(f, _)| format!("<span class=\"flag\">{}</span>", kind_name(f.kind)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every run's last epoch.
fn last_epochs(m: &ModelDiagnosis) -> Vec<&EpochRecord> {
    m.runs.iter().filter_map(|r| r.epochs.last()).collect()
}

fn header(h: &mut String, d: &Diagnosis) {
    let seeds = d
        .seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let _ = write!(
        h,
        "<p class=\"meta\"><span><b>dataset</b> {}</span><span><b>nodes</b> {}</span>\
         <span><b>edges</b> {}</span><span><b>classes</b> {}</span></p>\n\
         <p class=\"meta\"><span><b>models</b> {}</span><span><b>seeds</b> {}</span>\
         <span><b>max epochs</b> {}</span><span><b>wall time</b> {} s</span></p>\n",
        esc(&d.dataset),
        d.num_nodes,
        d.num_edges,
        d.num_classes,
        d.models.len(),
        if seeds.is_empty() {
            "–".into()
        } else {
            seeds
        },
        d.max_epochs,
        fixed(d.seconds, 1),
    );
}

fn summary(h: &mut String, d: &Diagnosis) {
    h.push_str(
        "<h2 id=\"summary\">Summary</h2>\n<p class=\"note\">Accuracies and training loss at the \
         end of training, means over seeds (± the sample standard deviation over seeds, in \
         points). Flags: distinct flags raised in at least one seed.</p>\n\
         <table>\n<tr><th>model</th><th>file</th><th>runs</th><th>train acc</th><th>val acc</th>\
         <th>test acc</th><th>loss</th><th>flags</th></tr>\n",
    );
    for (i, m) in d.models.iter().enumerate() {
        let (f, s) = (&m.final_mean, &m.final_std);
        // With several seeds an accuracy is shown with its spread: `81.9 % ± 0.8`.
        let spread = |mean: f64, std: f64| {
            if m.runs.len() > 1 && std.is_finite() {
                format!("{} ± {:.1}", pct(mean), 100.0 * std)
            } else {
                pct(mean)
            }
        };
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#model-{i}\">{}</a></td><td><code>{}</code></td>{}{}{}{}{}{}</tr>",
            esc(&m.model),
            esc(&m.path),
            num(m.runs.len().to_string()),
            num(spread(f.train_acc, s.train_acc)),
            num(spread(f.val_acc, s.val_acc)),
            num(spread(f.test_acc, s.test_acc)),
            num(fixed(f.loss, 4)),
            num(m.flags.len().to_string()),
        );
    }
    h.push_str("</table>\n");
    if !d.models.is_empty() {
        h.push_str(
            "<h3>Variants compared</h3>\n<p class=\"note\">Means over seeds. Left to right, top \
             to bottom: the training loss, the validation accuracy, the share of each attention \
             layer's squared gradient norm that reaches its attention parameters (gradient flow \
             into attention) and its normalised attention entropy (1 = uniform).</p>\n",
        );
        h.push_str(&chart(charts::comparison_curves(d)));
        h.push_str(&chart(charts::comparison_attention(d)));
    }
}

fn flags(h: &mut String, d: &Diagnosis) {
    h.push_str("<h2 id=\"flags\">Flags</h2>\n");
    for m in &d.models {
        let _ = writeln!(h, "<h3>{}</h3>", esc(&m.model));
        if m.flags.is_empty() {
            h.push_str("<p>No flags raised.</p>\n");
            continue;
        }
        h.push_str(
            "<table>\n<tr><th>flag</th><th>about</th><th>seeds</th><th>explanation</th></tr>\n",
        );
        for (flag, seeds) in &m.flags {
            let _ = writeln!(
                h,
                "<tr><td class=\"flag\">{}</td><td><code>{}</code></td>{}<td>{}</td></tr>",
                kind_name(flag.kind),
                esc(&flag.subject),
                num(format!("{seeds} of {}", m.runs.len())),
                esc(&flag.explanation),
            );
        }
        h.push_str("</table>\n");
    }
    let _ = write!(
        h,
        "<h3>Thresholds</h3>\n<table>\n<tr><th>flag</th><th>raised when</th><th>threshold</th></tr>\n\
         <tr><td>{}</td><td>a parameter's last gradient L2 norm is below the threshold</td>{}</tr>\n\
         <tr><td>{}</td><td>a parameter's largest gradient norm exceeds the growth factor times its \
         first-epoch norm (at least the vanishing threshold), or the absolute limit</td>{}</tr>\n\
         <tr><td>{}</td><td>a parameter's gradient norm is NaN or infinite in any epoch</td>{}</tr>\n\
         <tr><td>{}</td><td>a layer's normalised attention entropy (entropy / ln in-degree over nodes \
         with in-degree ≥ 2), averaged over heads at the last epoch, is above the threshold</td>{}</tr>\n\
         <tr><td>{}</td><td>the loss changed by less than the threshold (relative) over the window; \
         a loss below the converged level is never flagged</td>{}</tr>\n\
         <tr><td>{}</td><td>a run's final training accuracy is below the \
         threshold</td>{}</tr>\n</table>\n",
        kind_name(FlagKind::VanishingGradient),
        num(format!("{VANISHING_GRADIENT:.0e}")),
        kind_name(FlagKind::ExplodingGradient),
        num(format!(
            "growth {EXPLODING_GROWTH:.0e}×, absolute {EXPLODING_GRADIENT:.0e}"
        )),
        kind_name(FlagKind::NonFiniteGradient),
        num("–".into()),
        kind_name(FlagKind::UniformAttention),
        num(format!("{UNIFORM_ATTENTION}")),
        kind_name(FlagKind::StalledLoss),
        num(format!(
            "{STALLED_LOSS:.0e} over {STALL_WINDOW} epochs; converged below {CONVERGED_LOSS:.0e}"
        )),
        kind_name(FlagKind::Underfitting),
        num(format!("{:.0} %", 100.0 * UNDERFIT_ACCURACY)),
    );
}

fn model_section(h: &mut String, i: usize, m: &ModelDiagnosis) {
    let _ = write!(
        h,
        "<section id=\"model-{i}\">\n<h2>Model {}</h2>\n<p class=\"meta\"><code>{}</code> · {} \
         run(s)</p>\n<h3>Training curves</h3>\n{}<h3>Gradient norms</h3>\n<p class=\"note\">First \
         seed's run; zero and non-finite norms are not drawn.</p>\n{}\
         <h3>Attention entropy per head</h3>\n<p class=\"note\">Mean over seeds; 1 = uniform \
         attention, 0 = one neighbour per node; dashed: the uniform-attention threshold.</p>\n{}",
        esc(&m.model),
        esc(&m.path),
        m.runs.len(),
        chart(charts::training_curves(m)),
        chart(charts::gradient_norms(m)),
        chart(charts::head_entropy(m)),
    );
    layer_table(h, m);
    param_table(h, m);
    h.push_str("</section>\n");
}

fn layer_table(h: &mut String, m: &ModelDiagnosis) {
    h.push_str(
        "<h3>Attention layers at the last epoch</h3>\n<p class=\"note\">Means over seeds of each \
         run's last epoch. Flat/negative: fraction of score pre-activations in the named \
         nonlinearity's flat or negative region. Gradient shares: of the layer's squared gradient \
         norm, the part reaching the attention parameters and the value path.</p>\n",
    );
    if m.layers.is_empty() {
        h.push_str("<p>No attention layers.</p>\n");
        return;
    }
    h.push_str(
        "<table>\n<tr><th>layer</th><th>head</th><th>entropy</th><th>mean max α</th>\
         <th>flat/negative</th><th>nonlinearity</th><th>attention share</th><th>value share</th>\
         <th>flags</th></tr>\n",
    );
    let last = last_epochs(m);
    for (l, layer) in m.layers.iter().enumerate() {
        let records: Vec<_> = last.iter().filter_map(|e| e.layers.get(l)).collect();
        let heads = m.heads.get(l).copied().unwrap_or(0);
        let head_mean = |pick: fn(&gatgrad::diagnose::record::LayerRecord) -> &Vec<f64>,
                         head: usize| {
            mean_finite(records.iter().filter_map(|r| pick(r).get(head)).copied())
        };
        let nonlinearity = records
            .iter()
            .find_map(|r| r.nonlinearity.as_deref())
            .map_or("–".into(), esc);
        let attention = mean_finite(records.iter().map(|r| r.attention_share));
        let value = mean_finite(records.iter().map(|r| r.value_share));
        let flags = flags_of(m, layer);
        let rows = heads.max(1);
        let class = if flags.is_empty() {
            ""
        } else {
            " class=\"flagged\""
        };
        for head in 0..rows {
            let _ = write!(h, "<tr{class}>");
            if head == 0 {
                let _ = write!(h, "<td rowspan=\"{rows}\"><code>{}</code></td>", esc(layer));
            }
            if heads == 0 {
                h.push_str(
                    "<td>–</td><td class=\"n\">–</td><td class=\"n\">–</td><td class=\"n\">–</td>",
                );
            } else {
                let _ = write!(
                    h,
                    "{}{}{}{}",
                    num(head.to_string()),
                    num(fixed(head_mean(|r| &r.entropy, head), 3)),
                    num(fixed(head_mean(|r| &r.max_attention, head), 3)),
                    num(pct(head_mean(|r| &r.flat_fraction, head))),
                );
            }
            if head == 0 {
                let _ = write!(
                    h,
                    "<td rowspan=\"{rows}\">{nonlinearity}</td>{}{}<td rowspan=\"{rows}\">{flags}</td>",
                    spanning_num(pct(attention), rows),
                    spanning_num(pct(value), rows),
                );
            }
            h.push_str("</tr>\n");
        }
    }
    h.push_str("</table>\n");
}

fn param_table(h: &mut String, m: &ModelDiagnosis) {
    h.push_str(
        "<h3>Parameters at the last epoch</h3>\n<p class=\"note\">Means over seeds of each run's \
         last epoch. Ratios are to the parameter's L2 norm (update ratios near 1e-3 are the usual \
         rule of thumb); zero fraction: share of gradient entries exactly 0.</p>\n",
    );
    if m.params.is_empty() {
        h.push_str("<p>No parameters recorded.</p>\n");
        return;
    }
    h.push_str(
        "<table>\n<tr><th>parameter</th><th>grad norm</th><th>grad / param</th>\
         <th>update / param</th><th>zero fraction</th><th>flags</th></tr>\n",
    );
    let last = last_epochs(m);
    for (p, name) in m.params.iter().enumerate() {
        let records: Vec<_> = last.iter().filter_map(|e| e.params.get(p)).collect();
        let mean = |pick: fn(&gatgrad::diagnose::record::ParamRecord) -> f64| {
            mean_finite(records.iter().map(|r| pick(r)))
        };
        let flags = flags_of(m, name);
        let class = if flags.is_empty() {
            ""
        } else {
            " class=\"flagged\""
        };
        let _ = writeln!(
            h,
            "<tr{class}><td><code>{}</code></td>{}{}{}{}<td>{flags}</td></tr>",
            esc(name),
            num(sci(mean(|r| r.grad_norm))),
            num(sci(mean(|r| r.grad_ratio))),
            num(sci(mean(|r| r.update_ratio))),
            num(pct(mean(|r| r.zero_fraction))),
        );
    }
    h.push_str("</table>\n");
}

fn histograms(h: &mut String, d: &Diagnosis) {
    let _ = write!(
        h,
        "<h2 id=\"entropy\">Attention entropy histograms</h2>\n<p class=\"note\">Per attention \
         layer (rows) and model (columns): normalised entropy of every (node with in-degree ≥ 2, \
         head) after the first and the last epoch, pooled over seeds. Mass near 1 is uniform \
         attention (a mean aggregator); mass near 0 is attention on one neighbour.</p>\n{}",
        chart(charts::entropy_histograms(d))
    );
}

fn edge_importance(h: &mut String, d: &Diagnosis) {
    let _ = write!(
        h,
        "<h2 id=\"edges\">Edge importance</h2>\n<p class=\"note\">First seed's run, at the end of \
         training. Around each explained node: its in-neighbours (the {MAX_NEIGHBOURS} most \
         salient), edge width ∝ attention weight α (mean over heads), edge colour ∝ saliency \
         |α · ∂L/∂α| relative to the node's most salient edge (dark red = most salient; dashed = \
         unknown); the ring around the centre is the self loop; nodes show id and class (cN); \
         the centre's border is green when the prediction is correct, red when wrong.</p>\n"
    );
    for m in &d.models {
        let _ = writeln!(h, "<h3>{}</h3>", esc(&m.model));
        let explanations = m.runs.first().map_or(&[][..], |r| &r.explanations[..]);
        if explanations.is_empty() {
            h.push_str("<p>No nodes were explained.</p>\n");
            continue;
        }
        h.push_str("<div class=\"cards\">\n");
        for e in explanations {
            explanation_card(h, e);
        }
        h.push_str("</div>\n");
    }
}

fn explanation_card(h: &mut String, e: &Explanation) {
    let verdict = if e.label == e.predicted {
        "<span class=\"ok\">correct</span>"
    } else {
        "<span class=\"wrong\">wrong</span>"
    };
    let _ = write!(
        h,
        "<div class=\"card\">\n<h4>node {} · <code>{}</code></h4>\n<div class=\"note\">class {}, \
         predicted {} ({verdict}), p(true class) = {}, {} in-edge(s)</div>\n<div class=\"chart\">{}\
         </div>\n",
        e.node,
        esc(&e.layer),
        e.label,
        e.predicted,
        fixed(e.p_true, 3),
        e.edges.len(),
        neighbourhood::drawing(e),
    );
    if !e.edges.is_empty() {
        h.push_str(
            "<table>\n<tr><th>source</th><th>class</th><th>α</th><th>saliency</th>\
             <th title=\"rank by attention weight\">rank α</th>\
             <th title=\"rank by saliency\">rank sal.</th></tr>\n",
        );
        for edge in e.edges.iter().take(MAX_NEIGHBOURS) {
            let source = if edge.source == e.node {
                format!("{} (self)", edge.source)
            } else {
                edge.source.to_string()
            };
            let _ = writeln!(
                h,
                "<tr>{}{}{}{}{}{}</tr>",
                num(source),
                num(edge.source_label.to_string()),
                num(fixed(edge.alpha, 3)),
                num(sci(edge.saliency)),
                num(edge.rank_alpha.to_string()),
                num(edge.rank_saliency.to_string()),
            );
        }
        h.push_str("</table>\n");
        if e.edges.len() > MAX_NEIGHBOURS {
            let _ = writeln!(
                h,
                "<div class=\"note\">… {} less salient in-edges not listed.</div>",
                e.edges.len() - MAX_NEIGHBOURS
            );
        }
    }
    h.push_str("</div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatgrad::diagnose::metrics::Flag;
    use gatgrad::diagnose::record::{ExplainedEdge, Final, LayerRecord, ParamRecord, SeedRun};

    fn epoch(k: usize, broken: bool) -> EpochRecord {
        let v = if broken { f64::NAN } else { 1.0 / k as f64 };
        EpochRecord {
            epoch: k,
            loss: v,
            train_acc: 0.3 * k as f64,
            val_acc: 0.25 * k as f64,
            test_acc: if broken {
                f64::INFINITY
            } else {
                0.2 * k as f64
            },
            params: vec![
                ParamRecord {
                    grad_norm: v,
                    grad_ratio: 0.1,
                    update_ratio: f64::NAN,
                    zero_fraction: 0.0,
                },
                ParamRecord {
                    grad_norm: 0.0,
                    grad_ratio: f64::NAN,
                    update_ratio: 1e-3,
                    zero_fraction: 1.0,
                },
            ],
            layers: vec![LayerRecord {
                entropy: vec![0.99, v],
                max_attention: vec![0.4, 0.6],
                flat_fraction: vec![f64::NAN, 0.5],
                nonlinearity: Some("leaky_relu".into()),
                attention_share: 0.2,
                value_share: 0.8,
            }],
        }
    }

    fn model(name: &str, broken: bool, explained: bool) -> ModelDiagnosis {
        let explanations = if explained {
            vec![Explanation {
                layer: "conv1".into(),
                node: 4,
                label: 1,
                predicted: 0,
                p_true: 0.2,
                edges: vec![
                    ExplainedEdge {
                        edge: 0,
                        source: 4,
                        alpha: 0.7,
                        saliency: 0.3,
                        rank_alpha: 1,
                        rank_saliency: 1,
                        source_label: 1,
                    },
                    ExplainedEdge {
                        edge: 1,
                        source: 9,
                        alpha: 0.3,
                        saliency: f64::NAN,
                        rank_alpha: 2,
                        rank_saliency: 2,
                        source_label: 0,
                    },
                ],
            }]
        } else {
            Vec::new()
        };
        let run = |seed| SeedRun {
            seed,
            epochs: (1..=3).map(|k| epoch(k, broken && k == 3)).collect(),
            entropy_first: vec![vec![0.1, 0.5, f64::NAN]],
            entropy_last: vec![vec![]],
            explanations: explanations.clone(),
            flags: Vec::new(),
            seconds: 0.5,
        };
        ModelDiagnosis {
            model: name.into(),
            path: format!("models/{name}.gat"),
            layers: vec!["conv1".into()],
            heads: vec![2],
            params: vec!["conv1.att".into(), "conv1.bias".into()],
            runs: vec![run(0), run(1)],
            final_mean: Final {
                train_acc: 0.9,
                val_acc: f64::NAN,
                test_acc: 0.8,
                loss: 0.25,
            },
            final_std: Final {
                test_acc: 0.012,
                ..Final::default()
            },
            flags: vec![(
                Flag {
                    kind: FlagKind::UniformAttention,
                    subject: "conv1".into(),
                    explanation: format!("The attention of `conv1` in {name} is uniform."),
                },
                2,
            )],
        }
    }

    fn diagnosis() -> Diagnosis {
        Diagnosis {
            dataset: "tiny<&>".into(),
            num_nodes: 10,
            num_edges: 20,
            num_classes: 2,
            seeds: vec![0, 1],
            max_epochs: 3,
            models: vec![model("gatv2", false, true), model("a<&>b", true, false)],
            seconds: 1.5,
        }
    }

    #[test]
    fn report_has_every_section_and_model() {
        let html = render_html(&diagnosis());
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        for section in [
            "id=\"summary\"",
            "id=\"flags\"",
            "<h3>Thresholds</h3>",
            "id=\"model-0\"",
            "id=\"model-1\"",
            "<h3>Training curves</h3>",
            "<h3>Gradient norms</h3>",
            "<h3>Attention entropy per head</h3>",
            "<h3>Attention layers at the last epoch</h3>",
            "<h3>Parameters at the last epoch</h3>",
            "id=\"entropy\"",
            "id=\"edges\"",
            "No nodes were explained.",
            "node 4 · <code>conv1</code>",
            "uniform attention",
            "leaky_relu",
            "2 of 2",
            "0.98",
            "1e-10",
            // Two seeds: the test accuracy with its spread; the attention comparison chart.
            "80.0 % ± 1.2",
            "attention share of the layer",
        ] {
            assert!(html.contains(section), "missing {section}");
        }
        assert!(html.contains(">gatv2<"));
        assert!(html.contains("<svg"));
        assert!(html.contains('–'), "NaN shows as a dash");
        assert!(!html.contains(">NaN") && !html.contains(">inf"));
    }

    #[test]
    fn data_is_escaped() {
        let html = render_html(&diagnosis());
        assert!(html.contains("a&lt;&amp;&gt;b"));
        assert!(html.contains("tiny&lt;&amp;&gt;"));
        assert!(html.contains("models/a&lt;&amp;&gt;b.gat"));
        assert!(!html.contains("a<&>b") && !html.contains("tiny<&>"));
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn report_is_self_contained() {
        let html = render_html(&diagnosis());
        let rest = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!rest.contains("http://") && !rest.contains("https://"));
        assert!(!rest.contains("<script") && !rest.contains("<link") && !rest.contains("<img"));
    }

    #[test]
    fn empty_diagnosis_renders() {
        let html = render_html(&Diagnosis::default());
        assert!(html.contains("id=\"summary\"") && html.contains("id=\"edges\""));
        assert!(html.contains("no attention layers"));
        let mut lone = diagnosis();
        lone.models[0].runs.clear();
        lone.models[1].layers.clear();
        lone.models[1].params.clear();
        let html = render_html(&lone);
        assert!(html.contains("No attention layers.") && html.contains("No parameters recorded."));
    }

    #[test]
    fn write_html_writes_and_reports_errors() {
        let dir = std::env::temp_dir().join(format!("gatgrad-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("report.html");
        write_html(&diagnosis(), &path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            render_html(&diagnosis())
        );
        let err = write_html(&diagnosis(), &dir.join("missing/report.html")).unwrap_err();
        assert!(err.contains("cannot write the report"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! SVG charts of a [`Diagnosis`] for the HTML report ([`super`]).
//!
//! Every chart is returned as one standalone `<svg>` string, ready to inline in HTML. Curves
//! over epochs are drawn with `plotters`' SVG backend (the neighbourhood drawing of an
//! explained node is written by hand, in [`super::neighbourhood`]). Text is emitted as SVG `<text>` in the browser's
//! `sans-serif` font (plotters is built without a font-metrics feature, so its layout uses a
//! width estimate, which is all an SVG needs).
//!
//! Missing data never panics: non-finite values (and non-positive ones on a log scale) are
//! gaps in a curve, an average over no finite value is a gap, and a panel with nothing to draw
//! says "no data". An `Err` only reports a failure inside `plotters`.

use gatgrad::diagnose::metrics::{mean_finite, UNIFORM_ATTENTION};
use gatgrad::diagnose::record::{Diagnosis, EpochRecord, ModelDiagnosis, SeedRun};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width, in pixels, of the wide charts (curves over epochs).
const WIDTH: u32 = 1100;
/// Width of the legend strip on the right of a chart.
const LEGEND_WIDTH: u32 = 210;
/// Height of one legend entry.
const LEGEND_LINE: i32 = 24;
/// Size of one histogram cell.
const CELL: (u32, u32) = (360, 250);
/// Bins of the entropy histograms over `[0, 1]`.
const BINS: usize = 20;
/// Font family of every chart.
pub(super) const FONT: &str = "sans-serif";

/// Tableau 10: distinguishable line colours, cycled.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const GRID: RGBColor = RGBColor(236, 236, 236);
const THRESHOLD: RGBColor = RGBColor(200, 30, 30);
const FIRST_EPOCH: RGBColor = RGBColor(150, 150, 150);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// The `i`-th colour of the palette (cycled).
pub(super) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// One curve over epochs; non-finite values are gaps.
struct Series {
    label: String,
    color: RGBColor,
    /// `(1-based epoch, value)`.
    points: Vec<(i32, f64)>,
}

/// How a panel's y axis is scaled.
#[derive(Clone, Copy)]
enum YAxis {
    /// Linear from 0 (or the smallest value, if negative) to just above the largest value.
    Auto,
    /// Linear over `[0, 1]` (accuracies, normalised entropy).
    Unit,
    /// Linear over the drawn values and the threshold, with a margin: curves that all lie
    /// near one level (normalised entropies of 0.99) are told apart.
    Fit,
    /// Logarithmic over the positive values.
    Log,
}

/// One panel of curves over epochs.
struct Panel<'s> {
    title: String,
    y_desc: &'static str,
    y_axis: YAxis,
    series: &'s [Series],
    /// A dashed horizontal threshold line.
    threshold: Option<f64>,
}

/// Renders `draw` into an SVG string of the given size.
fn svg(size: (u32, u32), draw: impl FnOnce(&Area) -> DrawResult) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Longest run of `runs`, in epochs.
fn max_epochs(runs: &[SeedRun]) -> usize {
    runs.iter().map(|r| r.epochs.len()).max().unwrap_or(0)
}

/// Per epoch, the mean over the seeds that reached it of `value` (NaN-skipping).
fn mean_curve(runs: &[SeedRun], value: impl Fn(&EpochRecord) -> Option<f64>) -> Vec<(i32, f64)> {
    (0..max_epochs(runs))
        .map(|k| {
            let mean = mean_finite(
                runs.iter()
                    .filter_map(|r| r.epochs.get(k))
                    .filter_map(&value),
            );
            (k as i32 + 1, mean)
        })
        .collect()
}

/// Whether `y` can be drawn on `axis`.
fn drawable(axis: YAxis, y: f64) -> bool {
    y.is_finite() && (!matches!(axis, YAxis::Log) || y > 0.0)
}

/// The maximal runs of drawable points of `points`.
fn segments(points: &[(i32, f64)], axis: YAxis) -> Vec<Vec<(i32, f64)>> {
    points
        .split(|&(_, y)| !drawable(axis, y))
        .filter(|s| !s.is_empty())
        .map(<[_]>::to_vec)
        .collect()
}

/// "no data" in the middle of `area`, under `title`.
fn no_data(area: &Area, title: &str) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let centred =
        |size| TextStyle::from((FONT, size).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(title.to_string(), (w / 2, 16), centred(16)))?;
    area.draw(&Text::new(
        "no data",
        (w / 2, h / 2),
        centred(14).color(&FIRST_EPOCH),
    ))?;
    Ok(())
}

/// A legend, one entry per line, drawn as line swatches (`bars` = filled squares).
fn legend(area: &Area, entries: &[(String, RGBColor)], bars: bool) -> DrawResult {
    let style = TextStyle::from((FONT, 17).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (label, color)) in entries.iter().enumerate() {
        let y = 40 + LEGEND_LINE * i as i32;
        if bars {
            area.draw(&Rectangle::new(
                [(8, y - 6), (22, y + 6)],
                color.mix(0.6).filled(),
            ))?;
        } else {
            area.draw(&PathElement::new(
                vec![(4, y), (26, y)],
                color.stroke_width(3),
            ))?;
        }
        area.draw(&Text::new(label.clone(), (32, y), style.clone()))?;
    }
    Ok(())
}

/// Draws one panel of curves; x is the 1-based epoch.
fn draw_panel(area: &Area, panel: &Panel) -> DrawResult {
    let drawn: Vec<(i32, f64)> = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|&(_, y)| drawable(panel.y_axis, y))
        .collect();
    if drawn.is_empty() {
        return no_data(area, &panel.title);
    }
    let last = drawn.iter().map(|p| p.0).max().unwrap_or(1).max(2);
    let x = 1..last;
    let (lo, hi) = drawn
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, y)| {
            (lo.min(y), hi.max(y))
        });
    match panel.y_axis {
        YAxis::Unit => draw_curves(area, panel, x, 0.0..1.02, &|v| format!("{v:.1}")),
        YAxis::Fit => {
            let (lo, hi) = match panel.threshold {
                Some(t) if t.is_finite() => (lo.min(t), hi.max(t)),
                _ => (lo, hi),
            };
            let margin = if hi > lo { 0.08 * (hi - lo) } else { 0.01 };
            let (lo, hi) = (lo - margin, hi + margin);
            let decimals = (1.0 - (hi - lo).log10().floor()).clamp(0.0, 12.0) as usize;
            draw_curves(area, panel, x, lo..hi, &|v| format!("{v:.decimals$}"))
        }
        YAxis::Auto => {
            let lo = lo.min(0.0);
            let hi = if hi > lo {
                hi + 0.05 * (hi - lo)
            } else {
                lo + 1.0
            };
            // Enough decimals to tell ~10 ticks apart.
            let decimals = (1.0 - (hi - lo).log10().floor()).clamp(0.0, 12.0) as usize;
            draw_curves(area, panel, x, lo..hi, &|v| format!("{v:.decimals$}"))
        }
        YAxis::Log => draw_curves(area, panel, x, (lo / 2.0..hi * 2.0).log_scale(), &|v| {
            format!("{v:.0e}")
        }),
    }
}

fn draw_curves<Y>(
    area: &Area,
    panel: &Panel,
    x: std::ops::Range<i32>,
    y: Y,
    y_format: &dyn Fn(&f64) -> String,
) -> DrawResult
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let (x0, x1) = (x.start, x.end);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 19))
        .margin(10)
        .x_label_area_size(46)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(panel.y_desc)
        .x_labels(8)
        .y_labels(8)
        .y_label_formatter(y_format)
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 17))
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .draw()?;
    for s in panel.series {
        for segment in segments(&s.points, panel.y_axis) {
            if let [point] = segment[..] {
                chart.draw_series([Circle::new(point, 3, s.color.filled())])?;
            } else {
                chart.draw_series(LineSeries::new(segment, s.color.stroke_width(2)))?;
            }
        }
    }
    if let Some(level) = panel.threshold {
        chart.draw_series(DashedLineSeries::new(
            [(x0, level), (x1, level)],
            6,
            4,
            THRESHOLD.stroke_width(2),
        ))?;
    }
    Ok(())
}

/// Panels side by side with a legend on the right.
fn panels_with_legend(
    height: u32,
    panels: &[Panel],
    entries: &[(String, RGBColor)],
) -> Result<String, String> {
    svg((WIDTH, height), |root| {
        let (plots, key) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
        for (area, panel) in plots
            .split_evenly((1, panels.len().max(1)))
            .iter()
            .zip(panels)
        {
            draw_panel(area, panel)?;
        }
        legend(&key, entries, false)
    })
}

fn entries(series: &[Series]) -> Vec<(String, RGBColor)> {
    series.iter().map(|s| (s.label.clone(), s.color)).collect()
}

/// Chart (a) for one model: the training loss (left) and the train/val/test accuracies
/// (right) over epochs, each the mean over seeds of the runs that reached that epoch.
pub fn training_curves(model: &ModelDiagnosis) -> Result<String, String> {
    let loss = [Series {
        label: "training loss".into(),
        color: RGBColor(40, 40, 40),
        points: mean_curve(&model.runs, |e| Some(e.loss)),
    }];
    let accuracy: Vec<Series> = [
        (
            "train accuracy",
            0,
            (|e: &EpochRecord| e.train_acc) as fn(&EpochRecord) -> f64,
        ),
        ("val accuracy", 1, |e| e.val_acc),
        ("test accuracy", 2, |e| e.test_acc),
    ]
    .into_iter()
    .map(|(label, c, value)| Series {
        label: label.into(),
        color: color(c),
        points: mean_curve(&model.runs, |e| Some(value(e))),
    })
    .collect();
    let mut keys = entries(&loss);
    keys.extend(entries(&accuracy));
    panels_with_legend(
        320,
        &[
            Panel {
                title: "loss (mean over seeds)".into(),
                y_desc: "loss",
                y_axis: YAxis::Auto,
                series: &loss,
                threshold: None,
            },
            Panel {
                title: "accuracy (mean over seeds)".into(),
                y_desc: "accuracy",
                y_axis: YAxis::Unit,
                series: &accuracy,
                threshold: None,
            },
        ],
        &keys,
    )
}

/// Chart (a), variants overlaid: every model's training loss (left) and validation accuracy
/// (right), means over seeds.
pub fn comparison_curves(d: &Diagnosis) -> Result<String, String> {
    let per_model = |value: fn(&EpochRecord) -> f64| -> Vec<Series> {
        d.models
            .iter()
            .enumerate()
            .map(|(i, m)| Series {
                label: m.model.clone(),
                color: color(i),
                points: mean_curve(&m.runs, |e| Some(value(e))),
            })
            .collect()
    };
    let loss = per_model(|e| e.loss);
    let val = per_model(|e| e.val_acc);
    panels_with_legend(
        320,
        &[
            Panel {
                title: "training loss (mean over seeds)".into(),
                y_desc: "loss",
                y_axis: YAxis::Auto,
                series: &loss,
                threshold: None,
            },
            Panel {
                title: "validation accuracy (mean over seeds)".into(),
                y_desc: "accuracy",
                y_axis: YAxis::Unit,
                series: &val,
                threshold: None,
            },
        ],
        &entries(&loss),
    )
}

/// Charts (b) and (d), variants overlaid: per model and attention layer, the share of the
/// layer's gradient that reaches its attention parameters (left, log scale: how much of the
/// gradient flows into attention) and the normalised attention entropy, mean over heads
/// (right, its axis fitted to the curves, with the uniform-attention threshold dashed); means
/// over seeds. One colour per model and layer, named `model layer`.
pub fn comparison_attention(d: &Diagnosis) -> Result<String, String> {
    let mut share = Vec::new();
    let mut entropy = Vec::new();
    for m in &d.models {
        for (l, layer) in m.layers.iter().enumerate() {
            // The palette without its red, which is the threshold's colour.
            let k = share.len();
            let c = color(if k >= 3 { k + 1 } else { k });
            let label = format!("{} {layer}", m.model);
            share.push(Series {
                label: label.clone(),
                color: c,
                points: mean_curve(&m.runs, |e| e.layers.get(l).map(|r| r.attention_share)),
            });
            entropy.push(Series {
                label,
                color: c,
                points: mean_curve(&m.runs, |e| {
                    e.layers
                        .get(l)
                        .map(|r| mean_finite(r.entropy.iter().copied()))
                }),
            });
        }
    }
    if share.is_empty() {
        return svg((WIDTH, 120), |root| no_data(root, "no attention layers"));
    }
    let height = 320.max(60 + LEGEND_LINE as u32 * share.len() as u32);
    let mut keys = entries(&share);
    keys.push((format!("uniform ({UNIFORM_ATTENTION})"), THRESHOLD));
    panels_with_legend(
        height,
        &[
            Panel {
                title: "attention share of the layer's gradient".into(),
                y_desc: "share of ‖∂L/∂θ‖²",
                y_axis: YAxis::Log,
                series: &share,
                threshold: None,
            },
            Panel {
                title: "normalised attention entropy (mean over heads)".into(),
                y_desc: "entropy / ln(deg)",
                y_axis: YAxis::Fit,
                series: &entropy,
                threshold: Some(UNIFORM_ATTENTION),
            },
        ],
        &keys,
    )
}

/// Chart (b) for one model: the gradient L2 norm of every parameter over epochs, on a log
/// scale, from the **first seed's run** (exact values rather than an average across runs
/// that may diverge). Zero and non-finite norms are gaps.
pub fn gradient_norms(model: &ModelDiagnosis) -> Result<String, String> {
    let run = model.runs.first();
    let series: Vec<Series> = model
        .params
        .iter()
        .enumerate()
        .map(|(p, name)| Series {
            label: name.clone(),
            color: color(p),
            points: run
                .map(|r| {
                    r.epochs
                        .iter()
                        .enumerate()
                        .map(|(k, e)| {
                            let norm = e.params.get(p).map_or(f64::NAN, |q| q.grad_norm);
                            (k as i32 + 1, norm)
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    let title = match run {
        Some(r) => format!("gradient L2 norm per parameter (seed {})", r.seed),
        None => "gradient L2 norm per parameter".into(),
    };
    let height = 360.max(60 + LEGEND_LINE as u32 * series.len() as u32);
    panels_with_legend(
        height,
        &[Panel {
            title,
            y_desc: "‖∂L/∂θ‖₂",
            y_axis: YAxis::Log,
            series: &series,
            threshold: None,
        }],
        &entries(&series),
    )
}

/// Chart (d) for one model: per attention layer (one panel each), the mean normalised
/// attention entropy of every head over epochs, mean over seeds; the dashed line is the
/// uniform-attention threshold.
pub fn head_entropy(model: &ModelDiagnosis) -> Result<String, String> {
    if model.layers.is_empty() {
        return svg((WIDTH, 120), |root| no_data(root, "no attention layers"));
    }
    let max_heads = model.heads.iter().copied().max().unwrap_or(0);
    let per_layer: Vec<Vec<Series>> = (0..model.layers.len())
        .map(|l| {
            let heads = model.heads.get(l).copied().unwrap_or(0);
            (0..heads)
                .map(|h| Series {
                    label: format!("head {h}"),
                    color: color(h),
                    points: mean_curve(&model.runs, |e| {
                        e.layers.get(l).and_then(|r| r.entropy.get(h)).copied()
                    }),
                })
                .collect()
        })
        .collect();
    let panels: Vec<Panel> = model
        .layers
        .iter()
        .zip(&per_layer)
        .map(|(layer, series)| Panel {
            title: format!("{layer}: normalised entropy per head"),
            y_desc: "entropy / ln(deg)",
            y_axis: YAxis::Unit,
            series,
            threshold: Some(UNIFORM_ATTENTION),
        })
        .collect();
    let mut keys: Vec<(String, RGBColor)> = (0..max_heads)
        .map(|h| (format!("head {h}"), color(h)))
        .collect();
    keys.push((format!("uniform ({UNIFORM_ATTENTION})"), THRESHOLD));
    panels_with_legend(300, &panels, &keys)
}

/// Fractions of the finite `values` in [`BINS`] equal bins over `[0, 1]` (values outside are
/// clamped into the end bins); `None` when there is no finite value.
fn histogram<'a>(values: impl Iterator<Item = &'a f64>) -> Option<Vec<f64>> {
    let mut counts = [0usize; BINS];
    let mut total = 0usize;
    for &v in values.filter(|v| v.is_finite()) {
        let bin = ((v * BINS as f64).floor().max(0.0) as usize).min(BINS - 1);
        counts[bin] += 1;
        total += 1;
    }
    (total > 0).then(|| counts.iter().map(|&c| c as f64 / total as f64).collect())
}

/// Chart (c): per attention layer (rows, by position) and model (columns), histograms of the
/// normalised attention entropy of every (node with in-degree ≥ 2, head) after the first and
/// after the last epoch, pooled over seeds, as fractions of those pairs.
pub fn entropy_histograms(d: &Diagnosis) -> Result<String, String> {
    let rows = d.models.iter().map(|m| m.layers.len()).max().unwrap_or(0);
    let cols = d.models.len();
    if rows == 0 {
        return svg((WIDTH, 120), |root| no_data(root, "no attention layers"));
    }
    let size = (CELL.0 * cols as u32 + LEGEND_WIDTH, CELL.1 * rows as u32);
    svg(size, |root| {
        let (grid, key) = root.split_horizontally(CELL.0 * cols as u32);
        let cells = grid.split_evenly((rows, cols));
        for (c, model) in d.models.iter().enumerate() {
            for r in 0..rows {
                let area = &cells[r * cols + c];
                let Some(layer) = model.layers.get(r) else {
                    continue;
                };
                let pooled = |pick: fn(&SeedRun) -> &Vec<Vec<f64>>| {
                    histogram(model.runs.iter().filter_map(|s| pick(s).get(r)).flatten())
                };
                let title = format!("{} · {layer}", model.model);
                let bars = [
                    (pooled(|s| &s.entropy_first), FIRST_EPOCH),
                    (pooled(|s| &s.entropy_last), color(0)),
                ];
                draw_histogram(area, &title, &bars)?;
            }
        }
        legend(
            &key,
            &[
                ("first epoch".into(), FIRST_EPOCH),
                ("last epoch".into(), color(0)),
            ],
            true,
        )
    })
}

fn draw_histogram(area: &Area, title: &str, bars: &[(Option<Vec<f64>>, RGBColor)]) -> DrawResult {
    let top = bars
        .iter()
        .filter_map(|(h, _)| h.as_ref())
        .flatten()
        .copied()
        .fold(0.0f64, f64::max);
    if top <= 0.0 {
        return no_data(area, title);
    }
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 18))
        .margin(10)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..1.0, 0.0..top * 1.08)?;
    chart
        .configure_mesh()
        .x_desc("normalised entropy")
        .y_desc("fraction")
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_label_formatter(&|v| format!("{v:.2}"))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .draw()?;
    for (hist, color) in bars {
        let Some(hist) = hist else { continue };
        chart.draw_series(hist.iter().enumerate().map(|(b, &f)| {
            let lo = b as f64 / BINS as f64;
            Rectangle::new(
                [(lo, 0.0), (lo + 1.0 / BINS as f64, f)],
                color.mix(0.55).filled(),
            )
        }))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatgrad::diagnose::record::{LayerRecord, ParamRecord};

    fn model() -> ModelDiagnosis {
        let epoch = |k: usize, v: f64| EpochRecord {
            epoch: k,
            loss: v,
            train_acc: 0.5,
            val_acc: f64::NAN,
            test_acc: 0.4,
            params: vec![ParamRecord {
                grad_norm: v,
                ..ParamRecord::default()
            }],
            layers: vec![LayerRecord {
                entropy: vec![0.9, f64::NAN],
                ..LayerRecord::default()
            }],
        };
        ModelDiagnosis {
            model: "m".into(),
            layers: vec!["conv1".into()],
            heads: vec![2],
            params: vec!["conv1.att".into()],
            runs: vec![
                SeedRun {
                    seed: 7,
                    epochs: vec![epoch(1, 1.0), epoch(2, f64::NAN), epoch(3, 0.0)],
                    entropy_first: vec![vec![0.0, 0.5, 1.0, 1.0 + 1e-12, f64::NAN]],
                    entropy_last: vec![vec![]],
                    ..SeedRun::default()
                },
                SeedRun {
                    seed: 8,
                    epochs: vec![epoch(1, 3.0)],
                    ..SeedRun::default()
                },
            ],
            ..ModelDiagnosis::default()
        }
    }

    #[test]
    fn means_skip_nan_and_runs_that_stopped() {
        assert!(mean_finite([]).is_nan());
        assert!(mean_finite([f64::NAN, f64::INFINITY]).is_nan());
        assert_eq!(mean_finite([1.0, f64::NAN, 3.0]), 2.0);
        let curve = mean_curve(&model().runs, |e| Some(e.loss));
        assert_eq!(curve[0], (1, 2.0));
        assert!(curve[1].1.is_nan());
        assert_eq!(curve[2], (3, 0.0));
        // On a log scale the zero is a gap too.
        assert_eq!(
            segments(&curve, YAxis::Auto),
            vec![vec![(1, 2.0)], vec![(3, 0.0)]]
        );
        assert_eq!(segments(&curve, YAxis::Log), vec![vec![(1, 2.0)]]);
    }

    #[test]
    fn histogram_clamps_and_skips_nan() {
        let h = histogram([0.0, 0.5, 1.0, 1.0 + 1e-12, -0.1, f64::NAN].iter()).unwrap();
        assert_eq!(h.len(), BINS);
        assert_eq!(h[0], 0.4);
        assert_eq!(h[BINS / 2], 0.2);
        assert_eq!(h[BINS - 1], 0.4);
        assert!(histogram([f64::NAN].iter()).is_none());
        assert!(histogram([].iter()).is_none());
    }

    #[test]
    fn charts_render_with_gaps_and_empty_data() {
        let m = model();
        let empty = ModelDiagnosis::default();
        for chart in [
            training_curves(&m),
            gradient_norms(&m),
            head_entropy(&m),
            training_curves(&empty),
            gradient_norms(&empty),
            head_entropy(&empty),
        ] {
            let svg = chart.unwrap();
            assert!(svg.starts_with("<svg"), "{svg}");
            assert!(svg.trim_end().ends_with("</svg>"));
        }
        // A model with a layer but no run: its histogram cell says "no data".
        let silent = ModelDiagnosis {
            layers: m.layers.clone(),
            ..ModelDiagnosis::default()
        };
        let d = Diagnosis {
            models: vec![m, empty, silent],
            ..Diagnosis::default()
        };
        let hist = entropy_histograms(&d).unwrap();
        assert!(hist.contains("m · conv1") && hist.contains("no data"));
        assert!(comparison_curves(&d).unwrap().contains("<svg"));
        // One curve per model and layer (the silent model's has no points), named `model layer`.
        let attention = comparison_attention(&d).unwrap();
        assert!(attention.contains("m conv1") && attention.contains("uniform (0.98)"));
        assert!(comparison_attention(&Diagnosis::default())
            .unwrap()
            .contains("no attention"));
        assert!(entropy_histograms(&Diagnosis::default())
            .unwrap()
            .contains("no attention"));
    }
}

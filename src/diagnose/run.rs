//! Running `gatgrad diagnose`: every model trained with every seed on the same data, observed
//! epoch by epoch, then the worst-classified nodes explained edge by edge.

use super::layers::{attention_layers, flat_fraction, AttentionLayer};
use super::metrics::{self, Flag, Observations};
use super::record::*;
use crate::exec::Session;
use crate::extra_model::{CompiledModel, ExtraModel};
use crate::train::{EpochStats, FinalState, Observer, TrainConfig};
use gatgrad_runtime::Dataset;
use std::time::Instant;

/// Settings of a diagnosis.
#[derive(Clone, Debug)]
pub struct DiagnoseConfig {
    /// Seeds `0..seeds`.
    pub seeds: usize,
    /// Training settings; diagnosis runs every epoch (no early stopping).
    pub train: TrainConfig,
    /// Nodes to explain; `None`: the worst-classified test nodes.
    pub explain: Option<Vec<usize>>,
    /// How many worst-classified test nodes to explain by default.
    pub explain_worst: usize,
}

impl Default for DiagnoseConfig {
    fn default() -> Self {
        DiagnoseConfig {
            seeds: 3,
            train: TrainConfig {
                epochs: 200,
                patience: usize::MAX,
                ..TrainConfig::default()
            },
            explain: None,
            explain_worst: 3,
        }
    }
}

/// A model to diagnose: its file and source.
#[derive(Clone, Debug)]
pub struct ModelFile {
    /// The path as given.
    pub path: String,
    /// Its text.
    pub source: String,
}

/// Where a diagnosis has got to, for progress output.
#[derive(Clone, Debug)]
pub struct Progress<'a> {
    /// The model's short name.
    pub model: &'a str,
    /// The seed.
    pub seed: u64,
    /// The latest epoch's statistics.
    pub stats: &'a EpochStats,
}

/// Trains every model with every seed on `ds` and measures everything in [`record`](super::record).
/// Errors only for a model that is not compiled into gatgrad or an invalid setting; a run that
/// diverges is reported (flags), not an error.
pub fn diagnose(
    models: &[ModelFile],
    ds: &Dataset,
    dataset: &str,
    cfg: &DiagnoseConfig,
    progress: impl FnMut(Progress),
) -> Result<Diagnosis, String> {
    diagnose_with(models, &[], ds, dataset, cfg, progress)
}

/// [`diagnose`], with the extra models of an executable built outside gatgrad: a file whose
/// program one of them runs is trained with it ([`CompiledModel::resolve`]).
pub fn diagnose_with(
    models: &[ModelFile],
    extras: &[ExtraModel],
    ds: &Dataset,
    dataset: &str,
    cfg: &DiagnoseConfig,
    mut progress: impl FnMut(Progress),
) -> Result<Diagnosis, String> {
    if cfg.seeds == 0 {
        return Err("diagnose needs at least one seed".into());
    }
    cfg.train.validate()?;
    let start = Instant::now();
    let resolved: Vec<(CompiledModel, &ModelFile)> = models
        .iter()
        .map(|m| {
            CompiledModel::resolve(extras, std::path::Path::new(&m.path), &m.source)
                .map(|t| (t, m))
                .map_err(|e| format!("{}: {e}", m.path))
        })
        .collect::<Result<_, _>>()?;
    if let Some(nodes) = &cfg.explain {
        if let Some(bad) = nodes.iter().find(|n| **n >= ds.num_nodes) {
            return Err(format!(
                "--explain: node {bad} does not exist (the graph has {} nodes)",
                ds.num_nodes
            ));
        }
    }
    let mut out = Diagnosis {
        dataset: dataset.to_string(),
        num_nodes: ds.num_nodes,
        num_edges: ds.graph.num_edges(),
        num_classes: ds.num_classes,
        seeds: (0..cfg.seeds as u64).collect(),
        max_epochs: cfg.train.epochs,
        ..Diagnosis::default()
    };
    let paths: Vec<String> = resolved.iter().map(|(_, f)| f.path.clone()).collect();
    let names = model_names(&paths);
    for ((trainable, file), name) in resolved.into_iter().zip(names) {
        let mut model = ModelDiagnosis {
            model: name.clone(),
            path: file.path.clone(),
            ..ModelDiagnosis::default()
        };
        for seed in 0..cfg.seeds as u64 {
            let run_start = Instant::now();
            let mut obs = RunObserver::new(ds, cfg, &name, seed, &mut progress);
            let train_cfg = TrainConfig {
                seed,
                ..cfg.train.clone()
            };
            let result = trainable.train(ds, &train_cfg, &mut obs);
            let mut run = obs.finish(&mut model);
            run.seed = seed;
            if let Err(e) = result {
                if run.epochs.is_empty() {
                    return Err(format!("{}: {e}", file.path));
                }
                run.flags.push(Flag {
                    kind: metrics::FlagKind::NonFiniteGradient,
                    subject: "loss".into(),
                    explanation: format!("Training stopped: {e}."),
                });
            }
            run.seconds = run_start.elapsed().as_secs_f64();
            model.runs.push(run);
        }
        summarise(&mut model);
        out.models.push(model);
    }
    out.seconds = start.elapsed().as_secs_f64();
    Ok(out)
}

/// Means over seeds of the last epoch, and the flags of all seeds merged.
/// The name each model is reported under: its file's stem (`gatv2`), or with its folder
/// (`dgl/gatv2`) when another file has the same stem, or its whole path when that is not enough.
fn model_names(paths: &[String]) -> Vec<String> {
    let path = |p: &String| std::path::Path::new(p).to_path_buf();
    let stem = |p: &String| {
        path(p)
            .file_stem()
            .map_or_else(|| p.clone(), |s| s.to_string_lossy().into_owned())
    };
    let with_folder = |p: &String| match path(p).parent().and_then(|d| d.file_name()) {
        Some(d) => format!("{}/{}", d.to_string_lossy(), stem(p)),
        None => stem(p),
    };
    let unique = |names: &[String], k: usize| names.iter().filter(|n| **n == names[k]).count() == 1;
    let stems: Vec<String> = paths.iter().map(stem).collect();
    let folders: Vec<String> = paths.iter().map(with_folder).collect();
    (0..paths.len())
        .map(|k| {
            if unique(&stems, k) {
                stems[k].clone()
            } else if unique(&folders, k) {
                folders[k].clone()
            } else {
                paths[k].clone()
            }
        })
        .collect()
}

fn summarise(model: &mut ModelDiagnosis) {
    let lasts: Vec<&EpochRecord> = model.runs.iter().filter_map(|r| r.epochs.last()).collect();
    let mean = |f: &dyn Fn(&EpochRecord) -> f64| {
        lasts.iter().map(|e| f(e)).sum::<f64>() / lasts.len().max(1) as f64
    };
    // The sample standard deviation (n - 1 in the denominator); 0 with fewer than two runs.
    let std = |f: &dyn Fn(&EpochRecord) -> f64| {
        if lasts.len() < 2 {
            return 0.0;
        }
        let m = mean(f);
        let squares: f64 = lasts.iter().map(|e| (f(e) - m).powi(2)).sum();
        (squares / (lasts.len() - 1) as f64).sqrt()
    };
    let train_acc = |e: &EpochRecord| e.train_acc;
    let val_acc = |e: &EpochRecord| e.val_acc;
    let test_acc = |e: &EpochRecord| e.test_acc;
    let loss = |e: &EpochRecord| e.loss;
    model.final_mean = Final {
        train_acc: mean(&train_acc),
        val_acc: mean(&val_acc),
        test_acc: mean(&test_acc),
        loss: mean(&loss),
    };
    model.final_std = Final {
        train_acc: std(&train_acc),
        val_acc: std(&val_acc),
        test_acc: std(&test_acc),
        loss: std(&loss),
    };
    model.flags.clear();
    for run in &model.runs {
        for f in &run.flags {
            match model
                .flags
                .iter_mut()
                .find(|(g, _)| g.kind == f.kind && g.subject == f.subject)
            {
                Some((_, n)) => *n += 1,
                None => model.flags.push((f.clone(), 1)),
            }
        }
    }
}

/// Collects one run's records while it trains.
struct RunObserver<'a, P: FnMut(Progress)> {
    ds: &'a Dataset,
    cfg: &'a DiagnoseConfig,
    model: &'a str,
    seed: u64,
    progress: &'a mut P,
    /// Whether `layers` and `heads` have been read off the program (at the first epoch).
    ready: bool,
    layers: Vec<AttentionLayer>,
    heads: Vec<usize>,
    pending: Vec<LayerRecord>,
    node_entropy: Vec<Vec<f64>>,
    run: SeedRun,
    params: Vec<String>,
    /// Each parameter's kind by PyG name, from the program's dataflow.
    kinds: std::collections::HashMap<String, metrics::ParamKind>,
}

impl<'a, P: FnMut(Progress)> RunObserver<'a, P> {
    fn new(
        ds: &'a Dataset,
        cfg: &'a DiagnoseConfig,
        model: &'a str,
        seed: u64,
        progress: &'a mut P,
    ) -> Self {
        RunObserver {
            ds,
            cfg,
            model,
            seed,
            progress,
            ready: false,
            layers: Vec::new(),
            heads: Vec::new(),
            pending: Vec::new(),
            node_entropy: Vec::new(),
            run: SeedRun::default(),
            params: Vec::new(),
            kinds: Default::default(),
        }
    }

    /// The run's records; fills the model's layer and parameter lists on its first run.
    fn finish(mut self, model: &mut ModelDiagnosis) -> SeedRun {
        if model.layers.is_empty() {
            model.layers = self.layers.iter().map(|l| l.name.clone()).collect();
            model.heads = self.heads.clone();
            model.params = self.params.clone();
        }
        self.run.entropy_last = std::mem::take(&mut self.node_entropy);
        let norms: Vec<(String, Vec<f64>)> = self
            .params
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let v = self.run.epochs.iter().map(|e| e.params[k].grad_norm);
                (name.clone(), v.collect())
            })
            .collect();
        let entropy: Vec<(String, Vec<f64>)> = self
            .layers
            .iter()
            .enumerate()
            .filter_map(|(k, l)| {
                let last = self.run.epochs.last()?;
                Some((l.name.clone(), last.layers.get(k)?.entropy.clone()))
            })
            .collect();
        let losses: Vec<f64> = self.run.epochs.iter().map(|e| e.loss).collect();
        self.run.flags = metrics::flags(&Observations {
            grad_norms: norms
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_slice()))
                .collect(),
            entropy: entropy
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_slice()))
                .collect(),
            losses: &losses,
            train_acc: self.run.epochs.last().map(|e| e.train_acc),
        });
        self.run
    }
}

impl<P: FnMut(Progress)> Observer for RunObserver<'_, P> {
    fn after_backward(&mut self, epoch: usize, s: &Session<f32>) {
        if !self.ready {
            let p = &s.program;
            self.kinds = gatgrad_codegen::facts::facts(p)
                .params
                .iter()
                .map(|(t, k)| (p.tensor(*t).external.clone(), *k))
                .collect();
            self.layers = attention_layers(&s.program);
            self.heads = self
                .layers
                .iter()
                .map(|l| {
                    let e = s.bound.graphs[l.graph.index()].num_edges().max(1);
                    s.value(l.alpha).len() / e
                })
                .collect();
            self.ready = true;
        }
        let p = &s.program;
        self.pending.clear();
        let mut entropies = Vec::new();
        for (layer, &heads) in self.layers.iter().zip(&self.heads) {
            let graph = &s.bound.graphs[layer.graph.index()];
            let alpha = s.value(layer.alpha);
            let mut record = LayerRecord {
                nonlinearity: layer
                    .score
                    .as_ref()
                    .map(|f| f.func.signature().0.to_string()),
                ..LayerRecord::default()
            };
            if heads > 0 && alpha.len() == graph.num_edges() * heads {
                let nodes = metrics::node_normalized_entropy(graph, alpha, heads);
                record.entropy = metrics::head_means(&nodes, heads);
                record.max_attention = metrics::mean_max_attention(graph, alpha, heads);
                entropies.push(nodes.into_iter().flat_map(|(_, v)| v).collect());
            } else {
                record.entropy = vec![f64::NAN; heads];
                record.max_attention = vec![f64::NAN; heads];
                entropies.push(Vec::new());
            }
            record.flat_fraction = match &layer.score {
                Some(score) => flat_fraction(p, &s.bound, s.values.as_slice(), score, heads),
                None => vec![f64::NAN; heads],
            };
            self.pending.push(record);
        }
        if epoch == 1 {
            self.run.entropy_first = entropies.clone();
        }
        self.node_entropy = entropies;
    }

    fn on_epoch(&mut self, stats: &EpochStats) {
        if self.params.is_empty() {
            self.params = stats.grads.iter().map(|g| g.name.clone()).collect();
        }
        let mut layers = std::mem::take(&mut self.pending);
        for (layer, record) in self.layers.iter().zip(layers.iter_mut()) {
            let prefix = format!("{}.", layer.name);
            let norms: Vec<(metrics::ParamKind, f64)> = stats
                .grads
                .iter()
                .filter(|g| g.name.starts_with(&prefix) || self.layers.len() == 1)
                .map(|g| {
                    let kind = self.kinds.get(&g.name).copied();
                    (kind.unwrap_or(metrics::ParamKind::Other), g.grad_norm)
                })
                .collect();
            let share = metrics::gradient_share(&norms);
            record.attention_share = share.attention;
            record.value_share = share.value;
        }
        self.run.epochs.push(EpochRecord {
            epoch: stats.epoch,
            loss: stats.loss,
            train_acc: stats.train_acc,
            val_acc: stats.val_acc,
            test_acc: stats.test_acc,
            params: stats
                .grads
                .iter()
                .map(|g| ParamRecord {
                    grad_norm: g.grad_norm,
                    grad_ratio: g.ratio,
                    update_ratio: g.update_ratio,
                    zero_fraction: g.zero_fraction,
                })
                .collect(),
            layers,
        });
        (self.progress)(Progress {
            model: self.model,
            seed: self.seed,
            stats,
        });
    }

    fn at_end(&mut self, run: &mut FinalState) {
        self.run.explanations = explain(
            self.ds,
            self.cfg.explain.as_deref(),
            self.cfg.explain_worst,
            &self.layers,
            &self.heads,
            run,
        );
    }
}

/// Softmax probability of class `c` in a row of logits.
fn probability(row: &[f32], c: usize) -> f64 {
    let mx = row.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v)) as f64;
    let z: f64 = row.iter().map(|v| (*v as f64 - mx).exp()).sum();
    (row[c] as f64 - mx).exp() / z
}

/// Edge importance for the chosen nodes (`None`: the `worst` test nodes whose true class gets the
/// lowest probability): per node, a forward and a full backward with the loss restricted to that
/// node, then its in-edges in every attention layer (with `heads[k]` heads) ranked by α and by
/// `|α · ∂L/∂α|`.
pub fn explain(
    ds: &Dataset,
    chosen: Option<&[usize]>,
    worst: usize,
    layers: &[AttentionLayer],
    heads: &[usize],
    run: &mut FinalState,
) -> Vec<Explanation> {
    let s = &mut *run.session;
    let output = s.program.output;
    let k = ds.num_classes;
    let logits = s.value(output).to_vec();
    if logits.len() != ds.num_nodes * k {
        return Vec::new();
    }
    let p_true = |n: usize| probability(&logits[n * k..(n + 1) * k], ds.y[n]);
    let predicted = |n: usize| {
        let row = &logits[n * k..(n + 1) * k];
        (0..k).fold(0, |b, c| if row[c] > row[b] { c } else { b })
    };
    let nodes: Vec<usize> = match chosen {
        Some(v) => v.to_vec(),
        None => {
            let mut test: Vec<usize> = (0..ds.num_nodes).filter(|n| ds.test_mask[*n]).collect();
            test.sort_by(|a, b| p_true(*a).total_cmp(&p_true(*b)).then(a.cmp(b)));
            test.truncate(worst);
            test
        }
    };
    // The loss mask is read twice: as a node set (its count) and as a 0/1 tensor (the adjoint of
    // the logits); both must select the explained node only.
    let original = (
        s.bound.masks.get(&run.mask).cloned(),
        s.values[run.mask.index()].clone(),
    );
    let mut out = Vec::new();
    for &node in &nodes {
        let mut mask = vec![false; ds.num_nodes];
        mask[node] = true;
        s.bound.masks.insert(run.mask, mask);
        let values = &mut s.values[run.mask.index()];
        values.iter_mut().for_each(|v| *v = 0.0);
        if let Some(v) = values.get_mut(node) {
            *v = 1.0;
        }
        (run.forward)(&s.bound, &mut s.values);
        (run.backward)(&s.bound, &mut s.values);
        for (layer, &h) in layers.iter().zip(heads) {
            let graph = &s.bound.graphs[layer.graph.index()];
            let alpha: Vec<f64> = s.value(layer.alpha).iter().map(|v| *v as f64).collect();
            let grad = adjoint_values(s, layer, graph.num_edges() * h);
            if h == 0 || alpha.len() != graph.num_edges() * h || grad.len() != alpha.len() {
                continue;
            }
            let sal = metrics::saliency(&alpha, &grad);
            let mean_alpha: Vec<f64> = alpha.iter().map(|a| a / h as f64).collect();
            let by_alpha = metrics::rank_in_edges(graph, node, &mean_alpha, h);
            let by_saliency = metrics::rank_in_edges(graph, node, &sal, h);
            let rank_of = |ranked: &[(usize, usize, f64)], e: usize| {
                ranked.iter().position(|r| r.0 == e).map_or(0, |k| k + 1)
            };
            let edges = by_saliency
                .iter()
                .map(|&(e, src, saliency)| ExplainedEdge {
                    edge: s.bound.edge_origin(layer.graph)[e] as usize,
                    source: src,
                    alpha: by_alpha.iter().find(|r| r.0 == e).map_or(f64::NAN, |r| r.2),
                    saliency,
                    rank_alpha: rank_of(&by_alpha, e),
                    rank_saliency: rank_of(&by_saliency, e),
                    source_label: ds.y[src],
                })
                .collect();
            out.push(Explanation {
                layer: layer.name.clone(),
                node,
                label: ds.y[node],
                predicted: predicted(node),
                p_true: p_true(node),
                edges,
            });
        }
    }
    if let Some(m) = original.0 {
        s.bound.masks.insert(run.mask, m);
    }
    s.values[run.mask.index()] = original.1;
    out
}

/// `d α` as stored by the generated backward, or evaluated from its definition when the
/// generated code kept it in registers.
fn adjoint_values(s: &Session<f32>, layer: &AttentionLayer, len: usize) -> Vec<f64> {
    let Some(adj) = layer.adjoint else {
        return Vec::new();
    };
    let stored = s.value(adj);
    if stored.len() == len {
        return stored.iter().map(|v| *v as f64).collect();
    }
    let p = &s.program;
    let Some(eq) = p.backward.iter().find(|e| e.lhs == adj) else {
        return Vec::new();
    };
    let gatgrad_codegen::ir::Rhs::Expr(body) = eq.rhs else {
        return Vec::new();
    };
    let ev = crate::eval::Evaluator::inlining(p, &s.bound, s.values.as_slice());
    let shape = s.bound.shape(p, adj);
    let mut env = vec![0usize; p.vars.len()];
    (0..len)
        .map(|k| {
            crate::eval::set_env(&mut env, &eq.vars, &shape, k);
            ev.eval(body, &mut env)
        })
        .collect()
}

#[cfg(test)]
mod names_tests {
    use super::model_names;

    #[test]
    fn files_of_one_stem_are_told_apart_by_their_folder() {
        let paths = ["models/gatv2.gat", "models/dgl/gatv2.gat", "models/gat.gat"];
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        assert_eq!(model_names(&paths), ["models/gatv2", "dgl/gatv2", "gat"]);
        let same: Vec<String> = vec!["a/m.gat".into(), "a/m.gat".into()];
        assert_eq!(model_names(&same), ["a/m.gat", "a/m.gat"]);
    }
}

#[cfg(test)]
mod summary_tests {
    use super::summarise;
    use crate::diagnose::record::{EpochRecord, ModelDiagnosis, SeedRun};

    #[test]
    fn the_final_spread_is_the_sample_standard_deviation_over_seeds() {
        let run = |test_acc: f64| SeedRun {
            epochs: vec![EpochRecord {
                test_acc,
                ..EpochRecord::default()
            }],
            ..SeedRun::default()
        };
        let mut m = ModelDiagnosis {
            runs: vec![run(0.8), run(0.9), run(0.7)],
            ..ModelDiagnosis::default()
        };
        summarise(&mut m);
        assert!((m.final_mean.test_acc - 0.8).abs() < 1e-12);
        // Deviations ±0.1 and 0 over n - 1 = 2: √(0.02 / 2) = 0.1.
        assert!((m.final_std.test_acc - 0.1).abs() < 1e-12);
        m.runs.truncate(1);
        summarise(&mut m);
        assert_eq!(m.final_std.test_acc, 0.0);
    }
}

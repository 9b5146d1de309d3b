//! Full-batch training of a generated model on a Planetoid-style dataset, the GAT setup: each
//! parameter initialised as its declaration says (`crate::init`; by default Glorot as PyG),
//! dropout masks drawn each epoch (the backward reuses them), Adam with L2 weight decay added to
//! the gradient as `torch.optim.Adam` does, early stopping on validation accuracy, and
//! per-parameter gradient-flow statistics.

use crate::adam::Adam;
use crate::dropout;
use crate::exec::{timed, Generated, Session};
use crate::shapes::{file_name, Data};
use gatgrad_codegen::facts::Facts;
use gatgrad_codegen::ir::*;
use gatgrad_runtime::kernels::Pattern;
use gatgrad_runtime::{DataError, Dataset, Tensor, TensorFile};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::time::Instant;

/// Training settings (defaults: the GAT paper's).
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Seed of initialisation and dropout.
    pub seed: u64,
    /// Adam learning rate.
    pub lr: f64,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// Overrides the model's `dropout` constant.
    pub dropout: Option<f64>,
    /// Early-stopping patience in epochs.
    pub patience: usize,
    /// Attention heads of the hidden layer.
    pub heads: usize,
    /// Channels per head of the hidden layer.
    pub hidden: usize,
    /// Heads of the output layer.
    pub out_heads: usize,
    /// Parameters to start from (PyG state_dict names), instead of Glorot initialisation.
    pub init: Option<Checkpoint>,
}

impl TrainConfig {
    /// Checks that every setting can mean something: at least one epoch, a positive finite
    /// learning rate (a negative one would ascend the loss), a finite weight decay of at least 0,
    /// a dropout rate in `[0, 1)`, a patience and layer sizes of at least 1.
    pub fn validate(&self) -> Result<(), String> {
        let mut wrong = Vec::new();
        if self.epochs == 0 {
            wrong.push("epochs must be at least 1".to_string());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            wrong.push(format!(
                "the learning rate must be finite and greater than 0, got {}",
                self.lr
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            wrong.push(format!(
                "the weight decay must be finite and at least 0, got {}",
                self.weight_decay
            ));
        }
        if let Some(p) = self.dropout {
            if !(0.0..1.0).contains(&p) {
                wrong.push(format!("the dropout rate must be in [0, 1), got {p}"));
            }
        }
        for (what, v) in [
            ("patience", self.patience),
            ("heads", self.heads),
            ("hidden", self.hidden),
            ("out_heads", self.out_heads),
        ] {
            if v == 0 {
                wrong.push(format!("{what} must be at least 1"));
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!("invalid training settings: {}", wrong.join("; ")))
        }
    }
}

/// Parameters to start training from, as `gatgrad train --out` writes them (PyG state_dict
/// names).
#[derive(Clone, Debug, Default)]
pub struct Checkpoint {
    /// The file it came from, for messages.
    pub name: String,
    /// Its floating-point tensors by name.
    pub tensors: HashMap<String, Tensor<f64>>,
    /// The names of all its tensors, sorted (for messages).
    pub names: Vec<String>,
}

impl Checkpoint {
    /// The floating-point tensors of `file` (others, e.g. a dataset's `edge_index`, are not
    /// parameters and are left out; training reports which parameters are missing).
    pub fn from_file(file: &TensorFile) -> Result<Checkpoint, DataError> {
        let mut tensors = HashMap::new();
        for name in file.names() {
            if matches!(file.dtype(name)?.as_str(), "F64" | "F32") {
                tensors.insert(name.to_string(), file.f64(name)?);
            }
        }
        Ok(Checkpoint {
            name: file.file_name().to_string(),
            tensors,
            names: file.names().into_iter().map(str::to_string).collect(),
        })
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 1000,
            seed: 0,
            lr: 0.005,
            weight_decay: 5e-4,
            dropout: None,
            patience: 100,
            heads: 8,
            hidden: 8,
            out_heads: 1,
            init: None,
        }
    }
}

/// One epoch's measurements. An accuracy or loss over a mask that selects no node is NaN (no
/// data; written as `null` in JSON), never 0.
#[derive(Clone, Debug)]
pub struct EpochStats {
    /// 1-based epoch.
    pub epoch: usize,
    /// Training loss (with dropout).
    pub loss: f64,
    /// Accuracies in evaluation mode.
    pub train_acc: f64,
    /// Validation accuracy.
    pub val_acc: f64,
    /// Test accuracy (NaN without test nodes).
    pub test_acc: f64,
    /// Validation loss (evaluation mode; NaN without validation nodes).
    pub val_loss: f64,
    /// Per parameter, in declaration order.
    pub grads: Vec<ParamStats>,
}

/// One parameter's gradient and update in one epoch. Ratios are NaN (written as `null` in logs)
/// when the parameter was exactly zero before the update.
#[derive(Clone, Debug)]
pub struct ParamStats {
    /// PyG name.
    pub name: String,
    /// L2 norm of the loss gradient (without weight decay).
    pub grad_norm: f64,
    /// Gradient norm / parameter norm.
    pub ratio: f64,
    /// Norm of the update / parameter norm before it.
    pub update_ratio: f64,
    /// Fraction of gradient entries that are exactly zero.
    pub zero_fraction: f64,
}

/// Looks inside a training run (what `gatgrad diagnose` measures). Every method defaults to
/// doing nothing.
pub trait Observer {
    /// After the training step's forward and backward, before the update: `s` holds the
    /// forward tensors (with this epoch's dropout masks) and the parameter gradients.
    fn after_backward(&mut self, _epoch: usize, _s: &Session<f32>) {}
    /// After each epoch, with its statistics.
    fn on_epoch(&mut self, _stats: &EpochStats) {}
    /// Once, after the last epoch, with the final parameters and evaluation-mode masks in place.
    fn at_end(&mut self, _run: &mut FinalState) {}
}

/// The state of a finished run, with the compiled passes to re-run it (e.g. with another loss
/// mask). Whatever an observer changes here is not used by training any more.
pub struct FinalState<'a> {
    /// The session after the last epoch's evaluation forward.
    pub session: &'a mut Session<f32>,
    /// The generated forward.
    pub forward: fn(&crate::bound::Bound, &mut [Vec<f32>]),
    /// The generated backward (every gradient, not only the parameters').
    pub backward: fn(&crate::bound::Bound, &mut [Vec<f32>]),
    /// The training-mask tensor the loss averages over.
    pub mask: TensorId,
}

/// An [`Observer`] that only sees each epoch's statistics.
pub struct Callback<F>(pub F);

impl<F: FnMut(&EpochStats)> Observer for Callback<F> {
    fn on_epoch(&mut self, stats: &EpochStats) {
        (self.0)(stats)
    }
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct TrainResult {
    /// Epochs run (early stopping may end before the maximum).
    pub epochs: usize,
    /// Best validation accuracy (NaN without validation nodes).
    pub best_val_acc: f64,
    /// Test accuracy at the epoch of best validation accuracy (NaN without test nodes).
    pub test_acc: f64,
    /// Wall time per epoch (one training step and one evaluation forward).
    pub seconds_per_epoch: f64,
    /// Parameters at the best epoch, by PyG name, in PyG shapes.
    pub best_params: Vec<(String, Vec<usize>, Vec<f32>)>,
    /// Every epoch's statistics.
    pub history: Vec<EpochStats>,
}

/// Sizes of the model's free dimensions by their roles (see [`Facts`]): the input's feature
/// width and the class count from the dataset; the heads and channels of every hidden layer
/// instance from `cfg`; the output layer's heads from `cfg.out_heads`, its channels left to the
/// class count (equal to them when the heads are averaged, their product with the heads when
/// concatenated). Keys are the display names of the dimensions' representatives.
fn model_dims(p: &Program, f: &Facts, ds: &Dataset, cfg: &TrainConfig) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    let mut put = |d: DimId, v: usize| {
        out.entry(p.dims[p.dim_root(d).index()].name.clone())
            .or_insert(v);
    };
    if let Some(d) = f.features {
        put(d, ds.num_features);
    }
    if let Some(d) = f.classes {
        put(d, ds.num_classes);
    }
    for (k, layer) in f.layers.iter().enumerate() {
        let last = f.output_layer == Some(k);
        for h in &layer.heads {
            put(*h, if last { cfg.out_heads } else { cfg.heads });
        }
        if !last {
            for c in &layer.channels {
                put(*c, cfg.hidden);
            }
        }
    }
    out
}

/// The fraction of masked nodes whose largest logit is their label; NaN when the mask selects
/// no node. `logits` holds one row of `k` per node (checked before training).
fn accuracy(logits: &[f32], k: usize, y: &[usize], mask: &[bool]) -> f64 {
    if k == 0 {
        return f64::NAN;
    }
    let mut right = 0usize;
    let mut total = 0usize;
    for ((row, &label), _) in logits.chunks_exact(k).zip(y).zip(mask).filter(|(_, &m)| m) {
        let mut best = 0;
        for c in 1..k {
            if row[c] > row[best] {
                best = c;
            }
        }
        right += usize::from(best == label);
        total += 1;
    }
    if total == 0 {
        return f64::NAN;
    }
    right as f64 / total as f64
}

/// Trains `G` (a model with `input x[n, f]`, labels, a train mask and a loss) on `ds`.
/// `on_epoch` sees every epoch's statistics (for progress bars and logs).
pub fn train<G: Generated>(
    ds: &Dataset,
    cfg: &TrainConfig,
    on_epoch: impl FnMut(&EpochStats),
) -> Result<TrainResult, String> {
    train_observed::<G>(ds, cfg, &mut Callback(on_epoch))
}

/// [`train`], with an [`Observer`] that sees inside each epoch.
pub fn train_observed<G: Generated>(
    ds: &Dataset,
    cfg: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<TrainResult, String> {
    cfg.validate()?;
    let p = G::program();
    let facts = gatgrad_codegen::facts::facts(&p);
    let loss_t = p
        .loss
        .ok_or("the model has no loss: add `loss = cross_entropy(out, y, train_mask);`")?;
    let x_t = facts
        .input
        .ok_or("the model needs an input `x[n: node, f: F]`")?;
    let labels_t = facts
        .labels
        .ok_or("the model needs `labels y[n: node] classes K;`")?;
    let mask_t = facts
        .mask
        .ok_or("the model needs `mask train_mask[n: node];`")?;
    let n = ds.num_nodes;
    let f = ds.num_features;
    let k = ds.num_classes;
    let has_val = ds.val_mask.contains(&true);
    if !has_val && cfg.patience != usize::MAX {
        return Err(format!(
            "dataset `{}`: val_mask selects no node, and early stopping needs validation nodes",
            ds.name
        ));
    }
    let mut features = ds.features.clone();
    features.row_normalize();
    let mut data = Data {
        num_nodes: n,
        src: ds.graph.sources().to_vec(),
        dst: ds.graph.targets().to_vec(),
        dims: model_dims(&p, &facts, ds, cfg),
        ..Data::default()
    };
    if let Some(pd) = cfg.dropout {
        for s in &facts.dropout_rates {
            data.consts.insert(p.scalars[s.index()].name.clone(), pd);
        }
    }
    // Only the shape for now: the dense features are made once the run is known to fit.
    data.reals.insert(
        file_name(p.tensor(x_t)),
        Tensor {
            shape: vec![n, f],
            data: Vec::new(),
        },
    );
    data.labels.insert(
        file_name(p.tensor(labels_t)),
        ds.y.iter().map(|v| *v as i64).collect(),
    );
    data.masks
        .insert(file_name(p.tensor(mask_t)), ds.train_mask.clone());
    crate::edge_inputs::bind(&p, ds, &format!("model `{}`", p.name), &mut data)?;
    // Parameters: PyG shapes, Glorot (or the given checkpoint).
    check_output_heads(&p, &facts, ds, cfg)?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let probe_dims = crate::shapes::solve_dims_partial(&p, &data, &[ds.graph.num_edges(); 4])
        .map_err(|e| format!("cannot size the model for `{}`: {e}", ds.name))?;
    // The whole run, before any of it is allocated: the session in f32, the f64 data it is made
    // from, and per parameter element Adam's two f64 moments and the best epoch's f32 copy.
    let footprint = crate::footprint::Footprint::of_generated(
        &p,
        &probe_dims,
        n,
        &crate::footprint::edge_counts(&p, n, ds.graph.num_edges()),
    );
    footprint
        .reserve(
            &p,
            &probe_dims,
            4,
            footprint
                .given
                .saturating_mul(8)
                .saturating_add(footprint.params.saturating_mul(20)),
            &format!("training `{}` on `{}`", p.name, ds.name),
        )
        .map_err(|e| e.to_string())?;
    if let Some(x) = data.reals.get_mut(&file_name(p.tensor(x_t))) {
        x.data = features.to_dense().map_err(|e| e.to_string())?;
    }
    let mut params: Vec<(TensorId, String, Vec<usize>)> = Vec::new();
    for (id, t) in p.tensors.iter().enumerate() {
        if t.role != Role::Param {
            continue;
        }
        let shape: Vec<usize> = match &t.external_shape {
            Some(g) => g
                .iter()
                .map(|g| {
                    g.iter()
                        .map(|d| probe_dims.get(d.index()).copied().unwrap_or(0))
                        .product()
                })
                .collect(),
            None => t
                .dims
                .iter()
                .map(|d| probe_dims.get(d.index()).copied().unwrap_or(0))
                .collect(),
        };
        let values = match cfg.init.as_ref().and_then(|c| c.tensors.get(&t.external)) {
            Some(v) => {
                if v.shape != shape {
                    return Err(format!(
                        "checkpoint `{}`: tensor `{}`: expected shape {shape:?}, found {:?}",
                        cfg.init.as_ref().map_or("", |c| c.name.as_str()),
                        t.external,
                        v.shape
                    ));
                }
                v.data.clone()
            }
            // Missing parameters are reported together below.
            None if cfg.init.is_some() => Vec::new(),
            None => crate::init::initial_values(
                p.init_of(TensorId(id as u32)),
                &shape,
                facts.is_bias(TensorId(id as u32)),
                &mut rng,
            ),
        };
        data.reals.insert(
            file_name(t),
            Tensor {
                shape: shape.clone(),
                data: values,
            },
        );
        params.push((TensorId(id as u32), t.external.clone(), shape));
    }
    if let Some(c) = &cfg.init {
        check_checkpoint(c, &params)?;
    }
    let mut s: Session<f32> =
        Session::new(p.clone(), &data, G::NUM_TENSORS).map_err(|e| e.to_string())?;
    let pattern = Pattern {
        indptr: features.indptr().to_vec(),
        indices: features.indices().to_vec(),
        cols: f,
    };
    s.bound.set_sparse(&p, x_t, pattern);
    check_output_shape(&p, &s, ds)?;
    // Dropout masks: which tensors, their probability, and (for a sparse masked tensor) which
    // entries matter.
    let drops: Vec<(TensorId, f64, Option<TensorId>)> = p
        .tensors
        .iter()
        .enumerate()
        .filter_map(|(id, t)| match t.role {
            Role::Dropout { p: pr } => {
                let prob = p.scalar_value(pr, &s.bound.consts);
                let id = TensorId(id as u32);
                let masked = p
                    .equations
                    .iter()
                    .find(|e| match e.rhs {
                        Rhs::Expr(x) | Rhs::Softmax(x) => {
                            let mut read = Vec::new();
                            p.tensors_read(x, &mut read);
                            read.contains(&id)
                        }
                        _ => false,
                    })
                    .map(|e| e.lhs);
                Some((id, prob, masked))
            }
            _ => None,
        })
        .collect();
    let grads: Vec<(TensorId, TensorId)> = p
        .grads
        .iter()
        .filter(|(l, _)| p.tensor(*l).role == Role::Param)
        .copied()
        .collect();
    let mut adam = Adam::new(
        cfg.lr,
        cfg.weight_decay,
        params.iter().map(|(t, _, _)| s.value(*t).len()),
    );
    let mut best = (f64::NEG_INFINITY, f64::INFINITY);
    let mut result = TrainResult {
        epochs: 0,
        best_val_acc: 0.0,
        test_acc: 0.0,
        seconds_per_epoch: 0.0,
        best_params: Vec::new(),
        history: Vec::new(),
    };
    let mut since_best = 0usize;
    let (mut max_acc, mut min_loss) = (f64::NEG_INFINITY, f64::INFINITY);
    let profiling = std::env::var_os("GATGRAD_PROFILE").is_some();
    crate::exec::set_profiling(profiling);
    let start = Instant::now();
    for epoch in 1..=cfg.epochs {
        // Training step.
        timed("train: dropout masks", || {
            for (stream, (m, prob, masked)) in drops.iter().enumerate() {
                let stream = (epoch as u64) << 8 | stream as u64;
                dropout::fill_train(
                    &mut s.values[m.index()],
                    mask_layout(&p, &s.bound, *m, *masked),
                    *prob,
                    cfg.seed,
                    stream,
                );
            }
        });
        s.forward::<G>();
        let loss = s.value(loss_t)[0] as f64;
        if !loss.is_finite() {
            return Err(format!(
                "epoch {epoch}: the training loss is not finite ({loss})"
            ));
        }
        G::backward_params(&s.bound, &mut s.values);
        observer.after_backward(epoch, &s);
        let t = epoch as i32;
        let mut grad_stats = Vec::new();
        for (k, (pt, name, _)) in params.iter().enumerate() {
            let Some((_, gt)) = grads.iter().find(|(l, _)| l == pt) else {
                continue;
            };
            let g = std::mem::take(&mut s.values[gt.index()]);
            let mut step = Default::default();
            timed("train: adam", || {
                step = adam.step(k, t, &mut s.values[pt.index()], &g);
            });
            grad_stats.push(ParamStats {
                name: name.clone(),
                grad_norm: step.grad_norm,
                ratio: crate::diagnose::metrics::ratio(step.grad_norm, step.param_norm),
                update_ratio: crate::diagnose::metrics::ratio(step.step_norm, step.param_norm),
                zero_fraction: step.zeros as f64 / g.len().max(1) as f64,
            });
            s.values[gt.index()] = g;
        }
        // Evaluation forward (no dropout).
        for (m, _, masked) in &drops {
            dropout::fill_eval(
                &mut s.values[m.index()],
                mask_layout(&p, &s.bound, *m, *masked),
            );
        }
        s.forward::<G>();
        let logits = s.value(p.output);
        let start_metrics = Instant::now();
        let stats = EpochStats {
            epoch,
            loss,
            train_acc: accuracy(logits, k, &ds.y, &ds.train_mask),
            val_acc: accuracy(logits, k, &ds.y, &ds.val_mask),
            test_acc: accuracy(logits, k, &ds.y, &ds.test_mask),
            val_loss: if has_val {
                gatgrad_runtime::kernels::masked_cross_entropy(logits, k, &ds.y, &ds.val_mask)
            } else {
                f64::NAN
            },
            grads: grad_stats,
        };
        observer.on_epoch(&stats);
        crate::exec::record(
            "train: metrics + observer",
            start_metrics.elapsed().as_secs_f64(),
        );
        result.epochs = epoch;
        // Patience as in the GAT paper: training goes on while either the validation accuracy or
        // the validation loss reaches a new best; the reported model is the one with the best
        // validation accuracy (ties: lower validation loss).
        let progress = stats.val_acc >= max_acc || stats.val_loss <= min_loss;
        max_acc = max_acc.max(stats.val_acc);
        min_loss = min_loss.min(stats.val_loss);
        // Without validation nodes (no early stopping) the last epoch is the one reported.
        let improved = !has_val
            || stats.val_acc > best.0
            || (stats.val_acc == best.0 && stats.val_loss < best.1);
        if improved {
            best = (stats.val_acc, stats.val_loss);
            result.best_val_acc = stats.val_acc;
            result.test_acc = stats.test_acc;
            result.best_params = params
                .iter()
                .map(|(t, name, shape)| (name.clone(), shape.clone(), s.value(*t).to_vec()))
                .collect();
        }
        if progress {
            since_best = 0;
        } else {
            since_best += 1;
        }
        result.history.push(stats);
        if since_best >= cfg.patience {
            break;
        }
    }
    result.seconds_per_epoch = start.elapsed().as_secs_f64() / result.epochs.max(1) as f64;
    observer.at_end(&mut FinalState {
        session: &mut s,
        forward: G::forward::<f32>,
        backward: G::backward::<f32>,
        mask: mask_t,
    });
    if profiling {
        for (name, secs) in crate::exec::profile() {
            eprintln!(
                "{name:>28} {:8.3} ms/epoch",
                secs * 1e3 / result.epochs.max(1) as f64
            );
        }
        crate::exec::set_profiling(false);
    }
    Ok(result)
}

/// Errors unless the checkpoint holds every parameter, naming the missing ones (all of them, or
/// saying the file is not a checkpoint for this model when it holds none).
fn check_checkpoint(
    c: &Checkpoint,
    params: &[(TensorId, String, Vec<usize>)],
) -> Result<(), String> {
    let missing: Vec<String> = params
        .iter()
        .filter(|(_, name, _)| !c.tensors.contains_key(name))
        .map(|(_, name, _)| format!("`{name}`"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let total = params.len();
    if missing.len() == total {
        const SHOWN: usize = 8;
        let mut has = c.names[..c.names.len().min(SHOWN)].join(", ");
        if c.names.len() > SHOWN {
            has.push_str(&format!(" and {} more", c.names.len() - SHOWN));
        }
        if c.names.is_empty() {
            has = "nothing".into();
        }
        return Err(format!(
            "`{}` is not a checkpoint for this model: it has none of the model's {total} \
             parameters ({}, ...) but holds {has}; give a file written by `gatgrad train --out`",
            c.name, missing[0]
        ));
    }
    Err(format!(
        "checkpoint `{}` lacks {} of the model's {total} parameters: {}",
        c.name,
        missing.len(),
        missing.join(", ")
    ))
}

/// Errors unless the model's output holds one row of `K` logits per node of the dataset, which
/// accuracy and early stopping read; the message names both shapes.
fn check_output_shape(p: &Program, s: &Session<f32>, ds: &Dataset) -> Result<(), String> {
    let out = p.tensor(p.output);
    let shape = s.bound.shape(p, p.output);
    let per_node = matches!(out.domain, Domain::Node) && shape.first() == Some(&ds.num_nodes);
    let row: usize = shape.iter().skip(1).product();
    if per_node && row == ds.num_classes {
        return Ok(());
    }
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    Err(format!(
        "the model's output `{}` has shape [{}], but training on `{}` needs one row of {} logits \
         (one per class) for each of its {} nodes: [{}, {}]",
        out.name,
        dims.join(", "),
        ds.name,
        ds.num_classes,
        ds.num_nodes,
        ds.num_nodes,
        ds.num_classes
    ))
}

/// Errors unless the output layer's heads can make one logit per class: an output layer that
/// concatenates its heads has `out_heads · C` outputs, so the class count must be a multiple of
/// `out_heads` (with one head, PyG's `concat=False, heads=1`, any count is).
fn check_output_heads(
    p: &Program,
    f: &Facts,
    ds: &Dataset,
    cfg: &TrainConfig,
) -> Result<(), String> {
    let Some(layer) = f.output_layer.map(|k| &f.layers[k]) else {
        return Ok(());
    };
    if layer.concat && !layer.heads.is_empty() && ds.num_classes % cfg.out_heads != 0 {
        return Err(format!(
            "the output layer `{}` concatenates its heads, so `{}`'s {} classes must be a multiple \
             of the {} output heads; set `out_heads` to 1 (one head makes any count)",
            p.tensor(layer.output).name,
            ds.name,
            ds.num_classes,
            cfg.out_heads
        ));
    }
    Ok(())
}

/// How dropout mask `m` is stored: compactly when it masks a tensor with a zero pattern, in
/// target order when it is an edge tensor, densely otherwise.
fn mask_layout<'a>(
    p: &Program,
    bound: &'a crate::bound::Bound,
    m: TensorId,
    masked: Option<TensorId>,
) -> dropout::Layout<'a> {
    if let Some(pattern) = masked.and_then(|t| bound.sparse.get(&t)) {
        return dropout::Layout::Pattern(pattern);
    }
    match p.tensor(m).domain {
        Domain::Edge(g) => dropout::Layout::Edges(bound.edge_origin(g)),
        _ => dropout::Layout::Dense,
    }
}

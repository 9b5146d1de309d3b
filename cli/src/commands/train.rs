//! `gatgrad train`.

use crate::args;
use crate::on_demand;
use crate::source::read_model;
use crate::status::Failure;
use crate::training_report;
use clap::builder::{PathBufValueParser, TypedValueParser};
use gatgrad::extra_model::{CompiledModel, ExtraModel};
use gatgrad::runtime::{OutputPath, TensorFile};
use std::path::PathBuf;

// The flags of `gatgrad train`; its help is the doc comment of `Command::Train`.
#[derive(clap::Args)]
pub struct Args {
    /// The model or layer (`.gat`).
    pub model: PathBuf,
    /// `cora`, `citeseer` (embedded), a safetensors file in the same format
    /// (see data/README.md), or a synthetic task (`dictlookup:k=K`, `sparse:nodes=N,degree=D`).
    #[arg(long, default_value = "cora")]
    pub dataset: String,
    /// Maximum number of epochs (at least 1).
    #[arg(long, default_value_t = 1000, value_parser = args::count, allow_negative_numbers = true)]
    pub epochs: usize,
    /// Seed of initialisation and dropout.
    #[arg(long, default_value_t = 0, value_parser = args::seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// Adam learning rate (greater than 0).
    #[arg(long, default_value_t = 0.005, value_parser = args::learning_rate, allow_negative_numbers = true)]
    pub lr: f64,
    /// L2 weight decay (at least 0; added to the gradient, as torch.optim.Adam).
    #[arg(long, default_value_t = 5e-4, value_parser = args::non_negative, allow_negative_numbers = true)]
    pub weight_decay: f64,
    /// Dropout on inputs, hidden features and attention, in [0, 1) (default: the model's, 0.6).
    #[arg(long, value_parser = args::probability, allow_negative_numbers = true)]
    pub dropout: Option<f64>,
    /// Early-stopping patience (epochs without a better validation accuracy; at least 1).
    #[arg(long, default_value_t = 100, value_parser = args::count, allow_negative_numbers = true)]
    pub patience: usize,
    /// Write the parameters of the best epoch here (PyG state_dict names).
    #[arg(long, value_parser = PathBufValueParser::new().try_map(args::output))]
    pub out: Option<OutputPath>,
    /// Start from these parameters (PyG state_dict names) instead of Glorot initialisation.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Write one JSON line per epoch with every parameter's gradient norm (also when
    /// training stops early on a non-finite loss: the epochs run until then).
    #[arg(long, value_parser = PathBufValueParser::new().try_map(args::output))]
    pub log: Option<OutputPath>,
    /// Threads (default: all cores).
    #[arg(long, value_parser = args::threads, allow_negative_numbers = true)]
    pub threads: Option<usize>,
}

/// Trains the model, writes the checkpoint and prints the gradient table and the result line.
pub fn run(a: Args, extras: &[ExtraModel]) -> Result<(), Failure> {
    if let (Some(o), Some(l)) = (&a.out, &a.log) {
        args::distinct_outputs(&[("--out", o), ("--log", l)]).map_err(Failure::input)?;
    }
    let text = read_model(&a.model)?;
    let resolved = CompiledModel::resolve(extras, &a.model, &text);
    let needed = on_demand::needed(&a.model, resolved)?;
    let ds = crate::dataset::load_checked(&a.dataset, &[(&a.model, &text)])?;
    on_demand::run_compiled(needed.into_iter().collect())?;
    let init = match a.init {
        Some(path) => {
            let f = TensorFile::load(&path).map_err(Failure::input)?;
            Some(gatgrad::train::Checkpoint::from_file(&f).map_err(Failure::input)?)
        }
        None => None,
    };
    let cfg = gatgrad::train::TrainConfig {
        epochs: a.epochs,
        seed: a.seed,
        lr: a.lr,
        weight_decay: a.weight_decay,
        dropout: a.dropout,
        patience: a.patience,
        init,
        ..Default::default()
    };
    let pool = crate::threads::pool(a.threads)?;
    let name = a
        .model
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let model = training_report::Model {
        path: &a.model,
        source: &text,
        extras,
    };
    let result = pool
        .install(|| training_report::train_with_progress(&model, &ds, &cfg, a.log.as_ref()))
        .map_err(Failure::input)?;
    if let Some(path) = a.out {
        let tensors: Vec<_> = result
            .best_params
            .iter()
            .map(|(n, s, v)| {
                (
                    n.clone(),
                    s.clone(),
                    gatgrad::runtime::TensorData::F32(v.clone()),
                )
            })
            .collect();
        gatgrad::runtime::write_tensors_to(&path, &tensors, None).map_err(Failure::input)?;
    }
    eprint!("{}", training_report::gradient_table(&result));
    let line = serde_json::json!({
        "dataset": ds.name,
        "model": name,
        "seed": a.seed,
        "epochs": result.epochs,
        "best_val_acc": result.best_val_acc,
        "test_acc": result.test_acc,
        "seconds_per_epoch": result.seconds_per_epoch,
    });
    println!("{line}");
    Ok(())
}

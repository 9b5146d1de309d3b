//! `gatgrad diagnose`.

use crate::args;
use crate::diagnose_html;
use crate::on_demand;
use crate::source::read_model;
use crate::status::Failure;
use clap::builder::{PathBufValueParser, TypedValueParser};
use gatgrad::diagnose::{output, run};
use gatgrad::extra_model::{CompiledModel, ExtraModel};
use gatgrad::runtime::OutputPath;
use std::path::PathBuf;

// The flags of `gatgrad diagnose`; its help is the doc comment of `Command::Diagnose`.
#[derive(clap::Args)]
pub struct Args {
    /// The models (`.gat`).
    #[arg(required = true)]
    pub models: Vec<PathBuf>,
    /// `cora`, `citeseer`, a safetensors file (data/README.md), or a synthetic task:
    /// `dictlookup:k=K[,train=G,test=G,seed=S]` (Brody et al.'s DictionaryLookup) or
    /// `sparse:nodes=N,degree=D,seed=S`.
    #[arg(long, default_value = "cora")]
    pub dataset: String,
    /// Seeds 0..K for every model (K at most 1000).
    #[arg(long, default_value_t = 3, value_parser = args::seeds, allow_negative_numbers = true)]
    pub seeds: usize,
    /// Epochs per run (every epoch is run: no early stopping). Default: the dataset's, 200 for
    /// cora, citeseer and files, 300 for dictlookup and sparse.
    #[arg(long, value_parser = args::count, allow_negative_numbers = true)]
    pub epochs: Option<usize>,
    /// Where to write the report (created if missing).
    #[arg(long, value_parser = PathBufValueParser::new().try_map(args::folder))]
    pub report: PathBuf,
    /// Nodes whose in-edges to rank, e.g. `--explain 12,305` (default: the 3 test nodes whose
    /// true class gets the lowest probability).
    #[arg(long, value_delimiter = ',')]
    pub explain: Option<Vec<usize>>,
    /// Adam learning rate (greater than 0). Default: the dataset's, 0.005 for cora, citeseer and
    /// files, 0.01 for dictlookup and sparse.
    #[arg(long, value_parser = args::learning_rate, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// L2 weight decay (at least 0). Default: the dataset's, 5e-4 for cora, citeseer and files,
    /// 0 for dictlookup and sparse.
    #[arg(long, value_parser = args::non_negative, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Dropout on inputs, hidden features and attention, in [0, 1). Default: the dataset's, the
    /// model's own (0.6) for cora, citeseer and files, 0 for dictlookup and sparse.
    #[arg(long, value_parser = args::probability, allow_negative_numbers = true)]
    pub dropout: Option<f64>,
    /// Attention heads of the hidden layer.
    #[arg(long, default_value_t = 8, value_parser = args::count, allow_negative_numbers = true)]
    pub heads: usize,
    /// Channels per head of the hidden layer.
    #[arg(long, default_value_t = 8, value_parser = args::count, allow_negative_numbers = true)]
    pub hidden: usize,
    /// Threads (default: all cores).
    #[arg(long, value_parser = args::threads, allow_negative_numbers = true)]
    pub threads: Option<usize>,
}

/// Trains every model with every seed, writes the report folder and prints the summary.
pub fn run(a: Args, extras: &[ExtraModel]) -> Result<(), Failure> {
    let mut files = Vec::new();
    for m in &a.models {
        let source = read_model(m)?;
        files.push(run::ModelFile {
            path: m.display().to_string(),
            source,
        });
    }
    let mut needed = Vec::new();
    for f in &files {
        let path = std::path::Path::new(&f.path);
        let resolved = CompiledModel::resolve(extras, path, &f.source);
        needed.extend(on_demand::needed(path, resolved).map_err(|e| named(&f.path, e))?);
    }
    let models: Vec<(&std::path::Path, &str)> = files
        .iter()
        .map(|f| (std::path::Path::new(&f.path), f.source.as_str()))
        .collect();
    let ds = crate::dataset::load_checked(&a.dataset, &models)?;
    on_demand::run_compiled(needed)?;
    let setup = gatgrad::diagnose::defaults::for_dataset(&a.dataset);
    let epochs = a.epochs.unwrap_or(setup.epochs);
    let report = a.report.clone();
    // A folder this run creates is removed again if the run fails before writing into it.
    let created = !report.exists();
    let result = write_report(a, extras, files, ds, setup, epochs);
    if result.is_err() && created {
        let _ = std::fs::remove_dir(&report);
    }
    result
}

/// Everything after the models and the dataset are read: training, then the report.
fn write_report(
    a: Args,
    extras: &[ExtraModel],
    files: Vec<run::ModelFile>,
    ds: gatgrad::runtime::Dataset,
    setup: gatgrad::diagnose::defaults::Setup,
    epochs: usize,
) -> Result<(), Failure> {
    let report = &a.report;
    std::fs::create_dir_all(report).map_err(|e| {
        Failure::input(format!(
            "--report: cannot create `{}`: {e}",
            report.display()
        ))
    })?;
    // Every file the report consists of, checked before any training.
    let mut outputs = Vec::new();
    for name in output::FILES.iter().chain([&diagnose_html::FILE]) {
        let path = args::output(report.join(name))
            .map_err(|e| Failure::input(format!("--report: {e}")))?;
        outputs.push(path);
    }
    let named: Vec<(&str, &OutputPath)> = outputs.iter().map(|o| ("--report", o)).collect();
    args::distinct_outputs(&named).map_err(Failure::input)?;
    let cfg = run::DiagnoseConfig {
        seeds: a.seeds,
        explain: a.explain,
        train: gatgrad::train::TrainConfig {
            epochs,
            lr: a.lr.unwrap_or(setup.lr),
            weight_decay: a.weight_decay.unwrap_or(setup.weight_decay),
            dropout: a.dropout.or(setup.dropout),
            heads: a.heads,
            hidden: a.hidden,
            patience: usize::MAX,
            ..Default::default()
        },
        ..Default::default()
    };
    let pool = crate::threads::pool(a.threads)?;
    let total = (files.len() as u64)
        .saturating_mul(a.seeds as u64)
        .saturating_mul(epochs as u64);
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let d = pool
        .install(|| {
            run::diagnose_with(&files, extras, &ds, &a.dataset, &cfg, |p| {
                bar.inc(1);
                bar.set_message(format!(
                    "{} seed {} · loss {:.4} train {:.3} val {:.3}",
                    p.model, p.seed, p.stats.loss, p.stats.train_acc, p.stats.val_acc
                ));
            })
        })
        .map_err(Failure::input)?;
    bar.finish_and_clear();
    output::write_data(&d, report).map_err(Failure::input)?;
    let html = report.join(diagnose_html::FILE);
    diagnose_html::write_html(&d, &html).map_err(Failure::input)?;
    print!("{}", output::terminal_summary(&d));
    println!("report: {}", html.display());
    Ok(())
}

/// A failure about one of several model files, naming it (unless its message already does).
fn named(file: &str, f: Failure) -> Failure {
    if f.message.contains(file) {
        f
    } else {
        Failure {
            message: format!("{file}: {}", f.message),
            ..f
        }
    }
}

//! The `gatgrad` command line.

use clap::builder::{PathBufValueParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};
use gatgrad::codegen::print::{Printer, Style};
use gatgrad::runtime::{OutputPath, TensorFile};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

mod args;

/// Symbolic gradients for graph attention.
///
/// Write an attention layer as formulas in a `.gat` file (see docs/language.md and the zoo in
/// models/), then check it, print the derivative of every parameter by the chain rule, or evaluate
/// forward and gradients on a graph from a safetensors file.
#[derive(Parser)]
#[command(name = "gatgrad", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Unicode text.
    Text,
    /// LaTeX math.
    Latex,
}

#[derive(Clone, Copy, ValueEnum)]
enum Dtype {
    /// 64-bit floats.
    F64,
    /// 32-bit floats.
    F32,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check a model; exit status 1 on errors (warnings are printed but pass).
    Check {
        /// The `.gat` file.
        model: PathBuf,
    },
    /// Print the forward equations and the derivative equations of every parameter and input.
    Derive {
        /// The `.gat` file.
        model: PathBuf,
        /// Only the equations needed for the gradient of this parameter or input (its name in the
        /// file, e.g. `W_l`, or its PyG name, e.g. `lin_l.weight`).
        #[arg(long)]
        wrt: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Print the kernel plan: how the generated code evaluates every forward and derivative
    /// equation, kernel by kernel (loop domain, strategy, what is stored, what is prefetched).
    ///
    /// The plan is built by a pipeline of passes; `--after PASS` shows it after that pass, so
    /// each decision can be seen on its own.
    Plan {
        /// The `.gat` file.
        model: PathBuf,
        /// Stop after this pass.
        #[arg(long, value_name = "PASS", value_parser = clap::builder::PossibleValuesParser::new(
            gatgrad::codegen::plan::PASSES.iter().map(|p| clap::builder::PossibleValue::new(p.name).help(p.about))
        ))]
        after: Option<String>,
    },
    /// Evaluate forward and gradients with the reference interpreter on a tensor file.
    ///
    /// The input file holds `x`, `edge_index` (i64 [2, E], row 0 source), `param.<name>` for every
    /// parameter (PyG state_dict names), and `grad_out` (the upstream gradient of the output) or,
    /// for a model with a loss, its labels and mask (e.g. `y`, `train_mask`). The output file gets
    /// `out` (and `loss`), `alpha` with `alpha_edge_index` when the layer declares its attention, and
    /// `grad.<name>` for every parameter and input. Exit status 2 on bad data; no output is written.
    Grad {
        /// The `.gat` file.
        model: PathBuf,
        /// Input tensors (safetensors).
        #[arg(long)]
        inputs: PathBuf,
        /// Where to write the results (safetensors).
        #[arg(long, value_parser = PathBufValueParser::new().try_map(args::output))]
        out: OutputPath,
        /// Override a named constant, e.g. `--set slope=0.1` or `--set conv1.slope=0.1`.
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = args::constant, allow_negative_numbers = true)]
        set: Vec<(String, f64)>,
        /// Size of a dimension the tensors cannot fix, e.g. `--dim H=4` for a layer whose files
        /// store only `[H*C, F]`.
        #[arg(long = "dim", value_name = "NAME=SIZE", value_parser = args::dim)]
        dim: Vec<(String, usize)>,
        /// Precision of the interpreter.
        #[arg(long, value_enum, default_value = "f64")]
        dtype: Dtype,
    },
    /// Train several attention variants on the same data and seeds and report where they learn.
    ///
    /// Each MODEL is a compiled two-layer model or the single layer of one (models/gatv2.gat,
    /// models/gat.gat, models/gat_plus.gat are trained in the GAT paper's two-layer setup). Every
    /// epoch records the loss and accuracies; per parameter the gradient norm, its ratio to the
    /// parameter norm, the update ratio and the fraction of zero gradients; per attention layer
    /// and head the normalised attention entropy (1 = uniform), the mean largest attention
    /// weight, the fraction of score pre-activations in the nonlinearity's flat or negative
    /// region, and the share of gradient reaching the attention parameters. At the end, the
    /// in-edges of the explained nodes are ranked by attention and by gradient saliency
    /// |α · ∂L/∂α|. Writes DIR/report.html (self-contained), DIR/metrics.jsonl,
    /// DIR/summary.json and DIR/edge_importance.csv, and prints a summary with flags (vanishing,
    /// exploding or non-finite gradients, uniform attention, stalled loss,
    /// underfitting; thresholds in the report).
    ///
    /// Example: gatgrad diagnose models/gatv2.gat models/gat_plus.gat --dataset cora --seeds 3
    /// --report out/
    Diagnose {
        /// The models (`.gat`).
        #[arg(required = true)]
        models: Vec<PathBuf>,
        /// `cora`, `citeseer`, a safetensors file (data/README.md), or a synthetic task:
        /// `dictlookup:k=K[,train=G,test=G,seed=S]` (Brody et al.'s DictionaryLookup) or
        /// `sparse:nodes=N,degree=D,seed=S`.
        #[arg(long, default_value = "cora")]
        dataset: String,
        /// Seeds 0..K for every model (K at most 1000).
        #[arg(long, default_value_t = 3, value_parser = args::seeds, allow_negative_numbers = true)]
        seeds: usize,
        /// Epochs per run (every epoch is run: no early stopping).
        #[arg(long, default_value_t = 200, value_parser = args::count, allow_negative_numbers = true)]
        epochs: usize,
        /// Where to write the report (created if missing).
        #[arg(long, value_parser = PathBufValueParser::new().try_map(args::folder))]
        report: PathBuf,
        /// Nodes whose in-edges to rank, e.g. `--explain 12,305` (default: the 3 test nodes whose
        /// true class gets the lowest probability).
        #[arg(long, value_delimiter = ',')]
        explain: Option<Vec<usize>>,
        /// Adam learning rate (greater than 0).
        #[arg(long, default_value_t = 0.005, value_parser = args::learning_rate, allow_negative_numbers = true)]
        lr: f64,
        /// L2 weight decay (at least 0).
        #[arg(long, default_value_t = 5e-4, value_parser = args::non_negative, allow_negative_numbers = true)]
        weight_decay: f64,
        /// Dropout on inputs, hidden features and attention, in [0, 1) (default: the model's, 0.6).
        #[arg(long, value_parser = args::probability, allow_negative_numbers = true)]
        dropout: Option<f64>,
        /// Attention heads of the hidden layer.
        #[arg(long, default_value_t = 8, value_parser = args::count, allow_negative_numbers = true)]
        heads: usize,
        /// Channels per head of the hidden layer.
        #[arg(long, default_value_t = 8, value_parser = args::count, allow_negative_numbers = true)]
        hidden: usize,
        /// Threads (default: all cores).
        #[arg(long, value_parser = args::threads, allow_negative_numbers = true)]
        threads: Option<usize>,
    },
    /// Train a model (full batch) on a citation graph and report test accuracy and gradient flow.
    ///
    /// Runs the generated code of a model compiled into gatgrad (models/gatv2_two_layer.gat,
    /// models/gat_two_layer.gat, models/gat_plus_two_layer.gat, or the single-layer file of one of
    /// them: models/gatv2.gat, models/gat.gat, models/gat_plus.gat): GAT setup with 8 heads × 8
    /// hidden, dropout 0.6, Adam, early
    /// stopping on validation accuracy (patience 100). Prints a progress bar, a table of gradient
    /// norms per parameter, and one JSON line with the result.
    Train {
        /// The model (`.gat`) — one of the compiled zoo models.
        model: PathBuf,
        /// `cora`, `citeseer` (embedded), a safetensors file in the same format
        /// (see data/README.md), or a synthetic task (`dictlookup:k=K`, `sparse:nodes=N,degree=D`).
        #[arg(long, default_value = "cora")]
        dataset: String,
        /// Maximum number of epochs (at least 1).
        #[arg(long, default_value_t = 1000, value_parser = args::count, allow_negative_numbers = true)]
        epochs: usize,
        /// Seed of initialisation and dropout.
        #[arg(long, default_value_t = 0, value_parser = args::seed, allow_negative_numbers = true)]
        seed: u64,
        /// Adam learning rate (greater than 0).
        #[arg(long, default_value_t = 0.005, value_parser = args::learning_rate, allow_negative_numbers = true)]
        lr: f64,
        /// L2 weight decay (at least 0; added to the gradient, as torch.optim.Adam).
        #[arg(long, default_value_t = 5e-4, value_parser = args::non_negative, allow_negative_numbers = true)]
        weight_decay: f64,
        /// Dropout on inputs, hidden features and attention, in [0, 1) (default: the model's, 0.6).
        #[arg(long, value_parser = args::probability, allow_negative_numbers = true)]
        dropout: Option<f64>,
        /// Early-stopping patience (epochs without a better validation accuracy; at least 1).
        #[arg(long, default_value_t = 100, value_parser = args::count, allow_negative_numbers = true)]
        patience: usize,
        /// Write the parameters of the best epoch here (PyG state_dict names).
        #[arg(long, value_parser = PathBufValueParser::new().try_map(args::output))]
        out: Option<OutputPath>,
        /// Start from these parameters (PyG state_dict names) instead of Glorot initialisation.
        #[arg(long)]
        init: Option<PathBuf>,
        /// Write one JSON line per epoch with every parameter's gradient norm (also when
        /// training stops early on a non-finite loss: the epochs run until then).
        #[arg(long, value_parser = PathBufValueParser::new().try_map(args::output))]
        log: Option<OutputPath>,
        /// Threads (default: all cores).
        #[arg(long, value_parser = args::threads, allow_negative_numbers = true)]
        threads: Option<usize>,
    },
    /// Write a seeded uniform random graph as `edge_index` (i64 [2, E], row 0 source).
    GenGraph {
        /// Number of nodes (at least 1).
        #[arg(long, value_parser = args::nodes, allow_negative_numbers = true)]
        nodes: usize,
        /// Number of edges (sources and targets uniform; multi-edges and self loops possible).
        #[arg(long)]
        edges: usize,
        /// Random seed.
        #[arg(long, default_value_t = 0, value_parser = args::seed, allow_negative_numbers = true)]
        seed: u64,
        /// Output file (safetensors).
        #[arg(long, value_parser = PathBufValueParser::new().try_map(args::output))]
        out: OutputPath,
    },
    /// Time forward + backward of a zoo model's generated code; prints one JSON line with the
    /// median `forward_s`, `backward_s`, `total_s` and `peak_rss_mib`. Self loops are added as PyG
    /// does when the model asks for them.
    Bench {
        /// Zoo model compiled into the binary: gatv2, gatv2_shared, gatv2_no_loops, gat,
        /// transformer, agnn, gat_plus.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(gatgrad::bench::MODELS))]
        model: String,
        /// A graph written by `gatgrad gen-graph` (or any file with `edge_index`).
        #[arg(long, conflicts_with_all = ["nodes", "edges"])]
        graph: Option<PathBuf>,
        /// Nodes of a random graph (with --edges).
        #[arg(long, requires = "edges", value_parser = args::nodes, allow_negative_numbers = true)]
        nodes: Option<usize>,
        /// Edges of a random graph (with --nodes).
        #[arg(long, requires = "nodes")]
        edges: Option<usize>,
        /// Input features F.
        #[arg(long, default_value_t = 64, value_parser = args::count, allow_negative_numbers = true)]
        features: usize,
        /// Heads H.
        #[arg(long, default_value_t = 4, value_parser = args::count, allow_negative_numbers = true)]
        heads: usize,
        /// Channels per head C.
        #[arg(long, default_value_t = 16, value_parser = args::count, allow_negative_numbers = true)]
        channels: usize,
        /// Threads (default: all cores).
        #[arg(long, value_parser = args::threads, allow_negative_numbers = true)]
        threads: Option<usize>,
        /// Element type.
        #[arg(long, value_enum, default_value = "f32")]
        dtype: Dtype,
        /// Timed repetitions (after one warm-up); the median is reported.
        #[arg(long, default_value_t = 5, value_parser = args::count, allow_negative_numbers = true)]
        reps: usize,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return argument_error(e),
    };
    match run(cli) {
        Ok(code) => code,
        Err((code, msg)) => {
            eprintln!("{msg}");
            ExitCode::from(code)
        }
    }
}

/// Prints a clap error: help and version as clap does, anything else as one line (its first
/// paragraph, without clap's usage block) with exit status 2.
fn argument_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.render().to_string();
    // The first paragraph says what is wrong; of the rest, only clap's tips are kept.
    let mut paragraphs = text.split("\n\n").map(str::trim);
    let mut parts = vec![paragraphs.next().unwrap_or_default()];
    parts.extend(paragraphs.filter(|p| p.starts_with("tip:")));
    let line: Vec<&str> = parts
        .iter()
        .flat_map(|p| p.lines().map(str::trim))
        .collect();
    let line = line.join(" ").replace(" tip:", "; tip:");
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    if e.kind() == ErrorKind::ValueValidation {
        // Our own value parsers say what to give.
        eprintln!("{line}");
    } else {
        eprintln!("{line} (see --help)");
    }
    ExitCode::from(2)
}

fn compile(path: &std::path::Path) -> Result<gatgrad::Compiled, (u8, String)> {
    // A file that cannot be read is an environment problem (2), not a wrong program (1).
    let loaded = gatgrad::gather_file(path).map_err(|e| (2, e))?;
    gatgrad::compile_gathered(&loaded)
        .map(warned)
        .map_err(|e| (1, e.rendered))
}

/// Reads a model to train (exit status 2 if it cannot be read), checks it (1 on errors) and
/// returns its text.
fn read_model(path: &std::path::Path) -> Result<String, (u8, String)> {
    let loaded = gatgrad::gather_file(path).map_err(|e| (2, e))?;
    gatgrad::compile_gathered(&loaded)
        .map(warned)
        .map_err(|e| (1, e.rendered))?;
    Ok(loaded.source.text)
}

/// Prints a compilation's warnings.
fn warned(c: gatgrad::Compiled) -> gatgrad::Compiled {
    if !c.warnings.is_empty() {
        eprint!("{}", c.warnings);
    }
    c
}

/// A rayon pool with `threads` threads (default: all cores).
fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, (u8, String)> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        pool = pool.num_threads(t);
    }
    pool.build().map_err(|e| {
        let (cores, _) = args::thread_limit();
        let asked = threads.map_or_else(|| format!("{cores}"), |t| t.to_string());
        (
            2,
            format!("cannot start {asked} threads ({e}); this machine has {cores} cores, try fewer --threads"),
        )
    })
}

fn load_dataset(name: &str) -> Result<gatgrad::runtime::Dataset, (u8, String)> {
    let builtin = gatgrad::runtime::Dataset::BUILTIN.contains(&name.to_lowercase().as_str());
    let synthetic = ["dictlookup", "sparse"]
        .iter()
        .any(|k| name == *k || name.starts_with(&format!("{k}:")));
    if synthetic {
        return gatgrad::diagnose::synthetic::parse_spec(name).map_err(|e| (2, e));
    }
    if builtin {
        gatgrad::runtime::Dataset::builtin(name)
    } else if std::path::Path::new(name).exists() {
        gatgrad::runtime::Dataset::load(name)
    } else {
        return Err((
            2,
            format!(
                "unknown dataset `{name}`: use cora, citeseer, dictlookup:k=K, \
                 sparse:nodes=N,degree=D, or the path of a safetensors file"
            ),
        ));
    }
    .map_err(|e| (2, e.to_string()))
}

fn run(cli: Cli) -> Result<ExitCode, (u8, String)> {
    match cli.command {
        Command::Check { model } => {
            let c = compile(&model)?;
            let p = &c.program;
            let params = p
                .leaves()
                .map(|t| p.tensor(t).external.clone())
                .collect::<Vec<_>>()
                .join(", ");
            println!(
                "{}: ok — `{}`, gradients for: {params}",
                model.display(),
                p.name
            );
        }
        Command::Plan { model, after } => {
            let c = compile(&model)?;
            let plan = gatgrad::codegen::plan::Plan::build_until(&c.program, after.as_deref())
                .map_err(|e| (2, e))?;
            print!("{plan}");
        }
        Command::Derive { model, wrt, format } => {
            let c = compile(&model)?;
            let style = match format {
                Format::Text => Style::Text,
                Format::Latex => Style::Latex,
            };
            let pr = Printer::new(&c.program, style);
            match wrt {
                Some(name) => {
                    match pr.backward_for(&name) {
                        Some(s) => print!("{s}"),
                        None => {
                            let names: Vec<String> = c
                                .program
                                .leaves()
                                .map(|t| c.program.tensor(t).name.clone())
                                .collect();
                            return Err((
                            1,
                            format!("`{name}` is not a parameter or input with a gradient (try: {})", names.join(", ")),
                        ));
                        }
                    }
                }
                None => {
                    println!("# forward");
                    print!("{}", pr.forward());
                    println!("\n# backward");
                    print!("{}", pr.backward());
                }
            }
        }
        Command::Grad {
            model,
            inputs,
            out,
            set,
            dim,
            dtype,
        } => {
            let consts = args::unique("--set", &set).map_err(|e| (2, e))?;
            let dims = args::unique("--dim", &dim).map_err(|e| (2, e))?;
            let c = compile(&model)?;
            let file = TensorFile::load(&inputs).map_err(|e| (2, e.to_string()))?;
            let unread = gatgrad::cases::unread_tensors(&c.program, &file);
            if !unread.is_empty() {
                const SHOWN: usize = 20;
                let mut names: Vec<String> = unread
                    .iter()
                    .take(SHOWN)
                    .map(|n| format!("`{n}`"))
                    .collect();
                if unread.len() > SHOWN {
                    names.push(format!("and {} more", unread.len() - SHOWN));
                }
                eprintln!(
                    "warning: {} holds tensors the model does not read, ignored: {}",
                    inputs.display(),
                    names.join(", ")
                );
            }
            let named = match dtype {
                Dtype::F64 => gatgrad::cases::run_case::<f64>(&c.program, &file, &consts, &dims),
                Dtype::F32 => gatgrad::cases::run_case::<f32>(&c.program, &file, &consts, &dims),
            }
            .map_err(|e| (2, e.to_string()))?;
            let tensors = gatgrad::cases::to_file_tensors(named, matches!(dtype, Dtype::F32));
            gatgrad::runtime::write_tensors_to(&out, &tensors, None)
                .map_err(|e| (2, e.to_string()))?;
            println!(
                "wrote {} tensors to {}",
                tensors.len(),
                out.path().display()
            );
        }
        Command::Train {
            model,
            dataset,
            epochs,
            seed,
            lr,
            weight_decay,
            dropout,
            patience,
            out,
            init,
            log,
            threads,
        } => {
            if let (Some(o), Some(l)) = (&out, &log) {
                args::distinct_outputs(&[("--out", o), ("--log", l)]).map_err(|e| (2, e))?;
            }
            let text = read_model(&model)?;
            let ds = load_dataset(&dataset)?;
            let init = match init {
                Some(path) => {
                    let f = TensorFile::load(&path).map_err(|e| (2, e.to_string()))?;
                    Some(
                        gatgrad::train::Checkpoint::from_file(&f)
                            .map_err(|e| (2, e.to_string()))?,
                    )
                }
                None => None,
            };
            let cfg = gatgrad::train::TrainConfig {
                epochs,
                seed,
                lr,
                weight_decay,
                dropout,
                patience,
                init,
                ..Default::default()
            };
            let pool = thread_pool(threads)?;
            let name = model
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let result = pool
                .install(|| gatgrad::report::train_with_progress(&text, &ds, &cfg, log.as_ref()))
                .map_err(|e| (2, e))?;
            if let Some(path) = out {
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
                gatgrad::runtime::write_tensors_to(&path, &tensors, None)
                    .map_err(|e| (2, e.to_string()))?;
            }
            eprint!("{}", gatgrad::report::gradient_table(&result));
            let line = serde_json::json!({
                "dataset": ds.name,
                "model": name,
                "seed": seed,
                "epochs": result.epochs,
                "best_val_acc": result.best_val_acc,
                "test_acc": result.test_acc,
                "seconds_per_epoch": result.seconds_per_epoch,
            });
            println!("{line}");
        }
        Command::Diagnose {
            models,
            dataset,
            seeds,
            epochs,
            report,
            explain,
            lr,
            weight_decay,
            dropout,
            heads,
            hidden,
            threads,
        } => {
            use gatgrad::diagnose::{output, run};
            let mut files = Vec::new();
            for m in &models {
                let source = read_model(m)?;
                files.push(run::ModelFile {
                    path: m.display().to_string(),
                    source,
                });
            }
            let ds = load_dataset(&dataset)?;
            std::fs::create_dir_all(&report).map_err(|e| {
                (
                    2,
                    format!("--report: cannot create `{}`: {e}", report.display()),
                )
            })?;
            // Every file the report consists of, checked before any training.
            let mut outputs = Vec::new();
            for name in output::FILES
                .iter()
                .chain([&gatgrad::diagnose::report::FILE])
            {
                let path =
                    args::output(report.join(name)).map_err(|e| (2, format!("--report: {e}")))?;
                outputs.push(path);
            }
            let named: Vec<(&str, &OutputPath)> = outputs.iter().map(|o| ("--report", o)).collect();
            args::distinct_outputs(&named).map_err(|e| (2, e))?;
            let cfg = run::DiagnoseConfig {
                seeds,
                explain,
                train: gatgrad::train::TrainConfig {
                    epochs,
                    lr,
                    weight_decay,
                    dropout,
                    heads,
                    hidden,
                    patience: usize::MAX,
                    ..Default::default()
                },
                ..Default::default()
            };
            let pool = thread_pool(threads)?;
            let total = (files.len() as u64)
                .saturating_mul(seeds as u64)
                .saturating_mul(epochs as u64);
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} epochs {elapsed} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let d = pool
                .install(|| {
                    run::diagnose(&files, &ds, &dataset, &cfg, |p| {
                        bar.inc(1);
                        bar.set_message(format!(
                            "{} seed {} · loss {:.4} train {:.3} val {:.3}",
                            p.model, p.seed, p.stats.loss, p.stats.train_acc, p.stats.val_acc
                        ));
                    })
                })
                .map_err(|e| (2, e))?;
            bar.finish_and_clear();
            output::write_data(&d, &report).map_err(|e| (2, e))?;
            let html = report.join(gatgrad::diagnose::report::FILE);
            gatgrad::diagnose::report::write_html(&d, &html).map_err(|e| (2, e))?;
            print!("{}", output::terminal_summary(&d));
            println!("report: {}", html.display());
        }
        Command::GenGraph {
            nodes,
            edges,
            seed,
            out,
        } => {
            // The graph, its `edge_index` as i64 and the file's bytes (16 bytes per edge each).
            gatgrad::runtime::reserve_graph(nodes, edges, "gen-graph", 32 * edges as u128)
                .map_err(|e| (2, e.to_string()))?;
            let g = gatgrad::runtime::random_graph(nodes, edges, seed);
            let ei = g.edge_index();
            let mut meta = HashMap::new();
            meta.insert("num_nodes".to_string(), nodes.to_string());
            meta.insert("seed".to_string(), seed.to_string());
            let tensors = vec![(
                "edge_index".to_string(),
                ei.shape.clone(),
                gatgrad::runtime::TensorData::I64(ei.data),
            )];
            gatgrad::runtime::write_tensors_to(&out, &tensors, Some(meta))
                .map_err(|e| (2, e.to_string()))?;
            println!(
                "wrote {} nodes, {} edges to {}",
                nodes,
                edges,
                out.path().display()
            );
        }
        Command::Bench {
            model,
            graph,
            nodes,
            edges,
            features,
            heads,
            channels,
            threads,
            dtype,
            reps,
        } => {
            let g = match (graph, nodes, edges) {
                (Some(path), _, _) => {
                    gatgrad::bench::load_graph(&path).map_err(|e| (2, e.to_string()))?
                }
                (None, Some(n), Some(e)) => {
                    gatgrad::runtime::try_random_graph(n, e, 0, "--nodes/--edges")
                        .map_err(|e| (2, e.to_string()))?
                }
                _ => return Err((2, "give --graph FILE or --nodes N --edges E".into())),
            };
            let pool = thread_pool(threads)?;
            let threads_used = pool.current_num_threads();
            let cfg = gatgrad::bench::BenchConfig {
                features,
                heads,
                channels,
                reps,
            };
            let f32_ = matches!(dtype, Dtype::F32);
            let (fw, bw) = pool
                .install(|| gatgrad::bench::run(&model, &g, &cfg, f32_))
                .map_err(|e| (2, e))?;
            let line = serde_json::json!({
                "model": model,
                "nodes": g.num_nodes(),
                "edges": g.num_edges(),
                "features": features,
                "heads": heads,
                "channels": channels,
                "threads": threads_used,
                "dtype": if f32_ { "f32" } else { "f64" },
                "forward_s": fw,
                "backward_s": bw,
                "total_s": fw + bw,
                "peak_rss_mib": gatgrad::bench::peak_rss_mib(),
            });
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

//! Models compiled outside gatgrad, and finding the compiled model a command runs for a file.
//!
//! `train`, `diagnose` and `bench` run generated code, so they can run only models compiled into
//! the executable: the zoo's ([`Trainable`], [`crate::bench::MODELS`]) and any number of
//! [`ExtraModel`]s — a user's own `.gat` file compiled with `#[derive_gradients]` into an
//! executable that calls `gatgrad_cli::main_with`, or the helper executable the command line
//! builds on first use of a file. A file runs a compiled model when their *programs* are the
//! same ([`gatgrad_codegen::canonical`]: comments, spacing and index-variable names do not
//! matter); [`needed_program`] says which program that is for a file and a command.

use crate::bench::{self, BenchConfig};
use crate::exec::Generated;
use crate::train::{train_observed, Observer, TrainConfig, TrainResult};
use crate::trainable::Trainable;
use gatgrad_grammar::ast::BlockKind;
use gatgrad_runtime::{Dataset, Graph};
use std::fmt;
use std::path::{Path, PathBuf};

/// Trains a model: [`train_observed`] for one compiled model.
type TrainFn = fn(&Dataset, &TrainConfig, &mut dyn Observer) -> Result<TrainResult, String>;
/// Benchmarks a model: [`bench::run_generated`] for one compiled model (`true`: in f32).
type BenchFn = fn(&Graph, &BenchConfig, bool) -> Result<(f64, f64), String>;

/// What a command does with a model's generated code, which decides the program it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// Training (`train`, `diagnose`): a model file as written; a single layer in the GAT
    /// paper's two-layer setup ([`crate::setup::two_layer_setup`]).
    Train,
    /// Timing forward and backward (`bench`): the file's program as written.
    Bench,
}

/// The self-contained program whose generated code `use_` runs for the `.gat` text `source`
/// (gathered with the files it uses), called `name` in messages.
pub fn needed_program(name: &str, source: &str, use_: Use) -> Result<String, String> {
    match use_ {
        Use::Bench => Ok(source.to_string()),
        Use::Train => {
            let has_model = gatgrad_grammar::parse(source)
                .is_ok_and(|f| f.blocks.iter().any(|b| b.kind == BlockKind::Model));
            if has_model {
                Ok(source.to_string())
            } else {
                crate::setup::two_layer_setup(name, source)
            }
        }
    }
}

/// The canonical text of the program `source` compiles to, if it compiles.
pub fn canonical(source: &str) -> Option<String> {
    crate::compile("model", source)
        .ok()
        .map(|c| gatgrad_codegen::canonical::canonical_text(&c.program))
}

/// A model compiled outside gatgrad, and the `.gat` file it was built from.
#[derive(Clone, Debug)]
pub struct ExtraModel {
    file: PathBuf,
    source: &'static str,
    canonical: Option<String>,
    train: TrainFn,
    bench: BenchFn,
}

impl ExtraModel {
    /// The generated model `M`, built from the `.gat` file at `file`.
    pub fn new<M: Generated>(file: impl Into<PathBuf>) -> ExtraModel {
        ExtraModel {
            file: file.into(),
            source: M::SOURCE,
            canonical: canonical(M::SOURCE),
            train: train_observed::<M>,
            bench: bench::run_generated::<M>,
        }
    }

    /// The program text it was generated from.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// The file it was built from, as given to [`ExtraModel::new`].
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Whether `path` names the file it was built from: the same path, or the same file once
    /// both are resolved (symlinks, `..`).
    pub fn is_for(&self, path: &Path) -> bool {
        if path == self.file {
            return true;
        }
        match (path.canonicalize(), self.file.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }

    /// Whether its program is the one whose canonical text is `canonical`.
    pub fn runs(&self, canonical: &str) -> bool {
        self.canonical.as_deref() == Some(canonical)
    }

    /// Refuses a file whose text `source` is not the text the model was built from: its
    /// generated code would compute another model than the file says.
    pub fn check_source(&self, source: &str) -> Result<(), String> {
        if source == self.source || canonical(source).is_some_and(|c| self.runs(&c)) {
            Ok(())
        } else {
            Err(format!(
                "this file changed since the executable's compiled model was built from it; \
                 rebuild the executable (`{}`)",
                self.file.display()
            ))
        }
    }

    /// Trains it, as [`train_observed`].
    pub fn train(
        &self,
        ds: &Dataset,
        cfg: &TrainConfig,
        observer: &mut dyn Observer,
    ) -> Result<TrainResult, String> {
        (self.train)(ds, cfg, observer)
    }

    /// Benchmarks it, as [`bench::run`]; `f32_` selects f32 over f64.
    pub fn bench(
        &self,
        graph: &Graph,
        cfg: &BenchConfig,
        f32_: bool,
    ) -> Result<(f64, f64), String> {
        (self.bench)(graph, cfg, f32_)
    }
}

/// Why no compiled model was found for a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unresolved {
    /// The file is a valid program that this executable has no generated code for; `program`
    /// is the self-contained program to compile ([`needed_program`]).
    NotCompiled {
        /// The program's text.
        program: String,
    },
    /// The file cannot run (it does not compile, or a single layer lacks what the two-layer
    /// setup needs, or it changed since an extra model was built from it).
    Invalid(String),
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unresolved::NotCompiled { .. } => write!(
                f,
                "this executable has no generated code for this program; `gatgrad` builds it on \
                 first use, or compile it into your crate with #[derive_gradients]"
            ),
            Unresolved::Invalid(e) => f.write_str(e),
        }
    }
}

impl From<Unresolved> for String {
    fn from(u: Unresolved) -> String {
        u.to_string()
    }
}

/// A model whose generated code the running executable holds.
#[derive(Clone, Copy, Debug)]
pub enum CompiledModel<'a> {
    /// One of the zoo's trainable models.
    Zoo(Trainable),
    /// One of the executable's extra models.
    Extra(&'a ExtraModel),
}

impl<'a> CompiledModel<'a> {
    /// The compiled model to train for the `.gat` file at `path` whose gathered text is
    /// `source`: the zoo model it matches ([`Trainable::resolve`]), else the extra model that
    /// runs its program ([`needed_program`] with [`Use::Train`]). An extra model built from this
    /// very file that no longer matches it is an error (the file was edited).
    pub fn resolve(
        extras: &'a [ExtraModel],
        path: &Path,
        source: &str,
    ) -> Result<CompiledModel<'a>, Unresolved> {
        if let Ok(t) = Trainable::resolve(source) {
            return Ok(CompiledModel::Zoo(t));
        }
        let name = path.display().to_string();
        let program = needed_program(&name, source, Use::Train).map_err(Unresolved::Invalid)?;
        find_extra(extras, path, source, &program).map(CompiledModel::Extra)
    }

    /// Trains it.
    pub fn train(
        self,
        ds: &Dataset,
        cfg: &TrainConfig,
        observer: &mut dyn Observer,
    ) -> Result<TrainResult, String> {
        match self {
            CompiledModel::Zoo(t) => t.train(ds, cfg, observer),
            CompiledModel::Extra(x) => x.train(ds, cfg, observer),
        }
    }
}

/// A model to benchmark.
#[derive(Clone, Copy, Debug)]
pub enum BenchModel<'a> {
    /// A zoo model, by its name in [`bench::MODELS`].
    Zoo(&'static str),
    /// One of the executable's extra models.
    Extra(&'a ExtraModel),
}

impl<'a> BenchModel<'a> {
    /// The model to benchmark for `--model`'s value: a zoo name, or a `.gat` file (gathered text
    /// `source`) whose program is a zoo model's or an extra model's.
    pub fn resolve(
        extras: &'a [ExtraModel],
        path: &Path,
        source: &str,
    ) -> Result<BenchModel<'a>, Unresolved> {
        let Some(canon) = canonical(source) else {
            let name = path.display().to_string();
            return Err(Unresolved::Invalid(
                crate::compile(&name, source)
                    .err()
                    .map(|e| e.rendered)
                    .unwrap_or_default(),
            ));
        };
        if let Some(name) = bench::zoo_model_of(&canon) {
            return Ok(BenchModel::Zoo(name));
        }
        find_extra(extras, path, source, source).map(BenchModel::Extra)
    }

    /// The program text it was generated from.
    pub fn source(self) -> &'static str {
        match self {
            BenchModel::Zoo(name) => bench::zoo_source(name).unwrap_or_default(),
            BenchModel::Extra(x) => x.source(),
        }
    }

    /// Times it, as [`bench::run`].
    pub fn bench(self, graph: &Graph, cfg: &BenchConfig, f32_: bool) -> Result<(f64, f64), String> {
        match self {
            BenchModel::Zoo(name) => bench::run(name, graph, cfg, f32_),
            BenchModel::Extra(x) => x.bench(graph, cfg, f32_),
        }
    }
}

/// The extra model that runs `program` (needed for the file at `path` with text `source`).
fn find_extra<'a>(
    extras: &'a [ExtraModel],
    path: &Path,
    source: &str,
    program: &str,
) -> Result<&'a ExtraModel, Unresolved> {
    let canon = canonical(program).ok_or_else(|| {
        Unresolved::Invalid(format!(
            "{}: the program built from this file does not compile: a gatgrad bug",
            path.display()
        ))
    })?;
    if let Some(x) = extras.iter().find(|x| x.runs(&canon)) {
        return Ok(x);
    }
    if let Some(x) = extras.iter().find(|x| x.is_for(path)) {
        x.check_source(source).map_err(Unresolved::Invalid)?;
    }
    Err(Unresolved::NotCompiled {
        program: program.to_string(),
    })
}

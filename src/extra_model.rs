//! One more compiled model, added by an executable built outside gatgrad.
//!
//! `train`, `diagnose` and `bench` run generated code, so they can run only models compiled into
//! the executable: the zoo's, matched by [`Trainable`], and at most one [`ExtraModel`] — for
//! example a user's own `.gat` file, compiled with `#[derive_gradients]` into an executable that
//! calls `gatgrad_cli::main_with`. The extra model is used for the file it was built from, and
//! only while that file still holds the text it was built from.

use crate::bench::{self, BenchConfig};
use crate::exec::Generated;
use crate::train::{train_observed, Observer, TrainConfig, TrainResult};
use crate::trainable::Trainable;
use gatgrad_runtime::{Dataset, Graph};
use std::path::{Path, PathBuf};

/// Trains a model: [`train_observed`] for one compiled model.
type TrainFn = fn(&Dataset, &TrainConfig, &mut dyn Observer) -> Result<TrainResult, String>;
/// Benchmarks a model: [`bench::run_generated`] for one compiled model (`true`: in f32).
type BenchFn = fn(&Graph, &BenchConfig, bool) -> Result<(f64, f64), String>;

/// A model compiled outside gatgrad, and the `.gat` file it was built from.
#[derive(Clone, Debug)]
pub struct ExtraModel {
    file: PathBuf,
    source: &'static str,
    train: TrainFn,
    bench: BenchFn,
}

impl ExtraModel {
    /// The generated model `M`, built from the `.gat` file at `file`.
    pub fn new<M: Generated>(file: impl Into<PathBuf>) -> ExtraModel {
        ExtraModel {
            file: file.into(),
            source: M::SOURCE,
            train: train_observed::<M>,
            bench: bench::run_generated::<M>,
        }
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

    /// Refuses a file whose text `source` is not the text the model was built from: its
    /// generated code would compute another model than the file says.
    pub fn check_source(&self, source: &str) -> Result<(), String> {
        if source == self.source {
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

/// A model whose generated code the running executable holds.
#[derive(Clone, Copy, Debug)]
pub enum CompiledModel<'a> {
    /// One of the zoo's trainable models.
    Zoo(Trainable),
    /// The executable's extra model.
    Extra(&'a ExtraModel),
}

impl<'a> CompiledModel<'a> {
    /// The compiled model for the `.gat` file at `path` whose text is `source`: the extra model
    /// if it was built from this file (an error if the file changed since), else the zoo model
    /// the text matches ([`Trainable::resolve`]).
    pub fn resolve(
        extra: Option<&'a ExtraModel>,
        path: &Path,
        source: &str,
    ) -> Result<CompiledModel<'a>, String> {
        match extra {
            Some(x) if x.is_for(path) => x.check_source(source).map(|()| CompiledModel::Extra(x)),
            _ => Trainable::resolve(source).map(CompiledModel::Zoo),
        }
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

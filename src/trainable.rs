//! The models `gatgrad train` and `gatgrad diagnose` can run: generated code is compiled into the
//! binary, so a `.gat` file is matched against the compiled zoo. A two-layer model file matches
//! itself; a single-layer file (`models/gatv2.gat`) matches the two-layer model built from the
//! same layer, in the GAT paper's setup.

use crate::exec::Generated;
use crate::extra_model::canonical;
use crate::train::{Observer, TrainConfig, TrainResult};
use crate::zoo::{GatPlusTwoLayer, GatTwoLayer, GatV2TwoLayer};
use gatgrad_runtime::Dataset;

/// A trainable model compiled into gatgrad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trainable {
    /// `models/gatv2_two_layer.gat`.
    GatV2,
    /// `models/gat_two_layer.gat`.
    Gat,
    /// `models/gat_plus_two_layer.gat`.
    GatPlus,
}

impl Trainable {
    /// Every compiled model.
    pub const ALL: [Trainable; 3] = [Trainable::GatV2, Trainable::Gat, Trainable::GatPlus];

    /// The model file it was generated from.
    pub fn file(self) -> &'static str {
        match self {
            Trainable::GatV2 => "models/gatv2_two_layer.gat",
            Trainable::Gat => "models/gat_two_layer.gat",
            Trainable::GatPlus => "models/gat_plus_two_layer.gat",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Trainable::GatV2 => GatV2TwoLayer::SOURCE,
            Trainable::Gat => GatTwoLayer::SOURCE,
            Trainable::GatPlus => GatPlusTwoLayer::SOURCE,
        }
    }

    /// The compiled model for a `.gat` source: the two-layer model itself, or the two-layer model
    /// whose first layer is the file's only layer. Programs are compared, not texts (see
    /// [`gatgrad_codegen::canonical`]): comments, spacing and the names of index variables do not
    /// matter, every equation, constant, declaration and name does.
    pub fn resolve(source: &str) -> Result<Trainable, String> {
        let refused = || {
            let files: Vec<&str> = Trainable::ALL.iter().map(|t| t.file()).collect();
            format!(
                "this file is not one of the models compiled into gatgrad ({}), nor the single layer \
                 of one of them (models/gatv2.gat, models/gat.gat, models/gat_plus.gat). Generated \
                 code is compiled: for your own model, use #[derive_gradients] in your crate and \
                 gatgrad::train::train.",
                files.join(", ")
            )
        };
        let Some(canon) = canonical(source) else {
            return Err(refused());
        };
        if let Some(t) = Trainable::ALL
            .iter()
            .find(|t| canonical(t.source()).as_ref() == Some(&canon))
        {
            return Ok(*t);
        }
        let single_layer = gatgrad_grammar::parse(source).is_ok_and(|f| {
            f.blocks.len() == 1 && f.blocks[0].kind == gatgrad_grammar::ast::BlockKind::Layer
        });
        if single_layer {
            let found = Trainable::ALL.iter().find(|t| {
                first_layer(t.source()).and_then(|l| canonical(&l)) == Some(canon.clone())
            });
            if let Some(t) = found {
                return Ok(*t);
            }
        }
        Err(refused())
    }

    /// Trains it.
    pub fn train(
        self,
        ds: &Dataset,
        cfg: &TrainConfig,
        observer: &mut dyn Observer,
    ) -> Result<TrainResult, String> {
        train_compiled(self, ds, cfg, observer)
    }
}

/// [`Trainable::train`].
#[cfg(feature = "zoo")]
fn train_compiled(
    t: Trainable,
    ds: &Dataset,
    cfg: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<TrainResult, String> {
    use crate::train::train_observed;
    match t {
        Trainable::GatV2 => train_observed::<GatV2TwoLayer>(ds, cfg, observer),
        Trainable::Gat => train_observed::<GatTwoLayer>(ds, cfg, observer),
        Trainable::GatPlus => train_observed::<GatPlusTwoLayer>(ds, cfg, observer),
    }
}

/// [`Trainable::train`] in a build without the zoo's generated code (feature `zoo` off).
#[cfg(not(feature = "zoo"))]
fn train_compiled(
    t: Trainable,
    _: &Dataset,
    _: &TrainConfig,
    _: &mut dyn Observer,
) -> Result<TrainResult, String> {
    Err(crate::bench::no_zoo(t.file()))
}

/// The text of the first `layer` block of a source (the layer `conv1` of the zoo's two-layer
/// models).
fn first_layer(source: &str) -> Option<String> {
    let file = gatgrad_grammar::parse(source).ok()?;
    let b = file
        .blocks
        .iter()
        .find(|b| b.kind == gatgrad_grammar::ast::BlockKind::Layer)?;
    Some(source[b.span.start..b.span.end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &str) -> String {
        let full = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
        gatgrad::gather_file(&full).unwrap().source.text
    }

    #[test]
    fn layer_files_resolve_to_their_two_layer_models() {
        assert_eq!(
            Trainable::resolve(&read("models/gatv2.gat")),
            Ok(Trainable::GatV2)
        );
        assert_eq!(
            Trainable::resolve(&read("models/gat.gat")),
            Ok(Trainable::Gat)
        );
        assert_eq!(
            Trainable::resolve(&read("models/gat_plus.gat")),
            Ok(Trainable::GatPlus)
        );
        for t in Trainable::ALL {
            assert_eq!(Trainable::resolve(&read(t.file())), Ok(t));
        }
    }

    #[test]
    fn other_layers_are_refused_with_a_hint() {
        let e = Trainable::resolve(&read("models/agnn.gat")).unwrap_err();
        assert!(e.contains("derive_gradients"), "{e}");
        let edited = read("models/gatv2.gat").replace("slope = 0.2", "slope = 0.1");
        assert!(Trainable::resolve(&edited).is_err());
        let renamed = read("models/gatv2.gat").replace("\"att\"", "\"attention\"");
        assert!(Trainable::resolve(&renamed).is_err());
    }

    #[test]
    fn spacing_comments_and_index_names_do_not_matter() {
        let text = read("models/gatv2.gat");
        let respaced: String = text
            .lines()
            .filter(|l| !l.starts_with("//"))
            .map(|l| format!("  {}   // a note\n\n", l.replace(", ", " ,\t")))
            .collect();
        assert_eq!(Trainable::resolve(&respaced), Ok(Trainable::GatV2));
        let reindexed = text.replace(
            "xl[n, h, c] = sum_f W_l[h, c, f] * x[n, f] + b_l[h, c];",
            "xl[v, k, q] = sum_g W_l[k, q, g] * x[v, g] + b_l[k, q];",
        );
        assert_ne!(reindexed, text);
        assert_eq!(Trainable::resolve(&reindexed), Ok(Trainable::GatV2));
        let two = read("models/gat_two_layer.gat").replace("    ", "\t");
        assert_eq!(Trainable::resolve(&two), Ok(Trainable::Gat));
    }
}

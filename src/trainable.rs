//! The models `gatgrad train` and `gatgrad diagnose` can run: generated code is compiled into the
//! binary, so a `.gat` file is matched against the compiled zoo. A two-layer model file matches
//! itself; a single-layer file (`models/gatv2.gat`) matches the two-layer model built from the
//! same layer, in the GAT paper's setup.

use crate::exec::Generated;
use crate::train::{train_observed, Observer, TrainConfig, TrainResult};
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
    /// whose first layer is the file's only layer (comments and spacing ignored).
    pub fn resolve(source: &str) -> Result<Trainable, String> {
        if let Some(t) = Trainable::ALL.iter().find(|t| t.source() == source) {
            return Ok(*t);
        }
        let (blocks, has_model) = layer_blocks(source);
        if let ([layer], false) = (blocks.as_slice(), has_model) {
            let found = Trainable::ALL
                .iter()
                .find(|t| layer_blocks(t.source()).0.first() == Some(layer));
            if let Some(t) = found {
                return Ok(*t);
            }
        }
        let files: Vec<&str> = Trainable::ALL.iter().map(|t| t.file()).collect();
        Err(format!(
            "this file is not one of the models compiled into gatgrad ({}), nor the single layer of \
             one of them (models/gatv2.gat, models/gat.gat, models/gat_plus.gat). Generated code is \
             compiled: for your own model, use #[derive_gradients] in your crate and \
             gatgrad::train::train.",
            files.join(", ")
        ))
    }

    /// Trains it.
    pub fn train(
        self,
        ds: &Dataset,
        cfg: &TrainConfig,
        observer: &mut dyn Observer,
    ) -> Result<TrainResult, String> {
        match self {
            Trainable::GatV2 => train_observed::<GatV2TwoLayer>(ds, cfg, observer),
            Trainable::Gat => train_observed::<GatTwoLayer>(ds, cfg, observer),
            Trainable::GatPlus => train_observed::<GatPlusTwoLayer>(ds, cfg, observer),
        }
    }
}

/// The `layer` blocks of a source, without comments and with spacing collapsed, and whether it
/// also has a `model` block.
fn layer_blocks(source: &str) -> (Vec<String>, bool) {
    let text: String = source
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    let has_model = joined.starts_with("model ") || joined.contains("} model ");
    let mut out = Vec::new();
    let mut rest = joined.as_str();
    while let Some(start) = rest.find("layer ") {
        let block = &rest[start..];
        let mut depth = 0usize;
        let mut end = None;
        for (k, ch) in block.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = Some(k + 1);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        out.push(block[..end].to_string());
        rest = &block[end..];
    }
    (out, has_model)
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
    }
}

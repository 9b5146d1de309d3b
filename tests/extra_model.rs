//! The extension point for one more compiled model: which files it is used for, and that a
//! changed file is refused instead of running generated code of another model.

use gatgrad::exec::Generated;
use gatgrad::extra_model::{CompiledModel, ExtraModel};
use gatgrad::trainable::Trainable;
use gatgrad::zoo::GatPlusTwoLayer;
use std::path::Path;

const FILE: &str = "models/gat_plus_two_layer.gat";

fn root(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn the_extra_model_is_used_for_its_own_file_only() {
    let extra = ExtraModel::new::<GatPlusTwoLayer>(root(FILE));
    let source = GatPlusTwoLayer::SOURCE;
    // Its file, also through another spelling of the same path.
    for path in [root(FILE), root("models/../models/gat_plus_two_layer.gat")] {
        assert!(extra.is_for(&path), "{}", path.display());
        let m = CompiledModel::resolve(Some(&extra), &path, source).unwrap();
        assert!(matches!(m, CompiledModel::Extra(_)), "{m:?}");
    }
    // Another file with the same text is the zoo's model, as without an extra model.
    let other = root("models/gatv2_two_layer.gat");
    assert!(!extra.is_for(&other));
    let m = CompiledModel::resolve(Some(&extra), &other, source).unwrap();
    assert!(matches!(m, CompiledModel::Zoo(Trainable::GatPlus)), "{m:?}");
    let m = CompiledModel::resolve(None, &root(FILE), source).unwrap();
    assert!(matches!(m, CompiledModel::Zoo(Trainable::GatPlus)), "{m:?}");
}

#[test]
fn a_file_changed_since_the_build_is_refused() {
    let extra = ExtraModel::new::<GatPlusTwoLayer>(root(FILE));
    let edited = GatPlusTwoLayer::SOURCE.replace("softplus", "sigmoid");
    assert_ne!(edited, GatPlusTwoLayer::SOURCE);
    let e = CompiledModel::resolve(Some(&extra), &root(FILE), &edited).unwrap_err();
    assert!(e.contains("changed since") && e.contains("rebuild"), "{e}");
}

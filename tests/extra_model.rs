//! Models compiled outside gatgrad: a file runs one when their programs are the same (not their
//! texts or paths), the zoo keeps its own files, a file with no compiled model says which program
//! to build, and a file edited since its extra model was built is refused.

use gatgrad::exec::Generated;
use gatgrad::extra_model::{
    canonical, needed_program, BenchModel, CompiledModel, ExtraModel, Unresolved, Use,
};
use gatgrad::trainable::Trainable;
use std::path::{Path, PathBuf};

const TANH: &str = "cli/examples/gatv2_tanh_two_layer.gat";

/// A two-layer model that is not in the zoo.
#[gatgrad::derive_gradients(file = "cli/examples/gatv2_tanh_two_layer.gat")]
struct GatV2Tanh;

fn root(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    gatgrad::gather_file(&root(path)).unwrap().source.text
}

#[test]
fn an_extra_model_runs_every_file_of_its_program() {
    let extras = [ExtraModel::new::<GatV2Tanh>(root(TANH))];
    let m = CompiledModel::resolve(&extras, &root(TANH), GatV2Tanh::SOURCE).unwrap();
    assert!(matches!(m, CompiledModel::Extra(_)), "{m:?}");
    // Another file, other comments and spacing: the same program.
    let respelled = format!(
        "// my copy\n{}",
        GatV2Tanh::SOURCE
            .replace("    ", "\t")
            .replace("// ", "//  ")
    );
    assert_ne!(respelled, GatV2Tanh::SOURCE);
    let m = CompiledModel::resolve(&extras, Path::new("elsewhere/copy.gat"), &respelled).unwrap();
    assert!(matches!(m, CompiledModel::Extra(_)), "{m:?}");
    // Without it, the same file is a program to build: the file as written.
    let e = CompiledModel::resolve(&[], &root(TANH), &respelled).unwrap_err();
    let Unresolved::NotCompiled { program } = e else {
        panic!("{e:?}")
    };
    assert_eq!(canonical(&program), canonical(GatV2Tanh::SOURCE));
}

#[test]
fn the_zoo_keeps_its_files_whatever_extra_models_there_are() {
    let extras = [ExtraModel::new::<GatV2Tanh>(root(TANH))];
    for (file, t) in [
        ("models/gatv2_two_layer.gat", Trainable::GatV2),
        ("models/gat.gat", Trainable::Gat),
    ] {
        let m = CompiledModel::resolve(&extras, &root(file), &read(file)).unwrap();
        assert!(
            matches!(m, CompiledModel::Zoo(z) if z == t),
            "{file}: {m:?}"
        );
    }
    let m = BenchModel::resolve(&extras, &root("models/agnn.gat"), &read("models/agnn.gat"));
    assert!(matches!(m, Ok(BenchModel::Zoo("agnn"))), "{m:?}");
}

#[test]
fn a_single_layer_needs_its_two_layer_setup_to_train_and_itself_to_bench() {
    let layer = read("models/gatv2.gat").replace(
        "leaky_relu(z[i <- j, h, c], slope)",
        "tanh(z[i <- j, h, c])",
    );
    assert!(
        layer.contains("tanh("),
        "the zoo's GATv2 changed its score line"
    );
    let train = needed_program("layer.gat", &layer, Use::Train).unwrap();
    assert!(
        train.contains("model ") && train.contains("conv2:"),
        "{train}"
    );
    assert_eq!(
        needed_program("layer.gat", &layer, Use::Bench).unwrap(),
        layer
    );
    let e = CompiledModel::resolve(&[], Path::new("layer.gat"), &layer).unwrap_err();
    assert_eq!(e, Unresolved::NotCompiled { program: train });
    let e = BenchModel::resolve(&[], Path::new("layer.gat"), &layer).unwrap_err();
    assert_eq!(e, Unresolved::NotCompiled { program: layer });
}

#[test]
fn a_file_changed_since_its_extra_model_was_built_is_refused() {
    let extras = [ExtraModel::new::<GatV2Tanh>(root(TANH))];
    let edited = GatV2Tanh::SOURCE.replace("tanh(z", "sigmoid(z");
    assert_ne!(edited, GatV2Tanh::SOURCE);
    let e = CompiledModel::resolve(&extras, &root(TANH), &edited).unwrap_err();
    let e = e.to_string();
    assert!(e.contains("changed since") && e.contains("rebuild"), "{e}");
}

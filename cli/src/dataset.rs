//! The `--dataset` of `train` and `diagnose`: a built-in citation graph, a synthetic task or a
//! file.

use crate::status::Failure;
use gatgrad::runtime::Dataset;

/// Loads the dataset `name` names (exit status 2 for an unknown name or bad data).
pub fn load(name: &str) -> Result<Dataset, Failure> {
    let builtin = Dataset::BUILTIN.contains(&name.to_lowercase().as_str());
    let synthetic = ["dictlookup", "sparse"]
        .iter()
        .any(|k| name == *k || name.starts_with(&format!("{k}:")));
    if synthetic {
        return gatgrad::diagnose::synthetic::parse_spec(name).map_err(Failure::input);
    }
    if builtin {
        Dataset::builtin(name)
    } else if std::path::Path::new(name).exists() {
        Dataset::load(name)
    } else {
        return Err(Failure::input(format!(
            "unknown dataset `{name}`: use cora, citeseer, dictlookup:k=K, \
             sparse:nodes=N,degree=D, or the path of a safetensors file"
        )));
    }
    .map_err(Failure::input)
}

/// Loads the dataset `name` and checks that it has what `models` need (edge features), before
/// any generated code is built for them, so that an unknown or bad dataset, or one without
/// `edge_attr`, is refused in one line at once. `models` are the files with their gathered text.
pub fn load_checked(name: &str, models: &[(&std::path::Path, &str)]) -> Result<Dataset, Failure> {
    let ds = load(name)?;
    for (path, source) in models {
        let file = path.display().to_string();
        // A file that cannot run is reported where it is resolved.
        let Ok(program) =
            gatgrad::extra_model::needed_program(&file, source, gatgrad::extra_model::Use::Train)
        else {
            continue;
        };
        let Ok(compiled) = gatgrad::compile(&file, &program) else {
            continue;
        };
        let p = &compiled.program;
        if !gatgrad::edge_inputs::edge_inputs(p).is_empty() {
            gatgrad::edge_inputs::check(p, &ds, &file).map_err(Failure::input)?;
        }
    }
    Ok(ds)
}

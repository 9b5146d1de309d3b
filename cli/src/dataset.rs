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

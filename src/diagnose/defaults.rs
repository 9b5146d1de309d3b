//! The training setup each kind of dataset runs with when no flag says otherwise, as one table.
//!
//! The citation graphs use the GAT paper's setup (Adam, lr 0.005, weight decay 5e-4, the model's
//! dropout of 0.6). The synthetic lookup tasks are Brody et al.'s (ICLR 2022) DictionaryLookup:
//! there is nothing to regularise and the answer must be learned exactly, so they train without
//! dropout or weight decay at a larger learning rate, for longer. With that setup GATv2 fits the
//! task and GAT's static attention cannot, which is the point of the benchmark.

/// Defaults of one kind of dataset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setup {
    /// The dataset kind: `cora`, `citeseer`, `dictlookup`, `sparse` or `file`.
    pub kind: &'static str,
    /// Epochs of each `diagnose` run.
    pub epochs: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// Dropout on inputs, hidden features and attention; `None` keeps the model's own.
    pub dropout: Option<f64>,
}

/// One row per dataset kind; the last row (`file`) is used for anything else.
pub const TABLE: [Setup; 5] = [
    CITATION.with_kind("cora"),
    CITATION.with_kind("citeseer"),
    LOOKUP.with_kind("dictlookup"),
    LOOKUP.with_kind("sparse"),
    CITATION.with_kind("file"),
];

const CITATION: Setup = Setup {
    kind: "",
    epochs: 200,
    lr: 0.005,
    weight_decay: 5e-4,
    dropout: None,
};

const LOOKUP: Setup = Setup {
    kind: "",
    epochs: 300,
    lr: 0.01,
    weight_decay: 0.0,
    dropout: Some(0.0),
};

impl Setup {
    const fn with_kind(self, kind: &'static str) -> Setup {
        Setup { kind, ..self }
    }
}

/// The setup of a `--dataset` value (`cora`, `dictlookup:k=10`, `data/my.safetensors`, ...).
pub fn for_dataset(spec: &str) -> Setup {
    let kind = spec.split(':').next().unwrap_or("").to_ascii_lowercase();
    TABLE
        .iter()
        .find(|s| s.kind == kind)
        .copied()
        .unwrap_or(TABLE[TABLE.len() - 1])
}

/// The table as text, one line per kind (for `--help` and the docs).
pub fn describe() -> String {
    let mut out = String::new();
    for s in TABLE {
        let dropout = match s.dropout {
            Some(p) => format!("{p}"),
            None => "the model's".to_string(),
        };
        out.push_str(&format!(
            "{}: {} epochs, lr {}, weight decay {}, dropout {dropout}\n",
            s.kind, s.epochs, s.lr, s.weight_decay
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dataset_spec_finds_its_kind() {
        assert_eq!(for_dataset("cora").kind, "cora");
        assert_eq!(for_dataset("CiteSeer").kind, "citeseer");
        assert_eq!(for_dataset("dictlookup:k=10").kind, "dictlookup");
        assert_eq!(for_dataset("dictlookup").kind, "dictlookup");
        assert_eq!(for_dataset("sparse:nodes=100,degree=4").kind, "sparse");
        assert_eq!(for_dataset("data/mine.safetensors").kind, "file");
    }

    #[test]
    fn lookup_tasks_train_without_regularisation() {
        let s = for_dataset("dictlookup:k=10");
        assert_eq!((s.weight_decay, s.dropout), (0.0, Some(0.0)));
        assert_eq!(for_dataset("cora").dropout, None);
    }

    #[test]
    fn the_description_has_one_line_per_kind() {
        assert_eq!(describe().lines().count(), TABLE.len());
    }
}

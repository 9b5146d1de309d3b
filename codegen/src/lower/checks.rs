//! Checks over the whole lowered file: tensors declared and never used, and two tensors bound to
//! one file tensor.

use super::*;

impl Lowerer {
    pub(super) fn unused_warnings(&mut self) {
        let mut seen = HashSet::new();
        let decls = std::mem::take(&mut self.decls);
        for (t, span, what) in decls {
            if !self.used.contains(&t) && seen.insert(span) {
                let name = self.p.tensor(t).name.clone();
                self.diags.push(
                    Diagnostic::warning(span, format!("{what} `{name}` is never used"))
                        .with_label("declared here"),
                );
            }
        }
    }

    /// Two tensors read from (or whose gradients are written to) the same file tensor.
    pub(super) fn external_clashes(&mut self) {
        let mut seen: HashMap<String, (TensorId, Span)> = HashMap::new();
        for (t, span) in std::mem::take(&mut self.externals) {
            let ext = self.p.tensor(t).external.clone();
            match seen.get(&ext) {
                Some(&(first, first_span)) => {
                    let (a, b) = (&self.p.tensor(first).name, &self.p.tensor(t).name);
                    self.diags.push(
                        Diagnostic::error(
                            span,
                            format!("`{b}` and `{a}` have the same name in files: `{ext}`"),
                        )
                        .with_label("second use of the name")
                        .with_note(first_span, format!("`{a}` is named `{ext}` here"))
                        .with_help("give each input and parameter its own name with `as \"...\"`"),
                    );
                }
                None => {
                    seen.insert(ext, (t, span));
                }
            }
        }
    }
}

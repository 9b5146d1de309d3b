//! `init SCHEME(gain = G)` on a parameter declaration (see [`crate::init`]).

use super::*;
use crate::init::{named_gain, Init, GAIN_NAMES, SCHEMES};

impl Lowerer {
    /// The initialisation `d` declares, checked; `Err(())` after reporting what is wrong.
    pub(super) fn init_decl(&mut self, d: &ast::TensorDecl) -> Result<Option<Init>, ()> {
        let Some(init) = &d.init else {
            return Ok(None);
        };
        if d.kind != ast::TensorKind::Param {
            self.diags.push(
                Diagnostic::error(
                    init.span,
                    format!(
                        "only parameters are initialised, but `{}` is not a `param`",
                        d.name.name
                    ),
                )
                .with_label("not a parameter")
                .with_help("remove the `init`: inputs, labels and masks come from the data"),
            );
            return Err(());
        }
        let names: Vec<&str> = SCHEMES.iter().map(|s| s.name).collect();
        let Some(scheme) = SCHEMES.iter().find(|s| s.name == init.scheme.name) else {
            self.diags.push(
                Diagnostic::error(
                    init.scheme.span,
                    format!("unknown initialisation `{}`", init.scheme.name),
                )
                .with_label("not an initialisation scheme")
                .with_help(format!("use one of {}", names.join(", "))),
            );
            return Err(());
        };
        let mut gain: Option<f64> = None;
        let mut ok = true;
        for arg in &init.args {
            if !scheme.takes_gain || arg.name.name != "gain" {
                let help = if scheme.takes_gain {
                    format!("`{}` takes only `gain = ...`", scheme.name)
                } else {
                    format!("`{}` takes no arguments", scheme.name)
                };
                self.diags.push(
                    Diagnostic::error(
                        arg.name.span,
                        format!("`{}` has no argument `{}`", scheme.name, arg.name.name),
                    )
                    .with_label("unknown argument")
                    .with_help(help),
                );
                ok = false;
                continue;
            }
            if gain.is_some() {
                self.err(arg.span, "`gain` is given twice", "second `gain`");
                ok = false;
                continue;
            }
            let value = match &arg.value {
                ast::InitValue::Number(v) => *v,
                ast::InitValue::Name(n) => match named_gain(&n.name) {
                    Some(v) => v,
                    None => {
                        self.diags.push(
                            Diagnostic::error(n.span, format!("unknown gain `{}`", n.name))
                                .with_label("not a nonlinearity PyTorch's `calculate_gain` knows")
                                .with_help(format!("use a number or one of {GAIN_NAMES}")),
                        );
                        ok = false;
                        continue;
                    }
                },
            };
            if !(value.is_finite() && value > 0.0) {
                self.err(
                    arg.span,
                    format!("the gain must be a positive number, found {value}"),
                    "not positive",
                );
                ok = false;
                continue;
            }
            gain = Some(value);
        }
        if !ok {
            return Err(());
        }
        Ok(Init::from_name(scheme.name, gain.unwrap_or(1.0)))
    }
}

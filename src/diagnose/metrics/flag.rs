//! Flags raised on a run, with their documented thresholds.

use super::*;

/// A gradient norm below this counts as vanished (the same threshold as `gatgrad train`'s
/// gradient table).
pub const VANISHING_GRADIENT: f64 = 1e-10;
/// A gradient norm more than this many times its first recorded value counts as exploded
/// (the same threshold as `gatgrad train`'s gradient table).
pub const EXPLODING_GROWTH: f64 = 1e4;
/// A gradient norm above this counts as exploded whatever its history.
pub const EXPLODING_GRADIENT: f64 = 1e6;
/// Mean normalized entropy over a layer's heads above which its attention counts as uniform.
pub const UNIFORM_ATTENTION: f64 = 0.98;
/// The window, in epochs, over which a stalled loss is judged.
pub const STALL_WINDOW: usize = 20;
/// Relative change of the loss over [`STALL_WINDOW`] epochs below which it counts as stalled.
pub const STALLED_LOSS: f64 = 1e-3;
/// A loss below this has converged rather than stalled and is never flagged.
pub const CONVERGED_LOSS: f64 = 1e-6;
/// Final training accuracy below which the model counts as unable to fit its training data.
pub const UNDERFIT_ACCURACY: f64 = 0.9;

/// What a [`Flag`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// The last gradient norm is below [`VANISHING_GRADIENT`].
    VanishingGradient,
    /// The gradient norm grew past [`EXPLODING_GROWTH`] × its first value or past
    /// [`EXPLODING_GRADIENT`].
    ExplodingGradient,
    /// A gradient norm was NaN or infinite.
    NonFiniteGradient,
    /// The mean normalized entropy over a layer's heads exceeds [`UNIFORM_ATTENTION`].
    UniformAttention,
    /// The loss changed by less than [`STALLED_LOSS`] (relative) over [`STALL_WINDOW`] epochs.
    StalledLoss,
    /// The final training accuracy is below [`UNDERFIT_ACCURACY`].
    Underfitting,
}

/// One finding: what, about which parameter/layer (`"loss"` for the loss), and a one-sentence
/// explanation with the numbers behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// The kind of problem.
    pub kind: FlagKind,
    /// The parameter name, layer name or `"loss"`.
    pub subject: String,
    /// One sentence for a human.
    pub explanation: String,
}

/// Everything [`flags`] looks at; leave a field empty to skip its checks.
#[derive(Debug, Clone, Default)]
pub struct Observations<'a> {
    /// Per parameter, its name and gradient norm per epoch, oldest first.
    pub grad_norms: Vec<(&'a str, &'a [f64])>,
    /// Per attention layer, its name and [`normalized_entropy`] per head (latest epoch).
    pub entropy: Vec<(&'a str, &'a [f64])>,
    /// The training loss per epoch, oldest first.
    pub losses: &'a [f64],
    /// The final training accuracy (evaluation mode), if known.
    pub train_acc: Option<f64>,
}

/// Checks `obs` against the thresholds above, in the order gradients (per parameter:
/// non-finite, else exploding, else vanishing), attention (per layer), loss, training accuracy.
pub fn flags(obs: &Observations) -> Vec<Flag> {
    let mut out = Vec::new();
    let flag = |kind, subject: &str, explanation: String| Flag {
        kind,
        subject: subject.to_string(),
        explanation,
    };
    for &(name, norms) in &obs.grad_norms {
        let (Some(&first), Some(&last)) = (norms.first(), norms.last()) else {
            continue;
        };
        if let Some(epoch) = norms.iter().position(|v| !v.is_finite()) {
            out.push(flag(
                FlagKind::NonFiniteGradient,
                name,
                format!(
                    "The gradient norm of `{name}` became {} at epoch {epoch}, so training \
                     diverged numerically (check the learning rate and the softmax inputs).",
                    norms[epoch]
                ),
            ));
            continue;
        }
        let max = norms.iter().copied().fold(0.0f64, f64::max);
        let base = first.max(VANISHING_GRADIENT);
        if max > EXPLODING_GRADIENT || max > EXPLODING_GROWTH * base {
            out.push(flag(
                FlagKind::ExplodingGradient,
                name,
                format!(
                    "The gradient norm of `{name}` reached {max:.3e} (first epoch {first:.3e}), \
                     above the limits of {EXPLODING_GROWTH:.0e}x growth or {EXPLODING_GRADIENT:.0e}, \
                     so updates are likely unstable."
                ),
            ));
        } else if last < VANISHING_GRADIENT {
            out.push(flag(
                FlagKind::VanishingGradient,
                name,
                format!(
                    "The gradient norm of `{name}` is {last:.3e}, below {VANISHING_GRADIENT:.0e}, \
                     so this parameter has effectively stopped learning."
                ),
            ));
        }
    }
    for &(layer, heads) in &obs.entropy {
        let finite: Vec<f64> = heads.iter().copied().filter(|v| v.is_finite()).collect();
        let m = mean(finite.iter().sum(), finite.len());
        if m > UNIFORM_ATTENTION {
            out.push(flag(
                FlagKind::UniformAttention,
                layer,
                format!(
                    "The attention of `{layer}` has mean normalized entropy {m:.4} (above \
                     {UNIFORM_ATTENTION}), so it is close to uniform and the layer acts like a \
                     mean aggregator."
                ),
            ));
        }
    }
    let losses = obs.losses;
    if losses.len() > STALL_WINDOW {
        let last = losses[losses.len() - 1];
        let before = losses[losses.len() - 1 - STALL_WINDOW];
        if last.is_finite() && before.is_finite() && last.abs() >= CONVERGED_LOSS {
            let change = (last - before).abs() / before.abs().max(f64::MIN_POSITIVE);
            if change < STALLED_LOSS {
                out.push(flag(
                    FlagKind::StalledLoss,
                    "loss",
                    format!(
                        "The loss moved from {before:.6} to {last:.6} over the last \
                         {STALL_WINDOW} epochs (relative change {change:.1e} < {STALLED_LOSS:.0e}), \
                         so training has stalled."
                    ),
                ));
            }
        }
    }
    if let Some(acc) = obs.train_acc.filter(|a| *a < UNDERFIT_ACCURACY) {
        out.push(flag(
            FlagKind::Underfitting,
            "train_acc",
            format!(
                "The final training accuracy is {:.1} % (below {:.0} %), so the model cannot fit \
                 its own training data: with attention, a sign that it cannot select the \
                 neighbours the labels depend on (static attention ranks neighbours the same for \
                 every query).",
                100.0 * acc,
                100.0 * UNDERFIT_ACCURACY
            ),
        ));
    }
    out
}

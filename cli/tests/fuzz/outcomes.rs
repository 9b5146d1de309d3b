//! What a campaign's inputs led to, counted per kind of input (`typed program: compiles`,
//! `grad --out fifo: exit 0`), and the expectations on those counts that make a campaign prove
//! something: a generator meant to produce valid programs must produce enough of them, and an
//! input class that must always be refused must never be accepted.

use std::collections::BTreeMap;

/// Below this many inputs of a kind, a share is not checked (too few to say anything).
pub const MIN_SAMPLES: usize = 20;

/// How often each outcome happened, per kind of input.
#[derive(Default)]
pub struct Tally {
    counts: BTreeMap<(String, String), usize>,
}

impl Tally {
    /// Counts one input of `kind` that ended in `outcome`.
    pub fn add(&mut self, kind: &str, outcome: &str) {
        *self
            .counts
            .entry((kind.to_string(), outcome.to_string()))
            .or_default() += 1;
    }

    /// Inputs of `kind`.
    pub fn total(&self, kind: &str) -> usize {
        self.counts
            .iter()
            .filter(|((k, _), _)| k == kind)
            .map(|(_, n)| n)
            .sum()
    }

    /// Inputs of `kind` that ended in one of `outcomes`.
    pub fn count(&self, kind: &str, outcomes: &[String]) -> usize {
        self.counts
            .iter()
            .filter(|((k, o), _)| k == kind && outcomes.contains(o))
            .map(|(_, n)| n)
            .sum()
    }

    /// One line per (kind, outcome): the count and its share of the kind.
    pub fn lines(&self) -> Vec<String> {
        self.counts
            .iter()
            .map(|((kind, outcome), n)| {
                let share = 100.0 * *n as f64 / self.total(kind).max(1) as f64;
                format!("{kind}: {outcome}: {n} ({share:.0}%)")
            })
            .collect()
    }
}

enum Rule {
    /// At least this share of the kind's inputs end in one of the outcomes.
    AtLeast(f64),
    /// Every input of the kind ends in one of the outcomes.
    All,
    /// No input of the kind ends in one of the outcomes.
    Never,
}

/// An expectation on the outcomes of one kind of input.
pub struct Expect {
    kind: String,
    outcomes: Vec<String>,
    rule: Rule,
}

impl Expect {
    /// At least `min` (a fraction) of the inputs of `kind` end in one of `outcomes`; checked once
    /// there are [`MIN_SAMPLES`] of them.
    pub fn share(kind: &str, outcomes: &[&str], min: f64) -> Expect {
        Expect::new(kind, outcomes, Rule::AtLeast(min))
    }

    /// Every input of `kind` ends in one of `outcomes`, and there is at least one.
    pub fn all(kind: &str, outcomes: &[&str]) -> Expect {
        Expect::new(kind, outcomes, Rule::All)
    }

    /// No input of `kind` ends in one of `outcomes`.
    pub fn never(kind: &str, outcomes: &[&str]) -> Expect {
        Expect::new(kind, outcomes, Rule::Never)
    }

    fn new(kind: &str, outcomes: &[&str], rule: Rule) -> Expect {
        Expect {
            kind: kind.to_string(),
            outcomes: outcomes.iter().map(|o| o.to_string()).collect(),
            rule,
        }
    }

    /// `Ok(what was checked)`, or `Err(why it failed)`. `ran` is the number of iterations of the
    /// campaign: a kind never seen in [`MIN_SAMPLES`] iterations means its generator is broken.
    pub fn check(&self, tally: &Tally, ran: usize) -> Result<String, String> {
        let total = tally.total(&self.kind);
        let hits = tally.count(&self.kind, &self.outcomes);
        let outcomes = self.outcomes.join(" or ");
        let kind = &self.kind;
        let seen = |what: String| {
            if total == 0 && ran >= MIN_SAMPLES {
                Err(format!(
                    "{kind}: no input of this kind in {ran} iterations (a generator is broken)"
                ))
            } else {
                Ok(what)
            }
        };
        match self.rule {
            Rule::AtLeast(min) => {
                if total < MIN_SAMPLES {
                    return seen(format!(
                        "{kind}: {outcomes} at least {:.0}%: not checked, {total} inputs",
                        100.0 * min
                    ));
                }
                let share = hits as f64 / total as f64;
                let what = format!(
                    "{kind}: {outcomes} {hits}/{total} ({:.0}%), at least {:.0}%",
                    100.0 * share,
                    100.0 * min
                );
                if share >= min {
                    Ok(what)
                } else {
                    Err(what)
                }
            }
            Rule::All => {
                let what = format!("{kind}: {outcomes} {hits}/{total}, all expected");
                if total == 0 {
                    seen(format!("{kind}: {outcomes}: not checked, no input"))
                } else if hits == total {
                    Ok(what)
                } else {
                    Err(what)
                }
            }
            Rule::Never => {
                let what = format!("{kind}: {outcomes} {hits}/{total}, none expected");
                if hits == 0 {
                    seen(what)
                } else {
                    Err(what)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(entries: &[(&str, &str, usize)]) -> Tally {
        let mut t = Tally::default();
        for &(kind, outcome, n) in entries {
            for _ in 0..n {
                t.add(kind, outcome);
            }
        }
        t
    }

    #[test]
    fn a_generator_of_rejects_only_fails_its_share() {
        let expect = Expect::share("typed", &["compiles"], 0.3);
        let only_rejects = tally(&[("typed", "check error", 40)]);
        assert!(expect.check(&only_rejects, 40).is_err());
        let enough = tally(&[("typed", "check error", 28), ("typed", "compiles", 12)]);
        assert!(expect.check(&enough, 40).is_ok());
        // Too few inputs to tell, but a kind never generated at all is an error.
        let few = tally(&[("typed", "check error", 5)]);
        assert!(expect.check(&few, 5).is_ok());
        assert!(expect.check(&Tally::default(), 100).is_err());
    }

    #[test]
    fn all_and_never() {
        let t = tally(&[("huge", "exit 2", 9), ("huge", "signal 6", 1)]);
        assert!(Expect::all("huge", &["exit 2"]).check(&t, 10).is_err());
        assert!(Expect::all("huge", &["exit 2", "signal 6"])
            .check(&t, 10)
            .is_ok());
        assert!(Expect::never("huge", &["signal 6"]).check(&t, 10).is_err());
        assert!(Expect::never("huge", &["exit 0"]).check(&t, 10).is_ok());
        assert!(Expect::all("other", &["exit 2"]).check(&t, 100).is_err());
    }
}

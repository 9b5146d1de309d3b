//! The campaign runner: configuration from the environment, the per-iteration loop under a time
//! budget, outcome counts checked against the campaign's expectations, and the report (with text
//! inputs shrunk).

use crate::outcomes::{Expect, Tally};
use crate::panics::{guarded, install_panic_hook};
use crate::rng::Rng;
use crate::shrink::shrink_text;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Configuration.

/// A number from the environment (decimal or `0x` hex).
pub fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    match parsed {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={v} is not a number"),
    }
}

/// The seed when `GATGRAD_FUZZ_SEED` is not set.
pub const DEFAULT_SEED: u64 = 0x6A7_6BAD_5EED;

/// How long a campaign runs and from which seed.
pub struct Config {
    /// The seed every iteration's generator derives from.
    pub seed: u64,
    /// At most this many iterations.
    pub iters: usize,
    /// At most this much wall-clock time.
    pub budget: Duration,
    /// At least this many iterations (unless `iters` is smaller), whatever the budget: enough
    /// inputs of every kind for the expectations to say something.
    pub min_iters: usize,
    /// The first iteration (a campaign resumed in a child process after a crash starts later).
    pub first: usize,
}

impl Config {
    /// The same, running at least `n` iterations.
    pub fn at_least(self, n: usize) -> Config {
        Config {
            min_iters: n,
            ..self
        }
    }
}

/// The configuration from the environment, with `default_iters` iterations.
pub fn config(default_iters: usize) -> Config {
    Config {
        seed: env_u64("GATGRAD_FUZZ_SEED").unwrap_or(DEFAULT_SEED),
        iters: env_u64("GATGRAD_FUZZ_ITERS").map_or(default_iters, |n| n as usize),
        budget: Duration::from_secs_f64(
            std::env::var("GATGRAD_FUZZ_SECS")
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok())
                .unwrap_or(8.0),
        ),
        min_iters: 0,
        first: env_u64(FIRST_VAR).map_or(0, |n| n as usize),
    }
}

/// Set (to the test's name) in a child process running a campaign for [`crate::isolated`]: the
/// campaign then says on stderr which iteration it is at.
pub const CHILD_VAR: &str = "GATGRAD_FUZZ_CHILD";

/// The first iteration of a campaign resumed in a child process.
pub const FIRST_VAR: &str = "GATGRAD_FUZZ_FIRST";

/// The line a child process writes before each iteration.
pub const ITERATION_MARK: &str = "fuzz-iteration ";

/// At most `lines` lines of `text`, each cut to `cols` characters, for reports.
pub fn excerpt(text: &str, lines: usize, cols: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = all
        .iter()
        .take(lines)
        .map(|l| {
            if l.chars().count() > cols {
                let cut: String = l.chars().take(cols).collect();
                format!("{cut}…")
            } else {
                l.to_string()
            }
        })
        .collect();
    if all.len() > lines {
        out.push(format!("… ({} more lines)", all.len() - lines));
    }
    out.join("\n")
}

/// The repository (the CLI package's parent folder), where models and fixtures live.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the CLI package lies inside the repository")
        .to_path_buf()
}

// ---------------------------------------------------------------------------------------------
// Campaigns.

/// The input of a failure, for the report (and for shrinking when it is text).
pub enum Input {
    /// `note` says where the text came from; it is not part of the input.
    Text { text: String, note: String },
    /// A tensor file; `about` says how it was made.
    Bytes { bytes: Vec<u8>, about: String },
    /// A command line; `note` says what it is for.
    Command { line: String, note: String },
    /// A generated text too long to print (thousands of equations): `about` says how it was
    /// made; the report saves the text to a file and shows its beginning.
    Large { text: String, about: String },
}

impl Input {
    fn size(&self) -> usize {
        match self {
            Input::Text { text, .. } | Input::Large { text, .. } => text.len(),
            Input::Command { line, .. } => line.len(),
            Input::Bytes { bytes, .. } => bytes.len(),
        }
    }
}

/// One failure: a panic, or an outcome that must not happen (a crashed or hung process, a special
/// file replaced, a valid program refused).
pub struct Failure {
    stage: String,
    /// Where it panicked, or what went wrong (one failure is kept per stage and location).
    location: String,
    /// Whether `location` is a panic location (and the input can be shrunk against it).
    panicked: bool,
    message: String,
    input: Input,
    iteration: usize,
}

/// What an iteration can record: outcomes and failures.
pub struct Ctx {
    current: PathBuf,
    iteration: usize,
    /// One failure per (stage, location), the smallest input seen.
    failures: BTreeMap<(String, String), Failure>,
    slowest: (Duration, usize, String),
    /// How often each outcome happened, for the summary and the expectations.
    tally: Tally,
    /// The kinds of input counted in the current iteration.
    kinds: Vec<String>,
}

impl Ctx {
    /// The iteration being run.
    pub fn iteration(&self) -> usize {
        self.iteration
    }

    /// Counts one input of `kind` that ended in `outcome`.
    pub fn tally(&mut self, kind: &str, outcome: &str) {
        self.tally.add(kind, outcome);
        self.kinds.push(kind.to_string());
    }

    /// Saves the input being worked on where a crash can be diagnosed.
    pub fn save_current(&self, raw: &[u8]) {
        let _ = std::fs::write(&self.current, raw);
    }

    /// Records an outcome that must not happen. `what` classifies it (one failure is kept per
    /// stage and `what`, the one with the smallest input).
    pub fn fail(&mut self, stage: &str, what: &str, message: String, input: Input) {
        self.record(stage, what.to_string(), false, message, input);
    }

    fn record(
        &mut self,
        stage: &str,
        location: String,
        panicked: bool,
        message: String,
        input: Input,
    ) {
        let key = (stage.to_string(), location.clone());
        let keep = match self.failures.get(&key) {
            Some(old) => input.size() < old.input.size(),
            None => true,
        };
        if keep {
            let failure = Failure {
                stage: stage.to_string(),
                location,
                panicked,
                message,
                input,
                iteration: self.iteration,
            };
            self.failures.insert(key, failure);
        }
    }

    /// Saves the input where a crash can be diagnosed, then runs `f` under `catch_unwind`.
    /// `None` if it panicked (the failure is recorded).
    pub fn check<R>(
        &mut self,
        stage: &str,
        raw: &[u8],
        input: impl FnOnce() -> Input,
        f: impl FnOnce() -> R,
    ) -> Option<R> {
        self.save_current(raw);
        match guarded(f) {
            Ok(r) => Some(r),
            Err((location, panic)) => {
                self.record(stage, location, true, panic, input());
                None
            }
        }
    }
}

/// What the worker thread hands back.
struct Finished {
    ran: usize,
    elapsed: Duration,
    slowest: (Duration, usize, String),
    failures: BTreeMap<(String, String), Failure>,
    tally: Tally,
}

/// Runs `body` once per iteration on a worker thread (8 MiB of stack, like the CLI's main
/// thread) until the iteration count or the time budget runs out, then prints the outcome counts,
/// checks them against `expect`, shrinks and reports any failure. `shrink(stage, text)` re-runs a
/// stage on a candidate text and returns where it panicked, if it did: a candidate is kept while
/// it panics at the same location.
pub fn run_campaign(
    campaign: &'static str,
    cfg: Config,
    expect: Vec<Expect>,
    body: impl FnMut(&mut Rng, &mut Ctx) + Send + 'static,
    shrink: Option<fn(&str, &str) -> Option<String>>,
) {
    install_panic_hook();
    let current = std::env::temp_dir().join(format!(
        "gatgrad-fuzz-{campaign}-{}.current",
        std::process::id()
    ));
    // Straight to stderr, not captured: still visible if the process dies.
    let _ = writeln!(
        std::io::stderr(),
        "fuzz {campaign}: seed {:#x}, at most {} iterations or {:?} (at least {}); input in progress \
         saved at {}",
        cfg.seed,
        cfg.iters,
        cfg.budget,
        cfg.min_iters.min(cfg.iters),
        current.display()
    );
    let (tx, rx) = mpsc::channel();
    let worker_current = current.clone();
    let budget = cfg.budget;
    let in_child = std::env::var_os(CHILD_VAR).is_some();
    let mut body = body;
    let handle = std::thread::Builder::new()
        .name(format!("fuzz-{campaign}"))
        .stack_size(8 << 20)
        .spawn(move || {
            let mut ctx = Ctx {
                current: worker_current,
                iteration: 0,
                failures: BTreeMap::new(),
                slowest: (Duration::ZERO, 0, String::new()),
                kinds: Vec::new(),
                tally: Tally::default(),
            };
            let start = Instant::now();
            let mut ran = 0;
            for k in cfg.first..cfg.iters {
                if start.elapsed() >= budget && ran >= cfg.min_iters {
                    break;
                }
                if in_child {
                    let _ = writeln!(std::io::stderr(), "{ITERATION_MARK}{k}");
                }
                ctx.iteration = k;
                let mut rng = Rng::for_iteration(cfg.seed, campaign, k);
                let t = Instant::now();
                body(&mut rng, &mut ctx);
                let took = t.elapsed();
                let kinds = std::mem::take(&mut ctx.kinds);
                if took > ctx.slowest.0 {
                    ctx.slowest = (took, k, kinds.join(", "));
                }
                ran += 1;
            }
            // Shrink panicking text inputs within a small budget of their own.
            let shrink_start = Instant::now();
            if let Some(stage_runner) = shrink {
                for f in ctx.failures.values_mut().filter(|f| f.panicked) {
                    if let Input::Text { text, note } = &f.input {
                        let left = Duration::from_secs(3).saturating_sub(shrink_start.elapsed());
                        let small = shrink_text(text, left, |candidate| {
                            let _ = std::fs::write(&ctx.current, candidate);
                            stage_runner(&f.stage, candidate).as_deref() == Some(&f.location)
                        });
                        let note = format!("{note} (shrunk from {} bytes)", text.len());
                        f.input = Input::Text { text: small, note };
                    }
                }
            }
            let _ = tx.send(Finished {
                ran,
                elapsed: start.elapsed(),
                slowest: ctx.slowest,
                failures: ctx.failures,
                tally: ctx.tally,
            });
        })
        .expect("spawn the fuzz worker");
    let grace = Duration::from_secs(120);
    let done = match rx.recv_timeout(budget + grace) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let input = std::fs::read(&current).unwrap_or_default();
            panic!(
                "fuzz {campaign}: an iteration has not finished after {:?}; the input it is working on \
                 (saved at {}):\n{}",
                budget + grace,
                current.display(),
                String::from_utf8_lossy(&input)
            );
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let _ = handle.join();
            panic!("fuzz {campaign}: the worker thread died (a bug in the fuzz harness)");
        }
    };
    let _ = handle.join();
    let _ = std::fs::remove_file(&current);
    println!(
        "fuzz {campaign}: {} iterations in {:?} (seed {:#x}); slowest iteration {} ({}) took {:?}",
        done.ran, done.elapsed, cfg.seed, done.slowest.1, done.slowest.2, done.slowest.0
    );
    for line in done.tally.lines() {
        println!("    {line}");
    }
    let mut unmet = Vec::new();
    for e in &expect {
        match e.check(&done.tally, done.ran) {
            Ok(what) => println!("  ok: {what}"),
            Err(what) => {
                println!("  NOT MET: {what}");
                unmet.push(what);
            }
        }
    }
    if done.failures.is_empty() && unmet.is_empty() {
        return;
    }
    panic!("{}", report(campaign, &cfg, &done.failures, &unmet));
}

/// The report of a failed campaign: unmet expectations, then each failure with its input.
fn report(
    campaign: &str,
    cfg: &Config,
    failures: &BTreeMap<(String, String), Failure>,
    unmet: &[String],
) -> String {
    let mut report = format!(
        "fuzz {campaign}: {} distinct failure(s), {} unmet expectation(s) (seed {:#x}; reproduce \
         with GATGRAD_FUZZ_SEED={:#x})\n",
        failures.len(),
        unmet.len(),
        cfg.seed,
        cfg.seed
    );
    for what in unmet {
        report.push_str(&format!("expected: {what}\n"));
    }
    for f in failures.values() {
        let how = if f.panicked { "panicked at" } else { "failed:" };
        report.push_str(&format!(
            "\n=== {} {how} {} (iteration {}) ===\n{}\n--- input ---\n",
            f.stage,
            f.location,
            f.iteration,
            excerpt(&f.message, 60, 300)
        ));
        let saved = |ext: &str, bytes: &[u8]| {
            let path = std::env::temp_dir().join(format!(
                "gatgrad-fuzz-{campaign}-{}-iter{}.{ext}",
                std::process::id(),
                f.iteration
            ));
            let _ = std::fs::write(&path, bytes);
            path
        };
        match &f.input {
            Input::Text { text, note } => {
                report.push_str(&format!("({note})\n{text}"));
                report.push_str(&format!("\n--- input as a Rust string ---\n{text:?}\n"));
            }
            Input::Command { line, note } => report.push_str(&format!("({note})\n{line}\n")),
            Input::Bytes { bytes, about } => {
                let path = saved("safetensors", bytes);
                report.push_str(&format!(
                    "{about}\n({} bytes, saved at {})\n",
                    bytes.len(),
                    path.display()
                ));
            }
            Input::Large { text, about } => {
                let path = saved("gat", text.as_bytes());
                let beginning = excerpt(text, 12, 200);
                report.push_str(&format!(
                    "{about}\n({} bytes, saved at {}); it begins:\n{beginning}\n",
                    text.len(),
                    path.display()
                ));
            }
        }
    }
    report
}

//! The campaign runner: configuration from the environment, a panic hook that catches panics
//! quietly and remembers where they happened, the per-iteration loop under a time budget, and
//! the report (with text inputs shrunk).

use crate::rng::Rng;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
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
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// Catching panics quietly, remembering where they happened.

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Installs (once) the hook that records panics inside [`guarded`] instead of printing them.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_else(|| "<unknown>".into());
                let backtrace = std::backtrace::Backtrace::force_capture().to_string();
                // Keep the frames of this workspace only: enough to locate the bug.
                let mut frames = Vec::new();
                let mut lines = backtrace.lines().peekable();
                while let Some(line) = lines.next() {
                    let t = line.trim();
                    if t.contains("gatgrad") && !t.contains("fuzz::") && !t.starts_with("at ") {
                        let at = lines
                            .peek()
                            .map(|l| l.trim())
                            .filter(|l| l.starts_with("at "))
                            .unwrap_or("");
                        frames.push(format!("    {t} {at}"));
                    }
                }
                // A panic inside the standard library (an overflow in `Iterator::product`, an
                // allocation failure) is attributed to the innermost workspace frame instead.
                let location = match frames.first() {
                    Some(frame) if location.starts_with("/rustc/") => frame
                        .split_once(" at ")
                        .map_or(location.clone(), |(_, at)| at.trim().to_string()),
                    _ => location,
                };
                let report = if frames.is_empty() {
                    info.to_string()
                } else {
                    format!("{info}\n  frames:\n{}", frames.join("\n"))
                };
                LAST_PANIC.with(|p| *p.borrow_mut() = Some((location, report)));
            } else {
                default(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into `Err((location, message))`.
pub fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, (String, String)> {
    QUIET.with(|q| q.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|payload| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                ("<unknown>".into(), msg)
            })
    })
}

// ---------------------------------------------------------------------------------------------
// Campaigns.

/// The input of a failure, for the report (and for shrinking when it is text).
pub enum Input {
    /// `note` says where the text came from; it is not part of the input.
    Text {
        text: String,
        note: String,
    },
    Bytes {
        bytes: Vec<u8>,
        about: String,
    },
}

pub struct Failure {
    stage: String,
    location: String,
    panic: String,
    input: Input,
    iteration: usize,
}

pub struct Ctx {
    current: PathBuf,
    iteration: usize,
    /// One failure per (stage, panic location), the smallest input seen.
    failures: BTreeMap<(String, String), Failure>,
    slowest: (Duration, usize),
    /// How often each outcome happened, for the summary (shows what the inputs reach).
    stats: BTreeMap<String, usize>,
}

impl Ctx {
    /// Counts one occurrence of an outcome.
    pub fn count(&mut self, what: impl Into<String>) {
        *self.stats.entry(what.into()).or_default() += 1;
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
        let _ = std::fs::write(&self.current, raw);
        match guarded(f) {
            Ok(r) => Some(r),
            Err((location, panic)) => {
                let key = (stage.to_string(), location.clone());
                let input = input();
                let size = |i: &Input| match i {
                    Input::Text { text, .. } => text.len(),
                    Input::Bytes { bytes, .. } => bytes.len(),
                };
                let keep = match self.failures.get(&key) {
                    Some(old) => size(&input) < size(&old.input),
                    None => true,
                };
                if keep {
                    self.failures.insert(
                        key,
                        Failure {
                            stage: stage.to_string(),
                            location,
                            panic,
                            input,
                            iteration: self.iteration,
                        },
                    );
                }
                None
            }
        }
    }
}

/// Runs `body` once per iteration on a worker thread (8 MiB of stack, like the CLI's main
/// thread) until the iteration count or the time budget runs out, then shrinks and reports any
/// failure. `shrink(stage, text)` re-runs a stage on a candidate text and returns where it
/// panicked, if it did: a candidate is kept while it panics at the same location.
pub fn run_campaign(
    campaign: &'static str,
    cfg: Config,
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
        "fuzz {campaign}: seed {:#x}, at most {} iterations or {:?}; input in progress saved at {}",
        cfg.seed,
        cfg.iters,
        cfg.budget,
        current.display()
    );
    let (tx, rx) = mpsc::channel();
    let worker_current = current.clone();
    let budget = cfg.budget;
    let mut body = body;
    let handle = std::thread::Builder::new()
        .name(format!("fuzz-{campaign}"))
        .stack_size(8 << 20)
        .spawn(move || {
            let mut ctx = Ctx {
                current: worker_current,
                iteration: 0,
                failures: BTreeMap::new(),
                slowest: (Duration::ZERO, 0),
                stats: BTreeMap::new(),
            };
            let start = Instant::now();
            let mut ran = 0;
            for k in 0..cfg.iters {
                if start.elapsed() >= budget {
                    break;
                }
                ctx.iteration = k;
                let mut rng = Rng::for_iteration(cfg.seed, campaign, k);
                let t = Instant::now();
                body(&mut rng, &mut ctx);
                let took = t.elapsed();
                if took > ctx.slowest.0 {
                    ctx.slowest = (took, k);
                }
                ran += 1;
            }
            // Shrink text failures within a small budget of their own.
            let shrink_start = Instant::now();
            if let Some(stage_runner) = shrink {
                for f in ctx.failures.values_mut() {
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
            let _ = tx.send((ran, start.elapsed(), ctx.slowest, ctx.failures, ctx.stats));
        })
        .expect("spawn the fuzz worker");
    let grace = Duration::from_secs(120);
    let (ran, elapsed, slowest, failures, stats) = match rx.recv_timeout(budget + grace) {
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
        "fuzz {campaign}: {ran} iterations in {elapsed:?} (seed {:#x}); slowest iteration {} took {:?}",
        cfg.seed, slowest.1, slowest.0
    );
    for (what, n) in &stats {
        println!("    {what}: {n}");
    }
    if failures.is_empty() {
        return;
    }
    let mut report = format!(
        "fuzz {campaign}: {} distinct panic(s) (seed {:#x}; reproduce with GATGRAD_FUZZ_SEED={:#x})\n",
        failures.len(),
        cfg.seed,
        cfg.seed
    );
    for f in failures.values() {
        report.push_str(&format!(
            "\n=== {} panicked at {} (iteration {}) ===\n{}\n--- input ---\n",
            f.stage, f.location, f.iteration, f.panic
        ));
        match &f.input {
            Input::Text { text, note } => {
                report.push_str(&format!("({note})\n{text}"));
                report.push_str(&format!("\n--- input as a Rust string ---\n{text:?}\n"));
            }
            Input::Bytes { bytes, about } => {
                let saved = std::env::temp_dir().join(format!(
                    "gatgrad-fuzz-{campaign}-{}-iter{}.safetensors",
                    std::process::id(),
                    f.iteration
                ));
                let _ = std::fs::write(&saved, bytes);
                report.push_str(&format!(
                    "{about}\n({} bytes, saved at {})\n",
                    bytes.len(),
                    saved.display()
                ));
            }
        }
    }
    panic!("{report}");
}

/// Greedy shrinking: drop lines, then shrinking chunks of characters, while `still_fails`.
pub fn shrink_text(
    text: &str,
    budget: Duration,
    mut still_fails: impl FnMut(&str) -> bool,
) -> String {
    let start = Instant::now();
    let mut best: Vec<char> = text.chars().collect();
    // Lines first.
    let mut changed = true;
    while changed && start.elapsed() < budget {
        changed = false;
        let s: String = best.iter().collect();
        let lines: Vec<&str> = s.split_inclusive('\n').collect();
        for k in 0..lines.len() {
            if start.elapsed() >= budget {
                break;
            }
            let candidate: String = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != k)
                .map(|(_, l)| *l)
                .collect();
            if still_fails(&candidate) {
                best = candidate.chars().collect();
                changed = true;
                break;
            }
        }
    }
    // Then chunks of characters, halving the chunk size.
    let mut chunk = (best.len() / 2).max(1);
    while chunk >= 1 && start.elapsed() < budget {
        let mut i = 0;
        let mut progressed = false;
        while i < best.len() && start.elapsed() < budget {
            let end = (i + chunk).min(best.len());
            let candidate: String = best[..i].iter().chain(&best[end..]).collect();
            if still_fails(&candidate) {
                best = candidate.chars().collect();
                progressed = true;
            } else {
                i += chunk;
            }
        }
        if !progressed {
            if chunk == 1 {
                break;
            }
            chunk /= 2;
        }
    }
    best.into_iter().collect()
}

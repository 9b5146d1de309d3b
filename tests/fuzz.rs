//! Bounded, deterministic fuzzing of the two entry points that take untrusted input:
//!
//! * `compile_random_text`: random bytes, random token soups, deep nesting and random
//!   (mostly well-formed) programs through [`gatgrad::compile`];
//! * `compile_mutated_models`: random edits of every `models/*.gat` and `tests/fixtures/**/*.gat`
//!   through [`gatgrad::compile`] (and, when a mutant still compiles, through `run_case` on the
//!   reference tensors);
//! * `run_case_mutated_tensor_files`: byte-level and structured mutations of the reference tensor
//!   files through [`TensorFile::from_bytes`] and [`gatgrad::cases::run_case`].
//!
//! None of them may panic. Each campaign stops after an iteration count or a wall-clock budget,
//! whichever comes first, and is deterministic from its seed (iteration `k` draws from a generator
//! seeded with `seed` and `k`). Environment overrides:
//!
//! * `GATGRAD_FUZZ_SEED`: the seed (decimal or `0x` hex);
//! * `GATGRAD_FUZZ_ITERS`: iterations per campaign;
//! * `GATGRAD_FUZZ_SECS`: wall-clock budget per campaign (default 8).
//!
//! Every panic is caught and reported with the input that caused it (text inputs are also
//! shrunk). An input that kills the process outright (a stack overflow) cannot be caught: the
//! input being processed is always saved in `$TMPDIR/gatgrad-fuzz-<campaign>-<pid>.current`, and
//! that path is printed on stderr when the campaign starts. A watchdog fails the test, naming that
//! file, if one iteration hangs.

use gatgrad::runtime::{serialize_tensors, TensorData, TensorFile};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// A tiny seeded generator (xorshift64, seeded through splitmix64).

#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    /// The generator of iteration `k` of a campaign.
    fn for_iteration(seed: u64, campaign: &str, k: usize) -> Rng {
        let salt = campaign.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        Rng::new(seed ^ salt ^ (k as u64).wrapping_mul(0xD605_BBB5_8C8A_BBCB))
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo))
    }

    /// True with probability `num / den`.
    fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    fn word(&mut self, xs: &[&'static str]) -> &'static str {
        xs[self.below(xs.len())]
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The element-wise functions a `.gat` file may call, from the table: those without a constant
/// argument, or those with one.
fn table_functions(with_arg: bool) -> Vec<&'static str> {
    gatgrad::codegen::primitives::PRIMITIVES
        .iter()
        .filter(|p| p.callable && p.arg.is_some() == with_arg)
        .map(|p| p.name)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Configuration.

fn env_u64(name: &str) -> Option<u64> {
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

const DEFAULT_SEED: u64 = 0x6A7_6BAD_5EED;

struct Config {
    seed: u64,
    iters: usize,
    budget: Duration,
}

fn config(default_iters: usize) -> Config {
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

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// Catching panics quietly, remembering where they happened.

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
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
fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, (String, String)> {
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
enum Input {
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

struct Failure {
    stage: String,
    location: String,
    panic: String,
    input: Input,
    iteration: usize,
}

struct Ctx {
    current: PathBuf,
    iteration: usize,
    /// One failure per (stage, panic location), the smallest input seen.
    failures: BTreeMap<(String, String), Failure>,
    slowest: (Duration, usize),
    /// How often each outcome happened, for the summary (shows what the inputs reach).
    stats: BTreeMap<String, usize>,
}

impl Ctx {
    fn count(&mut self, what: impl Into<String>) {
        *self.stats.entry(what.into()).or_default() += 1;
    }

    /// Saves the input where a crash can be diagnosed, then runs `f` under `catch_unwind`.
    /// `None` if it panicked (the failure is recorded).
    fn check<R>(
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
fn run_campaign(
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
fn shrink_text(text: &str, budget: Duration, mut still_fails: impl FnMut(&str) -> bool) -> String {
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

// ---------------------------------------------------------------------------------------------
// Inputs shared by the campaigns.

fn gat_files() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "gat") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    if let Ok(entries) = std::fs::read_dir(root().join("models")) {
        paths.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "gat")),
        );
    }
    walk(&root().join("tests/fixtures"), &mut paths);
    paths.sort();
    let files: Vec<(String, String)> = paths
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let name = p.strip_prefix(root()).unwrap_or(&p).display().to_string();
            Some((name, text))
        })
        .collect();
    assert!(
        files.iter().any(|(n, _)| n.starts_with("models/")),
        "no models/*.gat found"
    );
    files
}

/// The reference tensor files, by file name.
fn reference_cases() -> Vec<(String, Vec<u8>)> {
    let dir = root().join("tests/reference");
    let mut cases: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/reference")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    cases.sort();
    assert!(cases.iter().any(|(n, _)| n == "gatv2_basic.safetensors"));
    cases
}

/// Which panic location `compile` hits on `text`, if any.
fn compile_panics(text: &str) -> Option<String> {
    guarded(|| {
        let _ = gatgrad::compile("fuzz.gat", text);
    })
    .err()
    .map(|(loc, _)| loc)
}

// ---------------------------------------------------------------------------------------------
// (a) Random text.

const TOKENS: &[&str] = &[
    "layer",
    "model",
    "dims",
    "self_loops",
    "input",
    "param",
    "labels",
    "mask",
    "output",
    "attention",
    "as",
    "classes",
    "node",
    "sum",
    "mean",
    "softmax",
    "sum_",
    "sum_f",
    "sum_c",
    "sum_n",
    "mean_h",
    "mean_",
    "softmax_j",
    "softmax_",
    "sum_{",
    "sum_{j -> i}",
    "sum_{h, c}",
    "mean_{j -> i}",
    "softmax_{j -> i}",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    ":",
    "=",
    "+",
    "-",
    "*",
    "/",
    "^",
    "<-",
    "->",
    "<",
    ">",
    ".",
    "x",
    "x[n, f]",
    "x[n]",
    "x[]",
    "W",
    "W[h, c, f]",
    "att[h, c]",
    "z[i <- j, h, c]",
    "a[i <- j, h]",
    "out",
    "out[i, h, c]",
    "n",
    "i",
    "j",
    "h",
    "c",
    "f",
    "F",
    "H",
    "C",
    "K",
    "i <- j",
    "n: node",
    "f: F",
    "h: H",
    "[H*C, F]",
    "[1, H, C]",
    "[1]",
    "\"lin_l.weight\"",
    "\"",
    "\"unterminated",
    "leaky_relu(",
    "elu(",
    "exp(",
    "log(",
    "sqrt(",
    "tanh(",
    "abs(",
    "sigmoid(",
    "relu(",
    "softplus(",
    "clamp_min(",
    "dropout(",
    "cross_entropy(out, y, train_mask)",
    "conv1:",
    "conv1: gatv2(",
    "gatv2",
    "slope",
    "dropout",
    "0",
    "1",
    "2",
    "0.2",
    "1e-3",
    "2.5E+2",
    "1e999",
    "1e",
    "2.",
    ".5",
    "-1",
    "-0.5",
    "00000000000000000000000000000000000001",
    "18446744073709551616",
    "NaN",
    "inf",
    "//",
    "/*",
    "*/",
    "// comment\n",
    "/* block */",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "α",
    "β_1",
    "→",
    "←",
    "∑",
    "é",
    "e\u{301}",
    "\u{0}",
    "\u{7f}",
    "\u{feff}",
    "\u{200b}",
    "\u{202e}",
    "🦀",
    "𝔽",
    "Ω",
    "\u{10ffff}",
    "ǅ",
    "ﬁ",
    "İ",
    "\\",
    "'",
    "`",
    "$",
    "#",
    "@",
    "!",
    "?",
    "&",
    "|",
    "%",
    "~",
];

fn random_bytes(rng: &mut Rng) -> String {
    let max = if rng.chance(1, 10) { 4000 } else { 200 };
    let len = rng.below(max);
    let mut bytes = Vec::with_capacity(len);
    for _ in 0..len {
        // Bias toward printable ASCII so the lexer gets past the first byte now and then.
        let b = if rng.chance(3, 4) {
            rng.range(0x20, 0x7f) as u8
        } else {
            rng.below(256) as u8
        };
        bytes.push(b);
    }
    if rng.chance(1, 2) {
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        // Random scalar values, including the awkward ones.
        let n = rng.below(200);
        (0..n)
            .map(|_| loop {
                let c = match rng.below(4) {
                    0 => rng.below(0x80) as u32,
                    1 => rng.below(0x800) as u32,
                    2 => rng.below(0x1_0000) as u32,
                    _ => rng.below(0x11_0000) as u32,
                };
                if let Some(c) = char::from_u32(c) {
                    break c;
                }
            })
            .collect()
    }
}

fn token_soup(rng: &mut Rng) -> String {
    let max = if rng.chance(1, 8) { 600 } else { 80 };
    let n = rng.below(max);
    let mut s = String::new();
    // Often start like a real block so the parser gets further.
    if rng.chance(1, 2) {
        s.push_str(rng.word(&[
            "layer l() {\n",
            "layer l {\n",
            "model m(p = 0.5) {\n",
            "layer ",
        ]));
    }
    for _ in 0..n {
        s.push_str(rng.word(TOKENS));
        if rng.chance(1, 2) {
            s.push(' ');
        }
    }
    if rng.chance(1, 2) {
        s.push_str("\n}\n");
    }
    s
}

/// Pathologically deep or long inputs: nesting, operator chains, long names, many statements.
fn deep_input(rng: &mut Rng) -> String {
    let depth = *rng.pick(&[10, 63, 64, 65, 100, 1000, 5000, 20000]);
    let body = match rng.below(12) {
        0 => format!("{}x[n, f]{}", "(".repeat(depth), ")".repeat(depth)),
        1 => format!("{}x[n, f]", "-".repeat(depth)),
        2 => format!("{}x[n, f]", "- ".repeat(depth)),
        3 => format!("{}x[n, f]", "sum_f ".repeat(depth)),
        4 => format!("{}x[n, f]{}", "exp(".repeat(depth), ")".repeat(depth)),
        5 => vec!["x[n, f]"; depth.max(1)].join(" + "),
        6 => vec!["x[n, f]"; depth.max(1)].join(" * "),
        7 => format!("x[n, f]{}", " ^ 2".repeat(depth.min(50))),
        8 => format!("{}x[n, f]{}", "(1 + ".repeat(depth), ")".repeat(depth)),
        9 => format!("{}x[n, f]", "mean_f sum_f ".repeat(depth)),
        10 => format!("x[{}]", vec!["n"; depth].join(", ")),
        _ => format!(
            "{}x[n, f]{}",
            "leaky_relu(".repeat(depth),
            ", 0.2)".repeat(depth)
        ),
    };
    let prefix = if rng.chance(1, 2) { "(" } else { "" };
    match rng.below(4) {
        0 => format!(
            "layer deep() {{\n    dims F;\n    input x[n: node, f: F];\n    y[n, f] = {prefix}{body};\n    output y;\n}}\n"
        ),
        1 => {
            // Many statements, each using the previous one twice.
            let mut s = String::from("layer chain() {\n    dims F;\n    input x[n: node, f: F];\n    t0[n, f] = x[n, f];\n");
            let k = depth.min(3000);
            for i in 1..=k {
                s.push_str(&format!(
                    "    t{i}[n, f] = t{}[n, f] * t{}[n, f] + x[n, f];\n",
                    i - 1,
                    i - 1
                ));
            }
            s.push_str(&format!("    output t{k};\n}}\n"));
            s
        }
        2 => {
            let name = "a".repeat(depth);
            format!("layer {name}() {{\n    dims F;\n    input {name}[n: node, f: F];\n    y[n, f] = {name}[n, f];\n    output y;\n}}\n")
        }
        _ => "{".repeat(depth) + &"}".repeat(depth / 2),
    }
}

/// A random program that follows the grammar, with names and indices that are only sometimes
/// right: it gets through the parser and exercises the checker, lowering and differentiation.
fn random_program(rng: &mut Rng) -> String {
    let dims = ["F", "H", "C", "D"];
    let mut s = String::new();
    let consts = ["slope", "p", "alpha"];
    s.push_str("layer rnd(slope = 0.2, p = 0.0, alpha = 1.0) {\n    dims F, H, C");
    if rng.chance(1, 3) {
        s.push_str(", D");
    }
    s.push_str(";\n");
    if rng.chance(1, 2) {
        s.push_str("    self_loops;\n");
    }
    // Tensors in scope: (name, kind, dense dims). kind: 0 node, 1 edge, 2 dense, 3 scalar.
    let mut tensors: Vec<(String, u8, Vec<&str>)> = vec![("x".into(), 0, vec!["F"])];
    s.push_str("    input x[n: node, f: F];\n");
    if rng.chance(1, 4) {
        s.push_str("    input e[i <- j, d: D];\n");
        tensors.push(("e".into(), 1, vec!["D"]));
    }
    let params: &[(&str, &str, Vec<&str>)] = &[
        (
            "W",
            "[h: H, c: C, f: F] as \"lin.weight\" [H*C, F]",
            vec!["H", "C", "F"],
        ),
        ("att", "[h: H, c: C] as \"att\" [1, H, C]", vec!["H", "C"]),
        ("b", "[h: H, c: C] as \"bias\" [H*C]", vec!["H", "C"]),
        ("v", "[c: C]", vec!["C"]),
        ("beta", " as \"beta\" [1]", vec![]),
        ("gamma", "", vec![]),
    ];
    for (name, decl, ds) in params {
        if rng.chance(2, 3) {
            s.push_str(&format!("    param {name}{decl};\n"));
            tensors.push((
                name.to_string(),
                if ds.is_empty() { 3 } else { 2 },
                ds.clone(),
            ));
        }
    }
    let index_of = |d: &str| match d {
        "F" => "f",
        "H" => "h",
        "C" => "c",
        _ => "d",
    };
    let n_eq = rng.range(1, 8);
    let mut last = "x".to_string();
    for k in 0..n_eq {
        let kind = *rng.pick(&[0u8, 0, 1, 1, 2, 3]);
        let mut ds: Vec<&str> = dims.iter().copied().filter(|_| rng.chance(1, 3)).collect();
        if rng.chance(1, 6) {
            ds.push(*rng.pick(&dims));
        }
        let mut lhs_idx: Vec<String> = Vec::new();
        let mut scope: Vec<String> = Vec::new();
        match kind {
            0 => {
                lhs_idx.push(rng.pick(&["n", "i"]).to_string());
                scope.push(lhs_idx[0].clone());
            }
            1 => {
                lhs_idx.push("i <- j".into());
                scope.extend(["i".to_string(), "j".to_string()]);
            }
            _ => {}
        }
        for d in &ds {
            let idx = index_of(d);
            if rng.chance(1, 5) {
                lhs_idx.push(format!("{idx}: {d}"));
            } else {
                lhs_idx.push(idx.to_string());
            }
            scope.push(idx.to_string());
        }
        let name = format!("t{k}");
        let lhs = if kind == 3 || lhs_idx.is_empty() {
            name.clone()
        } else {
            format!("{name}[{}]", lhs_idx.join(", "))
        };
        let rhs = random_expr(rng, &tensors, &scope, &consts, 0);
        s.push_str(&format!("    {lhs} = {rhs};\n"));
        tensors.push((name.clone(), if kind == 3 { 3 } else { kind }, ds));
        last = name;
    }
    if rng.chance(9, 10) {
        s.push_str(&format!("    output {last};\n"));
    }
    if rng.chance(1, 4) {
        let edge: Vec<&String> = tensors.iter().filter(|t| t.1 == 1).map(|t| &t.0).collect();
        if let Some(a) = edge.first() {
            s.push_str(&format!("    attention {a};\n"));
        }
    }
    s.push_str("}\n");
    if rng.chance(1, 4) {
        s = format!(
            "{s}\nmodel net(p = 0.5) {{\n    dims F, K;\n    input x[n: node, f: F];\n    labels y[n: node] classes K;\n    mask m[n: node];\n    h[n, d] = conv1: rnd(x, p = p);\n    out[n, k] = {};\n    loss = cross_entropy(out, y, m);\n    output out;\n}}\n",
            rng.pick(&["conv2: rnd(h)", "h[n, k]", "sum_d h[n, d]", "conv2: rnd(x, slope = -1)"])
        );
    }
    s
}

fn random_expr(
    rng: &mut Rng,
    tensors: &[(String, u8, Vec<&str>)],
    scope: &[String],
    consts: &[&str],
    depth: usize,
) -> String {
    let leaf = depth >= 4 || rng.chance(1, 3);
    if leaf {
        return match rng.below(6) {
            0 => rng.pick(&["0", "1", "2.5", "1e-3", "0.5"]).to_string(),
            1 => rng.pick(consts).to_string(),
            2 => rng.pick(&["F", "H", "C"]).to_string(),
            _ => {
                let (name, kind, ds) = rng.pick(tensors);
                let mut idx: Vec<String> = Vec::new();
                match kind {
                    0 => idx.push(rng.pick(&["n", "i", "j"]).to_string()),
                    1 => idx.push(rng.pick(&["i <- j", "j <- i", "i <- i"]).to_string()),
                    _ => {}
                }
                for d in ds {
                    let right = match *d {
                        "F" => "f",
                        "H" => "h",
                        "C" => "c",
                        _ => "d",
                    };
                    if rng.chance(7, 8) {
                        idx.push(right.into());
                    } else if let Some(s) = scope.first() {
                        idx.push(s.clone());
                    }
                }
                if idx.is_empty() || *kind == 3 {
                    name.clone()
                } else {
                    format!("{name}[{}]", idx.join(", "))
                }
            }
        };
    }
    let sub = |rng: &mut Rng| random_expr(rng, tensors, scope, consts, depth + 1);
    match rng.below(14) {
        0 => format!("{} + {}", sub(rng), sub(rng)),
        1 => format!("{} - {}", sub(rng), sub(rng)),
        2 => format!("{} * {}", sub(rng), sub(rng)),
        3 => format!("{} / {}", sub(rng), sub(rng)),
        4 => format!("-{}", sub(rng)),
        5 => format!(
            "({}) ^ {}",
            sub(rng),
            rng.pick(&["2", "-0.5", "0.5", "3", "0", "-1"])
        ),
        6 => format!("{}({})", rng.pick(&table_functions(false)), sub(rng)),
        7 => format!(
            "{}({}, {})",
            rng.pick(&[table_functions(true), vec!["dropout"]].concat()),
            sub(rng),
            rng.pick(&["slope", "0.2", "p", "alpha", "-1"])
        ),
        8 => format!(
            "sum_{} {}",
            rng.pick(&["f", "h", "c", "d", "n", "{h, c}"]),
            sub(rng)
        ),
        9 => format!(
            "mean_{} {}",
            rng.pick(&["f", "h", "c", "{j -> i}"]),
            sub(rng)
        ),
        10 => format!("sum_{{j -> i}} {}", sub(rng)),
        11 => format!("softmax_{} {}", rng.pick(&["j", "{j -> i}", "h"]), sub(rng)),
        12 => format!("({})", sub(rng)),
        _ => format!("{} * ({} + {})", sub(rng), sub(rng), sub(rng)),
    }
}

/// A dense dimension of the typed generator, with its canonical index.
#[derive(Clone, Copy, PartialEq)]
enum Dim {
    F,
    H,
    C,
}

impl Dim {
    fn name(self) -> &'static str {
        match self {
            Dim::F => "F",
            Dim::H => "H",
            Dim::C => "C",
        }
    }

    fn index(self) -> &'static str {
        match self {
            Dim::F => "f",
            Dim::H => "h",
            Dim::C => "c",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Dom {
    Node,
    Edge,
    Dense,
}

struct Typed {
    name: String,
    dom: Dom,
    dims: Vec<Dim>,
}

/// Where an expression is generated: the equation's domain (node `i`, or edge `i <- j`) and the
/// dense indices bound by the left-hand side and enclosing reductions.
#[derive(Clone)]
struct Scope {
    dom: Dom,
    dense: Vec<Dim>,
    /// Inside the body of a neighbourhood reduction (no second one allowed).
    in_neighbourhood: bool,
}

/// A program with the signature of `models/gatv2.gat` (same inputs and parameter names, output
/// `out[i, h, c]`) whose equations are random but well typed most of the time, so that it gets
/// through the checker, lowering and differentiation, and often runs on
/// `tests/reference/gatv2_basic.safetensors`.
fn typed_program(rng: &mut Rng) -> String {
    use Dim::*;
    let mut s =
        String::from("layer typed(slope = 0.2, p = 0.0, alpha = 1.0) {\n    dims F, H, C;\n");
    if rng.chance(2, 3) {
        s.push_str("    self_loops;\n");
    }
    s.push_str(
        "    input x[n: node, f: F];
    param W_l[h: H, c: C, f: F] as \"lin_l.weight\" [H*C, F];
    param b_l[h: H, c: C]       as \"lin_l.bias\"   [H*C];
    param W_r[h: H, c: C, f: F] as \"lin_r.weight\" [H*C, F];
    param b_r[h: H, c: C]       as \"lin_r.bias\"   [H*C];
    param att[h: H, c: C]       as \"att\"          [1, H, C];
    param bias[h: H, c: C]      as \"bias\"         [H*C];
",
    );
    let mut tensors = vec![
        Typed {
            name: "x".into(),
            dom: Dom::Node,
            dims: vec![F],
        },
        Typed {
            name: "W_l".into(),
            dom: Dom::Dense,
            dims: vec![H, C, F],
        },
        Typed {
            name: "b_l".into(),
            dom: Dom::Dense,
            dims: vec![H, C],
        },
        Typed {
            name: "W_r".into(),
            dom: Dom::Dense,
            dims: vec![H, C, F],
        },
        Typed {
            name: "b_r".into(),
            dom: Dom::Dense,
            dims: vec![H, C],
        },
        Typed {
            name: "att".into(),
            dom: Dom::Dense,
            dims: vec![H, C],
        },
        Typed {
            name: "bias".into(),
            dom: Dom::Dense,
            dims: vec![H, C],
        },
    ];
    let mut attention = None;
    let n_eq = rng.range(0, 7);
    for k in 0..n_eq {
        let dom = if rng.chance(1, 2) {
            Dom::Node
        } else {
            Dom::Edge
        };
        let dims: Vec<Dim> = [H, C, F].into_iter().filter(|_| rng.chance(1, 2)).collect();
        let name = format!("t{k}");
        let lhs = lhs_of(rng, &name, dom, &dims);
        let scope = Scope {
            dom,
            dense: dims.clone(),
            in_neighbourhood: false,
        };
        // Softmax and dropout only stand as a whole right-hand side.
        let edges: Vec<&Typed> = tensors
            .iter()
            .filter(|t| t.dom == Dom::Edge && t.dims == dims)
            .collect();
        let rhs = if dom == Dom::Edge && !edges.is_empty() && rng.chance(1, 3) {
            let src = rng.pick(&edges);
            let idx = access_indices(&src.dims);
            if rng.chance(1, 4) {
                format!("dropout({}[i <- j{idx}], p)", src.name)
            } else {
                attention.get_or_insert_with(|| name.clone());
                format!(
                    "softmax_{} {}[i <- j{idx}]",
                    rng.pick(&["j", "{j -> i}"]),
                    src.name
                )
            }
        } else {
            anchored(rng, &tensors, &scope)
        };
        s.push_str(&format!("    {lhs} = {rhs};\n"));
        tensors.push(Typed { name, dom, dims });
    }
    let scope = Scope {
        dom: Dom::Node,
        dense: vec![H, C],
        in_neighbourhood: false,
    };
    let rhs = anchored(rng, &tensors, &scope);
    let lhs = if rng.chance(3, 4) {
        "out[i, h: H, c: C]"
    } else {
        "out[i, h, c]"
    };
    s.push_str(&format!("    {lhs} = {rhs};\n    output out;\n"));
    if let Some(a) = attention {
        if rng.chance(1, 2) {
            s.push_str(&format!("    attention {a};\n"));
        }
    }
    s.push_str("}\n");
    s
}

/// A random expression that (nearly always) reads a node tensor at `i` in a node equation, as
/// the checker requires the node index to occur on the right-hand side.
fn anchored(rng: &mut Rng, tensors: &[Typed], scope: &Scope) -> String {
    let e = typed_expr(rng, tensors, scope, 0);
    if scope.dom != Dom::Node || rng.chance(1, 10) {
        return e;
    }
    let nodes: Vec<&Typed> = tensors.iter().filter(|t| t.dom == Dom::Node).collect();
    let t = *rng.pick(&nodes);
    let no_neighbourhood = Scope {
        in_neighbourhood: true,
        ..scope.clone()
    };
    let anchor = typed_access(rng, t, &no_neighbourhood);
    format!("{e} {} {anchor}", rng.pick(&["+", "-", "*"]))
}

fn lhs_of(rng: &mut Rng, name: &str, dom: Dom, dims: &[Dim]) -> String {
    let mut idx = vec![match dom {
        Dom::Edge => "i <- j".to_string(),
        _ => "i".to_string(),
    }];
    for d in dims {
        // Annotated, so that an index the right-hand side does not use is still well defined.
        if rng.chance(4, 5) {
            idx.push(format!("{}: {}", d.index(), d.name()));
        } else {
            idx.push(d.index().to_string());
        }
    }
    format!("{name}[{}]", idx.join(", "))
}

fn access_indices(dims: &[Dim]) -> String {
    dims.iter().map(|d| format!(", {}", d.index())).collect()
}

/// An expression valid in `scope` (most of the time: a few choices are deliberately off).
fn typed_expr(rng: &mut Rng, tensors: &[Typed], scope: &Scope, depth: usize) -> String {
    let sub = |rng: &mut Rng, scope: &Scope| typed_expr(rng, tensors, scope, depth + 1);
    if depth >= 4 || rng.chance(2, 5) {
        return typed_atom(rng, tensors, scope);
    }
    match rng.below(16) {
        0 | 1 => format!("{} + {}", sub(rng, scope), sub(rng, scope)),
        2 => format!("{} - {}", sub(rng, scope), sub(rng, scope)),
        3 | 4 => format!("{} * {}", sub(rng, scope), sub(rng, scope)),
        5 => format!("{} / (1 + ({}) ^ 2)", sub(rng, scope), sub(rng, scope)),
        6 => format!("-{}", sub(rng, scope)),
        7 => format!(
            "({}) ^ {}",
            sub(rng, scope),
            rng.pick(&["2", "3", "0.5", "-0.5", "-1", "0", "1"])
        ),
        8 => format!("{}({})", rng.pick(&table_functions(false)), sub(rng, scope)),
        9 => format!(
            "{}({}, {})",
            rng.pick(&table_functions(true)),
            sub(rng, scope),
            rng.pick(&["slope", "alpha", "0.1", "-1"])
        ),
        10 | 11 => {
            // A dense reduction over a dimension not bound yet, whose body uses it.
            let free: Vec<Dim> = [Dim::F, Dim::H, Dim::C]
                .into_iter()
                .filter(|d| !scope.dense.contains(d))
                .collect();
            if free.is_empty() {
                return sub(rng, scope);
            }
            let d = *rng.pick(&free);
            let mut inner = scope.clone();
            inner.dense.push(d);
            let users: Vec<&Typed> = tensors.iter().filter(|t| t.dims.contains(&d)).collect();
            let anchor = if users.is_empty() {
                d.name().to_string()
            } else {
                {
                    let t = *rng.pick(&users);
                    typed_access(rng, t, &inner)
                }
            };
            let op = rng.pick(&["sum", "mean"]);
            if rng.chance(1, 2) {
                format!("{op}_{} {anchor} * {}", d.index(), sub(rng, &inner))
            } else {
                format!("({op}_{} {anchor})", d.index())
            }
        }
        12 | 13 if scope.dom == Dom::Node && !scope.in_neighbourhood => {
            // A neighbourhood reduction: the body is an edge expression.
            let inner = Scope {
                dom: Dom::Edge,
                dense: scope.dense.clone(),
                in_neighbourhood: true,
            };
            let op = rng.pick(&["sum", "mean"]);
            format!("({op}_{{j -> i}} ({}))", sub(rng, &inner))
        }
        14 => format!("({})", sub(rng, scope)),
        _ => typed_atom(rng, tensors, scope),
    }
}

fn typed_atom(rng: &mut Rng, tensors: &[Typed], scope: &Scope) -> String {
    match rng.below(10) {
        0 => rng.pick(&["1", "0.5", "2", "1e-3", "0"]).to_string(),
        1 => rng.pick(&["slope", "alpha", "H", "C"]).to_string(),
        _ => {
            let t = rng.pick(tensors);
            typed_access(rng, t, scope)
        }
    }
}

/// Reads `t` in `scope`, reducing over what the scope does not bind.
fn typed_access(rng: &mut Rng, t: &Typed, scope: &Scope) -> String {
    let missing: Vec<Dim> = t
        .dims
        .iter()
        .copied()
        .filter(|d| !scope.dense.contains(d))
        .collect();
    let idx = access_indices(&t.dims);
    let body = match (t.dom, scope.dom) {
        (Dom::Dense, _) => {
            if t.dims.is_empty() {
                t.name.clone()
            } else {
                format!("{}[{}]", t.name, &idx[2..])
            }
        }
        (Dom::Node, Dom::Node) => {
            if !scope.in_neighbourhood && rng.chance(1, 4) {
                format!("(sum_{{j -> i}} {}[j{idx}])", t.name)
            } else {
                format!("{}[i{idx}]", t.name)
            }
        }
        (Dom::Node, Dom::Edge) => format!("{}[{}{idx}]", t.name, rng.pick(&["i", "j"])),
        (Dom::Edge, Dom::Edge) => format!("{}[i <- j{idx}]", t.name),
        (Dom::Edge, Dom::Node) => {
            if scope.in_neighbourhood {
                // Deliberately wrong now and then.
                format!("{}[i <- j{idx}]", t.name)
            } else {
                format!("(sum_{{j -> i}} {}[i <- j{idx}])", t.name)
            }
        }
        (Dom::Node | Dom::Edge, Dom::Dense) => format!("{}[i{idx}]", t.name),
    };
    if missing.is_empty() {
        body
    } else {
        let names: Vec<&str> = missing.iter().map(|d| d.index()).collect();
        if names.len() == 1 {
            format!("(sum_{} {body})", names[0])
        } else {
            format!("(sum_{{{}}} {body})", names.join(", "))
        }
    }
}

#[test]
fn compile_random_text() {
    run_campaign(
        "text",
        config(20_000),
        |rng, ctx| {
            let kind = rng.below(10);
            let text = match kind {
                0 => random_bytes(rng),
                1..=2 => token_soup(rng),
                3 => deep_input(rng),
                4..=5 => random_program(rng),
                _ => typed_program(rng),
            };
            let kind = match kind {
                0 => "bytes",
                1..=2 => "token soup",
                3 => "deep",
                4..=5 => "program",
                _ => "typed program",
            };
            let ok = ctx.check(
                "compile",
                text.as_bytes(),
                || Input::Text {
                    text: text.clone(),
                    note: format!("random text ({kind})"),
                },
                || gatgrad::compile("fuzz.gat", &text).ok(),
            );
            let outcome = match &ok {
                Some(Some(_)) => "compiles",
                Some(None) => "rejected",
                None => "PANIC",
            };
            ctx.count(format!("{kind}: {outcome}"));
            if let Some(Some(c)) = ok {
                run_on_a_case(rng, ctx, &c, &text, &format!("random text ({kind})"));
            }
        },
        Some(stage_panics),
    );
}

// ---------------------------------------------------------------------------------------------
// (b) Mutated models and fixtures.

fn mutate_text(rng: &mut Rng, text: &str, donors: &[(String, String)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let rounds = rng.range(1, 5);
    for _ in 0..rounds {
        let len = chars.len();
        let span = |rng: &mut Rng, len: usize| {
            let a = rng.below(len + 1);
            let max = if rng.chance(1, 4) { 200 } else { 12 };
            let b = (a + rng.below(max + 1)).min(len);
            (a, b)
        };
        match rng.below(10) {
            0 => {
                let (a, b) = span(rng, len);
                chars.drain(a..b);
            }
            1 => {
                let at = rng.below(len + 1);
                let piece: Vec<char> = if rng.chance(1, 2) {
                    rng.pick(TOKENS).chars().collect()
                } else {
                    // A span from another file.
                    let (_, donor) = rng.pick(donors);
                    let d: Vec<char> = donor.chars().collect();
                    let (a, b) = span(rng, d.len());
                    d[a..b].to_vec()
                };
                chars.splice(at..at, piece);
            }
            2 => {
                let (a, b) = span(rng, len);
                let piece: Vec<char> = rng.pick(TOKENS).chars().collect();
                chars.splice(a..b, piece);
            }
            3 => {
                // Duplicate a span in place.
                let (a, b) = span(rng, len);
                let piece = chars[a..b].to_vec();
                chars.splice(b..b, piece);
            }
            4 | 5 => {
                // Swap, delete or duplicate whole lines.
                let s: String = chars.iter().collect();
                let mut lines: Vec<String> = s.split_inclusive('\n').map(String::from).collect();
                if !lines.is_empty() {
                    let i = rng.below(lines.len());
                    let j = rng.below(lines.len());
                    match rng.below(3) {
                        0 => lines.swap(i, j),
                        1 => {
                            lines.remove(i);
                        }
                        _ => {
                            let l = lines[i].clone();
                            lines.insert(j, l);
                        }
                    }
                }
                chars = lines.concat().chars().collect();
            }
            6 => {
                // Replace one identifier-like word by another word of the file.
                let s: String = chars.iter().collect();
                let words: Vec<&str> = s
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty())
                    .collect();
                if words.len() >= 2 {
                    let from = rng.pick(&words).to_string();
                    let to = rng.pick(&words).to_string();
                    let count = s.matches(from.as_str()).count();
                    let nth = rng.below(count.max(1));
                    let mut out = String::new();
                    let mut rest = s.as_str();
                    let mut seen = 0;
                    while let Some(p) = rest.find(from.as_str()) {
                        out.push_str(&rest[..p]);
                        out.push_str(if seen == nth { &to } else { &from });
                        rest = &rest[p + from.len()..];
                        seen += 1;
                    }
                    out.push_str(rest);
                    chars = out.chars().collect();
                }
            }
            7 => {
                // Change a number.
                let positions: Vec<usize> =
                    (0..len).filter(|&i| chars[i].is_ascii_digit()).collect();
                if !positions.is_empty() {
                    let at = *rng.pick(&positions);
                    let replacement: Vec<char> = rng
                        .pick(&[
                            "0",
                            "9",
                            "1e999",
                            "-1",
                            "00",
                            "99999999999999999999",
                            "0.0",
                            ".",
                            "e",
                        ])
                        .chars()
                        .collect();
                    chars.splice(at..at + 1, replacement);
                }
            }
            8 => {
                // Delete or insert a single bracket-like character.
                let brackets = ['(', ')', '[', ']', '{', '}', ';', ',', '"', '<', '-', '>'];
                let positions: Vec<usize> =
                    (0..len).filter(|&i| brackets.contains(&chars[i])).collect();
                if rng.chance(1, 2) && !positions.is_empty() {
                    chars.remove(*rng.pick(&positions));
                } else {
                    let at = rng.below(len + 1);
                    chars.insert(at, *rng.pick(&brackets));
                }
            }
            _ => {
                // Truncate.
                let at = rng.below(len + 1);
                chars.truncate(at);
            }
        }
    }
    chars.into_iter().collect()
}

/// The cases a mutant that still compiles is run on.
struct Cases {
    files: Vec<(String, TensorFile)>,
}

impl Cases {
    fn load() -> Cases {
        let files = reference_cases()
            .into_iter()
            .map(|(name, bytes)| {
                let f = TensorFile::from_bytes(&name, bytes).expect("reference case is valid");
                (name, f)
            })
            .collect();
        Cases { files }
    }
}

fn run_case_f64(
    program: &gatgrad::codegen::ir::Program,
    file: &TensorFile,
) -> Result<Vec<gatgrad::cases::Named>, gatgrad::runtime::DataError> {
    gatgrad::cases::run_case::<f64>(program, file, &HashMap::new(), &HashMap::new())
}

/// Runs a program that compiled on one of the reference cases (chosen by `rng`), checking
/// that `run_case` does not panic.
fn run_on_a_case(rng: &mut Rng, ctx: &mut Ctx, c: &gatgrad::Compiled, text: &str, note: &str) {
    thread_local! {
        static CASES: Cases = Cases::load();
    }
    CASES.with(|cases| {
        let (case_name, file) = rng.pick(&cases.files);
        let result = ctx.check(
            &format!("run_case({case_name})"),
            text.as_bytes(),
            || Input::Text {
                text: text.to_string(),
                note: format!("{note}; compiles, then run_case on {case_name}"),
            },
            || run_case_f64(&c.program, file).is_ok(),
        );
        ctx.count(match result {
            Some(true) => "run_case ok",
            Some(false) => "run_case error",
            None => "run_case PANIC",
        });
    });
}

/// For shrinking: where running `stage` on `text` panics, if it does.
fn stage_panics(stage: &str, text: &str) -> Option<String> {
    if stage == "compile" {
        return compile_panics(text);
    }
    let case = stage
        .strip_prefix("run_case(")?
        .strip_suffix(')')?
        .to_string();
    let c = gatgrad::compile("fuzz.gat", text).ok()?;
    let bytes = std::fs::read(root().join("tests/reference").join(&case)).ok()?;
    let file = TensorFile::from_bytes(&case, bytes).ok()?;
    guarded(|| {
        let _ = run_case_f64(&c.program, &file);
    })
    .err()
    .map(|(loc, _)| loc)
}

#[test]
fn compile_mutated_models() {
    let files = gat_files();
    run_campaign(
        "mutants",
        config(20_000),
        move |rng, ctx| {
            let (name, original) = rng.pick(&files);
            let text = mutate_text(rng, original, &files);
            let compiled = ctx.check(
                "compile",
                text.as_bytes(),
                || Input::Text {
                    text: text.clone(),
                    note: format!("a mutant of {name}"),
                },
                || gatgrad::compile(name, &text).ok(),
            );
            ctx.count(match compiled {
                Some(Some(_)) => "compiles",
                Some(None) => "rejected",
                None => "compile PANIC",
            });
            // A mutant that still compiles must also run (or fail cleanly) on real data.
            if let Some(Some(c)) = compiled {
                run_on_a_case(rng, ctx, &c, &text, &format!("a mutant of {name}"));
            }
        },
        Some(stage_panics),
    );
}

/// Every zoo model compiles: guards the fuzzers against testing only error paths.
#[test]
fn zoo_models_compile() {
    for (name, text) in gat_files() {
        if name.starts_with("models/") {
            if let Err(e) = gatgrad::compile(&name, &text) {
                panic!("{name} does not compile:\n{e}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (c) Mutated tensor files.

type Tensors = Vec<(String, Vec<usize>, TensorData)>;

fn tensors_of(file: &TensorFile) -> Tensors {
    file.names()
        .into_iter()
        .map(|name| {
            let shape = file.shape(name).unwrap().to_vec();
            let data = file.data(name).unwrap();
            (name.to_string(), shape, data)
        })
        .collect()
}

fn as_f64s(d: &TensorData) -> Vec<f64> {
    match d {
        TensorData::F64(v) => v.clone(),
        TensorData::F32(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::I64(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::U8(v) => v.iter().map(|&x| x as f64).collect(),
    }
}

fn with_dtype(rng: &mut Rng, values: Vec<f64>) -> TensorData {
    match rng.below(4) {
        0 => TensorData::F64(values),
        1 => TensorData::F32(values.into_iter().map(|x| x as f32).collect()),
        2 => TensorData::I64(values.into_iter().map(|x| x as i64).collect()),
        _ => TensorData::U8(values.into_iter().map(|x| x as u8).collect()),
    }
}

fn random_value(rng: &mut Rng) -> f64 {
    match rng.below(12) {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => f64::MAX,
        4 => -f64::MAX,
        5 => f64::MIN_POSITIVE / 4.0,
        6 => 0.0,
        7 => -0.0,
        8 => 1e300,
        9 => 3.5e38,
        10 => 1e-300,
        _ => (rng.unit() - 0.5) * 10.0,
    }
}

fn random_index(rng: &mut Rng, n: usize) -> i64 {
    match rng.below(14) {
        0 => -1,
        1 => n as i64,
        2 => n as i64 + 1,
        3 => i64::MAX,
        4 => i64::MIN,
        5 => u32::MAX as i64,
        6 => u32::MAX as i64 + 1,
        7 => i32::MAX as i64,
        8 => 1 << 40,
        9 => -(1 << 33),
        _ => rng.below(n.max(1)) as i64,
    }
}

fn random_shape(rng: &mut Rng) -> Vec<usize> {
    let rank = rng.below(5);
    (0..rank)
        .map(|_| match rng.below(8) {
            0 => 0,
            1 => 1,
            _ => rng.range(1, 13),
        })
        .collect()
}

/// One structured mutation; returns a description of it.
fn mutate_tensors(rng: &mut Rng, t: &mut Tensors) -> String {
    if t.is_empty() {
        return "no tensors".into();
    }
    let nodes = t
        .iter()
        .find(|x| x.0 == "x")
        .and_then(|x| x.1.first().copied())
        .unwrap_or(7);
    let k = rng.below(t.len());
    let name = t[k].0.clone();
    match rng.below(13) {
        0 => {
            // A random shape (and random data to match) for one tensor.
            let shape = random_shape(rng);
            let numel: usize = shape.iter().product();
            let values: Vec<f64> = (0..numel).map(|_| (rng.unit() - 0.5) * 4.0).collect();
            let keep_dtype = rng.chance(1, 2);
            t[k].2 = if keep_dtype {
                match &t[k].2 {
                    TensorData::F64(_) => TensorData::F64(values),
                    TensorData::F32(_) => {
                        TensorData::F32(values.iter().map(|&x| x as f32).collect())
                    }
                    TensorData::I64(_) => TensorData::I64(
                        values
                            .iter()
                            .map(|_| rng.below(nodes.max(1)) as i64)
                            .collect(),
                    ),
                    TensorData::U8(_) => {
                        TensorData::U8(values.iter().map(|_| rng.below(2) as u8).collect())
                    }
                }
            } else {
                with_dtype(rng, values)
            };
            t[k].1 = shape.clone();
            format!("`{name}` gets shape {shape:?}")
        }
        1 => {
            // Same data, another dtype.
            let values = as_f64s(&t[k].2);
            t[k].2 = with_dtype(rng, values);
            format!("`{name}` converted to another dtype")
        }
        2 => {
            // Same data, reshaped to another shape with the same element count.
            let numel = t[k].2.len();
            let shape = match rng.below(4) {
                0 => vec![numel],
                1 => vec![1, numel],
                2 => vec![numel, 1],
                _ => {
                    let mut s = t[k].1.clone();
                    s.reverse();
                    s
                }
            };
            t[k].1 = shape.clone();
            format!("`{name}` reshaped to {shape:?}")
        }
        3 | 4 => {
            // Random edge indices, including huge and negative ones.
            if let Some(e) = t.iter_mut().find(|x| x.0 == "edge_index") {
                let mut v = match &e.2 {
                    TensorData::I64(v) => v.clone(),
                    other => as_f64s(other).into_iter().map(|x| x as i64).collect(),
                };
                let count = rng.range(1, 4);
                let mut what = Vec::new();
                for _ in 0..count {
                    if v.is_empty() {
                        break;
                    }
                    let at = rng.below(v.len());
                    v[at] = random_index(rng, nodes);
                    what.push(format!("[{at}] = {}", v[at]));
                }
                e.2 = TensorData::I64(v);
                format!("edge_index entries {}", what.join(", "))
            } else {
                "no edge_index".into()
            }
        }
        5 => {
            // A random graph of random size (self loops, duplicates, isolated nodes).
            let edges = match rng.below(5) {
                0 => 0,
                1 => 1,
                _ => rng.range(1, 60),
            };
            let mut v = Vec::with_capacity(2 * edges);
            for _ in 0..2 * edges {
                v.push(rng.below(nodes.max(1)) as i64);
            }
            if let Some(e) = t.iter_mut().find(|x| x.0 == "edge_index") {
                e.1 = vec![2, edges];
                e.2 = TensorData::I64(v);
            }
            format!("edge_index replaced by {edges} random edges")
        }
        6 | 7 => {
            // A non-finite or extreme value in one float tensor.
            let floats: Vec<usize> = (0..t.len())
                .filter(|&i| matches!(t[i].2, TensorData::F64(_) | TensorData::F32(_)))
                .collect();
            if floats.is_empty() {
                return "no float tensor".into();
            }
            let i = *rng.pick(&floats);
            let value = random_value(rng);
            let len = t[i].2.len();
            if len == 0 {
                return format!("`{}` is empty", t[i].0);
            }
            let at = rng.below(len);
            match &mut t[i].2 {
                TensorData::F64(v) => v[at] = value,
                TensorData::F32(v) => v[at] = value as f32,
                _ => {}
            }
            format!("`{}`[{at}] = {value:e}", t[i].0)
        }
        8 => {
            t.remove(k);
            format!("`{name}` removed")
        }
        9 => {
            let new = rng
                .pick(&[
                    "x",
                    "edge_index",
                    "y",
                    "train_mask",
                    "grad_out",
                    "param.att",
                    "",
                    "x ",
                    "\u{0}",
                    "param.",
                    "grad.x",
                ])
                .to_string();
            if t.iter().any(|x| x.0 == new) {
                t.remove(k);
                format!("`{name}` removed (rename target `{new}` exists)")
            } else {
                t[k].0 = new.clone();
                format!("`{name}` renamed `{new}`")
            }
        }
        10 => {
            // Labels and masks: random values.
            let mut what = String::from("no labels or mask");
            for x in t.iter_mut() {
                if x.0 == "y" {
                    let mut v = match &x.2 {
                        TensorData::I64(v) => v.clone(),
                        other => as_f64s(other).into_iter().map(|f| f as i64).collect(),
                    };
                    if !v.is_empty() {
                        let at = rng.below(v.len());
                        v[at] = *rng.pick(&[-1, 3, 4, 100, i64::MAX, i64::MIN, 1 << 40]);
                        what = format!("y[{at}] = {}", v[at]);
                    }
                    x.2 = TensorData::I64(v);
                } else if x.0 == "train_mask" && rng.chance(1, 2) {
                    let len = x.2.len();
                    x.2 = TensorData::U8(
                        (0..len)
                            .map(|_| *rng.pick(&[0u8, 0, 0, 1, 2, 255]))
                            .collect(),
                    );
                    what = "train_mask randomised".into();
                }
            }
            what
        }
        11 => {
            // Change the node count: x (and grad_out, y, train_mask) get `m` rows.
            let m = *rng.pick(&[0usize, 1, 2, 3, 6, 8, 20]);
            for x in t.iter_mut() {
                let per_row = |x: &(String, Vec<usize>, TensorData)| {
                    x.1.get(1..).map_or(1, |r| r.iter().product::<usize>())
                };
                if ["x", "grad_out", "y", "train_mask"].contains(&x.0.as_str()) && !x.1.is_empty() {
                    let w = per_row(x);
                    let numel = m * w;
                    let values: Vec<f64> = (0..numel)
                        .map(|i| if x.0 == "y" { (i % 3) as f64 } else { 1.0 })
                        .collect();
                    x.2 = match &x.2 {
                        TensorData::F64(_) => TensorData::F64(values),
                        TensorData::F32(_) => {
                            TensorData::F32(values.iter().map(|&v| v as f32).collect())
                        }
                        TensorData::I64(_) => {
                            TensorData::I64(values.iter().map(|&v| v as i64).collect())
                        }
                        TensorData::U8(_) => {
                            TensorData::U8(values.iter().map(|&v| v as u8).collect())
                        }
                    };
                    x.1[0] = m;
                }
            }
            format!("node count set to {m}")
        }
        _ => {
            // A zero-sized axis.
            let mut shape = t[k].1.clone();
            if shape.is_empty() {
                shape.push(0);
            } else {
                let a = rng.below(shape.len());
                shape[a] = 0;
            }
            t[k].2 = match &t[k].2 {
                TensorData::F64(_) => TensorData::F64(vec![]),
                TensorData::F32(_) => TensorData::F32(vec![]),
                TensorData::I64(_) => TensorData::I64(vec![]),
                TensorData::U8(_) => TensorData::U8(vec![]),
            };
            t[k].1 = shape.clone();
            format!("`{name}` emptied to shape {shape:?}")
        }
    }
}

/// One byte-level mutation of a serialized file; returns a description.
fn mutate_bytes(rng: &mut Rng, bytes: &mut Vec<u8>) -> String {
    let len = bytes.len();
    let header_end = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        .map_or(0, |h| (h.min(len as u64) as usize + 8).min(len));
    match rng.below(9) {
        0 => {
            let at = rng.below(len.max(1)).min(len.saturating_sub(1));
            if len > 0 {
                bytes[at] ^= 1 << rng.below(8);
            }
            format!("bit flip at {at}")
        }
        1 => {
            let at = rng.below(len + 1);
            bytes.truncate(at);
            format!("truncated to {at} bytes")
        }
        2 => {
            let at = rng.below(len + 1);
            let n = rng.range(1, 16);
            let junk: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
            bytes.splice(at..at, junk);
            format!("{n} random bytes inserted at {at}")
        }
        3 => {
            let at = rng.below(len + 1);
            let end = (at + rng.range(1, 32)).min(len);
            bytes.drain(at..end);
            format!("bytes {at}..{end} deleted")
        }
        4 => {
            // Rewrite the header length.
            let v: u64 = match rng.below(5) {
                0 => 0,
                1 => u64::MAX,
                2 => (len as u64).saturating_sub(8),
                3 => rng.below(len + 16) as u64,
                _ => 100_000_001,
            };
            if len >= 8 {
                bytes[..8].copy_from_slice(&v.to_le_bytes());
            }
            format!("header length set to {v}")
        }
        5 | 6 => {
            // Change a digit inside the header: shapes and offsets.
            let digits: Vec<usize> = (8..header_end)
                .filter(|&i| bytes[i].is_ascii_digit())
                .collect();
            if digits.is_empty() {
                return "no digit in the header".into();
            }
            let at = *rng.pick(&digits);
            let d = b'0' + rng.below(10) as u8;
            bytes[at] = d;
            format!("header digit at {at} set to {}", d as char)
        }
        7 => {
            // Replace a header token (a dtype, a key) by another one of the same length.
            let header = String::from_utf8_lossy(&bytes[8.min(len)..header_end]).into_owned();
            let swaps = [
                ("\"F64\"", "\"I64\""),
                ("\"I64\"", "\"F64\""),
                ("\"F64\"", "\"U64\""),
                ("\"U8\"", "\"I8\""),
                ("\"F64\"", "\"BF16\""),
                ("\"F64\"", "\"F32\""),
                ("shape", "shapf"),
                ("data_offsets", "data_offsetz"),
                ("[", "{"),
                (",", ":"),
            ];
            let (from, to) = *rng.pick(&swaps);
            match header.find(from) {
                Some(p) => {
                    let mut h = header.clone();
                    h.replace_range(p..p + from.len(), to);
                    let mut out = (h.len() as u64).to_le_bytes().to_vec();
                    out.extend(h.as_bytes());
                    out.extend(&bytes[header_end..]);
                    *bytes = out;
                    format!("header `{from}` replaced by `{to}` at {p}")
                }
                None => format!("no `{from}` in the header"),
            }
        }
        _ => {
            // Overwrite a stretch of the data section with random bytes (NaNs, huge indices).
            if header_end >= len {
                return "no data section".into();
            }
            let at = rng.range(header_end, len);
            let end = (at + rng.range(1, 24)).min(len);
            for b in &mut bytes[at..end] {
                *b = if rng.chance(1, 2) {
                    0xff
                } else {
                    rng.below(256) as u8
                };
            }
            format!("data bytes {at}..{end} randomised")
        }
    }
}

/// A readable account of a mutated file: the header, for the report.
fn describe_file(bytes: &[u8]) -> String {
    let Some(h) = bytes.get(..8) else {
        return format!("{} bytes, no header", bytes.len());
    };
    let n = u64::from_le_bytes(h.try_into().unwrap());
    match usize::try_from(n).ok().and_then(|n| bytes.get(8..8 + n)) {
        Some(header) => format!("header: {}", String::from_utf8_lossy(header)),
        None => format!("header length {n} in {} bytes", bytes.len()),
    }
}

/// A consistent case of random sizes for the single-layer zoo models (every parameter name any
/// of them uses) or for `gatv2_two_layer`: shapes agree, so `run_case` gets past binding and
/// runs forward and backward on odd graphs (no edges, self loops only, duplicates, isolated or
/// zero nodes) and extreme but finite values.
fn synthesise(rng: &mut Rng, model: &str) -> (Tensors, String) {
    fn size(rng: &mut Rng) -> usize {
        match rng.below(12) {
            0 => 0,
            1..=3 => 1,
            _ => rng.range(2, 6),
        }
    }
    fn values(rng: &mut Rng, n: usize, extreme: bool) -> Vec<f64> {
        (0..n)
            .map(|_| {
                if extreme && rng.chance(1, 8) {
                    *rng.pick(&[
                        1e300, -1e300, 1e154, 1e-300, 5e-324, 0.0, -0.0, 700.0, -745.0,
                    ])
                } else {
                    (rng.unit() - 0.5) * 4.0
                }
            })
            .collect()
    }
    let n = match rng.below(8) {
        0 => 0,
        1 => 1,
        _ => rng.range(2, 13),
    };
    let e = match rng.below(6) {
        0 => 0,
        _ => rng.range(1, 40),
    };
    let extreme = rng.chance(1, 4);
    let mut edges: Vec<i64> = Vec::with_capacity(2 * e);
    let graph = rng.below(4);
    for _ in 0..e {
        edges.push(rng.below(n.max(1)) as i64);
    }
    for k in 0..e {
        let d = match graph {
            0 => edges[k], // self loops only
            1 => 0,        // everything into node 0
            _ => rng.below(n.max(1)) as i64,
        };
        edges.push(d);
    }
    if n == 0 {
        // No node to point at: the only valid graph is empty.
        edges.clear();
    }
    let e = edges.len() / 2;
    let f = size(rng).max(usize::from(rng.chance(3, 4)));
    let mut t: Tensors = Vec::new();
    let mut push = |name: &str, shape: Vec<usize>, data: Vec<f64>| {
        t.push((name.to_string(), shape, TensorData::F64(data)));
    };
    push("x", vec![n, f], values(rng, n * f, extreme));
    let about = if model.ends_with("two_layer.gat") {
        let (h1, c1, h2, c2) = (size(rng), size(rng), size(rng), size(rng));
        let d1 = h1 * c1;
        for p in ["lin_l", "lin_r"] {
            push(
                &format!("param.conv1.{p}.weight"),
                vec![d1, f],
                values(rng, d1 * f, extreme),
            );
            push(
                &format!("param.conv1.{p}.bias"),
                vec![d1],
                values(rng, d1, extreme),
            );
            push(
                &format!("param.conv2.{p}.weight"),
                vec![h2 * c2, d1],
                values(rng, h2 * c2 * d1, extreme),
            );
            push(
                &format!("param.conv2.{p}.bias"),
                vec![h2 * c2],
                values(rng, h2 * c2, extreme),
            );
        }
        push("param.conv1.att", vec![1, h1, c1], values(rng, d1, extreme));
        push("param.conv1.bias", vec![d1], values(rng, d1, extreme));
        push(
            "param.conv2.att",
            vec![1, h2, c2],
            values(rng, h2 * c2, extreme),
        );
        push("param.conv2.bias", vec![c2], values(rng, c2, extreme));
        let y: Vec<i64> = (0..n)
            .map(|_| {
                if rng.chance(1, 30) {
                    c2 as i64
                } else {
                    rng.below(c2.max(1)) as i64
                }
            })
            .collect();
        let mask: Vec<u8> = (0..n).map(|_| u8::from(rng.chance(2, 3))).collect();
        t.push(("y".into(), vec![n], TensorData::I64(y)));
        t.push(("train_mask".into(), vec![n], TensorData::U8(mask)));
        format!("synthesised two-layer case: N={n} E={e} F={f} H1={h1} C1={c1} H2={h2} C2={c2}")
    } else {
        let (h, c) = (size(rng), size(rng));
        let d = h * c;
        for p in [
            "lin_l",
            "lin_r",
            "lin",
            "lin_query",
            "lin_key",
            "lin_value",
            "lin_skip",
        ] {
            push(
                &format!("param.{p}.weight"),
                vec![d, f],
                values(rng, d * f, extreme),
            );
            push(&format!("param.{p}.bias"), vec![d], values(rng, d, extreme));
        }
        for a in ["att", "att_src", "att_dst"] {
            push(
                &format!("param.{a}"),
                vec![1, h, c],
                values(rng, d, extreme),
            );
        }
        push("param.bias", vec![d], values(rng, d, extreme));
        push("param.beta", vec![1], values(rng, 1, extreme));
        let width = if model.ends_with("agnn.gat") { f } else { d };
        push("grad_out", vec![n, width], values(rng, n * width, extreme));
        format!("synthesised case: N={n} E={e} F={f} H={h} C={c}")
    };
    t.push(("edge_index".into(), vec![2, e], TensorData::I64(edges)));
    (t, about)
}

#[test]
fn run_case_mutated_tensor_files() {
    let cases = reference_cases();
    let models: Vec<(String, gatgrad::Compiled)> = gat_files()
        .into_iter()
        .filter(|(n, _)| n.starts_with("models/"))
        .map(|(n, text)| {
            let c = gatgrad::compile(&n, &text).unwrap_or_else(|e| panic!("{n}: {e}"));
            (n, c)
        })
        .collect();
    // The natural pairings: the model each reference case was made for.
    let pair_for = |case: &str| -> &str {
        match case {
            "gatv2_basic.safetensors" => "models/gatv2.gat",
            "gatv2_two_layer.safetensors" => "models/gatv2_two_layer.gat",
            "gatv2_share_weights.safetensors" => "models/gatv2_shared.gat",
            "gatv2_isolated_no_self_loops.safetensors" => "models/gatv2_no_loops.gat",
            "gat_v1.safetensors" => "models/gat.gat",
            _ => "models/gatv2.gat",
        }
    };
    let pairs: Vec<(usize, usize)> = cases
        .iter()
        .enumerate()
        .filter_map(|(ci, (case, _))| {
            let m = models.iter().position(|(n, _)| n == pair_for(case))?;
            Some((ci, m))
        })
        .collect();
    let basic = cases
        .iter()
        .position(|(n, _)| n == "gatv2_basic.safetensors")
        .unwrap();
    let gatv2 = models
        .iter()
        .position(|(n, _)| n == "models/gatv2.gat")
        .unwrap();
    let parsed: Vec<Tensors> = cases
        .iter()
        .map(|(n, b)| tensors_of(&TensorFile::from_bytes(n, b.clone()).unwrap()))
        .collect();
    run_campaign(
        "tensors",
        config(20_000),
        move |rng, ctx| {
            let mode = rng.below(10);
            let (ci, mi) = if mode >= 8 {
                // A synthesised case of random sizes, for a model of the right family.
                let two_layer = rng.chance(1, 3);
                let family: Vec<usize> = (0..models.len())
                    .filter(|&m| (models[m].0 == "models/gatv2_two_layer.gat") == two_layer)
                    .collect();
                (usize::MAX, *rng.pick(&family))
            } else {
                // Mostly the basic case on gatv2 (as the brief asks), else any natural pairing,
                // and now and then any model on any case.
                match rng.below(10) {
                    0..=4 => (basic, gatv2),
                    5..=8 => *rng.pick(&pairs),
                    _ => (rng.below(cases.len()), rng.below(models.len())),
                }
            };
            let (model_name, compiled) = &models[mi];
            let mut steps = Vec::new();
            let case_name: &str = if ci == usize::MAX {
                "a synthesised case"
            } else {
                &cases[ci].0
            };
            let bytes = if mode < 4 {
                let mut bytes = cases[ci].1.clone();
                for _ in 0..rng.range(1, 4) {
                    steps.push(mutate_bytes(rng, &mut bytes));
                }
                bytes
            } else {
                let (mut t, mutations) = if ci == usize::MAX {
                    let (t, about) = synthesise(rng, model_name);
                    steps.push(about);
                    (t, rng.below(3))
                } else {
                    (parsed[ci].clone(), rng.range(1, 4))
                };
                for _ in 0..mutations {
                    steps.push(mutate_tensors(rng, &mut t));
                }
                match serialize_tensors(&t, None) {
                    Ok(b) => b,
                    Err(_) => {
                        // A mutation the writer refuses (e.g. a duplicate name): nothing to run.
                        ctx.count("not serialisable");
                        return;
                    }
                }
            };
            let about = |stage: &str, bytes: &[u8]| {
                format!(
                    "{stage}: {model_name} on {case_name} mutated by: {}\n{}",
                    steps.join("; "),
                    describe_file(bytes)
                )
            };
            let file = ctx.check(
                "TensorFile::from_bytes",
                &bytes,
                || Input::Bytes {
                    bytes: bytes.clone(),
                    about: about("from_bytes", &bytes),
                },
                || TensorFile::from_bytes(case_name, bytes.clone()),
            );
            let file = match file {
                Some(Ok(file)) => file,
                Some(Err(_)) => {
                    ctx.count("from_bytes error");
                    return;
                }
                None => return,
            };
            // Both precisions: the f32 interpreter has its own conversions.
            let f32_too = rng.chance(1, 4);
            let result = ctx.check(
                "run_case::<f64>",
                &bytes,
                || Input::Bytes {
                    bytes: bytes.clone(),
                    about: about("run_case::<f64>", &bytes),
                },
                || run_case_f64(&compiled.program, &file).is_ok(),
            );
            ctx.count(match (mode, result) {
                (0..=3, Some(true)) => "bytes mutated: run_case ok",
                (0..=3, Some(false)) => "bytes mutated: run_case error",
                (4..=7, Some(true)) => "tensors mutated: run_case ok",
                (4..=7, Some(false)) => "tensors mutated: run_case error",
                (_, Some(true)) => "synthesised: run_case ok",
                (_, Some(false)) => "synthesised: run_case error",
                (_, None) => "run_case PANIC",
            });
            if f32_too {
                ctx.check(
                    "run_case::<f32>",
                    &bytes,
                    || Input::Bytes {
                        bytes: bytes.clone(),
                        about: about("run_case::<f32>", &bytes),
                    },
                    || {
                        let _ = gatgrad::cases::run_case::<f32>(
                            &compiled.program,
                            &file,
                            &HashMap::new(),
                            &HashMap::new(),
                        );
                    },
                );
            }
        },
        None,
    );
}

/// The harness catches and attributes a panic (so a silent pass means no panic, not a blind
/// harness), and the generator is deterministic.
#[test]
fn harness_self_test() {
    install_panic_hook();
    let caught = guarded(|| {
        let v: Vec<u8> = Vec::new();
        let _ = v[std::hint::black_box(3)];
    });
    let (location, message) = caught.expect_err("the panic is caught");
    assert!(location.contains("fuzz.rs"), "{location}");
    assert!(message.contains("index out of bounds"), "{message}");
    let a: Vec<u64> = {
        let mut r = Rng::for_iteration(1, "x", 5);
        (0..4).map(|_| r.next_u64()).collect()
    };
    let b: Vec<u64> = {
        let mut r = Rng::for_iteration(1, "x", 5);
        (0..4).map(|_| r.next_u64()).collect()
    };
    assert_eq!(a, b);
    let shrunk = shrink_text("aaa\nbXb\nccc\n", Duration::from_secs(1), |s| {
        s.contains('X')
    });
    assert_eq!(shrunk, "X");
}

/// Stands in for a product bug in [`campaign_reports_and_shrinks_a_panic`].
fn fake_bug(text: &str) {
    if text.contains("sum_") {
        panic!("fake bug");
    }
}

/// A whole campaign over a body with a planted bug fails, naming the stage, the panic and the
/// shrunk input.
#[test]
fn campaign_reports_and_shrinks_a_panic() {
    install_panic_hook();
    let result = guarded(|| {
        run_campaign(
            "selftest",
            // Fixed, whatever the environment says.
            Config {
                seed: DEFAULT_SEED,
                iters: 200,
                budget: Duration::from_secs(8),
            },
            |rng, ctx| {
                let text = token_soup(rng);
                ctx.check(
                    "fake",
                    text.as_bytes(),
                    || Input::Text {
                        text: text.clone(),
                        note: "token soup".into(),
                    },
                    || fake_bug(&text),
                );
            },
            Some(|_stage, text| guarded(|| fake_bug(text)).err().map(|(loc, _)| loc)),
        )
    });
    let (_, report) = result.expect_err("the planted bug is reported");
    println!("{report}");
    assert!(report.contains("fake panicked at"), "{report}");
    assert!(report.contains("fake bug"), "{report}");
    assert!(
        report.contains("\"sum_\""),
        "not shrunk to `sum_`:\n{report}"
    );
}

/// Prints sample generated programs with their diagnostics, to tune the generator:
/// `cargo test --test fuzz -- --ignored --nocapture show_random_programs`.
#[test]
#[ignore]
fn show_random_programs() {
    let seed = config(0).seed;
    for k in 0..12 {
        let mut rng = Rng::for_iteration(seed, "show", k);
        let text = if k % 2 == 0 {
            typed_program(&mut rng)
        } else {
            random_program(&mut rng)
        };
        match gatgrad::compile("rnd.gat", &text) {
            Ok(_) => println!("{text}=> compiles\n"),
            Err(e) => println!("{text}=> {e}\n"),
        }
    }
}

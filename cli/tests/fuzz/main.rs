//! Bounded, deterministic fuzzing of everything that takes untrusted input.
//!
//! Random inputs, where nothing may panic:
//!
//! * `compile_random_text`: random bytes, random token soups, deep nesting and random
//!   (mostly well-formed) programs through [`gatgrad::compile`];
//! * `compile_mutated_models`: random edits of every `models/*.gat` and `tests/fixtures/**/*.gat`
//!   through [`gatgrad::compile`] (and, when a mutant still compiles, through `run_case` on the
//!   reference tensors);
//! * `run_case_mutated_tensor_files`: byte-level and structured mutations of the reference tensor
//!   files through [`TensorFile::from_bytes`] and [`gatgrad::cases::run_case`].
//!
//! Structured inputs, where what must happen is known for each one:
//!
//! * `programs_at_the_limits`: long chains of equations, wide sums and deep nesting, within the
//!   language's limits (they compile, print and run, `grad.x` equal to its closed form) and past
//!   them (refused with the limit's message);
//! * `huge_sizes_through_the_library`, `huge_sizes_through_the_cli`: small inputs claiming huge
//!   sizes, each refused with one line (exit status 2), each with a small control that is
//!   accepted;
//! * `special_files_as_outputs`: every command that writes a file, on symlinks, FIFOs, folders
//!   and devices (made inside a temporary folder): nothing that is not a regular file is replaced;
//! * `ambiguous_programs`: a thing said twice is an error naming both places;
//! * `messages_stay_bounded`: thousands of diagnostics or very long lines print a bounded text.
//!
//! Every campaign counts the outcome of each input by kind (printed at its end, visible with
//! `--nocapture`) and checks the counts against its expectations (`outcomes.rs`): a generator
//! meant to produce valid programs that produces only rejects fails its campaign, and so does a
//! single huge size accepted. Each campaign stops after an iteration count or a wall-clock budget,
//! whichever comes first (after a minimum number of iterations), and is deterministic from its
//! seed (iteration `k` draws from a generator seeded with `seed` and `k`). Environment
//! overrides:
//!
//! * `GATGRAD_FUZZ_SEED`: the seed (decimal or `0x` hex);
//! * `GATGRAD_FUZZ_ITERS`: iterations per campaign;
//! * `GATGRAD_FUZZ_SECS`: wall-clock budget per campaign (default 8).
//!
//! Every panic is caught and reported with the input that caused it (text inputs are also
//! shrunk). An input that kills the process outright (a stack overflow, an aborted allocation)
//! cannot be caught: the campaigns whose inputs may do that run in a child process under
//! `ulimit -v` (`isolated.rs`), which reports the crash with its input and resumes after it.
//! Elsewhere the input being processed is always saved in
//! `$TMPDIR/gatgrad-fuzz-<campaign>-<pid>.current`, and that path is printed on stderr when the
//! campaign starts. A watchdog fails the test, naming that file, if one iteration hangs.

mod ambiguous;
mod cli;
mod corpus;
mod harness;
mod isolated;
mod messages;
mod mutate;
mod outcomes;
mod outputs;
mod panics;
mod rng;
mod shrink;
mod sizes;
mod structured;
#[path = "../support/mod.rs"]
mod support;
mod tensors;
mod text;
mod typed;

use ambiguous::BASE;
use corpus::stage_panics;
use corpus::{compile_counted, gat_files, reference_cases, run_case_f64, run_on_a_case};
use gatgrad::runtime::{serialize_tensors, TensorFile};
use harness::{config, run_campaign, Config, Input, DEFAULT_SEED};
use isolated::{is_child, isolated};
use mutate::mutate_text;
use outcomes::Expect;
use outputs::SPECIALS;
use panics::{guarded, install_panic_hook};
use rng::Rng;
use shrink::shrink_text;
use std::collections::HashMap;
use std::time::Duration;
use tensors::{describe_file, mutate_bytes, mutate_tensors, synthesise, tensors_of, Tensors};
use text::{deep_input, random_bytes, random_program, token_soup};
use typed::typed_program;

#[test]
fn compile_random_text() {
    let expect = vec![
        // The typed generator is meant to produce valid programs that run; the random one
        // programs that get through the parser to exercise the checker (nearly all are refused
        // there: several equations, each with many ways to be wrong); deep inputs are often
        // within the limits.
        Expect::share("typed program", &["compiles"], 0.4),
        Expect::share("typed program run_case", &["ok"], 0.3),
        Expect::share("program", &["compiles", "check error"], 0.8),
        Expect::share("deep", &["compiles"], 0.2),
        Expect::share(
            "token soup",
            &["parse error", "check error", "compiles"],
            1.0,
        ),
    ];
    run_campaign(
        "text",
        config(20_000).at_least(300),
        expect,
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
            let note = || format!("random text ({kind})");
            if let Some(c) = compile_counted(ctx, kind, "fuzz.gat", &text, note) {
                run_on_a_case(rng, ctx, kind, &c, &text, &note());
            }
        },
        Some(stage_panics),
    );
}

#[test]
fn compile_mutated_models() {
    let files = gat_files();
    let expect = vec![
        // Small edits leave a share of mutants valid, and most of the rest parse.
        Expect::share("mutant", &["compiles"], 0.02),
        Expect::share("mutant", &["check error"], 0.1),
        Expect::share("mutant run_case", &["ok"], 0.1),
    ];
    run_campaign(
        "mutants",
        config(20_000).at_least(300),
        expect,
        move |rng, ctx| {
            let (name, original) = rng.pick(&files);
            let text = mutate_text(rng, original, &files);
            let note = || format!("a mutant of {name}");
            // A mutant that still compiles must also run (or fail cleanly) on real data.
            if let Some(c) = compile_counted(ctx, "mutant", name, &text, note) {
                run_on_a_case(rng, ctx, "mutant", &c, &text, &note());
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
    let expect = vec![
        // Structured mutations and synthesised cases must often still run: they are meant to
        // reach the interpreter, not only the file checks.
        Expect::share("tensors mutated", &["run_case ok"], 0.15),
        Expect::share("synthesised", &["run_case ok"], 0.15),
        Expect::share("bytes mutated", &["run_case ok", "run_case error"], 0.05),
    ];
    run_campaign(
        "tensors",
        config(20_000).at_least(300),
        expect,
        move |rng, ctx| {
            let mode = rng.below(10);
            let kind = match mode {
                0..=3 => "bytes mutated",
                4..=7 => "tensors mutated",
                _ => "synthesised",
            };
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
                        ctx.tally(kind, "not serialisable");
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
                    ctx.tally(kind, "from_bytes error");
                    return;
                }
                None => {
                    ctx.tally(kind, "from_bytes PANIC");
                    return;
                }
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
            let outcome = match result {
                Some(true) => "run_case ok",
                Some(false) => "run_case error",
                None => "run_case PANIC",
            };
            ctx.tally(kind, outcome);
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

/// Long chains, wide sums and deep nesting, at the language's limits and past them: every
/// program within the limits compiles, prints and runs on a tiny graph (with the closed form of
/// `grad.x` where there is one), every program past them is refused with the limit's message.
/// Runs in a child process: a stack overflow is reported with its input, not a dead test binary.
#[test]
fn programs_at_the_limits() {
    isolated("programs_at_the_limits", || {
        let expect = vec![
            Expect::all("long chain", &["runs, grad.x exact"]),
            Expect::all("mixed chain", &["runs"]),
            Expect::all("wide sum", &["runs, grad.x exact"]),
            Expect::all("too wide sum", &["refused as expected"]),
            Expect::all("deep nesting", &["runs"]),
            Expect::all("too deep nesting", &["refused as expected"]),
        ];
        let cfg = config(400).at_least(10);
        run_campaign("limits", cfg, expect, structured::iteration, None);
    });
}

/// Every huge size claimed through the library is refused with a one-line error (none aborts:
/// the campaign runs in a child process under `ulimit -v`), and every control is accepted.
#[test]
fn huge_sizes_through_the_library() {
    isolated("huge_sizes_through_the_library", || {
        let mut expect = Vec::new();
        for base in [
            "dataset metadata",
            "graph of n nodes",
            "dimension K",
            "tensor file shape",
            "training sizes",
        ] {
            expect.push(Expect::all(base, &["refused"]));
            expect.push(Expect::all(&format!("{base} (control)"), &["accepted"]));
        }
        let cfg = config(200).at_least(40);
        run_campaign("sizes", cfg, expect, sizes::library_iteration, None);
    });
}

/// Every huge size claimed on the command line ends with exit status 2 and one line on stderr
/// (under `ulimit -v`: an allocation attempt aborts instead), and every control with exit 0.
#[test]
fn huge_sizes_through_the_cli() {
    let mut expect = Vec::new();
    for base in [
        "bench --features",
        "gen-graph --edges",
        "bench --graph num_nodes",
        "train --dataset metadata",
        "grad --dim",
        "train --dataset sparse:nodes",
    ] {
        expect.push(Expect::all(base, &["exit 2"]));
        expect.push(Expect::all(&format!("{base} (control)"), &["exit 0"]));
    }
    let cfg = config(200).at_least(40);
    run_campaign("sizes-cli", cfg, expect, sizes::cli_iteration, None);
}

/// Every command that writes a file, on every kind of special file at its output path: nothing
/// is ever replaced that is not a regular file (see `outputs.rs`).
#[test]
fn special_files_as_outputs() {
    let expect = SPECIALS
        .iter()
        .map(|s| Expect::all(s.name(), &["as expected", "cannot be made here"]))
        .collect();
    let n = outputs::combinations().len();
    let cfg = config(n).at_least(n);
    run_campaign("outputs", cfg, expect, outputs::iteration, None);
}

/// Programs that say one thing twice (two losses, two outputs, a prefix used by two calls, …)
/// are refused, naming both places; the unchanged model compiles (see `ambiguous.rs`).
#[test]
fn ambiguous_programs() {
    // With the layers it `use`s, so that edits of layer text apply.
    let base = gatgrad::gather_file(&harness::root().join(BASE))
        .expect("the base model")
        .source
        .text;
    let mut expect: Vec<Expect> = [
        "two losses",
        "two outputs",
        "two attention statements",
        "layer constant twice",
        "keyword argument twice",
        "keyword argument twice (new name)",
        "one prefix for two calls",
        "call without its input",
        "file name twice",
        "dimension twice",
        "tensor defined twice",
    ]
    .iter()
    .map(|k| Expect::all(k, &["refused, every place named"]))
    .collect();
    expect.push(Expect::all("unchanged", &["compiles"]));
    let cfg = config(400).at_least(200);
    run_campaign(
        "ambiguous",
        cfg,
        expect,
        move |rng, ctx| ambiguous::iteration(rng, ctx, &base),
        None,
    );
}

/// Thousands of warnings or errors, or one on a line of thousands of characters: what is printed
/// stays bounded (see `messages.rs`). In a child process: an unbounded rendering can exhaust
/// memory.
#[test]
fn messages_stay_bounded() {
    isolated("messages_stay_bounded", || {
        let expect = [
            "unused parameters on one line",
            "unused parameters on many lines",
            "an error on every line",
            "an error at the end of a long line",
        ]
        .iter()
        .map(|k| Expect::all(k, &["bounded"]))
        .collect();
        let cfg = config(400).at_least(24);
        run_campaign("messages", cfg, expect, messages::iteration, None);
    });
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
    assert!(location.contains("fuzz/main.rs"), "{location}");
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
                min_iters: 0,
                first: 0,
            },
            Vec::new(),
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

/// A campaign in a child process that dies (here: aborts at iteration 2) is reported with the
/// signal, the iteration and the input, and resumed after it.
#[test]
fn isolated_campaign_reports_a_crash() {
    const NAME: &str = "isolated_campaign_reports_a_crash";
    let campaign = || {
        let cfg = Config {
            seed: DEFAULT_SEED,
            iters: 5,
            budget: Duration::from_secs(8),
            min_iters: 0,
            first: config(0).first,
        };
        run_campaign(
            "crash",
            cfg,
            Vec::new(),
            |_rng, ctx| {
                ctx.save_current(format!("planted input {}", ctx.iteration()).as_bytes());
                if ctx.iteration() == 2 {
                    std::process::abort();
                }
                ctx.tally("planted", "survived");
            },
            None,
        )
    };
    if is_child(NAME) {
        return isolated(NAME, campaign);
    }
    let (_, report) = guarded(|| isolated(NAME, campaign)).expect_err("the crash is reported");
    println!("{report}");
    assert!(report.contains("died 1 time(s)"), "{report}");
    assert!(report.contains("signal 6"), "{report}");
    assert!(report.contains("at iteration 2"), "{report}");
    assert!(report.contains("planted input 2"), "{report}");
    let kept = std::env::temp_dir().join(format!("gatgrad-fuzz-{NAME}-crash-iter2.input"));
    let _ = std::fs::remove_file(kept);
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

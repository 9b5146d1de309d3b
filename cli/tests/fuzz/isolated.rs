//! Campaigns whose inputs may kill the process outright — a stack overflow, an allocation that
//! aborts — run in a child process: the test binary itself, re-run on the one test, under
//! `ulimit -v` (so a runaway allocation fails at once instead of exhausting the machine). A child
//! that dies is reported with the iteration and the input it was working on, then the campaign
//! resumes after that iteration in a fresh child, so one crash does not hide the next.

use crate::harness::{config, excerpt, CHILD_VAR, FIRST_VAR, ITERATION_MARK};
use std::io::Read as _;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The address-space limit of a child: far above what any campaign needs, far below what a
/// huge claimed size asks for.
pub const CHILD_VMEM_KIB: u64 = 3 << 20;

/// After this many crashes the campaign stops resuming.
const MAX_CRASHES: usize = 6;

/// Whether this process is the child running `test`.
pub fn is_child(test: &str) -> bool {
    std::env::var(CHILD_VAR).as_deref() == Ok(test)
}

/// Runs `body` (a campaign) in a child process, or runs it right here when this process is that
/// child. `test` is the name of the calling `#[test]` function.
pub fn isolated(test: &str, body: impl FnOnce()) {
    if is_child(test) {
        body();
        return;
    }
    let cfg = config(0);
    let start = Instant::now();
    let mut first = cfg.first;
    let mut crashes: Vec<String> = Vec::new();
    let mut failed = None;
    loop {
        let left = cfg.budget.saturating_sub(start.elapsed());
        let child = run_child(test, first, left);
        if child.signal.is_none() && child.code == Some(0) {
            print!("{}", child.stdout);
            if !child.stdout.contains("1 passed") {
                failed = Some(format!(
                    "the child ran no test named `{test}`:\n{}",
                    child.stdout
                ));
            }
            break;
        }
        if child.signal.is_none() {
            // The campaign ran to its end and reported failures: they are in its output.
            failed = Some(format!(
                "{}\n{}",
                child.stdout.trim_end(),
                last_lines(&child.stderr, 60)
            ));
            break;
        }
        let at = child.iteration;
        crashes.push(describe_crash(test, &child));
        match at {
            Some(k) if crashes.len() < MAX_CRASHES => first = k + 1,
            _ => break,
        }
    }
    if crashes.is_empty() && failed.is_none() {
        return;
    }
    let mut report = format!(
        "fuzz {test}: the child process died {} time(s)\n",
        crashes.len()
    );
    for c in &crashes {
        report.push_str(c);
    }
    if let Some(f) = failed {
        report.push_str(&format!("\n--- the campaign's own report ---\n{f}\n"));
    }
    panic!("{report}");
}

/// What a child process did.
struct Child {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
    /// The last iteration it started.
    iteration: Option<usize>,
    /// Where it saved the input in progress.
    current: Option<String>,
    took: Duration,
}

fn run_child(test: &str, first: usize, budget: Duration) -> Child {
    let exe = std::env::current_exe().expect("the test binary's path");
    let started = Instant::now();
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {CHILD_VMEM_KIB} && exec \"$0\" \"$@\""))
        .arg(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, test)
        .env(FIRST_VAR, first.to_string())
        .env("GATGRAD_FUZZ_SECS", format!("{}", budget.as_secs_f64()))
        // Few threads, so that thread stacks and allocator arenas stay far below the limit.
        .env("RAYON_NUM_THREADS", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child process");
    let output = {
        let mut child = output;
        let mut err = child.stderr.take().expect("piped stderr");
        // Drained on a thread of its own, so that neither pipe fills up and blocks the child.
        let reader = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = err.read_to_end(&mut s);
            s
        });
        let mut out = Vec::new();
        if let Some(mut o) = child.stdout.take() {
            let _ = o.read_to_end(&mut out);
        }
        let status = child.wait().expect("wait for the child process");
        (status, out, reader.join().unwrap_or_default())
    };
    let (status, out, err) = output;
    let stderr = String::from_utf8_lossy(&err).into_owned();
    let iteration = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(ITERATION_MARK)?.trim().parse().ok());
    let current = stderr
        .lines()
        .find_map(|l| l.split_once("saved at ").map(|(_, p)| p.trim().to_string()));
    Child {
        code: status.code(),
        signal: status.signal(),
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr,
        iteration,
        current,
        took: started.elapsed(),
    }
}

/// The crash of a child: the signal, its last words, the iteration and the input.
fn describe_crash(test: &str, child: &Child) -> String {
    let signal = child.signal.unwrap_or(0);
    let name = match signal {
        6 => " (SIGABRT: an abort, e.g. a stack overflow or a failed allocation)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        _ => "",
    };
    let mut s = format!(
        "\n=== the child died by signal {signal}{name} after {:?}, at iteration {} ===\n",
        child.took,
        child
            .iteration
            .map_or("(none started)".to_string(), |k| k.to_string())
    );
    // What the process said, without iteration marks and backtraces.
    let words: Vec<&str> = child
        .stderr
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(l.starts_with(ITERATION_MARK)
                || t.starts_with("at ")
                || t.starts_with("note: Some details")
                || t.starts_with("stack backtrace")
                || t.split_once(':')
                    .is_some_and(|(n, _)| n.parse::<u32>().is_ok()))
        })
        .collect();
    let tail = words[words.len().saturating_sub(4)..].join("\n");
    s.push_str(&format!("its last words on stderr:\n{tail}\n"));
    if let Some(path) = &child.current {
        let input = std::fs::read(path).unwrap_or_default();
        let kept = std::env::temp_dir().join(format!(
            "gatgrad-fuzz-{test}-crash-iter{}.input",
            child.iteration.unwrap_or(0)
        ));
        let _ = std::fs::write(&kept, &input);
        let _ = std::fs::remove_file(path);
        s.push_str(&format!(
            "the input ({} bytes, kept at {}) begins:\n{}\n",
            input.len(),
            kept.display(),
            excerpt(&String::from_utf8_lossy(&input), 12, 200)
        ));
    }
    s
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(ITERATION_MARK))
        .collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

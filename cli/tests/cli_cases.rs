//! The bad-input corpus: every `cli/tests/fixtures/cli/*.case` file runs the `gatgrad` binary once,
//! in a fresh temporary folder, under a memory limit and a time limit, and its exit status and
//! output are snapshotted (one insta snapshot per case).
//!
//! A case file is a list of `key: value` lines (`#` starts a comment line):
//!
//! ```text
//! # --out naming a FIFO: written directly, the FIFO stays a FIFO.
//! setup: mkfifo out.st            (any number; run by `sh -c` in the temporary folder)
//! fifo: out.st                    (optional; a reader drains this FIFO while gatgrad runs)
//! run: grad {root}/models/gatv2.gat --inputs {root}/tests/reference/gatv2_basic.safetensors --out out.st
//! exit: 2                         (the expected exit status)
//! after: test -p out.st           (any number; each must exit 0 once gatgrad has finished)
//! requires: root                  (optional; the case needs root, e.g. for `mknod`)
//! memory: 2048                    (optional; the address-space limit in MiB, default 3072)
//! env: GATGRAD_MEMORY_LIMIT=2G     (any number; environment variables for gatgrad)
//! time: 900                       (optional; the time limit in seconds, default 120)
//! ```
//!
//! In `setup`, `run`, `after` and `env` values, `{root}` is the repository (the parent of this package, so
//! cases name `{root}/models/...`, `{root}/tests/reference/...` and their own data as
//! `{root}/cli/tests/fixtures/cli/data/...`) and `{tmp}` the temporary folder;
//! `run` is split on whitespace (no quoting). Every path a case creates lives in its temporary
//! folder: cases make their own FIFOs, symlinks and device nodes and never touch system paths.
//! The snapshot holds the exit status, stdout and stderr (each cut to its first 40 lines), with
//! both folders replaced by their placeholders and times and core counts redacted, and without the
//! progress lines of a build on first use (`compiling generated code for ...`, `built in ...`),
//! which only a run that misses the cache prints. Programs built on first use go to the cache
//! `CARGO_TARGET_TMPDIR/gatgrad-cache`, shared with `on_demand.rs`, so gatgrad's own build in it is
//! made once per target folder (see `support/cache.rs`); a case that trains a file without compiled code sets a `time:` and
//! `memory:` that such a build fits in. A case fails if gatgrad panics, is killed by a
//! signal (an abort, or the memory limit), runs past the time limit, exits with another status
//! than `exit`, or an `after` check fails.

#[path = "support/cache.rs"]
mod cache;

use cache::{test_cache, workspace_target};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(120);
const DEFAULT_MEMORY_MIB: u64 = 3072;
const MAX_LINES: usize = 40;

struct Case {
    setup: Vec<String>,
    fifo: Option<String>,
    run: String,
    exit: i32,
    after: Vec<String>,
    requires_root: bool,
    memory_mib: u64,
    env: Vec<(String, String)>,
    time_limit: Duration,
}

fn parse_case(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap();
    let mut case = Case {
        setup: Vec::new(),
        fifo: None,
        run: String::new(),
        exit: -1,
        after: Vec::new(),
        requires_root: false,
        memory_mib: DEFAULT_MEMORY_MIB,
        env: Vec::new(),
        time_limit: DEFAULT_TIME_LIMIT,
    };
    for (k, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("{}:{}: expected `key: value`", path.display(), k + 1));
        let value = value.trim().to_string();
        match key.trim() {
            "setup" => case.setup.push(value),
            "fifo" => case.fifo = Some(value),
            "run" => case.run = value,
            "exit" => case.exit = value.parse().expect("exit status"),
            "after" => case.after.push(value),
            "requires" => case.requires_root = value == "root",
            "memory" => case.memory_mib = value.parse().expect("memory in MiB"),
            "time" => {
                case.time_limit = Duration::from_secs(value.parse().expect("time in seconds"))
            }
            "env" => {
                let (k, v) = value.split_once('=').expect("env: NAME=VALUE");
                case.env.push((k.trim().to_string(), v.trim().to_string()));
            }
            other => panic!("{}:{}: unknown key `{other}`", path.display(), k + 1),
        }
    }
    assert!(!case.run.is_empty(), "{}: no `run:` line", path.display());
    assert!(case.exit >= 0, "{}: no `exit:` line", path.display());
    case
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn shell(dir: &Path, script: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Drains a FIFO while gatgrad runs: opened without blocking, so a gatgrad that never opens it
/// does not hang the test; returns the number of bytes read.
fn drain_fifo(path: PathBuf, done: std::sync::Arc<std::sync::atomic::AtomicBool>) -> usize {
    use std::os::unix::fs::OpenOptionsExt;
    const O_NONBLOCK: i32 = 0o4000; // Linux
    let Ok(mut file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(&path)
    else {
        return 0;
    };
    let mut total = 0;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) | Err(_) => {
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    // One last read after gatgrad exited, then stop.
                    while let Ok(n) = file.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        total += n;
                    }
                    return total;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(n) => total += n,
        }
    }
}

fn first_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = lines
        .iter()
        .take(MAX_LINES)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > MAX_LINES {
        out.push_str(&format!("\n[... {} more lines]", lines.len() - MAX_LINES));
    }
    out
}

/// Replaces what differs between runs and machines — times, memory and core counts — by
/// placeholders, so snapshots are stable: the number after `"seconds_per_epoch":`, `epochs · `
/// (the diagnose summary's time), `this machine has ` and bench's times, passes and peak memory.
fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for (prefix, placeholder) in [
        ("\"seconds_per_epoch\":", "\"[seconds]\""),
        ("epochs · ", "[seconds]"),
        ("this machine has ", "[N]"),
        ("\"forward_s\":", "\"[seconds]\""),
        ("\"backward_s\":", "\"[seconds]\""),
        ("\"total_s\":", "\"[seconds]\""),
        ("\"yardstick_s\":", "\"[seconds]\""),
        ("\"passes\":", "\"[ratio]\""),
        ("\"peak_rss_mib\":", "\"[MiB]\""),
    ] {
        let mut done = String::new();
        let mut rest = out.as_str();
        while let Some(k) = rest.find(prefix) {
            let (head, tail) = rest.split_at(k + prefix.len());
            let number = tail
                .find(|c: char| !(c.is_ascii_digit() || ".eE+-".contains(c)))
                .unwrap_or(tail.len());
            done.push_str(head);
            if number > 0 {
                done.push_str(placeholder);
            }
            rest = &tail[number..];
        }
        done.push_str(rest);
        out = done;
    }
    out
}

/// `text` without the lines a build on first use prints (a run that finds the helper in the
/// cache prints none).
fn without_build_progress(text: &str) -> String {
    text.lines()
        .filter(|l| {
            !(l.starts_with("compiling generated code for ")
                || (l.starts_with("built in ") && l.ends_with("later uses start at once")))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

fn run_case(path: &Path) -> String {
    let case = parse_case(path);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the CLI package lies inside the repository")
        .to_path_buf();
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let tmp = std::env::temp_dir().join(format!("gatgrad-case-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let fill = |s: &str| {
        s.replace("{root}", &root.display().to_string())
            .replace("{tmp}", &tmp.display().to_string())
    };
    if case.requires_root && !is_root() {
        let _ = std::fs::remove_dir_all(&tmp);
        return "skipped: needs root".into();
    }
    for step in &case.setup {
        assert!(shell(&tmp, &fill(step)), "{name}: setup failed: {step}");
    }
    let args: Vec<String> = fill(&case.run)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = case.fifo.as_ref().map(|f| {
        let (p, d) = (tmp.join(f), done.clone());
        std::thread::spawn(move || drain_fifo(p, d))
    });
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {} && exec \"$0\" \"$@\"",
            case.memory_mib * 1024
        ))
        .arg(env!("CARGO_BIN_EXE_gatgrad"))
        .args(&args)
        .current_dir(&tmp)
        .env("RAYON_NUM_THREADS", "2")
        .env("NO_COLOR", "1")
        // Programs built on first use go to the test cache shared with `on_demand.rs`, never the
        // user's; their cargo folder is the workspace's (see `on_demand.rs`).
        .env("GATGRAD_CACHE_DIR", test_cache())
        .env("GATGRAD_CACHE_TARGET_DIR", workspace_target())
        .envs(case.env.iter().map(|(k, v)| (k, fill(v))))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gatgrad");
    let (mut out_pipe, mut err_pipe) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out_pipe.read_to_end(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err_pipe.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > case.time_limit {
            let _ = child.kill();
            panic!("{name}: gatgrad ran past {:?}", case.time_limit);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let fifo_bytes = reader.map(|r| r.join().unwrap());
    let stdout = String::from_utf8_lossy(&out_thread.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&err_thread.join().unwrap()).into_owned();
    let clean = |s: &str| {
        s.replace(&tmp.display().to_string(), "{tmp}")
            .replace(&root.display().to_string(), "{root}")
    };
    let (stdout, stderr) = (
        redact(&clean(&stdout)),
        redact(&without_build_progress(&clean(&stderr))),
    );
    let why =
        format!("{name}: status {status:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    assert!(!stderr.contains("panicked"), "gatgrad panicked:\n{why}");
    let code = status.code().unwrap_or_else(|| {
        panic!("gatgrad was killed by a signal (abort or memory limit):\n{why}")
    });
    assert_eq!(code, case.exit, "wrong exit status:\n{why}");
    for check in &case.after {
        assert!(
            shell(&tmp, &fill(check)),
            "{name}: `after: {check}` failed\n{why}"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let mut snap = format!(
        "exit: {code}\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
        first_lines(&stdout),
        first_lines(&stderr)
    );
    if let Some(n) = fifo_bytes {
        snap.push_str(&format!("--- fifo ---\n{} bytes read\n", n));
    }
    snap
}

#[test]
fn cli_cases() {
    insta::glob!("fixtures/cli", "*.case", |path| {
        insta::assert_snapshot!(run_case(path));
    });
}

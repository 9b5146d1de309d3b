//! Running the `gatgrad` binary from a campaign: in a temporary folder the test creates (every
//! file a run reads or writes lives there), under `ulimit -v` and a time limit, with its exit
//! status as the outcome to count.

use std::io::Read as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The address-space limit of a run: enough for any small input, far below any huge size.
pub const RUN_VMEM_KIB: u64 = 3 << 20;

/// A fresh, empty temporary folder, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new folder named after `what`, this process and a counter.
    pub fn new(what: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let k = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("gatgrad-fuzz-{what}-{}-{k}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary folder");
        TempDir(dir)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// A path inside the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one run of the binary did.
pub struct Run {
    /// The exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Whether it was killed for running past its time limit.
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Run {
    /// The outcome to count: `exit 0`, `exit 2`, `signal 6`, `timeout`.
    pub fn outcome(&self) -> String {
        match (self.timed_out, self.code, self.signal) {
            (true, _, _) => "timeout".into(),
            (_, Some(c), _) => format!("exit {c}"),
            (_, _, Some(s)) => format!("signal {s}"),
            _ => "unknown".into(),
        }
    }

    /// For reports: the status, then stdout and stderr (their beginnings).
    pub fn describe(&self) -> String {
        let cut = |s: &str| {
            let lines: Vec<&str> = s.lines().collect();
            let mut kept = lines[..lines.len().min(8)].join("\n");
            if lines.len() > 8 {
                kept.push_str(&format!("\n… ({} more lines)", lines.len() - 8));
            }
            kept
        };
        format!(
            "{} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.outcome(),
            self.took,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }
}

/// Runs `gatgrad ARGS...` in `dir` under [`RUN_VMEM_KIB`] of address space, killed after
/// `limit`.
pub fn gatgrad(dir: &Path, args: &[String], limit: Duration) -> Run {
    let bin = env!("CARGO_BIN_EXE_gatgrad");
    let started = Instant::now();
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("ulimit -v {RUN_VMEM_KIB} && exec \"$0\" \"$@\""))
        .arg(bin)
        .args(args)
        .current_dir(dir)
        // Few threads, so that thread stacks and allocator arenas stay far below the limit.
        .env("RAYON_NUM_THREADS", "2")
        .env("NO_COLOR", "1")
        // No toolchain: a file without compiled code gets the one-line refusal instead of a
        // build that would outlast the time limit.
        .env("PATH", "/nonexistent")
        .env("CARGO", "/nonexistent/cargo")
        .env("GATGRAD_CACHE_DIR", dir.join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gatgrad");
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut s);
            }
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for gatgrad") {
            break status;
        }
        if started.elapsed() > limit {
            // Ours to end: the process this function started, by its id.
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait for gatgrad");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        took: started.elapsed(),
    }
}

/// A model of the zoo, by file name.
pub fn model(name: &str) -> String {
    crate::harness::root()
        .join("models")
        .join(name)
        .display()
        .to_string()
}

/// A reference case, by file name.
pub fn reference(name: &str) -> String {
    crate::harness::root()
        .join("tests/reference")
        .join(name)
        .display()
        .to_string()
}

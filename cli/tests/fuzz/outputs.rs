//! Special files as outputs: every command that writes a file (`grad --out`, `gen-graph --out`,
//! `train --out`, `train --log`) pointed at a regular file, a symlink, a chain of symlinks, a
//! FIFO, a symlink to a FIFO, a folder, a dangling symlink into a missing folder, and (as root)
//! character devices made with `mknod` — all inside a temporary folder the test creates. After
//! the run, what was at the path must still be what it was: a symlink still a symlink (its
//! target replaced), a FIFO still a FIFO (and its reader got the bytes), a device still a device.

use crate::cli::{gatgrad, model, reference, Run, TempDir};
use crate::harness::{Ctx, Input};
use crate::rng::Rng;
use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

/// What is at the output path before the run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Special {
    Regular,
    Symlink,
    SymlinkChain,
    Fifo,
    SymlinkToFifo,
    Folder,
    DanglingIntoMissingFolder,
    /// `mknod c 1 3` (a null device), as root only.
    NullDevice,
    /// `mknod c 1 7` (a full device: every write fails with ENOSPC), as root only.
    FullDevice,
}

/// Every kind, in the order the campaign goes through them.
pub const SPECIALS: [Special; 9] = [
    Special::Regular,
    Special::Symlink,
    Special::SymlinkChain,
    Special::Fifo,
    Special::SymlinkToFifo,
    Special::Folder,
    Special::DanglingIntoMissingFolder,
    Special::NullDevice,
    Special::FullDevice,
];

/// The commands that write a file, by name.
pub const COMMANDS: [&str; 4] = [
    "grad --out",
    "gen-graph --out",
    "train --out",
    "train --log",
];

impl Special {
    /// The kind's name in the outcome counts.
    pub fn name(self) -> &'static str {
        match self {
            Special::Regular => "regular file",
            Special::Symlink => "symlink to a file",
            Special::SymlinkChain => "symlink to a symlink to a file",
            Special::Fifo => "FIFO",
            Special::SymlinkToFifo => "symlink to a FIFO",
            Special::Folder => "folder",
            Special::DanglingIntoMissingFolder => "dangling symlink into a missing folder",
            Special::NullDevice => "character device (null)",
            Special::FullDevice => "character device (full)",
        }
    }

    /// The exit status the run must end with.
    fn expected_exit(self) -> i32 {
        match self {
            Special::Folder | Special::DanglingIntoMissingFolder | Special::FullDevice => 2,
            _ => 0,
        }
    }
}

/// Opens a FIFO for reading and reads it to the end on a thread of its own.
struct FifoReader {
    /// A second name of the FIFO, to unblock the reader even if the FIFO's own name was replaced.
    keep: PathBuf,
    done: mpsc::Receiver<usize>,
}

impl FifoReader {
    fn start(fifo: &Path, keep: PathBuf) -> FifoReader {
        std::fs::hard_link(fifo, &keep).expect("a second name for the FIFO");
        let (tx, done) = mpsc::channel();
        let path = keep.clone();
        std::thread::spawn(move || {
            let mut got = Vec::new();
            if let Ok(mut f) = File::open(&path) {
                let _ = f.read_to_end(&mut got);
            }
            let _ = tx.send(got.len());
        });
        FifoReader { keep, done }
    }

    /// The bytes the reader got; `None` if it is still blocked after being unblocked.
    fn finish(self) -> Option<usize> {
        if let Ok(n) = self.done.try_recv() {
            return Some(n);
        }
        // Nobody opened the FIFO for writing: do it (without blocking; it fails if the reader
        // is gone) so the reader sees the end of the stream.
        const O_NONBLOCK: i32 = 0o4000;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(O_NONBLOCK)
            .open(&self.keep);
        self.done.recv_timeout(Duration::from_secs(10)).ok()
    }
}

fn mkfifo(path: &Path) -> bool {
    Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

fn mknod(path: &Path, minor: &str) -> bool {
    Command::new("mknod")
        .arg(path)
        .args(["c", "1", minor])
        .status()
        .is_ok_and(|s| s.success())
}

/// The file type at `path` (not following a symlink), for messages and checks.
fn what_is(path: &Path) -> String {
    match std::fs::symlink_metadata(path) {
        Err(_) => "nothing".into(),
        Ok(m) => {
            let t = m.file_type();
            if t.is_symlink() {
                format!(
                    "a symlink to {}",
                    std::fs::read_link(path).map_or("?".into(), |p| p.display().to_string())
                )
            } else if t.is_fifo() {
                "a FIFO".into()
            } else if t.is_char_device() {
                "a character device".into()
            } else if t.is_dir() {
                "a folder".into()
            } else if t.is_file() {
                format!("a regular file of {} bytes", m.len())
            } else {
                "something else".into()
            }
        }
    }
}

/// The outcome of one command on one special file: `Ok(())` when everything is as it must be,
/// else what went wrong, and the run (if it started).
pub struct Checked {
    pub result: Result<(), String>,
    pub run: Option<Run>,
    pub command: String,
}

/// Sets up `special` at the output path of `command` in a fresh temporary folder, runs it and
/// checks what is at the path afterwards. `None` when the kind cannot be made here (devices
/// without root).
pub fn check(command: &str, special: Special) -> Option<Checked> {
    let dir = TempDir::new("outputs");
    let out = dir.path("out");
    let old = b"old contents\n";
    let target = dir.path("target");
    let fifo = dir.path("fifo");
    let mut reader = None;
    match special {
        Special::Regular => std::fs::write(&out, old).ok()?,
        Special::Symlink => {
            std::fs::write(&target, old).ok()?;
            std::os::unix::fs::symlink("target", &out).ok()?;
        }
        Special::SymlinkChain => {
            std::fs::write(&target, old).ok()?;
            std::os::unix::fs::symlink("target", dir.path("middle")).ok()?;
            std::os::unix::fs::symlink("middle", &out).ok()?;
        }
        Special::Fifo | Special::SymlinkToFifo => {
            if !mkfifo(&fifo) {
                return None;
            }
            if special == Special::Fifo {
                std::fs::rename(&fifo, &out).ok()?;
                reader = Some(FifoReader::start(&out, dir.path("fifo.keep")));
            } else {
                std::os::unix::fs::symlink("fifo", &out).ok()?;
                reader = Some(FifoReader::start(&fifo, dir.path("fifo.keep")));
            }
        }
        Special::Folder => std::fs::create_dir(&out).ok()?,
        Special::DanglingIntoMissingFolder => {
            std::os::unix::fs::symlink("missing/file", &out).ok()?
        }
        Special::NullDevice => {
            if !mknod(&out, "3") {
                return None;
            }
        }
        Special::FullDevice => {
            if !mknod(&out, "7") {
                return None;
            }
        }
    }
    let before = what_is(&out);
    let path = out.display().to_string();
    let s = |x: &str| x.to_string();
    let args: Vec<String> = match command {
        "grad --out" => vec![
            s("grad"),
            model("gatv2.gat"),
            s("--inputs"),
            reference("gatv2_basic.safetensors"),
            s("--out"),
            path,
        ],
        "gen-graph --out" => vec![
            s("gen-graph"),
            s("--nodes"),
            s("10"),
            s("--edges"),
            s("20"),
            s("--seed"),
            s("1"),
            s("--out"),
            path,
        ],
        _ => {
            let flag = if command == "train --log" {
                "--log"
            } else {
                "--out"
            };
            vec![
                s("train"),
                model("gatv2_two_layer.gat"),
                s("--dataset"),
                s("cora"),
                s("--epochs"),
                s("1"),
                s(flag),
                path,
            ]
        }
    };
    let run = gatgrad(dir.dir(), &args, Duration::from_secs(60));
    let got = reader.map(FifoReader::finish);
    let after = what_is(&out);
    let mut wrong = Vec::new();
    if run.code != Some(special.expected_exit()) {
        wrong.push(format!(
            "{} (expected exit {})",
            run.outcome(),
            special.expected_exit()
        ));
    }
    if run.code == Some(2) && run.stderr.lines().count() != 1 {
        wrong.push(format!(
            "{} lines on stderr (expected one)",
            run.stderr.lines().count()
        ));
    }
    if after != before && !matches!(special, Special::Regular) {
        wrong.push(format!("{before} became {after}"));
    }
    let changed = |p: &Path| std::fs::read(p).is_ok_and(|b| !b.is_empty() && b != old);
    let ok = run.code == Some(0);
    match special {
        Special::Regular if ok && (!after.starts_with("a regular file") || !changed(&out)) => {
            wrong.push(format!("the file was not replaced: {after}"));
        }
        Special::Symlink | Special::SymlinkChain if ok && !changed(&target) => {
            wrong.push(format!(
                "the link's target was not written: {}",
                what_is(&target)
            ));
        }
        Special::Fifo | Special::SymlinkToFifo => match got.flatten() {
            Some(n) if n > 0 => {}
            Some(_) => wrong.push("the FIFO's reader got nothing".into()),
            None => wrong.push("the FIFO's reader is still blocked".into()),
        },
        Special::DanglingIntoMissingFolder if dir.path("missing").exists() => {
            wrong.push("the missing folder was created".into());
        }
        _ => {}
    }
    let command = format!("gatgrad {}", args.join(" "));
    Some(Checked {
        result: if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} at the output: {}",
                special.name(),
                wrong.join("; ")
            ))
        },
        run: Some(run),
        command,
    })
}

/// Every (command, special file) pair, in the order the campaign goes through them.
pub fn combinations() -> Vec<(&'static str, Special)> {
    COMMANDS
        .iter()
        .flat_map(|&c| SPECIALS.iter().map(move |&s| (c, s)))
        .collect()
}

/// One iteration of the campaign: the pair of [`combinations`] for this iteration, checked.
pub fn iteration(_rng: &mut Rng, ctx: &mut Ctx) {
    let combos = combinations();
    let (command, special) = combos[ctx.iteration() % combos.len()];
    ctx.save_current(format!("{command} on a {}", special.name()).as_bytes());
    let Some(checked) = check(command, special) else {
        ctx.tally(special.name(), "cannot be made here");
        return;
    };
    match checked.result {
        Ok(()) => ctx.tally(special.name(), "as expected"),
        Err(why) => {
            let run = checked.run.map_or(String::new(), |r| r.describe());
            let input = Input::Command {
                line: checked.command,
                note: special.name().to_string(),
            };
            ctx.fail(command, special.name(), format!("{why}\n{run}"), input);
            ctx.tally(special.name(), "WRONG");
        }
    }
}

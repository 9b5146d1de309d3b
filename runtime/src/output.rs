//! Output files that never destroy what is at their path.
//!
//! Every file gatgrad writes goes through an [`OutputPath`]: checked when the arguments are read
//! (so a missing or read-only folder is refused before any work starts), written at the end.
//!
//! - A regular file, or nothing, at the path: the bytes go to a temporary file in the same folder
//!   that is then renamed over the path, so readers see the old file or the new one, never half
//!   of one, and a failure leaves the old file as it was.
//! - A symlink: followed (through any chain of links) and its final target replaced as above, in
//!   the target's folder; the link itself stays a link.
//! - A FIFO or a character device: opened for writing as it is (no create, no truncate) and
//!   written directly, so it stays what it is; a write error (e.g. `ENOSPC` from a full device)
//!   is an error.
//! - A folder, a socket or a block device: refused.

use crate::error::DataError;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// How many symlinks are followed before giving up (Linux's own limit).
const MAX_LINKS: usize = 40;

/// A path gatgrad may write its output to, checked up front.
///
/// [`check`](Self::check) inspects what is at the path (following symlinks) and that its folder
/// exists and is writable; [`write_bytes`](Self::write_bytes) and [`create`](Self::create) look
/// again when they write, so a path that changed in between is still handled by its kind.
#[derive(Debug, Clone)]
pub struct OutputPath {
    given: PathBuf,
    /// The canonical path of the file written (symlinks resolved), for [`same_file`](Self::same_file).
    resolved: PathBuf,
    /// Device and inode of what is there now, if anything.
    inode: Option<(u64, u64)>,
}

/// What writing to a path means, after following symlinks.
enum Target {
    /// Nothing or a regular file at `path`: write a temporary file next to it and rename it.
    Replace {
        path: PathBuf,
        existing: Option<Metadata>,
    },
    /// A FIFO or character device at `path`: open it for writing and write directly.
    Direct { path: PathBuf, metadata: Metadata },
}

impl OutputPath {
    /// Checks that output can be written to `path` without destroying anything: errors, naming
    /// the path, for a folder, socket or block device at it, a symlink loop, and a folder that
    /// does not exist, is not a folder or cannot be written.
    pub fn check(path: impl AsRef<Path>) -> Result<OutputPath, DataError> {
        let given = path.as_ref().to_path_buf();
        let (resolved, inode) = match resolve(&given)? {
            Target::Replace { path, existing } => {
                let dir = folder_of(&path);
                probe_folder(&given, &dir, &path)?;
                let canonical = dir
                    .canonicalize()
                    .map_err(|e| cannot(&given, format_args!("cannot resolve its folder: {e}")))?;
                let name = path.file_name().map(PathBuf::from).unwrap_or_default();
                (canonical.join(name), existing.as_ref().map(inode_of))
            }
            Target::Direct { path, metadata } => {
                let canonical = path.canonicalize().unwrap_or(path);
                (canonical, Some(inode_of(&metadata)))
            }
        };
        Ok(OutputPath {
            given,
            resolved,
            inode,
        })
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.given
    }

    /// Whether `self` and `other` name the same file: the same device and inode, or the same
    /// path once symlinks and spellings such as `./` are resolved.
    pub fn same_file(&self, other: &OutputPath) -> bool {
        match (self.inode, other.inode) {
            (Some(a), Some(b)) if a == b => true,
            _ => self.resolved == other.resolved,
        }
    }

    /// Writes `bytes` to the path (see the [module docs](self) for what that means for each kind
    /// of file). Errors name the path.
    pub fn write_bytes(&self, bytes: &[u8]) -> Result<(), DataError> {
        let mut out = self.create()?;
        out.write_all(bytes).map_err(|e| out.error(e))?;
        out.finish()
    }

    /// Opens the path for writing; nothing replaces a regular file until
    /// [`OutputFile::finish`]. Errors name the path.
    pub fn create(&self) -> Result<OutputFile, DataError> {
        let shown = self.given.display().to_string();
        let fail = |e: std::io::Error| cannot(&self.given, format_args!("cannot write: {e}"));
        match resolve(&self.given)? {
            Target::Replace { path, existing } => {
                let (tmp, file) = temporary(&path).map_err(fail)?;
                if let Some(m) = existing {
                    // The new file keeps the mode of the one it replaces, as editors do.
                    let _ = file.set_permissions(m.permissions());
                }
                Ok(OutputFile {
                    shown,
                    file: Some(BufWriter::new(file)),
                    rename: Some((tmp, path)),
                })
            }
            Target::Direct { path, .. } => {
                let file = OpenOptions::new().write(true).open(&path).map_err(fail)?;
                let kind = file.metadata().map_err(fail)?;
                if kind.is_file() || kind.is_dir() {
                    return Err(cannot(
                        &self.given,
                        "changed into a regular file or folder while gatgrad ran; run again",
                    ));
                }
                Ok(OutputFile {
                    shown,
                    file: Some(BufWriter::new(file)),
                    rename: None,
                })
            }
        }
    }
}

/// An output being written: a temporary file renamed over the target by
/// [`finish`](Self::finish), or a FIFO or device written directly. Dropped without `finish`, the
/// temporary file is removed and the target is left as it was.
#[derive(Debug)]
pub struct OutputFile {
    shown: String,
    file: Option<BufWriter<File>>,
    /// `(temporary, target)` when the output replaces a regular file.
    rename: Option<(PathBuf, PathBuf)>,
}

impl OutputFile {
    /// Flushes everything and, for a regular file, syncs the temporary file and renames it over
    /// the target. Errors name the path.
    pub fn finish(mut self) -> Result<(), DataError> {
        let result = self.complete();
        result.map_err(|e| self.error(e))
    }

    fn complete(&mut self) -> std::io::Result<()> {
        let Some(writer) = self.file.take() else {
            return Ok(());
        };
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        if let Some((tmp, target)) = &self.rename {
            file.sync_all()?;
            drop(file);
            std::fs::rename(tmp, target)?;
            self.rename = None;
        }
        Ok(())
    }

    /// A write error on this output as a [`DataError`] naming the path.
    pub fn error(&self, e: std::io::Error) -> DataError {
        DataError::file(&self.shown, format_args!("cannot write: {e}"))
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("output already finished")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if let Some((tmp, _)) = &self.rename {
            // Unfinished: nothing replaces the target, and the buffer is dropped unwritten.
            if let Some(w) = self.file.take() {
                drop(w.into_parts());
            }
            let _ = std::fs::remove_file(tmp);
        }
    }
}

fn cannot(path: &Path, what: impl std::fmt::Display) -> DataError {
    DataError::file(&path.display().to_string(), what)
}

/// Follows symlinks from `given` and classifies what is at the end.
fn resolve(given: &Path) -> Result<Target, DataError> {
    let text = given.as_os_str().to_string_lossy();
    if text.is_empty() {
        return Err(DataError::new("an empty path is not a file path"));
    }
    if text.ends_with('/') || given.file_name().is_none() {
        return Err(cannot(given, "names a folder; give a file path"));
    }
    let mut path = given.to_path_buf();
    for _ in 0..=MAX_LINKS {
        let metadata = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Target::Replace {
                    path,
                    existing: None,
                })
            }
            Err(e) => return Err(inspect_error(given, &path, e)),
        };
        let kind = metadata.file_type();
        if kind.is_symlink() {
            let link = std::fs::read_link(&path)
                .map_err(|e| cannot(given, format_args!("cannot read the symlink: {e}")))?;
            path = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.join(link),
                _ => link,
            };
            continue;
        }
        if kind.is_file() {
            return Ok(Target::Replace {
                path,
                existing: Some(metadata),
            });
        }
        let shown = if path == given {
            String::new()
        } else {
            format!(" (the symlink leads to `{}`)", path.display())
        };
        return match special_kind(&metadata) {
            Special::Writable => Ok(Target::Direct { path, metadata }),
            Special::Refused(what) => Err(cannot(
                given,
                format_args!("is {what}{shown}; give the path of a file to write"),
            )),
        };
    }
    Err(cannot(
        given,
        format_args!("more than {MAX_LINKS} symlinks in a row (a loop?)"),
    ))
}

/// Why `path` (which `given` leads to) cannot be inspected: names the first folder on the way
/// that is not a folder, or gives the system's reason.
fn inspect_error(given: &Path, path: &Path, e: std::io::Error) -> DataError {
    let not_folder = path
        .ancestors()
        .skip(1)
        .find(|a| !a.as_os_str().is_empty() && std::fs::metadata(a).is_ok_and(|m| !m.is_dir()));
    match not_folder {
        Some(a) => cannot(
            given,
            format_args!("`{}` is a file, not a folder", a.display()),
        ),
        None => cannot(given, format_args!("cannot inspect: {e}")),
    }
}

/// What a file that is neither regular nor a symlink is.
enum Special {
    /// A FIFO or a character device.
    Writable,
    /// Anything else, described (`"a folder"`).
    Refused(&'static str),
}

#[cfg(unix)]
fn special_kind(m: &Metadata) -> Special {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_fifo() || t.is_char_device() {
        Special::Writable
    } else if t.is_dir() {
        Special::Refused("a folder")
    } else if t.is_socket() {
        Special::Refused("a socket")
    } else if t.is_block_device() {
        Special::Refused("a block device")
    } else {
        Special::Refused("not a regular file")
    }
}

#[cfg(not(unix))]
fn special_kind(m: &Metadata) -> Special {
    if m.is_dir() {
        Special::Refused("a folder")
    } else {
        Special::Refused("not a regular file")
    }
}

#[cfg(unix)]
fn inode_of(m: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn inode_of(_: &Metadata) -> (u64, u64) {
    (0, 0)
}

/// The folder a path is in (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Errors unless `dir` (the folder of `target`, which `given` leads to) exists, is a folder and
/// lets a file be created in it: a temporary file is created and removed.
fn probe_folder(given: &Path, dir: &Path, target: &Path) -> Result<(), DataError> {
    let via = if target == given {
        String::new()
    } else {
        format!(" (the symlink leads to `{}`)", target.display())
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(cannot(
                given,
                format_args!("`{}` is not a folder{via}", dir.display()),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(cannot(
                given,
                format_args!(
                    "the folder `{}` does not exist{via}; create it first",
                    dir.display()
                ),
            ))
        }
        Err(e) => {
            return Err(cannot(
                given,
                format_args!("cannot use the folder `{}`: {e}", dir.display()),
            ))
        }
    }
    match temporary(target) {
        Ok((tmp, file)) => {
            drop(file);
            let _ = std::fs::remove_file(tmp);
            Ok(())
        }
        Err(e) => Err(cannot(
            given,
            format_args!("cannot write in the folder `{}`: {e}", dir.display()),
        )),
    }
}

/// Creates a new, uniquely named hidden file next to `target`: `.NAME.PID.N.tmp`.
fn temporary(target: &Path) -> std::io::Result<(PathBuf, File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = target.file_name().unwrap_or_default();
    loop {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        tmp_name.push(format!(".{}.{unique}.tmp", std::process::id()));
        let tmp = target.with_file_name(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gatgrad-output-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn regular_files_are_replaced_and_nothing_is_left_behind() {
        let d = dir("regular");
        let p = d.join("out.bin");
        OutputPath::check(&p).unwrap().write_bytes(b"one").unwrap();
        OutputPath::check(&p).unwrap().write_bytes(b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(names(&d), vec!["out.bin"]);
        // An unfinished output leaves the old file and no temporary.
        let mut w = OutputPath::check(&p).unwrap().create().unwrap();
        w.write_all(b"three").unwrap();
        drop(w);
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(names(&d), vec!["out.bin"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_to_their_final_target() {
        let d = dir("symlink");
        std::fs::create_dir(d.join("sub")).unwrap();
        std::os::unix::fs::symlink("sub/target.bin", d.join("b")).unwrap();
        std::os::unix::fs::symlink("b", d.join("a")).unwrap();
        let out = OutputPath::check(d.join("a")).unwrap();
        out.write_bytes(b"data").unwrap();
        assert!(std::fs::symlink_metadata(d.join("a"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(d.join("sub/target.bin")).unwrap(), b"data");
        assert!(out.same_file(&OutputPath::check(d.join("sub/./target.bin")).unwrap()));
        assert!(!out.same_file(&OutputPath::check(d.join("other.bin")).unwrap()));
        // A loop is an error, not a hang.
        std::os::unix::fs::symlink("loop2", d.join("loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", d.join("loop2")).unwrap();
        let err = OutputPath::check(d.join("loop1")).unwrap_err().to_string();
        assert!(err.contains("symlinks in a row"), "{err}");
        // A dangling link whose folder is missing names that folder.
        std::os::unix::fs::symlink("nowhere/x.bin", d.join("dangling")).unwrap();
        let err = OutputPath::check(d.join("dangling"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nowhere` does not exist"), "{err}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn folders_and_missing_folders_are_refused() {
        let d = dir("folders");
        let err = OutputPath::check(&d).unwrap_err().to_string();
        assert!(
            err.ends_with("is a folder; give the path of a file to write"),
            "{err}"
        );
        let err = OutputPath::check(d.join("no/such/x.bin"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist; create it first"), "{err}");
        std::fs::write(d.join("file"), b"").unwrap();
        let err = OutputPath::check(d.join("file/x.bin"))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("file` is a file, not a folder"), "{err}");
        let err = OutputPath::check(format!("{}/", d.join("new").display()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("give a file path"), "{err}");
        assert!(OutputPath::check("").is_err());
        assert_eq!(names(&d), vec!["file"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn spellings_of_one_path_are_the_same_file() {
        let d = dir("same");
        let a = OutputPath::check(d.join("x.bin")).unwrap();
        let b = OutputPath::check(d.join(".").join("x.bin")).unwrap();
        assert!(a.same_file(&b), "{a:?} {b:?}");
        assert_eq!(a.path(), d.join("x.bin"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}

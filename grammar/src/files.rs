//! Gathering from the file system: the one place that says how a `use` path names a file. A
//! path is relative to the folder of the file that writes it; a file is identified by its
//! canonical path (two spellings of one file are one file) and shown by its path as reached from
//! the root's name. The reading of each file's text stays the caller's (a size limit, a list of
//! files to track), so [`crate::sources`] itself stays free of I/O.

use crate::sources::{gather, Loaded, Read};
use std::path::{Path, PathBuf};

/// Gathers the root file at `root` (its text `text`, shown as `name`) and every file it uses.
/// `read` returns a file's text or a one-line message; the message is shown at the `use`, with
/// the path as the user reaches it.
pub fn gather_files(
    root: &Path,
    name: &str,
    text: String,
    read: &mut dyn FnMut(&Path) -> Result<String, String>,
) -> Loaded {
    let mut read_used = |written: &str, from_key: &str, from_name: &str| {
        let beside = |p: &str| Path::new(p).parent().map(|d| d.join(written));
        let full = beside(from_key).unwrap_or_else(|| written.into());
        let shown = beside(from_name).unwrap_or_else(|| written.into());
        let text = read(&full)
            .map_err(|e| e.replace(&full.display().to_string(), &shown.display().to_string()))?;
        Ok(Read {
            key: key(&full),
            name: shown.display().to_string(),
            text,
        })
    };
    gather(&key(root), name, text, &mut read_used)
}

/// The identity of the file at `path`: its canonical path, or the path itself if it has none.
fn key(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| PathBuf::from(path))
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_are_read_beside_the_file_that_writes_them_once_each() {
        let dir = tempfile_dir();
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        std::fs::write(dir.join("lib/a.gat"), "layer a() {}\n").unwrap();
        std::fs::write(dir.join("lib/b.gat"), "use \"a.gat\";\nlayer b() {}\n").unwrap();
        let root = dir.join("m.gat");
        let text = "use \"lib/a.gat\";\nuse \"lib/../lib/b.gat\";\nmodel m() {}\n".to_string();
        let mut reads = Vec::new();
        let loaded = gather_files(&root, "m.gat", text, &mut |p| {
            reads.push(p.to_path_buf());
            std::fs::read_to_string(p).map_err(|e| format!("cannot read `{}`: {e}", p.display()))
        });
        assert!(loaded.errors.is_empty());
        let names: Vec<&str> = loaded.source.files().map(|(n, _)| n).collect();
        assert_eq!(names, ["lib/a.gat", "lib/../lib/b.gat", "m.gat"]);
        // `a.gat` is reached twice (from m and from b) and read twice, but gathered once.
        assert_eq!(reads.len(), 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_file_is_named_as_the_user_reaches_it() {
        let dir = tempfile_dir();
        let root = dir.join("m.gat");
        let loaded = gather_files(&root, "m.gat", "use \"gone.gat\";\n".into(), &mut |p| {
            Err(format!("cannot read `{}`: no such file", p.display()))
        });
        assert_eq!(loaded.errors.len(), 1);
        assert_eq!(
            loaded.errors[0].message,
            "cannot read `gone.gat`: no such file"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("gatgrad-files-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

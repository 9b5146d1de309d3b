//! Compiles every model of the zoo (`models/**/*.gat`) into the crate: writes one
//! `#[derive_gradients]` struct per file and a visitor over all of them to `OUT_DIR/zoo.rs`,
//! included by `src/zoo.rs`. A new file in `models/` is compiled and tested without editing code.

use std::fmt::Write;

/// `gatv2_two_layer` → `GatV2TwoLayer`: each `_`-separated part capitalised, and a `v` before a
/// digit upper-cased (a version, as in GATv2).
fn type_name(stem: &str) -> String {
    let mut out = String::new();
    for part in stem.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<char> = part.chars().collect();
        for (k, &c) in chars.iter().enumerate() {
            let version = c == 'v' && chars.get(k + 1).is_some_and(|d| d.is_ascii_digit());
            if k == 0 || version {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
        }
    }
    out
}

/// The `.gat` files under `dir`, in subfolders too (`models/dgl/gatv2.gat`), sorted by path.
fn gat_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    for entry in std::fs::read_dir(dir).expect("a readable zoo folder") {
        let path = entry.expect("a readable entry of `models/`").path();
        if path.is_dir() {
            gat_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "gat") {
            out.push(path);
        }
    }
}

fn main() {
    let root = std::path::Path::new("models");
    let mut files = Vec::new();
    gat_files(root, &mut files);
    files.sort();
    let mut items = String::new();
    let mut visits = String::new();
    for path in &files {
        // `models/dgl/gatv2.gat` → `dgl_gatv2` → `DglGatV2`.
        let rel = path.strip_prefix(root).unwrap().with_extension("");
        let stem = rel.to_string_lossy().replace(['/', '\\'], "_");
        let file = format!(
            "models/{}",
            path.strip_prefix(root).unwrap().to_string_lossy()
        );
        println!("cargo:rerun-if-changed={file}");
        let text = std::fs::read_to_string(path).expect("a readable zoo file");
        let summary: Vec<&str> = text
            .lines()
            .take_while(|l| l.starts_with("//"))
            .map(|l| l.trim_start_matches('/').trim())
            .collect();
        let ty = type_name(&stem);
        let _ = writeln!(
            items,
            "/// `{file}`: {}",
            summary.join(" ").replace('`', "'")
        );
        let _ = writeln!(
            items,
            "#[derive_gradients(file = {file:?}, krate = \"crate\")]\npub struct {ty};\n"
        );
        let _ = writeln!(visits, "    v.visit::<{ty}>({file:?});");
    }
    let _ = writeln!(
        items,
        "/// Calls `v.visit::<M>(file)` for every model `M` of the zoo, in file-name order.\n\
         pub fn for_each<V: Visitor>(v: &mut V) {{\n{visits}}}\n\n\
         /// The files of the zoo, in file-name order.\n\
         pub const FILES: &[&str] = &[{}];",
        files
            .iter()
            .map(|p| format!(
                "{:?}",
                format!("models/{}", p.strip_prefix(root).unwrap().display())
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("zoo.rs");
    std::fs::write(out, items).expect("write OUT_DIR/zoo.rs");
}

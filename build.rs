//! Compiles every model of the zoo (`models/*.gat`) into the crate: writes one
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

fn main() {
    println!("cargo:rerun-if-changed=models");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir("models")
        .expect("the zoo folder `models/`")
        .map(|e| e.expect("a readable entry of `models/`").path())
        .filter(|p| p.extension().is_some_and(|e| e == "gat"))
        .collect();
    files.sort();
    let mut items = String::new();
    let mut visits = String::new();
    for path in &files {
        let stem = path.file_stem().unwrap().to_string_lossy();
        let file = format!("models/{}", path.file_name().unwrap().to_string_lossy());
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
            .map(|p| format!("\"models/{}\"", p.file_name().unwrap().to_string_lossy()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("zoo.rs");
    std::fs::write(out, items).expect("write OUT_DIR/zoo.rs");
}

//! A file and the files it `use`s, gathered into one [`Source`] so that lowering sees every layer
//! and every message still points into the right file.
//!
//! The reading itself is the caller's (the command line and the macro read from disk; tests read
//! from memory), so this stays free of I/O.

use crate::ast::{Span, Use};
use crate::diagnostic::{Diagnostic, Source};

/// A file read for a `use`: a key that is the same for two paths naming the same file (the
/// canonical path), the name shown in messages and the text.
pub struct Read {
    /// Identity of the file (e.g. its canonical path).
    pub key: String,
    /// Name shown in messages.
    pub name: String,
    /// Contents.
    pub text: String,
}

/// The gathered files: used files first (each once, dependencies before the files that use
/// them), the root file last, so that the root's last block stays the program's entry.
pub struct Loaded {
    /// All files as one text.
    pub source: Source,
    /// Syntax errors and failed `use`s, with spans into [`Source::text`](Source::text).
    pub errors: Vec<Diagnostic>,
}

/// Gathers `root` (shown as `name`, identified by `key`) and everything it uses. `read` is called
/// with the path as written in a `use` and the key and name of the file that contains it, and
/// returns the
/// file or a one-line message saying why it cannot be read (shown at the `use`).
pub fn gather(
    key: &str,
    name: &str,
    root: String,
    read: &mut dyn FnMut(&str, &str, &str) -> Result<Read, String>,
) -> Loaded {
    let mut g = Gatherer {
        files: Vec::new(),
        stack: Vec::new(),
        read,
    };
    g.visit(Read {
        key: key.to_string(),
        name: name.to_string(),
        text: root,
    });
    let source = Source::combined(
        g.files
            .iter()
            .map(|f| (f.name.clone(), f.text.clone()))
            .collect(),
    );
    let starts: Vec<usize> = source.files().map(|(_, start)| start).collect();
    let mut errors = Vec::new();
    for (f, start) in g.files.into_iter().zip(starts) {
        for mut d in f.errors {
            d.span = shift(d.span, start);
            for (span, _) in &mut d.notes {
                *span = shift(*span, start);
            }
            errors.push(d);
        }
    }
    Loaded { source, errors }
}

/// A gathered text that reads no other file: every `use` item of `text` becomes a comment (on
/// the same lines, so positions do not move). The program it compiles to is the same, since a
/// gathered text already holds what its `use` items name. A text that does not parse is returned
/// as it is.
pub fn without_uses(text: &str) -> String {
    let Ok(file) = crate::parse(text) else {
        return text.to_string();
    };
    let mut out = text.to_string();
    for u in file.uses.iter().rev() {
        let item = &text[u.span.start..u.span.end];
        out.replace_range(
            u.span.start..u.span.end,
            &format!("/* {} */", item.replace("*/", "* /")),
        );
    }
    out
}

fn shift(span: Span, by: usize) -> Span {
    Span::new(span.start + by, span.end + by)
}

/// One gathered file, with its errors in its own offsets.
struct File {
    key: String,
    name: String,
    text: String,
    errors: Vec<Diagnostic>,
}

struct Gatherer<'r> {
    files: Vec<File>,
    /// Keys of the files being visited, outermost first (to report a cycle).
    stack: Vec<String>,
    read: &'r mut dyn FnMut(&str, &str, &str) -> Result<Read, String>,
}

impl Gatherer<'_> {
    fn visit(&mut self, file: Read) {
        let text = file.text.strip_prefix('\u{feff}').unwrap_or(&file.text);
        let text = text.to_string();
        let mut errors = Vec::new();
        let uses: Vec<Use> = match crate::parse(&text) {
            Ok(parsed) => parsed.uses,
            Err(diags) => {
                errors = diags;
                Vec::new()
            }
        };
        self.stack.push(file.key.clone());
        for u in uses {
            match (self.read)(&u.path.value, &file.key, &file.name) {
                Err(why) => {
                    errors.push(Diagnostic::error(u.path.span, why).with_label("used here"))
                }
                Ok(used) if self.stack.contains(&used.key) => errors.push(
                    Diagnostic::error(u.path.span, format!("`{}` uses itself", used.name))
                        .with_label("this `use` closes a cycle")
                        .with_help("a file may use another only if that one does not use it back"),
                ),
                Ok(used) if self.files.iter().any(|f| f.key == used.key) => {}
                Ok(used) => self.visit(used),
            }
        }
        self.stack.pop();
        self.files.push(File {
            key: file.key,
            name: file.name,
            text,
            errors,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Rendered;
    use std::collections::HashMap;

    fn files(list: &[(&str, &str)]) -> HashMap<String, String> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn gather_from(fs: &HashMap<String, String>, root: &str) -> Loaded {
        let mut read = |path: &str, _key: &str, _name: &str| match fs.get(path) {
            Some(text) => Ok(Read {
                key: path.to_string(),
                name: path.to_string(),
                text: text.clone(),
            }),
            None => Err(format!("cannot read `{path}`: No such file or directory")),
        };
        gather(root, root, fs[root].clone(), &mut read)
    }

    #[test]
    fn without_uses_comments_out_use_items_only() {
        let text = "use \"a.gat\";\nlayer a() {}\n";
        let out = without_uses(text);
        assert_eq!(out, "/* use \"a.gat\"; */\nlayer a() {}\n");
        let f = crate::parse(&out).unwrap();
        assert!(f.uses.is_empty());
        assert_eq!(f.blocks.len(), 1);
    }

    #[test]
    fn used_files_come_first_and_once() {
        let fs = files(&[
            ("m.gat", "use \"a.gat\";\nuse \"b.gat\";\nmodel m() {}\n"),
            ("a.gat", "layer a() {}\n"),
            ("b.gat", "use \"a.gat\";\nlayer b() {}\n"),
        ]);
        let l = gather_from(&fs, "m.gat");
        let order: Vec<&str> = l.source.files().map(|(n, _)| n).collect();
        assert_eq!(order, ["a.gat", "b.gat", "m.gat"]);
        assert!(l.errors.is_empty());
        assert_eq!(crate::parse(&l.source.text).unwrap().blocks.len(), 3);
    }

    #[test]
    fn errors_point_into_their_own_file() {
        let fs = files(&[
            (
                "m.gat",
                "use \"a.gat\";\nuse \"missing.gat\";\nmodel m() {}\n",
            ),
            ("a.gat", "layer a() {\n    oops\n}\n"),
        ]);
        let l = gather_from(&fs, "m.gat");
        let text = Rendered(&l.errors, &l.source).to_string();
        assert!(text.contains("--> a.gat:3:1"), "{text}");
        assert!(text.contains("--> m.gat:2:5"), "{text}");
        assert!(text.contains("cannot read `missing.gat`"), "{text}");
    }

    #[test]
    fn a_cycle_is_an_error_at_the_use_that_closes_it() {
        let fs = files(&[
            ("a.gat", "use \"b.gat\";\nlayer a() {}\n"),
            ("b.gat", "use \"a.gat\";\nlayer b() {}\n"),
        ]);
        let l = gather_from(&fs, "a.gat");
        let text = Rendered(&l.errors, &l.source).to_string();
        assert!(text.contains("`a.gat` uses itself"), "{text}");
        assert!(text.contains("--> b.gat:1:5"), "{text}");
    }
}

//! What a build reports while it runs, for the caller to show (a spinner, a log line).

/// One step of [`crate::Cache::get_or_build`], in the order they happen.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// No entry for the program: its generated code is being compiled (the first use).
    Compiling {
        /// What the request called it, e.g. `my_variant.gat`.
        what: String,
    },
    /// A status line of cargo (`Compiling gatgrad v0.1.0 (...)`), trimmed.
    Cargo {
        /// The line.
        line: String,
    },
    /// The crates generated code depends on are not all in the local registry: the build goes
    /// online to download them.
    Downloading,
    /// Another process published the same entry first; its build is used.
    Raced,
    /// The entry is published and ready.
    Done {
        /// Wall-clock seconds since [`Event::Compiling`].
        seconds: f64,
    },
}

//! The cache key: a hash of everything that decides what a generated executable contains.

use std::fmt;

/// This gatgrad's version and a fingerprint of the source tree generated crates are built
/// against (see `build.rs`): the version alone does not change while the code does.
pub const GATGRAD_BUILD: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "+",
    env!("GATGRAD_SOURCE_FINGERPRINT")
);

/// What goes into a key. Two requests share an entry exactly when all of these are equal.
#[derive(Clone, Copy, Debug)]
pub struct KeyInputs<'a> {
    /// The canonical program text (comments and spacing removed by the caller), so that two
    /// files that differ only in those share one build.
    pub canonical_text: &'a str,
    /// The gatgrad version and source fingerprint ([`GATGRAD_BUILD`] outside tests).
    pub gatgrad_version: &'a str,
    /// The whole `rustc -vV` of the compiler that builds.
    pub rustc_version: &'a str,
    /// The target triple built for.
    pub target: &'a str,
    /// `rustc --print cfg` under the build's flags: the target CPU's features.
    pub target_cfg: &'a str,
    /// The compiler flags of the build.
    pub rustflags: &'a [String],
    /// The generated crate apart from the program: its `main.rs`, dependencies and profiles,
    /// as [`crate::CrateTemplate::fingerprint_text`] spells them.
    pub crate_text: &'a str,
}

/// A cache key: 32 hexadecimal digits (128 bits of BLAKE3), used as a folder name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(String);

impl Key {
    /// The key of `inputs`. Every field is hashed with its name and length, so no two
    /// different sets of inputs spell the same byte stream.
    pub fn of(inputs: &KeyInputs) -> Key {
        let mut hasher = blake3::Hasher::new();
        let mut field = |name: &str, value: &[u8]| {
            hasher.update(name.as_bytes());
            hasher.update(&(value.len() as u64).to_le_bytes());
            hasher.update(value);
        };
        field("gatgrad-ondemand key 1", b"");
        field("canonical_text", inputs.canonical_text.as_bytes());
        field("gatgrad_version", inputs.gatgrad_version.as_bytes());
        field("rustc_version", inputs.rustc_version.as_bytes());
        field("target", inputs.target.as_bytes());
        field("target_cfg", inputs.target_cfg.as_bytes());
        for flag in inputs.rustflags {
            field("rustflag", flag.as_bytes());
        }
        field("crate_text", inputs.crate_text.as_bytes());
        Key(hasher.finalize().to_hex()[..32].to_string())
    }

    /// The hexadecimal digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A short name for `text`: 16 hexadecimal digits of its BLAKE3 hash. For what a generated crate
/// must name differently for every program while the crate's text stays a function of the
/// program alone (a Python extension module's name, which is its `PyInit_` symbol).
pub fn text_id(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex()[..16].to_string()
}

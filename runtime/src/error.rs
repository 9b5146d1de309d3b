//! The one error type of this crate: a single, human-readable line.

use std::fmt;

/// An error in user-supplied data (a tensor file, a dataset, a graph).
///
/// The message is one line that names what is wrong and where, for example
/// ``tensor `edge_index`: expected shape [2, E], found [3, 10]``.
/// `Display` prints exactly the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError(pub String);

impl DataError {
    /// An error with the given message.
    pub fn new(message: impl Into<String>) -> Self {
        DataError(message.into())
    }

    /// ``tensor `name`: {what}``.
    pub fn tensor(name: &str, what: impl fmt::Display) -> Self {
        DataError(format!("tensor `{name}`: {what}"))
    }

    /// ``file `name`: {what}``.
    pub fn file(name: &str, what: impl fmt::Display) -> Self {
        DataError(format!("file `{name}`: {what}"))
    }

    /// ``missing tensor `name` ``.
    pub fn missing(name: &str) -> Self {
        DataError(format!("missing tensor `{name}`"))
    }

    /// ``tensor `name`: expected shape {expected}, found [..]``; `expected` is
    /// free text such as `"[2, E]"`.
    pub fn shape(name: &str, expected: &str, found: &[usize]) -> Self {
        DataError::tensor(
            name,
            format_args!("expected shape {expected}, found {}", fmt_shape(found)),
        )
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DataError {}

/// Formats a shape as `[a, b, c]`.
pub(crate) fn fmt_shape(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_message() {
        let e = DataError::shape("edge_index", "[2, E]", &[3, 10]);
        assert_eq!(
            e.to_string(),
            "tensor `edge_index`: expected shape [2, E], found [3, 10]"
        );
        assert_eq!(
            DataError::missing("param.att").to_string(),
            "missing tensor `param.att`"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(DataError::new("x"));
        assert_eq!(boxed.to_string(), "x");
    }
}

//! Mistakes in the command line, or in the project's files that stand for
//! it: reported like any failure, but with exit code 2, so that scripts
//! can tell "you called it wrong" apart.

use std::fmt;

/// A mistake in the command line.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

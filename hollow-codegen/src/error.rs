//! The error type of code generation.

use std::fmt;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration cannot be used (no schema files, a missing folder).
    Config,
    /// Reading or writing a file failed.
    Io,
    /// The schema compiler refused the schemas (syntax errors, unknown
    /// names, an annotation on the wrong kind of declaration) or could not
    /// be run.
    Compiler,
    /// The schemas compiled, but hollow-codegen cannot map them to Rust
    /// faithfully (an interface, `AnyPointer`, a generic struct, a key that
    /// names a missing field, …).
    Schema,
    /// The generated tokens did not parse as Rust (a bug in hollow-codegen).
    Internal,
}

/// A code generation failure. The message names what failed: the file, and
/// for schema problems the struct and field (one problem per line).
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    #[cold]
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    #[cold]
    pub(crate) fn io(what: &str, path: &std::path::Path, e: std::io::Error) -> Self {
        Error {
            kind: ErrorKind::Io,
            message: format!("{what} {}: {e}", path.display()),
            source: Some(Box::new(e)),
        }
    }

    #[cold]
    pub(crate) fn schema(problems: Vec<String>) -> Self {
        Error::new(ErrorKind::Schema, problems.join("\n"))
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message (one problem per line for [`ErrorKind::Schema`]).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

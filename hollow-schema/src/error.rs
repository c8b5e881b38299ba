//! The schema layer's error type.

use std::fmt;

/// A schema that cannot be used: a validation failure, a layout failure or a
/// `CodeGeneratorRequest` that cannot be read. The message names the type and
/// field concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError {
    message: String,
}

impl SchemaError {
    /// An error with the given message.
    #[cold]
    pub fn new(message: impl Into<String>) -> Self {
        SchemaError {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SchemaError {}

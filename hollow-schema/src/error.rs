//! The schema layer's error type.

use std::fmt;

use crate::layout::LayoutError;

/// A schema that cannot be used: a validation failure, a layout failure or a
/// `CodeGeneratorRequest` that cannot be read. The message names the type and
/// field concerned; when several problems were found, it lists them one per
/// line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError {
    message: String,
    layout: Option<LayoutError>,
}

impl SchemaError {
    /// An error with the given message.
    #[cold]
    pub fn new(message: impl Into<String>) -> Self {
        SchemaError {
            message: message.into(),
            layout: None,
        }
    }

    /// An error caused by a struct whose layout cannot be computed.
    #[cold]
    pub fn from_layout(message: impl Into<String>, cause: LayoutError) -> Self {
        SchemaError {
            message: message.into(),
            layout: Some(cause),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The layout failure behind this error, when it is one (for example
    /// [`LayoutError::Issue344`], a shape the official compiler refuses).
    pub fn layout_error(&self) -> Option<LayoutError> {
        self.layout
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SchemaError {}

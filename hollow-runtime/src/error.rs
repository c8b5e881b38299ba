//! The error type of the producer, the consumer and the blob machinery.

use std::fmt;

use crate::store::StoreError;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A blob store or announcer failed.
    Store,
    /// A blob is corrupt, truncated, of an unknown format, or inconsistent
    /// with its header.
    CorruptBlob,
    /// A delta was offered to a state it does not apply to.
    WrongState,
    /// No way to reach the requested version from the blobs in the store.
    Planning,
    /// Another producer announced first.
    AnnounceConflict,
    /// A validator refused the new version.
    Validation,
    /// The producer's integrity check failed (the delta applied to the
    /// previous state does not give the snapshot).
    Integrity,
    /// A record could not be encoded, or two records share a primary key.
    Record,
    /// Two schemas conflict: a blob's and the compiled types a consumer
    /// reads it through, or a producer's and the version it continues (see
    /// `hollow_schema::evolution`). The message names the type, the field
    /// and both definitions.
    Schema,
    /// The populate closure returned an error.
    Populate,
    /// A timeout elapsed.
    Timeout,
    /// Local I/O (the consumer's cache).
    Io,
    /// The component was closed.
    Closed,
}

/// An error from the producer, the consumer or the blob layer; the message
/// names the blob, version, type and key concerned.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error of the given kind.
    #[cold]
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An error with an underlying cause.
    #[cold]
    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error {
            kind,
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.source {
            let inner = s.to_string();
            if !self.message.contains(&inner) {
                write!(f, ": {inner}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl ErrorKind {
    /// The kind of a store failure: a lost compare-and-swap (or version
    /// claim) is [`ErrorKind::AnnounceConflict`], anything else
    /// [`ErrorKind::Store`].
    pub(crate) fn of_store(e: &StoreError) -> ErrorKind {
        if e.kind() == crate::store::StoreErrorKind::Conflict {
            ErrorKind::AnnounceConflict
        } else {
            ErrorKind::Store
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error {
            kind: ErrorKind::of_store(&e),
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

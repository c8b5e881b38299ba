//! [`BlobError`]: what is wrong with a blob, naming the blob.

use std::fmt;

/// The kind of a [`BlobError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlobErrorKind {
    /// Not a Hollow blob: the first bytes are not the magic `HOLLOWRS`.
    NotHollow,
    /// A blob format version this reader does not know.
    UnsupportedVersion,
    /// The blob is shorter than its prefix and trailer, or its end marker is
    /// missing (a partial download, say).
    Truncated,
    /// The whole-file or a section checksum does not match the bytes.
    Checksum,
    /// The prefix is inconsistent (unknown kind, header length, reserved
    /// field).
    Prefix,
    /// The header message cannot be read, or its schema or directory is
    /// invalid (sections out of bounds, misaligned, overlapping, repeated).
    Header,
    /// A section message does not have the documented shape.
    Section,
    /// A record handed to the section builder is not canonical bytes of a
    /// struct that fits the record type's sections.
    Record,
    /// A section or blob would exceed what Cap'n Proto pointers can address
    /// (4 GiB per section message).
    TooLarge,
    /// The deep check found a record that cannot be read, or records that
    /// do not add up to the directory's `stateCount` and `stateChecksum`.
    Records,
}

/// A blob that cannot be written or read: its kind and a message naming the
/// blob and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobError {
    kind: BlobErrorKind,
    message: String,
}

impl BlobError {
    /// An error of `kind` about the blob `blob`; `what` completes the
    /// sentence "blob `blob` …".
    pub(crate) fn new(kind: BlobErrorKind, blob: &str, what: impl fmt::Display) -> BlobError {
        BlobError {
            kind,
            message: format!("blob {blob} {what}"),
        }
    }

    /// An error while building a blob (no name yet); `message` is complete.
    pub(crate) fn building(kind: BlobErrorKind, message: impl Into<String>) -> BlobError {
        BlobError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> BlobErrorKind {
        self.kind
    }

    /// The message (also what `Display` shows).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for BlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BlobError {}

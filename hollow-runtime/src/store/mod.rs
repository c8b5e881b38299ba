//! Where versions live: blob stores, announcers and announcement watchers.
//!
//! A producer writes each version's blobs to a [`BlobStore`] and then
//! announces the version through an [`Announcer`]; consumers learn of new
//! versions from an [`AnnouncementWatcher`] and fetch blobs from the store.
//! The traits are object-safe (`Arc<dyn BlobStore>`), so an object-store
//! implementation plugs in unchanged.
//!
//! Embedded implementations: [`FsBlobStore`] (a local directory, where
//! producers claim a version before writing its blobs, so two producers
//! racing for a version never mix their blobs) with [`FileAnnouncer`] (an
//! `announced.version` file), and [`MemoryBlobStore`]
//! with [`InProcessAnnouncer`] for tests. With the `object-store` feature,
//! `object` puts blobs and the announcement on S3 and other object stores,
//! and `url` opens a store from `s3://bucket/prefix`, `file:///path` or
//! `memory://`. [`retention`] deletes blobs no consumer needs any more.

use std::fmt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

mod announce;
mod fs;
mod local;
mod memory;
#[cfg(feature = "object-store")]
pub mod object;
pub(crate) mod owner;
pub mod retention;
#[cfg(feature = "object-store")]
pub mod url;

pub use crate::blob::{BlobName, BlobNameError};
pub use announce::{AnnouncementWatcher, Announcer, FileAnnouncer, InProcessAnnouncer};
pub use fs::FsBlobStore;

/// Fetched blobs are written to a consumer's cache in pieces this large.
/// Linux keeps a file written in large pieces in large page-cache folios,
/// which it maps with 2 MiB pages: a consumer reading records at random
/// from the memory-mapped blob then misses the TLB far less often than
/// with the 4 KiB pages a file copied in small pieces gets.
pub(crate) const CACHE_WRITE_CHUNK: usize = 8 << 20;
pub use memory::MemoryBlobStore;

/// What kind of failure a [`StoreError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The blob or object does not exist.
    NotFound,
    /// A name that is not a blob name.
    InvalidName,
    /// The compare-and-swap of an announcement lost: another producer
    /// announced first.
    Conflict,
    /// Reading or writing failed (I/O, network).
    Io,
    /// Credentials, permissions or configuration.
    Config,
}

/// A blob store or announcer failure; the message names the store and blob.
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error of the given kind.
    #[cold]
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        StoreError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An I/O error while doing `what` (the message should name the path or
    /// object).
    #[cold]
    pub fn io(what: impl Into<String>, e: std::io::Error) -> Self {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            StoreErrorKind::NotFound
        } else {
            StoreErrorKind::Io
        };
        StoreError {
            kind,
            message: format!("{}: {e}", what.into()),
            source: Some(Box::new(e)),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<BlobNameError> for StoreError {
    fn from(e: BlobNameError) -> Self {
        StoreError::new(StoreErrorKind::InvalidName, e.to_string())
    }
}

/// Where blobs are kept.
#[async_trait]
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Stores a blob under `name`, replacing any blob of that name. The blob
    /// is visible to readers only once complete (no partial reads).
    ///
    /// # Errors
    /// The write failed; nothing is left under `name` that was not there.
    async fn put(&self, name: BlobName, data: &[u8]) -> Result<(), StoreError>;

    /// Copies blob `name` into the local file `dest` (created or replaced;
    /// written to a temporary file beside it and renamed when complete).
    ///
    /// # Errors
    /// [`StoreErrorKind::NotFound`] when there is no such blob; I/O errors.
    async fn fetch(&self, name: BlobName, dest: &Path) -> Result<(), StoreError>;

    /// Every blob in the store, in no particular order.
    ///
    /// # Errors
    /// The store cannot be listed.
    async fn list(&self) -> Result<Vec<BlobName>, StoreError>;

    /// Deletes a blob (no error when it does not exist).
    ///
    /// # Errors
    /// The store refused or failed.
    async fn delete(&self, name: BlobName) -> Result<(), StoreError>;

    /// Size of a blob in bytes.
    ///
    /// # Errors
    /// [`StoreErrorKind::NotFound`] when there is no such blob.
    async fn size(&self, name: BlobName) -> Result<u64, StoreError>;

    /// A short description for messages (`dir /data/hollow`, `memory`).
    fn describe(&self) -> String;

    /// A local directory beside the blobs where a producer may keep scratch
    /// files (such as the blobs it loads to restore a version), if the
    /// store has one: [`FsBlobStore`] gives its own directory. Default:
    /// none (a producer then uses the system's temporary directory).
    fn scratch_dir(&self) -> Option<PathBuf> {
        None
    }
}

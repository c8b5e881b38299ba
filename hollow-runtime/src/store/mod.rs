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
//!
//! # Compressed blobs
//!
//! A store holds each blob plain (`snapshot-7`) or compressed with zstd
//! (`snapshot-7.zst`): the writer chooses with [`BlobStore::put_as`] and a
//! [`Compression`] (a producer's is set by
//! [`ProducerBuilder::compression`](crate::producer::ProducerBuilder::compression),
//! zstd level 3 by default), and the stored name carries the marker. Every
//! store reads both: [`list`](BlobStore::list) gives each blob's plain
//! name once whatever its layout, [`fetch`](BlobStore::fetch) writes the
//! plain blob to the destination (decompressing on the fly, in pieces,
//! never the whole blob in memory), [`delete`](BlobStore::delete) removes
//! every layout, and [`stat`](BlobStore::stat) tells the layout, the size
//! as stored (what a fetch transfers) and the plain size. A store may hold
//! a mix, blob by blob; when one blob is stored both ways (which writers
//! avoid: a put removes the other layout first) the compressed one is
//! read. Bad compressed bytes fail the fetch with
//! [`StoreErrorKind::Corrupt`] naming the blob and its stored name, and
//! leave nothing at the destination.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use hollow_runtime::store::{BlobName, BlobStore, Compression, Encoding, FsBlobStore};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = FsBlobStore::new(dir.path()).unwrap();
//! let blob = vec![7u8; 100_000];
//! store.put_as(BlobName::Snapshot(1), &blob, Compression::default()).await.unwrap();
//! store.put(BlobName::Snapshot(2), &blob).await.unwrap(); // plain
//! assert!(dir.path().join("snapshot-1.zst").is_file());
//! assert!(dir.path().join("snapshot-2").is_file());
//!
//! let stat = store.stat(BlobName::Snapshot(1)).await.unwrap();
//! assert_eq!(stat.encoding, Encoding::Zstd);
//! assert_eq!(stat.plain_bytes, Some(100_000));
//! assert!(stat.stored_bytes < 1_000);
//!
//! let dest = dir.path().join("copy");
//! store.fetch(BlobName::Snapshot(1), &dest).await.unwrap();
//! assert_eq!(std::fs::read(&dest).unwrap(), blob);
//! # });
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

mod announce;
mod codec;
mod fs;
mod local;
mod memory;
#[cfg(feature = "object-store")]
pub mod object;
pub(crate) mod owner;
pub mod retention;
mod source;
#[cfg(feature = "object-store")]
pub mod url;

pub use crate::blob::{BlobName, BlobNameError, Encoding, StoredName};
pub use announce::{AnnouncementWatcher, Announcer, FileAnnouncer, InProcessAnnouncer};
pub use codec::Compression;
pub use fs::FsBlobStore;
pub use source::LocalBlob;

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
    /// A stored blob is not what its stored name says: a `.zst` blob that
    /// is not one whole zstd frame of its declared size.
    Corrupt,
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

/// What a store holds for one blob (see [`BlobStore::stat`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobStat {
    /// The blob's name as stored (with its layout's marker).
    pub stored: StoredName,
    /// The layout (the same as `stored.encoding`).
    pub encoding: Encoding,
    /// Bytes as stored: what a fetch transfers.
    pub stored_bytes: u64,
    /// Bytes of the plain blob (what a fetch writes): the stored size of a
    /// plain blob, the size a compressed blob's zstd frame declares;
    /// `None` when a compressed blob's first bytes declare no size (it is
    /// corrupt, and a fetch refuses it).
    pub plain_bytes: Option<u64>,
}

impl BlobStat {
    /// The stat of a blob stored plain, `bytes` long.
    pub fn plain(name: BlobName, bytes: u64) -> Self {
        BlobStat {
            stored: StoredName::plain(name),
            encoding: Encoding::Plain,
            stored_bytes: bytes,
            plain_bytes: Some(bytes),
        }
    }

    /// The stat of a blob stored compressed, `stored_bytes` long, whose
    /// first bytes are `head` (at least a zstd frame header's worth, or
    /// all of it).
    pub(crate) fn zstd(name: BlobName, stored_bytes: u64, head: &[u8]) -> Self {
        BlobStat {
            stored: StoredName {
                name,
                encoding: Encoding::Zstd,
            },
            encoding: Encoding::Zstd,
            stored_bytes,
            plain_bytes: codec::declared_size(head).ok(),
        }
    }
}

/// Where blobs are kept.
///
/// Each blob is held plain or compressed, as its writer chose (see
/// "Compressed blobs" in the [module docs](self)); every method takes the
/// blob's plain [`BlobName`] and handles both layouts.
#[async_trait]
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Stores a blob under `name`, plain ([`Compression::None`]); the same
    /// as [`put_as`](Self::put_as) with it.
    ///
    /// # Errors
    /// As [`put_as`](Self::put_as).
    async fn put(&self, name: BlobName, data: &[u8]) -> Result<(), StoreError> {
        self.put_as(name, data, Compression::None).await
    }

    /// Stores the blob `data` under `name` as `compression` says
    /// (compressing it on the way, in pieces), replacing any blob of that
    /// name in either layout. The blob is visible to readers only once
    /// complete (no partial reads).
    ///
    /// # Errors
    /// The write failed; nothing is left under `name` in the new layout
    /// that was not there (a blob of the other layout may have been
    /// removed).
    async fn put_as(
        &self,
        name: BlobName,
        data: &[u8],
        compression: Compression,
    ) -> Result<(), StoreError>;

    /// Stores the blob held in a local file under `name`, as
    /// [`put_as`](Self::put_as) does its bytes. A store may read the file
    /// in pieces rather than the slice: [`FsBlobStore`] and the object
    /// store do, so a caller storing a memory-mapped blob (as a producer
    /// does) does not get the whole map's pages in its resident memory.
    /// The default stores [`LocalBlob::bytes`] with `put_as`.
    ///
    /// # Errors
    /// As [`put_as`](Self::put_as); reading the file failed or it ended
    /// before the blob's length ([`StoreErrorKind::Io`], naming the blob).
    async fn put_file(
        &self,
        name: BlobName,
        blob: LocalBlob<'_>,
        compression: Compression,
    ) -> Result<(), StoreError> {
        self.put_as(name, blob.bytes(), compression).await
    }

    /// Writes the plain blob `name` into the local file `dest` (created or
    /// replaced; written to a temporary file beside it and renamed when
    /// complete), decompressing a compressed blob on the way.
    ///
    /// # Errors
    /// [`StoreErrorKind::NotFound`] when there is no such blob;
    /// [`StoreErrorKind::Corrupt`] when a compressed blob is not a whole
    /// zstd frame of its declared size (nothing is left at `dest`); I/O
    /// errors.
    async fn fetch(&self, name: BlobName, dest: &Path) -> Result<(), StoreError>;

    /// Every blob in the store, each once whatever its layout, in no
    /// particular order.
    ///
    /// # Errors
    /// The store cannot be listed.
    async fn list(&self) -> Result<Vec<BlobName>, StoreError>;

    /// Deletes a blob in every layout (no error when it does not exist).
    ///
    /// # Errors
    /// The store refused or failed.
    async fn delete(&self, name: BlobName) -> Result<(), StoreError>;

    /// How blob `name` is stored: its layout, its size as stored and its
    /// plain size.
    ///
    /// # Errors
    /// [`StoreErrorKind::NotFound`] when there is no such blob.
    async fn stat(&self, name: BlobName) -> Result<BlobStat, StoreError>;

    /// Size of a blob in bytes as stored (compressed, when it is; see
    /// [`stat`](Self::stat) for the plain size).
    ///
    /// # Errors
    /// [`StoreErrorKind::NotFound`] when there is no such blob.
    async fn size(&self, name: BlobName) -> Result<u64, StoreError> {
        Ok(self.stat(name).await?.stored_bytes)
    }

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

/// A [`StoreErrorKind::Corrupt`] error for blob `name` of `store`, held
/// as `stored`.
#[cold]
pub(crate) fn corrupt_blob(store: &str, stored: StoredName, e: &codec::CodecError) -> StoreError {
    StoreError::new(
        StoreErrorKind::Corrupt,
        format!(
            "blob {} in {store} (stored compressed as {stored}) is corrupt: {e}",
            stored.name
        ),
    )
}

//! Blob store and announcer on object storage (S3 and S3-compatible servers,
//! GCS, Azure, local files, memory) through the [`object_store`] crate.
//!
//! [`ObjectBlobStore`] keeps blobs as objects `<prefix>/snapshot-7`,
//! `<prefix>/delta-6-7`, …; [`ObjectAnnouncer`] keeps the announcement in
//! `<prefix>/announced.version`, written with a conditional put, and
//! consumers' watchers poll it with conditional GETs. Open both from a URL
//! with [`crate::store::url`].
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use hollow_runtime::store::object::{ObjectAnnouncer, ObjectBlobStore};
//! use hollow_runtime::store::{Announcer, BlobName, BlobStore};
//!
//! // Any `object_store::ObjectStore`; S3 in production.
//! let objects = Arc::new(object_store::memory::InMemory::new());
//! let store = ObjectBlobStore::new(objects.clone(), "datasets/movies", "memory://datasets/movies");
//! let announcer = ObjectAnnouncer::new(objects, "datasets/movies", "memory://datasets/movies");
//! store.put(BlobName::Snapshot(1), b"blob bytes").await.unwrap();
//! announcer.announce(1, None).await.unwrap();
//! assert_eq!(announcer.announced().await.unwrap(), Some(1));
//! assert_eq!(store.list().await.unwrap(), vec![BlobName::Snapshot(1)]);
//! # });
//! ```
//!
//! # Two producers
//!
//! The announcement is a compare-and-swap on the ETag of
//! `announced.version`, so at most one producer announces each successor.
//! Blobs are protected too: before writing the first blob of version `v`, a
//! store claims the version by creating `<prefix>/claim-<v>` with a
//! create-if-absent put. A second producer minting the same version fails
//! with [`StoreErrorKind::Conflict`] before it writes anything, so it can
//! never overwrite the blobs of the producer that will announce; nor can it
//! delete them (a delete checks the claim first). A claim
//! left by a producer that crashed is taken over (compare-and-swap on its
//! ETag) once older than [`ObjectBlobStore::with_claim_timeout`].

mod announcer;
mod claim;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::AsyncWriteExt;

pub use announcer::ObjectAnnouncer;

use super::codec::{self, FrameDecoder, FrameEncoder};
use super::source::BlobReader;
use super::{
    BlobName, BlobStat, BlobStore, Compression, Encoding, LocalBlob, StoreError, StoreErrorKind,
    StoredName,
};

/// Blobs larger than this are uploaded in parts (multipart upload) by
/// default: 8 MiB.
pub const DEFAULT_MULTIPART_THRESHOLD: usize = 8 << 20;
/// Part size of multipart uploads by default: 8 MiB (S3's minimum is 5 MiB).
pub const DEFAULT_PART_SIZE: usize = 8 << 20;
/// Parts uploaded at once by default.
pub const DEFAULT_UPLOAD_CONCURRENCY: usize = 4;

/// The object path of `name` under `prefix`.
pub(crate) fn object_path(prefix: &ObjectPath, name: &str) -> ObjectPath {
    prefix.clone().join(name)
}

/// Parses a prefix such as `datasets/movies` (leading and trailing slashes
/// ignored) into an object path.
fn parse_prefix(prefix: &str) -> ObjectPath {
    ObjectPath::from(prefix.trim_matches('/'))
}

/// Maps an object-store error to a [`StoreError`] whose message says what
/// was being done (`doing` names the object and the URL).
#[cold]
pub(crate) fn map_error(doing: &str, url: &str, e: object_store::Error) -> StoreError {
    use object_store::Error as E;
    let text = e.to_string();
    let (kind, message) = match &e {
        _ if text.contains("NoSuchBucket") => (
            StoreErrorKind::Config,
            format!("{doing}: the bucket of {url} does not exist"),
        ),
        E::NotFound { .. } => (StoreErrorKind::NotFound, format!("{doing}: not found")),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => (
            StoreErrorKind::Config,
            format!(
                "{doing}: access to {url} denied: check the credentials \
                 (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) and permissions"
            ),
        ),
        E::AlreadyExists { .. } | E::Precondition { .. } => (
            StoreErrorKind::Conflict,
            format!("{doing}: changed by someone else"),
        ),
        _ if text.contains("InvalidAccessKeyId")
            || text.contains("SignatureDoesNotMatch")
            || text.contains("AccessDenied")
            || text.contains("credential") =>
        {
            (
                StoreErrorKind::Config,
                format!(
                    "{doing}: access to {url} denied: check the credentials \
                     (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) and permissions"
                ),
            )
        }
        _ => (StoreErrorKind::Io, doing.to_owned()),
    };
    // A recognized cause says enough; the server's words stay in the source.
    let message = if kind == StoreErrorKind::Config {
        message
    } else {
        format!("{message}: {text}")
    };
    StoreError {
        kind,
        message,
        source: Some(Box::new(e)),
    }
}

/// A [`BlobStore`] on any [`ObjectStore`]: blob `snapshot-7` is the object
/// `<prefix>/snapshot-7`, or `<prefix>/snapshot-7.zst` when stored
/// compressed (see "Compressed blobs" in the [store docs](crate::store)).
///
/// - `put` uploads with one request up to
///   [`multipart_threshold`](Self::with_multipart_threshold) bytes, and in
///   parts above (at most [`upload_concurrency`](Self::with_upload_concurrency)
///   parts in memory and in flight), after claiming the version (see the
///   [module docs](self)). Objects appear whole or not at all.
///   A compressed blob is compressed in pieces as it is uploaded (a blob
///   that compresses to at most the threshold goes in one request).
/// - `fetch` streams the object into a temporary file beside the
///   destination (decompressing a compressed blob on the way), checks its
///   length, fsyncs and renames it into place: a blob is never held whole
///   in memory. It asks for the compressed object first, then the plain
///   one: a store of plain blobs costs a fetch one more request.
/// - Transient failures are retried with exponential backoff by the
///   underlying client (configure it with `object_store::RetryConfig`, or
///   through [`crate::store::url::StoreOptions`]).
/// - Errors name the blob and the store's URL; a missing blob is
///   [`StoreErrorKind::NotFound`], a missing bucket or refused credentials
///   [`StoreErrorKind::Config`].
#[derive(Clone)]
pub struct ObjectBlobStore {
    objects: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    url: String,
    multipart_threshold: usize,
    part_size: usize,
    upload_concurrency: usize,
    claims: Arc<claim::Claims>,
}

impl fmt::Debug for ObjectBlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectBlobStore")
            .field("url", &self.url)
            .field("multipart_threshold", &self.multipart_threshold)
            .field("part_size", &self.part_size)
            .finish()
    }
}

impl ObjectBlobStore {
    /// A store keeping blobs under `prefix` in `objects`; `url` (such as
    /// `s3://bucket/prefix`) names the store in messages.
    pub fn new(objects: Arc<dyn ObjectStore>, prefix: &str, url: impl Into<String>) -> Self {
        ObjectBlobStore {
            objects,
            prefix: parse_prefix(prefix),
            url: url.into(),
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
            upload_concurrency: DEFAULT_UPLOAD_CONCURRENCY,
            claims: Arc::new(claim::Claims::default()),
        }
    }

    /// Blobs larger than `bytes` are uploaded in parts (default
    /// [`DEFAULT_MULTIPART_THRESHOLD`]).
    #[must_use]
    pub fn with_multipart_threshold(mut self, bytes: usize) -> Self {
        self.multipart_threshold = bytes;
        self
    }

    /// The size of each part of a multipart upload (default
    /// [`DEFAULT_PART_SIZE`]; S3 needs at least 5 MiB except for the last).
    #[must_use]
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(1);
        self
    }

    /// How many parts of a multipart upload are in flight at once (default
    /// [`DEFAULT_UPLOAD_CONCURRENCY`]).
    #[must_use]
    pub fn with_upload_concurrency(mut self, parts: usize) -> Self {
        self.upload_concurrency = parts.max(1);
        self
    }

    /// How old a version claim left by another producer must be before this
    /// store takes it over (default 10 minutes; it should exceed the longest
    /// cycle). See the [module docs](self).
    #[must_use]
    pub fn with_claim_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.claims = Arc::new(claim::Claims::with_timeout(timeout));
        self
    }

    /// The URL naming this store.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The underlying object store.
    pub fn objects(&self) -> &Arc<dyn ObjectStore> {
        &self.objects
    }

    fn path_of(&self, stored: StoredName) -> ObjectPath {
        object_path(&self.prefix, &stored.to_string())
    }

    fn blob_error(&self, doing: &str, name: BlobName, e: object_store::Error) -> StoreError {
        let missing = matches!(e, object_store::Error::NotFound { .. })
            && !e.to_string().contains("NoSuchBucket");
        if missing {
            return StoreError {
                kind: StoreErrorKind::NotFound,
                message: format!("blob {name} not found in {}: {e}", self.url),
                source: Some(Box::new(e)),
            };
        }
        map_error(
            &format!("{doing} blob {name} in {}", self.url),
            &self.url,
            e,
        )
    }

    /// Checks that the store can be reached: lists the prefix (one request).
    ///
    /// # Errors
    /// [`StoreErrorKind::Config`] for a missing bucket or refused
    /// credentials; I/O errors.
    pub async fn check(&self) -> Result<(), StoreError> {
        self.objects
            .list_with_delimiter(Some(&self.prefix))
            .await
            .map(|_| ())
            .map_err(|e| map_error(&format!("listing {}", self.url), &self.url, e))
    }

    async fn upload(
        &self,
        stored: StoredName,
        data: BlobReader<'_>,
        compression: Compression,
    ) -> Result<(), StoreError> {
        let name = stored.name;
        let path = self.path_of(stored);
        let mut pieces = Pieces::new(data, compression, self.part_size)
            .map_err(|e| self.compress_error(stored, &PieceError::Codec(e)))?;
        // The first part's worth (all of a small blob) decides between one
        // request and a multipart upload.
        let mut first = Vec::new();
        let mut done = false;
        while first.len() <= self.multipart_threshold {
            match pieces.next().map_err(|e| self.compress_error(stored, &e))? {
                Some(piece) => first.extend_from_slice(piece),
                None => {
                    done = true;
                    break;
                }
            }
        }
        if done {
            let payload = PutPayload::from(bytes::Bytes::from(first));
            self.objects
                .put(&path, payload)
                .await
                .map_err(|e| self.blob_error("uploading", name, e))?;
            return Ok(());
        }
        let upload = self
            .objects
            .put_multipart(&path)
            .await
            .map_err(|e| self.blob_error("starting the upload of", name, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
        let mut next: Option<Vec<u8>> = Some(first);
        loop {
            let chunk = match next.take() {
                Some(c) => c,
                None => match pieces.next() {
                    Ok(Some(piece)) => piece.to_vec(),
                    Ok(None) => break,
                    Err(e) => {
                        let _ = writer.abort().await;
                        return Err(self.compress_error(stored, &e));
                    }
                },
            };
            if let Err(e) = writer.wait_for_capacity(self.upload_concurrency).await {
                let _ = writer.abort().await;
                return Err(self.blob_error("uploading a part of", name, e));
            }
            writer.write(&chunk);
        }
        writer
            .finish()
            .await
            .map_err(|e| self.blob_error("completing the upload of", name, e))?;
        Ok(())
    }

    #[cold]
    fn compress_error(&self, stored: StoredName, e: &PieceError) -> StoreError {
        StoreError::new(
            StoreErrorKind::Io,
            format!("uploading blob {stored} to {}: {e}", self.url),
        )
    }

    /// Gets blob `name` in the first layout present (compressed first).
    async fn get_stored(
        &self,
        name: BlobName,
    ) -> Result<(object_store::GetResult, StoredName), StoreError> {
        let mut missing = None;
        for encoding in Encoding::ALL {
            let stored = StoredName { name, encoding };
            match self.objects.get(&self.path_of(stored)).await {
                Ok(got) => return Ok((got, stored)),
                Err(e @ object_store::Error::NotFound { .. }) => missing = Some(e),
                Err(e) => return Err(self.blob_error("fetching", name, e)),
            }
        }
        let e = missing.unwrap_or_else(|| object_store::Error::NotFound {
            path: name.to_string(),
            source: "no object".into(),
        });
        Err(self.blob_error("fetching", name, e))
    }

    async fn download(&self, name: BlobName, tmp: &Path, dest: &Path) -> Result<(), StoreError> {
        let (got, stored) = self.get_stored(name).await?;
        let expected = got.meta.size;
        let local = |doing: &str, e: std::io::Error| {
            let mut err = StoreError::io(
                format!(
                    "fetching blob {name} from {} to {}: {doing} {}",
                    self.url,
                    dest.display(),
                    tmp.display()
                ),
                e,
            );
            err.kind = StoreErrorKind::Io;
            err
        };
        let file = tokio::fs::File::create(tmp)
            .await
            .map_err(|e| local("creating", e))?;
        // Written in large pieces (see `CACHE_WRITE_CHUNK`).
        let chunk_size = crate::store::CACHE_WRITE_CHUNK;
        let mut out =
            tokio::io::BufWriter::with_capacity((expected as usize).clamp(1, chunk_size), file);
        let mut decoder = match stored.encoding {
            Encoding::Zstd => Some(
                FrameDecoder::new(chunk_size)
                    .map_err(|e| super::corrupt_blob(&self.url, stored, &e))?,
            ),
            _ => None,
        };
        let mut plain = Vec::new();
        let mut stream = got.into_stream();
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.blob_error("downloading", name, e))?;
            written += chunk.len() as u64;
            let Some(decoder) = decoder.as_mut() else {
                out.write_all(&chunk)
                    .await
                    .map_err(|e| local("writing", e))?;
                continue;
            };
            let mut rest = &chunk[..];
            loop {
                let more = decoder
                    .feed(&mut rest, &mut plain)
                    .map_err(|e| super::corrupt_blob(&self.url, stored, &e))?;
                if more {
                    out.write_all(&plain)
                        .await
                        .map_err(|e| local("writing", e))?;
                    plain.clear();
                } else {
                    break;
                }
            }
            if plain.len() >= codec::PIECE {
                out.write_all(&plain)
                    .await
                    .map_err(|e| local("writing", e))?;
                plain.clear();
            }
        }
        if written != expected {
            return Err(StoreError::new(
                StoreErrorKind::Io,
                format!(
                    "fetching blob {stored} from {}: got {written} bytes, the object has {expected}",
                    self.url
                ),
            ));
        }
        if let Some(mut decoder) = decoder {
            while decoder
                .end(&mut plain)
                .map_err(|e| super::corrupt_blob(&self.url, stored, &e))?
            {
                out.write_all(&plain)
                    .await
                    .map_err(|e| local("writing", e))?;
                plain.clear();
            }
            out.write_all(&plain)
                .await
                .map_err(|e| local("writing", e))?;
            decoder
                .finish()
                .map_err(|e| super::corrupt_blob(&self.url, stored, &e))?;
        }
        out.flush().await.map_err(|e| local("writing", e))?;
        let out = out.into_inner();
        out.sync_all().await.map_err(|e| local("syncing", e))?;
        drop(out);
        tokio::fs::rename(tmp, dest)
            .await
            .map_err(|e| local("renaming", e))
    }

    /// Deletes the object of blob `name` in layout `encoding`, if any.
    async fn delete_layout(&self, name: BlobName, encoding: Encoding) -> Result<(), StoreError> {
        let stored = StoredName { name, encoding };
        match self.objects.delete(&self.path_of(stored)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                tracing::debug!(blob = %stored, url = %self.url, "deleted blob");
                Ok(())
            }
            Err(e) => Err(self.blob_error("deleting", name, e)),
        }
    }
}

/// Why [`Pieces::next`] failed.
#[derive(Debug)]
enum PieceError {
    /// Compressing failed.
    Codec(codec::CodecError),
    /// Reading the blob's file failed.
    Read(std::io::Error),
}

impl fmt::Display for PieceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PieceError::Codec(e) => fmt::Display::fmt(e, f),
            PieceError::Read(e) => write!(f, "reading the blob from its file: {e}"),
        }
    }
}

/// A blob to upload, in pieces: its own bytes, or its compressed bytes
/// produced a piece of input at a time (about `part` bytes each).
struct Pieces<'a> {
    data: BlobReader<'a>,
    encoder: Option<FrameEncoder>,
    buf: Vec<u8>,
    part: usize,
    /// The last piece was given.
    done: bool,
}

impl<'a> Pieces<'a> {
    fn new(
        data: BlobReader<'a>,
        compression: Compression,
        part: usize,
    ) -> Result<Self, codec::CodecError> {
        let encoder = match compression {
            Compression::Zstd { level } => Some(FrameEncoder::new(level, data.len() as u64)?),
            _ => None,
        };
        Ok(Pieces {
            data,
            encoder,
            buf: Vec::new(),
            part: part.max(1),
            done: false,
        })
    }

    /// The next piece (the first may be empty, for an empty plain blob);
    /// `None` after the last.
    fn next(&mut self) -> Result<Option<&[u8]>, PieceError> {
        if self.done {
            return Ok(None);
        }
        let Some(encoder) = self.encoder.as_mut() else {
            self.done = self.data.remaining() <= self.part;
            let piece = self.data.next_piece(self.part).map_err(PieceError::Read)?;
            return Ok(Some(piece.unwrap_or(&[])));
        };
        self.buf.clear();
        while self.buf.len() < self.part {
            match self.data.next_piece(codec::PIECE) {
                Ok(Some(piece)) => encoder
                    .feed(piece, &mut self.buf)
                    .map_err(PieceError::Codec)?,
                Ok(None) => break,
                Err(e) => return Err(PieceError::Read(e)),
            }
        }
        if self.data.remaining() == 0 {
            if let Some(encoder) = self.encoder.take() {
                encoder.finish(&mut self.buf).map_err(PieceError::Codec)?;
            }
            self.done = true;
        }
        Ok(Some(&self.buf))
    }
}

impl ObjectBlobStore {
    /// Stores the blob `data` gives under `name` (see
    /// [`BlobStore::put_as`]): claims its version, removes the other
    /// layout, uploads it.
    async fn put_from(
        &self,
        name: BlobName,
        data: BlobReader<'_>,
        compression: Compression,
    ) -> Result<(), StoreError> {
        let version = name.published_in();
        self.claims
            .ensure(&*self.objects, &self.prefix, &self.url, version)
            .await?;
        // The blob in the other layout goes first, so the store never holds
        // two versions of one blob.
        let encoding = compression.encoding();
        for other in Encoding::ALL {
            if other != encoding {
                self.delete_layout(name, other).await?;
            }
        }
        let stored = StoredName { name, encoding };
        let bytes = data.len();
        self.upload(stored, data, compression).await?;
        tracing::debug!(blob = %stored, url = %self.url, bytes, "stored blob");
        Ok(())
    }
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put_as(
        &self,
        name: BlobName,
        data: &[u8],
        compression: Compression,
    ) -> Result<(), StoreError> {
        self.put_from(name, BlobReader::bytes(data), compression)
            .await
    }

    /// Reads the file in pieces (positional reads), a part at a time,
    /// never through [`LocalBlob::bytes`].
    async fn put_file(
        &self,
        name: BlobName,
        blob: LocalBlob<'_>,
        compression: Compression,
    ) -> Result<(), StoreError> {
        self.put_from(name, BlobReader::file(blob), compression)
            .await
    }

    async fn fetch(&self, name: BlobName, dest: &Path) -> Result<(), StoreError> {
        let tmp = super::local::temp_beside(dest);
        let result = self.download(name, &tmp, dest).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    async fn list(&self) -> Result<Vec<BlobName>, StoreError> {
        // A delimited listing: only the objects directly under the prefix.
        let listed = self
            .objects
            .list_with_delimiter(Some(&self.prefix))
            .await
            .map_err(|e| map_error(&format!("listing blobs in {}", self.url), &self.url, e))?;
        let mut names: Vec<BlobName> = listed
            .objects
            .iter()
            .filter_map(|m| m.location.filename()?.parse::<StoredName>().ok())
            .map(|s| s.name)
            .collect();
        // A blob held in both layouts is listed once.
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }

    async fn delete(&self, name: BlobName) -> Result<(), StoreError> {
        // Not a blob of a version another producer is publishing right now.
        self.claims
            .check_not_foreign(&*self.objects, &self.prefix, &self.url, name.published_in())
            .await?;
        for encoding in Encoding::ALL {
            self.delete_layout(name, encoding).await?;
        }
        Ok(())
    }

    async fn stat(&self, name: BlobName) -> Result<BlobStat, StoreError> {
        // The compressed object's first bytes hold its plain size: one
        // ranged request gives both sizes.
        let stored = StoredName {
            name,
            encoding: Encoding::Zstd,
        };
        let options = object_store::GetOptions {
            range: Some(object_store::GetRange::Bounded(
                0..codec::FRAME_HEADER_MAX as u64,
            )),
            ..Default::default()
        };
        match self.objects.get_opts(&self.path_of(stored), options).await {
            Ok(got) => {
                let size = got.meta.size;
                let head = got
                    .bytes()
                    .await
                    .map_err(|e| self.blob_error("reading the start of", name, e))?;
                return Ok(BlobStat::zstd(name, size, &head));
            }
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                // An empty object has no range to give: its size alone
                // (it declares no plain size), or the same error again.
                tracing::debug!(blob = %stored, url = %self.url, error = %e, "ranged read failed");
                let size = self
                    .objects
                    .head(&self.path_of(stored))
                    .await
                    .map_err(|e| self.blob_error("reading the size of", name, e))?
                    .size;
                return Ok(BlobStat::zstd(name, size, &[]));
            }
        }
        self.objects
            .head(&self.path_of(StoredName::plain(name)))
            .await
            .map(|m| BlobStat::plain(name, m.size))
            .map_err(|e| self.blob_error("reading the size of", name, e))
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_store_cannot_write_a_claimed_version() {
        let objects: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let a = ObjectBlobStore::new(objects.clone(), "p", "memory://p");
        let b = ObjectBlobStore::new(objects.clone(), "p", "memory://p");
        a.put(BlobName::Snapshot(5), b"from a").await.unwrap();
        let e = b
            .put(BlobName::Delta { from: 4, to: 5 }, b"from b")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}");
        assert!(
            e.to_string()
                .contains("another producer is publishing version 5"),
            "{e}"
        );
        assert!(e.to_string().contains("memory://p"), "{e}");
        // Nor delete a's blob of that version.
        let e = b.delete(BlobName::Snapshot(5)).await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}");
        // Nothing of b's was written; a can still write (and rewrite) its own.
        assert_eq!(a.list().await.unwrap(), vec![BlobName::Snapshot(5)]);
        a.put(BlobName::Snapshot(5), b"from a again").await.unwrap();
        a.put(BlobName::ReverseDelta { from: 5, to: 4 }, b"r")
            .await
            .unwrap();
        // b moves on to another version; a's next claim removes its old one.
        b.put(BlobName::Snapshot(6), b"from b").await.unwrap();
        a.put(BlobName::Snapshot(7), b"from a").await.unwrap();
        let claims: Vec<String> = objects
            .list_with_delimiter(Some(&ObjectPath::from("p")))
            .await
            .unwrap()
            .objects
            .iter()
            .filter_map(|m| m.location.filename().map(str::to_owned))
            .filter(|n| n.starts_with("claim-"))
            .collect();
        assert_eq!(claims, vec!["claim-6", "claim-7"]);
    }

    #[tokio::test]
    async fn put_file_reads_the_file_in_parts() {
        use crate::store::fs::tests::{file_of, sample};
        let objects: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        // Small parts: the file is read and uploaded a part at a time.
        let store = ObjectBlobStore::new(objects, "p", "memory://p")
            .with_multipart_threshold(64 << 10)
            .with_part_size(64 << 10);
        let dir = tempfile::tempdir().unwrap();
        for len in [0, 1000, 3 * codec::PIECE + 17] {
            let data = sample(len);
            let file = file_of(&data);
            // A slice unlike the file (which a caller must not give): what
            // is stored shows what was read.
            let other = vec![0u8; len];
            for compression in [Compression::None, Compression::default()] {
                let name = BlobName::Snapshot(len as u64 + 1);
                let blob = LocalBlob::new(&file, &other);
                store.put_file(name, blob, compression).await.unwrap();
                let stat = store.stat(name).await.unwrap();
                assert_eq!(stat.encoding, compression.encoding());
                let dest = dir.path().join("fetched");
                store.fetch(name, &dest).await.unwrap();
                assert!(
                    std::fs::read(&dest).unwrap() == data,
                    "{len} {compression:?}"
                );
            }
        }
        // A file shorter than the blob fails the put, naming the blob, and
        // leaves no object of it.
        let data = sample(300_000);
        let file = file_of(&data[..200_000]);
        for compression in [Compression::None, Compression::default()] {
            let name = BlobName::Delta { from: 8, to: 9 };
            let e = store
                .put_file(name, LocalBlob::new(&file, &data), compression)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), StoreErrorKind::Io, "{e}");
            assert!(e.to_string().contains("delta-8-9"), "{e}");
            assert!(
                e.to_string().contains("reading the blob from its file"),
                "{e}"
            );
            assert!(!store.list().await.unwrap().contains(&name));
        }
    }

    #[tokio::test]
    async fn a_stale_claim_is_taken_over() {
        let objects: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let crashed = ObjectBlobStore::new(objects.clone(), "p", "memory://p");
        crashed
            .put(BlobName::Snapshot(3), b"partial")
            .await
            .unwrap();
        let fresh = ObjectBlobStore::new(objects.clone(), "p", "memory://p")
            .with_claim_timeout(std::time::Duration::from_millis(50));
        tokio::time::sleep(std::time::Duration::from_millis(120)).await;
        fresh.put(BlobName::Snapshot(3), b"complete").await.unwrap();
        // The old owner lost its claim.
        let e = crashed
            .put(BlobName::Snapshot(3), b"late")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}");
    }

    #[tokio::test]
    async fn errors_name_the_url_and_blob() {
        let objects: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let store = ObjectBlobStore::new(objects, "p", "s3://bucket/p");
        let dir = tempfile::tempdir().unwrap();
        let e = store
            .fetch(BlobName::Snapshot(9), &dir.path().join("x"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::NotFound);
        assert!(
            e.to_string()
                .contains("blob snapshot-9 not found in s3://bucket/p"),
            "{e}"
        );
        // Nothing left behind in the destination directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let e = store.size(BlobName::Snapshot(9)).await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::NotFound);
        store.check().await.unwrap();
    }
}

//! [`MemoryBlobStore`]: blobs in memory, for tests.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::codec;
use super::local::{write_decoded_blocking, write_file_atomic};
use super::{
    BlobName, BlobStat, BlobStore, Compression, Encoding, StoreError, StoreErrorKind, StoredName,
};

/// A blob as held: its layout (and, if compressed, the level, so a test
/// hook can compress again alike) and its stored bytes.
#[derive(Clone)]
struct Held {
    compression: Compression,
    bytes: Arc<Vec<u8>>,
}

impl Held {
    fn stored(&self, name: BlobName) -> StoredName {
        StoredName {
            name,
            encoding: self.compression.encoding(),
        }
    }

    /// The plain blob (test hooks only).
    fn plain(&self, name: BlobName) -> Vec<u8> {
        match self.compression {
            Compression::None => (*self.bytes).clone(),
            _ => {
                let mut out = Vec::new();
                codec::decode_stream(&mut &self.bytes[..], &mut out, 1 << 20).unwrap_or_else(|e| {
                    panic!(
                        "test hook: blob {} does not decompress ({e:?}); use the *_stored hooks",
                        self.stored(name)
                    )
                });
                out
            }
        }
    }
}

fn encode(data: &[u8], compression: Compression) -> Result<Vec<u8>, codec::CodecError> {
    match compression {
        Compression::Zstd { level } => codec::compress_to_vec(data, level),
        _ => Ok(data.to_vec()),
    }
}

#[derive(Default)]
struct MemoryInner {
    /// One layout per blob: a put replaces the blob in any layout.
    blobs: HashMap<BlobName, Held>,
    /// How many of the next `put` calls fail.
    failing_puts: usize,
}

/// A blob store in memory, for tests. Clones share the same blobs.
///
/// Besides [`BlobStore`], it has test hooks to inject failures:
/// [`fail_next_puts`](Self::fail_next_puts), [`corrupt`](Self::corrupt),
/// [`remove`](Self::remove), and to inspect it: [`names`](Self::names),
/// [`get`](Self::get). Those work on plain blobs whatever the layout (a
/// compressed blob is decompressed, changed and compressed again); the
/// `*_stored` hooks ([`get_stored`](Self::get_stored),
/// [`corrupt_stored`](Self::corrupt_stored),
/// [`put_stored`](Self::put_stored)) work on the stored bytes.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use hollow_runtime::store::{BlobName, BlobStore, MemoryBlobStore, StoreErrorKind};
///
/// let store = MemoryBlobStore::new();
/// store.put(BlobName::Snapshot(1), b"state").await.unwrap();
/// // Test hook: the next put fails and stores nothing.
/// store.fail_next_puts(1);
/// let err = store.put(BlobName::Snapshot(2), b"other").await.unwrap_err();
/// assert_eq!(err.kind(), StoreErrorKind::Io);
/// assert_eq!(store.names(), vec![BlobName::Snapshot(1)]);
/// // Test hook: flip a byte.
/// store.corrupt(BlobName::Snapshot(1), |bytes| bytes[0] ^= 0xff);
/// assert_ne!(store.get(BlobName::Snapshot(1)).unwrap(), b"state");
/// # });
/// ```
#[derive(Clone, Default)]
pub struct MemoryBlobStore {
    inner: Arc<Mutex<MemoryInner>>,
}

impl fmt::Debug for MemoryBlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryBlobStore")
            .field("blobs", &inner.blobs.len())
            .field("failing_puts", &inner.failing_puts)
            .finish()
    }
}

impl MemoryBlobStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryInner> {
        // A panic while holding the lock leaves the map consistent (every
        // update is a single insert or remove), so poisoning is ignored.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn not_found(name: BlobName) -> StoreError {
        StoreError::new(
            StoreErrorKind::NotFound,
            format!("blob {name} not found in memory"),
        )
    }

    /// Test hook: the next `n` calls to [`put`](BlobStore::put) (on this
    /// store or any clone) fail with [`StoreErrorKind::Io`] and store
    /// nothing. Replaces any previous count; `0` turns failures off.
    pub fn fail_next_puts(&self, n: usize) {
        self.lock().failing_puts = n;
    }

    /// Test hook: changes the plain bytes of blob `name` (to simulate
    /// corruption or truncation of the blob as written; a compressed blob
    /// is compressed again, with its level). Returns `false`, without
    /// calling `f`, when there is no such blob.
    ///
    /// # Panics
    /// A compressed blob whose stored bytes do not decompress (see
    /// [`corrupt_stored`](Self::corrupt_stored)).
    pub fn corrupt(&self, name: BlobName, f: impl FnOnce(&mut Vec<u8>)) -> bool {
        let mut inner = self.lock();
        let Some(held) = inner.blobs.get_mut(&name) else {
            return false;
        };
        let mut plain = held.plain(name);
        f(&mut plain);
        let bytes = encode(&plain, held.compression)
            .unwrap_or_else(|e| panic!("test hook: compressing {name} again: {e}"));
        held.bytes = Arc::new(bytes);
        true
    }

    /// Test hook: changes the bytes of blob `name` as stored (compressed,
    /// if it is: to simulate damage in the store or in transit). Returns
    /// `false`, without calling `f`, when there is no such blob.
    pub fn corrupt_stored(&self, name: BlobName, f: impl FnOnce(&mut Vec<u8>)) -> bool {
        match self.lock().blobs.get_mut(&name) {
            Some(held) => {
                f(Arc::make_mut(&mut held.bytes));
                true
            }
            None => false,
        }
    }

    /// Test hook: stores `bytes` as they are under blob `name` in layout
    /// `encoding`, replacing the blob in any layout, with no check (to
    /// plant a wrongly labelled blob).
    pub fn put_stored(&self, name: BlobName, encoding: Encoding, bytes: Vec<u8>) {
        let compression = match encoding {
            Encoding::Plain => Compression::None,
            Encoding::Zstd => Compression::default(),
        };
        self.lock().blobs.insert(
            name,
            Held {
                compression,
                bytes: Arc::new(bytes),
            },
        );
    }

    /// Test hook: removes blob `name` (as if lost), returning its plain
    /// bytes.
    ///
    /// # Panics
    /// As [`get`](Self::get).
    pub fn remove(&self, name: BlobName) -> Option<Vec<u8>> {
        let held = self.lock().blobs.remove(&name)?;
        Some(held.plain(name))
    }

    /// Test hook: the names of all blobs, sorted.
    pub fn names(&self) -> Vec<BlobName> {
        let mut names: Vec<BlobName> = self.lock().blobs.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// Test hook: a copy of the plain bytes of blob `name` (decompressed,
    /// if it is stored compressed).
    ///
    /// # Panics
    /// A compressed blob whose stored bytes do not decompress.
    pub fn get(&self, name: BlobName) -> Option<Vec<u8>> {
        let held = self.lock().blobs.get(&name).cloned()?;
        Some(held.plain(name))
    }

    /// Test hook: blob `name` as stored: its layout and its bytes.
    pub fn get_stored(&self, name: BlobName) -> Option<(Encoding, Vec<u8>)> {
        let inner = self.lock();
        let held = inner.blobs.get(&name)?;
        Some((held.compression.encoding(), (*held.bytes).clone()))
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn put_as(
        &self,
        name: BlobName,
        data: &[u8],
        compression: Compression,
    ) -> Result<(), StoreError> {
        {
            let mut inner = self.lock();
            if inner.failing_puts > 0 {
                inner.failing_puts -= 1;
                return Err(StoreError::new(
                    StoreErrorKind::Io,
                    format!("writing blob {name} to memory: injected failure (fail_next_puts)"),
                ));
            }
        }
        let bytes = encode(data, compression).map_err(|e| {
            StoreError::new(
                StoreErrorKind::Io,
                format!("writing blob {name} to memory: {e}"),
            )
        })?;
        let held = Held {
            compression,
            bytes: Arc::new(bytes),
        };
        self.lock().blobs.insert(name, held);
        Ok(())
    }

    async fn fetch(&self, name: BlobName, dest: &Path) -> Result<(), StoreError> {
        let held = self
            .lock()
            .blobs
            .get(&name)
            .cloned()
            .ok_or_else(|| Self::not_found(name))?;
        if held.compression.encoding() == Encoding::Zstd {
            let stored = held.stored(name);
            let dest = dest.to_path_buf();
            return super::local::blocking(
                || format!("fetching blob {stored} from memory"),
                move || write_decoded_blocking(&mut &held.bytes[..], "memory", stored, &dest),
            )
            .await;
        }
        let what = format!("fetching blob {name} from memory to {}", dest.display());
        write_file_atomic(dest, &held.bytes, false, &what).await
    }

    async fn list(&self) -> Result<Vec<BlobName>, StoreError> {
        Ok(self.lock().blobs.keys().copied().collect())
    }

    async fn delete(&self, name: BlobName) -> Result<(), StoreError> {
        self.lock().blobs.remove(&name);
        Ok(())
    }

    async fn stat(&self, name: BlobName) -> Result<BlobStat, StoreError> {
        let inner = self.lock();
        let held = inner
            .blobs
            .get(&name)
            .ok_or_else(|| Self::not_found(name))?;
        let len = held.bytes.len() as u64;
        Ok(match held.compression.encoding() {
            Encoding::Zstd => {
                let head = &held.bytes[..held.bytes.len().min(codec::FRAME_HEADER_MAX)];
                BlobStat::zstd(name, len, head)
            }
            _ => BlobStat::plain(name, len),
        })
    }

    fn describe(&self) -> String {
        "memory".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fs::tests::dir_entries;
    use super::*;

    #[tokio::test]
    async fn memory_store_clones_share_blobs() {
        let store = MemoryBlobStore::new();
        let other = store.clone();
        store.put(BlobName::Snapshot(1), b"one").await.unwrap();
        assert_eq!(other.get(BlobName::Snapshot(1)).unwrap(), b"one");
        other.delete(BlobName::Snapshot(1)).await.unwrap();
        assert!(store.list().await.unwrap().is_empty());
        assert!(format!("{store:?}").contains("MemoryBlobStore"));
    }

    #[tokio::test]
    async fn memory_store_failed_puts_store_nothing() {
        let store = MemoryBlobStore::new();
        let dir = tempfile::tempdir().unwrap();
        store.put(BlobName::Snapshot(1), b"old").await.unwrap();
        store.fail_next_puts(2);
        for name in [BlobName::Snapshot(1), BlobName::Delta { from: 1, to: 2 }] {
            let e = store.put(name, b"new").await.unwrap_err();
            assert_eq!(e.kind(), StoreErrorKind::Io);
            assert!(e.to_string().contains(&name.to_string()), "{e}");
        }
        // Nothing stored, the old blob untouched.
        assert_eq!(store.get(BlobName::Snapshot(1)).unwrap(), b"old");
        let e = store
            .fetch(BlobName::Delta { from: 1, to: 2 }, &dir.path().join("out"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::NotFound);
        assert_eq!(e.to_string(), "blob delta-1-2 not found in memory");
        assert!(dir_entries(dir.path()).is_empty());
        // The third put succeeds.
        store
            .put(BlobName::Delta { from: 1, to: 2 }, b"new")
            .await
            .unwrap();
        assert_eq!(store.names().len(), 2);
        store.fail_next_puts(1);
        store.fail_next_puts(0);
        store.put(BlobName::Snapshot(2), b"two").await.unwrap();
    }

    #[tokio::test]
    async fn memory_store_test_hooks() {
        let store = MemoryBlobStore::new();
        let dir = tempfile::tempdir().unwrap();
        let name = BlobName::Snapshot(4);
        store.put(name, b"abcdef").await.unwrap();
        let fetched = store.clone();
        assert!(store.corrupt(name, |b| b.truncate(3)));
        assert!(!store.corrupt(BlobName::Snapshot(5), |_| panic!("not called")));
        fetched.fetch(name, &dir.path().join("out")).await.unwrap();
        assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), b"abc");
        assert_eq!(store.size(name).await.unwrap(), 3);
        assert_eq!(store.remove(name).unwrap(), b"abc");
        assert_eq!(store.remove(name), None);
        assert!(store.names().is_empty());
        let e = store.size(name).await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::NotFound);
    }
}

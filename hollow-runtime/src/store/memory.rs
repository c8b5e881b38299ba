//! [`MemoryBlobStore`]: blobs in memory, for tests.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::local::write_file_atomic;
use super::{BlobName, BlobStore, StoreError, StoreErrorKind};

#[derive(Default)]
struct MemoryInner {
    blobs: HashMap<BlobName, Arc<Vec<u8>>>,
    /// How many of the next `put` calls fail.
    failing_puts: usize,
}

/// A blob store in memory, for tests. Clones share the same blobs.
///
/// Besides [`BlobStore`], it has test hooks to inject failures:
/// [`fail_next_puts`](Self::fail_next_puts), [`corrupt`](Self::corrupt),
/// [`remove`](Self::remove), and to inspect it: [`names`](Self::names),
/// [`get`](Self::get).
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

    /// Test hook: changes the bytes of blob `name` in place (to simulate
    /// corruption or truncation). Returns `false`, without calling `f`, when
    /// there is no such blob.
    pub fn corrupt(&self, name: BlobName, f: impl FnOnce(&mut Vec<u8>)) -> bool {
        match self.lock().blobs.get_mut(&name) {
            Some(bytes) => {
                f(Arc::make_mut(bytes));
                true
            }
            None => false,
        }
    }

    /// Test hook: removes blob `name` (as if lost), returning its bytes.
    pub fn remove(&self, name: BlobName) -> Option<Vec<u8>> {
        self.lock()
            .blobs
            .remove(&name)
            .map(|b| Arc::try_unwrap(b).unwrap_or_else(|b| (*b).clone()))
    }

    /// Test hook: the names of all blobs, sorted.
    pub fn names(&self) -> Vec<BlobName> {
        let mut names: Vec<BlobName> = self.lock().blobs.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// Test hook: a copy of the bytes of blob `name`.
    pub fn get(&self, name: BlobName) -> Option<Vec<u8>> {
        self.lock().blobs.get(&name).map(|b| (**b).clone())
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn put(&self, name: BlobName, data: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.failing_puts > 0 {
            inner.failing_puts -= 1;
            return Err(StoreError::new(
                StoreErrorKind::Io,
                format!("writing blob {name} to memory: injected failure (fail_next_puts)"),
            ));
        }
        inner.blobs.insert(name, Arc::new(data.to_vec()));
        Ok(())
    }

    async fn fetch(&self, name: BlobName, dest: &Path) -> Result<(), StoreError> {
        let bytes = self
            .lock()
            .blobs
            .get(&name)
            .cloned()
            .ok_or_else(|| Self::not_found(name))?;
        let what = format!("fetching blob {name} from memory to {}", dest.display());
        write_file_atomic(dest, &bytes, false, &what).await
    }

    async fn list(&self) -> Result<Vec<BlobName>, StoreError> {
        Ok(self.lock().blobs.keys().copied().collect())
    }

    async fn delete(&self, name: BlobName) -> Result<(), StoreError> {
        self.lock().blobs.remove(&name);
        Ok(())
    }

    async fn size(&self, name: BlobName) -> Result<u64, StoreError> {
        self.lock()
            .blobs
            .get(&name)
            .map(|b| b.len() as u64)
            .ok_or_else(|| Self::not_found(name))
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

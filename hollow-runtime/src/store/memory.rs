//! In-memory implementations for tests: [`MemoryBlobStore`] and
//! [`InProcessAnnouncer`].

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::watch;

use super::fs::{conflict, write_file_atomic};
use super::{AnnouncementWatcher, Announcer, BlobName, BlobStore, StoreError, StoreErrorKind};

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

/// Announces versions within one process, for tests and embedded use.
/// Clones share the announcement.
///
/// [`announce`](Announcer::announce) is a compare-and-swap under the
/// channel's lock: it fails with [`StoreErrorKind::Conflict`] unless the
/// current announcement is `expected`. Announcing a version lower than or
/// equal to the current one is allowed through the compare-and-swap.
/// [`changed`](AnnouncementWatcher::changed) wakes as soon as a version is
/// announced (no polling).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use hollow_runtime::store::{AnnouncementWatcher, Announcer, InProcessAnnouncer};
///
/// let announcer = InProcessAnnouncer::new();
/// let watcher = announcer.clone();
/// let waiting = tokio::spawn(async move { watcher.changed(None).await });
/// announcer.announce(1, None).await.unwrap();
/// assert_eq!(waiting.await.unwrap().unwrap(), Some(1));
/// # });
/// ```
#[derive(Clone)]
pub struct InProcessAnnouncer {
    tx: Arc<watch::Sender<Option<u64>>>,
}

impl fmt::Debug for InProcessAnnouncer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcessAnnouncer")
            .field("announced", &*self.tx.borrow())
            .finish()
    }
}

impl Default for InProcessAnnouncer {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessAnnouncer {
    /// An announcer with nothing announced.
    pub fn new() -> Self {
        InProcessAnnouncer {
            tx: Arc::new(watch::Sender::new(None)),
        }
    }

    /// A receiver of the announcement channel, for callers that want to
    /// `select!` on announcements directly.
    pub fn subscribe(&self) -> watch::Receiver<Option<u64>> {
        self.tx.subscribe()
    }
}

#[async_trait]
impl Announcer for InProcessAnnouncer {
    async fn announce(&self, version: u64, expected: Option<u64>) -> Result<(), StoreError> {
        let mut found = None;
        self.tx.send_if_modified(|current| {
            if *current == expected {
                *current = Some(version);
                true
            } else {
                found = Some(*current);
                false
            }
        });
        match found {
            None => {
                tracing::debug!(version, ?expected, "announced version in process");
                Ok(())
            }
            Some(current) => Err(conflict(version, expected, current, &"process")),
        }
    }

    async fn announced(&self) -> Result<Option<u64>, StoreError> {
        Ok(*self.tx.borrow())
    }
}

#[async_trait]
impl AnnouncementWatcher for InProcessAnnouncer {
    async fn latest(&self) -> Result<Option<u64>, StoreError> {
        Ok(*self.tx.borrow())
    }

    async fn changed(&self, seen: Option<u64>) -> Result<Option<u64>, StoreError> {
        // Subscribing marks the current value seen, so an announcement after
        // the check below wakes `rx.changed()`.
        let mut rx = self.tx.subscribe();
        loop {
            let now = *rx.borrow_and_update();
            if now != seen {
                return Ok(now);
            }
            // `self` holds the sender, so the channel cannot close.
            rx.changed().await.map_err(|_| {
                StoreError::new(StoreErrorKind::Io, "in-process announcement channel closed")
            })?;
        }
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

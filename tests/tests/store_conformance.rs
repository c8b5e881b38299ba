//! The store conformance suites (`hollow_tests::conformance`) run against
//! the memory store and in-process announcer, and against the
//! local-directory store and file announcer (in temporary directories),
//! with what each of these adds to the contract.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hollow_runtime::store::{
    AnnouncementWatcher, Announcer, BlobName, BlobStore, Compression, Encoding, FileAnnouncer,
    FsBlobStore, InProcessAnnouncer, MemoryBlobStore,
};
use hollow_tests::conformance::{announcer, blob_store, dir_entries, watcher, Handles, Open};
use tempfile::TempDir;

const MEMORY: &str = "memory";
const DIR: &str = "local directory";
const POLL: Duration = Duration::from_millis(10);

fn memory_location() -> Open {
    let shared = InProcessAnnouncer::new();
    Box::new(move || Handles {
        announcer: Arc::new(shared.clone()),
        watcher: Arc::new(shared.clone()),
        where_: "process".to_owned(),
    })
}

/// Temporary directories that live as long as the test.
#[derive(Default)]
struct Dirs(Mutex<Vec<TempDir>>);

impl Dirs {
    fn fresh(&self) -> std::path::PathBuf {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        self.0.lock().unwrap().push(dir);
        path
    }

    /// A fresh directory; each handle is a new file announcer on it.
    fn location(&self) -> Open {
        let dir = self.fresh();
        Box::new(move || {
            let a = Arc::new(FileAnnouncer::new(&dir).unwrap().with_poll_interval(POLL));
            Handles {
                where_: a.file().display().to_string(),
                announcer: a.clone(),
                watcher: a,
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_blob_store_conformance() {
    let fresh = || Arc::new(MemoryBlobStore::new()) as Arc<dyn BlobStore>;
    blob_store::run(MEMORY, &fresh, 3_000_000).await;

    // The suite's round trip, seen through the test hooks.
    let store = MemoryBlobStore::new();
    assert_eq!(store.describe(), "memory");
    blob_store::round_trip(MEMORY, &store, 1000, Compression::default()).await;
    assert_eq!(
        store.names(),
        vec![
            BlobName::Snapshot(1),
            BlobName::Snapshot(9),
            BlobName::ReverseDelta { from: 2, to: 1 },
        ]
    );
    // `get` gives the plain blob, `get_stored` the compressed one.
    assert_eq!(store.get(BlobName::Snapshot(1)).unwrap(), b"snapshot ONE!");
    let (encoding, stored) = store.get_stored(BlobName::Snapshot(1)).unwrap();
    assert_eq!(encoding, Encoding::Zstd);
    assert_ne!(stored, b"snapshot ONE!");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_announcer_conformance() {
    announcer::run(MEMORY, &memory_location, 4, 16, 30).await;

    // Clones share the announcement, which their Debug shows.
    let a = InProcessAnnouncer::default();
    a.clone().announce(3, None).await.unwrap();
    assert_eq!(a.announced().await.unwrap(), Some(3));
    assert!(format!("{a:?}").contains("Some(3)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_watcher_conformance() {
    watcher::run(MEMORY, &memory_location).await;

    // The channel behind it, for callers that select on it.
    let a = InProcessAnnouncer::new();
    a.announce(2, None).await.unwrap();
    let mut rx = a.subscribe();
    assert_eq!(*rx.borrow_and_update(), Some(2));
    // `changed` wakes without polling: the announcement arrives while the
    // watcher waits on the channel.
    let w = a.clone();
    let waiting = tokio::spawn(async move { w.changed(Some(2)).await });
    a.announce(3, Some(2)).await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dir_blob_store_conformance() {
    let dirs = Dirs::default();
    let fresh = || Arc::new(FsBlobStore::new(dirs.fresh()).unwrap()) as Arc<dyn BlobStore>;
    blob_store::run(DIR, &fresh, 3_000_000).await;
    // Blobs of 4 MiB, written in several writes each.
    for layout in blob_store::LAYOUTS {
        blob_store::no_partial_blob_is_visible_during_put(DIR, &fresh(), 4 << 20, 5, layout).await;
    }

    // Only the blobs and the claim are left in the directory (created
    // with its parents): no temporary files.
    let root = dirs.fresh();
    let store = FsBlobStore::new(root.join("a/b")).unwrap();
    assert_eq!(
        store.describe(),
        format!("dir {}", root.join("a/b").display())
    );
    blob_store::round_trip(DIR, &store, 1000, Compression::None).await;
    assert_eq!(
        dir_entries(store.dir()),
        vec![
            "claimed.lock",
            "claimed.version",
            "reversedelta-2-1",
            "snapshot-1",
            "snapshot-9"
        ]
    );
    // The same compressed: the marker on each name.
    let root = dirs.fresh();
    let store = FsBlobStore::new(&root).unwrap();
    blob_store::round_trip(DIR, &store, 1000, Compression::default()).await;
    assert_eq!(
        dir_entries(store.dir()),
        vec![
            "claimed.lock",
            "claimed.version",
            "reversedelta-2-1.zst",
            "snapshot-1.zst",
            "snapshot-9.zst"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dir_announcer_conformance() {
    let dirs = Dirs::default();
    // Two announcers on the directory, as two producers would be.
    announcer::run(DIR, &|| dirs.location(), 2, 12, 15).await;

    // The announcement file: the version in decimal and a newline, beside
    // its lock file and nothing else.
    let root = dirs.fresh();
    let a = FileAnnouncer::new(root.join("announce")).unwrap();
    a.announce(11, None).await.unwrap();
    assert_eq!(std::fs::read_to_string(a.file()).unwrap(), "11\n");
    a.announce(5, Some(11)).await.unwrap();
    assert_eq!(std::fs::read_to_string(a.file()).unwrap(), "5\n");
    assert_eq!(
        dir_entries(&root.join("announce")),
        vec!["announced.lock", "announced.version"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dir_watcher_conformance() {
    let dirs = Dirs::default();
    watcher::run(DIR, &|| dirs.location()).await;

    // The poll interval: one second unless set.
    let dir = dirs.fresh();
    let a = FileAnnouncer::new(&dir).unwrap().with_poll_interval(POLL);
    assert_eq!(a.poll_interval(), POLL);
    assert_eq!(
        FileAnnouncer::new(&dir).unwrap().poll_interval(),
        Duration::from_secs(1)
    );
}

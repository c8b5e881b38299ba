//! Conformance suites for the store traits: one module per trait
//! ([`blob_store`] for `BlobStore`, [`announcer`] for `Announcer`,
//! [`watcher`] for `AnnouncementWatcher`), each a set of async functions
//! asserting the trait's documented contract on instances a factory gives.
//!
//! The blob store suite runs every function once for each layout a store
//! holds blobs in ([`blob_store::LAYOUTS`]: plain and zstd-compressed), and
//! once with the two mixed in one store.
//!
//! The same suites run against every implementation: the memory and
//! local-directory stores (`tests/store_conformance.rs`) and the object
//! store, in memory and on an S3-compatible server (`tests-s3`). Every
//! assertion message starts with the store kind under test, so a failure
//! says which implementation broke the contract.
//!
//! A blob store factory gives a fresh, empty store at each call. An
//! announcement factory gives a fresh, empty location at each call, as an
//! [`Open`]: every call of that opens new handles on the same location
//! (another producer or consumer, another process or host).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use hollow_runtime::store::{BlobStore, InProcessAnnouncer, MemoryBlobStore};
//! use hollow_tests::conformance::{blob_store, watcher, Handles, Open};
//!
//! let fresh_store = || Arc::new(MemoryBlobStore::new()) as Arc<dyn BlobStore>;
//! for layout in blob_store::LAYOUTS {
//!     blob_store::missing_blob_is_not_found("memory", &fresh_store(), layout).await;
//! }
//!
//! let fresh_location = || {
//!     let shared = InProcessAnnouncer::new();
//!     Box::new(move || Handles {
//!         announcer: Arc::new(shared.clone()),
//!         watcher: Arc::new(shared.clone()),
//!         where_: "process".to_owned(),
//!     }) as Open
//! };
//! watcher::latest_follows_announcements("memory", &fresh_location()).await;
//! # });
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hollow_runtime::store::{
    AnnouncementWatcher, Announcer, BlobName, BlobStore, Compression, StoreError, StoreErrorKind,
};

/// How long a watcher may take to notice an announcement before the suite
/// calls it stuck (a bound on a hang, not a timing requirement).
pub const WAKE_LIMIT: Duration = Duration::from_secs(10);

/// An announcer and a watcher opened on one location.
#[derive(Clone, Debug)]
pub struct Handles {
    /// The announcer (producer side).
    pub announcer: Arc<dyn Announcer>,
    /// The watcher (consumer side).
    pub watcher: Arc<dyn AnnouncementWatcher>,
    /// What a lost compare-and-swap's message names as the place of the
    /// announcement (a file path, an object URL, `process`).
    pub where_: String,
}

/// Opens new handles on one location at each call.
pub type Open = Box<dyn Fn() -> Handles + Send + Sync>;

/// Names of the entries of `dir`, sorted.
pub fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that `result` failed with `kind`, and returns the message.
#[track_caller]
fn expect_err<T: std::fmt::Debug>(
    store: &str,
    what: &str,
    result: Result<T, StoreError>,
    kind: StoreErrorKind,
) -> String {
    match result {
        Ok(v) => panic!("{store}: {what}: expected a {kind:?} error, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{store}: {what}: {e}");
            e.to_string()
        }
    }
}

/// The `BlobStore` suite.
pub mod blob_store {
    use super::*;

    /// The layouts every function of the suite runs with: plain, and zstd
    /// at the default level.
    pub const LAYOUTS: [Compression; 2] = [
        Compression::None,
        Compression::Zstd {
            level: Compression::DEFAULT_ZSTD_LEVEL,
        },
    ];

    /// `kind` with the layout, for messages: `memory (zstd)`.
    fn label(kind: &str, c: Compression) -> String {
        format!("{kind} ({})", c.encoding())
    }

    /// Asserts that `name` is stored as `c` says, `plain` bytes long.
    async fn assert_stored(
        store: &dyn BlobStore,
        kind: &str,
        name: BlobName,
        c: Compression,
        plain: u64,
    ) {
        let stat = store
            .stat(name)
            .await
            .unwrap_or_else(|e| panic!("{kind}: stat {name}: {e}"));
        assert_eq!(stat.encoding, c.encoding(), "{kind}: {name}'s layout");
        assert_eq!(stat.stored.name, name, "{kind}: {name}'s stored name");
        assert_eq!(
            stat.stored.encoding,
            c.encoding(),
            "{kind}: {name}'s marker"
        );
        assert_eq!(stat.plain_bytes, Some(plain), "{kind}: {name}'s plain size");
        let size = store.size(name).await.unwrap();
        assert_eq!(
            size, stat.stored_bytes,
            "{kind}: {name}: size is the stored size"
        );
        if c == Compression::None {
            assert_eq!(size, plain, "{kind}: a plain blob is stored as it is");
        } else {
            assert!(size > 0, "{kind}: a compressed blob is never empty");
        }
    }

    async fn sorted_list(store: &dyn BlobStore, kind: &str) -> Vec<BlobName> {
        let mut listed = store
            .list()
            .await
            .unwrap_or_else(|e| panic!("{kind}: list: {e}"));
        listed.sort();
        listed
    }

    async fn fetched(store: &dyn BlobStore, kind: &str, name: BlobName, dest: &Path) -> Vec<u8> {
        store
            .fetch(name, dest)
            .await
            .unwrap_or_else(|e| panic!("{kind}: fetch {name}: {e}"));
        std::fs::read(dest).unwrap()
    }

    /// Runs every function of the suite for each of [`LAYOUTS`], each on a
    /// fresh store from `fresh`, then [`mixed_layouts`]. `large` is the
    /// size of the large blob of [`round_trip`].
    pub async fn run(kind: &str, fresh: &dyn Fn() -> Arc<dyn BlobStore>, large: usize) {
        for c in LAYOUTS {
            round_trip(kind, &*fresh(), large, c).await;
            missing_blob_is_not_found(kind, &fresh(), c).await;
            delete_of_a_missing_blob_is_no_error(kind, &fresh(), c).await;
            every_kind_of_name_round_trips(kind, &fresh(), c).await;
            fetch_into_a_missing_directory_is_io(kind, &fresh(), c).await;
            no_partial_blob_is_visible_during_put(kind, &fresh(), large, 3, c).await;
        }
        mixed_layouts(kind, &*fresh(), large).await;
    }

    /// Put (as `c` says), list, stat, size, fetch, replace and delete on an
    /// empty store, then a blob of `large` bytes. Leaves `snapshot-1` (13
    /// bytes), `reversedelta-2-1` (empty) and `snapshot-9` (`large`
    /// bytes), all stored as `c` says.
    pub async fn round_trip(kind: &str, store: &dyn BlobStore, large: usize, c: Compression) {
        let kind = &label(kind, c);
        let scratch = tempfile::tempdir().unwrap();
        let s1 = BlobName::Snapshot(1);
        let d12 = BlobName::Delta { from: 1, to: 2 };
        let r21 = BlobName::ReverseDelta { from: 2, to: 1 };
        assert!(
            sorted_list(store, kind).await.is_empty(),
            "{kind}: a fresh store lists nothing"
        );

        for (name, bytes) in [
            (s1, &b"snapshot one"[..]),
            (d12, &b"delta"[..]),
            (r21, &b""[..]),
        ] {
            store
                .put_as(name, bytes, c)
                .await
                .unwrap_or_else(|e| panic!("{kind}: put {name}: {e}"));
        }
        assert_eq!(sorted_list(store, kind).await, vec![s1, d12, r21], "{kind}");
        assert_stored(store, kind, s1, c, 12).await;
        assert_stored(store, kind, r21, c, 0).await;

        let dest = scratch.path().join("local-copy");
        assert_eq!(
            fetched(store, kind, s1, &dest).await,
            b"snapshot one",
            "{kind}"
        );
        // Fetch replaces the destination.
        assert_eq!(fetched(store, kind, d12, &dest).await, b"delta", "{kind}");
        assert_eq!(fetched(store, kind, r21, &dest).await, b"", "{kind}");
        assert_eq!(
            dir_entries(scratch.path()),
            vec!["local-copy"],
            "{kind}: a temporary file left beside the destination"
        );

        // Put replaces.
        store.put_as(s1, b"snapshot ONE!", c).await.unwrap();
        assert_eq!(
            fetched(store, kind, s1, &dest).await,
            b"snapshot ONE!",
            "{kind}"
        );
        assert_stored(store, kind, s1, c, 13).await;

        store.delete(d12).await.unwrap();
        store
            .delete(d12)
            .await
            .unwrap_or_else(|e| panic!("{kind}: deleting a deleted blob: {e}"));
        assert_eq!(sorted_list(store, kind).await, vec![s1, r21], "{kind}");
        let missing = BlobName::Delta { from: 3, to: 4 };
        let msg = expect_err(
            kind,
            "fetch of a missing blob",
            store.fetch(missing, &dest).await,
            StoreErrorKind::NotFound,
        );
        assert!(msg.contains("blob delta-3-4 not found"), "{kind}: {msg}");
        // A failed fetch leaves the destination as it was.
        assert_eq!(std::fs::read(&dest).unwrap(), b"snapshot ONE!", "{kind}");
        assert_eq!(dir_entries(scratch.path()), vec!["local-copy"], "{kind}");

        // A large blob streams through.
        let big: Vec<u8> = (0..large).map(|i| (i % 251) as u8).collect();
        let s9 = BlobName::Snapshot(9);
        store.put_as(s9, &big, c).await.unwrap();
        assert_stored(store, kind, s9, c, big.len() as u64).await;
        assert!(
            fetched(store, kind, s9, &dest).await == big,
            "{kind}: the large blob came back different"
        );
        assert_eq!(
            sorted_list(store, kind).await,
            vec![s1, s9, r21],
            "{kind}: what the round trip leaves"
        );
    }

    /// `fetch`, `size` and `stat` of a missing blob:
    /// [`StoreErrorKind::NotFound`] naming the blob and the store; the
    /// destination untouched, nothing left beside it.
    pub async fn missing_blob_is_not_found(kind: &str, store: &Arc<dyn BlobStore>, c: Compression) {
        let kind = &label(kind, c);
        let scratch = tempfile::tempdir().unwrap();
        let dest = scratch.path().join("existing");
        std::fs::write(&dest, b"before").unwrap();
        store
            .put_as(BlobName::Snapshot(1), b"other", c)
            .await
            .unwrap();
        let missing = BlobName::Snapshot(9);
        for (what, result) in [
            ("fetch", store.fetch(missing, &dest).await.map(|()| 0)),
            ("size", store.size(missing).await),
            ("stat", store.stat(missing).await.map(|s| s.stored_bytes)),
        ] {
            let msg = expect_err(kind, what, result, StoreErrorKind::NotFound);
            assert!(
                msg.contains("blob snapshot-9 not found"),
                "{kind}: {what}: {msg}"
            );
            assert!(
                msg.contains(&store.describe()),
                "{kind}: {what}: {msg} does not name {}",
                store.describe()
            );
        }
        assert_eq!(std::fs::read(&dest).unwrap(), b"before", "{kind}");
        assert_eq!(dir_entries(scratch.path()), vec!["existing"], "{kind}");
    }

    /// Deleting a blob that never existed succeeds and changes nothing.
    pub async fn delete_of_a_missing_blob_is_no_error(
        kind: &str,
        store: &Arc<dyn BlobStore>,
        c: Compression,
    ) {
        let kind = &label(kind, c);
        store
            .put_as(BlobName::Snapshot(2), b"kept", c)
            .await
            .unwrap();
        store
            .delete(BlobName::Delta { from: 2, to: 3 })
            .await
            .unwrap_or_else(|e| panic!("{kind}: delete of a missing blob: {e}"));
        assert_eq!(
            sorted_list(&**store, kind).await,
            vec![BlobName::Snapshot(2)],
            "{kind}"
        );
    }

    /// Snapshots, deltas and reverse deltas, with versions of many digits,
    /// are listed under the names they were put as.
    pub async fn every_kind_of_name_round_trips(
        kind: &str,
        store: &Arc<dyn BlobStore>,
        c: Compression,
    ) {
        let kind = &label(kind, c);
        let big = 1u64 << 40;
        let names = [
            BlobName::Snapshot(big),
            BlobName::Delta {
                from: big,
                to: big + 1,
            },
            BlobName::ReverseDelta {
                from: big + 1,
                to: big,
            },
            BlobName::Snapshot(big + 1),
        ];
        for (i, name) in names.iter().enumerate() {
            store.put_as(*name, &[i as u8; 3], c).await.unwrap();
        }
        let mut expected = names.to_vec();
        expected.sort();
        assert_eq!(sorted_list(&**store, kind).await, expected, "{kind}");
        let scratch = tempfile::tempdir().unwrap();
        for (i, name) in names.iter().enumerate() {
            let dest = scratch.path().join(name.to_string());
            assert_eq!(
                fetched(&**store, kind, *name, &dest).await,
                [i as u8; 3],
                "{kind}: {name}"
            );
        }
    }

    /// Fetching into a directory that does not exist is an I/O error naming
    /// the blob, not [`StoreErrorKind::NotFound`] (the blob exists).
    pub async fn fetch_into_a_missing_directory_is_io(
        kind: &str,
        store: &Arc<dyn BlobStore>,
        c: Compression,
    ) {
        let kind = &label(kind, c);
        let scratch = tempfile::tempdir().unwrap();
        store.put_as(BlobName::Snapshot(1), b"x", c).await.unwrap();
        let msg = expect_err(
            kind,
            "fetch into a missing directory",
            store
                .fetch(
                    BlobName::Snapshot(1),
                    &scratch.path().join("no/such/dir/file"),
                )
                .await,
            StoreErrorKind::Io,
        );
        assert!(msg.contains("snapshot-1"), "{kind}: {msg}");
    }

    /// While blobs of `len` bytes are put (snapshots `0..versions`, one
    /// after the other), `size`, `fetch` and `list` from another task see
    /// each one missing or complete, never in part.
    pub async fn no_partial_blob_is_visible_during_put(
        kind: &str,
        store: &Arc<dyn BlobStore>,
        len: usize,
        versions: u64,
        c: Compression,
    ) {
        let kind = &label(kind, c);
        let scratch = tempfile::tempdir().unwrap();
        let big: Arc<Vec<u8>> = Arc::new((0..len).map(|i| (i % 253) as u8).collect());
        for v in 0..versions {
            let name = BlobName::Snapshot(v);
            let writer = {
                let (store, big) = (store.clone(), big.clone());
                tokio::spawn(async move { store.put_as(name, &big, c).await })
            };
            let dest = scratch.path().join(format!("fetched-{v}"));
            let mut seen_complete = false;
            while !seen_complete {
                match store.stat(name).await {
                    Ok(s) => assert_eq!(
                        s.plain_bytes,
                        Some(len as u64),
                        "{kind}: a partial blob's size"
                    ),
                    Err(e) => assert_eq!(e.kind(), StoreErrorKind::NotFound, "{kind}: {e}"),
                }
                match store.fetch(name, &dest).await {
                    Ok(()) => {
                        assert!(
                            std::fs::read(&dest).unwrap() == *big,
                            "{kind}: a partial blob fetched"
                        );
                        seen_complete = true;
                    }
                    Err(e) => assert_eq!(e.kind(), StoreErrorKind::NotFound, "{kind}: {e}"),
                }
                for listed in store.list().await.unwrap() {
                    assert!(listed.to_version() <= v, "{kind}: {listed} listed");
                }
            }
            writer
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{kind}: put {name}: {e}"));
        }
    }

    /// A store holding blobs in both layouts at once (as a store does
    /// when its producer's compression setting changes): each blob is
    /// listed once, fetched plain, stat'd in its own layout; a put in the
    /// other layout replaces it (the old layout is gone: listed once,
    /// fetched new); delete removes it whatever the layout. `large` is the
    /// size of one blob put in pieces.
    pub async fn mixed_layouts(kind: &str, store: &dyn BlobStore, large: usize) {
        let kind = &format!("{kind} (mixed layouts)");
        let scratch = tempfile::tempdir().unwrap();
        let dest = scratch.path().join("copy");
        let zstd = LAYOUTS[1];
        let big: Vec<u8> = (0..large).map(|i| (i % 241) as u8).collect();
        let blobs = [
            (BlobName::Snapshot(1), Compression::None, big.clone()),
            (
                BlobName::Delta { from: 1, to: 2 },
                zstd,
                b"delta one-two".to_vec(),
            ),
            (BlobName::Snapshot(2), zstd, big.clone()),
            (
                BlobName::ReverseDelta { from: 2, to: 1 },
                Compression::None,
                b"rev".to_vec(),
            ),
        ];
        for (name, c, bytes) in &blobs {
            store.put_as(*name, bytes, *c).await.unwrap();
        }
        let mut names: Vec<BlobName> = blobs.iter().map(|b| b.0).collect();
        names.sort();
        assert_eq!(
            sorted_list(store, kind).await,
            names,
            "{kind}: each blob once"
        );
        for (name, c, bytes) in &blobs {
            assert_stored(store, kind, *name, *c, bytes.len() as u64).await;
            assert!(
                fetched(store, kind, *name, &dest).await == *bytes,
                "{kind}: {name} fetched different"
            );
        }
        // The large blob compresses (it repeats), and the store says so.
        let s2 = store.stat(BlobName::Snapshot(2)).await.unwrap();
        assert!(
            s2.stored_bytes < big.len() as u64 / 4,
            "{kind}: {} stored bytes for {} plain",
            s2.stored_bytes,
            big.len()
        );
        // Each blob switches layout: the old one is replaced, not kept.
        for (name, c, _) in &blobs {
            let other = if *c == Compression::None {
                zstd
            } else {
                Compression::None
            };
            let new = format!("{name} in the other layout");
            store.put_as(*name, new.as_bytes(), other).await.unwrap();
            assert_stored(store, kind, *name, other, new.len() as u64).await;
            assert_eq!(
                fetched(store, kind, *name, &dest).await,
                new.as_bytes(),
                "{kind}: {name} after switching layout"
            );
        }
        assert_eq!(
            sorted_list(store, kind).await,
            names,
            "{kind}: still each blob once"
        );
        for name in &names {
            store.delete(*name).await.unwrap();
            let e = store.stat(*name).await.unwrap_err();
            assert_eq!(
                e.kind(),
                StoreErrorKind::NotFound,
                "{kind}: {name} deleted: {e}"
            );
        }
        assert!(
            sorted_list(store, kind).await.is_empty(),
            "{kind}: all deleted"
        );
        assert_eq!(
            dir_entries(scratch.path()),
            vec!["copy"],
            "{kind}: nothing left beside"
        );
    }
}

/// The `Announcer` suite.
pub mod announcer {
    use super::*;

    /// Runs every function of the suite, each on a fresh location from
    /// `fresh`. The race opens `handles` announcers and runs `tasks`
    /// announcements at once for each of `versions` versions.
    pub async fn run(
        kind: &str,
        fresh: &dyn Fn() -> Open,
        handles: usize,
        tasks: usize,
        versions: u64,
    ) {
        compare_and_swap(kind, &fresh()).await;
        lower_and_equal_versions_go_through_the_swap(kind, &fresh()).await;
        another_handle_sees_the_announcement(kind, &fresh()).await;
        race_one_winner_per_version(kind, &fresh(), handles, tasks, versions).await;
        pins_are_a_compare_and_swap_that_outlives_announcements(kind, &fresh()).await;
        a_pin_may_come_before_any_announcement(kind, &fresh()).await;
        race_one_pin_winner(kind, &fresh(), handles, tasks).await;
    }

    /// Expects `set_pin(version, expected)` on `a` to lose to the pin
    /// `current`: a [`StoreErrorKind::Conflict`] naming the pin there is
    /// and the one expected; the pin is unchanged.
    async fn pin_loses(
        kind: &str,
        a: &dyn Announcer,
        version: Option<u64>,
        expected: Option<u64>,
        current: Option<u64>,
    ) {
        let what = format!("set_pin({version:?}, expected {expected:?}) over {current:?}");
        let msg = expect_err(
            kind,
            &what,
            a.set_pin(version, expected).await,
            StoreErrorKind::Conflict,
        );
        let show = |v: Option<u64>| {
            v.map_or("not pinned".to_owned(), |v| {
                format!("pinned to version {v}")
            })
        };
        assert!(
            msg.contains(&format!(
                "it is {} now, not {} as expected",
                show(current),
                show(expected)
            )) && msg.contains("another operator changed the pin"),
            "{kind}: {what}: {msg}"
        );
        assert_eq!(a.pinned().await.unwrap(), current, "{kind}: after {what}");
    }

    /// A pin ([`Announcer::set_pin`]): none at first; set, it is read back
    /// by every handle and watchers follow it, not the announcement; new
    /// announcements still go through and leave it in place; setting,
    /// moving or removing it is a compare-and-swap on the pin expected,
    /// and an operator with a stale expectation loses without changing
    /// it; unpinned, watchers follow the announcement again.
    pub async fn pins_are_a_compare_and_swap_that_outlives_announcements(kind: &str, open: &Open) {
        let (a, b) = (open(), open());
        assert_eq!(a.announcer.pinned().await.unwrap(), None, "{kind}: fresh");
        a.announcer.announce(1, None).await.unwrap();
        a.announcer.announce(2, Some(1)).await.unwrap();
        a.announcer.set_pin(Some(1), None).await.unwrap();
        assert_eq!(a.announcer.pinned().await.unwrap(), Some(1), "{kind}");
        assert_eq!(
            b.announcer.pinned().await.unwrap(),
            Some(1),
            "{kind}: another handle"
        );
        assert_eq!(
            b.announcer.announced().await.unwrap(),
            Some(2),
            "{kind}: the announcement stays"
        );
        assert_eq!(
            b.watcher.latest().await.unwrap(),
            Some(1),
            "{kind}: watchers follow the pin"
        );

        // A producer announces on: the pin stays, for handles old and new.
        b.announcer.announce(3, Some(2)).await.unwrap();
        let c = open();
        for (h, which) in [(&a, "a"), (&b, "b"), (&c, "a new handle")] {
            assert_eq!(
                h.announcer.pinned().await.unwrap(),
                Some(1),
                "{kind}: {which}"
            );
            assert_eq!(
                h.announcer.announced().await.unwrap(),
                Some(3),
                "{kind}: {which}"
            );
            assert_eq!(
                h.watcher.latest().await.unwrap(),
                Some(1),
                "{kind}: {which}"
            );
        }

        // Operator b moves the pin; a, still expecting none or 1, loses.
        b.announcer.set_pin(Some(2), Some(1)).await.unwrap();
        pin_loses(kind, a.announcer.as_ref(), Some(3), None, Some(2)).await;
        pin_loses(kind, a.announcer.as_ref(), Some(3), Some(1), Some(2)).await;
        pin_loses(kind, a.announcer.as_ref(), None, Some(1), Some(2)).await;
        assert_eq!(
            c.watcher.latest().await.unwrap(),
            Some(2),
            "{kind}: the moved pin"
        );

        // Unpinned (expecting the pin there is): watchers follow the
        // announcement again; a stale unpin or pin then loses.
        a.announcer.set_pin(None, Some(2)).await.unwrap();
        for (h, which) in [(&a, "a"), (&b, "b"), (&c, "c")] {
            assert_eq!(h.announcer.pinned().await.unwrap(), None, "{kind}: {which}");
            assert_eq!(
                h.watcher.latest().await.unwrap(),
                Some(3),
                "{kind}: {which}"
            );
        }
        pin_loses(kind, b.announcer.as_ref(), None, Some(2), None).await;
        pin_loses(kind, b.announcer.as_ref(), Some(1), Some(2), None).await;
        assert_eq!(c.announcer.announced().await.unwrap(), Some(3), "{kind}");
    }

    /// A pin set before any version is announced is what watchers see;
    /// the first announcement then goes through beneath it.
    pub async fn a_pin_may_come_before_any_announcement(kind: &str, open: &Open) {
        let h = open();
        h.announcer.set_pin(Some(7), None).await.unwrap();
        assert_eq!(h.announcer.announced().await.unwrap(), None, "{kind}");
        assert_eq!(open().watcher.latest().await.unwrap(), Some(7), "{kind}");
        h.announcer.announce(1, None).await.unwrap();
        let other = open();
        assert_eq!(
            other.announcer.announced().await.unwrap(),
            Some(1),
            "{kind}"
        );
        assert_eq!(other.announcer.pinned().await.unwrap(), Some(7), "{kind}");
        assert_eq!(other.watcher.latest().await.unwrap(), Some(7), "{kind}");
    }

    /// `tasks` operators over `handles` announcers pin each a different
    /// version at once, all expecting no pin: exactly one wins, every
    /// other one is a [`StoreErrorKind::Conflict`], and every handle reads
    /// the winner's pin.
    pub async fn race_one_pin_winner(kind: &str, open: &Open, handles: usize, tasks: usize) {
        let announcers: Vec<Arc<dyn Announcer>> = (0..handles).map(|_| open().announcer).collect();
        let barrier = Arc::new(tokio::sync::Barrier::new(tasks));
        let racing: Vec<_> = (0..tasks)
            .map(|i| {
                let a = announcers[i % handles].clone();
                let barrier = barrier.clone();
                let version = 100 + i as u64;
                tokio::spawn(async move {
                    barrier.wait().await;
                    (version, a.set_pin(Some(version), None).await)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for t in racing {
            match t.await.unwrap() {
                (v, Ok(())) => winners.push(v),
                (_, Err(e)) => {
                    assert_eq!(e.kind(), StoreErrorKind::Conflict, "{kind}: {e}");
                    assert!(
                        e.to_string().contains("another operator changed the pin"),
                        "{kind}: {e}"
                    );
                }
            }
        }
        assert_eq!(winners.len(), 1, "{kind}: pin winners {winners:?}");
        for a in &announcers {
            assert_eq!(a.pinned().await.unwrap(), Some(winners[0]), "{kind}");
        }
    }

    /// Nothing announced at first; announcing is a compare-and-swap on the
    /// expected version, and a stale or wrong expectation is a
    /// [`StoreErrorKind::Conflict`] naming the winner, the expected version
    /// and the place of the announcement.
    pub async fn compare_and_swap(kind: &str, open: &Open) {
        let h = open();
        let a = &h.announcer;
        assert_eq!(a.announced().await.unwrap(), None, "{kind}: fresh");
        assert_eq!(h.watcher.latest().await.unwrap(), None, "{kind}: fresh");
        expect_err(
            kind,
            "expecting a version when nothing is announced",
            a.announce(1, Some(0)).await,
            StoreErrorKind::Conflict,
        );
        assert_eq!(a.announced().await.unwrap(), None, "{kind}: a lost swap");
        a.announce(11, None).await.unwrap();
        assert_eq!(a.announced().await.unwrap(), Some(11), "{kind}");
        a.announce(12, Some(11)).await.unwrap();
        // The stale expectation of a producer that lost the race.
        let msg = expect_err(
            kind,
            "stale expected version",
            a.announce(12, Some(11)).await,
            StoreErrorKind::Conflict,
        );
        assert!(
            msg.contains("another producer announced version 12 (expected 11)"),
            "{kind}: {msg}"
        );
        assert!(
            msg.contains(&h.where_),
            "{kind}: {msg} does not name {}",
            h.where_
        );
        let msg = expect_err(
            kind,
            "expecting nothing announced",
            a.announce(13, None).await,
            StoreErrorKind::Conflict,
        );
        assert!(msg.contains("(expected none)"), "{kind}: {msg}");
        assert_eq!(a.announced().await.unwrap(), Some(12), "{kind}");
        assert_eq!(h.watcher.latest().await.unwrap(), Some(12), "{kind}");
    }

    /// Versions need not increase: a lower or equal version is announced
    /// through the compare-and-swap.
    pub async fn lower_and_equal_versions_go_through_the_swap(kind: &str, open: &Open) {
        let h = open();
        h.announcer.announce(12, None).await.unwrap();
        h.announcer
            .announce(5, Some(12))
            .await
            .unwrap_or_else(|e| panic!("{kind}: announcing a lower version: {e}"));
        h.announcer
            .announce(5, Some(5))
            .await
            .unwrap_or_else(|e| panic!("{kind}: announcing the same version: {e}"));
        assert_eq!(h.announcer.announced().await.unwrap(), Some(5), "{kind}");
        assert_eq!(h.watcher.latest().await.unwrap(), Some(5), "{kind}");
    }

    /// Handles opened on the same location share the announcement: one
    /// announces, another reads it and continues from it.
    pub async fn another_handle_sees_the_announcement(kind: &str, open: &Open) {
        let (a, b) = (open(), open());
        a.announcer.announce(1, None).await.unwrap();
        assert_eq!(b.announcer.announced().await.unwrap(), Some(1), "{kind}");
        b.announcer.announce(2, Some(1)).await.unwrap();
        assert_eq!(a.announcer.announced().await.unwrap(), Some(2), "{kind}");
        expect_err(
            kind,
            "a handle behind the other",
            a.announcer.announce(2, Some(1)).await,
            StoreErrorKind::Conflict,
        );
    }

    /// `tasks` announcements of the same version, from the same expected
    /// version, at once over `handles` announcers: exactly one wins, every
    /// other one is a [`StoreErrorKind::Conflict`] naming the winner's
    /// version; repeated for `versions` versions.
    pub async fn race_one_winner_per_version(
        kind: &str,
        open: &Open,
        handles: usize,
        tasks: usize,
        versions: u64,
    ) {
        let announcers: Vec<Arc<dyn Announcer>> = (0..handles).map(|_| open().announcer).collect();
        let reader = open();
        let mut expected = None;
        for version in 1..=versions {
            let barrier = Arc::new(tokio::sync::Barrier::new(tasks));
            let racing: Vec<_> = (0..tasks)
                .map(|i| {
                    let a = announcers[i % handles].clone();
                    let barrier = barrier.clone();
                    tokio::spawn(async move {
                        barrier.wait().await;
                        a.announce(version, expected).await
                    })
                })
                .collect();
            let mut wins = 0;
            for t in racing {
                match t.await.unwrap() {
                    Ok(()) => wins += 1,
                    Err(e) => {
                        assert_eq!(e.kind(), StoreErrorKind::Conflict, "{kind}: {e}");
                        let winner = format!("another producer announced version {version}");
                        assert!(e.to_string().contains(&winner), "{kind}: {e}");
                    }
                }
            }
            assert_eq!(wins, 1, "{kind}: winners of version {version}");
            assert_eq!(
                reader.announcer.announced().await.unwrap(),
                Some(version),
                "{kind}"
            );
            assert_eq!(
                reader.watcher.latest().await.unwrap(),
                Some(version),
                "{kind}"
            );
            expected = Some(version);
        }
    }
}

/// The `AnnouncementWatcher` suite.
pub mod watcher {
    use super::*;

    /// Runs every function of the suite, each on a fresh location from
    /// `fresh`.
    pub async fn run(kind: &str, fresh: &dyn Fn() -> Open) {
        latest_follows_announcements(kind, &fresh()).await;
        changed_returns_at_once_when_already_different(kind, &fresh()).await;
        changed_wakes_on_a_new_version_only(kind, &fresh()).await;
        changed_wakes_on_a_pin_and_an_unpin(kind, &fresh()).await;
    }

    async fn changed(kind: &str, w: &dyn AnnouncementWatcher, seen: Option<u64>) -> Option<u64> {
        tokio::time::timeout(WAKE_LIMIT, w.changed(seen))
            .await
            .unwrap_or_else(|_| panic!("{kind}: changed({seen:?}) did not return"))
            .unwrap_or_else(|e| panic!("{kind}: changed({seen:?}): {e}"))
    }

    /// `latest` is the announced version now: none, then each version
    /// another handle announces, then a watcher opened later sees it too.
    pub async fn latest_follows_announcements(kind: &str, open: &Open) {
        let (producer, consumer) = (open(), open());
        assert_eq!(consumer.watcher.latest().await.unwrap(), None, "{kind}");
        for (v, expected) in [(1, None), (2, Some(1)), (1, Some(2))] {
            producer.announcer.announce(v, expected).await.unwrap();
            assert_eq!(consumer.watcher.latest().await.unwrap(), Some(v), "{kind}");
            assert_eq!(producer.watcher.latest().await.unwrap(), Some(v), "{kind}");
        }
        assert_eq!(open().watcher.latest().await.unwrap(), Some(1), "{kind}");
    }

    /// `changed` returns at once when the announcement already differs
    /// from what the caller saw (nothing announced included).
    pub async fn changed_returns_at_once_when_already_different(kind: &str, open: &Open) {
        let h = open();
        assert_eq!(changed(kind, &*h.watcher, Some(7)).await, None, "{kind}");
        h.announcer.announce(1, None).await.unwrap();
        assert_eq!(changed(kind, &*h.watcher, None).await, Some(1), "{kind}");
        assert_eq!(changed(kind, &*h.watcher, Some(7)).await, Some(1), "{kind}");
    }

    /// A waiting `changed` does not return while the announcement stays
    /// the version it saw (even when that version is announced again),
    /// and wakes with the next version another handle announces.
    pub async fn changed_wakes_on_a_new_version_only(kind: &str, open: &Open) {
        let (producer, consumer) = (open(), open());
        producer.announcer.announce(1, None).await.unwrap();
        let w = consumer.watcher.clone();
        let waiting = tokio::spawn(async move { w.changed(Some(1)).await });
        producer.announcer.announce(1, Some(1)).await.unwrap();
        // Long enough for several polls of every watcher under test.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !waiting.is_finished(),
            "{kind}: changed(Some(1)) returned while 1 was announced"
        );
        producer.announcer.announce(2, Some(1)).await.unwrap();
        let got = tokio::time::timeout(WAKE_LIMIT, waiting)
            .await
            .unwrap_or_else(|_| panic!("{kind}: changed() did not notice version 2"))
            .unwrap()
            .unwrap_or_else(|e| panic!("{kind}: changed: {e}"));
        assert_eq!(got, Some(2), "{kind}");
    }

    /// A watcher waiting on the announced version wakes when an operator
    /// pins another version, and again when the pin is removed.
    pub async fn changed_wakes_on_a_pin_and_an_unpin(kind: &str, open: &Open) {
        let (operator, consumer) = (open(), open());
        operator.announcer.announce(2, None).await.unwrap();
        assert_eq!(
            changed(kind, consumer.watcher.as_ref(), None).await,
            Some(2)
        );
        operator.announcer.set_pin(Some(1), None).await.unwrap();
        assert_eq!(
            changed(kind, consumer.watcher.as_ref(), Some(2)).await,
            Some(1),
            "{kind}: pinned"
        );
        operator.announcer.set_pin(None, Some(1)).await.unwrap();
        assert_eq!(
            changed(kind, consumer.watcher.as_ref(), Some(1)).await,
            Some(2),
            "{kind}: unpinned"
        );
    }
}

//! Blobs compressed for transit: producers storing zstd-compressed blobs
//! (`<name>.zst`), plain ones, and both in one store across versions;
//! consumers following every way (snapshots, deltas, reverse deltas) to the
//! same records; and damaged or wrongly labelled compressed blobs refused
//! by name, with the consumer keeping its version and a restoring producer
//! announcing nothing.

use std::path::Path;
use std::sync::Arc;

use hollow_runtime::store::{
    AnnouncementWatcher, Announcer, BlobName, BlobStore, Compression, Encoding, FileAnnouncer,
    FsBlobStore, InProcessAnnouncer, MemoryBlobStore,
};
use hollow_runtime::{Consumer, Producer};
use hollow_tests::dataset::{self, Catalog};

const ZSTD: Compression = Compression::Zstd {
    level: Compression::DEFAULT_ZSTD_LEVEL,
};

/// The catalog of version `k` (a third of the records change each round).
fn catalog(k: u64) -> Catalog {
    dataset::catalog(60, k, 3)
}

/// An error and its sources, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut at = e.source();
    while let Some(s) = at {
        out.push_str(": ");
        out.push_str(&s.to_string());
        at = s.source();
    }
    out
}

/// Publishes versions 1..=`layouts.len()` into `store`, version `k`
/// stored as `layouts[k - 1]` says, each by a producer of its own that
/// continues the announced version (so each one reads the blobs of the
/// one before, in whatever layout, to restore).
async fn publish_versions(
    store: &Arc<dyn BlobStore>,
    announcer: &Arc<dyn Announcer>,
    layouts: &[Compression],
) {
    for (i, &c) in layouts.iter().enumerate() {
        let k = i as u64 + 1;
        let mut p = Producer::builder(store.clone(), announcer.clone())
            .compression(c)
            .build();
        let restored = p.restore_latest().await.unwrap();
        assert_eq!(restored, (k > 1).then_some(k - 1), "restored before {k}");
        let out = p
            .run_cycle(|w| {
                let c = catalog(k);
                c.movies.values().try_for_each(|m| w.add(m))?;
                c.actors.values().try_for_each(|a| w.add(a))
            })
            .await
            .unwrap();
        assert_eq!(out.version, Some(k));
        // The outcome gives plain sizes; the store tells both.
        for (name, plain) in &out.blobs {
            let stat = store.stat(*name).await.unwrap();
            assert_eq!(stat.encoding, c.encoding(), "{name}");
            assert_eq!(stat.plain_bytes, Some(*plain), "{name}");
            if c == ZSTD {
                assert!(stat.stored_bytes < *plain, "{name}: {stat:?}");
            }
        }
    }
}

/// A consumer following every version forward from 1, by deltas, and one
/// going back from the last, by reverse deltas (the snapshots between
/// were deleted, so no other way is left), each checked against the
/// catalog of every version.
async fn follow_every_way(
    store: &Arc<dyn BlobStore>,
    watcher: &Arc<dyn AnnouncementWatcher>,
    last: u64,
    what: &str,
) {
    for v in 2..last {
        store.delete(BlobName::Snapshot(v)).await.unwrap();
    }
    let caches = tempfile::tempdir().unwrap();
    let forward = dataset::consumer(store.clone(), watcher.clone(), &caches.path().join("f"));
    for v in 1..=last {
        assert_eq!(forward.refresh_to(v).await.unwrap(), v, "{what}");
        catalog(v).assert_held_by(&forward.current().unwrap(), &format!("{what}: forward"));
    }
    let back = dataset::consumer(store.clone(), watcher.clone(), &caches.path().join("b"));
    for v in (1..=last).rev() {
        assert_eq!(back.refresh_to(v).await.unwrap(), v, "{what}");
        catalog(v).assert_held_by(&back.current().unwrap(), &format!("{what}: back"));
    }
    // The caches hold the blobs plain, under their plain names.
    for cache in ["f", "b"] {
        for entry in std::fs::read_dir(caches.path().join(cache)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.ends_with(".zst"), "{what}: {name} in the cache");
        }
    }
}

#[test]
fn compressed_plain_and_mixed_stores_give_the_same_records_every_way() {
    let p = Compression::None;
    let scenarios: [(&str, [Compression; 5]); 3] = [
        ("compressed", [ZSTD; 5]),
        ("plain", [p; 5]),
        ("mixed", [ZSTD, p, p, ZSTD, p]),
    ];
    let rt = dataset::runtime();
    for (what, layouts) in scenarios {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn BlobStore> = Arc::new(FsBlobStore::new(dir.path()).unwrap());
        let announcer = Arc::new(FileAnnouncer::new(dir.path()).unwrap());
        rt.block_on(async {
            publish_versions(&store, &(announcer.clone() as Arc<dyn Announcer>), &layouts).await;
            // Each blob is in the directory under the name its layout
            // says, and only there.
            for (i, c) in layouts.iter().enumerate() {
                let v = i as u64 + 1;
                let names = [
                    Some(BlobName::Snapshot(v)),
                    (v > 1).then_some(BlobName::Delta { from: v - 1, to: v }),
                    (v > 1).then_some(BlobName::ReverseDelta { from: v, to: v - 1 }),
                ];
                for name in names.into_iter().flatten() {
                    for e in Encoding::ALL {
                        let file = dir.path().join(format!("{name}{}", e.suffix()));
                        assert_eq!(file.is_file(), e == c.encoding(), "{what}: {file:?}");
                    }
                }
            }
            let mut listed = store.list().await.unwrap();
            listed.sort();
            assert_eq!(listed.len(), 5 + 4 + 4, "{what}: {listed:?}");
            follow_every_way(
                &store,
                &(announcer as Arc<dyn AnnouncementWatcher>),
                5,
                what,
            )
            .await;
        });
    }
}

/// How a test damages the blobs of version 2.
#[derive(Clone, Copy, Debug)]
enum Damage {
    /// The compressed bytes cut short.
    Truncated,
    /// A byte of the compressed bytes changed.
    Corrupted,
    /// More bytes after the zstd frame.
    TrailingBytes,
    /// A `.zst` blob holding the plain blob.
    PlainUnderZstdName,
    /// The compressed bytes under the plain name.
    ZstdUnderPlainName,
}

impl Damage {
    const ALL: [Damage; 5] = [
        Damage::Truncated,
        Damage::Corrupted,
        Damage::TrailingBytes,
        Damage::PlainUnderZstdName,
        Damage::ZstdUnderPlainName,
    ];

    /// Damages blob `name` of `store` (stored compressed).
    fn apply(self, store: &MemoryBlobStore, name: BlobName) {
        let (encoding, stored) = store.get_stored(name).unwrap();
        assert_eq!(encoding, Encoding::Zstd, "{name}");
        match self {
            Damage::Truncated => assert!(store.corrupt_stored(name, |b| b.truncate(b.len() / 2))),
            Damage::Corrupted => assert!(store.corrupt_stored(name, |b| {
                let at = b.len() / 2;
                b[at] ^= 0x5a;
            })),
            Damage::TrailingBytes => assert!(store.corrupt_stored(name, |b| b.extend(b"more"))),
            Damage::PlainUnderZstdName => {
                let plain = store.get(name).unwrap();
                store.put_stored(name, Encoding::Zstd, plain);
            }
            Damage::ZstdUnderPlainName => store.put_stored(name, Encoding::Plain, stored),
        }
    }

    /// What the error for the damaged blob says.
    fn says(self) -> &'static str {
        match self {
            Damage::Truncated => "truncated",
            Damage::Corrupted => "corrupt",
            Damage::TrailingBytes => "more bytes follow the end of the zstd frame",
            Damage::PlainUnderZstdName => "not a zstd frame",
            // The plain name is trusted: the bytes are read as a blob,
            // whose prefix check refuses them.
            Damage::ZstdUnderPlainName => "snapshot-2",
        }
    }
}

/// A memory store with versions 1 and 2 published compressed, and a
/// consumer at version 1.
async fn two_versions(cache: &Path) -> (MemoryBlobStore, Arc<InProcessAnnouncer>, Consumer) {
    let store = MemoryBlobStore::new();
    let announcer = Arc::new(InProcessAnnouncer::new());
    let shared: Arc<dyn BlobStore> = Arc::new(store.clone());
    publish_versions(
        &shared,
        &(announcer.clone() as Arc<dyn Announcer>),
        &[ZSTD; 2],
    )
    .await;
    let consumer = dataset::consumer(shared, announcer.clone(), cache);
    assert_eq!(consumer.refresh_to(1).await.unwrap(), 1);
    (store, announcer, consumer)
}

#[test]
fn damaged_compressed_blobs_are_refused_by_name_and_nothing_is_served_from_them() {
    let rt = dataset::runtime();
    for damage in Damage::ALL {
        let cache = tempfile::tempdir().unwrap();
        rt.block_on(async {
            let (store, announcer, consumer) = two_versions(cache.path()).await;
            let s2 = BlobName::Snapshot(2);
            let d12 = BlobName::Delta { from: 1, to: 2 };

            // Only the delta damaged: the consumer plans around it, through
            // the snapshot, and reaches the right records.
            damage.apply(&store, d12);
            assert_eq!(consumer.refresh_to(2).await.unwrap(), 2, "{damage:?}");
            catalog(2).assert_held_by(&consumer.current().unwrap(), "around the delta");

            // The snapshot damaged too: no way to version 2. The error
            // names the blob and what is wrong with it; the consumer keeps
            // the version it has.
            let fresh = tempfile::tempdir().unwrap();
            let shared: Arc<dyn BlobStore> = Arc::new(store.clone());
            let c = dataset::consumer(shared.clone(), announcer.clone(), fresh.path());
            assert_eq!(c.refresh_to(1).await.unwrap(), 1);
            damage.apply(&store, s2);
            let e = c.refresh_to(2).await.unwrap_err();
            let text = chain(&e);
            assert!(
                text.contains("snapshot-2") || text.contains("delta-1-2"),
                "{damage:?}: {text}"
            );
            assert!(text.contains(damage.says()), "{damage:?}: {text}");
            assert_eq!(c.version(), Some(1), "{damage:?}");
            catalog(1).assert_held_by(&c.current().unwrap(), "kept version 1");
            // Nothing of the damaged blobs is left in the cache.
            for entry in std::fs::read_dir(fresh.path()).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                assert!(name == "snapshot-1", "{damage:?}: {name} left in the cache");
            }

            // The snapshot's own error, from the store: the blob's name and
            // its stored name.
            let out = fresh.path().join("out");
            match shared.fetch(s2, &out).await {
                Err(e) => {
                    let text = e.to_string();
                    assert!(
                        text.contains("blob snapshot-2 in memory"),
                        "{damage:?}: {text}"
                    );
                    assert!(text.contains("snapshot-2.zst"), "{damage:?}: {text}");
                    assert!(text.contains(damage.says()), "{damage:?}: {text}");
                    assert!(!out.exists(), "{damage:?}: a damaged blob fetched");
                }
                // Under a plain name the bytes are copied as they are; the
                // blob reader refuses them (above).
                Ok(()) => assert!(matches!(damage, Damage::ZstdUnderPlainName)),
            }

            // A producer restoring from the damaged version fails, naming
            // the version and each damaged blob it tried with what is wrong
            // with it (the first blob's error is the source), and
            // announces nothing.
            let mut p = Producer::builder(shared, announcer.clone()).build();
            let e = p.restore_latest().await.unwrap_err();
            let text = e.to_string();
            assert_eq!(
                e.kind(),
                hollow_runtime::ErrorKind::Planning,
                "{damage:?}: {text}"
            );
            assert!(text.contains("version 2"), "{damage:?}: {text}");
            assert!(text.contains("unusable blobs: "), "{damage:?}: {text}");
            for blob in ["snapshot-2 (", "delta-1-2 ("] {
                assert!(text.contains(blob), "{damage:?}: {blob} not named: {text}");
            }
            assert!(text.contains(damage.says()), "{damage:?}: {text}");
            let source = std::error::Error::source(&e).map(ToString::to_string);
            assert!(
                source.as_deref().is_some_and(|s| text.contains(s)),
                "{damage:?}: source {source:?} of {text}"
            );
            assert_eq!(announcer.announced().await.unwrap(), Some(2), "{damage:?}");
        });
    }
}

#[test]
fn wrongly_labelled_files_in_a_directory_store_are_refused_by_name() {
    let rt = dataset::runtime();
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let store: Arc<dyn BlobStore> = Arc::new(FsBlobStore::new(dir.path()).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(dir.path()).unwrap());
    rt.block_on(async {
        publish_versions(
            &store,
            &(announcer.clone() as Arc<dyn Announcer>),
            &[ZSTD; 2],
        )
        .await;
        let consumer = dataset::consumer(store.clone(), announcer.clone(), cache.path());
        assert_eq!(consumer.refresh_to(1).await.unwrap(), 1);
        // The delta's zstd bytes renamed to the plain name; the plain
        // snapshot written under the compressed name.
        let path = |n: &str| dir.path().join(n);
        std::fs::rename(path("delta-1-2.zst"), path("delta-1-2")).unwrap();
        let scratch = tempfile::tempdir().unwrap();
        store
            .fetch(BlobName::Snapshot(2), &scratch.path().join("s2"))
            .await
            .unwrap();
        std::fs::copy(scratch.path().join("s2"), path("snapshot-2.zst")).unwrap();

        let e = store
            .fetch(BlobName::Snapshot(2), &scratch.path().join("again"))
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("blob snapshot-2 in dir") && text.contains("not a zstd frame"),
            "{text}"
        );
        let e = consumer.refresh_to(2).await.unwrap_err();
        let text = chain(&e);
        assert!(
            text.contains("delta-1-2") || text.contains("snapshot-2"),
            "{text}"
        );
        assert_eq!(consumer.version(), Some(1));
        catalog(1).assert_held_by(&consumer.current().unwrap(), "kept version 1");
    });
}

#[test]
fn the_cleaner_deletes_old_blobs_in_either_layout_and_keeps_the_rest_reachable() {
    use hollow_runtime::store::retention::RetentionCleaner;
    let rt = dataset::runtime();
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let store: Arc<dyn BlobStore> = Arc::new(FsBlobStore::new(dir.path()).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(dir.path()).unwrap());
    let p = Compression::None;
    rt.block_on(async {
        publish_versions(
            &store,
            &(announcer.clone() as Arc<dyn Announcer>),
            &[ZSTD, p, ZSTD, p, ZSTD],
        )
        .await;
        let cleaner = RetentionCleaner::new(store.clone(), announcer.clone(), 2);
        let report = cleaner.clean().await.unwrap();
        assert_eq!(report.floor, Some(4));
        assert!(!report.deleted.is_empty());
        // Nothing of a deleted blob is left, in either layout; what is
        // kept is listed once.
        let files: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        for name in &report.deleted {
            for e in Encoding::ALL {
                let file = format!("{name}{}", e.suffix());
                assert!(!files.contains(&file), "{file} left after the clean");
            }
        }
        let mut listed = store.list().await.unwrap();
        listed.sort();
        assert_eq!(
            listed,
            vec![
                BlobName::Snapshot(4),
                BlobName::Snapshot(5),
                BlobName::Delta { from: 4, to: 5 },
                BlobName::ReverseDelta { from: 5, to: 4 },
            ]
        );
        let consumer = dataset::consumer(store.clone(), announcer.clone(), cache.path());
        assert_eq!(consumer.refresh().await.unwrap(), Some(5));
        catalog(5).assert_held_by(&consumer.current().unwrap(), "after the clean");
    });
}

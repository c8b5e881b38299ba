//! The store side of the admin commands: pinning through every announcer
//! (the local directory's file, in process, in memory through the object
//! announcer), consumers following a store-wide pin, the pin's
//! compare-and-swap, retention keeping what a pinned version needs, and a
//! rollback (announcing 7 over 10) after which the next producer cycle
//! restores 7 and mints 11, leaving the blobs of 8 to 10 untouched.

use std::sync::Arc;

use hollow_runtime::store::retention::RetentionCleaner;
use hollow_runtime::store::url::{open, StoreOptions};
use hollow_runtime::store::{
    AnnouncementWatcher, Announcer, BlobName, BlobStore, InProcessAnnouncer, MemoryBlobStore,
    StoreErrorKind,
};
use hollow_runtime::{ErrorKind, FileAnnouncer, FsBlobStore, Producer};
use hollow_tests::dataset::{self, catalog, publish};

/// Every announcer kind, over a fresh store: (name, store, announcer,
/// watcher).
type Kind = (
    &'static str,
    Arc<dyn BlobStore>,
    Arc<dyn Announcer>,
    Arc<dyn AnnouncementWatcher>,
);

fn kinds(dir: &std::path::Path) -> Vec<Kind> {
    let file = Arc::new(FileAnnouncer::new(dir).unwrap());
    let in_process = Arc::new(InProcessAnnouncer::new());
    let memory = open("memory://ds", &StoreOptions::default()).unwrap();
    vec![
        (
            "file",
            Arc::new(FsBlobStore::new(dir).unwrap()),
            file.clone(),
            file,
        ),
        (
            "in-process",
            Arc::new(MemoryBlobStore::new()),
            in_process.clone(),
            in_process,
        ),
        ("memory://", memory.store, memory.announcer, memory.watcher),
    ]
}

#[tokio::test]
async fn every_announcer_pins_and_consumers_follow_the_pin() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, store, announcer, watcher) in kinds(&tmp.path().join("store")) {
        let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
        let mut catalogs = Vec::new();
        for round in 1..=3 {
            let c = catalog(10, round, 2);
            assert_eq!(publish(&mut producer, &c).await, Some(round), "{name}");
            catalogs.push(c);
        }
        let consumer = dataset::consumer(
            store.clone(),
            watcher.clone(),
            &tmp.path().join(format!("cache-{name}")),
        );
        assert_eq!(consumer.refresh().await.unwrap(), Some(3), "{name}");

        assert_eq!(announcer.pinned().await.unwrap(), None, "{name}");
        announcer.set_pin(Some(1), None).await.unwrap();
        assert_eq!(announcer.pinned().await.unwrap(), Some(1), "{name}");
        // The announcement is unchanged; watchers report the pin.
        assert_eq!(announcer.announced().await.unwrap(), Some(3), "{name}");
        assert_eq!(watcher.latest().await.unwrap(), Some(1), "{name}");
        assert_eq!(watcher.changed(Some(3)).await.unwrap(), Some(1), "{name}");
        assert_eq!(consumer.refresh().await.unwrap(), Some(1), "{name}");
        catalogs[0].assert_held_by(&consumer.current().unwrap(), name);

        // A second operator believing nothing is pinned loses.
        let e = announcer.set_pin(Some(2), None).await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Conflict, "{name}: {e}");
        assert!(e.to_string().contains("pinned to version 1"), "{name}: {e}");
        assert_eq!(announcer.pinned().await.unwrap(), Some(1), "{name}");

        // A producer still announces while pinned; consumers stay.
        let c = catalog(10, 4, 2);
        assert_eq!(publish(&mut producer, &c).await, Some(4), "{name}");
        catalogs.push(c);
        assert_eq!(consumer.refresh().await.unwrap(), Some(1), "{name}");

        // Unpinned (compare-and-swap on the pin): back to the announcement.
        announcer.set_pin(None, Some(1)).await.unwrap();
        assert_eq!(announcer.pinned().await.unwrap(), None, "{name}");
        assert_eq!(consumer.refresh().await.unwrap(), Some(4), "{name}");
        catalogs[3].assert_held_by(&consumer.current().unwrap(), name);
        let e = announcer.set_pin(None, Some(1)).await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Conflict, "{name}: {e}");
    }
}

#[tokio::test]
async fn file_pin_is_a_file_beside_the_announcement() {
    let tmp = tempfile::tempdir().unwrap();
    let a = FileAnnouncer::new(tmp.path()).unwrap();
    a.announce(5, None).await.unwrap();
    a.set_pin(Some(3), None).await.unwrap();
    assert_eq!(a.pin_file(), tmp.path().join("pinned.version"));
    assert_eq!(std::fs::read_to_string(a.pin_file()).unwrap(), "3\n");
    // Another process's announcer reads it.
    let other = FileAnnouncer::new(tmp.path()).unwrap();
    assert_eq!(other.latest().await.unwrap(), Some(3));
    // A corrupt pin is an error naming the file, never a silent unpin.
    std::fs::write(a.pin_file(), "three\n").unwrap();
    let e = other.latest().await.unwrap_err();
    assert!(
        e.to_string().contains(&a.pin_file().display().to_string()),
        "{e}"
    );
    std::fs::write(a.pin_file(), "3\n").unwrap();
    a.set_pin(None, Some(3)).await.unwrap();
    assert!(!a.pin_file().exists());
    assert_eq!(other.latest().await.unwrap(), Some(5));
    // The blob store in the same directory lists no pin file as a blob.
    let store = FsBlobStore::new(tmp.path()).unwrap();
    a.set_pin(Some(5), None).await.unwrap();
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn retention_keeps_what_pinned_consumers_need() {
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let mut producer = Producer::builder(store.clone(), announcer.clone())
        .snapshot_interval(3)
        .build();
    for round in 1..=9 {
        publish(&mut producer, &catalog(10, round, 2)).await;
    }
    announcer.set_pin(Some(2), None).await.unwrap();
    let cleaner = RetentionCleaner::new(store.clone(), announcer.clone(), 2);
    let plan = cleaner.plan().await.unwrap();
    assert_eq!((plan.announced, plan.pinned), (Some(9), Some(2)));
    assert_eq!(plan.floor, Some(1));
    assert!(plan.deleted.is_empty(), "{plan:?}");
    // Unpinned, the same clean deletes below the retained versions; a plan
    // made before the unpin is refused (the pin changed), deleting nothing.
    announcer.set_pin(None, Some(2)).await.unwrap();
    let e = cleaner.execute(plan).await.unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}");
    assert!(store.names().contains(&BlobName::Snapshot(1)));
    let report = cleaner.clean().await.unwrap();
    assert!(
        report.deleted.contains(&BlobName::Snapshot(1)),
        "{report:?}"
    );
    let cache = tempfile::tempdir().unwrap();
    let consumer = dataset::consumer(store.clone(), announcer.clone(), cache.path());
    assert_eq!(consumer.refresh().await.unwrap(), Some(9));
}

#[tokio::test]
async fn after_a_rollback_the_next_cycle_mints_above_every_version() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = Arc::new(FsBlobStore::new(&dir).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(&dir).unwrap());
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let mut catalogs = Vec::new();
    for round in 1..=10 {
        let c = catalog(12, round, 3);
        assert_eq!(publish(&mut producer, &c).await, Some(round));
        catalogs.push(c);
    }
    let consumer = dataset::consumer(store.clone(), announcer.clone(), &tmp.path().join("c"));
    assert_eq!(consumer.refresh().await.unwrap(), Some(10));
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let read = |name: BlobName| {
        let (store, dest) = (store.clone(), scratch.join(name.to_string()));
        async move {
            store.fetch(name, &dest).await.unwrap();
            std::fs::read(&dest).unwrap()
        }
    };
    let mut blobs_8_to_10 = Vec::new();
    for n in store.list().await.unwrap() {
        if n.to_version().max(n.from_version()) >= 8 {
            blobs_8_to_10.push((n, read(n).await));
        }
    }
    assert!(blobs_8_to_10.len() >= 9, "{blobs_8_to_10:?}");

    // The operator rolls back: 7 announced over 10.
    announcer.announce(7, Some(10)).await.unwrap();
    assert_eq!(consumer.refresh().await.unwrap(), Some(7));
    catalogs[6].assert_held_by(&consumer.current().unwrap(), "rolled back");

    // The producer that announced 10 loses: another version is announced.
    let e = producer
        .run_cycle(|w| w.add(&dataset::movie(999, 1)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AnnounceConflict, "{e}");

    // Restored, it continues from 7 and mints 11, not 8.
    let mut restarted = Producer::builder(store.clone(), announcer.clone()).build();
    assert_eq!(restarted.restore_latest().await.unwrap(), Some(7));
    let next = catalog(12, 11, 3);
    assert_eq!(publish(&mut restarted, &next).await, Some(11));
    assert_eq!(announcer.announced().await.unwrap(), Some(11));
    let names = store.list().await.unwrap();
    assert!(
        names.contains(&BlobName::Delta { from: 7, to: 11 }),
        "{names:?}"
    );
    assert!(names.contains(&BlobName::ReverseDelta { from: 11, to: 7 }));
    for (name, bytes) in &blobs_8_to_10 {
        assert_eq!(&read(*name).await, bytes, "{name} was rewritten");
    }
    // Consumers at 7 (by the delta 7 → 11) and fresh ones reach 11.
    assert_eq!(consumer.refresh().await.unwrap(), Some(11));
    next.assert_held_by(&consumer.current().unwrap(), "after the rollback");
    let fresh = dataset::consumer(store.clone(), announcer.clone(), &tmp.path().join("f"));
    assert_eq!(fresh.refresh().await.unwrap(), Some(11));
    next.assert_held_by(&fresh.current().unwrap(), "fresh");
    // And the next cycle goes on from 11.
    assert_eq!(publish(&mut restarted, &catalog(12, 12, 3)).await, Some(12));
}

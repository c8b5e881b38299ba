//! Producer and consumer end to end: snapshot intervals, header tags, type
//! filtering, pinning, waiting for a version with auto-refresh, refresh
//! listeners, metrics, the auto-refresh task's lifetime, a local directory
//! store with an announcement file, restoring a producer, deltas of another
//! dataset and unknown blob formats refused, and readers holding a state
//! while the consumer refreshes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{
    Consumer, ErrorKind, FileAnnouncer, FsBlobStore, Producer, ReadState, Record, Value,
};
use hollow_tests::dataset::{self, actor, by_key, by_ordinal, catalog, movie, publish};
use hollow_tests::{Actor, Movie};

fn memory() -> (Arc<MemoryBlobStore>, Arc<InProcessAnnouncer>) {
    (
        Arc::new(MemoryBlobStore::new()),
        Arc::new(InProcessAnnouncer::new()),
    )
}

#[tokio::test]
async fn snapshot_interval_writes_snapshots_every_third_cycle() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone())
        .snapshot_interval(3)
        .build();
    let follower = dataset::consumer(store.clone(), announcer.clone(), &tmp.path().join("f"));
    let mut catalogs = Vec::new();
    for round in 1..=7u64 {
        let c = catalog(40, round, 3);
        assert_eq!(publish(&mut producer, &c).await, Some(round));
        assert_eq!(follower.refresh().await.unwrap(), Some(round));
        c.assert_held_by(&follower.current().unwrap(), "follower");
        catalogs.push(c);
    }
    let names = store.names();
    let snapshots: Vec<u64> = names
        .iter()
        .filter_map(|n| match n {
            BlobName::Snapshot(v) => Some(*v),
            _ => None,
        })
        .collect();
    assert_eq!(snapshots, vec![1, 4, 7]);
    for v in 1..7 {
        assert!(names.contains(&BlobName::Delta { from: v, to: v + 1 }));
        assert!(names.contains(&BlobName::ReverseDelta { from: v + 1, to: v }));
    }
    // A fresh consumer reaches every version, from the nearest snapshot.
    for (i, c) in catalogs.iter().enumerate() {
        let v = i as u64 + 1;
        let fresh = dataset::consumer(
            store.clone(),
            announcer.clone(),
            &tmp.path().join(format!("c{v}")),
        );
        assert_eq!(fresh.refresh_to(v).await.unwrap(), v);
        let state = fresh.current().unwrap();
        c.assert_held_by(&state, "fresh consumer");
        let from_snapshot = state
            .blob_names()
            .iter()
            .any(|n| matches!(n, BlobName::Snapshot(_)));
        assert!(from_snapshot, "{:?}", state.blob_names());
        if ![1, 4, 7].contains(&v) {
            assert!(state.blob_names().len() > 1, "{:?}", state.blob_names());
        }
    }
}

#[tokio::test]
async fn header_tags_are_readable() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone())
        .header_tag("source", "first")
        .header_tag("team", "catalog")
        .header_tag("source", "feed-7")
        .build();
    let consumer = dataset::consumer(store.clone(), announcer.clone(), tmp.path());
    for round in 1..=2 {
        publish(&mut producer, &catalog(5, round, 2)).await.unwrap();
        consumer.refresh().await.unwrap();
        let state = consumer.current().unwrap();
        assert_eq!(state.header_tag("source"), Some("feed-7"));
        assert_eq!(state.header_tag("team"), Some("catalog"));
        assert_eq!(state.header_tag("missing"), None);
        let mut tags = state.header_tags().to_vec();
        tags.sort();
        assert_eq!(
            tags,
            vec![
                ("source".to_string(), "feed-7".to_string()),
                ("team".to_string(), "catalog".to_string())
            ]
        );
    }
}

#[tokio::test]
async fn a_consumer_of_one_type_holds_no_other() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let movies_only = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(tmp.path().join("m"))
        .record_type::<Movie>()
        .build()
        .unwrap();
    // Round 2 only adds actors; the others change, add and remove actors as
    // well as movies.
    let mut rounds = vec![catalog(10, 1, 2)];
    let mut more_actors = catalog(10, 1, 2);
    more_actors
        .actors
        .extend((100..104).map(|id| (id, actor(id, 2))));
    rounds.push(more_actors);
    rounds.extend([catalog(14, 3, 2), catalog(6, 4, 2), catalog(8, 5, 2)]);
    for (c, round) in rounds.iter().zip(1u64..) {
        publish(&mut producer, c).await.unwrap();
        movies_only
            .refresh()
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let state = movies_only.current().unwrap();
        assert_eq!(state.version(), round);
        assert_eq!(by_key::<Movie>(&state), c.movies, "round {round}");
        assert_eq!(state.records::<Actor>().len(), 0, "round {round}");
        assert_eq!(state.records::<Actor>().iter().count(), 0, "round {round}");
        assert_eq!(state.count("Actor"), 0, "round {round}");
        assert_eq!(
            state.type_names().collect::<Vec<_>>(),
            vec!["Movie"],
            "round {round}"
        );
        if round > 1 {
            // Followed by the delta, not by reloading a snapshot.
            assert_eq!(
                state.blob_names().last(),
                Some(&BlobName::Delta {
                    from: round - 1,
                    to: round
                }),
                "round {round}"
            );
        }
    }
    assert_eq!(movies_only.metrics().failures, 0);
}

#[tokio::test]
async fn pinning_holds_a_version_until_unpinned() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let consumer = dataset::consumer(store.clone(), announcer.clone(), tmp.path());
    let mut catalogs = Vec::new();
    for round in 1..=3 {
        let c = catalog(8, round, 2);
        publish(&mut producer, &c).await.unwrap();
        catalogs.push(c);
    }
    consumer.pin(Some(2));
    assert_eq!(consumer.refresh().await.unwrap(), Some(2));
    catalogs[1].assert_held_by(&consumer.current().unwrap(), "pinned to 2");
    // Still pinned after another announcement.
    let c = catalog(8, 4, 2);
    publish(&mut producer, &c).await.unwrap();
    catalogs.push(c);
    assert_eq!(consumer.refresh().await.unwrap(), Some(2));
    assert_eq!(consumer.metrics().announced_version, Some(4));
    // Pinned to an older version: goes back.
    consumer.pin(Some(1));
    assert_eq!(consumer.refresh().await.unwrap(), Some(1));
    catalogs[0].assert_held_by(&consumer.current().unwrap(), "pinned to 1");
    consumer.pin(None);
    assert_eq!(consumer.refresh().await.unwrap(), Some(4));
    catalogs[3].assert_held_by(&consumer.current().unwrap(), "unpinned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_version_with_auto_refresh() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let mut consumer = dataset::consumer(store.clone(), announcer.clone(), tmp.path());
    consumer.start_auto_refresh();
    consumer.start_auto_refresh(); // a second call is a no-op
    for round in 1..=3 {
        let c = catalog(12, round, 3);
        publish(&mut producer, &c).await.unwrap();
        let state = consumer
            .wait_for_version(round, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(state.version() >= round);
        if state.version() == round {
            c.assert_held_by(&state, "auto-refreshed");
        }
    }
    let e = consumer
        .wait_for_version(99, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let msg = e.to_string();
    assert!(msg.contains("99"), "{msg}");
    // Without auto-refresh, nothing moves the consumer: a timeout as well.
    let idle = dataset::consumer(store.clone(), announcer.clone(), &tmp.path().join("idle"));
    let e = idle
        .wait_for_version(1, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn listeners_and_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let consumer = dataset::consumer(store.clone(), announcer.clone(), tmp.path());
    let m = consumer.metrics();
    assert_eq!(m.current_version, None);
    assert_eq!(m.announced_version, None);
    assert_eq!((m.refreshes, m.failures), (0, 0));
    assert_eq!(consumer.refresh().await.unwrap(), None);

    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    consumer.on_refresh(move |state: &ReadState| {
        s.lock()
            .unwrap()
            .push((state.version(), state.records::<Movie>().len()));
    });
    for round in 1..=3 {
        publish(&mut producer, &catalog(6 + round, round, 2))
            .await
            .unwrap();
        consumer.refresh().await.unwrap();
        // A refresh with nothing new calls no listener.
        consumer.refresh().await.unwrap();
    }
    assert_eq!(*seen.lock().unwrap(), vec![(1, 7), (2, 8), (3, 9)]);
    let m = consumer.metrics();
    assert_eq!(m.current_version, Some(3));
    assert_eq!(m.announced_version, Some(3));
    assert_eq!(m.refreshes, 3);
    assert_eq!(m.failures, 0);
    assert!(m.last_refresh > Duration::ZERO, "{m:?}");
    assert!(m.last_refresh < Duration::from_secs(10), "{m:?}");
    // Going back counts as a refresh too.
    consumer.refresh_to(1).await.unwrap();
    assert_eq!(consumer.metrics().refreshes, 4);
    assert_eq!(seen.lock().unwrap().last(), Some(&(1, 7)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_refresh_stops_when_the_consumer_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    publish(&mut producer, &catalog(4, 1, 2)).await.unwrap();
    let before = Arc::strong_count(&announcer);
    let calls = Arc::new(AtomicUsize::new(0));
    {
        let mut consumer = dataset::consumer(store.clone(), announcer.clone(), tmp.path());
        let c = calls.clone();
        consumer.on_refresh(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        });
        consumer.start_auto_refresh();
        consumer
            .wait_for_version(1, Duration::from_secs(10))
            .await
            .unwrap();
        assert!(Arc::strong_count(&announcer) > before);
        assert_eq!(Arc::strong_count(&calls), 2);
    }
    // The task is aborted: its handle on the watcher goes, and the consumer's
    // state (listeners included) is freed.
    let mut waited = 0;
    while Arc::strong_count(&announcer) != before || Arc::strong_count(&calls) != 1 {
        assert!(
            waited < 200,
            "auto-refresh task still alive: {} handles on the announcer (was {before}), {} on the listener's counter",
            Arc::strong_count(&announcer),
            Arc::strong_count(&calls)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    let n = calls.load(Ordering::SeqCst);
    publish(&mut producer, &catalog(4, 2, 2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(calls.load(Ordering::SeqCst), n, "refreshed after drop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_store_and_announcement_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = Arc::new(FsBlobStore::new(&dir).unwrap());
    let announcer = Arc::new(
        FileAnnouncer::new(&dir)
            .unwrap()
            .with_poll_interval(Duration::from_millis(10)),
    );
    let mut producer = Producer::builder(store.clone(), announcer.clone())
        .header_tag("store", "fs")
        .build();
    let mut consumer = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(tmp.path().join("cache"))
        .build()
        .unwrap();
    consumer.start_auto_refresh();
    for round in 1..=4 {
        let c = catalog(30, round, 4);
        assert_eq!(publish(&mut producer, &c).await, Some(round));
        let state = consumer
            .wait_for_version(round, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(state.version(), round);
        c.assert_held_by(&state, "fs consumer");
        assert_eq!(state.header_tag("store"), Some("fs"));
    }
    // Blobs stored compressed (the producer's default), cached plain.
    for name in [
        "snapshot-1.zst",
        "delta-3-4.zst",
        "reversedelta-4-3.zst",
        "announced.version",
    ] {
        assert!(dir.join(name).is_file(), "{name} missing from the store");
    }
    assert!(tmp.path().join("cache").join("delta-3-4").is_file());
    // A second consumer, started later, loads the latest version.
    let late = dataset::consumer(store.clone(), announcer.clone(), &tmp.path().join("late"));
    assert_eq!(late.refresh().await.unwrap(), Some(4));
    catalog(30, 4, 4).assert_held_by(&late.current().unwrap(), "late consumer");
}

#[tokio::test]
async fn a_restored_producer_writes_a_small_delta() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let follower = dataset::consumer(store.clone(), announcer.clone(), &tmp.path().join("f"));
    {
        let mut first = Producer::builder(store.clone(), announcer.clone()).build();
        for round in 1..=2 {
            publish(&mut first, &catalog(300, round, 7)).await.unwrap();
            follower.refresh().await.unwrap();
        }
    }
    let before = follower.current().unwrap();
    let ordinals_before = by_ordinal::<Movie>(&before);

    let mut second = Producer::builder(store.clone(), announcer.clone()).build();
    assert_eq!(second.restore_latest().await.unwrap(), Some(2));
    assert_eq!(second.announced(), Some(2));
    catalog(300, 2, 7).assert_held_by(second.read_state().unwrap(), "restored producer");
    // The same data: no new version.
    assert_eq!(publish(&mut second, &catalog(300, 2, 7)).await, None);
    // One movie changed.
    let mut c = catalog(300, 2, 7);
    c.movies.insert(5, movie(5, 12345));
    let outcome = second
        .run_cycle(|w| {
            c.movies.values().try_for_each(|m| w.add(m))?;
            c.actors.values().try_for_each(|a| w.add(a))
        })
        .await
        .unwrap();
    assert_eq!(outcome.version, Some(3));
    let size = |name: BlobName| {
        outcome
            .blobs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
            .unwrap_or_else(|| panic!("{name} not written: {:?}", outcome.blobs))
    };
    let delta = size(BlobName::Delta { from: 2, to: 3 });
    let snapshot = size(BlobName::Snapshot(3));
    assert!(
        delta * 10 < snapshot,
        "delta-2-3 is {delta} bytes, the snapshot {snapshot}"
    );
    assert_eq!(
        store.get(BlobName::Delta { from: 2, to: 3 }).unwrap().len() as u64,
        delta
    );
    let movie_changes = outcome.changes.iter().find(|(t, ..)| t == "Movie");
    assert_eq!(movie_changes, Some(&("Movie".to_string(), 1, 1)));
    // The follower applies it; unchanged records keep their ordinals.
    assert_eq!(follower.refresh().await.unwrap(), Some(3));
    let after = follower.current().unwrap();
    assert_eq!(
        after.blob_names().last(),
        Some(&BlobName::Delta { from: 2, to: 3 })
    );
    c.assert_held_by(&after, "follower after the restored producer's delta");
    let ordinals_after = by_ordinal::<Movie>(&after);
    for (o, m) in &ordinals_before {
        if m.id != 5 {
            assert_eq!(ordinals_after.get(o), Some(m), "ordinal {o}");
        }
    }
    // And a reverse delta back to what the first producer published.
    follower.refresh_to(2).await.unwrap();
    assert_eq!(
        by_ordinal::<Movie>(&follower.current().unwrap()),
        ordinals_before
    );
}

#[tokio::test]
async fn a_delta_of_another_dataset_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (store_a, announcer_a) = memory();
    let (store_b, announcer_b) = memory();
    let mut a = Producer::builder(store_a.clone(), announcer_a.clone()).build();
    let mut b = Producer::builder(store_b.clone(), announcer_b.clone()).build();
    let a1 = catalog(20, 1, 2);
    let a2 = catalog(20, 2, 2);
    // B: the same keys, other values, so a wrong delta would show.
    let b1 = catalog(20, 1, 3);
    let b2 = catalog(20, 7, 3);
    publish(&mut a, &a1).await.unwrap();
    publish(&mut b, &b1).await.unwrap();
    let consumer = dataset::consumer(store_a.clone(), announcer_a.clone(), &tmp.path().join("c"));
    consumer.refresh().await.unwrap();
    let held = consumer.current().unwrap();
    publish(&mut a, &a2).await.unwrap();
    publish(&mut b, &b2).await.unwrap();
    let d12 = BlobName::Delta { from: 1, to: 2 };
    let foreign = store_b.get(d12).unwrap();
    assert!(store_a.corrupt(d12, |bytes| *bytes = foreign.clone()));

    // The delta is refused; the consumer plans around it via snapshot-2.
    assert_eq!(consumer.refresh().await.unwrap(), Some(2));
    let state = consumer.current().unwrap();
    a2.assert_held_by(&state, "consumer of A");
    assert_eq!(state.blob_names(), vec![BlobName::Snapshot(2)]);
    assert!(consumer.metrics().failures >= 1);
    a1.assert_held_by(&held, "a handle on version 1");

    // With no snapshot to fall back on, refreshing fails naming the blob,
    // and the consumer keeps its version.
    let other = dataset::consumer(store_a.clone(), announcer_a.clone(), &tmp.path().join("o"));
    other.refresh_to(1).await.unwrap();
    store_a.remove(BlobName::Snapshot(2));
    let e = other.refresh().await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("delta-1-2"), "{msg}");
    assert_eq!(other.version(), Some(1));
    a1.assert_held_by(
        &other.current().unwrap(),
        "consumer after the refused delta",
    );
    // A delta refused by tag, applied directly, is a WrongState error.
    let fresh = dataset::consumer(store_a.clone(), announcer_a.clone(), &tmp.path().join("x"));
    fresh.refresh_to(1).await.unwrap();
    let e = fresh.refresh_to(2).await.unwrap_err();
    let mut kinds = vec![e.kind()];
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(s) = src {
        if let Some(h) = s.downcast_ref::<hollow_runtime::Error>() {
            kinds.push(h.kind());
        }
        src = s.source();
    }
    assert!(kinds.contains(&ErrorKind::WrongState), "{kinds:?}: {e}");
    a1.assert_held_by(&fresh.current().unwrap(), "fresh consumer after refusal");
}

#[tokio::test]
async fn an_unknown_blob_format_version_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    publish(&mut producer, &catalog(5, 1, 2)).await.unwrap();
    let name = BlobName::Snapshot(1);
    assert!(store.corrupt(name, |b| {
        b[8..12].copy_from_slice(&99u32.to_le_bytes());
        // Recompute the trailing checksum, so the version check is what
        // refuses the blob.
        let n = b.len() - 16;
        let h = hollow_runtime::hash_bytes(&b[..n]);
        b[n..n + 8].copy_from_slice(&h.to_le_bytes());
    }));
    let consumer = dataset::consumer(store.clone(), announcer.clone(), tmp.path());
    let e = consumer.refresh().await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("snapshot-1"), "{msg}");
    assert!(msg.contains("format version 99"), "{msg}");
    assert!(!msg.contains("checksum"), "{msg}");
    assert_eq!(consumer.version(), None);
    let m = consumer.metrics();
    assert!(m.failures >= 1, "{m:?}");
}

/// A checksum of every record of a state, computed the slow way: the sum of
/// the hashes of the owned values' debug text.
fn slow_checksum(state: &ReadState) -> u64 {
    let mut sum = 0u64;
    for (o, r) in state.records::<Movie>().iter() {
        let v = Movie::from_ref(r).unwrap();
        let text = format!("{o} {v:?}");
        sum = sum.wrapping_add(hollow_runtime::hash_bytes(text.as_bytes()));
    }
    for (o, r) in state.records::<Actor>().iter() {
        let v = r.to_value().unwrap();
        let text = format!("{o} {v:?} {}", Actor::primary_key_ref(&r));
        sum = sum.wrapping_add(hollow_runtime::hash_bytes(text.as_bytes()));
    }
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_states_never_change_while_refreshing() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let consumer = Arc::new(dataset::consumer(
        store.clone(),
        announcer.clone(),
        tmp.path(),
    ));
    publish(&mut producer, &catalog(200, 0, 3)).await.unwrap();
    consumer.refresh().await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    // Expected checksum of each version, computed once by the main task.
    let expected: Arc<Mutex<BTreeMap<u64, u64>>> = Arc::default();
    let first = consumer.current().unwrap();
    expected
        .lock()
        .unwrap()
        .insert(first.version(), slow_checksum(&first));
    let mut threads = Vec::new();
    let mut spawn_holder = |state: Arc<ReadState>| {
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            let want = slow_checksum(&state);
            let fast = state.checksum("Movie");
            let mut rounds = 0u64;
            while rounds < 3 || !stop.load(Ordering::SeqCst) {
                assert_eq!(slow_checksum(&state), want, "version {}", state.version());
                assert_eq!(state.checksum("Movie"), fast);
                rounds += 1;
            }
            (state.version(), want, rounds)
        }));
    };
    for _ in 0..3 {
        spawn_holder(consumer.current().unwrap());
    }
    // A thread taking a fresh handle each time: it must see some whole
    // version.
    let reader = {
        let (stop, consumer, expected) = (stop.clone(), consumer.clone(), expected.clone());
        std::thread::spawn(move || {
            let mut seen = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let s = consumer.current().unwrap();
                let sum = slow_checksum(&s);
                // The main task records a version's checksum right after the
                // refresh; wait for it if this thread got there first.
                loop {
                    if let Some(&want) = expected.lock().unwrap().get(&s.version()) {
                        assert_eq!(sum, want, "version {} torn", s.version());
                        break;
                    }
                    std::thread::yield_now();
                }
                seen += 1;
            }
            seen
        })
    };
    for round in 1..=10u64 {
        let c = catalog(200 + round * 3, round, 3);
        publish(&mut producer, &c).await.unwrap();
        consumer.refresh().await.unwrap();
        let state = consumer.current().unwrap();
        c.assert_held_by(&state, "consumer");
        expected
            .lock()
            .unwrap()
            .insert(state.version(), slow_checksum(&state));
        spawn_holder(state);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let expected = expected.lock().unwrap().clone();
    let mut versions = Vec::new();
    for t in threads {
        let (v, sum, rounds) = t.join().unwrap();
        assert!(rounds >= 3);
        assert_eq!(expected.get(&v), Some(&sum), "version {v}");
        versions.push(v);
    }
    versions.dedup();
    assert_eq!(versions, (1..=11).collect::<Vec<_>>());
    assert!(reader.join().unwrap() >= 1);
}

/// Consumers built without a cache directory each get their own: two
/// consumers of two datasets must never read each other's cached blobs.
#[tokio::test]
async fn default_cache_directories_are_not_shared() {
    let (store_a, announcer_a) = memory();
    let (store_b, announcer_b) = memory();
    let a1 = catalog(6, 1, 2);
    let b1 = catalog(9, 5, 3);
    let mut pa = Producer::builder(store_a.clone(), announcer_a.clone()).build();
    let mut pb = Producer::builder(store_b.clone(), announcer_b.clone()).build();
    publish(&mut pa, &a1).await.unwrap();
    publish(&mut pb, &b1).await.unwrap();
    let build = |store: Arc<MemoryBlobStore>, announcer: Arc<InProcessAnnouncer>| {
        Consumer::builder(store, announcer).build().unwrap()
    };
    let ca = build(store_a.clone(), announcer_a.clone());
    let cb = build(store_b.clone(), announcer_b.clone());
    // Clean up the default directories whatever happens.
    let _guard = RemoveOnDrop(vec![
        ca.cache_dir().to_path_buf(),
        cb.cache_dir().to_path_buf(),
    ]);
    assert_ne!(
        ca.cache_dir(),
        cb.cache_dir(),
        "two consumers share a cache directory"
    );
    // Many in a row, from the same place in the code.
    let mut seen = std::collections::BTreeSet::new();
    let mut alive = Vec::new();
    let mut _guards = Vec::new();
    for i in 0..200 {
        let c = build(store_a.clone(), announcer_a.clone());
        let dir = c.cache_dir().to_path_buf();
        _guards.push(RemoveOnDrop(vec![dir.clone()]));
        assert!(
            seen.insert(dir.clone()),
            "consumer {i} shares {} with another",
            dir.display()
        );
        alive.push(c);
    }
    ca.refresh().await.unwrap();
    cb.refresh().await.unwrap();
    a1.assert_held_by(&ca.current().unwrap(), "consumer of A");
    b1.assert_held_by(&cb.current().unwrap(), "consumer of B");
}

struct RemoveOnDrop(Vec<std::path::PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for d in &self.0 {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// The blobs in a consumer's cache directory, sorted.
fn cached(dir: &std::path::Path) -> Vec<BlobName> {
    let mut names: Vec<BlobName> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    names.sort();
    names
}

/// A consumer that follows versions keeps in its cache only the blobs of
/// the version it holds and of states still read: after a rewrite, and
/// after a newer snapshot, the deltas it applied are gone once no state
/// reads them. With pruning off they all stay.
#[tokio::test]
async fn the_cache_holds_only_what_the_current_version_reads() {
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let tmp = tempfile::tempdir().unwrap();
    let pruned = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(tmp.path().join("pruned"))
        .build()
        .unwrap();
    let kept = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(tmp.path().join("kept"))
        .prune_cache(false)
        .build()
        .unwrap();
    let mut last = catalog(40, 1, 3);
    for round in 1..=4 {
        last = catalog(40, round, 3);
        publish(&mut producer, &last).await.unwrap();
        pruned.refresh().await.unwrap();
        kept.refresh().await.unwrap();
    }
    let held = pruned.current().unwrap();
    assert_eq!(held.blob_names().len(), 4, "{:?}", held.blob_names());
    let mut expected = held.blob_names();
    expected.sort();
    assert_eq!(cached(pruned.cache_dir()), expected);
    // The rewrite reads no cached blob, but a reader still holds the
    // version read from them: they stay while it does (another consumer
    // sharing the directory could be that reader).
    assert!(pruned.reclaim().await.unwrap());
    assert_eq!(cached(pruned.cache_dir()), expected);
    last.assert_held_by(&pruned.current().unwrap(), "rewritten consumer");
    last.assert_held_by(&held, "state held across the pruning");
    drop(held);
    // The next delta is fetched, applied and kept while it is read; the
    // blobs no one reads any more go.
    let next = catalog(40, 5, 3);
    publish(&mut producer, &next).await.unwrap();
    pruned.refresh().await.unwrap();
    assert_eq!(
        cached(pruned.cache_dir()),
        vec![BlobName::Delta { from: 4, to: 5 }]
    );
    next.assert_held_by(&pruned.current().unwrap(), "pruned consumer");
    kept.refresh().await.unwrap();
    assert_eq!(
        cached(kept.cache_dir()).len(),
        5,
        "{:?}",
        cached(kept.cache_dir())
    );
}

//! Failures: a store failing mid-publish, validators refusing a version, a
//! duplicate primary key, a failing populate closure (each rolled back,
//! nothing announced, the next cycle fine), and corrupt or truncated deltas
//! (the consumer plans around them or fails naming the blob, keeps serving
//! its version, and holds exactly the right data afterwards).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hollow_runtime::producer::{
    RecordCountVariance, ValidationContext, ValidationError, Validator,
};
use hollow_runtime::store::{
    Announcer, BlobName, BlobStore, InProcessAnnouncer, MemoryBlobStore, StoreError, StoreErrorKind,
};
use hollow_runtime::{Consumer, Error, ErrorKind, Producer};
use hollow_tests::dataset::{self, actor, by_key, movie, Catalog};
use hollow_tests::intercept::{Intercept, Intercepted};
use hollow_tests::Movie;

fn memory() -> (Arc<MemoryBlobStore>, Arc<InProcessAnnouncer>) {
    (
        Arc::new(MemoryBlobStore::new()),
        Arc::new(InProcessAnnouncer::new()),
    )
}

/// `n` movies and `n / 3` actors; movies with ids divisible by 4 depend on
/// `round`.
fn catalog(n: u64, round: u64) -> Catalog {
    Catalog {
        movies: (1..=n)
            .map(|id| (id, movie(id, if id.is_multiple_of(4) { round } else { 0 })))
            .collect(),
        actors: (1..=n / 3).map(|id| (id, actor(id, 0))).collect(),
    }
}

async fn try_publish(
    producer: &mut Producer,
    c: &Catalog,
) -> Result<hollow_runtime::CycleOutcome, Error> {
    producer
        .run_cycle(|w| {
            c.movies.values().try_for_each(|m| w.add(m))?;
            c.actors.values().try_for_each(|a| w.add(a))
        })
        .await
}

async fn publish(producer: &mut Producer, c: &Catalog) -> u64 {
    try_publish(producer, c)
        .await
        .unwrap()
        .version
        .expect("a new version")
}

/// Checks what a fresh consumer loading `version` holds.
async fn check_fresh(store: Arc<dyn BlobStore>, dir: &Path, version: u64, c: &Catalog) {
    let fresh = dataset::consumer(store, Arc::new(InProcessAnnouncer::new()), dir);
    assert_eq!(fresh.refresh_to(version).await.unwrap(), version);
    c.assert_held_by(&fresh.current().unwrap(), "fresh consumer");
}

/// A store failing chosen calls to `put` (counted from 1 across the store's
/// life), over a [`MemoryBlobStore`].
#[derive(Debug, Default)]
struct FlakyStore {
    inner: MemoryBlobStore,
    puts: AtomicUsize,
    fail: Mutex<Vec<usize>>,
}

impl FlakyStore {
    /// Fails the `k`-th of the next puts (1: the next one).
    fn fail_put(&self, k: usize) {
        let n = self.puts.load(Ordering::SeqCst);
        self.fail.lock().unwrap().push(n + k);
    }
}

impl Intercept for FlakyStore {
    fn inner(&self) -> &MemoryBlobStore {
        &self.inner
    }
    fn describe(&self) -> String {
        "flaky memory".into()
    }
    fn before_put(&self, name: BlobName) -> Result<(), StoreError> {
        let n = self.puts.fetch_add(1, Ordering::SeqCst) + 1;
        if self.fail.lock().unwrap().contains(&n) {
            return Err(StoreError::new(
                StoreErrorKind::Io,
                format!("put {n} of {name}: injected failure"),
            ));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_store_failing_mid_publish_announces_nothing() {
    for failing in [1, 2, 3] {
        let tmp = tempfile::tempdir().unwrap();
        let (store, announcer) = memory();
        let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
        let consumer = dataset::consumer(store.clone(), announcer.clone(), &tmp.path().join("c"));
        let c1 = catalog(30, 1);
        publish(&mut producer, &c1).await;
        consumer.refresh().await.unwrap();
        let names = store.names();

        store.fail_next_puts(failing);
        let c2 = catalog(32, 2);
        let e = try_publish(&mut producer, &c2).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Store, "{e}");
        let msg = e.to_string();
        assert!(msg.contains("version 2"), "{msg}");
        assert!(msg.contains("snapshot-2"), "{msg}");
        assert!(msg.contains("injected failure"), "{msg}");
        assert_eq!(announcer.announced().await.unwrap(), Some(1));
        assert_eq!(producer.announced(), Some(1));
        assert_eq!(store.names(), names, "{failing} failing puts");
        assert_eq!(consumer.refresh().await.unwrap(), Some(1));
        c1.assert_held_by(&consumer.current().unwrap(), "consumer");
        store.fail_next_puts(0);

        // The next cycle publishes the same change as version 2.
        assert_eq!(publish(&mut producer, &c2).await, 2);
        assert_eq!(consumer.refresh().await.unwrap(), Some(2));
        let state = consumer.current().unwrap();
        assert_eq!(
            state.blob_names().last(),
            Some(&BlobName::Delta { from: 1, to: 2 })
        );
        c2.assert_held_by(&state, "consumer");
        check_fresh(store.clone(), &tmp.path().join("f2"), 2, &c2).await;
        let c3 = catalog(20, 3);
        assert_eq!(publish(&mut producer, &c3).await, 3);
        assert_eq!(consumer.refresh().await.unwrap(), Some(3));
        c3.assert_held_by(&consumer.current().unwrap(), "consumer");
        consumer.refresh_to(1).await.unwrap();
        c1.assert_held_by(&consumer.current().unwrap(), "consumer back at 1");
    }
}

/// A store that lost a put after an earlier put of the same cycle went
/// through: the blob left behind must not be served as a later version.
#[tokio::test]
async fn a_partial_publish_then_a_restored_producer() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(Intercepted(FlakyStore::default()));
    let announcer = Arc::new(InProcessAnnouncer::new());
    let mut first = Producer::builder(store.clone(), announcer.clone())
        .snapshot_interval(3)
        .build();
    for round in 1..=3 {
        publish(&mut first, &catalog(12, round)).await;
    }
    // Cycle 4 is due a snapshot: snapshot-4 is stored, delta-3-4 fails.
    store.fail_put(2);
    let lost = catalog(12, 99);
    let e = try_publish(&mut first, &lost).await.unwrap_err();
    assert!(e.to_string().contains("delta-3-4"), "{e}");
    assert!(store.inner.get(BlobName::Snapshot(4)).is_some());
    drop(first);

    // A new producer takes over and publishes other data as version 5:
    // never as 4, whose leftover snapshot is in the store.
    let mut second = Producer::builder(store.clone(), announcer.clone())
        .snapshot_interval(3)
        .build();
    assert_eq!(second.restore_latest().await.unwrap(), Some(3));
    let c4 = catalog(14, 4);
    assert_eq!(publish(&mut second, &c4).await, 5);
    check_fresh(store.clone(), &tmp.path().join("f4"), 5, &c4).await;
    let c5 = catalog(14, 5);
    assert_eq!(publish(&mut second, &c5).await, 6);
    check_fresh(store.clone(), &tmp.path().join("f5"), 6, &c5).await;
}

/// A version minter that skips numbers: a cycle failing after its delta was
/// stored leaves a delta to a version never announced, beside the delta to
/// the version that is.
#[tokio::test]
async fn orphan_deltas_of_failed_cycles_do_not_block_refreshes() {
    let tmp = tempfile::tempdir().unwrap();
    // Several stores, because which of two deltas from one version a planner
    // meets first may depend on hashing.
    for attempt in 0..4 {
        let store = Arc::new(Intercepted(FlakyStore::default()));
        let announcer = Arc::new(InProcessAnnouncer::new());
        let mut next = 0;
        let mut producer = Producer::builder(store.clone(), announcer.clone())
            .snapshot_interval(10)
            .version_minter(move |_| {
                next += 10;
                next
            })
            .build();
        let consumer = dataset::consumer(
            store.clone(),
            announcer.clone(),
            &tmp.path().join(format!("c{attempt}")),
        );
        assert_eq!(publish(&mut producer, &catalog(9, 1)).await, 10);
        consumer.refresh().await.unwrap();
        // Three cycles store their delta, then fail on the reverse delta.
        for _ in 0..3 {
            store.fail_put(2);
            try_publish(&mut producer, &catalog(9, 2))
                .await
                .unwrap_err();
        }
        let c = catalog(9, 2);
        assert_eq!(publish(&mut producer, &c).await, 50);
        let names = store.inner.names();
        for to in [20, 30, 40, 50] {
            assert!(
                names.contains(&BlobName::Delta { from: 10, to }),
                "{names:?}"
            );
        }
        assert_eq!(
            consumer
                .refresh()
                .await
                .unwrap_or_else(|e| panic!("attempt {attempt}: {e}")),
            Some(50)
        );
        c.assert_held_by(&consumer.current().unwrap(), "consumer");
        consumer.refresh_to(10).await.unwrap();
        catalog(9, 1).assert_held_by(&consumer.current().unwrap(), "back at 10");
        let fresh = dataset::consumer(
            store.clone(),
            announcer.clone(),
            &tmp.path().join(format!("f{attempt}")),
        );
        assert_eq!(fresh.refresh().await.unwrap(), Some(50));
        c.assert_held_by(&fresh.current().unwrap(), "fresh consumer");
    }
}

struct Toggle {
    refuse: Arc<AtomicBool>,
    calls: Arc<AtomicUsize>,
}

impl Validator for Toggle {
    fn name(&self) -> &str {
        "toggle"
    }
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            ctx.previous.map(|p| p.version()),
            ctx.version.checked_sub(1).filter(|&v| v > 0)
        );
        if self.refuse.load(Ordering::SeqCst) {
            Err(format!(
                "{} movies is not what I want",
                ctx.next.records::<Movie>().len()
            )
            .into())
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_failing_validator_rolls_the_cycle_back() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let refuse = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut producer = Producer::builder(store.clone(), announcer.clone())
        .validator(Toggle {
            refuse: refuse.clone(),
            calls: calls.clone(),
        })
        .build();
    let consumer = dataset::consumer(store.clone(), announcer.clone(), tmp.path());
    let c1 = catalog(10, 1);
    publish(&mut producer, &c1).await;
    let names = store.names();

    refuse.store(true, Ordering::SeqCst);
    let e = try_publish(&mut producer, &catalog(11, 2))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    let msg = e.to_string();
    assert!(msg.contains("toggle"), "{msg}");
    assert!(msg.contains("version 2"), "{msg}");
    assert!(msg.contains("11 movies is not what I want"), "{msg}");
    assert_eq!(announcer.announced().await.unwrap(), Some(1));
    assert_eq!(store.names(), names);
    assert_eq!(consumer.refresh().await.unwrap(), Some(1));

    refuse.store(false, Ordering::SeqCst);
    let c2 = catalog(12, 2);
    assert_eq!(publish(&mut producer, &c2).await, 2);
    assert_eq!(consumer.refresh().await.unwrap(), Some(2));
    c2.assert_held_by(&consumer.current().unwrap(), "consumer");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn record_count_variance_refuses_a_sudden_drop() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone())
        .validator(RecordCountVariance::new("Movie", 10.0))
        .build();
    let consumer = dataset::consumer(store.clone(), announcer.clone(), tmp.path());
    publish(&mut producer, &catalog(100, 1)).await;
    // Half the movies gone: refused.
    let e = try_publish(&mut producer, &catalog(50, 1))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    let msg = e.to_string();
    assert!(msg.contains("record-count-variance"), "{msg}");
    assert!(msg.contains("Movie records went from 100 to 50"), "{msg}");
    assert_eq!(announcer.announced().await.unwrap(), Some(1));
    // A gain of 60 %: refused too.
    try_publish(&mut producer, &catalog(160, 1))
        .await
        .unwrap_err();
    // Within 10 %: fine.
    let c = catalog(93, 2);
    assert_eq!(publish(&mut producer, &c).await, 2);
    consumer.refresh().await.unwrap();
    c.assert_held_by(&consumer.current().unwrap(), "consumer");
}

#[tokio::test]
async fn two_records_with_one_primary_key_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let c1 = catalog(10, 1);
    publish(&mut producer, &c1).await;
    for first_cycle_too in [false, true] {
        let mut m = movie(7, 1);
        m.title = "Another Seven".into();
        let c = catalog(10, 2);
        let e = producer
            .run_cycle(|w| {
                c.movies.values().try_for_each(|m| w.add(m))?;
                w.add(&m)
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Record);
        let msg = e.to_string();
        assert!(msg.contains("Movie"), "{msg}");
        assert!(msg.contains('7'), "{msg}");
        assert_eq!(announcer.announced().await.unwrap(), Some(1));
        if first_cycle_too {
            // In a producer's very first cycle as well.
            let (s, a) = memory();
            let mut fresh = Producer::builder(s.clone(), a.clone()).build();
            let e = fresh
                .run_cycle(|w| {
                    w.add(&actor(3, 1))?;
                    w.add(&actor(3, 2))
                })
                .await
                .unwrap_err();
            assert!(e.to_string().contains("Actor"), "{e}");
            assert!(e.to_string().contains('3'), "{e}");
            assert_eq!(a.announced().await.unwrap(), None);
            assert!(s.names().is_empty());
        }
    }
    let c2 = catalog(10, 2);
    assert_eq!(publish(&mut producer, &c2).await, 2);
    let consumer = dataset::consumer(store.clone(), announcer.clone(), tmp.path());
    consumer.refresh().await.unwrap();
    c2.assert_held_by(&consumer.current().unwrap(), "consumer");
}

#[tokio::test]
async fn a_failing_populate_closure_rolls_back() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let consumer = dataset::consumer(store.clone(), announcer.clone(), tmp.path());
    let c1 = catalog(10, 1);
    publish(&mut producer, &c1).await;
    let names = store.names();
    let e = producer
        .run_cycle(|w| {
            w.add(&movie(999, 1))?;
            c1.movies.values().try_for_each(|m| w.add(m))?;
            Err(Error::new(ErrorKind::Store, "the feed went away"))
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Populate);
    assert!(e.to_string().contains("the feed went away"), "{e}");
    let e = producer
        .run_incremental(|w| {
            w.upsert(&movie(998, 1))?;
            w.delete::<Movie>(&1)?;
            Err(Error::new(ErrorKind::Store, "the change feed went away"))
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Populate);
    assert!(e.to_string().contains("the change feed went away"), "{e}");
    assert_eq!(announcer.announced().await.unwrap(), Some(1));
    assert_eq!(store.names(), names);
    // Nothing of the failed cycles is left: the same data is no change...
    assert_eq!(try_publish(&mut producer, &c1).await.unwrap().version, None);
    // ...and an incremental cycle works from version 1.
    let outcome = producer
        .run_incremental(|w| w.upsert(&movie(11, 5)))
        .await
        .unwrap();
    assert_eq!(outcome.version, Some(2));
    let mut c2 = c1.clone();
    c2.movies.insert(11, movie(11, 5));
    consumer.refresh().await.unwrap();
    let state = consumer.current().unwrap();
    c2.assert_held_by(&state, "consumer");
    assert!(!by_key::<Movie>(&state).contains_key(&999));
}

/// How a delta is damaged.
#[derive(Clone, Copy, Debug)]
enum Damage {
    BitFlip,
    Truncate,
}

impl Damage {
    fn apply(self, bytes: &mut Vec<u8>) {
        match self {
            Damage::BitFlip => {
                let at = bytes.len() / 2;
                bytes[at] ^= 0x10;
            }
            Damage::Truncate => bytes.truncate(bytes.len() * 2 / 3),
        }
    }
}

async fn setup_damaged(
    damage: Damage,
    dir: &Path,
) -> (
    Arc<MemoryBlobStore>,
    Arc<InProcessAnnouncer>,
    Producer,
    Consumer,
    [Catalog; 2],
    Vec<u8>,
) {
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let consumer = dataset::consumer(store.clone(), announcer.clone(), dir);
    let c1 = catalog(40, 1);
    let c2 = catalog(40, 2);
    publish(&mut producer, &c1).await;
    consumer.refresh().await.unwrap();
    publish(&mut producer, &c2).await;
    let d12 = BlobName::Delta { from: 1, to: 2 };
    let good = store.get(d12).unwrap();
    assert!(store.corrupt(d12, |b| damage.apply(b)));
    (store, announcer, producer, consumer, [c1, c2], good)
}

#[tokio::test]
async fn a_damaged_delta_is_planned_around() {
    for damage in [Damage::BitFlip, Damage::Truncate] {
        let tmp = tempfile::tempdir().unwrap();
        let (_store, _announcer, _producer, consumer, [c1, c2], _) =
            setup_damaged(damage, tmp.path()).await;
        let held = consumer.current().unwrap();
        // snapshot-2 is there: the consumer loads it instead.
        assert_eq!(consumer.refresh().await.unwrap(), Some(2), "{damage:?}");
        let state = consumer.current().unwrap();
        assert_eq!(
            state.blob_names(),
            vec![BlobName::Snapshot(2)],
            "{damage:?}"
        );
        c2.assert_held_by(&state, "consumer");
        assert!(consumer.metrics().failures >= 1);
        c1.assert_held_by(&held, "a handle on version 1");
    }
}

#[tokio::test]
async fn a_damaged_delta_with_no_way_around_fails_naming_it() {
    for damage in [Damage::BitFlip, Damage::Truncate] {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _announcer, mut producer, consumer, [c1, c2], good) =
            setup_damaged(damage, tmp.path()).await;
        store.remove(BlobName::Snapshot(2));
        let held = consumer.current().unwrap();
        for _ in 0..2 {
            let e = consumer.refresh().await.unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("delta-1-2"), "{damage:?}: {msg}");
            assert_eq!(consumer.version(), Some(1));
            c1.assert_held_by(&consumer.current().unwrap(), "consumer after a failure");
        }
        c1.assert_held_by(&held, "a handle on version 1");
        // The store is repaired: the consumer gets there.
        assert!(store.corrupt(BlobName::Delta { from: 1, to: 2 }, |b| *b = good));
        assert_eq!(
            consumer
                .refresh()
                .await
                .unwrap_or_else(|e| panic!("{damage:?}, after the repair: {e}")),
            Some(2)
        );
        c2.assert_held_by(&consumer.current().unwrap(), "consumer after the repair");
        // And onwards, by deltas.
        let c3 = catalog(41, 3);
        publish(&mut producer, &c3).await;
        assert_eq!(consumer.refresh().await.unwrap(), Some(3));
        let state = consumer.current().unwrap();
        c3.assert_held_by(&state, "consumer at 3");
        assert_eq!(
            state.blob_names().last(),
            Some(&BlobName::Delta { from: 2, to: 3 })
        );
    }
}

#[tokio::test]
async fn a_damaged_delta_later_in_the_chain() {
    // The consumer is two versions behind; the second delta is damaged and
    // there is no snapshot of the last version: it must not stop half way
    // with the data of the middle version announced as the last.
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let consumer = dataset::consumer(store.clone(), announcer.clone(), tmp.path());
    let cs: Vec<Catalog> = (1..=3).map(|r| catalog(25, r)).collect();
    publish(&mut producer, &cs[0]).await;
    consumer.refresh().await.unwrap();
    publish(&mut producer, &cs[1]).await;
    publish(&mut producer, &cs[2]).await;
    store.corrupt(BlobName::Delta { from: 2, to: 3 }, |b| {
        Damage::BitFlip.apply(b)
    });
    store.remove(BlobName::Snapshot(3));
    let e = consumer.refresh().await.unwrap_err();
    assert!(e.to_string().contains("delta-2-3"), "{e}");
    let state = consumer.current().unwrap();
    assert_eq!(state.version(), 1);
    cs[0].assert_held_by(&state, "consumer");
    // Version 2 is still reachable.
    assert_eq!(consumer.refresh_to(2).await.unwrap(), 2);
    cs[1].assert_held_by(&consumer.current().unwrap(), "consumer at 2");
}

/// Two producers on one store: the one that did not announce the last
/// version must fail loudly and overwrite none of the winner's blobs.
#[tokio::test]
async fn a_producer_behind_the_announcement_overwrites_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = memory();
    let mut a = Producer::builder(store.clone(), announcer.clone()).build();
    let c1 = catalog(16, 1);
    publish(&mut a, &c1).await;
    let consumer = dataset::consumer(store.clone(), announcer.clone(), &tmp.path().join("c"));
    consumer.refresh().await.unwrap();
    let mut b = Producer::builder(store.clone(), announcer.clone()).build();
    assert_eq!(b.restore_latest().await.unwrap(), Some(1));

    let a2 = catalog(16, 2);
    assert_eq!(publish(&mut a, &a2).await, 2);
    let blobs_of_a = store
        .names()
        .into_iter()
        .map(|n| (n, store.get(n).unwrap()))
        .collect::<Vec<_>>();
    // B still believes version 1 is current.
    let e = try_publish(&mut b, &catalog(17, 9)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AnnounceConflict, "{e}");
    assert_eq!(announcer.announced().await.unwrap(), Some(2));
    for (name, bytes) in &blobs_of_a {
        assert!(
            store.get(*name).as_ref() == Some(bytes),
            "{name} was overwritten"
        );
    }
    assert_eq!(store.names().len(), blobs_of_a.len());
    // Consumers by delta and by snapshot agree on A's version 2.
    assert_eq!(consumer.refresh().await.unwrap(), Some(2));
    a2.assert_held_by(&consumer.current().unwrap(), "consumer by delta");
    check_fresh(store.clone(), &tmp.path().join("f"), 2, &a2).await;
    // Once restored, B continues from A's version.
    assert_eq!(b.restore_latest().await.unwrap(), Some(2));
    let b3 = catalog(17, 9);
    assert_eq!(publish(&mut b, &b3).await, 3);
    assert_eq!(consumer.refresh().await.unwrap(), Some(3));
    b3.assert_held_by(&consumer.current().unwrap(), "consumer at 3");
}

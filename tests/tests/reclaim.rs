//! Reclaiming dead records: a consumer rewrites the version it holds as one
//! snapshot in memory (`Consumer::reclaim`, or in the background past
//! `reclaim_threshold`), serves the same records at the same ordinals with
//! the same indexes, follows deltas both ways from it, and leaves states
//! already handed out as they were.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{Consumer, Producer, ReadState, Value};
use hollow_tests::dataset::{self, by_ordinal, catalog, Catalog};
use hollow_tests::{Actor, Movie, MovieByYear, MoviePrimaryKey};

async fn publish(producer: &mut Producer, c: &Catalog) -> u64 {
    dataset::publish(producer, c)
        .await
        .expect("each round changes records")
}

/// Every index answer of `state` for `c`: each movie by primary key, and
/// the movies of each year (ids, sorted).
fn assert_indexes(state: &ReadState, c: &Catalog, what: &str) {
    let pk = state.index::<MoviePrimaryKey>();
    for (id, m) in &c.movies {
        let got = pk.get(*id).map(|r| Movie::from_ref(r).unwrap());
        assert_eq!(got.as_ref(), Some(m), "{what}: movie {id}");
        assert_eq!(
            state
                .records::<Movie>()
                .by_primary_key(id)
                .map(|r| r.title()),
            Some(m.title.as_str()),
            "{what}: movie {id} by primary key"
        );
    }
    assert!(pk.get(0).is_none() && pk.get(u64::MAX).is_none(), "{what}");
    let mut years: BTreeMap<u16, Vec<u64>> = BTreeMap::new();
    for m in c.movies.values() {
        years.entry(m.year).or_default().push(m.id);
    }
    let by_year = state.index::<MovieByYear>();
    for (year, ids) in &years {
        let mut got: Vec<u64> = by_year.get(*year).map(|m| m.id()).collect();
        got.sort_unstable();
        assert_eq!(&got, ids, "{what}: year {year}");
    }
}

fn setup() -> (Producer, Consumer, Arc<MemoryBlobStore>) {
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let producer = Producer::builder(store.clone(), announcer.clone()).build();
    let consumer = Consumer::builder(store.clone(), announcer)
        .record_type::<Movie>()
        .record_type::<Actor>()
        .build()
        .unwrap();
    (producer, consumer, store)
}

#[tokio::test]
async fn a_rewritten_version_reads_the_same_and_follows_deltas_both_ways() {
    let (mut producer, consumer, _store) = setup();
    assert!(!consumer.reclaim().await.unwrap(), "nothing held");
    let mut catalogs = Vec::new();
    for round in 1..=4 {
        let c = catalog(300, round, 2);
        assert_eq!(publish(&mut producer, &c).await, round);
        consumer.refresh().await.unwrap();
        catalogs.push(c);
    }
    let old = consumer.current().unwrap();
    let old_blobs = old.blob_names();
    assert_eq!(old_blobs.len(), 4, "a snapshot and three deltas");
    assert!(old.records_outside_base() > 0);

    assert!(consumer.reclaim().await.unwrap());
    let new = consumer.current().unwrap();
    assert!(!Arc::ptr_eq(&old, &new));
    assert_eq!(new.version(), 4);
    assert_eq!(new.tag(), old.tag(), "the same state, as deltas see it");
    assert_eq!(new.blob_names(), vec![BlobName::Snapshot(4)]);
    assert_eq!(new.records_outside_base(), 0);
    assert_eq!(new.record_count(), old.record_count());
    assert!(new.blob_bytes() < old.blob_bytes(), "dead records dropped");
    for t in ["Movie", "Actor"] {
        assert_eq!(new.checksum(t), old.checksum(t), "{t}");
    }
    // Same records at the same ordinals; the state handed out before is
    // untouched.
    assert_eq!(by_ordinal::<Movie>(&new), by_ordinal::<Movie>(&old));
    assert_eq!(by_ordinal::<Actor>(&new), by_ordinal::<Actor>(&old));
    assert_eq!(old.blob_names(), old_blobs);
    catalogs[3].assert_held_by(&new, "rewritten");
    catalogs[3].assert_held_by(&old, "held before the rewrite");
    assert_indexes(&new, &catalogs[3], "rewritten");
    assert!(!consumer.reclaim().await.unwrap(), "already one snapshot");

    // Forward from the rewritten state by a delta, then back by reverse
    // deltas, indexes kept up to date all the way.
    let c5 = catalog(300, 5, 2);
    assert_eq!(publish(&mut producer, &c5).await, 5);
    consumer.refresh().await.unwrap();
    let s5 = consumer.current().unwrap();
    assert_eq!(
        s5.blob_names(),
        vec![BlobName::Snapshot(4), BlobName::Delta { from: 4, to: 5 }]
    );
    c5.assert_held_by(&s5, "a delta after the rewrite");
    assert_indexes(&s5, &c5, "a delta after the rewrite");
    consumer.refresh_to(2).await.unwrap();
    let s2 = consumer.current().unwrap();
    assert_eq!(
        s2.blob_names().last(),
        Some(&BlobName::ReverseDelta { from: 3, to: 2 })
    );
    catalogs[1].assert_held_by(&s2, "reverse deltas after the rewrite");
    assert_indexes(&s2, &catalogs[1], "reverse deltas after the rewrite");

    assert!(consumer.reclaim().await.unwrap());
    catalogs[1].assert_held_by(&consumer.current().unwrap(), "rewritten again");
    let m = consumer.metrics();
    assert_eq!(m.reclaims, 2);
    assert!(m.last_reclaim > Duration::ZERO);
}

#[tokio::test]
async fn a_consumer_reclaims_in_the_background_past_its_threshold() {
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let consumer = Consumer::builder(store, announcer)
        .reclaim_threshold(Some(0.25))
        .build()
        .unwrap();
    // A tenth of the records change each round, the same ones: a tenth
    // (with the added ones) stays outside the snapshot, below the
    // threshold.
    for round in 1..=3 {
        publish(&mut producer, &catalog(200, round, 10)).await;
        consumer.refresh().await.unwrap();
    }
    let s3 = consumer.current().unwrap();
    let share = s3.records_outside_base() as f64 / s3.record_count() as f64;
    assert!(share > 0.05 && share < 0.25, "{share}");
    // A half changes: past the threshold, so the refresh starts a rewrite.
    let c4 = catalog(200, 4, 2);
    publish(&mut producer, &c4).await;
    consumer.refresh().await.unwrap();
    let started = Instant::now();
    while consumer.metrics().reclaims == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no reclaim in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(consumer.metrics().reclaims, 1);
    let s4 = consumer.current().unwrap();
    assert_eq!(s4.blob_names(), vec![BlobName::Snapshot(4)]);
    c4.assert_held_by(&s4, "rewritten in the background");
    assert_eq!(consumer.metrics().failures, 0);
    // Nothing more to do: no second rewrite.
    assert!(!consumer.reclaim().await.unwrap());
    assert_eq!(consumer.metrics().reclaims, 1);
}

#[tokio::test]
async fn a_state_of_one_snapshot_is_not_reclaimed_and_a_consumer_without_a_threshold_waits() {
    let (mut producer, consumer, _store) = setup();
    publish(&mut producer, &catalog(50, 1, 2)).await;
    consumer.refresh().await.unwrap();
    let s1 = consumer.current().unwrap();
    assert_eq!(s1.records_outside_base(), 0);
    assert!(!consumer.reclaim().await.unwrap());
    assert!(Arc::ptr_eq(&s1, &consumer.current().unwrap()));
    // Past any threshold, but none set: nothing happens on its own.
    let c2 = catalog(50, 2, 1);
    publish(&mut producer, &c2).await;
    consumer.refresh().await.unwrap();
    let s2 = consumer.current().unwrap();
    assert!(s2.records_outside_base() as f64 > 0.9 * s2.record_count() as f64);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(consumer.metrics().reclaims, 0);
    assert!(Arc::ptr_eq(&s2, &consumer.current().unwrap()));
}

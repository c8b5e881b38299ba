//! Index behaviour beyond the oracle property test: the producer refusing
//! duplicate primary and unique keys (and rolling back), composite and
//! borrowed keys, a key that changes between versions, old states held by
//! readers, lazy indexes, and indexes that grow past their tables (rebuilt
//! larger inside a delta) with keys matching tens of thousands of records.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{Consumer, ErrorKind, Hollow, Producer};

/// A user with a unique email and a composite unique (handle, site).
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(primary_key(id), unique(email), unique(handle, site), hash_index(site))]
pub struct User {
    /// Primary key.
    pub id: u64,
    /// Unique.
    pub email: String,
    /// Unique with `site`.
    pub handle: String,
    /// Hash-indexed.
    pub site: u32,
}

/// A composite primary key with text.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(primary_key(region, n))]
pub struct Slot {
    /// Key part.
    pub region: String,
    /// Key part.
    pub n: u32,
    /// Value.
    pub v: u64,
}

/// Many records per key.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(primary_key(id), hash_index(labels))]
pub struct Doc {
    /// Primary key.
    pub id: u64,
    /// Each label indexed.
    pub labels: Vec<String>,
}

fn user(id: u64, email: &str, handle: &str, site: u32) -> User {
    User {
        id,
        email: email.into(),
        handle: handle.into(),
        site,
    }
}

fn setup() -> (Arc<MemoryBlobStore>, Arc<InProcessAnnouncer>, Producer) {
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let producer = Producer::builder(store.clone(), announcer.clone()).build();
    (store, announcer, producer)
}

#[tokio::test]
async fn duplicate_unique_or_primary_keys_fail_the_cycle_and_roll_back() {
    let (store, announcer, mut producer) = setup();
    let v1 = producer
        .run_cycle(|w| {
            w.add(&user(1, "a@x", "ann", 1))?;
            w.add(&user(2, "b@x", "bob", 1))
        })
        .await
        .unwrap()
        .version
        .unwrap();

    // Two records, one email.
    let err = producer
        .run_cycle(|w| {
            w.add(&user(1, "a@x", "ann", 1))?;
            w.add(&user(2, "b@x", "bob", 1))?;
            w.add(&user(3, "a@x", "cat", 2))
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Record);
    let msg = err.to_string();
    assert!(
        msg.contains("User") && msg.contains("unique key") && msg.contains("email=\"a@x\""),
        "{msg}"
    );
    assert_eq!(producer.announced(), Some(v1));

    // A composite unique key clash, through an incremental cycle.
    let err = producer
        .run_incremental(|c| c.upsert(&user(3, "c@x", "bob", 1)))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("handle=\"bob\", site=1"), "{msg}");
    assert_eq!(producer.announced(), Some(v1));

    // Same handle on another site is fine; so is taking over a freed email.
    let v2 = producer
        .run_cycle(|w| {
            w.add(&user(1, "gone@x", "ann", 1))?;
            w.add(&user(2, "b@x", "bob", 1))?;
            w.add(&user(3, "a@x", "bob", 2))
        })
        .await
        .unwrap()
        .version
        .unwrap();
    assert!(v2 > v1);

    // Primary keys are checked as before.
    let err = producer
        .run_cycle(|w| {
            w.add(&user(1, "p@x", "p", 1))?;
            w.add(&user(1, "q@x", "q", 1))
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("primary key id=1"), "{err}");
    assert_eq!(producer.announced(), Some(v2));

    let consumer = Consumer::builder(store, announcer)
        .record_type::<User>()
        .build()
        .unwrap();
    consumer.refresh().await.unwrap();
    let s = consumer.current().unwrap();
    assert_eq!(s.version(), v2);
    assert_eq!(s.index::<UserByEmail>().get("a@x").unwrap().id(), 3);
    assert!(s.index::<UserByEmail>().get("q@x").is_none());
    assert_eq!(
        s.index::<UserByHandleSite>().get(("bob", 2)).unwrap().id(),
        3
    );
    assert_eq!(
        s.index::<UserByHandleSite>().get(("bob", 1)).unwrap().id(),
        2
    );
    assert!(s.index::<UserByHandleSite>().get(("ann", 2)).is_none());
    let site1: BTreeSet<u64> = s.index::<UserBySite>().get(1).map(|u| u.id()).collect();
    assert_eq!(site1, BTreeSet::from([1, 2]));
}

#[tokio::test]
async fn composite_keys_borrow_and_key_changes_follow_versions() {
    let (store, announcer, mut producer) = setup();
    let slot = |r: &str, n: u32, v: u64| Slot {
        region: r.into(),
        n,
        v,
    };
    producer
        .run_cycle(|w| {
            w.add(&slot("eu", 7, 1))?;
            w.add(&slot("eu", 8, 2))?;
            w.add(&slot("", 7, 3))
        })
        .await
        .unwrap();
    let consumer = Consumer::builder(store.clone(), announcer.clone())
        .record_type::<Slot>()
        .record_type::<User>()
        .build()
        .unwrap();
    consumer.refresh().await.unwrap();
    let old = consumer.current().unwrap();
    let region = String::from("eu");
    let slots = old.records::<Slot>();
    assert_eq!(slots.by_primary_key(&(region.as_str(), 7)).unwrap().v(), 1);
    assert_eq!(slots.by_primary_key(&("", 7)).unwrap().v(), 3);
    assert!(slots.by_primary_key(&("eu", 9)).is_none());
    assert!(slots.by_primary_key(&("e", 7)).is_none());

    // The record with key ("eu", 7) changes its value, ("eu", 8) becomes
    // ("us", 8): the old state keeps answering as before.
    producer
        .run_cycle(|w| {
            w.add(&slot("eu", 7, 10))?;
            w.add(&slot("us", 8, 2))?;
            w.add(&slot("", 7, 3))
        })
        .await
        .unwrap();
    consumer.refresh().await.unwrap();
    let new = consumer.current().unwrap();
    let s = new.records::<Slot>();
    assert_eq!(s.by_primary_key(&("eu", 7)).unwrap().v(), 10);
    assert!(s.by_primary_key(&("eu", 8)).is_none());
    assert_eq!(s.by_primary_key(&("us", 8)).unwrap().v(), 2);
    assert_eq!(slots.by_primary_key(&("eu", 7)).unwrap().v(), 1);
    assert_eq!(slots.by_primary_key(&("eu", 8)).unwrap().v(), 2);
    assert!(slots.by_primary_key(&("us", 8)).is_none());
    // A type the dataset does not have: empty indexes.
    assert!(new.records::<User>().by_primary_key(&1).is_none());
    assert_eq!(new.index::<UserBySite>().count(1), 0);
}

/// Labels of document `id` at `version`: a few shared by thousands of
/// documents (posting lists turn into bitmaps), with repeats.
fn labels(id: u64, version: u64) -> Vec<String> {
    let mut l = vec![format!("m{}", id % 3), format!("m{}", id % 3)];
    if (id + version).is_multiple_of(5) {
        l.push("hot".into());
    }
    if id % 1000 == version {
        l.push(format!("rare{id}"));
    }
    l
}

#[tokio::test]
async fn indexes_grow_inside_deltas_and_lazy_ones_match() {
    let (store, announcer, mut producer) = setup();
    let eager = Consumer::builder(store.clone(), announcer.clone())
        .record_type::<Doc>()
        .build()
        .unwrap();
    let lazy = Consumer::builder(store.clone(), announcer.clone())
        .record_type::<Doc>()
        .lazy_indexes(true)
        .build()
        .unwrap();
    // 50 documents, then 40 000 (the tables grow and are rebuilt larger
    // while the delta applies), then a fifth of them removed and the rest
    // relabelled.
    let sizes = [(50u64, 0u64), (40_000, 0), (40_000, 8_000)];
    let mut held = Vec::new();
    for (version, &(n, skip)) in sizes.iter().enumerate() {
        let version = version as u64 + 1;
        let docs: BTreeMap<u64, Doc> = (skip..n)
            .map(|id| {
                (
                    id,
                    Doc {
                        id,
                        labels: labels(id, version),
                    },
                )
            })
            .collect();
        producer
            .run_cycle(|w| {
                for d in docs.values() {
                    w.add(d)?;
                }
                Ok(())
            })
            .await
            .unwrap();
        for c in [&eager, &lazy] {
            c.refresh().await.unwrap();
            let s = c.current().unwrap();
            let records = s.records::<Doc>();
            for id in [0, 1, 49, 50, 7_999, 8_000, 39_999, 40_000] {
                assert_eq!(
                    records
                        .by_primary_key(&id)
                        .map(|d| d.to_value().unwrap())
                        .as_ref(),
                    docs.get(&id),
                    "version {version}, id {id}"
                );
            }
            let idx = s.index::<DocByLabels>();
            for label in [
                "m0", "m1", "m2", "hot", "rare1001", "rare2002", "rare1", "none",
            ] {
                let want: BTreeSet<u64> = docs
                    .values()
                    .filter(|d| d.labels.iter().any(|l| l == label))
                    .map(|d| d.id)
                    .collect();
                let got: BTreeSet<u64> = idx.get(label).map(|d| d.id()).collect();
                assert_eq!(got, want, "version {version}, label {label}");
                assert_eq!(idx.count(label), want.len());
            }
            held.push((s.clone(), docs.clone()));
        }
        assert_eq!(eager.metrics().failures, 0);
    }
    // Held states still answer as their version did.
    for (s, docs) in &held {
        let idx = s.index::<DocByLabels>();
        let want = docs
            .values()
            .filter(|d| d.labels.iter().any(|l| l == "hot"))
            .count();
        assert_eq!(idx.count("hot"), want, "held version {}", s.version());
        for id in [0, 49, 50, 39_999] {
            assert_eq!(
                s.records::<Doc>().by_primary_key(&id).map(|d| d.id()),
                docs.get(&id).map(|d| d.id)
            );
        }
    }
}

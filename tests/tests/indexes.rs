//! Index behaviour beyond the oracle property test: the producer refusing
//! duplicate primary and unique keys (and rolling back; after a restore,
//! among records it did not write too), composite and
//! borrowed keys, a key that changes between versions, old states held by
//! readers, lazy indexes, and indexes that grow past their tables (rebuilt
//! larger inside a delta) with keys matching tens of thousands of records.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::wire::StructReader;
use hollow_runtime::{
    Consumer, ErrorKind, Hollow, IndexKind, IndexSpec, KeyHasher, KeyPart, KeyReader, Producer,
    Struct,
};

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

/// An account as its producer writes it: only `id` is a declared key.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Account", primary_key(id))]
pub struct Account {
    /// Primary key.
    pub id: u64,
    /// Not a key for the producer.
    pub email: String,
}

/// The same records as a consumer reads them, taking `email` as unique.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Account", primary_key(id), unique(email))]
pub struct AccountView {
    /// Primary key.
    pub id: u64,
    /// Unique for this consumer only.
    pub email: String,
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
async fn a_unique_key_the_blobs_do_not_declare_is_checked_by_every_delta() {
    // Typed indexes know the schema key they read; the blobs' declared
    // keys are matched against it.
    let key = |spec: IndexSpec| spec.key().map(|k| k.to_string());
    assert_eq!(
        key(IndexSpec::of::<UserPrimaryKey>()).as_deref(),
        Some("id")
    );
    assert_eq!(
        key(IndexSpec::of::<UserByHandleSite>()).as_deref(),
        Some("handle,site")
    );
    assert_eq!(
        key(IndexSpec::of::<AccountViewByEmail>()).as_deref(),
        Some("email")
    );

    let (store, announcer, mut producer) = setup();
    let v1 = publish(&mut producer, &[(1, "a@x"), (2, "b@x")]).await;
    let consumer = Consumer::builder(store.clone(), announcer.clone())
        .record_type::<AccountView>()
        .build()
        .unwrap();
    consumer.refresh().await.unwrap();
    let s = consumer.current().unwrap();
    assert_eq!(s.index::<AccountViewByEmail>().get("b@x").unwrap().id(), 2);

    // The producer declares no unique email, so it publishes two records
    // with one email; the consumer's delta finds them (the new version's
    // snapshot is gone, so the delta is the only way) and keeps v1.
    let v2 = publish(&mut producer, &[(1, "a@x"), (2, "a@x")]).await;
    store.remove(BlobName::Snapshot(v2));
    let err = consumer.refresh().await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&format!("blob delta-{v1}-{v2}")), "{msg}");
    assert!(
        msg.contains("Account has two records with unique key email=\"a@x\""),
        "{msg}"
    );
    let s = consumer.current().unwrap();
    assert_eq!(s.version(), v1);
    assert_eq!(s.index::<AccountViewByEmail>().get("a@x").unwrap().id(), 1);
    assert_eq!(s.index::<AccountViewByEmail>().get("b@x").unwrap().id(), 2);

    // A consumer of the producer's own declaration follows both versions.
    let plain = Consumer::builder(store, announcer)
        .record_type::<Account>()
        .build()
        .unwrap();
    plain.refresh_to(v1).await.unwrap();
    plain.refresh().await.unwrap();
    let s = plain.current().unwrap();
    assert_eq!(s.version(), v2);
    assert_eq!(
        s.records::<Account>().by_primary_key(&2).unwrap().email(),
        "a@x"
    );
}

/// Publishes a cycle of accounts `(id, email)`; its version.
async fn publish(producer: &mut Producer, accounts: &[(u64, &str)]) -> u64 {
    producer
        .run_cycle(|w| {
            for &(id, email) in accounts {
                w.add(&Account {
                    id,
                    email: email.into(),
                })?;
            }
            Ok(())
        })
        .await
        .unwrap()
        .version
        .unwrap()
}

/// A run-time "unique" index on each label of a document: a record with
/// other than one label breaks it.
struct EachLabel;

impl KeyReader for EachLabel {
    fn keys(&self, r: &StructReader<'_>, h: &mut KeyHasher, f: &mut dyn FnMut(&[u8])) {
        for label in Doc::wrap(*r).labels().iter() {
            h.clear();
            <String as KeyPart>::hash_key_ref(&label, h);
            f(h.bytes());
        }
    }
    fn describe(&self, r: &StructReader<'_>) -> String {
        format!("labels={:?}", Doc::wrap(*r).labels().len())
    }
}

#[tokio::test]
async fn a_record_without_exactly_one_unique_key_fails_the_delta() {
    let (store, announcer, mut producer) = setup();
    let doc = |id: u64, labels: &[&str]| Doc {
        id,
        labels: labels.iter().map(|l| l.to_string()).collect(),
    };
    let v1 = producer
        .run_cycle(|w| {
            w.add(&doc(1, &["a"]))?;
            w.add(&doc(2, &["b"]))
        })
        .await
        .unwrap()
        .version
        .unwrap();
    let spec = IndexSpec::new("Doc", "eachLabel", IndexKind::Unique, Arc::new(EachLabel));
    let consumer = Consumer::builder(store.clone(), announcer.clone())
        .index_spec(spec.clone())
        .build()
        .unwrap();
    consumer.refresh().await.unwrap();
    let s = consumer.current().unwrap();
    let by_label = s.index_of(&spec);
    let ids = |key: &str| -> Vec<u32> { by_label.ordinals(&text_key(key)) };
    assert_eq!(ids("b").len(), 1);

    // Document 3 has two labels: the delta adding it fails (the new
    // version's snapshot is gone, so the delta is the only way).
    let v2 = producer
        .run_cycle(|w| {
            w.add(&doc(1, &["a"]))?;
            w.add(&doc(2, &["b"]))?;
            w.add(&doc(3, &["c", "d"]))
        })
        .await
        .unwrap()
        .version
        .unwrap();
    store.remove(BlobName::Snapshot(v2));
    let err = consumer.refresh().await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("blob delta-{v1}-{v2}"))
            && msg.contains("index eachLabel of Doc")
            && msg.contains("has 2 keys, a unique index needs one"),
        "{msg}"
    );
    assert_eq!(consumer.current().unwrap().version(), v1);
}

/// The encoding of a text key (`KeyHasher`: length, then bytes).
fn text_key(s: &str) -> Vec<u8> {
    let mut h = KeyHasher::new();
    <String as KeyPart>::hash_key_ref(&s, &mut h);
    h.bytes().to_vec()
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

/// A primary-key index takes deltas into a small table of recent entries
/// and folds them into its base once they pass a sixteenth of it: on a
/// thread of its own for large bases (20 000 here), in place for small
/// ones (the 300 `User`s). Across many such merges, every lookup (single
/// and batched, present, changed, removed and never-present keys) matches
/// the producer's records at every version, in states held while later
/// merges ran, and walking back through reverse deltas.
#[tokio::test]
async fn primary_keys_stay_exact_across_merges_of_recent_entries() {
    let (store, announcer, mut producer) = setup();
    let consumer = Consumer::builder(store.clone(), announcer.clone())
        .record_type::<Doc>()
        .record_type::<User>()
        .build()
        .unwrap();
    let mut docs: BTreeMap<u64, Doc> = (0..20_000)
        .map(|id| {
            (
                id,
                Doc {
                    id,
                    labels: labels(id, 0),
                },
            )
        })
        .collect();
    let mut users: BTreeMap<u64, User> = (0..300)
        .map(|id| (id, user(id, &format!("u{id}@x"), &format!("h{id}"), 1)))
        .collect();
    let mut next_id = 20_000u64;
    let mut x: u64 = 0x5eed;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut held = Vec::new();
    let mut gone: Vec<u64> = Vec::new();
    for version in 1..=14u64 {
        if version > 1 {
            // 6 % of the documents changed, 1 % removed, 1 % added; a
            // tenth of the users changed (their emails move between ids).
            let ids: Vec<u64> = docs.keys().copied().collect();
            for _ in 0..1_200 {
                let id = ids[rand(ids.len() as u64) as usize];
                if let Some(d) = docs.get_mut(&id) {
                    d.labels = labels(id, version);
                    d.labels.push(format!("v{version}"));
                }
            }
            for _ in 0..200 {
                let id = ids[rand(ids.len() as u64) as usize];
                if docs.remove(&id).is_some() {
                    gone.push(id);
                }
            }
            for _ in 0..200 {
                docs.insert(
                    next_id,
                    Doc {
                        id: next_id,
                        labels: labels(next_id, version),
                    },
                );
                next_id += 1;
            }
            // A removed id comes back now and then (with new contents).
            if let Some(id) = gone.pop() {
                docs.insert(
                    id,
                    Doc {
                        id,
                        labels: vec![format!("back{version}")],
                    },
                );
            }
            for id in 0..30 {
                let id = (id * 10 + version) % 300;
                let u = users.get_mut(&id).unwrap();
                u.handle = format!("h{id}v{version}");
            }
        }
        producer
            .run_cycle(|w| {
                for d in docs.values() {
                    w.add(d)?;
                }
                for u in users.values() {
                    w.add(u)?;
                }
                Ok(())
            })
            .await
            .unwrap();
        consumer.refresh().await.unwrap();
        let s = consumer.current().unwrap();
        check_docs(&s, &docs, &gone, next_id, &format!("version {version}"));
        check_users(&s, &users, &format!("version {version}"));
        held.push((s, docs.clone(), users.clone(), gone.clone(), next_id));
    }
    assert_eq!(consumer.metrics().failures, 0);
    for (s, docs, users, gone, next_id) in &held {
        let label = format!("held version {}", s.version());
        check_docs(s, docs, gone, *next_id, &label);
        check_users(s, users, &label);
    }
    // Back through reverse deltas, with every snapshot but the last gone.
    let last = held.last().map(|h| h.0.version());
    for (s, ..) in &held {
        if Some(s.version()) != last {
            store.remove(hollow_runtime::BlobName::Snapshot(s.version()));
        }
    }
    for (s, docs, users, gone, next_id) in held.iter().rev().skip(1) {
        consumer.refresh_to(s.version()).await.unwrap();
        let now = consumer.current().unwrap();
        let label = format!("back at version {}", s.version());
        check_docs(&now, docs, gone, *next_id, &label);
        check_users(&now, users, &label);
    }
}

fn check_docs(
    s: &hollow_runtime::ReadState,
    docs: &BTreeMap<u64, Doc>,
    gone: &[u64],
    next_id: u64,
    label: &str,
) {
    let records = s.records::<Doc>();
    assert_eq!(records.len(), docs.len(), "{label}");
    // Every present key, every removed one, and some never used.
    let keys: Vec<u64> = docs
        .keys()
        .copied()
        .chain(gone.iter().copied())
        .chain(next_id..next_id + 50)
        .collect();
    let batch = records.by_primary_keys(&keys);
    assert_eq!(batch.len(), keys.len(), "{label}");
    let index = records.primary_key_index();
    let batch_view = index.get_many(&keys);
    for ((k, b), bv) in keys.iter().zip(batch).zip(batch_view) {
        let want = docs.get(k);
        let one = records.by_primary_key(k).map(|d| d.to_value().unwrap());
        assert_eq!(one.as_ref(), want, "{label}: id {k}");
        assert_eq!(
            b.as_ref().map(|d| d.to_value().unwrap()).as_ref(),
            want,
            "{label}: id {k} in a batch"
        );
        assert_eq!(bv.as_ref().map(|d| d.id()), want.map(|d| d.id), "{label}");
    }
}

fn check_users(s: &hollow_runtime::ReadState, users: &BTreeMap<u64, User>, label: &str) {
    let by_handle = s.index::<UserByHandleSite>();
    for u in users.values() {
        assert_eq!(
            s.records::<User>()
                .by_primary_key(&u.id)
                .map(|r| r.to_value().unwrap())
                .as_ref(),
            Some(u),
            "{label}"
        );
        assert_eq!(
            by_handle.get((&u.handle, u.site)).map(|r| r.id()),
            Some(u.id),
            "{label}: handle {}",
            u.handle
        );
    }
    // Handles of earlier versions find nothing (or their new owner).
    assert!(by_handle.get(("h5v1", 1)).is_none(), "{label}");
}

/// An account keyed by email, as an earlier producer of the dataset
/// declared it (so two accounts may share an id).
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Account", primary_key(email))]
pub struct AccountByEmailKey {
    /// Not a key for this producer.
    pub id: u64,
    /// Primary key.
    pub email: String,
}

/// One cycle of `accounts` (id, email), keyed by id.
async fn publish_accounts(
    producer: &mut Producer,
    accounts: &[(u64, &str)],
) -> Result<Option<u64>, hollow_runtime::Error> {
    producer
        .run_cycle(|w| {
            accounts.iter().try_for_each(|&(id, email)| {
                w.add(&Account {
                    id,
                    email: email.into(),
                })
            })
        })
        .await
        .map(|o| o.version)
}

#[tokio::test]
async fn a_restored_producer_checks_keys_it_did_not_write() {
    let (store, announcer, mut first) = setup();
    // The first producer keys accounts by email: two share id 1.
    first
        .run_cycle(|w| {
            w.add(&AccountByEmailKey {
                id: 1,
                email: "a@x".into(),
            })?;
            w.add(&AccountByEmailKey {
                id: 1,
                email: "b@x".into(),
            })
        })
        .await
        .unwrap();
    let v1 = first.announced().unwrap();

    // A producer keying them by id continues the dataset: any cycle that
    // keeps both records must fail, naming the key, even though neither
    // record is new to the cycle.
    let mut second = Producer::builder(store.clone(), announcer.clone())
        .record_type::<Account>()
        .build();
    second.restore(v1).await.unwrap();
    let err = publish_accounts(&mut second, &[(1, "a@x"), (1, "b@x"), (2, "c@x")])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Record);
    assert!(
        err.to_string().contains("Account") && err.to_string().contains("primary key id=1"),
        "{err}"
    );
    assert_eq!(second.announced(), Some(v1));
    // Rolled back: the check is made again, not forgotten.
    let err = publish_accounts(&mut second, &[(1, "a@x"), (1, "b@x")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("primary key id=1"), "{err}");
    // Once the clash is gone, cycles publish as usual.
    let v2 = publish_accounts(&mut second, &[(1, "a@x"), (2, "b@x")])
        .await
        .unwrap()
        .unwrap();
    assert!(v2 > v1);
}

#[tokio::test]
async fn a_producer_restored_before_declaring_its_types_finds_restored_keys() {
    let (store, announcer, mut first) = setup();
    first
        .run_cycle(|w| {
            w.add(&user(1, "a@x", "ann", 1))?;
            w.add(&user(2, "b@x", "bob", 1))
        })
        .await
        .unwrap();
    let v1 = first.announced().unwrap();

    // No `record_type::<User>()`: the type becomes typed at its first use,
    // after the restore.
    let mut second = Producer::builder(store.clone(), announcer.clone()).build();
    second.restore(v1).await.unwrap();
    // An upsert replaces the restored record with its key...
    let v2 = second
        .run_incremental(|c| c.upsert(&user(1, "new@x", "ann", 1)))
        .await
        .unwrap()
        .version
        .unwrap();
    let consumer = Consumer::builder(store.clone(), announcer.clone())
        .record_type::<User>()
        .build()
        .unwrap();
    consumer.refresh().await.unwrap();
    let s = consumer.current().unwrap();
    assert_eq!(s.version(), v2);
    let mut users: Vec<(u64, String)> = s
        .records::<User>()
        .iter()
        .map(|(_, u)| (u.id(), u.email().to_string()))
        .collect();
    users.sort();
    assert_eq!(users, [(1, "new@x".to_string()), (2, "b@x".to_string())]);
    // ...a delete finds it...
    second
        .run_incremental(|c| c.delete::<User>(&2))
        .await
        .unwrap();
    consumer.refresh().await.unwrap();
    let s = consumer.current().unwrap();
    assert!(s.records::<User>().by_primary_key(&2).is_none());
    assert_eq!(s.records::<User>().len(), 1);
    // ...and a full cycle adding a second record with a restored key fails.
    let err = second
        .run_cycle(|w| {
            w.add(&user(1, "new@x", "ann", 1))?;
            w.add(&user(1, "other@x", "cat", 2))
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("primary key id=1"), "{err}");
}

//! The producer's integrity check catches a wrong delta or reverse delta
//! before anything is published: a test hook (`tamper_blobs`, feature
//! `test-hooks`) alters the blobs a cycle wrote (re-sealed so that every
//! checksum of the file still matches, or not); the cycle fails with
//! `ErrorKind::Integrity`, nothing of the version reaches the store or the
//! announcer, and the next cycle (hook off) succeeds and consumers reach it.

use std::sync::{Arc, Mutex};

use hollow_runtime::blob::BlobView;
use hollow_runtime::store::{Announcer, BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{hash_bytes, Consumer, ErrorKind, Hollow, Producer};
use hollow_tests::crafted;

#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Movie", primary_key(id))]
struct Movie {
    id: u64,
    title: String,
}

fn movie(id: u64, round: u64) -> Movie {
    Movie {
        id,
        title: format!("movie {id} of round {round}"),
    }
}

/// Version 1 holds movies 1..=10; version 2 removes 1..=3 and adds
/// 11..=13, so its delta and its reverse delta each add three records.
fn version(v: u64) -> Vec<Movie> {
    match v {
        1 => (1..=10).map(|id| movie(id, 1)).collect(),
        _ => (4..=13).map(|id| movie(id, 1)).collect(),
    }
}

/// How a test alters a blob: which one, and how.
type Edit = Box<dyn Fn(&[u8]) -> Vec<u8> + Send>;

/// A producer whose hook applies the edit in `hook` (when set) to the
/// blob it names.
fn producer(
    store: &Arc<MemoryBlobStore>,
    ann: &Arc<InProcessAnnouncer>,
    hook: &Arc<Mutex<Option<(BlobName, Edit)>>>,
    snapshot_interval: u64,
) -> Producer {
    let hook = hook.clone();
    Producer::builder(store.clone(), ann.clone())
        .snapshot_interval(snapshot_interval)
        .tamper_blobs(move |name, bytes| {
            if let Some((target, edit)) = &*hook.lock().unwrap() {
                if target == name {
                    *bytes = edit(bytes);
                }
            }
        })
        .build()
}

/// The byte positions of the first two entries of the `added` list
/// (pointer word 2) of `type_name`'s section of a delta.
fn first_two_added(blob: &[u8], type_name: &str) -> (usize, usize) {
    let (start, end) = crafted::section_range(blob, type_name);
    let section = &blob[start..end];
    (
        crafted::u32_element(section, 2, 0),
        crafted::u32_element(section, 2, 1),
    )
}

/// The delta `blob` with its first two added ordinals of Movie swapped
/// (each record now at the other's ordinal), re-sealed: its section and
/// file checksums match, its header's state checksum is as the producer
/// wrote it.
fn swap_added(blob: &[u8]) -> Vec<u8> {
    let (a, b) = first_two_added(blob, "Movie");
    crafted::edit_section(blob, "Movie", |s| {
        let (x, y) = (crafted::u32_at(s, a), crafted::u32_at(s, b));
        crafted::set_u32(s, a, y);
        crafted::set_u32(s, b, x);
    })
}

/// Like [`swap_added`], and the header's state checksum rewritten to what
/// the altered delta gives: the blob is consistent with itself, and only
/// a comparison with a state known independently catches it.
fn swap_added_consistently(blob: &[u8]) -> Vec<u8> {
    let view = BlobView::open("blob", blob).unwrap();
    let section = view.section("Movie").unwrap();
    let delta = section.delta().unwrap();
    let mut bytes = Vec::new();
    let mut hashes = Vec::new();
    for (i, o) in delta.added_ordinals().take(2).enumerate() {
        delta.canonical_bytes(i as u32, &mut bytes).unwrap();
        hashes.push((o, hash_bytes(&bytes)));
    }
    let [(o0, h0), (o1, h1)] = hashes[..] else {
        panic!("a delta adding at least two records")
    };
    let promised = section.info().state_checksum;
    let altered = promised
        .wrapping_sub(crafted::state_mix(o0, h0))
        .wrapping_sub(crafted::state_mix(o1, h1))
        .wrapping_add(crafted::state_mix(o1, h0))
        .wrapping_add(crafted::state_mix(o0, h1));
    assert_ne!(altered, promised);
    crafted::edit_header(&swap_added(blob), |_, h| {
        for s in h.sections.iter_mut().filter(|s| s.type_name == "Movie") {
            s.state_checksum = altered;
        }
    })
}

/// Publishes version 1, then runs cycle 2 with `edit` applied to `target`:
/// the cycle must fail the integrity check, leaving the store and the
/// announcer at version 1; the same cycle without the edit then succeeds
/// and a consumer that held version 1 reaches version 2. With a
/// `snapshot_interval` above 1, cycle 2 writes no snapshot.
async fn tampered_cycle_fails(target: BlobName, edit: Edit, expect: &str, snapshot_interval: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryBlobStore::new());
    let ann = Arc::new(InProcessAnnouncer::new());
    let hook = Arc::new(Mutex::new(None));
    let mut p = producer(&store, &ann, &hook, snapshot_interval);
    let v1 = version(1);
    p.run_cycle(|w| v1.iter().try_for_each(|m| w.add(m)))
        .await
        .unwrap();
    let consumer = Consumer::builder(store.clone(), ann.clone())
        .cache_dir(tmp.path())
        .build()
        .unwrap();
    consumer.refresh().await.unwrap();
    let before = store.names();
    assert_eq!(before, vec![BlobName::Snapshot(1)]);

    *hook.lock().unwrap() = Some((target, edit));
    let v2 = version(2);
    let err = p
        .run_cycle(|w| v2.iter().try_for_each(|m| w.add(m)))
        .await
        .expect_err("a tampered blob must fail the cycle");
    assert_eq!(err.kind(), ErrorKind::Integrity, "{err:?}");
    let msg = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(msg.contains(expect), "expected {expect:?} in: {msg}");
    // Nothing announced, no blob of version 2 stored.
    assert_eq!(p.announced(), Some(1));
    assert_eq!(ann.announced().await.unwrap(), Some(1));
    assert_eq!(store.names(), before);

    // The next cycle, with the hook off, succeeds.
    *hook.lock().unwrap() = None;
    let out = p
        .run_cycle(|w| v2.iter().try_for_each(|m| w.add(m)))
        .await
        .expect("the same cycle, untampered");
    assert_eq!(out.version, Some(2));
    assert_eq!(out.changes, vec![("Movie".to_string(), 3, 3)]);
    let mut names = store.names();
    names.sort();
    let mut want = vec![
        BlobName::Snapshot(1),
        BlobName::Delta { from: 1, to: 2 },
        BlobName::ReverseDelta { from: 2, to: 1 },
    ];
    if snapshot_interval == 1 {
        want.push(BlobName::Snapshot(2));
    }
    want.sort();
    assert_eq!(names, want);
    consumer.refresh().await.unwrap();
    let st = consumer.current().unwrap();
    assert_eq!(st.version(), 2);
    let mut got: Vec<Movie> = st
        .records::<Movie>()
        .iter()
        .map(|(_, r)| r.to_value().unwrap())
        .collect();
    got.sort_by_key(|m| m.id);
    assert_eq!(got, v2);
    // And back by the reverse delta.
    consumer.refresh_to(1).await.unwrap();
    let st = consumer.current().unwrap();
    assert_eq!(st.version(), 1);
    assert_eq!(st.count("Movie"), 10);
    assert!(st.records::<Movie>().by_primary_key(&1).is_some());
}

#[tokio::test]
async fn a_delta_with_records_at_swapped_ordinals_fails_the_cycle() {
    tampered_cycle_fails(
        BlobName::Delta { from: 1, to: 2 },
        Box::new(swap_added),
        "applying delta-1-2 to version 1 failed",
        1,
    )
    .await;
}

#[tokio::test]
async fn a_reverse_delta_with_records_at_swapped_ordinals_fails_the_cycle() {
    tampered_cycle_fails(
        BlobName::ReverseDelta { from: 2, to: 1 },
        Box::new(swap_added),
        "applying reversedelta-2-1 to version 2 failed",
        1,
    )
    .await;
}

#[tokio::test]
async fn a_delta_consistent_with_itself_but_not_the_producer_fails_the_cycle() {
    tampered_cycle_fails(
        BlobName::Delta { from: 1, to: 2 },
        Box::new(swap_added_consistently),
        "integrity check of version 2 failed for type Movie: delta-1-2 gives 10 records",
        1,
    )
    .await;
}

#[tokio::test]
async fn a_reverse_delta_consistent_with_itself_but_not_the_previous_state_fails_the_cycle() {
    tampered_cycle_fails(
        BlobName::ReverseDelta { from: 2, to: 1 },
        Box::new(swap_added_consistently),
        "integrity check of version 2 failed for type Movie: reversedelta-2-1 gives 10 records",
        1,
    )
    .await;
}

#[tokio::test]
async fn a_snapshot_whose_bytes_do_not_match_its_checksums_fails_the_cycle() {
    tampered_cycle_fails(
        BlobName::Snapshot(2),
        Box::new(|blob: &[u8]| {
            let (start, _) = crafted::section_range(blob, "Movie");
            let mut out = blob.to_vec();
            out[start + 40] ^= 0x5a;
            out
        }),
        "integrity check of version 2: snapshot-2 does not read",
        1,
    )
    .await;
}

#[tokio::test]
async fn without_a_snapshot_a_delta_consistent_with_itself_fails_the_cycle() {
    // Nothing but the producer's own state to compare the delta with.
    tampered_cycle_fails(
        BlobName::Delta { from: 1, to: 2 },
        Box::new(swap_added_consistently),
        "integrity check of version 2 failed for type Movie: delta-1-2 gives 10 records",
        5,
    )
    .await;
}

#[tokio::test]
async fn without_a_snapshot_a_reverse_delta_consistent_with_itself_fails_the_cycle() {
    tampered_cycle_fails(
        BlobName::ReverseDelta { from: 2, to: 1 },
        Box::new(swap_added_consistently),
        "integrity check of version 2 failed for type Movie: reversedelta-2-1 gives 10 records",
        5,
    )
    .await;
}

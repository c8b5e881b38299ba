//! Shared values inside a section (`docs/blob-format.md`, "Shared
//! values"): identical values of a section's records are written once and
//! pointed to from every record holding them.
//!
//! - Two producers publish the same cycles, one sharing values and one
//!   not: every blob (snapshots, deltas, reverse deltas) holds the same
//!   records with the same canonical bytes, counts and state checksums,
//!   passes the deep record check, and the shared one is smaller.
//!   Consumers of both follow the versions forward and back and hold the
//!   same records, hashes and checksums; a reclaimed (rewritten) state and
//!   a producer restored from a shared snapshot do too.
//! - A shared pointer damaged (out of range, forming a loop) is refused,
//!   naming the blob, the type and the ordinal, and a consumer keeps its
//!   version.
//! - Records pointing at one value more than their section's size
//!   justifies are refused by the section-wide traversal budget, and the
//!   writer never shares that far.

use std::sync::Arc;

use hollow_runtime::blob::{
    self, reseal, BlobKind, BlobView, BlobWriter, SectionInfo, SectionOptions,
};
use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{hash_bytes, to_canonical_bytes, Consumer, Producer, ReadState, Struct};
use hollow_tests::dataset::{self, by_ordinal, catalog, Catalog};
use hollow_tests::{Actor, AllTypes, Inner, Movie};

/// The pointer index of `Movie.genres` and `Movie.description` (pointers
/// are numbered in field order: title, genres, castIds, description).
const GENRES: usize = 1;
const DESCRIPTION: usize = 3;

struct Side {
    store: Arc<MemoryBlobStore>,
    announcer: Arc<InProcessAnnouncer>,
    producer: Producer,
    consumer: Consumer,
}

fn side(share: bool) -> Side {
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let producer = Producer::builder(store.clone(), announcer.clone())
        .share_values(share)
        .record_type::<AllTypes>()
        .build();
    let consumer = Consumer::builder(store.clone(), announcer.clone())
        .record_type::<Movie>()
        .record_type::<Actor>()
        .record_type::<AllTypes>()
        .build()
        .unwrap();
    Side {
        store,
        announcer,
        producer,
        consumer,
    }
}

/// Records of every kind of value, from a small pool so that many repeat:
/// texts, data, lists of lists, nested structs and lists of them.
fn all_types(round: u64) -> Vec<AllTypes> {
    (0..60u64)
        .map(|id| {
            let k = (id + round) % 4;
            AllTypes {
                id,
                text: format!("text {k}"),
                data: vec![k as u8; 9 + k as usize],
                texts: (0..k).map(|i| format!("t{i}")).collect(),
                blobs: vec![vec![1, 2, k as u8]],
                uint32_lists: vec![vec![k as u32; 3], vec![]],
                text_lists: vec![vec!["a".into(), format!("b{k}")]],
                inner: Inner {
                    id: k as u32,
                    name: format!("inner {k}"),
                    scores: vec![k as i16; 5],
                    ..Inner::default()
                },
                inners: vec![Inner {
                    name: "x".repeat(k as usize),
                    ..Inner::default()
                }],
                maybe_text: (k == 2).then(|| "maybe".into()),
                maybe_uint64s: (k != 1).then(Vec::new),
                ..AllTypes::default()
            }
        })
        .collect()
}

async fn publish(p: &mut Producer, c: &Catalog, round: u64) -> Option<u64> {
    let extra = all_types(round);
    p.run_cycle(|w| {
        c.movies.values().try_for_each(|m| w.add(m))?;
        c.actors.values().try_for_each(|a| w.add(a))?;
        extra.iter().try_for_each(|a| w.add(a))
    })
    .await
    .unwrap()
    .version
}

/// Asserts that the blob `name` of `shared` and of `plain` hold the same
/// records with the same canonical bytes, directory counts and state
/// checksums, and that both pass the deep record check. Returns both
/// blobs' section lengths for `Movie`.
fn same_blob(shared: &[u8], plain: &[u8], name: BlobName) -> (u64, u64) {
    let n = name.to_string();
    let a = BlobView::open(&n, shared).unwrap();
    let b = BlobView::open(&n, plain).unwrap();
    let versions = |v: &BlobView<'_>| {
        let p = v.prefix();
        (p.kind, p.from_version, p.to_version)
    };
    assert_eq!(versions(&a), versions(&b), "{n}");
    let mut movie_lengths = (0, 0);
    for sa in a.sections() {
        let t = sa.type_name();
        let sb = b.section(t).unwrap();
        sa.check_records()
            .unwrap_or_else(|e| panic!("{n} {t} shared: {e}"));
        sb.check_records()
            .unwrap_or_else(|e| panic!("{n} {t} plain: {e}"));
        let (ia, ib) = (sa.info(), sb.info());
        let counts = |i: &SectionInfo| {
            (
                i.record_count,
                i.removed_count,
                i.ordinal_limit,
                i.state_count,
                i.state_checksum,
            )
        };
        assert_eq!(counts(ia), counts(ib), "{n} {t}");
        if t == "Movie" {
            movie_lengths = (ia.length, ib.length);
        }
        let (mut x, mut y) = (Vec::new(), Vec::new());
        if name.kind() == BlobKind::Snapshot {
            let (va, vb) = (sa.snapshot().unwrap(), sb.snapshot().unwrap());
            assert_eq!(
                va.ordinals().collect::<Vec<_>>(),
                vb.ordinals().collect::<Vec<_>>(),
                "{n} {t}"
            );
            for o in va.ordinals() {
                va.canonical_bytes(o, &mut x).unwrap();
                vb.canonical_bytes(o, &mut y).unwrap();
                assert_eq!(x, y, "{n} {t} ordinal {o}");
            }
        } else {
            let (va, vb) = (sa.delta().unwrap(), sb.delta().unwrap());
            assert_eq!(
                va.removed().collect::<Vec<_>>(),
                vb.removed().collect::<Vec<_>>(),
                "{n} {t}"
            );
            assert_eq!(
                va.added_ordinals().collect::<Vec<_>>(),
                vb.added_ordinals().collect::<Vec<_>>(),
                "{n} {t}"
            );
            for i in 0..va.added_len() {
                va.canonical_bytes(i, &mut x).unwrap();
                vb.canonical_bytes(i, &mut y).unwrap();
                assert_eq!(x, y, "{n} {t} added record {i}");
            }
        }
    }
    movie_lengths
}

/// Asserts that two read states hold the same records at the same
/// ordinals, with the same hashes and checksums, and pass the deep check.
fn same_state(a: &ReadState, b: &ReadState, what: &str) {
    assert_eq!(a.version(), b.version(), "{what}");
    assert_eq!(by_ordinal::<Movie>(a), by_ordinal::<Movie>(b), "{what}");
    assert_eq!(by_ordinal::<Actor>(a), by_ordinal::<Actor>(b), "{what}");
    assert_eq!(
        by_ordinal::<AllTypes>(a),
        by_ordinal::<AllTypes>(b),
        "{what}"
    );
    for t in ["Movie", "Actor", "AllTypes"] {
        assert_eq!(a.checksum(t), b.checksum(t), "{what}: {t}");
        assert!(a.checksum(t).is_some(), "{what}: {t}");
    }
    a.check_records().unwrap();
    b.check_records().unwrap();
}

fn assert_same_store(shared: &MemoryBlobStore, plain: &MemoryBlobStore) {
    let names = shared.names();
    assert_eq!(names, plain.names());
    for name in names {
        let (x, y) = (shared.get(name).unwrap(), plain.get(name).unwrap());
        let (ls, lp) = same_blob(&x, &y, name);
        if name.kind() == BlobKind::Snapshot {
            assert!(
                ls < lp,
                "{name}: the Movie section is {ls} bytes shared and {lp} not"
            );
        }
    }
}

#[tokio::test]
async fn sharing_on_and_off_give_the_same_records_hashes_and_checksums() {
    let (mut on, mut off) = (side(true), side(false));
    let mut catalogs = Vec::new();
    for round in 1..=4 {
        let c = catalog(300, round, 2);
        assert_eq!(publish(&mut on.producer, &c, round).await, Some(round));
        assert_eq!(publish(&mut off.producer, &c, round).await, Some(round));
        on.consumer.refresh().await.unwrap();
        off.consumer.refresh().await.unwrap();
        let (a, b) = (
            on.consumer.current().unwrap(),
            off.consumer.current().unwrap(),
        );
        same_state(&a, &b, &format!("version {round}"));
        c.assert_held_by(&a, "shared");
        catalogs.push(c);
    }
    assert!(on
        .store
        .names()
        .contains(&BlobName::ReverseDelta { from: 4, to: 3 }));
    assert_same_store(&on.store, &off.store);

    // Back through reverse deltas, forward again through deltas.
    for v in [2, 1, 3, 4] {
        on.consumer.refresh_to(v).await.unwrap();
        off.consumer.refresh_to(v).await.unwrap();
        let (a, b) = (
            on.consumer.current().unwrap(),
            off.consumer.current().unwrap(),
        );
        same_state(&a, &b, &format!("refreshed to {v}"));
        catalogs[v as usize - 1].assert_held_by(&a, "shared, refreshed");
    }

    // A rewrite of the held state (reclaim) writes shared sections too.
    assert!(on.consumer.reclaim().await.unwrap());
    let a = on.consumer.current().unwrap();
    assert_eq!(a.blob_names(), vec![BlobName::Snapshot(4)]);
    same_state(&a, &off.consumer.current().unwrap(), "reclaimed");

    // A producer restored from a shared snapshot publishes the same next
    // version as one that never stopped.
    let mut restored = Producer::builder(on.store.clone(), on.announcer.clone())
        .record_type::<AllTypes>()
        .build();
    drop(on.producer);
    assert_eq!(restored.restore(4).await.unwrap(), 4);
    let c5 = catalog(300, 5, 2);
    assert_eq!(publish(&mut restored, &c5, 5).await, Some(5));
    assert_eq!(publish(&mut off.producer, &c5, 5).await, Some(5));
    assert_same_store(&on.store, &off.store);
    let checked = |store: &Arc<MemoryBlobStore>, announcer: &Arc<InProcessAnnouncer>| {
        Consumer::builder(store.clone(), announcer.clone())
            .check_records(true)
            .build()
            .unwrap()
    };
    let (ca, cb) = (
        checked(&on.store, &on.announcer),
        checked(&off.store, &off.announcer),
    );
    ca.refresh_to(5).await.unwrap();
    cb.refresh_to(5).await.unwrap();
    same_state(&ca.current().unwrap(), &cb.current().unwrap(), "restored");
    c5.assert_held_by(&ca.current().unwrap(), "restored, shared");
}

/// A store holding versions 1 (snapshot) and 2 (snapshot and delta) of
/// movies whose genres and descriptions repeat, written with sharing.
async fn two_versions() -> (Arc<MemoryBlobStore>, Arc<InProcessAnnouncer>) {
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let mut p = Producer::builder(store.clone(), announcer.clone()).build();
    for round in 1..=2 {
        let c = catalog(40, round, 2);
        assert_eq!(dataset::publish(&mut p, &c).await, Some(round));
    }
    (store, announcer)
}

/// The byte offset in `blob` of pointer `j` of the `Movie` record at
/// `ordinal` (snapshot) or added `i`-th (delta), and the byte offset of
/// the object it points to.
fn movie_pointer(blob: &[u8], name: BlobName, at: u32, j: usize) -> (usize, usize) {
    let n = name.to_string();
    let view = BlobView::open(&n, blob).unwrap();
    let section = view.section("Movie").unwrap();
    let r = if name.kind() == BlobKind::Snapshot {
        section.snapshot().unwrap().record_reader(at).unwrap()
    } else {
        section.delta().unwrap().added().nth(at as usize).unwrap().1
    };
    let (seg, start, dw, _) = r.parts();
    let base = seg.as_ptr() as usize - blob.as_ptr() as usize;
    let p = base + (start + dw as usize + j) * 8;
    let w = u64::from_le_bytes(blob[p..p + 8].try_into().unwrap());
    let target = p as i64 + 8 + (((w as u32) as i32 >> 2) as i64) * 8;
    (p, target as usize)
}

/// The records of `blob`'s `Movie` section, as [`movie_pointer`] numbers
/// them: populated ordinals of a snapshot, positions of a delta's added
/// records.
fn movie_records(blob: &[u8], name: BlobName) -> Vec<u32> {
    let n = name.to_string();
    let view = BlobView::open(&n, blob).unwrap();
    let section = view.section("Movie").unwrap();
    if name.kind() == BlobKind::Snapshot {
        section.snapshot().unwrap().ordinals().collect()
    } else {
        (0..section.delta().unwrap().added_len()).collect()
    }
}

/// A record of `blob`'s `Movie` section (as [`movie_pointer`] numbers
/// them) whose pointer `j` points at the same object as an earlier
/// record's: a shared value.
fn sharing_record(blob: &[u8], name: BlobName, j: usize) -> u32 {
    let records = movie_records(blob, name);
    for (k, &b) in records.iter().enumerate() {
        let (pb, tb) = movie_pointer(blob, name, b, j);
        if u64::from_le_bytes(blob[pb..pb + 8].try_into().unwrap()) == 0 {
            continue;
        }
        if records[..k]
            .iter()
            .any(|&a| movie_pointer(blob, name, a, j).1 == tb)
        {
            return b;
        }
    }
    panic!("{name}: no two movies share pointer {j}");
}

fn set_word(blob: &mut [u8], at: usize, w: u64) {
    blob[at..at + 8].copy_from_slice(&w.to_le_bytes());
}

fn word(blob: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(blob[at..at + 8].try_into().unwrap())
}

/// The struct pointer at word `at` to word `target` with the given sizes.
fn struct_ptr(at: usize, target: usize, dw: u16, pc: u16) -> u64 {
    let offset = (target as i64 - at as i64 - 1) as i32;
    ((offset << 2) as u32 as u64) | (dw as u64) << 32 | (pc as u64) << 48
}

/// Two damaged copies of `blob` (resealed): the shared pointer `j` of
/// record `b` pointing past the blob's end, and turned into a struct
/// pointer to `b`'s own element (whose pointer it is: a loop).
fn damaged(blob: &[u8], name: BlobName, b: u32, j: usize) -> [(&'static str, Vec<u8>); 2] {
    let (p, _) = movie_pointer(blob, name, b, j);
    let w = word(blob, p);
    let mut out_of_range = blob.to_vec();
    let offset = ((w as u32) as i32 >> 2) + (blob.len() / 8) as i32;
    set_word(
        &mut out_of_range,
        p,
        (w & !0xffff_fffc) | ((offset << 2) as u32 as u64),
    );
    let mut looped = blob.to_vec();
    let (dw, pc) = (Movie::SIZE.data_words, Movie::SIZE.pointers);
    let element = p / 8 - dw as usize - j;
    set_word(&mut looped, p, struct_ptr(p / 8, element, dw, pc));
    [
        ("out of range", reseal(&out_of_range, |_, _| {}).unwrap()),
        ("a loop", reseal(&looped, |_, _| {}).unwrap()),
    ]
}

#[tokio::test]
async fn a_damaged_shared_pointer_in_a_snapshot_is_refused_by_name() {
    let name = BlobName::Snapshot(1);
    for k in 0..2 {
        let (store, announcer) = two_versions().await;
        let good = store.get(name).unwrap();
        let b = sharing_record(&good, name, GENRES);
        let [bad, _] = if k == 0 {
            damaged(&good, name, b, GENRES)
        } else {
            let [x, y] = damaged(&good, name, b, GENRES);
            [y, x]
        };
        let (what, bytes) = bad;
        let view = BlobView::open("snapshot-1", &bytes).unwrap();
        let e = view
            .section("Movie")
            .unwrap()
            .check_records()
            .unwrap_err()
            .to_string();
        for part in ["snapshot-1", "Movie", &format!("ordinal {b}")] {
            assert!(e.contains(part), "{what}: {e}");
        }

        // A consumer checking records refuses the snapshot by name.
        assert!(store.corrupt(name, |old| *old = bytes.clone()));
        store.remove(BlobName::Snapshot(2));
        let c = Consumer::builder(store, announcer)
            .check_records(true)
            .build()
            .unwrap();
        let e = c.refresh_to(1).await.unwrap_err().to_string();
        for part in ["snapshot-1", "Movie", &format!("ordinal {b}")] {
            assert!(e.contains(part), "{what}: consumer: {e}");
        }
        assert!(c.current().is_none(), "{what}: nothing loaded");
    }
}

#[tokio::test]
async fn a_damaged_shared_pointer_in_a_delta_is_refused_and_the_version_kept() {
    let name = BlobName::Delta { from: 1, to: 2 };
    let j = GENRES;
    for k in 0..2 {
        let (store, announcer) = two_versions().await;
        let good = store.get(name).unwrap();
        let i = sharing_record(&good, name, j);
        let o = BlobView::open("delta-1-2", &good)
            .unwrap()
            .section("Movie")
            .unwrap()
            .delta()
            .unwrap()
            .added_ordinals()
            .nth(i as usize)
            .unwrap();
        let [first, second] = damaged(&good, name, i, j);
        let (what, bytes) = if k == 0 { first } else { second };
        let consumer = Consumer::builder(store.clone(), announcer).build().unwrap();
        consumer.refresh_to(1).await.unwrap();
        // Only the delta leads to version 2.
        store.remove(BlobName::Snapshot(2));
        assert!(store.corrupt(name, |old| *old = bytes));
        let e = consumer.refresh_to(2).await.unwrap_err().to_string();
        for part in ["delta-1-2", "Movie", &format!("ordinal {o}")] {
            assert!(e.contains(part), "{what}: {e}");
        }
        assert_eq!(
            consumer.current().unwrap().version(),
            1,
            "{what}: version kept"
        );
    }
}

/// A snapshot of `Movie` records `0..n` whose descriptions are all
/// `description`, written as `options` say, with the state checksum its
/// records add up to.
fn movies_blob(n: u32, description: &str, options: SectionOptions) -> Vec<u8> {
    let records: Vec<Vec<u8>> = (0..n)
        .map(|id| {
            to_canonical_bytes(&Movie {
                id: id.into(),
                description: description.into(),
                ..Movie::default()
            })
            .unwrap()
        })
        .collect();
    let populated: Vec<u64> = (0..n.div_ceil(64))
        .map(|w| {
            let bits = n.saturating_sub(w * 64).min(64);
            if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            }
        })
        .collect();
    let section = blob::snapshot_section_with(
        options,
        Movie::SIZE,
        n,
        &populated,
        records.iter().enumerate().map(|(o, r)| (o as u32, &r[..])),
    )
    .unwrap();
    let checksum = records.iter().enumerate().fold(0u64, |s, (o, r)| {
        s.wrapping_add(blob::state_mix(o as u32, hash_bytes(r)))
    });
    let mut w = BlobWriter::new(BlobKind::Snapshot, 1, 1, 0, 7);
    w.add_section(
        SectionInfo {
            state_checksum: checksum,
            ..SectionInfo::snapshot("Movie", n, n)
        },
        section,
    );
    w.finish(Movie::schema(), &[]).unwrap()
}

#[test]
fn records_sharing_more_than_a_section_justifies_are_refused_and_never_written() {
    let big = "x".repeat(8000);
    // The writer shares a large value only as far as a reader's budget
    // allows: the blob passes the deep check, and is still smaller than
    // without sharing.
    let shared = movies_blob(50, &big, SectionOptions::default());
    let plain = movies_blob(
        50,
        &big,
        SectionOptions {
            share_values: false,
            ..SectionOptions::default()
        },
    );
    for bytes in [&shared, &plain] {
        let view = BlobView::open("snapshot-1", bytes).unwrap();
        view.section("Movie").unwrap().check_records().unwrap();
    }
    assert!(shared.len() < plain.len());

    // Every description pointer repointed at ordinal 0's: each record
    // alone reads within its own limits, but all of them read more than
    // eight words per word of the section.
    let name = BlobName::Snapshot(1);
    let small = movies_blob(
        50,
        "",
        SectionOptions {
            share_values: false,
            ..SectionOptions::default()
        },
    );
    let mut crafted = small.clone();
    // Ordinal 0's description: the big text, appended where the trailer
    // was and the section made longer to hold it.
    let text_words = (big.len() + 1).div_ceil(8);
    let (p0, _) = movie_pointer(&small, name, 0, DESCRIPTION);
    let view = BlobView::open("snapshot-1", &small).unwrap();
    let info = view.section("Movie").unwrap().info().clone();
    let end = (info.offset + info.length) as usize;
    crafted.truncate(end);
    let text_at = crafted.len() / 8;
    crafted.extend_from_slice(big.as_bytes());
    crafted.resize((text_at + text_words) * 8 + 16, 0);
    for o in 0..50 {
        let (p, _) = movie_pointer(&small, name, o, DESCRIPTION);
        let offset = (text_at as i64 - (p / 8) as i64 - 1) as i32;
        let w = (((offset << 2) as u32 | 1) as u64) | 2 << 32 | ((big.len() as u64 + 1) << 35);
        set_word(&mut crafted, p, w);
    }
    let _ = p0;
    let crafted = reseal(&crafted, |_, h| {
        h.sections[0].length += text_words as u64 * 8;
    })
    .unwrap();
    let view = BlobView::open("snapshot-1", &crafted).unwrap();
    let movies = view.section("Movie").unwrap().snapshot().unwrap();
    for o in [0, 49] {
        let m = Movie::wrap(movies.record_reader(o).unwrap());
        assert_eq!(m.description(), big, "ordinal {o} reads the big text");
    }
    let e = view
        .section("Movie")
        .unwrap()
        .check_records()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("snapshot-1") && e.contains("Movie") && e.contains("ordinal"),
        "{e}"
    );
    assert!(e.contains("section's size"), "{e}");
}

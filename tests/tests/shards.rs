//! Record types cut into several sections (shards by ordinal range,
//! `docs/blob-format.md`, "Shards"): a producer given a small shard limit
//! writes blobs that read exactly as unsharded ones (snapshots, deltas,
//! reverse deltas, the deep check, a consumer's rewrite), in format
//! version 2, while unsharded blobs stay version 1; and a damaged shard
//! table (ranges overlapping, missing, a shard past the blob, shards
//! disagreeing on their type's state, several shards in a version 1 blob)
//! is refused, naming the blob and the type.

use std::sync::Arc;

use hollow_runtime::blob::{BlobErrorKind, BlobView};
use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{ErrorKind, Producer, ReadState};
use hollow_tests::crafted::edit_header;
use hollow_tests::dataset::{self, catalog, publish, Catalog};
use hollow_tests::shards::{assert_cut_at, sections_per_type};

/// Sections are cut at this many bytes: a few movies each.
const LIMIT: u64 = 2048;

/// The catalogs of versions 1 and 2 (some movies changed, some removed).
fn versions() -> [Catalog; 2] {
    let v1 = catalog(171, 1, 2);
    let mut v2 = catalog(160, 2, 3);
    // A record past the first shard removed, one added at the end.
    v2.movies.remove(&100);
    v2.movies.insert(500, dataset::movie(500, 7));
    [v1, v2]
}

/// A store holding versions 1 and 2 of [`versions`], written with
/// sections cut at `limit` bytes when given.
fn published(limit: Option<u64>) -> (Arc<MemoryBlobStore>, Arc<InProcessAnnouncer>) {
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    dataset::runtime().block_on(async {
        let builder = Producer::builder(store.clone(), announcer.clone());
        let mut producer = match limit {
            Some(l) => builder.shard_limit(l),
            None => builder,
        }
        .build();
        for (i, c) in versions().iter().enumerate() {
            assert_eq!(publish(&mut producer, c).await, Some(i as u64 + 1));
        }
    });
    (store, announcer)
}

fn format_version(blob: &[u8]) -> u32 {
    u32::from_le_bytes([blob[8], blob[9], blob[10], blob[11]])
}

fn checksums(state: &ReadState) -> Vec<(usize, Option<u64>)> {
    ["Movie", "Actor"]
        .iter()
        .map(|t| (state.count(t), state.checksum(t)))
        .collect()
}

#[test]
fn a_sharded_store_reads_as_an_unsharded_one() {
    let (sharded, announcer) = published(Some(LIMIT));
    let (plain, plain_announcer) = published(None);
    let names = [
        BlobName::Snapshot(1),
        BlobName::Snapshot(2),
        BlobName::Delta { from: 1, to: 2 },
        BlobName::ReverseDelta { from: 2, to: 1 },
    ];
    for name in names {
        let shown = name.to_string();
        let bytes = sharded.get(name).expect("published");
        let most = assert_cut_at(&shown, &bytes, LIMIT, 1024);
        let unsharded = plain.get(name).expect("published");
        assert_eq!(
            sections_per_type(&shown, &unsharded)
                .iter()
                .map(|t| t.1)
                .max(),
            Some(1),
            "{shown} without a limit"
        );
        assert_eq!(format_version(&unsharded), 1, "{shown} without a limit");
        // The deep check adds up every shard of a type.
        BlobView::open(&shown, &bytes)
            .unwrap()
            .check_records()
            .unwrap();
        if matches!(name, BlobName::Snapshot(_)) {
            assert!(most > 5, "{shown}: {most} sections for a type");
            assert_eq!(format_version(&bytes), 2, "{shown}");
        }
    }
    // The delta changes records in several shards' ranges.
    let delta = sharded.get(BlobName::Delta { from: 1, to: 2 }).unwrap();
    let movie_shards = sections_per_type("delta-1-2", &delta)
        .into_iter()
        .find(|t| t.0 == "Movie")
        .unwrap()
        .1;
    assert!(movie_shards > 1, "delta-1-2: {movie_shards} Movie sections");

    let [v1, v2] = versions();
    dataset::runtime().block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let reference = dataset::consumer(plain.clone(), plain_announcer, &tmp.path().join("p"));
        let follower = dataset::consumer(sharded.clone(), announcer.clone(), &tmp.path().join("f"));
        let mut want = Vec::new();
        for (v, c) in [(1, &v1), (2, &v2)] {
            reference.refresh_to(v).await.unwrap();
            want.push(checksums(&reference.current().unwrap()));
            // By snapshot, then by the delta.
            follower.refresh_to(v).await.unwrap();
            let state = follower.current().unwrap();
            c.assert_held_by(&state, &format!("follower at {v}"));
            assert_eq!(checksums(&state), want[v as usize - 1], "version {v}");
            state.check_records().unwrap();
            if v == 1 {
                // Every record is read from the snapshot, whichever shard
                // holds it: nothing for a reclaim to bring back.
                assert_eq!(state.records_outside_base(), 0);
            }
        }
        let state = follower.current().unwrap();
        assert!(state
            .blob_names()
            .contains(&BlobName::Delta { from: 1, to: 2 }));
        // Its rewrite (a consumer's reclaim) holds the same records.
        let again = state.rewritten().unwrap();
        v2.assert_held_by(&again, "rewritten");
        assert!(state.records_outside_base() > 0);
        assert_eq!(again.records_outside_base(), 0);
        assert_eq!(again.blob_names(), vec![BlobName::Snapshot(2)]);

        // A fresh consumer of version 2, then back by the reverse delta.
        sharded.remove(BlobName::Snapshot(1));
        let walker = dataset::consumer(sharded.clone(), announcer, &tmp.path().join("w"));
        walker.refresh_to(2).await.unwrap();
        v2.assert_held_by(&walker.current().unwrap(), "fresh at 2");
        walker.refresh_to(1).await.unwrap();
        let back = walker.current().unwrap();
        v1.assert_held_by(&back, "walker back at 1");
        assert_eq!(checksums(&back), want[0]);
        assert!(back
            .blob_names()
            .contains(&BlobName::ReverseDelta { from: 2, to: 1 }));
    });
}

/// Version 1's snapshot, sharded.
fn sharded_snapshot() -> Vec<u8> {
    let (store, _) = published(Some(LIMIT));
    store.get(BlobName::Snapshot(1)).unwrap()
}

/// The directory index of the `k`-th Movie section.
fn movie_section(h: &hollow_runtime::blob::BlobHeader, k: usize) -> usize {
    h.sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.type_name == "Movie")
        .nth(k)
        .expect("several Movie sections")
        .0
}

/// Opening `bytes` as `snapshot-1` fails with a header error naming the
/// blob, Movie and `what`.
fn refused(bytes: &[u8], what: &str) {
    let e = BlobView::open("snapshot-1", bytes).expect_err(what);
    assert_eq!(e.kind(), BlobErrorKind::Header, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("snapshot-1") && msg.contains("Movie") && msg.contains(what),
        "{msg}"
    );
    // A consumer's load refuses it the same way, as a corrupt blob.
    let e =
        ReadState::open_snapshot(BlobName::Snapshot(1), Arc::new(bytes.to_vec())).expect_err(what);
    assert_eq!(e.kind(), ErrorKind::CorruptBlob);
    assert!(e.to_string().contains(what), "{e}");
}

#[test]
fn damaged_shard_tables_are_refused_by_name() {
    let blob = sharded_snapshot();
    assert!(BlobView::open("snapshot-1", &blob).is_ok());

    // Two ranges overlapping: the second shard starts one ordinal early.
    let bad = edit_header(&blob, |_, h| {
        let i = movie_section(h, 2);
        h.sections[i].first_ordinal -= 1;
    });
    refused(&bad, "overlaps section 1");

    // A range missing: the second shard starts one ordinal late.
    let bad = edit_header(&blob, |_, h| {
        let i = movie_section(h, 2);
        h.sections[i].first_ordinal += 1;
    });
    refused(&bad, "are in no section");

    // The first shard not from ordinal 0.
    let bad = edit_header(&blob, |_, h| {
        let i = movie_section(h, 0);
        h.sections[i].first_ordinal = 1;
    });
    refused(&bad, "must start at ordinal 0");

    // A shard past the end of the blob.
    let bad = edit_header(&blob, |_, h| {
        let i = movie_section(h, 1);
        h.sections[i].length += 1 << 20;
    });
    refused(&bad, "the trailer");

    // Shards disagreeing on the type's state.
    let bad = edit_header(&blob, |_, h| {
        let i = movie_section(h, 3);
        h.sections[i].state_count -= 1;
    });
    refused(&bad, "disagree on its state");

    // Shards whose record counts do not add up to the type's.
    let bad = edit_header(&blob, |_, h| {
        for s in h.sections.iter_mut().filter(|s| s.type_name == "Movie") {
            s.state_count -= 1;
        }
    });
    refused(&bad, "over its sections");

    // Several sections of a type in a blob stating format version 1.
    let mut v1 = blob.clone();
    v1[8..12].copy_from_slice(&1u32.to_le_bytes());
    let bad = edit_header(&v1, |_, _| {});
    refused(&bad, "format version 1 allows one section per record type");
}

#[test]
fn a_shard_whose_bytes_disagree_with_its_range_is_refused() {
    let blob = sharded_snapshot();
    // Shard 1's range made one ordinal longer, shard 2's one shorter: the
    // table is whole, but shard 1's records list no longer has as many
    // elements as its range.
    let bad = edit_header(&blob, |_, h| {
        let (a, b) = (movie_section(h, 1), movie_section(h, 2));
        h.sections[a].ordinal_limit += 1;
        h.sections[b].first_ordinal += 1;
    });
    let e = ReadState::open_snapshot(BlobName::Snapshot(1), Arc::new(bad)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CorruptBlob);
    let msg = e.to_string();
    assert!(msg.contains("snapshot-1") && msg.contains("Movie"), "{msg}");
}

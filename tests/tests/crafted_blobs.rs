//! Blobs damaged in ways a checksum does not catch: real blobs edited and
//! re-sealed (`hollow_tests::crafted`), so every checksum matches. Each is
//! refused with an error naming the blob, the type and the field, or (for a
//! lie only the records can reveal) read correctly and caught by the deep
//! check; none panics, aborts or allocates more than its bytes justify.

use std::sync::Arc;

use hollow_runtime::blob::{BlobErrorKind, BlobView};
use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{hash_bytes, Consumer, Error, ErrorKind, ReadState};
use hollow_tests::crafted::{
    self, edit_header, edit_section, pointer_target, set_u32, set_word, state_mix, u32_at,
    u32_element, word, MOVIES_V1, MOVIES_V2,
};
use hollow_tests::dataset::by_ordinal;
use hollow_tests::{Actor, Movie};

const S1: BlobName = BlobName::Snapshot(1);
const S2: BlobName = BlobName::Snapshot(2);
const D12: BlobName = BlobName::Delta { from: 1, to: 2 };
const R21: BlobName = BlobName::ReverseDelta { from: 2, to: 1 };

/// In a snapshot section (as the Rust writer lays it out): the bitmap's
/// pointer word and first word, the records list's pointer word.
const POPULATED_PTR: usize = 1;
const BITMAP: usize = 3;
const RECORDS_PTR: usize = 2;
/// In a delta section: the `removed` and `added` lists' pointer words.
const REMOVED_PTR: usize = 1;
const ADDED_PTR: usize = 2;

fn open(name: BlobName, bytes: &[u8]) -> Result<ReadState, Error> {
    ReadState::open_snapshot(name, Arc::new(bytes.to_vec()))
}

fn apply(state: &ReadState, name: BlobName, bytes: &[u8]) -> Result<ReadState, Error> {
    state.apply_blob(name, Arc::new(bytes.to_vec()))
}

/// Asserts `r` is a [`ErrorKind::CorruptBlob`] whose message holds every
/// one of `needles`; returns the message.
fn refused(r: Result<ReadState, Error>, needles: &[&str]) -> String {
    let e = r.expect_err("the damaged blob was accepted");
    let msg = e.to_string();
    assert_eq!(e.kind(), ErrorKind::CorruptBlob, "{msg}");
    for n in needles {
        assert!(msg.contains(n), "{n:?} not in {msg:?}");
    }
    msg
}

/// Sets `field` of `type_name`'s directory entry.
fn set_entry(
    blob: &[u8],
    type_name: &str,
    field: impl FnOnce(&mut hollow_runtime::blob::SectionInfo),
) -> Vec<u8> {
    edit_header(blob, |_, h| {
        let s = h
            .sections
            .iter_mut()
            .find(|s| s.type_name == type_name)
            .expect("a section for the type");
        field(s);
    })
}

#[test]
fn blobs_unedited_load_and_pass_the_deep_check() {
    let blobs = crafted::two_versions();
    let v1 = open(S1, &blobs[&S1]).unwrap();
    v1.check_records().unwrap();
    assert_eq!(v1.records::<Movie>().len(), MOVIES_V1 as usize);
    let v2 = apply(&v1, D12, &blobs[&D12]).unwrap();
    assert_eq!(v2.records::<Movie>().len(), MOVIES_V2 as usize);
    v2.check_records().unwrap();
    let back = apply(&v2, R21, &blobs[&R21]).unwrap();
    assert_eq!(by_ordinal::<Movie>(&back), by_ordinal::<Movie>(&v1));
    // Re-sealing with no edit changes nothing.
    for (name, bytes) in &blobs {
        assert_eq!(&edit_header(bytes, |_, _| {}), bytes, "{name}");
    }
}

#[test]
fn a_delta_ordinal_past_its_limit_is_refused() {
    let blobs = crafted::two_versions();
    let v1 = open(S1, &blobs[&S1]).unwrap();
    let delta = &blobs[&D12];
    // 0xFFFFFFFF once made the ordinal table's `o + 1` wrap.
    for (pointer, what) in [(ADDED_PTR, "added"), (REMOVED_PTR, "removed")] {
        for bad in [u32::MAX, 0x7FFF_FFFF] {
            let bytes = edit_section(delta, "Movie", |s| {
                set_u32(s, u32_element(s, pointer, 0), bad)
            });
            refused(
                apply(&v1, D12, &bytes),
                &["delta-1-2", "Movie", what, &bad.to_string(), "ordinalLimit"],
            );
        }
    }
    // The limit itself is checked against the ordinals, whatever it says.
    let bytes = set_entry(delta, "Movie", |s| s.ordinal_limit = 0);
    refused(apply(&v1, D12, &bytes), &["delta-1-2", "Movie"]);
}

#[test]
fn a_delta_ordinal_listed_twice_is_refused() {
    let blobs = crafted::two_versions();
    let v1 = open(S1, &blobs[&S1]).unwrap();
    for pointer in [ADDED_PTR, REMOVED_PTR] {
        let bytes = edit_section(&blobs[&D12], "Movie", |s| {
            let first = u32_at(s, u32_element(s, pointer, 0));
            set_u32(s, u32_element(s, pointer, 1), first);
        });
        refused(
            apply(&v1, D12, &bytes),
            &["delta-1-2", "Movie", "listed twice"],
        );
    }
}

#[test]
fn a_delta_may_not_raise_the_limit_past_the_records_it_adds() {
    let blobs = crafted::two_versions();
    let v1 = open(S1, &blobs[&S1]).unwrap();
    let delta = &blobs[&D12];
    // Move the first added movie to ordinal `to` and make the whole delta
    // consistent: limit raised, state checksum recomputed. Only the
    // ordinals' spread is wrong: a table of every ordinal up to 0xFFFFFFFE
    // would cost 32 MiB of chunk list for one record.
    let view = BlobView::open("delta-1-2", delta).unwrap();
    let d = view.section("Movie").unwrap().delta().unwrap();
    let added = d.added().count() as u32;
    let (first, _) = d.added().next().unwrap();
    let mut canon = Vec::new();
    d.canonical_bytes(0, &mut canon).unwrap();
    let h = hash_bytes(&canon);
    let moved_to = |to: u32| {
        let moved = edit_section(delta, "Movie", |s| {
            set_u32(s, u32_element(s, ADDED_PTR, 0), to)
        });
        set_entry(&moved, "Movie", |s| {
            s.ordinal_limit = s.ordinal_limit.max(to + 1);
            s.state_checksum = s
                .state_checksum
                .wrapping_sub(state_mix(first, h))
                .wrapping_add(state_mix(to, h));
        })
    };
    let held = v1.records::<Movie>().ordinal_limit();
    for far in [held + added, 0x7FFF_FFFF, 0xFFFF_FFFE] {
        refused(
            apply(&v1, D12, &moved_to(far)),
            &[
                "delta-1-2",
                "Movie",
                &format!("added ordinal {far} lies past"),
            ],
        );
    }
    // The producer's own delta stays within the bound, and reaches the
    // limit it carries.
    let v2 = apply(&v1, D12, delta).unwrap();
    assert!(v2.records::<Movie>().ordinal_limit() <= held + added);
    assert_eq!(v2.records::<Movie>().len(), MOVIES_V2 as usize);
}

#[test]
fn snapshot_counts_must_match_its_bitmap() {
    let blobs = crafted::two_versions();
    let snap = &blobs[&S1];
    // A state count the records list could not hold: refused before any
    // table or index is sized by it.
    for bad in [0x7FFF_FFFFu32, u32::MAX] {
        let bytes = set_entry(snap, "Movie", |s| s.state_count = bad);
        refused(open(S1, &bytes), &["snapshot-1", "Movie", "stateCount"]);
        let bytes = set_entry(snap, "Movie", |s| {
            s.state_count = bad;
            s.record_count = bad;
        });
        refused(open(S1, &bytes), &["snapshot-1", "Movie"]);
    }
    // stateCount 0 while 171 records are populated (len() said 0 while
    // iteration yielded 171).
    let bytes = set_entry(snap, "Movie", |s| s.state_count = 0);
    refused(open(S1, &bytes), &["snapshot-1", "Movie", "stateCount"]);
    let bytes = set_entry(snap, "Movie", |s| {
        s.state_count = 0;
        s.record_count = 0;
    });
    refused(
        open(S1, &bytes),
        &["snapshot-1", "Movie", "populated", "recordCount"],
    );
    // A removed count in a snapshot.
    let bytes = set_entry(snap, "Actor", |s| s.removed_count = 1);
    refused(open(S1, &bytes), &["snapshot-1", "Actor", "removedCount"]);
}

#[test]
fn a_limit_the_section_cannot_hold_is_refused_before_allocating() {
    let blobs = crafted::two_versions();
    for limit in [0x7FFF_FFFFu32, u32::MAX, 1 << 20] {
        let bytes = set_entry(&blobs[&S1], "Movie", |s| s.ordinal_limit = limit);
        refused(
            open(S1, &bytes),
            &["snapshot-1", "Movie", "ordinalLimit", "words"],
        );
    }
    let bytes = set_entry(&blobs[&D12], "Actor", |s| {
        s.record_count = 0x7FFF_FFFF;
        s.ordinal_limit = u32::MAX;
    });
    let v1 = open(S1, &blobs[&S1]).unwrap();
    refused(
        apply(&v1, D12, &bytes),
        &["delta-1-2", "Actor", "recordCount"],
    );
}

#[test]
fn zeroed_bitmap_words_are_refused_or_caught_by_the_deep_check() {
    let blobs = crafted::two_versions();
    let snap = &blobs[&S1];
    let mut dropped = 0;
    let zeroed = edit_section(snap, "Movie", |s| {
        assert_eq!(pointer_target(s, POPULATED_PTR), BITMAP);
        dropped = word(s, BITMAP).count_ones();
        set_word(s, BITMAP, 0);
    });
    assert!(dropped > 0);
    refused(open(S1, &zeroed), &["snapshot-1", "Movie", "populated"]);
    // The counts lowered to match: the directory agrees with itself, so
    // loading accepts it, but the records do not add up to the state
    // checksum.
    let consistent = set_entry(&zeroed, "Movie", |s| {
        s.record_count -= dropped;
        s.state_count -= dropped;
    });
    let state = open(S1, &consistent).unwrap();
    assert_eq!(
        state.records::<Movie>().len(),
        state.records::<Movie>().iter().count()
    );
    let e = state.check_records().unwrap_err();
    assert!(
        e.to_string().contains("snapshot-1") && e.to_string().contains("Movie"),
        "{e}"
    );
    let view = BlobView::open("snapshot-1", &consistent).unwrap();
    let e = view.section("Movie").unwrap().check_records().unwrap_err();
    assert_eq!(e.kind(), BlobErrorKind::Records, "{e}");
}

#[tokio::test]
async fn a_consumer_can_run_the_deep_check_on_every_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    crafted::publish_two_versions(&store, &announcer).await;
    // snapshot-2 with a bitmap word zeroed and its counts lowered to match.
    let damaged = store.corrupt(S2, |b| {
        let mut dropped = 0;
        let zeroed = edit_section(b, "Movie", |s| {
            dropped = word(s, BITMAP).count_ones();
            set_word(s, BITMAP, 0);
        });
        *b = set_entry(&zeroed, "Movie", |s| {
            s.record_count -= dropped;
            s.state_count -= dropped;
        });
    });
    assert!(damaged);
    let consumer = |deep: bool, cache: &str| {
        Consumer::builder(store.clone(), announcer.clone())
            .cache_dir(tmp.path().join(cache))
            .check_records(deep)
            .build()
            .unwrap()
    };
    // Loading checks no record by default: the lie is served.
    let trusting = consumer(false, "trusting");
    trusting.refresh_to(2).await.unwrap();
    assert!(trusting.current().unwrap().records::<Movie>().len() < MOVIES_V2 as usize);
    // With the deep check the snapshot is refused (a failure in the
    // metrics), and version 2 is reached another way: snapshot-1, which
    // passes the deep check, and delta-1-2.
    let careful = consumer(true, "careful");
    careful.refresh_to(2).await.unwrap();
    let state = careful.current().unwrap();
    assert_eq!(state.records::<Movie>().len(), MOVIES_V2 as usize);
    assert_eq!(state.blob_names(), [S1, D12]);
    assert!(careful.metrics().failures >= 1);
}

#[tokio::test]
async fn a_consumer_plans_around_a_delta_with_an_impossible_ordinal() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    crafted::publish_two_versions(&store, &announcer).await;
    assert!(store.corrupt(D12, |b| {
        *b = edit_section(b, "Movie", |s| {
            set_u32(s, u32_element(s, ADDED_PTR, 0), u32::MAX)
        });
    }));
    let consumer = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(tmp.path().join("c"))
        .build()
        .unwrap();
    consumer.refresh_to(1).await.unwrap();
    // The delta is refused (not a panic), and version 2 is reached from
    // its snapshot.
    consumer.refresh_to(2).await.unwrap();
    let state = consumer.current().unwrap();
    assert_eq!(state.blob_names(), [S2]);
    assert_eq!(state.records::<Movie>().len(), MOVIES_V2 as usize);
    assert!(consumer.metrics().failures >= 1);
}

#[tokio::test]
async fn a_filtering_consumer_rewrites_a_snapshot_with_every_record_type() {
    // A rewritten snapshot must pass the same checks as a published one,
    // including a section for every record type of its schema: the types a
    // filtering consumer does not hold get empty ones.
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    crafted::publish_two_versions(&store, &announcer).await;
    let movies_only = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(tmp.path().join("m"))
        .record_type::<Movie>()
        .build()
        .unwrap();
    movies_only.refresh_to(1).await.unwrap();
    movies_only.refresh_to(2).await.unwrap();
    let before = movies_only.current().unwrap();
    assert_eq!(before.blob_names(), [S1, D12]);
    assert!(movies_only.reclaim().await.unwrap());
    let after = movies_only.current().unwrap();
    assert_eq!(after.blob_names(), [S2]);
    assert_eq!(by_ordinal::<Movie>(&after), by_ordinal::<Movie>(&before));
    assert_eq!(after.records::<Actor>().len(), 0);
    after.check_records().unwrap();
}

#[test]
fn bits_past_the_limit_are_refused() {
    let blobs = crafted::two_versions();
    let snap = &blobs[&S1];
    let limit = BlobView::open("s", snap)
        .unwrap()
        .section("Movie")
        .unwrap()
        .info()
        .ordinal_limit;
    assert_ne!(limit % 64, 0, "the test needs a limit inside a word");
    let last = BITMAP + (limit as usize - 1) / 64;
    let bytes = edit_section(snap, "Movie", |s| {
        set_word(s, last, word(s, last) | 1 << 63)
    });
    refused(
        open(S1, &bytes),
        &["snapshot-1", "Movie", "populated", "ordinalLimit"],
    );
}

#[test]
fn a_section_cut_short_is_refused() {
    let blobs = crafted::two_versions();
    for name in [S1, D12] {
        let bytes = set_entry(&blobs[&name], "Movie", |s| s.length -= 8);
        let shown = name.to_string();
        let e = BlobView::open(&shown, &bytes).unwrap_err();
        assert_eq!(e.kind(), BlobErrorKind::Header, "{e}");
        assert!(e.to_string().contains(&shown), "{e}");
    }
    let bytes = set_entry(&blobs[&S1], "Movie", |s| s.length -= 8);
    refused(open(S1, &bytes), &["snapshot-1", "no section holds"]);
}

#[test]
fn objects_cut_off_a_section_fail_the_deep_check() {
    // The last section loses its last 8 bytes (the last record's objects)
    // and its entry says so: the directory is consistent, and the record
    // reads a default where its text was. The deep check reads every
    // record and finds it.
    let blobs = crafted::two_versions();
    let snap = &blobs[&S1];
    let view = BlobView::open("snapshot-1", snap).unwrap();
    let last = view
        .header()
        .sections
        .iter()
        .max_by_key(|s| s.offset)
        .unwrap()
        .clone();
    let end = (last.offset + last.length) as usize;
    let mut cut = snap[..end - 8].to_vec();
    cut.extend_from_slice(&snap[end..]);
    let bytes = set_entry(&cut, &last.type_name, |s| s.length -= 8);
    let deep = open(S1, &bytes).and_then(|s| s.check_records().map(|()| s));
    refused(deep, &["snapshot-1", &last.type_name]);
    let view = BlobView::open("snapshot-1", &bytes);
    let e = view
        .and_then(|v| v.section(&last.type_name).unwrap().check_records())
        .unwrap_err();
    assert!(e.to_string().contains(&last.type_name), "{e}");
}

#[test]
fn a_snapshot_without_a_directory_is_refused() {
    let blobs = crafted::two_versions();
    let bytes = edit_header(&blobs[&S1], |_, h| h.sections.clear());
    refused(open(S1, &bytes), &["snapshot-1"]);
    let e = BlobView::open("snapshot-1", &bytes).unwrap_err();
    assert_eq!(e.kind(), BlobErrorKind::Header, "{e}");
}

#[test]
fn records_narrower_than_the_schema_are_refused() {
    // The records list's tag claims one data word less than the schema's
    // Movie: its last fields would read as defaults.
    let blobs = crafted::two_versions();
    let bytes = edit_section(&blobs[&S1], "Movie", |s| {
        let tag = pointer_target(s, RECORDS_PTR);
        let w = word(s, tag);
        let data_words = (w >> 32) as u16;
        set_word(
            s,
            tag,
            (w & !(0xFFFF << 32)) | ((data_words as u64 - 1) << 32),
        );
    });
    refused(open(S1, &bytes), &["snapshot-1", "Movie", "data words"]);
}

#[test]
fn a_renamed_or_relabelled_blob_is_not_served_as_another_version() {
    let blobs = crafted::two_versions();
    // snapshot-1 under the name snapshot-2.
    refused(
        open(S2, &blobs[&S1]),
        &["snapshot-2", "not what its name says"],
    );
    let e = BlobView::open("snapshot-2", &blobs[&S1]).unwrap_err();
    assert_eq!(e.kind(), BlobErrorKind::Prefix, "{e}");
    // A delta under a reverse delta's name.
    let v2 = open(S2, &blobs[&S2]).unwrap();
    refused(apply(&v2, R21, &blobs[&D12]), &["reversedelta-2-1"]);
    // snapshot-1 with its prefix rewritten to say version 2: its own bytes
    // cannot tell, but its state is not the one delta-1-2 reaches.
    let relabelled = edit_header(&blobs[&S1], |p, _| {
        p.from_version = 2;
        p.to_version = 2;
    });
    let fake = open(S2, &relabelled).unwrap();
    let v1 = open(S1, &blobs[&S1]).unwrap();
    let real = apply(&v1, D12, &blobs[&D12]).unwrap();
    assert_ne!(fake.tag(), real.tag());
    assert_ne!(fake.checksum("Movie"), real.checksum("Movie"));
}

/// Every numeric field of every directory entry of every blob, set to
/// boundary values: never a panic; a blob accepted and passing the deep
/// check holds exactly the records of the unedited one.
#[test]
fn directory_mutants_are_refused_or_read_correctly() {
    let blobs = crafted::two_versions();
    let v1 = open(S1, &blobs[&S1]).unwrap();
    let v2 = open(S2, &blobs[&S2]).unwrap();
    let values = |n: u64| {
        [
            0,
            1,
            n.wrapping_sub(1),
            n.wrapping_add(1),
            n.wrapping_add(8),
            0x7FFF_FFFF,
            u32::MAX as u64,
        ]
    };
    type Field = fn(&mut hollow_runtime::blob::SectionInfo) -> &mut u64;
    let mut tried = 0;
    for (name, base) in [(S1, None), (S2, None), (D12, Some(&v1)), (R21, Some(&v2))] {
        let bytes = &blobs[&name];
        let view = BlobView::open(&name.to_string(), bytes).unwrap();
        let entries = view.header().sections.clone();
        for (i, entry) in entries.iter().enumerate() {
            let u32_fields: [(&str, u32); 4] = [
                ("recordCount", entry.record_count),
                ("removedCount", entry.removed_count),
                ("ordinalLimit", entry.ordinal_limit),
                ("stateCount", entry.state_count),
            ];
            for (field, old) in u32_fields {
                for v in values(old as u64) {
                    let v = v as u32;
                    if v == old {
                        continue;
                    }
                    let edited = edit_header(bytes, |_, h| {
                        let s = &mut h.sections[i];
                        *match field {
                            "recordCount" => &mut s.record_count,
                            "removedCount" => &mut s.removed_count,
                            "ordinalLimit" => &mut s.ordinal_limit,
                            _ => &mut s.state_count,
                        } = v;
                    });
                    check_mutant(name, base, &edited, bytes, &format!("{field} = {v}"));
                    tried += 1;
                }
            }
            let u64_fields: [(Field, u64); 3] = [
                (|s| &mut s.offset, entry.offset),
                (|s| &mut s.length, entry.length),
                (|s| &mut s.state_checksum, entry.state_checksum),
            ];
            for (k, (field, old)) in u64_fields.into_iter().enumerate() {
                for v in values(old).into_iter().chain([old ^ 1, u64::MAX]) {
                    if v == old {
                        continue;
                    }
                    let edited = edit_header(bytes, |_, h| *field(&mut h.sections[i]) = v);
                    check_mutant(name, base, &edited, bytes, &format!("u64 field {k} = {v}"));
                    tried += 1;
                }
            }
        }
    }
    assert!(tried > 150, "{tried} mutants");
}

/// Loads `edited` (a mutant of `original`) as `name`, from `base` for a
/// delta: an error, or the same records as `original` gives once the deep
/// check passes.
fn check_mutant(
    name: BlobName,
    base: Option<&ReadState>,
    edited: &[u8],
    original: &[u8],
    what: &str,
) {
    let load = |bytes: &[u8]| match base {
        None => open(name, bytes),
        Some(b) => apply(b, name, bytes),
    };
    let Ok(state) = load(edited) else {
        return;
    };
    for t in ["Movie", "Actor"] {
        let raw = state.raw_records(t).unwrap();
        let n = (0..raw.ordinal_limit().min(1 << 20))
            .filter(|&o| raw.get(o).is_some())
            .count();
        if state.check_records().is_ok() {
            assert_eq!(n, raw.len(), "{name} {what}: {t} count");
        }
    }
    if state.check_records().is_ok() {
        let good = load(original).unwrap();
        assert_eq!(
            by_ordinal::<Movie>(&state),
            by_ordinal::<Movie>(&good),
            "{name} {what}"
        );
        assert_eq!(
            by_ordinal::<Actor>(&state),
            by_ordinal::<Actor>(&good),
            "{name} {what}"
        );
    }
}

//! Maps and sets through the runtime: the blob header carries a field's
//! `$Hollow.map` / `$Hollow.set` mark from producer to consumer, and a blob
//! whose map or set is out of order or repeats a key is refused as damaged.

use std::collections::BTreeSet;
use std::sync::Arc;

use hollow_runtime::blob::{BlobErrorKind, BlobView};
use hollow_runtime::dynamic::DynamicSchema;
use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{Consumer, Error, ErrorKind, Hollow, Producer, ReadState};
use hollow_schema::Collection;
use hollow_tests::crafted::edit_section;

/// A record with a set field.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(rename = "Tagged", primary_key(id))]
struct Tagged {
    id: u64,
    name: String,
    tags: BTreeSet<String>,
    scores: BTreeSet<i32>,
}

fn tagged(id: u64) -> Tagged {
    Tagged {
        id,
        name: format!("item {id}"),
        tags: (0..id % 4)
            .map(|i| format!("tag{}", (id + i) % 5))
            .collect(),
        scores: [-(id as i32), id as i32 * 3, 7].into_iter().collect(),
    }
}

fn memory() -> (Arc<MemoryBlobStore>, Arc<InProcessAnnouncer>) {
    (
        Arc::new(MemoryBlobStore::new()),
        Arc::new(InProcessAnnouncer::new()),
    )
}

/// The collection mark of `field` of struct `ty` in `schema`.
fn mark(schema: &hollow_schema::Schema, ty: &str, field: &str) -> Option<Collection> {
    let s = schema.get_struct(ty).expect("the struct");
    let f = s
        .fields
        .iter()
        .find(|f| f.name == field)
        .expect("the field");
    f.as_slot().expect("a slot").collection
}

#[tokio::test]
async fn a_set_field_keeps_its_mark_from_producer_to_consumer() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, ann) = memory();
    let items: Vec<Tagged> = (1..=12).map(tagged).collect();
    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<Tagged>()
        .build();
    p.run_cycle(|w| items.iter().try_for_each(|m| w.add(m)))
        .await
        .expect("cycle 1");

    // A consumer compiled with the type, and one reading the blob's schema only.
    for typed in [true, false] {
        let b = Consumer::builder(store.clone(), ann.clone())
            .cache_dir(tmp.path().join(format!("c{typed}")));
        let c = if typed { b.record_type::<Tagged>() } else { b }
            .build()
            .unwrap();
        assert_eq!(c.refresh().await.unwrap(), Some(1));
        let s = c.current().expect("version 1");
        assert_eq!(mark(s.schema(), "Tagged", "tags"), Some(Collection::Set));
        assert_eq!(mark(s.schema(), "Tagged", "scores"), Some(Collection::Set));
        assert_eq!(mark(s.schema(), "Tagged", "name"), None);
        let mut read: Vec<Tagged> = s
            .records::<Tagged>()
            .iter()
            .map(|(_, r)| r.to_value().expect("a whole record"))
            .collect();
        read.sort_by_key(|t| t.id);
        assert_eq!(read, items);
        s.check_records().expect("sorted sets pass the deep check");
    }
}

/// Version 1: items 1..=12 and item 100 (`tags` `key-aaa`, `key-bbb`;
/// `scores` 1000001, 1000002); version 2 adds item 101 (`key-ccc`,
/// `key-ddd`; 2000001, 2000002). Those values are found in the section
/// bytes and edited.
fn two_versions() -> (Vec<u8>, Vec<u8>) {
    let store = Arc::new(MemoryBlobStore::new());
    let ann = Arc::new(InProcessAnnouncer::new());
    let special = |id: u64, tags: [&str; 2], scores: [i32; 2]| Tagged {
        id,
        name: format!("special {id}"),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        scores: scores.into_iter().collect(),
    };
    let mut v1: Vec<Tagged> = (1..=12).map(tagged).collect();
    v1.push(special(100, ["key-aaa", "key-bbb"], [1_000_001, 1_000_002]));
    let mut v2 = v1.clone();
    v2.push(special(101, ["key-ccc", "key-ddd"], [2_000_001, 2_000_002]));
    hollow_tests::dataset::runtime().block_on(async {
        let mut p = Producer::builder(store.clone(), ann.clone())
            .record_type::<Tagged>()
            .build();
        for items in [&v1, &v2] {
            p.run_cycle(|w| items.iter().try_for_each(|m| w.add(m)))
                .await
                .expect("a cycle");
        }
    });
    (
        store.get(BlobName::Snapshot(1)).expect("snapshot-1"),
        store
            .get(BlobName::Delta { from: 1, to: 2 })
            .expect("delta-1-2"),
    )
}

/// Where `needle` is in `hay` (once).
fn find(hay: &[u8], needle: &[u8]) -> usize {
    let at: Vec<usize> = hay
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "{needle:?} found {} times", at.len());
    at[0]
}

/// The two adjacent `i32` elements `a`, `b` of a set in `blob`'s Tagged
/// section, rewritten as `to`.
fn edit_scores(blob: &[u8], a: i32, b: i32, to: [i32; 2]) -> Vec<u8> {
    let pair: Vec<u8> = [a, b].iter().flat_map(|x| x.to_le_bytes()).collect();
    edit_section(blob, "Tagged", |s| {
        let at = find(s, &pair);
        s[at..at + 4].copy_from_slice(&to[0].to_le_bytes());
        s[at + 4..at + 8].copy_from_slice(&to[1].to_le_bytes());
    })
}

/// The text `from` of a set in `blob`'s Tagged section rewritten as `to`
/// (of the same length).
fn edit_text(blob: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    edit_section(blob, "Tagged", |s| {
        let at = find(s, from.as_bytes());
        s[at..at + to.len()].copy_from_slice(to.as_bytes());
    })
}

/// `blob` with the list pointer in its Tagged section to the list starting
/// with `target_bytes` (`count` elements of element-size code `size`)
/// pointed far past the section's end.
fn point_out(blob: &[u8], target_bytes: &[u8], size: u64, count: u64) -> Vec<u8> {
    edit_section(blob, "Tagged", |s| {
        let at = find(s, target_bytes);
        assert_eq!(at % 8, 0, "a list starts on a word");
        let word = |i: usize| u64::from_le_bytes(s[i * 8..i * 8 + 8].try_into().unwrap());
        let from = (0..s.len() / 8)
            .find(|&i| {
                let w = word(i);
                let offset = i64::from((w as u32 as i32) >> 2);
                w & 3 == 1
                    && (w >> 32) & 7 == size
                    && w >> 35 == count
                    && i as i64 + 1 + offset == (at / 8) as i64
            })
            .expect("the pointer to the list");
        let far = (word(from) & !0xffff_fffc) | (0x1000_0000u64 << 2);
        s[from * 8..from * 8 + 8].copy_from_slice(&far.to_le_bytes());
    })
}

/// Asserts `r` is refused as a corrupt blob with a message holding every
/// one of `needles`.
fn refused<T: std::fmt::Debug>(r: Result<T, Error>, needles: &[&str]) {
    let e = r.expect_err("the damaged blob was accepted");
    let msg = e.to_string();
    assert_eq!(e.kind(), ErrorKind::CorruptBlob, "{msg}");
    for n in needles {
        assert!(msg.contains(n), "{n:?} not in {msg:?}");
    }
}

/// The deep check of `blob`'s Tagged section (`hollow verify`'s) refuses it
/// with a message holding every one of `needles`.
fn section_refused(name: &str, blob: &[u8], needles: &[&str]) {
    let view = BlobView::open(name, blob).expect("the envelope is sound");
    let e = view
        .section("Tagged")
        .expect("a Tagged section")
        .check_records()
        .expect_err("the damaged section passed the deep check");
    assert_eq!(e.kind(), BlobErrorKind::Records, "{e}");
    let msg = e.to_string();
    for n in needles {
        assert!(msg.contains(n), "{n:?} not in {msg:?}");
    }
}

/// What the dynamic reader (`hollow export`, `inspect` and `diff`, which
/// read a blob without loading it) says of record `ordinal` of `blob`'s
/// Tagged section, written as JSON.
fn exported(blob: &[u8], ordinal: u32) -> Result<String, String> {
    let view = BlobView::open("snapshot-1", blob).expect("the envelope is sound");
    let schema = DynamicSchema::new(&view.header().schema).expect("the schema compiles");
    let t = schema.record_type("Tagged").expect("a Tagged type");
    let section = view.section("Tagged").expect("a Tagged section");
    let records = section.snapshot().expect("a snapshot section");
    let r = records.record_reader(ordinal).expect("a record there");
    let mut out = Vec::new();
    schema
        .record(t, r)
        .write_json(&mut out)
        .map(|()| String::from_utf8_lossy(&out).into_owned())
        .map_err(|e| e.to_string())
}

fn open(bytes: &[u8]) -> Result<ReadState, Error> {
    ReadState::open_snapshot(BlobName::Snapshot(1), Arc::new(bytes.to_vec()))
}

#[test]
fn a_snapshot_whose_set_is_out_of_order_or_repeats_is_refused_at_load_and_by_the_deep_check() {
    let (snapshot, _) = two_versions();
    let state = open(&snapshot).expect("the sound snapshot loads");
    state.check_records().expect("and passes the deep check");
    let ordinal = state
        .raw_records("Tagged")
        .map(|r| r.len())
        .expect("Tagged records");
    assert_eq!(ordinal, 13);

    let swapped = edit_scores(&snapshot, 1_000_001, 1_000_002, [1_000_002, 1_000_001]);
    let repeated = edit_scores(&snapshot, 1_000_001, 1_000_002, [1_000_001, 1_000_001]);
    let text_swapped = edit_text(
        &edit_text(&snapshot, "key-aaa", "key-ccc"),
        "key-bbb",
        "key-aaa",
    );
    let text_repeated = edit_text(&snapshot, "key-bbb", "key-aaa");
    // Item 100 is the 13th record added: ordinal 12.
    for (bad, field, what) in [
        (&swapped, "Tagged.scores", "out of order"),
        (&repeated, "Tagged.scores", "repeats"),
        (&text_swapped, "Tagged.tags", "out of order"),
        (&text_repeated, "Tagged.tags", "repeats"),
    ] {
        refused(
            open(bad),
            &["snapshot-1", "type Tagged", "ordinal 12", field, what],
        );
        section_refused("snapshot-1", bad, &["Tagged", "ordinal 12", field, what]);
        // Export shows no damaged map in its stored order: it refuses it.
        let e = exported(bad, 12).expect_err("the damaged set was exported");
        assert!(e.contains(field) && e.contains(what), "{e}");
        exported(bad, 11).expect("a sound record of the same blob exports");
    }
    let sound = exported(&snapshot, 12).expect("the sound record exports");
    assert!(sound.contains(r#""tags":["key-aaa","key-bbb"]"#), "{sound}");
}

#[test]
fn a_set_whose_pointer_leaves_the_section_is_refused_by_name() {
    let (snapshot, _) = two_versions();
    // The scores set itself (two 4-byte elements), and one tag's text (a
    // set element: 8 bytes with its NUL).
    let scores: Vec<u8> = [1_000_001i32, 1_000_002]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    for (bad, field) in [
        (point_out(&snapshot, &scores, 4, 2), "Tagged.scores"),
        (point_out(&snapshot, b"key-aaa\0", 2, 8), "Tagged.tags"),
    ] {
        refused(
            open(&bad),
            &["snapshot-1", "type Tagged", "ordinal 12", field, "bounds"],
        );
        section_refused("snapshot-1", &bad, &["Tagged", "ordinal 12"]);
        let e = exported(&bad, 12).expect_err("the damaged set was exported");
        assert!(e.contains(field), "{e}");
    }
}

#[test]
fn a_delta_adding_a_damaged_set_is_refused_when_applied_and_by_the_deep_check() {
    let (snapshot, delta) = two_versions();
    let name = BlobName::Delta { from: 1, to: 2 };
    let state = open(&snapshot).expect("the sound snapshot loads");
    let next = state
        .apply_blob(name, Arc::new(delta.clone()))
        .expect("the sound delta applies");
    next.check_records().expect("and passes the deep check");

    let repeated = edit_scores(&delta, 2_000_001, 2_000_002, [2_000_002, 2_000_002]);
    refused(
        state.apply_blob(name, Arc::new(repeated.clone())),
        &[
            "delta-1-2",
            "Tagged",
            "added ordinal 13",
            "Tagged.scores",
            "repeats",
        ],
    );
    section_refused(
        "delta-1-2",
        &repeated,
        &["Tagged", "added at ordinal 13", "Tagged.scores", "repeats"],
    );
    let swapped = edit_text(
        &edit_text(&delta, "key-ccc", "key-eee"),
        "key-ddd",
        "key-ccc",
    );
    refused(
        state.apply_blob(name, Arc::new(swapped)),
        &[
            "delta-1-2",
            "added ordinal 13",
            "Tagged.tags",
            "out of order",
        ],
    );
}

#[test]
fn a_header_marking_a_field_that_cannot_be_a_set_is_refused() {
    let (snapshot, _) = two_versions();
    let bad = hollow_tests::crafted::edit_header(&snapshot, |_, h| {
        let hollow_schema::TypeDef::Struct(s) = h
            .schema
            .types
            .iter_mut()
            .find(|t| t.name() == "Tagged")
            .expect("Tagged")
        else {
            panic!("Tagged is a struct");
        };
        let name = s.fields.iter_mut().find(|f| f.name == "name").unwrap();
        *name = name.clone().marked(Collection::Set);
    });
    let e = BlobView::open("snapshot-1", &bad).expect_err("a Text marked as a set");
    let msg = e.to_string();
    assert!(
        msg.contains("snapshot-1") && msg.contains("Tagged") && msg.contains("\"name\""),
        "{msg}"
    );
}

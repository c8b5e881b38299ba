//! Schema evolution within one history: a producer whose record type gained
//! fields restores a version written with the old type and continues it.
//! Identical records keep their ordinals (nothing is republished), the delta
//! applies on consumers holding the old state, consumers built with the old
//! type read the new data and consumers built with the new type read the
//! old data. Incompatible changes are refused at restore, naming type and
//! field.

use std::path::Path;
use std::sync::Arc;

use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{Consumer, Hollow, Producer};

/// Version 1 of the `Show` record type.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(rename = "Show", primary_key(id), hash_index(genre))]
struct ShowV1 {
    id: u64,
    title: String,
    genre: String,
    year: u16,
}

/// Version 2: a pointer field and a data field added (the data field fits
/// in the old data section, the pointer grows the pointer section).
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(rename = "Show", primary_key(id), hash_index(genre))]
struct ShowV2 {
    id: u64,
    title: String,
    genre: String,
    year: u16,
    seasons: u32,
    tagline: String,
}

/// An incompatible change: `year` widened.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(rename = "Show", primary_key(id))]
struct ShowRetyped {
    id: u64,
    title: String,
    genre: String,
    year: u32,
}

/// An incompatible change: `genre` removed.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(rename = "Show", primary_key(id))]
struct ShowRemoved {
    id: u64,
    title: String,
}

fn v1(id: u64) -> ShowV1 {
    ShowV1 {
        id,
        title: format!("show {id}"),
        genre: if id.is_multiple_of(2) {
            "drama"
        } else {
            "comedy"
        }
        .into(),
        year: 2000 + id as u16,
    }
}

fn v2_of(s: &ShowV1) -> ShowV2 {
    ShowV2 {
        id: s.id,
        title: s.title.clone(),
        genre: s.genre.clone(),
        year: s.year,
        seasons: 0,
        tagline: String::new(),
    }
}

fn memory() -> (Arc<MemoryBlobStore>, Arc<InProcessAnnouncer>) {
    (
        Arc::new(MemoryBlobStore::new()),
        Arc::new(InProcessAnnouncer::new()),
    )
}

fn consumer(store: &Arc<MemoryBlobStore>, ann: &Arc<InProcessAnnouncer>, dir: &Path) -> Consumer {
    Consumer::builder(store.clone(), ann.clone())
        .cache_dir(dir)
        .build()
        .expect("a consumer")
}

/// Publishes version 1 (ten shows) with the old type.
async fn publish_v1(store: &Arc<MemoryBlobStore>, ann: &Arc<InProcessAnnouncer>) -> Vec<ShowV1> {
    let shows: Vec<ShowV1> = (1..=10).map(v1).collect();
    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<ShowV1>()
        .build();
    let out = p
        .run_cycle(|w| shows.iter().try_for_each(|s| w.add(s)))
        .await
        .expect("cycle 1");
    assert_eq!(out.version, Some(1));
    shows
}

#[tokio::test]
async fn a_producer_with_an_added_field_continues_the_history() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, ann) = memory();
    let shows = publish_v1(&store, &ann).await;
    // Consumers holding version 1: one built with each type.
    let old_reader = consumer(&store, &ann, &tmp.path().join("old"));
    old_reader.refresh().await.unwrap();
    let new_reader = consumer(&store, &ann, &tmp.path().join("new"));
    new_reader.refresh().await.unwrap();
    let ordinals_v1: Vec<(u32, u64)> = {
        let s = old_reader.current().unwrap();
        s.records::<ShowV1>()
            .iter()
            .map(|(o, r)| (o, r.id()))
            .collect()
    };

    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<ShowV2>()
        .build();
    assert_eq!(p.restore_latest().await.unwrap(), Some(1));

    // The same records built with the new type (new fields at defaults) are
    // byte-identical to the old ones: nothing changed, nothing published.
    let same: Vec<ShowV2> = shows.iter().map(v2_of).collect();
    let out = p
        .run_cycle(|w| same.iter().try_for_each(|s| w.add(s)))
        .await
        .expect("an unchanged cycle");
    assert_eq!(
        out.version, None,
        "identical records must dedupe: {:?}",
        out.changes
    );

    // Now change two shows through the new fields.
    let mut next = same.clone();
    next[1].tagline = "Two of everything.".into();
    next[4].seasons = 5;
    let out = p
        .run_cycle(|w| next.iter().try_for_each(|s| w.add(s)))
        .await
        .expect("a cycle with the new type after restore");
    assert_eq!(out.version, Some(2));
    assert_eq!(out.changes, vec![("Show".to_string(), 2, 2)]);
    assert!(out
        .blobs
        .iter()
        .any(|(b, _)| *b == BlobName::Delta { from: 1, to: 2 }));
    assert!(out.blobs.iter().any(|(b, _)| *b == BlobName::Snapshot(2)));

    // The delta applies on the consumers holding version 1.
    old_reader.refresh().await.unwrap();
    new_reader.refresh().await.unwrap();
    let old_state = old_reader.current().unwrap();
    let new_state = new_reader.current().unwrap();
    assert_eq!((old_state.version(), new_state.version()), (2, 2));

    // Unchanged records kept their ordinals.
    let old_shows = old_state.records::<ShowV1>();
    for &(o, id) in &ordinals_v1 {
        if id != 2 && id != 5 {
            assert_eq!(old_shows.get(o).map(|r| r.id()), Some(id), "ordinal {o}");
        }
    }
    // The old type reads the new data (the new fields skipped) ...
    for s in &shows {
        let r = old_shows.by_primary_key(&s.id).expect("present");
        assert_eq!(r.to_value().unwrap(), *s);
    }
    // ... and the new type reads the new fields after the delta.
    let new_shows = new_state.records::<ShowV2>();
    for s in &next {
        let r = new_shows.by_primary_key(&s.id).expect("present");
        assert_eq!(r.to_value().unwrap(), *s);
    }
    assert_eq!(new_state.index::<ShowV2ByGenre>().count("drama"), 5);

    // A fresh consumer loads snapshot 2, which carries the new schema.
    let fresh = consumer(&store, &ann, &tmp.path().join("fresh"));
    fresh.refresh().await.unwrap();
    let st = fresh.current().unwrap();
    assert_eq!(st.version(), 2);
    let show = st.schema().get_struct("Show").expect("Show in the schema");
    assert!(show.fields.iter().any(|f| f.name == "tagline"), "{show:?}");
    let r = st.records::<ShowV2>().by_primary_key(&2).unwrap();
    assert_eq!(r.tagline(), "Two of everything.");
    // The new type reads version 1 (old schema) with the new fields empty.
    let back = consumer(&store, &ann, &tmp.path().join("back"));
    back.refresh_to(1).await.unwrap();
    let st = back.current().unwrap();
    let r = st.records::<ShowV2>().by_primary_key(&2).unwrap();
    assert_eq!(r.to_value().unwrap(), v2_of(&shows[1]));

    // The history continues: another producer restores version 2 with the
    // new type and runs an unchanged cycle.
    let mut p2 = Producer::builder(store.clone(), ann.clone())
        .record_type::<ShowV2>()
        .build();
    assert_eq!(p2.restore_latest().await.unwrap(), Some(2));
    let out = p2
        .run_cycle(|w| next.iter().try_for_each(|s| w.add(s)))
        .await
        .unwrap();
    assert_eq!(out.version, None);
}

#[tokio::test]
async fn an_undeclared_type_evolves_on_first_add_after_restore() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, ann) = memory();
    let shows = publish_v1(&store, &ann).await;
    let reader = consumer(&store, &ann, &tmp.path().join("r"));
    reader.refresh().await.unwrap();

    // No record_type: the restored type is untyped until the first add.
    let mut p = Producer::builder(store.clone(), ann.clone()).build();
    p.restore_latest().await.unwrap();
    let mut next: Vec<ShowV2> = shows.iter().map(v2_of).collect();
    next[0].tagline = "The first.".into();
    let out = p
        .run_cycle(|w| next.iter().try_for_each(|s| w.add(s)))
        .await
        .expect("a cycle adding the evolved type");
    assert_eq!(out.version, Some(2));
    assert_eq!(out.changes, vec![("Show".to_string(), 1, 1)]);
    reader.refresh().await.unwrap();
    let st = reader.current().unwrap();
    assert_eq!(st.version(), 2);
    let r = st.records::<ShowV2>().by_primary_key(&1).unwrap();
    assert_eq!(r.to_value().unwrap(), next[0]);

    // An incompatible type is refused by the add, naming type and field.
    let mut p = Producer::builder(store.clone(), ann.clone()).build();
    p.restore_latest().await.unwrap();
    let err = p
        .run_cycle(|w| w.add(&ShowRetyped::default()))
        .await
        .unwrap_err();
    let msg = format!("{err} {:?}", err);
    assert!(
        msg.contains("Show.year: type changed: was year @3 :UInt16"),
        "{msg}"
    );
}

#[tokio::test]
async fn incompatible_changes_are_refused_naming_type_and_field() {
    let (store, ann) = memory();
    publish_v1(&store, &ann).await;

    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<ShowRetyped>()
        .build();
    let err = p.restore_latest().await.unwrap_err().to_string();
    assert!(
        err.contains("Show.year: type changed: was year @3 :UInt16")
            && err.contains("is now year @3 :UInt32"),
        "{err}"
    );

    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<ShowRemoved>()
        .build();
    let err = p.restore_latest().await.unwrap_err().to_string();
    assert!(
        err.contains("Show.genre: field removed: was genre @2 :Text"),
        "{err}"
    );

    // Nothing was published by the refused producers.
    assert_eq!(store.names(), vec![BlobName::Snapshot(1)]);
}

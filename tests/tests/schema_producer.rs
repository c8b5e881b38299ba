//! The producer's schema check: a producer continuing an announced version
//! publishes compatible changes as deltas, refuses breaking ones (a field
//! retyped or removed, a union reordered, an enumerant removed) with
//! `ErrorKind::Schema` naming each field and both definitions, writing
//! nothing; with `allow_breaking_schema(true)` it publishes a breaking
//! change as a snapshot alone, tagged with the version it breaks from.

use std::path::Path;
use std::sync::Arc;

use hollow_runtime::blob::BlobView;
use hollow_runtime::index::Indexed;
use hollow_runtime::producer::{check_continuation, SCHEMA_BREAK_TAG};
use hollow_runtime::store::{Announcer, BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{Consumer, ErrorKind, Hollow, Producer, Struct};

#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Genre")]
enum Genre {
    Drama,
    Comedy,
    Noir,
}

/// `Genre` without its last enumerant.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Genre")]
enum GenreShort {
    Drama,
    Comedy,
}

#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Rating")]
enum Rating {
    Unrated,
    Stars(u8),
    Label(String),
}

/// `Rating` with two members swapped.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Rating")]
enum RatingSwapped {
    Unrated,
    Label(String),
    Stars(u8),
}

/// The published type.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Movie", primary_key(id))]
struct MovieV1 {
    id: u64,
    title: String,
    year: u16,
    genre: Genre,
    rating: Rating,
    note: String,
}

/// Compatible: a field added at the end.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Movie", primary_key(id))]
struct MovieAdded {
    id: u64,
    title: String,
    year: u16,
    genre: Genre,
    rating: Rating,
    note: String,
    tagline: String,
}

/// Breaking: `year` widened.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Movie", primary_key(id))]
struct MovieRetyped {
    id: u64,
    title: String,
    year: u32,
    genre: Genre,
    rating: Rating,
    note: String,
}

/// Breaking: `note` removed.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Movie", primary_key(id))]
struct MovieRemoved {
    id: u64,
    title: String,
    year: u16,
    genre: Genre,
    rating: Rating,
}

/// Breaking: the `rating` union's members reordered.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Movie", primary_key(id))]
struct MovieUnionSwapped {
    id: u64,
    title: String,
    year: u16,
    genre: Genre,
    rating: RatingSwapped,
    note: String,
}

/// Breaking: an enumerant of `genre` removed.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(rename = "Movie", primary_key(id))]
struct MovieEnumShort {
    id: u64,
    title: String,
    year: u16,
    genre: GenreShort,
    rating: Rating,
    note: String,
}

fn v1(id: u64) -> MovieV1 {
    MovieV1 {
        id,
        title: format!("movie {id}"),
        year: 1990 + id as u16,
        genre: [Genre::Drama, Genre::Comedy, Genre::Noir][id as usize % 3].clone(),
        rating: match id % 3 {
            0 => Rating::Unrated,
            1 => Rating::Stars(id as u8 % 5),
            _ => Rating::Label(format!("label {id}")),
        },
        note: format!("note {id}"),
    }
}

fn retyped(id: u64) -> MovieRetyped {
    let m = v1(id);
    MovieRetyped {
        id,
        title: m.title,
        year: 100_000 + id as u32,
        genre: m.genre,
        rating: m.rating,
        note: m.note,
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

/// Publishes versions 1 (movies 1..=9) and 2 (movies 1..=10) with the
/// old type.
async fn publish_v1_v2(store: &Arc<MemoryBlobStore>, ann: &Arc<InProcessAnnouncer>) {
    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<MovieV1>()
        .build();
    for n in [9, 10] {
        p.run_cycle(|w| (1..=n).try_for_each(|id| w.add(&v1(id))))
            .await
            .expect("a cycle with the old type");
    }
    assert_eq!(p.announced(), Some(2));
}

fn all_blobs() -> Vec<BlobName> {
    vec![
        BlobName::Snapshot(1),
        BlobName::Snapshot(2),
        BlobName::Delta { from: 1, to: 2 },
        BlobName::ReverseDelta { from: 2, to: 1 },
    ]
}

fn sorted(mut v: Vec<BlobName>) -> Vec<BlobName> {
    v.sort();
    v
}

#[tokio::test]
async fn a_compatible_change_continues_the_history_with_a_delta() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, ann) = memory();
    publish_v1_v2(&store, &ann).await;
    let reader = consumer(&store, &ann, &tmp.path().join("r"));
    reader.refresh().await.unwrap();

    let snapshot = store.get(BlobName::Snapshot(2)).unwrap();
    let view = BlobView::open("snapshot-2", &snapshot).unwrap();
    let diff = check_continuation(&view.header().schema, MovieAdded::schema(), 2).unwrap();
    assert_eq!(
        diff.to_string(),
        "Movie.tagline: field added: tagline @8 :Text (pointer 3) (compatible)"
    );

    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<MovieAdded>()
        .build();
    assert_eq!(p.restore_latest().await.unwrap(), Some(2));
    let out = p
        .run_cycle(|w| {
            (1..=10).try_for_each(|id| {
                let m = v1(id);
                w.add(&MovieAdded {
                    id,
                    title: m.title,
                    year: m.year,
                    genre: m.genre,
                    rating: m.rating,
                    note: m.note,
                    tagline: if id == 4 {
                        "Four.".into()
                    } else {
                        String::new()
                    },
                })
            })
        })
        .await
        .expect("a compatible change needs no opt-in");
    assert_eq!(out.version, Some(3));
    assert_eq!(out.changes, vec![("Movie".to_string(), 1, 1)]);
    let names: Vec<BlobName> = out.blobs.iter().map(|(n, _)| *n).collect();
    assert!(
        names.contains(&BlobName::Delta { from: 2, to: 3 }),
        "{names:?}"
    );
    assert!(names.contains(&BlobName::ReverseDelta { from: 3, to: 2 }));
    let state = p.read_state().unwrap();
    assert_eq!(state.header_tag(SCHEMA_BREAK_TAG), None);

    // The consumer holding version 2 follows by the delta, reading every
    // old field right through the old type.
    reader.refresh().await.unwrap();
    let st = reader.current().unwrap();
    assert_eq!(st.version(), 3);
    for id in 1..=10 {
        let r = st.records::<MovieV1>().by_primary_key(&id).unwrap();
        assert_eq!(r.to_value().unwrap(), v1(id));
    }
}

/// Restoring with `T` declared is refused with `ErrorKind::Schema`, the
/// message holding each of `expect`; nothing is written or announced.
async fn refused_at_restore<T: Indexed>(expect: &[&str]) {
    let (store, ann) = memory();
    publish_v1_v2(&store, &ann).await;
    let before: Vec<(BlobName, Vec<u8>)> = store
        .names()
        .into_iter()
        .map(|n| (n, store.get(n).unwrap()))
        .collect();
    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<T>()
        .build();
    let err = p.restore_latest().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Schema, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("since version 2"), "{msg}");
    for e in expect {
        assert!(msg.contains(e), "expected {e:?} in: {msg}");
    }
    assert!(msg.contains("(breaking)"), "{msg}");
    assert_eq!(p.announced(), None, "the refused restore kept nothing");

    // The library function gives the same verdict and the same changes.
    let snapshot = store.get(BlobName::Snapshot(2)).unwrap();
    let written = BlobView::open("snapshot-2", &snapshot)
        .unwrap()
        .header()
        .schema
        .clone();
    let lib = check_continuation(&written, T::schema(), 2).unwrap_err();
    assert_eq!(lib.kind(), ErrorKind::Schema);
    let changes = |m: &str| -> Vec<String> {
        m.lines()
            .filter(|l| l.starts_with("  "))
            .map(str::to_string)
            .collect()
    };
    assert!(!changes(&msg).is_empty(), "{msg}");
    assert_eq!(changes(&lib.to_string()), changes(&msg));

    // Nothing written: the same blobs, byte for byte, and the same
    // announcement, also after the refused producer tries a cycle.
    let out = p.run_cycle(|w| w.add(&v1(1))).await;
    assert!(
        out.is_err(),
        "a producer that restored nothing may not start a new history over the old one"
    );
    let after: Vec<(BlobName, Vec<u8>)> = store
        .names()
        .into_iter()
        .map(|n| (n, store.get(n).unwrap()))
        .collect();
    assert_eq!(sorted(store.names()), sorted(all_blobs()));
    assert!(before == after, "the store changed");
    assert_eq!(ann.announced().await.unwrap(), Some(2));
}

#[tokio::test]
async fn a_retyped_field_is_refused_at_restore() {
    refused_at_restore::<MovieRetyped>(&[
        "Movie.year: type changed: was year @2 :UInt16 (data bits 64..80), is now year @2 :UInt32",
    ])
    .await;
}

#[tokio::test]
async fn a_removed_field_is_refused_at_restore() {
    refused_at_restore::<MovieRemoved>(&["Movie.note: field removed: was note @7 :Text"]).await;
}

#[tokio::test]
async fn a_reordered_union_is_refused_at_restore() {
    refused_at_restore::<MovieUnionSwapped>(&["Movie.rating.stars", "Movie.rating.label"]).await;
}

#[tokio::test]
async fn a_removed_enumerant_is_refused_at_restore() {
    refused_at_restore::<MovieEnumShort>(&["Genre.noir: enumerant removed: was noir = 2"]).await;
}

#[tokio::test]
async fn a_breaking_change_of_an_undeclared_type_is_refused_by_its_first_add() {
    let (store, ann) = memory();
    publish_v1_v2(&store, &ann).await;
    // No record_type: the restore cannot know the producer's types yet.
    let mut p = Producer::builder(store.clone(), ann.clone()).build();
    p.restore_latest().await.unwrap();
    let err = p
        .run_cycle(|w| (1..=10).try_for_each(|id| w.add(&retyped(id))))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Schema, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("cannot add Movie records")
            && msg.contains("since version 2")
            && msg.contains("Movie.year: type changed"),
        "{msg}"
    );
    assert_eq!(sorted(store.names()), sorted(all_blobs()));
    assert_eq!(ann.announced().await.unwrap(), Some(2));
    // The producer still continues version 2 with the old type.
    let out = p
        .run_cycle(|w| (1..=11).try_for_each(|id| w.add(&v1(id))))
        .await
        .unwrap();
    assert_eq!(out.version, Some(3));
    assert!(out
        .blobs
        .iter()
        .any(|(n, _)| *n == BlobName::Delta { from: 2, to: 3 }));
}

/// Checks version 3 is a breaking snapshot alone: no delta or reverse
/// delta joins it to version 2, and it carries the tag.
fn assert_snapshot_alone(store: &MemoryBlobStore) {
    let mut want = all_blobs();
    want.push(BlobName::Snapshot(3));
    assert_eq!(sorted(store.names()), sorted(want));
    let bytes = store.get(BlobName::Snapshot(3)).unwrap();
    let view = BlobView::open("snapshot-3", &bytes).unwrap();
    assert_eq!(view.header().tag(SCHEMA_BREAK_TAG), Some("2"));
    let year = view
        .header()
        .schema
        .get_struct("Movie")
        .and_then(|m| m.fields.iter().find(|f| f.name == "year"))
        .map(hollow_schema::evolution::describe_field);
    assert_eq!(year.as_deref(), Some("year @2 :UInt32 (data bits 64..96)"));
}

#[tokio::test]
async fn with_the_opt_in_a_breaking_change_is_a_snapshot_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, ann) = memory();
    publish_v1_v2(&store, &ann).await;
    // A consumer holding version 2 (reading nothing through compiled
    // types) can only reach version 3 by its snapshot.
    let follower = consumer(&store, &ann, &tmp.path().join("follower"));
    follower.refresh().await.unwrap();

    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<MovieRetyped>()
        .allow_breaking_schema(true)
        .build();
    assert_eq!(p.restore_latest().await.unwrap(), Some(2));

    // The restored Movie records were not carried over: an incremental
    // cycle is refused, writing nothing.
    let err = p
        .run_incremental(|w| w.upsert(&retyped(1)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Schema, "{err}");
    assert!(
        err.to_string().contains("since version 2") && err.to_string().contains("run_cycle"),
        "{err}"
    );
    assert_eq!(sorted(store.names()), sorted(all_blobs()));
    assert_eq!(ann.announced().await.unwrap(), Some(2));

    // A full cycle publishes the snapshot alone, tagged.
    let out = p
        .run_cycle(|w| (1..=10).try_for_each(|id| w.add(&retyped(id))))
        .await
        .expect("the breaking change, allowed");
    assert_eq!(out.version, Some(3));
    let names: Vec<BlobName> = out.blobs.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, vec![BlobName::Snapshot(3)]);
    assert_snapshot_alone(&store);
    assert_eq!(ann.announced().await.unwrap(), Some(3));
    assert_eq!(
        p.read_state().unwrap().header_tag(SCHEMA_BREAK_TAG),
        Some("2")
    );

    // The follower reaches it by loading the snapshot.
    follower.refresh().await.unwrap();
    assert_eq!(follower.current().unwrap().version(), 3);
    assert_eq!(follower.current().unwrap().count("Movie"), 10);

    // A consumer reading with the new types loads it and reads it right.
    let fresh = consumer(&store, &ann, &tmp.path().join("fresh"));
    fresh.refresh().await.unwrap();
    let st = fresh.current().unwrap();
    assert_eq!(st.version(), 3);
    assert_eq!(st.header_tag(SCHEMA_BREAK_TAG), Some("2"));
    for id in 1..=10 {
        let r = st.records::<MovieRetyped>().by_primary_key(&id).unwrap();
        assert_eq!(r.to_value().unwrap(), retyped(id));
    }

    // From then on the history continues by deltas, incremental cycles
    // included, with no tag.
    let out = p
        .run_incremental(|w| w.upsert(&retyped(11)))
        .await
        .expect("an incremental cycle after the break");
    assert_eq!(out.version, Some(4));
    let names: Vec<BlobName> = out.blobs.iter().map(|(n, _)| *n).collect();
    assert!(
        names.contains(&BlobName::Delta { from: 3, to: 4 }),
        "{names:?}"
    );
    assert_eq!(p.read_state().unwrap().header_tag(SCHEMA_BREAK_TAG), None);
    fresh.refresh().await.unwrap();
    let st = fresh.current().unwrap();
    assert_eq!(st.version(), 4);
    let r = st.records::<MovieRetyped>().by_primary_key(&11).unwrap();
    assert_eq!(r.to_value().unwrap(), retyped(11));
}

#[tokio::test]
async fn with_the_opt_in_an_undeclared_type_breaks_on_its_first_add() {
    let (store, ann) = memory();
    publish_v1_v2(&store, &ann).await;
    let mut p = Producer::builder(store.clone(), ann.clone())
        .allow_breaking_schema(true)
        .build();
    p.restore_latest().await.unwrap();

    // An incremental cycle meets the breaking change and is refused.
    let err = p
        .run_incremental(|w| w.upsert(&retyped(1)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Schema, "{err}");
    assert!(err.to_string().contains("run_cycle"), "{err}");
    assert_eq!(sorted(store.names()), sorted(all_blobs()));

    let out = p
        .run_cycle(|w| (1..=10).try_for_each(|id| w.add(&retyped(id))))
        .await
        .expect("the breaking change, allowed");
    assert_eq!(out.version, Some(3));
    assert_snapshot_alone(&store);
}

#[tokio::test]
async fn a_breaking_snapshot_is_published_even_when_no_record_changed() {
    let (store, ann) = memory();
    publish_v1_v2(&store, &ann).await;
    // `note` removed: even a cycle that adds no record (its Movie records
    // were not carried over, so none changed) publishes the new schema.
    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<MovieRemoved>()
        .allow_breaking_schema(true)
        .build();
    p.restore_latest().await.unwrap();
    let out = p.run_cycle(|_| Ok(())).await.unwrap();
    assert_eq!(out.version, Some(3));
    let bytes = store.get(BlobName::Snapshot(3)).unwrap();
    let view = BlobView::open("snapshot-3", &bytes).unwrap();
    assert_eq!(view.header().tag(SCHEMA_BREAK_TAG), Some("2"));
    let movie = view.header().schema.get_struct("Movie").unwrap();
    assert!(movie.fields.iter().all(|f| f.name != "note"), "{movie:?}");
    // The next unchanged cycle publishes nothing.
    let out = p.run_cycle(|_| Ok(())).await.unwrap();
    assert_eq!(out.version, None);
}

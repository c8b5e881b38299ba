//! The consumer's schema check: every type a consumer reads through
//! compiled code is compared with the schema of each snapshot and delta
//! before it loads. A consumer compiled with an older record type follows a
//! producer that added fields; one compiled with a type that would misread
//! the blobs refuses them with `ErrorKind::Schema`, naming the blob, the
//! type, the field and both definitions, and keeps the version it holds.
//! Each schema is compared once per type, however many deltas share it.
//!
//! Several `#[derive(Hollow)]` types here share the Cap'n Proto name
//! `Movie`: they stand for the same record type compiled at different
//! times.

use std::path::Path;
use std::sync::Arc;

use hollow_runtime::store::{Announcer, BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{Consumer, ErrorKind, Event, Hollow, Producer};

/// The `Movie` the history starts with.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(rename = "Movie", primary_key(id))]
struct MovieV1 {
    id: u64,
    name: String,
    year: u16,
}

/// `Movie` with two fields added: a data field (`rating`, ordinal 3) and a
/// pointer field (`genre`, ordinal 4).
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(rename = "Movie", primary_key(id), hash_index(genre))]
struct MovieV2 {
    id: u64,
    name: String,
    year: u16,
    rating: f32,
    genre: String,
}

/// `Movie` with `name` retyped: a number where other versions hold text.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(rename = "Movie", primary_key(id))]
struct MovieRetyped {
    id: u64,
    name: u32,
    year: u16,
}

/// `Movie` as a branch that gave ordinal 3 to another field than
/// [`MovieV2`] did: it reads `MovieV1` blobs right (`votes` is simply
/// absent there), but would misread `MovieV2` ones.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(rename = "Movie", primary_key(id))]
struct MovieBranch {
    id: u64,
    name: String,
    year: u16,
    votes: u64,
}

fn memory() -> (Arc<MemoryBlobStore>, Arc<InProcessAnnouncer>) {
    (
        Arc::new(MemoryBlobStore::new()),
        Arc::new(InProcessAnnouncer::new()),
    )
}

fn v1(id: u64) -> MovieV1 {
    MovieV1 {
        id,
        name: format!("movie {id}"),
        year: 1950 + id as u16,
    }
}

fn v2_of(m: &MovieV1, round: u32) -> MovieV2 {
    MovieV2 {
        id: m.id,
        name: m.name.clone(),
        year: m.year,
        rating: (m.id % 10) as f32 / 2.0 + round as f32,
        genre: if m.id.is_multiple_of(3) {
            "drama"
        } else {
            "comedy"
        }
        .into(),
    }
}

/// The old fields of a new record: what a reader compiled with `MovieV1`
/// must see.
fn old_part(m: &MovieV2) -> MovieV1 {
    MovieV1 {
        id: m.id,
        name: m.name.clone(),
        year: m.year,
    }
}

/// Publishes version 1 (twenty movies) with `MovieV1`.
async fn publish_v1(store: &Arc<MemoryBlobStore>, ann: &Arc<InProcessAnnouncer>) -> Vec<MovieV1> {
    let movies: Vec<MovieV1> = (1..=20).map(v1).collect();
    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<MovieV1>()
        .build();
    let out = p
        .run_cycle(|w| movies.iter().try_for_each(|m| w.add(m)))
        .await
        .expect("cycle 1");
    assert_eq!(out.version, Some(1));
    movies
}

/// A producer of `MovieV2` continuing the history from its latest version.
async fn producer_v2(store: &Arc<MemoryBlobStore>, ann: &Arc<InProcessAnnouncer>) -> Producer {
    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<MovieV2>()
        .build();
    p.restore_latest().await.expect("restore");
    p
}

/// Publishes `movies` in `store` as snapshot `version` written by a
/// producer of its own (with an announcer of its own), then announces it
/// on `ann` in place of `previous`: the history of `store` switches
/// schema, as a breaking change published as a new snapshot does.
async fn publish_breaking_snapshot<T: hollow_runtime::Indexed>(
    store: &Arc<MemoryBlobStore>,
    ann: &Arc<InProcessAnnouncer>,
    previous: u64,
    version: u64,
    movies: &[T],
) {
    let mut p = Producer::builder(store.clone(), Arc::new(InProcessAnnouncer::new()))
        .record_type::<T>()
        .version_minter(move |_| version)
        .build();
    let out = p
        .run_cycle(|w| movies.iter().try_for_each(|m| w.add(m)))
        .await
        .expect("the breaking snapshot");
    assert_eq!(out.version, Some(version));
    ann.announce(version, Some(previous))
        .await
        .expect("announced on the history's announcer");
}

fn consumer_in(
    store: &Arc<MemoryBlobStore>,
    ann: &Arc<InProcessAnnouncer>,
    dir: &Path,
) -> hollow_runtime::ConsumerBuilder {
    Consumer::builder(store.clone(), ann.clone()).cache_dir(dir)
}

/// Every `MovieV1` of the consumer's current version, by id.
fn read_v1(c: &Consumer) -> Vec<MovieV1> {
    let s = c.current().expect("a version held");
    let mut out: Vec<MovieV1> = s
        .records::<MovieV1>()
        .iter()
        .map(|(_, r)| r.to_value().expect("a whole record"))
        .collect();
    out.sort_by_key(|m| m.id);
    out
}

#[tokio::test]
async fn a_consumer_compiled_with_the_older_movie_follows_added_fields_through_deltas() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, ann) = memory();
    let movies = publish_v1(&store, &ann).await;
    // One consumer filters to the old type, one only registers it.
    let filtering = consumer_in(&store, &ann, &tmp.path().join("f"))
        .record_type::<MovieV1>()
        .build()
        .unwrap();
    let checking = consumer_in(&store, &ann, &tmp.path().join("c"))
        .check_type::<MovieV1>()
        .build()
        .unwrap();
    for c in [&filtering, &checking] {
        assert_eq!(c.refresh().await.unwrap(), Some(1));
        assert_eq!(read_v1(c), movies);
        assert_eq!(c.metrics().schema_checks, 1);
    }

    // The producer moves to MovieV2 and runs three cycles: new fields
    // set, records added, records removed and old fields changed.
    let mut p = producer_v2(&store, &ann).await;
    let mut now: Vec<MovieV2> = movies.iter().map(|m| v2_of(m, 1)).collect();
    let mut expected_versions = Vec::new();
    for round in 2..=4u32 {
        match round {
            2 => now.iter_mut().for_each(|m| m.rating += 0.25),
            3 => now.extend((21..=25).map(|id| v2_of(&v1(id), round))),
            _ => {
                now.retain(|m| m.id % 4 != 0);
                for m in now.iter_mut().filter(|m| m.id % 5 == 1) {
                    m.name = format!("{} (director's cut)", m.name);
                    m.year += 1;
                }
            }
        }
        let out = p
            .run_cycle(|w| now.iter().try_for_each(|m| w.add(m)))
            .await
            .expect("a MovieV2 cycle");
        let v = out.version.expect("a new version");
        expected_versions.push(v);
        for c in [&filtering, &checking] {
            assert_eq!(c.refresh().await.unwrap(), Some(v));
            let st = c.current().unwrap();
            // Followed by deltas, not by loading snapshots.
            assert_eq!(st.blob_names()[0], BlobName::Snapshot(1), "{round}");
            assert!(
                st.blob_names()
                    .contains(&BlobName::Delta { from: v - 1, to: v }),
                "{:?}",
                st.blob_names()
            );
            // Every old field of every record read right.
            let want: Vec<MovieV1> = now.iter().map(old_part).collect();
            assert_eq!(read_v1(c), want, "round {round}");
            let movies = st.records::<MovieV1>();
            for m in &want {
                let r = movies.by_primary_key(&m.id).expect("by key");
                assert_eq!((r.name(), r.year()), (m.name.as_str(), m.year));
            }
            // Version 1's schema and MovieV2's, each compared once:
            // deltas 3 and 4 have the schema of delta 2.
            let metrics = c.metrics();
            assert_eq!(metrics.schema_checks, 2, "round {round}");
            assert_eq!(st.schema_checks_run(), 2);
            assert_eq!(metrics.failures, 0);
        }
    }
    assert_eq!(expected_versions, [2, 3, 4]);
}

#[tokio::test]
async fn a_consumer_compiled_with_a_retyped_movie_refuses_the_snapshot_and_keeps_its_version() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, ann) = memory();
    // The history starts with `name` a number ...
    let numbered: Vec<MovieRetyped> = (1..=5)
        .map(|id| MovieRetyped {
            id,
            name: 100 + id as u32,
            year: 2000,
        })
        .collect();
    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<MovieRetyped>()
        .build();
    let out = p
        .run_cycle(|w| numbered.iter().try_for_each(|m| w.add(m)))
        .await
        .unwrap();
    assert_eq!(out.version, Some(1));
    let failed_kinds = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = failed_kinds.clone();
    let c = consumer_in(&store, &ann, tmp.path())
        .check_type::<MovieRetyped>()
        .event_listener(move |e: &Event| {
            if let Event::RefreshFailed { kind, held, .. } = e {
                seen.lock().unwrap().push((*kind, *held));
            }
        })
        .build()
        .unwrap();
    assert_eq!(c.refresh().await.unwrap(), Some(1));

    // ... and switches to text in a new snapshot.
    let texts: Vec<MovieV1> = (1..=5).map(v1).collect();
    publish_breaking_snapshot(&store, &ann, 1, 10, &texts).await;
    let err = c.refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Schema, "{err}");
    let msg = err.to_string();
    for part in [
        "blob snapshot-10",
        "the compiled type Movie would misread it",
        "Movie.name: type changed: was name @1 :Text (pointer 0), \
         is now name @1 :UInt32 (data bits 64..96)",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
    // The consumer keeps serving version 1, and says why it does not move.
    assert_eq!(c.version(), Some(1));
    let st = c.current().unwrap();
    let names: Vec<u32> = st
        .records::<MovieRetyped>()
        .iter()
        .map(|(_, r)| r.name())
        .collect();
    assert_eq!(names, [101, 102, 103, 104, 105]);
    let m = c.metrics();
    assert_eq!((m.consecutive_failures, m.lag), (1, Some(9)));
    assert!(m
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("Movie.name")));
    // Refused again, for the same reason (the blob is not taken for
    // corrupt and planned around).
    let again = c.refresh().await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Schema, "{again}");
    assert_eq!(c.version(), Some(1));
    // One comparison per schema, refusals included.
    assert_eq!(c.metrics().schema_checks, 2);
    // Listeners hear of each refusal as such.
    assert_eq!(
        *failed_kinds.lock().unwrap(),
        [(ErrorKind::Schema, Some(1)), (ErrorKind::Schema, Some(1))]
    );

    // A consumer with no compiled type registered loads it (dynamic
    // readers need no check).
    let untyped = consumer_in(&store, &ann, &tmp.path().join("u"))
        .build()
        .unwrap();
    assert_eq!(untyped.refresh().await.unwrap(), Some(10));
    let st = untyped.current().unwrap();
    assert_eq!(st.raw_records("Movie").map(|r| r.len()), Some(5));
    assert_eq!(untyped.metrics().schema_checks, 0);
}

#[tokio::test]
async fn a_consumer_compiled_with_a_conflicting_movie_refuses_the_delta() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, ann) = memory();
    let movies = publish_v1(&store, &ann).await;
    let c = consumer_in(&store, &ann, tmp.path())
        .check_type::<MovieBranch>()
        .build()
        .unwrap();
    assert_eq!(c.refresh().await.unwrap(), Some(1));
    let st = c.current().unwrap();
    let r = st.records::<MovieBranch>().by_primary_key(&7).unwrap();
    assert_eq!((r.name(), r.year(), r.votes()), ("movie 7", 1957, 0));

    // The producer adds `rating` at ordinal 3, where the consumer has
    // `votes`: a delta its producer may publish, which this consumer would
    // misread.
    let mut p = producer_v2(&store, &ann).await;
    let next: Vec<MovieV2> = movies.iter().map(|m| v2_of(m, 1)).collect();
    let out = p
        .run_cycle(|w| next.iter().try_for_each(|m| w.add(m)))
        .await
        .unwrap();
    assert_eq!(out.version, Some(2));
    let err = c.refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Schema, "{err}");
    let msg = err.to_string();
    for part in [
        "blob delta-1-2",
        "Movie.rating: ordinal or offset changed: was rating @3 :Float32 (data bits 96..128), \
         is now votes @3 :UInt64 (data bits 128..192)",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
    assert_eq!(c.version(), Some(1));
    assert_eq!(
        c.current().unwrap().records::<MovieBranch>().len(),
        movies.len()
    );

    // A new consumer of that type loads nothing, whether the type is
    // registered by itself or through one of its typed indexes.
    let fresh = consumer_in(&store, &ann, &tmp.path().join("fresh"))
        .check_type::<MovieBranch>()
        .build()
        .unwrap();
    let indexed = consumer_in(&store, &ann, &tmp.path().join("indexed"))
        .index::<MovieBranchPrimaryKey>()
        .build()
        .unwrap();
    for c in [&fresh, &indexed] {
        let err = c.refresh().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Schema, "{err}");
        assert!(err.to_string().contains("blob snapshot-2"), "{err}");
        assert_eq!(c.version(), None);
    }
    // Version 1 it reads, and builds the index over.
    assert_eq!(indexed.refresh_to(1).await.unwrap(), 1);
    let st = indexed.current().unwrap();
    let by_id = st.index::<MovieBranchPrimaryKey>();
    assert_eq!(by_id.get(9).map(|m| m.year()), Some(1959));
}

#[tokio::test]
async fn reading_a_type_registers_it_for_later_refreshes() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, ann) = memory();
    publish_v1(&store, &ann).await;
    let c = consumer_in(&store, &ann, tmp.path()).build().unwrap();
    assert_eq!(c.refresh().await.unwrap(), Some(1));
    assert_eq!(c.metrics().schema_checks, 0);
    // Read once through MovieV1: checked and registered.
    assert_eq!(c.current().unwrap().records::<MovieV1>().len(), 20);
    assert_eq!(c.metrics().schema_checks, 1);
    // A version MovieV1 would misread is refused from now on.
    let numbered = [MovieRetyped {
        id: 1,
        name: 7,
        year: 2001,
    }];
    publish_breaking_snapshot(&store, &ann, 1, 5, &numbered).await;
    let err = c.refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Schema, "{err}");
    assert!(
        err.to_string().contains(
            "Movie.name: type changed: was name @1 :UInt32 (data bits 64..96), \
             is now name @1 :Text (pointer 0)"
        ),
        "{err}"
    );
    assert_eq!(c.version(), Some(1));
}

/// A consumer holding version 1, whose `name` is text, with no compiled
/// type registered.
async fn holding_text_names(dir: &Path) -> Consumer {
    let (store, ann) = memory();
    publish_v1(&store, &ann).await;
    let c = consumer_in(&store, &ann, dir).build().unwrap();
    assert_eq!(c.refresh().await.unwrap(), Some(1));
    c
}

#[tokio::test]
async fn try_records_returns_the_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let c = holding_text_names(tmp.path()).await;
    let st = c.current().unwrap();
    let err = st.try_records::<MovieRetyped>().err().expect("a conflict");
    assert_eq!(err.kind(), ErrorKind::Schema);
    let msg = err.to_string();
    assert!(
        msg.starts_with("version 1: the compiled type Movie"),
        "{msg}"
    );
    assert!(
        msg.contains(
            "Movie.name: type changed: was name @1 :Text (pointer 0), \
             is now name @1 :UInt32 (data bits 64..96)"
        ),
        "{msg}"
    );
    // Asked again: the same answer, from the cache.
    assert!(st.try_records::<MovieRetyped>().is_err());
    assert!(st.try_index::<MovieRetypedPrimaryKey>().is_err());
    assert_eq!(c.metrics().schema_checks, 1);
    // A conflicting type is not registered: the consumer still follows.
    assert_eq!(st.try_records::<MovieV1>().map(|r| r.len()).ok(), Some(20));
    assert_eq!(c.metrics().schema_checks, 2);
}

#[tokio::test]
#[should_panic(expected = "Movie.name: type changed: was name @1 :Text (pointer 0), \
                           is now name @1 :UInt32 (data bits 64..96)")]
async fn records_panics_with_the_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let c = holding_text_names(tmp.path()).await;
    let st = c.current().unwrap();
    let _ = st.records::<MovieRetyped>();
}

#[tokio::test]
#[should_panic(expected = "register Movie with ConsumerBuilder::check_type")]
async fn a_typed_index_panics_with_the_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let c = holding_text_names(tmp.path()).await;
    let st = c.current().unwrap();
    let _ = st.index::<MovieRetypedPrimaryKey>().get(1);
}

#[tokio::test]
async fn a_state_opened_directly_checks_the_types_read_from_it_on_apply() {
    let (store, ann) = memory();
    publish_v1(&store, &ann).await;
    let mut p = producer_v2(&store, &ann).await;
    let movies: Vec<MovieV2> = (1..=20).map(|id| v2_of(&v1(id), 1)).collect();
    p.run_cycle(|w| movies.iter().try_for_each(|m| w.add(m)))
        .await
        .unwrap();
    let blob = |name: BlobName| -> Arc<dyn AsRef<[u8]> + Send + Sync> {
        Arc::new(store.get(name).expect("in the store"))
    };
    let open = || {
        hollow_runtime::ReadState::open_snapshot(BlobName::Snapshot(1), blob(BlobName::Snapshot(1)))
            .unwrap()
    };
    let delta = BlobName::Delta { from: 1, to: 2 };
    // Nothing read through compiled code: the delta applies.
    assert_eq!(open().apply_blob(delta, blob(delta)).unwrap().version(), 2);
    // MovieV1 read from version 1: the delta applies, MovieV1 reads it.
    let s1 = open();
    assert_eq!(s1.records::<MovieV1>().len(), 20);
    let s2 = s1.apply_blob(delta, blob(delta)).unwrap();
    assert!(s2.schema_check_time() > std::time::Duration::ZERO);
    assert_eq!(
        s2.records::<MovieV1>().by_primary_key(&3).unwrap().name(),
        "movie 3"
    );
    // MovieBranch read from version 1: the delta is refused.
    let s1 = open();
    assert_eq!(s1.records::<MovieBranch>().len(), 20);
    let err = s1.apply_blob(delta, blob(delta)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Schema, "{err}");
    assert!(
        err.to_string()
            .starts_with("blob delta-1-2: the compiled type Movie"),
        "{err}"
    );
    assert!(err.to_string().contains("Movie.rating"), "{err}");
    assert_eq!(s1.schema_checks_run(), 2);
}

//! Property test of producer cycles: random sequences of 3–8 cycles over two
//! keyed record types (`Movie`, `Actor`), each a full cycle (add, remove,
//! modify, nothing, duplicate identical records) or an incremental one
//! (upserts, deletes, upserts of unchanged records). Between cycles the
//! producer is sometimes replaced by a new one restored from the store, as a
//! producer run as a batch job is.
//!
//! At every version, checked against an oracle of what was published:
//! - a consumer following the announcements by deltas (and its state really
//!   is built from the delta),
//! - a fresh consumer loading the version (from its snapshot), which must
//!   also give every record the same ordinal,
//! - the producer's own read state (same record counts and checksums);
//!
//! ordinal rules: a record unchanged between two versions keeps its ordinal;
//! an ordinal removed at version v is not reused at v + 1. At the end every
//! snapshot but the last is removed from the store and two consumers (the
//! one that followed by deltas, and a fresh one) walk back version by version
//! through reverse deltas, holding each version's records at their ordinals.
//!
//! Two cases in three force small shard limits (1 KiB, 4 KiB), so a type's
//! records are cut into several sections (shards by ordinal range) in
//! snapshots, deltas and reverse deltas, and everything above is checked
//! on sharded blobs too.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{Consumer, Producer, ReadState};
use hollow_tests::dataset::{self, by_ordinal, Catalog};
use hollow_tests::{Actor, Movie};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

#[derive(Clone, Copy, Debug)]
enum Ty {
    Movie,
    Actor,
}

#[derive(Clone, Debug)]
enum Change {
    /// A record with a new key.
    Add(Ty, u64),
    /// Removes the `pick`-th record (a delete of an absent key when none).
    Remove(Ty, usize),
    /// `n` records with new keys.
    Bulk(Ty, usize, u64),
    /// Removes `n` records from the `pick`-th on.
    Cull(Ty, usize, usize),
    /// New field values for the `pick`-th record.
    Modify(Ty, usize, u64),
    /// Upserts the `pick`-th record unchanged (incremental) or adds it a
    /// second time (full cycle): no change.
    Touch(Ty, usize),
}

#[derive(Clone, Debug)]
enum Cycle {
    Full(Vec<Change>),
    Incremental(Vec<Change>),
    /// A new producer restored from the announced version replaces the
    /// running one (no version).
    Restart,
}

fn ty() -> impl Strategy<Value = Ty> {
    prop_oneof![Just(Ty::Movie), Just(Ty::Actor)]
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => (ty(), any::<u64>()).prop_map(|(t, s)| Change::Add(t, s)),
        2 => (ty(), any::<usize>()).prop_map(|(t, p)| Change::Remove(t, p)),
        2 => (ty(), any::<usize>(), any::<u64>()).prop_map(|(t, p, s)| Change::Modify(t, p, s)),
        1 => (ty(), 2..12usize, any::<u64>()).prop_map(|(t, n, s)| Change::Bulk(t, n, s)),
        1 => (ty(), any::<usize>(), 2..12usize).prop_map(|(t, p, n)| Change::Cull(t, p, n)),
        1 => (ty(), any::<usize>()).prop_map(|(t, p)| Change::Touch(t, p)),
    ]
}

fn cycle() -> impl Strategy<Value = Cycle> {
    prop_oneof![
        3 => proptest::collection::vec(change(), 0..5).prop_map(Cycle::Full),
        2 => proptest::collection::vec(change(), 0..5).prop_map(Cycle::Incremental),
        1 => Just(Cycle::Restart),
    ]
}

/// The oracle and the next unused key.
#[derive(Default)]
struct Oracle {
    catalog: Catalog,
    next_id: u64,
}

/// What a change does in a cycle, resolved against the oracle.
enum Step {
    UpsertMovie(Movie),
    UpsertActor(Actor),
    DeleteMovie(u64),
    DeleteActor(u64),
    AddAgainMovie(Movie),
    AddAgainActor(Actor),
}

fn nth<V: Clone>(map: &BTreeMap<u64, V>, pick: usize) -> Option<(u64, V)> {
    if map.is_empty() {
        return None;
    }
    map.iter()
        .nth(pick % map.len())
        .map(|(k, v)| (*k, v.clone()))
}

impl Oracle {
    /// Applies `c` to the oracle and says what the producer must be told.
    fn apply_all(&mut self, c: &Change) -> Vec<Step> {
        match *c {
            Change::Bulk(t, n, seed) => (0..n as u64)
                .map(|k| self.apply(&Change::Add(t, seed.wrapping_add(k))))
                .collect(),
            Change::Cull(t, pick, n) => (0..n)
                .map(|k| self.apply(&Change::Remove(t, pick.wrapping_add(k))))
                .collect(),
            _ => vec![self.apply(c)],
        }
    }

    fn apply(&mut self, c: &Change) -> Step {
        let cat = &mut self.catalog;
        match *c {
            Change::Add(t, seed) => {
                self.next_id += 1;
                let id = self.next_id;
                match t {
                    Ty::Movie => {
                        let m = dataset::movie(id, seed);
                        cat.movies.insert(id, m.clone());
                        Step::UpsertMovie(m)
                    }
                    Ty::Actor => {
                        let a = dataset::actor(id, seed);
                        cat.actors.insert(id, a.clone());
                        Step::UpsertActor(a)
                    }
                }
            }
            Change::Remove(t, pick) => match t {
                Ty::Movie => {
                    let id = nth(&cat.movies, pick).map_or(u64::MAX, |(k, _)| k);
                    cat.movies.remove(&id);
                    Step::DeleteMovie(id)
                }
                Ty::Actor => {
                    let id = nth(&cat.actors, pick).map_or(u64::MAX, |(k, _)| k);
                    cat.actors.remove(&id);
                    Step::DeleteActor(id)
                }
            },
            Change::Bulk(..) | Change::Cull(..) => unreachable!("see apply_all"),
            Change::Modify(t, pick, seed) => match t {
                // With nothing to modify, add instead.
                Ty::Movie => {
                    let id = nth(&cat.movies, pick).map_or_else(
                        || {
                            self.next_id += 1;
                            self.next_id
                        },
                        |(k, _)| k,
                    );
                    let m = dataset::movie(id, seed);
                    cat.movies.insert(id, m.clone());
                    Step::UpsertMovie(m)
                }
                Ty::Actor => {
                    let id = nth(&cat.actors, pick).map_or_else(
                        || {
                            self.next_id += 1;
                            self.next_id
                        },
                        |(k, _)| k,
                    );
                    let a = dataset::actor(id, seed);
                    cat.actors.insert(id, a.clone());
                    Step::UpsertActor(a)
                }
            },
            Change::Touch(t, pick) => match t {
                Ty::Movie => match nth(&cat.movies, pick) {
                    Some((_, m)) => Step::AddAgainMovie(m),
                    None => Step::DeleteMovie(u64::MAX),
                },
                Ty::Actor => match nth(&cat.actors, pick) {
                    Some((_, a)) => Step::AddAgainActor(a),
                    None => Step::DeleteActor(u64::MAX),
                },
            },
        }
    }
}

/// One version as a consumer holds it: records by ordinal.
#[derive(Clone, Debug, PartialEq)]
struct Held {
    movies: BTreeMap<u32, Movie>,
    actors: BTreeMap<u32, Actor>,
}

impl Held {
    fn of(state: &ReadState) -> Held {
        Held {
            movies: by_ordinal::<Movie>(state),
            actors: by_ordinal::<Actor>(state),
        }
    }
}

/// Ordinal rules between consecutive versions `prev` → `next`, given the
/// version before `prev` (`before`) when there is one.
fn check_ordinals(v: u64, before: Option<&Held>, prev: &Held, next: &Held, catalog: &Catalog) {
    fn kept<T: PartialEq + std::fmt::Debug>(
        v: u64,
        what: &str,
        prev: &BTreeMap<u32, T>,
        next: &BTreeMap<u32, T>,
        still: impl Fn(&T) -> bool,
    ) {
        for (o, r) in prev {
            if still(r) {
                assert_eq!(
                    next.get(o),
                    Some(r),
                    "version {v}: unchanged {what} {r:?} left ordinal {o}"
                );
            }
        }
    }
    fn not_reused<T: PartialEq + std::fmt::Debug>(
        v: u64,
        what: &str,
        before: &BTreeMap<u32, T>,
        prev: &BTreeMap<u32, T>,
        next: &BTreeMap<u32, T>,
    ) {
        for o in before.keys().filter(|o| !prev.contains_key(o)) {
            assert!(
                !next.contains_key(o),
                "version {v}: {what} ordinal {o}, removed at version {}, reused by {:?}",
                v - 1,
                next.get(o)
            );
        }
    }
    kept(v, "Movie", &prev.movies, &next.movies, |m| {
        catalog.movies.get(&m.id) == Some(m)
    });
    kept(v, "Actor", &prev.actors, &next.actors, |a| {
        catalog.actors.get(&a.id) == Some(a)
    });
    if let Some(before) = before {
        not_reused(v, "Movie", &before.movies, &prev.movies, &next.movies);
        not_reused(v, "Actor", &before.actors, &prev.actors, &next.actors);
    }
}

fn checksums(state: &ReadState) -> [(usize, u64); 2] {
    [
        (state.count("Movie"), state.checksum("Movie").unwrap_or(0)),
        (state.count("Actor"), state.checksum("Actor").unwrap_or(0)),
    ]
}

/// The most sections one type has in blob `name` of `store`.
fn most_shards(store: &MemoryBlobStore, name: BlobName) -> usize {
    let bytes = store.get(name).expect("a published blob");
    let view = hollow_runtime::blob::BlobView::open(&name.to_string(), &bytes).unwrap();
    let names: Vec<&str> = view.sections().map(|s| s.type_name()).collect();
    names
        .iter()
        .map(|n| names.iter().filter(|m| *m == n).count())
        .max()
        .unwrap_or(0)
}

// The whole scenario of one case, in the order it runs.
/// Runs `cycles`, with sections cut at `shard_limit` bytes when given.
#[allow(clippy::too_many_lines)]
async fn run_case(cycles: Vec<Cycle>, shard_limit: Option<u64>) {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let build = || {
        let b = Producer::builder(store.clone(), announcer.clone());
        match shard_limit {
            Some(limit) => b.shard_limit(limit),
            None => b,
        }
        .build()
    };
    let mut producer = build();
    // The most sections a type had in any blob, and the most movies a
    // version held.
    let (mut shards_seen, mut most_movies) = (0usize, 0usize);
    let follower = dataset::consumer(
        store.clone(),
        announcer.clone(),
        &tmp.path().join("follower"),
    );
    let mut oracle = Oracle::default();
    // Per version (index v - 1): the catalog and the records by ordinal.
    let mut history: Vec<(Catalog, Held)> = Vec::new();

    for (i, cycle) in cycles.iter().enumerate() {
        let before = oracle.catalog.clone();
        let outcome = match cycle {
            Cycle::Restart => {
                producer = build();
                let restored = producer.restore_latest().await.unwrap();
                assert_eq!(
                    restored,
                    (!history.is_empty()).then_some(history.len() as u64)
                );
                continue;
            }
            Cycle::Full(changes) => {
                let steps: Vec<Step> = changes.iter().flat_map(|c| oracle.apply_all(c)).collect();
                // The whole state, plus identical copies of touched records
                // as they are at the end of the cycle (deduplicated), in an
                // order that differs between cycles.
                let cat = oracle.catalog.clone();
                let (mut again_movies, mut again_actors) = (Vec::new(), Vec::new());
                for s in &steps {
                    match s {
                        Step::AddAgainMovie(m) => again_movies.extend(cat.movies.get(&m.id)),
                        Step::AddAgainActor(a) => again_actors.extend(cat.actors.get(&a.id)),
                        _ => {}
                    }
                }
                producer
                    .run_cycle(|w| {
                        again_movies.iter().try_for_each(|m| w.add(*m))?;
                        if i.is_multiple_of(2) {
                            cat.actors.values().try_for_each(|a| w.add(a))?;
                            cat.movies.values().try_for_each(|m| w.add(m))?;
                        } else {
                            cat.movies.values().rev().try_for_each(|m| w.add(m))?;
                            cat.actors.values().rev().try_for_each(|a| w.add(a))?;
                        }
                        again_actors.iter().try_for_each(|a| w.add(*a))?;
                        again_movies.iter().try_for_each(|m| w.add(*m))?;
                        Ok(())
                    })
                    .await
            }
            Cycle::Incremental(changes) => {
                let steps: Vec<Step> = changes.iter().flat_map(|c| oracle.apply_all(c)).collect();
                producer
                    .run_incremental(|w| {
                        for s in &steps {
                            match s {
                                Step::UpsertMovie(m) | Step::AddAgainMovie(m) => w.upsert(m)?,
                                Step::UpsertActor(a) | Step::AddAgainActor(a) => w.upsert(a)?,
                                Step::DeleteMovie(id) => w.delete::<Movie>(id)?,
                                Step::DeleteActor(id) => w.delete::<Actor>(id)?,
                            }
                        }
                        Ok(())
                    })
                    .await
            }
        };
        let outcome = outcome.unwrap_or_else(|e| panic!("cycle {i} ({cycle:?}): {e}"));
        let changed = history.is_empty() || oracle.catalog != before;
        if !changed {
            assert_eq!(
                outcome.version, None,
                "cycle {i} ({cycle:?}) changed nothing"
            );
            assert_eq!(
                follower.refresh().await.unwrap(),
                Some(history.len() as u64)
            );
            continue;
        }
        let v = history.len() as u64 + 1;
        assert_eq!(outcome.version, Some(v), "cycle {i} ({cycle:?})");
        let produced = producer.read_state().expect("a read state").clone();
        oracle.catalog.assert_held_by(&produced, "producer");
        most_movies = most_movies.max(oracle.catalog.movies.len());
        for name in store.names() {
            if name.to_version() == v || name.from_version() == v {
                shards_seen = shards_seen.max(most_shards(&store, name));
            }
        }

        // (a) Following by deltas.
        assert_eq!(follower.refresh().await.unwrap(), Some(v));
        let state = follower.current().unwrap();
        assert_eq!(state.version(), v);
        oracle.catalog.assert_held_by(&state, "follower");
        if v > 1 {
            assert!(
                state
                    .blob_names()
                    .contains(&BlobName::Delta { from: v - 1, to: v }),
                "the follower did not apply delta-{}-{v}: {:?}",
                v - 1,
                state.blob_names()
            );
        }
        assert_eq!(checksums(&state), checksums(&produced), "version {v}");
        let held = Held::of(&state);

        // (b) A fresh consumer loading the version.
        let cache = tmp.path().join(format!("fresh-{v}"));
        let fresh = dataset::consumer(store.clone(), announcer.clone(), &cache);
        assert_eq!(fresh.refresh_to(v).await.unwrap(), v);
        let fresh_state = fresh.current().unwrap();
        assert_eq!(fresh_state.blob_names(), vec![BlobName::Snapshot(v)]);
        oracle
            .catalog
            .assert_held_by(&fresh_state, "fresh consumer");
        assert_eq!(
            Held::of(&fresh_state),
            held,
            "ordinals by snapshot and by deltas differ at version {v}"
        );
        assert_eq!(checksums(&fresh_state), checksums(&produced));

        if let Some((_, prev)) = history.last() {
            let n = history.len();
            let before = n.checked_sub(2).map(|i| &history[i].1);
            check_ordinals(v, before, prev, &held, &oracle.catalog);
        }
        history.push((oracle.catalog.clone(), held));
    }

    // (c) Walking back through reverse deltas, with only the last snapshot.
    let last = history.len() as u64;
    for name in store.names() {
        if matches!(name, BlobName::Snapshot(v) if v != last) {
            store.remove(name);
        }
    }
    let walker = dataset::consumer(store.clone(), announcer.clone(), &tmp.path().join("walker"));
    assert_eq!(walker.refresh_to(last).await.unwrap(), last);
    for consumer in [&follower, &walker] {
        check_walk_back(consumer, &history).await;
    }
    // A forced limit did cut types into shards once there was enough to
    // cut (a movie takes more than 48 bytes of a section, 30 of them more
    // than 1 KiB; 90 more than 4 KiB); without one, never.
    match shard_limit {
        Some(limit) if most_movies as u64 * 48 > limit => {
            assert!(shards_seen > 1, "no blob was sharded at {limit} bytes")
        }
        Some(_) => {}
        None => assert!(shards_seen <= 1, "sharded without a limit"),
    }
}

async fn check_walk_back(consumer: &Consumer, history: &[(Catalog, Held)]) {
    let last = history.len() as u64;
    assert_eq!(consumer.version(), Some(last));
    for v in (1..last).rev() {
        assert_eq!(
            consumer
                .refresh_to(v)
                .await
                .unwrap_or_else(|e| panic!("walking back to {v}: {e}")),
            v
        );
        let state = consumer.current().unwrap();
        assert!(
            state
                .blob_names()
                .contains(&BlobName::ReverseDelta { from: v + 1, to: v }),
            "version {v} not reached by reversedelta-{}-{v}: {:?}",
            v + 1,
            state.blob_names()
        );
        let (catalog, held) = &history[v as usize - 1];
        catalog.assert_held_by(&state, "walking back");
        assert_eq!(&Held::of(&state), held, "ordinals walking back to {v}");
    }
    // And forward again, through the deltas.
    assert_eq!(consumer.refresh_to(last).await.unwrap(), last);
    let names: BTreeSet<BlobName> = consumer
        .current()
        .unwrap()
        .blob_names()
        .into_iter()
        .collect();
    if last > 1 {
        assert!(names.contains(&BlobName::Delta {
            from: last - 1,
            to: last
        }));
    }
    assert_eq!(
        &Held::of(&consumer.current().unwrap()),
        &history[last as usize - 1].1
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        rng_seed: RngSeed::Fixed(0x484f_4c4c_4f57),
        ..ProptestConfig::default()
    })]

    #[test]
    fn cycles_agree_with_the_oracle(
        movies in 0..150usize,
        actors in 0..80usize,
        seed in any::<u64>(),
        more in proptest::collection::vec(cycle(), 2..=7),
    ) {
        // An initial load (sometimes empty, sometimes over 64 records so
        // ordinal bitmaps span several words), then 2–7 random cycles.
        let mut cycles = vec![Cycle::Full(vec![
            Change::Bulk(Ty::Movie, movies, seed),
            Change::Bulk(Ty::Actor, actors, !seed),
        ])];
        cycles.extend(more);
        // Two cases in three with sections cut at a few KiB.
        let shard_limit = [None, Some(1024), Some(4096)][(seed % 3) as usize];
        dataset::runtime().block_on(run_case(cycles, shard_limit));
    }
}

/// A fixed sequence touching every kind of change, so a regression shows up
/// without relying on what the random cases draw.
#[test]
fn fixed_sequence() {
    use Change::*;
    let cycles = vec![
        Cycle::Full(vec![
            Add(Ty::Movie, 1),
            Add(Ty::Movie, 2),
            Add(Ty::Actor, 3),
        ]),
        Cycle::Full(vec![]),
        Cycle::Full(vec![Touch(Ty::Movie, 0)]),
        Cycle::Full(vec![Modify(Ty::Movie, 0, 9), Remove(Ty::Actor, 0)]),
        Cycle::Incremental(vec![Add(Ty::Actor, 4), Remove(Ty::Movie, 1)]),
        Cycle::Incremental(vec![Touch(Ty::Actor, 0), Remove(Ty::Movie, 7)]),
        Cycle::Incremental(vec![Modify(Ty::Actor, 0, 5), Add(Ty::Movie, 6)]),
        Cycle::Full(vec![Remove(Ty::Movie, 0), Add(Ty::Movie, 8)]),
        // Restored after removals: the ordinals this version removed wait a
        // cycle, older holes are reused at once.
        Cycle::Restart,
        Cycle::Incremental(vec![Bulk(Ty::Movie, 3, 10), Remove(Ty::Actor, 0)]),
        Cycle::Restart,
        Cycle::Incremental(vec![Bulk(Ty::Movie, 4, 20), Bulk(Ty::Actor, 3, 30)]),
        Cycle::Restart,
        Cycle::Restart,
        Cycle::Full(vec![Cull(Ty::Movie, 0, 3), Add(Ty::Actor, 40)]),
    ];
    dataset::runtime().block_on(run_case(cycles.clone(), None));
    // The same with every section cut at 256 bytes: several shards per
    // type in every blob.
    dataset::runtime().block_on(run_case(cycles, Some(256)));
}

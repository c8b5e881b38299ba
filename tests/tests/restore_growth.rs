//! Producers run as batch jobs (restore the announced version, run one
//! cycle, exit) reuse freed ordinals as one long-running producer does: only
//! the ordinals the restored version's own delta removed wait a cycle (its
//! reverse delta adds them back), every older hole is reused at once. So
//! their ordinal limit and snapshot size stay those of a long-running
//! producer, and the reverse deltas they write still walk back exactly.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{Error, ErrorKind, Producer, ReadState};
use hollow_tests::dataset::{self, by_ordinal};
use hollow_tests::Movie;

/// One cycle's changes: keys removed, then records upserted (new keys, and
/// new values of present keys); and the catalog they leave.
struct Round {
    deletes: Vec<u64>,
    upserts: Vec<Movie>,
    after: BTreeMap<u64, Movie>,
}

/// `n` movies, then `count` rounds each removing, adding and modifying
/// about 5 % of them (deterministic).
fn rounds(n: u64, count: u64) -> (Vec<Movie>, Vec<Round>) {
    let first: Vec<Movie> = (1..=n).map(|id| dataset::movie(id, 0)).collect();
    let mut live: BTreeMap<u64, Movie> = first.iter().map(|m| (m.id, m.clone())).collect();
    let mut next_id = n + 1;
    let step = (n / 20).max(1);
    let mut out = Vec::new();
    for r in 1..=count {
        let keys: Vec<u64> = live.keys().copied().collect();
        let pick = |k: u64, salt: u64| {
            let i = (k.wrapping_mul(2_654_435_761) ^ r.wrapping_mul(salt)) % keys.len() as u64;
            keys[i as usize]
        };
        let mut deletes: Vec<u64> = (0..step).map(|k| pick(k, 40_503)).collect();
        deletes.sort_unstable();
        deletes.dedup();
        for id in &deletes {
            live.remove(id);
        }
        let mut upserts = Vec::new();
        for k in 0..step {
            let id = pick(k, 97_531);
            if live.contains_key(&id) {
                upserts.push(dataset::movie(id, r));
            }
            upserts.push(dataset::movie(next_id, r));
            next_id += 1;
        }
        for m in &upserts {
            live.insert(m.id, m.clone());
        }
        out.push(Round {
            deletes,
            upserts,
            after: live.clone(),
        });
    }
    (first, out)
}

fn producer(store: &Arc<MemoryBlobStore>, announcer: &Arc<InProcessAnnouncer>) -> Producer {
    Producer::builder(store.clone(), announcer.clone()).build()
}

/// Publishes `movies` as a full cycle.
async fn publish(producer: &mut Producer, movies: &[Movie]) -> u64 {
    producer
        .run_cycle(|w| movies.iter().try_for_each(|m| w.add(m)))
        .await
        .unwrap()
        .version
        .expect("the data changed")
}

/// Applies `round` as an incremental cycle: the version and its snapshot's
/// size in bytes.
async fn apply(producer: &mut Producer, round: &Round) -> (u64, u64) {
    let outcome = producer
        .run_incremental(|w| {
            round
                .deletes
                .iter()
                .try_for_each(|id| w.delete::<Movie>(id))?;
            round.upserts.iter().try_for_each(|m| w.upsert(m))
        })
        .await
        .unwrap();
    let version = outcome.version.expect("every round changes the data");
    let snapshot = outcome
        .blobs
        .iter()
        .find(|(name, _)| matches!(name, BlobName::Snapshot(_)))
        .map(|&(_, size)| size)
        .expect("a snapshot every cycle");
    (version, snapshot)
}

/// A fresh producer restored from the announced version.
async fn restored(store: &Arc<MemoryBlobStore>, announcer: &Arc<InProcessAnnouncer>) -> Producer {
    let mut p = producer(store, announcer);
    p.restore_latest()
        .await
        .unwrap()
        .expect("a version to restore");
    p
}

fn state(p: &Producer) -> &ReadState {
    p.read_state().expect("a published version")
}

fn ordinal_limit(p: &Producer) -> u32 {
    state(p).records::<Movie>().ordinal_limit()
}

/// A consumer loading only the last snapshot walks back version by version
/// through reverse deltas and holds each version's records at their
/// ordinals (`history[v - 1]`).
async fn walk_back(
    store: &Arc<MemoryBlobStore>,
    announcer: &Arc<InProcessAnnouncer>,
    cache: &Path,
    history: &[BTreeMap<u32, Movie>],
) {
    let last = history.len() as u64;
    for name in store.names() {
        if matches!(name, BlobName::Snapshot(v) if v != last) {
            store.remove(name);
        }
    }
    let consumer = dataset::consumer(store.clone(), announcer.clone(), cache);
    assert_eq!(consumer.refresh_to(last).await.unwrap(), last);
    for v in (1..last).rev() {
        assert_eq!(consumer.refresh_to(v).await.unwrap(), v);
        let state = consumer.current().unwrap();
        assert!(
            state
                .blob_names()
                .contains(&BlobName::ReverseDelta { from: v + 1, to: v }),
            "version {v} not reached by its reverse delta: {:?}",
            state.blob_names()
        );
        assert_eq!(
            by_ordinal::<Movie>(&state),
            history[v as usize - 1],
            "records by ordinal walking back to version {v}"
        );
    }
}

#[test]
fn restored_producers_grow_as_a_long_running_one() {
    dataset::runtime().block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let (first, rounds) = rounds(2_000, 24);

        let long_store = Arc::new(MemoryBlobStore::new());
        let long_announcer = Arc::new(InProcessAnnouncer::new());
        let mut long = producer(&long_store, &long_announcer);
        publish(&mut long, &first).await;

        let store = Arc::new(MemoryBlobStore::new());
        let announcer = Arc::new(InProcessAnnouncer::new());
        let mut batch = producer(&store, &announcer);
        publish(&mut batch, &first).await;
        let mut history = vec![by_ordinal::<Movie>(state(&batch))];
        drop(batch);

        let (mut long_snapshot, mut batch_snapshot) = (0, 0);
        for round in &rounds {
            let catalog = &round.after;
            long_snapshot = apply(&mut long, round).await.1;
            // A batch job: restore, one cycle, exit.
            let mut batch = restored(&store, &announcer).await;
            let (v, size) = apply(&mut batch, round).await;
            batch_snapshot = size;
            assert_eq!(v, history.len() as u64 + 1);
            let held = by_ordinal::<Movie>(state(&batch));
            let by_id: BTreeMap<u64, Movie> = held.values().map(|m| (m.id, m.clone())).collect();
            assert_eq!(&by_id, catalog, "version {v}");
            let prev = &history[history.len() - 1];
            for (o, m) in prev {
                if catalog.get(&m.id) == Some(m) {
                    assert_eq!(held.get(o), Some(m), "version {v}: unchanged {o} moved");
                }
            }
            // An ordinal removed at v - 1 is not reused at v.
            if let Some(before) = history.len().checked_sub(2).map(|i| &history[i]) {
                for o in before.keys().filter(|o| !prev.contains_key(o)) {
                    assert!(
                        !held.contains_key(o),
                        "version {v}: ordinal {o}, removed at version {}, reused",
                        v - 1
                    );
                }
            }
            history.push(held);
            if history.len() == rounds.len() + 1 {
                let (limit, long_limit) = (ordinal_limit(&batch), ordinal_limit(&long));
                assert!(
                    f64::from(limit) <= 1.3 * f64::from(long_limit),
                    "ordinal limit {limit} after {} restores, {long_limit} without",
                    rounds.len()
                );
            }
        }
        assert!(
            batch_snapshot as f64 <= 1.3 * long_snapshot as f64,
            "snapshot of {batch_snapshot} bytes after restores, {long_snapshot} without"
        );
        walk_back(&store, &announcer, &tmp.path().join("walker"), &history).await;
    });
}

/// Ten movies (ordinals 0–9), then ids 3, 4 removed (ordinals 2, 3), then
/// ids 5, 6 (ordinals 4, 5): the state a restore starts from in the tests
/// below, with the records of each version by ordinal.
async fn holes(
    store: &Arc<MemoryBlobStore>,
    announcer: &Arc<InProcessAnnouncer>,
) -> Vec<BTreeMap<u32, Movie>> {
    let mut p = producer(store, announcer);
    let mut movies: Vec<Movie> = (1..=10).map(|id| dataset::movie(id, 0)).collect();
    let mut history = Vec::new();
    for gone in [[0u64; 0].as_slice(), &[3, 4], &[5, 6]] {
        movies.retain(|m| !gone.contains(&m.id));
        publish(&mut p, &movies).await;
        history.push(by_ordinal::<Movie>(state(&p)));
    }
    history
}

/// Adds `ids` as an incremental cycle; the ordinals they took.
async fn add(p: &mut Producer, ids: std::ops::RangeInclusive<u64>) -> Vec<u32> {
    let round = Round {
        deletes: Vec::new(),
        upserts: ids.clone().map(|id| dataset::movie(id, 1)).collect(),
        after: BTreeMap::new(),
    };
    apply(p, &round).await;
    let mut taken: Vec<u32> = by_ordinal::<Movie>(state(p))
        .into_iter()
        .filter(|(_, m)| ids.contains(&m.id))
        .map(|(o, _)| o)
        .collect();
    taken.sort_unstable();
    taken
}

#[test]
fn a_restored_producer_reuses_older_holes_at_once() {
    dataset::runtime().block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(MemoryBlobStore::new());
        let announcer = Arc::new(InProcessAnnouncer::new());
        let mut history = holes(&store, &announcer).await;
        // Ordinals 2, 3 (removed at version 2) are free; 4, 5 (removed at
        // version 3, the one restored) wait a cycle.
        let mut p = restored(&store, &announcer).await;
        assert_eq!(add(&mut p, 11..=14).await, vec![2, 3, 10, 11]);
        history.push(by_ordinal::<Movie>(state(&p)));
        // Version 4 removed nothing: its holes 4, 5 are free at once.
        let mut p = restored(&store, &announcer).await;
        assert_eq!(add(&mut p, 15..=17).await, vec![4, 5, 12]);
        history.push(by_ordinal::<Movie>(state(&p)));

        // A long-running producer makes the same choices.
        let long_store = Arc::new(MemoryBlobStore::new());
        let long_announcer = Arc::new(InProcessAnnouncer::new());
        let mut long = producer(&long_store, &long_announcer);
        let mut movies: Vec<Movie> = (1..=10).map(|id| dataset::movie(id, 0)).collect();
        for gone in [[0u64; 0].as_slice(), &[3, 4], &[5, 6]] {
            movies.retain(|m| !gone.contains(&m.id));
            publish(&mut long, &movies).await;
        }
        assert_eq!(add(&mut long, 11..=14).await, vec![2, 3, 10, 11]);
        assert_eq!(add(&mut long, 15..=17).await, vec![4, 5, 12]);
        assert_eq!(&by_ordinal::<Movie>(state(&long)), &history[4]);

        walk_back(&store, &announcer, &tmp.path().join("walker"), &history).await;
    });
}

#[test]
fn without_the_restored_versions_delta_every_hole_waits_a_cycle() {
    dataset::runtime().block_on(async {
        let store = Arc::new(MemoryBlobStore::new());
        let announcer = Arc::new(InProcessAnnouncer::new());
        holes(&store, &announcer).await;
        // Which ordinals version 3 removed is no longer known.
        store.remove(BlobName::Delta { from: 2, to: 3 });
        store.remove(BlobName::ReverseDelta { from: 3, to: 2 });
        let mut p = restored(&store, &announcer).await;
        assert_eq!(add(&mut p, 11..=14).await, vec![10, 11, 12, 13]);
        // The next cycle of the same producer reuses them.
        assert_eq!(add(&mut p, 15..=17).await, vec![2, 3, 4]);
    });
}

#[test]
fn the_reverse_delta_tells_what_the_restored_version_removed() {
    dataset::runtime().block_on(async {
        let store = Arc::new(MemoryBlobStore::new());
        let announcer = Arc::new(InProcessAnnouncer::new());
        holes(&store, &announcer).await;
        store.remove(BlobName::Delta { from: 2, to: 3 });
        let mut p = restored(&store, &announcer).await;
        assert_eq!(add(&mut p, 11..=14).await, vec![2, 3, 10, 11]);
    });
}

#[test]
fn ordinals_never_published_never_raise_the_limit_consumers_follow() {
    dataset::runtime().block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(MemoryBlobStore::new());
        let announcer = Arc::new(InProcessAnnouncer::new());
        let mut p = producer(&store, &announcer);
        let first: Vec<Movie> = (1..=100).map(|id| dataset::movie(id, 0)).collect();
        publish(&mut p, &first).await;
        let consumer = dataset::consumer(store.clone(), announcer.clone(), &tmp.path().join("c"));
        assert_eq!(consumer.refresh().await.unwrap(), Some(1));
        // Fifty movies added and forty-nine of them deleted in one cycle:
        // one record is published, and the limit rises by one.
        let out = p
            .run_incremental(|w| {
                (1000..1050).try_for_each(|id| w.upsert(&dataset::movie(id, 1)))?;
                (1000..1049).try_for_each(|id| w.delete::<Movie>(&id))
            })
            .await
            .unwrap();
        assert_eq!(out.version, Some(2));
        assert_eq!(ordinal_limit(&p), 101);
        // A cycle that fails after adding 500 movies publishes nothing and
        // leaves the limit where it was.
        let failed = p
            .run_incremental(|w| {
                (2000..2500).try_for_each(|id| w.upsert(&dataset::movie(id, 2)))?;
                Err(Error::new(ErrorKind::Populate, "the source went away"))
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(ordinal_limit(&p), 101);
        let out = p
            .run_incremental(|w| (3000..3002).try_for_each(|id| w.upsert(&dataset::movie(id, 3))))
            .await
            .unwrap();
        assert_eq!(out.version, Some(3));
        assert_eq!(ordinal_limit(&p), 103);
        // A consumer that follows every delta holds each to the bound (a
        // delta raises the limit by at most the records it adds) and reaches
        // what the producer holds.
        assert_eq!(consumer.refresh().await.unwrap(), Some(3));
        let held = consumer.current().unwrap();
        assert!(held
            .blob_names()
            .contains(&BlobName::Delta { from: 2, to: 3 }));
        assert_eq!(held.records::<Movie>().ordinal_limit(), 103);
        assert_eq!(by_ordinal::<Movie>(&held), by_ordinal::<Movie>(state(&p)));
    });
}

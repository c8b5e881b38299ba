//! Helpers for the producer / consumer tests (`producer_consumer.rs`,
//! `cycles_prop.rs`, `failures.rs`): deterministic [`Movie`] and [`Actor`]
//! records made from a seed, a consumer with its own cache directory, and the
//! records a [`ReadState`] holds, by ordinal or by primary key, as owned
//! values to compare with an oracle.
//!
//! ```
//! use hollow_tests::dataset;
//!
//! let a = dataset::movie(7, 1);
//! assert_eq!(a.id, 7);
//! assert_eq!(a, dataset::movie(7, 1));
//! assert_ne!(a, dataset::movie(7, 2));
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use hollow_runtime::store::{AnnouncementWatcher, BlobStore};
use hollow_runtime::{Consumer, Producer, ReadState, Record, Struct};

use crate::{Actor, Movie};

/// A movie with primary key `id` whose other fields are derived from `seed`
/// (two seeds give two different movies).
pub fn movie(id: u64, seed: u64) -> Movie {
    Movie {
        id,
        title: format!("movie {id} take {seed}"),
        year: 1900 + (seed % 125) as u16,
        runtime_min: 60 + (seed % 120) as u16,
        rating: (seed % 100) as f32 / 10.0,
        genres: (0..seed % 3)
            .map(|g| format!("genre{}", (seed + g) % 5))
            .collect(),
        cast_ids: (0..seed % 4).map(|c| seed.wrapping_mul(31) + c).collect(),
        description: if seed.is_multiple_of(2) {
            String::new()
        } else {
            format!("seed {seed}")
        },
    }
}

/// An actor with primary key `id`, named after `seed`.
pub fn actor(id: u64, seed: u64) -> Actor {
    Actor {
        id,
        name: format!("actor {id} seed {seed}"),
    }
}

/// A current-thread tokio runtime with timers and I/O.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A consumer of `store` watching `watcher`, caching blobs in `cache` (so the
/// test's temporary directory cleans it up).
pub fn consumer(
    store: Arc<dyn BlobStore>,
    watcher: Arc<dyn AnnouncementWatcher>,
    cache: &Path,
) -> Consumer {
    Consumer::builder(store, watcher)
        .cache_dir(cache)
        .build()
        .expect("a consumer")
}

/// Every record of `T` in `state`, by ordinal, as owned values. Also checks
/// that the iteration agrees with `len()` and `get()`.
pub fn by_ordinal<T: Struct>(state: &ReadState) -> BTreeMap<u32, T> {
    let records = state.records::<T>();
    let mut out = BTreeMap::new();
    for (o, r) in records.iter() {
        let v = T::from_ref(r).unwrap_or_else(|e| panic!("{} ordinal {o}: {e:?}", T::TYPE_NAME));
        assert!(records.get(o).is_some(), "{} ordinal {o}", T::TYPE_NAME);
        out.insert(o, v);
    }
    assert_eq!(out.len(), records.len(), "{} len()", T::TYPE_NAME);
    assert_eq!(
        out.len(),
        state.count(T::TYPE_NAME),
        "{} count()",
        T::TYPE_NAME
    );
    out
}

/// Every record of `T` in `state`, by primary key; panics if two records
/// share a key.
pub fn by_key<T: Record>(state: &ReadState) -> BTreeMap<T::PrimaryKey, T>
where
    T::PrimaryKey: Ord + std::fmt::Debug,
{
    let mut out = BTreeMap::new();
    for (o, v) in by_ordinal::<T>(state) {
        let key = v.primary_key();
        if let Some(other) = out.insert(v.primary_key(), v) {
            panic!(
                "version {}: two {} records with key {key:?} (ordinal {o} and {:?})",
                state.version(),
                T::TYPE_NAME,
                other.primary_key()
            );
        }
    }
    out
}

/// A catalog of `n` movies and `n / 2` actors, the fields depending on
/// `round` for keys divisible by `every` (so consecutive rounds differ in
/// that share of the records).
pub fn catalog(n: u64, round: u64, every: u64) -> Catalog {
    let seed = |id: u64| if id.is_multiple_of(every) { round } else { 0 };
    Catalog {
        movies: (1..=n).map(|id| (id, movie(id, seed(id)))).collect(),
        actors: (1..=n / 2).map(|id| (id, actor(id, seed(id)))).collect(),
    }
}

/// Publishes `c` as one cycle of `producer`: the version it made (`None`
/// when nothing changed). Panics if the cycle fails.
pub async fn publish(producer: &mut Producer, c: &Catalog) -> Option<u64> {
    producer
        .run_cycle(|w| {
            c.movies.values().try_for_each(|m| w.add(m))?;
            c.actors.values().try_for_each(|a| w.add(a))
        })
        .await
        .unwrap()
        .version
}

/// A movies-and-actors oracle: what the producer published.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalog {
    /// Movies by id.
    pub movies: BTreeMap<u64, Movie>,
    /// Actors by id.
    pub actors: BTreeMap<u64, Actor>,
}

impl Catalog {
    /// Asserts that `state` holds exactly this catalog (`what` names the
    /// consumer in messages).
    pub fn assert_held_by(&self, state: &ReadState, what: &str) {
        assert_eq!(
            by_key::<Movie>(state),
            self.movies,
            "{what}: movies at version {}",
            state.version()
        );
        assert_eq!(
            by_key::<Actor>(state),
            self.actors,
            "{what}: actors at version {}",
            state.version()
        );
    }
}

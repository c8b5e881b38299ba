//! Micro-benchmarks of the indexes on the benchmark `Movie` (200 000
//! movies): primary-key and hash-index lookups against a native `HashMap`
//! in the same run, and a 1 % delta applied back and forth by a consumer
//! with and without Movie's three indexes (the difference is the index
//! update).
//!
//! `cargo bench -p hollow-benches --bench indexes`

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_main, Criterion, Throughput};
use hollow_benches::{
    change, initial, populate, Movie, MovieByGenres, MovieByYear, MoviePrimaryKey, GENRES,
};
use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{Consumer, Producer};

const N: u64 = 200_000;
const LOOKUPS: usize = 10_000;

struct Fixture {
    rt: tokio::runtime::Runtime,
    store: Arc<MemoryBlobStore>,
    announcer: Arc<InProcessAnnouncer>,
    movies: Vec<Movie>,
    v1: u64,
    v2: u64,
}

fn fixture() -> Fixture {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (actors, mut movies, mut rng) = initial(N);
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let (v1, v2) = rt.block_on(async {
        let v1 = producer
            .run_cycle(populate(&actors, &movies))
            .await
            .expect("cycle 1");
        let mut next_id = N;
        change(&mut rng, &mut movies, N, N / 100, &mut next_id);
        let v2 = producer
            .run_cycle(populate(&actors, &movies))
            .await
            .expect("cycle 2");
        (v1.version.expect("v1"), v2.version.expect("v2"))
    });
    Fixture {
        rt,
        store,
        announcer,
        movies,
        v1,
        v2,
    }
}

fn lookups(c: &mut Criterion) {
    let f = fixture();
    let consumer = Consumer::builder(f.store.clone(), f.announcer.clone())
        .index::<MoviePrimaryKey>()
        .index::<MovieByGenres>()
        .build()
        .expect("consumer");
    f.rt.block_on(consumer.refresh_to(f.v2)).expect("load");
    let state = consumer.current().expect("state");
    let records = state.records::<Movie>();
    let pk = records.primary_key_index();
    let native: HashMap<u64, usize> = f
        .movies
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id, i))
        .collect();
    let mut x: u64 = 7;
    let keys: Vec<u64> = (0..LOOKUPS)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            f.movies[(x % f.movies.len() as u64) as usize].id
        })
        .collect();
    let mut g = c.benchmark_group("pk_lookup");
    g.throughput(Throughput::Elements(LOOKUPS as u64));
    g.bench_function("hollow", |b| {
        b.iter(|| {
            keys.iter()
                .map(|&k| pk.get(k).map_or(0.0, |m| m.rating() as f64))
                .sum::<f64>()
        })
    });
    g.bench_function("hollow_by_primary_key", |b| {
        b.iter(|| {
            keys.iter()
                .map(|k| records.by_primary_key(k).map_or(0.0, |m| m.rating() as f64))
                .sum::<f64>()
        })
    });
    g.bench_function("native_hashmap", |b| {
        b.iter(|| {
            keys.iter()
                .map(|k| f.movies[native[k]].rating as f64)
                .sum::<f64>()
        })
    });
    g.finish();

    let by_genre = state.index::<MovieByGenres>();
    let mut native_genres: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, m) in f.movies.iter().enumerate() {
        for genre in &m.genres {
            native_genres.entry(genre.as_str()).or_default().push(i);
        }
    }
    let genres: Vec<&str> = keys.iter().map(|&k| GENRES[(k % 20) as usize]).collect();
    let mut g = c.benchmark_group("hash_lookup");
    g.throughput(Throughput::Elements(LOOKUPS as u64));
    g.bench_function("hollow", |b| {
        b.iter(|| {
            genres
                .iter()
                .map(|&k| by_genre.get(k).next().map_or(0, |m| m.id()))
                .sum::<u64>()
        })
    });
    g.bench_function("native_hashmap", |b| {
        b.iter(|| {
            genres
                .iter()
                .map(|&k| {
                    native_genres
                        .get(k)
                        .and_then(|v| v.first())
                        .map_or(0, |&i| f.movies[i].id)
                })
                .sum::<u64>()
        })
    });
    g.finish();
}

fn delta_apply(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("delta_apply_1pct_back_and_forth");
    g.sample_size(10);
    for (name, indexed) in [("without_indexes", false), ("with_3_indexes", true)] {
        let mut builder = Consumer::builder(f.store.clone(), f.announcer.clone());
        if indexed {
            builder = builder
                .index::<MoviePrimaryKey>()
                .index::<MovieByYear>()
                .index::<MovieByGenres>();
        }
        let consumer = builder.build().expect("consumer");
        f.rt.block_on(consumer.refresh_to(f.v1)).expect("load");
        g.bench_function(name, |b| {
            b.iter(|| {
                f.rt.block_on(async {
                    consumer.refresh_to(f.v2).await.expect("delta");
                    consumer.refresh_to(f.v1).await.expect("reverse delta");
                });
                black_box(consumer.version())
            })
        });
    }
    g.finish();
}

// criterion_group! generates an undocumented pub fn.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::lookups, super::delta_apply);
}
criterion_main!(group::benches);

//! Micro-benchmarks of the record hot paths on the benchmark `Movie`:
//! encoding, canonical hashing, and `MovieRef` getters against the same
//! fields of a native `Vec<Movie>`, measured in the same run.
//!
//! `cargo bench -p hollow-benches --bench records`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hollow_benches::{initial, Movie};
use hollow_runtime::{Encoder, Hollow, List};

const N: usize = 100_000;

/// Stands in for a snapshot section: every movie in one `List(Movie)`.
#[derive(Hollow)]
#[hollow(nested)]
struct Catalog {
    movies: Vec<Movie>,
}

/// Uses a string the way a reader would: its length and its bytes (the
/// first and last), so neither side gets away with reading only a length.
#[inline(always)]
fn text_cost(s: &str) -> usize {
    let b = s.as_bytes();
    b.len() + b.first().copied().unwrap_or(0) as usize + b.last().copied().unwrap_or(0) as usize
}

fn movies() -> Vec<Movie> {
    initial(N as u64).1
}

fn encode(c: &mut Criterion) {
    let movies = movies();
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("canonical_bytes", |b| {
        let mut enc = Encoder::new();
        b.iter(|| {
            let mut total = 0usize;
            for m in &movies {
                total += enc.encode(m).expect("encodes").len();
            }
            black_box(total)
        })
    });
    g.bench_function("canonical_hash", |b| {
        let mut enc = Encoder::new();
        b.iter(|| {
            let mut acc = 0u64;
            for m in &movies {
                acc ^= enc.hash(m).expect("encodes");
            }
            black_box(acc)
        })
    });
    g.finish();
}

fn reads(c: &mut Criterion) {
    let movies = movies();
    let catalog = Catalog {
        movies: movies.clone(),
    };
    let bytes = hollow_runtime::to_canonical_bytes(&catalog).expect("encodes");
    let root = hollow_runtime::read_root::<Catalog>(&bytes).expect("reads");
    let list: List<'_, Movie> = root.movies();
    assert_eq!(list.len(), N);

    let mut g = c.benchmark_group("scan_id");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("native", |b| {
        b.iter(|| black_box(&movies).iter().map(|m| m.id).sum::<u64>())
    });
    g.bench_function("hollow", |b| {
        b.iter(|| black_box(list).iter().map(|m| m.id()).sum::<u64>())
    });
    g.finish();

    let mut g = c.benchmark_group("scan_rating");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("native", |b| {
        b.iter(|| black_box(&movies).iter().map(|m| m.rating).sum::<f32>())
    });
    g.bench_function("hollow", |b| {
        b.iter(|| black_box(list).iter().map(|m| m.rating()).sum::<f32>())
    });
    g.finish();

    let mut g = c.benchmark_group("scan_id_title");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("native", |b| {
        b.iter(|| {
            black_box(&movies)
                .iter()
                .map(|m| m.id as usize + text_cost(&m.title))
                .sum::<usize>()
        })
    });
    g.bench_function("hollow", |b| {
        b.iter(|| {
            black_box(list)
                .iter()
                .map(|m| m.id() as usize + text_cost(m.title()))
                .sum::<usize>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("scan_genres");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("native", |b| {
        b.iter(|| {
            black_box(&movies)
                .iter()
                .map(|m| m.genres.iter().map(|g| g.len()).sum::<usize>())
                .sum::<usize>()
        })
    });
    g.bench_function("hollow", |b| {
        b.iter(|| {
            black_box(list)
                .iter()
                .map(|m| m.genres().iter().map(str::len).sum::<usize>())
                .sum::<usize>()
        })
    });
    g.finish();

    // Random access by position (what an index lookup ends in).
    let idx: Vec<usize> = (0..N).map(|i| (i * 7919) % N).collect();
    let mut g = c.benchmark_group("random_get_title");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("native", |b| {
        b.iter(|| {
            idx.iter()
                .map(|&i| text_cost(&black_box(&movies)[i].title))
                .sum::<usize>()
        })
    });
    g.bench_function("hollow", |b| {
        b.iter(|| {
            idx.iter()
                .map(|&i| black_box(list).get(i).map_or(0, |m| text_cost(m.title())))
                .sum::<usize>()
        })
    });
    g.finish();
}

// criterion_group! generates an undocumented pub fn.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = encode, reads
    }
}
criterion_main!(group::benches);

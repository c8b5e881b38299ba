//! `hollow-bench`: the benchmark scenario of `docs/benchmark.md`, every
//! figure beside a baseline measured in the same run.
//!
//! ```text
//! cargo run --release -p hollow-benches --bin hollow-bench -- [--movies N] [--reps R] [--dir PATH] [--json] [--netflix FILE]
//! ```
//!
//! `--netflix FILE` adds rows setting figures beside Netflix Hollow's,
//! read from the `key value` lines its benchmark program printed on the
//! same machine ([`hollow_benches::netflix`]).

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use hollow_benches::flags::{unknown, Flags};
use hollow_benches::maps;
use hollow_benches::netflix::{Netflix, NetflixError};
use hollow_benches::{
    change, check_equal, initial, median, ms, populate, us, Actor, JavaRandom, Movie,
    MovieByGenres, MovieByYear, MoviePrimaryKey,
};
use hollow_runtime::store::BlobStore;
use hollow_runtime::{
    BlobName, Consumer, ConsumerBuilder, CycleOutcome, FileAnnouncer, FsBlobStore, Producer,
    ReadState,
};

struct Args {
    movies: u64,
    reps: usize,
    dir: Option<PathBuf>,
    json: bool,
    netflix: Option<PathBuf>,
    share_values: bool,
    producer_memory_only: bool,
    fetch_only: bool,
    load_only: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        movies: 1_000_000,
        reps: 5,
        dir: None,
        json: false,
        netflix: None,
        share_values: true,
        producer_memory_only: false,
        fetch_only: false,
        load_only: false,
    };
    let mut f = Flags::from_env();
    while let Some(x) = f.next_flag() {
        match x.as_str() {
            "--movies" => a.movies = f.movies()?,
            "--reps" => a.reps = f.reps()?,
            "--dir" => a.dir = Some(f.value("--dir")?.into()),
            "--json" => a.json = true,
            "--netflix" => a.netflix = Some(f.value("--netflix")?.into()),
            "--no-shared-values" => a.share_values = false,
            "--producer-memory-only" => a.producer_memory_only = true,
            "--fetch-only" => a.fetch_only = true,
            "--load-only" => a.load_only = true,
            "-h" | "--help" => {
                println!(
                    "usage: hollow-bench [--movies N (1000000)] [--reps R (5)] [--dir PATH (temp)] [--json] \
                     [--netflix FILE (Netflix Hollow's figures, `key value` lines)] \
                     [--no-shared-values (write every record's values unshared)] \
                     [--producer-memory-only (measure the producer's peak memory alone)] \
                     [--fetch-only (only the first cycle, then the snapshot's store put and fetch, \
                     compressed beside plain)] \
                     [--load-only (only the first cycle, then the snapshot loads from a warm cache \
                     beside the deserialize baseline)]"
                );
                std::process::exit(0);
            }
            other => return Err(unknown(other)),
        }
    }
    Ok(a)
}

fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The least any one-at-a-time lookup that keeps no copy of its keys can
/// take here: two dependent random reads, a slot (in an array of `u32` as
/// large as the primary-key index) and then the record it names (in an
/// array of 48-byte records, a `Movie`'s size without its texts and
/// lists), with no probe, no key compare and nothing else. Timed over the
/// same keys as the lookups, in the same rounds, it shows how far above
/// what the machine's memory allows a lookup is, whatever the machine's
/// speed at the time.
struct ReadFloor {
    slots: Vec<u32>,
    records: Vec<[u64; 6]>,
}

impl ReadFloor {
    fn new(movies: &[Movie], slots: usize) -> ReadFloor {
        let mut floor = ReadFloor {
            slots: vec![0; slots.max(1)],
            records: movies
                .iter()
                .map(|m| [m.id, u64::from(m.rating.to_bits()), 0, 0, 0, 0])
                .collect(),
        };
        for (i, m) in movies.iter().enumerate() {
            let slot = floor.slot(m.id);
            floor.slots[slot] = i as u32;
        }
        floor
    }

    #[inline(always)]
    fn slot(&self, id: u64) -> usize {
        let h = hollow_runtime::key_hash(&id.to_le_bytes());
        (((h >> 32) * self.slots.len() as u64) >> 32) as usize
    }

    /// The rating of the record each key's slot names, summed.
    fn sum(&self, keys: &[u64]) -> f64 {
        keys.iter()
            .map(|&k| {
                let r = &self.records[self.slots[self.slot(k)] as usize];
                f32::from_bits(r[1] as u32) as f64
            })
            .sum()
    }

    /// [`ReadFloor::sum`] with `ADDS` more instructions per key (register
    /// additions in four independent chains, none waiting on memory): what
    /// a lookup's own work costs in overlap alone. A loop of independent
    /// lookups keeps as many of them in flight as the processor's window
    /// holds instructions for, so the same two reads slow down as the
    /// instructions between them grow, whatever those instructions do.
    /// `None` off x86-64 (the additions are written in its assembly, so the
    /// compiler can neither fold nor drop them).
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
    fn sum_busy<const ADDS: usize>(&self, keys: &[u64]) -> Option<f64> {
        #[cfg(target_arch = "x86_64")]
        {
            Some(
                keys.iter()
                    .map(|&k| {
                        let (mut a, mut b, mut c, mut d) = (k, k ^ 1, k ^ 2, k ^ 3);
                        // SAFETY: register additions only; no memory, stack
                        // or flags the compiler relies on.
                        unsafe {
                            std::arch::asm!(
                                ".rept {n}",
                                "add {a}, 1",
                                "add {b}, 3",
                                "add {c}, 5",
                                "add {d}, 7",
                                ".endr",
                                n = const ADDS / 4,
                                a = inout(reg) a,
                                b = inout(reg) b,
                                c = inout(reg) c,
                                d = inout(reg) d,
                                options(pure, nomem, nostack),
                            );
                        }
                        let r = &self.records[self.slots[self.slot(k)] as usize];
                        f32::from_bits(r[1] as u32) as f64 + ((a ^ b ^ c ^ d) & 1) as f64
                    })
                    .sum(),
            )
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            None
        }
    }
}

/// What a Rust user would otherwise ship: the whole dataset serialized.
#[derive(serde::Serialize, serde::Deserialize)]
struct Dataset {
    actors: Vec<Actor>,
    movies: Vec<Movie>,
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "-".into()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // A consumer process of the shared-memory figures (hollow_benches::pss).
    if let Some(code) = hollow_benches::pss::child_main().await {
        std::process::exit(code);
    }
    // The producer process of the producer-memory figures
    // (hollow_benches::producer_rss).
    if let Some(code) = hollow_benches::producer_rss::child_main().await {
        std::process::exit(code);
    }
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hollow-bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await {
        eprintln!("hollow-bench: {e}");
        std::process::exit(1);
    }
}

/// The error every stage returns.
type BoxError = Box<dyn std::error::Error>;

/// What the stages share: the store, the dataset as it changes, and the
/// producer publishing it.
struct Bench {
    reps: usize,
    n: u64,
    store: Arc<FsBlobStore>,
    announcer: Arc<FileAnnouncer>,
    cache: PathBuf,
    actors: Vec<Actor>,
    movies: Vec<Movie>,
    rng: JavaRandom,
    next_id: u64,
    producer: Producer,
}

impl Bench {
    /// A consumer of the store, sharing the one local cache.
    fn consumer(&self) -> ConsumerBuilder {
        Consumer::builder(self.store.clone(), self.announcer.clone()).cache_dir(&self.cache)
    }

    /// Changes `count` movies (updates, deletions and additions).
    fn change(&mut self, count: u64) {
        change(
            &mut self.rng,
            &mut self.movies,
            self.n,
            count,
            &mut self.next_id,
        );
    }

    /// A full re-populate cycle; its version.
    async fn cycle(&mut self) -> Result<CycleOutcome, BoxError> {
        Ok(self
            .producer
            .run_cycle(populate(&self.actors, &self.movies))
            .await?)
    }
}

/// Every figure of the run (medians of the repetitions), by the stage that
/// measures it.
#[derive(Default)]
struct Figures {
    // The serialized baseline.
    baseline_ser: f64,
    baseline_bytes: f64,
    baseline_load: f64,
    baseline_rss: f64,
    // Producer.
    cycle1: f64,
    steady: f64,
    incremental: f64,
    snapshot_bytes: f64,
    delta_bytes: f64,
    rdelta_bytes: f64,
    // As stored (the producer's default compression): what consumers fetch.
    snapshot_transit_bytes: f64,
    delta_transit_bytes: f64,
    // Fetching the snapshot into a cache: stored compressed (decompressed
    // on the way) and stored plain (copied).
    snapshot_fetch: f64,
    snapshot_fetch_plain: f64,
    // Consumer refresh.
    snapshot_load: f64,
    snapshot_selfcheck: f64,
    load_check_us: f64,
    delta_check_us: f64,
    apply: f64,
    apply10: f64,
    reverse: f64,
    rss: Option<f64>,
    outside_share: f64,
    reclaim: f64,
    // Reads.
    scan_id: f64,
    scan_id_title: f64,
    native_scan_id: f64,
    native_scan_id_title: f64,
    records_call: f64,
    pk: f64,
    pk_batch: f64,
    reclaimed_pk: f64,
    reclaimed_pk_batch: f64,
    native_pk: f64,
    floor: f64,
    busy16: Option<f64>,
    busy64: Option<f64>,
    hash: f64,
    native_hash: f64,
    // Indexes.
    pk_bytes: f64,
    pk_bytes_1pct: f64,
    update: f64,
    pk_update: f64,
    pk_verified_update: f64,
    rebuild: f64,
    // The map workload.
    items: f64,
    map_get: f64,
    native_btree_get: f64,
    native_hash_get: f64,
    set_contains: f64,
    native_set_contains: f64,
    map_bytes: f64,
    map_text_bytes: f64,
    map_load: f64,
    lists_load: f64,
    // Consumer processes sharing one cache directory.
    pss: hollow_benches::pss::PssFigures,
    // The producer alone, in a process of its own.
    producer_rss: Option<hollow_benches::producer_rss::ProducerRss>,
}

async fn run(args: Args) -> Result<(), BoxError> {
    let n = args.movies;
    let netflix = args.netflix.as_deref().map(Netflix::read).transpose()?;
    if let Some(h) = &netflix {
        // Removals and additions balance, so the count stays N.
        let theirs = h.get("producer.movies_after_cycle6")?;
        if theirs != n as f64 {
            return Err(format!(
                "Netflix Hollow's figures are of {theirs} movies, this run's of {n}: \
                 run both at the same --movies"
            )
            .into());
        }
    }
    let tmp;
    let dir = match &args.dir {
        Some(d) => {
            if d.exists() {
                std::fs::remove_dir_all(d)?;
            }
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let mut f = Figures::default();
    if args.fetch_only {
        return fetch_only(&args, &dir).await;
    }
    if args.load_only {
        return load_only(&args, &dir).await;
    }
    producer_memory(&args, &mut f, &dir)?;
    if args.producer_memory_only {
        print_rows(&producer_memory_rows(&f));
        return Ok(());
    }
    let mut b = bench(&args, &dir)?;
    let serialized = serialize_baseline(&b, &mut f)?;
    let v1 = first_cycle(&mut b, &mut f).await?;
    let consumer = snapshot_loads(&b, &mut f, v1).await?;
    snapshot_fetches(&b, &mut f, v1, &dir).await?;
    deserialize_baseline(&b, &mut f, &serialized)?;
    let versions = steady_cycles(&mut b, &mut f, &consumer, v1).await?;
    reverse_walk(&mut f, &consumer, &versions).await?;
    incremental_cycles(&mut b, &mut f, &consumer).await?;
    let (state, reclaimed) = ten_percent_and_reclaim(&mut b, &mut f, &consumer).await?;
    scans(&b, &mut f, &state);
    let (keys, mut lrng) = random_ids(&b.movies);
    pk_lookups(&b, &mut f, &state, &reclaimed, &keys)?;
    hash_lookups(&b, &mut f, &state, &mut lrng)?;
    records_calls(&b, &mut f, &state);
    rebuilds(&b, &mut f, state.version()).await?;
    shared_memory(&b, &mut f, &dir, state.version())?;
    map_workload(&b, &mut f, &dir).await?;
    let netflix_rows = netflix.as_ref().map(|h| netflix_rows(&f, h)).transpose()?;
    print(&args, &f, netflix_rows.unwrap_or_default());
    Ok(())
}

/// The scenario's dataset generated, and a producer over a directory
/// store (and cache) under `dir`.
fn bench(args: &Args, dir: &Path) -> Result<Bench, BoxError> {
    let n = args.movies;
    eprintln!("generating {n} movies and 200000 actors ...");
    let (actors, movies, rng): (Vec<Actor>, Vec<Movie>, JavaRandom) = initial(n);
    let store = Arc::new(FsBlobStore::new(dir.join("store"))?);
    let announcer = Arc::new(FileAnnouncer::new(dir.join("store"))?);
    let producer = Producer::builder(store.clone(), announcer.clone())
        .share_values(args.share_values)
        .build();
    Ok(Bench {
        reps: args.reps,
        n,
        store,
        announcer,
        cache: dir.join("cache"),
        actors,
        movies,
        rng,
        next_id: n,
        producer,
    })
}

/// `--fetch-only`: the first cycle, then the snapshot put into a store of
/// its own compressed (zstd at the producer's default level) and plain,
/// and fetched from a store holding it compressed and from one holding it
/// plain, each the median of `--reps`, one after the other in this run.
/// Beside each wall time, the CPU time the process spent (user and system,
/// from `/proc/self/stat`): on a loaded machine the wall time mostly shows
/// the wait for a core.
async fn fetch_only(args: &Args, dir: &Path) -> Result<(), BoxError> {
    use hollow_runtime::store::Compression;
    let mut b = bench(args, dir)?;
    let mut f = Figures::default();
    let v1 = first_cycle(&mut b, &mut f).await?;
    drop(b);
    let name = BlobName::Snapshot(v1);
    let plain_path = dir.join("plain");
    FsBlobStore::new(dir.join("store"))?
        .fetch(name, &plain_path)
        .await?;
    let plain = std::fs::read(&plain_path)?;
    eprintln!("snapshot puts and fetches ...");
    let [zstd_store, plain_store] = [dir.join("zstd-store"), dir.join("plain-store")];
    let mut times = [(); 4].map(|()| (Vec::new(), Vec::new()));
    for rep in 0..args.reps {
        for (i, (compression, to)) in [
            (Compression::default(), &zstd_store),
            (Compression::None, &plain_store),
        ]
        .into_iter()
        .enumerate()
        {
            if to.exists() {
                std::fs::remove_dir_all(to)?;
            }
            let put_store = FsBlobStore::new(to)?;
            let (s, c) = (Instant::now(), cpu_ms());
            put_store.put_as(name, &plain, compression).await?;
            times[i].0.push(ms(s.elapsed()));
            times[i].1.push(cpu_ms() - c);
            let dest = dir.join(format!("fetched-{rep}"));
            let (s, c) = (Instant::now(), cpu_ms());
            put_store.fetch(name, &dest).await?;
            times[2 + i].0.push(ms(s.elapsed()));
            times[2 + i].1.push(cpu_ms() - c);
            std::fs::remove_file(&dest)?;
        }
    }
    let [zstd_put, plain_put, zstd_fetch, plain_fetch] =
        times.map(|(wall, cpu)| (median(wall), median(cpu)));
    let stored = std::fs::metadata(
        FsBlobStore::new(&zstd_store)?.stored_path(name, hollow_runtime::store::Encoding::Zstd),
    )?
    .len() as f64;
    let bytes = plain.len() as f64;
    let mb = |b: f64| format!("{:.1} MB", b / 1e6);
    let timed = |(wall, cpu): (f64, f64)| format!("{wall:.0} ms ({cpu:.0} cpu)");
    let rate = |(_, cpu): (f64, f64)| format!("{:.0} MB/s", bytes / 1e3 / cpu.max(1.0));
    let rows = [
        row(
            "snapshot",
            mb(bytes),
            format!("{} stored (zstd)", mb(stored)),
            ratio(stored, bytes),
        ),
        row(
            "snapshot put, zstd",
            timed(zstd_put),
            format!("{} stored plain", timed(plain_put)),
            ratio(zstd_put.1, plain_put.1),
        ),
        row(
            "  plain MB per cpu second",
            rate(zstd_put),
            rate(plain_put),
            String::new(),
        ),
        row(
            "snapshot fetch, zstd",
            timed(zstd_fetch),
            format!("{} stored plain", timed(plain_fetch)),
            ratio(zstd_fetch.1, plain_fetch.1),
        ),
        row(
            "  plain MB per cpu second",
            rate(zstd_fetch),
            rate(plain_fetch),
            String::new(),
        ),
    ];
    print_rows(&rows);
    std::fs::remove_file(&plain_path)?;
    Ok(())
}

/// Only the snapshot load from a warm cache and its baseline, after the
/// first cycle: quick enough to run many times in alternation with another
/// build when comparing the two.
async fn load_only(args: &Args, dir: &Path) -> Result<(), BoxError> {
    let mut b = bench(args, dir)?;
    let mut f = Figures::default();
    let serialized = serialize_baseline(&b, &mut f)?;
    let v1 = first_cycle(&mut b, &mut f).await?;
    eprintln!("snapshot loads ...");
    let consumer = snapshot_loads(&b, &mut f, v1).await?;
    drop(consumer);
    deserialize_baseline(&b, &mut f, &serialized)?;
    print_rows(&consumer_rows(&f)[..1]);
    if args.json {
        println!(
            "{{\"movies\":{},\"snapshot_load_ms\":{},\"baseline_load_ms\":{}}}",
            b.n, f.snapshot_load, f.baseline_load
        );
    }
    Ok(())
}

/// The CPU time this process has spent so far (user and system), in
/// milliseconds; 0 where `/proc/self/stat` cannot be read.
fn cpu_ms() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The fields after the command name (in parentheses): utime and stime
    // are the 14th and 15th of the line, in clock ticks (100 a second).
    let after = stat.rsplit(')').next().unwrap_or("");
    let ticks: f64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<f64>().ok())
        .sum();
    ticks * 10.0
}

/// The producer's peak memory, in a process of its own (before anything
/// else, so its first snapshot's size is known from its own run).
fn producer_memory(args: &Args, f: &mut Figures, dir: &Path) -> Result<(), BoxError> {
    eprintln!("producer alone, peak memory (cycles 1..6) ...");
    let rss = hollow_benches::producer_rss::measure(args.movies, dir, args.share_values)
        .map_err(|e| -> BoxError { e })?;
    f.producer_rss = Some(rss);
    Ok(())
}

/// The rows of the producer's peak memory, beside the snapshot's size.
fn producer_memory_rows(f: &Figures) -> Vec<Row> {
    let mib = |b: f64| format!("{:.0} MiB", b / 1048576.0);
    let Some(r) = f.producer_rss else {
        return Vec::new();
    };
    vec![
        row(
            "producer peak RSS (own)",
            mib(r.producer() as f64),
            format!("{} snapshot", mib(r.snapshot_bytes as f64)),
            ratio(r.producer() as f64, r.snapshot_bytes as f64),
        ),
        row(
            "  with its input records",
            mib(r.peak as f64),
            format!("{} input records", mib(r.input as f64)),
            ratio(r.peak as f64, r.snapshot_bytes as f64),
        ),
    ]
}

/// Baseline: the whole dataset serialized, as a Rust user would otherwise
/// ship it. The bytes, for the deserializing baseline.
fn serialize_baseline(b: &Bench, f: &mut Figures) -> Result<Vec<u8>, BoxError> {
    let mut ser = Vec::new();
    let mut bytes = Vec::new();
    for _ in 0..b.reps {
        let ds = Dataset {
            actors: b.actors.clone(),
            movies: b.movies.clone(),
        };
        let s = Instant::now();
        bytes = bincode::serialize(&ds)?;
        ser.push(ms(s.elapsed()));
    }
    f.baseline_ser = median(ser);
    f.baseline_bytes = bytes.len() as f64;
    Ok(bytes)
}

/// The producer's first cycle; its version.
async fn first_cycle(b: &mut Bench, f: &mut Figures) -> Result<u64, BoxError> {
    eprintln!("producer cycle 1 ...");
    let s = Instant::now();
    let first = b.cycle().await?;
    f.cycle1 = ms(s.elapsed());
    f.snapshot_bytes = first
        .blobs
        .iter()
        .find(|(b, _)| matches!(b, BlobName::Snapshot(_)))
        .map_or(0, |(_, s)| *s) as f64;
    let v1 = first.version.ok_or("cycle 1 made no version")?;
    f.snapshot_transit_bytes = b.store.size(BlobName::Snapshot(v1)).await? as f64;
    Ok(v1)
}

/// Fetching the snapshot from the store into a cache file (as a consumer
/// does), stored as the producer stores it (compressed by default, so
/// decompressed on the way), against the same snapshot stored plain in a
/// store of its own (copied). Both read from the page cache.
async fn snapshot_fetches(b: &Bench, f: &mut Figures, v1: u64, dir: &Path) -> Result<(), BoxError> {
    let name = BlobName::Snapshot(v1);
    let plain_store = FsBlobStore::new(dir.join("plain-store"))?;
    plain_store
        .put(name, &std::fs::read(b.cache.join(name.to_string()))?)
        .await?;
    let scratch = tempfile::tempdir_in(dir)?;
    let (mut stored, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..b.reps {
        for (store, times) in [
            (&*b.store as &dyn BlobStore, &mut stored),
            (&plain_store, &mut plain),
        ] {
            let dest = scratch.path().join("fetched");
            let s = Instant::now();
            store.fetch(name, &dest).await?;
            times.push(ms(s.elapsed()));
            std::fs::remove_file(&dest)?;
        }
    }
    f.snapshot_fetch = median(stored);
    f.snapshot_fetch_plain = median(plain);
    std::fs::remove_dir_all(plain_store.dir())?;
    Ok(())
}

/// Snapshot loads from a warm cache (the blob already local), by consumers
/// building Movie's three indexes as the snapshot loads (and updating them
/// with every delta after); the last of them, kept for what follows.
async fn snapshot_loads(b: &Bench, f: &mut Figures, v1: u64) -> Result<Consumer, BoxError> {
    let warm = b.consumer().build()?;
    warm.refresh_to(v1).await?;
    drop(warm);
    let rss_before = rss_bytes();
    let mut loads = Vec::new();
    // The schema check's own share of each load (Movie, read through
    // compiled code by the indexes, compared with the snapshot's schema:
    // each consumer is new, so this is the comparison itself, not a
    // cached answer).
    let mut load_checks = Vec::new();
    let mut consumer = None;
    for _ in 0..b.reps {
        let c = b
            .consumer()
            .index::<MoviePrimaryKey>()
            .index::<MovieByYear>()
            .index::<MovieByGenres>()
            .build()?;
        let s = Instant::now();
        c.refresh_to(v1).await?;
        loads.push(ms(s.elapsed()));
        let loaded = c.current().ok_or("no state")?;
        load_checks.push(us(loaded.schema_check_time()));
        if loaded.schema_checks_run() != 1 {
            return Err("the load did not compare Movie with the snapshot's schema".into());
        }
        consumer = Some(c);
    }
    let consumer = consumer.ok_or("no consumer")?;
    // Touch every record once so resident memory reflects a used state.
    check_equal(&*consumer.current().ok_or("no state")?, &b.movies)?;
    f.rss = match (rss_before, rss_bytes()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64),
        _ => None,
    };
    f.snapshot_load = median(loads);
    f.load_check_us = median(load_checks);
    f.snapshot_selfcheck = selfcheck_ms(&b.cache.join(format!("snapshot-{v1}")), b.reps)?;
    Ok(consumer)
}

/// Baseline load: the serialized dataset deserialized into a `Vec` and a
/// `HashMap` by id.
fn deserialize_baseline(b: &Bench, f: &mut Figures, bytes: &[u8]) -> Result<(), BoxError> {
    let mut base_loads = Vec::new();
    let mut base_rss = 0u64;
    for _ in 0..b.reps {
        let before = rss_bytes().unwrap_or(0);
        let s = Instant::now();
        let ds: Dataset = bincode::deserialize(bytes)?;
        let idx: HashMap<u64, usize> = ds
            .movies
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id, i))
            .collect();
        base_loads.push(ms(s.elapsed()));
        base_rss = rss_bytes()
            .unwrap_or(0)
            .saturating_sub(before)
            .max(base_rss);
        black_box((&ds, &idx));
    }
    f.baseline_load = median(base_loads);
    f.baseline_rss = base_rss as f64;
    Ok(())
}

/// Steady cycles 2..6 (1 % changed, full re-populate), each followed by
/// `consumer` and by two consumers with the primary-key index alone: one
/// trusting the key the blobs declare (its update is what Netflix's 21 ms
/// measures), one checking each delta for duplicate keys itself. Every
/// version, the first included.
async fn steady_cycles(
    b: &mut Bench,
    f: &mut Figures,
    consumer: &Consumer,
    v1: u64,
) -> Result<Vec<u64>, BoxError> {
    let pk_only = b.consumer().index::<MoviePrimaryKey>().build()?;
    pk_only.refresh_to(v1).await?;
    let pk_verifying = b
        .consumer()
        .index::<MoviePrimaryKey>()
        .verify_declared_keys(true)
        .build()?;
    pk_verifying.refresh_to(v1).await?;
    let (mut steady, mut applies, mut delta_checks) = (Vec::new(), Vec::new(), Vec::new());
    let (mut updates, mut pk_updates, mut pk_verified) = (Vec::new(), Vec::new(), Vec::new());
    let (mut delta_bytes, mut rdelta_bytes) = (Vec::new(), Vec::new());
    let mut delta_transit = Vec::new();
    let mut versions = vec![v1];
    for c in 2..=6 {
        eprintln!("producer cycle {c} ...");
        b.change(b.n / 100);
        let s = Instant::now();
        let out = b.cycle().await?;
        steady.push(ms(s.elapsed()));
        let v = out.version.ok_or("a cycle with changes made no version")?;
        versions.push(v);
        for (blob, size) in &out.blobs {
            match blob {
                BlobName::Delta { .. } => {
                    delta_bytes.push(*size as f64);
                    delta_transit.push(b.store.size(*blob).await? as f64);
                }
                BlobName::ReverseDelta { .. } => rdelta_bytes.push(*size as f64),
                _ => {}
            }
        }
        let s = Instant::now();
        consumer.refresh_to(v).await?;
        applies.push(ms(s.elapsed()));
        let state = consumer.current().ok_or("no state")?;
        updates.push(ms(state.index_update_time()));
        delta_checks.push(us(state.schema_check_time()));
        pk_only.refresh_to(v).await?;
        let pk_state = pk_only.current().ok_or("no state")?;
        pk_updates.push(ms(pk_state.index_update_time()));
        pk_verifying.refresh_to(v).await?;
        let verified = pk_verifying.current().ok_or("no state")?;
        pk_verified.push(ms(verified.index_update_time()));
        // The most its index held per record over the 1 % deltas.
        f.pk_bytes_1pct = f.pk_bytes_1pct.max(
            pk_state.index::<MoviePrimaryKey>().heap_bytes() as f64
                / pk_state.records::<Movie>().len() as f64,
        );
    }
    check_equal(&*consumer.current().ok_or("no state")?, &b.movies)?;
    f.steady = median(steady);
    f.apply = median(applies);
    f.delta_check_us = median(delta_checks);
    f.update = median(updates);
    f.pk_update = median(pk_updates);
    f.pk_verified_update = median(pk_verified);
    f.delta_bytes = median(delta_bytes);
    f.rdelta_bytes = median(rdelta_bytes);
    f.delta_transit_bytes = median(delta_transit);
    Ok(versions)
}

/// Reverse deltas: `consumer` walks back through `versions`, then returns
/// to the last.
async fn reverse_walk(
    f: &mut Figures,
    consumer: &Consumer,
    versions: &[u64],
) -> Result<(), BoxError> {
    let mut reverse = Vec::new();
    for w in versions.windows(2).rev() {
        let s = Instant::now();
        consumer.refresh_to(w[0]).await?;
        reverse.push(ms(s.elapsed()));
    }
    consumer
        .refresh_to(*versions.last().ok_or("no versions")?)
        .await?;
    f.reverse = median(reverse);
    Ok(())
}

/// The same kind of change as the steady cycles, through `run_incremental`.
async fn incremental_cycles(
    b: &mut Bench,
    f: &mut Figures,
    consumer: &Consumer,
) -> Result<(), BoxError> {
    let mut incremental = Vec::new();
    for _ in 0..b.reps.min(3) {
        let before: HashMap<u64, Movie> = b.movies.iter().map(|m| (m.id, m.clone())).collect();
        b.change(b.n / 100);
        let after: HashMap<u64, &Movie> = b.movies.iter().map(|m| (m.id, m)).collect();
        let s = Instant::now();
        b.producer
            .run_incremental(|w| {
                for (id, m) in &after {
                    if before.get(id) != Some(*m) {
                        w.upsert(*m)?;
                    }
                }
                for id in before.keys() {
                    if !after.contains_key(id) {
                        w.delete::<Movie>(id)?;
                    }
                }
                Ok(())
            })
            .await?;
        incremental.push(ms(s.elapsed()));
        let v = b.producer.announced().ok_or("nothing announced")?;
        consumer.refresh_to(v).await?;
    }
    check_equal(&*consumer.current().ok_or("no state")?, &b.movies)?;
    f.incremental = median(incremental);
    Ok(())
}

/// The 10 % delta, applied; then the consumer rewrites that version as one
/// snapshot in memory (what `reclaim_threshold` does in the background), so
/// no record is read through a delta any more. The state as refreshed and
/// as rewritten: every read figure is of the first; primary-key lookups are
/// also timed, in the same rounds, on the second.
async fn ten_percent_and_reclaim(
    b: &mut Bench,
    f: &mut Figures,
    consumer: &Consumer,
) -> Result<(Arc<ReadState>, Arc<ReadState>), BoxError> {
    b.change(b.n / 10);
    let out = b.cycle().await?;
    let v = out.version.ok_or("no version")?;
    let s = Instant::now();
    consumer.refresh_to(v).await?;
    f.apply10 = ms(s.elapsed());
    let state = consumer.current().ok_or("no state")?;
    check_equal(&state, &b.movies)?;
    f.outside_share = state.records_outside_base() as f64 / state.record_count() as f64;
    let s = Instant::now();
    if !consumer.reclaim().await? {
        return Err("the consumer did not rewrite the version it holds".into());
    }
    f.reclaim = ms(s.elapsed());
    let reclaimed = consumer.current().ok_or("no state")?;
    check_equal(&reclaimed, &b.movies)?;
    Ok((state, reclaimed))
}

/// Scans by ordinal (id; id and title) against the same over a `Vec`.
fn scans(b: &Bench, f: &mut Figures, state: &ReadState) {
    let recs = state.records::<Movie>();
    let ords: Vec<u32> = recs.iter().map(|(o, _)| o).collect();
    let movies = &b.movies;
    let (mut scan_id, mut scan_idt, mut nat_id, mut nat_idt) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let per = |s: Instant, count: usize| s.elapsed().as_nanos() as f64 / count as f64;
    for _ in 0..b.reps {
        let s = Instant::now();
        black_box(
            ords.iter()
                .filter_map(|&o| recs.get(o))
                .map(|m| m.id())
                .sum::<u64>(),
        );
        scan_id.push(per(s, ords.len()));
        let s = Instant::now();
        black_box(
            ords.iter()
                .filter_map(|&o| recs.get(o))
                .map(|m| {
                    m.id() as usize
                        + m.title().len()
                        + m.title().as_bytes().first().copied().unwrap_or(0) as usize
                })
                .sum::<usize>(),
        );
        scan_idt.push(per(s, ords.len()));
        let s = Instant::now();
        black_box(black_box(movies).iter().map(|m| m.id).sum::<u64>());
        nat_id.push(per(s, movies.len()));
        let s = Instant::now();
        black_box(
            black_box(movies)
                .iter()
                .map(|m| {
                    m.id as usize
                        + m.title.len()
                        + m.title.as_bytes().first().copied().unwrap_or(0) as usize
                })
                .sum::<usize>(),
        );
        nat_idt.push(per(s, movies.len()));
    }
    f.scan_id = median(scan_id);
    f.scan_id_title = median(scan_idt);
    f.native_scan_id = median(nat_id);
    f.native_scan_id_title = median(nat_idt);
}

/// A million random ids of the current version (the same keys for every
/// primary-key figure), and the generator, to draw more keys from.
fn random_ids(movies: &[Movie]) -> (Vec<u64>, JavaRandom) {
    let mut lrng = JavaRandom::new(7);
    let keys = (0..1_000_000)
        .map(|_| movies[lrng.next_int(movies.len() as i32) as usize].id)
        .collect();
    (keys, lrng)
}

/// Primary-key lookups of random ids, reading a field: ours one at a time
/// and batched (`by_primary_keys`), on the state as refreshed and as
/// rewritten, timed in the same rounds as a native `HashMap` and the
/// two-read floor ([`ReadFloor`]).
fn pk_lookups(
    b: &Bench,
    f: &mut Figures,
    state: &ReadState,
    reclaimed: &ReadState,
    keys: &[u64],
) -> Result<(), BoxError> {
    let movies = &b.movies;
    let map: HashMap<u64, usize> = movies.iter().enumerate().map(|(i, m)| (m.id, i)).collect();
    let (recs, reclaimed_recs) = (state.records::<Movie>(), reclaimed.records::<Movie>());
    let (pk, reclaimed_pk) = (recs.primary_key_index(), reclaimed_recs.primary_key_index());
    let floor = ReadFloor::new(movies, pk.heap_bytes() / 4);
    let per = |s: Instant| s.elapsed().as_nanos() as f64 / keys.len() as f64;
    let (mut floor_times, mut busy16, mut busy64, mut native) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut single, mut batch) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for _ in 0..b.reps {
        let s = Instant::now();
        black_box(floor.sum(keys));
        floor_times.push(per(s));
        for (times, sum) in [
            (
                &mut busy16,
                ReadFloor::sum_busy::<16> as fn(&ReadFloor, &[u64]) -> _,
            ),
            (&mut busy64, ReadFloor::sum_busy::<64>),
        ] {
            let s = Instant::now();
            if black_box(sum(&floor, keys)).is_some() {
                times.push(per(s));
            }
        }
        let s = Instant::now();
        black_box(
            keys.iter()
                .map(|k| movies[map[k]].rating as f64)
                .sum::<f64>(),
        );
        native.push(per(s));
        for (i, (index, records)) in [(&pk, &recs), (&reclaimed_pk, &reclaimed_recs)]
            .into_iter()
            .enumerate()
        {
            let s = Instant::now();
            let sum = keys
                .iter()
                .map(|&k| index.get(k).map_or(0.0, |m| m.rating() as f64))
                .sum::<f64>();
            single[i].push(per(s));
            black_box(sum);
            let s = Instant::now();
            let sum = records
                .by_primary_keys(keys)
                .map(|m| m.map_or(0.0, |m| m.rating() as f64))
                .sum::<f64>();
            batch[i].push(per(s));
            black_box(sum);
        }
    }
    for (index, records) in [(&pk, &recs), (&reclaimed_pk, &reclaimed_recs)] {
        for (k, m) in keys.iter().zip(records.by_primary_keys(&keys[..1000])) {
            if m.map(|m| m.id()) != Some(*k) {
                return Err(format!("batched primary-key lookup of {k} failed").into());
            }
        }
        for &k in keys.iter().take(1000) {
            if index.get(k).map(|m| m.id()) != Some(k) {
                return Err(format!("primary-key lookup of {k} failed").into());
            }
        }
    }
    let [pk_times, reclaimed_times] = single;
    let [batch_times, reclaimed_batch_times] = batch;
    f.floor = median(floor_times);
    f.busy16 = (!busy16.is_empty()).then(|| median(busy16));
    f.busy64 = (!busy64.is_empty()).then(|| median(busy64));
    f.pk = median(pk_times);
    f.pk_batch = median(batch_times);
    f.reclaimed_pk = median(reclaimed_times);
    f.reclaimed_pk_batch = median(reclaimed_batch_times);
    f.native_pk = median(native);
    f.pk_bytes = pk.heap_bytes() as f64 / recs.len() as f64;
    Ok(())
}

/// Hash-index lookups (a random genre: find its records, read the first)
/// against a native `HashMap<&str, Vec<usize>>`.
fn hash_lookups(
    b: &Bench,
    f: &mut Figures,
    state: &ReadState,
    lrng: &mut JavaRandom,
) -> Result<(), BoxError> {
    let movies = &b.movies;
    let by_genre = state.index::<MovieByGenres>();
    let mut native_genres: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, m) in movies.iter().enumerate() {
        for g in &m.genres {
            native_genres.entry(g.as_str()).or_default().push(i);
        }
    }
    let gkeys: Vec<&str> = (0..1_000_000)
        .map(|_| hollow_benches::GENRES[lrng.next_int(20) as usize])
        .collect();
    let mut hash_times = Vec::new();
    let mut native_hash_times = Vec::new();
    for _ in 0..b.reps {
        let s = Instant::now();
        let sum = gkeys
            .iter()
            .map(|&g| by_genre.get(g).next().map_or(0, |m| m.id()))
            .sum::<u64>();
        hash_times.push(s.elapsed().as_nanos() as f64 / gkeys.len() as f64);
        black_box(sum);
        let s = Instant::now();
        let sum = gkeys
            .iter()
            .map(|&g| {
                native_genres
                    .get(g)
                    .and_then(|v| v.first())
                    .map_or(0, |&i| movies[i].id)
            })
            .sum::<u64>();
        native_hash_times.push(s.elapsed().as_nanos() as f64 / gkeys.len() as f64);
        black_box(sum);
    }
    for g in hollow_benches::GENRES {
        let want = native_genres.get(g).map_or(0, Vec::len);
        if by_genre.count(g) != want {
            return Err(
                format!("genre {g}: {} records, expected {want}", by_genre.count(g)).into(),
            );
        }
    }
    f.hash = median(hash_times);
    f.native_hash = median(native_hash_times);
    Ok(())
}

/// `records::<Movie>()` itself: the view every typed read starts from,
/// which checks Movie against the state's schema on its first call and
/// costs one compare on later ones.
fn records_calls(b: &Bench, f: &mut Figures, state: &ReadState) {
    let mut times = Vec::new();
    for _ in 0..b.reps {
        let calls = 1_000_000u32;
        let s = Instant::now();
        let mut sum = 0u64;
        for _ in 0..calls {
            sum += u64::from(black_box(state).records::<Movie>().ordinal_limit());
        }
        times.push(s.elapsed().as_nanos() as f64 / f64::from(calls));
        black_box(sum);
    }
    f.records_call = median(times);
}

/// Rebuilding the same three indexes from scratch on version `v`.
async fn rebuilds(b: &Bench, f: &mut Figures, v: u64) -> Result<(), BoxError> {
    let mut times = Vec::new();
    for _ in 0..b.reps {
        let fresh = b.consumer().lazy_indexes(true).build()?;
        fresh.refresh_to(v).await?;
        let fs = fresh.current().ok_or("no state")?;
        let s = Instant::now();
        black_box(fs.index::<MoviePrimaryKey>().heap_bytes());
        black_box(fs.index::<MovieByYear>().heap_bytes());
        black_box(fs.index::<MovieByGenres>().heap_bytes());
        times.push(ms(s.elapsed()));
    }
    f.rebuild = median(times);
    Ok(())
}

/// One row of the table: figure, value, baseline (same run), ratio.
type Row = [String; 4];

fn row(figure: &str, value: String, baseline: String, ratio: String) -> Row {
    [figure.into(), value, baseline, ratio]
}

/// Prints `rows` in the table's columns.
fn print_rows(rows: &[Row]) {
    for [figure, value, baseline, ratio] in rows {
        println!("{figure:<32} {value:>16} {baseline:>34} {ratio:>8}");
    }
}

/// The producer's rows and the sizes of what it publishes.
fn producer_rows(f: &Figures) -> Vec<Row> {
    let ser = format!("{:.0} ms serialize", f.baseline_ser);
    let serialized = format!("{:.0} serialized", f.baseline_bytes);
    vec![
        row(
            "producer cycle 1",
            format!("{:.0} ms", f.cycle1),
            ser.clone(),
            ratio(f.cycle1, f.baseline_ser),
        ),
        row(
            "steady cycle (full re-populate)",
            format!("{:.0} ms", f.steady),
            ser.clone(),
            ratio(f.steady, f.baseline_ser),
        ),
        row(
            "incremental cycle",
            format!("{:.0} ms", f.incremental),
            ser,
            ratio(f.incremental, f.baseline_ser),
        ),
        row(
            "snapshot bytes",
            format!("{:.0}", f.snapshot_bytes),
            serialized.clone(),
            ratio(f.snapshot_bytes, f.baseline_bytes),
        ),
        row(
            "delta bytes (1 %)",
            format!("{:.0}", f.delta_bytes),
            serialized.clone(),
            ratio(f.delta_bytes, f.baseline_bytes),
        ),
        row(
            "reverse delta bytes",
            format!("{:.0}", f.rdelta_bytes),
            serialized,
            ratio(f.rdelta_bytes, f.baseline_bytes),
        ),
        row(
            "snapshot bytes in transit (as stored)",
            format!("{:.0}", f.snapshot_transit_bytes),
            format!("{:.0} plain", f.snapshot_bytes),
            ratio(f.snapshot_transit_bytes, f.snapshot_bytes),
        ),
        row(
            "delta bytes in transit (as stored)",
            format!("{:.0}", f.delta_transit_bytes),
            format!("{:.0} plain", f.delta_bytes),
            ratio(f.delta_transit_bytes, f.delta_bytes),
        ),
    ]
}

/// The consumer's rows: loads, refreshes, memory.
fn consumer_rows(f: &Figures) -> Vec<Row> {
    let load = format!("{:.1} ms load", f.snapshot_load);
    let reload = format!("{:.0} ms full reload", f.baseline_load);
    vec![
        row(
            "snapshot load (warm cache)",
            format!("{:.1} ms", f.snapshot_load),
            format!("{:.0} ms deserialize", f.baseline_load),
            ratio(f.snapshot_load, f.baseline_load),
        ),
        row(
            "snapshot fetch into the cache (as stored)",
            format!("{:.1} ms", f.snapshot_fetch),
            format!("{:.1} ms stored plain", f.snapshot_fetch_plain),
            ratio(f.snapshot_fetch, f.snapshot_fetch_plain),
        ),
        row(
            "snapshot self-check (in the load)",
            format!("{:.2} ms", f.snapshot_selfcheck),
            load.clone(),
            ratio(f.snapshot_selfcheck, f.snapshot_load),
        ),
        row(
            "schema check per load",
            format!("{:.1} us", f.load_check_us),
            load,
            ratio(f.load_check_us / 1000.0, f.snapshot_load),
        ),
        row(
            "delta apply (1 %)",
            format!("{:.1} ms", f.apply),
            reload.clone(),
            ratio(f.apply, f.baseline_load),
        ),
        row(
            "schema check per delta (1 %)",
            format!("{:.1} us", f.delta_check_us),
            format!("{:.1} ms apply", f.apply),
            ratio(f.delta_check_us / 1000.0, f.apply),
        ),
        row(
            "delta apply (10 %)",
            format!("{:.1} ms", f.apply10),
            format!("{:.1} ms (1 %)", f.apply),
            ratio(f.apply10, f.apply),
        ),
        row(
            "reverse delta apply",
            format!("{:.1} ms", f.reverse),
            reload,
            ratio(f.reverse, f.baseline_load),
        ),
        row(
            "resident memory after load",
            f.rss
                .map_or("n/a".into(), |r| format!("{:.0} MiB", r / 1048576.0)),
            format!(
                "{:.0} MiB deserialized; snapshot {:.0} MiB",
                f.baseline_rss / 1048576.0,
                f.snapshot_bytes / 1048576.0
            ),
            f.rss.map_or("-".into(), |r| ratio(r, f.snapshot_bytes)),
        ),
    ]
}

/// The read rows: scans and lookups.
fn read_rows(f: &Figures) -> Vec<Row> {
    let floor = format!("{:.1} ns floor", f.floor);
    let mut rows = vec![
        row(
            "scan id",
            format!("{:.1} ns", f.scan_id),
            format!("{:.1} ns native", f.native_scan_id),
            ratio(f.scan_id, f.native_scan_id),
        ),
        row(
            "scan id + title",
            format!("{:.1} ns", f.scan_id_title),
            format!("{:.1} ns native", f.native_scan_id_title),
            ratio(f.scan_id_title, f.native_scan_id_title),
        ),
        row(
            "records::<Movie>() call",
            format!("{:.1} ns", f.records_call),
            format!("{:.1} ns pk lookup", f.pk),
            ratio(f.records_call, f.pk),
        ),
        row(
            "primary-key lookup",
            format!("{:.1} ns", f.pk),
            format!("{:.1} ns native", f.native_pk),
            ratio(f.pk, f.native_pk),
        ),
        row(
            "pk lookup, version rewritten",
            format!("{:.1} ns", f.reclaimed_pk),
            format!(
                "{:.1} ns as refreshed ({:.0} % in deltas)",
                f.pk,
                f.outside_share * 100.0
            ),
            ratio(f.reclaimed_pk, f.pk),
        ),
        row(
            "pk lookup, batched, rewritten",
            format!("{:.1} ns", f.reclaimed_pk_batch),
            format!("{:.1} ns as refreshed", f.pk_batch),
            ratio(f.reclaimed_pk_batch, f.pk_batch),
        ),
        row(
            "reclaim (rewrite the 10 % version)",
            format!("{:.0} ms", f.reclaim),
            format!("{:.0} ms full reload", f.baseline_load),
            ratio(f.reclaim, f.baseline_load),
        ),
        row(
            "pk lookup vs two-read floor",
            format!("{:.1} ns", f.pk),
            floor.clone(),
            ratio(f.pk, f.floor),
        ),
    ];
    for (adds, busy) in [(16, f.busy16), (64, f.busy64)] {
        if let Some(busy) = busy {
            rows.push(row(
                &format!("floor + {adds} additions per key"),
                format!("{busy:.1} ns"),
                floor.clone(),
                ratio(busy, f.floor),
            ));
        }
    }
    rows.extend([
        row(
            "pk lookup, batched, vs floor",
            format!("{:.1} ns", f.pk_batch),
            floor,
            ratio(f.pk_batch, f.floor),
        ),
        row(
            "primary-key lookup, batched",
            format!("{:.1} ns", f.pk_batch),
            format!("{:.1} ns native", f.native_pk),
            ratio(f.pk_batch, f.native_pk),
        ),
    ]);
    rows
}

/// The index rows: memory and maintenance.
fn index_rows(f: &Figures) -> Vec<Row> {
    let target = || "8 B/record target".to_string();
    vec![
        row(
            "pk index memory, after 10 % delta",
            format!("{:.2} B/record", f.pk_bytes),
            target(),
            ratio(f.pk_bytes, 8.0),
        ),
        row(
            "pk index memory, 1 % deltas (max)",
            format!("{:.2} B/record", f.pk_bytes_1pct),
            target(),
            ratio(f.pk_bytes_1pct, 8.0),
        ),
        row(
            "hash-index lookup (genre)",
            format!("{:.1} ns", f.hash),
            format!("{:.1} ns native", f.native_hash),
            ratio(f.hash, f.native_hash),
        ),
        row(
            "index update (1 % delta, 3 idx)",
            format!("{:.2} ms", f.update),
            format!("{:.0} ms rebuild", f.rebuild),
            ratio(f.update, f.rebuild),
        ),
        row(
            "pk index update (1 % delta)",
            format!("{:.2} ms", f.pk_update),
            format!("{:.2} ms 3 indexes", f.update),
            ratio(f.pk_update, f.update),
        ),
        row(
            "pk index update, verifying keys",
            format!("{:.2} ms", f.pk_verified_update),
            format!("{:.2} ms trusting", f.pk_update),
            ratio(f.pk_verified_update, f.pk_update),
        ),
    ]
}

/// Rows setting figures beside Netflix Hollow's (`h`), measured on the same
/// machine. Ours update three indexes with each delta where Netflix's
/// updates its primary-key index alone, and our resident memory is set
/// beside its heap (both after the load, with the indexes).
fn netflix_rows(f: &Figures, h: &Netflix) -> Result<Vec<Row>, NetflixError> {
    let rows = [
        ("cycle 1 vs Netflix", f.cycle1, "producer.cycle1_ms", "ms"),
        (
            "steady cycle vs Netflix",
            f.steady,
            "producer.cycles2-6_median_ms",
            "ms",
        ),
        (
            "snapshot bytes vs Netflix",
            f.snapshot_bytes,
            "blob.snapshot_v1_bytes",
            "B",
        ),
        (
            "delta bytes vs Netflix",
            f.delta_bytes,
            "blob.delta_v3_v4_bytes",
            "B",
        ),
        (
            "snapshot load vs Netflix",
            f.snapshot_load,
            "consumer.snapshot_load_v1_median_ms",
            "ms",
        ),
        (
            "delta apply (1 %) vs Netflix",
            f.apply,
            "delta.pki_deltaupdate.v2..v6_median_ms",
            "ms",
        ),
        (
            "pk index update vs Netflix",
            f.pk_update,
            "delta.pki_deltaupdate.index_update_median_ms",
            "ms",
        ),
        (
            "pk lookup vs Netflix",
            f.pk,
            "onheap.pk_lookup_1M_random_ns_per",
            "ns",
        ),
        (
            "pk lookup, batched, vs Netflix",
            f.pk_batch,
            "onheap.pk_lookup_1M_random_ns_per",
            "ns",
        ),
        (
            "scan id vs Netflix",
            f.scan_id,
            "onheap.scan_id_only_ns_per_rec",
            "ns",
        ),
        (
            "scan id + title vs Netflix",
            f.scan_id_title,
            "onheap.scan_id+title_ns_per_rec",
            "ns",
        ),
        (
            "memory after load vs Netflix",
            f.rss.unwrap_or(f64::NAN) / 1048576.0,
            "consumer.heap_after_load+pkindex_MiB",
            "MiB",
        ),
        // Like for like: Netflix Hollow's figure holds the primary-key
        // index only, as the one PSS consumer process does (its whole
        // process, runtime and binary included); `f.rss` also holds the
        // year and genre indexes.
        (
            "1 process, pk index (PSS) vs Netflix",
            f.pss.one.pss as f64 / 1048576.0,
            "consumer.heap_after_load+pkindex_MiB",
            "MiB",
        ),
    ];
    rows.into_iter()
        .map(|(figure, ours, key, unit)| {
            let theirs = h.get(key)?;
            Ok(row(
                figure,
                format!("{ours:.2} {unit}"),
                format!("{theirs:.2} {unit} Netflix Hollow"),
                ratio(ours, theirs),
            ))
        })
        .collect()
}

/// The figures under their `--json` keys.
fn json_keys(n: u64, f: &Figures) -> Vec<(&'static str, Option<f64>)> {
    vec![
        ("movies", Some(n as f64)),
        ("cycle1_ms", Some(f.cycle1)),
        ("steady_cycle_ms", Some(f.steady)),
        ("incremental_cycle_ms", Some(f.incremental)),
        ("baseline_serialize_ms", Some(f.baseline_ser)),
        ("snapshot_bytes", Some(f.snapshot_bytes)),
        ("delta_bytes", Some(f.delta_bytes)),
        ("reverse_delta_bytes", Some(f.rdelta_bytes)),
        ("snapshot_transit_bytes", Some(f.snapshot_transit_bytes)),
        ("delta_transit_bytes", Some(f.delta_transit_bytes)),
        ("snapshot_fetch_ms", Some(f.snapshot_fetch)),
        ("snapshot_fetch_plain_ms", Some(f.snapshot_fetch_plain)),
        ("baseline_bytes", Some(f.baseline_bytes)),
        ("snapshot_load_ms", Some(f.snapshot_load)),
        ("snapshot_selfcheck_ms", Some(f.snapshot_selfcheck)),
        ("schema_check_us", Some(f.load_check_us)),
        ("schema_check_delta_us", Some(f.delta_check_us)),
        ("records_call_ns", Some(f.records_call)),
        ("delta_apply_ms", Some(f.apply)),
        ("delta_apply_10x_ms", Some(f.apply10)),
        ("reverse_delta_apply_ms", Some(f.reverse)),
        ("rss_after_load_bytes", f.rss),
        ("baseline_load_ms", Some(f.baseline_load)),
        ("baseline_rss_bytes", Some(f.baseline_rss)),
        ("pk_lookup_ns", Some(f.pk)),
        ("baseline_pk_lookup_ns", Some(f.native_pk)),
        ("scan_id_ns", Some(f.scan_id)),
        ("baseline_scan_id_ns", Some(f.native_scan_id)),
        ("scan_id_title_ns", Some(f.scan_id_title)),
        ("baseline_scan_id_title_ns", Some(f.native_scan_id_title)),
        ("hash_lookup_ns", Some(f.hash)),
        ("baseline_hash_lookup_ns", Some(f.native_hash)),
        ("index_update_ms", Some(f.update)),
        ("index_rebuild_ms", Some(f.rebuild)),
        ("pk_index_update_ms", Some(f.pk_update)),
        ("pk_index_update_verified_ms", Some(f.pk_verified_update)),
        ("pk_batch_lookup_ns", Some(f.pk_batch)),
        ("pk_lookup_rewritten_ns", Some(f.reclaimed_pk)),
        ("pk_batch_lookup_rewritten_ns", Some(f.reclaimed_pk_batch)),
        ("records_in_deltas_share", Some(f.outside_share)),
        ("reclaim_ms", Some(f.reclaim)),
        ("pk_read_floor_ns", Some(f.floor)),
        ("pk_read_floor_busy16_ns", f.busy16),
        ("pk_read_floor_busy64_ns", f.busy64),
        ("pk_index_bytes_per_record_1pct_max", Some(f.pk_bytes_1pct)),
        ("pk_index_bytes_per_record", Some(f.pk_bytes)),
        ("map_items", Some(f.items)),
        ("map_get_ns", Some(f.map_get)),
        ("baseline_btreemap_get_ns", Some(f.native_btree_get)),
        ("baseline_hashmap_get_ns", Some(f.native_hash_get)),
        ("set_contains_ns", Some(f.set_contains)),
        ("baseline_btreeset_contains_ns", Some(f.native_set_contains)),
        ("map_bytes_per_record", Some(f.map_bytes)),
        ("map_text_bytes_per_record", Some(f.map_text_bytes)),
        ("map_snapshot_load_ms", Some(f.map_load)),
        ("baseline_lists_snapshot_load_ms", Some(f.lists_load)),
        ("consumers4_pss_bytes", Some(f.pss.four.pss as f64)),
        ("consumer1_pss_bytes", Some(f.pss.one.pss as f64)),
        (
            "consumers4_cold_pss_bytes",
            Some(f.pss.four_cold.pss as f64),
        ),
        (
            "producer_peak_rss_bytes",
            f.producer_rss.map(|r| r.producer() as f64),
        ),
        (
            "producer_peak_rss_with_input_bytes",
            f.producer_rss.map(|r| r.peak as f64),
        ),
        (
            "producer_input_rss_bytes",
            f.producer_rss.map(|r| r.input as f64),
        ),
    ]
}

/// Prints the table (and with `--json`, one JSON object of every figure).
fn print(args: &Args, f: &Figures, netflix: Vec<Row>) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "hollow-bench: {} movies, 200000 actors, medians of {} reps; {cores} cores, {cpu}",
        args.movies, args.reps
    );
    println!(
        "{:<32} {:>16} {:>34} {:>8}",
        "figure", "hollow", "baseline (same run)", "ratio"
    );
    let rows = [
        producer_rows(f),
        consumer_rows(f),
        read_rows(f),
        index_rows(f),
        map_rows(f),
        pss_rows(f),
        producer_memory_rows(f),
        netflix,
    ];
    print_rows(&rows.concat());
    if args.json {
        let obj: serde_json::Map<String, serde_json::Value> = json_keys(args.movies, f)
            .into_iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    v.map_or(serde_json::Value::Null, |x| {
                        serde_json::Number::from_f64((x * 1000.0).round() / 1000.0)
                            .map_or(serde_json::Value::Null, serde_json::Value::Number)
                    }),
                )
            })
            .collect();
        println!("{}", serde_json::Value::Object(obj));
    }
}

/// The part of a snapshot load that checks the snapshot against itself
/// (directory against sections, counts against each other and against
/// every bitmap's population count), in milliseconds, the median of `reps`:
/// opening the blob at `path` with its checksum taken as verified, and
/// viewing every section as a snapshot section, as a consumer's load does.
fn selfcheck_ms(path: &std::path::Path, reps: usize) -> Result<f64, BoxError> {
    let bytes = std::fs::read(path)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("a snapshot file name")?;
    let mut times = Vec::new();
    for _ in 0..reps.max(1) {
        let s = Instant::now();
        let view = hollow_runtime::blob::BlobView::open_prechecked(name, &bytes)?;
        for section in view.sections() {
            black_box(section.snapshot()?);
        }
        times.push(ms(s.elapsed()));
    }
    Ok(median(times))
}

/// The map workload (`hollow_benches::maps`): N/10 items (at least 1 000)
/// with titles by locale and tags, published on their own store; lookups of
/// random (item, locale) pairs in the titles map and of random genres in
/// the tags set, beside the same lookups in the items' own `BTreeMap`,
/// `HashMap` and `BTreeSet`; and the snapshot bytes the titles map adds per
/// item (the same items published without titles, subtracted).
async fn map_workload(b: &Bench, f: &mut Figures, dir: &std::path::Path) -> Result<(), BoxError> {
    let count = (b.n / 10).max(1000);
    eprintln!("map workload: {count} items ...");
    let items = maps::items(count);
    let (state, with_titles) = publish_items(&dir.join("items"), |w| {
        items.iter().try_for_each(|i| w.add(i))
    })
    .await?;
    publish_items(&dir.join("items-as-lists"), |w| {
        items
            .iter()
            .try_for_each(|i| w.add(&maps::ItemAsLists::from(i)))
    })
    .await?;
    f.map_load = load_ms(&dir.join("items"), b.reps).await?;
    f.lists_load = load_ms(&dir.join("items-as-lists"), b.reps).await?;
    let (_, without_titles) = publish_items(&dir.join("items-without-titles"), |w| {
        items.iter().try_for_each(|i| {
            w.add(&maps::ItemWithoutTitles {
                id: i.id,
                tags: i.tags.clone(),
            })
        })
    })
    .await?;
    f.items = count as f64;
    f.map_bytes = (with_titles as f64 - without_titles as f64) / count as f64;
    f.map_text_bytes = items
        .iter()
        .flat_map(|i| i.titles.iter())
        .map(|(k, v)| (k.len() + v.len()) as f64)
        .sum::<f64>()
        / count as f64;

    // The records by id (ids are 0..count).
    let recs = state.records::<maps::Item>();
    let mut by_id = vec![None; items.len()];
    for (_, r) in recs.iter() {
        by_id[r.id() as usize] = Some(r);
    }
    let refs: Vec<maps::ItemRef<'_>> = by_id
        .into_iter()
        .collect::<Option<_>>()
        .ok_or("an item is missing from the consumer's state")?;
    let hashed: Vec<HashMap<String, String>> = items
        .iter()
        .map(|i| i.titles.clone().into_iter().collect())
        .collect();
    let mut rng = JavaRandom::new(maps::ITEM_SEED + 1);
    let queries: Vec<(usize, &str)> = (0..1_000_000)
        .map(|_| {
            let i = rng.next_int(count as i32) as usize;
            (i, maps::LOCALES[rng.next_int(12) as usize])
        })
        .collect();
    let tag_queries: Vec<(usize, &str)> = (0..1_000_000)
        .map(|_| {
            let i = rng.next_int(count as i32) as usize;
            (i, hollow_benches::GENRES[rng.next_int(20) as usize])
        })
        .collect();
    let per = |s: Instant, n: usize| s.elapsed().as_nanos() as f64 / n as f64;
    let (mut get, mut btree, mut hash, mut set, mut native_set) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..b.reps {
        let s = Instant::now();
        let ours: usize = queries
            .iter()
            .map(|&(i, l)| refs[i].titles().get(&l).map_or(0, str::len))
            .sum();
        get.push(per(s, queries.len()));
        let s = Instant::now();
        let native: usize = queries
            .iter()
            .map(|&(i, l)| items[i].titles.get(l).map_or(0, String::len))
            .sum();
        btree.push(per(s, queries.len()));
        let s = Instant::now();
        let native_hash: usize = queries
            .iter()
            .map(|&(i, l)| hashed[i].get(l).map_or(0, String::len))
            .sum();
        hash.push(per(s, queries.len()));
        if ours != native || native != native_hash {
            return Err(format!(
                "map lookups disagree: {ours} title bytes found, BTreeMap {native}, HashMap {native_hash}"
            )
            .into());
        }
        let s = Instant::now();
        let ours = tag_queries
            .iter()
            .filter(|&&(i, g)| refs[i].tags().contains(&g))
            .count();
        set.push(per(s, tag_queries.len()));
        let s = Instant::now();
        let native = tag_queries
            .iter()
            .filter(|&&(i, g)| items[i].tags.contains(g))
            .count();
        native_set.push(per(s, tag_queries.len()));
        if ours != native {
            return Err(format!("set lookups disagree: {ours} found, BTreeSet {native}").into());
        }
    }
    f.map_get = median(get);
    f.native_btree_get = median(btree);
    f.native_hash_get = median(hash);
    f.set_contains = median(set);
    f.native_set_contains = median(native_set);
    Ok(())
}

/// Snapshot loads of the store in `dir` (written by [`publish_items`]) by
/// new consumers from its warm cache, in milliseconds, the median of
/// `reps`.
async fn load_ms(dir: &std::path::Path, reps: usize) -> Result<f64, BoxError> {
    let mut times = Vec::new();
    for _ in 0..reps {
        let store = Arc::new(FsBlobStore::new(dir.join("store"))?);
        let announcer = Arc::new(FileAnnouncer::new(dir.join("store"))?);
        let consumer = Consumer::builder(store, announcer)
            .cache_dir(dir.join("cache"))
            .build()?;
        let s = Instant::now();
        consumer.refresh().await?;
        times.push(ms(s.elapsed()));
    }
    Ok(median(times))
}

/// Publishes one cycle written by `add` to a new store in `dir` and loads
/// it in a consumer: the state and the snapshot's bytes.
async fn publish_items(
    dir: &std::path::Path,
    add: impl FnOnce(
        &mut hollow_runtime::producer::CycleWriter<'_>,
    ) -> Result<(), hollow_runtime::Error>,
) -> Result<(Arc<ReadState>, u64), BoxError> {
    let store = Arc::new(FsBlobStore::new(dir.join("store"))?);
    let announcer = Arc::new(FileAnnouncer::new(dir.join("store"))?);
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let out = producer.run_cycle(add).await?;
    let bytes = out
        .blobs
        .iter()
        .find(|(b, _)| matches!(b, BlobName::Snapshot(_)))
        .map_or(0, |(_, s)| *s);
    let consumer = Consumer::builder(store, announcer)
        .cache_dir(dir.join("cache"))
        .build()?;
    consumer.refresh().await?;
    let state = consumer
        .current()
        .ok_or("no state after loading the items")?;
    Ok((state, bytes))
}

/// The map workload's rows.
fn map_rows(f: &Figures) -> Vec<Row> {
    vec![
        row(
            &format!("map get ({} items)", f.items),
            format!("{:.1} ns", f.map_get),
            format!("{:.1} ns BTreeMap", f.native_btree_get),
            ratio(f.map_get, f.native_btree_get),
        ),
        row(
            "map get vs HashMap",
            format!("{:.1} ns", f.map_get),
            format!("{:.1} ns HashMap", f.native_hash_get),
            ratio(f.map_get, f.native_hash_get),
        ),
        row(
            "set contains",
            format!("{:.1} ns", f.set_contains),
            format!("{:.1} ns BTreeSet", f.native_set_contains),
            ratio(f.set_contains, f.native_set_contains),
        ),
        row(
            "map snapshot load (order checked)",
            format!("{:.2} ms", f.map_load),
            format!("{:.2} ms as plain lists", f.lists_load),
            ratio(f.map_load, f.lists_load),
        ),
        row(
            "map bytes per record",
            format!("{:.1} B", f.map_bytes),
            format!("{:.1} B key + value text", f.map_text_bytes),
            ratio(f.map_bytes, f.map_text_bytes),
        ),
    ]
}

/// One consumer process alone, then four at once, on one store and one
/// shared cache directory (see [`hollow_benches::pss`]), loading version `v`.
fn shared_memory(
    b: &Bench,
    f: &mut Figures,
    dir: &std::path::Path,
    v: u64,
) -> Result<(), BoxError> {
    eprintln!("consumer processes sharing one cache directory ...");
    f.pss = hollow_benches::pss::measure(
        &dir.join("store"),
        &dir.join("pss-cache"),
        &dir.join("pss-cold-cache"),
        v,
        b.movies.len() as u64,
    )
    .map_err(|e| -> BoxError { e })?;
    Ok(())
}

/// The rows of consumer processes sharing one cache directory.
fn pss_rows(f: &Figures) -> Vec<Row> {
    let mib = |b: u64| format!("{:.0} MiB", b as f64 / 1048576.0);
    let (one, four) = (&f.pss.one, &f.pss.four);
    vec![
        row(
            "PSS, 4 consumer processes",
            mib(four.pss),
            format!("{} one process", mib(one.pss)),
            ratio(four.pss as f64, one.pss as f64),
        ),
        row(
            "  of it anonymous / file",
            format!("{} / {}", mib(four.pss_anon), mib(four.pss_file)),
            format!("{} / {} one", mib(one.pss_anon), mib(one.pss_file)),
            ratio(four.pss_anon as f64, one.pss_anon as f64),
        ),
        row(
            "PSS, 4 started on an empty cache",
            mib(f.pss.four_cold.pss),
            format!("{} one process", mib(one.pss)),
            ratio(f.pss.four_cold.pss as f64, one.pss as f64),
        ),
    ]
}

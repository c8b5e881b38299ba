//! `hollow-bench`: the benchmark scenario of `docs/benchmark.md`, every
//! figure beside a baseline measured in the same run.
//!
//! ```text
//! cargo run --release -p hollow-benches --bin hollow-bench -- [--movies N] [--reps R] [--dir PATH] [--json]
//! ```

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use hollow_benches::flags::{unknown, Flags};
use hollow_benches::{
    change, check_equal, initial, median, ms, populate, Actor, JavaRandom, Movie, MovieByGenres,
    MovieByYear, MoviePrimaryKey,
};
use hollow_runtime::{Consumer, FileAnnouncer, FsBlobStore, Producer};

struct Args {
    movies: u64,
    reps: usize,
    dir: Option<PathBuf>,
    json: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        movies: 1_000_000,
        reps: 5,
        dir: None,
        json: false,
    };
    let mut f = Flags::from_env();
    while let Some(x) = f.next_flag() {
        match x.as_str() {
            "--movies" => a.movies = f.movies()?,
            "--reps" => a.reps = f.reps()?,
            "--dir" => a.dir = Some(f.value("--dir")?.into()),
            "--json" => a.json = true,
            "-h" | "--help" => {
                println!(
                    "usage: hollow-bench [--movies N (1000000)] [--reps R (5)] [--dir PATH (temp)] [--json]"
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

struct Table {
    rows: Vec<(String, String, String, String)>,
    json: Vec<(String, Option<f64>)>,
}

impl Table {
    fn row(&mut self, figure: &str, value: String, baseline: String, ratio: String) {
        self.rows.push((figure.into(), value, baseline, ratio));
    }
    fn key(&mut self, k: &str, v: Option<f64>) {
        self.json.push((k.into(), v));
    }
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

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let n = args.movies;
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
    let mut t = Table {
        rows: Vec::new(),
        json: Vec::new(),
    };
    eprintln!("generating {n} movies and 200000 actors ...");
    let (actors, mut movies, mut rng): (Vec<Actor>, Vec<Movie>, JavaRandom) = initial(n);
    let mut next_id = n;
    t.key("movies", Some(n as f64));

    // Baseline: serialize / deserialize the whole dataset.
    let mut ser = Vec::new();
    let mut bytes = Vec::new();
    for _ in 0..args.reps {
        let ds = Dataset {
            actors: actors.clone(),
            movies: movies.clone(),
        };
        let s = Instant::now();
        bytes = bincode::serialize(&ds)?;
        ser.push(ms(s.elapsed()));
    }
    let baseline_ser = median(ser);
    let baseline_bytes = bytes.len() as f64;

    let store = Arc::new(FsBlobStore::new(dir.join("store"))?);
    let announcer = Arc::new(FileAnnouncer::new(dir.join("store"))?);
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();

    eprintln!("producer cycle 1 ...");
    let s = Instant::now();
    let first = producer.run_cycle(populate(&actors, &movies)).await?;
    let cycle1 = ms(s.elapsed());
    let v1 = first.version.ok_or("cycle 1 made no version")?;
    let snapshot_bytes = first
        .blobs
        .iter()
        .find(|(b, _)| matches!(b, hollow_runtime::BlobName::Snapshot(_)))
        .map_or(0, |(_, s)| *s) as f64;

    // Consumer: snapshot load, from a warm cache (blob already local).
    let cache = dir.join("cache");
    let warm = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(&cache)
        .build()?;
    // The measured consumers build Movie's indexes (primary key, year,
    // genres) as the snapshot loads and update them with every delta.
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
    for _ in 0..args.reps {
        let c = Consumer::builder(store.clone(), announcer.clone())
            .cache_dir(&cache)
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
    let state = consumer.current().ok_or("no state")?;
    check_equal(&state, &movies)?;
    let rss_after = rss_bytes();
    let snapshot_load = median(loads);
    let snapshot_selfcheck = selfcheck_ms(&cache.join(format!("snapshot-{v1}")), args.reps)?;

    // Baseline load: deserialize into Vec + HashMap.
    let mut base_loads = Vec::new();
    let mut base_rss = 0u64;
    for _ in 0..args.reps {
        let before = rss_bytes().unwrap_or(0);
        let s = Instant::now();
        let ds: Dataset = bincode::deserialize(&bytes)?;
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
    let baseline_load = median(base_loads);

    // A consumer with the primary-key index alone, following the same
    // versions: its update is what Netflix's 21 ms measures.
    let pk_only = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(&cache)
        .index::<MoviePrimaryKey>()
        .build()?;
    pk_only.refresh_to(v1).await?;
    let mut pk_updates = Vec::new();
    // The same, checking each delta for duplicate primary keys itself
    // rather than trusting the key the blobs declare (what trusting saves).
    let pk_verifying = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(&cache)
        .index::<MoviePrimaryKey>()
        .verify_declared_keys(true)
        .build()?;
    pk_verifying.refresh_to(v1).await?;
    let mut pk_verified_updates = Vec::new();
    // The most its index held per record over the 1 % deltas.
    let mut pk_bytes_1pct = 0f64;

    // Steady cycles 2..6 (full re-populate), following consumer.
    let mut steady = Vec::new();
    let mut applies = Vec::new();
    let mut delta_checks = Vec::new();
    let mut index_updates = Vec::new();
    let mut delta_bytes = Vec::new();
    let mut rdelta_bytes = Vec::new();
    let mut versions = vec![v1];
    for c in 2..=6 {
        eprintln!("producer cycle {c} ...");
        change(&mut rng, &mut movies, n, n / 100, &mut next_id);
        let s = Instant::now();
        let out = producer.run_cycle(populate(&actors, &movies)).await?;
        steady.push(ms(s.elapsed()));
        let v = out.version.ok_or("a cycle with changes made no version")?;
        versions.push(v);
        for (b, size) in &out.blobs {
            match b {
                hollow_runtime::BlobName::Delta { .. } => delta_bytes.push(*size as f64),
                hollow_runtime::BlobName::ReverseDelta { .. } => rdelta_bytes.push(*size as f64),
                _ => {}
            }
        }
        let s = Instant::now();
        consumer.refresh_to(v).await?;
        applies.push(ms(s.elapsed()));
        let state = consumer.current().ok_or("no state")?;
        index_updates.push(ms(state.index_update_time()));
        delta_checks.push(us(state.schema_check_time()));
        pk_only.refresh_to(v).await?;
        let pk_state = pk_only.current().ok_or("no state")?;
        pk_updates.push(ms(pk_state.index_update_time()));
        pk_verifying.refresh_to(v).await?;
        let verified = pk_verifying.current().ok_or("no state")?;
        pk_verified_updates.push(ms(verified.index_update_time()));
        pk_bytes_1pct = pk_bytes_1pct.max(
            pk_state.index::<MoviePrimaryKey>().heap_bytes() as f64
                / pk_state.records::<Movie>().len() as f64,
        );
    }
    drop(pk_only);
    drop(pk_verifying);
    check_equal(&*consumer.current().ok_or("no state")?, &movies)?;

    // Reverse deltas: walk back.
    let mut reverse = Vec::new();
    for w in versions.windows(2).rev() {
        let s = Instant::now();
        consumer.refresh_to(w[0]).await?;
        reverse.push(ms(s.elapsed()));
    }
    consumer
        .refresh_to(*versions.last().ok_or("no versions")?)
        .await?;

    // Incremental cycles: the same kind of change through run_incremental.
    let mut incremental = Vec::new();
    for _ in 0..args.reps.min(3) {
        let before: HashMap<u64, Movie> = movies.iter().map(|m| (m.id, m.clone())).collect();
        change(&mut rng, &mut movies, n, n / 100, &mut next_id);
        let after: HashMap<u64, &Movie> = movies.iter().map(|m| (m.id, m)).collect();
        let s = Instant::now();
        producer
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
        let v = producer.announced().ok_or("nothing announced")?;
        consumer.refresh_to(v).await?;
    }
    check_equal(&*consumer.current().ok_or("no state")?, &movies)?;

    // The 10x delta.
    change(&mut rng, &mut movies, n, n / 10, &mut next_id);
    let out = producer.run_cycle(populate(&actors, &movies)).await?;
    let v = out.version.ok_or("no version")?;
    let s = Instant::now();
    consumer.refresh_to(v).await?;
    let apply10 = ms(s.elapsed());
    let state = consumer.current().ok_or("no state")?;
    check_equal(&state, &movies)?;
    // Reclaim: the consumer rewrites the version as one snapshot in memory
    // (what `reclaim_threshold` does in the background), so no record is
    // read through a delta any more. Every read figure is of the state as
    // refreshed; primary-key lookups are also timed, in the same rounds, on
    // the rewritten one.
    let outside_share = state.records_outside_base() as f64 / state.record_count() as f64;
    let s = Instant::now();
    if !consumer.reclaim().await? {
        return Err("the consumer did not rewrite the version it holds".into());
    }
    let reclaim_ms = ms(s.elapsed());
    let reclaimed = consumer.current().ok_or("no state")?;
    check_equal(&reclaimed, &movies)?;
    let reclaimed_recs = reclaimed.records::<Movie>();

    // Reads.
    let recs = state.records::<Movie>();
    let ords: Vec<u32> = recs.iter().map(|(o, _)| o).collect();
    let mut scan_id = Vec::new();
    let mut scan_idt = Vec::new();
    let mut nat_id = Vec::new();
    let mut nat_idt = Vec::new();
    for _ in 0..args.reps {
        let s = Instant::now();
        black_box(
            ords.iter()
                .filter_map(|&o| recs.get(o))
                .map(|m| m.id())
                .sum::<u64>(),
        );
        scan_id.push(s.elapsed().as_nanos() as f64 / ords.len() as f64);
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
        scan_idt.push(s.elapsed().as_nanos() as f64 / ords.len() as f64);
        let s = Instant::now();
        black_box(black_box(&movies).iter().map(|m| m.id).sum::<u64>());
        nat_id.push(s.elapsed().as_nanos() as f64 / movies.len() as f64);
        let s = Instant::now();
        black_box(
            black_box(&movies)
                .iter()
                .map(|m| {
                    m.id as usize
                        + m.title.len()
                        + m.title.as_bytes().first().copied().unwrap_or(0) as usize
                })
                .sum::<usize>(),
        );
        nat_idt.push(s.elapsed().as_nanos() as f64 / movies.len() as f64);
    }
    // Primary-key lookups: random ids of the current version.
    let map: HashMap<u64, usize> = movies.iter().enumerate().map(|(i, m)| (m.id, i)).collect();
    let mut lrng = JavaRandom::new(7);
    let keys: Vec<u64> = (0..1_000_000)
        .map(|_| movies[lrng.next_int(movies.len() as i32) as usize].id)
        .collect();
    // Ours: the same keys, the same field read; one at a time, and as a
    // batch (`by_primary_keys`). The native baseline is timed in the same
    // rounds.
    let mut pk_times = Vec::new();
    let mut pk_batch_times = Vec::new();
    let mut native_pk_times = Vec::new();
    let mut floor_times = Vec::new();
    let mut busy16_times = Vec::new();
    let mut busy64_times = Vec::new();
    let mut reclaimed_pk_times = Vec::new();
    let mut reclaimed_pk_batch_times = Vec::new();
    let pk = recs.primary_key_index();
    let reclaimed_pk = reclaimed_recs.primary_key_index();
    let floor = ReadFloor::new(&movies, pk.heap_bytes() / 4);
    for _ in 0..args.reps {
        let s = Instant::now();
        black_box(floor.sum(&keys));
        floor_times.push(s.elapsed().as_nanos() as f64 / keys.len() as f64);
        for (times, sum) in [
            (
                &mut busy16_times,
                ReadFloor::sum_busy::<16> as fn(&ReadFloor, &[u64]) -> _,
            ),
            (&mut busy64_times, ReadFloor::sum_busy::<64>),
        ] {
            let s = Instant::now();
            if black_box(sum(&floor, &keys)).is_some() {
                times.push(s.elapsed().as_nanos() as f64 / keys.len() as f64);
            }
        }
        let s = Instant::now();
        black_box(
            keys.iter()
                .map(|k| movies[map[k]].rating as f64)
                .sum::<f64>(),
        );
        native_pk_times.push(s.elapsed().as_nanos() as f64 / keys.len() as f64);
        for (index, records, single, batch) in [
            (&pk, &recs, &mut pk_times, &mut pk_batch_times),
            (
                &reclaimed_pk,
                &reclaimed_recs,
                &mut reclaimed_pk_times,
                &mut reclaimed_pk_batch_times,
            ),
        ] {
            let s = Instant::now();
            let sum = keys
                .iter()
                .map(|&k| index.get(k).map_or(0.0, |m| m.rating() as f64))
                .sum::<f64>();
            single.push(s.elapsed().as_nanos() as f64 / keys.len() as f64);
            black_box(sum);
            let s = Instant::now();
            let sum = records
                .by_primary_keys(&keys)
                .map(|m| m.map_or(0.0, |m| m.rating() as f64))
                .sum::<f64>();
            batch.push(s.elapsed().as_nanos() as f64 / keys.len() as f64);
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
    let floor_ns = median(floor_times);
    let busy16_ns = (!busy16_times.is_empty()).then(|| median(busy16_times));
    let busy64_ns = (!busy64_times.is_empty()).then(|| median(busy64_times));
    let pk_ns = median(pk_times);
    let pk_batch_ns = median(pk_batch_times);
    let reclaimed_pk_ns = median(reclaimed_pk_times);
    let reclaimed_pk_batch_ns = median(reclaimed_pk_batch_times);
    let base_pk = median(native_pk_times);
    let pk_bytes = pk.heap_bytes() as f64 / recs.len() as f64;

    // Hash-index lookup (a random genre: find its records, read the first)
    // against a native HashMap<String, Vec<usize>>.
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
    for _ in 0..args.reps {
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
    let hash_ns = median(hash_times);
    let native_hash_ns = median(native_hash_times);

    // `records::<Movie>()` itself: the view every typed read starts from,
    // which checks Movie against the state's schema on its first call
    // and costs one compare on later ones.
    let mut records_calls = Vec::new();
    for _ in 0..args.reps {
        let calls = 1_000_000u32;
        let s = Instant::now();
        let mut sum = 0u64;
        for _ in 0..calls {
            sum += u64::from(black_box(&*state).records::<Movie>().ordinal_limit());
        }
        records_calls.push(s.elapsed().as_nanos() as f64 / f64::from(calls));
        black_box(sum);
    }
    let records_call_ns = median(records_calls);

    // Rebuilding the same three indexes from scratch on this version.
    let mut rebuilds = Vec::new();
    for _ in 0..args.reps {
        let fresh = Consumer::builder(store.clone(), announcer.clone())
            .cache_dir(&cache)
            .lazy_indexes(true)
            .build()?;
        fresh.refresh_to(v).await?;
        let fs = fresh.current().ok_or("no state")?;
        let s = Instant::now();
        black_box(fs.index::<MoviePrimaryKey>().heap_bytes());
        black_box(fs.index::<MovieByYear>().heap_bytes());
        black_box(fs.index::<MovieByGenres>().heap_bytes());
        rebuilds.push(ms(s.elapsed()));
    }
    let rebuild_ms = median(rebuilds);
    let update_ms = median(index_updates);
    let pk_update_ms = median(pk_updates);
    let pk_verified_update_ms = median(pk_verified_updates);

    let steady_ms = median(steady);
    let inc_ms = median(incremental);
    let apply_ms = median(applies);
    let load_check_us = median(load_checks);
    let delta_check_us = median(delta_checks);
    let rev_ms = median(reverse);
    let delta_b = median(delta_bytes);
    let rdelta_b = median(rdelta_bytes);
    let rss = match (rss_before, rss_after) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64),
        _ => None,
    };
    let (sid, sidt, nid, nidt) = (
        median(scan_id),
        median(scan_idt),
        median(nat_id),
        median(nat_idt),
    );

    t.row(
        "producer cycle 1",
        format!("{cycle1:.0} ms"),
        format!("{baseline_ser:.0} ms serialize"),
        ratio(cycle1, baseline_ser),
    );
    t.row(
        "steady cycle (full re-populate)",
        format!("{steady_ms:.0} ms"),
        format!("{baseline_ser:.0} ms serialize"),
        ratio(steady_ms, baseline_ser),
    );
    t.row(
        "incremental cycle",
        format!("{inc_ms:.0} ms"),
        format!("{baseline_ser:.0} ms serialize"),
        ratio(inc_ms, baseline_ser),
    );
    t.row(
        "snapshot bytes",
        format!("{snapshot_bytes:.0}"),
        format!("{baseline_bytes:.0} serialized"),
        ratio(snapshot_bytes, baseline_bytes),
    );
    t.row(
        "delta bytes (1 %)",
        format!("{delta_b:.0}"),
        format!("{baseline_bytes:.0} serialized"),
        ratio(delta_b, baseline_bytes),
    );
    t.row(
        "reverse delta bytes",
        format!("{rdelta_b:.0}"),
        format!("{baseline_bytes:.0} serialized"),
        ratio(rdelta_b, baseline_bytes),
    );
    t.row(
        "snapshot load (warm cache)",
        format!("{snapshot_load:.1} ms"),
        format!("{baseline_load:.0} ms deserialize"),
        ratio(snapshot_load, baseline_load),
    );
    t.row(
        "snapshot self-check (in the load)",
        format!("{snapshot_selfcheck:.2} ms"),
        format!("{snapshot_load:.1} ms load"),
        ratio(snapshot_selfcheck, snapshot_load),
    );
    t.row(
        "schema check per load",
        format!("{load_check_us:.1} us"),
        format!("{snapshot_load:.1} ms load"),
        ratio(load_check_us / 1000.0, snapshot_load),
    );
    t.row(
        "delta apply (1 %)",
        format!("{apply_ms:.1} ms"),
        format!("{baseline_load:.0} ms full reload"),
        ratio(apply_ms, baseline_load),
    );
    t.row(
        "schema check per delta (1 %)",
        format!("{delta_check_us:.1} us"),
        format!("{apply_ms:.1} ms apply"),
        ratio(delta_check_us / 1000.0, apply_ms),
    );
    t.row(
        "delta apply (10 %)",
        format!("{apply10:.1} ms"),
        format!("{apply_ms:.1} ms (1 %)"),
        ratio(apply10, apply_ms),
    );
    t.row(
        "reverse delta apply",
        format!("{rev_ms:.1} ms"),
        format!("{baseline_load:.0} ms full reload"),
        ratio(rev_ms, baseline_load),
    );
    t.row(
        "resident memory after load",
        rss.map_or("n/a".into(), |r| format!("{:.0} MiB", r / 1048576.0)),
        format!(
            "{:.0} MiB deserialized; snapshot {:.0} MiB",
            base_rss as f64 / 1048576.0,
            snapshot_bytes / 1048576.0
        ),
        rss.map_or("-".into(), |r| ratio(r, snapshot_bytes)),
    );
    t.row(
        "scan id",
        format!("{sid:.1} ns"),
        format!("{nid:.1} ns native"),
        ratio(sid, nid),
    );
    t.row(
        "scan id + title",
        format!("{sidt:.1} ns"),
        format!("{nidt:.1} ns native"),
        ratio(sidt, nidt),
    );
    t.row(
        "records::<Movie>() call",
        format!("{records_call_ns:.1} ns"),
        format!("{pk_ns:.1} ns pk lookup"),
        ratio(records_call_ns, pk_ns),
    );
    t.row(
        "primary-key lookup",
        format!("{pk_ns:.1} ns"),
        format!("{base_pk:.1} ns native"),
        ratio(pk_ns, base_pk),
    );
    t.row(
        "pk lookup, version rewritten",
        format!("{reclaimed_pk_ns:.1} ns"),
        format!(
            "{pk_ns:.1} ns as refreshed ({:.0} % in deltas)",
            outside_share * 100.0
        ),
        ratio(reclaimed_pk_ns, pk_ns),
    );
    t.row(
        "pk lookup, batched, rewritten",
        format!("{reclaimed_pk_batch_ns:.1} ns"),
        format!("{pk_batch_ns:.1} ns as refreshed"),
        ratio(reclaimed_pk_batch_ns, pk_batch_ns),
    );
    t.row(
        "reclaim (rewrite the 10 % version)",
        format!("{reclaim_ms:.0} ms"),
        format!("{baseline_load:.0} ms full reload"),
        ratio(reclaim_ms, baseline_load),
    );
    t.row(
        "pk lookup vs two-read floor",
        format!("{pk_ns:.1} ns"),
        format!("{floor_ns:.1} ns floor"),
        ratio(pk_ns, floor_ns),
    );
    for (adds, busy) in [(16, busy16_ns), (64, busy64_ns)] {
        if let Some(busy) = busy {
            t.row(
                &format!("floor + {adds} additions per key"),
                format!("{busy:.1} ns"),
                format!("{floor_ns:.1} ns floor"),
                ratio(busy, floor_ns),
            );
        }
    }
    t.row(
        "pk lookup, batched, vs floor",
        format!("{pk_batch_ns:.1} ns"),
        format!("{floor_ns:.1} ns floor"),
        ratio(pk_batch_ns, floor_ns),
    );
    t.row(
        "primary-key lookup vs Netflix",
        format!("{pk_ns:.1} ns"),
        "215 ns Netflix Hollow".into(),
        ratio(pk_ns, 215.0),
    );
    t.row(
        "primary-key lookup, batched",
        format!("{pk_batch_ns:.1} ns"),
        format!("{base_pk:.1} ns native"),
        ratio(pk_batch_ns, base_pk),
    );
    t.row(
        "pk lookup, batched, vs Netflix",
        format!("{pk_batch_ns:.1} ns"),
        "215 ns Netflix Hollow".into(),
        ratio(pk_batch_ns, 215.0),
    );
    t.row(
        "pk index memory, after 10 % delta",
        format!("{pk_bytes:.2} B/record"),
        "8 B/record target".into(),
        ratio(pk_bytes, 8.0),
    );
    t.row(
        "pk index memory, 1 % deltas (max)",
        format!("{pk_bytes_1pct:.2} B/record"),
        "8 B/record target".into(),
        ratio(pk_bytes_1pct, 8.0),
    );
    t.row(
        "hash-index lookup (genre)",
        format!("{hash_ns:.1} ns"),
        format!("{native_hash_ns:.1} ns native"),
        ratio(hash_ns, native_hash_ns),
    );
    t.row(
        "index update (1 % delta, 3 idx)",
        format!("{update_ms:.2} ms"),
        format!("{rebuild_ms:.0} ms rebuild"),
        ratio(update_ms, rebuild_ms),
    );
    t.row(
        "pk index update (1 % delta)",
        format!("{pk_update_ms:.2} ms"),
        "21 ms Netflix (pk only)".into(),
        ratio(pk_update_ms, 21.0),
    );
    t.row(
        "pk index update, verifying keys",
        format!("{pk_verified_update_ms:.2} ms"),
        format!("{pk_update_ms:.2} ms trusting"),
        ratio(pk_verified_update_ms, pk_update_ms),
    );
    t.row(
        "3 index update vs Netflix pk",
        format!("{update_ms:.2} ms"),
        "21 ms Netflix (pk only)".into(),
        ratio(update_ms, 21.0),
    );

    t.key("cycle1_ms", Some(cycle1));
    t.key("steady_cycle_ms", Some(steady_ms));
    t.key("incremental_cycle_ms", Some(inc_ms));
    t.key("baseline_serialize_ms", Some(baseline_ser));
    t.key("snapshot_bytes", Some(snapshot_bytes));
    t.key("delta_bytes", Some(delta_b));
    t.key("reverse_delta_bytes", Some(rdelta_b));
    t.key("baseline_bytes", Some(baseline_bytes));
    t.key("snapshot_load_ms", Some(snapshot_load));
    t.key("snapshot_selfcheck_ms", Some(snapshot_selfcheck));
    t.key("schema_check_us", Some(load_check_us));
    t.key("schema_check_delta_us", Some(delta_check_us));
    t.key("records_call_ns", Some(records_call_ns));
    t.key("delta_apply_ms", Some(apply_ms));
    t.key("delta_apply_10x_ms", Some(apply10));
    t.key("reverse_delta_apply_ms", Some(rev_ms));
    t.key("rss_after_load_bytes", rss);
    t.key("baseline_load_ms", Some(baseline_load));
    t.key("baseline_rss_bytes", Some(base_rss as f64));
    t.key("pk_lookup_ns", Some(pk_ns));
    t.key("baseline_pk_lookup_ns", Some(base_pk));
    t.key("scan_id_ns", Some(sid));
    t.key("baseline_scan_id_ns", Some(nid));
    t.key("scan_id_title_ns", Some(sidt));
    t.key("baseline_scan_id_title_ns", Some(nidt));
    t.key("hash_lookup_ns", Some(hash_ns));
    t.key("baseline_hash_lookup_ns", Some(native_hash_ns));
    t.key("index_update_ms", Some(update_ms));
    t.key("index_rebuild_ms", Some(rebuild_ms));
    t.key("pk_index_update_ms", Some(pk_update_ms));
    t.key("pk_index_update_verified_ms", Some(pk_verified_update_ms));
    t.key("pk_batch_lookup_ns", Some(pk_batch_ns));
    t.key("pk_lookup_rewritten_ns", Some(reclaimed_pk_ns));
    t.key("pk_batch_lookup_rewritten_ns", Some(reclaimed_pk_batch_ns));
    t.key("records_in_deltas_share", Some(outside_share));
    t.key("reclaim_ms", Some(reclaim_ms));
    t.key("pk_read_floor_ns", Some(floor_ns));
    t.key("pk_read_floor_busy16_ns", busy16_ns);
    t.key("pk_read_floor_busy64_ns", busy64_ns);
    t.key("pk_index_bytes_per_record_1pct_max", Some(pk_bytes_1pct));
    t.key("pk_index_bytes_per_record", Some(pk_bytes));

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
        "hollow-bench: {n} movies, 200000 actors, medians of {} reps; {cores} cores, {cpu}",
        args.reps
    );
    println!(
        "{:<32} {:>16} {:>34} {:>8}",
        "figure", "hollow", "baseline (same run)", "ratio"
    );
    for (f, v, b, r) in &t.rows {
        println!("{f:<32} {v:>16} {b:>34} {r:>8}");
    }
    if args.json {
        let obj: serde_json::Map<String, serde_json::Value> = t
            .json
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.map_or(serde_json::Value::Null, |x| {
                        serde_json::Number::from_f64((x * 1000.0).round() / 1000.0)
                            .map_or(serde_json::Value::Null, serde_json::Value::Number)
                    }),
                )
            })
            .collect();
        println!("{}", serde_json::Value::Object(obj));
    }
    Ok(())
}

/// A duration in microseconds.
fn us(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The part of a snapshot load that checks the snapshot against itself
/// (directory against sections, counts against each other and against
/// every bitmap's population count), in milliseconds, the median of `reps`:
/// opening the blob at `path` with its checksum taken as verified, and
/// viewing every section as a snapshot section, as a consumer's load does.
fn selfcheck_ms(path: &std::path::Path, reps: usize) -> Result<f64, Box<dyn std::error::Error>> {
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

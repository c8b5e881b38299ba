//! `hollow-big`: one end-to-end run with a record type past 4 GiB (the
//! `Movie` records of the benchmark, by default 15 million), which the
//! producer cuts into several sections (shards, `docs/blob-format.md`).
//!
//! ```text
//! cargo run --release -p hollow-benches --bin hollow-big -- [--movies N] [--dir PATH] [--shard-limit BYTES] [--sample K] [--seed S] [--check-seed S] [--keep]
//! ```
//!
//! The movies are made lazily, one at a time inside the producer's
//! populate ([`hollow_benches::lazy`]), so no input records are held. Cycle
//! 1 publishes `N` movies (and the benchmark's 200 000 actors) to a
//! directory store under `--dir` (default: a new temporary directory);
//! cycle 2 re-populates them with about 1 % changed and publishes a delta
//! (no second snapshot). Then, in a child process of its own (so the two
//! peaks are separate), a consumer loads the snapshot from the store into
//! a cache, checks that `Movie` has several sections, its record count and
//! a sample of movies (`--sample` random ids, default 10 000, and the
//! first and last ordinal of each shard) field by field against the
//! generator, applies the delta and checks the count, every changed movie
//! and the sample again.
//!
//! It prints one `key value` line per figure (sizes in bytes, times in
//! milliseconds, resident sets from `/proc/self/status`) and exits 1, naming
//! the movie, field and values, on any mismatch; 2 on a bad flag.
//! `--shard-limit` is the producer's
//! [`shard_limit`](hollow_runtime::ProducerBuilder::shard_limit) (default:
//! the most a section can hold), to get several shards from small runs;
//! `--check-seed` makes the consumer check against another seed's data
//! (which must fail: it shows the checks can). The store and cache are
//! removed at the end unless `--keep` is given.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use hollow_benches::flags::{unknown, Flags};
use hollow_benches::lazy::{changes_in, movie_at, movie_diff, populate};
use hollow_benches::producer_rss::{status_bytes, BoxError};
use hollow_benches::{ms, Actor, JavaRandom, Movie, MoviePrimaryKey, MovieRef, ACTORS};
use hollow_runtime::blob::{BlobView, SectionOptions};
use hollow_runtime::store::BlobStore;
use hollow_runtime::{BlobName, Consumer, FileAnnouncer, FsBlobStore, Producer, ReadState};

/// Set in the environment of the consumer process (to the run directory).
const CONSUMER_ENV: &str = "HOLLOW_BIG_CONSUMER";

const USAGE: &str = "usage: hollow-big [--movies N] [--dir PATH] [--shard-limit BYTES] \
                     [--sample K] [--seed S] [--check-seed S] [--keep]";

#[derive(Clone, Debug)]
struct Args {
    movies: u64,
    dir: Option<PathBuf>,
    shard_limit: u64,
    sample: u64,
    seed: u64,
    check_seed: Option<u64>,
    keep: bool,
}

fn number(f: &mut Flags<impl Iterator<Item = String>>, flag: &str) -> Result<u64, String> {
    let v = f.value(flag)?;
    v.replace('_', "")
        .parse()
        .map_err(|_| format!("{flag} takes a number, not {v:?}"))
}

fn parse(mut f: Flags<impl Iterator<Item = String>>) -> Result<Args, String> {
    let mut a = Args {
        movies: 15_000_000,
        dir: None,
        shard_limit: SectionOptions::MAX_SHARD_BYTES,
        sample: 10_000,
        seed: 42,
        check_seed: None,
        keep: false,
    };
    while let Some(x) = f.next_flag() {
        match x.as_str() {
            "--movies" => a.movies = f.movies()?,
            "--dir" => a.dir = Some(f.value("--dir")?.into()),
            "--shard-limit" => a.shard_limit = number(&mut f, "--shard-limit")?,
            "--sample" => a.sample = number(&mut f, "--sample")?,
            "--seed" => a.seed = number(&mut f, "--seed")?,
            "--check-seed" => a.check_seed = Some(number(&mut f, "--check-seed")?),
            "--keep" => a.keep = true,
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(unknown(other)),
        }
    }
    if a.movies > i32::MAX as u64 {
        return Err(format!(
            "--movies must be at most {}, not {}",
            i32::MAX,
            a.movies
        ));
    }
    if a.shard_limit < 8 || a.shard_limit > SectionOptions::MAX_SHARD_BYTES {
        return Err(format!(
            "--shard-limit must be from 8 to {}, not {}",
            SectionOptions::MAX_SHARD_BYTES,
            a.shard_limit
        ));
    }
    Ok(a)
}

/// The flags the consumer process gets (it checks what the producer made).
fn child_flags(a: &Args) -> Vec<String> {
    let mut v = vec![
        "--movies".into(),
        a.movies.to_string(),
        "--sample".into(),
        a.sample.to_string(),
        "--seed".into(),
        a.check_seed.unwrap_or(a.seed).to_string(),
    ];
    if a.keep {
        v.push("--keep".into());
    }
    v
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match parse(Flags::from_env()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hollow-big: {e}");
            std::process::exit(2);
        }
    };
    let result = match std::env::var_os(CONSUMER_ENV) {
        Some(dir) => consume(&args, Path::new(&dir)).await,
        None => run(args).await,
    };
    if let Err(e) = result {
        eprintln!("hollow-big: {e}");
        std::process::exit(1);
    }
}

/// A figure, as one `key value` line.
fn figure(key: &str, value: impl std::fmt::Display) {
    println!("{key} {value}");
}

/// The producer's part: both cycles, then the consumer process.
async fn run(args: Args) -> Result<(), BoxError> {
    let wall = Instant::now();
    let (_temp, dir) = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| format!("creating {}: {e}", d.display()))?;
            (None, d.clone())
        }
        None => {
            let t = tempfile::Builder::new().prefix("hollow-big-").tempdir()?;
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let store_dir = dir.join("store");
    // A cache left by an earlier run would hold blobs of other versions
    // under the same names.
    for d in [&store_dir, &dir.join("cache")] {
        if d.exists() {
            return Err(format!(
                "{} already exists (an earlier run's?): give --dir a directory without a store or cache",
                d.display()
            )
            .into());
        }
    }
    figure("movies", args.movies);
    figure("actors", ACTORS);
    figure("shard_limit_bytes", args.shard_limit);
    let outcome = produce(&args, &store_dir).await;
    let outcome = match outcome {
        Ok(()) => consumer_process(&args, &dir),
        Err(e) => Err(e),
    };
    let mut cleanup = Ok(());
    if !args.keep {
        for d in [store_dir, dir.join("cache")] {
            if d.exists() {
                if let Err(e) = std::fs::remove_dir_all(&d) {
                    cleanup = Err(format!("removing {}: {e}", d.display()));
                }
            }
        }
    }
    // The run's own failure first: a failed clean-up must not hide it.
    outcome?;
    cleanup?;
    figure("wall_ms", format!("{:.0}", ms(wall.elapsed())));
    Ok(())
}

/// Cycle 1 (every movie) and cycle 2 (about 1 % changed, a delta only),
/// printing the producer's figures; the producer is dropped at the end.
async fn produce(args: &Args, store_dir: &Path) -> Result<(), BoxError> {
    let store = Arc::new(FsBlobStore::new(store_dir)?);
    let announcer = Arc::new(FileAnnouncer::new(store_dir)?);
    let mut producer = Producer::builder(store.clone(), announcer)
        .shard_limit(args.shard_limit)
        // Cycle 2 publishes a delta only: the consumer reaches version 2
        // by applying it.
        .snapshot_interval(u64::MAX)
        .build();
    for cycle in 1..=2u64 {
        let t = Instant::now();
        let out = producer
            .run_cycle(populate(args.seed, args.movies, cycle))
            .await?;
        let took = t.elapsed();
        let version = out
            .version
            .ok_or_else(|| format!("cycle {cycle} published no version"))?;
        if version != cycle {
            return Err(format!("cycle {cycle} published version {version}").into());
        }
        figure(&format!("cycle{cycle}_ms"), format!("{:.0}", ms(took)));
        for (name, plain) in &out.blobs {
            let key = match name {
                BlobName::Snapshot(_) => "snapshot",
                BlobName::Delta { .. } => "delta",
                BlobName::ReverseDelta { .. } => "reverse_delta",
            };
            let stat = store.stat(*name).await?;
            figure(&format!("{key}_plain_bytes"), plain);
            figure(&format!("{key}_stored_bytes"), stat.stored_bytes);
        }
        for (ty, added, removed) in &out.changes {
            if ty == "Movie" {
                figure(&format!("cycle{cycle}_movies_added"), added);
                figure(&format!("cycle{cycle}_movies_removed"), removed);
            }
        }
        figure(
            &format!("producer_peak_rss_bytes_after_cycle{cycle}"),
            status_bytes("VmHWM:")?,
        );
    }
    Ok(())
}

/// Runs this program again as the consumer process and waits for it.
fn consumer_process(args: &Args, dir: &Path) -> Result<(), BoxError> {
    // This very program, even when its file was replaced while it ran (a
    // rebuild during a long run): Linux keeps the running file reachable
    // here.
    let exe = Path::new("/proc/self/exe");
    let status = Command::new(exe)
        .args(child_flags(args))
        .env(CONSUMER_ENV, dir)
        .status()
        .map_err(|e| format!("starting the consumer process {}: {e}", exe.display()))?;
    if !status.success() {
        return Err(format!("the consumer process failed ({status})").into());
    }
    Ok(())
}

/// The ordinal ranges of `Movie`'s sections in the cached blob `name`,
/// printing their count and sizes under `key`.
fn movie_shards(cache: &Path, name: BlobName, key: &str) -> Result<Vec<(u32, u32)>, BoxError> {
    let path = cache.join(name.to_string());
    let file =
        std::fs::File::open(&path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    // SAFETY: the cached blob is not written once it has its name (the
    // cache links a file under it only when whole) and is only read here.
    let map = unsafe { memmap2::Mmap::map(&file) }
        .map_err(|e| format!("mapping {}: {e}", path.display()))?;
    // The consumer verified the whole-file checksum as it loaded the blob.
    let view = BlobView::open_prechecked(&name.to_string(), &map)?;
    let mut ranges = Vec::new();
    let mut sizes = Vec::new();
    for s in view.shards("Movie") {
        let r = s.ordinal_range();
        ranges.push((r.start, r.end));
        sizes.push(s.info().length.to_string());
    }
    figure(&format!("{key}_movie_sections"), ranges.len());
    figure(&format!("{key}_movie_section_bytes"), sizes.join(","));
    figure(
        &format!("{key}_movie_section_ranges"),
        ranges
            .iter()
            .map(|(a, b)| format!("{a}..{b}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    Ok(ranges)
}

/// What [`check_state`] checked.
#[derive(Default)]
struct Checked {
    records: u64,
}

/// Checks `state` (version `cycle`) against the generator: the counts,
/// the movies of `ids`, and those at `ordinals` (when populated).
fn check_state(
    state: &ReadState,
    args: &Args,
    cycle: u64,
    ids: impl Iterator<Item = u64>,
    ordinals: &[u32],
    checked: &mut Checked,
) -> Result<(), BoxError> {
    let movies = state.records::<Movie>();
    if movies.len() as u64 != args.movies {
        return Err(format!(
            "version {cycle} holds {} movies, the generator {}",
            movies.len(),
            args.movies
        )
        .into());
    }
    let actors = state.records::<Actor>();
    if actors.len() as u64 != ACTORS {
        return Err(format!(
            "version {cycle} holds {} actors, the generator {ACTORS}",
            actors.len()
        )
        .into());
    }
    // One record read back whole and compared with what the generator
    // gives for its id.
    let check = |r: MovieRef<'_>, how: &str| -> Result<(), BoxError> {
        let got = r
            .to_value()
            .map_err(|e| format!("{how}: unreadable: {e}"))?;
        if got.id >= args.movies {
            return Err(format!(
                "{how}: version {cycle} holds movie {}, past the last id",
                got.id
            )
            .into());
        }
        let want = movie_at(args.seed, got.id, cycle);
        match movie_diff(&got, &want) {
            None => Ok(()),
            Some(d) => Err(format!("{how}: movie {} of version {cycle}: {d}", got.id).into()),
        }
    };
    let pk = movies.primary_key_index();
    for id in ids {
        let how = format!("primary key {id}");
        let r = pk
            .get(id)
            .ok_or_else(|| format!("{how}: version {cycle} has no such movie"))?;
        check(r, &how)?;
        checked.records += 1;
    }
    for &o in ordinals {
        let how = format!("ordinal {o}");
        if let Some(r) = movies.get(o) {
            check(r, &how)?;
            checked.records += 1;
        }
    }
    Ok(())
}

/// `k` random movie ids out of `n`, drawn from `seed`.
fn sample(seed: u64, n: u64, k: u64) -> Vec<u64> {
    let mut rng = JavaRandom::new(seed ^ 0x005A_4D50_4C45);
    (0..k).map(|_| rng.next_int(n as i32) as u64).collect()
}

/// The first and last ordinal of each range.
fn ends(ranges: &[(u32, u32)]) -> Vec<u32> {
    ranges
        .iter()
        .flat_map(|&(a, b)| [a, b.saturating_sub(1)])
        .collect()
}

/// The consumer process: loads, checks, applies the delta, checks again.
async fn consume(args: &Args, dir: &Path) -> Result<(), BoxError> {
    let store_dir = dir.join("store");
    let cache = dir.join("cache");
    let store = Arc::new(FsBlobStore::new(&store_dir)?);
    let announcer = Arc::new(FileAnnouncer::new(&store_dir)?);
    let consumer = Consumer::builder(store, announcer)
        .cache_dir(&cache)
        // The snapshot stays cached beside the delta, to read its sections.
        .prune_cache(false)
        .index::<MoviePrimaryKey>()
        .build()?;
    let t = Instant::now();
    consumer.refresh_to(1).await?;
    figure("consumer_load_ms", format!("{:.0}", ms(t.elapsed())));
    figure("consumer_rss_bytes_after_load", status_bytes("VmRSS:")?);
    let state = consumer.current().ok_or("the consumer holds no state")?;
    let ranges = movie_shards(&cache, BlobName::Snapshot(1), "snapshot")?;
    if ranges.len() < 2 {
        return Err(format!(
            "Movie is in {} section(s) of snapshot-1, not several: give more --movies or a smaller --shard-limit",
            ranges.len()
        )
        .into());
    }
    let ids = sample(args.seed, args.movies, args.sample);
    let boundary = ends(&ranges);
    let mut checked = Checked::default();
    check_state(
        &state,
        args,
        1,
        ids.iter().copied(),
        &boundary,
        &mut checked,
    )?;
    drop(state);

    let t = Instant::now();
    consumer.refresh_to(2).await?;
    figure("delta_apply_ms", format!("{:.0}", ms(t.elapsed())));
    figure("consumer_rss_bytes_after_delta", status_bytes("VmRSS:")?);
    let state = consumer.current().ok_or("the consumer holds no state")?;
    let delta_ranges = movie_shards(&cache, BlobName::Delta { from: 1, to: 2 }, "delta")?;
    if delta_ranges.is_empty() {
        return Err("delta-1-2 has no Movie section".into());
    }
    let changed: Vec<u64> = (0..args.movies)
        .filter(|&id| changes_in(args.seed, id, 2))
        .collect();
    figure("movies_changed_in_cycle2", changed.len());
    let ids2 = ids.iter().chain(&changed).copied();
    let boundary2: Vec<u32> = boundary.into_iter().chain(ends(&delta_ranges)).collect();
    check_state(&state, args, 2, ids2, &boundary2, &mut checked)?;
    figure("consumer_peak_rss_bytes", status_bytes("VmHWM:")?);
    figure("records_checked", checked.records);
    println!("checks passed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Result<Args, String> {
        parse(Flags::new(
            v.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ))
    }

    #[test]
    fn flags_are_read_and_bad_ones_named() {
        let a = args(&[
            "--movies",
            "2000",
            "--shard-limit",
            "4096",
            "--check-seed",
            "7",
        ])
        .unwrap();
        assert_eq!(
            (a.movies, a.shard_limit, a.check_seed),
            (2000, 4096, Some(7))
        );
        assert_eq!(a.movies, 2000);
        let d = args(&[]).unwrap();
        assert_eq!(d.movies, 15_000_000);
        assert_eq!(d.shard_limit, SectionOptions::MAX_SHARD_BYTES);
        assert_eq!(
            args(&["--shard-limit", "4"]).unwrap_err(),
            format!(
                "--shard-limit must be from 8 to {}, not 4",
                SectionOptions::MAX_SHARD_BYTES
            )
        );
        assert_eq!(
            args(&["--sample", "ten"]).unwrap_err(),
            "--sample takes a number, not \"ten\""
        );
        assert!(args(&["--fast"]).unwrap_err().contains("--fast"));
    }

    #[test]
    fn a_shard_gives_its_first_and_last_ordinal() {
        assert_eq!(ends(&[(0, 10), (10, 11)]), vec![0, 9, 10, 10]);
    }
}

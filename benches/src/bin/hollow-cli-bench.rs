//! Figures for the `hollow` CLI on the benchmark workload (`docs/benchmark.md`):
//!
//! - `export` throughput (records/s, JSON Lines to a file) beside
//!   `serde_json` of the native structs writing the same lines to the same
//!   kind of file, in the same run;
//! - `diff` of two adjacent versions (1 % of the movies modified, 0.1 %
//!   removed and added) and of versions five apart, through the deltas,
//!   beside the same diffs computed by loading both versions whole and
//!   joining them by key (checked to give the same result);
//! - peak memory of a `hollow export` process at two sizes (it must stay
//!   flat as N grows): resident anonymous memory (heap, stacks) and
//!   file-backed pages of the memory-mapped snapshot, sampled from
//!   `/proc/<pid>/status`.
//!
//! Usage: `hollow-cli-bench [--movies N] [--reps R] [--hollow PATH]`
//! (build the `hollow` binary in release first; `--hollow` defaults to the
//! `hollow` beside this executable).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hollow_benches::flags::{unknown, Flags};
use hollow_benches::{change, initial, median, ms, Actor, Movie};
use hollow_runtime::{FileAnnouncer, FsBlobStore, Producer};

struct Args {
    movies: u64,
    reps: usize,
    hollow: PathBuf,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        movies: 1_000_000,
        reps: 5,
        hollow: std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("hollow"),
    };
    let mut f = Flags::from_env();
    while let Some(x) = f.next_flag() {
        match x.as_str() {
            "--movies" => a.movies = f.movies()?,
            "--reps" => a.reps = f.reps()?,
            "--hollow" => a.hollow = PathBuf::from(f.value("--hollow")?),
            "-h" | "--help" => {
                println!(
                    "usage: hollow-cli-bench [--movies N (1000000)] [--reps R (5)] [--hollow PATH (beside this binary)]"
                );
                std::process::exit(0);
            }
            other => return Err(unknown(other)),
        }
    }
    Ok(a)
}

/// What [`produce`] returns: the versions, the actors and the final movies.
type Produced = (Vec<u64>, Vec<Actor>, Vec<Movie>);

/// Publishes the scenario's cycles 1..=`cycles` into `dir`; returns the
/// versions and the final movies.
fn produce(dir: &Path, n: u64, cycles: usize) -> Result<Produced, Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = Arc::new(FsBlobStore::new(dir)?);
    let announcer = Arc::new(FileAnnouncer::new(dir)?);
    let mut producer = Producer::builder(store, announcer).build();
    let (actors, mut movies, mut rng) = initial(n);
    let mut next_id = n;
    let mut versions = Vec::new();
    for c in 1..=cycles {
        if c > 1 {
            change(&mut rng, &mut movies, n, n / 100, &mut next_id);
        }
        let s = Instant::now();
        let out = rt.block_on(producer.run_cycle(|w| {
            actors.iter().try_for_each(|a| w.add(a))?;
            movies.iter().try_for_each(|m| w.add(m))
        }))?;
        versions.push(out.version.ok_or("a cycle made no version")?);
        eprintln!("  cycle {c}: {:.0} ms", ms(s.elapsed()));
    }
    Ok((versions, actors, movies))
}

/// The same JSON Lines `hollow export` writes, from the native structs.
#[derive(serde::Serialize)]
struct Line<'a, T> {
    #[serde(rename = "type")]
    ty: &'static str,
    ordinal: usize,
    record: &'a T,
}

fn native_export(actors: &[Actor], movies: &[Movie], path: &Path) -> std::io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 16, std::fs::File::create(path)?);
    for (i, a) in actors.iter().enumerate() {
        serde_json::to_writer(
            &mut w,
            &Line {
                ty: "Actor",
                ordinal: i,
                record: a,
            },
        )?;
        w.write_all(b"\n")?;
    }
    for (i, m) in movies.iter().enumerate() {
        serde_json::to_writer(
            &mut w,
            &Line {
                ty: "Movie",
                ordinal: i,
                record: m,
            },
        )?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok((actors.len() + movies.len()) as u64)
}

/// Checks that a whole-load diff's JSON equals the delta path's (less the
/// `through` field), so the baseline computes the same thing.
fn same_diff(
    whole: &[u8],
    store: &hollow_cli::store::Store,
    a: u64,
    b: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut via = Vec::new();
    hollow_cli::cmd::diff::run(store, a, b, None, true, &mut via)?;
    let mut x: serde_json::Value = serde_json::from_slice(whole)?;
    let mut y: serde_json::Value = serde_json::from_slice(&via)?;
    x["through"] = serde_json::Value::Null;
    y["through"] = serde_json::Value::Null;
    // The order of entries may differ: compare them as sets.
    let norm = |v: &mut serde_json::Value| {
        if let Some(types) = v["types"].as_array_mut() {
            for t in types {
                for side in ["added", "removed", "modified"] {
                    if let Some(list) = t[side].as_array_mut() {
                        list.sort_by_key(|e| e.to_string());
                    }
                }
            }
        }
    };
    norm(&mut x);
    norm(&mut y);
    if x != y {
        return Err(
            format!("diff {a} → {b}: the whole-load diff differs from the delta one").into(),
        );
    }
    Ok(())
}

/// Peak memory of `hollow export store` (output to /dev/null), sampled
/// every 2 ms: (max RssAnon, max RssFile, last VmHWM) in bytes, and time.
fn export_memory(
    hollow: &Path,
    store: &Path,
) -> Result<(u64, u64, u64, f64), Box<dyn std::error::Error>> {
    let s = Instant::now();
    let mut child = Command::new(hollow)
        .arg("export")
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let status_path = format!("/proc/{}/status", child.id());
    let (mut anon, mut file, mut hwm) = (0u64, 0u64, 0u64);
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            for line in text.lines() {
                let kb = |l: &str| -> u64 {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|x| x.parse().ok())
                        .unwrap_or(0)
                        * 1024
                };
                if line.starts_with("RssAnon:") {
                    anon = anon.max(kb(line));
                } else if line.starts_with("RssFile:") {
                    file = file.max(kb(line));
                } else if line.starts_with("VmHWM:") {
                    hwm = hwm.max(kb(line));
                }
            }
        }
        if let Some(st) = child.try_wait()? {
            if !st.success() {
                return Err(format!("hollow export failed: {st}").into());
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok((anon, file, hwm, ms(s.elapsed())))
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1 << 20) as f64)
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hollow-cli-bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("hollow-cli-bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let n = args.movies;
    let tmp = tempfile::tempdir()?;
    let big = tmp.path().join("big");
    eprintln!("producing {n} movies, 6 cycles ...");
    let (versions, actors, movies) = produce(&big, n, 6)?;
    let (v1, v5, v6) = (versions[0], versions[4], versions[5]);
    let store = hollow_cli::store::Store::open(big.to_str().ok_or("path")?)?;
    let records = n + hollow_benches::ACTORS;

    // Export: the CLI's path in process, and the native baseline, to files.
    let out_path = tmp.path().join("export.jsonl");
    let (mut cli, mut native) = (Vec::new(), Vec::new());
    let (mut cli_bytes, mut native_bytes) = (0, 0);
    for _ in 0..args.reps {
        let s = Instant::now();
        let mut w = BufWriter::with_capacity(1 << 16, std::fs::File::create(&out_path)?);
        let written = hollow_cli::cmd::export::run(&store, Some(v6), None, &mut w)?;
        w.flush()?;
        cli.push(ms(s.elapsed()));
        if written != records {
            return Err(format!("export wrote {written} records, expected {records}").into());
        }
        cli_bytes = std::fs::metadata(&out_path)?.len();
        let s = Instant::now();
        native_export(&actors, &movies, &out_path)?;
        native.push(ms(s.elapsed()));
        native_bytes = std::fs::metadata(&out_path)?.len();
    }
    let (cli_ms, native_ms) = (median(cli), median(native));

    // Diff: adjacent versions (through the delta), and five apart.
    let mut adjacent = Vec::new();
    let mut five = Vec::new();
    let (mut adjacent_whole, mut five_whole) = (Vec::new(), Vec::new());
    use hollow_cli::cmd::diff::{run_with, Method};
    let mut adjacent_bytes = 0;
    let mut five_bytes = 0;
    for _ in 0..args.reps {
        let mut buf = Vec::new();
        let s = Instant::now();
        hollow_cli::cmd::diff::run(&store, v5, v6, None, true, &mut buf)?;
        adjacent.push(ms(s.elapsed()));
        adjacent_bytes = buf.len();
        let mut buf = Vec::new();
        let s = Instant::now();
        hollow_cli::cmd::diff::run(&store, v1, v6, None, true, &mut buf)?;
        five.push(ms(s.elapsed()));
        five_bytes = buf.len();
        // Baseline: the same diffs with both versions loaded whole and
        // joined by key; their output must be the same.
        let mut whole = Vec::new();
        let s = Instant::now();
        run_with(&store, v5, v6, None, true, &mut whole, Method::Whole)?;
        adjacent_whole.push(ms(s.elapsed()));
        same_diff(&whole, &store, v5, v6)?;
        let mut whole = Vec::new();
        let s = Instant::now();
        run_with(&store, v1, v6, None, true, &mut whole, Method::Whole)?;
        five_whole.push(ms(s.elapsed()));
        same_diff(&whole, &store, v1, v6)?;
    }
    let check: serde_json::Value = {
        let mut buf = Vec::new();
        hollow_cli::cmd::diff::run(&store, v5, v6, Some("Movie"), true, &mut buf)?;
        serde_json::from_slice(&buf)?
    };
    let count = |k: &str| check["types"][0][k].as_array().map_or(0, Vec::len);
    let (added, removed, modified) = (count("added"), count("removed"), count("modified"));

    // Peak memory of `hollow export` at N/4 and N.
    let small = tmp.path().join("small");
    eprintln!("producing {} movies for the memory comparison ...", n / 4);
    produce(&small, n / 4, 1)?;
    let m_small = export_memory(&args.hollow, &small)?;
    let m_big = export_memory(&args.hollow, &big)?;
    let snap = |dir: &Path| -> u64 {
        std::fs::read_dir(dir)
            .ok()
            .and_then(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("snapshot-"))
                    .filter_map(|e| e.metadata().ok().map(|m| m.len()))
                    .max()
            })
            .unwrap_or(0)
    };

    println!(
        "hollow CLI on the benchmark workload: {n} movies + {} actors; machine: {} cores",
        hollow_benches::ACTORS,
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
    println!("medians of {} runs", args.reps);
    println!();
    println!("| figure | hollow CLI | baseline (same run) | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| export, all {records} records to a JSON Lines file | {cli_ms:.0} ms = {:.0} records/s ({}) | serde_json of the native structs: {native_ms:.0} ms = {:.0} records/s ({}) | {:.2}× the baseline's time |",
        records as f64 / (cli_ms / 1e3),
        mib(cli_bytes),
        records as f64 / (native_ms / 1e3),
        mib(native_bytes),
        cli_ms / native_ms
    );
    let (a, aw) = (median(adjacent), median(adjacent_whole));
    let (f, fw) = (median(five), median(five_whole));
    println!(
        "| diff of adjacent versions {v5} → {v6} through the delta (Movie: {added} added, {removed} removed, {modified} modified) | {a:.0} ms ({} of JSON) | both versions loaded whole, joined by key: {aw:.0} ms | {:.3}× |",
        mib(adjacent_bytes as u64),
        a / aw
    );
    println!(
        "| diff of versions five apart {v1} → {v6} through 5 deltas | {f:.0} ms ({} of JSON) | both versions loaded whole, joined by key: {fw:.0} ms | {:.3}× |",
        mib(five_bytes as u64),
        f / fw
    );
    for (label, size, m, dir) in [("N/4", n / 4, m_small, &small), ("N", n, m_big, &big)] {
        println!(
            "| `hollow export` process at {label} = {size} movies (snapshot {}) | peak anonymous RSS {}; peak file-backed RSS {}; VmHWM {}; {:.0} ms | | |",
            mib(snap(dir)),
            mib(m.0),
            mib(m.1),
            mib(m.2),
            m.3
        );
    }
    Ok(())
}

//! `hollow-soak`: a producer run as a batch job (a fresh `Producer` restored
//! from the announced version for every cycle, as a job that restores, runs
//! one cycle and exits does) beside one long-running producer given the same
//! changes, each on its own local directory store whose retention cleaner
//! keeps the newest versions; and a consumer, in a child process, following
//! the batch job's store.
//!
//! ```text
//! cargo run --release -p hollow-benches --bin hollow-soak -- \
//!     [--cycles C (1000)] [--records N (100000)] [--keep K (5)] \
//!     [--every E (C / 20)] [--reclaim F|none (0.1)] [--dir DIR (a temporary directory)]
//! ```
//!
//! The records are the benchmark's movies (`docs/benchmark.md`, without
//! actors); every cycle after the first modifies N/100 of them, removes
//! N/1000 and adds N/1000 (about 1 % changed), and both producers publish
//! the whole set (`run_cycle`). Every E cycles, and after the last, a row
//! gives both producers' ordinal limits and snapshot sizes with their ratios
//! (batch job / long-running) and the consumer's resident memory
//! (`VmRSS`, and its anonymous and file-backed parts, from
//! `/proc/<pid>/status`) and the size of its blob cache on disk, measured
//! right after it reached the cycle's version and checked its record count.
//! The consumer rewrites the version it holds once a fraction F of its
//! records are read from deltas (`ConsumerBuilder::reclaim_threshold`);
//! with `--reclaim none` (a consumer's default) it keeps every delta it
//! applied mapped, and its file-backed memory grows by about a delta's size
//! every cycle. The summary gives the largest
//! ratios and the consumer's memory at the first row and at the end, and
//! the run fails (exit status 1) if a ratio exceeds 1.3.
//!
//! Each cycle's figures are exact (no timing): the run is as meaningful
//! small (`--cycles 50 --records 5000`) as large, only slower.
//!
//! The consumer's anonymous memory includes what glibc's allocator keeps
//! in the per-thread arenas of the threads that rewrote versions: it rises
//! in steps as rewrites land on new threads. `MALLOC_ARENA_MAX=1` in the
//! environment (inherited by the consumer process) leaves the consumer's
//! own memory.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::sync::Arc;

use hollow_benches::flags::{unknown, Flags};
use hollow_benches::{change, movie, populate, JavaRandom, Movie};
use hollow_runtime::store::retention::RetentionCleaner;
use hollow_runtime::store::{BlobName, FileAnnouncer, FsBlobStore};
use hollow_runtime::{Consumer, CycleOutcome, Producer};

/// The largest batch-job / long-running ratio of ordinal limit or snapshot
/// size the run accepts.
const MAX_RATIO: f64 = 1.3;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    cycles: u64,
    records: u64,
    keep: usize,
    every: Option<u64>,
    reclaim: Option<f64>,
    dir: Option<PathBuf>,
}

/// The value of `--reclaim`: a fraction, or `none`.
fn reclaim(v: &str) -> Result<Option<f64>, String> {
    match v {
        "none" => Ok(None),
        _ => match v.parse::<f64>() {
            Ok(f) if (0.0..=1.0).contains(&f) => Ok(Some(f)),
            _ => Err(format!(
                "--reclaim takes a fraction from 0 to 1 or none, not {v:?}"
            )),
        },
    }
}

fn number(
    f: &mut Flags<impl Iterator<Item = String>>,
    flag: &str,
    min: u64,
) -> Result<u64, String> {
    let v = f.value(flag)?;
    match v.replace('_', "").parse::<u64>() {
        Ok(n) if n >= min => Ok(n),
        Ok(n) => Err(format!("{flag} must be at least {min}, not {n}")),
        Err(_) => Err(format!("{flag} takes a number, not {v:?}")),
    }
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        cycles: 1000,
        records: 100_000,
        keep: 5,
        every: None,
        reclaim: Some(0.1),
        dir: None,
    };
    let mut f = Flags::from_env();
    while let Some(x) = f.next_flag() {
        match x.as_str() {
            "--cycles" => a.cycles = number(&mut f, "--cycles", 2)?,
            "--records" => a.records = number(&mut f, "--records", 1000)?,
            "--keep" => a.keep = number(&mut f, "--keep", 2)? as usize,
            "--every" => a.every = Some(number(&mut f, "--every", 1)?),
            "--reclaim" => a.reclaim = reclaim(&f.value("--reclaim")?)?,
            "--dir" => a.dir = Some(PathBuf::from(f.value("--dir")?)),
            "-h" | "--help" => {
                println!(
                    "usage: hollow-soak [--cycles C (1000)] [--records N (100000)] [--keep K (5)] \
                     [--every E (C / 20)] [--reclaim F|none (0.1)] [--dir DIR]"
                );
                std::process::exit(0);
            }
            other => return Err(unknown(other)),
        }
    }
    Ok(a)
}

/// A local directory store and its announcer, in `dir`.
fn open(dir: &Path) -> Res<(Arc<FsBlobStore>, Arc<FileAnnouncer>)> {
    Ok((
        Arc::new(FsBlobStore::new(dir)?),
        Arc::new(FileAnnouncer::new(dir)?),
    ))
}

/// The consumer process (`hollow-soak --follow STORE CACHE RECLAIM`),
/// rewriting its version once a fraction `RECLAIM` (or never, `none`) of
/// its records come from deltas: for each line
/// `VERSION COUNT` read on stdin, refreshes to the announced version, checks
/// it is `VERSION` holding `COUNT` movies, and answers `ok`, or a line
/// saying what differs.
async fn follow(store: &Path, cache: &Path, reclaim: Option<f64>) -> Res<()> {
    let (store, announcer) = open(store)?;
    let consumer = Consumer::builder(store, announcer)
        .cache_dir(cache)
        .record_type::<Movie>()
        .reclaim_threshold(reclaim)
        .build()?;
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let mut words = line.split_whitespace().map(str::parse::<u64>);
        let (Some(Ok(version)), Some(Ok(count))) = (words.next(), words.next()) else {
            return Err(format!("expected `VERSION COUNT`, got {line:?}").into());
        };
        let reply = match consumer.refresh().await {
            Ok(Some(v)) if v == version => {
                let held = consumer.current().map_or(0, |s| s.count("Movie") as u64);
                if held == count {
                    "ok".to_string()
                } else {
                    format!("version {v} holds {held} movies, not {count}")
                }
            }
            Ok(v) => format!("at version {v:?}, not {version}"),
            Err(e) => format!("refresh failed: {e}"),
        };
        writeln!(out, "{reply}")?;
        out.flush()?;
    }
    Ok(())
}

/// The consumer child process and its pipes.
struct Follower {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// Resident memory of a process, in KiB: total, anonymous, file-backed.
struct Rss {
    total: u64,
    anon: u64,
    file: u64,
}

impl Follower {
    fn spawn(store: &Path, cache: &Path, reclaim: Option<f64>) -> Res<Follower> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--follow")
            .arg(store)
            .arg(cache)
            .arg(reclaim.map_or("none".to_string(), |f| f.to_string()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin pipe to the consumer")?;
        let stdout = child
            .stdout
            .take()
            .ok_or("no stdout pipe from the consumer")?;
        Ok(Follower {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        })
    }

    /// Has the consumer reach `version` and check it holds `count` movies.
    fn reach(&mut self, version: u64, count: u64) -> Res<()> {
        writeln!(self.stdin, "{version} {count}")?;
        self.stdin.flush()?;
        let mut reply = String::new();
        self.stdout.read_line(&mut reply)?;
        match reply.trim() {
            "ok" => Ok(()),
            "" => Err("the consumer process ended".into()),
            other => Err(format!("consumer: {other}").into()),
        }
    }

    fn rss(&self) -> Res<Rss> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib = |key: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok(Rss {
            total: kib("VmRSS:"),
            anon: kib("RssAnon:"),
            file: kib("RssFile:"),
        })
    }
}

/// One producer's figures after a cycle.
#[derive(Clone, Copy, Default)]
struct Figures {
    limit: u32,
    snapshot: u64,
}

impl Figures {
    fn of(p: &Producer, outcome: &CycleOutcome) -> Res<Figures> {
        let state = p.read_state().ok_or("no read state after a cycle")?;
        let snapshot = outcome
            .blobs
            .iter()
            .find(|(n, _)| matches!(n, BlobName::Snapshot(_)))
            .map(|&(_, size)| size)
            .ok_or("a cycle wrote no snapshot")?;
        Ok(Figures {
            limit: state.records::<Movie>().ordinal_limit(),
            snapshot,
        })
    }
}

/// The bytes of the files in `dir` (not in its subdirectories).
fn dir_bytes(dir: &Path) -> Res<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let meta = entry?.metadata()?;
        if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        f64::NAN
    } else {
        a / b
    }
}

async fn soak(a: &Args, dir: &Path) -> Res<bool> {
    let (long_store, long_announcer) = open(&dir.join("long"))?;
    let (store, announcer) = open(&dir.join("batch"))?;
    let cleaners = [
        RetentionCleaner::new(long_store.clone(), long_announcer.clone(), a.keep),
        RetentionCleaner::new(store.clone(), announcer.clone(), a.keep),
    ];
    let mut long = Producer::builder(long_store, long_announcer)
        .record_type::<Movie>()
        .build();
    let cache = dir.join("consumer-cache");
    let mut follower = Follower::spawn(&dir.join("batch"), &cache, a.reclaim)?;

    let mut rng = JavaRandom::new(42);
    let n = a.records;
    let mut movies: Vec<Movie> = (0..n).map(|id| movie(&mut rng, id)).collect();
    let mut next_id = n;
    let every = a.every.unwrap_or((a.cycles / 20).max(1));
    let (mut worst_limit, mut worst_snapshot) = (0f64, 0f64);
    let mut first_rss = None;
    println!(
        "| cycle | ordinal limit: long-running | batch job | ratio | snapshot bytes: long-running | batch job | ratio | consumer VmRSS KiB | RssAnon | RssFile | cache bytes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for cycle in 1..=a.cycles {
        if cycle > 1 {
            change(&mut rng, &mut movies, n, n / 100, &mut next_id);
        }
        let outcome = long.run_cycle(populate(&[], &movies)).await?;
        let long_fig = Figures::of(&long, &outcome)?;

        // The batch job: a new producer, restored, one cycle, gone.
        let mut batch = Producer::builder(store.clone(), announcer.clone())
            .record_type::<Movie>()
            .build();
        batch.restore_latest().await?;
        let outcome = batch.run_cycle(populate(&[], &movies)).await?;
        let version = outcome.version.ok_or("a cycle changed nothing")?;
        let batch_fig = Figures::of(&batch, &outcome)?;
        drop(batch);

        for c in &cleaners {
            c.clean().await?;
        }
        follower.reach(version, movies.len() as u64)?;

        let limit_ratio = ratio(f64::from(batch_fig.limit), f64::from(long_fig.limit));
        let snapshot_ratio = ratio(batch_fig.snapshot as f64, long_fig.snapshot as f64);
        worst_limit = worst_limit.max(limit_ratio);
        worst_snapshot = worst_snapshot.max(snapshot_ratio);
        if cycle % every == 0 || cycle == a.cycles {
            let rss = follower.rss()?;
            println!(
                "| {cycle} | {} | {} | {limit_ratio:.3} | {} | {} | {snapshot_ratio:.3} | {} | {} | {} | {} |",
                long_fig.limit,
                batch_fig.limit,
                long_fig.snapshot,
                batch_fig.snapshot,
                rss.total,
                rss.anon,
                rss.file,
                dir_bytes(&cache)?
            );
            if first_rss.is_none() {
                first_rss = Some(rss);
            } else if cycle == a.cycles {
                let first = first_rss.as_ref().ok_or("no first sample")?;
                println!();
                println!(
                    "consumer VmRSS: {} KiB at the first row, {} KiB at the end ({:.3}x)",
                    first.total,
                    rss.total,
                    ratio(rss.total as f64, first.total as f64)
                );
            }
        }
    }
    drop(follower.stdin);
    follower.child.wait()?;
    println!(
        "largest batch-job / long-running ratio: ordinal limit {worst_limit:.3}, snapshot {worst_snapshot:.3} (limit {MAX_RATIO})"
    );
    Ok(worst_limit <= MAX_RATIO && worst_snapshot <= MAX_RATIO)
}

fn main() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hollow-soak: no tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, store, cache, fraction] = argv.as_slice() {
        if flag == "--follow" {
            let followed = reclaim(fraction)
                .map_err(Into::into)
                .and_then(|f| rt.block_on(follow(Path::new(store), Path::new(cache), f)));
            return match followed {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("hollow-soak consumer: {e}");
                    ExitCode::FAILURE
                }
            };
        }
    }
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hollow-soak: {e}");
            return ExitCode::from(2);
        }
    };
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => match tempfile::tempdir() {
            Ok(t) => {
                tmp = t;
                tmp.path().to_path_buf()
            }
            Err(e) => {
                eprintln!("hollow-soak: no temporary directory: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    eprintln!(
        "hollow-soak: {} cycles on {} movies, keeping {} versions, in {}",
        args.cycles,
        args.records,
        args.keep,
        dir.display()
    );
    match rt.block_on(soak(&args, &dir)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("hollow-soak: a ratio exceeds {MAX_RATIO}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("hollow-soak: {e}");
            ExitCode::FAILURE
        }
    }
}

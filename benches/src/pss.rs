//! Memory shared across consumer processes: several consumer processes on
//! one host, reading one store through one shared cache directory, map
//! the same cached snapshot file, so the kernel keeps one copy of its
//! pages for all of them. Their proportional set size (PSS: each page
//! shared by `k` processes counted `1/k` in each, from
//! `/proc/<pid>/smaps_rollup`) shows it: four such consumers together
//! should take little more than one.
//!
//! [`measure`] starts consumer processes (this same program, run again
//! with [`CHILD_ENV`] set; its `main` hands over to [`child_main`]), first
//! one alone and then four at once. Each loads the given version through
//! [`Consumer`](hollow_runtime::Consumer) with the shared cache
//! directory, builds the primary-key index as the snapshot loads, reads
//! every movie's id and title, looks every movie up by its id, then says
//! `ready` and waits until told to stop, so that every PSS is read while
//! all the processes measured together are alive.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;

use hollow_runtime::{Consumer, FileAnnouncer, FsBlobStore};

use crate::{Movie, MoviePrimaryKey};

/// Set (to the version to load) in the environment of a consumer process
/// [`measure`] starts; the store and cache directories go in
/// [`STORE_ENV`] and [`CACHE_ENV`].
pub const CHILD_ENV: &str = "HOLLOW_BENCH_PSS_VERSION";
/// The store directory of a consumer process [`measure`] starts.
pub const STORE_ENV: &str = "HOLLOW_BENCH_PSS_STORE";
/// The shared cache directory of a consumer process [`measure`] starts.
pub const CACHE_ENV: &str = "HOLLOW_BENCH_PSS_CACHE";

/// The error of this module's functions.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Memory of one process, from `/proc/<pid>/smaps_rollup`, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Smaps {
    /// Resident set size.
    pub rss: u64,
    /// Proportional set size.
    pub pss: u64,
    /// The part of `pss` in anonymous memory (heap, indexes, tables).
    pub pss_anon: u64,
    /// The part of `pss` in mapped files (the cached blobs, the program).
    pub pss_file: u64,
}

impl Smaps {
    /// Reads `/proc/<pid>/smaps_rollup`.
    ///
    /// # Errors
    /// The file cannot be read (no such process, no `/proc`), or has no
    /// `Pss:` line.
    pub fn of(pid: u32) -> Result<Smaps, BoxError> {
        let path = format!("/proc/{pid}/smaps_rollup");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
        let field = |name: &str| -> Option<u64> {
            let line = text.lines().find(|l| l.starts_with(name))?;
            let kb: u64 = line[name.len()..].split_whitespace().next()?.parse().ok()?;
            Some(kb * 1024)
        };
        let pss = field("Pss:").ok_or_else(|| format!("no Pss: line in {path}"))?;
        Ok(Smaps {
            rss: field("Rss:").unwrap_or(0),
            pss,
            pss_anon: field("Pss_Anon:").unwrap_or(0),
            pss_file: field("Pss_File:").unwrap_or(0),
        })
    }

    fn add(self, o: Smaps) -> Smaps {
        Smaps {
            rss: self.rss + o.rss,
            pss: self.pss + o.pss,
            pss_anon: self.pss_anon + o.pss_anon,
            pss_file: self.pss_file + o.pss_file,
        }
    }
}

/// What [`measure`] found.
#[derive(Clone, Debug, Default)]
pub struct PssFigures {
    /// One consumer process alone.
    pub one: Smaps,
    /// Four consumer processes alive at once, summed.
    pub four: Smaps,
    /// Each of the four.
    pub each: Vec<Smaps>,
    /// Four consumer processes started at once on an empty cache
    /// directory (so all four need the snapshot at the same moment),
    /// summed.
    pub four_cold: Smaps,
}

/// A consumer process started by [`measure`], loaded and waiting.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Running {
    fn start(store: &Path, cache: &Path, version: u64) -> Result<Running, BoxError> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(&exe)
            .env(CHILD_ENV, version.to_string())
            .env(STORE_ENV, store)
            .env(CACHE_ENV, cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", exe.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        Ok(Running {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        })
    }

    /// Waits for `ready <records>`; checks the count.
    fn ready(&mut self, records: u64) -> Result<(), BoxError> {
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let want = format!("ready {records}");
        if line.trim() != want {
            return Err(format!(
                "consumer process {} said {:?}, not {want:?}",
                self.child.id(),
                line.trim()
            )
            .into());
        }
        Ok(())
    }

    /// Tells it to stop and waits for it.
    fn stop(mut self) -> Result<(), BoxError> {
        drop(self.stdin.take());
        let status = self.child.wait()?;
        if !status.success() {
            return Err(format!("consumer process {} ended {status}", self.child.id()).into());
        }
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Only a process not stopped cleanly is still running here.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `n` consumer processes of `version` at once, waits until all
/// have loaded it and read every record (`records` movies), reads their
/// memory, and stops them.
fn run_together(
    store: &Path,
    cache: &Path,
    version: u64,
    records: u64,
    n: usize,
) -> Result<Vec<Smaps>, BoxError> {
    let mut running = (0..n)
        .map(|_| Running::start(store, cache, version))
        .collect::<Result<Vec<_>, _>>()?;
    for r in &mut running {
        r.ready(records)?;
    }
    let smaps = running
        .iter()
        .map(|r| Smaps::of(r.child.id()))
        .collect::<Result<Vec<_>, _>>()?;
    for r in running {
        r.stop()?;
    }
    Ok(smaps)
}

/// Measures one consumer process alone, then four at once, all loading
/// `version` (of `records` movies) from the store in `store` through the
/// cache directory `cache` (created if missing; the first process fills
/// it, the four find it warm); then four at once on `cold`, a cache
/// directory that must not exist yet.
///
/// # Errors
/// A process cannot be started, fails, or reports another record count;
/// `/proc/<pid>/smaps_rollup` cannot be read.
pub fn measure(
    store: &Path,
    cache: &Path,
    cold: &Path,
    version: u64,
    records: u64,
) -> Result<PssFigures, BoxError> {
    if cold.exists() {
        return Err(format!("{} exists: not a cold cache", cold.display()).into());
    }
    let sum = |v: &[Smaps]| v.iter().fold(Smaps::default(), |a, s| a.add(*s));
    let one = run_together(store, cache, version, records, 1)?;
    let each = run_together(store, cache, version, records, 4)?;
    let cold = run_together(store, cold, version, records, 4)?;
    Ok(PssFigures {
        one: one.first().copied().unwrap_or_default(),
        four: sum(&each),
        each,
        four_cold: sum(&cold),
    })
}

/// When this process was started by [`measure`] (its environment holds
/// [`CHILD_ENV`]): runs the consumer and returns the exit code; else
/// `None`.
pub async fn child_main() -> Option<i32> {
    let version = std::env::var(CHILD_ENV).ok()?;
    Some(match child(&version).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("pss consumer: {e}");
            1
        }
    })
}

async fn child(version: &str) -> Result<(), BoxError> {
    let version: u64 = version
        .parse()
        .map_err(|e| format!("{CHILD_ENV}={version:?}: {e}"))?;
    let var = |name: &str| -> Result<PathBuf, BoxError> {
        Ok(std::env::var_os(name)
            .ok_or_else(|| format!("{name} not set"))?
            .into())
    };
    let (store_dir, cache) = (var(STORE_ENV)?, var(CACHE_ENV)?);
    let store = Arc::new(FsBlobStore::new(&store_dir)?);
    let announcer = Arc::new(FileAnnouncer::new(&store_dir)?);
    let consumer = Consumer::builder(store, announcer)
        .cache_dir(cache)
        .index::<MoviePrimaryKey>()
        .build()?;
    consumer.refresh_to(version).await?;
    let state = consumer.current().ok_or("no state after the refresh")?;
    let movies = state.records::<Movie>();
    let pk = movies.primary_key_index();
    let (mut count, mut sum) = (0u64, 0usize);
    for (_, m) in movies.iter() {
        let id = m.id();
        sum = sum.wrapping_add(m.title().len());
        if pk.get(id).map(|found| found.id()) != Some(id) {
            return Err(format!("movie {id} not found by its primary key").into());
        }
        count += 1;
    }
    std::hint::black_box(sum);
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {count}")?;
    out.flush()?;
    drop(out);
    // Wait for the parent to close stdin.
    let mut rest = String::new();
    let _ = std::io::stdin().lock().read_line(&mut rest);
    drop(state);
    Ok(())
}

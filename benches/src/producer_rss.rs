//! The producer's peak memory, measured in a process of its own.
//!
//! `hollow-bench` generates the dataset and runs consumers in the same
//! process as its producer, so that process's peak resident set is not the
//! producer's. [`measure`] runs this same program again with [`CHILD_ENV`]
//! set (its `main` hands over to [`child_main`]): that process generates the
//! dataset, notes its resident set (`VmRSS`: the input records a user of the
//! producer holds), then runs the producer alone through the scenario's
//! cycle 1 and steady cycles 2..6 (1 % changed, full re-populate) into a
//! store directory of its own, and reports its peak resident set
//! (`VmHWM`, from `/proc/self/status`).
//!
//! With [`STAGES_ENV`] set, that process also prints to stderr, at each
//! event of each cycle (started, populated, blobs written and checked,
//! each blob stored, announced, pages given back), its resident set
//! (anonymous and file-backed pages apart) and its peak since the event
//! before, above the input records: where the peak comes from. The peak
//! is reset at each event (`/proc/self/clear_refs`), so the process's
//! figure is the largest of those peaks.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hollow_runtime::{BlobName, Event, FileAnnouncer, FsBlobStore, Producer};

use crate::{change, initial, populate};

/// Set (to the number of movies) in the environment of the producer
/// process [`measure`] starts; its store directory goes in [`DIR_ENV`].
pub const CHILD_ENV: &str = "HOLLOW_BENCH_PRODUCER_MOVIES";
/// The store directory of the producer process [`measure`] starts.
pub const DIR_ENV: &str = "HOLLOW_BENCH_PRODUCER_DIR";
/// Set to `0` in the environment of the producer process when values are
/// written unshared (`--no-shared-values`).
pub const SHARE_ENV: &str = "HOLLOW_BENCH_PRODUCER_SHARE";

/// Set (to anything) in the environment of `hollow-bench
/// --producer-memory-only` to have the producer process print its
/// resident set at each stage of its cycles (see the [module docs](self)).
pub const STAGES_ENV: &str = "HOLLOW_BENCH_PRODUCER_STAGES";

/// The error of this module's functions.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What [`measure`] found, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProducerRss {
    /// The process's resident set once the dataset is generated, before
    /// the producer is made: the input records.
    pub input: u64,
    /// The process's peak resident set over the whole run (input records
    /// included).
    pub peak: u64,
    /// The size of the first cycle's snapshot, for scale.
    pub snapshot_bytes: u64,
}

impl ProducerRss {
    /// The producer's own peak: [`peak`](Self::peak) above
    /// [`input`](Self::input).
    pub fn producer(&self) -> u64 {
        self.peak.saturating_sub(self.input)
    }
}

/// A field of `/proc/self/status` (`VmRSS:`, `VmHWM:`), in bytes.
///
/// # Errors
/// The file cannot be read, or has no such field holding a number.
pub fn status_bytes(field: &str) -> Result<u64, BoxError> {
    let s = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("reading /proc/self/status: {e}"))?;
    let line = s
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| format!("no {field} line in /proc/self/status"))?;
    let kb: u64 = line[field.len()..]
        .split_whitespace()
        .next()
        .ok_or_else(|| format!("an empty {field} line in /proc/self/status"))?
        .parse()
        .map_err(|e| format!("{field} in /proc/self/status: {e}"))?;
    Ok(kb * 1024)
}

/// Prints the producer process's resident set at each stage of a cycle
/// (see the [module docs](self)), keeping the largest peak seen.
struct Stages {
    /// The input records' resident set, subtracted from every figure.
    input: u64,
    /// The largest `VmHWM` read before a reset.
    peak: AtomicU64,
}

impl Stages {
    fn on(&self, event: &Event) {
        let stage = match event {
            Event::CycleStarted { cycle } => format!("cycle {cycle} started"),
            Event::Populated { .. } => "populated".to_string(),
            Event::IntegrityChecked { .. } => "blobs written, checked".to_string(),
            Event::BlobWritten { blob, .. } => format!("{blob} stored"),
            Event::Announced { .. } => "announced".to_string(),
            Event::CycleSucceeded { .. } => "pages given back".to_string(),
            _ => return,
        };
        let mib = |field: &str| status_bytes(field).map(|b| b >> 20);
        let (Ok(rss), Ok(anon), Ok(file), Ok(hwm)) = (
            status_bytes("VmRSS:"),
            mib("RssAnon:"),
            mib("RssFile:"),
            status_bytes("VmHWM:"),
        ) else {
            return;
        };
        self.peak.fetch_max(hwm, Ordering::Relaxed);
        let above = |b: u64| b.saturating_sub(self.input) >> 20;
        eprintln!(
            "producer stage {stage:<28} resident {:>5} MiB above the input (anon {anon:>5} MiB, \
             file {file:>4} MiB in all); peak since the last stage {:>5} MiB above the input",
            above(rss),
            above(hwm)
        );
        // The next figure is the peak from here on (proc(5), clear_refs).
        if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
            eprintln!("producer stage: cannot reset the peak ({e}): peaks are since the start");
        }
    }
}

/// Runs the producer alone over `movies` movies in a child process (see
/// the [module docs](self)), its store under `dir` (created, and removed
/// after).
///
/// # Errors
/// The child cannot be started, fails, or prints no figures.
pub fn measure(movies: u64, dir: &Path, share_values: bool) -> Result<ProducerRss, BoxError> {
    let exe = std::env::current_exe()?;
    let store = dir.join("producer-rss");
    let out = Command::new(&exe)
        .env(CHILD_ENV, movies.to_string())
        .env(DIR_ENV, &store)
        .env(SHARE_ENV, if share_values { "1" } else { "0" })
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("starting {}: {e}", exe.display()))?;
    if store.exists() {
        std::fs::remove_dir_all(&store)?;
    }
    if !out.status.success() {
        return Err(format!("the producer process failed ({})", out.status).into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let figure = |key: &str| -> Result<u64, BoxError> {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .ok_or_else(|| format!("the producer process printed no {key}"))?;
        Ok(line.trim().parse()?)
    };
    Ok(ProducerRss {
        input: figure("input_rss_bytes")?,
        peak: figure("peak_rss_bytes")?,
        snapshot_bytes: figure("snapshot_bytes")?,
    })
}

/// In a process started by [`measure`] (with [`CHILD_ENV`] set): runs the
/// producer, prints the figures and gives the exit code. `None` in any
/// other process.
pub async fn child_main() -> Option<i32> {
    let movies = std::env::var(CHILD_ENV).ok()?;
    Some(match child(&movies).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("producer process: {e}");
            1
        }
    })
}

async fn child(movies: &str) -> Result<(), BoxError> {
    let n: u64 = movies
        .parse()
        .map_err(|e| format!("{CHILD_ENV}={movies:?}: {e}"))?;
    let dir: PathBuf = std::env::var_os(DIR_ENV)
        .ok_or_else(|| format!("{DIR_ENV} not set"))?
        .into();
    let share = std::env::var(SHARE_ENV).map_or(true, |v| v != "0");
    let (actors, mut movies, mut rng) = initial(n);
    let input = status_bytes("VmRSS:")?;
    let store = Arc::new(FsBlobStore::new(&dir)?);
    let announcer = Arc::new(FileAnnouncer::new(&dir)?);
    let stages = std::env::var_os(STAGES_ENV).map(|_| {
        Arc::new(Stages {
            input,
            peak: AtomicU64::new(0),
        })
    });
    let mut builder = Producer::builder(store, announcer).share_values(share);
    if let Some(stages) = &stages {
        let stages = stages.clone();
        builder = builder.event_listener(move |e: &Event| stages.on(e));
    }
    let mut producer = builder.build();
    let first = producer.run_cycle(populate(&actors, &movies)).await?;
    let snapshot_bytes = first
        .blobs
        .iter()
        .find(|(b, _)| matches!(b, BlobName::Snapshot(_)))
        .map_or(0, |(_, s)| *s);
    let mut next_id = n;
    for _ in 2..=6 {
        change(&mut rng, &mut movies, n, n / 100, &mut next_id);
        producer.run_cycle(populate(&actors, &movies)).await?;
    }
    // Progress, for reading where the peak comes from: what the producer
    // holds between cycles, above the input records.
    let between = status_bytes("VmRSS:")?;
    eprintln!(
        "producer process: {} MiB resident between cycles above the input records",
        between.saturating_sub(input) >> 20
    );
    // With the stages printed, the peak was reset at each stage: the
    // process's peak is the largest of the peaks read.
    let peak = status_bytes("VmHWM:")?.max(stages.map_or(0, |s| s.peak.load(Ordering::Relaxed)));
    println!("input_rss_bytes {input}");
    println!("peak_rss_bytes {peak}");
    println!("snapshot_bytes {snapshot_bytes}");
    Ok(())
}

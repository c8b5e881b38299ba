//! Producers in child processes (`src/bin/hollow-test-producer.rs`) on one
//! local directory store: killed at random points, and racing each other.
//!
//! - Kill: a producer of tens of thousands of records is killed (SIGKILL)
//!   at random points, again and again; after each kill the announced
//!   version is complete and holds exactly its data (by snapshot and by
//!   deltas), the next start leaves no temporary file or scratch directory
//!   behind, and a restarted producer continues from it.
//! - Race: two producers restored from the same version publish the next
//!   one at the same moment, round after round; one announces, the other
//!   fails with a conflict, and every blob of the version is the winner's.
//!
//! - Restore scratch: a restore loads into a directory of its own in the
//!   configured scratch directory, removes it, and removes what a producer
//!   that is gone left there.
//!
//! The kill points come from a seeded generator; set `HOLLOW_KILL_SEED` to
//! replay a run (the seed is printed).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use hollow_runtime::blob::BlobView;
use hollow_runtime::store::{
    Announcer, BlobName, BlobStore, InProcessAnnouncer, MemoryBlobStore, StoreError,
};
use hollow_runtime::{Consumer, FileAnnouncer, FsBlobStore};
use hollow_tests::dataset::{self, Catalog};
use hollow_tests::intercept::{Intercept, Intercepted};

/// Records whose id is a multiple of this change in every version (as in
/// the child).
const EVERY: u64 = 16;
/// Records of the kill test's producer.
const KILL_RECORDS: u64 = 20_000;
/// Kills in the kill test.
const KILLS: usize = 22;
/// Records of the race test's producers.
const RACE_RECORDS: u64 = 3_000;
/// Rounds of the race test.
const RACE_ROUNDS: u64 = 20;
/// How long a child may take to print its next line before the test gives
/// up on it (a hang guard, far above what any step takes).
const HANG: Duration = Duration::from_secs(120);

const CHILD: &str = env!("CARGO_BIN_EXE_hollow-test-producer");

/// A small seeded generator (xorshift64*), so that a run can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// A child producer and the lines it prints.
struct Producer {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Producer {
    fn spawn(args: &[&str]) -> Producer {
        let mut child = Command::new(CHILD)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the child producer");
        let stdout: ChildStdout = child.stdout.take().expect("the child's stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Producer { child, lines }
    }

    /// The next line the child prints (`None` once it has exited).
    fn next_line(&mut self) -> Option<String> {
        match self.lines.recv_timeout(HANG) {
            Ok(line) => Some(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                panic!("the child producer printed nothing for {HANG:?}");
            }
        }
    }

    /// Waits for the child to exit: its exit code and what it wrote to
    /// stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        let status = self.child.wait().expect("waiting for the child producer");
        (status.code(), stderr)
    }
}

/// The entries of `dir` whose names start with `.tmp-`.
fn temp_entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect()
}

fn announced(dir: &Path, rt: &tokio::runtime::Runtime) -> Option<u64> {
    rt.block_on(FileAnnouncer::new(dir).unwrap().announced())
        .unwrap()
}

fn consumer(dir: &Path, cache: &Path) -> Consumer {
    let store = Arc::new(FsBlobStore::new(dir).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(dir).unwrap());
    dataset::consumer(store, announcer, cache)
}

/// Asserts that `consumer`, refreshed, holds `version` with `expected`.
fn assert_serves(
    consumer: &Consumer,
    rt: &tokio::runtime::Runtime,
    version: u64,
    expected: &Catalog,
    what: &str,
) {
    let got = rt
        .block_on(consumer.refresh())
        .unwrap_or_else(|e| panic!("{what}: refresh failed: {e}"));
    assert_eq!(got, Some(version), "{what}");
    let state = consumer.current().expect("a current state");
    assert_eq!(state.version(), version, "{what}");
    expected.assert_held_by(&state, what);
}

#[test]
fn killed_producers_leave_a_readable_store_and_no_leftovers() {
    let seed = std::env::var("HOLLOW_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0f4b_1100);
    eprintln!("HOLLOW_KILL_SEED={seed}");
    let mut rng = Rng(seed | 1);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let dir_s = dir.to_str().unwrap().to_owned();
    let records = KILL_RECORDS.to_string();
    let rt = dataset::runtime();
    let expected = |v: u64| dataset::catalog(KILL_RECORDS, v, EVERY);
    // Follows the store by deltas from kill to kill.
    let follower = consumer(&dir, &tmp.path().join("follower"));
    let mut last = None;
    let mut announcements = 0;
    let mut left_temp_files = 0;
    for kill in 0..KILLS {
        let what = format!("kill {kill} (HOLLOW_KILL_SEED={seed})");
        let mut child = Producer::spawn(&["loop", &dir_s, &records]);
        // Kill during the restore, or during the first or second cycle, at
        // a random moment of it: at its computation, its writes or its
        // announcement.
        for _ in 0..rng.below(3) {
            match child.next_line() {
                Some(line) if line.starts_with("announced ") => announcements += 1,
                other => panic!("{what}: the child printed {other:?}"),
            }
        }
        std::thread::sleep(Duration::from_millis(rng.below(700)));
        child.child.kill().expect("killing the child producer");
        let (code, stderr) = child.finish();
        assert_eq!(code, None, "{what}: the child exited by itself: {stderr}");

        // The next start removes everything the killed producer left.
        if !temp_entries(&dir).is_empty() {
            left_temp_files += 1;
        }
        FsBlobStore::new(&dir).unwrap();
        assert_eq!(temp_entries(&dir), Vec::<String>::new(), "{what}");
        let now = announced(&dir, &rt);
        assert!(now >= last, "{what}: the announcement went back");
        last = now;
        let Some(v) = now else { continue };
        // Complete and right: by the follower's deltas, and from scratch.
        assert_serves(
            &follower,
            &rt,
            v,
            &expected(v),
            &format!("{what}: follower"),
        );
        let fresh_cache = tmp.path().join(format!("fresh-{kill}"));
        let fresh = consumer(&dir, &fresh_cache);
        assert_serves(
            &fresh,
            &rt,
            v,
            &expected(v),
            &format!("{what}: new consumer"),
        );
        drop(fresh);
        let _ = std::fs::remove_dir_all(&fresh_cache);
    }
    eprintln!(
        "{KILLS} kills ({left_temp_files} left temporary files, all removed), \
         {announcements} announcements seen, last version {last:?}"
    );

    // A restarted producer continues from the announced version, as a
    // version above every one with blobs (a killed cycle's leftovers).
    let before = last.unwrap_or(0);
    let once = Producer::spawn(&["once", &dir_s, &records]);
    let (code, stderr) = once.finish();
    assert_eq!(code, Some(0), "the restarted producer failed: {stderr}");
    let after = announced(&dir, &rt).unwrap();
    assert!(after > before, "{after} after {before}");
    assert_serves(&follower, &rt, after, &expected(after), "after the restart");
    assert_eq!(temp_entries(&dir), Vec::<String>::new());
}

/// The header tag `writer` of blob `name` in the store at `dir` (fetched
/// through the store: stored compressed, it is decompressed).
fn writer_of(dir: &Path, name: BlobName) -> String {
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join(name.to_string());
    let store = FsBlobStore::new(dir).unwrap();
    dataset::runtime()
        .block_on(hollow_runtime::store::BlobStore::fetch(&store, name, &copy))
        .unwrap_or_else(|e| panic!("fetching {name}: {e}"));
    let bytes = std::fs::read(&copy).unwrap_or_else(|e| panic!("reading {name}: {e}"));
    let view = BlobView::open(&name.to_string(), &bytes).unwrap_or_else(|e| panic!("{e}"));
    view.header()
        .tags
        .iter()
        .find(|(k, _)| k == "writer")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("{name} has no writer tag"))
}

#[test]
fn racing_producers_never_mix_their_blobs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = tmp.path().join("store");
    let dir_s = dir.to_str().unwrap().to_owned();
    let records = RACE_RECORDS.to_string();
    let rt = dataset::runtime();
    let follower = consumer(&dir, &tmp.path().join("follower"));
    let writers = [("a", 1u64), ("b", 2u64)];
    let mut wins = [0usize; 2];
    let mut lost_at_claim = 0;
    for round in 1..=RACE_ROUNDS {
        let mut children: Vec<Producer> = writers
            .iter()
            .map(|(w, offset)| Producer::spawn(&["race", &dir_s, &records, w, &offset.to_string()]))
            .collect();
        for c in &mut children {
            assert_eq!(c.next_line().as_deref(), Some("ready"), "round {round}");
        }
        // Both restored version round - 1: let them go at once.
        for c in &mut children {
            let stdin = c.child.stdin.as_mut().expect("the child's stdin");
            stdin.write_all(b"go\n").unwrap();
            stdin.flush().unwrap();
        }
        let results: Vec<(Option<i32>, String)> =
            children.into_iter().map(Producer::finish).collect();
        let winners: Vec<usize> = (0..2).filter(|&i| results[i].0 == Some(0)).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let (winner, loser) = (winners[0], 1 - winners[0]);
        wins[winner] += 1;
        let (code, stderr) = &results[loser];
        assert_eq!(
            *code,
            Some(3),
            "round {round}: the loser failed otherwise: {stderr}"
        );
        assert!(
            stderr.contains("another producer"),
            "round {round}: {stderr}"
        );
        if stderr.contains("cannot write the blobs of version") {
            lost_at_claim += 1;
        }

        // Every blob of the version is the winner's.
        assert_eq!(announced(&dir, &rt), Some(round));
        let store = FsBlobStore::new(&dir).unwrap();
        assert_eq!(temp_entries(&dir), Vec::<String>::new(), "round {round}");
        let of_round: Vec<BlobName> = rt
            .block_on(store.list())
            .unwrap()
            .into_iter()
            .filter(|n| match *n {
                BlobName::Snapshot(v) => v == round,
                BlobName::Delta { from, to } | BlobName::ReverseDelta { from, to } => {
                    from.max(to) == round
                }
            })
            .collect();
        let blobs_expected = if round == 1 { 1 } else { 3 };
        assert_eq!(
            of_round.len(),
            blobs_expected,
            "round {round}: {of_round:?}"
        );
        for name in of_round {
            assert_eq!(
                writer_of(&dir, name),
                writers[winner].0,
                "round {round}: {name} is the loser's"
            );
        }
        // And it holds the winner's data, by snapshot and by delta.
        let expected = dataset::catalog(RACE_RECORDS, round * 1000 + writers[winner].1, EVERY);
        assert_serves(
            &follower,
            &rt,
            round,
            &expected,
            &format!("round {round}: follower"),
        );
        let fresh = consumer(&dir, &tmp.path().join(format!("fresh-{round}")));
        assert_serves(
            &fresh,
            &rt,
            round,
            &expected,
            &format!("round {round}: new consumer"),
        );
    }
    eprintln!(
        "{RACE_ROUNDS} races: writer a won {}, b won {}; {lost_at_claim} lost at the version claim",
        wins[0], wins[1]
    );
}

/// A memory store that records where each fetch writes to.
#[derive(Debug)]
struct RecordingStore {
    inner: MemoryBlobStore,
    dests: Mutex<Vec<PathBuf>>,
}

impl Intercept for RecordingStore {
    fn inner(&self) -> &MemoryBlobStore {
        &self.inner
    }
    fn describe(&self) -> String {
        "recording memory store".into()
    }
    fn before_fetch(&self, _name: BlobName, dest: &Path) -> Result<(), StoreError> {
        self.dests.lock().unwrap().push(dest.to_path_buf());
        Ok(())
    }
}

/// The owner token (see the store's temporary-file names) of a process of
/// this host and boot that is gone, where `/proc` tells: a child that has
/// exited and been reaped.
fn gone_owner_token() -> Option<String> {
    let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
    // The host part names the PID namespace too.
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let host = format!("{} {}", read("/proc/sys/kernel/hostname")?, ns.display());
    let boot = read("/proc/sys/kernel/random/boot_id")?;
    let mut child = Command::new("true").spawn().ok()?;
    let pid = child.id();
    child.wait().ok()?;
    Some(format!(
        "{:016x}-{:016x}-{pid}-1",
        hollow_runtime::hash_bytes(host.as_bytes()),
        hollow_runtime::hash_bytes(boot.as_bytes())
    ))
}

#[test]
fn restores_load_into_their_own_scratch_dir_and_remove_it() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = dataset::runtime();
    let memory = MemoryBlobStore::new();
    let announcer = Arc::new(InProcessAnnouncer::new());
    let mut first =
        hollow_runtime::Producer::builder(Arc::new(memory.clone()), announcer.clone()).build();
    for round in 1..=2 {
        rt.block_on(dataset::publish(
            &mut first,
            &dataset::catalog(300, round, EVERY),
        ));
    }
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    std::fs::write(scratch.join("unrelated"), "kept").unwrap();
    // What a producer killed while restoring left.
    let gone = gone_owner_token();
    if let Some(token) = &gone {
        let leftover = scratch.join(format!(".tmp-hollow-restore.{token}.00000000000000aa"));
        std::fs::create_dir(&leftover).unwrap();
        std::fs::write(leftover.join("snapshot-1"), "partial").unwrap();
    }
    let store = Arc::new(Intercepted(RecordingStore {
        inner: memory,
        dests: Mutex::default(),
    }));
    let mut second = hollow_runtime::Producer::builder(store.clone(), announcer)
        .scratch_dir(&scratch)
        .build();
    assert_eq!(rt.block_on(second.restore_latest()).unwrap(), Some(2));
    // It loaded into a directory of its own in the configured one...
    let dests = store.dests.lock().unwrap().clone();
    assert!(!dests.is_empty());
    let me = format!("-{}-", std::process::id());
    for dest in &dests {
        let parent = dest.parent().unwrap();
        assert_eq!(
            parent.parent(),
            Some(scratch.as_path()),
            "{}",
            dest.display()
        );
        let name = parent.file_name().unwrap().to_string_lossy();
        assert!(
            name.starts_with(".tmp-hollow-restore.") && name.contains(&me),
            "{name}"
        );
    }
    // ...and removed it, with the leftover of the gone producer.
    let left: Vec<String> = std::fs::read_dir(&scratch)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec!["unrelated"],
        "gone owner known: {}",
        gone.is_some()
    );
    // The restored producer continues.
    let outcome = rt.block_on(dataset::publish(
        &mut second,
        &dataset::catalog(300, 3, EVERY),
    ));
    assert_eq!(outcome, Some(3));
}

//! Who owns a version claim, a temporary file or a scratch directory, and
//! whether that owner is gone.
//!
//! An owner is a process: the hash of its host name and PID namespace
//! (containers sharing a directory see different processes under one
//! id), the hash of the kernel's boot id
//! (`/proc/sys/kernel/random/boot_id`), its process id and its start time
//! (field 22 of `/proc/<pid>/stat`, so a reused process id is not mistaken
//! for the owner). Its [`token`](Owner::token) is written
//! into claims and into the names of temporary files and directories:
//! `.tmp-<base>.<token>.<random hex>`.
//!
//! An owner is *gone* when it ran on this host and the host has rebooted
//! since, or no process with its id and start time runs now. An owner on
//! another host (a directory shared over the network), or on a system
//! without `/proc`, is never taken for gone: whatever it left waits for it
//! (or for an operator).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Prefix of every temporary file or directory the stores and producers
/// write; [`BlobName`](super::BlobName) never parses such a name.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

/// A process that owns claims and temporary files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    /// Hash of the host name and PID namespace.
    host: u64,
    /// 0 when the boot id is unknown.
    boot: u64,
    pid: u32,
    /// 0 when the start time is unknown.
    start: u64,
}

/// Whether an owner still runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// It runs (or it is this process).
    Alive,
    /// It is gone: what it left may be removed or taken over.
    Gone,
    /// It cannot be told (another host, or no `/proc`): treat as alive.
    Unknown,
}

fn hash(s: &str) -> u64 {
    crate::encode::hash_bytes(s.as_bytes())
}

/// This host's name (empty when it cannot be read).
pub(crate) fn host_name() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let from_file = |p: &str| {
            std::fs::read_to_string(p)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        from_file("/proc/sys/kernel/hostname")
            .or_else(|| from_file("/etc/hostname"))
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| std::env::var("COMPUTERNAME").ok())
            .unwrap_or_default()
    })
}

/// What tells this host's processes from others': its name and, where
/// there is one, this process's PID namespace (`/proc/self/ns/pid`).
fn host_identity() -> String {
    match std::fs::read_link("/proc/self/ns/pid") {
        Ok(ns) => format!("{} {}", host_name(), ns.display()),
        Err(_) => host_name().to_owned(),
    }
}

/// The kernel's boot id, if this system has one.
fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The start time of process `pid` (clock ticks after boot), from
/// `/proc/<pid>/stat`: `Ok(None)` when no such process runs (an exited
/// process its parent has not reaped yet, a zombie, no longer runs).
fn start_time(pid: &str) -> std::io::Result<Option<u64>> {
    let stat = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // `pid (comm) state ppid …`: the command may hold spaces and
    // parentheses, so count fields after the last `)`. The start time is
    // field 22, the 20th after the command.
    let fields = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let mut fields = fields.split_whitespace();
    if matches!(fields.next(), Some("Z" | "X" | "x")) {
        return Ok(None);
    }
    fields
        .nth(18)
        .and_then(|t| t.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("unexpected /proc/{pid}/stat"),
            )
        })
}

/// Whether `/proc` describes processes here.
fn have_proc() -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| matches!(start_time("self"), Ok(Some(_))))
}

impl Owner {
    /// This process.
    pub(crate) fn current() -> Owner {
        static CURRENT: OnceLock<Owner> = OnceLock::new();
        *CURRENT.get_or_init(|| Owner {
            host: hash(&host_identity()),
            boot: boot_id().map_or(0, |b| hash(&b)),
            pid: std::process::id(),
            start: start_time("self").ok().flatten().unwrap_or(0),
        })
    }

    /// The owner as text without `.` or whitespace:
    /// `<host hash>-<boot hash>-<pid>-<start time>`.
    pub(crate) fn token(&self) -> String {
        format!(
            "{:016x}-{:016x}-{}-{}",
            self.host, self.boot, self.pid, self.start
        )
    }

    /// Parses a [`token`](Self::token).
    pub(crate) fn parse(token: &str) -> Option<Owner> {
        let mut parts = token.split('-');
        let host = u64::from_str_radix(parts.next()?, 16).ok()?;
        let boot = u64::from_str_radix(parts.next()?, 16).ok()?;
        let pid = parts.next()?.parse().ok()?;
        let start = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Owner {
            host,
            boot,
            pid,
            start,
        })
    }

    /// Whether this owner still runs.
    pub(crate) fn liveness(&self) -> Liveness {
        let me = Owner::current();
        if *self == me {
            return Liveness::Alive;
        }
        if self.host != me.host {
            return Liveness::Unknown;
        }
        if self.boot != 0 && me.boot != 0 && self.boot != me.boot {
            // The host has rebooted since: every process of that boot is
            // gone.
            return Liveness::Gone;
        }
        if self.boot == 0 || self.start == 0 || !have_proc() {
            return Liveness::Unknown;
        }
        match start_time(&self.pid.to_string()) {
            Ok(None) => Liveness::Gone,
            Ok(Some(start)) if start != self.start => Liveness::Gone,
            Ok(Some(_)) => Liveness::Alive,
            Err(_) => Liveness::Unknown,
        }
    }
}

/// A name for a temporary file or directory owned by this process:
/// `.tmp-<base>.<owner token>.<random hex>` (unique among this process's).
pub(crate) fn temp_name(base: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    // The owner token already tells processes apart; the random part only
    // keeps names unique within one process, and the counter does so even
    // without OS randomness.
    let random = getrandom::u64().unwrap_or(0) ^ count.rotate_left(32) ^ count;
    format!(
        "{TEMP_PREFIX}{base}.{}.{random:016x}",
        Owner::current().token()
    )
}

/// The base and owner of a name made by [`temp_name`].
fn parse_temp_name(name: &str) -> Option<(&str, Owner)> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let (rest, random) = rest.rsplit_once('.')?;
    if random.len() != 16 || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let (base, token) = rest.rsplit_once('.')?;
    Some((base, Owner::parse(token)?))
}

/// Removes the temporary files and directories in `dir` (with base `base`
/// only, when given) whose owners are [gone](Liveness::Gone); never those
/// of a live or unknown owner, nor any other entry. Returns how many were
/// removed; failures are logged, not returned (a later start retries).
pub(crate) fn remove_orphans(dir: &Path, base: Option<&str>) -> usize {
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            tracing::debug!(dir = %dir.display(), error = %e, "cannot list for leftover temporary files");
            return 0;
        }
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some((found_base, owner)) = file_name.to_str().and_then(parse_temp_name) else {
            continue;
        };
        if base.is_some_and(|b| b != found_base) || owner.liveness() != Liveness::Gone {
            continue;
        }
        let path = entry.path();
        let result = match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            Ok(_) => std::fs::remove_file(&path),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a temporary file left by a process that is gone");
            }
        }
    }
    if removed > 0 {
        tracing::info!(dir = %dir.display(), removed, "removed temporary files left by processes that are gone");
    }
    removed
}

/// A scratch directory owned by this process (named by [`temp_name`]),
/// removed with everything in it when dropped.
#[derive(Debug)]
pub(crate) struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates `<parent>/.tmp-<base>.<owner>.<random>`, first removing the
    /// leftovers of gone owners with the same base in `parent` (created if
    /// missing).
    pub(crate) fn create(parent: &Path, base: &str) -> std::io::Result<ScratchDir> {
        std::fs::create_dir_all(parent)?;
        remove_orphans(parent, Some(base));
        let path = parent.join(temp_name(base));
        std::fs::create_dir(&path)?;
        Ok(ScratchDir { path })
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(dir = %self.path.display(), error = %e, "cannot remove a scratch directory");
            }
        }
    }
}

/// The live holders in this process (see [`Holder`]).
fn live_holders() -> std::sync::MutexGuard<'static, HashSet<u64>> {
    static LIVE: OnceLock<Mutex<HashSet<u64>>> = OnceLock::new();
    LIVE.get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// One holder of claims within this process (a store instance), so that two
/// stores of one process tell their claims apart; registered while it
/// lives, so a claim of a dropped holder is known to be abandoned.
#[derive(Debug)]
pub(crate) struct Holder {
    id: u64,
}

impl Holder {
    /// A new holder, live until dropped.
    pub(crate) fn new() -> Holder {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        live_holders().insert(id);
        Holder { id }
    }

    /// Its id within this process.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Whether the holder `id` of `owner` still holds what it claimed.
    pub(crate) fn liveness(owner: &Owner, id: u64) -> Liveness {
        if *owner != Owner::current() {
            return owner.liveness();
        }
        if live_holders().contains(&id) {
            Liveness::Alive
        } else {
            Liveness::Gone
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        live_holders().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_temp_names_round_trip() {
        let me = Owner::current();
        assert_eq!(Owner::parse(&me.token()), Some(me));
        assert_eq!(me.pid, std::process::id());
        for bad in ["", "1-2-3", "x-2-3-4", "1-2-3-4-5", "1-2--4"] {
            assert_eq!(Owner::parse(bad), None, "{bad:?}");
        }
        let a = temp_name("delta-1-2");
        let b = temp_name("delta-1-2");
        assert_ne!(a, b);
        assert_eq!(parse_temp_name(&a), Some(("delta-1-2", me)));
        let dotted = temp_name("announced.version");
        assert_eq!(parse_temp_name(&dotted), Some(("announced.version", me)));
        for other in [
            ".tmp-snapshot-4-0123456789abcdef",
            "snapshot-4",
            ".tmp-x.1-2-3.0123456789abcdef",
            ".tmp-x.1-2-3-4.0123",
        ] {
            assert_eq!(parse_temp_name(other), None, "{other}");
        }
    }

    #[test]
    fn liveness_of_this_process_and_of_gone_ones() {
        let me = Owner::current();
        assert_eq!(me.liveness(), Liveness::Alive);
        if !have_proc() || me.boot == 0 {
            // No `/proc` here: nothing is ever taken for gone.
            let other = Owner { pid: 1, ..me };
            assert_eq!(other.liveness(), Liveness::Unknown);
            return;
        }
        // This process, started at another time: a reused process id.
        let reused = Owner {
            start: me.start + 1,
            ..me
        };
        assert_eq!(reused.liveness(), Liveness::Gone);
        // Another boot of this host.
        let rebooted = Owner {
            boot: me.boot ^ 1,
            ..me
        };
        assert_eq!(rebooted.liveness(), Liveness::Gone);
        // Another host: unknown, never gone.
        let remote = Owner {
            host: me.host ^ 1,
            pid: 0x7fff_fff0,
            ..me
        };
        assert_eq!(remote.liveness(), Liveness::Unknown);
        // A child that runs, then has exited (a zombie until reaped), then
        // has been reaped.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let start = start_time(&pid.to_string()).unwrap().unwrap();
        let running = Owner { pid, start, ..me };
        assert_eq!(running.liveness(), Liveness::Alive);
        child.kill().unwrap();
        while start_time(&pid.to_string()).unwrap().is_some() {
            std::thread::yield_now();
        }
        assert_eq!(running.liveness(), Liveness::Gone);
        child.wait().unwrap();
        assert_eq!(running.liveness(), Liveness::Gone);
    }

    #[test]
    fn orphans_of_gone_owners_only_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let me = Owner::current();
        let gone = Owner {
            start: me.start.wrapping_add(1),
            ..me
        };
        let remote = Owner {
            host: me.host ^ 1,
            ..me
        };
        let name = |base: &str, o: &Owner| format!(".tmp-{base}.{}.00000000000000ff", o.token());
        let entries = [
            name("snapshot-3", &gone),
            name("snapshot-3", &me),
            name("snapshot-3", &remote),
            name("restore", &gone),
            ".tmp-snapshot-4-0123456789abcdef".to_owned(),
            "snapshot-3".to_owned(),
        ];
        for e in &entries {
            std::fs::write(dir.path().join(e), "x").unwrap();
        }
        std::fs::create_dir(dir.path().join(name("scratch", &gone))).unwrap();
        std::fs::write(dir.path().join(name("scratch", &gone)).join("f"), "x").unwrap();
        let listing = || {
            let mut v: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            v.sort();
            v
        };
        let gone_known = gone.liveness() == Liveness::Gone;
        // Only the given base first.
        assert_eq!(
            remove_orphans(dir.path(), Some("restore")),
            usize::from(gone_known)
        );
        assert_eq!(
            remove_orphans(dir.path(), None),
            2 * usize::from(gone_known)
        );
        let mut expected: Vec<String> = vec![
            name("snapshot-3", &me),
            name("snapshot-3", &remote),
            ".tmp-snapshot-4-0123456789abcdef".to_owned(),
            "snapshot-3".to_owned(),
        ];
        if !gone_known {
            expected.extend([
                name("snapshot-3", &gone),
                name("restore", &gone),
                name("scratch", &gone),
            ]);
        }
        expected.sort();
        assert_eq!(listing(), expected);
    }

    #[test]
    fn scratch_dirs_are_removed_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = ScratchDir::create(&dir.path().join("sub"), "restore").unwrap();
        std::fs::write(scratch.path().join("blob"), "x").unwrap();
        assert!(
            parse_temp_name(&scratch.path().file_name().unwrap().to_string_lossy())
                .is_some_and(|(base, o)| base == "restore" && o == Owner::current())
        );
        let path = scratch.path().to_path_buf();
        drop(scratch);
        assert!(!path.exists());
    }

    #[test]
    fn holders_are_live_until_dropped() {
        let me = Owner::current();
        let a = Holder::new();
        let b = Holder::new();
        assert_ne!(a.id(), b.id());
        assert_eq!(Holder::liveness(&me, a.id()), Liveness::Alive);
        let id = b.id();
        drop(b);
        assert_eq!(Holder::liveness(&me, id), Liveness::Gone);
        assert_eq!(Holder::liveness(&me, a.id()), Liveness::Alive);
    }
}

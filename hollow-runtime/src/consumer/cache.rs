//! The local cache directory, safe to share between consumers, in this
//! process or in others on the same host.
//!
//! Several consumers of one dataset may share one cache directory (see
//! [`ConsumerBuilder::cache_dir`](super::ConsumerBuilder::cache_dir)):
//! each blob is then fetched once and every consumer maps the same file,
//! so the kernel keeps one copy of its pages for all of them. These rules
//! keep them from breaking each other:
//!
//! - **Mapped blobs are locked.** A consumer holds a shared lock
//!   (`flock(LOCK_SH)` on Unix) on every cached file it maps, for as long
//!   as a state reads it. A file is only removed (by pruning, or as a
//!   blob found unusable) by whoever gets an exclusive lock on it without
//!   waiting, so no consumer removes a blob another one reads; it is
//!   removed by a later prune once no one does.
//! - **Opening checks the name still holds the file.** A consumer opens a
//!   cached file, locks it, and then checks that the name still refers to
//!   the file it locked: if the file was removed in between, it opens (or
//!   fetches) again, so it never maps a file a prune has just unlinked.
//! - **One fetch per blob at a time.** A consumer that finds a blob
//!   missing takes an exclusive lock on `.lock-<blob name>` in the
//!   directory, waits for any other consumer fetching the same blob, looks
//!   again, and only then fetches. The lock file is removed by its holder
//!   (waiters check, as above, that the name still holds the file they
//!   locked), and a leftover one (of a killed process) by the next fetch
//!   of that blob or by a prune.
//! - **A blob appears whole, once.** It is fetched to a temporary name of
//!   this process (`.tmp-…`, see [`crate::store::owner`]), opened and
//!   locked there, and then linked under its own name, never over a file
//!   already there: no consumer maps a half-written file, and no consumer
//!   has the file it maps replaced by another copy.
//!
//! On a file system that cannot lock files, files are used unlocked (a
//! warning is logged once): sharing such a directory then needs pruning
//! off.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::blob::BlobName;
use crate::error::{Error, ErrorKind};
use crate::read_state::{BlobBytes, LoadedBlob};
use crate::store::owner::temp_name;
use crate::store::{BlobStore, StoreErrorKind};

/// Prefix of the lock file taken while a blob is fetched into the cache
/// (`.lock-<blob name>`); [`BlobName`] never parses such a name.
pub(crate) const LOCK_PREFIX: &str = ".lock-";

/// How often opening a file retries when the name was removed or replaced
/// between opening and locking (each retry means another consumer removed
/// it in that instant; more than a few in a row means something else is
/// wrong with the directory).
const REOPENS: usize = 16;

/// Whether `e` says the file system cannot lock files (some network file
/// systems): files there are then used unlocked, each consumer relying on
/// the rest of the rules alone.
fn cannot_lock(e: &io::Error) -> bool {
    // ENOLCK: no lock could be had (NFS without a lock manager).
    e.kind() == io::ErrorKind::Unsupported
        || (cfg!(target_os = "linux") && e.raw_os_error() == Some(37))
}

/// Logs, once per process, that `path`'s file system cannot lock files.
fn unlocked(path: &Path, e: &io::Error) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tracing::warn!(path = %path.display(), error = %e, "cannot lock files in the cache directory; consumers sharing it may remove blobs others read");
    });
}

/// Whether `file` is still the file named `path` (not removed or replaced
/// since it was opened).
fn still_named(path: &Path, file: &File) -> io::Result<bool> {
    let named = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let held = file.metadata()?;
        Ok(held.dev() == named.dev() && held.ino() == named.ino())
    }
    #[cfg(not(unix))]
    {
        // No inode numbers to compare: the name exists, and files in use
        // cannot be removed on this system anyway.
        let _ = (file, named);
        Ok(true)
    }
}

/// Opens cached file `path` with a shared lock held on it, making sure
/// the name still refers to the file locked. `None` when there is no
/// such file (or it kept disappearing while being opened).
#[allow(clippy::incompatible_msrv)] // `File::lock_shared`: Rust 1.89
fn open_shared(path: &Path) -> io::Result<Option<File>> {
    for _ in 0..REOPENS {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        // Waits only for a remover, which holds its lock for one unlink.
        if let Err(e) = file.lock_shared() {
            if !cannot_lock(&e) {
                return Err(e);
            }
            unlocked(path, &e);
        }
        if still_named(path, &file)? {
            return Ok(Some(file));
        }
    }
    Ok(None)
}

/// The exclusive lock on `.lock-<blob>` held while a blob is fetched.
/// Dropping it removes the lock file, then releases the lock.
struct FetchLock {
    path: PathBuf,
    _file: File,
}

impl FetchLock {
    /// Takes the lock, waiting for another fetch of the same blob (in
    /// this process or another) to end.
    #[allow(clippy::incompatible_msrv)] // `File::lock`: Rust 1.89
    fn acquire_blocking(path: PathBuf) -> io::Result<FetchLock> {
        for _ in 0..REOPENS {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            if let Err(e) = file.lock() {
                if !cannot_lock(&e) {
                    return Err(e);
                }
                unlocked(&path, &e);
            }
            // The holder before removed the lock file as it let go: this
            // one then locks a file no one else will find; open again.
            if still_named(&path, &file)? {
                return Ok(FetchLock { path, _file: file });
            }
        }
        Err(io::Error::other(format!(
            "{} kept being removed while it was locked",
            path.display()
        )))
    }

    /// [`FetchLock::acquire_blocking`] on a blocking thread when in a
    /// tokio runtime (another process's fetch may take minutes).
    async fn acquire(dir: &Path, name: BlobName) -> io::Result<FetchLock> {
        let path = dir.join(format!("{LOCK_PREFIX}{name}"));
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => rt
                .spawn_blocking(move || FetchLock::acquire_blocking(path))
                .await
                .map_err(io::Error::other)?,
            Err(_) => FetchLock::acquire_blocking(path),
        }
    }
}

impl Drop for FetchLock {
    fn drop(&mut self) {
        // Under the lock, so a waiter finds the name gone and opens anew.
        if let Err(e) = std::fs::remove_file(&self.path) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::debug!(path = %self.path.display(), error = %e, "cannot remove a fetch lock file");
            }
        }
    }
}

/// Removes cached file `path` unless a consumer, of this process or
/// another, has it open (mapped): returns whether it was removed.
///
/// # Errors
/// The file cannot be opened, locked or removed.
#[allow(clippy::incompatible_msrv)] // `File::try_lock`: Rust 1.89
pub(crate) fn remove_unused(path: &Path) -> io::Result<bool> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(false),
        Err(std::fs::TryLockError::Error(e)) if cannot_lock(&e) => unlocked(path, &e),
        Err(std::fs::TryLockError::Error(e)) => return Err(e),
    }
    if !still_named(path, &file)? {
        return Ok(false);
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes the cached file of blob `name` unless a consumer has it mapped
/// (a blob found unusable by this consumer, but read by another, was
/// checked whole by that one: it stays). Failures are logged.
pub(crate) fn discard(dir: &Path, name: BlobName) {
    match remove_unused(&dir.join(name.to_string())) {
        Ok(true) => tracing::debug!(blob = %name, "removed from the cache"),
        Ok(false) => {}
        Err(e) => tracing::warn!(blob = %name, error = %e, "cannot remove from the cache"),
    }
}

/// Removes the fetch lock files in `dir` no fetch holds (left by a killed
/// process). Returns how many were removed; failures are logged.
pub(crate) fn remove_stale_locks(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(LOCK_PREFIX))
        {
            continue;
        }
        match remove_unused(&entry.path()) {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::debug!(path = %entry.path().display(), error = %e, "cannot remove a fetch lock file");
            }
        }
    }
    removed
}

/// Fetches blob `name` into cache directory `dir` (unless there) and maps
/// it, holding a shared lock on the file for as long as the map lives.
///
/// # Errors
/// [`ErrorKind::Planning`] when the store has no such blob,
/// [`ErrorKind::Store`] when the store fails, [`ErrorKind::Io`] when the
/// cache cannot be read or written, and [`LoadedBlob::open`]'s errors.
pub(crate) async fn fetch(
    store: &dyn BlobStore,
    dir: &Path,
    name: BlobName,
) -> Result<LoadedBlob, Error> {
    fetch_reporting(store, dir, name)
        .await
        .map(|(blob, _)| blob)
}

/// [`fetch`], also telling whether the blob was already in the cache
/// (`true`: nothing was transferred).
///
/// # Errors
/// As [`fetch`].
pub(crate) async fn fetch_reporting(
    store: &dyn BlobStore,
    dir: &Path,
    name: BlobName,
) -> Result<(LoadedBlob, bool), Error> {
    let mut cached = true;
    let path = dir.join(name.to_string());
    let io = |doing: &str, p: &Path, e: io::Error| {
        Error::with_source(
            ErrorKind::Io,
            format!("{doing} {} (blob {name})", p.display()),
            e,
        )
    };
    let file = match open_shared(&path).map_err(|e| io("opening", &path, e))? {
        Some(f) => f,
        None => {
            let lock = FetchLock::acquire(dir, name)
                .await
                .map_err(|e| io("locking the fetch of", &path, e))?;
            // Fetched by another consumer while this one waited?
            let file = match open_shared(&path).map_err(|e| io("opening", &path, e))? {
                Some(f) => f,
                None => {
                    cached = false;
                    download(store, dir, name, &path).await?
                }
            };
            drop(lock);
            file
        }
    };
    // SAFETY: files in the cache directory are written whole under a
    // temporary name and linked into place, never modified afterwards,
    // and removed only by a holder of an exclusive lock, which none can
    // take while this file's shared lock is held (the map keeps the file,
    // and so the lock, open). Every read from the map is bounds-checked,
    // so even a truncated file cannot cause an out-of-bounds read. The
    // map is populated up front: opening checks the whole-file checksum,
    // which touches every page anyway, and the kernel faults pages in
    // faster in bulk.
    let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }
        .map_err(|e| io("mapping", &path, e))?;
    LoadedBlob::open(name, BlobBytes::mapped(map, file)).map(|blob| (blob, cached))
}

/// Fetches blob `name` from `store` to a temporary file of this process in
/// `dir`, opens and locks it, and links it as `path`. The file opened.
async fn download(
    store: &dyn BlobStore,
    dir: &Path,
    name: BlobName,
    path: &Path,
) -> Result<File, Error> {
    let tmp = dir.join(temp_name(&name.to_string()));
    let result = async {
        store.fetch(name, &tmp).await.map_err(|e| {
            let kind = if e.kind() == StoreErrorKind::NotFound {
                ErrorKind::Planning
            } else {
                ErrorKind::Store
            };
            Error::with_source(
                kind,
                format!("fetching {name} from {} failed", store.describe()),
                e,
            )
        })?;
        let io = |doing: &str, p: &Path, e: io::Error| {
            Error::with_source(
                ErrorKind::Io,
                format!("{doing} {} (blob {name})", p.display()),
                e,
            )
        };
        let file = open_shared(&tmp)
            .map_err(|e| io("opening", &tmp, e))?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Io,
                    format!("{} disappeared after fetching {name}", tmp.display()),
                )
            })?;
        match std::fs::hard_link(&tmp, path) {
            // Mapped under its own name (as `/proc/<pid>/maps` then shows
            // it): the lock held on the temporary name's file keeps that
            // name on the same file.
            Ok(()) => {
                if let Ok(Some(named)) = open_shared(path) {
                    return Ok(named);
                }
            }
            // Put there by a writer that takes no fetch lock: that copy
            // serves the others; this consumer maps its own.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                tracing::debug!(blob = %name, "already cached by another writer; mapping this copy");
            }
            // No hard links on this file system: renamed instead.
            Err(_) => std::fs::rename(&tmp, path).map_err(|e| io("renaming", &tmp, e))?,
        }
        Ok(file)
    }
    .await;
    if let Err(e) = std::fs::remove_file(&tmp) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %tmp.display(), error = %e, "cannot remove a temporary file");
        }
    }
    result
}

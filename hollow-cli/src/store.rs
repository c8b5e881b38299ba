//! Opening a store from its command-line form, listing its blobs and
//! mapping private copies of them into memory.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{IsTerminal, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hollow_runtime::store::url::{self, StoreOptions};
use hollow_runtime::store::{Announcer, BlobName, BlobStat, BlobStore, Encoding, FileAnnouncer};
use hollow_runtime::FsBlobStore;
use memmap2::Mmap;

use crate::error::CliError;

/// An opened store: its blobs (listed once), its announcement, and a way to
/// map a private copy of any blob into memory.
pub struct Store {
    store: Arc<dyn BlobStore>,
    announcer: Arc<dyn Announcer>,
    /// The command line's form of the store (to open it again).
    spec: String,
    /// Where blobs are files already (a local store): copied from there.
    local_dir: Option<PathBuf>,
    /// Blobs fetched from a remote store, kept for this run.
    fetched: Mutex<Fetched>,
    names: Vec<BlobName>,
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("store", &self.store.describe())
            .field("blobs", &self.names.len())
            .finish()
    }
}

/// The parts of an opened store before its blobs are listed.
struct Opened {
    store: Arc<dyn BlobStore>,
    announcer: Arc<dyn Announcer>,
    local_dir: Option<PathBuf>,
}

/// Opens a store from its command-line form. This is the one place that
/// knows the kinds of stores: a local directory (a path or a `file://`
/// URL), and `s3://bucket/prefix` (settings from the usual `AWS_*`
/// environment variables, see `hollow_runtime::store::url`).
fn open_store(spec: &str) -> Result<Opened, CliError> {
    if spec.starts_with("s3://") {
        let opened = url::open(spec, &StoreOptions::default())?;
        return Ok(Opened {
            store: opened.store,
            announcer: opened.announcer,
            local_dir: None,
        });
    }
    let path = if let Some(p) = spec.strip_prefix("file://") {
        PathBuf::from(p)
    } else if let Some((scheme, _)) = spec.split_once("://") {
        return Err(CliError::new(format!(
            "unknown store URL scheme {scheme}:// in {spec}; a store is a local directory, \
             a file:// URL or an s3:// URL"
        )));
    } else {
        PathBuf::from(spec)
    };
    if !path.is_dir() {
        let what = if path.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        return Err(CliError::new(format!(
            "store {} {what}; give the directory a producer writes its blobs to",
            path.display()
        )));
    }
    let store = FsBlobStore::new(&path)?;
    let announcer = FileAnnouncer::new(&path)?;
    Ok(Opened {
        store: Arc::new(store),
        announcer: Arc::new(announcer),
        local_dir: Some(path),
    })
}

impl Store {
    /// Opens the store `spec` and lists its blobs.
    ///
    /// # Errors
    /// An unknown or missing store, a store that cannot be listed, or one
    /// that holds no blobs.
    pub fn open(spec: &str) -> Result<Store, CliError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::new(format!("cannot start the I/O runtime: {e}")))?;
        let opened = open_store(spec)?;
        let mut names = rt.block_on(opened.store.list())?;
        names.sort();
        if names.is_empty() {
            return Err(CliError::new(format!(
                "store {} holds no blobs (no snapshot-<v>, delta-<a>-<b> or \
                 reversedelta-<a>-<b> files)",
                opened.store.describe()
            )));
        }
        Ok(Store {
            store: opened.store,
            announcer: opened.announcer,
            spec: spec.to_owned(),
            local_dir: opened.local_dir,
            fetched: Mutex::default(),
            names,
            rt,
        })
    }

    /// The same store with its blobs listed again: what a producer has
    /// published since it was opened is there. Blobs fetched before are
    /// not carried over (the new store fetches what it needs).
    ///
    /// # Errors
    /// The store cannot be listed.
    pub fn relist(&self) -> Result<Store, CliError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::new(format!("cannot start the I/O runtime: {e}")))?;
        let mut names = rt.block_on(self.store.list())?;
        names.sort();
        Ok(Store {
            store: Arc::clone(&self.store),
            announcer: Arc::clone(&self.announcer),
            spec: self.spec.clone(),
            local_dir: self.local_dir.clone(),
            fetched: Mutex::default(),
            names,
            rt,
        })
    }

    /// A description for messages (`dir /data/hollow`).
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    /// Every blob, sorted.
    pub fn blobs(&self) -> &[BlobName] {
        &self.names
    }

    /// Whether the store holds blob `name`.
    pub fn has(&self, name: BlobName) -> bool {
        self.names.binary_search(&name).is_ok()
    }

    /// Every version some blob leads to or from, ascending.
    pub fn versions(&self) -> BTreeSet<u64> {
        let mut out = BTreeSet::new();
        for n in &self.names {
            out.extend([n.from_version(), n.to_version()]);
        }
        out
    }

    /// The announced version, if the store has an announcement (what the
    /// announcement says, whether or not consumers are pinned).
    ///
    /// # Errors
    /// The announcement cannot be read or is corrupt.
    pub fn announced(&self) -> Result<Option<u64>, CliError> {
        Ok(self.rt.block_on(self.announcer.announced())?)
    }

    /// The version consumers are pinned to (`pinned.version`), if any.
    ///
    /// # Errors
    /// The pin cannot be read or is corrupt.
    pub fn pinned(&self) -> Result<Option<u64>, CliError> {
        Ok(self.rt.block_on(self.announcer.pinned())?)
    }

    /// The store's announcer (to announce, pin and unpin).
    pub fn announcer(&self) -> &Arc<dyn Announcer> {
        &self.announcer
    }

    /// The store's blob store.
    pub fn blob_store(&self) -> &Arc<dyn BlobStore> {
        &self.store
    }

    /// The store as given on the command line.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// Runs `f` to completion on the store's I/O runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// `version`, or by default the announced version. A store without an
    /// announcement has no default: consumers read none of its versions, so
    /// the newest one present is not what they see, and the caller must
    /// name one.
    ///
    /// # Errors
    /// A version no blob of the store leads to, listing the versions there
    /// are; no `version` and no announcement; an announcement that cannot
    /// be read.
    pub fn resolve_version(&self, version: Option<u64>) -> Result<u64, CliError> {
        let versions = self.versions();
        let v = match version {
            Some(v) => v,
            None => self.announced()?.ok_or_else(|| {
                CliError::new(format!(
                    "store {} has no announced version, so consumers read none of its \
                     versions ({}); pass --version V to read an unannounced one",
                    self.describe(),
                    list_versions(&versions)
                ))
            })?,
        };
        if versions.contains(&v) {
            Ok(v)
        } else {
            Err(CliError::new(format!(
                "no version {v} in store {}; it has versions {}",
                self.describe(),
                list_versions(&versions)
            )))
        }
    }

    /// Size of blob `name` in bytes as stored (compressed, if it is).
    ///
    /// # Errors
    /// The store cannot tell.
    pub fn size(&self, name: BlobName) -> Result<u64, CliError> {
        Ok(self.stat(name)?.stored_bytes)
    }

    /// How blob `name` is stored: its layout, its size as stored and its
    /// plain size.
    ///
    /// # Errors
    /// The store cannot tell.
    pub fn stat(&self, name: BlobName) -> Result<BlobStat, CliError> {
        Ok(self.rt.block_on(self.store.stat(name))?)
    }

    /// Blob `name`, mapped into memory from this process's own copy of it
    /// (see [`Store::copy`]).
    ///
    /// # Errors
    /// As [`Store::copy`].
    pub fn map(&self, name: BlobName) -> Result<Arc<Mmap>, CliError> {
        Ok(Arc::clone(self.copy(name)?.map()))
    }

    /// This process's own copy of blob `name`, mapped.
    ///
    /// A store's files are never mapped in place: another process may
    /// truncate or rewrite one (a `cp` over it), and a map of a file that
    /// shrinks kills the process with `SIGBUS` on the next read past its new
    /// end. A local blob is copied (by reads, which see a short file as a
    /// short read, never a signal) into an unnamed temporary file in
    /// `$TMPDIR`, which the system removes when the process ends however it
    /// ends; a remote blob is fetched into a temporary directory, then
    /// opened and unlinked there. Copies of a remote store's blobs are kept for the
    /// life of the [`Store`] (fetching is slow); a local blob is copied on
    /// each call and its copy freed with the last reference. A compressed
    /// blob (local or not) is fetched through the store, which
    /// decompresses it, like a remote one.
    ///
    /// # Errors
    /// The blob is missing or cannot be read, it changed while it was
    /// copied, or no temporary file can be made; the message names the blob
    /// and the store.
    pub fn copy(&self, name: BlobName) -> Result<Arc<BlobCopy>, CliError> {
        let cannot = |e: &dyn std::fmt::Display| {
            CliError::new(format!(
                "cannot read blob {name} of store {}: {e}",
                self.describe()
            ))
        };
        let file = match &self.local_dir {
            Some(dir) => {
                let stat = self.rt.block_on(self.store.stat(name));
                if stat.map_err(|e| cannot(&e))?.encoding != Encoding::Plain {
                    return self.fetch(name);
                }
                copy_local(&dir.join(name.to_string()))
            }
            None => return self.fetch(name),
        };
        let file = file.map_err(|e| {
            CliError::new(format!(
                "cannot read blob {name} of store {}: {e}",
                self.describe()
            ))
        })?;
        Ok(Arc::new(self.mapped(name, file)?))
    }

    /// Maps the private copy `file` of blob `name`.
    fn mapped(&self, name: BlobName, file: File) -> Result<BlobCopy, CliError> {
        // SAFETY: `file` is this process's own copy of the blob: an unnamed
        // temporary file, or one unlinked from a directory only this process
        // writes to, so no other process can open it to truncate or modify
        // it, and this process never writes to it again. Every read from the
        // map is bounds-checked besides.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| {
            CliError::new(format!(
                "cannot map the copy of blob {name} of store {}: {e}",
                self.describe()
            ))
        })?;
        Ok(BlobCopy {
            file,
            map: Arc::new(map),
        })
    }

    /// Fetches blob `name` of a remote store (or a compressed one of a
    /// local store) into the temporary directory (once per [`Store`]),
    /// plain, opens it and unlinks it.
    fn fetch(&self, name: BlobName) -> Result<Arc<BlobCopy>, CliError> {
        let mut fetched = self
            .fetched
            .lock()
            .map_err(|_| CliError::new("the cache of fetched blobs is poisoned"))?;
        if let Some(copy) = fetched.copies.get(&name) {
            return Ok(Arc::clone(copy));
        }
        let dir = match &fetched.dir {
            Some(d) => d.path().to_path_buf(),
            None => {
                let d = tempfile::tempdir().map_err(|e| {
                    CliError::new(format!(
                        "cannot create a temporary directory to fetch blob {name} of store {} \
                         into: {e}",
                        self.describe()
                    ))
                })?;
                let path = d.path().to_path_buf();
                fetched.dir = Some(d);
                path
            }
        };
        let dest = dir.join(name.to_string());
        let bar = spinner(&format!("fetching {name}"));
        let got = self.rt.block_on(self.store.fetch(name, &dest));
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        got?;
        let file = File::open(&dest);
        // Unlinked at once: the open file keeps the bytes for this process,
        // and the temporary directory (removed with the `Store`) holds no
        // blob between fetches, so a killed process leaves at most the one
        // it was fetching.
        let _ = std::fs::remove_file(&dest);
        let file = file.map_err(|e| {
            CliError::new(format!(
                "cannot open the fetched copy of blob {name} of store {}: {e}",
                self.describe()
            ))
        })?;
        let copy = Arc::new(self.mapped(name, file)?);
        fetched.copies.insert(name, Arc::clone(&copy));
        Ok(copy)
    }
}

/// Blobs fetched from a remote store, and the directory they are fetched
/// into.
#[derive(Default)]
struct Fetched {
    dir: Option<tempfile::TempDir>,
    copies: HashMap<BlobName, Arc<BlobCopy>>,
}

/// A blob's bytes in a file private to this process, and its map.
pub struct BlobCopy {
    file: File,
    map: Arc<Mmap>,
}

impl std::fmt::Debug for BlobCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobCopy")
            .field("bytes", &self.map.len())
            .finish()
    }
}

impl BlobCopy {
    /// The blob's bytes, mapped.
    pub fn map(&self) -> &Arc<Mmap> {
        &self.map
    }

    /// The blob's bytes read from the start of the copy by `read` calls,
    /// not through the map (so reading all of a large blob does not bring
    /// all of it into this process's memory). Readers are independent.
    pub fn reader(&self) -> impl Read + '_ {
        std::io::BufReader::with_capacity(1 << 16, CopyReader { copy: self, at: 0 })
    }
}

/// Reads a [`BlobCopy`] by position, so readers share no file offset.
struct CopyReader<'a> {
    copy: &'a BlobCopy,
    at: u64,
}

impl Read for CopyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.copy.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// Copies the store file `path` into an unnamed temporary file, by reads.
/// The file's length and modification time are compared before and after,
/// so a blob rewritten while it is copied (which a producer never does: it
/// writes a blob whole under a temporary name and renames it into place) is
/// reported rather than read half old, half new.
fn copy_local(path: &Path) -> Result<File, String> {
    let mut src = File::open(path).map_err(|e| e.to_string())?;
    let before = src.metadata().map_err(|e| e.to_string())?;
    if !before.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    let mut copy = tempfile::tempfile().map_err(|e| {
        format!(
            "cannot create a temporary file in {} to copy it into: {e}",
            std::env::temp_dir().display()
        )
    })?;
    let copied = std::io::copy(&mut src, &mut copy).map_err(|e| {
        format!(
            "copying it into a temporary file in {}: {e}",
            std::env::temp_dir().display()
        )
    })?;
    let after = src.metadata().map_err(|e| e.to_string())?;
    if copied != before.len()
        || after.len() != before.len()
        || after.modified().ok() != before.modified().ok()
    {
        return Err(format!(
            "it changed while it was read ({} bytes when opened, {copied} read, {} now): \
             another process is rewriting {} in place",
            before.len(),
            after.len(),
            path.display()
        ));
    }
    Ok(copy)
}

/// Versions for messages: `1, 2, 3` (the first and last few of many).
pub fn list_versions(versions: &BTreeSet<u64>) -> String {
    let v: Vec<String> = versions.iter().map(u64::to_string).collect();
    if v.len() <= 12 {
        v.join(", ")
    } else {
        format!(
            "{} … {} ({} versions)",
            v[..5].join(", "),
            v[v.len() - 5..].join(", "),
            v.len()
        )
    }
}

/// A spinner on stderr when stdout is a terminal (none when piped).
pub(crate) fn spinner(message: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let b = indicatif::ProgressBar::new_spinner();
    b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    b.set_message(message.to_owned());
    b.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(b)
}

/// A progress bar of `len` steps on stderr when stdout is a terminal (none
/// when piped).
pub(crate) fn progress(len: u64, message: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let b = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
    {
        b.set_style(style);
    }
    b.set_message(message.to_owned());
    Some(b)
}

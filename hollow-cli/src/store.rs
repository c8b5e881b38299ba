//! Opening a store from its command-line form, listing its blobs and
//! mapping them into memory.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use hollow_runtime::store::url::{self, StoreOptions};
use hollow_runtime::store::{AnnouncementWatcher, BlobName, BlobStore, FileAnnouncer};
use hollow_runtime::FsBlobStore;
use memmap2::Mmap;

use crate::error::CliError;

/// An opened store: its blobs (listed once), its announcement, and a way to
/// map any blob into memory.
pub struct Store {
    store: Arc<dyn BlobStore>,
    watcher: Option<Arc<dyn AnnouncementWatcher>>,
    /// Where blobs are files already (a local store): mapped in place.
    local_dir: Option<PathBuf>,
    /// Where blobs fetched from a remote store are kept for this run.
    fetched: OnceLock<tempfile::TempDir>,
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
    watcher: Option<Arc<dyn AnnouncementWatcher>>,
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
            watcher: Some(opened.watcher),
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
        watcher: Some(Arc::new(announcer)),
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
            watcher: opened.watcher,
            local_dir: opened.local_dir,
            fetched: OnceLock::new(),
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
            match *n {
                BlobName::Snapshot(v) => {
                    out.insert(v);
                }
                BlobName::Delta { from, to } | BlobName::ReverseDelta { from, to } => {
                    out.insert(from);
                    out.insert(to);
                }
            }
        }
        out
    }

    /// The announced version, if the store has an announcement.
    ///
    /// # Errors
    /// The announcement cannot be read or is corrupt.
    pub fn announced(&self) -> Result<Option<u64>, CliError> {
        match &self.watcher {
            Some(w) => Ok(self.rt.block_on(w.latest())?),
            None => Ok(None),
        }
    }

    /// `version`, or by default the announced version (else the newest).
    ///
    /// # Errors
    /// A version no blob of the store leads to, listing the versions there
    /// are.
    pub fn resolve_version(&self, version: Option<u64>) -> Result<u64, CliError> {
        let versions = self.versions();
        let v = match version {
            Some(v) => v,
            None => match self.announced()? {
                Some(a) => a,
                None => *versions.iter().next_back().unwrap_or(&0),
            },
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

    /// Size of blob `name` in bytes.
    ///
    /// # Errors
    /// The store cannot tell.
    pub fn size(&self, name: BlobName) -> Result<u64, CliError> {
        Ok(self.rt.block_on(self.store.size(name))?)
    }

    /// Maps blob `name` into memory (in place for a local store; fetched
    /// into a temporary directory first otherwise).
    ///
    /// # Errors
    /// The blob is missing or cannot be read.
    pub fn map(&self, name: BlobName) -> Result<Arc<Mmap>, CliError> {
        let path = self.path(name)?;
        map_file(&path).map_err(|e| {
            CliError::new(format!(
                "cannot read blob {name} of store {}: {e}",
                self.describe()
            ))
        })
    }

    /// The local file holding blob `name` (in the store's directory for a
    /// local store; fetched into a temporary directory otherwise).
    ///
    /// # Errors
    /// The blob cannot be fetched.
    pub fn path(&self, name: BlobName) -> Result<PathBuf, CliError> {
        match &self.local_dir {
            Some(dir) => Ok(dir.join(name.to_string())),
            None => self.fetch(name),
        }
    }

    fn fetch(&self, name: BlobName) -> Result<PathBuf, CliError> {
        let dir = match self.fetched.get() {
            Some(d) => d,
            None => {
                let d = tempfile::tempdir().map_err(|e| {
                    CliError::new(format!("cannot create a temporary directory: {e}"))
                })?;
                let _ = self.fetched.set(d);
                self.fetched
                    .get()
                    .ok_or_else(|| CliError::new("temporary directory lost"))?
            }
        };
        let dest = dir.path().join(name.to_string());
        if !dest.exists() {
            let bar = spinner(&format!("fetching {name}"));
            self.rt.block_on(self.store.fetch(name, &dest))?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
        }
        Ok(dest)
    }
}

/// Maps a blob file read-only.
fn map_file(path: &Path) -> std::io::Result<Arc<Mmap>> {
    let file = std::fs::File::open(path)?;
    // SAFETY: blobs are written whole to a temporary name and renamed into
    // place, never modified in place (the store's contract), so the mapped
    // bytes do not change while mapped; every read from the map is
    // bounds-checked, so a short file cannot cause an out-of-bounds read.
    let map = unsafe { Mmap::map(&file)? };
    Ok(Arc::new(map))
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

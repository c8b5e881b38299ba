//! The consumer: holds the current version in memory and follows new ones.
//!
//! Blobs are fetched into a local cache directory and memory-mapped; records
//! are read in place. The current version is an immutable [`ReadState`]
//! behind an atomic pointer: [`Consumer::current`] hands out a cheap handle
//! that sees one version for as long as it is held, and a refresh never
//! blocks readers.
//!
//! A state made by deltas keeps the blobs it applied, and reads a record
//! changed since its snapshot through one more lookup. [`Consumer::reclaim`]
//! rewrites the version held as one snapshot in memory and serves that
//! instead; [`ConsumerBuilder::reclaim_threshold`] does it in the background
//! once enough of the records are read from deltas.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
//! use hollow_runtime::{Consumer, Hollow, Producer};
//!
//! #[derive(Hollow)]
//! #[hollow(primary_key(id))]
//! struct Movie {
//!     id: u64,
//!     title: String,
//! }
//!
//! let store = Arc::new(MemoryBlobStore::new());
//! let announcer = Arc::new(InProcessAnnouncer::new());
//! let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
//! producer
//!     .run_cycle(|w| w.add(&Movie { id: 1, title: "Heat".into() }))
//!     .await
//!     .unwrap();
//!
//! let consumer = Consumer::builder(store, announcer).build().unwrap();
//! consumer.refresh().await.unwrap();
//! let state = consumer.current().unwrap();
//! let movies = state.records::<Movie>();
//! assert_eq!(movies.len(), 1);
//! assert_eq!(movies.get(0).unwrap().title(), "Heat");
//! # });
//! ```

mod planner;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use tokio::sync::watch;

use crate::error::{Error, ErrorKind};
use crate::index::{IndexDef, IndexOptions, IndexSpec, Indexed};
use crate::read_state::{BlobBytes, LoadedBlob, ReadState};
use crate::store::{AnnouncementWatcher, BlobName, BlobStore, StoreErrorKind};
use planner::Catalog;

/// Default longest delta chain followed before loading a snapshot instead.
pub const DEFAULT_MAX_DELTA_CHAIN: usize = 32;

type Listener = Box<dyn Fn(&ReadState) + Send + Sync>;

/// Configures a [`Consumer`].
pub struct ConsumerBuilder {
    store: Arc<dyn BlobStore>,
    watcher: Arc<dyn AnnouncementWatcher>,
    cache_dir: Option<PathBuf>,
    types: Option<Vec<String>>,
    max_chain: usize,
    indexes: Vec<IndexSpec>,
    index_options: IndexOptions,
    reclaim_threshold: Option<f64>,
}

impl ConsumerBuilder {
    /// Where fetched blobs are kept, and reused across restarts (default: a
    /// new directory under the system's temporary directory, removed when
    /// the consumer is dropped).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Keeps only the records of the types declared this way (by default
    /// every type): other types are neither read nor indexed. The type's
    /// indexes (primary key, unique keys, hash indexes) are built as each
    /// snapshot loads and updated by every delta.
    pub fn record_type<T: Indexed>(mut self) -> Self {
        self.types
            .get_or_insert_with(Vec::new)
            .push(T::TYPE_NAME.to_string());
        for spec in T::index_specs() {
            self = self.index_spec(spec);
        }
        self
    }

    /// Builds index `D` as each snapshot loads and updates it by every
    /// delta (without restricting the types kept). An index not registered
    /// is built on its first use in a state, and updated by deltas from
    /// then on.
    pub fn index<D: IndexDef>(self) -> Self {
        self.index_spec(IndexSpec::of::<D>())
    }

    /// [`ConsumerBuilder::index`] for an index described at run time (by a
    /// reader of records without generated code).
    pub fn index_spec(mut self, spec: IndexSpec) -> Self {
        if !self
            .indexes
            .iter()
            .any(|s| s.type_name() == spec.type_name() && s.name() == spec.name())
        {
            self.indexes.push(spec);
        }
        self
    }

    /// Builds registered indexes on first use in each loaded snapshot
    /// instead of at load (default: at load). Once built, an index is
    /// updated by deltas either way.
    pub fn lazy_indexes(mut self, lazy: bool) -> Self {
        self.index_options.lazy = lazy;
        self
    }

    /// Checks every delta for two records sharing a primary or unique key,
    /// even a key the blobs declare (default: off).
    ///
    /// A delta brings a state that must match the producer's checksum, and
    /// a Hollow producer refuses a cycle in which two records share a key
    /// its type declares. So for an index on such a key (the ones the
    /// derive generates, or an [`IndexSpec`] given its key with
    /// [`IndexSpec::with_key`]) the consumer trusts the declaration and
    /// only adds the new records, which makes a delta's index update
    /// several times cheaper. Turn this on for blobs from writers that may
    /// declare a key without enforcing it. Indexes on keys the blobs do not
    /// declare are always checked, and so is every index built from a
    /// snapshot.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
    /// # use hollow_runtime::Consumer;
    /// let consumer = Consumer::builder(
    ///     Arc::new(MemoryBlobStore::new()),
    ///     Arc::new(InProcessAnnouncer::new()),
    /// )
    /// .verify_declared_keys(true)
    /// .build()
    /// .unwrap();
    /// # drop(consumer);
    /// ```
    pub fn verify_declared_keys(mut self, verify: bool) -> Self {
        self.index_options.verify_keys = verify;
        self
    }

    /// Recomputes every type's record count and state checksum from its
    /// records each time a snapshot loads ([`ReadState::check_records`]),
    /// refusing a snapshot whose records do not add up to what its header
    /// promises, as `hollow verify` does (default: off). Loading a snapshot
    /// then reads every record; without it, loading checks the snapshot's
    /// directory, counts and bitmaps against each other, which reads no
    /// record. Deltas are checked record by record either way.
    pub fn check_records(mut self, check: bool) -> Self {
        self.index_options.check_records = check;
        self
    }

    /// Longest chain of deltas followed before loading a snapshot instead
    /// (default [`DEFAULT_MAX_DELTA_CHAIN`]).
    pub fn max_delta_chain(mut self, n: usize) -> Self {
        self.max_chain = n.max(1);
        self
    }

    /// Reclaims the space of dead records in the background: after a
    /// refresh, once at least `fraction` of the records of the version
    /// held are read from deltas applied since its snapshot (or more than
    /// [`max_delta_chain`](Self::max_delta_chain) deltas are held), the
    /// consumer rewrites that version as one snapshot in memory
    /// ([`ReadState::rewritten`]) and serves it from then on, as
    /// [`Consumer::reclaim`] does. `None` (the default) never does this on
    /// its own.
    ///
    /// A consumer following deltas otherwise keeps every blob it applied
    /// mapped, and reads each record changed since its snapshot through one
    /// more lookup. The rewrite costs time in proportion to the whole
    /// version, on a blocking thread; readers are never blocked, and states
    /// already handed out keep reading their blobs. A refresh that lands
    /// while a rewrite runs makes the rewrite's result stale: it is
    /// dropped, and the version then held is rewritten if it is due.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
    /// # use hollow_runtime::Consumer;
    /// let consumer = Consumer::builder(
    ///     Arc::new(MemoryBlobStore::new()),
    ///     Arc::new(InProcessAnnouncer::new()),
    /// )
    /// .reclaim_threshold(Some(0.1))
    /// .build()
    /// .unwrap();
    /// # drop(consumer);
    /// ```
    pub fn reclaim_threshold(mut self, fraction: Option<f64>) -> Self {
        self.reclaim_threshold = fraction.map(|f| if f.is_nan() { 0.0 } else { f.max(0.0) });
        self
    }

    /// The consumer (holding no version until the first refresh).
    ///
    /// # Errors
    /// The cache directory cannot be created.
    pub fn build(self) -> Result<Consumer, Error> {
        let owns_cache = self.cache_dir.is_none();
        let cache_dir = match self.cache_dir {
            Some(d) => d,
            None => {
                // Unique per consumer: two consumers (of two datasets,
                // say) must never read each other's cached blobs. The
                // process id and the clock tell processes apart, the
                // counter consumers of one process.
                static NEXT: AtomicU64 = AtomicU64::new(0);
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                std::env::temp_dir()
                    .join(format!("hollow-consumer-{}-{t:x}-{n}", std::process::id()))
            }
        };
        std::fs::create_dir_all(&cache_dir).map_err(|e| {
            Error::with_source(
                ErrorKind::Io,
                format!("cannot create the cache directory {}", cache_dir.display()),
                e,
            )
        })?;
        let (tx, _) = watch::channel(None);
        Ok(Consumer {
            inner: Arc::new(Inner {
                store: self.store,
                watcher: self.watcher,
                cache_dir,
                owns_cache,
                types: self.types,
                max_chain: self.max_chain,
                indexes: self.indexes,
                index_options: self.index_options,
                reclaim_threshold: self.reclaim_threshold,
                current: ArcSwapOption::empty(),
                refresh_lock: tokio::sync::Mutex::new(()),
                pinned: Mutex::new(None),
                listeners: Mutex::new(Vec::new()),
                bad: Mutex::new(HashSet::new()),
                version_tx: tx,
                announced: AtomicU64::new(u64::MAX),
                last_refresh_micros: AtomicU64::new(0),
                refreshes: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                reclaim_lock: tokio::sync::Mutex::new(()),
                reclaim_scheduled: AtomicBool::new(false),
                reclaims: AtomicU64::new(0),
                last_reclaim_micros: AtomicU64::new(0),
            }),
            task: None,
        })
    }
}

struct Inner {
    store: Arc<dyn BlobStore>,
    watcher: Arc<dyn AnnouncementWatcher>,
    cache_dir: PathBuf,
    /// The cache directory was made for this consumer (none was given):
    /// removed when the consumer goes away.
    owns_cache: bool,
    types: Option<Vec<String>>,
    max_chain: usize,
    indexes: Vec<IndexSpec>,
    index_options: IndexOptions,
    reclaim_threshold: Option<f64>,
    current: ArcSwapOption<ReadState>,
    refresh_lock: tokio::sync::Mutex<()>,
    pinned: Mutex<Option<u64>>,
    listeners: Mutex<Vec<Listener>>,
    bad: Mutex<HashSet<BlobName>>,
    version_tx: watch::Sender<Option<u64>>,
    announced: AtomicU64,
    last_refresh_micros: AtomicU64,
    refreshes: AtomicU64,
    failures: AtomicU64,
    /// Held while a version is rewritten (one rewrite at a time).
    reclaim_lock: tokio::sync::Mutex<()>,
    /// A background rewrite is spawned and not yet done.
    reclaim_scheduled: AtomicBool,
    reclaims: AtomicU64,
    last_reclaim_micros: AtomicU64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.owns_cache {
            // States still held keep their blobs mapped; unlinking the
            // files does not affect the maps.
            let _ = std::fs::remove_dir_all(&self.cache_dir);
        }
    }
}

/// A consumer's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerMetrics {
    /// The version held.
    pub current_version: Option<u64>,
    /// The last announced version seen.
    pub announced_version: Option<u64>,
    /// How long the last successful refresh took.
    pub last_refresh: Duration,
    /// Successful refreshes that changed the version.
    pub refreshes: u64,
    /// Failed refresh attempts (each blob that failed counts), and failed
    /// background rewrites ([`ConsumerBuilder::reclaim_threshold`]).
    pub failures: u64,
    /// Versions rewritten as one snapshot and served from then on
    /// ([`Consumer::reclaim`]).
    pub reclaims: u64,
    /// How long the last such rewrite took.
    pub last_reclaim: Duration,
}

/// Holds the current version of a dataset and follows new ones. See the
/// [module docs](self).
pub struct Consumer {
    inner: Arc<Inner>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("store", &self.inner.store.describe())
            .field("version", &self.version())
            .finish()
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.close();
    }
}

impl Consumer {
    /// A consumer reading from `store`, learning of versions from `watcher`.
    pub fn builder(
        store: Arc<dyn BlobStore>,
        watcher: Arc<dyn AnnouncementWatcher>,
    ) -> ConsumerBuilder {
        ConsumerBuilder {
            store,
            watcher,
            cache_dir: None,
            types: None,
            max_chain: DEFAULT_MAX_DELTA_CHAIN,
            indexes: Vec::new(),
            index_options: IndexOptions::default(),
            reclaim_threshold: None,
        }
    }

    /// The current version's state (a cheap handle; it never changes).
    pub fn current(&self) -> Option<Arc<ReadState>> {
        self.inner.current.load_full()
    }

    /// The version held.
    pub fn version(&self) -> Option<u64> {
        self.inner.current.load().as_ref().map(|s| s.version())
    }

    /// Pins the consumer to `version` (`None` unpins): refreshes go to the
    /// pinned version instead of the announced one. Takes effect at the
    /// next refresh.
    pub fn pin(&self, version: Option<u64>) {
        *self.inner.pinned.lock().unwrap_or_else(|p| p.into_inner()) = version;
    }

    /// Calls `f` with every new state after a refresh.
    pub fn on_refresh(&self, f: impl Fn(&ReadState) + Send + Sync + 'static) {
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(f));
    }

    /// The counters.
    pub fn metrics(&self) -> ConsumerMetrics {
        let a = self.inner.announced.load(Ordering::Relaxed);
        ConsumerMetrics {
            current_version: self.version(),
            announced_version: (a != u64::MAX).then_some(a),
            last_refresh: Duration::from_micros(
                self.inner.last_refresh_micros.load(Ordering::Relaxed),
            ),
            refreshes: self.inner.refreshes.load(Ordering::Relaxed),
            failures: self.inner.failures.load(Ordering::Relaxed),
            reclaims: self.inner.reclaims.load(Ordering::Relaxed),
            last_reclaim: Duration::from_micros(
                self.inner.last_reclaim_micros.load(Ordering::Relaxed),
            ),
        }
    }

    /// Rewrites the version held as one snapshot in memory
    /// ([`ReadState::rewritten`]) and serves it from then on: the blobs
    /// the version was read from are released once no state handed out
    /// still holds them, and every record is read with no lookup through
    /// the ordinal table. Returns whether a rewritten state was stored:
    /// `false` when nothing is held, when the state already reads from one
    /// snapshot alone, or when a refresh changed the version meanwhile.
    ///
    /// Waits for a rewrite already running (see
    /// [`ConsumerBuilder::reclaim_threshold`]) first. The rewrite runs on a
    /// blocking thread; readers are never blocked, and a refresh waits only
    /// for the rewritten state to be stored, not for the rewrite.
    ///
    /// # Errors
    /// [`ErrorKind::CorruptBlob`]: a record of the version cannot be read,
    /// or its records do not add up to its checksums. The consumer keeps
    /// serving the state it has.
    pub async fn reclaim(&self) -> Result<bool, Error> {
        reclaim(&self.inner).await
    }

    /// Refreshes to the pinned version, or else the announced one. Returns
    /// the version held afterwards (`None` when nothing is announced).
    ///
    /// # Errors
    /// The version cannot be reached (blobs missing or corrupt and no other
    /// plan); the consumer keeps the version it has.
    pub async fn refresh(&self) -> Result<Option<u64>, Error> {
        refresh(&self.inner).await
    }

    /// Refreshes to `version` (forward or back).
    ///
    /// # Errors
    /// As [`Consumer::refresh`].
    pub async fn refresh_to(&self, version: u64) -> Result<u64, Error> {
        refresh_to(&self.inner, version).await
    }

    /// Waits until the consumer holds `version` or later (refreshing as
    /// announcements arrive only if auto-refresh is on), or `timeout` passes.
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`].
    pub async fn wait_for_version(
        &self,
        version: u64,
        timeout: Duration,
    ) -> Result<Arc<ReadState>, Error> {
        let mut rx = self.inner.version_tx.subscribe();
        let wait = async {
            loop {
                if let Some(s) = self.current() {
                    if s.version() >= version {
                        return s;
                    }
                }
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "version {version} not reached within {timeout:?} (holding {:?})",
                    self.version()
                ),
            )
        })
    }

    /// Starts refreshing on every announcement, in a tokio task that stops
    /// when the consumer is closed or dropped. Refresh errors are logged and
    /// counted; the consumer keeps serving the version it has.
    pub fn start_auto_refresh(&mut self) {
        if self.task.is_some() {
            return;
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let watcher = self.inner.watcher.clone();
        self.task = Some(tokio::spawn(async move {
            let mut seen: Option<u64> = None;
            let mut first = true;
            loop {
                let next = if first {
                    first = false;
                    watcher.latest().await
                } else {
                    watcher.changed(seen).await
                };
                let Some(inner) = weak.upgrade() else { return };
                match next {
                    Ok(v) => {
                        seen = v;
                        if v.is_some() {
                            if let Err(e) = refresh(&inner).await {
                                tracing::warn!(error = %e, "auto-refresh failed");
                            }
                        }
                    }
                    Err(e) => {
                        inner.failures.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, "reading the announcement failed");
                        drop(inner);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        }));
    }

    /// Stops auto-refresh. The current state stays readable.
    pub fn close(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    /// The local cache directory.
    pub fn cache_dir(&self) -> &Path {
        &self.inner.cache_dir
    }
}

async fn refresh(inner: &Arc<Inner>) -> Result<Option<u64>, Error> {
    let pinned = *inner.pinned.lock().unwrap_or_else(|p| p.into_inner());
    let announced = inner.watcher.latest().await?;
    if let Some(a) = announced {
        inner.announced.store(a, Ordering::Relaxed);
    }
    match pinned.or(announced) {
        None => Ok(None),
        Some(v) => refresh_to(inner, v).await.map(Some),
    }
}

async fn refresh_to(inner: &Arc<Inner>, target: u64) -> Result<u64, Error> {
    let _guard = inner.refresh_lock.lock().await;
    let current = inner.current.load_full();
    if current.as_ref().map(|s| s.version()) == Some(target) {
        return Ok(target);
    }
    let started = Instant::now();
    let mut last_err = None;
    let mut retried_bad = false;
    for _attempt in 0..4 {
        let names = inner.store.list().await?;
        let bad = inner.bad.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let catalog = Catalog::new(&names, &bad);
        let Some(plan) = catalog.plan(
            current.as_ref().map(|s| s.version()),
            target,
            inner.max_chain,
        ) else {
            if last_err.is_none() && !bad.is_empty() && !retried_bad {
                // Only blobs found unusable by earlier refreshes stand in
                // the way: they may have been repaired since, so try them
                // again (once) rather than fail without naming them.
                retried_bad = true;
                inner.bad.lock().unwrap_or_else(|p| p.into_inner()).clear();
                continue;
            }
            let msg = format!(
                "no way to reach version {target} from {:?} with the blobs in {}",
                current.as_ref().map(|s| s.version()),
                inner.store.describe()
            );
            return Err(match last_err {
                Some(e) => Error::with_source(ErrorKind::Planning, msg, e),
                None => Error::new(ErrorKind::Planning, msg),
            });
        };
        match execute(inner, current.as_deref(), &plan).await {
            Ok(state) => {
                let state = Arc::new(state);
                inner.current.store(Some(state.clone()));
                inner
                    .last_refresh_micros
                    .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                inner.refreshes.fetch_add(1, Ordering::Relaxed);
                for l in inner
                    .listeners
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                {
                    l(&state);
                }
                let _ = inner.version_tx.send(Some(target));
                tracing::info!(version = target, elapsed = ?started.elapsed(), "refreshed");
                schedule_reclaim(inner, &state);
                return Ok(target);
            }
            Err((blob, e)) => {
                inner.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(blob = %blob, error = %e, "blob unusable; planning around it");
                let _ = std::fs::remove_file(inner.cache_dir.join(blob.to_string()));
                inner
                    .bad
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(blob);
                last_err = Some(e);
            }
        }
    }
    Err(last_err.unwrap_or_else(|| {
        Error::new(ErrorKind::Planning, format!("version {target} not reached"))
    }))
}

/// Whether `state` is due to be rewritten under `threshold`.
fn reclaim_due(state: &ReadState, threshold: f64, max_chain: usize) -> bool {
    let records = state.record_count();
    let outside = state.records_outside_base();
    (outside > 0 && outside as f64 >= threshold * records as f64)
        || state.blob_count() > max_chain + 1
}

/// Starts a background rewrite of `state` when the consumer's threshold
/// says it is due and none is scheduled yet (and only inside a tokio
/// runtime, where the refresh runs).
fn schedule_reclaim(inner: &Arc<Inner>, state: &ReadState) {
    let Some(threshold) = inner.reclaim_threshold else {
        return;
    };
    if !reclaim_due(state, threshold, inner.max_chain) {
        return;
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if inner.reclaim_scheduled.swap(true, Ordering::AcqRel) {
        return;
    }
    let inner = inner.clone();
    rt.spawn(async move {
        loop {
            match reclaim(&inner).await {
                Ok(true) => break,
                Err(e) => {
                    inner.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "reclaiming dead records failed");
                    break;
                }
                // Overtaken by a refresh (whose own check found this
                // rewrite scheduled): again, if the version now held is due.
                Ok(false) => {
                    let due = inner
                        .current
                        .load_full()
                        .is_some_and(|s| reclaim_due(&s, threshold, inner.max_chain));
                    if !due {
                        break;
                    }
                }
            }
        }
        inner.reclaim_scheduled.store(false, Ordering::Release);
    });
}

async fn reclaim(inner: &Arc<Inner>) -> Result<bool, Error> {
    let _one = inner.reclaim_lock.lock().await;
    let Some(state) = inner.current.load_full() else {
        return Ok(false);
    };
    if state.blob_count() <= 1 {
        return Ok(false);
    }
    let started = Instant::now();
    let source = state.clone();
    let version = state.version();
    let rewritten = tokio::task::spawn_blocking(move || {
        #[cfg(test)]
        let _held = tests::hold_rewrite();
        source.rewritten()
    })
    .await
    .map_err(|e| {
        Error::new(
            ErrorKind::CorruptBlob,
            format!("rewriting version {version} panicked: {e}"),
        )
    })??;
    // Stored only if no refresh replaced the state meanwhile (refreshes
    // store under this lock).
    let _refreshes = inner.refresh_lock.lock().await;
    let held = inner.current.load_full();
    if !held.as_ref().is_some_and(|h| Arc::ptr_eq(h, &state)) {
        tracing::debug!(version, "a refresh landed during the rewrite; dropped");
        return Ok(false);
    }
    inner.current.store(Some(Arc::new(rewritten)));
    let took = started.elapsed();
    inner.reclaims.fetch_add(1, Ordering::Relaxed);
    inner
        .last_reclaim_micros
        .store(took.as_micros() as u64, Ordering::Relaxed);
    tracing::info!(version, elapsed = ?took, "rewrote the version held as one snapshot");
    Ok(true)
}

async fn execute(
    inner: &Inner,
    current: Option<&ReadState>,
    plan: &planner::Plan,
) -> Result<ReadState, (BlobName, Error)> {
    let mut state = match plan.snapshot {
        Some(v) => {
            let name = BlobName::Snapshot(v);
            let blob = fetch(&*inner.store, &inner.cache_dir, name)
                .await
                .map_err(|e| (name, e))?;
            // Indexes first used in the state held are kept too.
            let mut specs = inner.indexes.clone();
            if let Some(cur) = current {
                for s in cur.index_set().snapshot() {
                    if !specs
                        .iter()
                        .any(|x| x.type_name() == s.spec.type_name() && x.name() == s.spec.name())
                    {
                        specs.push(s.spec.clone());
                    }
                }
            }
            ReadState::from_snapshot(Arc::new(blob), inner.types.as_deref())
                .and_then(|s| s.with_indexes(&specs, inner.index_options))
                .map_err(|e| (name, e))?
        }
        None => match current {
            Some(s) => s.clone(),
            None => {
                return Err((
                    BlobName::Snapshot(0),
                    Error::new(
                        ErrorKind::Planning,
                        "a delta plan with no state to apply it to",
                    ),
                ))
            }
        },
    };
    for &step in &plan.steps {
        let blob = fetch(&*inner.store, &inner.cache_dir, step)
            .await
            .map_err(|e| (step, e))?;
        state = state.apply(Arc::new(blob)).map_err(|e| (step, e))?;
    }
    Ok(state)
}

/// Fetches a blob into the cache (unless there) and maps it.
async fn fetch(store: &dyn BlobStore, dir: &Path, name: BlobName) -> Result<LoadedBlob, Error> {
    let path = dir.join(name.to_string());
    if !path.exists() {
        store.fetch(name, &path).await.map_err(|e| {
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
    }
    let file = std::fs::File::open(&path)
        .map_err(|e| Error::with_source(ErrorKind::Io, format!("opening {}", path.display()), e))?;
    // SAFETY: the file is in the consumer's own cache directory, written
    // whole to a temporary name and renamed into place, and never modified
    // afterwards (a corrupt one is deleted, not rewritten); every read from
    // the map is bounds-checked, so even a truncated file cannot cause an
    // out-of-bounds read. The map is populated up front: opening checks the
    // whole-file checksum, which touches every page anyway, and the kernel
    // faults pages in faster in bulk.
    let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }
        .map_err(|e| Error::with_source(ErrorKind::Io, format!("mapping {}", path.display()), e))?;
    LoadedBlob::open(name, BlobBytes::mapped(map))
}

/// Loads `version` from `store` into a fresh read state (for restoring a
/// producer and for tools).
pub(crate) async fn load_version(
    store: Arc<dyn BlobStore>,
    cache_dir: &Path,
    version: u64,
    types: Option<&[String]>,
) -> Result<ReadState, Error> {
    std::fs::create_dir_all(cache_dir).map_err(|e| {
        Error::with_source(
            ErrorKind::Io,
            format!("cannot create {}", cache_dir.display()),
            e,
        )
    })?;
    let names = store.list().await?;
    let mut bad = HashSet::new();
    for _ in 0..4 {
        let catalog = Catalog::new(&names, &bad);
        let plan = catalog
            .plan(None, version, DEFAULT_MAX_DELTA_CHAIN)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Planning,
                    format!(
                        "no snapshot and delta chain reaches version {version} in {}",
                        store.describe()
                    ),
                )
            })?;
        let run = async {
            let name = BlobName::Snapshot(plan.snapshot.unwrap_or(version));
            let blob = fetch(&*store, cache_dir, name)
                .await
                .map_err(|e| (name, e))?;
            let mut state =
                ReadState::from_snapshot(Arc::new(blob), types).map_err(|e| (name, e))?;
            for &step in &plan.steps {
                let blob = fetch(&*store, cache_dir, step)
                    .await
                    .map_err(|e| (step, e))?;
                state = state.apply(Arc::new(blob)).map_err(|e| (step, e))?;
            }
            Ok::<_, (BlobName, Error)>(state)
        };
        match run.await {
            Ok(s) => return Ok(s),
            Err((name, e)) => {
                tracing::warn!(blob = %name, error = %e, "blob unusable while loading");
                let _ = std::fs::remove_file(cache_dir.join(name.to_string()));
                bad.insert(name);
            }
        }
    }
    Err(Error::new(
        ErrorKind::Planning,
        format!("version {version} could not be loaded"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{InProcessAnnouncer, MemoryBlobStore};
    use crate::{Hollow, Producer};
    use std::sync::atomic::AtomicUsize;
    use std::sync::RwLock;

    /// Written by a test to keep rewrites from finishing until it lets them.
    static HOLD_REWRITES: RwLock<()> = RwLock::new(());
    /// Rewrites started.
    static REWRITES_STARTED: AtomicUsize = AtomicUsize::new(0);

    /// Called by a rewrite as it starts: counted, and held while a test
    /// holds [`HOLD_REWRITES`].
    pub(super) fn hold_rewrite() -> std::sync::RwLockReadGuard<'static, ()> {
        REWRITES_STARTED.fetch_add(1, Ordering::SeqCst);
        HOLD_REWRITES.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until more than `started` rewrites have started.
    async fn rewrite_started_after(started: usize) {
        while REWRITES_STARTED.load(Ordering::SeqCst) == started {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[derive(Hollow, Clone, Debug, PartialEq)]
    #[hollow(crate = "crate", primary_key(id))]
    struct Item {
        id: u64,
        round: u64,
    }

    async fn publish(producer: &mut Producer, round: u64) -> u64 {
        producer
            .run_cycle(|w| {
                (0..100).try_for_each(|id| {
                    w.add(&Item {
                        id,
                        round: round * (id % 2),
                    })
                })
            })
            .await
            .unwrap()
            .version
            .unwrap()
    }

    #[tokio::test]
    #[expect(
        clippy::await_holding_lock,
        reason = "held on purpose: only the rewrite's blocking thread waits on it"
    )]
    async fn a_rewrite_overtaken_by_a_refresh_is_dropped_and_the_new_version_rewritten() {
        let store = Arc::new(MemoryBlobStore::new());
        let announcer = Arc::new(InProcessAnnouncer::new());
        let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
        let consumer = Consumer::builder(store, announcer).build().unwrap();
        for round in 1..=3 {
            publish(&mut producer, round).await;
            consumer.refresh().await.unwrap();
        }
        let held = HOLD_REWRITES.write().unwrap_or_else(|p| p.into_inner());
        let started = REWRITES_STARTED.load(Ordering::SeqCst);
        let inner = consumer.inner.clone();
        let rewrite = tokio::spawn(async move { reclaim(&inner).await });
        rewrite_started_after(started).await;
        // The rewrite of version 3 is under way; version 4 lands.
        publish(&mut producer, 4).await;
        assert_eq!(consumer.refresh().await.unwrap(), Some(4));
        let v4 = consumer.current().unwrap();
        drop(held);
        assert!(
            !rewrite.await.unwrap().unwrap(),
            "a stale rewrite is not stored"
        );
        let now = consumer.current().unwrap();
        assert!(Arc::ptr_eq(&now, &v4), "the refreshed state stays");
        assert_eq!(now.version(), 4);
        assert_eq!(consumer.metrics().reclaims, 0);
        // Version 4 itself can be rewritten.
        assert!(consumer.reclaim().await.unwrap());
        let rewritten = consumer.current().unwrap();
        assert_eq!(rewritten.version(), 4);
        let round = |s: &ReadState| -> Vec<u64> {
            s.records::<Item>().iter().map(|(_, r)| r.round()).collect()
        };
        assert_eq!(round(&rewritten), round(&v4));

        // In the background: the rewrite of version 5 is overtaken by
        // version 6, which is then rewritten in its place.
        let background =
            Consumer::builder(consumer.inner.store.clone(), consumer.inner.watcher.clone())
                .reclaim_threshold(Some(0.3))
                .build()
                .unwrap();
        background.refresh().await.unwrap();
        let held = HOLD_REWRITES.write().unwrap_or_else(|p| p.into_inner());
        let started = REWRITES_STARTED.load(Ordering::SeqCst);
        publish(&mut producer, 5).await;
        assert_eq!(background.refresh().await.unwrap(), Some(5));
        rewrite_started_after(started).await;
        publish(&mut producer, 6).await;
        assert_eq!(background.refresh().await.unwrap(), Some(6));
        let v6 = background.current().unwrap();
        drop(held);
        let waited = Instant::now();
        while background.metrics().reclaims == 0 {
            assert!(
                waited.elapsed() < Duration::from_secs(30),
                "no rewrite in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let now = background.current().unwrap();
        assert_eq!(now.version(), 6);
        assert_eq!(now.blob_names(), vec![BlobName::Snapshot(6)]);
        assert_eq!(round(&now), round(&v6));
        assert_eq!(REWRITES_STARTED.load(Ordering::SeqCst), started + 2);
        assert_eq!(background.metrics().failures, 0);
    }
}

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
//! A consumer that cannot follow says so: every refresh that fails (a
//! blob missing or corrupt, a store down, a panic, an announcement deleted
//! or unreadable) is reported to its [`Event`] listeners
//! ([`ConsumerBuilder::event_listener`]) and counted in its
//! [`ConsumerMetrics`] (failures in a row, lag behind the announced
//! version, time since the last success, the last error), while it keeps
//! serving the version it holds. Auto-refresh
//! ([`Consumer::start_auto_refresh`]) retries with backoff until it
//! reaches the announced version.
//!
//! A consumer never holds a version its compiled types would misread. The
//! types it reads through generated code ([`ConsumerBuilder::check_type`],
//! [`record_type`](ConsumerBuilder::record_type),
//! [`index`](ConsumerBuilder::index), and any type read with
//! [`ReadState::records`] from then on) are compared with the schema of
//! every snapshot and delta before it loads, by Cap'n Proto's evolution
//! rules ([`hollow_schema::evolution`]): fields added on either side are
//! fine, a field both know stored elsewhere or as another type is not. A
//! refused version fails the refresh with [`ErrorKind::Schema`], naming
//! the blob, the type, the field and both definitions, and the consumer
//! keeps the version it holds. Each type is compared once per distinct
//! schema ([`ConsumerMetrics::schema_checks`]).
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

mod cache;
mod planner;

/// Base name of the cache directory a consumer makes for itself when given
/// none (see [`ConsumerBuilder::cache_dir`]).
const DEFAULT_CACHE_BASE: &str = "hollow-consumer";

use std::collections::HashSet;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use tokio::sync::watch;

use crate::blob::BlobName;
use crate::compiled::Compiled;
use crate::error::{Error, ErrorKind};
use crate::events::{panic_message, Event, EventListener, Listeners};
use crate::index::{IndexDef, IndexOptions, IndexSpec, Indexed};
use crate::read_state::{LoadedBlob, ReadState, SchemaChecks};
use crate::record::Struct;
use crate::store::owner::ScratchDir;
use crate::store::{AnnouncementWatcher, BlobStore, StoreError, StoreErrorKind};
use planner::Catalog;

/// Default longest delta chain followed before loading a snapshot instead.
pub const DEFAULT_MAX_DELTA_CHAIN: usize = 32;

/// Default wait before auto-refresh retries after its first failure in a
/// row; each further failure doubles it, up to [`DEFAULT_RETRY_MAX`].
pub const DEFAULT_RETRY_MIN: Duration = Duration::from_millis(500);

/// Default longest wait between auto-refresh retries.
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(30);

type Listener = Box<dyn Fn(&ReadState) + Send + Sync>;

/// Configures a [`Consumer`].
pub struct ConsumerBuilder {
    store: Arc<dyn BlobStore>,
    watcher: Arc<dyn AnnouncementWatcher>,
    cache_dir: Option<PathBuf>,
    prune_cache: bool,
    types: Option<Vec<String>>,
    max_chain: usize,
    indexes: Vec<IndexSpec>,
    index_options: IndexOptions,
    reclaim_threshold: Option<f64>,
    events: Listeners,
    retry: Backoff,
    checks: Arc<SchemaChecks>,
}

impl ConsumerBuilder {
    /// Where fetched blobs are kept, and reused across restarts (default: a
    /// new directory under the system's temporary directory, removed when
    /// the consumer is dropped, or by the next consumer made after this
    /// process was killed). Temporary files and fetch locks a killed
    /// consumer left in the directory are removed when the consumer is
    /// built.
    ///
    /// Several consumers of one dataset (one blob store), in one process
    /// or in several processes on one host, may share one cache directory.
    /// Each blob is then fetched once, by whichever consumer needs it
    /// first (the others wait for that fetch rather than fetch it again),
    /// and every consumer maps the same file, so the kernel keeps one copy
    /// of its pages for all of them: four consumer processes of one
    /// version take little more memory than one, beside each one's own
    /// indexes and tables. Sharing is safe with pruning on or off (see
    /// [`prune_cache`](Self::prune_cache)): a consumer holds a shared lock
    /// on every file it maps, and no consumer removes a file another one
    /// holds; a blob appears in the directory whole, under its own name,
    /// and is never replaced. Consumers of different datasets must not
    /// share a directory (blobs are cached under their names, such as
    /// `snapshot-5`, which two datasets both have). A directory on a
    /// network file system shared by several hosts needs one whose
    /// `flock` locks hold across hosts.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # use std::sync::Arc;
    /// # use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
    /// # use hollow_runtime::{Consumer, Hollow, Producer};
    /// # #[derive(Hollow)]
    /// # struct Movie { id: u64 }
    /// # let store = Arc::new(MemoryBlobStore::new());
    /// # let announcer = Arc::new(InProcessAnnouncer::new());
    /// # let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    /// # producer.run_cycle(|w| w.add(&Movie { id: 1 })).await.unwrap();
    /// let cache = tempfile::tempdir().unwrap();
    /// // Two consumers (or two processes) sharing one cache directory.
    /// let a = Consumer::builder(store.clone(), announcer.clone())
    ///     .cache_dir(cache.path())
    ///     .build()
    ///     .unwrap();
    /// let b = Consumer::builder(store.clone(), announcer.clone())
    ///     .cache_dir(cache.path())
    ///     .build()
    ///     .unwrap();
    /// a.refresh().await.unwrap();
    /// b.refresh().await.unwrap(); // maps the file `a` fetched
    /// assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 1);
    /// # });
    /// ```
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Whether the consumer removes from its cache directory the blobs the
    /// version it holds no longer reads (default: `true`). After each
    /// refresh and each background rewrite, a cached blob that is not one
    /// of the current version's blobs ([`ReadState::blob_names`]) is
    /// deleted, so a consumer that follows versions for months keeps a
    /// cache the size of what it reads, not of every delta it ever applied.
    /// A blob still mapped, by an older state a reader holds or by
    /// another consumer sharing the directory
    /// ([`cache_dir`](Self::cache_dir)), in this process or another, is
    /// kept, and removed by a later prune once no one maps it. So pruning
    /// may stay on when several consumers share a directory; turn it off
    /// to keep blobs for going back to older versions without fetching
    /// them again, or so that consumers on different versions find each
    /// other's blobs cached.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
    /// # use hollow_runtime::Consumer;
    /// let consumer = Consumer::builder(
    ///     Arc::new(MemoryBlobStore::new()),
    ///     Arc::new(InProcessAnnouncer::new()),
    /// )
    /// .prune_cache(false)
    /// .build()
    /// .unwrap();
    /// ```
    pub fn prune_cache(mut self, prune: bool) -> Self {
        self.prune_cache = prune;
        self
    }

    /// Keeps only the records of the types declared this way (by default
    /// every type): other types are neither read nor indexed. The type's
    /// indexes (primary key, unique keys, hash indexes) are built as each
    /// snapshot loads and updated by every delta. The type is checked
    /// against every version's schema, as with
    /// [`check_type`](Self::check_type).
    pub fn record_type<T: Indexed>(mut self) -> Self {
        self.types
            .get_or_insert_with(Vec::new)
            .push(T::TYPE_NAME.to_string());
        self.checks.register(Compiled::of::<T>());
        for spec in IndexSpec::all_of::<T>() {
            self = self.index_spec(spec);
        }
        self
    }

    /// Checks compiled type `T` against the schema of every snapshot and
    /// delta before loading it (without restricting the types kept): a
    /// version `T` would misread (a field both know stored at another
    /// place or with another type, see [`hollow_schema::evolution`]) is
    /// refused with [`ErrorKind::Schema`], naming the blob, the type, the
    /// field and both definitions, and the consumer keeps the version it
    /// holds. Fields only one side knows are fine either way: a `T` older
    /// than the blobs skips the fields it lacks, a newer one reads its
    /// defaults.
    ///
    /// Types given to [`record_type`](Self::record_type) and
    /// [`index`](Self::index) are checked too, and so is every type read
    /// with [`ReadState::records`] from the consumer's states from that
    /// read on. Register the types your code reads before the first
    /// refresh, so that no version is ever loaded that they would
    /// misread. Each type is compared once per distinct schema (a delta
    /// of the schema held costs a lookup); readers without compiled code
    /// ([`crate::dynamic`]) need no check.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
    /// # use hollow_runtime::{Consumer, Hollow};
    /// #[derive(Hollow)]
    /// struct Movie {
    ///     id: u64,
    ///     title: String,
    /// }
    ///
    /// let consumer = Consumer::builder(
    ///     Arc::new(MemoryBlobStore::new()),
    ///     Arc::new(InProcessAnnouncer::new()),
    /// )
    /// .check_type::<Movie>()
    /// .build()
    /// .unwrap();
    /// # drop(consumer);
    /// ```
    pub fn check_type<T: Struct>(self) -> Self {
        self.checks.register(Compiled::of::<T>());
        self
    }

    /// Builds index `D` as each snapshot loads and updates it by every
    /// delta (without restricting the types kept). An index not registered
    /// is built on its first use in a state, and updated by deltas from
    /// then on. Its record type is checked against every version's
    /// schema, as with [`check_type`](Self::check_type).
    pub fn index<D: IndexDef>(self) -> Self {
        self.index_spec(IndexSpec::of::<D>())
    }

    /// [`ConsumerBuilder::index`] for an index described at run time (by a
    /// reader of records without generated code).
    pub fn index_spec(mut self, spec: IndexSpec) -> Self {
        if let Some(c) = spec.compiled() {
            self.checks.register(c);
        }
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
    /// directory, counts and bitmaps against each other, and reads only the
    /// records of types that can hold a map or set, to check their stored
    /// order. Deltas are checked record by record either way.
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

    /// Reports every [`Event`] of this consumer to `listener` (refreshes
    /// started, succeeded and failed; blobs fetched, loaded, applied or
    /// rejected; pins; announcements missing or unreadable).
    /// [`Consumer::on_event`] adds listeners later.
    pub fn event_listener(self, listener: impl EventListener + 'static) -> Self {
        self.events.add(Arc::new(listener));
        self
    }

    /// How long auto-refresh waits before trying again after a failure:
    /// `min` after the first failure in a row, doubling with each further
    /// one, never more than `max` (defaults [`DEFAULT_RETRY_MIN`] and
    /// [`DEFAULT_RETRY_MAX`]; `min` is at least 1 ms, so a failing store
    /// is never retried in a busy loop). It retries for as long as the
    /// version it aims at is not reached, and at once when a new version
    /// is announced.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
    /// # use hollow_runtime::Consumer;
    /// let consumer = Consumer::builder(
    ///     Arc::new(MemoryBlobStore::new()),
    ///     Arc::new(InProcessAnnouncer::new()),
    /// )
    /// .retry_backoff(Duration::from_millis(100), Duration::from_secs(10))
    /// .build()
    /// .unwrap();
    /// # drop(consumer);
    /// ```
    pub fn retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        let min = min.max(Duration::from_millis(1));
        self.retry = Backoff {
            min,
            max: max.max(min),
        };
        self
    }

    /// The consumer (holding no version until the first refresh).
    ///
    /// # Errors
    /// The cache directory cannot be created.
    pub fn build(self) -> Result<Consumer, Error> {
        let (cache_dir, scratch) = match self.cache_dir {
            Some(dir) => {
                std::fs::create_dir_all(&dir).map_err(|e| {
                    Error::with_source(
                        ErrorKind::Io,
                        format!("cannot create the cache directory {}", dir.display()),
                        e,
                    )
                })?;
                // Temporary files of fetches a killed consumer left, and
                // its fetch locks.
                crate::store::owner::remove_orphans(&dir, None);
                cache::remove_stale_locks(&dir);
                (dir, None)
            }
            None => {
                // Unique per consumer (two consumers, of two datasets say,
                // must never read each other's cached blobs) and named
                // after its owner, so the cache of a consumer that was
                // killed is removed by the next one made here.
                let parent = std::env::temp_dir();
                let scratch = ScratchDir::create(&parent, DEFAULT_CACHE_BASE).map_err(|e| {
                    Error::with_source(
                        ErrorKind::Io,
                        format!("cannot create a cache directory in {}", parent.display()),
                        e,
                    )
                })?;
                (scratch.path().to_path_buf(), Some(scratch))
            }
        };
        let (tx, _) = watch::channel(None);
        Ok(Consumer {
            inner: Arc::new(Inner {
                store: self.store,
                watcher: self.watcher,
                cache_dir,
                prune_cache: self.prune_cache,
                _scratch: scratch,
                types: self.types,
                checks: self.checks,
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
                events: self.events,
                retry: self.retry,
                health: Mutex::new(Health {
                    last_success: Instant::now(),
                    last_error: None,
                }),
                failed_refreshes: AtomicU64::new(0),
                consecutive_failures: AtomicU64::new(0),
                announcement_failures: AtomicU64::new(0),
            }),
            task: None,
        })
    }
}

struct Inner {
    store: Arc<dyn BlobStore>,
    watcher: Arc<dyn AnnouncementWatcher>,
    cache_dir: PathBuf,
    /// Whether blobs the current version no longer reads are removed from
    /// the cache ([`ConsumerBuilder::prune_cache`]).
    prune_cache: bool,
    /// The cache directory, when it was made for this consumer (none was
    /// given): removed when the consumer goes away.
    _scratch: Option<ScratchDir>,
    types: Option<Vec<String>>,
    /// The compiled types read, shared with every state made.
    checks: Arc<SchemaChecks>,
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
    events: Listeners,
    retry: Backoff,
    health: Mutex<Health>,
    /// Refreshes that ended in an error (or a panic).
    failed_refreshes: AtomicU64,
    /// Failures since the last successful refresh.
    consecutive_failures: AtomicU64,
    /// Announcements found missing or unreadable.
    announcement_failures: AtomicU64,
}

/// When the consumer last reached the version it refreshed to, and what
/// last went wrong.
struct Health {
    /// The last successful refresh (the consumer's creation before any).
    last_success: Instant,
    last_error: Option<String>,
}

/// Auto-refresh's wait between retries: exponential, capped.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    min: Duration,
    max: Duration,
}

impl Backoff {
    /// The wait after `attempt` failures in a row (1 for the first).
    fn delay(&self, attempt: u64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31) as u32;
        self.min.saturating_mul(1 << doublings).min(self.max)
    }
}

/// A consumer's counters.
///
/// A consumer that has stalled shows it here: `consecutive_failures`
/// above zero, `lag` above zero and `since_last_success` growing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerMetrics {
    /// The version held.
    pub current_version: Option<u64>,
    /// The last announced version seen.
    pub announced_version: Option<u64>,
    /// How long the last successful refresh took.
    pub last_refresh: Duration,
    /// Successful refreshes that changed the version.
    pub refreshes: u64,
    /// Failures of every kind: each blob found unusable during a refresh,
    /// each refresh that ended in an error (so a refresh that fails on a
    /// blob counts twice), each announcement auto-refresh found missing
    /// or could not read, and each failed background rewrite
    /// ([`ConsumerBuilder::reclaim_threshold`]).
    pub failures: u64,
    /// Refreshes that ended in an error or a panic, whether called
    /// directly or by auto-refresh.
    pub failed_refreshes: u64,
    /// Failures since the last successful refresh (0 when the last
    /// refresh succeeded).
    pub consecutive_failures: u64,
    /// Times the announcement was found missing (after a version was
    /// announced or held) or could not be read.
    pub announcement_failures: u64,
    /// Time since the consumer last reached the version it refreshed to
    /// (or, when no refresh has succeeded yet, since it was built).
    pub since_last_success: Duration,
    /// How far the version held is from the last announced version seen,
    /// in version numbers (counting from 0 when nothing is held); `None`
    /// when no announcement has been seen.
    pub lag: Option<u64>,
    /// The text of the most recent failure (kept after later successes;
    /// `consecutive_failures` says whether it is still failing).
    pub last_error: Option<String>,
    /// Versions rewritten as one snapshot and served from then on
    /// ([`Consumer::reclaim`]).
    pub reclaims: u64,
    /// How long the last such rewrite took.
    pub last_reclaim: Duration,
    /// Comparisons of a compiled type with a blob's schema run
    /// ([`ConsumerBuilder::check_type`]): one per distinct pair of a
    /// schema and a type, however many blobs of that schema are loaded.
    pub schema_checks: u64,
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
            prune_cache: true,
            types: None,
            max_chain: DEFAULT_MAX_DELTA_CHAIN,
            indexes: Vec::new(),
            index_options: IndexOptions::default(),
            reclaim_threshold: None,
            events: Listeners::default(),
            retry: Backoff {
                min: DEFAULT_RETRY_MIN,
                max: DEFAULT_RETRY_MAX,
            },
            checks: Arc::default(),
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
    /// next refresh; reported at once as [`Event::Pinned`].
    pub fn pin(&self, version: Option<u64>) {
        *self.inner.pinned.lock().unwrap_or_else(|p| p.into_inner()) = version;
        self.inner.events.emit(&Event::Pinned { version });
    }

    /// Reports every later [`Event`] of this consumer to `listener`, as
    /// [`ConsumerBuilder::event_listener`] does.
    pub fn on_event(&self, listener: impl EventListener + 'static) {
        self.inner.events.add(Arc::new(listener));
    }

    /// Calls `f` with every new state after a refresh. A listener that
    /// panics is logged and counted as a failure; the refresh still
    /// succeeds and the other listeners still run.
    pub fn on_refresh(&self, f: impl Fn(&ReadState) + Send + Sync + 'static) {
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(f));
    }

    /// The counters.
    pub fn metrics(&self) -> ConsumerMetrics {
        let announced = self.inner.announced_seen();
        let current = self.version();
        let (since_last_success, last_error) = {
            let h = self.inner.health.lock().unwrap_or_else(|p| p.into_inner());
            (h.last_success.elapsed(), h.last_error.clone())
        };
        ConsumerMetrics {
            current_version: current,
            announced_version: announced,
            failed_refreshes: self.inner.failed_refreshes.load(Ordering::Relaxed),
            consecutive_failures: self.inner.consecutive_failures.load(Ordering::Relaxed),
            announcement_failures: self.inner.announcement_failures.load(Ordering::Relaxed),
            since_last_success,
            lag: announced.map(|a| a.abs_diff(current.unwrap_or(0))),
            last_error,
            last_refresh: Duration::from_micros(
                self.inner.last_refresh_micros.load(Ordering::Relaxed),
            ),
            refreshes: self.inner.refreshes.load(Ordering::Relaxed),
            failures: self.inner.failures.load(Ordering::Relaxed),
            reclaims: self.inner.reclaims.load(Ordering::Relaxed),
            last_reclaim: Duration::from_micros(
                self.inner.last_reclaim_micros.load(Ordering::Relaxed),
            ),
            schema_checks: self.inner.checks.runs(),
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
    /// the version held afterwards (`None` when nothing has been announced
    /// yet and nothing is held).
    ///
    /// Every failure is reported to the consumer's listeners
    /// ([`Event::RefreshFailed`]) and counted in its
    /// [`metrics`](Self::metrics).
    ///
    /// # Errors
    /// The version cannot be reached (blobs missing or corrupt and no other
    /// plan); the announcement cannot be read; no version is announced
    /// although one was before or one is held (the announcement was
    /// deleted); the refresh panicked ([`ErrorKind::CorruptBlob`]); or a
    /// compiled type the consumer reads would misread the version
    /// ([`ErrorKind::Schema`], see [`ConsumerBuilder::check_type`]). The
    /// consumer keeps the version it has.
    pub async fn refresh(&self) -> Result<Option<u64>, Error> {
        checked_refresh(&self.inner, None, false)
            .await
            .map_err(|(e, _)| e)
    }

    /// Refreshes to `version` (forward or back).
    ///
    /// # Errors
    /// As [`Consumer::refresh`], but the announcement is not read.
    pub async fn refresh_to(&self, version: u64) -> Result<u64, Error> {
        match checked_refresh(&self.inner, Some(version), false).await {
            Ok(v) => Ok(v.unwrap_or(version)),
            Err((e, _)) => Err(e),
        }
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
    /// when the consumer is closed or dropped.
    ///
    /// The task survives every failure, a panic in a refresh included: the
    /// consumer keeps serving the version it has, reports the failure to
    /// its listeners and metrics, and tries again after a wait that grows
    /// with each failure in a row ([`ConsumerBuilder::retry_backoff`]) for
    /// as long as the version it aims at is not reached, or at once when
    /// a new version is announced. An announcement that cannot be read is
    /// read again on the same schedule; one that disappears is reported
    /// ([`Event::AnnouncementMissing`]) and waited for.
    pub fn start_auto_refresh(&mut self) {
        if self.task.is_some() {
            return;
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let watcher = self.inner.watcher.clone();
        self.task = Some(tokio::spawn(follow(weak, watcher)));
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

/// What auto-refresh waits for next.
enum Next {
    /// Read the announcement now.
    Read,
    /// Wait until the announcement differs from the one seen.
    Watch(Option<u64>),
    /// As `Watch`, but refresh again after the wait at the latest.
    Retry(Option<u64>, Duration),
}

/// The auto-refresh task: follows the announcement until the consumer goes
/// away, surviving every error and panic.
async fn follow(weak: Weak<Inner>, watcher: Arc<dyn AnnouncementWatcher>) {
    let mut next = Next::Read;
    loop {
        let (news, seen) = match next {
            Next::Read => (Some(caught(watcher.latest()).await), None),
            Next::Watch(seen) => (Some(caught(watcher.changed(seen)).await), seen),
            Next::Retry(seen, wait) => (
                tokio::time::timeout(wait, caught(watcher.changed(seen)))
                    .await
                    .ok(),
                seen,
            ),
        };
        let Some(inner) = weak.upgrade() else { return };
        let seen = match news {
            // The retry wait passed with no news.
            None => seen,
            Some(Ok(Some(v))) => {
                inner.announced.store(v, Ordering::Relaxed);
                Some(v)
            }
            Some(Ok(None)) => {
                announcement_missing(&inner, true);
                next = Next::Watch(None);
                continue;
            }
            Some(Err(e)) => {
                let wait = announcement_unreadable(&inner, &e, true);
                drop(inner);
                tokio::time::sleep(wait).await;
                next = Next::Read;
                continue;
            }
        };
        next = match checked_refresh(&inner, None, true).await {
            Ok(_) => Next::Watch(seen),
            Err((_, retry_in)) => Next::Retry(seen, retry_in.unwrap_or(inner.retry.max)),
        };
    }
}

/// A future that turns a panic while it is polled into an `Err` holding
/// the panic's payload.
struct CatchUnwind<'a, T>(Pin<Box<dyn Future<Output = T> + Send + 'a>>);

impl<T> Future for CatchUnwind<'_, T> {
    type Output = std::thread::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// Reads the announcement through `read`, turning a panic into an error.
async fn caught<'a>(
    read: impl Future<Output = Result<Option<u64>, StoreError>> + Send + 'a,
) -> Result<Option<u64>, StoreError> {
    CatchUnwind(Box::pin(read)).await.unwrap_or_else(|panic| {
        Err(StoreError::new(
            StoreErrorKind::Io,
            format!(
                "reading the announcement panicked: {}",
                panic_message(&*panic)
            ),
        ))
    })
}

/// Refreshes to `to` (else the pinned or announced version), turning a
/// panic into an error, and reports a failure to listeners and metrics.
/// A failure comes with the wait before auto-refresh (`auto`) retries.
async fn checked_refresh(
    inner: &Arc<Inner>,
    to: Option<u64>,
    auto: bool,
) -> Result<Option<u64>, (Error, Option<Duration>)> {
    let run = async move {
        match to {
            Some(v) => refresh_to(inner, v).await.map(Some),
            None => refresh(inner).await,
        }
    };
    let result = CatchUnwind(Box::pin(run)).await.unwrap_or_else(|panic| {
        Err(Error::new(
            ErrorKind::CorruptBlob,
            format!(
                "refreshing {} from {} panicked: {}",
                to.map_or_else(
                    || "to the announced version".to_owned(),
                    |v| format!("to version {v}")
                ),
                inner.store.describe(),
                panic_message(&*panic)
            ),
        ))
    });
    result.map_err(|e| {
        let retry_in = refresh_failed(inner, to, &e, auto);
        (e, retry_in)
    })
}

impl Inner {
    /// The last announced version seen.
    fn announced_seen(&self) -> Option<u64> {
        let a = self.announced.load(Ordering::Relaxed);
        (a != u64::MAX).then_some(a)
    }

    /// The version held.
    fn held(&self) -> Option<u64> {
        self.current.load().as_ref().map(|s| s.version())
    }
}

/// Counts a failure and keeps its text.
fn note_error(inner: &Inner, e: &dyn std::fmt::Display) {
    inner.failures.fetch_add(1, Ordering::Relaxed);
    inner
        .health
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .last_error = Some(e.to_string());
}

/// Counts a failure to follow the announcement and keeps its text;
/// returns the failures in a row.
fn note_failure(inner: &Inner, e: &dyn std::fmt::Display) -> u64 {
    note_error(inner, e);
    inner.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1
}

/// Notes that the consumer reached the version it refreshed to.
fn note_success(inner: &Inner) {
    inner.consecutive_failures.store(0, Ordering::Relaxed);
    inner
        .health
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .last_success = Instant::now();
}

/// Reports a refresh that failed; returns the wait before auto-refresh
/// retries (`None` unless `auto`).
fn refresh_failed(inner: &Inner, to: Option<u64>, e: &Error, auto: bool) -> Option<Duration> {
    inner.failed_refreshes.fetch_add(1, Ordering::Relaxed);
    let attempt = note_failure(inner, e);
    let retry_in = auto.then(|| inner.retry.delay(attempt));
    let pinned = *inner.pinned.lock().unwrap_or_else(|p| p.into_inner());
    let version = to.or(pinned).or_else(|| inner.announced_seen());
    let held = inner.held();
    tracing::warn!(?version, ?held, attempt, ?retry_in, error = %e, "refresh failed");
    inner.events.emit(&Event::RefreshFailed {
        version,
        held,
        kind: e.kind(),
        error: e.to_string(),
        attempt,
        retry_in,
    });
    retry_in
}

/// Reports an announcement that cannot be read; returns the wait before
/// auto-refresh reads it again. From auto-refresh (`auto`) this is a
/// failure of its own; otherwise the refresh that read it fails and
/// reports that.
fn announcement_unreadable(inner: &Inner, e: &StoreError, auto: bool) -> Duration {
    inner.announcement_failures.fetch_add(1, Ordering::Relaxed);
    let attempt = if auto {
        note_failure(inner, e)
    } else {
        inner.consecutive_failures.load(Ordering::Relaxed) + 1
    };
    let wait = inner.retry.delay(attempt);
    let retry_in = auto.then_some(wait);
    tracing::warn!(attempt, ?retry_in, error = %e, "reading the announcement failed");
    inner.events.emit(&Event::AnnouncementUnreadable {
        error: e.to_string(),
        attempt,
        retry_in,
    });
    wait
}

/// Reports that nothing is announced. It is a failure (returned) when the
/// consumer holds a version or has seen one announced: the announcement
/// was deleted. Before anything is announced it is only reported. From
/// auto-refresh (`auto`) the failure is counted here; otherwise the
/// refresh that found it fails and counts that.
fn announcement_missing(inner: &Inner, auto: bool) -> Option<Error> {
    let held = inner.held();
    let last_seen = inner.announced_seen();
    let failure = if held.is_none() && last_seen.is_none() {
        tracing::debug!(watcher = ?inner.watcher, "nothing announced yet");
        None
    } else {
        inner.announcement_failures.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(watcher = ?inner.watcher, ?held, ?last_seen, "the announcement is missing");
        let e = Error::new(
            ErrorKind::Store,
            format!(
                "no version is announced by {:?} (the last announced version seen: {}; \
                 the version held: {})",
                inner.watcher,
                last_seen.map_or_else(|| "none".to_owned(), |v| v.to_string()),
                held.map_or_else(|| "none".to_owned(), |v| v.to_string()),
            ),
        );
        if auto {
            note_failure(inner, &e);
        }
        Some(e)
    };
    // Counted before listeners hear of it, so a listener reading the
    // metrics sees this failure.
    inner
        .events
        .emit(&Event::AnnouncementMissing { held, last_seen });
    failure
}

async fn refresh(inner: &Arc<Inner>) -> Result<Option<u64>, Error> {
    let pinned = *inner.pinned.lock().unwrap_or_else(|p| p.into_inner());
    let announced = match inner.watcher.latest().await {
        Ok(a) => a,
        Err(e) => {
            announcement_unreadable(inner, &e, false);
            return Err(e.into());
        }
    };
    match announced {
        Some(a) => inner.announced.store(a, Ordering::Relaxed),
        None => {
            if let Some(e) = announcement_missing(inner, false) {
                if pinned.is_none() {
                    return Err(e);
                }
            }
        }
    }
    match pinned.or(announced) {
        None => Ok(None),
        Some(v) => refresh_to(inner, v).await.map(Some),
    }
}

async fn refresh_to(inner: &Arc<Inner>, target: u64) -> Result<u64, Error> {
    let _guard = inner.refresh_lock.lock().await;
    let current = inner.current.load_full();
    let from = current.as_ref().map(|s| s.version());
    if from == Some(target) {
        note_success(inner);
        return Ok(target);
    }
    inner
        .events
        .emit(&Event::RefreshStarted { from, to: target });
    let started = Instant::now();
    let mut last_err: Option<Error> = None;
    let mut retried_bad = false;
    // A blob planned around by the attempts that follow.
    let mark_bad = |blob: BlobName| {
        inner
            .bad
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(blob);
    };
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
                // What stood in the way was the schema check: say so.
                Some(e) if e.kind() == ErrorKind::Schema => e,
                Some(e) => Error::with_source(ErrorKind::Planning, msg, e),
                None => Error::new(ErrorKind::Planning, msg),
            });
        };
        match execute(inner, current.as_deref(), &plan).await {
            Ok(state) => {
                let state = Arc::new(state);
                inner.current.store(Some(state.clone()));
                prune_cache(inner, &state);
                inner
                    .last_refresh_micros
                    .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                inner.refreshes.fetch_add(1, Ordering::Relaxed);
                note_success(inner);
                for l in inner
                    .listeners
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                {
                    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| l(&state))) {
                        let e = format!(
                            "a refresh listener panicked on version {target}: {}",
                            panic_message(&*panic)
                        );
                        tracing::error!("{e}");
                        note_error(inner, &e);
                    }
                }
                let _ = inner.version_tx.send(Some(target));
                let duration = started.elapsed();
                tracing::info!(version = target, elapsed = ?duration, "refreshed");
                inner.events.emit(&Event::RefreshSucceeded {
                    from,
                    version: target,
                    duration,
                });
                schedule_reclaim(inner, &state);
                return Ok(target);
            }
            Err((blob, e)) if e.kind() == ErrorKind::Schema => {
                // The blob is sound, but the compiled types read would
                // misread its version. Every plan to the target reaches
                // the target's schema, so a refusal of the target's own
                // blob ends the refresh; a version on the way may be
                // skipped by another plan (a snapshot further on).
                inner.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(blob = %blob, error = %e, "blob refused by the schema check");
                blob_rejected(inner, blob, &e);
                if blob.to_version() == target {
                    return Err(e);
                }
                mark_bad(blob);
                last_err = Some(e);
            }
            Err((blob, e)) => {
                inner.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(blob = %blob, error = %e, "blob unusable; planning around it");
                blob_rejected(inner, blob, &e);
                cache::discard(&inner.cache_dir, blob);
                mark_bad(blob);
                last_err = Some(e);
            }
        }
    }
    Err(last_err.unwrap_or_else(|| {
        Error::new(ErrorKind::Planning, format!("version {target} not reached"))
    }))
}

/// Reports blob `blob` found unusable by a refresh.
fn blob_rejected(inner: &Inner, blob: BlobName, e: &Error) {
    inner.events.emit(&Event::BlobRejected {
        blob,
        kind: e.kind(),
        error: e.to_string(),
    });
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
                    note_error(&inner, &e);
                    tracing::warn!(error = %e, "reclaiming dead records failed");
                    inner.events.emit(&Event::ReclaimFailed {
                        version: inner.held(),
                        kind: e.kind(),
                        error: e.to_string(),
                    });
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
    let rewritten = Arc::new(rewritten);
    inner.current.store(Some(rewritten.clone()));
    prune_cache(inner, &rewritten);
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
            let blob = fetch_reported(inner, name).await?;
            let loading = Instant::now();
            // Indexes first used in the state held are kept too.
            let mut specs = inner.indexes.clone();
            if let Some(cur) = current {
                for spec in cur.index_set().specs() {
                    if !specs
                        .iter()
                        .any(|x| x.type_name() == spec.type_name() && x.name() == spec.name())
                    {
                        specs.push(spec);
                    }
                }
            }
            let state = ReadState::from_snapshot_checked(
                Arc::new(blob),
                inner.types.as_deref(),
                inner.checks.clone(),
            )
            .and_then(|s| s.with_indexes(&specs, inner.index_options))
            .map_err(|e| (name, e))?;
            inner.events.emit(&Event::SnapshotLoaded {
                version: v,
                duration: loading.elapsed(),
            });
            state
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
        let blob = fetch_reported(inner, step).await?;
        let (applying, from) = (Instant::now(), state.version());
        state = state.apply(Arc::new(blob)).map_err(|e| (step, e))?;
        inner.events.emit(&Event::DeltaApplied {
            blob: step,
            from,
            to: state.version(),
            duration: applying.elapsed(),
        });
    }
    Ok(state)
}

/// Fetches blob `name` into the consumer's cache (unless there) and maps
/// it, reporting [`Event::BlobFetched`]; an error comes with the blob.
async fn fetch_reported(inner: &Inner, name: BlobName) -> Result<LoadedBlob, (BlobName, Error)> {
    let started = Instant::now();
    let (blob, from_cache) = cache::fetch_reporting(&*inner.store, &inner.cache_dir, name)
        .await
        .map_err(|e| (name, e))?;
    inner.events.emit(&Event::BlobFetched {
        blob: name,
        bytes: blob.bytes().len() as u64,
        from_cache,
        duration: started.elapsed(),
    });
    Ok(blob)
}

/// Removes from the cache directory every blob `state` does not read and
/// no consumer maps ([`ConsumerBuilder::prune_cache`]), and fetch locks no
/// one holds (see [`cache`]).
fn prune_cache(inner: &Inner, state: &ReadState) {
    if !inner.prune_cache {
        return;
    }
    let keep = state.blob_names();
    let entries = match std::fs::read_dir(&inner.cache_dir) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::debug!(dir = %inner.cache_dir.display(), error = %e, "cannot list the cache");
            return;
        }
    };
    cache::remove_stale_locks(&inner.cache_dir);
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(|n| n.parse::<BlobName>().ok()) else {
            continue;
        };
        if keep.contains(&name) {
            continue;
        }
        // Kept while another consumer sharing the directory maps it.
        match cache::remove_unused(&entry.path()) {
            Ok(true) => tracing::debug!(blob = %name, "removed from the cache"),
            Ok(false) => tracing::debug!(blob = %name, "in use; kept in the cache"),
            Err(e) => tracing::warn!(blob = %name, error = %e, "cannot remove from the cache"),
        }
    }
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
    // The blobs found unusable on the way, and why: the final error names
    // them (the chain search goes on without them).
    let mut unusable: Vec<(BlobName, Error)> = Vec::new();
    for _ in 0..4 {
        let catalog = Catalog::new(&names, &bad);
        let Some(plan) = catalog.plan(None, version, DEFAULT_MAX_DELTA_CHAIN) else {
            return Err(unloadable(
                format!(
                    "no snapshot and delta chain reaches version {version} in {}",
                    store.describe()
                ),
                unusable,
            ));
        };
        let run = async {
            let name = BlobName::Snapshot(plan.snapshot.unwrap_or(version));
            let blob = cache::fetch(&*store, cache_dir, name)
                .await
                .map_err(|e| (name, e))?;
            let mut state =
                ReadState::from_snapshot(Arc::new(blob), types).map_err(|e| (name, e))?;
            for &step in &plan.steps {
                let blob = cache::fetch(&*store, cache_dir, step)
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
                cache::discard(cache_dir, name);
                bad.insert(name);
                unusable.push((name, e));
            }
        }
    }
    Err(unloadable(
        format!("version {version} could not be loaded"),
        unusable,
    ))
}

/// The [`ErrorKind::Planning`] error of [`load_version`]: `what`, then
/// each blob found unusable on the way and why; its source is the first
/// of those blobs' errors.
fn unloadable(what: String, unusable: Vec<(BlobName, Error)>) -> Error {
    let why: Vec<String> = unusable
        .iter()
        .map(|(name, e)| format!("{name} ({e})"))
        .collect();
    match unusable.into_iter().next() {
        None => Error::new(ErrorKind::Planning, what),
        Some((_, first)) => Error::with_source(
            ErrorKind::Planning,
            format!("{what}; unusable blobs: {}", why.join("; ")),
            first,
        ),
    }
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

    #[test]
    fn retry_waits_double_from_the_minimum_up_to_the_maximum() {
        let b = Backoff {
            min: Duration::from_millis(500),
            max: Duration::from_secs(30),
        };
        let waits: Vec<u64> = (1..=9).map(|n| b.delay(n).as_millis() as u64).collect();
        assert_eq!(
            waits,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        // No overflow however long the failures go on.
        assert_eq!(b.delay(u64::MAX), Duration::from_secs(30));
        let huge = Backoff {
            min: Duration::MAX,
            max: Duration::MAX,
        };
        assert_eq!(huge.delay(40), Duration::MAX);
    }

    #[tokio::test]
    async fn a_panic_in_any_poll_is_returned_as_its_payload() {
        let caught: std::thread::Result<()> = CatchUnwind(Box::pin(async {
            tokio::task::yield_now().await;
            panic!("in the second poll");
        }))
        .await;
        let panic = caught.unwrap_err();
        assert_eq!(panic_message(&*panic), "in the second poll");
        let fine = CatchUnwind(Box::pin(async { 7 })).await;
        assert_eq!(fine.ok(), Some(7));
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

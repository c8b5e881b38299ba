//! The producer: publishes the dataset as versions.
//!
//! A cycle: populate → write snapshot / delta / reverse delta → integrity
//! check (the delta applied to the previous read state must give the new
//! state's record counts and checksums, and the snapshot's; the reverse
//! delta applied to the new state must give the previous state back) →
//! validators → publish to the blob store → announce. Any failure rolls
//! the write state back and announces nothing; a failure before the
//! publish step leaves no blob of the version in the store.
//!
//! A producer continuing an announced version (see [`Producer::restore`])
//! refuses record types that changed in a breaking way since, by the rules
//! of [`hollow_schema::evolution`], unless
//! [`ProducerBuilder::allow_breaking_schema`] opts in.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
//! use hollow_runtime::{Hollow, Producer};
//!
//! #[derive(Hollow)]
//! #[hollow(primary_key(id))]
//! struct Movie {
//!     id: u64,
//!     title: String,
//! }
//!
//! let store = MemoryBlobStore::new();
//! let announcer = InProcessAnnouncer::new();
//! let mut producer = Producer::builder(Arc::new(store), Arc::new(announcer)).build();
//! let v1 = producer
//!     .run_cycle(|w| {
//!         w.add(&Movie { id: 1, title: "Heat".into() })?;
//!         w.add(&Movie { id: 2, title: "Ronin".into() })?;
//!         Ok(())
//!     })
//!     .await
//!     .unwrap();
//! assert!(v1.version.is_some());
//! // The same data again: no new version.
//! let again = producer
//!     .run_cycle(|w| {
//!         w.add(&Movie { id: 1, title: "Heat".into() })?;
//!         w.add(&Movie { id: 2, title: "Ronin".into() })?;
//!         Ok(())
//!     })
//!     .await
//!     .unwrap();
//! assert_eq!(again.version, None);
//! # });
//! ```

mod arena;
mod evolve;
mod integrity;
mod publish;
mod validate;
mod write_state;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use evolve::{check_continuation, continuation_diff};
pub use validate::{
    DuplicatePrimaryKey, RecordCountVariance, ValidationContext, ValidationError, Validator,
};
pub(crate) use write_state::{TypeWrite, WriteState};

use crate::bits::Bits;
use crate::blob::{self, BlobName};
use crate::error::{Error, ErrorKind};
use crate::events::{Event, EventListener, Listeners};
use crate::index::Indexed;
use crate::read_state::ReadState;
use crate::store::owner::ScratchDir;
use crate::store::{Announcer, BlobStore, Compression};

/// The base name of [`Producer::restore`]'s scratch directories.
const RESTORE_SCRATCH: &str = "hollow-restore";

/// What a cycle produced.
#[derive(Clone, Debug, Default)]
pub struct CycleOutcome {
    /// The version announced; `None` when the data did not change.
    pub version: Option<u64>,
    /// The blobs published, with their plain sizes in bytes (before any
    /// [compression](ProducerBuilder::compression) for the store).
    pub blobs: Vec<(BlobName, u64)>,
    /// Records added and removed, per type: `(type, added, removed)`.
    pub changes: Vec<(String, usize, usize)>,
    /// How long the cycle took.
    pub duration: Duration,
}

type Minter = Box<dyn FnMut(Option<u64>) -> u64 + Send>;

/// Configures a [`Producer`].
pub struct ProducerBuilder {
    store: Arc<dyn BlobStore>,
    announcer: Arc<dyn Announcer>,
    validators: Vec<Box<dyn Validator>>,
    snapshot_interval: u64,
    minter: Minter,
    tags: Vec<(String, String)>,
    state: WriteState,
    events: Listeners,
    scratch_dir: Option<PathBuf>,
    sections: blob::SectionOptions,
    compression: Compression,
    #[cfg(feature = "test-hooks")]
    tamper: Option<Tamper>,
}

/// A test hook altering the blobs a cycle wrote, before its integrity check.
#[cfg(feature = "test-hooks")]
type Tamper = Box<dyn FnMut(&BlobName, &mut Vec<u8>) + Send>;

/// The header tag of a snapshot that publishes a breaking schema change
/// (see [`ProducerBuilder::allow_breaking_schema`]): its value is the
/// version the change breaks from, in decimal. No delta joins the tagged
/// snapshot to that version or any before it.
pub const SCHEMA_BREAK_TAG: &str = "hollow.schema-break-from";

impl ProducerBuilder {
    /// Where [`Producer::restore`] keeps the blobs it loads while it
    /// rebuilds the write state: a directory of its own in `dir`, named
    /// after this process and removed when the restore ends. Each restore
    /// first removes those left in `dir` by processes that are gone (a
    /// producer killed while restoring). A cycle writes its blobs through
    /// unnamed temporary files there too (nothing is left behind).
    /// Default: the store's [scratch directory](BlobStore::scratch_dir)
    /// (for [`FsBlobStore`](crate::store::FsBlobStore), the store's own
    /// directory), else the system's temporary directory.
    pub fn scratch_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.scratch_dir = Some(dir.into());
        self
    }

    /// How the producer stores its blobs (default: zstd at level 3, see
    /// [`Compression`]): compressed blobs are stored as `<name>.zst` and
    /// cost less to store and to fetch; consumers decompress them once,
    /// into their cache, and map the plain blob as ever.
    /// [`Compression::None`] stores them plain. Consumers and tools read
    /// either, so the setting may change between producers of one store.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use hollow_runtime::store::{BlobName, BlobStore, Compression, Encoding};
    /// use hollow_runtime::store::{FsBlobStore, InProcessAnnouncer};
    /// use hollow_runtime::{Hollow, Producer};
    ///
    /// #[derive(Hollow)]
    /// #[hollow(primary_key(id))]
    /// struct Movie { id: u64, title: String }
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Arc::new(FsBlobStore::new(dir.path()).unwrap());
    /// let announcer = Arc::new(InProcessAnnouncer::new());
    /// let mut p = Producer::builder(store.clone(), announcer)
    ///     .compression(Compression::Zstd { level: 6 })
    ///     .build();
    /// p.run_cycle(|w| w.add(&Movie { id: 1, title: "Heat".into() })).await.unwrap();
    /// assert!(dir.path().join("snapshot-1.zst").is_file());
    /// let stat = store.stat(BlobName::Snapshot(1)).await.unwrap();
    /// assert_eq!(stat.encoding, Encoding::Zstd);
    /// assert!(stat.plain_bytes.unwrap() > stat.stored_bytes);
    /// # });
    /// ```
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Adds a validator (run on every new version before it is announced).
    pub fn validator(mut self, v: impl Validator + 'static) -> Self {
        self.validators.push(Box::new(v));
        self
    }

    /// Writes a snapshot every `n` cycles (default 1: every cycle). Deltas
    /// and reverse deltas are written every cycle.
    pub fn snapshot_interval(mut self, n: u64) -> Self {
        self.snapshot_interval = n.max(1);
        self
    }

    /// How versions are numbered: called with the last announced version
    /// (after a [`restore`](Producer::restore), the highest version any
    /// blob in the store names, if higher: after a rollback, the versions
    /// rolled back from are taken), must return a larger one. Default: the
    /// next integer (1 first).
    pub fn version_minter(mut self, f: impl FnMut(Option<u64>) -> u64 + Send + 'static) -> Self {
        self.minter = Box::new(f);
        self
    }

    /// A header tag written into every blob (readable by consumers). The
    /// key [`SCHEMA_BREAK_TAG`] is the producer's own: a tag set here with
    /// it is left out, and the producer writes it only on a snapshot that
    /// publishes a breaking schema change.
    pub fn header_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        if key != SCHEMA_BREAK_TAG {
            self.tags.retain(|(k, _)| *k != key);
            self.tags.push((key, value.into()));
        }
        self
    }

    /// Whether a producer continuing an announced version (after
    /// [`Producer::restore`]) may publish a breaking schema change: a
    /// field's type, ordinal or offset changed, a field, union member or
    /// enumerant removed, a union reordered (see
    /// [`hollow_schema::evolution`]). Default `false`: such a change is
    /// refused with [`ErrorKind::Schema`], listing every breaking change,
    /// and nothing is written. Compatible changes (fields added, say) need
    /// no opt-in.
    ///
    /// With `true`, the change is published as a new snapshot only: no
    /// delta or reverse delta joins it to the version it continues, so
    /// consumers reach it only by loading that snapshot, and consumers
    /// whose compiled types conflict with it refuse it (keeping the
    /// version they hold). The snapshot carries the header tag
    /// [`SCHEMA_BREAK_TAG`] with the version it breaks from. The restored
    /// records of every type the change breaks are not carried over (they
    /// cannot be re-encoded): the first cycle after must be a full
    /// [`Producer::run_cycle`] adding them again, and
    /// [`Producer::run_incremental`] is refused until it succeeds.
    /// Later cycles write deltas again, from that snapshot on.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use hollow_runtime::producer::SCHEMA_BREAK_TAG;
    /// use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
    /// use hollow_runtime::{Hollow, Producer};
    ///
    /// #[derive(Hollow)]
    /// #[hollow(rename = "Movie", primary_key(id))]
    /// struct MovieV1 { id: u64, year: u16 }
    ///
    /// // `year` widened: a breaking change.
    /// #[derive(Hollow)]
    /// #[hollow(rename = "Movie", primary_key(id))]
    /// struct MovieV2 { id: u64, year: u32 }
    ///
    /// let store = Arc::new(MemoryBlobStore::new());
    /// let announcer = Arc::new(InProcessAnnouncer::new());
    /// let mut p = Producer::builder(store.clone(), announcer.clone()).build();
    /// p.run_cycle(|w| w.add(&MovieV1 { id: 1, year: 1995 })).await.unwrap();
    ///
    /// // Refused by default, naming the field.
    /// let mut p = Producer::builder(store.clone(), announcer.clone())
    ///     .record_type::<MovieV2>()
    ///     .build();
    /// let err = p.restore_latest().await.unwrap_err();
    /// assert!(err.to_string().contains("Movie.year: type changed"));
    ///
    /// // Published as a snapshot with the opt-in.
    /// let mut p = Producer::builder(store.clone(), announcer.clone())
    ///     .record_type::<MovieV2>()
    ///     .allow_breaking_schema(true)
    ///     .build();
    /// p.restore_latest().await.unwrap();
    /// let out = p.run_cycle(|w| w.add(&MovieV2 { id: 1, year: 1995 })).await.unwrap();
    /// assert_eq!(out.version, Some(2));
    /// assert_eq!(store.names(), vec![BlobName::Snapshot(1), BlobName::Snapshot(2)]);
    /// let state = p.read_state().unwrap();
    /// assert_eq!(state.header_tag(SCHEMA_BREAK_TAG), Some("1"));
    /// # });
    /// ```
    pub fn allow_breaking_schema(mut self, allow: bool) -> Self {
        self.state.allow_breaking = allow;
        self
    }

    /// Test hook: `f` may alter each blob a cycle wrote (by name) before
    /// the cycle's integrity check, to show what the check catches.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn tamper_blobs(mut self, f: impl FnMut(&BlobName, &mut Vec<u8>) + Send + 'static) -> Self {
        self.tamper = Some(Box::new(f));
        self
    }

    /// Whether identical Text, Data, list and struct values of one type's
    /// records are stored once per blob section and shared by pointer
    /// (`docs/blob-format.md`, "Shared values"). Default: on. Records,
    /// their hashes and checksums are the same either way; off makes
    /// larger blobs (every record holds its own copy of each value) in
    /// slightly less producer time.
    pub fn share_values(mut self, on: bool) -> Self {
        self.sections.share_values = on;
        self
    }

    /// The size past which a record type's records are cut into several
    /// sections of a blob (shards by ordinal range,
    /// `docs/blob-format.md`, "Shards"), reckoned before values are shared.
    /// Default (and most): [`SectionOptions::MAX_SHARD_BYTES`](crate::blob::SectionOptions::MAX_SHARD_BYTES),
    /// just under the 4 GiB a section message can hold; a few KiB gives
    /// several shards from small data (tests). Blobs with a type in several
    /// sections are written in format version 2.
    pub fn shard_limit(mut self, bytes: u64) -> Self {
        self.sections.shard_limit = bytes.clamp(8, crate::blob::SectionOptions::MAX_SHARD_BYTES);
        self
    }

    /// Declares a record type up front (types are also registered when first
    /// added; declaring them makes a type with no records still part of the
    /// dataset, and lets `restore` keep its typed checks).
    pub fn record_type<T: Indexed>(mut self) -> Self {
        self.state.type_of::<T>();
        self
    }

    /// Reports every [`Event`] of the producer to `listener`: each cycle
    /// started, populated, succeeded or failed, each blob written, each
    /// integrity check and validation passed, and each version announced.
    pub fn event_listener(self, listener: impl EventListener + 'static) -> Self {
        self.events.add(Arc::new(listener));
        self
    }

    /// The producer.
    pub fn build(self) -> Producer {
        Producer {
            store: self.store,
            announcer: self.announcer,
            validators: self.validators,
            snapshot_interval: self.snapshot_interval,
            minter: self.minter,
            tags: self.tags,
            state: self.state,
            scratch_dir: self.scratch_dir,
            sections: self.sections,
            compression: self.compression,
            read: None,
            read_files: Vec::new(),
            announced: None,
            taken: None,
            published: 0,
            since_snapshot: 0,
            events: self.events,
            #[cfg(feature = "test-hooks")]
            tamper: self.tamper,
        }
    }
}

/// Publishes versions of a dataset. See the [module docs](self).
pub struct Producer {
    store: Arc<dyn BlobStore>,
    announcer: Arc<dyn Announcer>,
    validators: Vec<Box<dyn Validator>>,
    snapshot_interval: u64,
    minter: Minter,
    tags: Vec<(String, String)>,
    state: WriteState,
    scratch_dir: Option<PathBuf>,
    /// How blob sections are written.
    sections: blob::SectionOptions,
    compression: Compression,
    read: Option<ReadState>,
    /// The blob files this producer wrote for its last published state
    /// (what `read` maps, unless restored since): their pages are given
    /// back once the next cycle's check has read them.
    read_files: Vec<publish::BlobFile>,
    announced: Option<u64>,
    /// The highest version a blob in the store named at the last restore
    /// (versions rolled back from): the minter mints above it.
    taken: Option<u64>,
    published: u64,
    since_snapshot: u64,
    events: Listeners,
    #[cfg(feature = "test-hooks")]
    tamper: Option<Tamper>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("store", &self.store.describe())
            .field("announced", &self.announced)
            .finish()
    }
}

/// Adds the whole state in [`Producer::run_cycle`].
pub struct CycleWriter<'p> {
    state: &'p mut WriteState,
    cycle: u64,
}

impl CycleWriter<'_> {
    /// Adds a record. Adding an identical record twice adds it once.
    ///
    /// # Errors
    /// The record cannot be encoded, or its type changed in a breaking way
    /// since the version the producer restored ([`ErrorKind::Schema`]; see
    /// [`ProducerBuilder::allow_breaking_schema`]).
    pub fn add<T: Indexed>(&mut self, record: &T) -> Result<(), Error> {
        self.state.add(record, self.cycle).map(|_| ())
    }
}

/// Changes the last state by primary key in [`Producer::run_incremental`].
pub struct IncrementalWriter<'p> {
    state: &'p mut WriteState,
    cycle: u64,
}

impl IncrementalWriter<'_> {
    /// Adds `record`, replacing the record with the same primary key.
    ///
    /// # Errors
    /// The type has no primary key, the record cannot be encoded, or its
    /// type changed in a breaking way since the version the producer
    /// restored ([`ErrorKind::Schema`]).
    pub fn upsert<T: Indexed>(&mut self, record: &T) -> Result<(), Error> {
        let i = self.state.typed::<T>()?;
        let bytes = self
            .state
            .encoder
            .encode(record)
            .map_err(|e| {
                Error::with_source(
                    ErrorKind::Record,
                    format!("cannot add a {} record", T::TYPE_NAME),
                    e,
                )
            })?
            .to_vec();
        let key_hash = record.primary_key_hash();
        let t = &mut self.state.types[i];
        for o in t.ordinals_with_key_of(&bytes, key_hash)? {
            t.remove(o);
        }
        t.add(&bytes, || key_hash, self.cycle);
        Ok(())
    }

    /// Removes the record with primary key `key` (nothing if there is none).
    ///
    /// # Errors
    /// The type has no primary key.
    pub fn delete<T: Indexed>(&mut self, key: &T::PrimaryKey) -> Result<(), Error> {
        let i = self.state.typed::<T>()?;
        let t = &mut self.state.types[i];
        if !T::HAS_PRIMARY_KEY {
            return Err(Error::new(
                ErrorKind::Record,
                format!(
                    "type {} has no primary key: use run_cycle, or declare one",
                    T::TYPE_NAME
                ),
            ));
        }
        let h = T::hash_primary_key(key);
        let found = t.ordinals_with_key_hash(h, |b| {
            crate::read_root::<T>(b).is_ok_and(|r| T::has_primary_key(key, &r))
        })?;
        for o in found {
            t.remove(o);
        }
        Ok(())
    }
}

impl Producer {
    /// A producer publishing to `store` and announcing through `announcer`.
    pub fn builder(store: Arc<dyn BlobStore>, announcer: Arc<dyn Announcer>) -> ProducerBuilder {
        ProducerBuilder {
            store,
            announcer,
            validators: Vec::new(),
            snapshot_interval: 1,
            minter: Box::new(|last| last.map_or(1, |v| v + 1)),
            tags: Vec::new(),
            state: WriteState::default(),
            events: Listeners::default(),
            scratch_dir: None,
            sections: blob::SectionOptions::default(),
            compression: Compression::default(),
            #[cfg(feature = "test-hooks")]
            tamper: None,
        }
    }

    /// The last version this producer announced (or restored).
    pub fn announced(&self) -> Option<u64> {
        self.announced
    }

    /// The read state of the last announced version (what consumers see).
    pub fn read_state(&self) -> Option<&ReadState> {
        self.read.as_ref()
    }

    /// Runs a cycle whose closure adds the whole state.
    ///
    /// Returns the new version, or `version: None` when nothing changed.
    ///
    /// # Errors
    /// The closure's error, an encoding error, a duplicate primary key, a
    /// store failure, a failed integrity check or validator, or a lost
    /// announcement race; in every case nothing is announced and the write
    /// state is as before the cycle.
    pub async fn run_cycle<F>(&mut self, populate: F) -> Result<CycleOutcome, Error>
    where
        F: FnOnce(&mut CycleWriter<'_>) -> Result<(), Error>,
    {
        self.cycle_with(false, "the populate closure failed", |state, cycle| {
            populate(&mut CycleWriter { state, cycle })
        })
        .await
    }

    /// Runs a cycle that changes the last state by primary key: cost in
    /// proportion to the change (plus the snapshot, when one is due).
    ///
    /// # Errors
    /// As [`Producer::run_cycle`]; also a type without a primary key, and
    /// [`ErrorKind::Schema`] while a breaking schema change (allowed by
    /// [`ProducerBuilder::allow_breaking_schema`]) awaits its first full
    /// cycle.
    pub async fn run_incremental<F>(&mut self, change: F) -> Result<CycleOutcome, Error>
    where
        F: FnOnce(&mut IncrementalWriter<'_>) -> Result<(), Error>,
    {
        self.cycle_with(true, "the change closure failed", |state, cycle| {
            change(&mut IncrementalWriter { state, cycle })
        })
        .await
    }

    /// Starts a cycle from an empty state (full) or the last state
    /// (incremental), lets `fill` change it, then finishes it.
    async fn cycle_with(
        &mut self,
        incremental: bool,
        what: &'static str,
        fill: impl FnOnce(&mut WriteState, u64) -> Result<(), Error>,
    ) -> Result<CycleOutcome, Error> {
        let started = Instant::now();
        let cycle = self.published + 1;
        self.events.emit(&Event::CycleStarted { cycle });
        for t in &mut self.state.types {
            if incremental {
                t.next = t.current.clone();
            } else {
                t.next.clear();
            }
        }
        // A breaking schema change (allowed, see `allow_breaking_schema`)
        // dropped the records of the types it breaks: only a full cycle
        // can publish the state after it.
        let refuse_incremental = |state: &WriteState| match state.schema_break {
            Some(from) if incremental => Err(Error::new(
                ErrorKind::Schema,
                format!(
                    "run_incremental refused: the record types changed in a breaking way since \
                     version {from}, and the records of the types it breaks were not carried \
                     over; a full run_cycle must publish the new schema first"
                ),
            )),
            _ => Ok(()),
        };
        let filled = refuse_incremental(&self.state).and_then(|()| {
            fill(&mut self.state, cycle).map_err(|e| {
                // The producer's own schema refusal keeps its kind.
                if e.kind() == ErrorKind::Schema {
                    e
                } else {
                    Error::with_source(ErrorKind::Populate, what, e)
                }
            })
        });
        let filled = filled.and_then(|()| refuse_incremental(&self.state));
        if filled.is_ok() {
            self.events.emit(&Event::Populated {
                cycle,
                records: self
                    .state
                    .types
                    .iter()
                    .map(|t| (t.name.clone(), u64::from(t.next_count())))
                    .collect(),
            });
        }
        let result = match filled {
            Ok(()) => self.publish(started).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(outcome) => {
                self.events.emit(&Event::CycleSucceeded {
                    cycle,
                    version: outcome.version,
                    duration: outcome.duration,
                });
                Ok(outcome)
            }
            Err(e) => {
                self.state.rollback();
                tracing::warn!(error = %e, "cycle failed; rolled back, nothing announced");
                self.events.emit(&Event::CycleFailed {
                    cycle,
                    kind: e.kind(),
                    error: e.to_string(),
                    duration: started.elapsed(),
                });
                Err(e)
            }
        }
    }

    /// Rebuilds the write state from the announced version (restarting a
    /// producer): ordinals are kept, so the next cycle writes a delta.
    ///
    /// # Errors
    /// Nothing announced, or the version cannot be loaded.
    pub async fn restore_latest(&mut self) -> Result<Option<u64>, Error> {
        match self.announcer.announced().await? {
            None => Ok(None),
            Some(v) => self.restore(v).await.map(Some),
        }
    }

    /// Rebuilds the write state from `version` (loaded from the store by the
    /// consumer's update planner).
    ///
    /// A declared record type (`record_type::<T>()`) that gained fields since
    /// `version` was written continues the history with its new schema: the
    /// next cycle publishes a delta and a snapshot carrying it, and records
    /// left unchanged keep their bytes and ordinals.
    ///
    /// The restored records were checked by whichever producer wrote them,
    /// against the keys it declared, which may not be this producer's. So
    /// the first cycle after a restore checks the primary key of every
    /// record it holds, not only of those it adds (unique keys are checked
    /// in full by every producer's first cycle anyway): a clash fails that
    /// cycle, naming the type and key, until the data no longer has it. A
    /// type first used after the restore (not declared with
    /// `record_type`) is checked the same way.
    ///
    /// Free ordinals (below the restored version's ordinal limit, holding
    /// no record) are reused as the producer that published `version`
    /// would reuse them, so producers restored for every cycle (batch jobs)
    /// keep the ordinal limit and snapshot size of one long-running
    /// producer: those removed by `version` itself wait a cycle, as every
    /// removed ordinal does (no ordinal is reused by the version right
    /// after the one that removed it), every other one is reused at once.
    /// Which ones `version` removed is read from its delta in the store
    /// (or, failing that, from its reverse delta); when neither is there or
    /// readable (retention deleted them, say), every free ordinal waits the
    /// cycle.
    ///
    /// A declared type that changed in a breaking way since `version` (see
    /// [`hollow_schema::evolution`]) is refused, unless the producer was
    /// built with
    /// [`allow_breaking_schema`](ProducerBuilder::allow_breaking_schema):
    /// then the records of every type the change breaks are left out, and
    /// the next cycle, a full [`run_cycle`](Producer::run_cycle), publishes
    /// a snapshot alone.
    ///
    /// The next cycle mints a version above every version a blob in the
    /// store names, not only above `version`: after a rollback (an older
    /// version announced over newer ones) or a cycle that failed after
    /// storing blobs, those versions keep their blobs and are never
    /// overwritten.
    ///
    /// # Errors
    /// The store cannot be listed; the version cannot be reached from the
    /// blobs in the store ([`ErrorKind::Planning`], naming each blob found
    /// unusable on the way and why), or a
    /// declared type changed in a breaking way since (a field's type,
    /// ordinal or offset changed, a field, union member or enumerant
    /// removed, a union reordered) and breaking changes are not allowed:
    /// [`ErrorKind::Schema`], listing each breaking change with the type,
    /// the field and both definitions. Nothing is written, and the producer
    /// is as before the call.
    pub async fn restore(&mut self, version: u64) -> Result<u64, Error> {
        let parent = self
            .scratch_dir
            .clone()
            .or_else(|| self.store.scratch_dir())
            .unwrap_or_else(std::env::temp_dir);
        let scratch = ScratchDir::create(&parent, RESTORE_SCRATCH).map_err(|e| {
            Error::with_source(
                ErrorKind::Store,
                format!(
                    "restoring version {version}: cannot create a scratch directory in {}",
                    parent.display()
                ),
                e,
            )
        })?;
        let state =
            crate::consumer::load_version(self.store.clone(), scratch.path(), version, None).await;
        let held = match &state {
            Ok(s) => removed_into(&*self.store, scratch.path(), s).await,
            Err(_) => None,
        };
        drop(scratch);
        let (state, taken) = (state?, taken(&*self.store, version).await?);
        let cycle = self.published + 1;
        let mut ws = WriteState::default();
        // Keep typed functions of declared types.
        let known: Vec<(String, Option<write_state::TypedFns>)> = self
            .state
            .types
            .iter()
            .map(|t| (t.name.clone(), t.fns))
            .collect();
        // A declared type's schema is the producer's: it may have gained
        // fields since `version` was written (see `evolve`). Old records
        // need no re-encoding, so only the schema and section sizes change.
        let mut declared = hollow_schema::Schema::new();
        for t in self.state.types.iter().filter(|t| t.fns.is_some()) {
            declared = evolve::merged(&declared, &t.schema);
        }
        let schema = evolve::merged(&declared, state.schema());
        // `schema` is what this producer writes: the change from `state`'s.
        let diff = hollow_schema::evolution::diff(state.schema(), &schema);
        // The types whose restored records cannot be carried over (only
        // with breaking changes allowed).
        let mut broken = Vec::new();
        if diff.is_breaking() {
            if !self.state.allow_breaking {
                return Err(evolve::refusal(
                    &diff,
                    version,
                    &format!("cannot continue version {version} with this producer's types"),
                ));
            }
            broken = evolve::broken_types(state.schema(), &schema, state.type_names());
            tracing::warn!(
                version,
                types = ?broken,
                "breaking schema change allowed: the next version is a snapshot alone"
            );
        }
        for name in state.type_names().map(str::to_string).collect::<Vec<_>>() {
            let typed = self
                .state
                .types
                .iter()
                .find(|t| t.name == name && t.fns.is_some());
            let (size, type_schema) = match typed {
                Some(t) => {
                    let restored = state.schema().get_struct(&name).map(|s| s.size);
                    if restored.is_some_and(|r| r != t.size) {
                        tracing::info!(
                            type_name = %name,
                            version,
                            "restoring with the producer's evolved schema for this type"
                        );
                    }
                    (t.size, t.schema.clone())
                }
                None => (
                    schema.get_struct(&name).map(|s| s.size).unwrap_or_default(),
                    schema.clone(),
                ),
            };
            let fns = known.iter().find(|(n, _)| *n == name).and_then(|(_, f)| *f);
            let mut tw = TypeWrite::new(&name, size, type_schema, fns);
            let records = state.raw_records(&name).filter(|_| !broken.contains(&name));
            if let Some(raw) = records {
                // One budget for all the walks: records sharing values
                // cannot make the restore read more than the blobs justify.
                let mut budget = raw.walk_budget();
                let mut words = Vec::new();
                for o in 0..raw.ordinal_limit() {
                    if let Some(r) = raw.get(o) {
                        crate::wire::canonicalize_struct_within(&r, &mut words, &mut budget)
                            .map_err(|e| {
                                Error::new(
                                    ErrorKind::CorruptBlob,
                                    format!("restoring {name} ordinal {o}: {e}"),
                                )
                            })?;
                        let bytes = crate::wire::as_le_bytes(&mut words).to_vec();
                        tw.restore_record(o, bytes);
                    }
                }
                tw.limit = tw.limit.max(raw.ordinal_limit());
            }
            let removed = held
                .as_ref()
                .map(|h| h.get(&name).cloned().unwrap_or_default());
            tw.finish_restore(cycle, removed.as_ref());
            ws.insert(tw);
        }
        for (name, fns) in known {
            if ws.get_mut(&name).is_none() {
                if let Some(t) = self.state.types.iter().find(|t| t.name == name) {
                    ws.insert(TypeWrite::new(&name, t.size, t.schema.clone(), fns));
                }
            }
        }
        ws.continues = Some(version);
        ws.allow_breaking = self.state.allow_breaking;
        ws.schema_break = diff.is_breaking().then_some(version);
        self.state = ws;
        (self.announced, self.taken) = (Some(version), taken);
        self.read = Some(state);
        self.since_snapshot = 0;
        Ok(version)
    }
}

/// The highest version a blob in `store` names: after a rollback (an
/// operator announced an older version), the versions above it keep their
/// blobs, and the next version must be above them all, or it would
/// overwrite them.
async fn taken(store: &dyn BlobStore, restoring: u64) -> Result<Option<u64>, Error> {
    let names = store.list().await.map_err(|e| {
        Error::with_source(
            ErrorKind::Store,
            format!(
                "restoring version {restoring}: listing {} for the versions taken",
                store.describe()
            ),
            e,
        )
    })?;
    Ok(names
        .iter()
        .map(|n| n.to_version().max(n.from_version()))
        .max())
}

/// The ordinals that the delta into `state` removed, per type: those a
/// producer continuing from `state` must not reuse in its next cycle (the
/// reverse delta of the restored version adds them back). Read from the
/// store's delta into the state's version whose result is this very state
/// (same tag), or else from the reverse delta leaving it (whose additions
/// are the same ordinals). `None` when neither is in the store or readable
/// (a first version, or one whose delta retention deleted): the caller
/// then holds back every free ordinal. A blob that cannot be fetched or
/// read is logged and skipped.
async fn removed_into(
    store: &dyn BlobStore,
    dir: &std::path::Path,
    state: &ReadState,
) -> Option<std::collections::HashMap<String, Bits>> {
    let v = state.version();
    let names = match store.list().await {
        Ok(names) => names,
        Err(e) => {
            tracing::warn!(version = v, error = %e, "listing the store to restore failed");
            return None;
        }
    };
    let into = names
        .iter()
        .filter(|n| matches!(n, BlobName::Delta { to, .. } if *to == v));
    let leaving = names
        .iter()
        .filter(|n| matches!(n, BlobName::ReverseDelta { from, .. } if *from == v));
    for &name in into.chain(leaving) {
        match removed_by(store, dir, name, state).await {
            Ok(Some(removed)) => return Some(removed),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(blob = %name, version = v, error = %e, "unreadable while restoring");
            }
        }
    }
    tracing::info!(
        version = v,
        "no delta into the restored version: every free ordinal waits a cycle"
    );
    None
}

/// The ordinals that `name` (a delta into `state`, or a reverse delta
/// leaving it) shows removed by `state`'s own delta, per type; `None` when
/// the blob belongs to another state of the same version. Ordinals at or
/// above the type's ordinal limit in `state` are left out: they cannot be
/// free ordinals of it.
async fn removed_by(
    store: &dyn BlobStore,
    dir: &std::path::Path,
    name: BlobName,
    state: &ReadState,
) -> Result<Option<std::collections::HashMap<String, Bits>>, Error> {
    let path = dir.join(name.to_string());
    if !path.exists() {
        store.fetch(name, &path).await.map_err(|e| {
            Error::with_source(
                ErrorKind::Store,
                format!("fetching {name} from {} failed", store.describe()),
                e,
            )
        })?;
    }
    let bytes = std::fs::read(&path)
        .map_err(|e| Error::with_source(ErrorKind::Io, format!("reading {name}"), e))?;
    let blob_name = name.to_string();
    let view = blob::BlobView::open(&blob_name, &bytes)
        .map_err(|e| Error::with_source(ErrorKind::CorruptBlob, format!("opening {name}"), e))?;
    let prefix = view.prefix();
    let forward = matches!(name, BlobName::Delta { .. });
    let tag = if forward {
        prefix.to_tag
    } else {
        prefix.from_tag
    };
    if prefix.kind != name.kind() || tag != state.tag() {
        return Ok(None);
    }
    let mut removed = std::collections::HashMap::new();
    for section in view.sections() {
        let type_name = section.type_name();
        let limit = state
            .raw_records(type_name)
            .map_or(0, |r| r.ordinal_limit());
        let d = section.delta().map_err(|e| {
            Error::with_source(
                ErrorKind::CorruptBlob,
                format!("reading {name} section {type_name}"),
                e,
            )
        })?;
        // A type in several sections (shards) gathers them all.
        let bits: &mut Bits = removed.entry(type_name.to_string()).or_default();
        let ordinals: Box<dyn Iterator<Item = u32>> = if forward {
            Box::new(d.removed())
        } else {
            Box::new(d.added().map(|(o, _)| o))
        };
        for o in ordinals.filter(|&o| o < limit) {
            bits.set(o, true);
        }
    }
    Ok(Some(removed))
}

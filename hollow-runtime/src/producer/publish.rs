//! Publishing a cycle, in named stages: diff every type, plan the version,
//! write the snapshot, delta and reverse delta (each through
//! [`Producer::write_blob`]), verify them, store and announce, commit.
//!
//! Blobs are not built in memory: a snapshot section is written to a
//! temporary file as it is built (only its fixed part, the records'
//! elements, is held; their objects are written out in pieces), a delta
//! section once built; the blob is assembled from them into another
//! temporary file, and that file is mapped for the integrity check (which
//! reads its checksum from the file, not the map) and the new read state;
//! the store is given the file to read
//! ([`BlobStore::put_file`](crate::BlobStore::put_file)).
//! Once a version is announced, the pages its read state maps are given
//! back to the kernel (they stay in the page cache, read again on use), so
//! between cycles the producer holds its records, not its blobs.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;
use std::time::Instant;

use hollow_schema::Schema;

use super::integrity::Expected;
use super::{CycleOutcome, Producer, TypeWrite, SCHEMA_BREAK_TAG};
use crate::blob::{self, BlobKind, BlobName, BlobWriter, SectionInfo};
use crate::error::{Error, ErrorKind};
use crate::events::Event;
use crate::read_state::ReadState;
use crate::store::{Encoding, LocalBlob};

/// A type's change in the cycle being built: removed and added ordinals.
type Diff = (Vec<u32>, Vec<u32>);

/// A blob written to an unnamed temporary file, mapped.
pub(super) type BlobFile = Arc<(memmap2::Mmap, File)>;

/// The blobs of a cycle, in the order they are stored: snapshot, delta,
/// reverse delta (those the cycle writes).
type Blobs = Vec<(BlobName, BlobFile)>;

/// What a cycle publishes, decided before any blob is written.
struct CyclePlan {
    /// The version being published.
    version: u64,
    /// The announced version the delta and reverse delta join (none for a
    /// first version or a breaking schema change: a snapshot alone).
    joined: Option<u64>,
    /// Whether the cycle writes a snapshot.
    snapshot_due: bool,
    /// The previous state's tag (0 when there is none).
    from_tag: u64,
    /// The new state's tag.
    to_tag: u64,
}

impl Producer {
    /// Publishes the cycle built in the write state: diff, plan, write the
    /// blobs, verify them, store and announce, commit. Nothing is announced
    /// unless every stage succeeds; the caller rolls the write state back
    /// on an error.
    pub(super) async fn publish(&mut self, started: Instant) -> Result<CycleOutcome, Error> {
        let cycle = self.published + 1;
        let diffs = self.diff_types()?;
        let changed = diffs.iter().any(|(r, a)| !r.is_empty() || !a.is_empty());
        let Some(plan) = self.plan(changed)? else {
            // The records just checked are the published ones.
            for t in &mut self.state.types {
                t.keys_checked();
            }
            self.state.rollback();
            return Ok(CycleOutcome {
                version: None,
                duration: started.elapsed(),
                ..CycleOutcome::default()
            });
        };
        let expected: Vec<Expected<'_>> = self
            .state
            .types
            .iter()
            .zip(&diffs)
            .map(|(t, (removed, added))| Expected {
                name: &t.name,
                count: t.next_count(),
                checksum: t.next_checksum(removed, added),
            })
            .collect();
        let blobs = self.write_blobs(&plan, &diffs, &expected)?;
        #[cfg(feature = "test-hooks")]
        let blobs = tampered(&mut self.tamper, blobs);
        let new_read = self.verify(plan.version, &blobs, &expected)?;
        let changes = self
            .state
            .types
            .iter()
            .zip(&diffs)
            .map(|(t, (removed, added))| (t.name.clone(), added.len(), removed.len()))
            .collect();
        let published = self.store_and_announce(&plan, &blobs).await?;
        self.commit(cycle, &plan, new_read);
        for (_, file) in &blobs {
            give_back_pages(file);
        }
        // What the new read state maps: the snapshot, or the deltas.
        self.read_files = match blobs.iter().find(|(n, _)| n.kind() == BlobKind::Snapshot) {
            Some((_, snapshot)) => vec![snapshot.clone()],
            None => blobs.into_iter().map(|(_, f)| f).collect(),
        };
        tracing::info!(version = plan.version, blobs = published.len(), "announced");
        Ok(CycleOutcome {
            version: Some(plan.version),
            blobs: published,
            changes,
            duration: started.elapsed(),
        })
    }

    /// Diffs every type against its published state, refusing a primary
    /// key held twice or a unique key clash.
    fn diff_types(&mut self) -> Result<Vec<Diff>, Error> {
        let mut diffs = Vec::with_capacity(self.state.types.len());
        for t in &mut self.state.types {
            t.compact_fresh();
            let (removed, added) = t.diff();
            if let Some(key) = t.duplicate_key(&added) {
                return Err(Error::new(
                    ErrorKind::Record,
                    format!("two {} records have the primary key {key}", t.name),
                ));
            }
            t.check_unique(&removed, &added)
                .map_err(|e| Error::new(ErrorKind::Record, e))?;
            diffs.push((removed, added));
        }
        Ok(diffs)
    }

    /// The version this cycle publishes and the blobs it writes; `None`
    /// when nothing `changed` and a delta would do (nothing to publish).
    fn plan(&mut self, changed: bool) -> Result<Option<CyclePlan>, Error> {
        // A breaking schema change is published as a snapshot alone.
        let schema_break = self.state.schema_break;
        let first = self.announced.is_none() || self.read.is_none() || schema_break.is_some();
        if !changed && !first {
            return Ok(None);
        }
        // Above every version taken (a rollback's abandoned versions too).
        let last = self.announced.max(self.taken);
        let version = (self.minter)(last);
        if let Some(prev) = last {
            if version <= prev {
                return Err(Error::new(
                    ErrorKind::Planning,
                    format!(
                        "the version minter returned {version}, not above the announced \
                         or taken {prev}"
                    ),
                ));
            }
        }
        Ok(Some(CyclePlan {
            version,
            joined: self.announced.filter(|_| schema_break.is_none()),
            snapshot_due: first || self.since_snapshot + 1 >= self.snapshot_interval,
            from_tag: self.read.as_ref().map_or(0, ReadState::tag),
            to_tag: random_tag(),
        }))
    }

    /// Writes the cycle's blobs: a snapshot when due, and a delta and a
    /// reverse delta when the version joins the announced one.
    fn write_blobs(
        &self,
        plan: &CyclePlan,
        diffs: &[Diff],
        expected: &[Expected<'_>],
    ) -> Result<Blobs, Error> {
        let schema = self.state.schema();
        let tags = self.blob_tags();
        let version = plan.version;
        let mut names = Vec::with_capacity(3);
        if plan.snapshot_due {
            names.push(BlobName::Snapshot(version));
        }
        if let Some(prev) = plan.joined {
            names.push(BlobName::Delta {
                from: prev,
                to: version,
            });
            names.push(BlobName::ReverseDelta {
                from: version,
                to: prev,
            });
        }
        names
            .into_iter()
            .map(|name| {
                let file = self.write_blob(name, plan, diffs, expected, &schema, &tags)?;
                Ok((name, file))
            })
            .collect()
    }

    /// Writes one blob of the cycle, a section per type (or per shard),
    /// each written to a temporary file as it is built (a snapshot's) or
    /// once built (a delta's); the blob, assembled in another, mapped.
    fn write_blob(
        &self,
        name: BlobName,
        plan: &CyclePlan,
        diffs: &[Diff],
        expected: &[Expected<'_>],
        schema: &Schema,
        tags: &[(String, String)],
    ) -> Result<BlobFile, Error> {
        let kind = name.kind();
        let (from_tag, to_tag) = match kind {
            BlobKind::Snapshot => (0, plan.to_tag),
            BlobKind::Delta => (plan.from_tag, plan.to_tag),
            BlobKind::ReverseDelta => (plan.to_tag, plan.from_tag),
        };
        let (from, to) = (name.from_version(), name.to_version());
        let spool = self.temp_file().map_err(|e| spool_error(name, e))?;
        let mut writer = BlobWriter::new(kind, from, to, from_tag, to_tag)
            .spool_into(spool)
            .map_err(|e| spool_error(name, e))?;
        let types = self.state.types.iter().zip(diffs).zip(expected);
        for ((t, (removed, added)), next) in types {
            let shards = match kind {
                BlobKind::Snapshot => {
                    // Written as it is built: only its elements are held.
                    snapshot_part(self.sections, t, next, &mut writer)?;
                    continue;
                }
                BlobKind::Delta => {
                    delta_part(self.sections, t, removed, added, next.count, next.checksum)?
                }
                BlobKind::ReverseDelta => delta_part(
                    self.sections,
                    t,
                    added,
                    removed,
                    t.current.count(),
                    t.checksum,
                )?,
            };
            // A type past the shard limit is in several sections.
            for (info, bytes) in shards {
                writer.add_section(info, bytes);
            }
        }
        let file = self.temp_file().map_err(|e| spool_error(name, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, &file);
        writer
            .write_to_writer(schema, tags, &mut out)
            .and_then(|_| out.flush())
            .map_err(|e| {
                let header = e
                    .get_ref()
                    .is_some_and(|i| i.is::<crate::blob::BlobError>());
                if header {
                    // The blob's own error (its header), not the file's.
                    Error::with_source(
                        ErrorKind::Record,
                        "cannot write the header section".to_string(),
                        e,
                    )
                } else {
                    spool_error(name, e)
                }
            })?;
        drop(out);
        map_blob(file).map_err(|e| spool_error(name, e))
    }

    /// An unnamed temporary file in the scratch directory (see
    /// `ProducerBuilder::scratch_dir`), else the system's.
    fn temp_file(&self) -> io::Result<File> {
        match self
            .scratch_dir
            .clone()
            .or_else(|| self.store.scratch_dir())
        {
            Some(dir) => tempfile::tempfile_in(dir),
            None => tempfile::tempfile(),
        }
    }

    /// The producer's tags, with the schema-break tag when the cycle
    /// publishes a breaking schema change.
    fn blob_tags(&self) -> Cow<'_, [(String, String)]> {
        match self.state.schema_break {
            Some(from) => {
                let tag = (SCHEMA_BREAK_TAG.to_string(), from.to_string());
                Cow::Owned(self.tags.iter().cloned().chain([tag]).collect())
            }
            None => Cow::Borrowed(&self.tags),
        }
    }

    /// Checks the blobs (see [`check_integrity`](Self::check_integrity))
    /// and runs the validators on the new read state, which it returns.
    fn verify(
        &self,
        version: u64,
        blobs: &[(BlobName, BlobFile)],
        expected: &[Expected<'_>],
    ) -> Result<ReadState, Error> {
        let started = Instant::now();
        let new_read = self.check_integrity(version, blobs, expected)?;
        self.events.emit(&Event::IntegrityChecked {
            version,
            blobs: blobs.len(),
            duration: started.elapsed(),
        });
        let started = Instant::now();
        let ctx = super::ValidationContext {
            version,
            previous: self.read.as_ref(),
            next: &new_read,
        };
        for v in &self.validators {
            v.validate(&ctx).map_err(|e| {
                Error::with_source(
                    ErrorKind::Validation,
                    format!("validator {} refused version {version}: {e}", v.name()),
                    e,
                )
            })?;
        }
        self.events.emit(&Event::Validated {
            version,
            validators: self.validators.len(),
            duration: started.elapsed(),
        });
        Ok(new_read)
    }

    /// Stores the blobs, then announces the version; returns each stored
    /// blob's name and size.
    async fn store_and_announce(
        &self,
        plan: &CyclePlan,
        blobs: &[(BlobName, BlobFile)],
    ) -> Result<Vec<(BlobName, u64)>, Error> {
        let version = plan.version;
        // A producer whose last announced version is no longer the
        // announcement (another producer announced since) would overwrite
        // that producer's blobs of the same version names, and only then
        // lose the compare-and-swap: refuse before writing.
        let now = self.announcer.announced().await?;
        if now != self.announced {
            return Err(Error::new(
                ErrorKind::AnnounceConflict,
                format!(
                    "version {version} not published: the announced version is {now:?}, \
                     not {:?} as this producer last announced or restored; \
                     another producer is publishing (restore to continue from it)",
                    self.announced
                ),
            ));
        }
        if !plan.snapshot_due {
            // A snapshot of this version number may be left over from a
            // cycle that failed after storing it (a producer restored since
            // writes its first snapshot later), or from an earlier history
            // in the same store: consumers would load it as this version.
            let name = BlobName::Snapshot(version);
            self.store.delete(name).await.map_err(|e| {
                Error::with_source(
                    ErrorKind::Store,
                    format!(
                        "deleting a stale {name} from {} failed",
                        self.store.describe()
                    ),
                    e,
                )
            })?;
        }
        let mut published = Vec::with_capacity(blobs.len());
        for (name, file) in blobs {
            let bytes: &[u8] = &file.0;
            // The store reads the file in pieces if it can, not the map: the
            // blob's pages stay out of the producer's resident memory.
            let blob = LocalBlob::new(&file.1, bytes);
            let stored = self.store.put_file(*name, blob, self.compression).await;
            stored.map_err(|e| {
                // A store that refuses because another producer is
                // publishing this version (an object store's version claim)
                // lost the race as surely as a failed announcement.
                Error::with_source(
                    ErrorKind::of_store(&e),
                    format!(
                        "publishing {name} of version {version} to {} failed",
                        self.store.describe()
                    ),
                    e,
                )
            })?;
            published.push((*name, bytes.len() as u64));
            self.blob_written(version, *name, bytes.len() as u64).await;
        }
        self.announcer.announce(version, self.announced).await?;
        self.events.emit(&Event::Announced {
            version,
            previous: self.announced,
        });
        Ok(published)
    }

    /// Reports blob `name` of `version` stored: its stored size is the
    /// store's [`stat`](crate::BlobStore::stat) of it when compressed (asked
    /// only when a listener is registered).
    async fn blob_written(&self, version: u64, name: BlobName, plain_bytes: u64) {
        if self.events.is_empty() {
            return;
        }
        let mut encoding = self.compression.encoding();
        let stored_bytes = if encoding == Encoding::Plain {
            Some(plain_bytes)
        } else {
            match self.store.stat(name).await {
                Ok(stat) => {
                    encoding = stat.encoding;
                    Some(stat.stored_bytes)
                }
                Err(e) => {
                    tracing::warn!(blob = %name, error = %e, "cannot stat a blob just stored");
                    None
                }
            }
        };
        self.events.emit(&Event::BlobWritten {
            version,
            blob: name,
            encoding,
            plain_bytes,
            stored_bytes,
        });
    }

    /// Makes the announced cycle the producer's published state.
    fn commit(&mut self, cycle: u64, plan: &CyclePlan, new_read: ReadState) {
        for t in &mut self.state.types {
            t.commit(cycle);
        }
        self.published = cycle;
        self.since_snapshot = if plan.snapshot_due {
            0
        } else {
            self.since_snapshot + 1
        };
        self.announced = Some(plan.version);
        self.state.continues = Some(plan.version);
        self.state.schema_break = None;
        self.read = Some(new_read);
    }
}

/// Adds a type's snapshot sections (one, or its shards) to `writer`.
fn snapshot_part(
    options: blob::SectionOptions,
    t: &TypeWrite,
    next: &Expected<'_>,
    writer: &mut BlobWriter,
) -> Result<(), Error> {
    blob::write_snapshot_shards(
        options,
        &t.name,
        t.size,
        t.limit,
        &t.next.words(t.limit),
        |o| t.bytes(o).unwrap_or(&[]),
        (next.count, next.checksum),
        writer,
    )
    .map_err(|e| blob_error(&t.name, e))
}

/// A type's delta section (removing `removed`, adding the records at
/// `added`) and its directory entry: a delta's, or with the two swapped, a
/// reverse delta's.
fn delta_part(
    options: blob::SectionOptions,
    t: &TypeWrite,
    removed: &[u32],
    added: &[u32],
    state_count: u32,
    state_checksum: u64,
) -> Result<Vec<(SectionInfo, Vec<u8>)>, Error> {
    let adds: Vec<(u32, &[u8])> = added
        .iter()
        .map(|&o| (o, t.bytes(o).unwrap_or(&[])))
        .collect();
    blob::delta_shards(
        options,
        &t.name,
        t.size,
        removed,
        &adds,
        t.limit,
        (state_count, state_checksum),
    )
    .map_err(|e| blob_error(&t.name, e))
}

/// The blobs as the test hook
/// [`tamper_blobs`](super::ProducerBuilder::tamper_blobs) changes them.
#[cfg(feature = "test-hooks")]
fn tampered(hook: &mut Option<super::Tamper>, blobs: Blobs) -> Blobs {
    let Some(tamper) = hook else {
        return blobs;
    };
    blobs
        .into_iter()
        .map(|(name, file)| {
            let mut bytes = file.0.to_vec();
            tamper(&name, &mut bytes);
            let copy = tempfile::tempfile()
                .and_then(|mut f| f.write_all(&bytes).map(|()| f))
                .and_then(map_blob);
            match copy {
                Ok(c) => (name, c),
                // The hook is for tests; the blob stays as written.
                Err(e) => {
                    tracing::warn!(blob = %name, error = %e, "tampered blob not written");
                    (name, file)
                }
            }
        })
        .collect()
}

/// Maps a blob written to `file`.
fn map_blob(file: File) -> io::Result<BlobFile> {
    // SAFETY: `file` is an unnamed temporary file only this producer
    // holds: nothing else can change or truncate it while it is mapped.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(Arc::new((map, file)))
}

/// Drops the pages of a blob's map from the producer's resident memory:
/// a later read maps them again from the page cache (or the file, which
/// nothing changes: see `map_blob`).
pub(super) fn give_back_pages(file: &BlobFile) {
    if let Err(e) = crate::mapping::give_back_pages(&file.0) {
        tracing::debug!(error = %e, "a blob's pages were not given back");
    }
}

fn spool_error(name: BlobName, e: io::Error) -> Error {
    Error::with_source(
        ErrorKind::Io,
        format!("cannot write {name} to a temporary file"),
        e,
    )
}

fn blob_error(what: &str, e: crate::blob::BlobError) -> Error {
    Error::with_source(
        ErrorKind::Record,
        format!("cannot write the {what} section"),
        e,
    )
}

fn random_tag() -> u64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: time and address entropy still make collisions
        // between two states of one dataset vanishingly unlikely.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        return crate::encode::hash_bytes(&t.to_le_bytes()) | 1;
    }
    u64::from_le_bytes(b) | 1
}

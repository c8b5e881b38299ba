//! One version's records: read straight from its snapshot when the store
//! has one, else from the nearest earlier snapshot with the deltas after it
//! applied.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use hollow_runtime::blob::{verify_checksum_stream, BlobView, SnapshotSectionView};
use hollow_runtime::schema::Schema;
use hollow_runtime::store::BlobName;
use hollow_runtime::wire::StructReader;
use hollow_runtime::ReadState;
use memmap2::Mmap;

use crate::error::CliError;
use crate::store::{BlobCopy, Store};

/// A version, loaded.
pub enum Loaded {
    /// Its snapshot, mapped from this process's own copy.
    Snapshot {
        /// The version.
        version: u64,
        /// The snapshot's bytes.
        map: Arc<Mmap>,
        /// The copy the bytes are mapped from.
        copy: Arc<BlobCopy>,
    },
    /// A read state built from an earlier snapshot and deltas.
    State(ReadState),
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loaded::Snapshot { version, .. } => write!(f, "Loaded::Snapshot({version})"),
            Loaded::State(s) => write!(f, "Loaded::State({})", s.version()),
        }
    }
}

/// The forward deltas from `from` to `to`, in order (the shortest chain),
/// if the store has such a chain.
pub fn delta_chain(store: &Store, from: u64, to: u64) -> Option<Vec<BlobName>> {
    if from == to {
        return Some(Vec::new());
    }
    let mut edges: HashMap<u64, Vec<u64>> = HashMap::new();
    for n in store.blobs() {
        if let BlobName::Delta { from: a, to: b } = *n {
            if b > a && a >= from && b <= to {
                edges.entry(a).or_default().push(b);
            }
        }
    }
    // Breadth-first from `from`.
    let mut came: BTreeMap<u64, u64> = BTreeMap::new();
    let mut frontier = vec![from];
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for v in frontier {
            for &w in edges.get(&v).map_or(&[][..], Vec::as_slice) {
                if came.contains_key(&w) || w == from {
                    continue;
                }
                came.insert(w, v);
                if w == to {
                    let mut steps = Vec::new();
                    let mut at = to;
                    while at != from {
                        let prev = came[&at];
                        steps.push(BlobName::Delta { from: prev, to: at });
                        at = prev;
                    }
                    steps.reverse();
                    return Some(steps);
                }
                next.push(w);
            }
        }
        frontier = next;
    }
    None
}

impl Loaded {
    /// Loads `version` of `store`.
    ///
    /// # Errors
    /// No snapshot and delta chain reaches the version, or a blob on the
    /// way is corrupt.
    pub fn load(store: &Store, version: u64) -> Result<Loaded, CliError> {
        if store.has(BlobName::Snapshot(version)) {
            let copy = store.copy(BlobName::Snapshot(version))?;
            return Ok(Loaded::Snapshot {
                version,
                map: Arc::clone(copy.map()),
                copy,
            });
        }
        let snapshots: Vec<u64> = store
            .blobs()
            .iter()
            .filter_map(|n| match n {
                BlobName::Snapshot(v) if *v < version => Some(*v),
                _ => None,
            })
            .collect();
        for &s in snapshots.iter().rev() {
            let Some(steps) = delta_chain(store, s, version) else {
                continue;
            };
            let name = BlobName::Snapshot(s);
            let mut state = ReadState::open_snapshot(name, store.map(name)?)?;
            for step in steps {
                state = state.apply_blob(step, store.map(step)?)?;
            }
            return Ok(Loaded::State(state));
        }
        Err(CliError::new(format!(
            "version {version} of store {} cannot be read: no snapshot-{version}, and no \
             earlier snapshot with a chain of deltas to it",
            store.describe()
        )))
    }

    /// Lets the kernel take back the pages of a mapped snapshot read so far
    /// (they are read again from the page cache if touched again), so a
    /// scan of the whole snapshot keeps the process's resident memory flat
    /// whatever the snapshot's size. Nothing to do for a read state.
    pub fn release_pages(&self) {
        if let Loaded::Snapshot { map, .. } = self {
            // SAFETY: the map is a read-only shared mapping (`Mmap::map`:
            // PROT_READ, MAP_SHARED) of this process's private copy of the
            // blob, which nothing modifies, so MADV_DONTNEED only drops this
            // process's page table entries: the next read of a page faults
            // it back in from the file with the same bytes. No reference
            // sees changed contents.
            let _ = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }

    /// Opens the loaded version for reading (checks a snapshot's checksum
    /// and sections).
    ///
    /// # Errors
    /// A corrupt snapshot.
    pub fn view(&self) -> Result<View<'_>, CliError> {
        match self {
            Loaded::Snapshot { version, map, copy } => {
                let name = BlobName::Snapshot(*version).to_string();
                // The checksum is computed reading the copy in pieces, not
                // through the map, so checking a large snapshot does not
                // bring all of it into this process's memory.
                verify_checksum_stream(&name, copy.reader(), map.len() as u64)?;
                let blob = BlobView::open_prechecked(&name, map)?;
                // A type's sections: its only one, or its shards in
                // ascending ordinal ranges (as `open` checked).
                let mut sections: BTreeMap<String, Vec<SnapshotSectionView<'_>>> = BTreeMap::new();
                for s in blob.sections() {
                    sections
                        .entry(s.type_name().to_owned())
                        .or_default()
                        .push(s.snapshot()?);
                }
                Ok(View {
                    version: *version,
                    schema: blob.header().schema.clone(),
                    inner: Inner::Snapshot(sections),
                })
            }
            Loaded::State(s) => Ok(View {
                version: s.version(),
                schema: s.schema().clone(),
                inner: Inner::State(s),
            }),
        }
    }
}

/// A type's sections in a snapshot, ascending by ordinal range.
type Shards<'a> = Vec<SnapshotSectionView<'a>>;

/// The section of `shards` whose range holds `ordinal`.
fn shard_of<'s, 'a>(shards: &'s Shards<'a>, ordinal: u32) -> Option<&'s SnapshotSectionView<'a>> {
    let i = shards.partition_point(|s| s.first_ordinal() <= ordinal);
    shards.get(i.checked_sub(1)?)
}

enum Inner<'a> {
    Snapshot(BTreeMap<String, Shards<'a>>),
    State(&'a ReadState),
}

/// A version's records by type and ordinal.
pub struct View<'a> {
    version: u64,
    schema: Schema,
    inner: Inner<'a>,
}

impl std::fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "View({})", self.version)
    }
}

impl<'a> View<'a> {
    /// The version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The dataset schema, from the blob header.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Number of records of `type_name`.
    pub fn count(&self, type_name: &str) -> usize {
        match &self.inner {
            Inner::Snapshot(s) => s
                .get(type_name)
                .map_or(0, |v| v.iter().map(|x| x.ordinals().count()).sum()),
            Inner::State(s) => s.count(type_name),
        }
    }

    /// One past the highest ordinal of `type_name` that may be populated.
    pub fn ordinal_limit(&self, type_name: &str) -> u32 {
        match &self.inner {
            Inner::Snapshot(s) => s
                .get(type_name)
                .and_then(|v| v.last())
                .map_or(0, |v| v.ordinal_limit()),
            Inner::State(s) => s.raw_records(type_name).map_or(0, |r| r.ordinal_limit()),
        }
    }

    /// The record of `type_name` at `ordinal`, if populated.
    pub fn get(&self, type_name: &str, ordinal: u32) -> Option<StructReader<'_>> {
        match &self.inner {
            Inner::Snapshot(s) => shard_of(s.get(type_name)?, ordinal)?.record_reader(ordinal),
            Inner::State(s) => s.raw_records(type_name)?.get(ordinal),
        }
    }

    /// Every record of `type_name` with its ordinal, in ordinal order.
    pub fn iter<'v>(
        &'v self,
        type_name: &'v str,
    ) -> Box<dyn Iterator<Item = (u32, StructReader<'v>)> + 'v> {
        // The section or table is looked up once, not per record.
        match &self.inner {
            Inner::Snapshot(s) => match s.get(type_name) {
                Some(shards) => Box::new(shards.iter().flat_map(|sec| {
                    (sec.first_ordinal()..sec.ordinal_limit())
                        .filter_map(move |o| sec.record_reader(o).map(|r| (o, r)))
                })),
                None => Box::new(std::iter::empty()),
            },
            Inner::State(s) => match s.raw_records(type_name) {
                Some(raw) => Box::new(
                    (0..raw.ordinal_limit()).filter_map(move |o| raw.get(o).map(|r| (o, r))),
                ),
                None => Box::new(std::iter::empty()),
            },
        }
    }
}

/// The canonical bytes of the record `r` as a message of its own (root
/// pointer first), to keep a record beyond the blob it was read from.
///
/// # Errors
/// The record's pointers are out of bounds or exceed the limits.
pub fn owned_record(r: &StructReader<'_>) -> Result<Vec<u8>, CliError> {
    let mut words = Vec::new();
    hollow_runtime::wire::canonicalize_struct(r, &mut words)
        .map_err(|e| CliError::new(format!("a record cannot be read: {e}")))?;
    Ok(words.iter().flat_map(|w| w.to_le_bytes()).collect())
}

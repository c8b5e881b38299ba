//! The read state: one version of the dataset, held in memory-mapped (or
//! owned) blobs and read in place.
//!
//! A [`ReadState`] is immutable. Loading a snapshot costs O(types): every
//! ordinal reads straight from the snapshot's record list (types whose
//! records hold maps or sets excepted: their stored order is checked
//! record by record). Applying a delta
//! builds a new state that shares everything with the old one except the
//! table chunks the delta touches, so it costs O(records changed), and a
//! reader holding the old state keeps seeing exactly the old version.

mod checks;
mod indexes;
mod loaded;
mod order;
mod rewrite;
mod table;

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hollow_schema::Schema;

use crate::compiled::Compiled;
pub(crate) use checks::SchemaChecks;
pub use indexes::{DynIndex, HashIndex, IndexBase, IndexView, IndexViewOf, UniqueIndex, ViewOf};
use loaded::SectionPos;
pub(crate) use loaded::{BlobBytes, LoadedBlob};
use table::{loc, loc_parts, Loc, OrdinalTable, EMPTY};

use crate::blob::{state_mix, BlobName};
use crate::encode::hash_bytes;
use crate::error::{Error, ErrorKind};
use crate::index::{
    IndexOptions, IndexSet, IndexSource, IndexSpec, LookupRecords, ReadFn, TypeDelta, UniqueLookup,
};
use crate::record::Struct;
use crate::wire::{as_le_bytes, canonicalize_struct, ListReader, StructReader};

/// One record type in a read state.
#[derive(Clone, Debug)]
pub(crate) struct TypeRead {
    name: String,
    table: OrdinalTable,
    count: u32,
    checksum: u64,
    /// Per blob slot: where this type's section is in the blob and where
    /// its record list is (resolved once, so reads do no lookups by name).
    slots: Vec<Option<SlotPos>>,
    /// The [`Compiled::id`] of the compiled type last found to read this
    /// state's schema right (0 for none yet): what makes a second
    /// [`ReadState::records`] of that type cost one compare. Shared by
    /// the states of one schema.
    verified: Arc<AtomicUsize>,
    /// Records still read from the base snapshot's later shards (slots
    /// `1..` of the base; the first shard's are the table's base set):
    /// with those, the records the base snapshot holds.
    later_base: u32,
}

impl TypeRead {
    /// The traversal budget of every section of this type the state reads
    /// from: what one walk of all its records may cost (records sharing
    /// values cannot make it read more than those sections justify).
    fn walk_budget(&self) -> u64 {
        self.slots
            .iter()
            .flatten()
            .map(|s| crate::wire::traversal_budget(s.seg.len as u64 / 8))
            .fold(0u64, u64::saturating_add)
    }
}

/// A type's section in one blob: its bytes and record list, and where
/// that list's records are.
#[derive(Clone, Copy, Debug)]
struct SlotPos {
    seg: SegRef,
    records: crate::wire::ListPosition,
    elements: Elements,
}

impl SlotPos {
    /// The section at `pos` of `blob`.
    fn of(blob: &LoadedBlob, pos: &SectionPos) -> SlotPos {
        let bytes = blob.section_bytes(pos);
        let records = pos.records;
        SlotPos {
            seg: SegRef::of(bytes),
            records,
            elements: Elements::of(&ListReader::at_position(bytes, records), u32::MAX),
        }
    }

    /// The section's record list, for as long as `blobs` are held.
    #[inline(always)]
    fn records<'s>(&self, blobs: &'s [Arc<LoadedBlob>]) -> ListReader<'s> {
        ListReader::at_position(self.seg.get(blobs), self.records)
    }

    /// Record `i` of the section's list (`None` past its end), with no
    /// bounds check past the compare with its length.
    #[inline(always)]
    fn record<'s>(&self, blobs: &'s [Arc<LoadedBlob>], i: u32) -> Option<StructReader<'s>> {
        // SAFETY: `elements` was made from this very list (`of`).
        unsafe { self.elements.get(&self.records(blobs), i) }
    }
}

/// Where the structs of a record list are, checked once against the
/// list's segment: element `i` below `n` starts at byte
/// `start_byte + i * per_bytes`, its data section `data_bytes` long, and
/// every such element lies within the segment. A reader of many records
/// then finds each with one compare and arithmetic.
#[derive(Clone, Copy, Debug, Default)]
struct Elements {
    start_byte: usize,
    per_bytes: usize,
    data_bytes: usize,
    n: u32,
}

impl Elements {
    /// The elements of `list` (none unless it is a list of structs), at
    /// most `cap` of them.
    fn of(list: &ListReader<'_>, cap: u32) -> Elements {
        let Some((start, per)) = list.struct_words() else {
            return Elements::default();
        };
        let fit = match per {
            0 => usize::MAX,
            _ => list.seg_words().saturating_sub(start) / per,
        };
        Elements {
            start_byte: start * 8,
            per_bytes: per * 8,
            data_bytes: list.data_bytes(),
            n: (list.len() as usize).min(fit).min(cap as usize) as u32,
        }
    }

    /// The word element `i` starts at, if it is one.
    #[inline(always)]
    fn word(&self, i: u32) -> Option<usize> {
        self.byte(i).map(|b| b / 8)
    }

    /// The byte element `i`'s data section starts at, if it is one.
    #[inline(always)]
    fn byte(&self, i: u32) -> Option<usize> {
        (i < self.n).then(|| self.start_byte + i as usize * self.per_bytes)
    }

    /// Element `i` of `list`, if it is one, with no bounds check past the
    /// compare with `n`.
    ///
    /// # Safety
    /// `list` is the list these elements were made from ([`Elements::of`]),
    /// whose length `of` capped so that every element below `n` lies
    /// within its segment (the sums cannot overflow, being at most the
    /// segment's length in bytes).
    #[inline(always)]
    unsafe fn get<'s>(&self, list: &ListReader<'s>, i: u32) -> Option<StructReader<'s>> {
        let byte = self.byte(i)?;
        // SAFETY: `byte` is of an element below `n`, in `list`'s segment
        // (as the caller promises).
        Some(unsafe { list.struct_at_byte_unchecked(byte, self.data_bytes) })
    }
}

/// The bytes of a type's section in a blob, found once, so reading a
/// record there costs no trip through the blob.
#[derive(Clone, Copy, Debug)]
struct SegRef {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: a `SegRef` only stands for a shared slice of a blob's bytes,
// which are never written; `&[u8]` is `Send + Sync`.
unsafe impl Send for SegRef {}
// SAFETY: as for `Send`.
unsafe impl Sync for SegRef {}

impl SegRef {
    fn of(seg: &[u8]) -> SegRef {
        SegRef {
            ptr: std::ptr::NonNull::from(seg).cast(),
            len: seg.len(),
        }
    }

    /// The bytes, for as long as `blobs` are held.
    ///
    /// Only ever called with the blobs of the state the `SegRef` was made
    /// in: a `TypeRead` lives in one state, or is copied into the next,
    /// whose blobs are the same ones and more (`blobs` only grows).
    #[inline(always)]
    fn get<'s>(&self, _blobs: &'s [Arc<LoadedBlob>]) -> &'s [u8] {
        // SAFETY: the slice was borrowed from one of `blobs` (each held by
        // `Arc`) for as long as they are held; a blob's bytes (a map or
        // a vector behind an `Arc`, or what `AsRef` gave for a shared
        // reference) never move or change while it is held.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

/// The records of one type in the base snapshot, for the ordinals still
/// read from there, with the ordinal table's set of those ordinals
/// ([`OrdinalTable::at_base_words`]) borrowed: a reader of many records
/// finds each of them with one compare, one bit test and arithmetic, with
/// no load through the table. Empty for a type the base snapshot lacks.
#[derive(Clone, Copy)]
struct BaseReader<'s> {
    records: ListReader<'s>,
    at_base: &'s [u64],
    /// The list's elements (see [`Elements`]), no more than `at_base` has
    /// bits for.
    elements: Elements,
}

impl<'s> BaseReader<'s> {
    fn new(records: ListReader<'s>, table: &'s OrdinalTable) -> Self {
        let at_base = table.at_base_words();
        let cap = at_base.len().saturating_mul(64).min(u32::MAX as usize) as u32;
        BaseReader {
            records,
            at_base,
            elements: Elements::of(&records, cap),
        }
    }

    /// A reader that finds no record (for a type the base lacks).
    fn empty() -> Self {
        BaseReader {
            records: ListReader::empty(),
            at_base: &[],
            elements: Elements::default(),
        }
    }

    /// Whether ordinal `o` is read from here.
    #[inline(always)]
    fn has(&self, o: u32) -> bool {
        if o >= self.elements.n {
            return false;
        }
        // SAFETY: `n` is at most 64 bits per word of `at_base` (`new`).
        let w = unsafe { *self.at_base.get_unchecked(o as usize / 64) };
        (w >> (o % 64)) & 1 == 1
    }

    /// The word the record at ordinal `o` starts at, when it is read from
    /// here.
    #[inline(always)]
    fn word(&self, o: u32) -> Option<usize> {
        self.elements.word(o).filter(|_| self.has(o))
    }

    /// The record at ordinal `o`, when it is read from here, with no
    /// bounds check past the compare with the list's checked length.
    #[inline(always)]
    fn get(&self, o: u32) -> Option<StructReader<'s>> {
        if !self.has(o) {
            return None;
        }
        // SAFETY: `elements` was made from `records` (`new`).
        unsafe { self.elements.get(&self.records, o) }
    }

    /// The record starting at `word` (from [`BaseReader::word`]; bounds
    /// checked, as any word could be passed).
    #[inline(always)]
    fn at(&self, word: usize) -> StructReader<'s> {
        self.records.struct_at_word(word)
    }
}

/// One section of a delta blob, its lists found.
struct DeltaSection<'b> {
    /// The blob's name (for messages).
    blob: BlobName,
    type_name: &'b str,
    pos: &'b SectionPos,
    /// The ordinals removed.
    removed: ListReader<'b>,
    /// The ordinals added, in the order of `records`.
    added: ListReader<'b>,
    /// The records added.
    records: ListReader<'b>,
    /// The section's length in words (what reading its records may cost).
    words: u64,
}

impl<'b> DeltaSection<'b> {
    /// Section `type_name` of `blob`, at `pos`.
    ///
    /// # Errors
    /// [`ErrorKind::CorruptBlob`]: it is not a delta section.
    fn of(blob: &'b LoadedBlob, type_name: &'b str, pos: &'b SectionPos) -> Result<Self, Error> {
        let name = blob.name();
        let (Some(removed), Some(added)) = (pos.removed, pos.added) else {
            return Err(Error::new(
                ErrorKind::CorruptBlob,
                format!("blob {name}: section {type_name} is not a delta section"),
            ));
        };
        let seg = blob.section_bytes(pos);
        Ok(DeltaSection {
            blob: name,
            type_name,
            pos,
            removed: ListReader::at_position(seg, removed),
            added: ListReader::at_position(seg, added),
            records: ListReader::at_position(seg, pos.records),
            words: seg.len() as u64 / 8,
        })
    }
}

/// Gives the pages of mapped blobs back to the kernel every so many
/// records read while a delta is applied (see
/// [`ReadState::apply_giving_back`]).
struct PageRelease {
    blobs: Vec<Arc<LoadedBlob>>,
    /// Records read between two releases; 0 for never.
    every: u32,
    /// Records left to read before the next release.
    left: u32,
}

impl PageRelease {
    /// Never gives pages back.
    fn none() -> Self {
        PageRelease::new(Vec::new(), 0)
    }

    /// Gives the pages of `blobs` back after every `every` records read.
    fn new(blobs: Vec<Arc<LoadedBlob>>, every: u32) -> Self {
        PageRelease {
            blobs,
            every,
            left: every,
        }
    }

    /// One more record was read.
    #[inline]
    fn tick(&mut self) {
        if self.every == 0 {
            return;
        }
        self.left -= 1;
        if self.left == 0 {
            self.release();
            self.left = self.every;
        }
    }

    /// Gives the pages back now.
    fn release(&self) {
        for b in &self.blobs {
            b.give_back_pages();
        }
    }
}

/// One version of the dataset, read in place.
///
/// Obtained from a consumer (`consumer.current()`); cheap to hold, never
/// changes.
#[derive(Clone)]
pub struct ReadState {
    version: u64,
    tag: u64,
    schema: Arc<Schema>,
    header_tags: Arc<Vec<(String, String)>>,
    blobs: Vec<Arc<LoadedBlob>>,
    types: Vec<TypeRead>,
    index: Arc<HashMap<String, usize>>,
    /// The record types kept (a filtering consumer's), `None` for all:
    /// deltas' sections of other types are skipped.
    only: Option<Arc<[String]>>,
    /// The indexes (built, or to build on first use).
    indexes: Arc<IndexSet>,
    /// Time spent updating indexes when this state was made by a delta.
    index_update: std::time::Duration,
    /// Each updated index's own update time (name, time).
    index_updates: Arc<Vec<(String, std::time::Duration)>>,
    /// The compiled types read from this state and the states made from
    /// it, with what comparing them with each schema found.
    checks: Arc<SchemaChecks>,
    /// The slots the base snapshot takes (one per section of its most
    /// sharded type, at least 1).
    base_slots: usize,
    /// [`checks::schema_hash`] of `schema`.
    schema_hash: u64,
    /// How long the schema check took when this state was made.
    schema_check: std::time::Duration,
    /// `schema` read dynamically, to check the stored order of maps and
    /// sets; `None` when it has none.
    order: Option<Arc<crate::dynamic::DynamicSchema>>,
}

impl fmt::Debug for ReadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadState")
            .field("version", &self.version)
            .field(
                "types",
                &self
                    .types
                    .iter()
                    .map(|t| (&t.name, t.count))
                    .collect::<Vec<_>>(),
            )
            .field(
                "blobs",
                &self.blobs.iter().map(|b| b.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ReadState {
    /// Builds the state of a snapshot blob, keeping only `types` (all when
    /// `None`), with no compiled type registered yet.
    pub(crate) fn from_snapshot(
        blob: Arc<LoadedBlob>,
        types: Option<&[String]>,
    ) -> Result<Self, Error> {
        Self::from_snapshot_checked(blob, types, Arc::default())
    }

    /// [`ReadState::from_snapshot`], first comparing every compiled type
    /// registered in `checks` with the blob's schema.
    ///
    /// # Errors
    /// [`ErrorKind::Schema`]: a registered type conflicts with the blob's
    /// schema (naming the blob, the type, the field and both
    /// definitions); what [`ReadState::from_snapshot`] finds.
    pub(crate) fn from_snapshot_checked(
        blob: Arc<LoadedBlob>,
        types: Option<&[String]>,
        checks: Arc<SchemaChecks>,
    ) -> Result<Self, Error> {
        let BlobName::Snapshot(version) = blob.name() else {
            return Err(Error::new(
                ErrorKind::Planning,
                format!("blob {} is not a snapshot", blob.name()),
            ));
        };
        let started = std::time::Instant::now();
        let schema_hash = checks::schema_hash(blob.schema());
        check_blob(&checks, &blob, schema_hash)?;
        let schema_check = started.elapsed();
        let mut out = ReadState {
            version,
            tag: blob.result_tag(),
            schema: Arc::new(blob.schema().clone()),
            header_tags: Arc::new(blob.tags().to_vec()),
            // Slot `j`: the `j`-th section of each type (its only one but
            // in a type sharded by ordinal range).
            blobs: vec![blob.clone(); blob.shard_slots()],
            types: Vec::new(),
            index: Arc::new(HashMap::new()),
            only: types.map(Arc::from),
            indexes: Arc::new(IndexSet::default()),
            index_update: std::time::Duration::ZERO,
            index_updates: Arc::default(),
            checks,
            base_slots: blob.shard_slots(),
            schema_hash,
            schema_check,
            order: order::order_schema(blob.schema(), &blob.name())?,
        };
        let mut index = HashMap::new();
        for (name, shards) in blob.types() {
            if types.is_some_and(|t| !t.iter().any(|n| n == name)) {
                continue;
            }
            let mut table = OrdinalTable::from_snapshot(0, 0, &[]);
            let mut slots = Vec::with_capacity(shards.len());
            let mut later_base = 0u32;
            for (j, pos) in shards.iter().enumerate() {
                let bitmap = pos.populated.ok_or_else(|| {
                    Error::new(
                        ErrorKind::CorruptBlob,
                        format!(
                            "blob {}: snapshot section {name} has no bitmap",
                            blob.name()
                        ),
                    )
                })?;
                let at = SlotPos::of(&blob, pos);
                let populated =
                    ListReader::at_position(at.seg.get(&out.blobs), bitmap).eight_byte_body();
                if j == 0 {
                    // The first shard (ordinals from 0) is the base that
                    // most reads find their record in with no table load.
                    table = OrdinalTable::from_snapshot(pos.ordinal_limit, 0, populated);
                } else {
                    // A later shard's records are written in the table:
                    // O(its records) to load.
                    table.raise_limit(pos.ordinal_limit);
                    let span = pos.ordinal_limit.saturating_sub(pos.first_ordinal);
                    let bits = crate::bits::Bits::from_le_bytes(populated, span);
                    for i in bits.iter() {
                        table.set(pos.first_ordinal + i, loc(j as u32, i));
                        later_base = later_base.saturating_add(1);
                    }
                }
                slots.push(Some(at));
            }
            let Some(first) = shards.first() else {
                continue;
            };
            index.insert(name.clone(), out.types.len());
            out.types.push(TypeRead {
                name: name.clone(),
                table,
                count: first.state_count,
                checksum: first.state_checksum,
                slots,
                verified: Arc::default(),
                later_base,
            });
        }
        out.index = Arc::new(index);
        out.check_order_loaded(&blob.name())?;
        Ok(out)
    }

    /// The state after applying a delta or reverse delta: refused unless the
    /// blob applies to this state's tag, or when a compiled type read from
    /// this state conflicts with the blob's schema; the per-type record
    /// counts and checksums the blob's header promises are verified.
    pub(crate) fn apply(&self, blob: Arc<LoadedBlob>) -> Result<ReadState, Error> {
        self.apply_releasing(blob, &mut PageRelease::none())
    }

    /// [`ReadState::apply`], giving the pages of the memory-mapped blobs
    /// it reads (this state's and `blob`) back to the kernel after every
    /// `every` records read (removed or added), and at the end. Reading a
    /// few records at random from a mapped file maps most of it, the
    /// kernel's fault-around mapping pages 16 at a time; so applying a
    /// delta holds only the pages of the last few records read. The pages
    /// stay in the page cache. For a producer's integrity check (a
    /// consumer keeps the pages of the records it reads).
    ///
    /// # Errors
    /// As [`ReadState::apply`].
    pub(crate) fn apply_giving_back(
        &self,
        blob: Arc<LoadedBlob>,
        every: u32,
    ) -> Result<ReadState, Error> {
        let blobs: Vec<_> = self.distinct_blobs().chain([&blob]).cloned().collect();
        let mut release = PageRelease::new(blobs, every);
        let next = self.apply_releasing(blob, &mut release);
        // And at the end, also after a failure.
        release.release();
        next
    }

    fn apply_releasing(
        &self,
        blob: Arc<LoadedBlob>,
        release: &mut PageRelease,
    ) -> Result<ReadState, Error> {
        self.check_applies(&blob)?;
        let mut next = self.next_version(&blob)?;
        // The blob's slots: the first holds each type's first (or only)
        // section, the next ones its later shards.
        let slot = (next.blobs.len() - blob.shard_slots()) as u32;
        // What each type with a built index lost and gained, for the
        // indexes to follow.
        let mut changes: HashMap<String, TypeDelta<'_>> = HashMap::new();
        let standing = self.indexes.standing();
        for (type_name, shards) in blob.types() {
            if next
                .only
                .as_ref()
                .is_some_and(|only| !only.iter().any(|n| n == type_name))
            {
                continue;
            }
            let sections = shards
                .into_iter()
                .map(|pos| DeltaSection::of(&blob, type_name, pos))
                .collect::<Result<Vec<_>, _>>()?;
            let indexed = standing.maintains(type_name);
            let removed_locs = next.apply_section(&blob, slot, &sections, indexed, release)?;
            if indexed {
                changes.insert(type_name.clone(), self.type_delta(&sections, removed_locs));
            }
        }
        let started = std::time::Instant::now();
        let updated = self.indexes.apply_change(&standing, &changes, &next);
        drop(changes);
        next.take_indexes(updated, started, blob.name())?;
        Ok(next)
    }

    /// Refuses `blob` unless it is a delta or reverse delta that applies to
    /// this state's tag.
    fn check_applies(&self, blob: &LoadedBlob) -> Result<(), Error> {
        let name = blob.name();
        if matches!(name, BlobName::Snapshot(_)) {
            return Err(Error::new(
                ErrorKind::Planning,
                format!("blob {name} is a snapshot, not a delta"),
            ));
        }
        if blob.origin_tag() != self.tag {
            return Err(Error::new(
                ErrorKind::WrongState,
                format!(
                    "blob {name} applies to state {:016x}, but the current state (version {}) is {:016x}",
                    blob.origin_tag(),
                    self.version,
                    self.tag
                ),
            ));
        }
        Ok(())
    }

    /// This state with `blob` added as its newest blob slot, taking the
    /// blob's version, tag, schema and header tags (its records not yet
    /// applied): refused when a compiled type read from this state
    /// conflicts with the blob's schema.
    fn next_version(&self, blob: &Arc<LoadedBlob>) -> Result<ReadState, Error> {
        let started = std::time::Instant::now();
        // Most deltas carry the schema held: comparing is cheaper than
        // hashing.
        let same_schema = blob.schema() == &*self.schema;
        let schema_hash = if same_schema {
            self.schema_hash
        } else {
            checks::schema_hash(blob.schema())
        };
        check_blob(&self.checks, blob, schema_hash)?;
        let schema_check = started.elapsed();
        let mut next = self.clone();
        next.schema_check = schema_check;
        // One slot for each of a type's sections (one but for a type
        // sharded by ordinal range).
        for _ in 0..blob.shard_slots() {
            next.blobs.push(blob.clone());
        }
        next.version = blob.name().to_version();
        next.tag = blob.result_tag();
        if !same_schema {
            // What was found to read the old schema right says nothing of
            // the new one.
            next.schema_hash = schema_hash;
            next.schema = Arc::new(blob.schema().clone());
            next.order = order::order_schema(blob.schema(), &blob.name())?;
            for t in &mut next.types {
                t.verified = Arc::default();
            }
        }
        next.header_tags = Arc::new(blob.tags().to_vec());
        Ok(next)
    }

    /// The index of type `type_name` in `types`, added (empty) when the
    /// state holds none yet.
    fn type_index(&mut self, type_name: &str) -> usize {
        if let Some(&ti) = self.index.get(type_name) {
            return ti;
        }
        let ti = self.types.len();
        Arc::make_mut(&mut self.index).insert(type_name.to_string(), ti);
        self.types.push(TypeRead {
            name: type_name.to_string(),
            table: OrdinalTable::from_snapshot(0, 0, &[]),
            count: 0,
            checksum: 0,
            slots: Vec::new(),
            verified: Arc::default(),
            later_base: 0,
        });
        ti
    }

    /// Applies a type's sections of the delta whose first slot is `slot`
    /// (its only section, or its shards by ordinal range, shard `j` in slot
    /// `slot + j`): each one's removed ordinals, then its added records,
    /// checking that the type reaches the count and checksum the blob
    /// promises. Gives where each removed record was, when `indexed` (its
    /// indexes read them).
    fn apply_section(
        &mut self,
        blob: &LoadedBlob,
        slot: u32,
        sections: &[DeltaSection<'_>],
        indexed: bool,
        release: &mut PageRelease,
    ) -> Result<Vec<Loc>, Error> {
        let Some(section) = sections.first() else {
            return Ok(Vec::new());
        };
        let ti = self.type_index(section.type_name);
        let mut t = self.types[ti].clone();
        let mut words = Vec::new();
        let mut removed_locs = Vec::new();
        for (j, shard) in sections.iter().enumerate() {
            let at = slot + j as u32;
            t.slots.resize(at as usize, None);
            t.slots.push(Some(SlotPos::of(blob, shard.pos)));
            // Removals first: their hashes come from the state being
            // left. (Shards hold disjoint ordinal ranges: one's removals
            // never touch another's additions.)
            removed_locs.extend(self.remove_records(&mut t, shard, indexed, &mut words, release)?);
            self.add_records(&mut t, at, shard, &mut words, release)?;
        }
        let (pos, name, type_name) = (section.pos, section.blob, section.type_name);
        if t.count != pos.state_count || t.checksum != pos.state_checksum {
            return Err(Error::new(
                ErrorKind::CorruptBlob,
                format!(
                    "blob {name}: {type_name} does not reach the promised state \
                     ({} records, checksum {:016x}; expected {} records, checksum {:016x})",
                    t.count, t.checksum, pos.state_count, pos.state_checksum
                ),
            ));
        }
        self.types[ti] = t;
        Ok(removed_locs)
    }

    /// Takes the section's removed ordinals out of type `t`, giving where
    /// their records were when `keep_locs`.
    fn remove_records(
        &self,
        t: &mut TypeRead,
        section: &DeltaSection<'_>,
        keep_locs: bool,
        words: &mut Vec<u64>,
        release: &mut PageRelease,
    ) -> Result<Vec<Loc>, Error> {
        let (name, type_name, removed) = (section.blob, section.type_name, &section.removed);
        let mut locs = Vec::new();
        for i in 0..removed.len() {
            let o = removed.u32_at(i);
            let l = t.table.get(o);
            if l == EMPTY {
                return Err(Error::new(
                    ErrorKind::CorruptBlob,
                    format!("blob {name}: {type_name} ordinal {o} removed but not present"),
                ));
            }
            if keep_locs {
                locs.push(l);
            }
            // A record of a later shard of the base snapshot leaves it.
            let (slot, _) = loc_parts(l);
            if slot >= 1 && slot < self.base_slots {
                t.later_base = t.later_base.saturating_sub(1);
            }
            let r = self.reader_at(t, l);
            let h = record_hash(&r, words).map_err(|e| {
                Error::new(
                    ErrorKind::CorruptBlob,
                    format!("blob {name}: {type_name} ordinal {o}: {e}"),
                )
            })?;
            t.checksum = t.checksum.wrapping_sub(state_mix(o, h));
            t.count = t.count.saturating_sub(1);
            t.table.set(o, EMPTY);
            release.tick();
        }
        Ok(locs)
    }

    /// Puts the section's added records into type `t`, from blob slot
    /// `slot`.
    fn add_records(
        &self,
        t: &mut TypeRead,
        slot: u32,
        section: &DeltaSection<'_>,
        words: &mut Vec<u64>,
        release: &mut PageRelease,
    ) -> Result<(), Error> {
        let (name, type_name) = (section.blob, section.type_name);
        let (added, records) = (&section.added, &section.records);
        if added.len() != records.len() {
            return Err(Error::new(
                ErrorKind::CorruptBlob,
                format!(
                    "blob {name}: section {type_name} has {} added ordinals but {} records",
                    added.len(),
                    records.len()
                ),
            ));
        }
        // A producer numbers a cycle's new records from the lowest free
        // ordinal and then contiguously from its limit, so a delta
        // raises the limit by at most the records it adds. Held to that,
        // a delta cannot make the table grow past what its bytes hold.
        let bound = u64::from(t.table.limit()) + u64::from(added.len());
        let order = self.order_check(type_name);
        // The added records' walks share one budget: records sharing
        // values cannot make applying the section read more than its size
        // justifies.
        let mut budget = crate::wire::traversal_budget(section.words);
        for k in 0..added.len() {
            let o = added.u32_at(k);
            if u64::from(o) >= bound {
                return Err(Error::new(
                    ErrorKind::CorruptBlob,
                    format!(
                        "blob {name}: {type_name} added ordinal {o} lies past the ordinal \
                         limit held ({}) plus the {} records added",
                        t.table.limit(),
                        added.len()
                    ),
                ));
            }
            let r = records.struct_at(k);
            let h = record_hash_within(&r, words, &mut budget).map_err(|e| {
                Error::new(
                    ErrorKind::CorruptBlob,
                    format!("blob {name}: {type_name} added ordinal {o}: {e}"),
                )
            })?;
            if t.table.get(o) != EMPTY {
                return Err(Error::new(
                    ErrorKind::CorruptBlob,
                    format!("blob {name}: {type_name} ordinal {o} added but already present"),
                ));
            }
            if let Some(why) = order.and_then(|c| c.problem(r)) {
                return Err(Error::new(
                    ErrorKind::CorruptBlob,
                    format!("blob {name}: {type_name} added ordinal {o}: {why}"),
                ));
            }
            t.checksum = t.checksum.wrapping_add(state_mix(o, h));
            t.count = t.count.saturating_add(1);
            t.table.set(o, loc(slot, k));
            release.tick();
        }
        Ok(())
    }

    /// What `section` changed in its type, as the type's indexes in this
    /// (the state left) read it; `removed_locs` are where the removed
    /// records were.
    fn type_delta<'a>(
        &'a self,
        sections: &[DeltaSection<'a>],
        removed_locs: Vec<Loc>,
    ) -> TypeDelta<'a> {
        let type_name = sections.first().map_or("", |s| s.type_name);
        let old_type = self.index.get(type_name).map(|&i| &self.types[i]);
        let u32s = |l: &ListReader<'a>| (0..l.len()).map(|i| l.u32_at(i)).collect::<Vec<_>>();
        TypeDelta {
            removed: sections.iter().flat_map(|s| u32s(&s.removed)).collect(),
            removed_at: Box::new(move |k| Some(self.reader_at(old_type?, *removed_locs.get(k)?))),
            added: sections.iter().flat_map(|s| u32s(&s.added)).collect(),
            added_lists: sections.iter().map(|s| s.records).collect(),
            old: self.read_fn(type_name),
        }
    }

    /// Takes the indexes [`IndexSet::apply_change`] carried to this
    /// state from the one `blob` was applied to (the update started at
    /// `started`), and builds those not built yet unless they are built on
    /// first use.
    fn take_indexes(
        &mut self,
        updated: Result<(IndexSet, Vec<(String, std::time::Duration)>), String>,
        started: std::time::Instant,
        blob: BlobName,
    ) -> Result<(), Error> {
        let fail = |e: String| Error::new(ErrorKind::CorruptBlob, format!("blob {blob}: {e}"));
        let (set, times) = updated.map_err(fail)?;
        self.indexes = Arc::new(set);
        self.index_updates = Arc::new(times);
        self.index_update = started.elapsed();
        self.indexes.build_unless_lazy(&*self).map_err(fail)?;
        Ok(())
    }

    /// The state of the snapshot blob `name` (for tools that read a store
    /// directly, such as the `hollow` CLI; consumers do this for you). The
    /// bytes are typically a memory map of the blob's file.
    ///
    /// # Errors
    /// [`ErrorKind::CorruptBlob`]: the blob is corrupt, or not the snapshot
    /// its name says; [`ErrorKind::Planning`]: `name` is not a snapshot.
    pub fn open_snapshot(
        name: BlobName,
        bytes: Arc<dyn AsRef<[u8]> + Send + Sync>,
    ) -> Result<ReadState, Error> {
        let blob = LoadedBlob::open(name, BlobBytes::any(bytes))?;
        ReadState::from_snapshot(Arc::new(blob), None)
    }

    /// The state after applying the delta or reverse delta blob `name` to
    /// this one (for tools, as [`open_snapshot`](Self::open_snapshot)).
    /// The per-type record counts and checksums the blob promises are
    /// verified.
    ///
    /// # Errors
    /// [`ErrorKind::CorruptBlob`]: the blob is corrupt, not what its name
    /// says, or does not reach the state it promises;
    /// [`ErrorKind::WrongState`]: it applies to another state.
    pub fn apply_blob(
        &self,
        name: BlobName,
        bytes: Arc<dyn AsRef<[u8]> + Send + Sync>,
    ) -> Result<ReadState, Error> {
        let blob = LoadedBlob::open(name, BlobBytes::any(bytes))?;
        self.apply(Arc::new(blob))
    }

    /// Registers indexes to maintain (built now unless `options.lazy`;
    /// every later state made by [`ReadState::apply`] keeps them up to date),
    /// first checking every record when `options.check_records` is set.
    ///
    /// # Errors
    /// Two records share a primary or unique key; with
    /// `options.check_records`, what [`ReadState::check_records`] finds.
    pub(crate) fn with_indexes(
        mut self,
        specs: &[IndexSpec],
        options: IndexOptions,
    ) -> Result<Self, Error> {
        if options.check_records {
            self.check_records()?;
        }
        self.indexes = Arc::new(IndexSet::for_specs(specs, options));
        self.indexes.build_unless_lazy(&self).map_err(|e| {
            Error::new(
                ErrorKind::CorruptBlob,
                format!("version {}: {e}", self.version),
            )
        })?;
        Ok(self)
    }

    /// How long updating the indexes took when this state was made from
    /// the previous one by a delta or reverse delta (zero for a snapshot).
    pub fn index_update_time(&self) -> std::time::Duration {
        self.index_update
    }

    /// Each index updated when this state was made by a delta or reverse
    /// delta, by name, with the time its own update took (indexes are
    /// updated in parallel, so these can add up to more than
    /// [`ReadState::index_update_time`]). Empty for a snapshot.
    pub fn index_update_times(&self) -> &[(String, std::time::Duration)] {
        &self.index_updates
    }

    pub(crate) fn index_set(&self) -> &IndexSet {
        &self.indexes
    }

    #[inline]
    fn reader_at(&self, t: &TypeRead, l: u64) -> StructReader<'_> {
        self.located(t, l).unwrap_or(StructReader::empty())
    }

    /// The record list of type `t` in blob slot `slot`.
    #[inline(always)]
    fn list_in(&self, t: &TypeRead, slot: usize) -> Option<ListReader<'_>> {
        Some(t.slots.get(slot)?.as_ref()?.records(&self.blobs))
    }

    /// The record at location `l` (`None` for [`EMPTY`], or a location
    /// with no record there).
    #[inline(always)]
    fn located(&self, t: &TypeRead, l: Loc) -> Option<StructReader<'_>> {
        let (slot, index) = loc_parts(l);
        t.slots.get(slot)?.as_ref()?.record(&self.blobs, index)
    }

    /// The blob slot and word of the record at location `l` (`None` as
    /// for [`ReadState::located`]).
    #[inline(always)]
    fn word_at(&self, t: &TypeRead, l: Loc) -> Option<(u32, usize)> {
        let (slot, index) = loc_parts(l);
        Some((
            slot as u32,
            t.slots.get(slot)?.as_ref()?.elements.word(index)?,
        ))
    }

    /// The record of type `t` starting at `word` of blob slot `slot` (from
    /// [`ReadState::word_at`]; empty for a slot without the type).
    #[inline(always)]
    fn struct_at(&self, t: &TypeRead, slot: u32, word: usize) -> StructReader<'_> {
        match self.list_in(t, slot as usize) {
            Some(list) => list.struct_at_word(word),
            None => StructReader::empty(),
        }
    }

    /// The version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The random tag of this state (deltas name the tag they apply to).
    pub fn tag(&self) -> u64 {
        self.tag
    }

    /// The dataset schema, as the producer wrote it.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// A header tag set by the producer.
    pub fn header_tag(&self, key: &str) -> Option<&str> {
        self.header_tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every header tag.
    pub fn header_tags(&self) -> &[(String, String)] {
        &self.header_tags
    }

    /// The record types held (a filtering consumer holds only its own).
    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        self.types.iter().map(|t| t.name.as_str())
    }

    /// Number of records of a type (0 for a type not held).
    pub fn count(&self, type_name: &str) -> usize {
        self.index
            .get(type_name)
            .map_or(0, |&i| self.types[i].count as usize)
    }

    /// The checksum of a type's state (see `docs/blob-format.md`).
    pub fn checksum(&self, type_name: &str) -> Option<u64> {
        self.index.get(type_name).map(|&i| self.types[i].checksum)
    }

    /// Typed access to the records of `T`.
    ///
    /// A type the state does not hold (not in the dataset, or filtered out)
    /// gives an empty view.
    ///
    /// The first call for a type compares it with the state's schema
    /// ([`hollow_schema::evolution`]'s rules) and registers it, so that
    /// the consumer (or [`ReadState::apply_blob`]) refuses later versions
    /// it would misread; later calls cost one compare. A consumer compares
    /// the types given to [`ConsumerBuilder::check_type`],
    /// [`record_type`](crate::ConsumerBuilder::record_type) and
    /// [`index`](crate::ConsumerBuilder::index) before it loads a version,
    /// and never holds a version they would misread.
    ///
    /// # Panics
    /// When `T` would misread this state's records: its compiled schema
    /// and the state's conflict ([`ReadState::try_records`] returns that
    /// error instead). The message names the version, the type, the field
    /// and both definitions. Register the type with
    /// [`ConsumerBuilder::check_type`] so that a refresh refuses such a
    /// version rather than serving it.
    ///
    /// [`ConsumerBuilder::check_type`]: crate::ConsumerBuilder::check_type
    #[inline]
    pub fn records<T: Struct>(&self) -> Records<'_, T> {
        match self.checked(Compiled::of::<T>()) {
            Ok(ty) => self.records_of(ty),
            Err(e) => misread(e, T::TYPE_NAME),
        }
    }

    /// [`ReadState::records`], returning the schema conflict instead of
    /// panicking on it.
    ///
    /// # Errors
    /// [`ErrorKind::Schema`]: `T`'s compiled schema conflicts with this
    /// state's (a field both know is stored differently), naming the
    /// version, the type, the field and both definitions.
    ///
    /// ```
    /// # use hollow_runtime::ReadState;
    /// #[derive(hollow_runtime::Hollow)]
    /// struct Movie {
    ///     id: u64,
    ///     title: u32, // Text in the blobs
    /// }
    /// # fn f(state: &ReadState) {
    /// match state.try_records::<Movie>() {
    ///     Ok(movies) => println!("{} movies", movies.len()),
    ///     Err(e) => eprintln!("{e}"), // ... Movie.title: type changed: was ...
    /// }
    /// # }
    /// ```
    #[inline]
    pub fn try_records<T: Struct>(&self) -> Result<Records<'_, T>, Error> {
        Ok(self.records_of(self.checked(Compiled::of::<T>())?))
    }

    /// The state's records of compiled type `c` (none held: `None`), once
    /// `c` is known to read them right: a load per call once it is, a
    /// comparison (see [`ReadState::verify`]) the first time.
    #[inline(always)]
    fn checked(&self, c: Compiled) -> Result<Option<&TypeRead>, Error> {
        let Some(&i) = self.index.get(c.name) else {
            return Ok(None);
        };
        let t = &self.types[i];
        if t.verified.load(Ordering::Relaxed) != c.id() {
            self.verify(t, c)?;
        }
        Ok(Some(t))
    }

    /// The view of type `ty`'s records (checked by the caller).
    #[inline(always)]
    fn records_of<'s, T: Struct>(&'s self, ty: Option<&'s TypeRead>) -> Records<'s, T> {
        Records {
            state: self,
            ty,
            base: ty.map_or_else(BaseReader::empty, |t| self.base_reader(t)),
            pk: std::cell::OnceCell::new(),
            _t: PhantomData,
        }
    }

    /// Compares compiled type `c` with this state's schema (once per
    /// schema and type, see [`SchemaChecks`]); registers it when it reads
    /// the state right, and remembers that in `t`.
    #[cold]
    #[inline(never)]
    fn verify(&self, t: &TypeRead, c: Compiled) -> Result<(), Error> {
        match self.checks.conflicts(&self.schema, self.schema_hash, c) {
            None => {
                self.checks.register(c);
                t.verified.store(c.id(), Ordering::Relaxed);
                Ok(())
            }
            Some(text) => Err(Error::new(
                ErrorKind::Schema,
                format!(
                    "version {}: {}",
                    self.version,
                    checks::conflict_message(c.name, &text)
                ),
            )),
        }
    }

    /// How long comparing the compiled types read with the blob's schema
    /// took when this state was made (by loading a snapshot or applying a
    /// delta): a hash of the schema, and for each type registered a
    /// lookup, or the comparison itself the first time a schema is seen.
    pub fn schema_check_time(&self) -> std::time::Duration {
        self.schema_check
    }

    /// How many comparisons of a compiled type with a schema the states
    /// sharing this one's registry (a consumer's, or the states applied to
    /// one opened directly) have run: one per distinct pair, however many
    /// blobs of that schema are loaded.
    pub fn schema_checks_run(&self) -> u64 {
        self.checks.runs()
    }

    /// The record of type `t` at ordinal `o`: by arithmetic in the base
    /// snapshot (`base`, from [`ReadState::base_reader`]) while the ordinal
    /// is read from there, which is most of them; otherwise through the
    /// ordinal table. The one way every reader of records finds them.
    #[inline(always)]
    fn read<'s>(
        &'s self,
        t: &'s TypeRead,
        base: &BaseReader<'s>,
        o: u32,
    ) -> Option<StructReader<'s>> {
        match base.get(o) {
            Some(r) => Some(r),
            None => self.read_moved(t, o),
        }
    }

    /// [`ReadState::read`] through the ordinal table, of an ordinal not
    /// read from the base snapshot: out of line, so the common path stays
    /// small where it is inlined.
    #[inline(never)]
    fn read_moved<'s>(&'s self, t: &'s TypeRead, o: u32) -> Option<StructReader<'s>> {
        self.located(t, t.table.moved_loc(o))
    }

    /// The base snapshot's records of type `t`, found once so reading an
    /// ordinal still there is arithmetic (empty when the base snapshot
    /// has no such records).
    fn base_reader<'s>(&'s self, t: &'s TypeRead) -> BaseReader<'s> {
        match t.slots.get(t.table.base_slot() as usize) {
            Some(Some(p)) => BaseReader::new(p.records(&self.blobs), &t.table),
            _ => BaseReader::empty(),
        }
    }

    /// Untyped access to a type's records, for tools.
    pub fn raw_records(&self, type_name: &str) -> Option<RawRecords<'_>> {
        self.index.get(type_name).map(|&i| RawRecords {
            state: self,
            ty: &self.types[i],
            base: self.base_reader(&self.types[i]),
        })
    }

    /// Bytes of ordinal tables held in memory (blobs excluded).
    pub fn table_bytes(&self) -> usize {
        self.types.iter().map(|t| t.table.heap_bytes()).sum()
    }

    /// The blobs this state reads from.
    pub fn blob_names(&self) -> Vec<BlobName> {
        self.distinct_blobs().map(|b| b.name()).collect()
    }

    /// The blobs this state reads from, each once (a blob with a type in
    /// several sections takes several slots, one after another).
    fn distinct_blobs(&self) -> impl Iterator<Item = &Arc<LoadedBlob>> {
        self.blobs.iter().enumerate().filter_map(|(i, b)| {
            let repeat = i > 0 && Arc::ptr_eq(&self.blobs[i - 1], b);
            (!repeat).then_some(b)
        })
    }

    /// The deep check: recomputes every type's record count and state
    /// checksum from its records (`docs/blob-format.md`, "State checksum")
    /// and compares them with what the blobs promised. Reads every record,
    /// so it costs in proportion to the whole state; loading a snapshot
    /// checks only what needs no record read, besides the stored order of
    /// maps and sets, which every load checks in the records it brings (a
    /// snapshot's all, a delta's added ones), so this check does not walk
    /// them again.
    ///
    /// # Errors
    /// [`ErrorKind::CorruptBlob`], naming the version, the type and its
    /// blobs: a record cannot be read (a pointer outside its section,
    /// past the limits), or the records do not add up to the count and
    /// checksum promised.
    pub fn check_records(&self) -> Result<(), Error> {
        let mut words = Vec::new();
        for t in &self.types {
            let fail = |what: String| {
                let blobs: Vec<String> = self
                    .distinct_blobs()
                    .map(|b| b.name().to_string())
                    .collect();
                Error::new(
                    ErrorKind::CorruptBlob,
                    format!(
                        "version {} (blobs {}): type {}: {what}",
                        self.version,
                        blobs.join(", "),
                        t.name
                    ),
                )
            };
            let (count, checksum) = self.walk_records(t, &mut words, |_, _| {}).map_err(fail)?;
            if count != t.count || checksum != t.checksum {
                return Err(fail(format!(
                    "its records add up to {count} records with checksum {checksum:016x}, but \
                     the blobs promise {} records with checksum {:016x}",
                    t.count, t.checksum
                )));
            }
        }
        Ok(())
    }

    /// Reads every record of type `t` in ordinal order, handing each
    /// ordinal and canonical bytes to `each`; returns how many there were
    /// and their state checksum. `words` is scratch space.
    fn walk_records(
        &self,
        t: &TypeRead,
        words: &mut Vec<u64>,
        mut each: impl FnMut(u32, &[u8]),
    ) -> Result<(u32, u64), String> {
        let base = self.base_reader(t);
        let (mut count, mut checksum) = (0u32, 0u64);
        // Every walk draws on one budget, the traversal budget of all the
        // type's sections the state reads from: records sharing values
        // cannot make the walk read more than those sections justify.
        let mut budget = t.walk_budget();
        for o in 0..t.table.limit() {
            let r = match self.read(t, &base, o) {
                Some(r) => r,
                None if t.table.get(o) == EMPTY => continue,
                None => return Err(format!("ordinal {o}: no record where the table says")),
            };
            crate::wire::canonicalize_struct_within(&r, words, &mut budget)
                .map_err(|e| format!("ordinal {o}: {e}"))?;
            let b = as_le_bytes(words);
            checksum = checksum.wrapping_add(state_mix(o, hash_bytes(b)));
            count = count.saturating_add(1);
            each(o, b);
        }
        Ok((count, checksum))
    }
}

/// Indexes read a state's records through this.
impl IndexSource for ReadState {
    fn read_fn(&self, type_name: &str) -> Box<ReadFn<'_>> {
        match self.index.get(type_name) {
            Some(&i) => {
                let t = &self.types[i];
                let base = self.base_reader(t);
                Box::new(move |o| self.read(t, &base, o))
            }
            None => Box::new(|_| None),
        }
    }

    fn extent(&self, type_name: &str) -> (usize, u32) {
        self.index.get(type_name).map_or((0, 0), |&i| {
            let t = &self.types[i];
            (t.count as usize, t.table.limit())
        })
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    /// A typed index reads through compiled code: compared with the
    /// state's schema as [`ReadState::records`] compares a record type.
    fn check_reader(&self, spec: &IndexSpec) -> Result<(), String> {
        match spec.compiled() {
            Some(c) => self.checked(c).map(drop).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}

/// Refuses `blob` when a compiled type registered in `checks` conflicts
/// with its schema (hashed to `hash`).
fn check_blob(checks: &SchemaChecks, blob: &LoadedBlob, hash: u64) -> Result<(), Error> {
    let found = checks.check_all(blob.schema(), hash);
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Schema,
        format!("blob {}: {}", blob.name(), found.join("; ")),
    ))
}

/// The panic of [`ReadState::records`] on a schema conflict.
#[cold]
#[inline(never)]
fn misread(e: Error, type_name: &str) -> ! {
    panic!(
        "{e} (read it with ReadState::try_records to handle this, and register \
         {type_name} with ConsumerBuilder::check_type so that a consumer refuses such a \
         version instead of loading it)"
    )
}

fn record_hash(r: &StructReader<'_>, words: &mut Vec<u64>) -> Result<u64, crate::wire::ReadError> {
    canonicalize_struct(r, words)?;
    Ok(hash_bytes(as_le_bytes(words)))
}

/// [`record_hash`], the walk drawing on `budget` (shared by the records of
/// a section).
fn record_hash_within(
    r: &StructReader<'_>,
    words: &mut Vec<u64>,
    budget: &mut u64,
) -> Result<u64, crate::wire::ReadError> {
    crate::wire::canonicalize_struct_within(r, words, budget)?;
    Ok(hash_bytes(as_le_bytes(words)))
}

/// The records of one type in a [`ReadState`].
pub struct Records<'s, T: Struct> {
    state: &'s ReadState,
    ty: Option<&'s TypeRead>,
    base: BaseReader<'s>,
    /// The primary-key index, found on first use.
    pk: std::cell::OnceCell<Option<UniqueLookup>>,
    _t: PhantomData<fn() -> T>,
}

impl<'s, T: Struct> Records<'s, T> {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.ty.map_or(0, |t| t.count as usize)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One past the highest ordinal that may be populated.
    pub fn ordinal_limit(&self) -> u32 {
        self.ty.map_or(0, |t| t.table.limit())
    }

    /// The record at `ordinal` untyped, if populated.
    #[inline(always)]
    fn reader(&self, ordinal: u32) -> Option<StructReader<'s>> {
        // Most records are where the base snapshot put them: found by
        // arithmetic, in a few instructions, before anything else.
        self.state.read(self.ty?, &self.base, ordinal)
    }

    /// The record at `ordinal`, if populated.
    #[inline(always)]
    pub fn get(&self, ordinal: u32) -> Option<T::Ref<'s>> {
        self.reader(ordinal).map(T::wrap)
    }

    /// Every record with its ordinal, in ordinal order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, T::Ref<'s>)> + '_ {
        (0..self.ordinal_limit()).filter_map(move |o| self.get(o).map(|r| (o, r)))
    }
}

/// Index lookups read records through these steps.
impl<'s, T: Struct> LookupRecords for Records<'s, T> {
    type Ref = T::Ref<'s>;

    #[inline(always)]
    fn get(&self, ordinal: u32) -> Option<Self::Ref> {
        Records::get(self, ordinal)
    }

    /// Where the record at `ordinal` is, when it is read from the base
    /// snapshot (populated there, never changed since): the word its
    /// struct starts at. [`LookupRecords::prefetch_base`] and
    /// [`LookupRecords::base_at`] then fetch and read it with no test repeated;
    /// `None` means reading it with [`LookupRecords::get`].
    #[inline(always)]
    fn base_word(&self, ordinal: u32) -> Option<usize> {
        self.base.word(ordinal)
    }

    /// Asks the processor to start loading the record at `word` of the
    /// base snapshot (from [`LookupRecords::base_word`]; a hint).
    #[inline(always)]
    fn prefetch_base(&self, word: usize) {
        self.base.records.prefetch_word(word);
    }

    /// The record at `word` of the base snapshot (from
    /// [`LookupRecords::base_word`]; an empty record without a base).
    #[inline(always)]
    fn base_at(&self, word: usize) -> Self::Ref {
        T::wrap(self.base.at(word))
    }

    /// The record at `ordinal` when it is read from the base snapshot
    /// (else `None`: read it with [`LookupRecords::get_moved`]), found with one
    /// compare, one bit test and arithmetic.
    #[inline(always)]
    fn base_get(&self, ordinal: u32) -> Option<Self::Ref> {
        self.base.get(ordinal).map(T::wrap)
    }

    /// Asks the processor to start loading where the record at `ordinal`
    /// is, for one not read from the base snapshot (a hint: a batch then
    /// finds it with [`LookupRecords::moved_word`] a little later, without
    /// waiting on this load).
    #[inline]
    fn prefetch_location(&self, ordinal: u32) {
        if let Some(t) = self.ty {
            t.table.prefetch(ordinal);
        }
    }

    /// Where the record at `ordinal` is when [`LookupRecords::base_word`] says
    /// it is not read from the base snapshot: its blob slot and word.
    /// [`LookupRecords::prefetch_moved`] and [`LookupRecords::moved_at`] then fetch
    /// and read it with no lookup repeated.
    #[inline(always)]
    fn moved_word(&self, ordinal: u32) -> Option<(u32, usize)> {
        let t = self.ty?;
        self.state.word_at(t, t.table.moved_loc(ordinal))
    }

    /// Asks the processor to start loading the record at `word` of blob
    /// slot `slot` (from [`LookupRecords::moved_word`]; a hint).
    #[inline(always)]
    fn prefetch_moved(&self, slot: u32, word: usize) {
        if let Some(t) = self.ty {
            self.state.struct_at(t, slot, word).prefetch();
        }
    }

    /// The record at `word` of blob slot `slot` (from
    /// [`LookupRecords::moved_word`]).
    #[inline(always)]
    fn moved_at(&self, slot: u32, word: usize) -> Self::Ref {
        T::wrap(match self.ty {
            Some(t) => self.state.struct_at(t, slot, word),
            None => StructReader::empty(),
        })
    }

    /// [`LookupRecords::get`] of an ordinal [`LookupRecords::base_word`] did not find
    /// (so the base snapshot is not tried twice).
    #[inline(always)]
    fn get_moved(&self, ordinal: u32) -> Option<Self::Ref> {
        self.state.read_moved(self.ty?, ordinal).map(T::wrap)
    }
}

/// The records of one type, untyped: struct readers by ordinal.
pub struct RawRecords<'s> {
    state: &'s ReadState,
    ty: &'s TypeRead,
    base: BaseReader<'s>,
}

impl<'s> RawRecords<'s> {
    /// What a walk of all these records may read and write
    /// ([`canonicalize_struct_within`](crate::wire::canonicalize_struct_within)):
    /// the traversal budget of every section they are read from, so records
    /// sharing values cannot make the walk cost more than those sections'
    /// size justifies.
    pub(crate) fn walk_budget(&self) -> u64 {
        self.ty.walk_budget()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.ty.count as usize
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ty.count == 0
    }

    /// One past the highest ordinal that may be populated.
    pub fn ordinal_limit(&self) -> u32 {
        self.ty.table.limit()
    }

    /// The record at `ordinal`, if populated.
    pub fn get(&self, ordinal: u32) -> Option<StructReader<'s>> {
        self.state.read(self.ty, &self.base, ordinal)
    }

    /// The canonical hash of the record at `ordinal`.
    pub fn hash(&self, ordinal: u32) -> Option<u64> {
        let r = self.get(ordinal)?;
        record_hash(&r, &mut Vec::new()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::{snapshot_section, BlobKind, BlobWriter, SectionInfo};
    use crate::wire::{ElementSize, ListPosition};
    use crate::{to_canonical_bytes, Hollow, Struct};

    #[derive(Hollow, Clone, Debug, PartialEq)]
    #[hollow(crate = "crate", primary_key(id))]
    pub(super) struct Item {
        pub(super) id: u64,
        pub(super) name: String,
    }

    /// A snapshot of items at ordinals 0, 2 and 3 (out of 5), with the
    /// producer's checksum.
    pub(super) fn snapshot() -> ReadState {
        let items: Vec<(u32, Vec<u8>)> = [0u32, 2, 3]
            .iter()
            .map(|&o| {
                let item = Item {
                    id: o as u64 * 10,
                    name: format!("item {o}"),
                };
                (o, to_canonical_bytes(&item).unwrap())
            })
            .collect();
        let checksum = items.iter().fold(0u64, |c, (o, b)| {
            c.wrapping_add(state_mix(*o, hash_bytes(b)))
        });
        let section = snapshot_section(
            Item::SIZE,
            5,
            &[0b1101],
            items.iter().map(|(o, b)| (*o, &b[..])),
        )
        .unwrap();
        let mut w = BlobWriter::new(BlobKind::Snapshot, 3, 3, 0, 0xfeed);
        let mut info = SectionInfo::snapshot("Item", 3, 5);
        info.state_checksum = checksum;
        w.add_section(info, section);
        let bytes = w.finish(Item::schema(), &[]).unwrap();
        ReadState::open_snapshot(BlobName::Snapshot(3), Arc::new(bytes)).unwrap()
    }

    /// A delta is applied against the indexes as they stood when it
    /// started: one a reader builds on the state left meanwhile is not
    /// carried over (it was not updated by the delta), and the state
    /// reached builds it anew; one built before is carried over.
    #[test]
    fn an_index_built_while_a_delta_applies_is_not_carried_over() {
        let spec = IndexSpec::of::<ItemPrimaryKey>();
        let options = IndexOptions {
            lazy: true,
            ..IndexOptions::default()
        };
        let state = snapshot().with_indexes(&[spec], options).unwrap();
        let before = state.indexes.standing();
        assert!(!before.maintains("Item"));
        // A reader builds the index on the state being left.
        assert_eq!(
            state.index::<ItemPrimaryKey>().get(20).map(|r| r.id()),
            Some(20)
        );
        let built = |set: &IndexSet| set.standing().maintains("Item");
        let (carried, _) = state
            .indexes
            .apply_change(&before, &HashMap::new(), &state)
            .unwrap();
        assert!(
            !built(&carried),
            "an index the delta did not update was carried over"
        );
        let after = state.indexes.standing();
        assert!(after.maintains("Item"));
        let (carried, _) = state
            .indexes
            .apply_change(&after, &HashMap::new(), &state)
            .unwrap();
        assert!(built(&carried));
    }

    #[test]
    fn record_lists_are_read_only_inside_their_segment() {
        // Ten words, each holding its index; a list of five structs of two
        // data words and one pointer from word 2 would need 17.
        let seg: Vec<u8> = (0..10u64).flat_map(|w| w.to_le_bytes()).collect();
        let pos = ListPosition::new(2, ElementSize::InlineComposite, 5, 2, 1);
        let list = ListReader::at_position(&seg, pos);
        let table = OrdinalTable::from_snapshot(5, 0, &[0b1_1101]);
        let base = BaseReader::new(list, &table);
        // Two records fit (words 2..5 and 5..8): ordinal 0, and 1 (not
        // populated); the rest are past the segment's end.
        assert_eq!(base.elements.n, 2);
        let r = base.get(0).expect("ordinal 0 is in the base");
        assert_eq!((r.read_u64(0), r.read_u64(1)), (2, 3));
        assert_eq!(base.word(0), Some(2));
        assert!(base.get(1).is_none(), "not populated");
        for o in 2..6 {
            assert!(base.get(o).is_none() && base.word(o).is_none(), "{o}");
        }
        // The same cap for a list read through the ordinal table.
        let elements = Elements::of(&list, u32::MAX);
        assert_eq!(elements.n, 2);
        assert_eq!((elements.word(1), elements.byte(1)), (Some(5), Some(40)));
        assert_eq!((elements.word(2), elements.byte(2)), (None, None));
        assert_eq!(Elements::of(&list, 1).n, 1);
        // A populated bitmap shorter than the list caps it too.
        let short = OrdinalTable::from_snapshot(5, 0, &[]);
        assert_eq!(BaseReader::new(list, &short).elements.n, 0);
        assert!(BaseReader::empty().get(0).is_none());
    }
}

//! The producer's write state: per record type, every record's canonical
//! bytes by ordinal, the hash → ordinal index that deduplicates them, and the
//! populated sets of the published state and of the cycle being built.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use hollow_schema::{Schema, StructSize};

use crate::blob::state_mix;
use crate::encode::{hash_bytes, Encoder};
use crate::error::{Error, ErrorKind};
use crate::index::{Change, IndexData, IndexKind, IndexSpec, Indexed};
use crate::record::Record;
use crate::wire::StructReader;

use crate::bits::Bits;

use super::arena::{OrdinalIndex, RecordArena};

/// Functions of a record type that need its Rust type, kept as plain fn
/// pointers so the write state can be type-erased.
#[derive(Clone, Copy)]
pub(crate) struct TypedFns {
    /// Primary-key hash of a record's canonical bytes (None: no key, or the
    /// bytes do not read).
    pub(crate) key_hash: fn(&[u8]) -> Option<u64>,
    /// Whether two records' canonical bytes have equal primary keys.
    pub(crate) key_eq: fn(&[u8], &[u8]) -> bool,
    /// The primary key of a record's canonical bytes, as text.
    pub(crate) describe: fn(&[u8]) -> String,
    pub(crate) has_key: bool,
    /// The type's unique keys (beside the primary key), checked each cycle.
    pub(crate) uniques: fn() -> Vec<IndexSpec>,
}

impl TypedFns {
    pub(crate) fn of<T: Indexed>() -> TypedFns {
        fn uniques<T: Indexed>() -> Vec<IndexSpec> {
            IndexSpec::all_of::<T>()
                .into_iter()
                .filter(|s| s.kind() == IndexKind::Unique)
                .collect()
        }
        fn key_hash<T: Record>(b: &[u8]) -> Option<u64> {
            let r = crate::read_root::<T>(b).ok()?;
            Some(T::primary_key_hash_ref(&r))
        }
        fn key_eq<T: Record>(a: &[u8], b: &[u8]) -> bool {
            match (crate::read_root::<T>(a), crate::read_root::<T>(b)) {
                (Ok(ra), Ok(rb)) => match T::from_ref(ra) {
                    Ok(va) => va.primary_key_eq_ref(&rb),
                    Err(_) => false,
                },
                _ => false,
            }
        }
        fn describe<T: Record>(b: &[u8]) -> String {
            match crate::read_root::<T>(b).map(T::from_ref) {
                Ok(Ok(v)) => v.describe_primary_key(),
                _ => "(unreadable key)".to_string(),
            }
        }
        TypedFns {
            key_hash: key_hash::<T>,
            key_eq: key_eq::<T>,
            describe: describe::<T>,
            has_key: T::HAS_PRIMARY_KEY,
            uniques: uniques::<T>,
        }
    }
}

/// One record type's write state.
pub(crate) struct TypeWrite {
    pub(crate) name: String,
    pub(crate) size: StructSize,
    pub(crate) schema: Schema,
    pub(crate) fns: Option<TypedFns>,
    /// Canonical bytes by ordinal, in large chunks.
    records: RecordArena,
    hashes: Vec<u64>,
    /// Hash → ordinals holding records with that hash (by `hashes`).
    by_hash: OrdinalIndex,
    /// Populated in the published state.
    pub(crate) current: Bits,
    /// Populated in the cycle being built.
    pub(crate) next: Bits,
    /// Ordinals freed by published cycles, each with the first cycle that
    /// may reuse it, in that order.
    free: VecDeque<(u32, u64)>,
    /// Ordinals that were never published (assigned in a cycle that was
    /// rolled back, or added and removed within one cycle): reusable at once.
    free_now: Vec<u32>,
    /// Ordinals assigned in the cycle being built (released on rollback).
    fresh: Vec<u32>,
    /// Ordinals `0..limit` may be populated: the published state's limit
    /// between cycles, and the highest ordinal assigned plus one while a
    /// cycle is built (until [`TypeWrite::compact_fresh`]).
    pub(crate) limit: u32,
    /// The published state's limit (the one its blobs carry). Every ordinal
    /// at or past it is unused between cycles, and a cycle's new ordinals
    /// at or past it are made contiguous from it before they are published,
    /// so a delta never raises the limit by more than it adds records: the
    /// bound consumers hold deltas to.
    published: u32,
    pub(crate) checksum: u64,
    /// Primary-key hash by ordinal (for types with a key).
    key_hashes: Vec<u64>,
    /// Primary-key hash → ordinals of every record held (published or new
    /// this cycle); lookups filter by the cycle's populated set. Built on
    /// first use, then kept current as records come and go, so duplicate
    /// checks and incremental lookups cost O(change).
    keys: Option<OrdinalIndex>,
    /// Whether the records held include some whose primary keys this
    /// producer has not checked against each other: records restored from
    /// blobs (written by another producer, which may have declared another
    /// key or none). The next cycle then checks every record's key, not
    /// only the added ones', once.
    keys_unchecked: bool,
    /// Unique-key indexes of the published state (built on the first
    /// cycle that checks them), and those of the cycle being built.
    uniques: Vec<(IndexSpec, Option<Arc<IndexData>>)>,
    pending_uniques: Vec<Arc<IndexData>>,
}

impl TypeWrite {
    pub(crate) fn new(name: &str, size: StructSize, schema: Schema, fns: Option<TypedFns>) -> Self {
        TypeWrite {
            name: name.to_string(),
            size,
            schema,
            fns,
            records: RecordArena::default(),
            hashes: Vec::new(),
            by_hash: OrdinalIndex::default(),
            current: Bits::default(),
            next: Bits::default(),
            free: VecDeque::new(),
            free_now: Vec::new(),
            fresh: Vec::new(),
            limit: 0,
            published: 0,
            checksum: 0,
            key_hashes: Vec::new(),
            keys: None,
            keys_unchecked: false,
            uniques: Vec::new(),
            pending_uniques: Vec::new(),
        }
    }

    /// Makes the type typed: records already held (restored before the
    /// type was declared) get their primary-key hashes now. The restore
    /// left them unchecked (`keys_unchecked`, which stays set while the
    /// type is untyped), so the next cycle checks them against each other.
    fn set_fns(&mut self, fns: TypedFns) {
        self.fns = Some(fns);
        self.hash_keys();
    }

    /// The primary-key hash of every record held, from its bytes (none
    /// for an untyped type), after a restore or once the type is typed;
    /// the key index is rebuilt on its next use.
    fn hash_keys(&mut self) {
        self.key_hashes.resize(self.hashes.len(), 0);
        if let Some(fns) = self.fns {
            for (o, bytes) in self.records.iter() {
                self.key_hashes[o as usize] = (fns.key_hash)(bytes).unwrap_or(0);
            }
        }
        self.keys = None;
    }

    /// Notes that the published records' primary keys were checked (by
    /// `duplicate_key` over every record of a cycle now published, or of
    /// one that changed nothing). Only the typed check does that: an
    /// untyped type stays unchecked until it is typed.
    pub(crate) fn keys_checked(&mut self) {
        if self.fns.is_some_and(|f| f.has_key) {
            self.keys_unchecked = false;
        }
    }

    /// Checks the unique keys of the cycle being built, updating their
    /// indexes by the change (O(removed + added)); the new indexes take
    /// effect on commit.
    ///
    /// # Errors
    /// Two records share a unique key: the message names the type and key.
    pub(crate) fn check_unique(&mut self, removed: &[u32], added: &[u32]) -> Result<(), String> {
        self.pending_uniques.clear();
        if self.uniques.is_empty() {
            if let Some(f) = self.fns {
                self.uniques = (f.uniques)().into_iter().map(|s| (s, None)).collect();
            }
        }
        let read = |o: u32| self.bytes(o).and_then(|b| StructReader::root(b).ok());
        let read_next = |o: u32| {
            if self.next.get(o) {
                read(o)
            } else {
                None
            }
        };
        let removed_at = |k: usize| removed.get(k).and_then(|&o| read(o));
        let added_at = |k: usize| added.get(k).and_then(|&o| read_next(o));
        let mut pending = Vec::with_capacity(self.uniques.len());
        for (spec, data) in &self.uniques {
            let next = match data {
                Some(d) => d.update(
                    spec,
                    &Change {
                        removed,
                        removed_at: &removed_at,
                        old: &read,
                        added,
                        added_at: &added_at,
                        // Each record is a message of its own.
                        added_list: None,
                        new: &read_next,
                        new_limit: self.limit,
                        // This is the check the blobs will vouch for.
                        vouched: false,
                        // Only hash-index updates read records ahead;
                        // these are unique ones.
                        reads: crate::index::KeyReads::ALL,
                    },
                )?,
                None => IndexData::build(spec, self.next_count() as usize, self.limit, &read_next)?,
            };
            pending.push(Arc::new(next));
        }
        self.pending_uniques = pending;
        Ok(())
    }

    /// The canonical bytes at `o`.
    pub(crate) fn bytes(&self, o: u32) -> Option<&[u8]> {
        self.records.get(o)
    }

    fn find(&self, hash: u64, bytes: &[u8]) -> Option<u32> {
        self.by_hash
            .get(hash, &self.hashes)
            .find(|&o| self.bytes(o) == Some(bytes))
    }

    /// Adds a record (canonical bytes, and its primary-key hash) to the
    /// cycle being built; returns its ordinal.
    pub(crate) fn add(&mut self, bytes: &[u8], key_hash: impl FnOnce() -> u64, cycle: u64) -> u32 {
        let hash = hash_bytes(bytes);
        if let Some(o) = self.find(hash, bytes) {
            self.next.set(o, true);
            return o;
        }
        // Ordinals freed in the previous cycle are not reused yet: a
        // reverse delta must be able to restore them.
        let o = if let Some(o) = self.free_now.pop() {
            o
        } else if self.free.front().is_some_and(|&(_, from)| from <= cycle) {
            self.free.pop_front().map_or(0, |(o, _)| o)
        } else {
            self.limit += 1;
            self.limit - 1
        };
        let key_hash = key_hash();
        if self.hashes.len() <= o as usize {
            self.hashes.resize(o as usize + 1, 0);
            self.key_hashes.resize(o as usize + 1, 0);
        }
        self.records.put(o, bytes);
        self.hashes[o as usize] = hash;
        self.key_hashes[o as usize] = key_hash;
        self.by_hash.insert(hash, o, &self.hashes);
        if let Some(keys) = &mut self.keys {
            keys.insert(key_hash, o, &self.key_hashes);
        }
        self.fresh.push(o);
        self.next.set(o, true);
        o
    }

    /// Removes ordinal `o` from the cycle being built.
    pub(crate) fn remove(&mut self, o: u32) {
        self.next.set(o, false);
    }

    fn fns_with_key(&self) -> Result<TypedFns, Error> {
        let fns = self.fns.ok_or_else(|| {
            Error::new(
                ErrorKind::Record,
                format!("type {} is not registered with the producer", self.name),
            )
        })?;
        if !fns.has_key {
            return Err(Error::new(
                ErrorKind::Record,
                format!(
                    "type {} has no primary key: use run_cycle, or declare one",
                    self.name
                ),
            ));
        }
        Ok(fns)
    }

    /// The key index (by `key_hashes`), built on first use.
    fn keys(&mut self) -> &OrdinalIndex {
        if self.keys.is_none() {
            let mut keys = OrdinalIndex::default();
            for (o, _) in self.records.iter() {
                keys.insert(self.key_hashes[o as usize], o, &self.key_hashes);
            }
            self.keys = Some(keys);
        }
        self.keys.get_or_insert_with(OrdinalIndex::default)
    }

    /// The ordinals of the cycle being built whose record's primary-key hash
    /// is `h` and whose bytes satisfy `matches`.
    pub(crate) fn ordinals_with_key_hash(
        &mut self,
        h: u64,
        matches: impl Fn(&[u8]) -> bool,
    ) -> Result<Vec<u32>, Error> {
        self.fns_with_key()?;
        self.keys();
        let candidates: Vec<u32> = self
            .keys
            .as_ref()
            .map(|k| k.get(h, &self.key_hashes).collect())
            .unwrap_or_default();
        Ok(candidates
            .into_iter()
            .filter(|&o| self.next.get(o) && self.bytes(o).is_some_and(&matches))
            .collect())
    }

    /// The ordinals of the cycle being built whose primary key equals
    /// `bytes`' (whose key hash is `h`).
    pub(crate) fn ordinals_with_key_of(&mut self, bytes: &[u8], h: u64) -> Result<Vec<u32>, Error> {
        let fns = self.fns_with_key()?;
        self.ordinals_with_key_hash(h, |b| (fns.key_eq)(b, bytes))
    }

    /// Two records of the cycle being built with the same primary key, if
    /// any: the key as text. Only records new to this cycle can clash, so
    /// this costs O(added), except in the first cycle after a restore,
    /// which checks every record (see `keys_unchecked`).
    pub(crate) fn duplicate_key(&mut self, added: &[u32]) -> Option<String> {
        let fns = self.fns?;
        if !fns.has_key {
            return None;
        }
        let all: Vec<u32>;
        let check = if self.keys_unchecked {
            all = self.next.iter().collect();
            &all[..]
        } else {
            added
        };
        if check.is_empty() {
            return None;
        }
        self.keys();
        let keys = self.keys.as_ref()?;
        for &o in check {
            let b = self.bytes(o)?;
            for p in keys.get(self.key_hashes[o as usize], &self.key_hashes) {
                if p != o && self.next.get(p) {
                    if let Some(pb) = self.bytes(p) {
                        if (fns.key_eq)(pb, b) {
                            return Some((fns.describe)(b));
                        }
                    }
                }
            }
        }
        None
    }

    /// Makes the cycle's new ordinals at or past the published limit
    /// contiguous from it, and lowers the limit to the last of them (or to
    /// the published limit): ordinals assigned this cycle and removed in it
    /// again (or left by a rolled-back cycle) are never published, so they
    /// must not raise the limit a delta carries. Records move to lower
    /// ordinals only; none of them is published yet. Costs O(ordinals
    /// assigned this cycle). Run before the cycle's ordinals are read
    /// ([`TypeWrite::diff`] and the checks after it).
    pub(crate) fn compact_fresh(&mut self) {
        let base = self.published;
        let mut high: Vec<u32> = self
            .fresh
            .iter()
            .copied()
            .filter(|&o| o >= base && self.next.get(o))
            .collect();
        high.sort_unstable();
        let top = base + high.len() as u32;
        for (to, &from) in (base..).zip(&high) {
            if to != from {
                self.move_fresh(from, to);
            }
        }
        // Past `top`: only ordinals assigned this cycle and not kept.
        let unused: Vec<u32> = self.fresh.iter().copied().filter(|&o| o >= top).collect();
        for o in unused {
            self.release(o);
        }
        self.fresh.retain(|&o| o < base);
        self.fresh.extend(base..top);
        self.trim_to(top);
    }

    /// Moves the unpublished record at `from` to the unused ordinal `to`
    /// (releasing a record added and removed this cycle held there).
    fn move_fresh(&mut self, from: u32, to: u32) {
        self.release(to);
        let (f, t) = (from as usize, to as usize);
        self.records.move_to(from, to);
        let hash = self.hashes[f];
        let key = self.key_hashes[f];
        self.hashes[t] = hash;
        self.key_hashes[t] = key;
        self.by_hash.rename(hash, from, to);
        if let Some(keys) = &mut self.keys {
            keys.rename(key, from, to);
        }
        self.next.set(from, false);
        self.next.set(to, true);
    }

    /// Sets the limit to `limit`, past which nothing is held: free
    /// ordinals past it are forgotten, and the storage past it dropped.
    fn trim_to(&mut self, limit: u32) {
        // The indexes hold only records held (they read their hashes).
        for o in limit..self.hashes.len() as u32 {
            self.release(o);
        }
        self.limit = limit;
        self.free_now.retain(|&o| o < limit);
        let keep = (limit as usize).min(self.hashes.len());
        self.records.truncate(limit);
        self.hashes.truncate(keep);
        self.key_hashes.truncate(keep);
    }

    /// Removed and added ordinals of the cycle being built.
    pub(crate) fn diff(&self) -> (Vec<u32>, Vec<u32>) {
        (
            self.current.minus(&self.next),
            self.next.minus(&self.current),
        )
    }

    /// The checksum of the cycle being built's state.
    pub(crate) fn next_checksum(&self, removed: &[u32], added: &[u32]) -> u64 {
        let mut c = self.checksum;
        for &o in removed {
            c = c.wrapping_sub(state_mix(o, self.hashes[o as usize]));
        }
        for &o in added {
            c = c.wrapping_add(state_mix(o, self.hashes[o as usize]));
        }
        c
    }

    /// Makes the cycle being built the published state.
    pub(crate) fn commit(&mut self, cycle: u64) {
        let (removed, added) = self.diff();
        self.checksum = self.next_checksum(&removed, &added);
        for &o in &removed {
            self.release(o);
            // Not reused by the next cycle: its reverse delta adds `o` back.
            self.free.push_back((o, cycle + 2));
        }
        // Fresh ordinals that ended up unused (added then removed in the
        // same cycle) go back at once: they were never published.
        for o in std::mem::take(&mut self.fresh) {
            if !self.next.get(o) && !self.current.get(o) && self.records.get(o).is_some() {
                self.release(o);
                self.free_now.push(o);
            }
        }
        self.current = self.next.clone();
        self.published = self.limit;
        self.keys_checked();
        if self.pending_uniques.len() == self.uniques.len() {
            for ((_, d), p) in self.uniques.iter_mut().zip(self.pending_uniques.drain(..)) {
                *d = Some(p);
            }
        } else {
            // Not checked this cycle: rebuilt on the next check.
            for (_, d) in &mut self.uniques {
                *d = None;
            }
        }
        self.records.compact_if_sparse();
    }

    /// Forgets the cycle being built.
    pub(crate) fn rollback(&mut self) {
        self.pending_uniques.clear();
        for o in std::mem::take(&mut self.fresh) {
            if !self.current.get(o) {
                self.release(o);
                self.free_now.push(o);
            }
        }
        self.next = self.current.clone();
        self.trim_to(self.published);
        self.records.compact_if_sparse();
    }

    fn release(&mut self, o: u32) {
        if self.records.free(o) {
            let h = self.hashes[o as usize];
            self.by_hash.remove(h, o, &self.hashes);
            if let Some(keys) = &mut self.keys {
                let k = self.key_hashes.get(o as usize).copied().unwrap_or(0);
                keys.remove(k, o, &self.key_hashes);
            }
        }
    }

    /// Loads a published record (restoring from a blob), keeping its ordinal.
    pub(crate) fn restore_record(&mut self, o: u32, bytes: impl AsRef<[u8]>) {
        let bytes = bytes.as_ref();
        let hash = hash_bytes(bytes);
        if self.hashes.len() <= o as usize {
            self.hashes.resize(o as usize + 1, 0);
        }
        self.records.put(o, bytes);
        self.hashes[o as usize] = hash;
        self.by_hash.insert(hash, o, &self.hashes);
        self.current.set(o, true);
        self.next.set(o, true);
        self.limit = self.limit.max(o + 1);
    }

    /// After restoring, with `cycle` the next cycle to run: ordinals below
    /// the limit that are not populated are free. Those in `held` (what the
    /// restored version's own delta removed) are reused from the cycle
    /// after `cycle` on, as a producer that published the restored version
    /// would reuse them; the others at once, since they were removed by
    /// older versions. `held` is `None` when that delta is unknown: then
    /// every hole waits a cycle.
    pub(crate) fn finish_restore(&mut self, cycle: u64, held: Option<&Bits>) {
        self.hash_keys();
        self.keys_unchecked = self.limit > 0;
        self.checksum = self
            .current
            .iter()
            .map(|o| state_mix(o, self.hashes[o as usize]))
            .fold(0u64, u64::wrapping_add);
        let holes = (0..self.limit).filter(|&o| !self.current.get(o));
        let waits = |o: u32| held.is_none_or(|h| h.get(o));
        let (later, now): (Vec<u32>, Vec<u32>) = holes.partition(|&o| waits(o));
        self.free = now
            .into_iter()
            .map(|o| (o, cycle))
            .chain(later.into_iter().map(|o| (o, cycle + 1)))
            .collect();
        self.free_now.clear();
        self.published = self.limit;
    }

    /// Number of records in the cycle being built.
    pub(crate) fn next_count(&self) -> u32 {
        self.next.count()
    }
}

/// Every record type's write state.
#[derive(Default)]
pub(crate) struct WriteState {
    pub(crate) types: Vec<TypeWrite>,
    by_name: HashMap<String, usize>,
    pub(crate) encoder: Encoder,
    /// The announced version this state continues (restored or
    /// published), if any.
    pub(crate) continues: Option<u64>,
    /// Whether a breaking schema change may be published (as a snapshot
    /// only; see `ProducerBuilder::allow_breaking_schema`).
    pub(crate) allow_breaking: bool,
    /// Set when the types hold a breaking change since this announced
    /// version: the next version is published as a snapshot only, tagged
    /// with it, and only a full cycle may publish it.
    pub(crate) schema_break: Option<u64>,
}

impl WriteState {
    /// The state of `T`, registering it on first use.
    pub(crate) fn type_of<T: Indexed>(&mut self) -> usize {
        if let Some(&i) = self.by_name.get(T::TYPE_NAME) {
            if self.types[i].fns.is_none() {
                self.types[i].set_fns(TypedFns::of::<T>());
            }
            return i;
        }
        self.insert(TypeWrite::new(
            T::TYPE_NAME,
            T::SIZE,
            T::schema().clone(),
            Some(TypedFns::of::<T>()),
        ))
    }

    /// The state of `T` for adding records: like [`type_of`](Self::type_of),
    /// but a type restored from a blob without being declared takes `T`'s
    /// schema and sections when `T` changed only compatibly (see
    /// `evolve`). With [`allow_breaking`](Self::allow_breaking), a breaking
    /// change is taken too: every type it breaks starts again empty, and
    /// [`schema_break`](Self::schema_break) is set.
    ///
    /// # Errors
    /// `T` changed in a breaking way since the version continued, and
    /// breaking changes are not allowed: [`ErrorKind::Schema`], listing
    /// every breaking change.
    pub(crate) fn typed<T: Indexed>(&mut self) -> Result<usize, Error> {
        if let Some(&i) = self.by_name.get(T::TYPE_NAME) {
            let t = &self.types[i];
            if t.fns.is_none() {
                let old = self.schema();
                let new = super::evolve::merged(T::schema(), &old);
                let diff = hollow_schema::evolution::diff(&old, &new);
                if !diff.changes.is_empty() {
                    let since = self.continues.unwrap_or_default();
                    if diff.is_breaking() {
                        if !self.allow_breaking {
                            return Err(super::evolve::refusal(
                                &diff,
                                since,
                                &format!("cannot add {} records", T::TYPE_NAME),
                            ));
                        }
                        let names: Vec<&str> = self.types.iter().map(|t| t.name.as_str()).collect();
                        for name in super::evolve::broken_types(&old, &new, names) {
                            if let Some(&b) = self.by_name.get(&name) {
                                let size =
                                    new.get_struct(&name).map(|s| s.size).unwrap_or_default();
                                let fns = self.types[b].fns;
                                self.types[b] = TypeWrite::new(&name, size, new.clone(), fns);
                            }
                        }
                        self.schema_break = Some(since);
                    }
                    // Every type's schema is a view of the dataset's: give the
                    // evolved definitions precedence in all of them.
                    for other in &mut self.types {
                        other.schema = super::evolve::merged(&new, &other.schema);
                    }
                    self.types[i].size = T::SIZE;
                }
            }
        }
        Ok(self.type_of::<T>())
    }

    pub(crate) fn insert(&mut self, t: TypeWrite) -> usize {
        let i = self.types.len();
        self.by_name.insert(t.name.clone(), i);
        self.types.push(t);
        i
    }

    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut TypeWrite> {
        self.by_name.get(name).map(|&i| &mut self.types[i])
    }

    /// The dataset schema: every registered type's schema, merged.
    pub(crate) fn schema(&self) -> Schema {
        let mut s = Schema::new();
        for t in &self.types {
            for d in &t.schema.types {
                s.insert(d.clone());
            }
        }
        s
    }

    /// Encodes `record` and adds it to the cycle being built.
    pub(crate) fn add<T: Indexed>(&mut self, record: &T, cycle: u64) -> Result<u32, Error> {
        let i = self.typed::<T>()?;
        let bytes = self.encoder.encode(record).map_err(|e| {
            Error::with_source(
                ErrorKind::Record,
                format!("cannot add a {} record", T::TYPE_NAME),
                e,
            )
        })?;
        Ok(self.types[i].add(bytes, || record.primary_key_hash(), cycle))
    }

    pub(crate) fn rollback(&mut self) {
        self.types.iter_mut().for_each(TypeWrite::rollback);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A type restored with ordinals 0, 3 and 5 of limit 6, whose restored
    /// version removed `held` (`None`: unknown); the next cycle is 1.
    fn restored(held: Option<&Bits>) -> TypeWrite {
        let mut t = TypeWrite::new("T", StructSize::default(), Schema::new(), None);
        for o in [0u32, 3, 5] {
            t.restore_record(o, vec![o as u8; 8]);
        }
        t.limit = 6;
        t.finish_restore(1, held);
        t
    }

    /// Adds three new records in `cycle` and commits it: the ordinals taken.
    fn add_three(t: &mut TypeWrite, cycle: u64) -> Vec<u32> {
        t.next = t.current.clone();
        let taken = (0..3u8)
            .map(|i| t.add(&[100 + cycle as u8 * 4 + i; 8], || 0, cycle))
            .collect();
        t.commit(cycle);
        taken
    }

    #[test]
    fn restored_holes_wait_only_if_the_restored_version_removed_them() {
        // Holes 1, 2, 4; the restored version removed 4 (and names 9, past
        // the limit, which is no hole and is ignored).
        let mut held = Bits::default();
        held.set(4, true);
        held.set(9, true);
        let mut t = restored(Some(&held));
        assert_eq!(add_three(&mut t, 1), vec![1, 2, 6]);
        assert_eq!(add_three(&mut t, 2), vec![4, 7, 8]);
        assert_eq!(t.limit, 9);

        // Unknown: every hole waits a cycle.
        let mut t = restored(None);
        assert_eq!(add_three(&mut t, 1), vec![6, 7, 8]);
        assert_eq!(add_three(&mut t, 2), vec![1, 2, 4]);
    }

    #[test]
    fn removed_ordinals_are_reused_from_the_cycle_after_next() {
        let mut t = restored(Some(&Bits::default()));
        assert_eq!(add_three(&mut t, 1), vec![1, 2, 4]);
        // Cycle 2 removes 0 and 3: cycle 3 may not reuse them, cycle 4 may.
        t.next = t.current.clone();
        t.remove(0);
        t.remove(3);
        t.commit(2);
        assert_eq!(add_three(&mut t, 3), vec![6, 7, 8]);
        assert_eq!(add_three(&mut t, 4), vec![0, 3, 9]);
    }

    #[test]
    fn ordinals_never_published_do_not_raise_the_limit() {
        let mut t = TypeWrite::new("T", StructSize::default(), Schema::new(), None);
        assert_eq!(add_three(&mut t, 1), vec![0, 1, 2]);
        // Cycle 2 adds five records and removes four of them again: the one
        // kept is published at 3, the limit rises by one.
        t.next = t.current.clone();
        let taken: Vec<u32> = (0..5u8).map(|i| t.add(&[50 + i; 8], || 0, 2)).collect();
        assert_eq!(taken, vec![3, 4, 5, 6, 7]);
        for &o in &taken[..4] {
            t.remove(o);
        }
        t.compact_fresh();
        let (removed, added) = t.diff();
        assert!(removed.is_empty());
        assert_eq!(added, vec![3]);
        assert_eq!(t.limit, 4);
        assert_eq!(t.bytes(3), Some(&[54u8; 8][..]));
        assert_eq!(t.bytes(7), None);
        t.commit(2);
        // The moved record is found by its bytes at its new ordinal.
        t.next = t.current.clone();
        assert_eq!(t.add(&[54; 8], || 0, 3), 3);
        // A rolled-back cycle leaves the limit where it was published.
        for i in 0..10u8 {
            t.add(&[200 + i; 8], || 0, 3);
        }
        t.rollback();
        assert_eq!(t.limit, 4);
        assert_eq!(add_three(&mut t, 3), vec![4, 5, 6]);
        assert_eq!(t.limit, 7);
    }

    #[test]
    fn removed_records_free_their_bytes_and_the_arena_compacts_across_cycles() {
        let mut t = TypeWrite::new("T", StructSize::default(), Schema::new(), None);
        let record = |i: u32| -> Vec<u8> {
            let mut b = vec![(i % 251) as u8; 4096];
            b[..4].copy_from_slice(&i.to_le_bytes());
            b
        };
        t.next = t.current.clone();
        let taken: Vec<u32> = (0..2000).map(|i| t.add(&record(i), || 0, 1)).collect();
        t.commit(1);
        assert_eq!(t.records.live_bytes(), 2000 * 4096);
        // Cycle 2 removes three records in four: their bytes are freed,
        // and being most of the arena, compacted away at the commit.
        t.next = t.current.clone();
        for &o in taken.iter().filter(|&&o| !o.is_multiple_of(4)) {
            t.remove(o);
        }
        t.commit(2);
        assert_eq!(t.records.live_bytes(), 500 * 4096);
        assert_eq!(t.records.used_bytes(), t.records.live_bytes());
        for (i, &o) in taken.iter().enumerate() {
            let want = o.is_multiple_of(4).then(|| record(i as u32));
            assert_eq!(t.bytes(o), want.as_deref(), "ordinal {o}");
        }
        // The records kept are still found by their bytes; a removed one
        // comes back under a new ordinal (its own waits a cycle), and one
        // cycle later the freed ordinals are reused.
        t.next = t.current.clone();
        assert_eq!(t.add(&record(4), || 0, 3), 4);
        let back = t.add(&record(1), || 0, 3);
        assert_eq!(back, 2000);
        assert_eq!(t.bytes(back), Some(&record(1)[..]));
        t.commit(3);
        t.next = t.current.clone();
        let reused = t.add(&record(5000), || 0, 4);
        assert!(reused < 2000 && !reused.is_multiple_of(4), "{reused}");
        assert_eq!(t.bytes(reused), Some(&record(5000)[..]));
        // Rolled back: the record's bytes are freed again.
        let live = t.records.live_bytes();
        t.rollback();
        assert_eq!(t.bytes(reused), None);
        assert_eq!(t.records.live_bytes(), live - 4096);
    }

    #[test]
    fn restored_records_are_held_in_the_arena_and_freed_when_removed() {
        let mut held = Bits::default();
        held.set(4, true);
        let mut t = restored(Some(&held));
        for o in [0u32, 3, 5] {
            assert_eq!(t.bytes(o), Some(&[o as u8; 8][..]));
        }
        assert_eq!(t.bytes(1), None);
        assert_eq!(t.records.live_bytes(), 24);
        // A restored record added again keeps its ordinal.
        t.next = t.current.clone();
        assert_eq!(t.add(&[3u8; 8], || 0, 1), 3);
        t.remove(5);
        t.commit(1);
        assert_eq!(t.bytes(5), None);
        assert_eq!(t.records.live_bytes(), 16);
    }
}

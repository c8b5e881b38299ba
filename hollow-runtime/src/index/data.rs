//! Index contents: building them from a state, and updating them by a
//! delta's removed and added ordinals.

use std::sync::Arc;

use super::posting::{Posting, PostingBuilder};
use super::table::{Full, SlotTable};
use super::unique::UniqueData;
use super::{IndexKind, IndexSpec, KeyReads};
use crate::hashing::HashKeyed;
use crate::record::KeyHasher;
use crate::wire::{ListReader, StructReader};

/// Reads the record at an ordinal of one state (`None` when absent).
pub(crate) type ReadFn<'a> = dyn Fn(u32) -> Option<StructReader<'a>> + Send + Sync + 'a;

/// A change of one record type (a delta, or a producer's cycle), as
/// indexes see it.
pub(crate) struct Change<'c, 'a> {
    /// Ordinals removed.
    pub(crate) removed: &'c [u32],
    /// The record of `removed[k]`, as it was.
    pub(crate) removed_at: &'c AtFn<'a>,
    /// Records of the state left, by ordinal.
    pub(crate) old: &'c ReadFn<'a>,
    /// Ordinals added.
    pub(crate) added: &'c [u32],
    /// The record of `added[k]`.
    pub(crate) added_at: &'c AtFn<'a>,
    /// The same records as one list, in order (a delta's section), when
    /// they are held so: read in one batch where that is quicker.
    pub(crate) added_list: Option<ListReader<'a>>,
    /// Records of the state reached, by ordinal.
    pub(crate) new: &'c ReadFn<'a>,
    /// Every ordinal of the state reached is below this.
    pub(crate) new_limit: u32,
    /// Whether the state reached is vouched to hold no two records with
    /// one key of this (primary or unique) index, so the update need not
    /// check: the blob's writer declares the key, and the state was checked
    /// against the writer's checksum. A producer's own check passes `false`.
    pub(crate) vouched: bool,
    /// What reading a record's keys follows (read ahead that far).
    pub(crate) reads: KeyReads,
}

/// Reads the record of the `k`-th removed (or added) ordinal of a change
/// straight from where it is held, without an ordinal lookup: a delta's
/// records sit in order in its blob, and applying the delta has just found
/// the removed ones.
pub(crate) type AtFn<'a> = dyn Fn(usize) -> Option<StructReader<'a>> + Send + Sync + 'a;

/// The distinct keys of one record, encoded, in a reusable buffer.
#[derive(Default)]
pub(crate) struct KeyList {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Position of each distinct key's first occurrence among the keys.
    firsts: Vec<u32>,
    total: usize,
}

impl KeyList {
    /// Collects the keys of `r` (a repeated key once).
    pub(crate) fn collect(&mut self, spec: &IndexSpec, r: &StructReader<'_>, h: &mut KeyHasher) {
        self.clear();
        let (bytes, ends, firsts, total) = (
            &mut self.bytes,
            &mut self.ends,
            &mut self.firsts,
            &mut self.total,
        );
        spec.reader().keys(r, h, &mut |k: &[u8]| {
            let pos = *total as u32;
            *total += 1;
            let mut start = 0;
            for &end in ends.iter() {
                if &bytes[start..end] == k {
                    return;
                }
                start = end;
            }
            bytes.extend_from_slice(k);
            ends.push(bytes.len());
            firsts.push(pos);
        });
    }

    /// The distinct keys.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.iter_at().map(|(_, k)| k)
    }

    /// The distinct keys with the position of their first occurrence.
    pub(crate) fn iter_at(&self) -> impl Iterator<Item = (u32, &[u8])> {
        let mut start = 0;
        self.ends.iter().zip(&self.firsts).map(move |(&end, &pos)| {
            let k = &self.bytes[start..end];
            start = end;
            (pos, k)
        })
    }

    /// Keys reported, repeats included.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// Forgets the keys collected.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.firsts.clear();
        self.total = 0;
    }
}

/// Whether record `r` has key `key`.
#[inline]
pub(crate) fn has_key(
    spec: &IndexSpec,
    r: &StructReader<'_>,
    key: &[u8],
    h: &mut KeyHasher,
) -> bool {
    let mut found = false;
    spec.reader().keys(r, h, &mut |k: &[u8]| found |= k == key);
    found
}

/// Whether key number `pos` of record `r` is `key`.
#[inline]
pub(crate) fn key_at_is(
    spec: &IndexSpec,
    r: &StructReader<'_>,
    pos: u32,
    key: &[u8],
    h: &mut KeyHasher,
) -> bool {
    let mut i = 0u32;
    let mut found = false;
    spec.reader().keys(r, h, &mut |k: &[u8]| {
        if i == pos {
            found = k == key;
        }
        i += 1;
    });
    found
}

/// The position of the first key of `r` equal to `key`.
fn position_of(
    spec: &IndexSpec,
    r: &StructReader<'_>,
    key: &[u8],
    h: &mut KeyHasher,
) -> Option<u32> {
    let mut i = 0u32;
    let mut found = None;
    spec.reader().keys(r, h, &mut |k: &[u8]| {
        if found.is_none() && k == key {
            found = Some(i);
        }
        i += 1;
    });
    found
}

/// Groups of a hash index: one per distinct key, holding its ordinals.
///
/// The group's key is key number `pos` of record `rep` (a member): a
/// record may have several keys, so "a member has the key" would not tell
/// two groups with colliding hashes apart.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    /// The key's hash (so the slot table can be rebuilt without reads).
    pub(crate) hash: u64,
    /// A member, and which of its keys is the group's.
    pub(crate) rep: u32,
    pub(crate) pos: u32,
    pub(crate) posting: Posting,
}

const GROUP_CHUNK: usize = 64;

/// The group store: chunked and copied on write, with a free list.
#[derive(Clone, Debug, Default)]
pub(crate) struct Groups {
    chunks: Vec<Arc<Vec<Group>>>,
    free: Vec<u32>,
    next: u32,
}

impl Groups {
    #[inline]
    pub(crate) fn get(&self, id: u32) -> Option<&Group> {
        self.chunks
            .get(id as usize / GROUP_CHUNK)?
            .get(id as usize % GROUP_CHUNK)
    }

    fn get_mut(&mut self, id: u32) -> &mut Group {
        &mut Arc::make_mut(&mut self.chunks[id as usize / GROUP_CHUNK])[id as usize % GROUP_CHUNK]
    }

    fn alloc(&mut self, g: Group) -> u32 {
        if let Some(id) = self.free.pop() {
            *self.get_mut(id) = g;
            return id;
        }
        let id = self.next;
        self.next += 1;
        if id as usize / GROUP_CHUNK == self.chunks.len() {
            self.chunks.push(Arc::new(Vec::with_capacity(GROUP_CHUNK)));
        }
        Arc::make_mut(&mut self.chunks[id as usize / GROUP_CHUNK]).push(g);
        id
    }

    fn release(&mut self, id: u32) {
        let g = self.get_mut(id);
        g.posting = Posting::default();
        self.free.push(id);
    }

    fn heap_bytes(&self) -> usize {
        self.free.capacity() * 4
            + self
                .chunks
                .iter()
                .map(|c| {
                    c.capacity() * std::mem::size_of::<Group>()
                        + c.iter().map(|g| g.posting.heap_bytes()).sum::<usize>()
                })
                .sum::<usize>()
    }
}

/// A hash index: key → group through the slot table.
#[derive(Clone, Debug)]
pub(crate) struct HashData {
    pub(crate) table: SlotTable,
    pub(crate) groups: Groups,
}

/// An index's contents.
#[derive(Clone, Debug)]
pub(crate) enum IndexData {
    /// Primary or unique key: key → ordinal.
    Unique(UniqueData),
    /// Hash index.
    Hash(HashData),
}

pub(crate) fn too_many(spec: &IndexSpec) -> String {
    format!(
        "index {} of {}: too many ordinals for an index table",
        spec.name(),
        spec.type_name()
    )
}

/// A key met during an update and its group.
type KnownGroup = (Box<[u8]>, u32);

/// Scratch space for one build or update.
struct Work<'w> {
    spec: &'w IndexSpec,
    keys: KeyList,
    h: KeyHasher,
    h2: KeyHasher,
    /// Groups found during this build or update, by key hash, with their
    /// key (a transient cache: a key with thousands of records changed is
    /// compared by reading a member once, not once per record).
    memo: HashKeyed<Vec<KnownGroup>>,
    /// What reading a record's keys follows.
    reads: KeyReads,
}

impl<'w> Work<'w> {
    fn new(spec: &'w IndexSpec, reads: KeyReads) -> Self {
        Work {
            spec,
            reads,
            keys: KeyList::default(),
            h: KeyHasher::new(),
            h2: KeyHasher::new(),
            memo: HashKeyed::default(),
        }
    }

    fn memo_get(&self, hash: u64, key: &[u8]) -> Option<u32> {
        self.memo
            .get(&hash)?
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|&(_, g)| g)
    }

    fn memo_put(&mut self, hash: u64, key: &[u8], gid: u32) {
        let v = self.memo.entry(hash).or_default();
        if !v.iter().any(|(k, _)| &**k == key) {
            v.push((key.into(), gid));
        }
    }

    fn memo_forget(&mut self, hash: u64, gid: u32) {
        if let Some(v) = self.memo.get_mut(&hash) {
            v.retain(|&(_, g)| g != gid);
        }
    }

    /// The group holding key `key` (`hash`), reading members from `read`.
    fn find_group(
        &mut self,
        d: &HashData,
        hash: u64,
        key: &[u8],
        read: &ReadFn<'_>,
    ) -> Option<u32> {
        if let Some(gid) = self.memo_get(hash, key) {
            return Some(gid);
        }
        let (spec, h2) = (self.spec, &mut self.h2);
        let found = d.table.find(hash, |gid| {
            let Some(g) = d.groups.get(gid) else {
                return false;
            };
            g.hash == hash && read(g.rep).is_some_and(|rep| key_at_is(spec, &rep, g.pos, key, h2))
        });
        if let Some(gid) = found {
            self.memo_put(hash, key, gid);
        }
        found
    }
}

impl Work<'_> {
    fn missing(&self, o: u32) -> String {
        format!(
            "index {} of {}: removed ordinal {o} is not in the index",
            self.spec.name(),
            self.spec.type_name()
        )
    }

    /// Removes a delta's `removed` ordinals (their records read from the
    /// state left): each record's groups are found first, then each
    /// group's posting list changes once, part by part.
    fn remove_hash_batch(
        &mut self,
        d: &mut HashData,
        removed: &[u32],
        removed_at: &AtFn<'_>,
        read: &ReadFn<'_>,
    ) -> Result<(), String> {
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(removed.len() * 2);
        let mut keys = std::mem::take(&mut self.keys);
        for (k, &o) in removed.iter().enumerate() {
            self.reads.prefetch_ahead(removed_at, k);
            let Some(r) = removed_at(k) else {
                return Err(self.missing(o));
            };
            keys.collect(self.spec, &r, &mut self.h);
            for key in keys.iter() {
                let hash = self.spec.reader().hash(key);
                let Some(gid) = self.find_group(d, hash, key, read) else {
                    return Err(self.missing(o));
                };
                pairs.push((gid, o));
            }
        }
        self.keys = keys;
        let pairs = by_group(pairs, d.groups.next);
        let mut ords = Vec::new();
        for run in pairs.chunk_by(|a, b| a.0 == b.0) {
            let gid = run[0].0;
            ords.clear();
            ords.extend(run.iter().map(|&(_, o)| o));
            let g = d.groups.get_mut(gid);
            let (hash, old_rep, old_pos) = (g.hash, g.rep, g.pos);
            if !g.posting.remove_sorted(&ords) {
                return Err(self.missing(ords[0]));
            }
            if g.posting.is_empty() {
                if !d.table.remove(hash, gid) {
                    return Err(self.missing(ords[0]));
                }
                d.groups.release(gid);
                self.memo_forget(hash, gid);
            } else if ords.binary_search(&old_rep).is_ok() {
                // Another member stands for the key: its position among
                // that record's keys, found by the key the old one had
                // (both read from the state left, which holds every member).
                let rep = g.posting.first().unwrap_or(old_rep);
                let (spec, h, h2) = (self.spec, &mut self.h, &mut self.h2);
                let mut key = Vec::new();
                if let Some(r) = read(old_rep) {
                    let mut i = 0u32;
                    spec.reader().keys(&r, h, &mut |k: &[u8]| {
                        if i == old_pos {
                            key = k.to_vec();
                        }
                        i += 1;
                    });
                }
                let pos = read(rep).and_then(|r| position_of(spec, &r, &key, h2));
                let Some(pos) = pos else {
                    return Err(self.missing(old_rep));
                };
                let g = d.groups.get_mut(gid);
                g.rep = rep;
                g.pos = pos;
            }
        }
        Ok(())
    }

    /// Adds a delta's `added` ordinals (records read from the state
    /// reached), as [`Work::remove_hash_batch`] removes.
    fn add_hash_batch(
        &mut self,
        d: &mut HashData,
        added: &[u32],
        added_at: &AtFn<'_>,
        read: &ReadFn<'_>,
    ) -> Result<(), String> {
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(added.len() * 2);
        let mut keys = std::mem::take(&mut self.keys);
        for (k, &o) in added.iter().enumerate() {
            self.reads.prefetch_ahead(added_at, k);
            let Some(r) = added_at(k) else {
                return Err(format!(
                    "index {} of {}: ordinal {o} added but absent",
                    self.spec.name(),
                    self.spec.type_name()
                ));
            };
            keys.collect(self.spec, &r, &mut self.h);
            for (pos, key) in keys.iter_at() {
                let hash = self.spec.reader().hash(key);
                let gid = match self.find_group(d, hash, key, read) {
                    Some(gid) => gid,
                    None => {
                        let gid = d.groups.alloc(Group {
                            hash,
                            rep: o,
                            pos,
                            posting: Posting::default(),
                        });
                        self.memo_put(hash, key, gid);
                        if let Err(Full::Rebuild(floating)) = d.table.insert(hash, gid) {
                            let mut values: Vec<u32> = d.table.values().collect();
                            values.push(floating);
                            let groups = &d.groups;
                            d.table = SlotTable::rebuild(&values, groups.next, |g| {
                                groups.get(g).map_or(0, |g| g.hash)
                            })
                            .ok_or_else(|| too_many(self.spec))?;
                        }
                        gid
                    }
                };
                pairs.push((gid, o));
            }
        }
        self.keys = keys;
        let pairs = by_group(pairs, d.groups.next);
        let mut ords = Vec::new();
        for run in pairs.chunk_by(|a, b| a.0 == b.0) {
            ords.clear();
            ords.extend(run.iter().map(|&(_, o)| o));
            d.groups.get_mut(run[0].0).posting.insert_sorted(&ords);
        }
        Ok(())
    }
}

/// `(group id, ordinal)` pairs (group ids below `groups`) ordered by group,
/// then ordinal, without repeats.
///
/// A delta lists its ordinals in ascending order, so pairs made record by
/// record already have each group's ordinals in order: when there are not
/// many more groups than pairs, a counting sort by group (one pass, stable)
/// does it in O(pairs + groups) rather than a comparison sort's
/// O(pairs log pairs); a group whose ordinals are out of order anyway is
/// sorted on its own.
fn by_group(mut pairs: Vec<(u32, u32)>, groups: u32) -> Vec<(u32, u32)> {
    let groups = groups as usize;
    let counted = pairs.len() >= 64 && groups <= pairs.len() * 4;
    if !counted || pairs.iter().any(|&(g, _)| g as usize >= groups) {
        pairs.sort_unstable();
        pairs.dedup();
        return pairs;
    }
    let mut starts = vec![0u32; groups + 1];
    for &(g, _) in &pairs {
        starts[g as usize] += 1;
    }
    let mut at = 0u32;
    for s in &mut starts {
        let n = *s;
        *s = at;
        at += n;
    }
    let mut out = vec![(0u32, 0u32); pairs.len()];
    for &(g, o) in &pairs {
        let s = &mut starts[g as usize];
        out[*s as usize] = (g, o);
        *s += 1;
    }
    for run in out.chunk_by_mut(|a, b| a.0 == b.0) {
        if !run.is_sorted() {
            run.sort_unstable();
        }
    }
    out.dedup();
    out
}

/// No further group in a chain.
const NO_GROUP: u32 = u32::MAX;

/// A group found while building a hash index.
struct FoundGroup {
    hash: u64,
    key: Box<[u8]>,
    rep: u32,
    pos: u32,
    /// The next group found with the same hash, or [`NO_GROUP`].
    next: u32,
    posting: PostingBuilder,
}

/// Builds a hash index in one pass over the records: each key's ordinals
/// come in ascending order, so posting lists are filled part by part, and
/// the slot table is made once, at its final size, from the groups' hashes.
fn build_hash(spec: &IndexSpec, limit: u32, read: &ReadFn<'_>) -> Result<HashData, String> {
    let mut first: HashKeyed<u32> = HashKeyed::default();
    let mut found: Vec<FoundGroup> = Vec::new();
    let mut keys = KeyList::default();
    let mut h = KeyHasher::new();
    for o in 0..limit {
        let Some(r) = read(o) else {
            continue;
        };
        keys.collect(spec, &r, &mut h);
        for (pos, key) in keys.iter_at() {
            let hash = spec.reader().hash(key);
            let mut at = first.get(&hash).copied().unwrap_or(NO_GROUP);
            while at != NO_GROUP && *found[at as usize].key != *key {
                at = found[at as usize].next;
            }
            if at != NO_GROUP {
                found[at as usize].posting.push(o);
                continue;
            }
            let id = u32::try_from(found.len())
                .ok()
                .filter(|&id| id != NO_GROUP)
                .ok_or_else(|| too_many(spec))?;
            let next = first.insert(hash, id).unwrap_or(NO_GROUP);
            let mut posting = PostingBuilder::default();
            posting.push(o);
            found.push(FoundGroup {
                hash,
                key: key.into(),
                rep: o,
                pos,
                next,
                posting,
            });
        }
    }
    drop(first);
    let hashes: Vec<u64> = found.iter().map(|f| f.hash).collect();
    let mut groups = Groups::default();
    for f in found {
        groups.alloc(Group {
            hash: f.hash,
            rep: f.rep,
            pos: f.pos,
            posting: f.posting.finish(),
        });
    }
    let ids: Vec<u32> = (0..hashes.len() as u32).collect();
    let table = SlotTable::rebuild(&ids, (ids.len() as u32).max(1024), |g| hashes[g as usize])
        .ok_or_else(|| too_many(spec))?;
    Ok(HashData { table, groups })
}

impl IndexData {
    /// Builds the index over ordinals `0..limit` of a state (`count`
    /// records).
    pub(crate) fn build(
        spec: &IndexSpec,
        count: usize,
        limit: u32,
        read: &ReadFn<'_>,
    ) -> Result<IndexData, String> {
        match spec.kind() {
            IndexKind::PrimaryKey | IndexKind::Unique => {
                UniqueData::build(spec, count, limit, read).map(IndexData::Unique)
            }
            IndexKind::Hash => build_hash(spec, limit, read).map(IndexData::Hash),
        }
    }

    /// The index after a change (see [`Change`]). Costs O(removed + added)
    /// and shares everything else with `self`.
    pub(crate) fn update(&self, spec: &IndexSpec, c: &Change<'_, '_>) -> Result<IndexData, String> {
        match self {
            IndexData::Unique(u) => u.update(spec, c).map(IndexData::Unique),
            IndexData::Hash(d) => {
                let mut d = d.clone();
                let mut w = Work::new(spec, c.reads);
                w.remove_hash_batch(&mut d, c.removed, c.removed_at, c.old)?;
                w.add_hash_batch(&mut d, c.added, c.added_at, c.new)?;
                Ok(IndexData::Hash(d))
            }
        }
    }

    /// Heap bytes held (shared chunks included).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            IndexData::Unique(u) => u.heap_bytes(),
            IndexData::Hash(d) => d.table.heap_bytes() + d.groups.heap_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xorshift;

    #[test]
    fn pairs_by_group_match_a_sort_without_repeats() {
        let mut next = xorshift(0x5eed_1234);
        // (pairs, groups): counted and sorted paths, ordinals in order or
        // not, repeats, and group ids past `groups`.
        for (n, groups, in_order, stray) in [
            (10, 4, true, false),
            (500, 20, true, false),
            (500, 20, false, false),
            (2_000, 126, true, true),
            (300, 5_000, true, false),
            (1_000, 3, false, true),
        ] {
            let mut ords: Vec<u32> = (0..n).map(|_| (next() % 4_000) as u32).collect();
            if in_order {
                ords.sort_unstable();
            }
            let mut pairs: Vec<(u32, u32)> = ords
                .iter()
                .map(|&o| ((next() % groups as u64) as u32, o))
                .collect();
            if stray {
                pairs.push((groups + 7, 1));
            }
            // Every tenth pair twice.
            let repeats: Vec<(u32, u32)> = pairs.iter().step_by(10).copied().collect();
            pairs.extend(repeats);
            let mut want = pairs.clone();
            want.sort_unstable();
            want.dedup();
            assert_eq!(by_group(pairs, groups), want, "{n} pairs, {groups} groups");
        }
    }
}

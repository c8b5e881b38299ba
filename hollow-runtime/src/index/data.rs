//! Index contents: building them from a state, and updating them by a
//! delta's removed and added ordinals.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use super::posting::{Posting, PostingBuilder};
use super::table::{Full, SlotTable};
use super::{IndexKind, IndexSpec};
use crate::record::KeyHasher;
use crate::wire::StructReader;

/// Reads the record at an ordinal of one state (`None` when absent).
pub(crate) type ReadFn<'a> = dyn Fn(u32) -> Option<StructReader<'a>> + Send + Sync + 'a;

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
        self.bytes.clear();
        self.ends.clear();
        self.firsts.clear();
        self.total = 0;
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
    Unique(SlotTable),
    /// Hash index.
    Hash(HashData),
}

fn too_many(spec: &IndexSpec) -> String {
    format!(
        "index {} of {}: too many ordinals for an index table",
        spec.name(),
        spec.type_name()
    )
}

/// A `Hasher` for keys that are already hashes (XXH3 of a key's
/// encoding): they are used as they are, not hashed again.
#[derive(Default, Clone, Copy)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A map keyed by key hashes.
type HashKeyed<V> = HashMap<u64, V, BuildHasherDefault<Prehashed>>;

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
}

impl<'w> Work<'w> {
    fn new(spec: &'w IndexSpec) -> Self {
        Work {
            spec,
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

    /// The one key of a record of a unique index, collected in `keys`.
    fn unique_key(&mut self, r: &StructReader<'_>, o: u32) -> Result<(), String> {
        self.keys.collect(self.spec, r, &mut self.h);
        if self.keys.total() != 1 {
            return Err(format!(
                "index {} of {}: ordinal {o} has {} keys, a unique index needs one",
                self.spec.name(),
                self.spec.type_name(),
                self.keys.total()
            ));
        }
        Ok(())
    }

    fn add_unique(
        &mut self,
        t: &mut SlotTable,
        o: u32,
        read: &ReadFn<'_>,
        limit: u32,
    ) -> Result<(), String> {
        let Some(r) = read(o) else {
            return Err(format!(
                "index {} of {}: ordinal {o} added but absent",
                self.spec.name(),
                self.spec.type_name()
            ));
        };
        self.add_unique_read(t, o, &r, read, limit)
    }

    /// [`Work::add_unique`] of record `r` (ordinal `o`), already read.
    fn add_unique_read(
        &mut self,
        t: &mut SlotTable,
        o: u32,
        r: &StructReader<'_>,
        read: &ReadFn<'_>,
        limit: u32,
    ) -> Result<(), String> {
        self.unique_key(r, o)?;
        let key = self.keys.iter().next().unwrap_or_default();
        let hash = self.spec.reader().hash(key);
        let (spec, h2) = (self.spec, &mut self.h2);
        let dup = t.find(hash, |v| {
            read(v).is_some_and(|other| has_key(spec, &other, key, h2))
        });
        if let Some(other) = dup {
            return Err(format!(
                "{} has two records with {} {} (ordinals {other} and {o})",
                spec.type_name(),
                if spec.kind() == IndexKind::PrimaryKey {
                    "primary key"
                } else {
                    "unique key"
                },
                spec.reader().describe(r)
            ));
        }
        if let Err(Full::Rebuild(floating)) = t.insert(hash, o) {
            let mut values: Vec<u32> = t.values().collect();
            values.push(floating);
            let mut h = KeyHasher::new();
            let mut keys = KeyList::default();
            *t = SlotTable::rebuild(&values, limit, |v| match read(v) {
                Some(r) => {
                    keys.collect(spec, &r, &mut h);
                    spec.reader().hash(keys.iter().next().unwrap_or_default())
                }
                None => 0,
            })
            .ok_or_else(|| too_many(spec))?;
            tracing::debug!(
                index = spec.name(),
                entries = t.len(),
                "index table rebuilt larger"
            );
        }
        Ok(())
    }

    fn remove_unique(
        &mut self,
        t: &mut SlotTable,
        o: u32,
        read: &ReadFn<'_>,
    ) -> Result<(), String> {
        let removed = match read(o) {
            Some(r) => {
                self.unique_key(&r, o)?;
                let hash = self
                    .spec
                    .reader()
                    .hash(self.keys.iter().next().unwrap_or_default());
                t.remove(hash, o)
            }
            None => false,
        };
        if removed {
            Ok(())
        } else {
            Err(format!(
                "index {} of {}: removed ordinal {o} is not in the index",
                self.spec.name(),
                self.spec.type_name()
            ))
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

    fn add_hash(&mut self, d: &mut HashData, o: u32, read: &ReadFn<'_>) -> Result<(), String> {
        let Some(r) = read(o) else {
            return Err(format!(
                "index {} of {}: ordinal {o} added but absent",
                self.spec.name(),
                self.spec.type_name()
            ));
        };
        let mut keys = std::mem::take(&mut self.keys);
        keys.collect(self.spec, &r, &mut self.h);
        for (pos, key) in keys.iter_at() {
            let hash = self.spec.reader().hash(key);
            match self.find_group(d, hash, key, read) {
                Some(gid) => {
                    d.groups.get_mut(gid).posting.insert(o);
                }
                None => {
                    let mut posting = Posting::default();
                    posting.insert(o);
                    let gid = d.groups.alloc(Group {
                        hash,
                        rep: o,
                        pos,
                        posting,
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
                }
            }
        }
        self.keys = keys;
        Ok(())
    }

    fn remove_hash(&mut self, d: &mut HashData, o: u32, read: &ReadFn<'_>) -> Result<(), String> {
        let missing = || {
            format!(
                "index {} of {}: removed ordinal {o} is not in the index",
                self.spec.name(),
                self.spec.type_name()
            )
        };
        let Some(r) = read(o) else {
            return Err(missing());
        };
        let mut keys = std::mem::take(&mut self.keys);
        keys.collect(self.spec, &r, &mut self.h);
        for key in keys.iter() {
            let hash = self.spec.reader().hash(key);
            let Some(gid) = self.find_group(d, hash, key, read) else {
                return Err(missing());
            };
            let g = d.groups.get_mut(gid);
            if !g.posting.remove(o) {
                return Err(missing());
            }
            if g.posting.is_empty() {
                if !d.table.remove(hash, gid) {
                    return Err(missing());
                }
                d.groups.release(gid);
                self.memo_forget(hash, gid);
            } else if g.rep == o {
                // Another member stands for the key (read from the state
                // left, which holds every member).
                let rep = g.posting.first().unwrap_or(o);
                let pos = read(rep).and_then(|r| position_of(self.spec, &r, key, &mut self.h2));
                let Some(pos) = pos else {
                    return Err(missing());
                };
                g.rep = rep;
                g.pos = pos;
            }
        }
        self.keys = keys;
        Ok(())
    }
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
        let mut w = Work::new(spec);
        match spec.kind() {
            IndexKind::PrimaryKey | IndexKind::Unique => {
                let mut t = SlotTable::with_capacity(count, limit).ok_or_else(|| too_many(spec))?;
                for o in 0..limit {
                    if let Some(r) = read(o) {
                        w.add_unique_read(&mut t, o, &r, read, limit)?;
                    }
                }
                Ok(IndexData::Unique(t))
            }
            IndexKind::Hash => build_hash(spec, limit, read).map(IndexData::Hash),
        }
    }

    /// The index after a delta: `removed` ordinals read from the state
    /// left (`old`), `added` ones from the state reached (`new`, whose
    /// ordinals stay below `new_limit`). Costs O(removed + added) and shares
    /// everything else with `self`.
    pub(crate) fn update(
        &self,
        spec: &IndexSpec,
        removed: &[u32],
        old: &ReadFn<'_>,
        added: &[u32],
        new: &ReadFn<'_>,
        new_limit: u32,
    ) -> Result<IndexData, String> {
        let mut w = Work::new(spec);
        let mut next = self.clone();
        match &mut next {
            IndexData::Unique(t) => {
                for &o in removed {
                    w.remove_unique(t, o, old)?;
                }
                for &o in added {
                    w.add_unique(t, o, new, new_limit)?;
                }
            }
            IndexData::Hash(d) => {
                for &o in removed {
                    w.remove_hash(d, o, old)?;
                }
                for &o in added {
                    w.add_hash(d, o, new)?;
                }
            }
        }
        Ok(next)
    }

    /// Heap bytes held (shared chunks included).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            IndexData::Unique(t) => t.heap_bytes(),
            IndexData::Hash(d) => d.table.heap_bytes() + d.groups.heap_bytes(),
        }
    }
}

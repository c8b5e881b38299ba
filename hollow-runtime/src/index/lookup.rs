//! Lookups in a primary- or unique-key index: a key hash to the ordinal
//! and record that has the key, one at a time or many at once with the
//! memory each reads asked for ahead of its use.
//!
//! Records are read through [`LookupRecords`], which the read state's
//! typed records implement.

use std::sync::Arc;

use super::data::IndexData;
use super::posting::{Ordinals, Posting};
use super::unique::{Resolved, UniqueData};
use crate::record::KeyHasher;

/// How a lookup reads the records of one type in one state: by ordinal,
/// and in the steps a batch of lookups takes (where a record is, ask for
/// it, read it), so that the memory of one lookup is fetched while others
/// run.
pub(crate) trait LookupRecords {
    /// A record read.
    type Ref;
    /// The record at `ordinal`, if populated.
    fn get(&self, ordinal: u32) -> Option<Self::Ref>;
    /// The record at `ordinal` when it is read from the base snapshot
    /// (else `None`: read it with [`LookupRecords::get_moved`]).
    fn base_get(&self, ordinal: u32) -> Option<Self::Ref>;
    /// [`LookupRecords::get`] of an ordinal [`LookupRecords::base_get`]
    /// did not find (so the base snapshot is not tried twice).
    fn get_moved(&self, ordinal: u32) -> Option<Self::Ref>;
    /// Where the record at `ordinal` is when it is read from the base
    /// snapshot: the word its struct starts at (`None`: it is not).
    fn base_word(&self, ordinal: u32) -> Option<usize>;
    /// Asks the processor to start loading the record at `word` of the
    /// base snapshot (a hint).
    fn prefetch_base(&self, word: usize);
    /// The record at `word` of the base snapshot.
    fn base_at(&self, word: usize) -> Self::Ref;
    /// Asks the processor to start loading where the record at `ordinal`
    /// is, for one not read from the base snapshot (a hint).
    fn prefetch_location(&self, ordinal: u32);
    /// Where the record at `ordinal` is when it is not read from the base
    /// snapshot: its blob slot and word.
    fn moved_word(&self, ordinal: u32) -> Option<(u32, usize)>;
    /// Asks the processor to start loading the record at `word` of blob
    /// slot `slot` (a hint).
    fn prefetch_moved(&self, slot: u32, word: usize);
    /// The record at `word` of blob slot `slot`.
    fn moved_at(&self, slot: u32, word: usize) -> Self::Ref;
}

/// The primary- or unique-key index in `data`, if that is one.
pub(crate) fn unique_of(data: Option<&IndexData>) -> Option<&UniqueData> {
    match data {
        Some(IndexData::Unique(u)) => Some(u),
        _ => None,
    }
}

/// A primary- or unique-key index as a view's lookups read it: its data,
/// and what lookups read first resolved once ([`Resolved`]), so a lookup
/// goes through no `Option`, enum or merge check of the data before its
/// first slot.
#[derive(Clone, Debug)]
pub(crate) struct UniqueLookup {
    data: Arc<IndexData>,
    pub(super) first: Resolved,
}

impl UniqueLookup {
    /// The lookups of `data`, if that is a unique index.
    pub(crate) fn of(data: &Arc<IndexData>) -> Option<UniqueLookup> {
        let first = unique_of(Some(data))?.resolve();
        Some(UniqueLookup {
            data: data.clone(),
            first,
        })
    }

    /// The index's data.
    pub(crate) fn data(&self) -> &IndexData {
        &self.data
    }

    /// The index (`None` never happens: made from a unique index).
    #[inline]
    pub(super) fn unique(&self) -> Option<&UniqueData> {
        unique_of(Some(&self.data))
    }
}

/// The ordinal, and its record, of the record with key hash `hash` for
/// which `matches` holds (it compares the key).
///
/// The likely record ([`UniqueData::likely_from`]) is read first, in straight
/// code: it is the answer nearly always. Keeping this path short matters
/// beyond its own instructions: a loop of independent lookups runs as many
/// at once as the processor's window holds, so fewer instructions per
/// lookup means more cache misses overlapped.
#[inline(always)]
pub(crate) fn find_unique<R: LookupRecords>(
    records: &R,
    index: Option<&UniqueLookup>,
    hash: u64,
    matches: impl Fn(&R::Ref) -> bool,
) -> Option<(u32, R::Ref)> {
    let index = index?;
    let likely = match index.first.likely(hash) {
        Some(o) => Some(o),
        None => index.unique()?.likely_probing(hash),
    };
    if let Some(o) = likely {
        let r = match records.base_get(o) {
            Some(r) => Some(r),
            None => records.get_moved(o),
        };
        if let Some(r) = r {
            if matches(&r) {
                return Some((o, r));
            }
        }
    }
    find_unique_probing(records, index.unique()?, hash, matches)
}

/// [`find_unique`] by the whole probe, for when the likely record is not
/// the answer (a key absent, or a tag shared with another key).
#[inline(never)]
fn find_unique_probing<R: LookupRecords>(
    records: &R,
    u: &UniqueData,
    hash: u64,
    matches: impl Fn(&R::Ref) -> bool,
) -> Option<(u32, R::Ref)> {
    u.find_map(hash, |o| {
        let r = records.get(o)?;
        matches(&r).then_some((o, r))
    })
}

/// Keys a batch of lookups takes through each stage at once.
pub(crate) const BLOCK: usize = 16;
/// Keys kept between the one answered and the last hashed (a power of
/// two, room for the blocks ahead).
const RING: usize = 8 * BLOCK;
const _: () = assert!(RING.is_power_of_two() && RING >= 4 * BLOCK);
/// [`Lookups::places`] of a key whose likely record is in the base
/// snapshot (at its `words`, from [`LookupRecords::base_word`]).
const IN_BASE: u32 = u32::MAX;
/// ... of a key with no likely record.
const NOWHERE: u32 = u32::MAX - 1;
/// ... of a key whose likely record (its `ords`) is not in the base
/// snapshot and not yet found; once found its place is its blob slot
/// ([`LookupRecords::moved_word`]; a state never holds nearly 2^32 blobs, so
/// slots stay below these three).
const PENDING: u32 = u32::MAX - 2;

/// [`find_unique`] of many keys, answered in order as the iterator is
/// advanced, in stages a block of keys apart, so the cache misses of
/// neighbouring lookups overlap:
/// 1. a key is hashed and its home slot asked of memory;
/// 2. a block later its likely ordinal ([`UniqueData::likely_from`]) is read
///    from the slots, and that record asked of memory; for a record not
///    in the base snapshot (changed since), where it is;
/// 3. a block later, such a record is found and asked of memory;
/// 4. a block later still the record is compared with the key: the
///    answer, nearly always. Otherwise (a tag shared by two keys, a key
///    absent) the whole lookup runs again.
///
/// The first stages run a block at a time, in short loops, so each key
/// costs few instructions; each answer is handed out while its record is
/// still in the processor's cache, and nothing is collected.
struct Lookups<'a, R, K, E, M> {
    records: &'a R,
    data: Option<&'a UniqueData>,
    keys: &'a [K],
    encode: E,
    matches: M,
    /// Key hashes of keys `done..hashed` (at `i % RING`).
    hashes: [u64; RING],
    /// Where the likely record of keys `done..found` is: [`IN_BASE`], a
    /// blob slot, [`PENDING`] or [`NOWHERE`].
    places: [u32; RING],
    /// The word that record starts at, in the base snapshot or its slot.
    words: [usize; RING],
    /// The likely ordinal of a key whose place is [`PENDING`].
    ords: [u32; RING],
    q: KeyHasher,
    /// Keys answered; keys whose likely record was asked for; keys whose
    /// likely ordinal was read; keys hashed.
    done: usize,
    fetched: usize,
    found: usize,
    hashed: usize,
}

impl<'a, R, K, E, M> Lookups<'a, R, K, E, M>
where
    R: LookupRecords,
    E: Fn(&K, &mut KeyHasher),
{
    /// Stages 1 to 3 for the blocks ahead of key `done`.
    #[inline(never)]
    fn advance(&mut self, u: &UniqueData) {
        let n = self.keys.len();
        let first = u.first();
        let hash_to = n.min(self.done + 3 * BLOCK);
        for k in self.hashed..hash_to {
            self.q.clear();
            (self.encode)(&self.keys[k], &mut self.q);
            let h = self.q.finish();
            self.hashes[k % RING] = h;
            first.prefetch(h);
        }
        self.hashed = self.hashed.max(hash_to);
        // Stage 3 before stage 2: it reads what stage 2 asked for a block
        // ago.
        let fetch_to = n.min(self.done + BLOCK);
        for k in self.fetched..fetch_to {
            let at = k % RING;
            if self.places[at] == PENDING {
                match self.records.moved_word(self.ords[at]) {
                    Some((slot, word)) => {
                        self.records.prefetch_moved(slot, word);
                        self.places[at] = slot;
                        self.words[at] = word;
                    }
                    None => self.places[at] = NOWHERE,
                }
            }
        }
        self.fetched = self.fetched.max(fetch_to);
        let find_to = n.min(self.done + 2 * BLOCK);
        for k in self.found..find_to {
            let at = k % RING;
            let place = match u.likely_from(first, self.hashes[at]) {
                Some(o) => match self.records.base_word(o) {
                    Some(w) => {
                        self.records.prefetch_base(w);
                        self.words[at] = w;
                        IN_BASE
                    }
                    None => {
                        self.records.prefetch_location(o);
                        self.ords[at] = o;
                        PENDING
                    }
                },
                None => NOWHERE,
            };
            self.places[at] = place;
        }
        self.found = self.found.max(find_to);
    }
}

impl<'a, R, K, E, M> Iterator for Lookups<'a, R, K, E, M>
where
    R: LookupRecords,
    E: Fn(&K, &mut KeyHasher),
    M: Fn(&R::Ref, &K) -> bool,
{
    type Item = Option<R::Ref>;

    // Inlined into the caller's loop: the answer then stays in registers.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let key = self.keys.get(self.done)?;
        let Some(u) = self.data else {
            self.done += 1;
            return Some(None);
        };
        if self.done.is_multiple_of(BLOCK) {
            self.advance(u);
        }
        let at = self.done % RING;
        self.done += 1;
        let matches = &self.matches;
        let likely = match self.places[at] {
            IN_BASE => Some(self.records.base_at(self.words[at])),
            NOWHERE => None,
            // Its likely ordinal was read after stage 3 ran for it (keys
            // of the first block): found now.
            PENDING => self.records.get(self.ords[at]),
            slot => Some(self.records.moved_at(slot, self.words[at])),
        };
        if let Some(r) = likely {
            if matches(&r, key) {
                return Some(Some(r));
            }
        }
        let hash = self.hashes[at];
        Some(find_unique_probing(self.records, u, hash, |r| matches(r, key)).map(|(_, r)| r))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.keys.len() - self.done;
        (left, Some(left))
    }
}

impl<'a, R, K, E, M> ExactSizeIterator for Lookups<'a, R, K, E, M>
where
    R: LookupRecords,
    E: Fn(&K, &mut KeyHasher),
    M: Fn(&R::Ref, &K) -> bool,
{
}

/// The lookups of `keys`, in order (see [`Lookups`]).
pub(crate) fn lookups<'a, R: LookupRecords, K>(
    records: &'a R,
    data: Option<&'a IndexData>,
    keys: &'a [K],
    encode: impl Fn(&K, &mut KeyHasher) + 'a,
    matches: impl Fn(&R::Ref, &K) -> bool + 'a,
) -> impl ExactSizeIterator<Item = Option<R::Ref>> + 'a {
    Lookups {
        records,
        data: unique_of(data),
        keys,
        encode,
        matches,
        hashes: [0; RING],
        places: [NOWHERE; RING],
        words: [0; RING],
        ords: [0; RING],
        q: KeyHasher::new(),
        done: 0,
        fetched: 0,
        found: 0,
        hashed: 0,
    }
}

impl IndexData {
    /// The ordinals of a hash index's group whose key hashes to `hash`
    /// and is key `pos` of record `rep` when `is_key(rep, pos)` holds
    /// (each group is asked of one of its records); none for a unique
    /// index or a key no record has.
    #[inline]
    pub(crate) fn group_ordinals(
        &self,
        hash: u64,
        mut is_key: impl FnMut(u32, u32) -> bool,
    ) -> Option<GroupOrdinals<'_>> {
        let IndexData::Hash(d) = self else {
            return None;
        };
        let gid = d.table.find(hash, |gid| {
            d.groups
                .get(gid)
                .is_some_and(|g| g.hash == hash && is_key(g.rep, g.pos))
        })?;
        d.groups.get(gid).map(|g| GroupOrdinals(&g.posting))
    }

    /// The ordinals, ascending, of the records whose key hashes to `hash`
    /// and for which `key_at(ordinal, pos)` holds (the key is key `pos` of
    /// that record): the one record of a unique index, every record of a
    /// hash index's group.
    pub(crate) fn ordinals_of(
        &self,
        hash: u64,
        mut key_at: impl FnMut(u32, u32) -> bool,
    ) -> Vec<u32> {
        match self {
            IndexData::Unique(t) => t
                .find_map(hash, |o| key_at(o, 0).then_some(o))
                .into_iter()
                .collect(),
            IndexData::Hash(_) => self
                .group_ordinals(hash, key_at)
                .map_or_else(Vec::new, |g| g.iter().collect()),
        }
    }
}

/// The ordinals of one group of a hash index (the records with one key).
#[derive(Clone, Copy)]
pub(crate) struct GroupOrdinals<'a>(&'a Posting);

impl<'a> GroupOrdinals<'a> {
    /// The ordinals, ascending.
    #[inline]
    pub(crate) fn iter(self) -> Ordinals<'a> {
        self.0.iter()
    }

    /// How many there are.
    #[inline]
    pub(crate) fn len(self) -> usize {
        self.0.len() as usize
    }
}

//! Primary-key and unique-key indexes: a base table, built when a snapshot
//! loads and never changed after, plus a small table of the ordinals added
//! since.
//!
//! A delta touches only the small table and two ordinal sets. Removing an
//! ordinal leaves its entry in place: every lookup compares the key by
//! reading the record, and an ordinal no longer present (or reused by a
//! record with another key) fails that comparison, so a stale entry never
//! gives a wrong answer. An update reads no removed record and nothing of
//! the base but the slots its duplicate check probes (none when the blobs
//! vouch for the key: see `Change::vouched`), so a 1 % delta costs the
//! small table's work alone; a state held by a reader keeps its own small
//! table and the shared base.
//!
//! Once recent and stale entries pass a sixteenth of the base, both tables
//! are merged into a new base of the same shape: base entries move by the
//! home slot and tag they hold, recent ones by the key hash kept in a log,
//! so a merge reads no record either. A large base is merged on a thread of
//! its own, started by the update that crossed the threshold; the next
//! update takes the result.

use std::sync::{Arc, Mutex, OnceLock};

use super::data::{has_key, too_many, Change, KeyList, ReadFn};
use super::table::{Full, Probe, SlotTable};
use super::{IndexKind, IndexSpec};
use crate::bits::Bits;
use crate::record::KeyHasher;
use crate::wire::StructReader;

/// A set of ordinals, shared between versions (an update copies it once).
type Shared = Arc<Bits>;

/// A logged recent entry: its ordinal and the bits of its key hash that
/// place an entry in any table (the high half gives the home slot; the low
/// bits the tag, never more than 16 of them), in 12 bytes instead of 16.
#[derive(Clone, Copy, Debug)]
struct Logged {
    hash_hi: u32,
    ordinal: u32,
    hash_lo: u16,
}

impl Logged {
    fn new(hash: u64, ordinal: u32) -> Logged {
        Logged {
            hash_hi: (hash >> 32) as u32,
            ordinal,
            hash_lo: hash as u16,
        }
    }

    /// A hash with the same home slot and tag as the logged one.
    fn hash(&self) -> u64 {
        ((self.hash_hi as u64) << 32) | self.hash_lo as u64
    }
}

/// Merge when recent and stale entries pass `base / COMPACT_DIVISOR`.
const COMPACT_DIVISOR: usize = 16;
/// ... or this many, for small bases.
const COMPACT_MIN: usize = 64;
/// Entries a recent table has room for from the start, beside a base of
/// `base` entries: as many as trigger a merge. Steady deltas then never
/// grow it (growing rebuilds it from the log), and it stays under half
/// full, where a Robin Hood insert is short (for 1M movies, inserts into
/// a recent table half full took twice as long as into one a quarter
/// full).
fn recent_room(base: usize) -> usize {
    base / COMPACT_DIVISOR
}

/// Written by a test to keep background merges from finishing until it
/// lets them.
#[cfg(test)]
pub(crate) static HOLD_MERGES: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Bases this large are merged on a thread of their own, off the refresh.
const BACKGROUND_MIN: usize = 1 << 14;

/// A primary-key or unique-key index: key → ordinal.
#[derive(Clone, Debug)]
pub(crate) struct UniqueData {
    /// Entries from the last build or merge (some may be stale).
    base: Arc<SlotTable>,
    /// Entries of the ordinals added since (some may be stale); small, so
    /// an update copies it.
    recent: Arc<SlotTable>,
    /// Key hash and ordinal of every entry put in `recent`, one part per
    /// update, oldest first.
    log: Vec<Arc<[Logged]>>,
    /// The ordinals added since the base was made and present now.
    in_recent: Shared,
    /// Ordinals removed since the base was made (their base entries, if
    /// any, are stale).
    stale: Shared,
    stale_count: usize,
    /// A merge of these very entries running in the background, if one
    /// was started.
    pending: Option<Arc<Pending>>,
}

/// The table a lookup reads first (see [`UniqueData::first`]).
#[derive(Clone, Copy)]
pub(crate) struct First<'a> {
    table: &'a SlotTable,
    /// The ordinals whose entries in `table` are stale, when some may be
    /// (`None` for the merge of exactly this state's entries, or a base
    /// with nothing removed since).
    stale: Option<&'a Bits>,
}

/// What the lookups of one view of a unique index read first, resolved
/// once when the view is made rather than on every lookup: the table, the
/// stale set it needs checked, and a merge of this state's entries still
/// running then (read instead once it has finished).
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    table: Arc<SlotTable>,
    stale: Option<Shared>,
    pending: Option<Arc<Pending>>,
    /// `table`'s probe, when it is the table read first for good (no
    /// merge was running when the view was made): a lookup then reads it
    /// alone, with no check of a merge.
    probe: Option<Probe>,
}

impl Resolved {
    fn new(table: Arc<SlotTable>, stale: Option<Shared>, pending: Option<Arc<Pending>>) -> Self {
        let probe = pending.is_none().then(|| table.probe()).flatten();
        Resolved {
            table,
            stale,
            pending,
            probe,
        }
    }

    /// [`First::likely`] of [`Resolved::first`], through the probe when
    /// there is one.
    #[inline(always)]
    pub(crate) fn likely(&self, hash: u64) -> Option<u32> {
        match &self.probe {
            Some(p) => {
                // SAFETY: the probe was made from `self.table`, which is
                // held here and never changed once shared.
                let o = unsafe { p.first_in_window(hash) }?;
                live(self.stale.as_deref(), o)
            }
            None => self.first().likely(hash),
        }
    }

    /// The table to read first now (as [`UniqueData::first`] would say).
    #[inline(always)]
    pub(crate) fn first(&self) -> First<'_> {
        if let Some(table) = self.pending.as_ref().and_then(|p| p.merged()) {
            return First { table, stale: None };
        }
        First {
            table: &self.table,
            stale: self.stale.as_deref(),
        }
    }
}

impl First<'_> {
    /// Starts loading the slot a lookup of `hash` reads first.
    #[inline(always)]
    pub(crate) fn prefetch(&self, hash: u64) {
        self.table.prefetch(hash);
    }

    /// [`UniqueData::likely_from`] when it is the table's first window hit and
    /// not stale (nearly always): a few instructions, no loop. `None`
    /// means asking [`UniqueData::likely_probing`].
    #[inline(always)]
    pub(crate) fn likely(&self, hash: u64) -> Option<u32> {
        let o = self.table.first_in_window(hash)?;
        live(self.stale, o)
    }
}

/// `o`, unless `stale` holds it.
#[inline(always)]
fn live(stale: Option<&Bits>, o: u32) -> Option<u32> {
    stale.is_none_or(|s| !s.get(o)).then_some(o)
}

/// A background merge: its result (a new base, or `None` when the
/// entries did not fit the base's shape), and the thread to wait for.
#[derive(Debug, Default)]
struct Pending {
    result: OnceLock<Option<Arc<SlotTable>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Pending {
    /// The merged table, once the merge has finished with one (one atomic
    /// load; never waits).
    #[inline(always)]
    fn merged(&self) -> Option<&Arc<SlotTable>> {
        self.result.get()?.as_ref()
    }

    /// The result, once the merge has finished (waiting for its thread).
    fn result(&self) -> Option<&Option<Arc<SlotTable>>> {
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            // A merge that panicked leaves no result: merged in place.
            let _ = h.join();
        }
        self.result.get()
    }
}

/// Scratch for reading one record's key.
pub(crate) struct KeyWork<'w> {
    spec: &'w IndexSpec,
    keys: KeyList,
    h: KeyHasher,
}

impl<'w> KeyWork<'w> {
    pub(crate) fn new(spec: &'w IndexSpec) -> Self {
        KeyWork {
            spec,
            keys: KeyList::default(),
            h: KeyHasher::new(),
        }
    }

    /// The one key of ordinal `o` read by `read`, and its hash.
    fn key_of(&mut self, o: u32, read: &ReadFn<'_>) -> Result<(&[u8], u64), String> {
        self.key_in(o, read(o))
    }

    /// The hash of the one key of record `r` (ordinal `o`), without
    /// collecting it.
    fn hash_in(&mut self, o: u32, r: Option<StructReader<'_>>) -> Result<u64, String> {
        let r = r.ok_or_else(|| self.absent(o))?;
        match self.spec.reader().one_key_hash(&r, &mut self.h) {
            (hash, 1) => Ok(hash),
            (_, n) => Err(self.not_one_key(o, n)),
        }
    }

    /// The one key of record `r` (ordinal `o`), and its hash.
    fn key_in(&mut self, o: u32, r: Option<StructReader<'_>>) -> Result<(&[u8], u64), String> {
        let r = r.ok_or_else(|| self.absent(o))?;
        self.keys.collect(self.spec, &r, &mut self.h);
        if self.keys.total() != 1 {
            return Err(self.not_one_key(o, self.keys.total()));
        }
        let key = self.keys.iter().next().unwrap_or_default();
        Ok((key, self.spec.reader().hash(key)))
    }

    fn absent(&self, o: u32) -> String {
        format!(
            "index {} of {}: ordinal {o} is absent",
            self.spec.name(),
            self.spec.type_name()
        )
    }

    fn not_one_key(&self, o: u32, n: usize) -> String {
        format!(
            "index {} of {}: ordinal {o} has {n} keys, a unique index needs one",
            self.spec.name(),
            self.spec.type_name(),
        )
    }
}

/// The live ordinal other than `o` whose record (read by `read`) has key
/// `key` (hash `hash`) in table `t`.
fn other_with_key(
    t: &SlotTable,
    spec: &IndexSpec,
    hash: u64,
    key: &[u8],
    o: u32,
    read: &ReadFn<'_>,
    h: &mut KeyHasher,
) -> Option<u32> {
    t.find(hash, |v| {
        v != o && read(v).is_some_and(|r| has_key(spec, &r, key, h))
    })
}

fn duplicate(spec: &IndexSpec, other: u32, o: u32, read: &ReadFn<'_>) -> String {
    format!(
        "{} has two records with {} {} (ordinals {other} and {o})",
        spec.type_name(),
        if spec.kind() == IndexKind::PrimaryKey {
            "primary key"
        } else {
            "unique key"
        },
        read(o).map_or_else(|| "?".to_string(), |r| spec.reader().describe(&r))
    )
}

/// The entries of an index being updated, with which of them are live.
struct Live<'a> {
    recent: &'a SlotTable,
    /// Ordinals whose recent entries are live.
    in_recent: &'a Bits,
    base: &'a SlotTable,
    /// Ordinals whose base entries are stale.
    stale: &'a Bits,
}

impl Live<'_> {
    /// The live ordinal other than `o` whose record in the state `c`
    /// reaches has the key of `c`'s `k`-th added record (ordinal `o`, key
    /// hash `hash`). The added key is read (into `w`) only when a live
    /// entry of its hash's home and tag turns up, which is rare.
    fn other_with_key_of(
        &self,
        hash: u64,
        o: u32,
        k: usize,
        c: &Change<'_, '_>,
        w: &mut KeyWork<'_>,
    ) -> Option<u32> {
        let KeyWork { spec, keys, h } = w;
        keys.clear();
        let mut same_key = |v: u32, live: bool| {
            if v == o || !live {
                return false;
            }
            let Some(r) = (c.new)(v) else {
                return false;
            };
            if keys.total() == 0 {
                if let Some(a) = (c.added_at)(k) {
                    keys.collect(spec, &a, h);
                }
            }
            keys.iter().any(|want| has_key(spec, &r, want, h))
        };
        // Only live entries can be duplicates: a recent entry of an
        // ordinal present now, a base entry of one never removed.
        self.recent
            .find(hash, |v| same_key(v, self.in_recent.get(v)))
            .or_else(|| self.base.find(hash, |v| same_key(v, !self.stale.get(v))))
    }
}

#[cfg(test)]
impl Resolved {
    /// Whether lookups through this view now read `u`'s finished merge
    /// first, with no stale check.
    pub(crate) fn reads_merge_of(&self, u: &UniqueData) -> bool {
        let f = self.first();
        f.stale.is_none() && u.merged().is_some_and(|m| std::ptr::eq(f.table, &**m))
    }
}

impl UniqueData {
    /// Builds the index over ordinals `0..limit` (`count` records).
    pub(crate) fn build(
        spec: &IndexSpec,
        count: usize,
        limit: u32,
        read: &ReadFn<'_>,
    ) -> Result<UniqueData, String> {
        let mut w = KeyWork::new(spec);
        let mut h2 = KeyHasher::new();
        let mut t = SlotTable::with_capacity(count, limit).ok_or_else(|| too_many(spec))?;
        for o in 0..limit {
            if read(o).is_none() {
                continue;
            }
            let (key, hash) = w.key_of(o, read)?;
            if let Some(other) = other_with_key(&t, spec, hash, key, o, read, &mut h2) {
                return Err(duplicate(spec, other, o, read));
            }
            if let Err(Full::Rebuild(floating)) = t.insert(hash, o) {
                let mut values: Vec<u32> = t.values().collect();
                values.push(floating);
                t = rehash(spec, &values, limit, read)?;
            }
        }
        UniqueData::over(Arc::new(t), limit, spec)
    }

    /// An index whose entries are all in `base` (of ordinals below
    /// `limit`), with an empty recent table.
    fn over(base: Arc<SlotTable>, limit: u32, spec: &IndexSpec) -> Result<UniqueData, String> {
        Ok(UniqueData {
            recent: Arc::new(
                SlotTable::with_capacity(recent_room(base.len()), limit)
                    .ok_or_else(|| too_many(spec))?,
            ),
            log: Vec::new(),
            base,
            in_recent: Shared::default(),
            stale: Shared::default(),
            stale_count: 0,
            pending: None,
        })
    }

    /// The merge of exactly this version's entries, once the background
    /// merge started by the update that made it has finished: lookups
    /// read it alone (every entry in it is live) rather than the base,
    /// its stale entries and the recent table. Without this a state would
    /// wait for the next delta to benefit from its merge, and a large
    /// delta would leave every lookup probing two tables until then.
    #[inline(always)]
    fn merged(&self) -> Option<&Arc<SlotTable>> {
        self.pending.as_ref()?.merged()
    }

    /// Waits for a background merge of this version's entries, if one
    /// was started; whether there is a merged table.
    #[cfg(test)]
    pub(crate) fn wait_merged(&self) -> bool {
        self.pending
            .as_ref()
            .and_then(|p| p.result())
            .is_some_and(Option::is_some)
    }

    /// The first `Some` that `check` gives for an ordinal whose key has
    /// hash `hash`: base entries first (most keys are there; a live record
    /// with the key is the answer wherever it is found), then recent ones.
    #[inline(always)]
    pub(crate) fn find_map<R>(
        &self,
        hash: u64,
        mut check: impl FnMut(u32) -> Option<R>,
    ) -> Option<R> {
        if let Some(m) = self.merged() {
            return m.find_map(hash, check);
        }
        if let Some(r) = self.base.find_map(hash, &mut check) {
            return Some(r);
        }
        if self.recent.len() > 0 {
            return self.recent.find_map(hash, check);
        }
        None
    }

    /// The home slot and tag `hash` has in the base table.
    #[cfg(test)]
    pub(crate) fn base_home_and_tag(&self, hash: u64) -> (usize, u32) {
        self.base.home_and_tag(hash)
    }

    /// The table lookups read first in this state: the merged one once it
    /// is done, else the base. A batch of lookups asks once per block
    /// (one atomic load) rather than once per key and stage.
    #[inline(always)]
    pub(crate) fn first(&self) -> First<'_> {
        match self.merged() {
            Some(table) => First { table, stale: None },
            None => First {
                table: &self.base,
                stale: (self.stale_count > 0).then_some(&self.stale),
            },
        }
    }

    /// [`UniqueData::first`] resolved for a view (see [`Resolved`]).
    pub(crate) fn resolve(&self) -> Resolved {
        match self.merged() {
            Some(table) => Resolved::new(table.clone(), None, None),
            None => Resolved::new(
                self.base.clone(),
                (self.stale_count > 0).then(|| self.stale.clone()),
                self.pending.clone(),
            ),
        }
    }

    /// The ordinal most likely to hold the key of hash `hash`, unchecked
    /// (its record may hold another key, or none): the first base entry of
    /// that hash's home and tag whose ordinal was not removed since the
    /// base was made, else the recent table's first. Lookups read this
    /// ordinal's record first (a batch fetches it ahead), so a key changed
    /// since the base costs no read of its stale record. Once this
    /// version's entries are merged, the merged table's first.
    ///
    /// `first` is the table read first ([`UniqueData::first`] of this
    /// index, or [`Resolved::first`] of a view of it).
    #[inline(always)]
    pub(crate) fn likely_from(&self, first: First<'_>, hash: u64) -> Option<u32> {
        match first.likely(hash) {
            Some(o) => Some(o),
            None => self.likely_probing(hash),
        }
    }

    /// [`UniqueData::likely_from`] by the whole probe.
    #[inline(never)]
    pub(crate) fn likely_probing(&self, hash: u64) -> Option<u32> {
        if let Some(m) = self.merged() {
            return m.first_candidate(hash);
        }
        let stale = &self.stale;
        self.base
            .find_map(hash, |o| (!stale.get(o)).then_some(o))
            .or_else(|| {
                if self.recent.len() > 0 {
                    self.recent.first_candidate(hash)
                } else {
                    None
                }
            })
    }

    /// The index after a delta: `removed` ordinals read from the state
    /// left (`old`), `added` ones from the state reached (`new`, ordinals
    /// below `new_limit`).
    ///
    /// # Errors
    /// Two live records share a key (naming the type and key), or an
    /// ordinal's record is missing.
    pub(crate) fn update(
        &self,
        spec: &IndexSpec,
        c: &Change<'_, '_>,
    ) -> Result<UniqueData, String> {
        let Change {
            removed,
            old,
            added,
            added_at,
            new,
            new_limit,
            vouched,
            ..
        } = *c;
        let mut next = self.clone();
        next.pending = None;
        if let Some(p) = &self.pending {
            // The merge of exactly this version's entries: take it (it has
            // had the time between two deltas to finish; if deltas come
            // faster than merges, this waits).
            match p.result() {
                Some(Some(base)) => next.adopt(base.clone(), new_limit, spec)?,
                // Did not fit (or failed): merge here, keys read again.
                _ => next.merge(spec, old, new_limit)?,
            }
        }
        let mut w = KeyWork::new(spec);
        // Copied once here and written in place below (no copy-on-write
        // check per write).
        let mut recent = (*next.recent).clone();
        let mut in_recent = (*next.in_recent).clone();
        let mut stale = (*next.stale).clone();
        for &o in removed {
            in_recent.set(o, false);
            if !stale.get(o) {
                stale.set(o, true);
                next.stale_count += 1;
            }
        }
        // Key hashes of the added records first, so the slots each add
        // reads can be asked for well ahead of their use (a key itself is
        // read again only to compare with a live candidate of its hash's
        // home and tag, which is rare).
        let mut hashes = Vec::with_capacity(added.len());
        match &c.added_list {
            Some(list) => spec
                .reader()
                .one_key_hashes(list, &mut w.h, &mut hashes)
                .map_err(|(k, n)| w.not_one_key(added[k as usize], n))?,
            None => {
                for (k, &o) in added.iter().enumerate() {
                    hashes.push(w.hash_in(o, added_at(k))?);
                }
            }
        }
        // Unless the blobs vouch for the key, each added key is checked
        // against the live entries before it goes in (so against the keys
        // added before it as well). The slots an add reads are asked for
        // well ahead: the recent table's, and the base's for the check.
        const AHEAD: usize = 16;
        let ahead = |recent: &SlotTable, hash: u64| {
            recent.prefetch(hash);
            if !vouched {
                next.base.prefetch(hash);
            }
        };
        for &hash in hashes.iter().take(AHEAD) {
            ahead(&recent, hash);
        }
        let mut log: Vec<Logged> = Vec::with_capacity(added.len());
        for (k, (&hash, &o)) in hashes.iter().zip(added).enumerate() {
            if let Some(&h) = hashes.get(k + AHEAD) {
                ahead(&recent, h);
            }
            if !vouched {
                let live = Live {
                    recent: &recent,
                    in_recent: &in_recent,
                    base: &next.base,
                    stale: &stale,
                };
                if let Some(other) = live.other_with_key_of(hash, o, k, c, &mut w) {
                    return Err(duplicate(spec, other, o, new));
                }
            }
            if let Err(Full::Rebuild(_)) = recent.insert(hash, o) {
                // The entry left out may be another: rebuild from the log.
                recent = next.grown_recent(&log, &in_recent, o, hash, new_limit, spec)?;
            }
            in_recent.set(o, true);
            log.push(Logged::new(hash, o));
        }
        next.recent = Arc::new(recent);
        next.in_recent = Arc::new(in_recent);
        next.stale = Arc::new(stale);
        next.log.push(log.into());
        if next.recent.len() + next.stale_count > next.merge_threshold() {
            if next.base.len() < BACKGROUND_MIN {
                next.merge(spec, new, new_limit)?;
            } else {
                next.pending = Some(next.start_merge());
            }
        }
        Ok(next)
    }

    /// Recent and stale entries past which the tables are merged.
    fn merge_threshold(&self) -> usize {
        (self.base.len() / COMPACT_DIVISOR).max(COMPACT_MIN)
    }

    /// Starts merging these entries on a thread of its own (in place when
    /// no thread can be started).
    fn start_merge(&self) -> Arc<Pending> {
        let pending = Arc::new(Pending::default());
        let (me, out) = (self.clone(), pending.clone());
        let spawned = std::thread::Builder::new()
            .name("hollow-index-merge".into())
            .spawn(move || {
                #[cfg(test)]
                let _held = HOLD_MERGES.read().unwrap_or_else(|p| p.into_inner());
                let _ = out.result.set(me.merged_same_shape().map(Arc::new));
            });
        match spawned {
            Ok(h) => *pending.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(h),
            Err(_) => {
                let _ = pending.result.set(self.merged_same_shape().map(Arc::new));
            }
        }
        pending
    }

    /// Takes `base`, a merge of exactly these entries, as the base (with
    /// nothing recent or stale; no merge is pending when this is called).
    fn adopt(&mut self, base: Arc<SlotTable>, limit: u32, spec: &IndexSpec) -> Result<(), String> {
        *self = UniqueData::over(base, limit, spec)?;
        Ok(())
    }

    /// A larger recent table holding every logged entry (those of this
    /// update so far in `log`) and ordinal `o` (key hash `hash`).
    fn grown_recent(
        &self,
        log: &[Logged],
        in_recent: &Bits,
        o: u32,
        hash: u64,
        limit: u32,
        spec: &IndexSpec,
    ) -> Result<SlotTable, String> {
        // Every entry of the old table came from the log; stale ones go.
        let mut entries: Vec<(u64, u32)> = self
            .log
            .iter()
            .flat_map(|part| part.iter())
            .chain(log)
            .map(|l| (l.hash(), l.ordinal))
            .filter(|&(_, v)| in_recent.get(v))
            .collect();
        entries.push((hash, o));
        entries.sort_unstable_by_key(|&(_, v)| v);
        entries.dedup();
        let want = (entries.len() + entries.len() / 2).max(recent_room(self.base.len()));
        let values: Vec<u32> = entries.iter().map(|&(_, v)| v).collect();
        SlotTable::rebuild_sized(&values, want, limit, |i| entries[i].0)
            .ok_or_else(|| too_many(spec))
    }

    /// Folds the recent entries into a new base and drops the stale ones,
    /// here and now (`read` reads the records these entries index).
    fn merge(&mut self, spec: &IndexSpec, read: &ReadFn<'_>, limit: u32) -> Result<(), String> {
        let base = match self.merged_same_shape() {
            Some(t) => t,
            None => {
                // No room left (or ordinals outgrew the entry): rebuild
                // larger, reading the keys again.
                let dead = self.dead();
                let (in_order, wrapped) = self.base.entries_split(|v| !dead.get(v));
                let values: Vec<u32> = in_order
                    .chain(wrapped)
                    .map(|(_, _, v)| v)
                    .chain(self.live_recent().iter().map(|&(_, v)| v))
                    .collect();
                let n = values.len();
                rehash_sized(spec, &values, n, limit, read)?
            }
        };
        self.adopt(Arc::new(base), limit, spec)
    }

    /// The ordinals whose base entries are dead: stale, or superseded by
    /// a recent entry (one set to test per entry).
    fn dead(&self) -> Shared {
        let mut dead = self.stale.clone();
        Arc::make_mut(&mut dead).union_with(&self.in_recent);
        dead
    }

    /// The newest logged entry (key hash, ordinal) of each ordinal present.
    fn live_recent(&self) -> Vec<(u64, u32)> {
        let mut taken = Bits::default();
        let mut recent = Vec::new();
        for (hash, v) in self
            .log
            .iter()
            .rev()
            .flat_map(|part| part.iter().rev())
            .map(|l| (l.hash(), l.ordinal))
        {
            if self.in_recent.get(v) && !taken.get(v) {
                taken.set(v, true);
                recent.push((hash, v));
            }
        }
        recent
    }

    /// The live entries in a table of the base's shape, or `None` when
    /// they do not fit it. Reads no record.
    fn merged_same_shape(&self) -> Option<SlotTable> {
        let started = std::time::Instant::now();
        // Recent entries in order of home slot, to be laid down in one pass
        // together with the base's (which come in that order already).
        let mut recent: Vec<(usize, u32, u32)> = self
            .live_recent()
            .into_iter()
            .map(|(hash, v)| {
                let (home, tag) = self.base.home_and_tag(hash);
                (home, tag, v)
            })
            .collect();
        recent.sort_unstable_by_key(|e| e.0);
        let dead = self.dead();
        let (base_in_order, wrapped) = self.base.entries_split(|v| !dead.get(v));
        let t = self.base.with_entries(
            MergeByHome::new(base_in_order, recent.into_iter()),
            wrapped.into_iter(),
        );
        tracing::debug!(
            entries = t.as_ref().map(SlotTable::len),
            elapsed = ?started.elapsed(),
            "recent index entries merged into the base"
        );
        t
    }

    /// Heap bytes held (the base shared with other versions included).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.base.heap_bytes()
            + self.recent.heap_bytes()
            + self.in_recent.heap_bytes()
            + self.stale.heap_bytes()
            + self
                .log
                .iter()
                .map(|p| std::mem::size_of_val::<[Logged]>(p))
                .sum::<usize>()
    }
}

/// A table of `values`, keys read by `read`, sized for them.
pub(crate) fn rehash(
    spec: &IndexSpec,
    values: &[u32],
    limit: u32,
    read: &ReadFn<'_>,
) -> Result<SlotTable, String> {
    rehash_sized(spec, values, values.len(), limit, read)
}

/// A table of `values` with room for at least `n` entries.
fn rehash_sized(
    spec: &IndexSpec,
    values: &[u32],
    n: usize,
    limit: u32,
    read: &ReadFn<'_>,
) -> Result<SlotTable, String> {
    let mut w = KeyWork::new(spec);
    let mut hashes = Vec::with_capacity(values.len());
    for &v in values {
        hashes.push(w.key_of(v, read)?.1);
    }
    let t =
        SlotTable::rebuild_sized(values, n, limit, |i| hashes[i]).ok_or_else(|| too_many(spec))?;
    tracing::debug!(
        index = spec.name(),
        entries = t.len(),
        "index table rebuilt larger"
    );
    Ok(t)
}

/// Two streams of (home slot, tag, value), each in order of home slot,
/// merged into one in that order.
struct MergeByHome<A: Iterator, B: Iterator> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A, B> MergeByHome<A, B>
where
    A: Iterator<Item = (usize, u32, u32)>,
    B: Iterator<Item = (usize, u32, u32)>,
{
    fn new(a: A, b: B) -> Self {
        MergeByHome {
            a: a.peekable(),
            b: b.peekable(),
        }
    }
}

impl<A, B> Iterator for MergeByHome<A, B>
where
    A: Iterator<Item = (usize, u32, u32)>,
    B: Iterator<Item = (usize, u32, u32)>,
{
    type Item = (usize, u32, u32);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match (self.a.peek(), self.b.peek()) {
            (Some(x), Some(y)) if y.0 < x.0 => self.b.next(),
            (Some(_), _) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

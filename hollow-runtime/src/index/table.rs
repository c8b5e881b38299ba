//! The slot table behind every index: open addressing with Robin Hood
//! probing over `u32` entries in one flat array.
//!
//! A table is never changed once a version holds it: an index shares its
//! large table between versions whole (behind an `Arc`) and changes only
//! small ones, copied once per update (see `unique.rs`). One array keeps a
//! lookup to one load per probe, and lets an update write slots without a
//! copy-on-write check (an atomic operation) per write.
//!
//! An entry packs three fields: the value (an ordinal, or a group id) in
//! the low `value_bits`, then its displacement from its home slot, then a
//! few more bits of its key hash (a tag that rules out most non-matching
//! candidates without reading their record). Keeping the displacement in
//! the entry lets removals shift entries back without recomputing any
//! hash, so an update never reads a record it does not change.

use super::slots::Slots;

/// Slots are allocated in multiples of this.
const CHUNK: usize = 512;
/// An empty slot (no real entry has all bits set: values stop one short).
const EMPTY: u32 = u32::MAX;
/// Most displacement bits kept (Robin Hood keeps displacements short).
const MAX_DISP_BITS: u32 = 6;
/// Fewest displacement bits a table may have.
const MIN_DISP_BITS: u32 = 3;
/// Values take at least 17 bits (room for 65 536 ordinals, see
/// `with_capacity`), so a tag has at most this many: the low 16 bits of a
/// key hash always hold it.
const MAX_TAG_BITS: u32 = 32 - 17 - MIN_DISP_BITS;
const _: () = assert!(MAX_TAG_BITS <= 16);

/// Slots from home a lookup reads at once (see [`SlotTable::find_map`]).
const WINDOW: usize = 8;

/// Fill at build and after growing.
const FILL: f64 = 0.7;
/// Fill past which the table grows.
const MAX_FILL: f64 = 0.85;

/// An entry as it can move between tables of one shape: home slot, tag,
/// value.
pub(crate) type Entry = (usize, u32, u32);

/// Why an insert did not complete.
#[derive(Debug)]
pub(crate) enum Full {
    /// The table needs rebuilding (more slots or more value bits) with
    /// every value it holds plus this one.
    Rebuild(u32),
}

/// The table. Cloning it copies the slots.
#[derive(Clone, Debug)]
pub(crate) struct SlotTable {
    slots: Slots,
    cap: usize,
    len: usize,
    value_bits: u32,
    disp_bits: u32,
    /// The bits of a key hash kept as its tag, the value bits and the
    /// largest displacement, as masks (computed once: every lookup needs
    /// them).
    tag_mask: u32,
    value_mask: u32,
    max_disp: u32,
}

/// A mask over the slots from home: bit `i` set when
/// `w[i] >> value_bits == want + i` (slot `i` holds an entry of tag
/// `want >> disp_bits` displaced by `i`, that is, of our home slot; or is
/// empty, for the largest tag and displacement of a table with 3
/// displacement bits: callers skip empty slots).
#[inline(always)]
fn window_hits(w: &[u32; WINDOW], value_bits: u32, want: u32) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of every x86_64 processor.
        unsafe {
            let [_, _, ua, ub] = window_lanes(w, value_bits);
            let base = _mm_set1_epi32(want as i32);
            let ha = _mm_cmpeq_epi32(ua, _mm_add_epi32(base, _mm_setr_epi32(0, 1, 2, 3)));
            let hb = _mm_cmpeq_epi32(ub, _mm_add_epi32(base, _mm_setr_epi32(4, 5, 6, 7)));
            sign_mask(ha, hb)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut hits = 0u32;
        for (i, &e) in w.iter().enumerate() {
            hits |= (((e >> value_bits) as u64 == want as u64 + i as u64) as u32) << i;
        }
        hits
    }
}

/// A mask over the slots from home: bit `i` set when slot `i` is empty or
/// holds an entry displaced by less than `i` (where a Robin Hood probe
/// stops). Computed only when no hit is the answer.
#[inline(always)]
fn window_stops(w: &[u32; WINDOW], value_bits: u32, max_disp: u32) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: as in `window_hits`.
        unsafe {
            let [a, b, ua, ub] = window_lanes(w, value_bits);
            let (ia, ib) = (_mm_setr_epi32(0, 1, 2, 3), _mm_setr_epi32(4, 5, 6, 7));
            // Displacements are below 64: a signed comparison is exact.
            let disp = _mm_set1_epi32(max_disp as i32);
            let empty = _mm_set1_epi32(-1);
            let sa = _mm_or_si128(
                _mm_cmplt_epi32(_mm_and_si128(ua, disp), ia),
                _mm_cmpeq_epi32(a, empty),
            );
            let sb = _mm_or_si128(
                _mm_cmplt_epi32(_mm_and_si128(ub, disp), ib),
                _mm_cmpeq_epi32(b, empty),
            );
            sign_mask(sa, sb)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut stops = 0u32;
        for (i, &e) in w.iter().enumerate() {
            let stop = e == EMPTY || ((e >> value_bits) & max_disp) < i as u32;
            stops |= (stop as u32) << i;
        }
        stops
    }
}

/// The window's slots as two vectors of four, then the same shifted
/// right by `value_bits` (tag and displacement).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn window_lanes(w: &[u32; WINDOW], value_bits: u32) -> [std::arch::x86_64::__m128i; 4] {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of every x86_64 processor; the loads read the
    // 32 bytes of `w` (unaligned loads).
    unsafe {
        let p = w.as_ptr().cast::<__m128i>();
        let (a, b) = (_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)));
        let shift = _mm_cvtsi32_si128(value_bits as i32);
        [a, b, _mm_srl_epi32(a, shift), _mm_srl_epi32(b, shift)]
    }
}

/// The sign bits of the eight lanes of `x` then `y`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn sign_mask(x: std::arch::x86_64::__m128i, y: std::arch::x86_64::__m128i) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: SSE is part of every x86_64 processor.
    unsafe {
        (_mm_movemask_ps(_mm_castsi128_ps(x)) | (_mm_movemask_ps(_mm_castsi128_ps(y)) << 4)) as u32
    }
}

/// [`SlotTable::first_in_window`] of one table, in as few loads as can
/// be: where its slots are, its capacity, and its packing in one word.
///
/// A lookup's loads, even of data already in the L1 cache, each hold a
/// place in the processor's load queue until the lookup's cache misses
/// return; a loop of independent lookups overlaps only as many lookups as
/// the queue has places for theirs. Reading these three words rather than
/// the table's fields through its `Arc` (ten loads) lets more lookups
/// overlap. A `Probe` says nothing of a table it outlives: whoever keeps
/// one keeps the table's `Arc` beside it (see `unique::Resolved`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Probe {
    slots: std::ptr::NonNull<u32>,
    cap: u64,
    /// Value mask (high 32 bits), tag mask (16 bits), displacement bits
    /// and value bits (8 bits each).
    params: u64,
}

// SAFETY: a `Probe` only stands for shared reads of a table's slots,
// which are never written once a version holds the table (`&[u32]` is
// `Send + Sync`).
unsafe impl Send for Probe {}
// SAFETY: as for `Send`.
unsafe impl Sync for Probe {}

impl Probe {
    /// [`SlotTable::first_in_window`] of the table this was made from.
    ///
    /// # Safety
    /// That table is alive (its slots are unchanged while any version
    /// holds it).
    #[inline(always)]
    pub(crate) unsafe fn first_in_window(&self, hash: u64) -> Option<u32> {
        let p = self.params;
        let home = (((hash >> 32) * self.cap) >> 32) as usize;
        if home as u64 + WINDOW as u64 > self.cap {
            return None;
        }
        let (value_bits, disp_bits) = ((p & 0xff) as u32, ((p >> 8) & 0xff) as u32);
        let tag = (hash as u32) & ((p >> 16) & 0xffff) as u32;
        // SAFETY: `home + WINDOW <= cap`, the number of slots (`probe`);
        // the table is alive (the caller's promise).
        let w = unsafe { &*self.slots.as_ptr().add(home).cast::<[u32; WINDOW]>() };
        let hits = window_hits(w, value_bits, tag << disp_bits);
        first_hit(w, hits, (p >> 32) as u32)
    }
}

/// The value of the first entry of window `w` among `hits` (from
/// [`window_hits`]), if any.
#[inline(always)]
fn first_hit(w: &[u32; WINDOW], hits: u32, value_mask: u32) -> Option<u32> {
    let e = *w.get(hits.trailing_zeros() as usize)?;
    // An empty slot can pass as a hit (see `window_hits`); its value is
    // the all-ones one, never an ordinal.
    (e != EMPTY).then_some(e & value_mask)
}

/// Where a value sits and what it packs.
#[inline]
fn bits_for(n: u64) -> u32 {
    64 - n.leading_zeros()
}

impl SlotTable {
    /// An empty table for about `n` entries whose values stay below
    /// `value_limit` (room is left to grow).
    ///
    /// Returns `None` when values that large cannot be packed.
    pub(crate) fn with_capacity(n: usize, value_limit: u32) -> Option<SlotTable> {
        // Room for values up to twice the limit (so a growing type does
        // not rebuild often); the all-ones value is reserved.
        let value_bits = bits_for((value_limit as u64).max(1 << 15) * 2 + 1).min(32);
        let rest = 32 - value_bits;
        if rest < MIN_DISP_BITS {
            return None;
        }
        let disp_bits = rest.min(MAX_DISP_BITS);
        let slots = ((n.max(16) as f64 / FILL).ceil() as usize).div_ceil(CHUNK) * CHUNK;
        Some(SlotTable {
            slots: Slots::filled(slots, EMPTY),
            cap: slots,
            len: 0,
            value_bits,
            disp_bits,
            tag_mask: (1u32 << (rest - disp_bits)) - 1,
            value_mask: if value_bits == 32 {
                u32::MAX
            } else {
                (1u32 << value_bits) - 1
            },
            max_disp: (1u32 << disp_bits) - 1,
        })
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes of the slots.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.heap_bytes()
    }

    #[inline]
    fn value_mask(&self) -> u32 {
        self.value_mask
    }

    /// Largest value an entry can hold.
    #[inline]
    fn max_value(&self) -> u32 {
        self.value_mask() - 1
    }

    #[inline]
    fn max_disp(&self) -> u32 {
        self.max_disp
    }

    #[inline]
    fn tag_of(&self, hash: u64) -> u32 {
        (hash as u32) & self.tag_mask
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        (((hash >> 32) * self.cap as u64) >> 32) as usize
    }

    #[inline]
    fn pack(&self, tag: u32, disp: u32, value: u32) -> u32 {
        let tag_shift = self.value_bits + self.disp_bits;
        let tag = if tag_shift >= 32 { 0 } else { tag << tag_shift };
        tag | (disp << self.value_bits) | value
    }

    #[inline]
    fn value(&self, e: u32) -> u32 {
        e & self.value_mask()
    }

    #[inline]
    fn disp(&self, e: u32) -> u32 {
        (e >> self.value_bits) & self.max_disp()
    }

    #[inline]
    fn tag(&self, e: u32) -> u32 {
        let tag_shift = self.value_bits + self.disp_bits;
        if tag_shift >= 32 {
            0
        } else {
            e >> tag_shift
        }
    }

    #[inline]
    fn get(&self, pos: usize) -> u32 {
        self.slots[pos]
    }

    #[inline]
    fn set(&mut self, pos: usize, e: u32) {
        self.slots[pos] = e;
    }

    #[inline]
    fn next(&self, pos: usize) -> usize {
        if pos + 1 == self.cap {
            0
        } else {
            pos + 1
        }
    }

    /// The first value with key hash `hash` for which `is_match` holds.
    #[inline]
    pub(crate) fn find(&self, hash: u64, mut is_match: impl FnMut(u32) -> bool) -> Option<u32> {
        self.find_map(hash, |v| is_match(v).then_some(v))
    }

    /// The first `Some` that `check` gives for a value with key hash
    /// `hash` (so a lookup keeps the record it read to compare).
    #[inline(always)]
    pub(crate) fn find_map<R>(
        &self,
        hash: u64,
        mut check: impl FnMut(u32) -> Option<R>,
    ) -> Option<R> {
        let tag = self.tag_of(hash);
        let home = self.home(hash);
        if let Some((w, mut hits)) = self.window(home, tag) {
            while hits != 0 {
                let i = hits.trailing_zeros() as usize;
                let e = w[i];
                if e != EMPTY {
                    if let Some(r) = check(self.value(e)) {
                        return Some(r);
                    }
                }
                hits &= hits - 1;
            }
            if window_stops(w, self.value_bits, self.max_disp()) != 0 {
                return None;
            }
            return self.find_map_after_window(home, tag, check);
        }
        self.find_map_from(home, tag, 0, check)
    }

    /// The slots from `home` (`None` when fewer than a window are left
    /// before the last), and a bit per slot holding an entry of that home
    /// and tag `tag`, all at once, without a branch per slot (an entry's
    /// displacement is its distance from its home). A lookup then branches
    /// the same way nearly every time (on one candidate, the answer), in
    /// few instructions, so the processor keeps several lookups' cache
    /// misses in flight.
    #[inline(always)]
    fn window(&self, home: usize, tag: u32) -> Option<(&[u32; WINDOW], u32)> {
        let w = <&[u32; WINDOW]>::try_from(self.slots.get(home..home + WINDOW)?).ok()?;
        Some((w, window_hits(w, self.value_bits, tag << self.disp_bits)))
    }

    /// [`SlotTable::find_map`] past the window, when no slot of it stops
    /// the probe (rare: a long cluster).
    #[cold]
    #[inline(never)]
    fn find_map_after_window<R>(
        &self,
        home: usize,
        tag: u32,
        check: impl FnMut(u32) -> Option<R>,
    ) -> Option<R> {
        if WINDOW as u32 > self.max_disp() {
            return None;
        }
        let pos = if home + WINDOW == self.cap {
            0
        } else {
            home + WINDOW
        };
        self.find_map_from(pos, tag, WINDOW as u32, check)
    }

    /// The probe of [`SlotTable::find_map`] one slot at a time, from slot
    /// `pos` at displacement `from`.
    #[inline]
    fn find_map_from<R>(
        &self,
        mut pos: usize,
        tag: u32,
        from: u32,
        mut check: impl FnMut(u32) -> Option<R>,
    ) -> Option<R> {
        for d in from..=self.max_disp() {
            let e = self.get(pos);
            if e == EMPTY {
                return None;
            }
            let ed = self.disp(e);
            if ed < d {
                // Robin Hood: an entry closer to its home than we are to
                // ours means ours is not further on.
                return None;
            }
            if ed == d && self.tag(e) == tag {
                if let Some(r) = check(self.value(e)) {
                    return Some(r);
                }
            }
            pos = self.next(pos);
        }
        None
    }

    /// Whether inserting one more entry keeps the table within its fill.
    pub(crate) fn has_room(&self, value: u32) -> bool {
        value <= self.max_value() && ((self.len + 1) as f64) <= self.cap as f64 * MAX_FILL
    }

    /// Inserts `value` with key hash `hash` (no check for an equal key).
    ///
    /// # Errors
    /// [`Full::Rebuild`]: a displacement overflowed; the table is missing
    /// the returned value and must be rebuilt with it.
    pub(crate) fn insert(&mut self, hash: u64, value: u32) -> Result<(), Full> {
        self.insert_at_home(self.home(hash), self.tag_of(hash), value)
    }

    /// [`SlotTable::insert`] of an entry whose home slot and tag are known
    /// (taken from another table of the same shape, see
    /// [`SlotTable::entries`]), so no key needs hashing again.
    pub(crate) fn insert_at_home(&mut self, home: usize, tag: u32, value: u32) -> Result<(), Full> {
        if !self.has_room(value) {
            return Err(Full::Rebuild(value));
        }
        let mut cur_tag = tag;
        let mut cur_disp = 0u32;
        let mut cur_value = value;
        let mut pos = home;
        loop {
            let e = self.get(pos);
            if e == EMPTY {
                let packed = self.pack(cur_tag, cur_disp, cur_value);
                self.set(pos, packed);
                self.len += 1;
                return Ok(());
            }
            let ed = self.disp(e);
            if ed < cur_disp {
                let packed = self.pack(cur_tag, cur_disp, cur_value);
                self.set(pos, packed);
                cur_tag = self.tag(e);
                cur_disp = ed;
                cur_value = self.value(e);
            }
            pos = self.next(pos);
            cur_disp += 1;
            if cur_disp > self.max_disp() {
                // The floating entry is out of the table now (the count
                // is unchanged: one went in, another came out).
                return Err(Full::Rebuild(cur_value));
            }
        }
    }

    /// Removes the entry holding `value` (key hash `hash`); false when there
    /// is none.
    pub(crate) fn remove(&mut self, hash: u64, value: u32) -> bool {
        let mut pos = self.home(hash);
        let mut found = None;
        for d in 0..=self.max_disp() {
            let e = self.get(pos);
            if e == EMPTY || self.disp(e) < d {
                break;
            }
            if self.disp(e) == d && self.value(e) == value {
                found = Some(pos);
                break;
            }
            pos = self.next(pos);
        }
        let Some(mut pos) = found else {
            return false;
        };
        // Backward shift: pull every following displaced entry one slot
        // nearer its home.
        loop {
            let nxt = self.next(pos);
            let e = self.get(nxt);
            if e == EMPTY || self.disp(e) == 0 {
                self.set(pos, EMPTY);
                break;
            }
            let moved = e - (1 << self.value_bits);
            self.set(pos, moved);
            pos = nxt;
        }
        self.len -= 1;
        true
    }

    /// A table of this one's shape holding `in_order` (home slot, tag,
    /// value, in non-decreasing order of home slot, as [`SlotTable::entries`]
    /// gives a table's entries that did not wrap around) and then `others`
    /// (in any order). Entries in order are laid down one after another,
    /// in one pass; the others are inserted. `None` when they do not fit.
    pub(crate) fn with_entries(
        &self,
        in_order: impl Iterator<Item = (usize, u32, u32)>,
        others: impl Iterator<Item = (usize, u32, u32)>,
    ) -> Option<SlotTable> {
        let mut t = SlotTable {
            slots: Slots::filled(self.cap, EMPTY),
            cap: self.cap,
            len: 0,
            value_bits: self.value_bits,
            disp_bits: self.disp_bits,
            tag_mask: self.tag_mask,
            value_mask: self.value_mask,
            max_disp: self.max_disp,
        };
        let mut cursor = 0usize;
        let mut last_home = 0usize;
        // Entries that would run past the last slot: inserted with the
        // others, wrapping around.
        let mut past_end = Vec::new();
        for (home, tag, value) in in_order {
            if !t.has_room(value) || home < last_home {
                return None;
            }
            last_home = home;
            let pos = home.max(cursor);
            if pos >= t.cap {
                past_end.push((home, tag, value));
                continue;
            }
            let disp = pos - home;
            if disp > t.max_disp() as usize {
                return None;
            }
            t.slots[pos] = t.pack(tag, disp as u32, value);
            t.len += 1;
            cursor = pos + 1;
        }
        for (home, tag, value) in past_end.into_iter().chain(others) {
            t.insert_at_home(home, tag, value).ok()?;
        }
        Some(t)
    }

    /// The home slot and tag an entry of key hash `hash` has in this table.
    #[inline]
    pub(crate) fn home_and_tag(&self, hash: u64) -> (usize, u32) {
        (self.home(hash), self.tag_of(hash))
    }

    /// The entries (home slot, tag, value) for whose value `keep` holds:
    /// first those that did not wrap around past the last slot, in order
    /// of home slot (read as the iterator goes: a merge lays them into a
    /// new table without holding them all in between), then those that
    /// did (the few displaced from the last slots into the first).
    pub(crate) fn entries_split<'a>(
        &'a self,
        keep: impl Fn(u32) -> bool + Copy + 'a,
    ) -> (impl Iterator<Item = Entry> + 'a, Vec<Entry>) {
        // An entry wrapped when its displacement passes its slot, which
        // only the first `max_disp` slots can hold.
        let first = (self.max_disp() as usize).min(self.cap);
        let wrapped = self.slots[..first]
            .iter()
            .enumerate()
            .filter(|&(pos, &e)| e != EMPTY && self.disp(e) as usize > pos)
            .map(|(pos, &e)| {
                (
                    pos + self.cap - self.disp(e) as usize,
                    self.tag(e),
                    self.value(e),
                )
            })
            .filter(|e| keep(e.2))
            .collect();
        let in_order = self.slots[..self.cap]
            .iter()
            .enumerate()
            .filter_map(move |(pos, &e)| {
                if e == EMPTY {
                    return None;
                }
                let (disp, value) = (self.disp(e) as usize, self.value(e));
                (disp <= pos && keep(value)).then(|| (pos - disp, self.tag(e), value))
            });
        (in_order, wrapped)
    }

    /// Asks the processor to start loading the home slot of `hash`, so a
    /// batch of inserts or lookups overlaps its cache misses.
    #[inline]
    pub(crate) fn prefetch(&self, hash: u64) {
        let pos = self.home(hash);
        crate::prefetch(&self.slots[pos]);
    }

    /// The value of the first entry that may have key hash `hash` (right
    /// displacement and tag), unchecked: what a lookup will read first.
    #[inline]
    pub(crate) fn first_candidate(&self, hash: u64) -> Option<u32> {
        self.find_map(hash, Some)
    }

    /// [`SlotTable::first_candidate`] when it is in the window from home
    /// (nearly always), in straight code with one branch taken the same
    /// way nearly every time; `None` when it may be elsewhere or absent
    /// (ask [`SlotTable::first_candidate`] then).
    #[inline(always)]
    pub(crate) fn first_in_window(&self, hash: u64) -> Option<u32> {
        let (w, hits) = self.window(self.home(hash), self.tag_of(hash))?;
        first_hit(w, hits, self.value_mask())
    }

    /// What [`SlotTable::first_in_window`] reads of the table, copied into
    /// one small value a view keeps (see [`Probe`]); `None` for a table
    /// whose slots are not exactly its capacity (never, as built).
    pub(crate) fn probe(&self) -> Option<Probe> {
        if self.slots.len() != self.cap {
            return None;
        }
        Some(Probe {
            slots: std::ptr::NonNull::from(&self.slots[0]),
            cap: self.cap as u64,
            params: u64::from(self.value_mask) << 32
                | u64::from(self.tag_mask) << 16
                | u64::from(self.disp_bits) << 8
                | u64::from(self.value_bits),
        })
    }

    /// Every value held (in slot order).
    pub(crate) fn values(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots
            .iter()
            .filter(|&&e| e != EMPTY)
            .map(move |&e| self.value(e))
    }

    /// A table holding `values` (hashes from `hash_of`), sized for `n`
    /// entries with values below `value_limit`; grows until everything fits.
    pub(crate) fn rebuild(
        values: &[u32],
        value_limit: u32,
        mut hash_of: impl FnMut(u32) -> u64,
    ) -> Option<SlotTable> {
        let hashes: Vec<u64> = values.iter().map(|&v| hash_of(v)).collect();
        SlotTable::rebuild_sized(values, values.len(), value_limit, |i| hashes[i])
    }

    /// A table holding `values` (the hash of `values[i]` is `hash_at(i)`)
    /// with room for at least `n` entries; grows until everything fits.
    pub(crate) fn rebuild_sized(
        values: &[u32],
        n: usize,
        value_limit: u32,
        hash_at: impl Fn(usize) -> u64,
    ) -> Option<SlotTable> {
        let mut n = n.max(values.len());
        'grow: loop {
            let mut t = SlotTable::with_capacity(n, value_limit)?;
            for (i, &v) in values.iter().enumerate() {
                if t.insert(hash_at(i), v).is_err() {
                    n = n + n / 2 + 16;
                    continue 'grow;
                }
            }
            return Some(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xorshift;

    /// A hash whose home slot and tag are chosen (to force collisions).
    fn crafted(home_hi: u32, tag: u32) -> u64 {
        ((home_hi as u64) << 32) | tag as u64
    }

    #[test]
    fn insert_find_remove_with_colliding_hashes() {
        let mut t = SlotTable::with_capacity(100, 1000).unwrap();
        // Forty values with one hash: every lookup must check each.
        let h = crafted(7, 3);
        for v in 0..40 {
            t.insert(h, v).unwrap();
        }
        for v in 0..40 {
            assert_eq!(t.find(h, |x| x == v), Some(v));
        }
        assert_eq!(t.find(h, |x| x == 99), None);
        let snapshot = t.clone();
        for v in (0..40).step_by(2) {
            assert!(t.remove(h, v));
        }
        assert!(!t.remove(h, 0));
        for v in 0..40 {
            let want = (v % 2 == 1).then_some(v);
            assert_eq!(t.find(h, |x| x == v), want);
            // The clone kept every value.
            assert_eq!(snapshot.find(h, |x| x == v), Some(v));
        }
        assert_eq!(t.len(), 20);
        assert_eq!(snapshot.len(), 40);
    }

    #[test]
    fn the_window_fast_path_finds_the_first_candidate_or_defers() {
        // Random hashes (some near the top, whose window runs past the last
        // slot), crafted collisions on one home (displaced entries, a tag
        // shared), and removals (entries shifted back). In a table with
        // tags and six displacement bits, and in one with no tag and three
        // (where an empty slot can pass for a hit).
        for value_limit in [10_000, 1 << 27] {
            let mut next = xorshift(0xbead);
            let mut hashes: Vec<u64> = (0..4000)
                .map(|i| {
                    let h = next();
                    if i % 100 == 3 {
                        h | (u64::MAX << 58)
                    } else {
                        h
                    }
                })
                .collect();
            hashes.extend((0..5).map(|i| crafted(9 << 20, i % 2)));
            let mut t = SlotTable::with_capacity(hashes.len() * 3, value_limit).unwrap();
            for (v, &h) in hashes.iter().enumerate() {
                t.insert(h, v as u32).unwrap();
            }
            for v in (0..hashes.len()).step_by(7) {
                assert!(t.remove(hashes[v], v as u32));
            }
            let absent: Vec<u64> = (0..4000).map(|_| next()).collect();
            let (mut fast, mut deferred) = (0, 0);
            for &h in hashes.iter().chain(&absent) {
                match t.first_in_window(h) {
                    Some(v) => {
                        fast += 1;
                        assert_eq!(Some(v), t.first_candidate(h), "hash {h:#x}");
                    }
                    None => deferred += 1,
                }
            }
            // Nearly every present key is answered in the window; every
            // answer given there is the probe's first candidate.
            assert!(fast > hashes.len() * 6 / 7 * 9 / 10, "{fast} fast");
            assert!(deferred > 0);
        }
    }

    #[test]
    fn entries_move_to_a_table_of_the_same_shape_by_home_and_tag() {
        let mut next = xorshift(0xfeed);
        let hashes: Vec<u64> = (0..3000).map(|_| next()).collect();
        // Some hashes near the top, so entries wrap past the last slot.
        let hashes: Vec<u64> = hashes
            .into_iter()
            .enumerate()
            .map(|(i, h)| if i % 50 == 1 { h | (u64::MAX << 40) } else { h })
            .collect();
        let mut t = SlotTable::with_capacity(3000, 5000).unwrap();
        for (v, &h) in hashes.iter().enumerate().take(2500) {
            t.insert(h, v as u32).unwrap();
        }
        // Keep the odd values; the last 500 come in later, sorted by home.
        let (in_order, wrapped) = t.entries_split(|v| v % 2 == 1);
        let in_order: Vec<Entry> = in_order.collect();
        assert!(!wrapped.is_empty(), "the crafted hashes wrap");
        assert!(in_order.windows(2).all(|w| w[0].0 <= w[1].0));
        let mut later: Vec<Entry> = (2500..3000)
            .map(|v| {
                let (home, tag) = t.home_and_tag(hashes[v]);
                (home, tag, v as u32)
            })
            .collect();
        later.sort_unstable_by_key(|e| e.0);
        let mut merged: Vec<Entry> = in_order.into_iter().chain(later).collect();
        merged.sort_by_key(|e| e.0);
        let m = t
            .with_entries(merged.into_iter(), wrapped.into_iter())
            .unwrap();
        for (v, &h) in hashes.iter().enumerate() {
            let want = (v % 2 == 1 || v >= 2500).then_some(v as u32);
            assert_eq!(m.find(h, |x| x == v as u32), want, "value {v}");
        }
        assert_eq!(m.len(), 1250 + 500);
        // Entries that do not fit are refused, not lost silently.
        let small = SlotTable::with_capacity(16, 100).unwrap();
        let many = (0..100u32).map(|v| (0usize, 0u32, v));
        assert!(small.with_entries(many, std::iter::empty()).is_none());
    }

    #[test]
    fn windowed_probe_offers_the_candidates_of_the_slot_by_slot_probe() {
        let mut next = xorshift(0xabcd_ef01);
        // Value limits giving 5-bit tags and 6-bit displacements, and no
        // tag with 3-bit displacements (where an empty slot can look like
        // a candidate to the window).
        for limit in [5000u32, 1 << 27] {
            let mut t = SlotTable::with_capacity(2000, limit).unwrap();
            let mut hashes = Vec::new();
            for v in 0..1900u32 {
                // One in four shares one of a few homes: long clusters.
                let h = if v % 4 == 0 {
                    crafted((next() % 8) as u32 * 0x1000_0000, next() as u32)
                } else {
                    next()
                };
                if t.insert(h, v).is_ok() {
                    hashes.push(h);
                }
            }
            let queries = hashes.iter().copied().chain((0..2000).map(|_| next()));
            for h in queries {
                let (home, tag) = t.home_and_tag(h);
                let mut windowed = Vec::new();
                let none: Option<()> = t.find_map(h, |v| {
                    windowed.push(v);
                    None
                });
                assert!(none.is_none());
                let mut one_by_one = Vec::new();
                t.find_map_from(home, tag, 0, |v| {
                    one_by_one.push(v);
                    None::<()>
                });
                windowed.sort_unstable();
                one_by_one.sort_unstable();
                assert_eq!(windowed, one_by_one, "hash {h:#x}, limit {limit}");
            }
        }
    }

    #[test]
    fn a_probe_reads_what_the_table_reads() {
        let mut next = xorshift(0x5eed_0042);
        // 3-bit displacements and no tag (an empty slot can pass the
        // window's compare), 6-bit ones with tags, and a small table.
        for (n, limit) in [(2000usize, 1u32 << 27), (2000, 5000), (40, 100)] {
            let mut t = SlotTable::with_capacity(n, limit).unwrap();
            let mut hashes = Vec::new();
            for v in 0..(n as u32 * 9 / 10) {
                // One in four shares one of a few homes (long clusters);
                // some homes are the last slots, whose window would run
                // past the end.
                let h = match v % 8 {
                    0 | 4 => crafted((next() % 8) as u32 * 0x1000_0000, next() as u32),
                    2 => crafted(u32::MAX - (next() % 4) as u32, next() as u32),
                    _ => next(),
                };
                if t.insert(h, v).is_ok() {
                    hashes.push(h);
                }
            }
            let p = t.probe().expect("a built table has a probe");
            let (mut in_window, mut outside) = (0, 0);
            for h in hashes.iter().copied().chain((0..4000).map(|_| next())) {
                // SAFETY: `t` is alive and unchanged.
                let got = unsafe { p.first_in_window(h) };
                assert_eq!(got, t.first_in_window(h), "hash {h:#x}, limit {limit}");
                match got {
                    Some(v) => {
                        in_window += 1;
                        assert_eq!(Some(v), t.first_candidate(h));
                    }
                    None => outside += 1,
                }
            }
            assert!(in_window > n / 3 && outside > 100, "{in_window} {outside}");
        }
    }

    #[test]
    fn random_against_a_set() {
        use std::collections::HashMap;
        let mut t = SlotTable::with_capacity(64, 5000).unwrap();
        let mut oracle: HashMap<u32, u64> = HashMap::new();
        let mut next = xorshift(0x1234_5678);
        for _ in 0..20000 {
            let r = next();
            let v = (r % 3000) as u32;
            // Few distinct hashes: many collisions and long clusters.
            let h = (next() % 64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            if let Some(&old) = oracle.get(&v) {
                assert!(t.remove(old, v));
                oracle.remove(&v);
            } else {
                match t.insert(h, v) {
                    Ok(()) => {}
                    Err(Full::Rebuild(f)) => {
                        let mut all: Vec<u32> = t.values().collect();
                        all.push(f);
                        let mut hs = oracle.clone();
                        hs.insert(v, h);
                        t = SlotTable::rebuild(&all, 5000, |x| hs[&x]).unwrap();
                    }
                }
                oracle.insert(v, h);
            }
            assert_eq!(t.len(), oracle.len());
        }
        for v in 0..3000u32 {
            let found = match oracle.get(&v) {
                Some(&h) => t.find(h, |x| x == v),
                None => None,
            };
            assert_eq!(found, oracle.get(&v).map(|_| v));
        }
    }
}

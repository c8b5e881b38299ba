//! The write state's storage: every record's canonical bytes in a few
//! large chunks (not one allocation per record), and the index of
//! ordinals by hash in 4-byte slots (not a map entry per record).

/// Size of an arena chunk; a record longer than this gets a chunk of its
/// own length.
const CHUNK: usize = 1 << 20;

/// Where an ordinal's bytes are in the arena.
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// The chunk, or [`FREE`]'s `u32::MAX` when the ordinal holds nothing.
    chunk: u32,
    offset: u32,
    len: u64,
}

const FREE: Slot = Slot {
    chunk: u32::MAX,
    offset: 0,
    len: 0,
};

impl Slot {
    fn held(&self) -> bool {
        self.chunk != u32::MAX
    }
}

/// Records' canonical bytes by ordinal, appended to large chunks. Freed
/// bytes stay where they are (the last record of the last chunk is taken
/// back at once) until [`compact_if_sparse`](Self::compact_if_sparse)
/// finds them outweighing half the live bytes and moves the live records
/// to new chunks, one old chunk at a time.
#[derive(Debug, Default)]
pub(crate) struct RecordArena {
    chunks: Vec<Vec<u8>>,
    slots: Vec<Slot>,
    /// Bytes of the records held.
    live: u64,
    /// Bytes written to the chunks and not taken back (live and freed).
    used: u64,
}

impl RecordArena {
    /// The bytes held at ordinal `o`.
    pub(crate) fn get(&self, o: u32) -> Option<&[u8]> {
        let s = self.slots.get(o as usize).filter(|s| s.held())?;
        let start = s.offset as usize;
        self.chunks
            .get(s.chunk as usize)?
            .get(start..start + s.len as usize)
    }

    /// Holds `bytes` at ordinal `o` (replacing what it held).
    pub(crate) fn put(&mut self, o: u32, bytes: &[u8]) {
        self.free(o);
        if self.slots.len() <= o as usize {
            self.slots.resize(o as usize + 1, FREE);
        }
        self.slots[o as usize] = self.append(bytes);
        self.live += bytes.len() as u64;
    }

    /// Copies `bytes` to the end of the last chunk (a new one when they do
    /// not fit).
    fn append(&mut self, bytes: &[u8]) -> Slot {
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= bytes.len());
        if !fits {
            self.chunks.push(Vec::with_capacity(CHUNK.max(bytes.len())));
        }
        let chunk = self.chunks.len() - 1;
        let c = &mut self.chunks[chunk];
        let offset = c.len();
        c.extend_from_slice(bytes);
        self.used += bytes.len() as u64;
        Slot {
            chunk: chunk as u32,
            // A chunk past CHUNK bytes holds one record, at 0.
            offset: offset as u32,
            len: bytes.len() as u64,
        }
    }

    /// Frees ordinal `o`; whether it held bytes.
    pub(crate) fn free(&mut self, o: u32) -> bool {
        let Some(s) = self.slots.get_mut(o as usize).filter(|s| s.held()) else {
            return false;
        };
        let slot = std::mem::replace(s, FREE);
        self.live -= slot.len;
        // The newest record (one added and taken back in the same cycle)
        // gives its bytes back at once.
        if slot.chunk as usize + 1 == self.chunks.len() {
            if let Some(c) = self.chunks.last_mut() {
                if slot.offset as u64 + slot.len == c.len() as u64 {
                    c.truncate(slot.offset as usize);
                    self.used -= slot.len;
                }
            }
        }
        true
    }

    /// Moves what ordinal `from` holds to the free ordinal `to`, bytes
    /// unmoved.
    pub(crate) fn move_to(&mut self, from: u32, to: u32) {
        self.free(to);
        let Some(s) = self.slots.get_mut(from as usize) else {
            return;
        };
        let slot = std::mem::replace(s, FREE);
        if self.slots.len() <= to as usize {
            self.slots.resize(to as usize + 1, FREE);
        }
        self.slots[to as usize] = slot;
    }

    /// Frees every ordinal at or past `limit` and forgets their slots.
    pub(crate) fn truncate(&mut self, limit: u32) {
        for o in limit..self.slots.len() as u32 {
            self.free(o);
        }
        self.slots.truncate(limit as usize);
    }

    /// Every ordinal held, ascending, with its bytes.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &[u8])> + '_ {
        (0..self.slots.len() as u32).filter_map(|o| self.get(o).map(|b| (o, b)))
    }

    /// Bytes of the records held.
    #[cfg(test)]
    pub(crate) fn live_bytes(&self) -> u64 {
        self.live
    }

    /// Bytes the chunks hold (live and freed), allocated chunk space past
    /// them not counted.
    #[cfg(test)]
    pub(crate) fn used_bytes(&self) -> u64 {
        self.used
    }

    /// Compacts the arena (see [`compact`](Self::compact)) when freed
    /// bytes pass half the live ones and a few chunks.
    pub(crate) fn compact_if_sparse(&mut self) {
        let dead = self.used - self.live;
        if dead > self.live / 2 && dead >= 4 * CHUNK as u64 {
            self.compact();
        }
    }

    /// Moves every live record to new chunks, old chunk by old chunk
    /// (each dropped once emptied, so the arena never holds much more than
    /// it did), keeping the order the records had within a chunk.
    pub(crate) fn compact(&mut self) {
        let old = std::mem::take(&mut self.chunks);
        let mut by_chunk: Vec<Vec<u32>> = vec![Vec::new(); old.len()];
        for (o, s) in self.slots.iter().enumerate() {
            if let Some(v) = by_chunk.get_mut(s.chunk as usize) {
                v.push(o as u32);
            }
        }
        for ords in by_chunk.iter_mut() {
            ords.sort_unstable_by_key(|&o| self.slots[o as usize].offset);
        }
        self.used = 0;
        for (chunk, ords) in old.into_iter().zip(by_chunk) {
            for o in ords {
                let s = self.slots[o as usize];
                let start = s.offset as usize;
                self.slots[o as usize] = self.append(&chunk[start..start + s.len as usize]);
            }
        }
        tracing::debug!(
            live = self.live,
            chunks = self.chunks.len(),
            "record arena compacted"
        );
    }
}

/// Ordinals by a 64-bit hash of theirs (a record's hash, or its primary
/// key's): an open-addressing table of 4-byte slots (ordinal + 1, 0 for
/// empty) probed linearly. A slot holds no hash: each ordinal's hash is
/// read from the caller's `hashes` (the write state keeps them by
/// ordinal), which must give the hash every ordinal was inserted under for
/// as long as it is in the table. So a million records cost 8 MiB here,
/// not a hash map's 50.
///
/// The ordinals under one hash are found in the order they were inserted
/// (deletions shift later entries back, never past one another).
#[derive(Debug, Default, Clone)]
pub(crate) struct OrdinalIndex {
    slots: Vec<u32>,
    len: usize,
}

impl OrdinalIndex {
    /// The slot a hash's probe starts at (`mask + 1` slots, a power of 2).
    fn home(h: u64, mask: usize) -> usize {
        (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
    }

    /// The hash ordinal `o` was inserted under.
    fn hash_of(hashes: &[u64], o: u32) -> u64 {
        hashes.get(o as usize).copied().unwrap_or(0)
    }

    /// The ordinals inserted under `h`, in the order they were inserted.
    pub(crate) fn get<'a>(&'a self, h: u64, hashes: &'a [u64]) -> impl Iterator<Item = u32> + 'a {
        let mask = self.slots.len().wrapping_sub(1);
        let start = if self.slots.is_empty() {
            0
        } else {
            Self::home(h, mask)
        };
        let run = (0..self.slots.len())
            .map(move |k| self.slots[(start + k) & mask])
            .take_while(|&s| s != 0);
        run.map(|s| s - 1)
            .filter(move |&o| Self::hash_of(hashes, o) == h)
    }

    /// Inserts `o` under `h` (which `hashes` must give for `o`).
    pub(crate) fn insert(&mut self, h: u64, o: u32, hashes: &[u64]) {
        // At most half full: probes stay short.
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow(hashes);
        }
        let mask = self.slots.len() - 1;
        let mut i = Self::home(h, mask);
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = o + 1;
        self.len += 1;
    }

    fn grow(&mut self, hashes: &[u64]) {
        let old = std::mem::take(&mut self.slots);
        self.slots = vec![0; (old.len() * 2).max(16)];
        let mask = self.slots.len() - 1;
        // From an empty slot on, so that a run wrapping past the end is
        // moved in probe order (keeping each hash's insertion order).
        let start = old.iter().position(|&s| s == 0).unwrap_or(0);
        let (tail, head) = old.split_at(start);
        for &s in head.iter().chain(tail).filter(|&&s| s != 0) {
            let mut i = Self::home(Self::hash_of(hashes, s - 1), mask);
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }

    /// Where `o` is, probing from `h`'s slot.
    fn slot_of(&self, h: u64, o: u32) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = Self::home(h, mask);
        for _ in 0..self.slots.len() {
            match self.slots[i] {
                0 => return None,
                s if s == o + 1 => return Some(i),
                _ => i = (i + 1) & mask,
            }
        }
        None
    }

    /// Removes `o` (inserted under `h`); whether it was there.
    pub(crate) fn remove(&mut self, h: u64, o: u32, hashes: &[u64]) -> bool {
        let Some(mut hole) = self.slot_of(h, o) else {
            return false;
        };
        // Backward shift: each later entry of the run whose probe started
        // at or before the hole moves into it.
        let mask = self.slots.len() - 1;
        let mut k = hole;
        loop {
            k = (k + 1) & mask;
            let s = self.slots[k];
            if s == 0 {
                break;
            }
            let home = Self::home(Self::hash_of(hashes, s - 1), mask);
            if (k.wrapping_sub(home) & mask) >= (k.wrapping_sub(hole) & mask) {
                self.slots[hole] = s;
                hole = k;
            }
        }
        self.slots[hole] = 0;
        self.len -= 1;
        true
    }

    /// Replaces `from` (inserted under `h`) with `to`, which `hashes` must
    /// now give `h` for too.
    pub(crate) fn rename(&mut self, h: u64, from: u32, to: u32) {
        if let Some(i) = self.slot_of(h, from) {
            self.slots[i] = to + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_found_by_ordinal_after_frees_moves_and_compaction() {
        let mut a = RecordArena::default();
        // Records of three sizes, one longer than a chunk.
        let record = |o: u32| -> Vec<u8> {
            let len = match o % 3 {
                0 => 24,
                1 => 300,
                _ => 4000,
            };
            let len = if o == 7 { CHUNK + 5 } else { len };
            (0..len).map(|i| (o as usize * 31 + i) as u8).collect()
        };
        for o in 0..3000 {
            a.put(o, &record(o));
        }
        let total: u64 = (0..3000).map(|o| record(o).len() as u64).sum();
        assert_eq!(a.live_bytes(), total);
        // Free two of every three (all but the 24-byte ones), move one.
        for o in (0..3000u32).filter(|o| !o.is_multiple_of(3)) {
            assert!(a.free(o));
            assert!(!a.free(o));
            assert_eq!(a.get(o), None);
        }
        a.move_to(3, 3001);
        assert_eq!(a.get(3), None);
        assert_eq!(a.get(3001), Some(&record(3)[..]));
        let used = a.used_bytes();
        assert!(used > 4 * CHUNK as u64, "{used}");
        a.compact_if_sparse();
        // Only the live bytes are left, every record still in place.
        assert_eq!(a.used_bytes(), a.live_bytes());
        assert_eq!(a.live_bytes(), 1000 * 24);
        assert!(a.chunks.len() == 1, "{} chunks", a.chunks.len());
        for o in (6..3000u32).filter(|o| o.is_multiple_of(3)) {
            assert_eq!(a.get(o), Some(&record(o)[..]), "ordinal {o}");
        }
        assert_eq!(a.get(3001), Some(&record(3)[..]));
        // Later records go after the compacted ones.
        a.put(5000, b"later");
        assert_eq!(a.get(5000), Some(&b"later"[..]));
        let held: Vec<u32> = a.iter().map(|(o, _)| o).collect();
        assert_eq!(held.len(), 1001);
        assert_eq!(held.last(), Some(&5000));
    }

    #[test]
    fn the_newest_record_freed_gives_its_bytes_back_and_truncate_frees() {
        let mut a = RecordArena::default();
        a.put(0, &[1; 16]);
        a.put(1, &[2; 16]);
        assert_eq!(a.used_bytes(), 32);
        a.free(1);
        assert_eq!(a.used_bytes(), 16);
        // Freed in the middle: kept until compaction.
        a.put(1, &[3; 16]);
        a.put(2, &[4; 16]);
        a.free(1);
        assert_eq!((a.used_bytes(), a.live_bytes()), (48, 32));
        a.truncate(1);
        assert_eq!(a.get(2), None);
        assert_eq!(a.live_bytes(), 16);
        assert_eq!(a.get(0), Some(&[1u8; 16][..]));
        // Replacing what an ordinal holds.
        a.put(0, &[9; 8]);
        assert_eq!(a.get(0), Some(&[9u8; 8][..]));
        assert_eq!(a.live_bytes(), 8);
    }

    #[test]
    fn the_ordinal_index_finds_what_a_map_of_lists_finds() {
        // Few distinct hashes (long runs) and many, through growth,
        // removals (backward shifts) and renames, against a plain model.
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for distinct in [3u64, 1000, u64::MAX] {
            let mut hashes = vec![0u64; 4000];
            let mut model: std::collections::HashMap<u64, Vec<u32>> = Default::default();
            let mut ix = OrdinalIndex::default();
            let mut held = Vec::new();
            for step in 0..20_000u32 {
                let r = next();
                if r % 3 != 0 || held.is_empty() {
                    let o = (r >> 8) as u32 % 4000;
                    if held.contains(&o) {
                        continue;
                    }
                    let h = next() % distinct;
                    hashes[o as usize] = h;
                    ix.insert(h, o, &hashes);
                    model.entry(h).or_default().push(o);
                    held.push(o);
                } else if r % 2 == 0 {
                    let o = held.swap_remove((r >> 8) as usize % held.len());
                    let h = hashes[o as usize];
                    assert!(ix.remove(h, o, &hashes));
                    assert!(!ix.remove(h, o, &hashes));
                    model.get_mut(&h).unwrap().retain(|&x| x != o);
                } else {
                    let k = (r >> 8) as usize % held.len();
                    let (from, to) = (held[k], (r >> 20) as u32 % 4000);
                    if held.contains(&to) {
                        continue;
                    }
                    let h = hashes[from as usize];
                    hashes[to as usize] = h;
                    ix.rename(h, from, to);
                    held[k] = to;
                    for x in model.get_mut(&h).unwrap().iter_mut() {
                        if *x == from {
                            *x = to;
                        }
                    }
                }
                if step % 97 == 0 || step == 19_999 {
                    for (h, want) in &model {
                        let got: Vec<u32> = ix.get(*h, &hashes).collect();
                        assert_eq!(&got, want, "hash {h} at step {step}");
                    }
                }
            }
            assert_eq!(ix.len, held.len());
        }
    }
}

//! The write state's storage: every record's canonical bytes in a few
//! large chunks (not one allocation per record), and small sets of
//! ordinals that hold no allocation for the usual one member.

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

/// The ordinals under one hash: none, one (no allocation) or more.
#[derive(Clone, Debug, Default)]
pub(crate) enum Ordinals {
    #[default]
    None,
    One(u32),
    // Boxed, so the set is two words whatever it holds.
    #[allow(clippy::box_collection)]
    Many(Box<Vec<u32>>),
}

impl Ordinals {
    fn as_slice(&self) -> &[u32] {
        match self {
            Ordinals::None => &[],
            Ordinals::One(o) => std::slice::from_ref(o),
            Ordinals::Many(v) => v,
        }
    }

    /// The ordinals, in the order they were added.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.as_slice().iter().copied()
    }

    pub(crate) fn to_vec(&self) -> Vec<u32> {
        self.as_slice().to_vec()
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Ordinals::None)
    }

    pub(crate) fn push(&mut self, o: u32) {
        *self = match std::mem::take(self) {
            Ordinals::None => Ordinals::One(o),
            Ordinals::One(a) => Ordinals::Many(Box::new(vec![a, o])),
            Ordinals::Many(mut v) => {
                v.push(o);
                Ordinals::Many(v)
            }
        };
    }

    /// Removes every `o`.
    pub(crate) fn remove(&mut self, o: u32) {
        *self = match std::mem::take(self) {
            Ordinals::One(a) if a == o => Ordinals::None,
            Ordinals::Many(mut v) => {
                v.retain(|&x| x != o);
                match v.len() {
                    0 => Ordinals::None,
                    1 => Ordinals::One(v[0]),
                    _ => Ordinals::Many(v),
                }
            }
            other => other,
        };
    }

    /// Replaces every `from` with `to`.
    pub(crate) fn rename(&mut self, from: u32, to: u32) {
        match self {
            Ordinals::None => {}
            Ordinals::One(a) => {
                if *a == from {
                    *a = to;
                }
            }
            Ordinals::Many(v) => v.iter_mut().filter(|x| **x == from).for_each(|x| *x = to),
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
    fn ordinals_hold_one_without_allocating_and_many_in_order() {
        let mut s = Ordinals::default();
        assert!(s.is_empty());
        s.push(4);
        assert!(matches!(s, Ordinals::One(4)));
        s.push(9);
        s.push(2);
        assert_eq!(s.to_vec(), vec![4, 9, 2]);
        s.rename(9, 7);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![4, 7, 2]);
        s.remove(4);
        s.remove(2);
        assert!(matches!(s, Ordinals::One(7)));
        s.remove(3);
        assert!(matches!(s, Ordinals::One(7)));
        s.remove(7);
        assert!(s.is_empty());
    }
}

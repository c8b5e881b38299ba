//! The ordinal → record-location table of one record type: chunked and
//! copy-on-write, so applying a delta copies only the chunks it touches and
//! a state held by a reader never changes.

use std::sync::Arc;

use crate::bits;

/// Ordinals per chunk.
pub(crate) const CHUNK: usize = 1024;

/// Where a record is: blob slot (high 32 bits) and element index in that
/// blob's record list (low 32 bits).
pub(crate) type Loc = u64;

/// No record at this ordinal.
pub(crate) const EMPTY: Loc = u64::MAX;

#[inline]
pub(crate) fn loc(slot: u32, index: u32) -> Loc {
    ((slot as u64) << 32) | index as u64
}

#[inline]
pub(crate) fn loc_parts(l: Loc) -> (usize, u32) {
    ((l >> 32) as usize, l as u32)
}

#[derive(Clone, Debug)]
enum Chunk {
    /// Ordinal `o` is element `o` of the base snapshot (slot `base`) when the
    /// snapshot's bitmap says it is populated: costs nothing to load.
    Base,
    /// Explicit locations.
    Explicit(Arc<[Loc; CHUNK]>),
}

/// The table. Cloning it is O(chunks), sharing every chunk.
#[derive(Clone, Debug)]
pub(crate) struct OrdinalTable {
    chunks: Vec<Chunk>,
    limit: u32,
    /// Slot of the base snapshot blob (for `Base` chunks).
    base: u32,
    /// Ordinals set since the snapshot: the others are where the snapshot
    /// put them, so reading one costs a bit test here instead of a load
    /// from its chunk (a small set that stays in cache, where the chunks
    /// of a large type do not).
    moved: Arc<Vec<u64>>,
}

impl OrdinalTable {
    /// A table for a snapshot with `limit` ordinals in slot `base`.
    pub(crate) fn from_snapshot(limit: u32, base: u32) -> Self {
        OrdinalTable {
            chunks: vec![Chunk::Base; (limit as usize).div_ceil(CHUNK)],
            limit,
            base,
            moved: Arc::default(),
        }
    }

    /// Ordinals `0..limit()` may be populated.
    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    /// The set of ordinals moved since the base snapshot, as words (see
    /// [`unmoved_in`]).
    pub(crate) fn moved_words(&self) -> &[u64] {
        &self.moved
    }

    /// Asks the processor to start loading where ordinal `o` is, when that
    /// is written in a chunk (a hint; nothing is read but the chunk list).
    #[inline]
    pub(crate) fn prefetch(&self, o: u32) {
        if let Some(Chunk::Explicit(c)) = self.chunks.get(o as usize / CHUNK) {
            crate::prefetch(&c[o as usize % CHUNK]);
        }
    }

    /// The location of ordinal `o`; `base_populated` answers for ordinals
    /// still read from the base snapshot.
    #[inline]
    pub(crate) fn get(&self, o: u32, base_populated: &impl Fn(u32) -> bool) -> Loc {
        if o >= self.limit {
            return EMPTY;
        }
        if !bits::get(&self.moved, o) {
            return if base_populated(o) {
                loc(self.base, o)
            } else {
                EMPTY
            };
        }
        match &self.chunks[o as usize / CHUNK] {
            Chunk::Base => {
                if base_populated(o) {
                    loc(self.base, o)
                } else {
                    EMPTY
                }
            }
            Chunk::Explicit(c) => c[o as usize % CHUNK],
        }
    }

    /// The location of ordinal `o` when it is not where the base snapshot
    /// put it ([`unmoved_in`] is false): written in its chunk, or
    /// [`EMPTY`] past the limit. With no test repeated of what the caller
    /// knows.
    #[inline(always)]
    pub(crate) fn moved_loc(&self, o: u32) -> Loc {
        match self.chunks.get(o as usize / CHUNK) {
            Some(Chunk::Explicit(c)) => c[o as usize % CHUNK],
            // A moved ordinal's chunk is always written out (`set`).
            _ => EMPTY,
        }
    }

    /// Whether ordinal `o` is where the base snapshot put it (or absent
    /// there): never set since.
    #[cfg(test)]
    fn unmoved(&self, o: u32) -> bool {
        unmoved_in(&self.moved, self.limit, o)
    }

    /// Slot of the base snapshot blob.
    pub(crate) fn base_slot(&self) -> u32 {
        self.base
    }

    /// Sets ordinal `o` (growing the table), copying its chunk first if it is
    /// shared.
    pub(crate) fn set(&mut self, o: u32, l: Loc, base_populated: &impl Fn(u32) -> bool) {
        if o >= self.limit {
            self.limit = o + 1;
            let need = (self.limit as usize).div_ceil(CHUNK);
            while self.chunks.len() < need {
                self.chunks.push(Chunk::Explicit(Arc::new([EMPTY; CHUNK])));
            }
        }
        let ci = o as usize / CHUNK;
        if let Chunk::Base = self.chunks[ci] {
            let mut c = [EMPTY; CHUNK];
            for (i, slot) in c.iter_mut().enumerate() {
                let ord = (ci * CHUNK + i) as u32;
                if ord < self.limit && base_populated(ord) {
                    *slot = loc(self.base, ord);
                }
            }
            self.chunks[ci] = Chunk::Explicit(Arc::new(c));
        }
        if let Chunk::Explicit(c) = &mut self.chunks[ci] {
            Arc::make_mut(c)[o as usize % CHUNK] = l;
        }
        bits::set(Arc::make_mut(&mut self.moved), o, true);
    }

    /// Bytes of explicit chunks this table holds (shared ones included).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.moved.capacity() * 8
            + self.chunks.len() * std::mem::size_of::<Chunk>()
            + self
                .chunks
                .iter()
                .filter(|c| matches!(c, Chunk::Explicit(_)))
                .count()
                * CHUNK
                * 8
    }
}

/// Whether ordinal `o` of a table with moved set `moved` and limit
/// `limit` is where the base snapshot put it (or absent there): never set
/// since.
#[inline(always)]
pub(crate) fn unmoved_in(moved: &[u64], limit: u32, o: u32) -> bool {
    o < limit && !bits::get(moved, o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_on_write_leaves_clones_untouched() {
        let even = |o: u32| o.is_multiple_of(2);
        let mut a = OrdinalTable::from_snapshot(3000, 0);
        assert_eq!(a.get(4, &even), loc(0, 4));
        assert_eq!(a.get(5, &even), EMPTY);
        let b = a.clone();
        a.set(5, loc(1, 0), &even);
        a.set(4, EMPTY, &even);
        a.set(5000, loc(2, 7), &even);
        assert_eq!(a.get(5, &even), loc(1, 0));
        assert_eq!(a.get(4, &even), EMPTY);
        assert_eq!(a.get(6, &even), loc(0, 6));
        assert_eq!(a.get(5000, &even), loc(2, 7));
        assert_eq!(a.limit(), 5001);
        // The clone still sees the old state.
        assert_eq!(b.get(5, &even), EMPTY);
        assert_eq!(b.get(4, &even), loc(0, 4));
        assert_eq!(b.get(5000, &even), EMPTY);
        assert_eq!(loc_parts(loc(3, 9)), (3, 9));
        // Only ordinals set since the snapshot have moved, in `a` alone.
        assert!(!a.unmoved(5) && !a.unmoved(4) && !a.unmoved(5000));
        assert!(a.unmoved(6) && a.unmoved(7));
        assert!(b.unmoved(4) && b.unmoved(5));
        assert!(!b.unmoved(3000), "past the limit");
    }
}

//! The ordinal → record-location table of one record type: chunked and
//! copy-on-write, so applying a delta copies only the chunks it touches and
//! a state held by a reader never changes.

use std::sync::Arc;

use crate::bits::Bits;

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
    /// Ordinal `o` is element `o` of the base snapshot (slot `base`) when
    /// the table's `at_base` set holds it, else absent: costs nothing to
    /// load.
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
    /// The ordinals read from the base snapshot: populated there (and
    /// below its limit) and never set since, as words (see
    /// [`OrdinalTable::at_base_words`]). One bit test tells a reader where
    /// most records are, with no load from a chunk (the set stays in cache,
    /// where the chunks of a large type do not).
    at_base: Arc<Bits>,
}

impl OrdinalTable {
    /// A table for a snapshot with `limit` ordinals in slot `base`, whose
    /// bitmap of populated ordinals is `populated` (little-endian bytes;
    /// bits from `limit` on are ignored).
    pub(crate) fn from_snapshot(limit: u32, base: u32, populated: &[u8]) -> Self {
        OrdinalTable {
            chunks: vec![Chunk::Base; (limit as usize).div_ceil(CHUNK)],
            limit,
            base,
            at_base: Arc::new(Bits::from_le_bytes(populated, limit)),
        }
    }

    /// Ordinals `0..limit()` may be populated.
    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    /// The set of ordinals read from the base snapshot, as words (bit
    /// `o % 64` of word `o / 64`; no bit at or past the base snapshot's
    /// limit is ever set): ordinal `o` is element `o` of the base
    /// snapshot's record list exactly when its bit is set.
    pub(crate) fn at_base_words(&self) -> &[u64] {
        self.at_base.as_words()
    }

    /// Asks the processor to start loading where ordinal `o` is, when that
    /// is written in a chunk (a hint; nothing is read but the chunk list).
    #[inline]
    pub(crate) fn prefetch(&self, o: u32) {
        if let Some(Chunk::Explicit(c)) = self.chunks.get(o as usize / CHUNK) {
            crate::prefetch(&c[o as usize % CHUNK]);
        }
    }

    /// The location of ordinal `o` ([`EMPTY`] when it holds no record).
    #[inline]
    pub(crate) fn get(&self, o: u32) -> Loc {
        if self.at_base.get(o) {
            return loc(self.base, o);
        }
        self.moved_loc(o)
    }

    /// The location of ordinal `o` when it is not read from the base
    /// snapshot (its bit in [`OrdinalTable::at_base_words`] is clear):
    /// written in its chunk, or [`EMPTY`]. With no test repeated of what
    /// the caller knows.
    #[inline(always)]
    pub(crate) fn moved_loc(&self, o: u32) -> Loc {
        match self.chunks.get(o as usize / CHUNK) {
            Some(Chunk::Explicit(c)) => c[o as usize % CHUNK],
            // Every ordinal set since the snapshot has its chunk written
            // out (`set`); in a `Base` chunk an ordinal not read from the
            // base holds nothing.
            _ => EMPTY,
        }
    }

    /// Raises the limit to `limit` (ordinals up to it may be populated),
    /// setting none: for a snapshot whose later shards end past the first.
    pub(crate) fn raise_limit(&mut self, limit: u32) {
        if limit > self.limit {
            self.limit = limit;
            let need = (limit as usize).div_ceil(CHUNK);
            if self.chunks.len() < need {
                self.chunks.resize(need, Chunk::Base);
            }
        }
    }

    /// Slot of the base snapshot blob.
    pub(crate) fn base_slot(&self) -> u32 {
        self.base
    }

    /// Sets ordinal `o` (growing the table), copying its chunk first if it is
    /// shared.
    ///
    /// Growing costs one word per chunk passed over and a written chunk
    /// only for `o`'s own: the chunks in between are `Base` chunks, which
    /// hold nothing past the base snapshot's limit. (The limit saturates at
    /// `u32::MAX`; callers set only ordinals below a blob's checked
    /// `ordinalLimit`, which is at most that.)
    pub(crate) fn set(&mut self, o: u32, l: Loc) {
        if o >= self.limit {
            self.limit = o.saturating_add(1);
            let need = (o as usize / CHUNK) + 1;
            if self.chunks.len() < need {
                self.chunks.resize(need, Chunk::Base);
            }
        }
        let ci = o as usize / CHUNK;
        if let Chunk::Base = self.chunks[ci] {
            let mut c = [EMPTY; CHUNK];
            for (i, slot) in c.iter_mut().enumerate() {
                let ord = (ci * CHUNK + i) as u32;
                if self.at_base.get(ord) {
                    *slot = loc(self.base, ord);
                }
            }
            self.chunks[ci] = Chunk::Explicit(Arc::new(c));
        }
        if let Chunk::Explicit(c) = &mut self.chunks[ci] {
            Arc::make_mut(c)[o as usize % CHUNK] = l;
        }
        if self.at_base.get(o) {
            Arc::make_mut(&mut self.at_base).set(o, false);
        }
    }

    /// Bytes of explicit chunks this table holds (shared ones included).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.at_base.heap_bytes()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_on_write_leaves_clones_untouched() {
        // Even ordinals populated, and stray bits past the limit (3000).
        let mut bitmap = vec![0x55u8; 3000 / 8];
        bitmap.extend([0xff; 8]);
        let mut a = OrdinalTable::from_snapshot(3000, 0, &bitmap);
        assert_eq!(a.get(4), loc(0, 4));
        assert_eq!(a.get(5), EMPTY);
        assert_eq!(a.get(3000), EMPTY, "a bit past the limit is ignored");
        let b = a.clone();
        a.set(5, loc(1, 0));
        a.set(4, EMPTY);
        a.set(5000, loc(2, 7));
        assert_eq!(a.get(5), loc(1, 0));
        assert_eq!(a.get(4), EMPTY);
        assert_eq!(a.get(6), loc(0, 6));
        assert_eq!(a.get(5000), loc(2, 7));
        assert_eq!(a.limit(), 5001);
        // The clone still sees the old state.
        assert_eq!(b.get(5), EMPTY);
        assert_eq!(b.get(4), loc(0, 4));
        assert_eq!(b.get(5000), EMPTY);
        assert_eq!(loc_parts(loc(3, 9)), (3, 9));
        // Only ordinals populated in the snapshot and never set since are
        // read from it, in `a` and `b` alike.
        let at = |t: &OrdinalTable, o| t.at_base.get(o);
        assert!(!at(&a, 5) && !at(&a, 4) && !at(&a, 5000));
        assert!(at(&a, 6) && !at(&a, 7));
        assert!(at(&b, 4) && !at(&b, 5));
        assert!(!at(&b, 3000) && !at(&b, 3001), "past the limit");
        // The chunk written out for ordinals 4 and 5 holds where every
        // other ordinal of it is.
        for o in (0..1024).filter(|o| ![4, 5].contains(o)) {
            assert_eq!(a.moved_loc(o), b.get(o), "ordinal {o}");
        }
    }

    #[test]
    fn growing_far_writes_one_chunk_and_never_wraps() {
        let mut t = OrdinalTable::from_snapshot(10, 0, &[0xff, 0x03]);
        let before = t.heap_bytes();
        t.set(u32::MAX, loc(1, 0));
        assert_eq!(t.limit(), u32::MAX, "the limit saturates");
        assert_eq!(t.get(u32::MAX), loc(1, 0));
        t.set(0x7FFF_FFFF, loc(1, 1));
        assert_eq!(t.get(0x7FFF_FFFF), loc(1, 1));
        assert_eq!(t.get(0x7FFF_FFFE), EMPTY);
        assert_eq!(t.get(5_000_000), EMPTY);
        assert_eq!(t.get(9), loc(0, 9), "the base is still read");
        // Two chunks written (8 KiB each), and one word per chunk passed
        // over (4 Mi chunks), not 8 KiB per chunk (32 GiB).
        let grown = t.heap_bytes() - before;
        assert!(grown <= 2 * CHUNK * 8 + (1 << 22) * 8, "{grown} bytes");
    }
}

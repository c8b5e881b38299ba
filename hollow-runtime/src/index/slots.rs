//! The storage of a slot table: a plain vector when small, and when large
//! an anonymous mapping the kernel is asked to back with 2 MiB pages.
//!
//! A lookup reads one slot at a random place of the table. With 4 KiB pages
//! a table of a million entries spans 1 500 pages, more than the
//! processor's translation cache holds, so most lookups pay a page walk
//! before their cache miss; on 2 MiB pages the whole table takes three
//! translation entries. Whether the kernel grants the pages is up to it
//! (transparent huge pages set to `always` or `madvise`); the table works
//! the same either way.

use std::ops::{Deref, DerefMut};

/// Tables from this many bytes are mapped (one 2 MiB page; smaller ones
/// would not get one).
const MAPPED_MIN_BYTES: usize = 2 << 20;

/// The slots of a table. Cloning copies them.
pub(crate) enum Slots {
    Heap(Vec<u32>),
    Mapped { map: memmap2::MmapMut, len: usize },
}

impl Slots {
    /// `len` slots, each `value`.
    pub(crate) fn filled(len: usize, value: u32) -> Slots {
        let bytes = len * 4;
        if bytes >= MAPPED_MIN_BYTES {
            // The kernel aligns large anonymous mappings to 2 MiB; the
            // part past the last whole 2 MiB stays on small pages, so no
            // memory is spent on rounding up.
            if let Ok(map) = memmap2::MmapMut::map_anon(bytes) {
                #[cfg(target_os = "linux")]
                // Only a hint: without huge pages the table is as correct.
                let _ = map.advise(memmap2::Advice::HugePage);
                let mut s = Slots::Mapped { map, len };
                s.fill(value);
                return s;
            }
        }
        Slots::Heap(vec![value; len])
    }

    /// Bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Slots::Heap(v) => v.capacity() * 4,
            Slots::Mapped { map, .. } => map.len(),
        }
    }
}

impl Deref for Slots {
    type Target = [u32];

    #[inline(always)]
    fn deref(&self) -> &[u32] {
        match self {
            Slots::Heap(v) => v,
            Slots::Mapped { map, len } => {
                // SAFETY: the mapping is page-aligned (so aligned for u32),
                // at least `len * 4` bytes long, and every bit pattern is a
                // valid u32.
                let (head, slots, _) = unsafe { map.align_to::<u32>() };
                debug_assert!(head.is_empty());
                &slots[..*len]
            }
        }
    }
}

impl DerefMut for Slots {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [u32] {
        match self {
            Slots::Heap(v) => v,
            Slots::Mapped { map, len } => {
                // SAFETY: as in `deref`.
                let (head, slots, _) = unsafe { map.align_to_mut::<u32>() };
                debug_assert!(head.is_empty());
                &mut slots[..*len]
            }
        }
    }
}

impl Clone for Slots {
    fn clone(&self) -> Slots {
        match self {
            // One pass (a small table is copied by every update).
            Slots::Heap(v) => Slots::Heap(v.clone()),
            Slots::Mapped { .. } => {
                let mut s = Slots::filled(self.len(), 0);
                s.copy_from_slice(self);
                s
            }
        }
    }
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots")
            .field("len", &self.len())
            .field("mapped", &matches!(self, Slots::Mapped { .. }))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_tables_are_mapped_and_read_like_small_ones() {
        let n = MAPPED_MIN_BYTES / 4 + 3;
        let mut big = Slots::filled(n, u32::MAX);
        assert!(matches!(big, Slots::Mapped { .. }));
        assert_eq!(big.len(), n);
        assert!(big.iter().all(|&s| s == u32::MAX));
        big[n - 1] = 7;
        let copy = big.clone();
        assert_eq!(copy[n - 1], 7);
        assert_eq!(copy[0], u32::MAX);
        assert!(copy.heap_bytes() >= n * 4);
        let small = Slots::filled(10, 5);
        assert!(matches!(small, Slots::Heap(_)));
        assert_eq!(&small[..], &[5; 10]);
    }
}

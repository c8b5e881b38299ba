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
use std::ptr::NonNull;

use crate::mapping::huge_page_map;

/// Tables from this many bytes are mapped (one 2 MiB page; smaller ones
/// would not get one).
const MAPPED_MIN_BYTES: usize = 2 << 20;

/// The slots of a table. Cloning copies them.
///
/// Where they are is kept beside what holds them, so reading a slot is one
/// load from a known address, with no branch on how they are held.
pub(crate) struct Slots {
    ptr: NonNull<u32>,
    len: usize,
    owner: Owner,
}

/// What holds the slots.
enum Owner {
    Heap(Vec<u32>),
    Mapped(memmap2::MmapMut),
}

// SAFETY: `ptr` points into `owner` (a vector or a private anonymous map,
// both `Send + Sync`), which is never reallocated while a `Slots` holds it;
// access through `ptr` follows `&self` / `&mut self` as the owner's would.
unsafe impl Send for Slots {}
// SAFETY: as for `Send`.
unsafe impl Sync for Slots {}

impl Slots {
    /// `len` slots, each `value`.
    pub(crate) fn filled(len: usize, value: u32) -> Slots {
        let bytes = len * 4;
        if bytes >= MAPPED_MIN_BYTES {
            // The kernel aligns large anonymous mappings to 2 MiB; the
            // part past the last whole 2 MiB stays on small pages, so no
            // memory is spent on rounding up.
            if let Some(mut map) = huge_page_map(bytes) {
                // A map is page-aligned, so aligned for u32.
                let ptr = NonNull::new(map.as_mut_ptr().cast::<u32>())
                    .expect("a mapping is never at address 0");
                let mut s = Slots {
                    ptr,
                    len,
                    owner: Owner::Mapped(map),
                };
                s.fill(value);
                return s;
            }
        }
        Slots::heap(vec![value; len])
    }

    fn heap(mut v: Vec<u32>) -> Slots {
        Slots {
            ptr: NonNull::new(v.as_mut_ptr()).expect("a vector's pointer is never null"),
            len: v.len(),
            owner: Owner::Heap(v),
        }
    }

    /// Bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        match &self.owner {
            Owner::Heap(v) => v.capacity() * 4,
            Owner::Mapped(map) => map.len(),
        }
    }

    #[cfg(test)]
    fn is_mapped(&self) -> bool {
        matches!(self.owner, Owner::Mapped(_))
    }
}

impl Deref for Slots {
    type Target = [u32];

    #[inline(always)]
    fn deref(&self) -> &[u32] {
        // SAFETY: `ptr` points to `len` initialized u32s held by `owner`
        // (see the `Send` impl), borrowed here as `self` is.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for Slots {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [u32] {
        // SAFETY: as in `deref`, borrowed mutably as `self` is.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Clone for Slots {
    fn clone(&self) -> Slots {
        match &self.owner {
            // One pass (a small table is copied by every update).
            Owner::Heap(_) => Slots::heap(self.to_vec()),
            Owner::Mapped(_) => {
                let mut s = Slots::filled(self.len, 0);
                s.copy_from_slice(self);
                s
            }
        }
    }
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots")
            .field("len", &self.len)
            .field("mapped", &matches!(self.owner, Owner::Mapped(_)))
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
        assert!(big.is_mapped());
        assert_eq!(big.len(), n);
        assert!(big.iter().all(|&s| s == u32::MAX));
        big[n - 1] = 7;
        let copy = big.clone();
        assert_eq!(copy[n - 1], 7);
        assert_eq!(copy[0], u32::MAX);
        assert!(copy.heap_bytes() >= n * 4);
        let small = Slots::filled(10, 5);
        assert!(!small.is_mapped());
        assert_eq!(&small[..], &[5; 10]);
    }
}

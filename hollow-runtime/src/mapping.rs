//! Anonymous memory maps the kernel is asked to back with 2 MiB pages.
//!
//! A reader that touches one place at random in a large table (an index's
//! slots, the records of a rewritten blob) pays a page walk before its
//! cache miss when the table spans more 4 KiB pages than the processor's
//! translation cache holds; on 2 MiB pages a table of many megabytes takes
//! a few translation entries. Whether the kernel grants the pages is up to
//! it (transparent huge pages set to `always` or `madvise`); the bytes read
//! the same either way.

/// An anonymous map of `len` bytes (zeroed) the kernel is asked to back
/// with 2 MiB pages (only a hint: on small pages the bytes read the same);
/// `None` when no map can be made. Index slot tables
/// (`index::slots::Slots`) and the blobs a rewrite writes
/// (`read_state::BlobBytes::on_huge_pages`) are held in such maps.
pub(crate) fn huge_page_map(len: usize) -> Option<memmap2::MmapMut> {
    let map = memmap2::MmapMut::map_anon(len).ok()?;
    #[cfg(target_os = "linux")]
    let _ = map.advise(memmap2::Advice::HugePage);
    Some(map)
}

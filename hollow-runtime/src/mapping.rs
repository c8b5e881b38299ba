//! Memory maps: anonymous ones the kernel is asked to back with 2 MiB
//! pages, and giving a file map's pages back to the kernel.
//!
//! On huge pages:
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

/// Drops the pages of `map`, a read-only map of a file, from the process's
/// resident memory (`MADV_DONTNEED`): they stay in the page cache, and a
/// later read maps them again. Elsewhere than Unix the pages stay until
/// the map is dropped.
///
/// # Errors
/// The kernel refused the advice (the pages then simply stay).
pub(crate) fn give_back_pages(map: &memmap2::Mmap) -> std::io::Result<()> {
    // SAFETY: the map is read-only and shared, of a file that nothing
    // changes while it is mapped (which reading the map at all relies on):
    // after MADV_DONTNEED a read sees the same bytes, read again from the
    // page cache or the file.
    #[cfg(unix)]
    return unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
    #[cfg(not(unix))]
    {
        let _ = map;
        Ok(())
    }
}

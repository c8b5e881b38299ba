//! A blob opened for reading: its bytes (memory-mapped or owned), checked
//! once, with the place of every section's lists remembered so records can
//! be read in O(1) for as long as the blob is held.

use std::fmt;
use std::sync::Arc;

use hollow_schema::Schema;

use crate::blob::{BlobKind, BlobName, BlobView};
use crate::error::{Error, ErrorKind};
use crate::wire::ListPosition;

/// The bytes of a blob: a memory map of a cached file, or owned bytes
/// (a vector, or an anonymous map a rewrite wrote).
///
/// Maps and vectors are told apart so reading a record costs no call
/// through a trait object; anything else goes through `AsRef`.
#[derive(Clone)]
pub(crate) enum BlobBytes {
    /// A cached file's map with the file itself, kept open for the shared
    /// lock that keeps other consumers of the cache directory from
    /// removing it (see `consumer::cache`).
    Mapped(Arc<(memmap2::Mmap, std::fs::File)>),
    Owned(Arc<Vec<u8>>),
    /// Written once by [`BlobBytes::on_huge_pages`], never again (shared).
    Written(Arc<memmap2::MmapMut>),
    Any(Arc<dyn AsRef<[u8]> + Send + Sync>),
}

impl BlobBytes {
    pub(crate) fn any(b: Arc<dyn AsRef<[u8]> + Send + Sync>) -> BlobBytes {
        BlobBytes::Any(b)
    }

    pub(crate) fn mapped(m: memmap2::Mmap, file: std::fs::File) -> BlobBytes {
        BlobBytes::Mapped(Arc::new((m, file)))
    }

    /// `len` bytes written by `fill` into an anonymous map the kernel is
    /// asked to back with 2 MiB pages (as index slot tables are, see
    /// [`crate::mapping`]): reading a record at a random place then costs no
    /// page walk through 4 KiB pages. Owned bytes when no map can be made.
    ///
    /// # Errors
    /// What `fill` returns.
    pub(crate) fn on_huge_pages<E>(
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<BlobBytes, E> {
        let Some(mut map) = crate::mapping::huge_page_map(len) else {
            let mut v = vec![0u8; len];
            fill(&mut v)?;
            return Ok(BlobBytes::Owned(Arc::new(v)));
        };
        fill(&mut map)?;
        Ok(BlobBytes::Written(Arc::new(map)))
    }

    #[inline]
    fn get(&self) -> &[u8] {
        match self {
            BlobBytes::Mapped(m) => &m.0,
            BlobBytes::Owned(v) => v,
            BlobBytes::Written(m) => m,
            BlobBytes::Any(b) => (**b).as_ref(),
        }
    }
}

/// Where one section's lists are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SectionPos {
    start: usize,
    end: usize,
    pub(crate) records: ListPosition,
    pub(crate) populated: Option<ListPosition>,
    pub(crate) removed: Option<ListPosition>,
    pub(crate) added: Option<ListPosition>,
    pub(crate) ordinal_limit: u32,
    /// The first ordinal of the section's range (0 but in a type's second
    /// and later shards): element `i` of `records` in a snapshot is
    /// ordinal `first_ordinal + i`.
    pub(crate) first_ordinal: u32,
    pub(crate) state_count: u32,
    pub(crate) state_checksum: u64,
}

/// A blob checked and ready to read.
pub(crate) struct LoadedBlob {
    name: BlobName,
    bytes: BlobBytes,
    from_tag: u64,
    to_tag: u64,
    schema: Schema,
    tags: Vec<(String, String)>,
    sections: Vec<(String, SectionPos)>,
}

impl fmt::Debug for LoadedBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LoadedBlob({})", self.name)
    }
}

impl LoadedBlob {
    /// Opens and checks a blob (magic, format version, whole-file checksum,
    /// header, section bounds, and that it is the blob `name` says).
    pub(crate) fn open(name: BlobName, bytes: BlobBytes) -> Result<LoadedBlob, Error> {
        LoadedBlob::open_inner(name, bytes, true)
    }

    /// [`LoadedBlob::open`] of a blob whose whole-file checksum the caller
    /// verified (with [`crate::blob::verify_checksum_stream`], which reads
    /// the file in pieces instead of through the map).
    pub(crate) fn open_prechecked(name: BlobName, bytes: BlobBytes) -> Result<LoadedBlob, Error> {
        LoadedBlob::open_inner(name, bytes, false)
    }

    fn open_inner(name: BlobName, bytes: BlobBytes, check: bool) -> Result<LoadedBlob, Error> {
        let shown = name.to_string();
        let view = if check {
            BlobView::open(&shown, bytes.get())
        } else {
            BlobView::open_prechecked(&shown, bytes.get())
        };
        let view =
            view.map_err(|e| Error::with_source(ErrorKind::CorruptBlob, e.to_string(), e))?;
        // `BlobView::open` refused a prefix other than what `name` says.
        let p = *view.prefix();
        let base = bytes.get().as_ptr() as usize;
        let mut sections = Vec::new();
        for sv in view.sections() {
            let info = sv.info().clone();
            let sec = sv.bytes();
            let start = sec.as_ptr() as usize - base;
            // The section views check each section's shape against the
            // directory; a read state keeps only where the lists are.
            let shape = |e: crate::blob::BlobError| {
                Error::with_source(ErrorKind::CorruptBlob, e.to_string(), e)
            };
            let (populated, removed, added, records) = if p.kind == BlobKind::Snapshot {
                let (populated, records) = sv.snapshot().map_err(shape)?.positions();
                (Some(populated), None, None, records)
            } else {
                let (removed, added, records) = sv.delta().map_err(shape)?.positions();
                (None, Some(removed), Some(added), records)
            };
            sections.push((
                info.type_name,
                SectionPos {
                    start,
                    end: start + sec.len(),
                    records,
                    populated,
                    removed,
                    added,
                    ordinal_limit: info.ordinal_limit,
                    first_ordinal: info.first_ordinal,
                    state_count: info.state_count,
                    state_checksum: info.state_checksum,
                },
            ));
        }
        let header = view.header();
        Ok(LoadedBlob {
            name,
            from_tag: p.from_tag,
            to_tag: p.to_tag,
            schema: header.schema.clone(),
            tags: header.tags.clone(),
            sections,
            bytes: bytes.clone(),
        })
    }

    pub(crate) fn name(&self) -> BlobName {
        self.name
    }

    pub(crate) fn origin_tag(&self) -> u64 {
        self.from_tag
    }

    pub(crate) fn result_tag(&self) -> u64 {
        self.to_tag
    }

    pub(crate) fn schema(&self) -> &Schema {
        &self.schema
    }

    pub(crate) fn tags(&self) -> &[(String, String)] {
        &self.tags
    }

    /// The record types of the blob's sections, each once, in directory
    /// order, with its sections (one, or its shards in ascending ordinal
    /// ranges, as `BlobView::open` checked).
    pub(crate) fn types(&self) -> Vec<(&String, Vec<&SectionPos>)> {
        let mut out: Vec<(&String, Vec<&SectionPos>)> = Vec::new();
        for (n, p) in &self.sections {
            match out.iter_mut().find(|(m, _)| *m == n) {
                Some((_, v)) => v.push(p),
                None => out.push((n, vec![p])),
            }
        }
        out
    }

    /// The most sections any one record type has in the blob (1 when no
    /// type is sharded; 0 for a blob without sections): how many read
    /// state slots the blob takes.
    pub(crate) fn shard_slots(&self) -> usize {
        self.types()
            .iter()
            .map(|(_, v)| v.len())
            .max()
            .unwrap_or(0)
            .max(1)
    }

    /// Gives the pages of the blob's map back to the kernel, when it is a
    /// memory-mapped file (owned bytes stay): they stay in the page cache,
    /// and a later read maps them again.
    pub(crate) fn give_back_pages(&self) {
        if let BlobBytes::Mapped(m) = &self.bytes {
            if let Err(e) = crate::mapping::give_back_pages(&m.0) {
                tracing::debug!(blob = %self.name, error = %e, "a blob's pages were not given back");
            }
        }
    }

    /// The whole blob.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        self.bytes.get()
    }

    /// The bytes of one of the blob's sections.
    #[inline]
    pub(crate) fn section_bytes(&self, p: &SectionPos) -> &[u8] {
        self.bytes.get().get(p.start..p.end).unwrap_or(&[])
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::blob::{snapshot_section, BlobWriter, SectionInfo};
    use crate::read_state::tests::Item;
    use crate::{to_canonical_bytes, Struct};

    /// The resident size of the map starting at `addr`, from
    /// `/proc/self/smaps`.
    fn map_rss(addr: usize) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let head = format!("{addr:x}-");
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&head));
        assert!(lines.next().is_some(), "no map at {head}");
        let rss = lines.find(|l| l.starts_with("Rss:")).unwrap();
        let kb: u64 = rss.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb * 1024
    }

    #[test]
    fn a_mapped_blob_gives_its_pages_back() {
        let item = Item {
            id: 1,
            name: "x".repeat(2 << 20),
        };
        let bytes = to_canonical_bytes(&item).unwrap();
        let section = snapshot_section(Item::SIZE, 1, &[1], [(0, &bytes[..])].into_iter()).unwrap();
        let mut w = BlobWriter::new(BlobKind::Snapshot, 3, 3, 0, 0xfeed);
        w.add_section(SectionInfo::snapshot("Item", 1, 1), section);
        let blob = w.finish(Item::schema(), &[]).unwrap();
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &blob).unwrap();
        // SAFETY: an unnamed temporary file only this test holds.
        let map = unsafe { memmap2::Mmap::map(&file).unwrap() };
        let loaded = LoadedBlob::open(BlobName::Snapshot(3), BlobBytes::mapped(map, file)).unwrap();
        let addr = loaded.bytes().as_ptr() as usize;
        // Opening it read it all (its checksum); read it again anyway.
        let sum = loaded
            .bytes()
            .iter()
            .step_by(4096)
            .map(|&b| b as u64)
            .sum::<u64>();
        assert!(sum > 0);
        assert!(map_rss(addr) >= 2 << 20, "{}", map_rss(addr));
        loaded.give_back_pages();
        assert_eq!(map_rss(addr), 0);
        // Read again, the same bytes.
        assert!(loaded.bytes() == &blob[..]);
        assert!(map_rss(addr) >= 2 << 20);
        // Owned bytes stay as they are.
        let owned = LoadedBlob::open(
            BlobName::Snapshot(3),
            BlobBytes::Owned(Arc::new(blob.clone())),
        )
        .unwrap();
        owned.give_back_pages();
        assert!(owned.bytes() == &blob[..]);
    }
}

//! The blob format, version 1: snapshots, deltas and reverse deltas.
//!
//! A blob is laid out as (all integers little-endian; see
//! `docs/blob-format.md` for the byte-exact description):
//!
//! | bytes | what |
//! |---|---|
//! | 0..64 | [`BlobPrefix`]: magic `HOLLOWRS`, format version, kind, versions, state tags, header length |
//! | 64..64+header_len | the header, a single-segment Cap'n Proto message (`BlobHeader` of `schemas/hollow.capnp`): tags, the dataset schema, the section directory |
//! | each at an 8-aligned offset | one single-segment Cap'n Proto message per record type: `SnapshotSection` or `DeltaSection` (whose `records` is a `List(Record)` of the section's record type) |
//! | last 16 | XXH3-64 of every byte before it, then the magic `HOLLOWEN` |
//!
//! Writing: build each type's section with [`snapshot_section`] or
//! [`delta_section`] from canonical record bytes, add them to a
//! [`BlobWriter`], and [`finish`](BlobWriter::finish) it with the schema and
//! tags. Reading: [`BlobView::open`] checks the prefix, trailer, whole-file
//! checksum, header and directory of any byte slice (a memory-mapped file,
//! say) and hands out zero-copy [`SnapshotSectionView`]s and
//! [`DeltaSectionView`]s whose records are read in place.
//!
//! ```
//! use hollow_runtime::blob::{self, BlobKind, BlobView, BlobWriter, SectionInfo};
//! use hollow_runtime::{Hollow, Struct};
//!
//! #[derive(Hollow, Debug, PartialEq)]
//! #[hollow(primary_key(id))]
//! struct Movie {
//!     id: u64,
//!     title: String,
//! }
//!
//! let heat = hollow_runtime::to_canonical_bytes(&Movie { id: 1, title: "Heat".into() }).unwrap();
//! // Ordinals 0 and 2 populated (bitmap word 0b101).
//! let section = blob::snapshot_section(
//!     Movie::SIZE,
//!     3,
//!     &[0b101],
//!     [(0, &heat[..]), (2, &heat[..])].into_iter(),
//! )
//! .unwrap();
//! let mut w = BlobWriter::new(BlobKind::Snapshot, 7, 7, 0, 0x5eed);
//! w.add_section(SectionInfo::snapshot("Movie", 2, 3), section);
//! let bytes = w.finish(Movie::schema(), &[("producer".into(), "doc".into())]).unwrap();
//!
//! let view = BlobView::open("snapshot-7", &bytes).unwrap();
//! assert_eq!(view.prefix().to_version, 7);
//! let movies = view.section("Movie").unwrap().snapshot().unwrap();
//! assert!(!movies.populated(1));
//! let r = Movie::wrap(movies.record_reader(2).unwrap());
//! assert_eq!(r.title(), "Heat");
//! ```

mod checksum;
// Public for the tests that check the header's layout against the Cap'n
// Proto compiler's and that rewrite headers of crafted blobs; readers and
// writers of blobs use `BlobHeader`.
#[doc(hidden)]
pub mod envelope;
mod error;
mod header;
mod name;
mod prefix;
mod reader;
mod reseal;
mod section;
mod share;
mod writer;

#[cfg(test)]
mod tests;

pub use checksum::state_mix;
pub use error::{BlobError, BlobErrorKind};
pub use header::{BlobHeader, SectionInfo};
pub use name::{BlobName, BlobNameError, Encoding, StoredName};
pub use prefix::{BlobKind, BlobPrefix};
pub use reader::{
    verify_checksum_stream, BlobView, DeltaSectionView, SectionView, SnapshotSectionView,
};
pub use reseal::reseal;
pub(crate) use section::write_snapshot_shards;
pub use section::{
    delta_section, delta_section_with, delta_shards, snapshot_section, snapshot_section_with,
    snapshot_shards,
};
pub use share::SectionOptions;
pub use writer::BlobWriter;

/// The first 8 bytes of every blob.
pub const MAGIC: [u8; 8] = *b"HOLLOWRS";
/// The last 8 bytes of every blob.
pub const END_MAGIC: [u8; 8] = *b"HOLLOWEN";
/// The newest blob format version this code writes and reads: 2, a
/// version whose record types may span several sections (shards by ordinal
/// range). A blob with one section per type is written as version
/// [`FORMAT_VERSION_ONE_SECTION`], readable by readers that know only it;
/// one with a type in several sections as version 2, which such readers
/// refuse by its version.
pub const FORMAT_VERSION: u32 = 2;
/// The blob format version of blobs with one section per record type (1):
/// what this code writes unless a type needs several sections.
pub const FORMAT_VERSION_ONE_SECTION: u32 = 1;
/// Size of the fixed prefix in bytes.
pub const PREFIX_LEN: usize = 64;
/// Size of the trailer (checksum, end magic) in bytes.
pub const TRAILER_LEN: usize = 16;

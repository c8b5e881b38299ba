//! Damaged blobs whose checksums still match, as a producer bug or a
//! hostile writer would leave them: real blobs from a producer, edited in
//! their header or section bytes and re-sealed with
//! [`hollow_runtime::blob::reseal`] (section checksums in the directory and
//! the whole-file trailer recomputed). For `tests/crafted_blobs.rs` and
//! for fuzz targets that must reach past the checksums.
//!
//! ```
//! use hollow_runtime::store::BlobName;
//! use hollow_tests::crafted;
//!
//! let blobs = crafted::two_versions();
//! let snapshot = &blobs[&BlobName::Snapshot(1)];
//! // Claim no Movie records: the snapshot now disagrees with its bitmap.
//! let bad = crafted::edit_header(snapshot, |_, h| {
//!     for s in h.sections.iter_mut().filter(|s| s.type_name == "Movie") {
//!         s.record_count = 0;
//!         s.state_count = 0;
//!     }
//! });
//! let view = hollow_runtime::blob::BlobView::open("snapshot-1", &bad).unwrap();
//! assert!(view.section("Movie").unwrap().snapshot().is_err());
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use hollow_runtime::blob::{self, BlobHeader, BlobPrefix, BlobView};
use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::Producer;

use crate::dataset::{catalog, publish, runtime};

/// Movies in version 1 of [`two_versions`] (and half as many actors).
pub const MOVIES_V1: u64 = 171;
/// Movies in version 2 of [`two_versions`]: the last 11 of version 1 are
/// removed, and every third of the others changed.
pub const MOVIES_V2: u64 = 160;

/// The blobs of two versions a producer published: `snapshot-1`,
/// `snapshot-2`, `delta-1-2` and `reversedelta-2-1`, by name. Version 1
/// is [`catalog`]`(MOVIES_V1, 1, 2)`, version 2 [`catalog`]`(MOVIES_V2, 2, 3)`.
///
/// # Panics
/// When the producer fails (a bug elsewhere).
pub fn two_versions() -> BTreeMap<BlobName, Vec<u8>> {
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    runtime().block_on(publish_two_versions(&store, &announcer));
    store
        .names()
        .into_iter()
        .filter_map(|n| Some((n, store.get(n)?)))
        .collect()
}

/// Publishes the two versions of [`two_versions`] to `store`, announcing
/// them on `announcer`.
///
/// # Panics
/// When the producer fails (a bug elsewhere).
pub async fn publish_two_versions(
    store: &Arc<MemoryBlobStore>,
    announcer: &Arc<InProcessAnnouncer>,
) {
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    publish(&mut producer, &catalog(MOVIES_V1, 1, 2)).await;
    publish(&mut producer, &catalog(MOVIES_V2, 2, 3)).await;
}

/// `blob` with `edit` applied to its prefix and header, re-sealed.
///
/// # Panics
/// When `blob`'s header cannot be read.
pub fn edit_header(blob: &[u8], edit: impl FnOnce(&mut BlobPrefix, &mut BlobHeader)) -> Vec<u8> {
    blob::reseal(blob, edit).expect("a blob whose header can be read")
}

/// `blob` with `edit` applied to the bytes of `type_name`'s section,
/// re-sealed (the section's checksum and the trailer recomputed).
///
/// # Panics
/// When `blob` is not a valid blob with a section for `type_name`.
pub fn edit_section(blob: &[u8], type_name: &str, edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let (start, end) = section_range(blob, type_name);
    let mut out = blob.to_vec();
    edit(&mut out[start..end]);
    edit_header(&out, |_, _| {})
}

/// Where `type_name`'s section is in the valid blob `blob` (bytes).
///
/// # Panics
/// When `blob` is not a valid blob with a section for `type_name`.
pub fn section_range(blob: &[u8], type_name: &str) -> (usize, usize) {
    let view = BlobView::open("blob", blob).expect("a valid blob");
    let info = view
        .section(type_name)
        .unwrap_or_else(|| panic!("a section for {type_name}"))
        .info();
    (info.offset as usize, (info.offset + info.length) as usize)
}

/// Word `i` of `bytes`.
pub fn word(bytes: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
    u64::from_le_bytes(w)
}

/// Sets word `i` of `bytes`.
pub fn set_word(bytes: &mut [u8], i: usize, value: u64) {
    bytes[i * 8..i * 8 + 8].copy_from_slice(&value.to_le_bytes());
}

/// The word a struct or list pointer at word `at` of a message points to
/// (for a struct list, its tag word).
pub fn pointer_target(message: &[u8], at: usize) -> usize {
    let offset = (word(message, at) as u32 as i32) >> 2;
    (at as i64 + 1 + offset as i64) as usize
}

/// Where the `u32` element `i` of the list that the pointer at word
/// `pointer` of a section points to is, in bytes from the section's start
/// (a delta section's `removed` list is pointer word 1, `added` word 2; a
/// snapshot's records list is word 2, its bitmap word 1).
pub fn u32_element(section: &[u8], pointer: usize, i: usize) -> usize {
    pointer_target(section, pointer) * 8 + i * 4
}

/// Reads a `u32` at byte `at`.
pub fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Writes a `u32` at byte `at`.
pub fn set_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// A record's share of its type's state checksum, as
/// `docs/blob-format.md` ("State checksum") defines it.
pub use hollow_runtime::blob::state_mix;

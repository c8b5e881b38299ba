//! Building section messages from canonical record bytes.

use hollow_schema::StructSize;

use super::share::{SectionOptions, Sharer};
use super::{BlobError, BlobErrorKind};
use crate::bits::Bits;
use crate::wire::{list_ptr, struct_ptr, ElementSize};

/// Most words a section message may have: Cap'n Proto pointer offsets and
/// list word counts are 29-bit (4 GiB).
const MAX_WORDS: u64 = (1 << 29) - 1;

fn put(out: &mut [u8], word: usize, value: u64) {
    out[word * 8..word * 8 + 8].copy_from_slice(&value.to_le_bytes());
}

fn too_large(what: &str, words: u64) -> BlobError {
    BlobError::building(
        BlobErrorKind::TooLarge,
        format!(
            "{what} section would be {words} words; a section message is limited to \
             {MAX_WORDS} words (4 GiB) by Cap'n Proto's pointer offsets"
        ),
    )
}

fn bad_record(ordinal: u32, what: &str) -> BlobError {
    BlobError::building(
        BlobErrorKind::Record,
        format!("the record for ordinal {ordinal} cannot be written to a section: {what}"),
    )
}

/// The tag word of an inline-composite list of `count` elements of `size`.
fn tag_word(count: u32, size: StructSize) -> u64 {
    ((count as u64) << 2) | (size.data_words as u64) << 32 | (size.pointers as u64) << 48
}

/// Builds a snapshot section: the message `SnapshotSection` of
/// `schemas/hollow.capnp`, its root struct (0 data words, 2 pointers) at
/// word 1.
///
/// - `size`: the record type's full section sizes (`T::SIZE`); every
///   element of `records` gets exactly these, so readers index in O(1);
/// - `ordinal_limit`: the length of the records list (max ordinal + 1);
/// - `populated`: the populated-ordinal bitmap, bit `i % 64` of word
///   `i / 64` for ordinal `i`; written as `ordinal_limit.div_ceil(64)`
///   words (missing words read as 0, bits past the limit are cleared);
/// - `records`: the record of every populated ordinal, as canonical bytes
///   ([`Encoder`](crate::Encoder)'s output: root pointer first, root struct
///   at word 1, its objects after it in pre-order), in any order
///   (ascending ordinal order gives a section whose objects are in
///   pre-order, but for shared values, which sit where they were first
///   written). Bytes whose objects are not in pre-order are copied as
///   they are, unshared.
///
/// Each record is copied with one `memcpy` per value its root struct points
/// to; only the root struct's own pointers are rewritten. Identical values
/// are written once and shared by pointer (`docs/blob-format.md`, "Shared
/// values"); [`snapshot_section_with`] can turn that off.
///
/// An empty section (`ordinal_limit` 0) has null pointers for both lists.
///
/// # Errors
/// - [`BlobErrorKind::Record`]: an ordinal at or past `ordinal_limit`, not
///   set in `populated`, or given twice; a populated ordinal without a
///   record; bytes that are not canonical bytes of a struct fitting `size`;
/// - [`BlobErrorKind::TooLarge`]: the section would pass 4 GiB.
pub fn snapshot_section<'r>(
    size: StructSize,
    ordinal_limit: u32,
    populated: &[u64],
    records: impl Iterator<Item = (u32, &'r [u8])>,
) -> Result<Vec<u8>, BlobError> {
    snapshot_section_with(
        SectionOptions::default(),
        size,
        ordinal_limit,
        populated,
        records,
    )
}

/// [`snapshot_section`], written as `options` say (values shared or not).
///
/// # Errors
/// As [`snapshot_section`].
pub fn snapshot_section_with<'r>(
    options: SectionOptions,
    size: StructSize,
    ordinal_limit: u32,
    populated: &[u64],
    records: impl Iterator<Item = (u32, &'r [u8])>,
) -> Result<Vec<u8>, BlobError> {
    let bitmap_words = ordinal_limit.div_ceil(64) as usize;
    let per = size.data_words as u64 + size.pointers as u64;
    let element_words = per * ordinal_limit as u64;
    let fixed = 3 + bitmap_words as u64 + 1 + element_words;
    if fixed > MAX_WORDS || ordinal_limit >= 1 << 29 {
        return Err(too_large("a snapshot", fixed));
    }
    let mut out = vec![0u8; fixed as usize * 8];
    put(&mut out, 0, struct_ptr(0, 1, 0, 2));
    let mut bits = vec![0u64; bitmap_words];
    for (i, b) in bits.iter_mut().enumerate() {
        *b = populated.get(i).copied().unwrap_or(0);
    }
    if !ordinal_limit.is_multiple_of(64) {
        if let Some(last) = bits.last_mut() {
            *last &= (1u64 << (ordinal_limit % 64)) - 1;
        }
    }
    let tag = 3 + bitmap_words;
    if ordinal_limit > 0 {
        put(
            &mut out,
            1,
            list_ptr(1, 3, ElementSize::EightBytes, bitmap_words as u32),
        );
        for (i, b) in bits.iter().enumerate() {
            put(&mut out, 3 + i, *b);
        }
        put(
            &mut out,
            2,
            list_ptr(2, tag, ElementSize::InlineComposite, element_words as u32),
        );
        put(&mut out, tag, tag_word(ordinal_limit, size));
    }
    let mut seen = Bits::default();
    let mut sharer = Sharer::new(options, size.pointers);
    for (ordinal, bytes) in records {
        if ordinal >= ordinal_limit {
            return Err(bad_record(
                ordinal,
                &format!("past the ordinal limit {ordinal_limit}"),
            ));
        }
        if (bits[ordinal as usize / 64] >> (ordinal % 64)) & 1 == 0 {
            return Err(bad_record(ordinal, "the ordinal is not marked populated"));
        }
        if seen.get(ordinal) {
            return Err(bad_record(ordinal, "the ordinal is given twice"));
        }
        seen.set(ordinal, true);
        let slot = tag + 1 + (ordinal as u64 * per) as usize;
        sharer
            .splice(&mut out, slot, size.data_words, size.pointers, bytes)
            .map_err(|e| bad_record(ordinal, e))?;
        if out.len() as u64 / 8 > MAX_WORDS {
            return Err(too_large("a snapshot", out.len() as u64 / 8));
        }
    }
    if let Some((w, (b, s))) = bits
        .iter()
        .zip(seen.words(ordinal_limit))
        .enumerate()
        .find(|(_, (b, s))| **b != *s)
    {
        let ordinal = w as u32 * 64 + (b ^ s).trailing_zeros();
        return Err(bad_record(
            ordinal,
            "the ordinal is marked populated but no record was given",
        ));
    }
    tracing::trace!(
        words = out.len() / 8,
        shared_words = sharer.saved_words(),
        "snapshot section written"
    );
    Ok(out)
}

/// Builds a delta (or reverse delta) section: the message
/// `DeltaSection` of `schemas/hollow.capnp`, its root struct (0
/// data words, 3 pointers) at word 1, then the `removed` list, the `added`
/// list, the records list (elements sized `size`) and the added records'
/// objects.
///
/// `added` pairs each added ordinal with its record's canonical bytes (as
/// for [`snapshot_section`]); the records list follows their order. Empty
/// lists are null pointers.
///
/// Identical values are shared as in [`snapshot_section`];
/// [`delta_section_with`] can turn that off.
///
/// # Errors
/// - [`BlobErrorKind::Record`]: bytes that are not canonical bytes of a
///   struct fitting `size`;
/// - [`BlobErrorKind::TooLarge`]: the section would pass 4 GiB.
pub fn delta_section(
    size: StructSize,
    removed: &[u32],
    added: &[(u32, &[u8])],
) -> Result<Vec<u8>, BlobError> {
    delta_section_with(SectionOptions::default(), size, removed, added)
}

/// [`delta_section`], written as `options` say (values shared or not).
///
/// # Errors
/// As [`delta_section`].
pub fn delta_section_with(
    options: SectionOptions,
    size: StructSize,
    removed: &[u32],
    added: &[(u32, &[u8])],
) -> Result<Vec<u8>, BlobError> {
    let per = size.data_words as u64 + size.pointers as u64;
    let removed_words = (removed.len() as u64).div_ceil(2);
    let added_words = (added.len() as u64).div_ceil(2);
    let element_words = per * added.len() as u64;
    let fixed = 4 + removed_words + added_words + 1 + element_words;
    if fixed > MAX_WORDS || removed.len() >= 1 << 29 || added.len() >= 1 << 29 {
        return Err(too_large("a delta", fixed));
    }
    let mut out = vec![0u8; fixed as usize * 8];
    put(&mut out, 0, struct_ptr(0, 1, 0, 3));
    let removed_at = 4usize;
    let added_at = removed_at + removed_words as usize;
    let tag = added_at + added_words as usize;
    let mut write_u32s = |at: usize, ptr: usize, values: &mut dyn Iterator<Item = u32>| {
        let mut n = 0u32;
        for (i, v) in values.enumerate() {
            let p = at * 8 + i * 4;
            out[p..p + 4].copy_from_slice(&v.to_le_bytes());
            n += 1;
        }
        if n > 0 {
            put(&mut out, ptr, list_ptr(ptr, at, ElementSize::FourBytes, n));
        }
    };
    write_u32s(removed_at, 1, &mut removed.iter().copied());
    write_u32s(added_at, 2, &mut added.iter().map(|(o, _)| *o));
    if !added.is_empty() {
        put(
            &mut out,
            3,
            list_ptr(3, tag, ElementSize::InlineComposite, element_words as u32),
        );
        put(&mut out, tag, tag_word(added.len() as u32, size));
    }
    let mut sharer = Sharer::new(options, size.pointers);
    for (i, (ordinal, bytes)) in added.iter().enumerate() {
        let slot = tag + 1 + (i as u64 * per) as usize;
        sharer
            .splice(&mut out, slot, size.data_words, size.pointers, bytes)
            .map_err(|e| bad_record(*ordinal, e))?;
        if out.len() as u64 / 8 > MAX_WORDS {
            return Err(too_large("a delta", out.len() as u64 / 8));
        }
    }
    Ok(out)
}

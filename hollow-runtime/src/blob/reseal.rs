//! [`reseal`]: editing a blob's prefix, header or section bytes and making
//! its checksums agree again, as a producer bug or a hostile writer would
//! leave it. For tests and fuzzers that must reach past the checksums, and
//! for tools that repair a blob by hand.

use super::reader::read_header;
use super::{BlobError, BlobErrorKind, BlobHeader, BlobPrefix, END_MAGIC, PREFIX_LEN, TRAILER_LEN};
use crate::{hash_bytes, Encoder};

/// Takes `bytes` apart (prefix, header, the bytes after the header), lets
/// `edit` change the prefix and the header as read, and puts the blob
/// back together with checksums that match: the header is re-encoded
/// (every section offset moved by as much as the header's length changed,
/// so an entry still points at the same bytes), each directory entry
/// whose `offset` and `length` lie inside the blob gets the checksum of
/// those bytes, and the trailer gets the whole-file checksum and the end
/// magic. An edit of the section bytes themselves is made on `bytes`
/// before the call (with an `edit` that does nothing).
///
/// Only the prefix's magic and format version, the header length and the
/// header message need to be readable; nothing else is checked, so the
/// result is a blob a reader must refuse or read correctly, not
/// necessarily a valid one. The prefix's reserved field is written as 0.
///
/// # Errors
/// [`BlobErrorKind::NotHollow`], [`BlobErrorKind::UnsupportedVersion`],
/// [`BlobErrorKind::Truncated`] or [`BlobErrorKind::Prefix`] from the
/// prefix; [`BlobErrorKind::Header`] when the header cannot be read or,
/// edited, encoded.
pub fn reseal(
    bytes: &[u8],
    edit: impl FnOnce(&mut BlobPrefix, &mut BlobHeader),
) -> Result<Vec<u8>, BlobError> {
    const NAME: &str = "being resealed";
    let mut prefix = BlobPrefix::parse(NAME, bytes)?;
    let header_bad = |what: String| BlobError::new(BlobErrorKind::Header, NAME, what);
    let header_end = (PREFIX_LEN as u64)
        .checked_add(prefix.header_len)
        .filter(|&end| end <= bytes.len().saturating_sub(TRAILER_LEN) as u64)
        .ok_or_else(|| header_bad(format!("has a header length of {}", prefix.header_len)))?
        as usize;
    let mut header = read_header(&bytes[PREFIX_LEN..header_end])
        .map_err(|e| header_bad(format!("has an unreadable header: {e}")))?;
    // The bytes after the header, and where each entry's section starts in
    // them (offsets are from the start of the blob).
    let rest = &bytes[header_end..bytes.len() - TRAILER_LEN];
    let old_end = header_end as u64;
    edit(&mut prefix, &mut header);
    for s in &mut header.sections {
        let within = s
            .offset
            .checked_sub(old_end)
            .and_then(|start| Some((start, start.checked_add(s.length)?)))
            .filter(|&(_, end)| end <= rest.len() as u64);
        if let Some((start, end)) = within {
            s.checksum = hash_bytes(&rest[start as usize..end as usize]);
        }
    }
    // Re-encode the header, moving every offset by as much as its length
    // changed; the length may depend on the offsets, so to a fixed point.
    let original: Vec<u64> = header.sections.iter().map(|s| s.offset).collect();
    let mut enc = Encoder::new();
    let mut header_len = prefix.header_len;
    let mut encoded = Vec::new();
    for _ in 0..8 {
        let shift = header_len as i128 - prefix.header_len as i128;
        for (s, &o) in header.sections.iter_mut().zip(&original) {
            s.offset = (o as i128 + shift).clamp(0, u64::MAX as i128) as u64;
        }
        let wire = header.to_wire();
        encoded = enc
            .encode(&wire)
            .map_err(|e| header_bad(format!("cannot be encoded: {e}")))?
            .to_vec();
        if encoded.len() as u64 == header_len {
            break;
        }
        header_len = encoded.len() as u64;
    }
    if encoded.len() as u64 != header_len {
        return Err(header_bad("has a length that does not settle".into()));
    }
    prefix.header_len = header_len;
    let mut out = Vec::with_capacity(PREFIX_LEN + encoded.len() + rest.len() + TRAILER_LEN);
    // The format version as the blob stated it (1, or 2 for a blob with a
    // type in several sections).
    out.extend_from_slice(&prefix.to_bytes_as(super::prefix::format_version_of(bytes)));
    out.extend_from_slice(&encoded);
    out.extend_from_slice(rest);
    let sum = hash_bytes(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out.extend_from_slice(&END_MAGIC);
    Ok(out)
}

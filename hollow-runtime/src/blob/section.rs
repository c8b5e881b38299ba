//! Building section messages from canonical record bytes.

use hollow_schema::StructSize;

use super::share::{SectionOptions, Sharer};
use super::{BlobError, BlobErrorKind, SectionInfo};
use crate::bits::Bits;
use crate::wire::{list_ptr, splice_record, struct_ptr, ElementSize};

/// Bytes of objects a spooled section gathers before writing them out
/// (a few KiB in unit tests, so that their small sections take several).
const SPOOL_CHUNK: usize = if cfg!(test) { 4096 } else { 1 << 20 };

/// A section message being built: its fixed part (root struct, the lists'
/// heads and elements), written in place, and the objects the elements
/// point to, appended after it.
///
/// In memory ([`SectionBuf::memory`]) the whole message is one `Vec`.
/// Spooled (by [`BlobWriter`](super::BlobWriter) writing into its spool
/// file), only the fixed part is held: objects are written out in pieces
/// of [`SPOOL_CHUNK`] bytes as they are appended, and the fixed part is
/// written in front of them once the section is done. Both give the same
/// bytes.
pub(crate) struct SectionBuf<'f> {
    /// The fixed part; in memory, the whole message.
    pub(super) fixed: Vec<u8>,
    /// Where appended objects go when spooled.
    pub(super) spool: Option<Spool<'f>>,
    /// A record being spliced when spooled (see [`SectionBuf::splice_plain`]).
    scratch: Vec<u8>,
}

/// The objects of a spooled section: written to `file` from byte `at` on.
pub(super) struct Spool<'f> {
    pub(super) file: &'f std::fs::File,
    /// Where the section's objects start in the file.
    pub(super) at: u64,
    /// Objects appended and not yet written.
    pub(super) buf: Vec<u8>,
    /// Bytes of objects written to the file.
    pub(super) written: u64,
    /// The first write error; the section's writer reports it.
    pub(super) error: Option<std::io::Error>,
}

impl Spool<'_> {
    /// Writes out the objects gathered.
    pub(super) fn flush(&mut self) {
        use std::io::{Seek, SeekFrom, Write};
        if self.buf.is_empty() {
            return;
        }
        if self.error.is_none() {
            let mut f = self.file;
            let done = f
                .seek(SeekFrom::Start(self.at + self.written))
                .and_then(|_| f.write_all(&self.buf));
            if let Err(e) = done {
                self.error = Some(e);
            }
        }
        self.written += self.buf.len() as u64;
        self.buf.clear();
    }
}

impl<'f> SectionBuf<'f> {
    /// A section built in memory.
    pub(super) fn memory() -> SectionBuf<'static> {
        SectionBuf {
            fixed: Vec::new(),
            spool: None,
            scratch: Vec::new(),
        }
    }

    /// A section whose objects are written to `file` from byte `at` on,
    /// as they come (the fixed part is the caller's to write before them).
    pub(super) fn spooled(file: &'f std::fs::File, at: u64) -> SectionBuf<'f> {
        SectionBuf {
            fixed: Vec::new(),
            spool: Some(Spool {
                file,
                at,
                buf: Vec::with_capacity(SPOOL_CHUNK),
                written: 0,
                error: None,
            }),
            scratch: Vec::new(),
        }
    }

    /// Starts the message with a fixed part of `bytes` zero bytes.
    pub(super) fn begin(&mut self, bytes: usize) {
        self.fixed.clear();
        self.fixed.resize(bytes, 0);
        if let Some(s) = &mut self.spool {
            s.at += bytes as u64;
        }
    }

    /// The message's length in words so far.
    pub(super) fn words(&self) -> usize {
        let appended = self
            .spool
            .as_ref()
            .map_or(0, |s| s.written as usize + s.buf.len());
        (self.fixed.len() + appended) / 8
    }

    /// Appends objects after what the message holds.
    pub(super) fn append(&mut self, bytes: &[u8]) {
        match &mut self.spool {
            None => self.fixed.extend_from_slice(bytes),
            Some(s) => {
                s.buf.extend_from_slice(bytes);
                if s.buf.len() >= SPOOL_CHUNK {
                    s.flush();
                }
            }
        }
    }

    /// The message built in memory.
    pub(super) fn into_vec(self) -> Vec<u8> {
        debug_assert!(self.spool.is_none(), "a spooled section is in its file");
        self.fixed
    }

    /// Copies the canonical record `record` into the element at word
    /// `slot`, its objects appended unshared: what
    /// [`splice_record`] does to a message held whole. Spooled, the
    /// record is spliced into an element of its own first, and its root
    /// pointers moved by the distance between that copy and the section.
    ///
    /// # Errors
    /// As [`splice_record`].
    pub(super) fn splice_plain(
        &mut self,
        slot: usize,
        data_words: u16,
        pointers: u16,
        record: &[u8],
    ) -> Result<(), &'static str> {
        if self.spool.is_none() {
            return splice_record(&mut self.fixed, slot, data_words, pointers, record);
        }
        let per = data_words as usize + pointers as usize;
        if (slot + per) * 8 > self.fixed.len() {
            return Err("the element slot lies outside the message being built");
        }
        let mut tmp = std::mem::take(&mut self.scratch);
        tmp.clear();
        tmp.resize(per * 8, 0);
        let spliced = splice_record(&mut tmp, 0, data_words, pointers, record);
        if let Err(e) = spliced {
            self.scratch = tmp;
            return Err(e);
        }
        // The objects land at `base`, not right after the element at 0.
        let shift = self.words() as i64 - per as i64 - slot as i64;
        for j in 0..pointers as usize {
            let at = (data_words as usize + j) * 8;
            let w = u64::from_le_bytes(tmp[at..at + 8].try_into().unwrap_or([0; 8]));
            // Null, or a zero-sized struct (offset -1 is valid anywhere).
            if w == 0 || (w & 3 == 0 && w >> 32 == 0) {
                continue;
            }
            let offset = ((w as u32) as i32 >> 2) as i64 + shift;
            if !(-(1 << 29)..(1 << 29)).contains(&offset) {
                self.scratch = tmp;
                return Err("the message being built is too large for a pointer offset");
            }
            let new = (w & !0xffff_ffff) | (((offset as i32) << 2) as u32 | (w as u32 & 3)) as u64;
            tmp[at..at + 8].copy_from_slice(&new.to_le_bytes());
        }
        self.fixed[slot * 8..(slot + per) * 8].copy_from_slice(&tmp[..per * 8]);
        self.append(&tmp[per * 8..]);
        self.scratch = tmp;
        Ok(())
    }
}

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
    let mut out = SectionBuf::memory();
    snapshot_range(
        options,
        size,
        0,
        ordinal_limit,
        populated,
        records,
        &mut out,
    )?;
    Ok(out.into_vec())
}

/// A snapshot section of the ordinals `first..end` (a shard): element
/// `i` and bit `i` are ordinal `first + i`. `populated` is the type's
/// whole bitmap (from ordinal 0); `records` gives ordinals of the range.
/// Built into `out` (an empty [`SectionBuf`]).
fn snapshot_range<'r>(
    options: SectionOptions,
    size: StructSize,
    first: u32,
    end: u32,
    populated: &[u64],
    records: impl Iterator<Item = (u32, &'r [u8])>,
    out: &mut SectionBuf<'_>,
) -> Result<(), BlobError> {
    let ordinal_limit = end.saturating_sub(first);
    let populated = &range_bits(populated, first, end);
    let bitmap_words = ordinal_limit.div_ceil(64) as usize;
    let per = size.data_words as u64 + size.pointers as u64;
    let element_words = per * ordinal_limit as u64;
    let fixed = 3 + bitmap_words as u64 + 1 + element_words;
    if fixed > MAX_WORDS || ordinal_limit >= 1 << 29 {
        return Err(too_large("a snapshot", fixed));
    }
    out.begin(fixed as usize * 8);
    let head = &mut out.fixed;
    put(head, 0, struct_ptr(0, 1, 0, 2));
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
            head,
            1,
            list_ptr(1, 3, ElementSize::EightBytes, bitmap_words as u32),
        );
        for (i, b) in bits.iter().enumerate() {
            put(head, 3 + i, *b);
        }
        put(
            head,
            2,
            list_ptr(2, tag, ElementSize::InlineComposite, element_words as u32),
        );
        put(head, tag, tag_word(ordinal_limit, size));
    }
    let mut seen = Bits::default();
    let mut sharer = Sharer::new(options, size.pointers);
    for (global, bytes) in records {
        let Some(ordinal) = global.checked_sub(first).filter(|&o| o < ordinal_limit) else {
            return Err(bad_record(
                global,
                &format!("outside the section's ordinals {first}..{end}"),
            ));
        };
        if (bits[ordinal as usize / 64] >> (ordinal % 64)) & 1 == 0 {
            return Err(bad_record(global, "the ordinal is not marked populated"));
        }
        if seen.get(ordinal) {
            return Err(bad_record(global, "the ordinal is given twice"));
        }
        seen.set(ordinal, true);
        let slot = tag + 1 + (ordinal as u64 * per) as usize;
        sharer
            .splice(out, slot, size.data_words, size.pointers, bytes)
            .map_err(|e| bad_record(global, e))?;
        if out.words() as u64 > MAX_WORDS {
            return Err(too_large("a snapshot", out.words() as u64));
        }
    }
    if let Some((w, (b, s))) = bits
        .iter()
        .zip(seen.words(ordinal_limit))
        .enumerate()
        .find(|(_, (b, s))| **b != *s)
    {
        let ordinal = first + w as u32 * 64 + (b ^ s).trailing_zeros();
        return Err(bad_record(
            ordinal,
            "the ordinal is marked populated but no record was given",
        ));
    }
    tracing::trace!(
        words = out.words(),
        shared_words = sharer.saved_words(),
        "snapshot section written"
    );
    Ok(())
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
    let mut buf = SectionBuf::memory();
    buf.begin(fixed as usize * 8);
    let out = &mut buf.fixed;
    put(out, 0, struct_ptr(0, 1, 0, 3));
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
            put(out, ptr, list_ptr(ptr, at, ElementSize::FourBytes, n));
        }
    };
    write_u32s(removed_at, 1, &mut removed.iter().copied());
    write_u32s(added_at, 2, &mut added.iter().map(|(o, _)| *o));
    if !added.is_empty() {
        put(
            out,
            3,
            list_ptr(3, tag, ElementSize::InlineComposite, element_words as u32),
        );
        put(out, tag, tag_word(added.len() as u32, size));
    }
    let mut sharer = Sharer::new(options, size.pointers);
    for (i, (ordinal, bytes)) in added.iter().enumerate() {
        let slot = tag + 1 + (i as u64 * per) as usize;
        sharer
            .splice(&mut buf, slot, size.data_words, size.pointers, bytes)
            .map_err(|e| bad_record(*ordinal, e))?;
        if buf.words() as u64 > MAX_WORDS {
            return Err(too_large("a delta", buf.words() as u64));
        }
    }
    Ok(buf.into_vec())
}

/// The bits of ordinals `first..end` of the bitmap `words` (bit `o % 64`
/// of word `o / 64` for ordinal `o`; missing words read as 0), moved down
/// so that bit 0 is ordinal `first`.
fn range_bits(words: &[u64], first: u32, end: u32) -> std::borrow::Cow<'_, [u64]> {
    if first == 0 {
        return std::borrow::Cow::Borrowed(words);
    }
    let bit = |o: u32| (words.get(o as usize / 64).copied().unwrap_or(0) >> (o % 64)) & 1;
    let n = end.saturating_sub(first);
    let mut out = vec![0u64; n.div_ceil(64) as usize];
    let (word, shift) = (first as usize / 64, first % 64);
    for (i, w) in out.iter_mut().enumerate() {
        let lo = words.get(word + i).copied().unwrap_or(0);
        let hi = words.get(word + i + 1).copied().unwrap_or(0);
        *w = if shift == 0 {
            lo
        } else {
            (lo >> shift) | (hi << (64 - shift))
        };
    }
    debug_assert!((0..n.min(64)).all(|i| (out[0] >> i) & 1 == bit(first + i)));
    std::borrow::Cow::Owned(out)
}

/// The ordinals `first..end` whose bits are set in `words` (bit `o % 64`
/// of word `o / 64`), ascending.
fn ones(words: &[u64], first: u32, end: u32) -> impl Iterator<Item = u32> + Clone + '_ {
    let lo = first as usize / 64;
    let hi = (end as usize).div_ceil(64).min(words.len());
    words
        .get(lo..hi.max(lo))
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .flat_map(move |(i, &w)| {
            let base = ((lo + i) * 64) as u64;
            (0..64u64)
                .filter(move |b| (w >> b) & 1 == 1)
                .map(move |b| base + b)
        })
        .filter(move |&o| o >= u64::from(first) && o < u64::from(end))
        .map(|o| o as u32)
}

/// Words a record's canonical bytes add to a section besides its element:
/// the objects its root struct points to (canonical bytes are the root
/// pointer, the struct, then its objects).
fn object_words(bytes: &[u8], per: u64) -> u64 {
    (bytes.len() as u64 / 8).saturating_sub(1 + per)
}

/// Where a type's records are cut into sections (shards by ordinal range,
/// `docs/blob-format.md`, "Shards"): the first ordinal of every shard but
/// the first (which starts at 0), ascending. `events` are the ordinals
/// the sections hold something for, ascending, each with the words it adds
/// to its section; `fixed(span, n)` is the words of a section of `span`
/// ordinals holding `n` events, before those. A new shard starts at an
/// event whose words would take its section past `limit` words, when the
/// section already holds some ordinals; a section never spans more than
/// 2^29 − 1 ordinals (the most a list can hold).
fn cut_points(
    events: impl Iterator<Item = (u32, u64)>,
    end: u32,
    limit: u64,
    fixed: impl Fn(u64, u64) -> u64,
) -> Vec<u32> {
    const MAX_SPAN: u64 = (1 << 29) - 1;
    let mut cuts = Vec::new();
    let (mut first, mut n, mut words) = (0u32, 0u64, 0u64);
    for (o, w) in events {
        let span = u64::from(o - first) + 1;
        if o > first && (fixed(span, n + 1) + words + w > limit || span > MAX_SPAN) {
            cuts.push(o);
            (first, n, words) = (o, 0, 0);
        }
        n += 1;
        words += w;
    }
    let _ = end;
    cuts
}

/// A type's snapshot sections: [`snapshot_section_with`] when they fit in
/// `options.shard_limit` bytes (reckoned before values are shared), else
/// several sections (shards), each of a consecutive range of ordinals,
/// cut where the next record would take a section past the limit. Each
/// comes with its directory entry: `type_name`, its range
/// (`first_ordinal`, `ordinal_limit`), its populated count, and the
/// type's `state_count` and `state_checksum` (the same in every shard).
///
/// `record(o)` gives the canonical bytes of every ordinal set in
/// `populated` (the type's bitmap; bits from `ordinal_limit` on are
/// ignored).
///
/// # Errors
/// As [`snapshot_section`].
pub fn snapshot_shards<'r>(
    options: SectionOptions,
    type_name: &str,
    size: StructSize,
    ordinal_limit: u32,
    populated: &[u64],
    record: impl Fn(u32) -> &'r [u8],
    state: (u32, u64),
) -> Result<Vec<(SectionInfo, Vec<u8>)>, BlobError> {
    let mut out = Vec::new();
    for_snapshot_shards(
        options,
        type_name,
        size,
        ordinal_limit,
        populated,
        record,
        state,
        |info, build| {
            let mut buf = SectionBuf::memory();
            build(&mut buf)?;
            out.push((info, buf.into_vec()));
            Ok(())
        },
    )?;
    Ok(out)
}

/// [`snapshot_shards`], each section added to `writer` as it is built:
/// a spooling writer ([`BlobWriter::spool_into`](super::BlobWriter::spool_into))
/// holds only the section's fixed part (its elements) in memory, its
/// records' objects written to the spool file as they come.
///
/// # Errors
/// As [`snapshot_shards`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_snapshot_shards<'r>(
    options: SectionOptions,
    type_name: &str,
    size: StructSize,
    ordinal_limit: u32,
    populated: &[u64],
    record: impl Fn(u32) -> &'r [u8],
    state: (u32, u64),
    writer: &mut super::BlobWriter,
) -> Result<(), BlobError> {
    for_snapshot_shards(
        options,
        type_name,
        size,
        ordinal_limit,
        populated,
        record,
        state,
        |info, build| writer.add_built_section(info, build),
    )
}

/// A builder of one section into a [`SectionBuf`].
pub(super) type Build<'b> = &'b mut dyn FnMut(&mut SectionBuf<'_>) -> Result<(), BlobError>;

/// Cuts a type's snapshot into sections (see [`snapshot_shards`]) and
/// hands each, with its directory entry, to `emit`, which builds it with
/// the function it is given.
#[allow(clippy::too_many_arguments)]
fn for_snapshot_shards<'r>(
    options: SectionOptions,
    type_name: &str,
    size: StructSize,
    ordinal_limit: u32,
    populated: &[u64],
    record: impl Fn(u32) -> &'r [u8],
    state: (u32, u64),
    mut emit: impl FnMut(SectionInfo, Build<'_>) -> Result<(), BlobError>,
) -> Result<(), BlobError> {
    let per = size.data_words as u64 + size.pointers as u64;
    let ordinals = |first: u32, end: u32| ones(populated, first, end);
    let limit = options.shard_limit / 8;
    // Root pointer and struct, the bitmap, the list's tag and elements.
    let fixed = |span: u64, _n: u64| 3 + span.div_ceil(64) + 1 + span * per;
    let events = ordinals(0, ordinal_limit).map(|o| (o, object_words(record(o), per)));
    let mut cuts = cut_points(events, ordinal_limit, limit, fixed);
    cuts.push(ordinal_limit);
    let mut first = 0u32;
    for end in cuts {
        let in_range = ordinals(first, end);
        let count = in_range.clone().count() as u32;
        let info = SectionInfo {
            type_name: type_name.to_string(),
            first_ordinal: first,
            ordinal_limit: end,
            record_count: count,
            state_count: state.0,
            state_checksum: state.1,
            ..SectionInfo::default()
        };
        let mut build = |out: &mut SectionBuf<'_>| {
            let records = in_range.clone().map(|o| (o, record(o)));
            snapshot_range(options, size, first, end, populated, records, out)
        };
        emit(info, &mut build)?;
        first = end;
    }
    Ok(())
}

/// A type's delta (or reverse delta) sections: [`delta_section_with`]
/// when the change fits in `options.shard_limit` bytes (reckoned before
/// values are shared), else several sections (shards), each holding the
/// removed and added ordinals of a consecutive range of ordinals, cut
/// where the next added record would take a section past the limit; the
/// ranges cover `0..ordinal_limit` (the newer state's limit). Each comes
/// with its directory entry: `type_name`, its range, its counts, and the
/// type's `state_count` and `state_checksum` after the blob (the same in
/// every shard).
///
/// # Errors
/// As [`delta_section`]; [`BlobErrorKind::Record`]: an ordinal at or past
/// `ordinal_limit`.
pub fn delta_shards(
    options: SectionOptions,
    type_name: &str,
    size: StructSize,
    removed: &[u32],
    added: &[(u32, &[u8])],
    ordinal_limit: u32,
    state: (u32, u64),
) -> Result<Vec<(SectionInfo, Vec<u8>)>, BlobError> {
    let per = size.data_words as u64 + size.pointers as u64;
    let limit = options.shard_limit / 8;
    if let Some(&o) = removed
        .iter()
        .chain(added.iter().map(|(o, _)| o))
        .find(|&&o| o >= ordinal_limit)
    {
        return Err(bad_record(
            o,
            &format!("past the ordinal limit {ordinal_limit}"),
        ));
    }
    let info = |first: u32, end: u32, r: usize, a: usize| SectionInfo {
        first_ordinal: first,
        ..SectionInfo::delta(type_name, a as u32, r as u32, state.0, end)
    };
    let info = |first, end, r, a| SectionInfo {
        state_checksum: state.1,
        ..info(first, end, r, a)
    };
    // Every removal and addition by ordinal: (ordinal, index in `added`
    // or `usize::MAX` for a removal).
    let mut events: Vec<(u32, usize)> = removed.iter().map(|&o| (o, usize::MAX)).collect();
    events.extend(added.iter().enumerate().map(|(k, (o, _))| (*o, k)));
    events.sort_unstable();
    // Root pointer and struct, both ordinal lists (half a word an
    // ordinal, rounded up), the records' tag and elements.
    let words = |&(_, k): &(u32, usize)| match added.get(k) {
        Some((_, bytes)) => 1 + per + object_words(bytes, per),
        None => 1,
    };
    let fixed = |_span: u64, n: u64| 4 + 2 + n / 2;
    let cuts = cut_points(
        events.iter().map(|e| (e.0, words(e))),
        ordinal_limit,
        limit,
        fixed,
    );
    if cuts.is_empty() {
        let bytes = delta_section_with(options, size, removed, added)?;
        return Ok(vec![(
            info(0, ordinal_limit, removed.len(), added.len()),
            bytes,
        )]);
    }
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut first = 0u32;
    let mut rest = &events[..];
    for end in cuts.into_iter().chain([ordinal_limit]) {
        let n = rest.partition_point(|e| e.0 < end);
        let (here, next) = rest.split_at(n);
        rest = next;
        let r: Vec<u32> = here
            .iter()
            .filter(|e| e.1 == usize::MAX)
            .map(|e| e.0)
            .collect();
        let a: Vec<(u32, &[u8])> = here
            .iter()
            .filter_map(|e| added.get(e.1).copied())
            .collect();
        let bytes = delta_section_with(options, size, &r, &a)?;
        out.push((info(first, end, r.len(), a.len()), bytes));
        first = end;
    }
    Ok(out)
}

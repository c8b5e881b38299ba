//! Reading a blob in place: [`BlobView`] and the section views.

use hollow_schema::{Schema, StructSize};

use super::envelope::HeaderWire;
use super::prefix::{format_version_of, u64_at};
use super::{state_mix, BlobName};
use super::{
    BlobError, BlobErrorKind, BlobHeader, BlobKind, BlobPrefix, SectionInfo, END_MAGIC,
    FORMAT_VERSION, PREFIX_LEN, TRAILER_LEN,
};
use crate::dynamic::DynamicSchema;
use crate::wire::{
    as_le_bytes, canonical_struct_bytes, canonicalize_bounded, canonicalize_struct_within, decode,
    traversal_budget, Decoded, ElementSize, ListPosition, ReadError, StructReader, NESTING_LIMIT,
};
use crate::{hash_bytes, read_root};

/// A blob opened for reading, borrowing its bytes (a memory-mapped file, a
/// buffer): records are read in place.
///
/// [`open`](Self::open) checks everything but the sections' contents:
/// prefix, trailer, the whole-file checksum (which covers every section, so
/// section checksums are not recomputed on open; see
/// [`SectionView::verify_checksum`]), the header message and schema, and
/// that the directory's sections are 8-aligned, inside the blob, after the
/// header and not overlapping. A section's message shape is checked when its
/// [`SnapshotSectionView`] or [`DeltaSectionView`] is made.
#[derive(Clone, Debug)]
pub struct BlobView<'a> {
    name: String,
    bytes: &'a [u8],
    prefix: BlobPrefix,
    header: BlobHeader,
}

impl<'a> BlobView<'a> {
    /// Opens the blob `bytes`, called `name` in error messages (its store
    /// name, `snapshot-42`, say).
    ///
    /// # Errors
    /// A [`BlobError`] naming the blob:
    /// [`NotHollow`](BlobErrorKind::NotHollow) (no magic),
    /// [`UnsupportedVersion`](BlobErrorKind::UnsupportedVersion),
    /// [`Truncated`](BlobErrorKind::Truncated) (too short, or no end
    /// marker), [`Checksum`](BlobErrorKind::Checksum) (the bytes do not match
    /// the whole-file checksum), [`Prefix`](BlobErrorKind::Prefix),
    /// [`Header`](BlobErrorKind::Header) (unreadable header or schema, a
    /// section out of bounds, misaligned, overlapping another or the
    /// header; a type with several sections in a format version 1 blob, or
    /// whose sections (shards) do not cover consecutive ordinal ranges
    /// from 0 or disagree on its state; bytes between the header and the
    /// trailer that no section holds; a snapshot without a section for a
    /// record type of its schema; a directory entry whose counts disagree
    /// with each other or need more bytes than its section has), and
    /// [`Prefix`](BlobErrorKind::Prefix) as well when `name` is a store
    /// blob name (`snapshot-7`, `delta-6-7`, `reversedelta-7-6`) other than
    /// what the prefix holds. Never panics, whatever the bytes.
    pub fn open(name: &str, bytes: &'a [u8]) -> Result<BlobView<'a>, BlobError> {
        BlobView::open_inner(name, bytes, true)
    }

    /// Opens the blob `bytes` as [`open`](Self::open) does, but takes its
    /// whole-file checksum as already verified by the caller with
    /// [`verify_checksum_stream`] (which reads the file in pieces, so a
    /// large memory-mapped blob need not be brought into memory all at
    /// once just to be checked). Everything else is checked as by `open`;
    /// reads stay bounds-checked whatever the bytes.
    ///
    /// # Errors
    /// As [`open`](Self::open), less [`Checksum`](BlobErrorKind::Checksum).
    pub fn open_prechecked(name: &str, bytes: &'a [u8]) -> Result<BlobView<'a>, BlobError> {
        BlobView::open_inner(name, bytes, false)
    }

    fn open_inner(name: &str, bytes: &'a [u8], check: bool) -> Result<BlobView<'a>, BlobError> {
        let prefix = BlobPrefix::parse(name, bytes)?;
        let len = bytes.len();
        if len < PREFIX_LEN + TRAILER_LEN || bytes[len - 8..] != END_MAGIC {
            return Err(BlobError::new(
                BlobErrorKind::Truncated,
                name,
                format_args!(
                    "is truncated or damaged: {len} bytes without the end marker HOLLOWEN"
                ),
            ));
        }
        let body = &bytes[..len - TRAILER_LEN];
        let stored = u64_at(bytes, len - TRAILER_LEN);
        let actual = if check { hash_bytes(body) } else { stored };
        if stored != actual {
            return Err(BlobError::new(
                BlobErrorKind::Checksum,
                name,
                format_args!(
                    "is corrupt: its checksum is {stored:#018x} but its bytes hash to {actual:#018x}"
                ),
            ));
        }
        let header_bad = |what: String| BlobError::new(BlobErrorKind::Header, name, what);
        let header_end = PREFIX_LEN as u64 + prefix.header_len;
        if header_end > body.len() as u64 || prefix.header_len < 8 {
            return Err(header_bad(format!(
                "has a header length of {} bytes, which does not fit in its {len} bytes",
                prefix.header_len
            )));
        }
        let header_bytes = &body[PREFIX_LEN..header_end as usize];
        let header = read_header(header_bytes)
            .map_err(|e| header_bad(format!("has an unreadable header: {e}")))?;
        // The directory.
        let format_version = format_version_of(bytes);
        let mut spans: Vec<(u64, u64, &str)> = Vec::with_capacity(header.sections.len());
        for s in &header.sections {
            let end = s.offset.checked_add(s.length);
            let fits = matches!(end, Some(end) if end <= body.len() as u64);
            if !fits
                || s.offset < header_end
                || !s.offset.is_multiple_of(8)
                || !s.length.is_multiple_of(8)
            {
                return Err(header_bad(format!(
                    "has a section for {} at bytes {}+{}, not 8-aligned between the end of \
                     the header ({header_end}) and the trailer ({})",
                    s.type_name,
                    s.offset,
                    s.length,
                    body.len()
                )));
            }
            if format_version < FORMAT_VERSION && spans.iter().any(|(_, _, n)| *n == s.type_name) {
                return Err(header_bad(format!(
                    "has two sections for {} (format version {format_version} allows one \
                     section per record type)",
                    s.type_name
                )));
            }
            spans.push((s.offset, s.offset + s.length, &s.type_name));
        }
        spans.sort_unstable();
        for pair in spans.windows(2) {
            if pair[0].1 > pair[1].0 {
                return Err(header_bad(format!(
                    "has overlapping sections {} and {}",
                    pair[0].2, pair[1].2
                )));
            }
        }
        // The sections fill the blob between the header and the trailer,
        // one after another: a byte no section claims would be a section
        // cut short by its directory entry.
        let mut at = header_end;
        for &(start, end, type_name) in &spans {
            if start != at {
                return Err(header_bad(format!(
                    "has {} bytes at {at} before the section for {type_name} that no section \
                     holds (sections follow the header and each other with no gap)",
                    start - at
                )));
            }
            at = end;
        }
        if at != body.len() as u64 {
            return Err(header_bad(format!(
                "has {} bytes at {at} before its trailer that no section holds (the last \
                 section ends at the trailer)",
                body.len() as u64 - at
            )));
        }
        check_named(name, &prefix)?;
        check_shards(prefix.kind, &header.sections).map_err(header_bad)?;
        for s in &header.sections {
            check_counts(name, prefix.kind, &header, s)?;
        }
        if prefix.kind == BlobKind::Snapshot {
            if let Some(t) = header
                .schema
                .records()
                .find(|t| header.section(&t.name).is_none())
            {
                return Err(header_bad(format!(
                    "is a snapshot without a section for record type {} of its schema",
                    t.name
                )));
            }
        }
        Ok(BlobView {
            name: name.to_owned(),
            bytes,
            prefix,
            header,
        })
    }

    /// The name given to [`open`](Self::open).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole blob.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The prefix.
    pub fn prefix(&self) -> &BlobPrefix {
        &self.prefix
    }

    /// The blob's kind.
    pub fn kind(&self) -> BlobKind {
        self.prefix.kind
    }

    /// The header: tags, schema, directory.
    pub fn header(&self) -> &BlobHeader {
        &self.header
    }

    /// The (first) section of `type_name`, if the blob has one: its only
    /// one unless the type is in several sections (shards, see
    /// [`shards`](Self::shards)).
    pub fn section(&self, type_name: &str) -> Option<SectionView<'a, '_>> {
        self.header
            .sections
            .iter()
            .find(|s| s.type_name == type_name)
            .map(|info| self.section_view(info))
    }

    /// Every section of `type_name` (its shards, ascending ordinal ranges;
    /// one for a type in one section, none for a type without one).
    pub fn shards<'v>(&'v self, type_name: &'v str) -> impl Iterator<Item = SectionView<'a, 'v>> {
        self.header
            .sections
            .iter()
            .filter(move |s| s.type_name == type_name)
            .map(|info| self.section_view(info))
    }

    /// The deep check of every section ([`SectionView::check_records`]),
    /// adding up the records of a type in several sections (shards) and
    /// comparing their count and state checksum with the type's.
    ///
    /// # Errors
    /// What [`SectionView::check_records`] finds; for a sharded type,
    /// [`BlobErrorKind::Records`] when its sections' records do not add up
    /// to its `stateCount` and `stateChecksum`.
    pub fn check_records(&self) -> Result<(), BlobError> {
        let mut sums: Vec<(&str, u64, u64)> = Vec::new();
        for sv in self.sections() {
            let (count, checksum) = sv.record_sums()?;
            match sums.iter_mut().find(|(n, _, _)| *n == sv.type_name()) {
                Some((_, c, k)) => {
                    *c += count;
                    *k = k.wrapping_add(checksum);
                }
                None => sums.push((sv.type_name(), count, checksum)),
            }
        }
        if self.kind().is_delta() {
            return Ok(());
        }
        for (name, count, checksum) in sums {
            let Some(info) = self.header.section(name) else {
                continue;
            };
            if count != info.state_count as u64 || checksum != info.state_checksum {
                return Err(BlobError::new(
                    BlobErrorKind::Records,
                    &self.name,
                    format_args!(
                        "has sections for {name} whose records add up to {count} records with \
                         checksum {checksum:016x}, but its stateCount is {} and its \
                         stateChecksum {:016x}",
                        info.state_count, info.state_checksum
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Every section, in directory order.
    pub fn sections(&self) -> impl Iterator<Item = SectionView<'a, '_>> {
        self.header
            .sections
            .iter()
            .map(|info| self.section_view(info))
    }

    fn section_view<'v>(&'v self, info: &'v SectionInfo) -> SectionView<'a, 'v> {
        // Bounds checked by `open`.
        let bytes = &self.bytes[info.offset as usize..(info.offset + info.length) as usize];
        let shards = self
            .header
            .sections
            .iter()
            .filter(|s| s.type_name == info.type_name)
            .count();
        SectionView {
            blob: &self.name,
            kind: self.prefix.kind,
            info,
            whole: shards == 1,
            size: self
                .header
                .schema
                .get_struct(&info.type_name)
                .map(|t| t.size),
            schema: &self.header.schema,
            bytes,
        }
    }
}

/// Checks the whole-file checksum of the blob called `name`, `len` bytes
/// read from `reader` (a file, say) in pieces: what [`BlobView::open`]
/// checks first, without holding the blob in memory. Pair it with
/// [`BlobView::open_prechecked`] over a memory map of the same bytes.
///
/// # Errors
/// [`BlobErrorKind::Truncated`]: shorter than a prefix and trailer, or no
/// end marker; [`BlobErrorKind::Checksum`]: the bytes do not hash to the
/// stored checksum; [`BlobErrorKind::Header`] wrapping an I/O error.
pub fn verify_checksum_stream(
    name: &str,
    mut reader: impl std::io::Read,
    len: u64,
) -> Result<(), BlobError> {
    let io = |e: std::io::Error| {
        BlobError::new(
            BlobErrorKind::Truncated,
            name,
            format_args!("cannot be read: {e}"),
        )
    };
    if len < (PREFIX_LEN + TRAILER_LEN) as u64 {
        return Err(BlobError::new(
            BlobErrorKind::Truncated,
            name,
            format_args!("is truncated or damaged: {len} bytes without the end marker HOLLOWEN"),
        ));
    }
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut left = len - TRAILER_LEN as u64;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        reader.read_exact(&mut buf[..n]).map_err(io)?;
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    let mut trailer = [0u8; TRAILER_LEN];
    reader.read_exact(&mut trailer).map_err(io)?;
    if trailer[8..] != END_MAGIC {
        return Err(BlobError::new(
            BlobErrorKind::Truncated,
            name,
            format_args!("is truncated or damaged: {len} bytes without the end marker HOLLOWEN"),
        ));
    }
    let stored = u64_at(&trailer, 0);
    let actual = hasher.digest();
    if stored != actual {
        return Err(BlobError::new(
            BlobErrorKind::Checksum,
            name,
            format_args!(
                "is corrupt: its checksum is {stored:#018x} but its bytes hash to {actual:#018x}"
            ),
        ));
    }
    Ok(())
}

/// When `name` is a store blob name (`snapshot-7`, `delta-6-7`,
/// `reversedelta-7-6`), checks that the prefix holds what it says: a blob
/// renamed, or another version's blob copied under this name, is refused.
fn check_named(name: &str, p: &BlobPrefix) -> Result<(), BlobError> {
    let Ok(named) = name.parse::<BlobName>() else {
        return Ok(());
    };
    let expected = (named.kind(), named.from_version(), named.to_version());
    if (p.kind, p.from_version, p.to_version) == expected {
        return Ok(());
    }
    Err(BlobError::new(
        BlobErrorKind::Prefix,
        name,
        format_args!(
            "holds a {} from version {} to {}, not what its name says",
            p.kind, p.from_version, p.to_version
        ),
    ))
}

/// Checks a directory entry's counts against each other and against the
/// section's length, before any of them sizes a table: every ordinal the
/// section names is below its `ordinalLimit`, so a limit or count implies
/// lists that must fit in the section's own bytes.
fn check_counts(
    name: &str,
    kind: BlobKind,
    header: &BlobHeader,
    s: &SectionInfo,
) -> Result<(), BlobError> {
    let bad = |field: &str, what: String| {
        BlobError::new(
            BlobErrorKind::Header,
            name,
            format_args!("has a section for {} whose {field} {what}", s.type_name),
        )
    };
    // Checked by `read_header`: the type is a struct of the schema.
    let per = header
        .schema
        .get_struct(&s.type_name)
        .map_or(0, |t| t.size.data_words as u64 + t.size.pointers as u64);
    let words = s.length / 8;
    // The ordinals of the section's range (checked by `check_shards`: the
    // first is not past the limit).
    let limit = s.ordinal_limit.saturating_sub(s.first_ordinal);
    let need = if kind == BlobKind::Snapshot {
        if s.removed_count != 0 {
            return Err(bad(
                "removedCount",
                format!("is {}, not 0 as in a snapshot", s.removed_count),
            ));
        }
        // Root pointer and struct, the bitmap, the list's tag and elements.
        3 + (limit as u64).div_ceil(64) + u64::from(limit > 0) * (1 + limit as u64 * per)
    } else {
        if s.removed_count > limit {
            return Err(bad(
                "removedCount",
                format!(
                    "{} is more than its ordinal range of {limit} allows",
                    s.removed_count
                ),
            ));
        }
        let added = s.record_count as u64;
        // Root pointer and struct, both ordinal lists, the records' tag and
        // elements.
        4 + (s.removed_count as u64).div_ceil(2)
            + added.div_ceil(2)
            + u64::from(added > 0) * (1 + added * per)
    };
    if s.record_count > limit {
        return Err(bad(
            "recordCount",
            format!(
                "{} is more than its ordinal range of {limit} allows",
                s.record_count
            ),
        ));
    }
    if need > words {
        return Err(bad(
            if kind == BlobKind::Snapshot {
                "ordinalLimit"
            } else {
                "recordCount"
            },
            format!(
                "needs at least {need} words of lists, more than the section's {words} words \
                 (ordinals {}..{}, recordCount {}, removedCount {})",
                s.first_ordinal, s.ordinal_limit, s.record_count, s.removed_count
            ),
        ));
    }
    Ok(())
}

/// Checks the directory's shard table: each record type's sections, in
/// directory order, cover consecutive ordinal ranges
/// `[firstOrdinal, ordinalLimit)`, the first from 0 and each next one
/// from where the previous ends (no range missing, none overlapping), a
/// type with several sections having no empty one; every section of a type
/// states the type's `stateCount` and `stateChecksum` (the same values),
/// `stateCount` is not more than the type's ordinal limit (its last
/// section's), and in a snapshot the sections' `recordCount`s add up to
/// it. Gives what is wrong, naming the type and the section (by its index
/// among the type's sections).
pub(crate) fn check_shards(kind: BlobKind, sections: &[SectionInfo]) -> Result<(), String> {
    let mut seen: Vec<&str> = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        let name = s.type_name.as_str();
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let shards: Vec<&SectionInfo> = sections[i..]
            .iter()
            .filter(|x| x.type_name == name)
            .collect();
        let several = shards.len() > 1;
        let mut at = 0u32;
        let mut records = 0u64;
        for (j, x) in shards.iter().enumerate() {
            if x.first_ordinal != at {
                let why = if j == 0 {
                    "the first section must start at ordinal 0".to_string()
                } else if x.first_ordinal > at {
                    format!("ordinals {at}..{} are in no section", x.first_ordinal)
                } else {
                    format!("it overlaps section {} (which ends at ordinal {at})", j - 1)
                };
                return Err(format!(
                    "has sections for {name} whose ordinal ranges do not follow each other: \
                     section {j} of {name} starts at ordinal {} ({why})",
                    x.first_ordinal
                ));
            }
            if x.ordinal_limit < x.first_ordinal || (several && x.ordinal_limit == x.first_ordinal)
            {
                return Err(format!(
                    "has section {j} of {name} with the ordinal range {}..{}, which is {}",
                    x.first_ordinal,
                    x.ordinal_limit,
                    if x.ordinal_limit < x.first_ordinal {
                        "reversed"
                    } else {
                        "empty (only a type's one section may be)"
                    }
                ));
            }
            if (x.state_count, x.state_checksum) != (s.state_count, s.state_checksum) {
                return Err(format!(
                    "has sections for {name} that disagree on its state: section {j} states \
                     {} records with checksum {:016x}, section 0 {} with {:016x}",
                    x.state_count, x.state_checksum, s.state_count, s.state_checksum
                ));
            }
            at = x.ordinal_limit;
            records += u64::from(x.record_count);
        }
        if s.state_count > at {
            return Err(format!(
                "has a section for {name} whose stateCount {} is more than its ordinalLimit \
                 {at} allows",
                s.state_count
            ));
        }
        if kind == BlobKind::Snapshot && records != u64::from(s.state_count) {
            return Err(format!(
                "has a section for {name} whose recordCount {records}{} differs from its \
                 stateCount {} (a snapshot holds its whole state)",
                if several { " (over its sections)" } else { "" },
                s.state_count
            ));
        }
    }
    Ok(())
}

/// Reads and validates the header message.
pub(super) fn read_header(bytes: &[u8]) -> Result<BlobHeader, String> {
    // Follows every pointer within the traversal limits first, so reading
    // the header cannot be made to amplify. Elements of zero-sized structs
    // take no bytes whatever their number, and decoding the header makes a
    // value of each: no more of them than the header has words.
    let mut scratch = Vec::new();
    canonicalize_bounded(bytes, &mut scratch, bytes.len() as u64 / 8).map_err(|e| e.to_string())?;
    let r = read_root::<HeaderWire>(bytes).map_err(|e| e.to_string())?;
    let wire = r.to_value().map_err(|e| e.to_string())?;
    let header = BlobHeader::from_wire(wire)?;
    hollow_schema::validate(&header.schema).map_err(|e| format!("invalid schema: {e}"))?;
    for s in &header.sections {
        if header.schema.get_struct(&s.type_name).is_none() {
            return Err(format!(
                "the directory names {}, which is not a struct of the schema",
                s.type_name
            ));
        }
    }
    Ok(header)
}

/// One section of a [`BlobView`]: its directory entry and bytes.
#[derive(Clone, Copy, Debug)]
pub struct SectionView<'a, 'v> {
    blob: &'v str,
    kind: BlobKind,
    info: &'v SectionInfo,
    /// Whether this is its type's only section (else one of its shards).
    whole: bool,
    /// The record type's full section sizes in the blob's schema.
    size: Option<StructSize>,
    /// The blob's schema.
    schema: &'v Schema,
    bytes: &'a [u8],
}

impl<'a, 'v> SectionView<'a, 'v> {
    /// The directory entry.
    pub fn info(&self) -> &'v SectionInfo {
        self.info
    }

    /// The record type's name.
    pub fn type_name(&self) -> &'v str {
        &self.info.type_name
    }

    /// The section message's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Whether this is its type's only section in the blob (else one of
    /// several, shards by ordinal range).
    pub fn is_whole(&self) -> bool {
        self.whole
    }

    /// The section's ordinal range, `first_ordinal..ordinal_limit` of its
    /// directory entry.
    pub fn ordinal_range(&self) -> std::ops::Range<u32> {
        self.info.first_ordinal..self.info.ordinal_limit
    }

    /// How the section is named in messages: its type, and which of the
    /// type's ordinals it holds when the type has several sections.
    fn what(&self) -> String {
        if self.whole {
            self.info.type_name.clone()
        } else {
            format!(
                "{} (ordinals {}..{})",
                self.info.type_name, self.info.first_ordinal, self.info.ordinal_limit
            )
        }
    }

    fn error(&self, what: impl std::fmt::Display) -> BlobError {
        BlobError::new(
            BlobErrorKind::Section,
            self.blob,
            format_args!("has a malformed section for {}: {what}", self.what()),
        )
    }

    /// Recomputes the section's checksum and compares it with the
    /// directory's. [`BlobView::open`] already checked the whole-file
    /// checksum, which covers the section; this is for a section read on
    /// its own.
    ///
    /// # Errors
    /// [`BlobErrorKind::Checksum`] when they differ.
    pub fn verify_checksum(&self) -> Result<(), BlobError> {
        let actual = hash_bytes(self.bytes);
        if actual == self.info.checksum {
            Ok(())
        } else {
            Err(BlobError::new(
                BlobErrorKind::Checksum,
                self.blob,
                format_args!(
                    "has a corrupt section for {}: checksum {:#018x}, bytes hash to {actual:#018x}",
                    self.what(),
                    self.info.checksum
                ),
            ))
        }
    }

    /// The deep check of a section: reads every record, and for a snapshot
    /// recomputes the type's record count and state checksum
    /// (`docs/blob-format.md`, "State checksum") and compares them with
    /// the directory's `stateCount` and `stateChecksum`. (A delta's state
    /// checksum depends on the state it applies to: its records are only
    /// read here, and applying it checks the sums.) Every map and set of a
    /// record must be stored sorted by key without repeats
    /// ([`DynRecord::check_order`](crate::dynamic::DynRecord::check_order)).
    /// Costs a read of every record. One of a type's several sections
    /// (shards) holds part of its state: its records are read and checked
    /// but their sums are not compared ([`BlobView::check_records`] adds
    /// up the sections of a type and compares them).
    ///
    /// # Errors
    /// What [`snapshot`](Self::snapshot) or [`delta`](Self::delta) finds,
    /// and [`BlobErrorKind::Records`]: a record that cannot be read (a
    /// pointer outside the section, past the traversal limits), a map or
    /// set out of order or repeating a key (naming the ordinal, type and
    /// field), or records that do not add up to the directory's count and
    /// checksum.
    pub fn check_records(&self) -> Result<(), BlobError> {
        let (count, checksum) = self.record_sums()?;
        if self.whole
            && !self.kind.is_delta()
            && (count != self.info.state_count as u64 || checksum != self.info.state_checksum)
        {
            return Err(BlobError::new(
                BlobErrorKind::Records,
                self.blob,
                format_args!(
                    "has a section for {} whose records add up to {count} records with \
                     checksum {checksum:016x}, but its stateCount is {} and its stateChecksum \
                     {:016x}",
                    self.info.type_name, self.info.state_count, self.info.state_checksum
                ),
            ));
        }
        Ok(())
    }

    /// Reads every record of the section as [`check_records`](Self::check_records)
    /// does, giving a snapshot section's record count and its part of the
    /// type's state checksum (a delta's: the records it adds, and 0).
    ///
    /// # Errors
    /// As [`check_records`](Self::check_records), but for the sums.
    pub fn record_sums(&self) -> Result<(u64, u64), BlobError> {
        let records = |what: String| {
            BlobError::new(
                BlobErrorKind::Records,
                self.blob,
                format_args!("has a section for {} whose {what}", self.what()),
            )
        };
        let order = DynamicSchema::for_order_check(self.schema)
            .map_err(|e| records(format!("maps and sets cannot be checked: {e}")))?;
        let ordered = order
            .as_ref()
            .and_then(|d| Some((d, d.ordered_type(&self.info.type_name)?)));
        // The maps and sets of a record, read from its canonical bytes.
        let check_order = |bytes: &[u8]| match ordered {
            Some((d, t)) => StructReader::root(bytes)
                .map_err(|e| e.to_string())
                .and_then(|r| d.record(t, r).check_order().map_err(|e| e.to_string())),
            None => Ok(()),
        };
        // Every record's walk draws on one budget for the section: records
        // sharing values (`docs/blob-format.md`, "Shared values") cannot
        // make the check read more than the section's size justifies.
        let mut budget = traversal_budget(self.bytes.len() as u64 / 8);
        let mut words = Vec::new();
        if !self.kind.is_delta() {
            let view = self.snapshot()?;
            let (mut count, mut checksum) = (0u64, 0u64);
            for o in view.ordinals() {
                let r = view.records.element(view.seg, o - view.first);
                let bytes = canonical(&r, &mut words, &mut budget).map_err(|e| {
                    records(format!(
                        "record at ordinal {o} cannot be read: {}",
                        walk_error(e)
                    ))
                })?;
                check_order(bytes)
                    .map_err(|e| records(format!("record at ordinal {o} is damaged: {e}")))?;
                count += 1;
                checksum = checksum.wrapping_add(state_mix(o, hash_bytes(bytes)));
            }
            Ok((count, checksum))
        } else {
            let view = self.delta()?;
            let mut count = 0u64;
            for (o, r) in view.added() {
                count += 1;
                let bytes = canonical(&r, &mut words, &mut budget).map_err(|e| {
                    records(format!(
                        "record added at ordinal {o} cannot be read: {}",
                        walk_error(e)
                    ))
                })?;
                check_order(bytes)
                    .map_err(|e| records(format!("record added at ordinal {o} is damaged: {e}")))?;
            }
            Ok((count, 0))
        }
    }

    /// The root struct's pointer `i`, decoded (`None` for null).
    fn list(
        &self,
        root: (usize, u16, u16),
        i: u16,
        what: &str,
    ) -> Result<Option<ListAt>, BlobError> {
        let (start, dw, pc) = root;
        if i >= pc {
            return Ok(None);
        }
        match decode(self.bytes, start + dw as usize + i as usize) {
            Ok(Decoded::Null) => Ok(None),
            Ok(Decoded::List {
                start,
                size,
                count,
                data_words,
                pointers,
            }) => Ok(Some(ListAt {
                start,
                size,
                count,
                data_words,
                pointers,
            })),
            Ok(Decoded::Struct { .. }) => Err(self.error(format_args!("{what} is not a list"))),
            Err(e) => Err(self.error(format_args!("{what}: {e}"))),
        }
    }

    fn root(&self) -> Result<(usize, u16, u16), BlobError> {
        if self.bytes.len() < 8 {
            return Err(self.error(ReadError::Truncated));
        }
        match decode(self.bytes, 0) {
            Ok(Decoded::Struct {
                start,
                data_words,
                pointers,
            }) => Ok((start, data_words, pointers)),
            Ok(_) => Err(self.error("the root is not a struct")),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Checks that a records list's elements have the record type's full
    /// section sizes, as the format requires (a smaller element would read
    /// its missing fields as defaults).
    fn check_element_size(&self, records: &ListAt) -> Result<(), BlobError> {
        let Some(size) = self.size else {
            return Ok(());
        };
        if records.count > 0
            && (records.data_words, records.pointers) != (size.data_words, size.pointers)
        {
            return Err(self.error(format_args!(
                "records' elements have {} data words and {} pointers, but the schema's {} \
                 has {} and {}",
                records.data_words,
                records.pointers,
                self.info.type_name,
                size.data_words,
                size.pointers
            )));
        }
        Ok(())
    }

    /// Checks that the ordinals of a delta's `removed` or `added` list are
    /// below the section's `ordinalLimit` and given once each (`scratch`
    /// is reused between calls).
    fn check_ordinals(
        &self,
        list: &ListAt,
        what: &str,
        scratch: &mut Vec<u32>,
    ) -> Result<(), BlobError> {
        let (first, limit) = (self.info.first_ordinal, self.info.ordinal_limit);
        scratch.clear();
        scratch.extend((0..list.count).map(|i| list.u32_at(self.bytes, i)));
        if let Some(o) = scratch.iter().find(|&&o| o >= limit) {
            return Err(self.error(format_args!(
                "{what} ordinal {o} is not below its ordinalLimit {limit}"
            )));
        }
        if let Some(o) = scratch.iter().find(|&&o| o < first) {
            return Err(self.error(format_args!(
                "{what} ordinal {o} is below its firstOrdinal {first}"
            )));
        }
        scratch.sort_unstable();
        if let Some(pair) = scratch.windows(2).find(|p| p[0] == p[1]) {
            return Err(self.error(format_args!("{what} ordinal {} is listed twice", pair[0])));
        }
        Ok(())
    }

    /// The section as a snapshot section.
    ///
    /// # Errors
    /// [`BlobErrorKind::Section`]: the blob is not a snapshot, or the
    /// message's root is not a struct whose `populated` is a `List(UInt64)`
    /// of `ceil(ordinalLimit / 64)` words and whose `records` is a struct
    /// list of `ordinalLimit` elements of the record type's full sizes
    /// (both may be null when the limit is 0), `ordinalLimit` being the
    /// directory's; or `populated` has a bit set at or past the limit, or
    /// a number of bits set other than the directory's `recordCount`.
    pub fn snapshot(&self) -> Result<SnapshotSectionView<'a>, BlobError> {
        if self.kind != BlobKind::Snapshot {
            return Err(self.error(format_args!("a {} has no snapshot sections", self.kind)));
        }
        let root = self.root()?;
        // The ordinals of the section's range (`BlobView::open` checked
        // that the first is not past the limit).
        let first = self.info.first_ordinal;
        let limit = self.info.ordinal_limit.saturating_sub(first);
        let populated = self.list(root, 0, "populated")?;
        let records = self.list(root, 1, "records")?;
        let words = limit.div_ceil(64);
        let populated = match populated {
            None if limit == 0 => ListAt::EMPTY,
            Some(l) if l.size == ElementSize::EightBytes && l.count == words => l,
            Some(l) if l.count == 0 && limit == 0 => l,
            _ => {
                return Err(self.error(format_args!(
                    "populated is not a List(UInt64) of {words} words"
                )))
            }
        };
        let records = match records {
            None if limit == 0 => ListAt::EMPTY,
            Some(l) if l.size == ElementSize::InlineComposite && l.count == limit => l,
            _ => {
                return Err(self.error(format_args!(
                    "records is not a struct list of {limit} elements"
                )))
            }
        };
        self.check_element_size(&records)?;
        // The bitmap against the directory: a popcount, no record read.
        let bitmap = populated.start * 8..(populated.start + words as usize) * 8;
        let bitmap = self.bytes.get(bitmap).unwrap_or(&[]);
        let mut count = 0u64;
        let mut last = 0u64;
        for w in bitmap.chunks_exact(8) {
            last = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
            count += last.count_ones() as u64;
        }
        if !limit.is_multiple_of(64) && last >> (limit % 64) != 0 {
            return Err(self.error(format_args!(
                "populated has bits set at or past its ordinalLimit {}",
                self.info.ordinal_limit
            )));
        }
        if count != self.info.record_count as u64 {
            return Err(self.error(format_args!(
                "populated has {count} ordinals set, but its recordCount is {}",
                self.info.record_count
            )));
        }
        Ok(SnapshotSectionView {
            seg: self.bytes,
            first,
            populated,
            records,
        })
    }

    /// The section as a delta (or reverse delta) section.
    ///
    /// # Errors
    /// [`BlobErrorKind::Section`]: the blob is a snapshot, or the message's
    /// root is not a struct whose `removed` and `added` are `List(UInt32)`s
    /// of the directory's removedCount and recordCount elements and whose
    /// `records` is a struct list as long as `added`, of the record type's
    /// full sizes (empty lists may be null); or an ordinal of `removed` or
    /// `added` is not below the directory's `ordinalLimit`, or is listed
    /// twice in its list.
    pub fn delta(&self) -> Result<DeltaSectionView<'a>, BlobError> {
        if !self.kind.is_delta() {
            return Err(self.error("a snapshot has no delta sections"));
        }
        let root = self.root()?;
        let u32s = |i: u16, what: &str, n: u32| -> Result<ListAt, BlobError> {
            match self.list(root, i, what)? {
                None if n == 0 => Ok(ListAt::EMPTY),
                Some(l) if l.count == n && (n == 0 || l.size == ElementSize::FourBytes) => Ok(l),
                _ => Err(self.error(format_args!("{what} is not a List(UInt32) of {n} elements"))),
            }
        };
        let removed = u32s(0, "removed", self.info.removed_count)?;
        let added = u32s(1, "added", self.info.record_count)?;
        let n = self.info.record_count;
        let records = match self.list(root, 2, "records")? {
            None if n == 0 => ListAt::EMPTY,
            Some(l) if l.count == n && (n == 0 || l.size == ElementSize::InlineComposite) => l,
            _ => {
                return Err(self.error(format_args!("records is not a struct list of {n} elements")))
            }
        };
        if n > 0 {
            self.check_element_size(&records)?;
        }
        let mut scratch = Vec::new();
        self.check_ordinals(&removed, "removed", &mut scratch)?;
        self.check_ordinals(&added, "added", &mut scratch)?;
        Ok(DeltaSectionView {
            seg: self.bytes,
            removed,
            added,
            records,
        })
    }
}

/// The canonical bytes of the record `r`, its walk drawing on `budget`.
fn canonical<'w>(
    r: &StructReader<'_>,
    words: &'w mut Vec<u64>,
    budget: &mut u64,
) -> Result<&'w [u8], ReadError> {
    canonicalize_struct_within(r, words, budget)?;
    Ok(as_le_bytes(words))
}

/// A record walk's error, said for a reader of a section: running out of
/// the traversal limits is what a pointer loop, or values shared more than
/// a section's size justifies, come to.
fn walk_error(e: ReadError) -> String {
    match e {
        ReadError::LimitExceeded => format!(
            "{e} (its pointers loop, nest too deep, or lead to more than the section's size \
             justifies reading)"
        ),
        e => e.to_string(),
    }
}

/// A decoded list in a section (bounds checked by `decode`).
#[derive(Clone, Copy, Debug)]
struct ListAt {
    start: usize,
    size: ElementSize,
    count: u32,
    data_words: u16,
    pointers: u16,
}

impl ListAt {
    /// The same list as a position for long-lived readers.
    fn position(&self) -> ListPosition {
        ListPosition::new(
            self.start,
            self.size,
            self.count,
            self.data_words,
            self.pointers,
        )
    }

    const EMPTY: ListAt = ListAt {
        start: 0,
        size: ElementSize::Void,
        count: 0,
        data_words: 0,
        pointers: 0,
    };

    fn u32_at(&self, seg: &[u8], i: u32) -> u32 {
        let p = self.start * 8 + i as usize * 4;
        match seg.get(p..p + 4) {
            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            None => 0,
        }
    }

    fn element_start(&self, i: u32) -> usize {
        self.start + i as usize * (self.data_words as usize + self.pointers as usize)
    }

    /// Struct element `i` (< count), read as a record's root would be.
    fn element<'a>(&self, seg: &'a [u8], i: u32) -> StructReader<'a> {
        StructReader::at(
            seg,
            self.element_start(i),
            self.data_words,
            self.pointers,
            NESTING_LIMIT - 1,
        )
    }

    fn canonical(&self, seg: &[u8], i: u32, out: &mut Vec<u8>) -> Result<(), ReadError> {
        canonical_struct_bytes(&self.element(seg, i), out)
    }
}

/// A snapshot section: records indexed by ordinal, read in place.
#[derive(Clone, Copy, Debug)]
pub struct SnapshotSectionView<'a> {
    seg: &'a [u8],
    /// The first ordinal of the section's range: element `i` of `records`
    /// and bit `i` of `populated` are ordinal `first + i`.
    first: u32,
    populated: ListAt,
    records: ListAt,
}

impl<'a> SnapshotSectionView<'a> {
    /// Where the bitmap and the records list are (for read states, which
    /// outlive the view).
    pub(crate) fn positions(&self) -> (ListPosition, ListPosition) {
        (self.populated.position(), self.records.position())
    }

    /// The end of the section's ordinal range: one more than the largest
    /// ordinal it may hold (the length of the records list for a type's
    /// only section, which starts at 0).
    pub fn ordinal_limit(&self) -> u32 {
        self.first + self.records.count
    }

    /// The first ordinal of the section's range (0 but in the second and
    /// later sections of a type in several).
    pub fn first_ordinal(&self) -> u32 {
        self.first
    }

    /// Whether `ordinal` holds a record in this section (`false` outside
    /// its range).
    #[inline]
    pub fn populated(&self, ordinal: u32) -> bool {
        let Some(i) = ordinal.checked_sub(self.first) else {
            return false;
        };
        if i >= self.records.count {
            return false;
        }
        let p = self.populated.start * 8 + (i / 8) as usize;
        // In bounds: `populated` has ceil(count / 64) words (checked).
        self.seg.get(p).is_some_and(|b| b >> (i % 8) & 1 == 1)
    }

    /// The populated ordinals, ascending.
    pub fn ordinals(&self) -> impl Iterator<Item = u32> + '_ {
        (self.first..self.ordinal_limit()).filter(|&o| self.populated(o))
    }

    /// The record at `ordinal` (wrap it with `T::wrap`), or `None` when the
    /// ordinal is not populated here. O(1).
    #[inline]
    pub fn record_reader(&self, ordinal: u32) -> Option<StructReader<'a>> {
        if self.populated(ordinal) {
            Some(self.records.element(self.seg, ordinal - self.first))
        } else {
            None
        }
    }

    /// Writes the canonical bytes of the record at `ordinal` into `out`
    /// (the bytes the producer hashed; [`hash_bytes`] of them is the
    /// record's hash). Returns `false` (and leaves `out` empty) when the
    /// ordinal is not populated.
    ///
    /// # Errors
    /// The record's pointers are out of bounds or exceed the limits.
    pub fn canonical_bytes(&self, ordinal: u32, out: &mut Vec<u8>) -> Result<bool, ReadError> {
        out.clear();
        if !self.populated(ordinal) {
            return Ok(false);
        }
        self.records
            .canonical(self.seg, ordinal - self.first, out)?;
        Ok(true)
    }
}

/// A delta or reverse delta section: removed ordinals and added records.
#[derive(Clone, Copy, Debug)]
pub struct DeltaSectionView<'a> {
    seg: &'a [u8],
    removed: ListAt,
    added: ListAt,
    records: ListAt,
}

impl<'a> DeltaSectionView<'a> {
    /// Where the removed, added and records lists are (for read states,
    /// which outlive the view).
    pub(crate) fn positions(&self) -> (ListPosition, ListPosition, ListPosition) {
        (
            self.removed.position(),
            self.added.position(),
            self.records.position(),
        )
    }

    /// Number of removed ordinals.
    pub fn removed_len(&self) -> u32 {
        self.removed.count
    }

    /// Number of added records.
    pub fn added_len(&self) -> u32 {
        self.added.count
    }

    /// The removed ordinals, in the order written.
    pub fn removed(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        let (seg, l) = (self.seg, self.removed);
        (0..l.count).map(move |i| l.u32_at(seg, i))
    }

    /// The added ordinals, in the order written.
    pub fn added_ordinals(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        let (seg, l) = (self.seg, self.added);
        (0..l.count).map(move |i| l.u32_at(seg, i))
    }

    /// The added ordinals with their records, in the order written.
    pub fn added(&self) -> impl ExactSizeIterator<Item = (u32, StructReader<'a>)> + 'a {
        let (seg, a, r) = (self.seg, self.added, self.records);
        (0..a.count).map(move |i| (a.u32_at(seg, i), r.element(seg, i)))
    }

    /// Writes the canonical bytes of the `i`-th added record into `out`.
    ///
    /// # Errors
    /// `i` is not below [`added_len`](Self::added_len)
    /// ([`ReadError::OutOfBounds`]), or the record's pointers are out of
    /// bounds or exceed the limits.
    pub fn canonical_bytes(&self, i: u32, out: &mut Vec<u8>) -> Result<(), ReadError> {
        out.clear();
        if i >= self.records.count {
            return Err(ReadError::OutOfBounds);
        }
        self.records.canonical(self.seg, i, out)
    }
}

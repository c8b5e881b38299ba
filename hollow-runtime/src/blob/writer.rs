//! [`BlobWriter`]: assembling prefix, header, sections and trailer.

use std::io::{self, Write};

use hollow_schema::Schema;
use xxhash_rust::xxh3::Xxh3Default;

use super::envelope::HeaderWire;
use super::{
    BlobError, BlobErrorKind, BlobHeader, BlobKind, BlobPrefix, SectionInfo, END_MAGIC, PREFIX_LEN,
    TRAILER_LEN,
};
use crate::{hash_bytes, Encoder};

/// Assembles a blob from its sections.
///
/// ```
/// use hollow_runtime::blob::{BlobKind, BlobView, BlobWriter};
///
/// let w = BlobWriter::new(BlobKind::Delta, 3, 4, 0xaaaa, 0xbbbb);
/// let bytes = w.finish(&hollow_runtime::schema::Schema::new(), &[]).unwrap();
/// let view = BlobView::open("delta-3-4", &bytes).unwrap();
/// assert_eq!(view.prefix().from_tag, 0xaaaa);
/// assert!(view.header().sections.is_empty());
/// ```
#[derive(Debug)]
pub struct BlobWriter {
    prefix: BlobPrefix,
    sections: Vec<(SectionInfo, Vec<u8>)>,
}

/// Zero bytes for padding.
const ZEROS: [u8; 8] = [0; 8];

impl BlobWriter {
    /// A blob of `kind` taking the state `from_version`/`from_tag` to
    /// `to_version`/`to_tag` (for a snapshot: `from_version == to_version`
    /// and `from_tag == 0`, which [`finish`](Self::finish) checks).
    pub fn new(
        kind: BlobKind,
        from_version: u64,
        to_version: u64,
        from_tag: u64,
        to_tag: u64,
    ) -> Self {
        BlobWriter {
            prefix: BlobPrefix {
                kind,
                from_version,
                to_version,
                from_tag,
                to_tag,
                header_len: 0,
            },
            sections: Vec::new(),
        }
    }

    /// Adds a section (built by [`snapshot_section`](super::snapshot_section)
    /// or [`delta_section`](super::delta_section) to match the blob's kind).
    /// `info`'s offset, length and checksum are set here; its counts are
    /// the caller's. Sections are written in the order they are added.
    pub fn add_section(&mut self, mut info: SectionInfo, bytes: Vec<u8>) {
        info.offset = 0;
        info.length = bytes.len() as u64;
        info.checksum = hash_bytes(&bytes);
        self.sections.push((info, bytes));
    }

    /// The format version the blob is written as: 2 when a record type
    /// has several sections (shards), else 1, which readers that know only
    /// version 1 read.
    fn format_version(&self) -> u32 {
        let sharded = self.sections.iter().enumerate().any(|(i, (a, _))| {
            self.sections[..i]
                .iter()
                .any(|(b, _)| b.type_name == a.type_name)
        });
        if sharded {
            super::FORMAT_VERSION
        } else {
            super::FORMAT_VERSION_ONE_SECTION
        }
    }

    /// The finished prefix and header bytes (offsets assigned).
    fn layout(
        &self,
        schema: &Schema,
        tags: &[(String, String)],
    ) -> Result<(BlobPrefix, Vec<u8>), BlobError> {
        let p = &self.prefix;
        if p.kind == BlobKind::Snapshot && (p.from_version != p.to_version || p.from_tag != 0) {
            return Err(BlobError::building(
                BlobErrorKind::Prefix,
                format!(
                    "a snapshot must have from_version = to_version and from_tag 0 \
                     (got {} / {} and {:#x})",
                    p.from_version, p.to_version, p.from_tag
                ),
            ));
        }
        let mut header = BlobHeader {
            tags: tags.to_vec(),
            schema: schema.clone(),
            sections: self.sections.iter().map(|(i, _)| i.clone()).collect(),
        };
        // A type in several sections (shards) must cover its ordinals in
        // consecutive ranges, as readers check.
        super::reader::check_shards(p.kind, &header.sections)
            .map_err(|e| BlobError::building(BlobErrorKind::Header, e))?;
        let mut wire: HeaderWire = header.to_wire();
        let mut enc = Encoder::new();
        // Offsets depend on the header's length, which (canonical form
        // strips zero words) may depend on the offsets: iterate to a fixed
        // point (two rounds in practice).
        let mut header_len = 0u64;
        for _ in 0..8 {
            let mut at = PREFIX_LEN as u64 + header_len;
            for (s, w) in header.sections.iter_mut().zip(&mut wire.sections) {
                s.offset = at;
                w.offset = at;
                at += s.length.next_multiple_of(8);
            }
            let bytes = enc.encode(&wire).map_err(|e| {
                BlobError::building(
                    BlobErrorKind::Header,
                    format!("cannot encode the header: {e}"),
                )
            })?;
            if bytes.len() as u64 == header_len {
                let prefix = BlobPrefix {
                    header_len,
                    ..self.prefix
                };
                return Ok((prefix, bytes.to_vec()));
            }
            header_len = bytes.len() as u64;
        }
        Err(BlobError::building(
            BlobErrorKind::Header,
            "the header length does not settle",
        ))
    }

    /// The finished blob in memory.
    ///
    /// # Errors
    /// A snapshot whose versions differ or whose from_tag is not 0, a
    /// type's sections not covering consecutive ordinal ranges from 0 (or
    /// disagreeing on its state), or a header that cannot be encoded.
    pub fn finish(&self, schema: &Schema, tags: &[(String, String)]) -> Result<Vec<u8>, BlobError> {
        let mut out = Vec::with_capacity(
            PREFIX_LEN
                + TRAILER_LEN
                + self
                    .sections
                    .iter()
                    .map(|(_, b)| b.len() + 8)
                    .sum::<usize>()
                + 4096,
        );
        self.write_to(schema, tags, &mut out).map_err(|e| match e {
            WriteError::Blob(e) => e,
            WriteError::Io(e) => BlobError::building(BlobErrorKind::Header, e.to_string()),
        })?;
        Ok(out)
    }

    /// The length in bytes of the finished blob ([`finish`](Self::finish)'s
    /// output, or what [`write_to_writer`](Self::write_to_writer) writes),
    /// for writing it into a buffer made to measure.
    ///
    /// # Errors
    /// As [`finish`](Self::finish).
    pub fn finished_len(
        &self,
        schema: &Schema,
        tags: &[(String, String)],
    ) -> Result<u64, BlobError> {
        let (_, header) = self.layout(schema, tags)?;
        let sections: u64 = self
            .sections
            .iter()
            .map(|(_, b)| b.len().next_multiple_of(8) as u64)
            .sum();
        Ok((PREFIX_LEN + header.len() + TRAILER_LEN) as u64 + sections)
    }

    /// Streams the finished blob into `w` (a file, say), hashing as it
    /// goes; returns the number of bytes written.
    ///
    /// # Errors
    /// As [`finish`](Self::finish), or `w`'s I/O error (converted to
    /// [`io::Error`]; a [`BlobError`] is wrapped as
    /// [`io::ErrorKind::InvalidInput`]).
    pub fn write_to_writer<W: Write>(
        &self,
        schema: &Schema,
        tags: &[(String, String)],
        w: &mut W,
    ) -> io::Result<u64> {
        self.write_to(schema, tags, w).map_err(|e| match e {
            WriteError::Blob(e) => io::Error::new(io::ErrorKind::InvalidInput, e),
            WriteError::Io(e) => e,
        })
    }

    fn write_to<W: Write>(
        &self,
        schema: &Schema,
        tags: &[(String, String)],
        w: &mut W,
    ) -> Result<u64, WriteError> {
        let (prefix, header) = self.layout(schema, tags).map_err(WriteError::Blob)?;
        let mut hasher = Xxh3Default::new();
        let mut total = 0u64;
        let mut put = |bytes: &[u8]| -> io::Result<()> {
            hasher.update(bytes);
            total += bytes.len() as u64;
            w.write_all(bytes)
        };
        put(&prefix.to_bytes_as(self.format_version())).map_err(WriteError::Io)?;
        put(&header).map_err(WriteError::Io)?;
        for (_, bytes) in &self.sections {
            put(bytes).map_err(WriteError::Io)?;
            let pad = bytes.len().next_multiple_of(8) - bytes.len();
            put(&ZEROS[..pad]).map_err(WriteError::Io)?;
        }
        let sum = hasher.digest();
        w.write_all(&sum.to_le_bytes()).map_err(WriteError::Io)?;
        w.write_all(&END_MAGIC).map_err(WriteError::Io)?;
        Ok(total + TRAILER_LEN as u64)
    }
}

enum WriteError {
    Blob(BlobError),
    Io(io::Error),
}

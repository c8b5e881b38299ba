//! [`BlobWriter`]: assembling prefix, header, sections and trailer.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use hollow_schema::Schema;
use xxhash_rust::xxh3::Xxh3Default;

use super::envelope::HeaderWire;
use super::section::{Build, SectionBuf};
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
///
/// Sections are held in memory, or with [`spool_into`](Self::spool_into)
/// written to a file as they are added, so that only the section being
/// built is in memory; the finished blob is the same, byte for byte.
#[derive(Debug)]
pub struct BlobWriter {
    prefix: BlobPrefix,
    sections: Vec<SectionInfo>,
    bodies: Bodies,
}

/// Where a writer's section bytes are.
#[derive(Debug)]
enum Bodies {
    /// Each section's bytes, in order.
    Memory(Vec<Vec<u8>>),
    /// Written to a file, each padded to 8 bytes, in order; the first
    /// write error, reported when the blob is finished.
    Spool {
        file: File,
        error: Option<io::Error>,
    },
}

/// The size of the reads that copy spooled sections into the blob.
const COPY_CHUNK: usize = 1 << 20;

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
            bodies: Bodies::Memory(Vec::new()),
        }
    }

    /// This writer with its sections written to `file` (an empty file
    /// opened for reading and writing, a temporary one say) as they are
    /// added, instead of held in memory; sections already added are
    /// written there now. The finished blob is the same.
    ///
    /// # Errors
    /// Writing the sections already added to `file` failed.
    pub fn spool_into(mut self, mut file: File) -> io::Result<Self> {
        if let Bodies::Memory(held) = &self.bodies {
            for bytes in held {
                write_padded(&mut file, bytes)?;
            }
        }
        self.bodies = Bodies::Spool { file, error: None };
        Ok(self)
    }

    /// Adds a section (built by [`snapshot_section`](super::snapshot_section)
    /// or [`delta_section`](super::delta_section) to match the blob's kind).
    /// `info`'s offset, length and checksum are set here; its counts are
    /// the caller's. Sections are written in the order they are added.
    ///
    /// A spooling writer ([`spool_into`](Self::spool_into)) writes `bytes`
    /// to its file and drops them; a write error is kept and returned by
    /// [`finish`](Self::finish) or
    /// [`write_to_writer`](Self::write_to_writer).
    pub fn add_section(&mut self, mut info: SectionInfo, bytes: Vec<u8>) {
        info.offset = 0;
        info.length = bytes.len() as u64;
        info.checksum = hash_bytes(&bytes);
        self.sections.push(info);
        match &mut self.bodies {
            Bodies::Memory(held) => held.push(bytes),
            Bodies::Spool { file, error } => {
                if error.is_none() {
                    if let Err(e) = write_padded(file, &bytes) {
                        *error = Some(e);
                    }
                }
            }
        }
    }

    /// Adds a section that `build` builds (into an empty [`SectionBuf`]),
    /// as [`add_section`](Self::add_section) adds one built whole. A
    /// spooling writer ([`spool_into`](Self::spool_into)) has the
    /// section's objects written to its file as they are appended, and
    /// holds only its fixed part (the elements) until the section is
    /// done; the blob is the same, byte for byte.
    ///
    /// # Errors
    /// What `build` returns (the writer is then not to be finished: its
    /// spool may hold part of the section). A spool write error is kept
    /// and returned when the blob is finished, as for `add_section`.
    pub(crate) fn add_built_section(
        &mut self,
        mut info: SectionInfo,
        build: Build<'_>,
    ) -> Result<(), BlobError> {
        let Bodies::Spool { file, error } = &mut self.bodies else {
            let mut buf = SectionBuf::memory();
            build(&mut buf)?;
            self.add_section(info, buf.into_vec());
            return Ok(());
        };
        let file: &File = file;
        let start = match (&mut &*file).seek(SeekFrom::End(0)) {
            Ok(at) => at,
            Err(e) => {
                error.get_or_insert(e);
                0
            }
        };
        let mut buf = SectionBuf::spooled(file, start);
        build(&mut buf)?;
        let (length, checksum) = match finish_spooled(file, start, buf) {
            Ok(done) => done,
            Err(e) => {
                error.get_or_insert(e);
                (0, 0)
            }
        };
        info.offset = 0;
        info.length = length;
        info.checksum = checksum;
        self.sections.push(info);
        Ok(())
    }

    /// The format version the blob is written as: 2 when a record type
    /// has several sections (shards), else 1, which readers that know only
    /// version 1 read.
    fn format_version(&self) -> u32 {
        let sharded = self.sections.iter().enumerate().any(|(i, a)| {
            self.sections[..i]
                .iter()
                .any(|b| b.type_name == a.type_name)
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
            sections: self.sections.clone(),
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
                    .map(|s| s.length as usize + 8)
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
            .map(|s| s.length.next_multiple_of(8))
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
        match &self.bodies {
            Bodies::Memory(held) => {
                for bytes in held {
                    put(bytes).map_err(WriteError::Io)?;
                    let pad = bytes.len().next_multiple_of(8) - bytes.len();
                    put(&ZEROS[..pad]).map_err(WriteError::Io)?;
                }
            }
            Bodies::Spool { file, error } => {
                if let Some(e) = error {
                    return Err(WriteError::Io(io::Error::new(
                        e.kind(),
                        format!("writing a section to the spool file failed: {e}"),
                    )));
                }
                let want: u64 = self
                    .sections
                    .iter()
                    .map(|s| s.length.next_multiple_of(8))
                    .sum();
                let mut f: &File = file;
                f.seek(SeekFrom::Start(0)).map_err(WriteError::Io)?;
                let mut buf = vec![0u8; COPY_CHUNK];
                let mut left = want;
                while left > 0 {
                    let n = f
                        .read(&mut buf[..COPY_CHUNK.min(left as usize)])
                        .map_err(WriteError::Io)?;
                    if n == 0 {
                        return Err(WriteError::Io(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("the spool file ends {left} bytes before its sections' {want}"),
                        )));
                    }
                    put(&buf[..n]).map_err(WriteError::Io)?;
                    left -= n as u64;
                }
                // Left at its end, for the sections added after.
                f.seek(SeekFrom::End(0)).map_err(WriteError::Io)?;
            }
        }
        let sum = hasher.digest();
        w.write_all(&sum.to_le_bytes()).map_err(WriteError::Io)?;
        w.write_all(&END_MAGIC).map_err(WriteError::Io)?;
        Ok(total + TRAILER_LEN as u64)
    }
}

/// Finishes a section spooled from byte `start` of `file`: writes out its
/// last objects, its fixed part in front of them and the padding after,
/// and gives its length and checksum (the fixed part hashed in memory, the
/// objects read back from the file in pieces). Leaves the file's position
/// at its end.
fn finish_spooled(file: &File, start: u64, buf: SectionBuf<'_>) -> io::Result<(u64, u64)> {
    let SectionBuf { fixed, spool, .. } = buf;
    let written = match spool {
        Some(mut spool) => {
            spool.flush();
            if let Some(e) = spool.error {
                return Err(e);
            }
            spool.written
        }
        None => 0,
    };
    let mut f = file;
    let length = fixed.len() as u64 + written;
    f.seek(SeekFrom::Start(start))?;
    f.write_all(&fixed)?;
    let mut hasher = Xxh3Default::new();
    hasher.update(&fixed);
    drop(fixed);
    let mut chunk = vec![0u8; COPY_CHUNK];
    let mut left = written;
    while left > 0 {
        let n = COPY_CHUNK.min(left as usize);
        f.read_exact(&mut chunk[..n])?;
        hasher.update(&chunk[..n]);
        left -= n as u64;
    }
    f.write_all(&ZEROS[..(length.next_multiple_of(8) - length) as usize])?;
    f.seek(SeekFrom::End(0))?;
    Ok((length, hasher.digest()))
}

/// Writes `bytes` and the zeros padding them to 8 bytes.
fn write_padded(w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    w.write_all(bytes)?;
    w.write_all(&ZEROS[..bytes.len().next_multiple_of(8) - bytes.len()])
}

enum WriteError {
    Blob(BlobError),
    Io(io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A delta writer with three sections of lengths that need padding
    /// (and one empty), held in memory or spooled.
    fn writer(spool: bool) -> BlobWriter {
        let mut w = BlobWriter::new(BlobKind::Delta, 3, 4, 0xaaaa, 0xbbbb);
        if spool {
            let file = tempfile::tempfile().unwrap();
            w = w.spool_into(file).unwrap();
        }
        for (i, len) in [13usize, 0, 4096 + 5].into_iter().enumerate() {
            let bytes = (0..len).map(|b| (b * 7 + i) as u8).collect();
            w.add_section(SectionInfo::delta(format!("T{i}"), 1, 2, 3, 4), bytes);
        }
        w
    }

    #[test]
    fn a_spooled_blob_is_byte_identical_to_one_held_in_memory() {
        let schema = Schema::new();
        let tags = [("k".to_string(), "v".to_string())];
        let held = writer(false).finish(&schema, &tags).unwrap();
        let spooled = writer(true);
        assert_eq!(spooled.finish(&schema, &tags).unwrap(), held);
        // Streamed, and again (the spool is read from its start each time).
        for _ in 0..2 {
            let mut out = Vec::new();
            let n = spooled.write_to_writer(&schema, &tags, &mut out).unwrap();
            assert_eq!(n, held.len() as u64);
            assert_eq!(out, held);
        }
        assert_eq!(
            spooled.finished_len(&schema, &tags).unwrap(),
            held.len() as u64
        );
        // Spooling after sections were added writes those out too.
        let mut late = BlobWriter::new(BlobKind::Delta, 3, 4, 0xaaaa, 0xbbbb);
        let first = writer(false);
        if let Bodies::Memory(bodies) = &first.bodies {
            for (info, bytes) in first.sections.iter().zip(bodies) {
                late.add_section(info.clone(), bytes.clone());
            }
        }
        let late = late.spool_into(tempfile::tempfile().unwrap()).unwrap();
        assert_eq!(late.finish(&schema, &tags).unwrap(), held);
    }

    #[derive(crate::Hollow, Clone, Debug, PartialEq, Default)]
    #[hollow(primary_key(id))]
    struct Film {
        id: u64,
        title: String,
        genres: Vec<String>,
    }

    /// A snapshot of 3000 films (every seventh ordinal empty; unique
    /// titles, genre lists from a pool of 3) written by
    /// `write_snapshot_shards`, spooled or held in memory, or (`old`)
    /// built whole by `snapshot_shards` and added.
    fn film_snapshot(spool: bool, old: bool, options: super::super::SectionOptions) -> Vec<u8> {
        use crate::Struct;
        let limit = 3000u32;
        let films: Vec<Vec<u8>> = (0..u64::from(limit))
            .map(|id| {
                let film = Film {
                    id,
                    title: format!("title {id}"),
                    genres: vec![format!("genre {}", id % 3), "drama".to_string()],
                };
                crate::to_canonical_bytes(&film).unwrap()
            })
            .collect();
        let mut bits = crate::bits::Bits::default();
        for o in (0..limit).filter(|o| o % 7 != 0) {
            bits.set(o, true);
        }
        let state = ((0..limit).filter(|o| o % 7 != 0).count() as u32, 0x77);
        let mut w = BlobWriter::new(BlobKind::Snapshot, 5, 5, 0, 9);
        if spool {
            w = w.spool_into(tempfile::tempfile().unwrap()).unwrap();
        }
        let record = |o: u32| films[o as usize].as_slice();
        let populated = bits.words(limit);
        if old {
            let shards = super::super::snapshot_shards(
                options,
                "Film",
                Film::SIZE,
                limit,
                &populated,
                record,
                state,
            )
            .unwrap();
            for (info, bytes) in shards {
                w.add_section(info, bytes);
            }
        } else {
            super::super::write_snapshot_shards(
                options,
                "Film",
                Film::SIZE,
                limit,
                &populated,
                record,
                state,
                &mut w,
            )
            .unwrap();
        }
        w.finish(Film::schema(), &[]).unwrap()
    }

    #[test]
    fn a_snapshot_built_into_the_spool_is_byte_identical_to_one_built_whole() {
        use super::super::{BlobView, SectionOptions};
        let small = 16 << 10;
        for (share_values, shard_limit) in [
            (true, SectionOptions::MAX_SHARD_BYTES),
            (false, SectionOptions::MAX_SHARD_BYTES),
            (true, small),
            (false, small),
        ] {
            let options = SectionOptions {
                share_values,
                shard_limit,
            };
            let whole = film_snapshot(false, true, options);
            assert_eq!(film_snapshot(false, false, options), whole, "{options:?}");
            assert_eq!(film_snapshot(true, false, options), whole, "{options:?}");
            assert_eq!(film_snapshot(true, true, options), whole, "{options:?}");
            let view = BlobView::open("snapshot-5", &whole).unwrap();
            let sections = view.sections().count();
            if shard_limit == small {
                assert!(sections > 1, "{options:?}: {sections} sections");
            } else {
                assert_eq!(sections, 1);
            }
            for sv in view.sections() {
                sv.verify_checksum().unwrap();
            }
        }
        // Sharing makes a smaller blob: the spooled writer shared values.
        let shared = film_snapshot(true, false, SectionOptions::default());
        let plain = film_snapshot(
            true,
            false,
            SectionOptions {
                share_values: false,
                ..SectionOptions::default()
            },
        );
        assert!(shared.len() < plain.len());
    }

    #[test]
    fn a_spool_file_that_cannot_be_written_is_an_error_at_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool");
        std::fs::write(&path, b"").unwrap();
        // Opened for reading only: every write fails.
        let file = File::open(&path).unwrap();
        let mut w = BlobWriter::new(BlobKind::Delta, 3, 4, 0xaaaa, 0xbbbb)
            .spool_into(file)
            .unwrap();
        w.add_section(SectionInfo::delta("T", 1, 0, 1, 1), vec![1; 16]);
        let err = w.finish(&Schema::new(), &[]).unwrap_err();
        assert!(err.to_string().contains("spool file"), "{err}");
    }
}

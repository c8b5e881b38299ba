//! What a store writes a blob from: [`LocalBlob`] (a blob held in a local
//! file, for [`BlobStore::put_file`](super::BlobStore::put_file)), and
//! [`BlobReader`], which gives a blob a piece at a time from a slice or
//! from such a file.

use std::fs::File;

/// A blob held in a local file, to store with
/// [`BlobStore::put_file`](super::BlobStore::put_file): the file and its
/// contents as a slice (typically the file's memory map, as a producer's
/// blobs are).
///
/// A store reads the blob from whichever suits it:
/// [`FsBlobStore`](super::FsBlobStore) and the object store read the file
/// in pieces, with positional reads (on Unix), so storing a mapped blob
/// brings none of the map's pages into the caller's resident memory (the
/// file's pages stay in the page cache); other stores take the slice.
///
/// ```
/// use std::io::Write;
/// use hollow_runtime::store::LocalBlob;
///
/// let mut file = tempfile::tempfile().unwrap();
/// file.write_all(b"blob bytes").unwrap();
/// let blob = LocalBlob::new(&file, b"blob bytes");
/// assert_eq!(blob.len(), 10);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LocalBlob<'a> {
    file: &'a File,
    bytes: &'a [u8],
}

impl<'a> LocalBlob<'a> {
    /// The blob `bytes`, held in `file` from its start. `bytes` must be
    /// what the file holds (a store may read either), and nothing may
    /// change the file while the blob is stored; a file shorter than
    /// `bytes` fails the put.
    pub fn new(file: &'a File, bytes: &'a [u8]) -> Self {
        LocalBlob { file, bytes }
    }

    /// The file holding the blob.
    pub fn file(&self) -> &'a File {
        self.file
    }

    /// The blob's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The blob's length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the blob is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Where a [`BlobReader`] reads.
#[derive(Clone, Copy)]
enum Source<'a> {
    Bytes(&'a [u8]),
    #[cfg_attr(not(unix), allow(dead_code))]
    File(&'a File),
}

/// A blob to store, given a piece at a time: subslices of a slice, or
/// pieces read from a file into one buffer (never the whole blob).
pub(crate) struct BlobReader<'a> {
    source: Source<'a>,
    len: usize,
    offset: usize,
    buf: Vec<u8>,
}

impl<'a> BlobReader<'a> {
    /// The blob `data`.
    pub(crate) fn bytes(data: &'a [u8]) -> Self {
        BlobReader {
            source: Source::Bytes(data),
            len: data.len(),
            offset: 0,
            buf: Vec::new(),
        }
    }

    /// The blob of `blob`, read from its file (on Unix; elsewhere from its
    /// bytes).
    pub(crate) fn file(blob: LocalBlob<'a>) -> Self {
        #[cfg(unix)]
        {
            BlobReader {
                source: Source::File(blob.file),
                len: blob.len(),
                offset: 0,
                buf: Vec::new(),
            }
        }
        #[cfg(not(unix))]
        {
            BlobReader::bytes(blob.bytes)
        }
    }

    /// The blob's length.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The bytes not given yet.
    pub(crate) fn remaining(&self) -> usize {
        self.len - self.offset
    }

    /// The next piece, of at most `max` bytes (at least 1); `None` once the
    /// whole blob was given.
    ///
    /// # Errors
    /// Reading the file failed, or the file ended before the blob's length.
    pub(crate) fn next_piece(&mut self, max: usize) -> std::io::Result<Option<&[u8]>> {
        let n = max.max(1).min(self.remaining());
        if n == 0 {
            return Ok(None);
        }
        let at = self.offset;
        match self.source {
            Source::Bytes(data) => {
                self.offset += n;
                Ok(Some(&data[at..at + n]))
            }
            Source::File(file) => {
                self.buf.resize(n, 0);
                read_exact_at(file, &mut self.buf[..n], at as u64)?;
                self.offset += n;
                Ok(Some(&self.buf[..n]))
            }
        }
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, at)
}

#[cfg(not(unix))]
fn read_exact_at(_: &File, _: &mut [u8], _: u64) -> std::io::Result<()> {
    // Never called: `BlobReader::file` reads the bytes off Unix.
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fs::tests::file_of;

    fn pieces(mut r: BlobReader<'_>, max: usize) -> std::io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        while let Some(p) = r.next_piece(max)? {
            assert!(!p.is_empty() && p.len() <= max.max(1));
            out.push(p.to_vec());
        }
        assert_eq!(r.remaining(), 0);
        Ok(out)
    }

    #[test]
    fn reads_the_same_pieces_from_bytes_and_file() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let file = file_of(&data);
        for max in [0, 1, 3, 4096, 10_000, 1 << 20] {
            let from_bytes = pieces(BlobReader::bytes(&data), max).unwrap();
            let from_file = pieces(BlobReader::file(LocalBlob::new(&file, &data)), max).unwrap();
            assert_eq!(from_bytes, from_file, "{max}");
            assert_eq!(from_file.concat(), data, "{max}");
        }
        assert!(pieces(BlobReader::bytes(&[]), 16).unwrap().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_file_shorter_than_the_blob_is_an_error() {
        let file = file_of(b"short");
        let e = pieces(BlobReader::file(LocalBlob::new(&file, b"longer blob")), 4).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
    }
}

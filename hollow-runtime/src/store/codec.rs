//! Blobs compressed for transit: [`Compression`] (what a producer writes),
//! and the streaming zstd encoder and decoder every store uses, so no blob
//! is ever held whole in memory to be compressed or decompressed.
//!
//! A compressed blob is one zstd frame that declares its content size (the
//! plain blob's length) and carries zstd's content checksum. A reader
//! refuses anything else: bytes that are not a zstd frame, a frame that
//! does not declare its size, a frame that ends early or is followed by
//! more bytes, output longer or shorter than declared, or a checksum that
//! does not match.

use std::io::{Read, Write};

use zstd::stream::raw::{Decoder, Encoder, InBuffer, Operation, OutBuffer};
use zstd::zstd_safe::CParameter;

use super::Encoding;

/// How a producer stores its blobs: plain, or compressed with zstd at a
/// level. The default is zstd at level 3: some CPU when a blob is
/// published, and once more when a consumer fetches it, for smaller stores
/// and transfers. A blob of 4 MiB or more is compressed by zstd's worker
/// threads, one per core up to four (a snapshot's put takes about half
/// the time on two cores, for some tens of MiB of buffers while it runs);
/// a shorter one on the calling thread.
///
/// Consumers and tools read both layouts whatever this says: the stored
/// name carries the marker (`snapshot-7.zst` against `snapshot-7`), so a
/// store may hold a mix.
///
/// ```
/// use hollow_runtime::store::{Compression, Encoding};
///
/// assert_eq!(Compression::default(), Compression::Zstd { level: 3 });
/// assert_eq!(Compression::default().encoding(), Encoding::Zstd);
/// assert_eq!(Compression::None.encoding(), Encoding::Plain);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Blobs stored as written (`snapshot-7`).
    None,
    /// Blobs stored as one zstd frame (`snapshot-7.zst`), at `level`
    /// (zstd's levels: 1 fastest to 22 smallest; negative levels faster
    /// still). A level outside zstd's range is clamped by zstd.
    Zstd {
        /// The zstd compression level.
        level: i32,
    },
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Zstd {
            level: Self::DEFAULT_ZSTD_LEVEL,
        }
    }
}

impl Compression {
    /// The zstd level of [`Compression::default`].
    pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

    /// The layout (and name marker) of blobs stored with this setting.
    pub fn encoding(self) -> Encoding {
        match self {
            Compression::None => Encoding::Plain,
            Compression::Zstd { .. } => Encoding::Zstd,
        }
    }
}

/// Input is compressed, and compressed output decoded, in pieces this large.
pub(crate) const PIECE: usize = 1 << 20;

/// The longest a zstd frame header can be: enough bytes to read the
/// declared content size.
pub(crate) const FRAME_HEADER_MAX: usize = 18;

/// Why compressed bytes were refused (the caller names the blob and store).
#[derive(Debug)]
pub(crate) struct CodecError(pub(crate) String);

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn codec_error(what: &str, e: &std::io::Error) -> CodecError {
    CodecError(format!("{what}: {e}"))
}

/// The content size a zstd frame header declares, from the frame's first
/// bytes (at least [`FRAME_HEADER_MAX`] of them, or the whole frame).
///
/// # Errors
/// The bytes do not start a zstd frame, or the frame does not declare its
/// size.
pub(crate) fn declared_size(head: &[u8]) -> Result<u64, CodecError> {
    match zstd::zstd_safe::get_frame_content_size(head) {
        Ok(Some(n)) => Ok(n),
        Ok(None) => Err(CodecError(
            "the zstd frame does not declare its content size (a Hollow producer always \
             writes it)"
                .into(),
        )),
        Err(_) if head.len() < 4 => Err(CodecError(format!(
            "{} bytes is too short for a zstd frame",
            head.len()
        ))),
        Err(_) => Err(CodecError(
            "not a zstd frame (no zstd magic number and frame header at its start)".into(),
        )),
    }
}

/// Blobs at least this long are compressed by zstd's worker threads
/// ([`compression_workers`]); shorter ones on the calling thread, where
/// starting the workers would cost more than they save.
const THREADED_FROM: u64 = 4 * PIECE as u64;

/// The most worker threads one blob's compression uses.
const MAX_WORKERS: usize = 4;

/// How many zstd worker threads compress a blob of `plain_len` bytes: none
/// below [`THREADED_FROM`], else one per core up to [`MAX_WORKERS`].
///
/// Even one worker pays: zstd then keeps the input in buffers of its own,
/// compressing from them in one pass, where compressing on the calling
/// thread from pieces that do not stay in place takes a slower path (and
/// the worker overlaps compressing with reading the next piece). Several
/// workers split the blob into jobs compressed side by side, each seeing
/// the end of the one before, so the frame is hardly larger.
fn compression_workers(plain_len: u64) -> u32 {
    if plain_len < THREADED_FROM {
        return 0;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.clamp(1, MAX_WORKERS) as u32
}

/// A streaming zstd compressor of one blob of known length.
pub(crate) struct FrameEncoder {
    encoder: Encoder<'static>,
}

impl FrameEncoder {
    /// An encoder at `level` for a blob of `plain_len` bytes (declared in
    /// the frame header), with zstd's content checksum; a long blob is
    /// compressed by worker threads ([`compression_workers`]).
    pub(crate) fn new(level: i32, plain_len: u64) -> Result<Self, CodecError> {
        let setup = || -> std::io::Result<Encoder<'static>> {
            let mut encoder = Encoder::new(level)?;
            encoder.set_parameter(CParameter::ChecksumFlag(true))?;
            encoder.set_parameter(CParameter::ContentSizeFlag(true))?;
            let workers = compression_workers(plain_len);
            if workers > 0 {
                encoder.set_parameter(CParameter::NbWorkers(workers))?;
            }
            encoder.set_pledged_src_size(Some(plain_len))?;
            Ok(encoder)
        };
        setup()
            .map(|encoder| FrameEncoder { encoder })
            .map_err(|e| codec_error("starting the zstd encoder", &e))
    }

    /// Compresses all of `input`, appending what zstd emits to `out`.
    pub(crate) fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
        while !input.is_empty() {
            out.reserve(zstd::zstd_safe::CCtx::out_size());
            let mut src = InBuffer::around(input);
            let pos = out.len();
            let mut dst = OutBuffer::around_pos(out, pos);
            self.encoder
                .run(&mut src, &mut dst)
                .map_err(|e| codec_error("compressing", &e))?;
            let used = src.pos();
            input = &input[used..];
        }
        Ok(())
    }

    /// Ends the frame, appending its last bytes to `out`.
    pub(crate) fn finish(mut self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        loop {
            out.reserve(zstd::zstd_safe::CCtx::out_size());
            let pos = out.len();
            let mut dst = OutBuffer::around_pos(out, pos);
            let left = self
                .encoder
                .finish(&mut dst, true)
                .map_err(|e| codec_error("ending the zstd frame", &e))?;
            if left == 0 {
                return Ok(());
            }
        }
    }
}

/// Compresses `data` whole into a new vector (for stores that keep blobs
/// in memory).
pub(crate) fn compress_to_vec(data: &[u8], level: i32) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    let mut encoder = FrameEncoder::new(level, data.len() as u64)?;
    for piece in data.chunks(PIECE) {
        encoder.feed(piece, &mut out)?;
    }
    encoder.finish(&mut out)?;
    Ok(out)
}

/// A streaming decoder of one compressed blob: fed the stored bytes in
/// pieces of any size, it emits the plain bytes in pieces of at most
/// `limit` bytes, holding no more than that (and zstd's window) in memory.
/// See the module docs for what it refuses.
pub(crate) struct FrameDecoder {
    decoder: Decoder<'static>,
    /// The frame's first bytes, gathered until the declared size is read.
    head: Vec<u8>,
    /// How many bytes of `head` were decoded.
    head_used: usize,
    /// The content size the frame declares, once read.
    declared: Option<u64>,
    /// Plain bytes emitted so far.
    written: u64,
    /// The frame ended.
    ended: bool,
    /// The last step filled the output: zstd may hold more.
    pending: bool,
    /// The caller said the input is over ([`FrameDecoder::end`]).
    eof: bool,
    limit: usize,
}

impl FrameDecoder {
    /// A decoder emitting pieces of at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Result<Self, CodecError> {
        let decoder = Decoder::new().map_err(|e| codec_error("starting the zstd decoder", &e))?;
        Ok(FrameDecoder {
            decoder,
            head: Vec::with_capacity(FRAME_HEADER_MAX),
            head_used: 0,
            declared: None,
            written: 0,
            ended: false,
            pending: false,
            eof: false,
            limit: limit.max(1),
        })
    }

    /// Decodes from `input` (advancing it) into `out` until `out` holds
    /// `limit` bytes or all of the input is decoded. Returns `true` when it
    /// stopped because `out` is full: the caller empties `out` and calls
    /// again (with the rest of the input, possibly empty).
    ///
    /// # Errors
    /// The bytes are not what the module docs say a compressed blob is.
    pub(crate) fn feed(
        &mut self,
        input: &mut &[u8],
        out: &mut Vec<u8>,
    ) -> Result<bool, CodecError> {
        if self.declared.is_none() {
            let take = (FRAME_HEADER_MAX - self.head.len()).min(input.len());
            self.head.extend_from_slice(&input[..take]);
            *input = &input[take..];
            if self.head.len() < FRAME_HEADER_MAX && !self.eof {
                return Ok(false);
            }
            self.declared = Some(declared_size(&self.head)?);
        }
        if self.head_used < self.head.len() {
            let head = std::mem::take(&mut self.head);
            let mut rest = &head[self.head_used..];
            let full = self.decode(&mut rest, out);
            self.head_used = head.len() - rest.len();
            self.head = head;
            if full? {
                return Ok(true);
            }
        }
        self.decode(input, out)
    }

    /// Says the input is over, and decodes what is left into `out` as
    /// [`feed`](Self::feed) does (call again while it returns `true`).
    ///
    /// # Errors
    /// As [`feed`](Self::feed).
    pub(crate) fn end(&mut self, out: &mut Vec<u8>) -> Result<bool, CodecError> {
        self.eof = true;
        self.feed(&mut &[][..], out)
    }

    fn decode(&mut self, input: &mut &[u8], out: &mut Vec<u8>) -> Result<bool, CodecError> {
        loop {
            if self.ended {
                if !input.is_empty() {
                    return Err(CodecError(
                        "more bytes follow the end of the zstd frame".into(),
                    ));
                }
                return Ok(false);
            }
            if input.is_empty() && !self.pending {
                return Ok(false);
            }
            let room = self.limit.saturating_sub(out.len());
            if room == 0 {
                return Ok(true);
            }
            out.reserve(room);
            let before = out.len();
            let (used, hint, full) = {
                let mut src = InBuffer::around(input);
                // Only `room` bytes of spare capacity are offered.
                let mut limited = Limited {
                    vec: out,
                    cap: before + room,
                };
                let mut dst = OutBuffer::around_pos(&mut limited, before);
                let result = self.decoder.run(&mut src, &mut dst);
                let full = dst.pos() == dst.capacity();
                let hint = result.map_err(|e| decode_error(self.written, &e))?;
                (src.pos(), hint, full)
            };
            *input = &input[used..];
            self.written += (out.len() - before) as u64;
            let declared = self.declared.unwrap_or(0);
            if self.written > declared {
                return Err(CodecError(format!(
                    "the zstd frame decodes to more than the {declared} bytes it declares"
                )));
            }
            self.pending = full;
            if hint == 0 {
                self.ended = true;
                self.pending = false;
            }
        }
    }

    /// Checks that the whole frame was fed and decoded to its declared
    /// size; returns that size.
    ///
    /// # Errors
    /// The input ended early, or decoded to another size than declared.
    pub(crate) fn finish(self) -> Result<u64, CodecError> {
        let Some(declared) = self.declared else {
            // Never ended, or no bytes at all.
            declared_size(&self.head)?;
            return Err(CodecError(format!(
                "the zstd frame is truncated: it ends after {} bytes",
                self.head.len()
            )));
        };
        if !self.ended {
            return Err(CodecError(format!(
                "the zstd frame is truncated: it ends after {} of its {declared} plain bytes",
                self.written
            )));
        }
        if self.written != declared {
            return Err(CodecError(format!(
                "the zstd frame decodes to {} bytes, not the {declared} it declares",
                self.written
            )));
        }
        Ok(declared)
    }
}

fn decode_error(written: u64, e: &std::io::Error) -> CodecError {
    CodecError(format!(
        "the zstd frame is corrupt (after {written} plain bytes): {e}"
    ))
}

/// A vector offered to zstd with at most `cap` bytes of room.
struct Limited<'a> {
    vec: &'a mut Vec<u8>,
    cap: usize,
}

// SAFETY: forwards to `Vec<u8>`'s implementation, offering a capacity no
// larger than the vector's own (`cap` is clamped to it), so zstd writes
// only into memory the vector owns; `filled_until` sets the vector's
// length to at most that capacity, all of it written by zstd.
unsafe impl zstd::zstd_safe::WriteBuf for Limited<'_> {
    fn as_slice(&self) -> &[u8] {
        self.vec.as_slice()
    }
    fn capacity(&self) -> usize {
        self.cap.min(self.vec.capacity())
    }
    fn as_mut_ptr(&mut self) -> *mut u8 {
        self.vec.as_mut_ptr()
    }
    unsafe fn filled_until(&mut self, n: usize) {
        // SAFETY: the caller (zstd-safe) wrote the first `n` bytes, and
        // `n <= capacity() <= self.vec.capacity()`.
        unsafe { self.vec.set_len(n) }
    }
}

/// Decodes the compressed blob read from `input` into `output`, in writes
/// of at most `limit` bytes; returns the plain length.
///
/// # Errors
/// [`DecodeFailure::Read`] / [`DecodeFailure::Write`] for I/O errors on
/// either side, [`DecodeFailure::Codec`] for bytes that are not a
/// compressed blob.
pub(crate) fn decode_stream(
    input: &mut dyn Read,
    output: &mut dyn Write,
    limit: usize,
) -> Result<u64, DecodeFailure> {
    let mut decoder = FrameDecoder::new(limit).map_err(DecodeFailure::Codec)?;
    let mut piece = vec![0u8; PIECE];
    let mut out = Vec::with_capacity(limit.min(PIECE * 8));
    loop {
        let n = match input.read(&mut piece) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DecodeFailure::Read(e)),
        };
        let mut rest = &piece[..n];
        loop {
            let more = if n == 0 {
                decoder.end(&mut out)
            } else {
                decoder.feed(&mut rest, &mut out)
            }
            .map_err(DecodeFailure::Codec)?;
            if more || out.len() >= limit {
                output.write_all(&out).map_err(DecodeFailure::Write)?;
                out.clear();
            }
            if !more {
                break;
            }
        }
        if n == 0 {
            break;
        }
    }
    output.write_all(&out).map_err(DecodeFailure::Write)?;
    decoder.finish().map_err(DecodeFailure::Codec)
}

/// Why [`decode_stream`] failed.
#[derive(Debug)]
pub(crate) enum DecodeFailure {
    /// Reading the stored bytes failed.
    Read(std::io::Error),
    /// Writing the plain bytes failed.
    Write(std::io::Error),
    /// The stored bytes are not a compressed blob.
    Codec(CodecError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fs::tests::sample;

    fn decode_all(stored: &[u8], limit: usize, piece: usize) -> Result<Vec<u8>, CodecError> {
        let mut decoder = FrameDecoder::new(limit)?;
        let mut plain = Vec::new();
        let mut out = Vec::new();
        for chunk in stored.chunks(piece.max(1)) {
            let mut rest = chunk;
            while decoder.feed(&mut rest, &mut out)? {
                assert!(out.len() <= limit);
                plain.append(&mut out);
            }
            assert!(out.len() <= limit);
            plain.append(&mut out);
        }
        while decoder.end(&mut out)? {
            plain.append(&mut out);
        }
        plain.append(&mut out);
        assert_eq!(decoder.finish()?, plain.len() as u64);
        Ok(plain)
    }

    #[test]
    fn round_trips_in_pieces_of_any_size() {
        for len in [0, 1, 17, 18, 19, 5000, 3 * PIECE + 7] {
            let plain = sample(len);
            let stored = compress_to_vec(&plain, 3).unwrap();
            assert_eq!(declared_size(&stored).unwrap(), len as u64);
            for (limit, piece) in [(1, 1), (7, 3), (4096, 100), (1 << 20, 1 << 16)] {
                if len > 100_000 && limit < 4096 {
                    continue;
                }
                assert_eq!(
                    decode_all(&stored, limit, piece).unwrap(),
                    plain,
                    "{len} {limit} {piece}"
                );
            }
            let mut written = Vec::new();
            let n = decode_stream(&mut &stored[..], &mut written, 1 << 16).unwrap();
            assert_eq!((n, written), (len as u64, plain));
        }
    }

    #[test]
    fn long_blobs_are_compressed_by_workers_into_one_checked_frame() {
        assert_eq!(compression_workers(0), 0);
        assert_eq!(compression_workers(THREADED_FROM - 1), 0);
        let workers = compression_workers(THREADED_FROM);
        assert!((1..=MAX_WORKERS as u32).contains(&workers), "{workers}");
        // Past the threshold, fed in pieces that straddle zstd's jobs, the
        // frame still declares its size and carries its checksum.
        for len in [THREADED_FROM as usize, 9 * PIECE + 3] {
            let plain = sample(len);
            let mut stored = Vec::new();
            let mut encoder = FrameEncoder::new(3, len as u64).unwrap();
            for piece in plain.chunks(PIECE / 3 + 1) {
                encoder.feed(piece, &mut stored).unwrap();
            }
            encoder.finish(&mut stored).unwrap();
            assert!(stored.len() < len / 4, "{len}: {} stored", stored.len());
            assert_eq!(declared_size(&stored).unwrap(), len as u64);
            assert_eq!(decode_all(&stored, 1 << 20, 1 << 16).unwrap(), plain);
            let mut damaged = stored.clone();
            let at = damaged.len() - 2;
            damaged[at] ^= 0x40;
            assert!(decode_all(&damaged, 1 << 20, 1 << 16).is_err(), "{len}");
        }
    }

    /// A writer that fails once it has taken `room` bytes.
    struct FailingWriter {
        room: usize,
    }

    impl Write for FailingWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A reader that fails after its first `good` bytes.
    struct FailingReader<'a> {
        good: &'a [u8],
    }

    impl Read for FailingReader<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.good.is_empty() {
                return Err(std::io::Error::other("connection reset"));
            }
            self.good.read(buf)
        }
    }

    #[test]
    fn decode_stream_reports_which_side_failed() {
        let plain = sample(3 * PIECE + 7);
        let stored = compress_to_vec(&plain, 3).unwrap();
        // The writer fails at once, after one piece, or near the end: the
        // write error is reported, not a codec or read error.
        for room in [0, 4096, 4096 + 1, plain.len() - 1] {
            let failed = decode_stream(&mut &stored[..], &mut FailingWriter { room }, 4096);
            match failed {
                Err(DecodeFailure::Write(e)) => assert_eq!(e.to_string(), "disk full"),
                other => panic!("{room}: {other:?}"),
            }
        }
        let mut written = Vec::new();
        let failed = decode_stream(
            &mut FailingReader {
                good: &stored[..stored.len() / 2],
            },
            &mut written,
            4096,
        );
        match failed {
            Err(DecodeFailure::Read(e)) => assert_eq!(e.to_string(), "connection reset"),
            other => panic!("{other:?}"),
        }
        // Bad bytes after good pieces were written: a codec error.
        let mut flipped = stored.clone();
        let at = stored.len() - 10;
        flipped[at] ^= 0x55;
        let mut written = Vec::new();
        match decode_stream(&mut &flipped[..], &mut written, 4096) {
            Err(DecodeFailure::Codec(e)) => assert!(e.to_string().contains("corrupt"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_what_is_not_one_whole_frame() {
        let plain = sample(100_000);
        let stored = compress_to_vec(&plain, 3).unwrap();
        let err = |bytes: &[u8]| decode_all(bytes, 4096, 1000).unwrap_err().to_string();
        // Truncated anywhere.
        for cut in [0, 3, 10, stored.len() / 2, stored.len() - 1] {
            let e = err(&stored[..cut]);
            assert!(
                e.contains("truncated") || e.contains("too short"),
                "{cut}: {e}"
            );
        }
        // Not zstd at all.
        let e = err(b"HOLLOW blob bytes, not compressed at all");
        assert!(e.contains("not a zstd frame"), "{e}");
        // Bytes after the frame.
        let mut longer = stored.clone();
        longer.extend_from_slice(b"x");
        assert!(err(&longer).contains("more bytes follow"));
        // A flipped byte inside: zstd's checksum or its own checks.
        let mut flipped = stored.clone();
        let at = stored.len() / 2;
        flipped[at] ^= 0x55;
        let e = err(&flipped);
        assert!(e.contains("corrupt"), "{e}");
        // The checksum itself.
        let mut sum = stored.clone();
        let last = sum.len() - 1;
        sum[last] ^= 1;
        let e = err(&sum);
        assert!(e.contains("corrupt"), "{e}");
        // A frame without its size.
        let mut unsized_frame = Vec::new();
        let mut enc = zstd::stream::write::Encoder::new(&mut unsized_frame, 3).unwrap();
        enc.write_all(b"abc").unwrap();
        enc.finish().unwrap();
        let e = err(&unsized_frame);
        assert!(e.contains("does not declare"), "{e}");
    }
}

//! The fixed 64-byte prefix of a blob.

use std::fmt;

use super::{
    BlobError, BlobErrorKind, FORMAT_VERSION, FORMAT_VERSION_ONE_SECTION, MAGIC, PREFIX_LEN,
};

/// What a blob holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlobKind {
    /// The full state of one version (code 1).
    Snapshot,
    /// The change from one version to the next (code 2).
    Delta,
    /// The change from a version back to the previous one (code 3).
    ReverseDelta,
}

impl BlobKind {
    /// The code stored in the prefix.
    pub const fn code(self) -> u32 {
        match self {
            BlobKind::Snapshot => 1,
            BlobKind::Delta => 2,
            BlobKind::ReverseDelta => 3,
        }
    }

    /// The kind with code `code`, if any.
    pub const fn from_code(code: u32) -> Option<BlobKind> {
        match code {
            1 => Some(BlobKind::Snapshot),
            2 => Some(BlobKind::Delta),
            3 => Some(BlobKind::ReverseDelta),
            _ => None,
        }
    }

    /// Whether sections are `DeltaSection`s (delta and reverse delta).
    pub const fn is_delta(self) -> bool {
        !matches!(self, BlobKind::Snapshot)
    }
}

impl fmt::Display for BlobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BlobKind::Snapshot => "snapshot",
            BlobKind::Delta => "delta",
            BlobKind::ReverseDelta => "reverse delta",
        })
    }
}

/// The fixed prefix: the first 64 bytes of a blob.
///
/// | bytes | field |
/// |---|---|
/// | 0..8 | magic `HOLLOWRS` |
/// | 8..12 | format version (u32, 1) |
/// | 12..16 | kind (u32: 1 snapshot, 2 delta, 3 reverse delta) |
/// | 16..24 | from_version (u64; = to_version for a snapshot) |
/// | 24..32 | to_version (u64) |
/// | 32..40 | from_tag (u64; 0 for a snapshot) |
/// | 40..48 | to_tag (u64) |
/// | 48..56 | header_len (u64, bytes, a multiple of 8) |
/// | 56..64 | reserved (u64, 0) |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlobPrefix {
    /// What the blob holds.
    pub kind: BlobKind,
    /// The version the blob applies to (= `to_version` for a snapshot).
    pub from_version: u64,
    /// The version the blob produces.
    pub to_version: u64,
    /// The random tag of the state the blob applies to (0 for a snapshot).
    pub from_tag: u64,
    /// The random tag of the state the blob produces.
    pub to_tag: u64,
    /// Length of the header message in bytes (a multiple of 8).
    pub header_len: u64,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The format version a blob's prefix states (bytes 8..12; 0 when the
/// blob is too short to hold one).
pub(crate) fn format_version_of(b: &[u8]) -> u32 {
    if b.len() < 12 {
        return 0;
    }
    u32_at(b, 8)
}

pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

impl BlobPrefix {
    /// The 64 bytes of the prefix, for a blob with one section per record
    /// type (format version [`FORMAT_VERSION_ONE_SECTION`]).
    pub fn to_bytes(&self) -> [u8; PREFIX_LEN] {
        self.to_bytes_as(FORMAT_VERSION_ONE_SECTION)
    }

    /// The 64 bytes of the prefix, stating `format_version` (
    /// [`FORMAT_VERSION`] for a blob with a type in several sections).
    pub fn to_bytes_as(&self, format_version: u32) -> [u8; PREFIX_LEN] {
        let mut b = [0u8; PREFIX_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&format_version.to_le_bytes());
        b[12..16].copy_from_slice(&self.kind.code().to_le_bytes());
        b[16..24].copy_from_slice(&self.from_version.to_le_bytes());
        b[24..32].copy_from_slice(&self.to_version.to_le_bytes());
        b[32..40].copy_from_slice(&self.from_tag.to_le_bytes());
        b[40..48].copy_from_slice(&self.to_tag.to_le_bytes());
        b[48..56].copy_from_slice(&self.header_len.to_le_bytes());
        b
    }

    /// Parses the prefix at the start of `bytes` (the blob called `blob` in
    /// messages). Checks only the prefix itself, not that the blob is as
    /// long as the header length says.
    ///
    /// # Errors
    /// - [`BlobErrorKind::NotHollow`]: fewer than 8 bytes, or not the magic;
    /// - [`BlobErrorKind::UnsupportedVersion`]: a format version other than
    ///   [`FORMAT_VERSION_ONE_SECTION`] and [`FORMAT_VERSION`];
    /// - [`BlobErrorKind::Truncated`]: fewer than 64 bytes;
    /// - [`BlobErrorKind::Prefix`]: an unknown kind, a header length that is
    ///   not a multiple of 8, a reserved field that is not 0, or a snapshot
    ///   whose from_version differs from its to_version or whose from_tag
    ///   is not 0.
    pub fn parse(blob: &str, bytes: &[u8]) -> Result<BlobPrefix, BlobError> {
        if bytes.len() < 8 || bytes[0..8] != MAGIC {
            return Err(BlobError::new(
                BlobErrorKind::NotHollow,
                blob,
                "is not a Hollow blob (it does not start with the magic HOLLOWRS)",
            ));
        }
        if bytes.len() < 12 {
            return Err(BlobError::new(
                BlobErrorKind::Truncated,
                blob,
                format_args!(
                    "is truncated: {} bytes, shorter than its prefix",
                    bytes.len()
                ),
            ));
        }
        let version = u32_at(bytes, 8);
        if !(FORMAT_VERSION_ONE_SECTION..=FORMAT_VERSION).contains(&version) {
            return Err(BlobError::new(
                BlobErrorKind::UnsupportedVersion,
                blob,
                format_args!(
                    "has format version {version}; this reader knows versions \
                     {FORMAT_VERSION_ONE_SECTION} and {FORMAT_VERSION}"
                ),
            ));
        }
        if bytes.len() < PREFIX_LEN {
            return Err(BlobError::new(
                BlobErrorKind::Truncated,
                blob,
                format_args!(
                    "is truncated: {} bytes, shorter than its {PREFIX_LEN}-byte prefix",
                    bytes.len()
                ),
            ));
        }
        let bad = |what: String| Err(BlobError::new(BlobErrorKind::Prefix, blob, what));
        let code = u32_at(bytes, 12);
        let Some(kind) = BlobKind::from_code(code) else {
            return bad(format!(
                "has an unknown kind {code} in its prefix (1 snapshot, 2 delta, 3 reverse delta)"
            ));
        };
        let p = BlobPrefix {
            kind,
            from_version: u64_at(bytes, 16),
            to_version: u64_at(bytes, 24),
            from_tag: u64_at(bytes, 32),
            to_tag: u64_at(bytes, 40),
            header_len: u64_at(bytes, 48),
        };
        if !p.header_len.is_multiple_of(8) {
            return bad(format!(
                "has a header length of {} bytes, not a multiple of 8",
                p.header_len
            ));
        }
        let reserved = u64_at(bytes, 56);
        if reserved != 0 {
            return bad(format!(
                "has {reserved:#x} in the reserved prefix field (must be 0)"
            ));
        }
        if kind == BlobKind::Snapshot && (p.from_version != p.to_version || p.from_tag != 0) {
            return bad(format!(
                "is a snapshot with from_version {} / to_version {} and from_tag {:#x} \
                 (a snapshot has equal versions and from_tag 0)",
                p.from_version, p.to_version, p.from_tag
            ));
        }
        Ok(p)
    }
}

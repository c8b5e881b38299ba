//! [`BlobName`]: how a blob is named in a store; [`StoredName`]: the name
//! with the marker of how the store holds it ([`Encoding`]).

use std::fmt;
use std::str::FromStr;

use super::BlobKind;

/// The name of a blob in a store. Names are an interface (other tools list
/// and fetch them): `snapshot-<v>`, `delta-<from>-<to>`,
/// `reversedelta-<from>-<to>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlobName {
    /// The whole state at a version.
    Snapshot(u64),
    /// The change from one version to the next.
    Delta {
        /// Version the delta applies to.
        from: u64,
        /// Version it produces.
        to: u64,
    },
    /// The change from a version back to the previous one.
    ReverseDelta {
        /// Version the reverse delta applies to (the newer one).
        from: u64,
        /// Version it produces (the older one).
        to: u64,
    },
}

impl BlobName {
    /// The kind of blob the name holds, as its prefix says.
    pub fn kind(&self) -> BlobKind {
        match self {
            BlobName::Snapshot(_) => BlobKind::Snapshot,
            BlobName::Delta { .. } => BlobKind::Delta,
            BlobName::ReverseDelta { .. } => BlobKind::ReverseDelta,
        }
    }

    /// The version a consumer must hold to apply this blob (a snapshot's
    /// own version: the prefix's `from_version`).
    pub fn from_version(&self) -> u64 {
        match *self {
            BlobName::Snapshot(v) => v,
            BlobName::Delta { from, .. } | BlobName::ReverseDelta { from, .. } => from,
        }
    }

    /// The version a consumer holds after applying this blob.
    pub fn to_version(&self) -> u64 {
        match *self {
            BlobName::Snapshot(v) => v,
            BlobName::Delta { to, .. } | BlobName::ReverseDelta { to, .. } => to,
        }
    }

    /// The version whose publication writes this blob: the newer version
    /// of a delta or reverse delta.
    pub(crate) fn published_in(&self) -> u64 {
        match *self {
            BlobName::Snapshot(v) => v,
            BlobName::Delta { from, to } | BlobName::ReverseDelta { from, to } => from.max(to),
        }
    }
}

impl fmt::Display for BlobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobName::Snapshot(v) => write!(f, "snapshot-{v}"),
            BlobName::Delta { from, to } => write!(f, "delta-{from}-{to}"),
            BlobName::ReverseDelta { from, to } => write!(f, "reversedelta-{from}-{to}"),
        }
    }
}

/// A name that is not a blob's (such as `announced.version` or a
/// temporary file); a store reports it as
/// [`StoreErrorKind::InvalidName`](crate::store::StoreErrorKind::InvalidName).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobNameError {
    name: String,
}

impl BlobNameError {
    /// The name refused.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for BlobNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a blob name: {:?}", self.name)
    }
}

impl std::error::Error for BlobNameError {}

impl FromStr for BlobName {
    type Err = BlobNameError;

    /// Parses a blob name; anything else (such as `announced.version` or a
    /// temporary file) is an error.
    fn from_str(s: &str) -> Result<Self, BlobNameError> {
        let bad = || BlobNameError { name: s.into() };
        let num = |t: &str| t.parse::<u64>().map_err(|_| bad());
        if let Some(v) = s.strip_prefix("snapshot-") {
            return Ok(BlobName::Snapshot(num(v)?));
        }
        let (kind, rest) = if let Some(r) = s.strip_prefix("reversedelta-") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("delta-") {
            (false, r)
        } else {
            return Err(bad());
        };
        let (a, b) = rest.split_once('-').ok_or_else(bad)?;
        let (from, to) = (num(a)?, num(b)?);
        Ok(if kind {
            BlobName::ReverseDelta { from, to }
        } else {
            BlobName::Delta { from, to }
        })
    }
}

/// How a store holds a blob, marked by its stored name: plain
/// (`snapshot-7`, the blob as written) or compressed (`snapshot-7.zst`,
/// one zstd frame). Readers tell the layouts apart by this marker only,
/// never by looking at the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Encoding {
    /// The blob's own bytes, under its plain name.
    Plain,
    /// One zstd frame declaring the plain blob's size, under the name with
    /// [`Encoding::ZSTD_SUFFIX`].
    Zstd,
}

impl Encoding {
    /// Every layout, in the order a reader looks for a blob: compressed
    /// first (what producers write by default), then plain.
    pub const ALL: [Encoding; 2] = [Encoding::Zstd, Encoding::Plain];

    /// The suffix marking a compressed blob's stored name.
    pub const ZSTD_SUFFIX: &'static str = ".zst";

    /// The suffix this layout adds to a blob's name (`""` or `".zst"`).
    pub fn suffix(self) -> &'static str {
        match self {
            Encoding::Plain => "",
            Encoding::Zstd => Self::ZSTD_SUFFIX,
        }
    }

    /// A short name for output: `plain` or `zstd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Plain => "plain",
            Encoding::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A blob's name as a store holds it: the [`BlobName`] and the marker of
/// its [`Encoding`] (`snapshot-7`, `snapshot-7.zst`).
///
/// ```
/// use hollow_runtime::store::{BlobName, Encoding, StoredName};
///
/// let s: StoredName = "delta-6-7.zst".parse().unwrap();
/// assert_eq!(s, StoredName { name: BlobName::Delta { from: 6, to: 7 }, encoding: Encoding::Zstd });
/// assert_eq!(StoredName::plain(BlobName::Snapshot(7)).to_string(), "snapshot-7");
/// assert!("snapshot-7.gz".parse::<StoredName>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoredName {
    /// The blob.
    pub name: BlobName,
    /// How the store holds it.
    pub encoding: Encoding,
}

impl StoredName {
    /// `name` stored plain.
    pub fn plain(name: BlobName) -> Self {
        StoredName {
            name,
            encoding: Encoding::Plain,
        }
    }
}

impl fmt::Display for StoredName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.name, self.encoding.suffix())
    }
}

impl FromStr for StoredName {
    type Err = BlobNameError;

    /// Parses a stored blob name: a blob name, with `.zst` when the blob is
    /// compressed; anything else is an error.
    fn from_str(s: &str) -> Result<Self, BlobNameError> {
        let (base, encoding) = match s.strip_suffix(Encoding::ZSTD_SUFFIX) {
            Some(base) => (base, Encoding::Zstd),
            None => (s, Encoding::Plain),
        };
        let name = base
            .parse::<BlobName>()
            .map_err(|_| BlobNameError { name: s.into() })?;
        Ok(StoredName { name, encoding })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_names_round_trip() {
        for n in [
            BlobName::Snapshot(7),
            BlobName::Delta { from: 7, to: 8 },
            BlobName::ReverseDelta { from: 8, to: 7 },
        ] {
            assert_eq!(n.to_string().parse::<BlobName>().unwrap(), n);
        }
        assert_eq!(BlobName::Delta { from: 1, to: 2 }.to_string(), "delta-1-2");
        // What the prefix of each blob must say.
        let r = BlobName::ReverseDelta { from: 8, to: 7 };
        assert_eq!(
            (r.kind(), r.from_version(), r.to_version()),
            (BlobKind::ReverseDelta, 8, 7)
        );
        let s = BlobName::Snapshot(7);
        assert_eq!(
            (s.kind(), s.from_version(), s.to_version()),
            (BlobKind::Snapshot, 7, 7)
        );
        // Every blob of a cycle belongs to the version it publishes.
        assert_eq!(BlobName::Snapshot(7).published_in(), 7);
        assert_eq!(BlobName::Delta { from: 6, to: 7 }.published_in(), 7);
        assert_eq!(BlobName::ReverseDelta { from: 7, to: 6 }.published_in(), 7);
        for bad in [
            "announced.version",
            "snapshot-x",
            "delta-1",
            "delta-1-2-3",
            ".tmp-snapshot-1",
        ] {
            let e = bad.parse::<BlobName>().unwrap_err();
            assert_eq!(e.name(), bad);
            assert_eq!(e.to_string(), format!("not a blob name: {bad:?}"));
        }
    }

    #[test]
    fn stored_names_carry_the_encoding() {
        for n in [
            BlobName::Snapshot(7),
            BlobName::Delta { from: 7, to: 8 },
            BlobName::ReverseDelta { from: 8, to: 7 },
        ] {
            for encoding in Encoding::ALL {
                let s = StoredName { name: n, encoding };
                assert_eq!(s.to_string().parse::<StoredName>().unwrap(), s);
            }
        }
        assert_eq!(
            "snapshot-7.zst".parse::<StoredName>().unwrap(),
            StoredName {
                name: BlobName::Snapshot(7),
                encoding: Encoding::Zstd
            }
        );
        // A stored name is not a blob name, and other suffixes are neither.
        assert!("snapshot-7.zst".parse::<BlobName>().is_err());
        for bad in [
            "snapshot-7.zst.zst",
            "snapshot-7.gz",
            ".zst",
            "snapshot-.zst",
        ] {
            let e = bad.parse::<StoredName>().unwrap_err();
            assert_eq!(e.name(), bad);
        }
    }
}

//! The integrity check of a cycle's blobs, before anything is published.

use std::collections::BTreeSet;
use std::io::{Seek, SeekFrom};
use std::sync::Arc;

use super::publish::BlobFile;
use super::Producer;
use crate::blob::BlobName;
use crate::error::{Error, ErrorKind};
use crate::read_state::{BlobBytes, LoadedBlob, ReadState};

/// Applying a delta or reverse delta to check it gives the pages of the
/// blobs it reads (the state's snapshot, the delta) back to the kernel
/// after every this many records removed or added. A delta removes records
/// spread over the whole snapshot (a cycle's changed records), and the
/// kernel maps a file's pages 16 at a time around each one read, so
/// without this the check of a 1 % delta brings most of the previous
/// snapshot into the producer's resident memory, and the reverse delta's
/// most of the new one; with it, the pages of the last few records.
const GIVE_BACK_EVERY: u32 = 64;

/// What the write state holds for a type after a cycle: the record count
/// and checksum its blobs must lead to.
pub(super) struct Expected<'a> {
    pub(super) name: &'a str,
    pub(super) count: u32,
    pub(super) checksum: u64,
}

/// The checks of one version's blobs, and the errors they report.
struct Check<'a> {
    version: u64,
    expected: &'a [Expected<'a>],
}

impl Producer {
    /// Checks the blobs of a cycle before anything is published, and
    /// returns the new version's read state:
    ///
    /// - the delta, applied to the previous read state, must give every
    ///   type the record count and checksum the write state expects (and
    ///   that the delta's header promises);
    /// - the snapshot must promise the same counts and checksums;
    /// - the reverse delta, applied to the new state, must give back the
    ///   previous read state: the same tag, and every type's record count
    ///   and checksum (and what the reverse delta's header promises).
    ///
    /// Checksums mix each record's hash with its ordinal, so a record
    /// missing, added, changed or at another ordinal is caught.
    pub(super) fn check_integrity(
        &self,
        version: u64,
        blobs: &[(BlobName, BlobFile)],
        expected: &[Expected<'_>],
    ) -> Result<ReadState, Error> {
        let check = Check { version, expected };
        let find = |pick: fn(&BlobName) -> bool| blobs.iter().find(|(n, _)| pick(n));
        let snapshot = find(|n| matches!(n, BlobName::Snapshot(_)));
        let delta = find(|n| matches!(n, BlobName::Delta { .. }));
        let reverse = find(|n| matches!(n, BlobName::ReverseDelta { .. }));
        let via_delta = match (&self.read, delta) {
            (Some(prev), Some((name, bytes))) => {
                let d = check.apply(prev, *name, bytes)?;
                check.expected_in(&d, *name)?;
                // The previous state's blobs were read through: give their
                // pages back before the new snapshot is read.
                self.read_files
                    .iter()
                    .for_each(super::publish::give_back_pages);
                Some(d)
            }
            _ => None,
        };
        let via_snapshot = match snapshot {
            Some((name, bytes)) => {
                let s = ReadState::from_snapshot(check.load(*name, bytes)?, None)
                    .map_err(|e| check.unreadable(*name, e))?;
                // Its header and bitmaps were read (and, for a type with
                // maps or sets, every record, to check their order).
                super::publish::give_back_pages(bytes);
                check.expected_in(&s, *name)?;
                Some(s)
            }
            None => None,
        };
        // Keep the snapshot-based state when there is one: it reads from
        // one blob.
        let next = match (via_snapshot, via_delta) {
            (Some(s), _) | (None, Some(s)) => s,
            (None, None) => {
                return Err(Error::new(
                    ErrorKind::Integrity,
                    format!("integrity check of version {version}: the cycle produced neither a snapshot nor a delta"),
                ))
            }
        };
        match (&self.read, reverse) {
            (Some(prev), Some((name, bytes))) => check.leads_back(prev, &next, *name, bytes)?,
            (None, Some(_)) => {
                return Err(Error::new(
                    ErrorKind::Integrity,
                    format!("integrity check of version {version}: a reverse delta without a previous state"),
                ))
            }
            _ => {}
        }
        Ok(next)
    }
}

impl Check<'_> {
    fn unreadable(&self, name: BlobName, e: Error) -> Error {
        Error::with_source(
            ErrorKind::Integrity,
            format!(
                "integrity check of version {}: {name} does not read",
                self.version
            ),
            e,
        )
    }

    /// Opens blob `name` from its file. The whole-file checksum is
    /// verified by reading the file in pieces, not through its map: the
    /// check brings into memory only the pages the read state reads (a
    /// snapshot's header and bitmaps), not the whole blob.
    fn load(&self, name: BlobName, file: &BlobFile) -> Result<Arc<LoadedBlob>, Error> {
        let shown = name.to_string();
        let mut f: &std::fs::File = &file.1;
        f.seek(SeekFrom::Start(0)).map_err(|e| {
            let e = Error::with_source(ErrorKind::Io, format!("reading {name} back"), e);
            self.unreadable(name, e)
        })?;
        crate::blob::verify_checksum_stream(&shown, f, file.0.len() as u64).map_err(|e| {
            let e = Error::with_source(ErrorKind::CorruptBlob, e.to_string(), e);
            self.unreadable(name, e)
        })?;
        LoadedBlob::open_prechecked(name, BlobBytes::Mapped(file.clone()))
            .map(Arc::new)
            .map_err(|e| self.unreadable(name, e))
    }

    /// Applies blob `name` to `state`, giving the pages of the blobs read
    /// back as it goes (see [`GIVE_BACK_EVERY`]).
    fn apply(
        &self,
        state: &ReadState,
        name: BlobName,
        bytes: &BlobFile,
    ) -> Result<ReadState, Error> {
        let blob = self.load(name, bytes)?;
        state.apply_giving_back(blob, GIVE_BACK_EVERY).map_err(|e| {
            Error::with_source(
                ErrorKind::Integrity,
                format!(
                    "integrity check of version {}: applying {name} to version {} failed",
                    self.version,
                    state.version()
                ),
                e,
            )
        })
    }

    /// Checks that `state`, which blob `name` led to, holds every type's
    /// expected record count and checksum.
    fn expected_in(&self, state: &ReadState, name: BlobName) -> Result<(), Error> {
        let holds = |t: &Expected<'_>| {
            state.count(t.name) == t.count as usize
                && state.checksum(t.name).unwrap_or(0) == t.checksum
        };
        match self.expected.iter().find(|t| !holds(t)) {
            None => Ok(()),
            Some(t) => Err(Error::new(
                ErrorKind::Integrity,
                format!(
                    "integrity check of version {} failed for type {}: {name} gives {} \
                     records (checksum {:016x}), the producer's state has {} (checksum {:016x})",
                    self.version,
                    t.name,
                    state.count(t.name),
                    state.checksum(t.name).unwrap_or(0),
                    t.count,
                    t.checksum
                ),
            )),
        }
    }

    /// Checks that reverse delta `name`, applied to `next`, gives back
    /// `prev`: every type's record count and checksum, and the state tag.
    fn leads_back(
        &self,
        prev: &ReadState,
        next: &ReadState,
        name: BlobName,
        bytes: &BlobFile,
    ) -> Result<(), Error> {
        let version = self.version;
        let back = self.apply(next, name, bytes)?;
        let names = self
            .expected
            .iter()
            .map(|t| t.name)
            .chain(prev.type_names())
            .collect::<BTreeSet<_>>();
        for type_name in names {
            let (count, checksum) = (back.count(type_name), back.checksum(type_name).unwrap_or(0));
            let (want_count, want) = (prev.count(type_name), prev.checksum(type_name).unwrap_or(0));
            if count != want_count || checksum != want {
                return Err(Error::new(
                    ErrorKind::Integrity,
                    format!(
                        "integrity check of version {version} failed for type {type_name}: \
                         {name} gives {count} records (checksum {checksum:016x}), version {} \
                         has {want_count} (checksum {want:016x})",
                        prev.version()
                    ),
                ));
            }
        }
        if back.tag() != prev.tag() {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!(
                    "integrity check of version {version} failed: {name} leads to state \
                     {:016x}, not to version {}'s state {:016x}",
                    back.tag(),
                    prev.version(),
                    prev.tag()
                ),
            ));
        }
        Ok(())
    }
}

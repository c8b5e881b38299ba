//! Rewriting a state as one local snapshot: how a consumer reclaims the
//! space of dead records and reads every record from one place again.
//!
//! A state made by deltas reads each record changed since its snapshot
//! from the delta that added it, and keeps every blob it ever applied
//! mapped: the records those blobs replaced are dead space, and a changed
//! record costs a reader one more lookup (its location in the ordinal
//! table) than an unchanged one. [`ReadState::rewritten`] copies the live
//! records, ordinal for ordinal, into a new snapshot blob held in memory
//! and returns the same version read from it alone. Ordinals do not
//! change, so the indexes are shared as they are.

use std::sync::Arc;

use super::{LoadedBlob, ReadState, TypeRead};
use crate::bits::Bits;
use crate::blob::{
    snapshot_section, snapshot_shards, BlobKind, BlobName, BlobWriter, SectionInfo, SectionOptions,
};
use crate::error::{Error, ErrorKind};
use crate::read_state::BlobBytes;

impl ReadState {
    /// The records read from blobs other than the base snapshot (changed
    /// or added since it was loaded), over all types: what
    /// [`ReadState::rewritten`] brings back to one place.
    pub fn records_outside_base(&self) -> u64 {
        self.types
            .iter()
            .map(|t| {
                let at_base: u64 = t
                    .table
                    .at_base_words()
                    .iter()
                    .map(|w| w.count_ones() as u64)
                    .sum::<u64>()
                    + u64::from(t.later_base);
                (t.count as u64).saturating_sub(at_base)
            })
            .sum()
    }

    /// The records of the state, over all types.
    pub fn record_count(&self) -> u64 {
        self.types.iter().map(|t| t.count as u64).sum()
    }

    /// How many blobs this state reads from (as [`ReadState::blob_names`]
    /// lists them).
    pub(crate) fn blob_count(&self) -> usize {
        self.distinct_blobs().count()
    }

    /// Bytes of the blobs this state reads from (the snapshot and every
    /// delta applied since, live records and dead ones).
    pub fn blob_bytes(&self) -> u64 {
        self.distinct_blobs().map(|b| b.bytes().len() as u64).sum()
    }

    /// The same version, rewritten as one snapshot held in memory: every
    /// live record copied, at its ordinal, out of the blobs this state
    /// reads from. The new state holds none of those blobs, reads every
    /// record with no lookup through the ordinal table, and shares this
    /// state's indexes (ordinals are unchanged). Deltas apply to it as to
    /// this state. Its one blob is named `snapshot-<version>`
    /// ([`ReadState::blob_names`]), as a published snapshot of the version
    /// would be, but is held in memory only (on 2 MiB pages where the
    /// kernel grants them), never written to a store or a cache.
    ///
    /// Each type's records are checked against the type's checksum on the
    /// way (as a producer's integrity check does), so a rewrite never
    /// serves records other than the version's.
    ///
    /// [`Consumer::reclaim`](crate::Consumer::reclaim) does this for the
    /// version a consumer holds.
    ///
    /// # Errors
    /// [`ErrorKind::CorruptBlob`]: a record cannot be read or does not fit
    /// its type's size in the schema, or a type's records do not add up
    /// to its checksum.
    pub fn rewritten(&self) -> Result<ReadState, Error> {
        let version = self.version;
        let fail = |what: String| {
            Error::new(
                ErrorKind::CorruptBlob,
                format!("rewriting version {version}: {what}"),
            )
        };
        let mut writer = BlobWriter::new(BlobKind::Snapshot, version, version, 0, self.tag);
        for t in &self.types {
            // A type past what one section holds is written in shards.
            for (info, bytes) in self.rewrite_type(t).map_err(&fail)? {
                writer.add_section(info, bytes);
            }
        }
        // A snapshot has a section for every record type of its schema: the
        // types this state does not hold (a filtering consumer's) get empty
        // ones.
        for r in self.schema.records() {
            if !self.index.contains_key(&r.name) {
                let empty = snapshot_section(r.size, 0, &[], std::iter::empty())
                    .map_err(|e| fail(format!("type {}: {e}", r.name)))?;
                writer.add_section(SectionInfo::snapshot(r.name.clone(), 0, 0), empty);
            }
        }
        // Written straight into the memory it is read from: the sections
        // are copied once more, not twice.
        let len = writer
            .finished_len(&self.schema, &self.header_tags)
            .map_err(|e| fail(e.to_string()))?;
        let bytes = BlobBytes::on_huge_pages(len as usize, |mut out: &mut [u8]| {
            writer
                .write_to_writer(&self.schema, &self.header_tags, &mut out)
                .map(drop)
                .map_err(|e| fail(e.to_string()))
        })?;
        drop(writer);
        let blob = LoadedBlob::open(BlobName::Snapshot(version), bytes)?;
        let mut out = ReadState::from_snapshot_checked(
            Arc::new(blob),
            self.only.as_deref(),
            self.checks.clone(),
        )?;
        out.indexes = Arc::new(self.indexes.sharing());
        out.index_update = self.index_update;
        out.index_updates = self.index_updates.clone();
        Ok(out)
    }

    /// Type `t`'s snapshot section (or sections, shards by ordinal range,
    /// when it passes what one section holds), with their header entries.
    fn rewrite_type(&self, t: &TypeRead) -> Result<Vec<(SectionInfo, Vec<u8>)>, String> {
        let name = &t.name;
        let size = self
            .schema
            .get_struct(name)
            .ok_or_else(|| format!("type {name} is not in the schema"))?
            .size;
        let limit = t.table.limit();
        let mut populated = Bits::default();
        // Every record's canonical bytes, one after another.
        let mut all: Vec<u8> = Vec::new();
        let mut ends: Vec<(u32, usize)> = Vec::with_capacity(t.count as usize);
        let (_, checksum) = self
            .walk_records(t, &mut Vec::new(), |o, b| {
                all.extend_from_slice(b);
                populated.set(o, true);
                ends.push((o, all.len()));
            })
            .map_err(|e| format!("{name} {e}"))?;
        if checksum != t.checksum || ends.len() != t.count as usize {
            return Err(format!(
                "type {name}: {} records with checksum {checksum:016x}, but the version has {} \
                 with checksum {:016x}",
                ends.len(),
                t.count,
                t.checksum
            ));
        }
        // The canonical bytes of ordinal `o` (walked in ascending order).
        let record = |o: u32| {
            let k = ends.partition_point(|&(x, _)| x < o);
            let start = k.checked_sub(1).map_or(0, |p| ends[p].1);
            ends.get(k)
                .filter(|&&(x, _)| x == o)
                .map_or(&[][..], |&(_, e)| &all[start..e])
        };
        snapshot_shards(
            SectionOptions::default(),
            name,
            size,
            limit,
            &populated.words(limit),
            record,
            (t.count, t.checksum),
        )
        .map_err(|e| format!("type {name}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_state::tests::{snapshot, Item};

    #[test]
    fn a_rewrite_keeps_ordinals_and_refuses_records_off_their_checksum() {
        let state = snapshot();
        let again = state.rewritten().unwrap();
        assert_eq!((again.version(), again.tag()), (3, 0xfeed));
        let names = |s: &ReadState| -> Vec<(u32, u64, String)> {
            s.records::<Item>()
                .iter()
                .map(|(o, r)| (o, r.id(), r.name().to_string()))
                .collect()
        };
        assert_eq!(names(&again), names(&state));
        assert_eq!(
            names(&again).iter().map(|x| x.0).collect::<Vec<_>>(),
            [0, 2, 3]
        );
        assert_eq!(again.records::<Item>().ordinal_limit(), 5);

        // Records that do not add up to the version's checksum are not
        // served: the rewrite fails, naming the type and both checksums.
        let mut off = state.clone();
        off.types[0].checksum ^= 1;
        let e = off.rewritten().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CorruptBlob);
        let msg = e.to_string();
        assert!(
            msg.contains("version 3") && msg.contains("type Item") && msg.contains("checksum"),
            "{msg}"
        );
    }
}

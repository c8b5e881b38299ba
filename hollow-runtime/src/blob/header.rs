//! [`BlobHeader`] and [`SectionInfo`]: the header as plain Rust values.

use hollow_schema::Schema;

use super::envelope::{HeaderWire, SchemaWire, TagWire};
use crate::Hollow;

/// One entry of the header's directory: where a record type's section is,
/// and what it holds.
///
/// It is also the `Section` struct of `schemas/hollow.capnp` that the
/// header stores, field for field, so the directory is written and read
/// without a copy into another type.
#[derive(Hollow, Clone, Debug, PartialEq, Eq, Default)]
#[hollow(crate = "crate", nested, rename = "Section")]
pub struct SectionInfo {
    /// The record type (a struct name of the schema).
    pub type_name: String,
    /// Byte offset of the section from the start of the blob (a multiple of
    /// 8). Set by [`BlobWriter`](super::BlobWriter).
    pub offset: u64,
    /// Length of the section in bytes (a multiple of 8). Set by
    /// [`BlobWriter`](super::BlobWriter).
    pub length: u64,
    /// XXH3-64 (seed 0) of the section's bytes. Set by
    /// [`BlobWriter`](super::BlobWriter).
    pub checksum: u64,
    /// Snapshot: populated records. Delta: added records.
    pub record_count: u32,
    /// Delta: removed ordinals. Snapshot: 0.
    pub removed_count: u32,
    /// The end of the section's ordinal range. For a type's only (or last)
    /// section: snapshot, the length of the records list (max ordinal + 1);
    /// delta and reverse delta, the ordinal limit of the newer of the two
    /// states (the producer's limit at the higher version), which every
    /// removed and added ordinal is below. For an earlier shard: where the
    /// next one starts.
    pub ordinal_limit: u32,
    /// Records of this type in the state after the blob is applied (the
    /// type's, the same in each of its shards).
    pub state_count: u32,
    /// The producer's checksum of the type's state after the blob is applied
    /// (opaque to the blob format).
    pub state_checksum: u64,
    /// The first ordinal of the section's range: a type's sections
    /// (shards) cover consecutive ordinal ranges, each
    /// `[first_ordinal, ordinal_limit)`, the first starting at 0 and each
    /// next one where the previous ends. 0 for a type's only section.
    pub first_ordinal: u32,
}

impl SectionInfo {
    /// A snapshot section's entry: `record_count` populated ordinals out of
    /// `ordinal_limit`; `state_count` is `record_count`, the rest 0.
    pub fn snapshot(type_name: impl Into<String>, record_count: u32, ordinal_limit: u32) -> Self {
        SectionInfo {
            type_name: type_name.into(),
            record_count,
            ordinal_limit,
            state_count: record_count,
            ..SectionInfo::default()
        }
    }

    /// A delta section's entry: `added` records and `removed` ordinals,
    /// every one below `ordinal_limit` (the newer state's ordinal limit),
    /// leaving `state_count` records; the rest 0.
    pub fn delta(
        type_name: impl Into<String>,
        added: u32,
        removed: u32,
        state_count: u32,
        ordinal_limit: u32,
    ) -> Self {
        SectionInfo {
            type_name: type_name.into(),
            record_count: added,
            removed_count: removed,
            ordinal_limit,
            state_count,
            ..SectionInfo::default()
        }
    }
}

/// The blob header: tags, the dataset schema and the section directory.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BlobHeader {
    /// Key/value tags set by the producer, in order.
    pub tags: Vec<(String, String)>,
    /// The dataset schema the records are written in (with layout, keys and
    /// docs).
    pub schema: Schema,
    /// One entry per section, in the order the sections are in the blob
    /// (a type in several sections, shards by ordinal range, has an entry
    /// for each).
    pub sections: Vec<SectionInfo>,
}

impl BlobHeader {
    /// The header as the `BlobHeader` Cap'n Proto struct.
    pub(crate) fn to_wire(&self) -> HeaderWire {
        HeaderWire {
            tags: self
                .tags
                .iter()
                .map(|(k, v)| TagWire {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
            schema: SchemaWire::from_schema(&self.schema),
            sections: self.sections.clone(),
        }
    }

    /// The header read back from the `BlobHeader` Cap'n Proto struct.
    ///
    /// # Errors
    /// The schema is inconsistent (see [`SchemaWire::to_schema`]).
    pub(crate) fn from_wire(w: HeaderWire) -> Result<BlobHeader, String> {
        Ok(BlobHeader {
            tags: w.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            schema: w.schema.to_schema()?,
            sections: w.sections,
        })
    }

    /// The (first) directory entry of `type_name`: its only one, unless the
    /// type is in several sections (shards), which all state its
    /// `state_count` and `state_checksum`.
    pub fn section(&self, type_name: &str) -> Option<&SectionInfo> {
        self.sections.iter().find(|s| s.type_name == type_name)
    }

    /// The value of tag `key` (the first, if repeated).
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

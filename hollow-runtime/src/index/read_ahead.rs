//! Reading ahead during an update: the records a delta removes and adds
//! are scattered over their blobs, so each is asked of memory a few
//! records before its keys are read, and only as deep as the index's key
//! goes (a key in the record's data section needs the record alone).

use hollow_schema::{Field, FieldKind, Key, Schema, Storage, Type};

use super::data::AtFn;

/// What reading an index's keys follows from a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyReads {
    /// Bit `i`: the key is read through the record's pointer `i` (all
    /// bits: any pointer, also past the 64th).
    pointers: u64,
    /// Whether one of those is a list of pointers whose targets the key
    /// reads (the texts of a list of texts).
    through_lists: bool,
}

impl KeyReads {
    /// Every pointer and every list's first targets: what is read ahead
    /// for a key whose fields are not known.
    pub(crate) const ALL: KeyReads = KeyReads {
        pointers: u64::MAX,
        through_lists: true,
    };

    /// Nothing but the record itself.
    const NONE: KeyReads = KeyReads {
        pointers: 0,
        through_lists: false,
    };

    /// What reading key `key` of type `type_name`, as `schema` lays it
    /// out, follows; [`KeyReads::ALL`] when the key, the type or a field
    /// of the key is not found there.
    pub(crate) fn of(schema: &Schema, type_name: &str, key: Option<&Key>) -> KeyReads {
        let (Some(st), Some(key)) = (schema.get_struct(type_name), key) else {
            return KeyReads::ALL;
        };
        let mut reads = KeyReads::NONE;
        for path in &key.paths {
            let Some(r) = path_reads(st.members(), &path.segments) else {
                return KeyReads::ALL;
            };
            reads.pointers |= r.pointers;
            reads.through_lists |= r.through_lists;
        }
        reads
    }

    /// Asks memory, a few records ahead of record `k` of `at`, for what
    /// reading their keys reads, in stages (each stage reads what the one
    /// before fetched): the record; the targets of the pointers the key
    /// goes through; the texts of such a list of texts.
    #[inline]
    pub(crate) fn prefetch_ahead(&self, at: &AtFn<'_>, k: usize) {
        if let Some(r) = at(k + 16) {
            r.prefetch();
        }
        if self.pointers != 0 {
            if let Some(r) = at(k + 8) {
                r.prefetch_targets(1, self.pointers);
            }
        }
        if self.through_lists {
            if let Some(r) = at(k + 4) {
                r.prefetch_targets(2, self.pointers);
            }
        }
    }
}

/// What path `segments`, looked up among `fields`, reads (`None`: not
/// found, or a pointer past the 64th).
fn path_reads<'a>(
    mut fields: impl Iterator<Item = &'a Field>,
    segments: &[String],
) -> Option<KeyReads> {
    let (first, rest) = segments.split_first()?;
    let field = fields.find(|f| f.name == *first)?;
    match &field.kind {
        // Members of groups and unions sit in the record's own sections.
        FieldKind::Group(g) => path_reads(g.fields.iter(), rest),
        FieldKind::Union(u) => path_reads(u.variants.iter(), rest),
        // A path continuing past a slot goes into a map's entries
        // (`titles.key`): its list is read ahead, not what the entries
        // point to (read ahead only through lists of pointers).
        FieldKind::Slot(slot) => match slot.ty.storage() {
            Storage::Pointer if slot.offset < 64 => Some(KeyReads {
                pointers: 1 << slot.offset,
                through_lists: rest.is_empty()
                    && matches!(&slot.ty, Type::List(t) if t.storage() == Storage::Pointer),
            }),
            Storage::Pointer => None,
            Storage::Data(_) | Storage::Void => Some(KeyReads::NONE),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Struct;
    use crate::Hollow;

    #[derive(Hollow)]
    #[hollow(crate = "crate")]
    struct Inner {
        id: u64,
        name: String,
    }

    #[derive(Hollow)]
    #[hollow(crate = "crate", primary_key(id))]
    struct Outer {
        title: String,
        id: u64,
        tags: Vec<String>,
        nums: Vec<u32>,
        inner: Inner,
        titles: std::collections::BTreeMap<String, String>,
    }

    fn reads(key: &str) -> KeyReads {
        let key = Key::parse(key).unwrap();
        KeyReads::of(Outer::schema(), "Outer", Some(&key))
    }

    /// Pointers are numbered in field order here (the compiler's layout
    /// for these fields): title 0, tags 1, nums 2, inner 3, titles 4.
    #[test]
    fn a_key_reads_only_the_pointers_its_fields_go_through() {
        assert_eq!(reads("id"), KeyReads::NONE);
        assert_eq!(
            reads("title"),
            KeyReads {
                pointers: 0b1,
                through_lists: false
            }
        );
        assert_eq!(
            reads("tags"),
            KeyReads {
                pointers: 0b10,
                through_lists: true
            }
        );
        assert_eq!(
            reads("nums, id"),
            KeyReads {
                pointers: 0b100,
                through_lists: false
            }
        );
        assert_eq!(
            reads("inner.id, title"),
            KeyReads {
                pointers: 0b1001,
                through_lists: false
            }
        );
        // A map's keys or values: its list of entries.
        for key in ["titles.key", "titles.value"] {
            assert_eq!(
                reads(key),
                KeyReads {
                    pointers: 0b10000,
                    through_lists: false
                },
                "{key}"
            );
        }
        // Unknown: everything.
        assert_eq!(reads("nope"), KeyReads::ALL);
        assert_eq!(KeyReads::of(Outer::schema(), "Other", None), KeyReads::ALL);
        let id = Key::parse("id").unwrap();
        assert_eq!(
            KeyReads::of(Outer::schema(), "Missing", Some(&id)),
            KeyReads::ALL
        );
    }
}

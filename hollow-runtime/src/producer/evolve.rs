//! Schema evolution across a restore: may a producer whose record type
//! changed continue a history written with the type's older schema?
//!
//! Cap'n Proto lets a struct gain fields (new ordinals, in space the old
//! layout left free or after its end) and an enum or union gain members at
//! the end; an old reader skips what it does not know and a new reader
//! reads absent fields as defaults. Anything else (a field's type, ordinal
//! or offset changed, a field or enumerant removed or renamed) would make
//! old and new bytes disagree, and is refused here, naming type and field.
//!
//! A compatible change needs no re-encoding: the canonical bytes of an old
//! record are exactly those of the same record built with the new type (its
//! new fields at their defaults are trailing zero words or null pointers,
//! which the canonical form strips), so identical records still dedupe and
//! keep their ordinals, and blob sections sized for the new type hold the old
//! records as they are.
//!
//! ```text
//! old: struct Movie { id @0 :UInt64; title @1 :Text; }
//! new: struct Movie { id @0 :UInt64; title @1 :Text; tagline @2 :Text; }  // accepted
//! new: struct Movie { id @0 :UInt32; title @1 :Text; }                    // refused: id's type
//! ```

use hollow_schema::{Field, FieldKind, Schema, StructType, TypeDef, Union};

/// Checks that every type of `old` (the restored version's schema) that
/// `new` (the producer's types) also defines only gained members.
///
/// # Errors
/// A description naming the type and member that changed or disappeared.
pub(crate) fn check_compatible(old: &Schema, new: &Schema, version: u64) -> Result<(), String> {
    for def in &new.types {
        let Some(before) = old.get(def.name()) else {
            continue;
        };
        match (before, def) {
            (TypeDef::Struct(a), TypeDef::Struct(b)) => check_struct(a, b).map_err(|e| {
                format!(
                    "type {} changed incompatibly since version {version}: {e}",
                    b.name
                )
            })?,
            (TypeDef::Enum(a), TypeDef::Enum(b)) => {
                for (i, e) in a.enumerants.iter().enumerate() {
                    match b.enumerants.get(i) {
                        Some(n) if n.name == e.name => {}
                        Some(n) => {
                            return Err(format!(
                            "enum {} changed incompatibly since version {version}: enumerant {i} \
                                 was {:?}, is now {:?} (enumerants may only be added at the end)",
                            b.name, e.name, n.name
                        ))
                        }
                        None => {
                            return Err(format!(
                            "enum {} changed incompatibly since version {version}: enumerant {:?} \
                                 was removed",
                            b.name, e.name
                        ))
                        }
                    }
                }
            }
            _ => {
                return Err(format!(
                "type {} is a struct in one schema and an enum in the other (version {version})",
                def.name()
            ))
            }
        }
    }
    Ok(())
}

fn check_struct(old: &StructType, new: &StructType) -> Result<(), String> {
    check_members("", &old.fields, &new.fields)?;
    match (&old.unnamed_union, &new.unnamed_union) {
        (None, _) => {}
        (Some(_), None) => return Err("its unnamed union was removed".into()),
        (Some(a), Some(b)) => check_union("(unnamed union)", a, b)?,
    }
    if new.size.data_words < old.size.data_words || new.size.pointers < old.size.pointers {
        return Err(format!(
            "its sections shrank from {} data words and {} pointers to {} and {}",
            old.size.data_words, old.size.pointers, new.size.data_words, new.size.pointers
        ));
    }
    Ok(())
}

fn check_members(prefix: &str, old: &[Field], new: &[Field]) -> Result<(), String> {
    for f in old {
        let path = format!("{prefix}{}", f.name);
        let Some(g) = new.iter().find(|g| g.name == f.name) else {
            return Err(format!(
                "field {path} was removed (fields may only be added)"
            ));
        };
        check_field(&path, f, g)?;
    }
    Ok(())
}

fn check_field(path: &str, old: &Field, new: &Field) -> Result<(), String> {
    match (&old.kind, &new.kind) {
        (FieldKind::Slot(a), FieldKind::Slot(b)) => {
            if a.ty != b.ty {
                return Err(format!(
                    "field {path} changed type from {} to {}",
                    a.ty, b.ty
                ));
            }
            if a.ordinal != b.ordinal || a.offset != b.offset {
                return Err(format!(
                    "field {path} moved from @{} (offset {}) to @{} (offset {})",
                    a.ordinal, a.offset, b.ordinal, b.offset
                ));
            }
            Ok(())
        }
        (FieldKind::Group(a), FieldKind::Group(b)) => {
            check_members(&format!("{path}."), &a.fields, &b.fields)
        }
        (FieldKind::Union(a), FieldKind::Union(b)) => check_union(path, a, b),
        _ => Err(format!("field {path} changed kind (value, group or union)")),
    }
}

fn check_union(path: &str, old: &Union, new: &Union) -> Result<(), String> {
    if old.discriminant_offset != new.discriminant_offset {
        return Err(format!("union {path} moved its discriminant"));
    }
    for (i, v) in old.variants.iter().enumerate() {
        match new.variants.get(i) {
            Some(n) if n.name == v.name => check_field(&format!("{path}.{}", v.name), v, n)?,
            _ => {
                return Err(format!(
                    "union {path}: member {:?} was removed or reordered (members may only be \
                     added at the end)",
                    v.name
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hollow_schema::{Slot, StructSize, Type};

    fn slot(name: &str, ordinal: u16, ty: Type, offset: u32) -> Field {
        Field {
            name: name.into(),
            doc: None,
            kind: FieldKind::Slot(Slot {
                ordinal,
                ty,
                offset,
            }),
        }
    }

    fn schema(fields: Vec<Field>, size: StructSize) -> Schema {
        let mut s = Schema::new();
        s.insert(TypeDef::Struct(StructType {
            name: "Movie".into(),
            doc: None,
            is_record: true,
            fields,
            unnamed_union: None,
            size,
            primary_key: None,
            unique_keys: Vec::new(),
            hash_indexes: Vec::new(),
        }));
        s
    }

    fn size(data_words: u16, pointers: u16) -> StructSize {
        StructSize {
            data_words,
            pointers,
        }
    }

    #[test]
    fn added_field_is_accepted_and_changes_are_refused() {
        let v1 = schema(
            vec![
                slot("id", 0, Type::UInt64, 0),
                slot("title", 1, Type::Text, 0),
            ],
            size(1, 1),
        );
        let v2 = schema(
            vec![
                slot("id", 0, Type::UInt64, 0),
                slot("title", 1, Type::Text, 0),
                slot("tagline", 2, Type::Text, 1),
            ],
            size(1, 2),
        );
        assert_eq!(check_compatible(&v1, &v2, 3), Ok(()));
        let err = check_compatible(&v2, &v1, 3).unwrap_err();
        assert!(
            err.contains("type Movie") && err.contains("field tagline was removed"),
            "{err}"
        );
        let retyped = schema(
            vec![
                slot("id", 0, Type::UInt32, 0),
                slot("title", 1, Type::Text, 0),
            ],
            size(1, 1),
        );
        let err = check_compatible(&v1, &retyped, 3).unwrap_err();
        assert!(
            err.contains("type Movie")
                && err.contains("field id changed type from UInt64 to UInt32"),
            "{err}"
        );
    }
}

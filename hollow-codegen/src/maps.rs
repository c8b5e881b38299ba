//! Map and set fields (`$Hollow.map`, `$Hollow.set`; `docs/maps-and-sets.md`):
//! which structs are map entries only, and which types are keys.
//!
//! A map field's entry struct is built by the derive from the field's
//! `BTreeMap<K, V>` (or `HashMap`), so a struct used only as map entries is
//! not generated as a Rust type of its own. Map keys and set elements must
//! implement `Ord` and `Hash` (`hollow_core::map::MapKey`): a key struct
//! is generated with those derives and `#[hollow(map_key)]`, and a key enum
//! (also one a key struct holds) with `PartialOrd, Ord`.

use std::collections::HashSet;

use hollow_schema::{Collection, Field, FieldKind, Schema, Type, TypeDef};

/// How the structs and enums of a schema take part in maps and sets.
#[derive(Debug, Default)]
pub(crate) struct Uses {
    /// Structs used only as the entries of map fields (and not records).
    pub(crate) entry_only: HashSet<String>,
    /// Structs used as map keys or set elements.
    pub(crate) key_structs: HashSet<String>,
    /// Enums used as map keys or set elements, or held by a key struct.
    pub(crate) key_enums: HashSet<String>,
}

/// The struct a map field's type `List(Entry)` names.
pub(crate) fn entry_of(ty: &Type) -> Option<&str> {
    match ty {
        Type::List(elem) => match &**elem {
            Type::Struct(name) => Some(name),
            _ => None,
        },
        _ => None,
    }
}

/// What every struct and enum of `schema` is to maps and sets (the schema
/// is validated: every marked field has its shape).
pub(crate) fn uses(schema: &Schema) -> Uses {
    let mut walk = Walk {
        schema,
        entries: HashSet::new(),
        other: HashSet::new(),
        uses: Uses::default(),
    };
    for t in &schema.types {
        if let TypeDef::Struct(s) = t {
            if s.is_record {
                walk.other.insert(s.name.clone());
            }
            s.members().for_each(|f| walk.field(f));
        }
    }
    let Walk {
        entries,
        other,
        mut uses,
        ..
    } = walk;
    uses.entry_only = entries.difference(&other).cloned().collect();
    uses
}

struct Walk<'s> {
    schema: &'s Schema,
    /// Structs named as a map field's entries.
    entries: HashSet<String>,
    /// Structs referred to any other way.
    other: HashSet<String>,
    uses: Uses,
}

impl Walk<'_> {
    fn field(&mut self, f: &Field) {
        match &f.kind {
            FieldKind::Slot(slot) => {
                let elem = match &slot.ty {
                    Type::List(elem) => Some(&**elem),
                    _ => None,
                };
                match (slot.collection, elem) {
                    (Some(Collection::Map), Some(_)) => {
                        let entry = entry_of(&slot.ty).unwrap_or_default();
                        self.entries.insert(entry.to_string());
                        let key = self
                            .schema
                            .get_struct(entry)
                            .and_then(|e| e.fields.first())
                            .and_then(Field::as_slot)
                            .map(|k| k.ty.clone());
                        if let Some(key) = key {
                            self.key(&key);
                        }
                        return;
                    }
                    (Some(Collection::Set), Some(elem)) => self.key(elem),
                    _ => {}
                }
                let mut t = &slot.ty;
                while let Type::List(inner) = t {
                    t = inner;
                }
                if let Type::Struct(n) = t {
                    self.other.insert(n.clone());
                }
            }
            FieldKind::Group(g) => g.fields.iter().for_each(|f| self.field(f)),
            FieldKind::Union(u) => u.variants.iter().for_each(|f| self.field(f)),
        }
    }

    /// `ty` is a map key or set element.
    fn key(&mut self, ty: &Type) {
        match ty {
            Type::Enum(n) => {
                self.uses.key_enums.insert(n.clone());
            }
            Type::Struct(n) => {
                self.uses.key_structs.insert(n.clone());
                let enums = self.schema.get_struct(n).into_iter().flat_map(|s| {
                    s.fields.iter().filter_map(|f| match f.as_slot() {
                        Some(x) => match &x.ty {
                            Type::Enum(e) => Some(e.clone()),
                            _ => None,
                        },
                        None => None,
                    })
                });
                self.uses.key_enums.extend(enums);
            }
            _ => {}
        }
    }
}

//! The schema-driven dynamic reader: any record of any type, read with the
//! schema stored in the blob header and no generated code.
//!
//! [`DynamicSchema::new`] resolves a [`Schema`] once (type references,
//! layouts, primary keys) and refuses one it cannot interpret with an error
//! naming the type and field. [`DynamicSchema::record`] then wraps a record's
//! [`StructReader`] as a [`DynRecord`], which
//! - serializes as JSON through `serde` ([`DynRecord::write_json`],
//!   [`DynRecord::to_json`]) while walking the wire, with no intermediate
//!   tree;
//! - reads its primary key ([`DynRecord::key`]), which
//!   [`DynamicSchema::parse_key`] also parses from text;
//! - compares itself field by field with another record of its type
//!   ([`DynRecord::compare`]), maps key by key and sets element by
//!   element;
//! - checks the stored order of its maps and sets
//!   ([`DynRecord::check_order`]).
//!
//! Every read is bounds-checked: bytes that do not hold what the schema
//! says give an error naming the type and field, never a panic.
//!
//! # JSON form
//!
//! | Cap'n Proto | JSON |
//! |---|---|
//! | struct, group | object, fields in schema order |
//! | named union | `{"member": value}`, the active member only |
//! | unnamed union | its active member, as a field of the struct |
//! | `Void` | `null` |
//! | `Bool`, integers | booleans, numbers (64-bit integers exact) |
//! | `Float32`, `Float64` | numbers (`Float32` in its shortest decimal form); `"NaN"`, `"Infinity"`, `"-Infinity"` |
//! | `Text` | string |
//! | `Data` | base64 string (standard alphabet, padded) |
//! | enum | the enumerant's name (its number when the schema has none) |
//! | `List(T)` | array |
//! | a set (`List(T) $Hollow.set`) | array, in the stored (key) order |
//! | a map (`List(Entry) $Hollow.map`) with `Text` keys | object from key to value |
//! | a map with keys of another kind | array of `[key, value]` pairs |
//! | a null pointer (an unset `Text`, `Data`, list or struct) | `null` |
//!
//! ```
//! use hollow_runtime::dynamic::DynamicSchema;
//! use hollow_runtime::{Hollow, Struct};
//!
//! #[derive(Hollow)]
//! #[hollow(primary_key(id))]
//! struct Movie {
//!     id: u64,
//!     title: String,
//!     genres: Vec<String>,
//! }
//!
//! let schema = DynamicSchema::new(&Movie::schema()).unwrap();
//! let movie = schema.record_type("Movie").unwrap();
//! let bytes = hollow_runtime::to_canonical_bytes(&Movie {
//!     id: 7,
//!     title: "Heat".into(),
//!     genres: vec!["crime".into()],
//! })
//! .unwrap();
//! let r = hollow_runtime::wire::StructReader::root(&bytes).unwrap();
//! let rec = schema.record(movie, r);
//! assert_eq!(
//!     rec.to_json().unwrap(),
//!     serde_json::json!({"id": 7, "title": "Heat", "genres": ["crime"]})
//! );
//! assert_eq!(rec.key().unwrap(), Some(schema.parse_key(movie, "7").unwrap()));
//! ```

mod compare;
mod compile;
mod json;
mod key;
mod order;

use std::fmt;

use hollow_schema::Schema;
use serde::{Serialize, Serializer};

pub use compare::FieldChange;
pub use key::{KeyAtom, KeyValue};

use compile::{CStruct, Compiled};
use json::{Budget, MembersSer};

use crate::wire::StructReader;

/// What kind of failure a [`DynamicError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DynamicErrorKind {
    /// The schema cannot be interpreted (a reference to an undefined type,
    /// a field outside its struct's sections, an unusable key).
    Schema,
    /// No such type in the schema.
    UnknownType,
    /// A key that does not parse as the type's primary key.
    Key,
    /// A record's bytes do not hold what the schema says.
    Record,
}

/// An error of the dynamic reader; the message names the type and field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicError {
    kind: DynamicErrorKind,
    message: String,
}

impl DynamicError {
    #[cold]
    fn new(kind: DynamicErrorKind, message: String) -> DynamicError {
        DynamicError { kind, message }
    }
    #[cold]
    fn schema(message: String) -> DynamicError {
        DynamicError::new(DynamicErrorKind::Schema, message)
    }
    #[cold]
    fn key(message: String) -> DynamicError {
        DynamicError::new(DynamicErrorKind::Key, message)
    }
    #[cold]
    fn record(message: String) -> DynamicError {
        DynamicError::new(DynamicErrorKind::Record, message)
    }

    /// The kind of failure.
    pub fn kind(&self) -> DynamicErrorKind {
        self.kind
    }
}

impl fmt::Display for DynamicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DynamicError {}

/// A struct type of a [`DynamicSchema`] (a cheap handle; use it only with
/// the schema that gave it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DynType(u32);

/// A schema resolved for dynamic reading. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct DynamicSchema {
    c: Compiled,
}

impl DynamicSchema {
    /// Resolves `schema`.
    ///
    /// # Errors
    /// [`DynamicErrorKind::Schema`], naming the type and field, when a field
    /// refers to a type the schema does not define, or lies outside its
    /// struct's data or pointer section, or a union's discriminant does.
    pub fn new(schema: &Schema) -> Result<DynamicSchema, DynamicError> {
        Ok(DynamicSchema {
            c: compile::compile(schema)?,
        })
    }

    /// The record types, in schema order.
    pub fn record_types(&self) -> impl Iterator<Item = &str> {
        self.c
            .structs
            .iter()
            .filter(|s| s.is_record)
            .map(|s| s.name.as_str())
    }

    /// The struct type `name` (a record type or a nested struct).
    ///
    /// # Errors
    /// [`DynamicErrorKind::UnknownType`], listing the record types.
    pub fn record_type(&self, name: &str) -> Result<DynType, DynamicError> {
        match self.c.by_name.get(name) {
            Some(&i) => Ok(DynType(i)),
            None => Err(DynamicError::new(
                DynamicErrorKind::UnknownType,
                format!(
                    "no type {name} in the schema; its record types are {}",
                    self.record_types().collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    /// The name of type `t`.
    pub fn type_name(&self, t: DynType) -> &str {
        &self.st(t).name
    }

    /// The primary key of `t` in its annotation form (`region,sku`), if it
    /// declares one.
    pub fn primary_key(&self, t: DynType) -> Option<&str> {
        self.st(t).key_text.as_deref()
    }

    fn st(&self, t: DynType) -> &CStruct {
        &self.c.structs[t.0 as usize]
    }

    /// Parses `text` as a primary key of `t`: the key's text for a
    /// one-field key; for a composite key its parts separated by commas
    /// (`eu,42`) or a JSON array (`["a,b", 42]`). Integers, floats,
    /// `true`/`false`, enum names (or numbers), Data in base64.
    ///
    /// # Errors
    /// [`DynamicErrorKind::Key`] when the text does not parse, saying what
    /// the key's fields are; [`DynamicErrorKind::Schema`] when `t` has no
    /// usable primary key.
    pub fn parse_key(&self, t: DynType, text: &str) -> Result<KeyValue, DynamicError> {
        let st = self.st(t);
        let paths = self
            .key_paths(st)?
            .ok_or_else(|| DynamicError::key(format!("{} has no primary key", st.name)))?;
        key::parse_key(
            &self.c,
            &st.name,
            st.key_text.as_deref().unwrap_or(""),
            paths,
            text,
        )
    }

    fn key_paths<'s>(
        &'s self,
        st: &'s CStruct,
    ) -> Result<Option<&'s [compile::KeyPath]>, DynamicError> {
        match &st.key {
            None => Ok(None),
            Some(Ok(p)) => Ok(Some(p)),
            Some(Err(why)) => Err(DynamicError::schema(format!(
                "cannot interpret type {}: {why}",
                st.name
            ))),
        }
    }

    /// `schema` resolved to check the stored order of its maps and sets
    /// ([`DynRecord::check_order`]): `None` when no field of it is a map or
    /// a set, so a schema without any costs one walk of its fields.
    ///
    /// # Errors
    /// As [`DynamicSchema::new`].
    pub fn for_order_check(schema: &Schema) -> Result<Option<DynamicSchema>, DynamicError> {
        if order::has_marks(schema) {
            DynamicSchema::new(schema).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The record type `name` when its records can hold a map or a set
    /// (what [`DynRecord::check_order`] checks), else `None`.
    pub fn ordered_type(&self, name: &str) -> Option<DynType> {
        let &i = self.c.by_name.get(name)?;
        self.c.structs[i as usize]
            .has_collections
            .then_some(DynType(i))
    }

    /// The record `r` of type `t`.
    pub fn record<'s, 'a>(&'s self, t: DynType, r: StructReader<'a>) -> DynRecord<'s, 'a> {
        DynRecord {
            schema: self,
            ty: t,
            r,
        }
    }
}

/// One record read through a [`DynamicSchema`].
#[derive(Clone, Copy, Debug)]
pub struct DynRecord<'s, 'a> {
    schema: &'s DynamicSchema,
    ty: DynType,
    r: StructReader<'a>,
}

impl<'s, 'a> DynRecord<'s, 'a> {
    /// The record's type.
    pub fn record_type(&self) -> DynType {
        self.ty
    }

    /// The record's reader.
    pub fn reader(&self) -> StructReader<'a> {
        self.r
    }

    /// The record as a JSON value.
    ///
    /// # Errors
    /// [`DynamicErrorKind::Record`]: bytes that do not hold what the schema
    /// says (the message names the type and field).
    pub fn to_json(&self) -> Result<serde_json::Value, DynamicError> {
        serde_json::to_value(self).map_err(|e| DynamicError::record(e.to_string()))
    }

    /// Writes the record as one line of compact JSON (no newline).
    ///
    /// # Errors
    /// As [`to_json`](Self::to_json), and I/O errors of `w` (as
    /// [`DynamicErrorKind::Record`] with the I/O error's message).
    pub fn write_json(&self, w: impl std::io::Write) -> Result<(), DynamicError> {
        serde_json::to_writer(w, self).map_err(|e| DynamicError::record(e.to_string()))
    }

    /// The record's primary key, `None` when its type declares none.
    ///
    /// # Errors
    /// The type's key cannot be interpreted, or the key field's bytes are
    /// malformed.
    pub fn key(&self) -> Result<Option<KeyValue>, DynamicError> {
        let st = self.schema.st(self.ty);
        match self.schema.key_paths(st)? {
            None => Ok(None),
            Some(paths) => key::read_key(&self.schema.c, &st.name, paths, &self.r).map(Some),
        }
    }

    /// Checks that every map and set of the record is stored as
    /// `docs/maps-and-sets.md` requires: sorted by key (the canonical order
    /// of the schema's key kind), no key twice. Reads nothing of a type
    /// without maps or sets (see [`DynamicSchema::ordered_type`]).
    ///
    /// # Errors
    /// [`DynamicErrorKind::Record`], naming the struct type and field of
    /// the damaged map or set and the entries out of order or repeated, or
    /// bytes that do not hold what the schema says.
    pub fn check_order(&self) -> Result<(), DynamicError> {
        order::check(&self.schema.c, self.ty.0, self.r).map_err(DynamicError::record)
    }

    /// The fields whose values differ from `self` (old) to `new`, in schema
    /// order, with both values as JSON. Empty when the records are equal
    /// field for field. A map is compared key by key and a set element by
    /// element (see [`FieldChange::path`]).
    ///
    /// # Errors
    /// The records are of different types, or either's bytes are
    /// malformed.
    pub fn compare(&self, new: &DynRecord<'_, '_>) -> Result<Vec<FieldChange>, DynamicError> {
        if self.ty != new.ty {
            return Err(DynamicError::record(format!(
                "cannot compare a {} with a {}",
                self.schema.type_name(self.ty),
                new.schema.type_name(new.ty)
            )));
        }
        let st = self.schema.st(self.ty);
        let mut cmp = compare::Cmp {
            c: &self.schema.c,
            out: Vec::new(),
        };
        cmp.members(&st.name, &st.members, self.r, new.r, "")?;
        Ok(cmp.out)
    }
}

impl Serialize for DynRecord<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let st = self.schema.st(self.ty);
        let budget = Budget::for_record(&self.r);
        MembersSer {
            c: &self.schema.c,
            owner: &st.name,
            members: &st.members,
            r: self.r,
            budget: &budget,
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use hollow_schema::{Field, FieldKind, StructType, Type, TypeDef, Union};
    use serde_json::json;

    use super::*;
    use crate::wire::MessageBuilder;

    /// `struct Shape { id @0 :UInt64; union { circle @1 :Float64; square @2 :Text; } }`
    /// (no derived type has an unnamed union, so it is built by hand).
    fn shape_schema() -> Schema {
        let mut s = StructType::new("Shape");
        s.is_record = true;
        s.fields.push(Field::slot("id", 0, Type::UInt64));
        s.unnamed_union = Some(Union::new(vec![
            Field::slot("circle", 1, Type::Float64),
            Field::slot("square", 2, Type::Text),
        ]));
        s.primary_key = Some(hollow_schema::Key::parse("id").unwrap());
        let mut schema = Schema::new();
        schema.insert(TypeDef::Struct(s));
        hollow_schema::assign_layout(&mut schema).unwrap();
        schema
    }

    fn offset(f: &Field) -> u32 {
        match &f.kind {
            FieldKind::Slot(s) => s.offset,
            _ => unreachable!("a slot"),
        }
    }

    fn shape(schema: &Schema, id: u64, circle: Option<f64>, square: &str) -> Vec<u8> {
        let st = schema.get_struct("Shape").unwrap();
        let u = st.unnamed_union.as_ref().unwrap();
        let mut m = MessageBuilder::new();
        let mut b = m.init_root(st.size.data_words, st.size.pointers);
        b.set_u64(offset(&st.fields[0]), id);
        match circle {
            Some(r) => b.set_u64(offset(&u.variants[0]), r.to_bits()),
            None => {
                b.set_u16(u.discriminant_offset, 1);
                let w = b.pointer_word(offset(&u.variants[1]));
                b.message().set_text_at(w, square);
            }
        }
        m.words().iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn unnamed_union_members_read_compare_and_key() {
        let schema = shape_schema();
        let d = DynamicSchema::new(&schema).unwrap();
        let t = d.record_type("Shape").unwrap();
        let a = shape(&schema, 1, Some(2.5), "");
        let b = shape(&schema, 1, None, "big");
        let ra = d.record(t, StructReader::root(&a).unwrap());
        let rb = d.record(t, StructReader::root(&b).unwrap());
        assert_eq!(ra.to_json().unwrap(), json!({"id": 1, "circle": 2.5}));
        assert_eq!(rb.to_json().unwrap(), json!({"id": 1, "square": "big"}));
        assert_eq!(ra.key().unwrap(), rb.key().unwrap());
        let changes = ra.compare(&rb).unwrap();
        assert_eq!(
            changes,
            vec![
                FieldChange {
                    path: "circle".into(),
                    old: Some(json!(2.5)),
                    new: None
                },
                FieldChange {
                    path: "square".into(),
                    old: None,
                    new: Some(json!("big"))
                },
            ]
        );
        // Same member, new value: one change at the member's path.
        let c = shape(&schema, 1, Some(-1.0), "");
        let rc = d.record(t, StructReader::root(&c).unwrap());
        assert_eq!(
            ra.compare(&rc).unwrap(),
            vec![FieldChange {
                path: "circle".into(),
                old: Some(json!(2.5)),
                new: Some(json!(-1.0))
            }]
        );
        // A discriminant past the members is an error naming the type.
        let mut bad = a.clone();
        let st = schema.get_struct("Shape").unwrap();
        let disc = st.unnamed_union.as_ref().unwrap().discriminant_offset as usize;
        bad[8 + disc * 2] = 9;
        let rbad = d.record(t, StructReader::root(&bad).unwrap());
        let e = rbad.to_json().unwrap_err();
        assert!(
            e.to_string().contains("Shape") && e.to_string().contains("9"),
            "{e}"
        );
    }

    #[test]
    fn non_finite_floats_and_data_have_a_json_form() {
        let mut s = StructType::new("Blob");
        s.is_record = true;
        s.fields.push(Field::slot("x", 0, Type::Float32));
        s.fields.push(Field::slot("y", 1, Type::Float64));
        s.fields.push(Field::slot("bytes", 2, Type::Data));
        let mut schema = Schema::new();
        schema.insert(TypeDef::Struct(s));
        hollow_schema::assign_layout(&mut schema).unwrap();
        let st = schema.get_struct("Blob").unwrap().clone();
        let mut m = MessageBuilder::new();
        let mut b = m.init_root(st.size.data_words, st.size.pointers);
        b.set_u32(offset(&st.fields[0]), f32::NAN.to_bits());
        b.set_u64(offset(&st.fields[1]), f64::NEG_INFINITY.to_bits());
        let w = b.pointer_word(offset(&st.fields[2]));
        b.message().set_data_at(w, b"hi!?");
        let bytes: Vec<u8> = m.words().iter().flat_map(|w| w.to_le_bytes()).collect();
        let d = DynamicSchema::new(&schema).unwrap();
        let t = d.record_type("Blob").unwrap();
        let r = d.record(t, StructReader::root(&bytes).unwrap());
        assert_eq!(
            r.to_json().unwrap(),
            json!({"x": "NaN", "y": "-Infinity", "bytes": "aGkhPw=="})
        );
        assert_eq!(r.key().unwrap(), None);
    }

    /// A record whose lists take no bytes (`List(Void)`) or repeat one
    /// pointer cannot make its JSON larger than its bytes justify: the walk
    /// stops with an error naming the field, before it allocates or writes
    /// by the counts the record claims.
    #[test]
    fn amplifying_lists_are_refused_not_walked() {
        use crate::wire::{list_ptr, struct_ptr, ElementSize};
        let mut s = StructType::new("Amp");
        s.is_record = true;
        s.fields
            .push(Field::slot("voids", 0, Type::List(Box::new(Type::Void))));
        s.fields
            .push(Field::slot("texts", 1, Type::List(Box::new(Type::Text))));
        let mut schema = Schema::new();
        schema.insert(TypeDef::Struct(s));
        hollow_schema::assign_layout(&mut schema).unwrap();
        let d = DynamicSchema::new(&schema).unwrap();
        let t = d.record_type("Amp").unwrap();
        // Root (0 data words, 2 pointers) at word 1; a text of `len - 1`
        // letters from word 3; then `texts`: `n` pointers to that one text.
        let message = |voids: u32, len: usize, n: usize| -> Vec<u8> {
            let text_words = len.div_ceil(8);
            let at = 3 + text_words;
            let mut w = vec![0u64; at + n];
            w[0] = struct_ptr(0, 1, 0, 2);
            w[1] = list_ptr(1, 3, ElementSize::Void, voids);
            w[2] = list_ptr(2, at, ElementSize::Pointer, n as u32);
            let mut bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
            bytes[24..24 + len - 1].fill(b'a');
            for i in 0..n {
                let p = list_ptr(at + i, 3, ElementSize::Byte, len as u32);
                bytes[(at + i) * 8..(at + i + 1) * 8].copy_from_slice(&p.to_le_bytes());
            }
            bytes
        };
        let small = message(3, 3, 2);
        let r = d.record(t, StructReader::root(&small).unwrap());
        assert_eq!(
            r.to_json().unwrap(),
            json!({"voids": [null, null, null], "texts": ["aa", "aa"]})
        );
        // Millions of voids from a few words.
        let voids = message(1 << 22, 3, 1);
        let r = d.record(t, StructReader::root(&voids).unwrap());
        let e = r.to_json().unwrap_err().to_string();
        assert!(e.contains("Amp.voids") && e.contains("allow"), "{e}");
        let mut out = Vec::new();
        assert!(r.write_json(&mut out).is_err());
        assert!(out.len() < 4096, "wrote {} bytes first", out.len());
        // Many pointers to one large text: each costs its words again.
        let repeated = message(0, 2000, 100);
        let r = d.record(t, StructReader::root(&repeated).unwrap());
        let e = r.to_json().unwrap_err().to_string();
        assert!(e.contains("Amp.texts"), "{e}");
    }
}

//! The schema IR: what a dataset's record types look like, independent of
//! where the description came from (a `.capnp` file through a
//! `CodeGeneratorRequest`, or `#[derive(Hollow)]`).
//!
//! Every struct carries its Cap'n Proto layout (section sizes and, per field,
//! the offset the official compiler assigns), so the IR alone is enough to
//! read and write records on the wire.

use std::fmt;

/// A dataset schema: every struct and enum type the records use.
///
/// Types are kept in a stable order (the order they were declared or first
/// reached); names are unique within a schema.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schema {
    /// All types, records and the nested types they use.
    pub types: Vec<TypeDef>,
}

impl Schema {
    /// An empty schema.
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks a type up by its Cap'n Proto name.
    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.iter().find(|t| t.name() == name)
    }

    /// Looks a struct type up by its Cap'n Proto name.
    pub fn get_struct(&self, name: &str) -> Option<&StructType> {
        match self.get(name) {
            Some(TypeDef::Struct(s)) => Some(s),
            _ => None,
        }
    }

    /// Looks an enum type up by its Cap'n Proto name.
    pub fn get_enum(&self, name: &str) -> Option<&EnumType> {
        match self.get(name) {
            Some(TypeDef::Enum(e)) => Some(e),
            _ => None,
        }
    }

    /// The struct types marked as records (`$Hollow.record` or `#[derive(Hollow)]`
    /// on a struct that is not only used nested).
    pub fn records(&self) -> impl Iterator<Item = &StructType> {
        self.types.iter().filter_map(|t| match t {
            TypeDef::Struct(s) if s.is_record => Some(s),
            _ => None,
        })
    }

    /// Adds `def` unless a type of the same name is already present.
    ///
    /// Returns `true` when it was added. Used to merge the transitive types of
    /// several records into one schema.
    pub fn insert(&mut self, def: TypeDef) -> bool {
        if self.get(def.name()).is_some() {
            false
        } else {
            self.types.push(def);
            true
        }
    }
}

/// A named type of a schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeDef {
    /// A struct (a record type or a nested struct).
    Struct(StructType),
    /// An enum.
    Enum(EnumType),
}

impl TypeDef {
    /// The type's Cap'n Proto name.
    pub fn name(&self) -> &str {
        match self {
            TypeDef::Struct(s) => &s.name,
            TypeDef::Enum(e) => &e.name,
        }
    }
}

/// A Cap'n Proto struct type with its layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructType {
    /// Cap'n Proto name (`Movie`).
    pub name: String,
    /// Doc comment, if any.
    pub doc: Option<String>,
    /// Whether this struct is a record type (has its own ordinals and section
    /// in a blob) rather than only a nested value.
    pub is_record: bool,
    /// Fields in code order (the order they are declared), not counting the
    /// members of the unnamed union.
    pub fields: Vec<Field>,
    /// The struct's unnamed union, if it has one (Cap'n Proto's
    /// `struct Shape { union { circle @0 :Float64; square @1 :Float64; } }`).
    ///
    /// Its members belong to the struct's own name scope (they must not clash
    /// with [`fields`](Self::fields)), its discriminant sits in the struct's
    /// data section like a named union's, and `.capnp` text writes it after
    /// the other fields. A struct has at most one unnamed union; named
    /// unions are [`FieldKind::Union`] fields. Code that walks a struct's
    /// members should visit [`members`](Self::members) rather than `fields`
    /// alone.
    pub unnamed_union: Option<Union>,
    /// Size of the data and pointer sections.
    pub size: StructSize,
    /// The primary key, if the type declares one.
    pub primary_key: Option<Key>,
    /// Unique keys other than the primary key.
    pub unique_keys: Vec<Key>,
    /// Hash (many-match) indexes.
    pub hash_indexes: Vec<Key>,
}

impl StructType {
    /// A struct with no fields, no keys and an empty layout.
    pub fn new(name: impl Into<String>) -> Self {
        StructType {
            name: name.into(),
            doc: None,
            is_record: false,
            fields: Vec::new(),
            unnamed_union: None,
            size: StructSize::default(),
            primary_key: None,
            unique_keys: Vec::new(),
            hash_indexes: Vec::new(),
        }
    }

    /// Finds a direct member by name: a field, a named group or union, or a
    /// member of the unnamed union.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.members().find(|f| f.name == name)
    }

    /// The members of the struct's own name scope: [`fields`](Self::fields)
    /// followed by the members of the [unnamed union](Self::unnamed_union).
    pub fn members(&self) -> impl Iterator<Item = &Field> {
        self.fields
            .iter()
            .chain(self.unnamed_union.iter().flat_map(|u| u.variants.iter()))
    }
}

/// Sizes of a struct's two sections, as on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct StructSize {
    /// Data section size in 64-bit words.
    pub data_words: u16,
    /// Number of pointers in the pointer section.
    pub pointers: u16,
}

/// One member of a struct, group or union.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Cap'n Proto name (`runtimeMin`).
    pub name: String,
    /// Doc comment, if any.
    pub doc: Option<String>,
    /// What the member is: a value slot, a group or a named union.
    pub kind: FieldKind,
}

impl Field {
    /// A group of `fields`.
    pub fn group(name: impl Into<String>, fields: Vec<Field>) -> Self {
        Field {
            name: name.into(),
            doc: None,
            kind: FieldKind::Group(Group {
                type_name: None,
                fields,
            }),
        }
    }

    /// A named union of `variants` (discriminant offset 0 until laid out).
    pub fn union(name: impl Into<String>, variants: Vec<Field>) -> Self {
        Field {
            name: name.into(),
            doc: None,
            kind: FieldKind::Union(Union::new(variants)),
        }
    }

    /// The same field with a doc comment.
    pub fn with_doc(mut self, doc: impl Into<String>) -> Self {
        self.doc = Some(doc.into());
        self
    }

    /// The value slot, if this field is one.
    pub fn as_slot(&self) -> Option<&Slot> {
        match &self.kind {
            FieldKind::Slot(s) => Some(s),
            _ => None,
        }
    }

    /// A value field.
    pub fn slot(name: impl Into<String>, ordinal: u16, ty: Type) -> Self {
        Field {
            name: name.into(),
            doc: None,
            kind: FieldKind::Slot(Slot {
                ordinal,
                ty,
                offset: 0,
                collection: None,
            }),
        }
    }

    /// The same value field marked as a map or a set (its type is checked
    /// by [`validate`](crate::validate)); other fields are returned as they
    /// are.
    pub fn marked(mut self, collection: Collection) -> Self {
        if let FieldKind::Slot(s) = &mut self.kind {
            s.collection = Some(collection);
        }
        self
    }
}

/// What a [`Field`] is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A value stored in the data or pointer section.
    Slot(Slot),
    /// A group: members stored in the parent's sections.
    Group(Group),
    /// A named union: exactly one member is set; which one is told by a
    /// 16-bit discriminant in the parent's data section.
    Union(Union),
}

/// A value field's type, ordinal and offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The `@N` ordinal.
    pub ordinal: u16,
    /// The value type.
    pub ty: Type,
    /// Offset in units of the type's size (bits for Bool, bytes for
    /// Int8, …, words for 64-bit values), or the pointer index for pointer
    /// types. Zero for Void.
    pub offset: u32,
    /// Whether the field is a map or a set (`$Hollow.map`, `$Hollow.set`):
    /// a list whose elements are stored sorted by key, each key once.
    /// `None` for every other field.
    pub collection: Option<Collection>,
}

/// What a marked list field holds (`docs/maps-and-sets.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Collection {
    /// `$Hollow.map` on a `List(Entry)`: `Entry` is a struct of two fields,
    /// `key @0` and `value @1`; entries are sorted by key.
    Map,
    /// `$Hollow.set` on a `List(T)`: elements sorted, each once.
    Set,
}

impl Collection {
    /// The annotation's name in `hollow.capnp` (`map`, `set`).
    pub fn annotation(self) -> &'static str {
        match self {
            Collection::Map => "map",
            Collection::Set => "set",
        }
    }
}

/// A group's members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The Rust type the group maps to, when it has one (a
    /// `#[hollow(group)]` struct). `None` for groups read from a schema file.
    pub type_name: Option<String>,
    /// Members in code order.
    pub fields: Vec<Field>,
}

/// A named union's members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Union {
    /// The Rust type the union maps to, when it has one (a derived enum).
    pub type_name: Option<String>,
    /// Offset of the 16-bit discriminant, in 16-bit units.
    pub discriminant_offset: u32,
    /// Members in code order; a member's discriminant value is its index.
    ///
    /// The compiler numbers union members in the order of their smallest
    /// ordinal, so members must also be in that order (see
    /// [`validate`](crate::validate)).
    pub variants: Vec<Field>,
}

impl Union {
    /// A union of `variants` with no type name and discriminant offset 0
    /// (until laid out).
    pub fn new(variants: Vec<Field>) -> Self {
        Union {
            type_name: None,
            discriminant_offset: 0,
            variants,
        }
    }
}

/// A value type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// No value (a union member that carries nothing).
    Void,
    /// `Bool`.
    Bool,
    /// `Int8`.
    Int8,
    /// `Int16`.
    Int16,
    /// `Int32`.
    Int32,
    /// `Int64`.
    Int64,
    /// `UInt8`.
    UInt8,
    /// `UInt16`.
    UInt16,
    /// `UInt32`.
    UInt32,
    /// `UInt64`.
    UInt64,
    /// `Float32`.
    Float32,
    /// `Float64`.
    Float64,
    /// `Text` (UTF-8).
    Text,
    /// `Data` (bytes).
    Data,
    /// An enum, by name.
    Enum(String),
    /// A nested struct, by name.
    Struct(String),
    /// `List(T)`.
    List(Box<Type>),
}

impl Type {
    /// How this type is stored: its size class on the wire.
    pub fn storage(&self) -> Storage {
        match self {
            Type::Void => Storage::Void,
            Type::Bool => Storage::Data(0),
            Type::Int8 | Type::UInt8 => Storage::Data(3),
            Type::Int16 | Type::UInt16 | Type::Enum(_) => Storage::Data(4),
            Type::Int32 | Type::UInt32 | Type::Float32 => Storage::Data(5),
            Type::Int64 | Type::UInt64 | Type::Float64 => Storage::Data(6),
            Type::Text | Type::Data | Type::Struct(_) | Type::List(_) => Storage::Pointer,
        }
    }

    /// Whether the type is a float (not allowed in unique keys).
    pub fn is_float(&self) -> bool {
        matches!(self, Type::Float32 | Type::Float64)
    }
}

impl fmt::Display for Type {
    /// Formats the type as Cap'n Proto schema text (`List(Text)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Void => f.write_str("Void"),
            Type::Bool => f.write_str("Bool"),
            Type::Int8 => f.write_str("Int8"),
            Type::Int16 => f.write_str("Int16"),
            Type::Int32 => f.write_str("Int32"),
            Type::Int64 => f.write_str("Int64"),
            Type::UInt8 => f.write_str("UInt8"),
            Type::UInt16 => f.write_str("UInt16"),
            Type::UInt32 => f.write_str("UInt32"),
            Type::UInt64 => f.write_str("UInt64"),
            Type::Float32 => f.write_str("Float32"),
            Type::Float64 => f.write_str("Float64"),
            Type::Text => f.write_str("Text"),
            Type::Data => f.write_str("Data"),
            Type::Enum(n) | Type::Struct(n) => f.write_str(n),
            Type::List(t) => write!(f, "List({t})"),
        }
    }
}

/// How a value is stored in a struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Storage {
    /// Takes no space.
    Void,
    /// In the data section; the value is log2 of the size in bits (0 = 1 bit,
    /// 3 = a byte, 6 = a word).
    Data(u8),
    /// In the pointer section.
    Pointer,
}

/// An enum type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumType {
    /// Cap'n Proto name.
    pub name: String,
    /// Doc comment, if any.
    pub doc: Option<String>,
    /// Enumerants in ordinal order (the wire value is the index).
    pub enumerants: Vec<Enumerant>,
}

/// One value of an enum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enumerant {
    /// Cap'n Proto name (`lowerCamelCase`).
    pub name: String,
    /// Doc comment, if any.
    pub doc: Option<String>,
}

/// A key: one or more field paths (`"id"`, `"region,sku"`, `"actor.id"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// The key's fields, in order.
    pub paths: Vec<FieldPath>,
}

impl Key {
    /// Parses the annotation form: paths separated by commas, segments by dots.
    ///
    /// # Errors
    /// An empty key, an empty path or an empty segment.
    ///
    /// ```
    /// let key = hollow_schema::Key::parse("region, sku").unwrap();
    /// assert_eq!(key.to_string(), "region,sku");
    /// let nested = hollow_schema::Key::parse("actor.id").unwrap();
    /// assert_eq!(nested.paths[0].segments, ["actor", "id"]);
    /// ```
    pub fn parse(text: &str) -> Result<Key, crate::SchemaError> {
        let mut paths = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let segments: Vec<String> = part.split('.').map(|s| s.trim().to_string()).collect();
            if segments.iter().any(|s| s.is_empty()) {
                return Err(crate::SchemaError::new(format!(
                    "invalid key \"{text}\": empty field name in \"{part}\""
                )));
            }
            paths.push(FieldPath { segments });
        }
        Ok(Key { paths })
    }
}

impl fmt::Display for Key {
    /// Formats the key in its annotation form (`region,sku`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.paths.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// A dotted path to a field (`actor.id`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldPath {
    /// Field names from the record down.
    pub segments: Vec<String>,
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segments.join("."))
    }
}

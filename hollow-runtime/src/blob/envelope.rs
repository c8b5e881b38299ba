//! The blob header's Cap'n Proto structs, as Rust types.
//!
//! These are the structs `BlobHeader`, `Tag`, `DatasetSchema`, `TypeDecl`,
//! `UnionDecl`, `Member`, `EnumerantDecl` and the enums `TypeKind`,
//! `MemberKind`, `TypeBase`, `Collection` of `schemas/hollow.capnp` (its `Section` is
//! [`SectionInfo`] itself), written with `#[derive(Hollow)]` so the header
//! is encoded and read by the same code as records (a test checks their
//! layout against the compiler's for that file). Code reading or writing
//! blobs uses [`BlobHeader`](super::BlobHeader) instead, which the blob
//! module converts to and from these; tests that corrupt headers in place
//! read and rewrite them through these types.
//!
//! The dataset schema ([`hollow_schema::Schema`]) is a tree (groups and
//! unions hold fields, list types nest); here it is flattened so that no
//! struct refers to itself: a struct's members are listed in pre-order, each
//! naming its parent by index, and a type is a base type, a name and a list
//! depth.

use hollow_schema::{
    Collection, EnumType, Enumerant, Field, FieldKind, Group, Key, Schema, Slot, StructSize,
    StructType, Type, TypeDef, Union,
};

use super::SectionInfo;
use crate::Hollow;

/// `BlobHeader`: the root of the header message.
#[derive(Hollow, Clone, Debug, PartialEq, Default)]
#[hollow(crate = "crate", nested, rename = "BlobHeader")]
pub struct HeaderWire {
    /// Key/value tags set by the producer.
    pub tags: Vec<TagWire>,
    /// The dataset schema.
    pub schema: SchemaWire,
    /// The section directory (`Section` is [`SectionInfo`] itself).
    pub sections: Vec<SectionInfo>,
}

/// `Tag`: a key/value header tag.
#[derive(Hollow, Clone, Debug, PartialEq, Default)]
#[hollow(crate = "crate", nested, rename = "Tag")]
pub struct TagWire {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// `DatasetSchema`: the schema IR, flattened.
#[derive(Hollow, Clone, Debug, PartialEq, Default)]
#[hollow(crate = "crate", nested, rename = "DatasetSchema")]
pub struct SchemaWire {
    /// Every type, in the schema's order.
    pub types: Vec<TypeDeclWire>,
}

/// `TypeKind`.
#[derive(Hollow, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[hollow(crate = "crate", rename = "TypeKind")]
pub enum TypeKindWire {
    /// A struct type.
    #[default]
    Struct,
    /// An enum type.
    Enum,
}

/// `TypeDecl`: a struct or enum type.
#[derive(Hollow, Clone, Debug, PartialEq, Default)]
#[hollow(crate = "crate", nested, rename = "TypeDecl")]
pub struct TypeDeclWire {
    /// The Cap'n Proto name.
    pub name: String,
    /// The doc comment.
    pub doc: Option<String>,
    /// Struct or enum.
    pub kind: TypeKindWire,
    /// Whether the struct is a record type.
    pub is_record: bool,
    /// Data section size in words.
    pub data_words: u16,
    /// Pointer section size.
    pub pointers: u16,
    /// Fields, group and union members, in pre-order.
    pub members: Vec<MemberWire>,
    /// The unnamed union.
    pub unnamed_union: Option<UnionDeclWire>,
    /// The primary key in its annotation form.
    pub primary_key: Option<String>,
    /// Unique keys in their annotation form.
    pub unique_keys: Vec<String>,
    /// Hash indexes in their annotation form.
    pub hash_indexes: Vec<String>,
    /// Enum: the enumerants.
    pub enumerants: Vec<EnumerantWire>,
}

/// `UnionDecl`: an unnamed union's discriminant and Rust type.
#[derive(Hollow, Clone, Debug, PartialEq, Default)]
#[hollow(crate = "crate", nested, rename = "UnionDecl")]
pub struct UnionDeclWire {
    /// Discriminant offset in 16-bit units.
    pub discriminant_offset: u32,
    /// The Rust type the union maps to.
    pub rust_type_name: Option<String>,
}

/// `MemberKind`.
#[derive(Hollow, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[hollow(crate = "crate", rename = "MemberKind")]
pub enum MemberKindWire {
    /// A value slot.
    #[default]
    Slot,
    /// A group.
    Group,
    /// A named union.
    Union,
}

/// `TypeBase`: a value type with lists unwrapped.
#[derive(Hollow, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[hollow(crate = "crate", rename = "TypeBase")]
#[allow(missing_docs)]
pub enum TypeBaseWire {
    #[default]
    Void,
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    #[hollow(rename = "uint8")]
    UInt8,
    #[hollow(rename = "uint16")]
    UInt16,
    #[hollow(rename = "uint32")]
    UInt32,
    #[hollow(rename = "uint64")]
    UInt64,
    Float32,
    Float64,
    Text,
    Data,
    Enum,
    Struct,
}

/// `Collection`: whether a list slot is a map or a set.
#[derive(Hollow, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[hollow(crate = "crate", rename = "Collection")]
pub enum CollectionWire {
    /// A plain list, or no list at all (and every member of a blob written
    /// before the field existed).
    #[default]
    None,
    /// A map (`$Hollow.map`).
    Map,
    /// A set (`$Hollow.set`).
    Set,
}

impl CollectionWire {
    fn from_ir(c: Option<Collection>) -> Self {
        match c {
            None => CollectionWire::None,
            Some(Collection::Map) => CollectionWire::Map,
            Some(Collection::Set) => CollectionWire::Set,
        }
    }

    fn to_ir(self) -> Option<Collection> {
        match self {
            CollectionWire::None => None,
            CollectionWire::Map => Some(Collection::Map),
            CollectionWire::Set => Some(Collection::Set),
        }
    }
}

/// Parent value of the members of a struct's unnamed union.
pub const UNNAMED_UNION_PARENT: u32 = u32::MAX;

/// `Member`: one flattened [`Field`].
#[derive(Hollow, Clone, Debug, PartialEq, Default)]
#[hollow(crate = "crate", nested, rename = "Member")]
pub struct MemberWire {
    /// The Cap'n Proto name.
    pub name: String,
    /// The doc comment.
    pub doc: Option<String>,
    /// 0: a field of the struct; n > 0: a member of members\[n - 1\];
    /// [`UNNAMED_UNION_PARENT`]: a member of the unnamed union.
    pub parent: u32,
    /// Slot, group or union.
    pub kind: MemberKindWire,
    /// Slot: the `@N` ordinal.
    pub ordinal: u16,
    /// Slot: its offset; union: its discriminant offset.
    pub offset: u32,
    /// Slot: the base type.
    pub type_base: TypeBaseWire,
    /// Slot: the enum or struct name.
    pub type_name: Option<String>,
    /// Slot: list nesting around the base type.
    pub list_depth: u8,
    /// Group or union: the Rust type it maps to.
    pub rust_type_name: Option<String>,
    /// Slot: whether the list is a map or a set.
    pub collection: CollectionWire,
}

/// `EnumerantDecl`.
#[derive(Hollow, Clone, Debug, PartialEq, Default)]
#[hollow(crate = "crate", nested, rename = "EnumerantDecl")]
pub struct EnumerantWire {
    /// The Cap'n Proto name.
    pub name: String,
    /// The doc comment.
    pub doc: Option<String>,
}

/// Most nesting of groups and unions, and of lists in a type, accepted
/// when reading a schema back.
const MAX_DEPTH: usize = 64;

impl SchemaWire {
    /// Flattens a schema.
    pub(crate) fn from_schema(schema: &Schema) -> SchemaWire {
        SchemaWire {
            types: schema.types.iter().map(type_decl).collect(),
        }
    }

    /// Rebuilds the schema.
    ///
    /// # Errors
    /// A description of what is inconsistent: a parent index that does not
    /// name an earlier group or union, nesting deeper than 64, a struct or
    /// enum type without its name, or a key that does not parse.
    pub(crate) fn to_schema(&self) -> Result<Schema, String> {
        let mut schema = Schema::new();
        for t in &self.types {
            let def = match t.kind {
                TypeKindWire::Enum => TypeDef::Enum(EnumType {
                    name: t.name.clone(),
                    doc: t.doc.clone(),
                    enumerants: t
                        .enumerants
                        .iter()
                        .map(|e| Enumerant {
                            name: e.name.clone(),
                            doc: e.doc.clone(),
                        })
                        .collect(),
                }),
                TypeKindWire::Struct => {
                    TypeDef::Struct(struct_type(t).map_err(|e| format!("type {}: {e}", t.name))?)
                }
            };
            if !schema.insert(def) {
                return Err(format!("type {} is declared twice", t.name));
            }
        }
        Ok(schema)
    }
}

fn type_decl(def: &TypeDef) -> TypeDeclWire {
    match def {
        TypeDef::Enum(e) => TypeDeclWire {
            name: e.name.clone(),
            doc: e.doc.clone(),
            kind: TypeKindWire::Enum,
            enumerants: e
                .enumerants
                .iter()
                .map(|x| EnumerantWire {
                    name: x.name.clone(),
                    doc: x.doc.clone(),
                })
                .collect(),
            ..TypeDeclWire::default()
        },
        TypeDef::Struct(s) => {
            let mut members = Vec::new();
            flatten(&s.fields, 0, &mut members);
            if let Some(u) = &s.unnamed_union {
                flatten(&u.variants, UNNAMED_UNION_PARENT, &mut members);
            }
            TypeDeclWire {
                name: s.name.clone(),
                doc: s.doc.clone(),
                kind: TypeKindWire::Struct,
                is_record: s.is_record,
                data_words: s.size.data_words,
                pointers: s.size.pointers,
                members,
                unnamed_union: s.unnamed_union.as_ref().map(|u| UnionDeclWire {
                    discriminant_offset: u.discriminant_offset,
                    rust_type_name: u.type_name.clone(),
                }),
                primary_key: s.primary_key.as_ref().map(Key::to_string),
                unique_keys: s.unique_keys.iter().map(Key::to_string).collect(),
                hash_indexes: s.hash_indexes.iter().map(Key::to_string).collect(),
                enumerants: Vec::new(),
            }
        }
    }
}

fn flatten(fields: &[Field], parent: u32, out: &mut Vec<MemberWire>) {
    for f in fields {
        let index = out.len() as u32;
        let mut m = MemberWire {
            name: f.name.clone(),
            doc: f.doc.clone(),
            parent,
            ..MemberWire::default()
        };
        match &f.kind {
            FieldKind::Slot(s) => {
                let (base, name, depth) = split_type(&s.ty);
                m.ordinal = s.ordinal;
                m.offset = s.offset;
                m.type_base = base;
                m.type_name = name;
                m.list_depth = depth;
                m.collection = CollectionWire::from_ir(s.collection);
                out.push(m);
            }
            FieldKind::Group(g) => {
                m.kind = MemberKindWire::Group;
                m.rust_type_name = g.type_name.clone();
                out.push(m);
                flatten(&g.fields, index + 1, out);
            }
            FieldKind::Union(u) => {
                m.kind = MemberKindWire::Union;
                m.offset = u.discriminant_offset;
                m.rust_type_name = u.type_name.clone();
                out.push(m);
                flatten(&u.variants, index + 1, out);
            }
        }
    }
}

fn split_type(mut ty: &Type) -> (TypeBaseWire, Option<String>, u8) {
    let mut depth = 0u8;
    while let Type::List(inner) = ty {
        ty = inner;
        depth = depth.saturating_add(1);
    }
    let base = match ty {
        Type::Void => TypeBaseWire::Void,
        Type::Bool => TypeBaseWire::Bool,
        Type::Int8 => TypeBaseWire::Int8,
        Type::Int16 => TypeBaseWire::Int16,
        Type::Int32 => TypeBaseWire::Int32,
        Type::Int64 => TypeBaseWire::Int64,
        Type::UInt8 => TypeBaseWire::UInt8,
        Type::UInt16 => TypeBaseWire::UInt16,
        Type::UInt32 => TypeBaseWire::UInt32,
        Type::UInt64 => TypeBaseWire::UInt64,
        Type::Float32 => TypeBaseWire::Float32,
        Type::Float64 => TypeBaseWire::Float64,
        Type::Text => TypeBaseWire::Text,
        Type::Data => TypeBaseWire::Data,
        Type::Enum(n) => return (TypeBaseWire::Enum, Some(n.clone()), depth),
        Type::Struct(n) => return (TypeBaseWire::Struct, Some(n.clone()), depth),
        Type::List(_) => unreachable!("lists are unwrapped above"),
    };
    (base, None, depth)
}

fn join_type(m: &MemberWire) -> Result<Type, String> {
    let named = |what: &str| {
        m.type_name
            .clone()
            .ok_or_else(|| format!("field {} is of an {what} type without a name", m.name))
    };
    let mut ty = match m.type_base {
        TypeBaseWire::Void => Type::Void,
        TypeBaseWire::Bool => Type::Bool,
        TypeBaseWire::Int8 => Type::Int8,
        TypeBaseWire::Int16 => Type::Int16,
        TypeBaseWire::Int32 => Type::Int32,
        TypeBaseWire::Int64 => Type::Int64,
        TypeBaseWire::UInt8 => Type::UInt8,
        TypeBaseWire::UInt16 => Type::UInt16,
        TypeBaseWire::UInt32 => Type::UInt32,
        TypeBaseWire::UInt64 => Type::UInt64,
        TypeBaseWire::Float32 => Type::Float32,
        TypeBaseWire::Float64 => Type::Float64,
        TypeBaseWire::Text => Type::Text,
        TypeBaseWire::Data => Type::Data,
        TypeBaseWire::Enum => Type::Enum(named("enum")?),
        TypeBaseWire::Struct => Type::Struct(named("struct")?),
    };
    if m.list_depth as usize > MAX_DEPTH {
        return Err(format!(
            "field {} nests lists {} deep",
            m.name, m.list_depth
        ));
    }
    for _ in 0..m.list_depth {
        ty = Type::List(Box::new(ty));
    }
    Ok(ty)
}

fn parse_key(text: &str) -> Result<Key, String> {
    Key::parse(text).map_err(|e| e.to_string())
}

fn struct_type(t: &TypeDeclWire) -> Result<StructType, String> {
    let n = t.members.len();
    // children[0]: the struct's fields; children[i + 1]: members[i]'s.
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n + 1];
    let mut union_members = Vec::new();
    let mut depth = vec![0usize; n];
    for (i, m) in t.members.iter().enumerate() {
        if m.parent == UNNAMED_UNION_PARENT {
            union_members.push(i);
            continue;
        }
        let p = m.parent as usize;
        if p > i {
            return Err(format!(
                "member {} names parent {p}, which does not come before it",
                m.name
            ));
        }
        if p > 0 {
            if t.members[p - 1].kind == MemberKindWire::Slot {
                return Err(format!(
                    "member {}'s parent is not a group or union",
                    m.name
                ));
            }
            depth[i] = depth[p - 1] + 1;
            if depth[i] > MAX_DEPTH {
                return Err(format!("member {} nests too deep", m.name));
            }
        }
        children[p].push(i);
    }
    let build = |ids: &[usize]| -> Result<Vec<Field>, String> {
        ids.iter().map(|&i| build_field(t, &children, i)).collect()
    };
    let unnamed_union = match &t.unnamed_union {
        Some(u) => Some(Union {
            type_name: u.rust_type_name.clone(),
            discriminant_offset: u.discriminant_offset,
            variants: build(&union_members)?,
        }),
        None if union_members.is_empty() => None,
        None => return Err("members of an unnamed union it does not have".into()),
    };
    Ok(StructType {
        name: t.name.clone(),
        doc: t.doc.clone(),
        is_record: t.is_record,
        fields: build(&children[0])?,
        unnamed_union,
        size: StructSize {
            data_words: t.data_words,
            pointers: t.pointers,
        },
        primary_key: t.primary_key.as_deref().map(parse_key).transpose()?,
        unique_keys: t
            .unique_keys
            .iter()
            .map(|k| parse_key(k))
            .collect::<Result<_, _>>()?,
        hash_indexes: t
            .hash_indexes
            .iter()
            .map(|k| parse_key(k))
            .collect::<Result<_, _>>()?,
    })
}

/// Builds member `i` with its descendants (depth bounded by [`MAX_DEPTH`],
/// checked before).
fn build_field(t: &TypeDeclWire, children: &[Vec<usize>], i: usize) -> Result<Field, String> {
    let m = &t.members[i];
    let members = || -> Result<Vec<Field>, String> {
        children[i + 1]
            .iter()
            .map(|&c| build_field(t, children, c))
            .collect()
    };
    let kind = match m.kind {
        MemberKindWire::Slot => FieldKind::Slot(Slot {
            ordinal: m.ordinal,
            ty: join_type(m)?,
            offset: m.offset,
            collection: m.collection.to_ir(),
        }),
        MemberKindWire::Group => FieldKind::Group(Group {
            type_name: m.rust_type_name.clone(),
            fields: members()?,
        }),
        MemberKindWire::Union => FieldKind::Union(Union {
            type_name: m.rust_type_name.clone(),
            discriminant_offset: m.offset,
            variants: members()?,
        }),
    };
    Ok(Field {
        name: m.name.clone(),
        doc: m.doc.clone(),
        kind,
    })
}

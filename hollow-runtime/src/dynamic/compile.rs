//! Turning a [`Schema`] into the resolved form the dynamic reader walks:
//! type names resolved to indexes, layouts checked against each struct's
//! sections, primary keys resolved to field paths.

use std::collections::HashMap;

use hollow_schema::{Collection, Field, FieldKind, Key, Schema, StructType, Type, TypeDef, Union};

use super::DynamicError;

/// A value type with named types resolved.
#[derive(Clone, Debug)]
pub(super) enum CType {
    Void,
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
    Text,
    Data,
    /// Index into [`Compiled::enums`].
    Enum(u32),
    /// Index into [`Compiled::structs`].
    Struct(u32),
    List(Box<CType>),
}

impl CType {
    /// Whether the value is stored behind a pointer.
    pub(super) fn is_pointer(&self) -> bool {
        matches!(
            self,
            CType::Text | CType::Data | CType::Struct(_) | CType::List(_)
        )
    }

    /// Size in bits in a data section (0 for Void and pointers).
    fn bits(&self) -> u64 {
        match self {
            CType::Void | CType::Text | CType::Data | CType::Struct(_) | CType::List(_) => 0,
            CType::Bool => 1,
            CType::I8 | CType::U8 => 8,
            CType::I16 | CType::U16 | CType::Enum(_) => 16,
            CType::I32 | CType::U32 | CType::F32 => 32,
            CType::I64 | CType::U64 | CType::F64 => 64,
        }
    }
}

/// A member of a struct, group or union.
#[derive(Clone, Debug)]
pub(super) struct CField {
    pub(super) name: String,
    pub(super) kind: CKind,
}

#[derive(Clone, Debug)]
pub(super) enum CKind {
    /// A value; `offset` in units of the type's size, or a pointer index;
    /// `collection` when the list is a map or a set.
    Slot {
        ty: CType,
        offset: u32,
        collection: Option<Collection>,
    },
    Group(CMembers),
    Union(CUnion),
}

/// The members of a struct or group: its fields and its unnamed union.
#[derive(Clone, Debug, Default)]
pub(super) struct CMembers {
    pub(super) fields: Vec<CField>,
    pub(super) unnamed: Option<CUnion>,
}

#[derive(Clone, Debug)]
pub(super) struct CUnion {
    /// Offset of the 16-bit discriminant in 16-bit units.
    pub(super) discriminant: u32,
    pub(super) variants: Vec<CField>,
}

/// One step of a key path.
#[derive(Clone, Debug)]
pub(super) enum Hop {
    /// Follow the struct pointer at this index.
    Pointer(u32),
    /// Stay in the same struct (a group).
    Inline,
}

/// A resolved key path: hops to the struct holding the leaf, then the leaf.
#[derive(Clone, Debug)]
pub(super) struct KeyPath {
    pub(super) name: String,
    pub(super) hops: Vec<Hop>,
    pub(super) ty: CType,
    pub(super) offset: u32,
}

#[derive(Clone, Debug)]
pub(super) struct CStruct {
    pub(super) name: String,
    pub(super) is_record: bool,
    pub(super) members: CMembers,
    /// The primary key, resolved (or why it cannot be used).
    pub(super) key: Option<Result<Vec<KeyPath>, String>>,
    pub(super) key_text: Option<String>,
    /// Whether a record of the type can hold a map or a set: a field of
    /// its own, or of a struct it reaches through fields and lists.
    pub(super) has_collections: bool,
    /// Indexes into `members.fields` of its value fields by ordinal: the
    /// order a composite key compares them in.
    pub(super) by_ordinal: Vec<usize>,
    /// Indexes into `members.fields` of its `key` and `value` fields, when
    /// it has both as values: where a map whose entries it is finds them
    /// (found once here, not by name per map read).
    pub(super) entry: Option<EntryAt>,
}

/// Where a map entry struct keeps its key and value.
#[derive(Clone, Debug)]
pub(super) struct EntryAt {
    /// Index into `members.fields` of `key`.
    key: usize,
    /// Index into `members.fields` of `value`.
    value: usize,
    /// The key's type and slot offset.
    key_ty: CType,
    key_offset: u32,
}

/// A map's entry struct and its key and value fields, as
/// [`Compiled::entry`] finds them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry<'c> {
    /// The entry struct and its index into [`Compiled::structs`].
    pub(super) st: &'c CStruct,
    pub(super) index: u32,
    /// Its `key` field.
    pub(super) key: &'c CField,
    /// The key's type and slot offset.
    pub(super) key_ty: &'c CType,
    pub(super) key_offset: u32,
    /// Its `value` field.
    pub(super) value: &'c CField,
}

#[derive(Clone, Debug)]
pub(super) struct CEnum {
    pub(super) name: String,
    pub(super) enumerants: Vec<String>,
}

/// The whole schema, resolved.
#[derive(Clone, Debug, Default)]
pub(super) struct Compiled {
    pub(super) structs: Vec<CStruct>,
    pub(super) enums: Vec<CEnum>,
    pub(super) by_name: HashMap<String, u32>,
}

struct Ctx<'s> {
    schema: &'s Schema,
    structs: HashMap<&'s str, u32>,
    enums: HashMap<&'s str, u32>,
}

impl Ctx<'_> {
    fn ty(&self, owner: &str, field: &str, ty: &Type) -> Result<CType, DynamicError> {
        Ok(match ty {
            Type::Void => CType::Void,
            Type::Bool => CType::Bool,
            Type::Int8 => CType::I8,
            Type::Int16 => CType::I16,
            Type::Int32 => CType::I32,
            Type::Int64 => CType::I64,
            Type::UInt8 => CType::U8,
            Type::UInt16 => CType::U16,
            Type::UInt32 => CType::U32,
            Type::UInt64 => CType::U64,
            Type::Float32 => CType::F32,
            Type::Float64 => CType::F64,
            Type::Text => CType::Text,
            Type::Data => CType::Data,
            Type::Enum(n) => match self.enums.get(n.as_str()) {
                Some(&i) => CType::Enum(i),
                None => return Err(unresolved(owner, field, "enum", n, self.schema)),
            },
            Type::Struct(n) => match self.structs.get(n.as_str()) {
                Some(&i) => CType::Struct(i),
                None => return Err(unresolved(owner, field, "struct", n, self.schema)),
            },
            Type::List(inner) => CType::List(Box::new(self.ty(owner, field, inner)?)),
        })
    }

    fn members(
        &self,
        st: &StructType,
        fields: &[Field],
        unnamed: Option<&Union>,
    ) -> Result<CMembers, DynamicError> {
        let mut out = CMembers::default();
        for f in fields {
            out.fields.push(self.field(st, f)?);
        }
        if let Some(u) = unnamed {
            out.unnamed = Some(self.union(st, "(unnamed union)", u)?);
        }
        Ok(out)
    }

    fn union(&self, st: &StructType, name: &str, u: &Union) -> Result<CUnion, DynamicError> {
        let data_bits = st.size.data_words as u64 * 64;
        if (u.discriminant_offset as u64 + 1) * 16 > data_bits {
            return Err(DynamicError::schema(format!(
                "cannot interpret type {}, field {name}: its union discriminant (at 16-bit \
                 offset {}) lies outside the struct's data section ({} words)",
                st.name, u.discriminant_offset, st.size.data_words
            )));
        }
        let mut variants = Vec::with_capacity(u.variants.len());
        for v in &u.variants {
            variants.push(self.field(st, v)?);
        }
        Ok(CUnion {
            discriminant: u.discriminant_offset,
            variants,
        })
    }

    fn field(&self, st: &StructType, f: &Field) -> Result<CField, DynamicError> {
        let kind = match &f.kind {
            FieldKind::Slot(s) => {
                let ty = self.ty(&st.name, &f.name, &s.ty)?;
                let fits = if ty.is_pointer() {
                    s.offset < st.size.pointers as u32
                } else {
                    (s.offset as u64 + 1) * ty.bits() <= st.size.data_words as u64 * 64
                };
                if !fits {
                    return Err(DynamicError::schema(format!(
                        "cannot interpret type {}, field {}: its offset {} lies outside the \
                         struct's sections ({} data words, {} pointers)",
                        st.name, f.name, s.offset, st.size.data_words, st.size.pointers
                    )));
                }
                CKind::Slot {
                    ty,
                    offset: s.offset,
                    collection: s.collection,
                }
            }
            FieldKind::Group(g) => CKind::Group(self.members(st, &g.fields, None)?),
            FieldKind::Union(u) => CKind::Union(self.union(st, &f.name, u)?),
        };
        Ok(CField {
            name: f.name.clone(),
            kind,
        })
    }

    /// Resolves a key's paths to hops and leaves.
    fn key(&self, st: &StructType, key: &Key) -> Result<Vec<KeyPath>, String> {
        let mut out = Vec::new();
        for path in &key.paths {
            let mut owner = st;
            let mut fields: &[Field] = &st.fields;
            let mut hops = Vec::new();
            let mut leaf = None;
            for (i, seg) in path.segments.iter().enumerate() {
                let last = i + 1 == path.segments.len();
                let Some(f) = fields.iter().find(|f| &f.name == seg) else {
                    return Err(format!(
                        "its primary key {key} names {path}, but {} has no field {seg}",
                        owner.name
                    ));
                };
                match &f.kind {
                    FieldKind::Group(g) if !last => {
                        hops.push(Hop::Inline);
                        fields = &g.fields;
                    }
                    FieldKind::Slot(s) if !last => {
                        let next = match &s.ty {
                            Type::Struct(n) => self.schema.get_struct(n),
                            _ => None,
                        };
                        let Some(next) = next else {
                            return Err(format!(
                                "its primary key {key} goes through {seg}, which is not a struct"
                            ));
                        };
                        hops.push(Hop::Pointer(s.offset));
                        owner = next;
                        fields = &next.fields;
                    }
                    FieldKind::Slot(s) => {
                        let ty = self
                            .ty(&owner.name, &f.name, &s.ty)
                            .map_err(|e| e.to_string())?;
                        if matches!(ty, CType::Struct(_) | CType::List(_) | CType::Void) {
                            return Err(format!(
                                "its primary key {key} ends at {seg}, a {} (keys are \
                                 scalars, Text, Data or enums)",
                                s.ty
                            ));
                        }
                        leaf = Some((ty, s.offset));
                    }
                    _ => {
                        return Err(format!(
                            "its primary key {key} goes through {seg}, a group or union"
                        ))
                    }
                }
            }
            let Some((ty, offset)) = leaf else {
                return Err(format!("its primary key {key} has an empty path"));
            };
            out.push(KeyPath {
                name: path.to_string(),
                hops,
                ty,
                offset,
            });
        }
        Ok(out)
    }
}

fn unresolved(owner: &str, field: &str, what: &str, name: &str, schema: &Schema) -> DynamicError {
    let known: Vec<&str> = schema.types.iter().map(TypeDef::name).collect();
    DynamicError::schema(format!(
        "cannot interpret type {owner}, field {field}: it refers to the {what} {name}, \
         which the schema does not define (it defines {})",
        known.join(", ")
    ))
}

/// Resolves every type of `schema`.
pub(super) fn compile(schema: &Schema) -> Result<Compiled, DynamicError> {
    let mut ctx = Ctx {
        schema,
        structs: HashMap::new(),
        enums: HashMap::new(),
    };
    for t in &schema.types {
        match t {
            TypeDef::Struct(s) => {
                let i = ctx.structs.len() as u32;
                ctx.structs.insert(&s.name, i);
            }
            TypeDef::Enum(e) => {
                let i = ctx.enums.len() as u32;
                ctx.enums.insert(&e.name, i);
            }
        }
    }
    let mut out = Compiled::default();
    for t in &schema.types {
        match t {
            TypeDef::Struct(s) => {
                let members = ctx.members(s, &s.fields, s.unnamed_union.as_ref())?;
                out.by_name.insert(s.name.clone(), out.structs.len() as u32);
                out.structs.push(CStruct {
                    name: s.name.clone(),
                    is_record: s.is_record,
                    key: s.primary_key.as_ref().map(|k| ctx.key(s, k)),
                    key_text: s.primary_key.as_ref().map(|k| k.to_string()),
                    has_collections: false,
                    by_ordinal: by_ordinal(&s.fields),
                    entry: entry_fields(&members),
                    members,
                });
            }
            TypeDef::Enum(e) => out.enums.push(CEnum {
                name: e.name.clone(),
                enumerants: e.enumerants.iter().map(|x| x.name.clone()).collect(),
            }),
        }
    }
    mark_collections(&mut out);
    Ok(out)
}

/// Where the `key` and `value` value fields of `m` are, when it has both.
fn entry_fields(m: &CMembers) -> Option<EntryAt> {
    let slot = |name: &str| {
        m.fields
            .iter()
            .enumerate()
            .find_map(|(i, f)| match &f.kind {
                CKind::Slot { ty, offset, .. } if f.name == name => Some((i, ty, *offset)),
                _ => None,
            })
    };
    let ((key, key_ty, key_offset), (value, ..)) = (slot("key")?, slot("value")?);
    Some(EntryAt {
        key,
        value,
        key_ty: key_ty.clone(),
        key_offset,
    })
}

/// Indexes of the value fields of `fields`, by ordinal.
fn by_ordinal(fields: &[Field]) -> Vec<usize> {
    let mut slots: Vec<(u16, usize)> = fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| Some((f.as_slot()?.ordinal, i)))
        .collect();
    slots.sort_unstable();
    slots.into_iter().map(|(_, i)| i).collect()
}

/// Sets [`CStruct::has_collections`]: first the structs with a map or set
/// field of their own, then, until nothing changes, those that reach one.
fn mark_collections(c: &mut Compiled) {
    type Test<'t> = dyn FnMut(&CType, Option<Collection>) -> bool + 't;
    fn any_field<'f>(mut fields: impl Iterator<Item = &'f CField>, test: &mut Test<'_>) -> bool {
        fields.any(|x| match &x.kind {
            CKind::Slot { ty, collection, .. } => test(ty, *collection),
            CKind::Group(g) => any_slot(g, test),
            CKind::Union(u) => any_field(u.variants.iter(), test),
        })
    }
    fn any_slot(m: &CMembers, test: &mut Test<'_>) -> bool {
        any_field(
            m.fields
                .iter()
                .chain(m.unnamed.iter().flat_map(|u| &u.variants)),
            test,
        )
    }
    for s in &mut c.structs {
        s.has_collections = any_slot(&s.members, &mut |_, col| col.is_some());
    }
    loop {
        let mut changed = false;
        for i in 0..c.structs.len() {
            if c.structs[i].has_collections {
                continue;
            }
            let reaches = any_slot(&c.structs[i].members, &mut |ty, _| c.reaches_collection(ty));
            if reaches {
                c.structs[i].has_collections = true;
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

impl Compiled {
    /// The entry struct of a map whose elements are `elem`, with its key and
    /// value fields.
    ///
    /// # Errors
    /// The elements are not structs, or the struct lacks a `key` or `value`
    /// field (possible only in a schema from a damaged or foreign blob).
    pub(super) fn entry(&self, elem: &CType) -> Result<Entry<'_>, String> {
        let CType::Struct(e) = elem else {
            return Err("a map's elements are not entry structs".into());
        };
        let st = &self.structs[*e as usize];
        let Some(at) = &st.entry else {
            return Err(format!(
                "map entry struct {} lacks a key or value field",
                st.name
            ));
        };
        Ok(Entry {
            st,
            index: *e,
            key: &st.members.fields[at.key],
            key_ty: &at.key_ty,
            key_offset: at.key_offset,
            value: &st.members.fields[at.value],
        })
    }

    /// Whether a value of type `ty` can hold a map or a set (a struct that
    /// has one, or a list of such structs).
    pub(super) fn reaches_collection(&self, ty: &CType) -> bool {
        match ty {
            CType::Struct(i) => self.structs[*i as usize].has_collections,
            CType::List(e) => self.reaches_collection(e),
            _ => false,
        }
    }
}

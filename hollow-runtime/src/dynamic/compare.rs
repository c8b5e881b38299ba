//! Field-by-field comparison of two records of one type (maps key by key,
//! sets element by element).

use serde_json::Value;

use std::cmp::Ordering;

use hollow_schema::Collection;

use super::compile::{CField, CKind, CMembers, CType, CUnion, Compiled};
use super::json::{element_size, element_value, field_value};
use super::order::{cmp_keys, key_in_list, key_in_struct, KeyRead};
use super::DynamicError;
use crate::wire::{ListReader, StructReader};

/// A field whose value differs between two records.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldChange {
    /// The field's dotted path from the record (`dims.origin.zone`,
    /// `payload.count`). A union member is named by its own path; when the
    /// active member changed, the old member is reported with no new value
    /// and the new member with no old value. A change inside a map or set
    /// is at the key, written as JSON in brackets (`titles["fr"]`,
    /// `scores[42]`): a key or element added has no old value, one removed
    /// no new value, and a map value changed under a kept key is compared
    /// as a field at that path (`titles["fr"].text`).
    pub path: String,
    /// The old value as JSON, `None` when the field was not there (an
    /// inactive union member).
    pub old: Option<Value>,
    /// The new value as JSON, `None` when the field is not there any more.
    pub new: Option<Value>,
}

impl FieldChange {
    /// The change as a JSON object `{"path", "old", "new"}` (absent values
    /// are omitted).
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("path".into(), Value::String(self.path.clone()));
        if let Some(o) = &self.old {
            m.insert("old".into(), o.clone());
        }
        if let Some(n) = &self.new {
            m.insert("new".into(), n.clone());
        }
        Value::Object(m)
    }
}

pub(super) struct Cmp<'c> {
    pub(super) c: &'c Compiled,
    pub(super) out: Vec<FieldChange>,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

impl Cmp<'_> {
    fn value(&self, owner: &str, f: &CField, r: StructReader<'_>) -> Result<Value, DynamicError> {
        field_value(self.c, owner, f, r).map_err(|e| DynamicError::record(e.to_string()))
    }

    pub(super) fn members(
        &mut self,
        owner: &str,
        m: &CMembers,
        a: StructReader<'_>,
        b: StructReader<'_>,
        prefix: &str,
    ) -> Result<(), DynamicError> {
        for f in &m.fields {
            self.field(owner, f, a, b, prefix)?;
        }
        if let Some(u) = &m.unnamed {
            self.union(owner, u, a, b, prefix)?;
        }
        Ok(())
    }

    fn union(
        &mut self,
        owner: &str,
        u: &CUnion,
        a: StructReader<'_>,
        b: StructReader<'_>,
        prefix: &str,
    ) -> Result<(), DynamicError> {
        let (da, db) = (a.read_u16(u.discriminant), b.read_u16(u.discriminant));
        let member = |d: u16| {
            u.variants.get(d as usize).ok_or_else(|| {
                DynamicError::record(format!(
                    "{owner}.{prefix}: union discriminant {d} is not a member ({} members)",
                    u.variants.len()
                ))
            })
        };
        let (va, vb) = (member(da)?, member(db)?);
        if da == db {
            return self.field(owner, va, a, b, prefix);
        }
        let old = self.value(owner, va, a)?;
        let new = self.value(owner, vb, b)?;
        self.out.push(FieldChange {
            path: join(prefix, &va.name),
            old: Some(old),
            new: None,
        });
        self.out.push(FieldChange {
            path: join(prefix, &vb.name),
            old: None,
            new: Some(new),
        });
        Ok(())
    }

    fn field(
        &mut self,
        owner: &str,
        f: &CField,
        a: StructReader<'_>,
        b: StructReader<'_>,
        prefix: &str,
    ) -> Result<(), DynamicError> {
        self.field_at(owner, f, a, b, join(prefix, &f.name))
    }

    /// Compares field `f` of `a` and `b`, reporting changes at `path`.
    fn field_at(
        &mut self,
        owner: &str,
        f: &CField,
        a: StructReader<'_>,
        b: StructReader<'_>,
        path: String,
    ) -> Result<(), DynamicError> {
        match &f.kind {
            CKind::Group(m) => self.members(owner, m, a, b, &path),
            CKind::Union(u) => self.union(owner, u, a, b, &path),
            CKind::Slot {
                ty: CType::Struct(i),
                offset,
                ..
            } => {
                let (pa, pb) = (a.pointer(*offset), b.pointer(*offset));
                if pa.is_null() || pb.is_null() {
                    return self.whole(owner, f, a, b, path);
                }
                let err = |e| DynamicError::record(format!("{owner}.{}: {e}", f.name));
                let (sa, sb) = (
                    pa.struct_reader().map_err(err)?,
                    pb.struct_reader().map_err(err)?,
                );
                let st = &self.c.structs[*i as usize];
                self.members(&st.name, &st.members, sa, sb, &path)
            }
            CKind::Slot { ty, offset, .. } if !ty.is_pointer() => {
                if scalar_bits(ty, *offset, &a) != scalar_bits(ty, *offset, &b) {
                    let (old, new) = (self.value(owner, f, a)?, self.value(owner, f, b)?);
                    self.out.push(FieldChange {
                        path,
                        old: Some(old),
                        new: Some(new),
                    });
                }
                Ok(())
            }
            CKind::Slot {
                ty: CType::List(elem),
                offset,
                collection: Some(kind),
            } => {
                let (pa, pb) = (a.pointer(*offset), b.pointer(*offset));
                if pa.is_null() || pb.is_null() {
                    return self.whole(owner, f, a, b, path);
                }
                let err = |e| DynamicError::record(format!("{owner}.{}: {e}", f.name));
                let (la, lb) = (
                    pa.list_reader().map_err(err)?,
                    pb.list_reader().map_err(err)?,
                );
                if !la.is(element_size(elem)) || !lb.is(element_size(elem)) {
                    return self.whole(owner, f, a, b, path);
                }
                let at = |e: String| DynamicError::record(format!("{owner}.{}: {e}", f.name));
                self.keyed(*kind, elem, la, lb, &path).map_err(at)
            }
            CKind::Slot { .. } => self.whole(owner, f, a, b, path),
        }
    }

    /// A map or set's changes, key by key: the lists `a` and `b` of `elem`
    /// (entry structs for a map), both sorted by key, walked side by side.
    /// A key only in `a` is reported with no new value, one only in `b`
    /// with no old value; a map value changed under one key is compared as
    /// the field it is, at path `path[key]` (the key as JSON).
    fn keyed<'a>(
        &mut self,
        kind: Collection,
        elem: &CType,
        a: ListReader<'a>,
        b: ListReader<'a>,
        path: &str,
    ) -> Result<(), String> {
        // Pairing entries up by key needs both in the stored order.
        super::order::check_one(self.c, kind, elem, &a)?;
        super::order::check_one(self.c, kind, elem, &b)?;
        let entry = match kind {
            Collection::Map => Some(self.c.entry(elem)?),
            Collection::Set => None,
        };
        let c = self.c;
        let key = |l: &ListReader<'a>, i: u32| -> Result<(KeyRead<'a>, Value), String> {
            match entry {
                Some(e) => {
                    let r = l.struct_at(i);
                    let json = field_value(c, &e.st.name, e.key, r).map_err(|e| e.to_string())?;
                    Ok((key_in_struct(e.key_ty, e.key_offset, &r)?, json))
                }
                None => Ok((key_in_list(elem, l, i)?, element_value(c, elem, l, i)?)),
            }
        };
        let value = |l: &ListReader<'a>, i: u32| -> Result<Option<Value>, String> {
            match entry {
                Some(e) => field_value(c, &e.st.name, e.value, l.struct_at(i))
                    .map(Some)
                    .map_err(|e| e.to_string()),
                None => key(l, i).map(|(_, json)| Some(json)),
            }
        };
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let ka = (i < a.len()).then(|| key(&a, i)).transpose()?;
            let kb = (j < b.len()).then(|| key(&b, j)).transpose()?;
            let order = match (&ka, &kb) {
                (Some(x), Some(y)) => cmp_keys(c, x.0, y.0)?,
                (Some(_), None) => Ordering::Less,
                _ => Ordering::Greater,
            };
            let shown = match order {
                Ordering::Greater => &kb.as_ref().expect("b has a key").1,
                _ => &ka.as_ref().expect("a has a key").1,
            };
            let at = format!("{path}[{shown}]");
            match order {
                Ordering::Less => {
                    self.out.push(FieldChange {
                        path: at,
                        old: value(&a, i)?,
                        new: None,
                    });
                    i += 1;
                }
                Ordering::Greater => {
                    self.out.push(FieldChange {
                        path: at,
                        old: None,
                        new: value(&b, j)?,
                    });
                    j += 1;
                }
                Ordering::Equal => {
                    if let Some(e) = entry {
                        self.field_at(&e.st.name, e.value, a.struct_at(i), b.struct_at(j), at)
                            .map_err(|e| e.to_string())?;
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        Ok(())
    }

    /// Compares the whole value of `f`, reporting it when it differs.
    fn whole(
        &mut self,
        owner: &str,
        f: &CField,
        a: StructReader<'_>,
        b: StructReader<'_>,
        path: String,
    ) -> Result<(), DynamicError> {
        let (old, new) = (self.value(owner, f, a)?, self.value(owner, f, b)?);
        if old != new {
            self.out.push(FieldChange {
                path,
                old: Some(old),
                new: Some(new),
            });
        }
        Ok(())
    }
}

/// A scalar's raw bits (so `0.0` and `-0.0`, or two NaNs, compare by bits).
fn scalar_bits(ty: &CType, o: u32, r: &StructReader<'_>) -> u64 {
    match ty {
        CType::Bool => r.read_bool(o) as u64,
        CType::I8 | CType::U8 => r.read_u8(o) as u64,
        CType::I16 | CType::U16 | CType::Enum(_) => r.read_u16(o) as u64,
        CType::I32 | CType::U32 | CType::F32 => r.read_u32(o) as u64,
        CType::I64 | CType::U64 | CType::F64 => r.read_u64(o),
        _ => 0,
    }
}

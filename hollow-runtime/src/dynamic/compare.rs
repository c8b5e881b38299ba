//! Field-by-field comparison of two records of one type.

use serde_json::Value;

use super::compile::{CField, CKind, CMembers, CType, CUnion, Compiled};
use super::json::field_value;
use super::DynamicError;
use crate::wire::StructReader;

/// A field whose value differs between two records.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldChange {
    /// The field's dotted path from the record (`dims.origin.zone`,
    /// `payload.count`). A union member is named by its own path; when the
    /// active member changed, the old member is reported with no new value
    /// and the new member with no old value.
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
        let path = join(prefix, &f.name);
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
            CKind::Slot { .. } => self.whole(owner, f, a, b, path),
        }
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

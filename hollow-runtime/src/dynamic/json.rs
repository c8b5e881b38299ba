//! Records as JSON: a [`serde::Serialize`] walk of the wire guided by the
//! schema (no intermediate tree, so export streams), and the same values as
//! [`serde_json::Value`]s for comparison.

use std::cell::Cell;
use std::io::Write as _;

use base64::Engine as _;
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use hollow_schema::Collection;

use super::compile::{CField, CKind, CMembers, CType, CUnion, Compiled};
use super::order;
use crate::wire::{ElementSize, ListReader, PointerReader, StructReader};

/// An `f32` as the `f64` its shortest decimal form denotes, so `8.3f32`
/// shows as `8.3` (not `8.300000190734863`) in text and in values alike.
pub(super) fn f32_as_f64(x: f32) -> f64 {
    let mut buf = [0u8; 48];
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    if write!(cur, "{x}").is_err() {
        return x as f64;
    }
    let n = cur.position() as usize;
    std::str::from_utf8(&buf[..n])
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(x as f64)
}

fn non_finite(x: f64) -> &'static str {
    if x.is_nan() {
        "NaN"
    } else if x > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

fn float<S: Serializer>(x: f64, s: S) -> Result<S::Ok, S::Error> {
    if x.is_finite() {
        s.serialize_f64(x)
    } else {
        s.serialize_str(non_finite(x))
    }
}

/// What a walk may still read: every list element, text and struct costs
/// at least one unit, texts and data one more per 8 bytes. It starts, as
/// the canonicalizer's traversal budget does, at 8 units per word of the
/// segment the record is read from, plus 1024. Bytes cannot make a record's
/// JSON much larger than themselves: elements of `List(Void)` or of
/// structs with empty sections take no bytes, and many pointers may point
/// at one large object, so without it a few KB could ask for gigabytes.
pub(super) struct Budget(Cell<u64>);

impl Budget {
    /// The budget for walking a record read by `r`.
    pub(super) fn for_record(r: &StructReader<'_>) -> Budget {
        let (seg, ..) = r.parts();
        Budget(Cell::new(crate::wire::traversal_budget(
            seg.len() as u64 / 8,
        )))
    }

    fn charge<E: serde::ser::Error>(&self, at: At<'_>, units: u64) -> Result<(), E> {
        let left = self.0.get();
        if units > left {
            return Err(at.error(format_args!(
                "the record reads more than its blob's bytes allow \
                 (a list or pointer repeated to amplify it)"
            )));
        }
        self.0.set(left - units);
        Ok(())
    }
}

/// Where an error happened, for messages: the struct type and the field;
/// and the walk's [`Budget`].
#[derive(Clone, Copy)]
pub(super) struct At<'c> {
    pub(super) owner: &'c str,
    pub(super) field: &'c str,
    pub(super) budget: &'c Budget,
}

impl At<'_> {
    pub(super) fn error<E: serde::ser::Error>(&self, what: impl std::fmt::Display) -> E {
        E::custom(format_args!("{}.{}: {what}", self.owner, self.field))
    }
}

/// The members of a struct or group, read from `r`.
pub(super) struct MembersSer<'c, 'a> {
    pub(super) c: &'c Compiled,
    pub(super) owner: &'c str,
    pub(super) members: &'c CMembers,
    pub(super) r: StructReader<'a>,
    pub(super) budget: &'c Budget,
}

impl Serialize for MembersSer<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for f in &self.members.fields {
            map.serialize_entry(&f.name, &self.field(f))?;
        }
        if let Some(u) = &self.members.unnamed {
            let d = self.r.read_u16(u.discriminant);
            let Some(v) = u.variants.get(d as usize) else {
                return Err(S::Error::custom(format_args!(
                    "{}: unnamed union discriminant {d} is not a member ({} members)",
                    self.owner,
                    u.variants.len()
                )));
            };
            map.serialize_entry(&v.name, &self.field(v))?;
        }
        map.end()
    }
}

impl<'c, 'a> MembersSer<'c, 'a> {
    fn field(&self, f: &'c CField) -> FieldSer<'c, 'a> {
        FieldSer {
            c: self.c,
            at: At {
                owner: self.owner,
                field: &f.name,
                budget: self.budget,
            },
            kind: &f.kind,
            r: self.r,
        }
    }
}

/// One field's value.
pub(super) struct FieldSer<'c, 'a> {
    c: &'c Compiled,
    at: At<'c>,
    kind: &'c CKind,
    r: StructReader<'a>,
}

impl Serialize for FieldSer<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.kind {
            CKind::Slot {
                ty: CType::List(elem),
                offset,
                collection: Some(Collection::Map),
            } => match self.r.pointer(*offset) {
                p if p.is_null() => s.serialize_none(),
                p => {
                    let l = checked_list(self.c, self.at, elem, p)?;
                    order::check_one(self.c, Collection::Map, elem, &l)
                        .map_err(|e| self.at.error(e))?;
                    map(self.c, self.at, elem, l, s)
                }
            },
            CKind::Slot {
                ty: ty @ CType::List(elem),
                offset,
                collection: Some(Collection::Set),
            } => {
                let p = self.r.pointer(*offset);
                if !p.is_null() {
                    let l = checked_list(self.c, self.at, elem, p)?;
                    order::check_one(self.c, Collection::Set, elem, &l)
                        .map_err(|e| self.at.error(e))?;
                }
                slot(self.c, self.at, ty, *offset, &self.r, s)
            }
            CKind::Slot { ty, offset, .. } => slot(self.c, self.at, ty, *offset, &self.r, s),
            CKind::Group(m) => MembersSer {
                c: self.c,
                owner: self.at.owner,
                members: m,
                r: self.r,
                budget: self.at.budget,
            }
            .serialize(s),
            CKind::Union(u) => UnionSer {
                c: self.c,
                at: self.at,
                u,
                r: self.r,
            }
            .serialize(s),
        }
    }
}

/// A named union: `{"member": value}`.
struct UnionSer<'c, 'a> {
    c: &'c Compiled,
    at: At<'c>,
    u: &'c CUnion,
    r: StructReader<'a>,
}

impl Serialize for UnionSer<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.r.read_u16(self.u.discriminant);
        let Some(v) = self.u.variants.get(d as usize) else {
            return Err(self.at.error(format_args!(
                "union discriminant {d} is not a member ({} members)",
                self.u.variants.len()
            )));
        };
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(
            &v.name,
            &FieldSer {
                c: self.c,
                at: At {
                    owner: self.at.owner,
                    field: &v.name,
                    budget: self.at.budget,
                },
                kind: &v.kind,
                r: self.r,
            },
        )?;
        map.end()
    }
}

/// A value in a struct's data or pointer section.
fn slot<S: Serializer>(
    c: &Compiled,
    at: At<'_>,
    ty: &CType,
    offset: u32,
    r: &StructReader<'_>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match ty {
        CType::Void => s.serialize_unit(),
        CType::Bool => s.serialize_bool(r.read_bool(offset)),
        CType::I8 => s.serialize_i8(r.read_u8(offset) as i8),
        CType::I16 => s.serialize_i16(r.read_u16(offset) as i16),
        CType::I32 => s.serialize_i32(r.read_u32(offset) as i32),
        CType::I64 => s.serialize_i64(r.read_u64(offset) as i64),
        CType::U8 => s.serialize_u8(r.read_u8(offset)),
        CType::U16 => s.serialize_u16(r.read_u16(offset)),
        CType::U32 => s.serialize_u32(r.read_u32(offset)),
        CType::U64 => s.serialize_u64(r.read_u64(offset)),
        CType::F32 => float(f32_as_f64(f32::from_bits(r.read_u32(offset))), s),
        CType::F64 => float(f64::from_bits(r.read_u64(offset)), s),
        CType::Enum(e) => enum_value(c, *e, r.read_u16(offset), s),
        CType::Text | CType::Data | CType::Struct(_) | CType::List(_) => {
            pointer(c, at, ty, r.pointer(offset), s)
        }
    }
}

fn enum_value<S: Serializer>(c: &Compiled, e: u32, v: u16, s: S) -> Result<S::Ok, S::Error> {
    match c.enums[e as usize].enumerants.get(v as usize) {
        Some(name) => s.serialize_str(name),
        // A value the writer's schema does not name: shown as its number.
        None => s.serialize_u16(v),
    }
}

/// A value behind a pointer; a null pointer is `null`.
fn pointer<S: Serializer>(
    c: &Compiled,
    at: At<'_>,
    ty: &CType,
    p: PointerReader<'_>,
    s: S,
) -> Result<S::Ok, S::Error> {
    if p.is_null() {
        return s.serialize_none();
    }
    match ty {
        CType::Text => {
            let text = p.text().map_err(|e| at.error(e))?;
            at.budget.charge(at, 1 + text.len().div_ceil(8) as u64)?;
            s.serialize_str(text)
        }
        CType::Data => {
            let bytes = p.data().map_err(|e| at.error(e))?;
            at.budget.charge(at, 1 + bytes.len().div_ceil(8) as u64)?;
            s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        CType::Struct(i) => {
            let r = p.struct_reader().map_err(|e| at.error(e))?;
            at.budget.charge(at, 1)?;
            let st = &c.structs[*i as usize];
            MembersSer {
                c,
                owner: &st.name,
                members: &st.members,
                r,
                budget: at.budget,
            }
            .serialize(s)
        }
        CType::List(elem) => {
            let l = checked_list(c, at, elem, p)?;
            ListSer { c, at, elem, l }.serialize(s)
        }
        _ => Err(at.error("not a pointer type")),
    }
}

/// The `List(elem)` behind `p` (not null), charged to the budget, its
/// element encoding checked.
fn checked_list<'a, E: serde::ser::Error>(
    c: &Compiled,
    at: At<'_>,
    elem: &CType,
    p: PointerReader<'a>,
) -> Result<ListReader<'a>, E> {
    let l = p.list_reader().map_err(|e| at.error(e))?;
    at.budget.charge(at, 1 + u64::from(l.len()))?;
    if !l.is(element_size(elem)) {
        return Err(at.error(format_args!(
            "a List({}) stored with {:?} elements",
            type_name(c, elem),
            l.element_size()
        )));
    }
    Ok(l)
}

/// A map (`l`, a list of entry structs `elem`): a JSON object from key to
/// value when the key is `Text`, otherwise an array of `[key, value]`
/// pairs, in the stored order.
fn map<'c, S: Serializer>(
    c: &'c Compiled,
    at: At<'c>,
    elem: &CType,
    l: ListReader<'_>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let entry = c.entry(elem).map_err(|e| at.error(e))?;
    let (st, key, value) = (entry.st, entry.key, entry.value);
    let part = |f: &'c CField, r| FieldSer {
        c,
        at: At {
            owner: &st.name,
            field: &f.name,
            budget: at.budget,
        },
        kind: &f.kind,
        r,
    };
    match &key.kind {
        CKind::Slot {
            ty: CType::Text,
            offset,
            ..
        } => {
            let mut m = s.serialize_map(None)?;
            for i in 0..l.len() {
                let r = l.struct_at(i);
                // A null key reads as "", as the compiled accessors read it.
                let k = r.pointer(*offset).text().map_err(|e| at.error(e))?;
                at.budget.charge(at, 1 + k.len().div_ceil(8) as u64)?;
                m.serialize_entry(k, &part(value, r))?;
            }
            m.end()
        }
        _ => {
            let mut seq = s.serialize_seq(None)?;
            for i in 0..l.len() {
                let r = l.struct_at(i);
                seq.serialize_element(&(part(key, r), part(value, r)))?;
            }
            seq.end()
        }
    }
}

/// The element encoding a `List(elem)` is written with.
pub(super) fn element_size(elem: &CType) -> ElementSize {
    match elem {
        CType::Void => ElementSize::Void,
        CType::Bool => ElementSize::Bit,
        CType::I8 | CType::U8 => ElementSize::Byte,
        CType::I16 | CType::U16 | CType::Enum(_) => ElementSize::TwoBytes,
        CType::I32 | CType::U32 | CType::F32 => ElementSize::FourBytes,
        CType::I64 | CType::U64 | CType::F64 => ElementSize::EightBytes,
        CType::Text | CType::Data | CType::List(_) => ElementSize::Pointer,
        CType::Struct(_) => ElementSize::InlineComposite,
    }
}

/// A type's name in Cap'n Proto form, for messages.
pub(super) fn type_name(c: &Compiled, t: &CType) -> String {
    match t {
        CType::Void => "Void".into(),
        CType::Bool => "Bool".into(),
        CType::I8 => "Int8".into(),
        CType::I16 => "Int16".into(),
        CType::I32 => "Int32".into(),
        CType::I64 => "Int64".into(),
        CType::U8 => "UInt8".into(),
        CType::U16 => "UInt16".into(),
        CType::U32 => "UInt32".into(),
        CType::U64 => "UInt64".into(),
        CType::F32 => "Float32".into(),
        CType::F64 => "Float64".into(),
        CType::Text => "Text".into(),
        CType::Data => "Data".into(),
        CType::Enum(i) => c.enums[*i as usize].name.clone(),
        CType::Struct(i) => c.structs[*i as usize].name.clone(),
        CType::List(e) => format!("List({})", type_name(c, e)),
    }
}

struct ListSer<'c, 'a> {
    c: &'c Compiled,
    at: At<'c>,
    elem: &'c CType,
    l: ListReader<'a>,
}

impl Serialize for ListSer<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The length is only a hint, and read from the blob: the budget
        // (charged for it) bounds it, but no more is reserved than is used.
        let n = self.l.len();
        let mut seq = s.serialize_seq(None)?;
        for i in 0..n {
            seq.serialize_element(&ElementSer { list: self, i })?;
        }
        seq.end()
    }
}

struct ElementSer<'l, 'c, 'a> {
    list: &'l ListSer<'c, 'a>,
    i: u32,
}

impl Serialize for ElementSer<'_, '_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (c, l, i) = (self.list.c, &self.list.l, self.i);
        match self.list.elem {
            CType::Void => s.serialize_unit(),
            CType::Bool => s.serialize_bool(l.bit(i)),
            CType::I8 => s.serialize_i8(l.u8_at(i) as i8),
            CType::I16 => s.serialize_i16(l.u16_at(i) as i16),
            CType::I32 => s.serialize_i32(l.u32_at(i) as i32),
            CType::I64 => s.serialize_i64(l.u64_at(i) as i64),
            CType::U8 => s.serialize_u8(l.u8_at(i)),
            CType::U16 => s.serialize_u16(l.u16_at(i)),
            CType::U32 => s.serialize_u32(l.u32_at(i)),
            CType::U64 => s.serialize_u64(l.u64_at(i)),
            CType::F32 => float(f32_as_f64(f32::from_bits(l.u32_at(i))), s),
            CType::F64 => float(f64::from_bits(l.u64_at(i)), s),
            CType::Enum(e) => enum_value(c, *e, l.u16_at(i), s),
            CType::Struct(si) => {
                let st = &c.structs[*si as usize];
                MembersSer {
                    c,
                    owner: &st.name,
                    members: &st.members,
                    r: l.struct_at(i),
                    budget: self.list.at.budget,
                }
                .serialize(s)
            }
            t @ (CType::Text | CType::Data | CType::List(_)) => {
                pointer(c, self.list.at, t, l.pointer(i), s)
            }
        }
    }
}

/// One field of the struct read by `r`, as a JSON value.
pub(super) fn field_value(
    c: &Compiled,
    owner: &str,
    f: &CField,
    r: StructReader<'_>,
) -> Result<serde_json::Value, serde_json::Error> {
    let budget = Budget::for_record(&r);
    serde_json::to_value(FieldSer {
        c,
        at: At {
            owner,
            field: &f.name,
            budget: &budget,
        },
        kind: &f.kind,
        r,
    })
}

/// Element `i` of the list `l` of `elem`, as a JSON value.
pub(super) fn element_value(
    c: &Compiled,
    elem: &CType,
    l: &ListReader<'_>,
    i: u32,
) -> Result<serde_json::Value, String> {
    let budget = Budget(Cell::new(crate::wire::traversal_budget(
        l.seg_words() as u64
    )));
    let name = type_name(c, elem);
    let list = ListSer {
        c,
        at: At {
            owner: &name,
            field: "element",
            budget: &budget,
        },
        elem,
        l: *l,
    };
    serde_json::to_value(ElementSer { list: &list, i }).map_err(|e| e.to_string())
}

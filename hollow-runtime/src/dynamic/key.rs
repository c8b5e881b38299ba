//! Primary keys read from records and parsed from text, with no generated
//! code: [`KeyValue`].

use std::fmt;

use base64::Engine as _;

use super::compile::{CType, Compiled, Hop, KeyPath};
use super::json::{f32_as_f64, type_name};
use super::DynamicError;
use crate::wire::StructReader;

/// One field of a primary key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyAtom {
    /// `Bool`.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float, by its bits (so equality is exact and hashing sound).
    Float64(u64),
    /// `Text`.
    Text(String),
    /// `Data`.
    Data(Vec<u8>),
    /// An enum value and its name (empty when the schema does not name it).
    Enum(u16, String),
}

impl KeyAtom {
    /// The atom as JSON (Data as base64, enums by name).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            KeyAtom::Bool(b) => Value::Bool(*b),
            KeyAtom::Int(i) => Value::from(*i),
            KeyAtom::UInt(u) => Value::from(*u),
            KeyAtom::Float64(bits) => {
                let x = f64::from_bits(*bits);
                serde_json::Number::from_f64(x)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(x.to_string()))
            }
            KeyAtom::Text(t) => Value::String(t.clone()),
            KeyAtom::Data(d) => Value::String(base64::engine::general_purpose::STANDARD.encode(d)),
            KeyAtom::Enum(v, name) if name.is_empty() => Value::from(*v),
            KeyAtom::Enum(_, name) => Value::String(name.clone()),
        }
    }
}

impl fmt::Display for KeyAtom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyAtom::Text(t) => f.write_str(t),
            KeyAtom::Float64(bits) => write!(f, "{}", f64::from_bits(*bits)),
            KeyAtom::Enum(v, name) if name.is_empty() => write!(f, "{v}"),
            other => match other.to_json() {
                serde_json::Value::String(s) => f.write_str(&s),
                v => write!(f, "{v}"),
            },
        }
    }
}

/// A record's primary key: one atom per key field, in the key's order.
///
/// Displays in the form [`DynamicSchema::parse_key`](super::DynamicSchema::parse_key)
/// reads: atoms separated by commas (`eu,42`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyValue(pub Vec<KeyAtom>);

impl KeyValue {
    /// The key as JSON: the atom itself for a single-field key, an array
    /// for a composite one.
    pub fn to_json(&self) -> serde_json::Value {
        if self.0.len() == 1 {
            self.0[0].to_json()
        } else {
            serde_json::Value::Array(self.0.iter().map(KeyAtom::to_json).collect())
        }
    }
}

impl fmt::Display for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

/// Reads key `paths` from the record `r` of type `owner`.
pub(super) fn read_key(
    c: &Compiled,
    owner: &str,
    paths: &[KeyPath],
    r: &StructReader<'_>,
) -> Result<KeyValue, DynamicError> {
    let mut atoms = Vec::with_capacity(paths.len());
    for p in paths {
        let mut s = *r;
        for hop in &p.hops {
            if let Hop::Pointer(i) = hop {
                s = s
                    .pointer(*i)
                    .struct_reader()
                    .map_err(|e| DynamicError::record(format!("{owner}.{}: {e}", p.name)))?;
            }
        }
        let o = p.offset;
        atoms.push(match &p.ty {
            CType::Bool => KeyAtom::Bool(s.read_bool(o)),
            CType::I8 => KeyAtom::Int(s.read_u8(o) as i8 as i64),
            CType::I16 => KeyAtom::Int(s.read_u16(o) as i16 as i64),
            CType::I32 => KeyAtom::Int(s.read_u32(o) as i32 as i64),
            CType::I64 => KeyAtom::Int(s.read_u64(o) as i64),
            CType::U8 => KeyAtom::UInt(s.read_u8(o) as u64),
            CType::U16 => KeyAtom::UInt(s.read_u16(o) as u64),
            CType::U32 => KeyAtom::UInt(s.read_u32(o) as u64),
            CType::U64 => KeyAtom::UInt(s.read_u64(o)),
            CType::F32 => KeyAtom::Float64(f32_as_f64(f32::from_bits(s.read_u32(o))).to_bits()),
            CType::F64 => KeyAtom::Float64(s.read_u64(o)),
            CType::Enum(e) => enum_atom(c, *e, s.read_u16(o)),
            CType::Text => KeyAtom::Text(
                s.pointer(o)
                    .text()
                    .map_err(|e| DynamicError::record(format!("{owner}.{}: {e}", p.name)))?
                    .to_owned(),
            ),
            CType::Data => KeyAtom::Data(
                s.pointer(o)
                    .data()
                    .map_err(|e| DynamicError::record(format!("{owner}.{}: {e}", p.name)))?
                    .to_vec(),
            ),
            CType::Void | CType::Struct(_) | CType::List(_) => {
                return Err(DynamicError::schema(format!(
                    "{owner}.{}: not a key field type",
                    p.name
                )))
            }
        });
    }
    Ok(KeyValue(atoms))
}

fn enum_atom(c: &Compiled, e: u32, v: u16) -> KeyAtom {
    let name = c.enums[e as usize]
        .enumerants
        .get(v as usize)
        .cloned()
        .unwrap_or_default();
    KeyAtom::Enum(v, name)
}

/// Parses `text` as a key of `paths` (of type `owner`, whose key is
/// `key_text`).
pub(super) fn parse_key(
    c: &Compiled,
    owner: &str,
    key_text: &str,
    paths: &[KeyPath],
    text: &str,
) -> Result<KeyValue, DynamicError> {
    let describe = || {
        let fields: Vec<String> = paths
            .iter()
            .map(|p| format!("{} ({})", p.name, type_name(c, &p.ty)))
            .collect();
        format!("{owner}'s primary key is {}", fields.join(", "))
    };
    // The parts: the whole text for a one-field key; for a composite key a
    // JSON array, or else the text split at commas (so a text part may
    // itself start with `[`: `[x,7` is the parts `[x` and `7`).
    let json = (paths.len() > 1 && text.trim_start().starts_with('['))
        .then(|| serde_json::from_str::<Vec<serde_json::Value>>(text).ok())
        .flatten();
    let parts: Vec<String> = if paths.len() == 1 {
        vec![text.to_owned()]
    } else if let Some(arr) = json {
        arr.into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect()
    } else {
        text.split(',').map(str::to_owned).collect()
    };
    if parts.len() != paths.len() {
        return Err(DynamicError::key(format!(
            "key {text:?} for {owner} has {} part(s), but {} (key {key_text}): write them \
             as a,b (or as a JSON array when a text part holds a comma)",
            parts.len(),
            describe()
        )));
    }
    let mut atoms = Vec::with_capacity(paths.len());
    for (p, part) in paths.iter().zip(&parts) {
        let bad = |why: &str| {
            DynamicError::key(format!(
                "key {text:?} for {owner}: {part:?} is not a valid {} for {} ({why}); {}",
                type_name(c, &p.ty),
                p.name,
                describe()
            ))
        };
        let t = part.trim();
        let int = |lo: i64, hi: i64| -> Result<KeyAtom, DynamicError> {
            let v: i64 = t.parse().map_err(|_| bad("not an integer"))?;
            if v < lo || v > hi {
                return Err(bad(&format!("out of range {lo}..={hi}")));
            }
            Ok(KeyAtom::Int(v))
        };
        let uint = |hi: u64| -> Result<KeyAtom, DynamicError> {
            let v: u64 = t.parse().map_err(|_| bad("not an unsigned integer"))?;
            if v > hi {
                return Err(bad(&format!("out of range 0..={hi}")));
            }
            Ok(KeyAtom::UInt(v))
        };
        atoms.push(match &p.ty {
            CType::Bool => match t {
                "true" => KeyAtom::Bool(true),
                "false" => KeyAtom::Bool(false),
                _ => return Err(bad("true or false")),
            },
            CType::I8 => int(i8::MIN as i64, i8::MAX as i64)?,
            CType::I16 => int(i16::MIN as i64, i16::MAX as i64)?,
            CType::I32 => int(i32::MIN as i64, i32::MAX as i64)?,
            CType::I64 => int(i64::MIN, i64::MAX)?,
            CType::U8 => uint(u8::MAX as u64)?,
            CType::U16 => uint(u16::MAX as u64)?,
            CType::U32 => uint(u32::MAX as u64)?,
            CType::U64 => uint(u64::MAX)?,
            CType::F32 => {
                let v: f32 = t.parse().map_err(|_| bad("not a number"))?;
                KeyAtom::Float64(f32_as_f64(v).to_bits())
            }
            CType::F64 => {
                let v: f64 = t.parse().map_err(|_| bad("not a number"))?;
                KeyAtom::Float64(v.to_bits())
            }
            CType::Text => KeyAtom::Text(part.clone()),
            CType::Data => KeyAtom::Data(
                base64::engine::general_purpose::STANDARD
                    .decode(t)
                    .map_err(|_| bad("Data keys are written in base64"))?,
            ),
            CType::Enum(e) => {
                let en = &c.enums[*e as usize];
                match en.enumerants.iter().position(|n| n == t) {
                    Some(v) => enum_atom(c, *e, v as u16),
                    None => match t.parse::<u16>() {
                        Ok(v) => enum_atom(c, *e, v),
                        Err(_) => {
                            return Err(bad(&format!(
                                "{} has {}",
                                en.name,
                                en.enumerants.join(", ")
                            )))
                        }
                    },
                }
            }
            CType::Void | CType::Struct(_) | CType::List(_) => {
                return Err(bad("not a key field type"))
            }
        });
    }
    Ok(KeyValue(atoms))
}

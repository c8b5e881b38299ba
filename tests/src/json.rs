//! The JSON the dynamic reader (`hollow_runtime::dynamic`) must give for a
//! record, computed here from the owned test types, independently of it:
//! the oracle of `tests/dynamic.rs` and of the `hollow` CLI tests.
//!
//! The rules (those of the dynamic reader's JSON form): fields under their
//! Cap'n Proto names; enums by name; a named union as `{"member": value}`;
//! `Data` as padded standard base64; `Float32` in its shortest decimal
//! form; non-finite floats as `"NaN"`, `"Infinity"`, `"-Infinity"`; a null
//! pointer as `null` — which is how an empty plain `String`/`Vec` field is
//! stored (an `Option` field stores `Some` even when empty, and list
//! elements and nested structs are always stored).
//!
//! ```
//! use hollow_tests::json::ToJson;
//!
//! let actor = hollow_tests::Actor { id: 3, name: String::new() };
//! assert_eq!(actor.to_json(), serde_json::json!({"id": 3, "name": null}));
//! ```

use serde_json::{json, Map, Value};

use crate::{
    Actor, AllTypes, Color, Coord, Detail, Dims, Event, Inner, Movie, Origin, Outcome, Payload,
    Performer, Role, Shipment, Span, Stock,
};

/// A value as the dynamic reader shows it.
pub trait ToJson {
    /// The JSON of the value when stored (a list element, a set field).
    fn to_json(&self) -> Value;
    /// The JSON of a plain (not `Option`) field holding the value: `null`
    /// when the encoder stores it as a null pointer (empty Text, Data or
    /// list).
    fn field_json(&self) -> Value {
        self.to_json()
    }
}

/// Standard base64 with padding (written here so the oracle does not share
/// the reader's encoder).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn f64_json(x: f64) -> Value {
    if x.is_nan() {
        json!("NaN")
    } else if x.is_infinite() {
        json!(if x > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        json!(x)
    }
}

macro_rules! plain_json {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn to_json(&self) -> Value {
                json!(self)
            }
        }
    )*};
}
plain_json!(bool, i8, i16, i32, i64, u16, u32, u64);

impl ToJson for f32 {
    fn to_json(&self) -> Value {
        // Shortest decimal form, read back as f64.
        f64_json(self.to_string().parse::<f64>().unwrap_or(*self as f64))
    }
}

impl ToJson for f64 {
    fn to_json(&self) -> Value {
        f64_json(*self)
    }
}

impl ToJson for String {
    fn to_json(&self) -> Value {
        json!(self)
    }
    fn field_json(&self) -> Value {
        if self.is_empty() {
            Value::Null
        } else {
            self.to_json()
        }
    }
}

/// `Data` (`Vec<u8>`).
impl ToJson for Vec<u8> {
    fn to_json(&self) -> Value {
        json!(base64(self))
    }
    fn field_json(&self) -> Value {
        if self.is_empty() {
            Value::Null
        } else {
            self.to_json()
        }
    }
}

/// A list element type other than `u8`.
pub trait Elem: ToJson {}
impl Elem for bool {}
impl Elem for i8 {}
impl Elem for i16 {}
impl Elem for i32 {}
impl Elem for i64 {}
impl Elem for u16 {}
impl Elem for u32 {}
impl Elem for u64 {}
impl Elem for f32 {}
impl Elem for f64 {}
impl Elem for String {}
impl Elem for Vec<u8> {}
impl<T: Elem> Elem for Vec<T> {}
impl Elem for Color {}
impl Elem for Inner {}

impl<T: Elem> ToJson for Vec<T> {
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(ToJson::to_json).collect())
    }
    fn field_json(&self) -> Value {
        if self.is_empty() {
            Value::Null
        } else {
            self.to_json()
        }
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> Value {
        match self {
            Some(v) => v.to_json(),
            None => Value::Null,
        }
    }
}

impl ToJson for Color {
    fn to_json(&self) -> Value {
        json!(match self {
            Color::Red => "red",
            Color::Green => "green",
            Color::Blue => "blue",
        })
    }
}

/// Builds an object from `(name, value)` pairs in order.
fn obj(fields: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in fields {
        m.insert(k.to_owned(), v);
    }
    Value::Object(m)
}

impl ToJson for Movie {
    fn to_json(&self) -> Value {
        obj(vec![
            ("id", self.id.field_json()),
            ("title", self.title.field_json()),
            ("year", self.year.field_json()),
            ("runtimeMin", self.runtime_min.field_json()),
            ("rating", self.rating.field_json()),
            ("genres", self.genres.field_json()),
            ("castIds", self.cast_ids.field_json()),
            ("description", self.description.field_json()),
        ])
    }
}

impl ToJson for Actor {
    fn to_json(&self) -> Value {
        obj(vec![
            ("id", self.id.field_json()),
            ("name", self.name.field_json()),
        ])
    }
}

impl ToJson for Inner {
    fn to_json(&self) -> Value {
        obj(vec![
            ("id", self.id.field_json()),
            ("name", self.name.field_json()),
            ("flag", self.flag.field_json()),
            ("scores", self.scores.field_json()),
            ("color", self.color.field_json()),
        ])
    }
}

impl ToJson for AllTypes {
    fn to_json(&self) -> Value {
        let a = self;
        obj(vec![
            ("id", a.id.field_json()),
            ("flag", a.flag.field_json()),
            ("int8", a.int8.field_json()),
            ("int16", a.int16.field_json()),
            ("int32", a.int32.field_json()),
            ("int64", a.int64.field_json()),
            ("uint8", json!(a.uint8)),
            ("uint16", a.uint16.field_json()),
            ("uint32", a.uint32.field_json()),
            ("uint64", a.uint64.field_json()),
            ("float32", a.float32.field_json()),
            ("float64", a.float64.field_json()),
            ("text", a.text.field_json()),
            ("data", a.data.field_json()),
            ("bools", a.bools.field_json()),
            ("int8s", a.int8s.field_json()),
            ("int16s", a.int16s.field_json()),
            ("uint16s", a.uint16s.field_json()),
            ("int32s", a.int32s.field_json()),
            ("uint32s", a.uint32s.field_json()),
            ("int64s", a.int64s.field_json()),
            ("uint64s", a.uint64s.field_json()),
            ("float32s", a.float32s.field_json()),
            ("float64s", a.float64s.field_json()),
            ("texts", a.texts.field_json()),
            ("blobs", a.blobs.field_json()),
            ("uint32Lists", a.uint32_lists.field_json()),
            ("textLists", a.text_lists.field_json()),
            ("inner", a.inner.field_json()),
            ("inners", a.inners.field_json()),
            ("color", a.color.field_json()),
            ("colors", a.colors.field_json()),
            ("maybeText", a.maybe_text.to_json()),
            ("maybeData", a.maybe_data.to_json()),
            ("maybeUint64s", a.maybe_uint64s.to_json()),
            ("maybeInner", a.maybe_inner.to_json()),
        ])
    }
}

impl ToJson for Origin {
    fn to_json(&self) -> Value {
        obj(vec![
            ("zone", json!(self.zone)),
            ("code", self.code.field_json()),
        ])
    }
}

impl ToJson for Dims {
    fn to_json(&self) -> Value {
        obj(vec![
            ("fragile", self.fragile.field_json()),
            ("grade", json!(self.grade)),
            ("width", self.width.field_json()),
            ("weight", self.weight.field_json()),
            ("volume", self.volume.field_json()),
            ("label", self.label.field_json()),
            ("origin", self.origin.to_json()),
        ])
    }
}

impl ToJson for Shipment {
    fn to_json(&self) -> Value {
        obj(vec![
            ("id", self.id.field_json()),
            ("express", self.express.field_json()),
            ("dims", self.dims.to_json()),
            ("stops", self.stops.field_json()),
            ("carrier", self.carrier.field_json()),
        ])
    }
}

impl ToJson for Coord {
    fn to_json(&self) -> Value {
        obj(vec![
            ("lat", self.lat.field_json()),
            ("lon", self.lon.field_json()),
        ])
    }
}

impl ToJson for Span {
    fn to_json(&self) -> Value {
        obj(vec![
            ("start", self.start.field_json()),
            ("end", self.end.field_json()),
        ])
    }
}

impl ToJson for Detail {
    fn to_json(&self) -> Value {
        match self {
            Detail::Unknown => json!({"unknown": null}),
            Detail::Code(c) => json!({"code": c}),
            Detail::Reason(r) => json!({"reason": r.field_json()}),
        }
    }
}

impl ToJson for Payload {
    fn to_json(&self) -> Value {
        match self {
            Payload::Empty => json!({"empty": null}),
            Payload::Count(c) => json!({"count": c}),
            Payload::Message(m) => json!({"message": m.field_json()}),
            Payload::Location(c) => json!({"location": c.to_json()}),
            Payload::Window(s) => json!({"window": s.to_json()}),
            Payload::Detail(d) => json!({"detail": d.to_json()}),
            Payload::Cancelled => json!({"cancelled": null}),
            Payload::Urgent(u) => json!({"urgent": u}),
        }
    }
}

impl ToJson for Outcome {
    fn to_json(&self) -> Value {
        match self {
            Outcome::Pending => json!({"pending": null}),
            Outcome::Done(d) => json!({"done": d}),
            Outcome::Failed(m) => json!({"failed": m.field_json()}),
        }
    }
}

impl ToJson for Event {
    fn to_json(&self) -> Value {
        obj(vec![
            ("id", self.id.field_json()),
            ("payload", self.payload.to_json()),
            ("seq", self.seq.field_json()),
            ("outcome", self.outcome.to_json()),
        ])
    }
}

impl ToJson for Stock {
    fn to_json(&self) -> Value {
        obj(vec![
            ("region", self.region.field_json()),
            ("sku", self.sku.field_json()),
            ("quantity", self.quantity.field_json()),
            ("price", self.price.field_json()),
        ])
    }
}

impl ToJson for Performer {
    fn to_json(&self) -> Value {
        obj(vec![
            ("id", self.id.field_json()),
            ("name", self.name.field_json()),
        ])
    }
}

impl ToJson for Role {
    fn to_json(&self) -> Value {
        obj(vec![
            ("actor", self.actor.to_json()),
            ("character", self.character.field_json()),
            ("billing", json!(self.billing)),
        ])
    }
}

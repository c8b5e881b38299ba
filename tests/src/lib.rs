//! Shared fixtures for the cross-crate integration tests: record types that
//! exercise every feature of `#[derive(Hollow)]`, proptest strategies for
//! them ([`strategy`]) and getter-by-getter comparison helpers ([`check`]).
//!
//! The root types are listed in [`ROOT_SCHEMAS`]; each one's
//! `CAPNP_SCHEMA` text is checked in as `tests/capnp/<file>` (kept current
//! by the `schema_files_are_current` test in `tests/layout_vs_compiler.rs`)
//! and compiled by `build.rs` into `capnpc`-generated readers and builders,
//! which only `tests/wire_compat.rs` includes: so when a type changes, this
//! library and the fixture test still build, and can rewrite the files.
//! No nested type is used by two root types, so all the files can be
//! compiled in one request without two types sharing a name.
//!
//! ```
//! use hollow_tests::Movie;
//!
//! let movie = Movie {
//!     id: 1,
//!     title: "Heat".into(),
//!     year: 1995,
//!     runtime_min: 170,
//!     rating: 8.3,
//!     genres: vec!["crime".into()],
//!     cast_ids: vec![7, 8],
//!     description: String::new(),
//! };
//! let bytes = hollow_runtime::to_canonical_bytes(&movie).unwrap();
//! let r = hollow_runtime::read_root::<Movie>(&bytes).unwrap();
//! hollow_tests::check::movie(&r, &movie);
//! ```

use hollow_runtime::{Hollow, Struct};

pub mod check;
pub mod conformance;
pub mod crafted;
pub mod dataset;
pub mod fuzz;
pub mod intercept;
pub mod json;
pub mod mutate;
pub mod prometheus;
pub mod python;
pub mod shards;
pub mod strategy;

/// The benchmark record: a film with a primary key and two hash indexes.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(primary_key(id), hash_index(year), hash_index(genres))]
pub struct Movie {
    /// Primary key.
    pub id: u64,
    /// Title.
    pub title: String,
    /// Release year.
    pub year: u16,
    /// Running time in minutes.
    pub runtime_min: u16,
    /// Average rating.
    pub rating: f32,
    /// Genres (each one is indexed).
    pub genres: Vec<String>,
    /// Ids of the cast's [`Actor`]s.
    pub cast_ids: Vec<u64>,
    /// Free text.
    pub description: String,
}

/// An actor, the other benchmark record.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(primary_key(id))]
pub struct Actor {
    /// Primary key.
    pub id: u64,
    /// Name.
    pub name: String,
}

/// A plain Cap'n Proto enum.
#[derive(Hollow, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Color {
    /// First.
    #[default]
    Red,
    /// Second.
    Green,
    /// Third.
    Blue,
}

/// A nested struct (not a record type) used by [`AllTypes`].
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(nested)]
pub struct Inner {
    /// A data field.
    pub id: u32,
    /// A pointer field.
    pub name: String,
    /// A bit.
    pub flag: bool,
    /// A list.
    pub scores: Vec<i16>,
    /// An enum.
    pub color: Color,
}

/// A record with a field of every supported type.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(primary_key(id))]
pub struct AllTypes {
    /// Primary key.
    pub id: u64,
    /// `Bool`.
    pub flag: bool,
    /// `Int8`.
    pub int8: i8,
    /// `Int16`.
    pub int16: i16,
    /// `Int32`.
    pub int32: i32,
    /// `Int64`.
    pub int64: i64,
    /// `UInt8`.
    pub uint8: u8,
    /// `UInt16`.
    pub uint16: u16,
    /// `UInt32`.
    pub uint32: u32,
    /// `UInt64`.
    pub uint64: u64,
    /// `Float32`.
    pub float32: f32,
    /// `Float64`.
    pub float64: f64,
    /// `Text`.
    pub text: String,
    /// `Data`.
    pub data: Vec<u8>,
    /// `List(Bool)`.
    pub bools: Vec<bool>,
    /// `List(Int8)`.
    pub int8s: Vec<i8>,
    /// `List(Int16)`.
    pub int16s: Vec<i16>,
    /// `List(UInt16)`.
    pub uint16s: Vec<u16>,
    /// `List(Int32)`.
    pub int32s: Vec<i32>,
    /// `List(UInt32)`.
    pub uint32s: Vec<u32>,
    /// `List(Int64)`.
    pub int64s: Vec<i64>,
    /// `List(UInt64)`.
    pub uint64s: Vec<u64>,
    /// `List(Float32)`.
    pub float32s: Vec<f32>,
    /// `List(Float64)`.
    pub float64s: Vec<f64>,
    /// `List(Text)`.
    pub texts: Vec<String>,
    /// `List(Data)`.
    pub blobs: Vec<Vec<u8>>,
    /// `List(List(UInt32))`.
    pub uint32_lists: Vec<Vec<u32>>,
    /// `List(List(Text))`.
    pub text_lists: Vec<Vec<String>>,
    /// A nested struct.
    pub inner: Inner,
    /// `List(Inner)`.
    pub inners: Vec<Inner>,
    /// An enum.
    pub color: Color,
    /// `List(Color)`.
    pub colors: Vec<Color>,
    /// Optional `Text` (`None` is a null pointer).
    pub maybe_text: Option<String>,
    /// Optional `Data`.
    pub maybe_data: Option<Vec<u8>>,
    /// Optional `List(UInt64)`.
    pub maybe_uint64s: Option<Vec<u64>>,
    /// Optional nested struct.
    pub maybe_inner: Option<Inner>,
}

/// A group nested in [`Dims`].
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(group)]
pub struct Origin {
    /// A byte.
    pub zone: u8,
    /// A pointer.
    pub code: String,
}

/// A group of several sizes, stored in [`Shipment`]'s own sections.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(group)]
pub struct Dims {
    /// A bit.
    pub fragile: bool,
    /// A byte.
    pub grade: u8,
    /// 16 bits.
    pub width: u16,
    /// 32 bits.
    pub weight: f32,
    /// 64 bits.
    pub volume: f64,
    /// A pointer.
    pub label: String,
    /// A group inside the group.
    pub origin: Origin,
}

/// A record with a group field between ordinary fields.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(primary_key(id))]
pub struct Shipment {
    /// Primary key.
    pub id: u64,
    /// A bit before the group.
    pub express: bool,
    /// The group.
    pub dims: Dims,
    /// A field after the group.
    pub stops: u16,
    /// A pointer after the group.
    pub carrier: String,
}

/// A nested struct held by a [`Payload`] variant.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(nested)]
pub struct Coord {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// A group held by a [`Payload`] variant.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(group)]
pub struct Span {
    /// Start.
    pub start: u32,
    /// End.
    pub end: u32,
}

/// A union nested inside a [`Payload`] variant.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
pub enum Detail {
    /// Nothing.
    #[default]
    Unknown,
    /// A code.
    Code(u16),
    /// A reason.
    Reason(String),
}

/// A union with every kind of member.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
pub enum Payload {
    /// A unit (`Void`) member.
    #[default]
    Empty,
    /// A primitive.
    Count(i64),
    /// Text.
    Message(String),
    /// A nested struct.
    Location(Coord),
    /// A group.
    Window(Span),
    /// A union inside the union.
    Detail(Detail),
    /// A second unit member.
    Cancelled,
    /// A bit.
    Urgent(bool),
}

/// A second, small union in the same record.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
pub enum Outcome {
    /// Not done.
    #[default]
    Pending,
    /// A 32-bit code.
    Done(u32),
    /// A message.
    Failed(String),
}

/// A record with two union fields.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(primary_key(id))]
pub struct Event {
    /// Primary key.
    pub id: u64,
    /// The main union.
    pub payload: Payload,
    /// A field after the union.
    pub seq: u16,
    /// The second union.
    pub outcome: Outcome,
}

/// A record with a composite primary key.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(primary_key(region, sku))]
pub struct Stock {
    /// First key part.
    pub region: String,
    /// Second key part.
    pub sku: u32,
    /// Units in stock.
    pub quantity: i32,
    /// Unit price.
    pub price: f64,
}

/// A nested struct holding the key of [`Role`].
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(nested)]
pub struct Performer {
    /// The key, read as `actor.id`.
    pub id: u64,
    /// Name.
    pub name: String,
}

/// A record keyed by a nested field (`actor.id`).
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(primary_key(actor.id))]
pub struct Role {
    /// Holds the key.
    pub actor: Performer,
    /// The part played.
    pub character: String,
    /// Billing order.
    pub billing: u8,
}

/// A root test type and the file its schema text is checked in as.
#[derive(Clone, Copy, Debug)]
pub struct RootSchema {
    /// File name under `tests/capnp/`.
    pub file: &'static str,
    /// The type's Cap'n Proto name.
    pub type_name: &'static str,
    /// The type's `CAPNP_SCHEMA` text.
    pub text: fn() -> &'static str,
}

macro_rules! roots {
    ($($file:literal => $t:ty),* $(,)?) => {
        &[$(RootSchema {
            file: $file,
            type_name: <$t as Struct>::TYPE_NAME,
            text: <$t as Struct>::capnp_schema,
        }),*]
    };
}

/// The root test types, whose `CAPNP_SCHEMA` texts are checked in under
/// `tests/capnp/`. Every derived type of this crate is one of them or is
/// used by exactly one of them.
pub const ROOT_SCHEMAS: &[RootSchema] = roots![
    "movie.capnp" => Movie,
    "actor.capnp" => Actor,
    "all_types.capnp" => AllTypes,
    "shipment.capnp" => Shipment,
    "event.capnp" => Event,
    "stock.capnp" => Stock,
    "role.capnp" => Role,
];

/// A Cap'n Proto type as schema text (`List(Text)`, `Movie`), from the
/// compiler's `CodeGeneratorRequest`; `names` gives the names of struct and
/// enum nodes by id.
///
/// # Panics
/// A type the request does not describe (a test fixture is wrong).
pub fn capnp_type_text(
    t: capnp::schema_capnp::type_::Reader<'_>,
    names: &std::collections::BTreeMap<u64, String>,
) -> String {
    use capnp::schema_capnp::type_;
    match t.which().expect("a known type") {
        type_::Void(()) => "Void".into(),
        type_::Bool(()) => "Bool".into(),
        type_::Int8(()) => "Int8".into(),
        type_::Int16(()) => "Int16".into(),
        type_::Int32(()) => "Int32".into(),
        type_::Int64(()) => "Int64".into(),
        type_::Uint8(()) => "UInt8".into(),
        type_::Uint16(()) => "UInt16".into(),
        type_::Uint32(()) => "UInt32".into(),
        type_::Uint64(()) => "UInt64".into(),
        type_::Float32(()) => "Float32".into(),
        type_::Float64(()) => "Float64".into(),
        type_::Text(()) => "Text".into(),
        type_::Data(()) => "Data".into(),
        type_::List(l) => format!(
            "List({})",
            capnp_type_text(l.get_element_type().expect("an element type"), names)
        ),
        type_::Enum(e) => names[&e.get_type_id()].clone(),
        type_::Struct(s) => names[&s.get_type_id()].clone(),
        type_::Interface(_) => "Interface".into(),
        type_::AnyPointer(_) => "AnyPointer".into(),
    }
}

/// The folder holding `hollow.capnp` (the import path for the schema texts).
pub fn schemas_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("schemas")
}

/// The folder of the checked-in schema texts (`tests/capnp`).
pub fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("capnp")
}

/// Copies `bytes` into 8-byte-aligned words, as the `capnp` crate requires of
/// a segment.
pub fn aligned(bytes: &[u8]) -> Vec<capnp::Word> {
    let mut words = capnp::Word::allocate_zeroed_vec(bytes.len().div_ceil(8));
    capnp::Word::words_to_bytes_mut(&mut words)[..bytes.len()].copy_from_slice(bytes);
    words
}

/// A `capnp` reader over `segment`, a single-segment message without a
/// segment table (as Hollow's canonical bytes are). The segment must be
/// 8-byte aligned (see [`aligned`]).
pub fn capnp_reader(segment: &[u8]) -> capnp::message::Reader<Vec<&[u8]>> {
    capnp::message::Reader::new(vec![segment], capnp::message::ReaderOptions::new())
}

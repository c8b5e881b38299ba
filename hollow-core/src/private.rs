//! Support for the code `#[derive(Hollow)]` generates. Not a public API:
//! anything here may change without notice.

pub use hollow_schema::layout::{concat, layout, member_index, total_len, Layout, LayoutNode};
pub use hollow_schema::{
    EnumType, Enumerant, Field, FieldKind, FieldPath, Group, Key, Schema, StructSize, StructType,
    Type, TypeDef, Union,
};

pub use crate::record::each_scalar_key;
pub use crate::wire::{
    ElementSize, ListReader, MessageBuilder, PointerReader, StructBuilder, StructReader,
};
pub use crate::{
    __list_of_elements as list_of_elements, __pointer_value_impl as pointer_value_impl,
};

use crate::record::Struct;
use crate::value::{NotInSchema, Value};

use std::fmt;

/// A field type whose accessor value (`Value::Ref<'a>`) is `Debug`: what
/// a derived accessor's `Debug` impl asks of each field type. (Not a
/// `Value` bound itself, so that a field type that is not one is reported
/// by its getter alone.)
pub trait DebugField<'a> {
    /// Adds field `name` of struct `s` (`offsets` starting at the field's
    /// first layout node) to `d`, as read.
    fn debug_field(
        d: &mut fmt::DebugStruct<'_, '_>,
        name: &str,
        s: &StructReader<'a>,
        offsets: &'static [u32],
    );
}

#[diagnostic::do_not_recommend]
impl<'a, T: Value> DebugField<'a> for T
where
    T::Ref<'a>: fmt::Debug,
{
    fn debug_field(
        d: &mut fmt::DebugStruct<'_, '_>,
        name: &str,
        s: &StructReader<'a>,
        offsets: &'static [u32],
    ) {
        d.field(name, &T::read(s, offsets));
    }
}

/// Indexes of the `F` direct members of the node list (`start` = the group
/// or union node, or `usize::MAX` for a struct's top level).
pub const fn member_bases<const F: usize>(nodes: &[LayoutNode], start: usize) -> [usize; F] {
    let mut out = [0usize; F];
    let mut i = 0;
    while i < F {
        out[i] = member_index(nodes, start, i);
        i += 1;
    }
    out
}

/// Unwraps a computed layout at compile time, failing the build with the
/// layout error's message.
pub const fn expect_layout<const N: usize>(
    l: Result<Layout<N>, hollow_schema::layout::LayoutError>,
) -> Layout<N> {
    match l {
        Ok(l) => l,
        Err(e) => panic!("{}", e.message()),
    }
}

/// Reads a struct behind a pointer (an empty struct on null or error).
#[inline(always)]
pub fn read_struct<T: Struct>(p: PointerReader<'_>) -> T::Ref<'_> {
    T::wrap(p.struct_reader().unwrap_or(StructReader::empty()))
}

/// Writes a struct and points `ptr_word` at it.
pub fn write_struct<T: Struct>(v: &T, msg: &mut MessageBuilder, ptr_word: usize) {
    let mut b = msg.init_struct_at(ptr_word, T::SIZE.data_words, T::SIZE.pointers);
    v.write_fields(&mut b);
}

/// Reads struct element `i` of a struct list.
#[inline(always)]
pub fn struct_element<'a, T: Struct>(l: &ListReader<'a>, i: u32) -> T::Ref<'a> {
    T::wrap(l.struct_at(i))
}

/// Writes a list of structs and points `ptr_word` at it.
pub fn write_struct_list<T: Struct>(items: &[T], msg: &mut MessageBuilder, ptr_word: usize) {
    let mut l = msg.init_struct_list_at(
        ptr_word,
        items.len() as u32,
        T::SIZE.data_words,
        T::SIZE.pointers,
    );
    for (i, item) in items.iter().enumerate() {
        item.write_fields(&mut l.struct_at(i as u32));
    }
}

/// Builds, lays out and validates the schema of `T` and its nested types.
///
/// # Panics
/// If the derived schema is invalid: that is a bug in `#[derive(Hollow)]`,
/// which checks everything it can at compile time.
pub fn build_schema<T: Struct>() -> Schema {
    let mut schema = Schema::new();
    T::collect_types(&mut schema);
    if let Err(e) =
        hollow_schema::assign_layout(&mut schema).and_then(|()| hollow_schema::validate(&schema))
    {
        panic!(
            "#[derive(Hollow)] produced an invalid schema for {}: {e}",
            T::TYPE_NAME
        );
    }
    schema
}

/// The `.capnp` text of `T`'s schema.
pub fn capnp_text<T: Struct>() -> String {
    hollow_schema::to_capnp(T::schema(), hollow_schema::file_id_for(T::TYPE_NAME))
}

/// An unknown enum value or union discriminant.
#[cold]
pub fn not_in_schema(v: u16) -> NotInSchema {
    NotInSchema(v)
}

/// The Rust field names of a derived struct or group: what a nested key
/// path (`actor.id`) is checked against, at compile time. Every other field
/// type has none (the types here, and derived enums and unions), so a path
/// continuing past one fails that check with a message naming the path.
#[diagnostic::on_unimplemented(
    message = "a key path continues past `{Self}`, which has no fields",
    label = "only a struct or group with #[derive(Hollow)] has fields a key path can name"
)]
pub trait Fields {
    /// The Rust names of the fields, in declaration order.
    const FIELDS: &'static [&'static str];
}

macro_rules! no_fields {
    ($($t:ty),*) => {$(
        impl Fields for $t {
            const FIELDS: &'static [&'static str] = &[];
        }
    )*};
}

no_fields!(
    bool,
    u8,
    i8,
    u16,
    i16,
    u32,
    i32,
    f32,
    u64,
    i64,
    f64,
    (),
    String
);

impl<T> Fields for Vec<T> {
    const FIELDS: &'static [&'static str] = &[];
}

impl<T> Fields for Option<T> {
    const FIELDS: &'static [&'static str] = &[];
}

/// Whether `name` is one of `names` (a `const fn` string comparison).
pub const fn has_field(names: &[&str], name: &str) -> bool {
    let mut i = 0;
    while i < names.len() {
        let (a, b) = (names[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

//! How each Rust field type is stored and read: the [`Value`], [`PointerValue`]
//! and [`Element`] traits and their implementations for the built-in types.
//!
//! | Rust | Cap'n Proto | getter returns |
//! |---|---|---|
//! | `bool`, `i8`…`i64`, `u8`…`u64`, `f32`, `f64` | `Bool`, `Int8`…, `Float64` | the value |
//! | `String` | `Text` | `&'a str` |
//! | `Vec<u8>` | `Data` | `&'a [u8]` |
//! | `Vec<T>` | `List(T)` | [`List<'a, T>`](crate::List) |
//! | `BTreeSet<T>`, `HashSet<T>` ([`MapKey`](crate::MapKey) elements) | `List(T) $Hollow.set` | [`SetRef<'a, T>`](crate::SetRef) |
//! | `BTreeMap<K, V>`, `HashMap<K, V>` ([`MapKey`](crate::MapKey) keys) | `List(<Owner><Field>Entry) $Hollow.map` | [`MapRef<'a, K, V>`](crate::MapRef) |
//! | `Option<T>` (T a pointer type) | `T` (null = `None`) | `Option<T's getter type>` |
//! | a derived struct | a struct | its `…Ref<'a>` |
//! | a derived enum | an enum | `Result<E, NotInSchema>` |
//!
//! `#[derive(Hollow)]` implements these traits for derived types.

use std::fmt;

use hollow_schema::layout::LayoutNode;
use hollow_schema::{Field, Schema, Type};

use crate::wire::{
    ElementSize, ListReader, MessageBuilder, PointerReader, StructBuilder, StructReader,
};

/// An enum value or union discriminant this schema does not know (written by
/// a newer schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NotInSchema(pub u16);

impl fmt::Display for NotInSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "enum value or union discriminant {} is not in the schema",
            self.0
        )
    }
}

impl std::error::Error for NotInSchema {}

/// A type that can be a field of a record.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a Hollow field",
    note = "supported: bool, integers, f32/f64, String, Vec<u8>, Vec<T>, BTreeSet<T>, HashSet<T>, BTreeMap<K, V> and HashMap<K, V> of key types, Option<T> of a pointer type, and types with #[derive(Hollow)]"
)]
pub trait Value: Sized {
    /// The layout nodes a field of this type contributes to its struct.
    const NODES: &'static [LayoutNode];
    /// What the field's getter returns.
    type Ref<'a>;
    /// Reads the field; `offsets` starts at this field's first layout node.
    fn read<'a>(s: &StructReader<'a>, offsets: &'static [u32]) -> Self::Ref<'a>;
    /// Writes the field; `offsets` starts at this field's first layout node.
    fn write(&self, s: &mut StructBuilder<'_>, offsets: &[u32]);
    /// Converts what a getter returned back into an owned value.
    ///
    /// # Errors
    /// An enum value or union member unknown to this schema.
    fn from_ref(r: Self::Ref<'_>) -> Result<Self, NotInSchema>;
    /// The IR of a field of this type named `name`; `ordinal` is the next
    /// free `@N` and is advanced past every field this one contains.
    fn field(name: &str, ordinal: &mut u16) -> Field;
    /// Adds the named types this type uses (structs, enums) to `schema`.
    fn collect_types(_schema: &mut Schema) {}
    /// [`Value::field`] of a field whose map entry struct, if it is a map,
    /// is named `entry` (`<Owner><Field>Entry` or the field's
    /// `#[hollow(entry = "…")]`); other types ignore `entry`.
    #[doc(hidden)]
    fn field_in(name: &str, ordinal: &mut u16, _entry: &str) -> Field {
        Self::field(name, ordinal)
    }
    /// [`Value::collect_types`] of a field whose map entry struct, if it is
    /// a map, is named `entry` (added to `schema` with what it uses).
    #[doc(hidden)]
    fn collect_types_in(schema: &mut Schema, _entry: &str) {
        Self::collect_types(schema);
    }
}

/// A [`Value`] stored behind a pointer (Text, Data, lists, structs).
pub trait PointerValue: Value {
    /// The value's type in the IR.
    fn ty() -> Type;
    /// Reads the value a pointer points to (the default on null or error).
    fn read_ptr(p: PointerReader<'_>) -> Self::Ref<'_>;
    /// Writes the value and points the pointer at word `ptr_word` to it.
    fn write_ptr(&self, msg: &mut MessageBuilder, ptr_word: usize);
    /// Whether the value is its type's default, stored as a null pointer
    /// when it is a plain (not `Option`) field.
    fn is_default(&self) -> bool;
}

/// A type that can be an element of a `Vec<T>` field (`List(T)`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a list element in Hollow",
    note = "list elements may be bool, integers, floats, String, Vec<u8> (Data), Vec<T>, and structs or enums with #[derive(Hollow)] (not groups or unions)"
)]
pub trait Element: Sized {
    /// What a list returns for one element.
    type Item<'a>;
    /// The element encoding of such a list.
    const SIZE: ElementSize;
    /// Reads element `i` (in range, list of the right encoding).
    fn get<'a>(l: &ListReader<'a>, i: u32) -> Self::Item<'a>;
    /// Writes `items` as a list pointed to from `ptr_word`.
    fn write_list(items: &[Self], msg: &mut MessageBuilder, ptr_word: usize);
    /// Converts an element back into an owned value.
    ///
    /// # Errors
    /// An enum value unknown to this schema.
    fn from_item(r: Self::Item<'_>) -> Result<Self, NotInSchema>;
    /// The element type in the IR.
    fn element_type() -> Type;
    /// Adds the named types this type uses to `schema`.
    fn collect_types(_schema: &mut Schema) {}
    /// What a `Vec<Self>` field's getter returns: [`List<'a, Self>`], except
    /// for `u8`, whose `Vec<u8>` is `Data` (`&'a [u8]`).
    type ListRef<'a>;
    /// Reads a `Vec<Self>` behind a pointer.
    fn read_list(p: PointerReader<'_>) -> Self::ListRef<'_>;
    /// Converts a read list back into an owned `Vec<Self>`.
    ///
    /// # Errors
    /// An enum value unknown to this schema.
    fn list_from_ref(r: Self::ListRef<'_>) -> Result<Vec<Self>, NotInSchema>;
    /// The IR type of a `Vec<Self>`.
    fn list_type() -> Type;
}

/// The [`Element`] items shared by every element type except `u8`:
/// `Vec<T>` is `List(T)`, read as a [`List`].
#[macro_export]
#[doc(hidden)]
macro_rules! __list_of_elements {
    () => {
        type ListRef<'a> = $crate::List<'a, Self>;
        #[inline]
        fn read_list(p: $crate::wire::PointerReader<'_>) -> $crate::List<'_, Self> {
            $crate::List::new(p.list_of(<Self as $crate::Element>::SIZE))
        }
        fn list_from_ref(
            r: $crate::List<'_, Self>,
        ) -> ::core::result::Result<::std::vec::Vec<Self>, $crate::NotInSchema> {
            r.iter().map(<Self as $crate::Element>::from_item).collect()
        }
        fn list_type() -> $crate::__private::Type {
            $crate::__private::Type::List(::std::boxed::Box::new(
                <Self as $crate::Element>::element_type(),
            ))
        }
    };
}

fn slot(name: &str, ordinal: &mut u16, ty: Type) -> Field {
    let f = Field::slot(name, *ordinal, ty);
    *ordinal += 1;
    f
}

macro_rules! primitive {
    ($t:ident, $ir:ident, $lg:expr, $size:ident, |$s:ident, $o:ident| $read:expr, |$b:ident, $wo:ident, $v:ident| $write:expr, |$l:ident, $i:ident| $get:expr, |$lb:ident, $li:ident, $lv:ident| $set:expr) => {
        impl Value for $t {
            const NODES: &'static [LayoutNode] = &[LayoutNode::Data($lg)];
            type Ref<'a> = $t;
            #[inline(always)]
            fn read<'a>($s: &StructReader<'a>, offsets: &'static [u32]) -> $t {
                let $o = offsets[0];
                $read
            }
            #[inline]
            fn write(&self, $b: &mut StructBuilder<'_>, offsets: &[u32]) {
                let $wo = offsets[0];
                let $v = *self;
                $write
            }
            fn from_ref(r: $t) -> Result<$t, NotInSchema> {
                Ok(r)
            }
            fn field(name: &str, ordinal: &mut u16) -> Field {
                slot(name, ordinal, Type::$ir)
            }
        }
        primitive!(@element $t, $ir, $size, |$l, $i| $get, |$lb, $li, $lv| $set);
    };
    (@element $t:ident, $ir:ident, $size:ident, |$l:ident, $i:ident| $get:expr, |$lb:ident, $li:ident, $lv:ident| $set:expr) => {
        impl Element for $t {
            type Item<'a> = $t;
            const SIZE: ElementSize = ElementSize::$size;
            #[inline]
            fn get<'a>($l: &ListReader<'a>, $i: u32) -> $t {
                $get
            }
            fn write_list(items: &[$t], msg: &mut MessageBuilder, ptr_word: usize) {
                #[allow(unused_mut)]
                let mut $lb = msg.init_list_at(ptr_word, ElementSize::$size, items.len() as u32);
                for ($li, $lv) in items.iter().copied().enumerate() {
                    let $li = $li as u32;
                    $set;
                }
            }
            fn from_item(r: $t) -> Result<$t, NotInSchema> {
                Ok(r)
            }
            fn element_type() -> Type {
                Type::$ir
            }
            primitive!(@list $t);
        }
    };
    (@list u8) => {
        type ListRef<'a> = &'a [u8];
        #[inline]
        fn read_list(p: PointerReader<'_>) -> &[u8] {
            p.data().unwrap_or(&[])
        }
        fn list_from_ref(r: &[u8]) -> Result<Vec<u8>, NotInSchema> {
            Ok(r.to_vec())
        }
        fn list_type() -> Type {
            Type::Data
        }
    };
    (@list $t:ty) => {
        crate::__list_of_elements!();
    };
}

primitive!(
    bool,
    Bool,
    0,
    Bit,
    |s, o| s.read_bool(o),
    |b, o, v| b.set_bool(o, v),
    |l, i| l.bit(i),
    |lb, i, v| lb.set_bit(i, v)
);
primitive!(
    u8,
    UInt8,
    3,
    Byte,
    |s, o| s.read_u8(o),
    |b, o, v| b.set_u8(o, v),
    |l, i| l.u8_at(i),
    |lb, i, v| lb.set_u8(i, v)
);
primitive!(
    i8,
    Int8,
    3,
    Byte,
    |s, o| s.read_u8(o) as i8,
    |b, o, v| b.set_u8(o, v as u8),
    |l, i| l.u8_at(i) as i8,
    |lb, i, v| lb.set_u8(i, v as u8)
);
primitive!(
    u16,
    UInt16,
    4,
    TwoBytes,
    |s, o| s.read_u16(o),
    |b, o, v| b.set_u16(o, v),
    |l, i| l.u16_at(i),
    |lb, i, v| lb.set_u16(i, v)
);
primitive!(
    i16,
    Int16,
    4,
    TwoBytes,
    |s, o| s.read_u16(o) as i16,
    |b, o, v| b.set_u16(o, v as u16),
    |l, i| l.u16_at(i) as i16,
    |lb, i, v| lb.set_u16(i, v as u16)
);
primitive!(
    u32,
    UInt32,
    5,
    FourBytes,
    |s, o| s.read_u32(o),
    |b, o, v| b.set_u32(o, v),
    |l, i| l.u32_at(i),
    |lb, i, v| lb.set_u32(i, v)
);
primitive!(
    i32,
    Int32,
    5,
    FourBytes,
    |s, o| s.read_u32(o) as i32,
    |b, o, v| b.set_u32(o, v as u32),
    |l, i| l.u32_at(i) as i32,
    |lb, i, v| lb.set_u32(i, v as u32)
);
primitive!(
    f32,
    Float32,
    5,
    FourBytes,
    |s, o| f32::from_bits(s.read_u32(o)),
    |b, o, v| b.set_u32(o, v.to_bits()),
    |l, i| f32::from_bits(l.u32_at(i)),
    |lb, i, v| lb.set_u32(i, v.to_bits())
);
primitive!(
    u64,
    UInt64,
    6,
    EightBytes,
    |s, o| s.read_u64(o),
    |b, o, v| b.set_u64(o, v),
    |l, i| l.u64_at(i),
    |lb, i, v| lb.set_u64(i, v)
);
primitive!(
    i64,
    Int64,
    6,
    EightBytes,
    |s, o| s.read_u64(o) as i64,
    |b, o, v| b.set_u64(o, v as u64),
    |l, i| l.u64_at(i) as i64,
    |lb, i, v| lb.set_u64(i, v as u64)
);
primitive!(
    f64,
    Float64,
    6,
    EightBytes,
    |s, o| f64::from_bits(s.read_u64(o)),
    |b, o, v| b.set_u64(o, v.to_bits()),
    |l, i| f64::from_bits(l.u64_at(i)),
    |lb, i, v| lb.set_u64(i, v.to_bits())
);

/// `()` is `Void`: a union variant that carries nothing. Not offered in
/// hints for a type that cannot be a field (it is for union variants).
#[diagnostic::do_not_recommend]
impl Value for () {
    const NODES: &'static [LayoutNode] = &[LayoutNode::Void];
    type Ref<'a> = ();
    fn read<'a>(_: &StructReader<'a>, _: &'static [u32]) {}
    fn write(&self, _: &mut StructBuilder<'_>, _: &[u32]) {}
    fn from_ref(_: ()) -> Result<(), NotInSchema> {
        Ok(())
    }
    fn field(name: &str, ordinal: &mut u16) -> Field {
        slot(name, ordinal, Type::Void)
    }
}

/// Implements [`Value`] for a [`PointerValue`] type (a plain field: the
/// default value is stored as a null pointer). Used for the built-in pointer
/// types and by `#[derive(Hollow)]` for structs.
#[macro_export]
#[doc(hidden)]
macro_rules! __pointer_value_impl {
    () => {
        const NODES: &'static [$crate::__private::LayoutNode] =
            &[$crate::__private::LayoutNode::Pointer];
        #[inline(always)]
        fn read<'a>(s: &$crate::wire::StructReader<'a>, offsets: &'static [u32]) -> Self::Ref<'a> {
            <Self as $crate::PointerValue>::read_ptr(s.pointer(offsets[0]))
        }
        #[inline]
        fn write(&self, s: &mut $crate::wire::StructBuilder<'_>, offsets: &[u32]) {
            if !<Self as $crate::PointerValue>::is_default(self) {
                let w = s.pointer_word(offsets[0]);
                <Self as $crate::PointerValue>::write_ptr(self, s.message(), w);
            }
        }
        fn field(name: &str, ordinal: &mut u16) -> $crate::__private::Field {
            let f = $crate::__private::Field::slot(
                name,
                *ordinal,
                <Self as $crate::PointerValue>::ty(),
            );
            *ordinal += 1;
            f
        }
    };
}

/// Implements [`Element`] for a [`PointerValue`] type (a list of pointers).
macro_rules! pointer_element {
    () => {
        type Item<'a> = <Self as Value>::Ref<'a>;
        const SIZE: ElementSize = ElementSize::Pointer;
        #[inline]
        fn get<'a>(l: &ListReader<'a>, i: u32) -> Self::Item<'a> {
            <Self as PointerValue>::read_ptr(l.pointer(i))
        }
        fn write_list(items: &[Self], msg: &mut MessageBuilder, ptr_word: usize) {
            let base = msg
                .init_list_at(ptr_word, ElementSize::Pointer, items.len() as u32)
                .pointer_word(0);
            for (i, item) in items.iter().enumerate() {
                item.write_ptr(msg, base + i);
            }
        }
        fn from_item(r: Self::Item<'_>) -> Result<Self, NotInSchema> {
            <Self as Value>::from_ref(r)
        }
        fn element_type() -> Type {
            <Self as PointerValue>::ty()
        }
    };
}

impl Value for String {
    type Ref<'a> = &'a str;
    crate::__pointer_value_impl!();
    fn from_ref(r: &str) -> Result<String, NotInSchema> {
        Ok(r.to_owned())
    }
}

impl PointerValue for String {
    fn ty() -> Type {
        Type::Text
    }
    #[inline]
    fn read_ptr(p: PointerReader<'_>) -> &str {
        p.text().unwrap_or("")
    }
    fn write_ptr(&self, msg: &mut MessageBuilder, ptr_word: usize) {
        msg.set_text_at(ptr_word, self);
    }
    fn is_default(&self) -> bool {
        self.is_empty()
    }
}

impl Element for String {
    pointer_element!();
    crate::__list_of_elements!();
}

impl<T: Element> Value for Vec<T> {
    type Ref<'a> = T::ListRef<'a>;
    crate::__pointer_value_impl!();
    fn from_ref(r: T::ListRef<'_>) -> Result<Vec<T>, NotInSchema> {
        T::list_from_ref(r)
    }
    fn collect_types(schema: &mut Schema) {
        T::collect_types(schema);
    }
}

impl<T: Element> PointerValue for Vec<T> {
    fn ty() -> Type {
        T::list_type()
    }
    #[inline]
    fn read_ptr(p: PointerReader<'_>) -> T::ListRef<'_> {
        T::read_list(p)
    }
    fn write_ptr(&self, msg: &mut MessageBuilder, ptr_word: usize) {
        T::write_list(self, msg, ptr_word);
    }
    fn is_default(&self) -> bool {
        self.is_empty()
    }
}

impl<T: Element> Element for Vec<T> {
    pointer_element!();
    crate::__list_of_elements!();
    fn collect_types(schema: &mut Schema) {
        T::collect_types(schema);
    }
}

/// `Option<T>` of a pointer type: `None` is a null pointer, `Some` is stored
/// even when empty (so `Some("")` and `None` stay distinct).
impl<T: PointerValue> Value for Option<T> {
    const NODES: &'static [LayoutNode] = &[LayoutNode::Pointer];
    type Ref<'a> = Option<T::Ref<'a>>;
    #[inline]
    fn read<'a>(s: &StructReader<'a>, offsets: &'static [u32]) -> Self::Ref<'a> {
        let p = s.pointer(offsets[0]);
        if p.is_null() {
            None
        } else {
            Some(T::read_ptr(p))
        }
    }
    fn write(&self, s: &mut StructBuilder<'_>, offsets: &[u32]) {
        if let Some(v) = self {
            let w = s.pointer_word(offsets[0]);
            v.write_ptr(s.message(), w);
        }
    }
    fn from_ref(r: Self::Ref<'_>) -> Result<Self, NotInSchema> {
        r.map(T::from_ref).transpose()
    }
    fn field(name: &str, ordinal: &mut u16) -> Field {
        T::field(name, ordinal)
    }
    fn collect_types(schema: &mut Schema) {
        T::collect_types(schema);
    }
}

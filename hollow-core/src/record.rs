//! Record types: the [`Struct`] and [`Record`] traits that `#[derive(Hollow)]`
//! implements, key extraction, and the schema text of a type.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use hollow_schema::{Schema, StructSize, StructType};

use crate::value::Value;
use crate::wire::{StructBuilder, StructReader};

/// A struct type with `#[derive(Hollow)]` (a record type or a nested struct).
///
/// Its [`Value::Ref`] is the generated zero-copy accessor (`MovieRef<'a>`).
pub trait Struct: Value + 'static {
    /// The Cap'n Proto name of the type.
    const TYPE_NAME: &'static str;
    /// Sizes of the struct's sections.
    const SIZE: StructSize;
    /// Wraps a struct reader into the generated accessor.
    fn wrap(r: StructReader<'_>) -> Self::Ref<'_>;
    /// Writes every field into `b` (a struct of size [`Struct::SIZE`]).
    fn write_fields(&self, b: &mut StructBuilder<'_>);
    /// The IR of this struct alone (layout not yet assigned).
    fn struct_type() -> StructType;
    /// The schema of this type and every type it uses, laid out.
    fn schema() -> &'static Schema;
    /// [`Struct::schema`] as `.capnp` text, which the official compiler lays
    /// out exactly as this type is encoded.
    fn capnp_schema() -> &'static str;
}

/// A record type: a struct that has its own ordinals and blob section, and
/// may have a primary key.
pub trait Record: Struct {
    /// Whether the type declares a primary key.
    const HAS_PRIMARY_KEY: bool;
    /// The primary key, owned (`u64`, `(String, u32)`; `()` without a key).
    type PrimaryKey;
    /// The primary key as read from an accessor (`u64`, `(&'a str, u32)`).
    type PrimaryKeyRef<'a>;
    /// The record's primary key.
    fn primary_key(&self) -> Self::PrimaryKey;
    /// The primary key of a record read in place.
    fn primary_key_ref<'a>(r: &Self::Ref<'a>) -> Self::PrimaryKeyRef<'a>;
    /// A 64-bit hash of the primary key: equal keys give equal hashes, from
    /// an owned record and from one read in place alike (0 without a key).
    fn primary_key_hash(&self) -> u64;
    /// [`Record::primary_key_hash`] of a record read in place.
    fn primary_key_hash_ref(r: &Self::Ref<'_>) -> u64;
    /// Whether the record read in place has this record's primary key
    /// (`false` for a type without one).
    fn primary_key_eq_ref(&self, r: &Self::Ref<'_>) -> bool;
    /// The primary key as text for messages: `id=42`, `region="eu", sku="x"`.
    fn describe_primary_key(&self) -> String;
    /// [`Record::primary_key_hash`] of a key given on its own.
    fn hash_primary_key(key: &Self::PrimaryKey) -> u64;
    /// Whether the record read in place has primary key `key`.
    fn has_primary_key(key: &Self::PrimaryKey, r: &Self::Ref<'_>) -> bool;
    /// A key given on its own, as text for messages.
    fn describe_key(key: &Self::PrimaryKey) -> String;
}

/// Encodes key values for [`KeyPart`] and hashes the encoding ([`key_hash`]).
///
/// The encoding is what indexes compare: integers, bools and enums as 8
/// little-endian bytes, text and data as their length (8 bytes) then their
/// bytes, parts of a composite key one after another. Equal keys have equal
/// encodings and different keys of one type different ones, so two keys are
/// equal exactly when their [`KeyHasher::bytes`] are.
pub struct KeyHasher {
    inline: [u8; KEY_INLINE],
    len: usize,
    spill: Vec<u8>,
}

const KEY_INLINE: usize = 56;

impl KeyHasher {
    /// A new hasher.
    #[allow(clippy::new_without_default)]
    #[inline]
    pub fn new() -> Self {
        KeyHasher {
            inline: [0; KEY_INLINE],
            len: 0,
            spill: Vec::new(),
        }
    }

    /// Adds bytes (callers add a length first where values vary in length).
    #[inline(always)]
    pub fn write(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if end <= KEY_INLINE && self.spill.is_empty() {
            self.inline[self.len..end].copy_from_slice(bytes);
            self.len = end;
        } else {
            self.write_spilled(bytes);
        }
    }

    /// [`KeyHasher::write`] of a key longer than the inline buffer.
    #[cold]
    fn write_spilled(&mut self, bytes: &[u8]) {
        if self.spill.is_empty() {
            self.spill.extend_from_slice(&self.inline[..self.len]);
        }
        self.spill.extend_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Adds a u64 (a fixed-size copy: keys of integers cost no call).
    #[inline(always)]
    pub fn write_u64(&mut self, v: u64) {
        let end = self.len + 8;
        if end <= KEY_INLINE && self.spill.is_empty() {
            self.inline[self.len..end].copy_from_slice(&v.to_le_bytes());
            self.len = end;
        } else {
            self.write_spilled(&v.to_le_bytes());
        }
    }

    /// The encoding written so far.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        if self.spill.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.spill
        }
    }

    /// Forgets what was written (keeping any buffer for reuse).
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
        self.spill.clear();
    }

    /// The hash of the encoding written so far ([`key_hash`]).
    #[inline(always)]
    pub fn finish(&self) -> u64 {
        key_hash(self.bytes())
    }
}

/// The hash every index gives a key's encoding: for an encoding of 8
/// bytes (a key of one integer, the common primary key) a folded multiply
/// of its little-endian value (the 128-bit product of the value, xored
/// with one constant, and another constant; its halves xored): one
/// multiply on the way from a key to its slot, where every high bit (the
/// home slot) depends on every input bit; XXH3-64 (seed 0) of the bytes
/// otherwise. Hashes live only in memory (indexes are built by each
/// process), so this may change between releases.
///
/// ```
/// use hollow_core::{key_hash, KeyHasher};
/// let mut h = KeyHasher::new();
/// h.write_u64(42);
/// assert_eq!(h.finish(), key_hash(&42u64.to_le_bytes()));
/// assert_ne!(key_hash(&42u64.to_le_bytes()), key_hash(&43u64.to_le_bytes()));
/// ```
#[inline(always)]
pub fn key_hash(bytes: &[u8]) -> u64 {
    match <[u8; 8]>::try_from(bytes) {
        Ok(b) => {
            // Digits of pi (the second made odd).
            let p =
                (u64::from_le_bytes(b) ^ 0x243f_6a88_85a3_08d3) as u128 * 0x1319_8a2e_0370_7345u128;
            (p as u64) ^ ((p >> 64) as u64)
        }
        Err(_) => xxhash_rust::xxh3::xxh3_64(bytes),
    }
}

/// Field `NAME` of a struct (`NAME` is [`field_id`] of the field's Cap'n
/// Proto name): how keys follow nested paths such as `actor.id`.
/// Implemented by `#[derive(Hollow)]` for every field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no field matching this key path",
    label = "a key path names a field that does not exist"
)]
pub trait FieldAt<const NAME: u64>: Value {
    /// The field's Cap'n Proto name.
    const NAME: &'static str;
    /// The field's type: always a [`Value`] in derived impls, but not
    /// bounded here, so a field type that is not one is reported once, at
    /// the field. Generic code over `S: FieldAt<N>` that reads the field in
    /// place or uses it as a value states the bound itself
    /// (`where S::Type: Value`), as [`FieldAt::get_ref`] does.
    type Type;
    /// The field of an owned value.
    fn get(&self) -> &Self::Type;
    /// The field of a value read in place.
    fn get_ref<'a>(r: &Self::Ref<'a>) -> <Self::Type as Value>::Ref<'a>
    where
        Self::Type: Value;
}

/// Types a primary or unique key may contain: integers, bool, String,
/// Vec<u8> and enums; not floats, lists or structs.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a primary or unique key",
    note = "keys may be integers, bool, String, Vec<u8> (Data) or enums; not floats, lists or structs"
)]
pub trait KeyPart: Value {
    /// A copy of the key value (enums need not implement `Clone`).
    fn clone_key(&self) -> Self;
    /// Feeds the value to a key hasher.
    fn hash_key(&self, h: &mut KeyHasher);
    /// Feeds a value read in place to a key hasher (same result as
    /// [`KeyPart::hash_key`] for an equal value).
    fn hash_key_ref(r: &Self::Ref<'_>, h: &mut KeyHasher);
    /// Whether a value read in place equals this one.
    fn eq_key_ref(&self, r: &Self::Ref<'_>) -> bool;
    /// Whether two values read in place (or a lookup key and a value read
    /// in place) are equal: exactly when their encodings are. The default
    /// compares encodings; key types override it with a direct comparison,
    /// which is what a lookup runs for every candidate record.
    #[inline]
    fn eq_refs(a: &Self::Ref<'_>, b: &Self::Ref<'_>) -> bool {
        let (mut x, mut y) = (KeyHasher::new(), KeyHasher::new());
        Self::hash_key_ref(a, &mut x);
        Self::hash_key_ref(b, &mut y);
        x.bytes() == y.bytes()
    }
    /// The value as text for messages.
    fn describe_key(&self) -> String;
    /// Whether element `i` of `list` (a list of this type, `i` in range)
    /// equals `key`, as [`KeyPart::eq_refs`] of the element read: what a
    /// hash-index lookup on a list asks of its candidate record. The
    /// default reads the element; text compares the element's bytes
    /// first, with no UTF-8 check (bytes equal to a `&str` are that text).
    #[inline]
    fn eq_element(list: &crate::list::List<'_, Self>, i: usize, key: &Self::Ref<'_>) -> bool
    where
        Self: crate::value::Element,
        for<'a> Self: crate::value::Element<Item<'a> = <Self as Value>::Ref<'a>>,
    {
        list.get(i).is_some_and(|item| Self::eq_refs(&item, key))
    }
}

/// Types a hash index may be on: key parts, lists and sets of them (each
/// element is indexed), and maps, by their keys or by their values.
///
/// `Part` says which keys of the value are indexed: `Self` (the default)
/// for a key type, a list or a set; [`MapKeys`](crate::map::MapKeys) or
/// [`MapValues`](crate::map::MapValues) for a map (`hash_index(titles.key)`,
/// `hash_index(titles.value)`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be indexed by a hash index",
    note = "hash indexes take key types (integers, bool, String, enums), lists and sets of them, \
            and a map's keys or values of those types"
)]
pub trait HashKeyPart<Part: ?Sized = Self>: Value {
    /// The type of one indexed key: `Self` for a key type, `T` for `Vec<T>`
    /// and the sets of `T`, `K` or `V` for the maps of `K` to `V`.
    type Elem: KeyPart;
    /// Calls `f` with the encoding (see [`KeyHasher`]) of each key of a
    /// value read in place: one for a key type, one per element of a list
    /// (a repeated element is reported each time it occurs).
    fn each_key_ref<F: FnMut(&[u8])>(r: &Self::Ref<'_>, h: &mut KeyHasher, f: &mut F);
    /// Whether key number `pos` of a value read in place (in the order of
    /// [`HashKeyPart::each_key_ref`]) equals `key`: what a hash-index
    /// lookup asks of the one record it reads. The default compares
    /// encodings; the types here compare directly.
    #[inline]
    fn key_at_eq(r: &Self::Ref<'_>, pos: u32, key: &<Self::Elem as Value>::Ref<'_>) -> bool {
        key_at_by_encoding(
            pos,
            |q| Self::Elem::hash_key_ref(key, q),
            |h, mut f| Self::each_key_ref(r, h, &mut f),
        )
    }
}

/// Whether key number `pos` of those `each` reports (with a hasher to
/// encode them in) has the encoding `encode` writes: the comparison by
/// encodings behind the defaults of [`HashKeyPart::key_at_eq`] and
/// `IndexDef::key_at_matches`.
pub(crate) fn key_at_by_encoding(
    pos: u32,
    encode: impl FnOnce(&mut KeyHasher),
    each: impl FnOnce(&mut KeyHasher, &mut dyn FnMut(&[u8])),
) -> bool {
    let mut q = KeyHasher::new();
    encode(&mut q);
    let (mut h, mut i, mut found) = (KeyHasher::new(), 0u32, false);
    each(&mut h, &mut |k: &[u8]| {
        found |= i == pos && k == q.bytes();
        i += 1;
    });
    found
}

/// Whether any of the keys `each` reports (with a hasher to encode them in)
/// has the encoding `encode` writes: the comparison by encodings behind the
/// defaults of `IndexDef::key_matches` and `PrimaryKeyed::primary_key_matches`.
pub(crate) fn key_by_encoding(
    encode: impl FnOnce(&mut KeyHasher),
    each: impl FnOnce(&mut KeyHasher, &mut dyn FnMut(&[u8])),
) -> bool {
    let mut q = KeyHasher::new();
    encode(&mut q);
    let (mut h, mut found) = (KeyHasher::new(), false);
    each(&mut h, &mut |k: &[u8]| {
        found |= crate::bytes::eq(k, q.bytes())
    });
    found
}

/// [`HashKeyPart::each_key_ref`] of a key type: its one key.
#[inline]
pub fn each_scalar_key<T: KeyPart, F: FnMut(&[u8])>(r: &T::Ref<'_>, h: &mut KeyHasher, f: &mut F) {
    h.clear();
    T::hash_key_ref(r, h);
    f(h.bytes());
}

macro_rules! key_parts {
    ($($t:ty),*) => {$(
        impl KeyPart for $t {
            fn clone_key(&self) -> Self {
                *self
            }
            #[inline]
            fn hash_key(&self, h: &mut KeyHasher) {
                h.write_u64(*self as u64);
            }
            #[inline]
            fn hash_key_ref(r: &$t, h: &mut KeyHasher) {
                h.write_u64(*r as u64);
            }
            #[inline]
            fn eq_key_ref(&self, r: &$t) -> bool {
                self == r
            }
            #[inline(always)]
            fn eq_refs(a: &$t, b: &$t) -> bool {
                a == b
            }
            fn describe_key(&self) -> String {
                self.to_string()
            }
        }
        impl HashKeyPart for $t {
            type Elem = $t;
            #[inline]
            fn each_key_ref<F: FnMut(&[u8])>(r: &$t, h: &mut KeyHasher, f: &mut F) {
                each_scalar_key::<$t, F>(r, h, f)
            }
            #[inline]
            fn key_at_eq(r: &$t, pos: u32, key: &$t) -> bool {
                pos == 0 && r == key
            }
        }
    )*};
}
key_parts!(bool, i8, i16, i32, i64, u8, u16, u32, u64);

impl KeyPart for String {
    fn clone_key(&self) -> Self {
        self.clone()
    }
    #[inline]
    fn hash_key(&self, h: &mut KeyHasher) {
        h.write_u64(self.len() as u64);
        h.write(self.as_bytes());
    }
    #[inline]
    fn hash_key_ref(r: &&str, h: &mut KeyHasher) {
        h.write_u64(r.len() as u64);
        h.write(r.as_bytes());
    }
    #[inline]
    fn eq_key_ref(&self, r: &&str) -> bool {
        self == r
    }
    #[inline]
    fn eq_refs(a: &&str, b: &&str) -> bool {
        a == b
    }
    fn describe_key(&self) -> String {
        format!("{self:?}")
    }
    #[inline]
    fn eq_element(list: &crate::list::List<'_, String>, i: usize, key: &&str) -> bool {
        // The stored bytes are the key's and its terminating zero: that
        // text. Anything else (another text, or bytes that do not read as
        // text) is compared as read, as every other lookup compares it.
        list.text_bytes(i).is_some_and(|b| {
            b.split_last()
                .is_some_and(|(&z, text)| z == 0 && crate::bytes::eq(text, key.as_bytes()))
        }) || list.get(i).is_some_and(|item| item == *key)
    }
}

impl HashKeyPart for String {
    type Elem = String;
    #[inline]
    fn each_key_ref<F: FnMut(&[u8])>(r: &&str, h: &mut KeyHasher, f: &mut F) {
        each_scalar_key::<String, F>(r, h, f)
    }
    #[inline]
    fn key_at_eq(r: &&str, pos: u32, key: &&str) -> bool {
        pos == 0 && r == key
    }
}

/// `Data` is a key type (of primary and unique keys; not of hash indexes).
impl KeyPart for Vec<u8> {
    fn clone_key(&self) -> Self {
        self.clone()
    }
    #[inline]
    fn hash_key(&self, h: &mut KeyHasher) {
        h.write_u64(self.len() as u64);
        h.write(self);
    }
    #[inline]
    fn hash_key_ref(r: &&[u8], h: &mut KeyHasher) {
        h.write_u64(r.len() as u64);
        h.write(r);
    }
    #[inline]
    fn eq_key_ref(&self, r: &&[u8]) -> bool {
        self.as_slice() == *r
    }
    #[inline]
    fn eq_refs(a: &&[u8], b: &&[u8]) -> bool {
        a == b
    }
    fn describe_key(&self) -> String {
        let hex: String = self.iter().map(|b| format!("{b:02x}")).collect();
        format!("0x{hex}")
    }
}

/// A list indexes each element. (`Vec<u8>` is `Data`, not a list of
/// elements, and is no hash index type.) Not recommended in errors, so a
/// list of non-key elements reports `HashKeyPart`'s own message.
#[diagnostic::do_not_recommend]
impl<T> HashKeyPart for Vec<T>
where
    T: KeyPart,
    for<'a> T: crate::value::Element<ListRef<'a> = crate::list::List<'a, T>>,
    for<'a> T: crate::value::Element<Item<'a> = <T as Value>::Ref<'a>>,
{
    type Elem = T;
    #[inline]
    fn each_key_ref<F: FnMut(&[u8])>(r: &crate::list::List<'_, T>, h: &mut KeyHasher, f: &mut F) {
        for item in r.iter() {
            h.clear();
            T::hash_key_ref(&item, h);
            f(h.bytes());
        }
    }
    /// Element `pos` compared directly (no other element is read).
    #[inline]
    fn key_at_eq(r: &crate::list::List<'_, T>, pos: u32, key: &T::Ref<'_>) -> bool {
        T::eq_element(r, pos as usize, key)
    }
}

/// A stable 64-bit id for a field name (FNV-1a), used as [`FieldAt`]'s
/// parameter.
pub const fn field_id(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// `Movie::CAPNP_SCHEMA`: the `.capnp` text equivalent to a derived type
/// (the type and everything it uses), generated once on first use.
///
/// Dereferences to `str` and displays as the text.
///
/// ```
/// use hollow_core::Hollow;
///
/// #[derive(Hollow)]
/// #[hollow(primary_key(id))]
/// struct Actor {
///     id: u64,
///     name: String,
/// }
///
/// let text: &str = &Actor::CAPNP_SCHEMA;
/// assert!(text.contains("struct Actor"));
/// assert!(text.contains("name @1 :Text;"));
/// ```
pub struct CapnpSchema<T: Struct>(PhantomData<fn() -> T>);

impl<T: Struct> CapnpSchema<T> {
    /// The schema text of `T`.
    #[allow(clippy::new_without_default)]
    #[inline]
    pub const fn new() -> Self {
        CapnpSchema(PhantomData)
    }
}

impl<T: Struct> Deref for CapnpSchema<T> {
    type Target = str;
    fn deref(&self) -> &str {
        T::capnp_schema()
    }
}

impl<T: Struct> AsRef<str> for CapnpSchema<T> {
    fn as_ref(&self) -> &str {
        T::capnp_schema()
    }
}

impl<T: Struct> fmt::Display for CapnpSchema<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::capnp_schema())
    }
}

impl<T: Struct> fmt::Debug for CapnpSchema<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(T::capnp_schema(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An 8-byte key's hash spreads keys over home slots (its high half,
    /// by multiply-shift as the slot tables take it) and tags (its low
    /// bits) about as a random function would, for keys that differ only
    /// in their low bits, in steps of a power of two, or only in their
    /// high bits; and every key bit changes the home half.
    #[test]
    fn an_integer_key_hash_spreads_keys_over_homes_and_tags() {
        let n = 200_000u64;
        let cap = n * 10 / 7;
        let home = |h: u64| ((h >> 32) * cap) >> 32;
        type KeySet = (&'static str, fn(u64) -> u64);
        let sets: [KeySet; 4] = [
            ("sequential", |i| i),
            ("strided", |i| i << 10),
            ("high bits", |i| i << 40),
            ("scattered", |i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        ];
        for (name, key) in &sets {
            let mut per_home = std::collections::HashMap::new();
            let mut per_home_tag = std::collections::HashMap::new();
            for i in 0..n {
                let h = key_hash(&key(i).to_le_bytes());
                *per_home.entry(home(h)).or_insert(0u32) += 1;
                *per_home_tag.entry((home(h), h & 0xfff)).or_insert(0u32) += 1;
            }
            // A random function: at most 9 keys in any home (fill 0.7),
            // and about 0.7 / 4096 of keys sharing a home and tag.
            let most = per_home.values().max().copied().unwrap_or(0);
            assert!(most <= 9, "{name}: {most} keys in one home");
            let shared: u32 = per_home_tag.values().filter(|&&c| c > 1).sum();
            assert!(shared < 200, "{name}: {shared} keys share home and tag");
        }
        for i in 0..1_000u64 {
            let k = i.wrapping_mul(0x2545_f491_4f6c_dd1d);
            let h = key_hash(&k.to_le_bytes()) >> 32;
            for b in 0..64 {
                let g = key_hash(&(k ^ (1 << b)).to_le_bytes()) >> 32;
                assert_ne!(h, g, "key {k:#x}, bit {b}");
            }
        }
    }

    /// Whether two values' key encodings are equal.
    fn same_encoding<T: KeyPart>(a: &T::Ref<'_>, b: &T::Ref<'_>) -> bool {
        let (mut x, mut y) = (KeyHasher::new(), KeyHasher::new());
        T::hash_key_ref(a, &mut x);
        T::hash_key_ref(b, &mut y);
        x.bytes() == y.bytes()
    }

    /// A message whose root is a list of byte lists (null where `None`),
    /// as bytes: texts, or what a corrupt blob may hold in their place.
    fn byte_lists(items: &[Option<&[u8]>]) -> Vec<u8> {
        let n = items.len();
        let mut words = vec![0u64; 1 + n];
        // Root: a list of `n` pointers right after it.
        words[0] = 1 | 6 << 32 | (n as u64) << 35;
        for (i, item) in items.iter().enumerate() {
            let Some(b) = item else { continue };
            let target = words.len();
            let offset = (target - (1 + i) - 1) as u64;
            words[1 + i] = offset << 2 | 1 | 2 << 32 | (b.len() as u64) << 35;
            let mut padded = b.to_vec();
            padded.resize(b.len().div_ceil(8) * 8, 0);
            words.extend(
                padded
                    .chunks(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap())),
            );
        }
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn a_text_element_compares_by_its_bytes_as_it_reads() {
        let items: [Option<&[u8]>; 8] = [
            Some(b"drama\0"),
            Some(b"\0"),
            None,
            Some(b""),
            Some(b"drama"),
            Some(b"dr\xffma\0"),
            Some(b"dramas\0"),
            Some(b"dram\0a\0"),
        ];
        let msg = byte_lists(&items);
        let reader = crate::wire::PointerReader::new(&msg, 0, 8)
            .list_reader()
            .unwrap();
        let list = crate::list::List::<String>::new(reader);
        assert_eq!(list.len(), items.len());
        for key in ["drama", "", "dram", "dramas", "dr\u{fffd}ma", "x"] {
            for i in 0..list.len() {
                let want = list.get(i).is_some_and(|t| t == key);
                assert_eq!(
                    String::eq_element(&list, i, &key),
                    want,
                    "element {i}, key {key:?}"
                );
            }
        }
        // Null, empty, unterminated and invalid texts all read as "", so
        // they are the key "" (as the index's encodings say).
        assert!((1..6).all(|i| String::eq_element(&list, i, &"")));
        assert!(String::eq_element(&list, 0, &"drama"));
        assert!(!String::eq_element(&list, 6, &"drama"));
    }

    #[test]
    fn direct_key_comparisons_agree_with_encodings() {
        let ints = [0u64, 1, 42, u64::MAX];
        for a in ints {
            for b in ints {
                assert_eq!(u64::eq_refs(&a, &b), same_encoding::<u64>(&a, &b));
            }
        }
        for a in [i32::MIN, -1, 0, 7] {
            for b in [i32::MIN, -1, 0, 7] {
                assert_eq!(i32::eq_refs(&a, &b), same_encoding::<i32>(&a, &b));
            }
        }
        let texts = ["", "a", "ab", "b\0", "é"];
        for a in texts {
            for b in texts {
                assert_eq!(String::eq_refs(&a, &b), same_encoding::<String>(&a, &b));
            }
        }
        let data: [&[u8]; 3] = [b"", b"\x00", b"\x00\x01"];
        for a in data {
            for b in data {
                assert_eq!(<Vec<u8>>::eq_refs(&a, &b), same_encoding::<Vec<u8>>(&a, &b));
            }
        }
    }
}

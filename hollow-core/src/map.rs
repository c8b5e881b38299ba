//! Maps and sets: [`MapKey`], the canonical order of keys, and the
//! zero-copy views [`MapRef`] and [`SetRef`] of a `$Hollow.map` or
//! `$Hollow.set` list, with lookups by binary search on the stored order.
//!
//! A map is stored as a list of entry structs (a key field and a value
//! field), a set as a list of its elements, both sorted by [`MapKey::cmp_refs`]
//! without duplicate keys (`docs/maps-and-sets.md`). [`write_map`] and
//! [`write_set`] write that form from entries in any order.
//!
//! `BTreeMap<K, V>`, `HashMap<K, V>`, `BTreeSet<T>` and `HashSet<T>` are
//! [`Value`]s here: fields of derived structs, read as [`MapRef`] and
//! [`SetRef`].

use std::cmp::Ordering;
use std::fmt;
use std::marker::PhantomData;

use hollow_schema::layout::{layout, Layout, LayoutNode};
use hollow_schema::{Collection, Field, Schema, StructSize, StructType, Type, TypeDef};

use crate::__private;
use crate::list::List;
use crate::record::{HashKeyPart, KeyHasher, KeyPart};
use crate::value::{Element, NotInSchema, PointerValue, Value};
use crate::wire::{
    ElementSize, ListReader, MessageBuilder, PointerReader, StructBuilder, StructReader,
};

/// A type that can be a map key or a set element: integers, `bool`,
/// `String` (Text), `Vec<u8>` (Data), derived enums, and derived structs
/// marked `#[hollow(map_key)]` (composite keys), ordered as
/// `docs/maps-and-sets.md` defines.
///
/// This trait is the one home of the canonical order, in its three forms:
/// between two keys as read ([`Value::Ref`]: `&str` for `String`), between
/// an owned key and one as read (a lookup by owned key, with no encoding),
/// and between two owned keys (sorting before writing). Keys are `Ord` and
/// `Hash` so that they can be collected into Rust maps and sets; the stored
/// order is this trait's, whatever `Ord` says (an enum's `Ord` need not be
/// its enumerant order).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a map key or set element in Hollow",
    note = "map keys and set elements may be bool, integers, String (Text), Vec<u8> (Data), enums with #[derive(Hollow)] (and Clone, Ord, Hash), and structs with #[derive(Hollow)] and #[hollow(map_key)]; not floats or lists"
)]
pub trait MapKey: Value + Clone + Ord + std::hash::Hash {
    /// The canonical order of two keys as read.
    fn cmp_refs(a: &Self::Ref<'_>, b: &Self::Ref<'_>) -> Ordering;
    /// The canonical order of this owned key and a key as read.
    fn cmp_to_ref(&self, r: &Self::Ref<'_>) -> Ordering;
    /// The canonical order of two owned keys.
    fn cmp_owned(&self, other: &Self) -> Ordering;
    /// How the key stored at `offsets` in `entry` compares with `key`: what
    /// a lookup's probes ask. By default the stored key is read and compared
    /// by [`MapKey::cmp_refs`]; a Text key compares its bytes as stored,
    /// without validating UTF-8 on every probe (a stored key with no
    /// terminating NUL compares as `""`, as it reads; one that is not UTF-8
    /// compares by its bytes, so a lookup in such damaged data may miss,
    /// never misread).
    #[inline]
    fn cmp_stored(
        entry: &StructReader<'_>,
        offsets: &'static [u32],
        key: &Self::Ref<'_>,
    ) -> Ordering {
        Self::cmp_refs(&Self::read(entry, offsets), key)
    }
    /// How element `i` of `list`, a list of this key type as stored,
    /// compares with `key`, when the type has a faster way than reading
    /// the element (Text: its bytes as stored, as
    /// [`MapKey::cmp_stored`]); `None` to read it.
    #[doc(hidden)]
    #[inline]
    fn cmp_listed(list: &ListReader<'_>, i: u32, key: &Self::Ref<'_>) -> Option<Ordering> {
        let _ = (list, i, key);
        None
    }
    /// Whether this is a composite key (a `#[hollow(map_key)]` struct),
    /// which cannot be a field of another composite key.
    #[doc(hidden)]
    const COMPOSITE: bool = false;
}

/// [`MapKey`] for a type whose key as read is borrowed from the owned key
/// by `$as_ref` and compared by `$cmp`.
macro_rules! key_by_ref {
    ($t:ty, |$v:ident| $as_ref:expr, |$a:ident, $b:ident| $cmp:expr $(, $extra:item)*) => {
        impl MapKey for $t {
            $($extra)*
            #[inline]
            fn cmp_refs($a: &<$t as Value>::Ref<'_>, $b: &<$t as Value>::Ref<'_>) -> Ordering {
                $cmp
            }
            #[inline]
            fn cmp_to_ref(&self, r: &<$t as Value>::Ref<'_>) -> Ordering {
                let $v = self;
                <$t as MapKey>::cmp_refs(&$as_ref, r)
            }
            #[inline]
            fn cmp_owned(&self, other: &Self) -> Ordering {
                let mine = {
                    let $v = self;
                    $as_ref
                };
                let $v = other;
                <$t as MapKey>::cmp_refs(&mine, &$as_ref)
            }
        }
    };
}

// Rust's `Ord` of these is the canonical order: numeric (signed as
// signed), `false` before `true`.
macro_rules! ordered_keys {
    ($($t:ty),*) => {$(
        key_by_ref!($t, |v| *v, |a, b| a.cmp(b));
    )*};
}
ordered_keys!(bool, i8, i16, i32, i64, u8, u16, u32, u64);

// Text: bytewise on the UTF-8 bytes (which is `str`'s `Ord`).
key_by_ref!(
    String,
    |v| v.as_str(),
    |a, b| crate::bytes::cmp(a.as_bytes(), b.as_bytes()),
    #[inline]
    fn cmp_stored(entry: &StructReader<'_>, offsets: &'static [u32], key: &&str) -> Ordering {
        crate::bytes::cmp(stored_text(entry.pointer(offsets[0])), key.as_bytes())
    },
    #[inline]
    fn cmp_listed(list: &ListReader<'_>, i: u32, key: &&str) -> Option<Ordering> {
        Some(crate::bytes::cmp(
            stored_text(list.pointer(i)),
            key.as_bytes(),
        ))
    }
);

/// A stored Text's bytes before its terminating NUL, unvalidated: `""` for
/// one without the NUL or a pointer that is not to bytes (as it reads).
#[inline(always)]
fn stored_text<'a>(p: PointerReader<'a>) -> &'a [u8] {
    match p.data() {
        Ok([body @ .., 0]) => body,
        _ => &[],
    }
}

// Data: bytewise, a proper prefix first.
key_by_ref!(Vec<u8>, |v| v.as_slice(), |a, b| a.cmp(b));

/// Index of the key among `n` items sorted by [`MapKey::cmp_refs`], `at(i)`
/// telling how item `i` compares with it; `None` when absent (or when the stored order is damaged
/// and the search misses it).
#[inline]
fn search(n: u32, mut at: impl FnMut(u32) -> Ordering) -> Option<u32> {
    let (mut lo, mut hi) = (0u32, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match at(mid) {
            Ordering::Less => lo = mid + 1,
            Ordering::Greater => hi = mid,
            Ordering::Equal => return Some(mid),
        }
    }
    None
}

/// A map field read in place: a list of entry structs sorted by key.
///
/// Lookups ([`MapRef::get`], [`MapRef::contains_key`]) search the stored
/// order by bisection, reading one key per step. A list that is not a
/// struct list (possible only in corrupt or foreign data) reads as empty; a
/// damaged order may make a lookup miss, never misread.
///
/// ```
/// use hollow_core::map::{write_map, MapRef};
/// use hollow_core::schema::StructSize;
/// use hollow_core::wire::{MessageBuilder, StructReader};
///
/// // Entries of one pointer: the Text key at pointer 0, the Text value at 1.
/// let size = StructSize { data_words: 0, pointers: 2 };
/// let (fr, en) = (("fr".to_string(), "Le Titre".to_string()), ("en".to_string(), "The Title".to_string()));
/// let mut msg = MessageBuilder::new();
/// let w = msg.init_root(0, 1).pointer_word(0);
/// write_map(&mut [(&fr.0, &fr.1), (&en.0, &en.1)], &mut msg, w, size, &[0], &[1]);
/// let bytes: Vec<u8> = msg.words().iter().flat_map(|w| w.to_le_bytes()).collect();
///
/// let list = StructReader::root(&bytes).unwrap().pointer(0).list_reader().unwrap();
/// let titles = MapRef::<String, String>::new(list, &[0], &[1]);
/// assert_eq!(titles.get(&"fr"), Some("Le Titre"));
/// assert!(!titles.contains_key(&"de"));
/// assert_eq!(titles.keys().collect::<Vec<_>>(), ["en", "fr"]);
/// ```
pub struct MapRef<'a, K, V> {
    entries: ListReader<'a>,
    key_at: &'static [u32],
    value_at: &'static [u32],
    _t: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for MapRef<'_, K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V> Copy for MapRef<'_, K, V> {}

impl<'a, K: MapKey, V: Value> MapRef<'a, K, V> {
    /// Wraps the entries' list; `key_at` and `value_at` are the layout
    /// offsets of the key and value fields within an entry.
    #[inline]
    pub fn new(entries: ListReader<'a>, key_at: &'static [u32], value_at: &'static [u32]) -> Self {
        let entries = if entries.is(ElementSize::InlineComposite) {
            entries
        } else {
            ListReader::empty()
        };
        MapRef {
            entries,
            key_at,
            value_at,
            _t: PhantomData,
        }
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len() as usize
    }

    /// Whether the map is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[inline]
    fn entry(&self, i: u32) -> StructReader<'a> {
        self.entries.struct_at(i)
    }

    #[inline]
    fn key(&self, i: u32) -> K::Ref<'a> {
        K::read(&self.entry(i), self.key_at)
    }

    #[inline]
    fn value(&self, i: u32) -> V::Ref<'a> {
        V::read(&self.entry(i), self.value_at)
    }

    /// The position of `key`'s entry.
    #[inline]
    fn find(&self, key: &K::Ref<'_>) -> Option<u32> {
        search(self.entries.len(), |i| {
            K::cmp_stored(&self.entry(i), self.key_at, key)
        })
    }

    /// The position of the entry of the owned key `key`.
    #[inline]
    fn find_owned(&self, key: &K) -> Option<u32> {
        search(self.entries.len(), |i| {
            key.cmp_to_ref(&self.key(i)).reverse()
        })
    }

    /// The value stored for `key` (a key as read: `&"fr"` for a Text key).
    #[inline]
    pub fn get(&self, key: &K::Ref<'_>) -> Option<V::Ref<'a>> {
        self.find(key)
            .map(|i| V::read(&self.entry(i), self.value_at))
    }

    /// Whether the map has an entry for `key`.
    #[inline]
    pub fn contains_key(&self, key: &K::Ref<'_>) -> bool {
        self.find(key).is_some()
    }

    /// The value stored for the owned key `key` (`&Genre::Drama`, a
    /// composite key struct): compared with the stored keys in place, not
    /// encoded.
    #[inline]
    pub fn get_owned(&self, key: &K) -> Option<V::Ref<'a>> {
        self.find_owned(key)
            .map(|i| V::read(&self.entry(i), self.value_at))
    }

    /// Whether the map has an entry for the owned key `key`.
    #[inline]
    pub fn contains_key_owned(&self, key: &K) -> bool {
        self.find_owned(key).is_some()
    }

    /// The entries in key order, as `(key, value)`.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (K::Ref<'a>, V::Ref<'a>)> + ExactSizeIterator + 'a
    where
        K: 'a,
        V: 'a,
    {
        let m = *self;
        (0..self.entries.len()).map(move |i| {
            let e = m.entry(i);
            (K::read(&e, m.key_at), V::read(&e, m.value_at))
        })
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = K::Ref<'a>> + ExactSizeIterator + 'a
    where
        K: 'a,
        V: 'a,
    {
        let m = *self;
        (0..self.entries.len()).map(move |i| m.key(i))
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = V::Ref<'a>> + ExactSizeIterator + 'a
    where
        K: 'a,
        V: 'a,
    {
        let m = *self;
        (0..self.entries.len()).map(move |i| V::read(&m.entry(i), m.value_at))
    }
}

impl<'a, K: MapKey + 'a, V: Value + 'a> fmt::Debug for MapRef<'a, K, V>
where
    K::Ref<'a>: fmt::Debug,
    V::Ref<'a>: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A set field read in place: a list sorted by [`MapKey::cmp_refs`], without
/// duplicates.
///
/// [`SetRef::contains`] searches the stored order by bisection. A damaged
/// order may make it miss, never misread.
pub struct SetRef<'a, T> {
    list: List<'a, T>,
}

impl<T: Element> Clone for SetRef<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Element> Copy for SetRef<'_, T> {}

impl<'a, T> SetRef<'a, T>
where
    T: MapKey + Element,
    for<'b> T: Element<Item<'b> = <T as Value>::Ref<'b>>,
{
    /// Wraps a list of the set's elements.
    #[inline]
    pub fn new(list: List<'a, T>) -> Self {
        SetRef { list }
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the set is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether the set holds `item` (an element as read: `&"drama"`).
    #[inline]
    pub fn contains(&self, item: &T::Ref<'_>) -> bool {
        let n = self.list.len() as u32;
        let reader = self.list.reader();
        search(n, |i| match T::cmp_listed(reader, i, item) {
            Some(o) => o,
            None => match self.list.get(i as usize) {
                Some(x) => T::cmp_refs(&x, item),
                None => Ordering::Greater,
            },
        })
        .is_some()
    }

    /// Whether the set holds the owned element `item` (`&Genre::Drama`, a
    /// composite key struct): compared with the stored elements in place,
    /// not encoded.
    #[inline]
    pub fn contains_owned(&self, item: &T) -> bool {
        let n = self.list.len() as u32;
        search(n, |i| match self.list.get(i as usize) {
            Some(x) => item.cmp_to_ref(&x).reverse(),
            None => Ordering::Greater,
        })
        .is_some()
    }

    /// The elements in order.
    #[inline]
    pub fn iter(&self) -> crate::list::Iter<'a, T> {
        self.list.iter()
    }
}

impl<'a, T> fmt::Debug for SetRef<'a, T>
where
    T: MapKey + Element,
    for<'b> T: Element<Item<'b> = <T as Value>::Ref<'b>>,
    T::Ref<'a>: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Writes a map's entries in canonical order as a list of entry structs of
/// `size`, pointed to from `ptr_word`; `key_at` and `value_at` are the key's
/// and value's layout offsets in an entry.
///
/// # Panics
/// If two entries have equal keys (a map holds each key once).
pub fn write_map<K: MapKey, V: Value>(
    entries: &mut [(&K, &V)],
    msg: &mut MessageBuilder,
    ptr_word: usize,
    size: StructSize,
    key_at: &[u32],
    value_at: &[u32],
) {
    entries.sort_unstable_by(|a, b| a.0.cmp_owned(b.0));
    assert!(
        entries
            .windows(2)
            .all(|w| w[0].0.cmp_owned(w[1].0) == Ordering::Less),
        "a map entry's key is repeated"
    );
    let mut list = msg.init_struct_list_at(
        ptr_word,
        entries.len() as u32,
        size.data_words,
        size.pointers,
    );
    for (i, (k, v)) in entries.iter().enumerate() {
        let mut e = list.struct_at(i as u32);
        k.write(&mut e, key_at);
        v.write(&mut e, value_at);
    }
}

/// Writes a set's elements in canonical order, each once, as a list
/// pointed to from `ptr_word`.
pub fn write_set<T: MapKey + Element>(items: &[T], msg: &mut MessageBuilder, ptr_word: usize) {
    let mut sorted = items.to_vec();
    sorted.sort_unstable_by(T::cmp_owned);
    sorted.dedup_by(|a, b| a.cmp_owned(b) == Ordering::Equal);
    T::write_list(&sorted, msg, ptr_word);
}

/// `BTreeSet<T>` and `HashSet<T>` fields: `List(T) $Hollow.set`, written
/// in canonical order, read as a [`SetRef`].
macro_rules! set_value {
    ($set:ident) => {
        impl<T> Value for std::collections::$set<T>
        where
            T: MapKey + Element,
            for<'b> T: Element<Item<'b> = <T as Value>::Ref<'b>>,
        {
            const NODES: &'static [LayoutNode] = &[LayoutNode::Pointer];
            type Ref<'a> = SetRef<'a, T>;
            #[inline]
            fn read<'a>(s: &StructReader<'a>, offsets: &'static [u32]) -> SetRef<'a, T> {
                <Self as PointerValue>::read_ptr(s.pointer(offsets[0]))
            }
            fn write(&self, s: &mut StructBuilder<'_>, offsets: &[u32]) {
                if !self.is_empty() {
                    let w = s.pointer_word(offsets[0]);
                    <Self as PointerValue>::write_ptr(self, s.message(), w);
                }
            }
            fn from_ref(r: SetRef<'_, T>) -> Result<Self, NotInSchema> {
                r.iter().map(T::from_item).collect()
            }
            fn field(name: &str, ordinal: &mut u16) -> Field {
                let f = Field::slot(name, *ordinal, <Self as PointerValue>::ty());
                *ordinal += 1;
                f.marked(Collection::Set)
            }
            fn collect_types(schema: &mut Schema) {
                <T as Element>::collect_types(schema);
            }
        }

        impl<T> PointerValue for std::collections::$set<T>
        where
            T: MapKey + Element,
            for<'b> T: Element<Item<'b> = <T as Value>::Ref<'b>>,
        {
            fn ty() -> Type {
                Type::List(Box::new(T::element_type()))
            }
            #[inline]
            fn read_ptr(p: PointerReader<'_>) -> SetRef<'_, T> {
                SetRef::new(List::new(p.list_of(T::SIZE)))
            }
            fn write_ptr(&self, msg: &mut MessageBuilder, ptr_word: usize) {
                let items: Vec<T> = self.iter().cloned().collect();
                write_set(&items, msg, ptr_word);
            }
            fn is_default(&self) -> bool {
                self.is_empty()
            }
        }

        /// A hash index on a set indexes each element.
        #[diagnostic::do_not_recommend]
        impl<T> HashKeyPart for std::collections::$set<T>
        where
            T: MapKey + KeyPart + Element,
            for<'b> T: Element<Item<'b> = <T as Value>::Ref<'b>>,
        {
            type Elem = T;
            #[inline]
            fn each_key_ref<F: FnMut(&[u8])>(r: &SetRef<'_, T>, h: &mut KeyHasher, f: &mut F) {
                for item in r.iter() {
                    h.clear();
                    T::hash_key_ref(&item, h);
                    f(h.bytes());
                }
            }
            /// Element `pos` compared directly (no other element is read).
            #[inline]
            fn key_at_eq(r: &SetRef<'_, T>, pos: u32, key: &T::Ref<'_>) -> bool {
                T::eq_element(&r.list, pos as usize, key)
            }
        }
    };
}
set_value!(BTreeSet);
set_value!(HashSet);

/// The layout of a map's entry struct, `key @0 :K; value @1 :V;`, as the
/// official compiler lays it out: computed at compile time from the one
/// layout node each of `K` and `V` has.
struct Entry<K, V>(PhantomData<fn() -> (K, V)>);

impl<K: MapKey, V: Value> Entry<K, V> {
    /// The key's and the value's layout nodes.
    const NODES: [LayoutNode; 2] = {
        assert!(
            V::NODES.len() == 1,
            "a map value cannot be a group or a union: wrap it in a struct with #[derive(Hollow)]"
        );
        assert!(K::NODES.len() == 1, "a map key has one layout node");
        [K::NODES[0], V::NODES[0]]
    };
    const LAYOUT: Layout<2> = __private::expect_layout(layout(&Self::NODES));
    /// The key's offset within an entry.
    const KEY_AT: &'static [u32] = &[Self::LAYOUT.offsets[0]];
    /// The value's offset within an entry.
    const VALUE_AT: &'static [u32] = &[Self::LAYOUT.offsets[1]];

    /// Reads the entries a map field's pointer points to.
    #[inline]
    fn read<'a>(p: PointerReader<'a>) -> MapRef<'a, K, V> {
        MapRef::new(
            p.list_of(ElementSize::InlineComposite),
            Self::KEY_AT,
            Self::VALUE_AT,
        )
    }

    /// Writes `entries` in canonical order and points `ptr_word` at them.
    fn write<'e>(
        entries: impl Iterator<Item = (&'e K, &'e V)>,
        msg: &mut MessageBuilder,
        ptr_word: usize,
    ) where
        K: 'e,
        V: 'e,
    {
        let mut entries: Vec<(&K, &V)> = entries.collect();
        write_map(
            &mut entries,
            msg,
            ptr_word,
            Self::LAYOUT.size,
            Self::KEY_AT,
            Self::VALUE_AT,
        );
    }

    /// The IR of a map field named `name` whose entry struct is `entry`.
    fn field(name: &str, ordinal: &mut u16, entry: &str) -> Field {
        let f = Field::slot(
            name,
            *ordinal,
            Type::List(Box::new(Type::Struct(entry.to_owned()))),
        );
        *ordinal += 1;
        f.marked(Collection::Map)
    }

    /// Adds the entry struct `entry` and the types `K` and `V` use to
    /// `schema`; a map value that is a map has the entry `<entry>ValueEntry`.
    ///
    /// # Panics
    /// If `schema` already has a different type named `entry` (two maps
    /// given one entry name, or an entry named as another type): the
    /// field's `#[hollow(entry = "…")]` names it apart.
    fn collect_types(schema: &mut Schema, entry: &str) {
        let value_entry = hollow_schema::map_entry_name(entry, "value");
        let mut s = StructType::new(entry);
        let ordinal = &mut 0;
        s.fields = vec![
            K::field("key", ordinal),
            V::field_in("value", ordinal, &value_entry),
        ];
        match schema.get(entry) {
            None => {
                schema.insert(TypeDef::Struct(s));
                K::collect_types(schema);
                V::collect_types_in(schema, &value_entry);
            }
            Some(TypeDef::Struct(same)) if same.fields == s.fields => {}
            Some(_) => panic!(
                "the entry struct {entry} of a map field has the name of another type; \
                 name it apart with #[hollow(entry = \"...\")]"
            ),
        }
    }
}

/// `BTreeMap<K, V>` and `HashMap<K, V>` fields: `List(<entry>) $Hollow.map`
/// of an entry struct `key @0 :K; value @1 :V;`, written in canonical
/// order, read as a [`MapRef`]. The entry's name is the derive's to give
/// ([`Value::field_in`]).
macro_rules! map_value {
    ($map:ident) => {
        impl<K: MapKey, V: Value> Value for std::collections::$map<K, V> {
            const NODES: &'static [LayoutNode] = &[LayoutNode::Pointer];
            type Ref<'a> = MapRef<'a, K, V>;
            #[inline]
            fn read<'a>(s: &StructReader<'a>, offsets: &'static [u32]) -> MapRef<'a, K, V> {
                Entry::<K, V>::read(s.pointer(offsets[0]))
            }
            fn write(&self, s: &mut StructBuilder<'_>, offsets: &[u32]) {
                if !self.is_empty() {
                    let w = s.pointer_word(offsets[0]);
                    Entry::<K, V>::write(self.iter(), s.message(), w);
                }
            }
            fn from_ref(r: MapRef<'_, K, V>) -> Result<Self, NotInSchema> {
                r.iter()
                    .map(|(k, v)| Ok((K::from_ref(k)?, V::from_ref(v)?)))
                    .collect()
            }
            fn field(name: &str, ordinal: &mut u16) -> Field {
                // Without its owner (a map read or written outside a derived
                // struct): `<Field>Entry`.
                Self::field_in(name, ordinal, &hollow_schema::map_entry_name("", name))
            }
            fn field_in(name: &str, ordinal: &mut u16, entry: &str) -> Field {
                Entry::<K, V>::field(name, ordinal, entry)
            }
            fn collect_types_in(schema: &mut Schema, entry: &str) {
                Entry::<K, V>::collect_types(schema, entry);
            }
        }

        /// `hash_index(titles.key)`: each key of the map is indexed.
        #[diagnostic::do_not_recommend]
        impl<K: MapKey + KeyPart, V: Value> HashKeyPart<MapKeys> for std::collections::$map<K, V> {
            type Elem = K;
            #[inline]
            fn each_key_ref<F: FnMut(&[u8])>(r: &MapRef<'_, K, V>, h: &mut KeyHasher, f: &mut F) {
                for i in 0..r.entries.len() {
                    h.clear();
                    K::hash_key_ref(&r.key(i), h);
                    f(h.bytes());
                }
            }
            /// Key `pos` compared directly (no other entry is read).
            #[inline]
            fn key_at_eq(r: &MapRef<'_, K, V>, pos: u32, key: &K::Ref<'_>) -> bool {
                pos < r.entries.len() && K::eq_refs(&r.key(pos), key)
            }
        }

        /// `hash_index(titles.value)`: each value of the map is indexed (a
        /// value held under several keys is reported once per entry).
        #[diagnostic::do_not_recommend]
        impl<K: MapKey, V: KeyPart> HashKeyPart<MapValues> for std::collections::$map<K, V> {
            type Elem = V;
            #[inline]
            fn each_key_ref<F: FnMut(&[u8])>(r: &MapRef<'_, K, V>, h: &mut KeyHasher, f: &mut F) {
                for i in 0..r.entries.len() {
                    h.clear();
                    V::hash_key_ref(&r.value(i), h);
                    f(h.bytes());
                }
            }
            /// Value `pos` compared directly (no other entry is read).
            #[inline]
            fn key_at_eq(r: &MapRef<'_, K, V>, pos: u32, key: &V::Ref<'_>) -> bool {
                pos < r.entries.len() && V::eq_refs(&r.value(pos), key)
            }
        }
    };
}

/// Which part of a map's entries a hash index on the map indexes: its keys
/// (`hash_index(titles.key)`, `HashKeyPart<MapKeys>`), as the entry
/// struct's field `key` names them.
#[derive(Clone, Copy, Debug)]
pub enum MapKeys {}

/// Which part of a map's entries a hash index on the map indexes: its
/// values (`hash_index(titles.value)`, `HashKeyPart<MapValues>`), as the
/// entry struct's field `value` names them.
#[derive(Clone, Copy, Debug)]
pub enum MapValues {}
map_value!(BTreeMap);
map_value!(HashMap);

#[cfg(test)]
mod tests;

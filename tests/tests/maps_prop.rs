//! Property test of map and set fields against `BTreeMap`/`BTreeSet`
//! oracles: random records holding maps and sets of every key kind (`u8`,
//! `i16`, `i64`, `u64`, `bool`, a derived enum, Text, Data and a composite
//! `#[hollow(map_key)]` key; `BTreeMap`, `HashMap`, `BTreeSet`, `HashSet`;
//! values that are structs, lists, options and maps) go through canonical
//! encoding, a producer's cycles of random changes, a consumer following by
//! snapshot then deltas, a fresh consumer loading each version's snapshot,
//! and the first consumer stepping back by reverse deltas (with only the
//! last snapshot left in the store). Cycles are full or incremental, and each version is published
//! a second time with every `HashMap`/`HashSet` rebuilt: equal maps are
//! equal records, so that makes no version.
//!
//! After every step each record's maps and sets are checked against the
//! oracle: length, iteration in the canonical order (computed here by
//! [`Key::canon`], independently of the library's order: numeric, `false`
//! before `true`, enums by enumerant number whatever their `Ord`, Text and
//! Data bytewise, composite keys field by field), iteration backwards, and
//! `get`/`contains` for every present key, for random keys and for keys next
//! to the present ones (differing only in their last byte, one byte shorter,
//! one longer), both by a key as read and by an owned key; and `to_value()`
//! gives the record back.
//!
//! `PROPTEST_CASES` overrides the number of cases.

use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{
    read_root, to_canonical_bytes, Element, Hollow, MapKey, MapRef, Producer, ReadState, Record,
    SetRef, Value,
};
use hollow_tests::dataset::{self, by_key};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// An enum key whose `Ord` is the reverse of its enumerant order, so a map
/// that followed `Ord` instead of the enumerant number would show.
#[derive(Hollow, Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Tone {
    Red,
    Green,
    Blue,
    Black,
}

impl Ord for Tone {
    fn cmp(&self, other: &Self) -> Ordering {
        (*other as u8).cmp(&(*self as u8))
    }
}

impl PartialOrd for Tone {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

const TONES: [Tone; 4] = [Tone::Red, Tone::Green, Tone::Blue, Tone::Black];

/// A composite key of every kind of key field.
#[derive(Hollow, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[hollow(nested, map_key)]
struct Spot {
    tone: Tone,
    x: i16,
    name: String,
    raw: Vec<u8>,
    on: bool,
}

/// A struct map value.
#[derive(Hollow, Clone, Debug, PartialEq)]
#[hollow(nested)]
struct Note {
    score: i32,
    text: String,
    marks: Vec<u16>,
}

#[derive(Hollow, Clone, Debug, PartialEq)]
#[hollow(primary_key(id))]
struct Bag {
    id: u64,
    by_u8: BTreeMap<u8, String>,
    by_i16: BTreeMap<i16, Note>,
    by_i64: BTreeMap<i64, Vec<String>>,
    by_u64: BTreeMap<u64, Option<String>>,
    by_bool: BTreeMap<bool, BTreeMap<String, i32>>,
    by_tone: HashMap<Tone, Vec<u8>>,
    by_text: BTreeMap<String, String>,
    by_data: HashMap<Vec<u8>, Note>,
    by_spot: BTreeMap<Spot, Vec<Tone>>,
    nested: BTreeMap<String, BTreeMap<Spot, Tone>>,
    text_set: BTreeSet<String>,
    data_set: HashSet<Vec<u8>>,
    tone_set: HashSet<Tone>,
    spot_set: BTreeSet<Spot>,
    i64_set: BTreeSet<i64>,
    bool_set: BTreeSet<bool>,
}

/// What the test knows of a key kind, independently of [`MapKey`].
trait Key: MapKey + Debug {
    /// The canonical order, written out here as the design states it.
    fn canon(&self, other: &Self) -> Ordering;
    /// The key as read, for `get`/`contains` (none for a composite key,
    /// looked up by owned key only).
    fn as_read(&self) -> Option<Self::Ref<'_>>;
    /// Keys next to this one: absent from a map unless generated too.
    fn near(&self) -> Vec<Self>;
}

macro_rules! int_keys {
    ($($t:ty),*) => {$(
        impl Key for $t {
            fn canon(&self, other: &Self) -> Ordering {
                self.cmp(other)
            }
            fn as_read(&self) -> Option<Self> {
                Some(*self)
            }
            fn near(&self) -> Vec<Self> {
                vec![self.wrapping_add(1), self.wrapping_sub(1), <$t>::MIN, <$t>::MAX]
            }
        }
    )*};
}
int_keys!(u8, i16, i64, u64);

impl Key for bool {
    fn canon(&self, other: &Self) -> Ordering {
        u8::from(*self).cmp(&u8::from(*other))
    }
    fn as_read(&self) -> Option<Self> {
        Some(*self)
    }
    fn near(&self) -> Vec<Self> {
        vec![!*self]
    }
}

impl Key for Tone {
    fn canon(&self, other: &Self) -> Ordering {
        (*self as u16).cmp(&(*other as u16))
    }
    fn as_read(&self) -> Option<Result<Self, hollow_runtime::NotInSchema>> {
        Some(Ok(*self))
    }
    fn near(&self) -> Vec<Self> {
        TONES.to_vec()
    }
}

impl Key for String {
    fn canon(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
    fn as_read(&self) -> Option<&str> {
        Some(self.as_str())
    }
    fn near(&self) -> Vec<Self> {
        let mut out = vec![format!("{self}a"), format!("{self}\u{e9}")];
        let mut shorter = self.clone();
        if let Some(last) = shorter.pop() {
            out.push(shorter.clone());
            // The next and previous scalar values: for these keys, mostly
            // the same bytes but the last.
            for c in [u32::from(last) + 1, u32::from(last).wrapping_sub(1)] {
                if let Some(c) = char::from_u32(c) {
                    out.push(format!("{shorter}{c}"));
                }
            }
        }
        out
    }
}

impl Key for Vec<u8> {
    fn canon(&self, other: &Self) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
    fn as_read(&self) -> Option<&[u8]> {
        Some(self.as_slice())
    }
    fn near(&self) -> Vec<Self> {
        let mut out = vec![[self.as_slice(), &[0]].concat()];
        if let Some((&last, init)) = self.split_last() {
            out.push(init.to_vec());
            out.push([init, &[last.wrapping_add(1)]].concat());
            out.push([init, &[last.wrapping_sub(1)]].concat());
        }
        out
    }
}

impl Key for Spot {
    fn canon(&self, other: &Self) -> Ordering {
        self.tone
            .canon(&other.tone)
            .then_with(|| self.x.canon(&other.x))
            .then_with(|| self.name.canon(&other.name))
            .then_with(|| self.raw.canon(&other.raw))
            .then_with(|| self.on.canon(&other.on))
    }
    fn as_read(&self) -> Option<SpotRef<'_>> {
        None
    }
    fn near(&self) -> Vec<Self> {
        let mut out: Vec<Spot> = Vec::new();
        let with = |f: &dyn Fn(&mut Spot)| {
            let mut s = self.clone();
            f(&mut s);
            s
        };
        out.extend(self.tone.near().into_iter().map(|t| with(&|s| s.tone = t)));
        out.extend(self.x.near().into_iter().map(|x| with(&|s| s.x = x)));
        out.extend(
            self.name
                .near()
                .into_iter()
                .map(|n| with(&|s| s.name.clone_from(&n))),
        );
        out.extend(
            self.raw
                .near()
                .into_iter()
                .map(|r| with(&|s| s.raw.clone_from(&r))),
        );
        out.push(with(&|s| s.on = !s.on));
        out
    }
}

/// The oracle's entries in canonical order, checking that no two are equal
/// in it.
fn canonical<'o, K: Key + 'o, V: 'o>(
    entries: impl IntoIterator<Item = (&'o K, &'o V)>,
) -> Vec<(&'o K, &'o V)> {
    let mut v: Vec<_> = entries.into_iter().collect();
    v.sort_by(|a, b| a.0.canon(b.0));
    for w in v.windows(2) {
        assert_eq!(w[0].0.canon(w[1].0), Ordering::Less, "{:?}", w[0].0);
    }
    v
}

/// The keys to look up: the present ones, their neighbours, and `probes`.
fn lookups<'o, K: Key + 'o>(present: impl Iterator<Item = &'o K>, probes: &[K]) -> Vec<K> {
    let mut out = Vec::new();
    for k in present {
        out.push(k.clone());
        out.extend(k.near());
    }
    out.extend(probes.iter().cloned());
    out
}

/// `m` against the oracle `want`: length, order both ways, values, and
/// lookups of present, neighbouring and random keys. `what` names the field.
fn check_map<'a, K, V>(what: &str, m: MapRef<'a, K, V>, want: Vec<(&K, &V)>, probes: &[K])
where
    K: Key + 'a,
    V: Value + Clone + PartialEq + Debug + 'a,
{
    let want = canonical(want);
    assert_eq!(m.len(), want.len(), "{what}: len");
    assert_eq!(m.is_empty(), want.is_empty(), "{what}: is_empty");
    let read: Vec<(K, V)> = m
        .iter()
        .map(|(k, v)| (K::from_ref(k).unwrap(), V::from_ref(v).unwrap()))
        .collect();
    let expected: Vec<(K, V)> = want
        .iter()
        .map(|(k, v)| ((*k).clone(), (*v).clone()))
        .collect();
    assert_eq!(read, expected, "{what}: iteration order");
    let back: Vec<K> = m.keys().rev().map(|k| K::from_ref(k).unwrap()).collect();
    let forward: Vec<K> = expected.iter().rev().map(|(k, _)| k.clone()).collect();
    assert_eq!(back, forward, "{what}: keys backwards");
    let values: Vec<V> = m.values().map(|v| V::from_ref(v).unwrap()).collect();
    let forward: Vec<V> = expected.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(values, forward, "{what}: values");
    for key in lookups(want.iter().map(|(k, _)| *k), probes) {
        let hit = want.iter().find(|(k, _)| **k == key).map(|(_, v)| *v);
        let got = m.get_owned(&key).map(|v| V::from_ref(v).unwrap());
        assert_eq!(got.as_ref(), hit, "{what}: get_owned({key:?})");
        assert_eq!(m.contains_key_owned(&key), hit.is_some(), "{what}: {key:?}");
        if let Some(r) = key.as_read() {
            let got = m.get(&r).map(|v| V::from_ref(v).unwrap());
            assert_eq!(got.as_ref(), hit, "{what}: get({key:?})");
            assert_eq!(m.contains_key(&r), hit.is_some(), "{what}: {key:?}");
        }
    }
}

/// `s` against the oracle `want`, as [`check_map`] for a set.
fn check_set<'a, T>(what: &str, s: SetRef<'a, T>, want: Vec<&T>, probes: &[T])
where
    T: Key + Element + 'a,
    for<'b> T: Element<Item<'b> = <T as Value>::Ref<'b>>,
{
    let want: Vec<&T> = canonical(want.into_iter().map(|t| (t, &())))
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(s.len(), want.len(), "{what}: len");
    assert_eq!(s.is_empty(), want.is_empty(), "{what}: is_empty");
    let read: Vec<T> = s.iter().map(|t| T::from_ref(t).unwrap()).collect();
    let expected: Vec<T> = want.iter().map(|t| (*t).clone()).collect();
    assert_eq!(read, expected, "{what}: iteration order");
    for item in lookups(want.iter().copied(), probes) {
        let hit = want.contains(&&item);
        assert_eq!(
            s.contains_owned(&item),
            hit,
            "{what}: contains_owned({item:?})"
        );
        if let Some(r) = item.as_read() {
            assert_eq!(s.contains(&r), hit, "{what}: contains({item:?})");
        }
    }
}

/// Every map and set of the record `r` against the oracle `want`, and the
/// maps inside map values too.
fn check_bag(r: &BagRef<'_>, want: &Bag, p: &Probes) {
    let id = want.id;
    let at = |f: &str| format!("Bag {id}.{f}");
    check_map(&at("by_u8"), r.by_u8(), want.by_u8.iter().collect(), &p.u8s);
    check_map(
        &at("by_i16"),
        r.by_i16(),
        want.by_i16.iter().collect(),
        &p.i16s,
    );
    check_map(
        &at("by_i64"),
        r.by_i64(),
        want.by_i64.iter().collect(),
        &p.i64s,
    );
    check_map(
        &at("by_u64"),
        r.by_u64(),
        want.by_u64.iter().collect(),
        &p.u64s,
    );
    check_map(
        &at("by_bool"),
        r.by_bool(),
        want.by_bool.iter().collect(),
        &[],
    );
    for (k, inner) in &want.by_bool {
        let m = r.by_bool().get(k).unwrap();
        check_map(
            &at(&format!("by_bool[{k}]")),
            m,
            inner.iter().collect(),
            &p.texts,
        );
    }
    check_map(
        &at("by_tone"),
        r.by_tone(),
        want.by_tone.iter().collect(),
        &[],
    );
    check_map(
        &at("by_text"),
        r.by_text(),
        want.by_text.iter().collect(),
        &p.texts,
    );
    check_map(
        &at("by_data"),
        r.by_data(),
        want.by_data.iter().collect(),
        &p.datas,
    );
    check_map(
        &at("by_spot"),
        r.by_spot(),
        want.by_spot.iter().collect(),
        &p.spots,
    );
    check_map(
        &at("nested"),
        r.nested(),
        want.nested.iter().collect(),
        &p.texts,
    );
    for (k, inner) in &want.nested {
        let m = r.nested().get_owned(k).unwrap();
        check_map(
            &at(&format!("nested[{k:?}]")),
            m,
            inner.iter().collect(),
            &p.spots,
        );
    }
    check_set(
        &at("text_set"),
        r.text_set(),
        want.text_set.iter().collect(),
        &p.texts,
    );
    check_set(
        &at("data_set"),
        r.data_set(),
        want.data_set.iter().collect(),
        &p.datas,
    );
    check_set(
        &at("tone_set"),
        r.tone_set(),
        want.tone_set.iter().collect(),
        &[],
    );
    check_set(
        &at("spot_set"),
        r.spot_set(),
        want.spot_set.iter().collect(),
        &p.spots,
    );
    check_set(
        &at("i64_set"),
        r.i64_set(),
        want.i64_set.iter().collect(),
        &p.i64s,
    );
    check_set(
        &at("bool_set"),
        r.bool_set(),
        want.bool_set.iter().collect(),
        &[],
    );
}

/// Random keys of each kind looked up in every map (mostly absent).
#[derive(Clone, Debug)]
struct Probes {
    u8s: Vec<u8>,
    i16s: Vec<i16>,
    i64s: Vec<i64>,
    u64s: Vec<u64>,
    texts: Vec<String>,
    datas: Vec<Vec<u8>>,
    spots: Vec<Spot>,
}

/// Integers: often small (so keys repeat and sit next to each other),
/// sometimes the extremes, sometimes anything.
macro_rules! int_strategy {
    ($name:ident, $t:ty) => {
        fn $name() -> impl Strategy<Value = $t> {
            prop_oneof![
                3 => (0 as $t)..(8 as $t),
                1 => Just(<$t>::MIN),
                1 => Just(<$t>::MAX),
                2 => any::<$t>(),
            ]
        }
    };
}
int_strategy!(u8_key, u8);
int_strategy!(u64_key, u64);

fn i16_key() -> impl Strategy<Value = i16> {
    prop_oneof![3 => -4i16..4, 1 => Just(i16::MIN), 1 => Just(i16::MAX), 2 => any::<i16>()]
}

fn i64_key() -> impl Strategy<Value = i64> {
    prop_oneof![3 => -4i64..4, 1 => Just(i64::MIN), 1 => Just(i64::MAX), 2 => any::<i64>()]
}

/// Text keys: mostly a shared prefix (often non-ASCII) and one last
/// character from pairs whose UTF-8 differs only in the last byte; sometimes
/// any characters.
fn text_key() -> impl Strategy<Value = String> {
    let prefix = prop_oneof![
        Just(""),
        Just("a"),
        Just("\u{e9}t\u{e9}"),
        Just("\u{65e5}\u{672c}"),
        Just("\u{1f600}"),
        Just("ab\u{7f}"),
    ];
    let last = prop_oneof![
        3 => proptest::sample::select(vec![
            'a', 'b', '\u{7f}', '\u{80}', '\u{e8}', '\u{e9}', '\u{65e5}', '\u{65e6}',
            '\u{1f600}', '\u{1f601}', '\u{10ffff}',
        ]),
        1 => any::<char>(),
    ];
    prop_oneof![
        4 => (prefix, proptest::option::of(last)).prop_map(|(p, c)| format!("{p}{}", c.map(String::from).unwrap_or_default())),
        1 => vec(any::<char>(), 0..6).prop_map(String::from_iter),
    ]
}

/// Data keys: a shared prefix and a last byte from near the ends of the
/// range; sometimes any bytes.
fn data_key() -> impl Strategy<Value = Vec<u8>> {
    let prefix = proptest::sample::select(vec![vec![], vec![0u8], vec![0xff], vec![1, 2, 3]]);
    let last = prop_oneof![
        proptest::sample::select(vec![0u8, 1, 0x7f, 0x80, 0xfe, 0xff]),
        any::<u8>()
    ];
    prop_oneof![
        4 => (prefix, proptest::option::of(last)).prop_map(|(mut p, b)| {
            p.extend(b);
            p
        }),
        1 => vec(any::<u8>(), 0..6),
    ]
}

fn tone() -> impl Strategy<Value = Tone> {
    proptest::sample::select(TONES.to_vec())
}

fn spot() -> impl Strategy<Value = Spot> {
    (
        tone(),
        prop_oneof![3 => -2i16..2, 1 => any::<i16>()],
        prop_oneof![3 => proptest::sample::select(vec!["", "a", "\u{e9}"]).prop_map(String::from), 1 => text_key()],
        prop_oneof![3 => proptest::sample::select(vec![vec![], vec![0u8], vec![1]]), 1 => data_key()],
        any::<bool>(),
    )
        .prop_map(|(tone, x, name, raw, on)| Spot { tone, x, name, raw, on })
}

fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-z\u{e9}\u{65e5}]{1,6}"]
}

fn note() -> impl Strategy<Value = Note> {
    (any::<i32>(), text_value(), vec(any::<u16>(), 0..3)).prop_map(|(score, text, marks)| Note {
        score,
        text,
        marks,
    })
}

/// A collection of up to `n` random entries (fewer when keys repeat):
/// empty or a single entry often.
fn few<T: Debug + 'static>(
    item: impl Strategy<Value = T> + 'static,
    n: usize,
) -> impl Strategy<Value = Vec<T>> {
    let item = item.boxed();
    prop_oneof![
        1 => vec(item.clone(), 0..=0),
        1 => vec(item.clone(), 1..=1),
        3 => vec(item, 0..=n),
    ]
}

fn map<K, V, M>(
    k: impl Strategy<Value = K> + 'static,
    v: impl Strategy<Value = V> + 'static,
    n: usize,
) -> impl Strategy<Value = M>
where
    K: Debug + 'static,
    V: Debug + 'static,
    M: FromIterator<(K, V)> + Debug,
{
    few((k, v), n).prop_map(|e| e.into_iter().collect())
}

fn set<T, S>(t: impl Strategy<Value = T> + 'static, n: usize) -> impl Strategy<Value = S>
where
    T: Debug + 'static,
    S: FromIterator<T> + Debug,
{
    few(t, n).prop_map(|e| e.into_iter().collect())
}

/// A record `id` with random maps and sets.
fn bag(id: u64) -> impl Strategy<Value = Bag> {
    let inner_text = || map(text_key(), any::<i32>(), 3);
    let maps = (
        map(u8_key(), text_value(), 4),
        map(i16_key(), note(), 4),
        map(i64_key(), vec(text_value(), 0..3), 4),
        map(u64_key(), proptest::option::of(text_value()), 4),
        map(any::<bool>(), inner_text(), 2),
        map(tone(), vec(any::<u8>(), 0..3), 4),
        map(text_key(), text_value(), 6),
        map(data_key(), note(), 5),
        map(spot(), vec(tone(), 0..3), 4),
        map(text_key(), map(spot(), tone(), 3), 3),
    );
    let sets = (
        set(text_key(), 6),
        set(data_key(), 5),
        set(tone(), 4),
        set(spot(), 4),
        set(i64_key(), 5),
        set(any::<bool>(), 2),
    );
    (maps, sets).prop_map(move |(m, s)| Bag {
        id,
        by_u8: m.0,
        by_i16: m.1,
        by_i64: m.2,
        by_u64: m.3,
        by_bool: m.4,
        by_tone: m.5,
        by_text: m.6,
        by_data: m.7,
        by_spot: m.8,
        nested: m.9,
        text_set: s.0,
        data_set: s.1,
        tone_set: s.2,
        spot_set: s.3,
        i64_set: s.4,
        bool_set: s.5,
    })
}

fn probes() -> impl Strategy<Value = Probes> {
    (
        vec(u8_key(), 0..4),
        vec(i16_key(), 0..4),
        vec(i64_key(), 0..4),
        vec(u64_key(), 0..4),
        vec(text_key(), 0..6),
        vec(data_key(), 0..6),
        vec(spot(), 0..4),
    )
        .prop_map(|(u8s, i16s, i64s, u64s, texts, datas, spots)| Probes {
            u8s,
            i16s,
            i64s,
            u64s,
            texts,
            datas,
            spots,
        })
}

/// Records are drawn from a few ids, so cycles change, keep and remove
/// the same records.
const IDS: u64 = 5;

/// One change to the published records.
#[derive(Clone, Debug)]
enum Edit {
    /// The record `id` replaced (or added) whole.
    Put(Bag),
    /// The record `id` removed (nothing when absent).
    Remove(u64),
    /// The record `id` changed a little: some entries of each map and set
    /// dropped (those whose key hashes with `seed` to an odd number), the
    /// entries of `more` added over them; added whole when absent.
    Tweak(u64, u64, Bag),
}

fn edit() -> impl Strategy<Value = Edit> {
    let id = || 0..IDS;
    prop_oneof![
        2 => id().prop_flat_map(bag).prop_map(Edit::Put),
        1 => id().prop_map(Edit::Remove),
        3 => (id(), any::<u64>()).prop_flat_map(|(id, seed)| bag(id).prop_map(move |b| Edit::Tweak(id, seed, b))),
    ]
}

/// Whether `key` stays in a tweak by `seed`: a fixed hash, so a case
/// replays the same whatever the process's hash seed.
fn keeps<K: Hash>(key: &K, seed: u64) -> bool {
    let mut h = DefaultHasher::new();
    seed.hash(&mut h);
    key.hash(&mut h);
    h.finish().is_multiple_of(2)
}

macro_rules! tweak_maps {
    ($b:ident, $more:ident, $seed:ident; $($f:ident),*) => {$(
        $b.$f.retain(|k, _| keeps(k, $seed));
        $b.$f.extend($more.$f);
    )*};
}

macro_rules! tweak_sets {
    ($b:ident, $more:ident, $seed:ident; $($f:ident),*) => {$(
        $b.$f.retain(|k| keeps(k, $seed));
        $b.$f.extend($more.$f);
    )*};
}

/// `b` tweaked by `seed` and `more` (see [`Edit::Tweak`]).
fn tweak(mut b: Bag, seed: u64, more: Bag) -> Bag {
    tweak_maps!(b, more, seed; by_u8, by_i16, by_i64, by_u64, by_bool, by_tone, by_text, by_data, by_spot, nested);
    tweak_sets!(b, more, seed; text_set, data_set, tone_set, spot_set, i64_set, bool_set);
    b
}

impl Edit {
    /// The id of the record the edit changes.
    fn id(&self) -> u64 {
        match self {
            Edit::Put(b) => b.id,
            Edit::Remove(id) | Edit::Tweak(id, ..) => *id,
        }
    }

    fn apply(self, records: &mut BTreeMap<u64, Bag>) {
        match self {
            Edit::Put(b) => {
                records.insert(b.id, b);
            }
            Edit::Remove(id) => {
                records.remove(&id);
            }
            Edit::Tweak(id, seed, more) => {
                let b = match records.remove(&id) {
                    Some(b) => tweak(b, seed, more),
                    None => Bag { id, ..more },
                };
                records.insert(id, b);
            }
        }
    }
}

/// Every record of `state` against the oracle: the owned records
/// (`to_value()` of each), then every map and set in place.
fn check_state(state: &ReadState, oracle: &BTreeMap<u64, Bag>, p: &Probes) {
    assert_eq!(&by_key::<Bag>(state), oracle, "version {}", state.version());
    for (_, r) in state.records::<Bag>().iter() {
        check_bag(&r, &oracle[&Bag::primary_key_ref(&r)], p);
    }
}

/// Each record through canonical encoding alone.
fn check_encoding(oracle: &BTreeMap<u64, Bag>, p: &Probes) {
    for b in oracle.values() {
        let bytes = to_canonical_bytes(b).unwrap();
        let r = read_root::<Bag>(&bytes).unwrap();
        assert_eq!(&r.to_value().unwrap(), b);
        check_bag(&r, b, p);
    }
}

/// Publishes the records after each cycle of edits: a consumer follows by
/// deltas, and a fresh consumer loads each version's snapshot. Then, with
/// every snapshot but the last removed from the store, the follower walks
/// back through every version by reverse deltas.
async fn run_case(cycles: Vec<Cycle>, p: Probes) {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let consumer = dataset::consumer(store.clone(), announcer.clone(), &tmp.path().join("c"));
    let mut records = BTreeMap::new();
    let mut history: Vec<(u64, BTreeMap<u64, Bag>)> = Vec::new();
    for (i, cycle) in cycles.into_iter().enumerate() {
        let before = records.clone();
        let touched: BTreeSet<u64> = cycle.edits.iter().map(Edit::id).collect();
        for e in cycle.edits {
            e.apply(&mut records);
        }
        check_encoding(&records, &p);
        // The first cycle is always a full one.
        let incremental = cycle.incremental && i > 0;
        let version = publish(&mut producer, &records, incremental.then_some(&touched)).await;
        // Equal maps are equal records, whatever order a `HashMap` holds
        // its entries in: no change, no version.
        let changed = i == 0 || records != before;
        assert_eq!(version.is_some(), changed, "cycle {i}");
        let Some(v) = version else {
            continue;
        };
        let reordered: BTreeMap<u64, Bag> = records.values().map(|b| (b.id, rehash(b))).collect();
        assert_eq!(
            publish(&mut producer, &reordered, None).await,
            None,
            "cycle {i} again"
        );
        let previous = history.last().map(|(v, _)| *v);
        history.push((v, records.clone()));
        assert_eq!(consumer.refresh().await.unwrap(), Some(v));
        let state = consumer.current().unwrap();
        if let Some(from) = previous {
            let delta = BlobName::Delta { from, to: v };
            assert!(state.blob_names().contains(&delta), "{delta:?} not applied");
        }
        check_state(&state, &records, &p);
        let fresh = dataset::consumer(
            store.clone(),
            announcer.clone(),
            &tmp.path().join(format!("fresh-{v}")),
        );
        assert_eq!(fresh.refresh_to(v).await.unwrap(), v);
        let state = fresh.current().unwrap();
        assert_eq!(state.blob_names(), [BlobName::Snapshot(v)]);
        check_state(&state, &records, &p);
    }
    let Some(&(last, _)) = history.last() else {
        return;
    };
    for name in store.names() {
        if matches!(name, BlobName::Snapshot(v) if v != last) {
            store.remove(name);
        }
    }
    for pair in history.windows(2).rev() {
        let ((v, want), (from, _)) = (&pair[0], &pair[1]);
        assert_eq!(consumer.refresh_to(*v).await.unwrap(), *v);
        let state = consumer.current().unwrap();
        let reverse = BlobName::ReverseDelta {
            from: *from,
            to: *v,
        };
        assert!(
            state.blob_names().contains(&reverse),
            "{reverse:?} not applied"
        );
        check_state(&state, want, &p);
    }
}

/// One cycle's edits, published as a full cycle (every record) or an
/// incremental one (upserts and deletes of the records the edits touch).
#[derive(Clone, Debug)]
struct Cycle {
    incremental: bool,
    edits: Vec<Edit>,
}

fn cycle() -> impl Strategy<Value = Cycle> {
    (any::<bool>(), vec(edit(), 0..5)).prop_map(|(incremental, edits)| Cycle { incremental, edits })
}

/// Publishes `records`: a full cycle, or, with `touched`, an incremental
/// one upserting the touched records present and deleting the others. The
/// new version, if any.
async fn publish(
    producer: &mut Producer,
    records: &BTreeMap<u64, Bag>,
    touched: Option<&BTreeSet<u64>>,
) -> Option<u64> {
    let outcome = match touched {
        None => {
            producer
                .run_cycle(|w| records.values().try_for_each(|b| w.add(b)))
                .await
        }
        Some(ids) => {
            producer
                .run_incremental(|w| {
                    ids.iter().try_for_each(|id| match records.get(id) {
                        Some(b) => w.upsert(b),
                        None => w.delete::<Bag>(id),
                    })
                })
                .await
        }
    };
    outcome.unwrap().version
}

/// `b` with every `HashMap` and `HashSet` rebuilt, in new tables with their
/// own hash seeds: the same record, most likely iterating in another order.
fn rehash(b: &Bag) -> Bag {
    fn reversed<T, C: IntoIterator<Item = T> + FromIterator<T>>(c: C) -> C {
        let items: Vec<T> = c.into_iter().collect();
        items.into_iter().rev().collect()
    }
    let mut b = b.clone();
    b.by_tone = reversed(b.by_tone);
    b.by_data = reversed(b.by_data);
    b.data_set = reversed(b.data_set);
    b.tone_set = reversed(b.tone_set);
    b
}

/// Cases to run: `PROPTEST_CASES`, else a number that keeps the test to a
/// few seconds in a debug build.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        rng_seed: RngSeed::Fixed(0x4d41_5053),
        ..ProptestConfig::default()
    })]

    #[test]
    fn maps_and_sets_agree_with_the_oracle(
        cycles in vec(cycle(), 2..=6),
        p in probes(),
    ) {
        dataset::runtime().block_on(run_case(cycles, p));
    }
}

fn spot_of(tone: Tone, x: i16, name: &str, raw: &[u8], on: bool) -> Spot {
    Spot {
        tone,
        x,
        name: name.to_owned(),
        raw: raw.to_vec(),
        on,
    }
}

/// The edge cases the random cases may or may not draw: a record with every
/// map and set empty, one with a single entry in each, and one whose keys
/// differ only in their last byte (non-ASCII Text among them) or sit at the
/// ends of their range.
fn edge_bags() -> [Bag; 3] {
    let s = |t: &str| t.to_owned();
    let note = |score| Note {
        score,
        text: s("\u{e9}"),
        marks: vec![1],
    };
    let empty = Bag {
        id: 0,
        by_u8: BTreeMap::new(),
        by_i16: BTreeMap::new(),
        by_i64: BTreeMap::new(),
        by_u64: BTreeMap::new(),
        by_bool: BTreeMap::new(),
        by_tone: HashMap::new(),
        by_text: BTreeMap::new(),
        by_data: HashMap::new(),
        by_spot: BTreeMap::new(),
        nested: BTreeMap::new(),
        text_set: BTreeSet::new(),
        data_set: HashSet::new(),
        tone_set: HashSet::new(),
        spot_set: BTreeSet::new(),
        i64_set: BTreeSet::new(),
        bool_set: BTreeSet::new(),
    };
    let spot = spot_of(Tone::Black, -1, "\u{65e5}", &[0xff], true);
    let one = Bag {
        id: 1,
        by_u8: BTreeMap::from([(7, s("seven"))]),
        by_i16: BTreeMap::from([(-1, note(-1))]),
        by_i64: BTreeMap::from([(i64::MIN, vec![s("min")])]),
        by_u64: BTreeMap::from([(u64::MAX, None)]),
        by_bool: BTreeMap::from([(false, BTreeMap::from([(s(""), 0)]))]),
        by_tone: HashMap::from([(Tone::Green, vec![])]),
        by_text: BTreeMap::from([(s("\u{e9}t\u{e9}"), s("summer"))]),
        by_data: HashMap::from([(vec![], note(0))]),
        by_spot: BTreeMap::from([(spot.clone(), vec![Tone::Red])]),
        nested: BTreeMap::from([(s("\u{1f600}"), BTreeMap::from([(spot.clone(), Tone::Blue)]))]),
        text_set: BTreeSet::from([s("\u{10ffff}")]),
        data_set: HashSet::from([vec![0]]),
        tone_set: HashSet::from([Tone::Black]),
        spot_set: BTreeSet::from([spot]),
        i64_set: BTreeSet::from([-1]),
        bool_set: BTreeSet::from([true]),
    };
    let texts = [
        "",
        "a",
        "b",
        "\u{e8}",
        "\u{e9}",
        "x\u{65e5}",
        "x\u{65e6}",
        "\u{1f600}",
        "\u{1f601}",
        "\u{7f}",
        "\u{80}",
    ];
    let datas: [&[u8]; 7] = [
        &[],
        &[0],
        &[1, 2],
        &[1, 2, 0],
        &[1, 2, 1],
        &[1, 2, 0xff],
        &[0xff],
    ];
    let spots = [
        spot_of(Tone::Red, 0, "\u{e8}", &[1, 2], false),
        spot_of(Tone::Red, 0, "\u{e8}", &[1, 2], true),
        spot_of(Tone::Red, 0, "\u{e8}", &[1, 3], false),
        spot_of(Tone::Red, 0, "\u{e9}", &[1, 2], false),
        spot_of(Tone::Red, 1, "\u{e8}", &[1, 2], false),
        spot_of(Tone::Black, i16::MIN, "", &[], false),
        spot_of(Tone::Green, i16::MAX, "", &[], false),
    ];
    let many = Bag {
        id: 2,
        by_u8: [0, 1, 0xfe, 0xff].map(|k| (k, format!("{k}"))).into(),
        by_i16: [i16::MIN, -1, 0, 1, i16::MAX]
            .map(|k| (k, note(k.into())))
            .into(),
        by_i64: [i64::MIN, -2, -1, 0, i64::MAX]
            .map(|k| (k, vec![format!("{k}")]))
            .into(),
        by_u64: [0, 1, u64::MAX - 1, u64::MAX]
            .map(|k| (k, Some(format!("{k}"))))
            .into(),
        by_bool: [
            (true, BTreeMap::from([(s("\u{e9}"), 1), (s("\u{e8}"), 2)])),
            (false, BTreeMap::new()),
        ]
        .into(),
        by_tone: TONES.map(|t| (t, vec![t as u8])).into(),
        by_text: texts.map(|t| (s(t), format!("<{t}>"))).into(),
        by_data: datas.map(|d| (d.to_vec(), note(d.len() as i32))).into(),
        by_spot: spots.clone().map(|k| (k, TONES.to_vec())).into(),
        nested: texts
            .map(|t| (s(t), spots.clone().map(|k| (k, Tone::Green)).into()))
            .into(),
        text_set: texts.map(s).into(),
        data_set: datas.map(<[u8]>::to_vec).into(),
        tone_set: TONES.into(),
        spot_set: spots.into(),
        i64_set: [i64::MIN, -1, 0, 1, i64::MAX].into(),
        bool_set: [false, true].into(),
    };
    [empty, one, many]
}

/// The edge cases through every step: published, changed, removed, and
/// walked back.
#[test]
fn edge_cases_agree_with_the_oracle() {
    let [empty, one, many] = edge_bags();
    let p = Probes {
        u8s: vec![2, 0xfd],
        i16s: vec![-2, 2],
        i64s: vec![-3, 3],
        u64s: vec![2, u64::MAX - 2],
        texts: ["c", "\u{ea}", "x\u{65e4}", "x", "\u{1f602}"]
            .map(String::from)
            .into(),
        datas: vec![vec![1], vec![1, 2, 2], vec![1, 2, 0xfe], vec![0xff, 0]],
        spots: vec![spot_of(Tone::Blue, 0, "\u{e8}", &[1, 2], false)],
    };
    let tweaked = Bag {
        id: 0,
        ..one.clone()
    };
    let cycles = [
        (
            false,
            vec![
                Edit::Put(empty.clone()),
                Edit::Put(one),
                Edit::Put(many.clone()),
            ],
        ),
        (
            false,
            vec![Edit::Tweak(2, 1, empty.clone()), Edit::Tweak(0, 2, tweaked)],
        ),
        (
            true,
            vec![Edit::Remove(1), Edit::Put(Bag { id: 3, ..many })],
        ),
        (true, vec![Edit::Tweak(3, 3, empty.clone())]),
        (false, vec![]),
        (true, vec![Edit::Put(Bag { id: 1, ..empty })]),
    ]
    .map(|(incremental, edits)| Cycle { incremental, edits })
    .into();
    dataset::runtime().block_on(run_case(cycles, p));
}

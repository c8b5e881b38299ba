//! Owned value → canonical bytes → zero-copy accessors → the same value.
//!
//! Property tests over every test type: each getter returns the field it
//! was written from (lists through every way of reading them), `to_value()`
//! is the original, encoding is deterministic and injective, the hash is
//! stable. Then edge cases (extreme numbers, NaN payloads, `-0.0`, empty
//! and `Some(empty)` values, deep nesting, non-ASCII text) and golden
//! hashes pinned across runs and machines.

// The nesting-limit types are 64 `Vec`s deep.
#![recursion_limit = "512"]

use hollow_runtime::{
    canonical_hash, hash_bytes, read_root, to_canonical_bytes, wire, Encoder, Hollow,
};
use hollow_tests::{
    aligned, capnp_reader, check, strategy, Actor, AllTypes, Color, Coord, Detail, Dims, Event,
    Inner, Movie, Origin, Outcome, Payload, Performer, Role, Shipment, Span, Stock,
};
use proptest::prelude::*;

/// Checks the encoding of `$v` (a `$ty`) end to end with `$check`.
macro_rules! assert_roundtrip {
    ($ty:ty, $v:expr, $check:path) => {{
        let v: &$ty = $v;
        let bytes = to_canonical_bytes(v).unwrap();
        $check(&read_root::<$ty>(&bytes).unwrap(), v);
        // Deterministic: encoding again, or a clone, or with a reused
        // encoder, gives the same bytes; the hash is the bytes' hash.
        assert_eq!(to_canonical_bytes(&v.clone()).unwrap(), bytes);
        let mut enc = Encoder::new();
        assert_eq!(enc.encode(v).unwrap(), &bytes[..]);
        assert_eq!(enc.encode(v).unwrap(), &bytes[..]);
        let h = canonical_hash(v).unwrap();
        assert_eq!(h, canonical_hash(v).unwrap());
        assert_eq!(h, hash_bytes(&bytes));
        assert_eq!(h, enc.hash(v).unwrap());
        // Canonical: canonicalizing again changes nothing, capnp agrees,
        // and what is read back encodes to the same bytes.
        let mut again = Vec::new();
        wire::canonicalize(&bytes, &mut again).unwrap();
        assert_eq!(again, bytes, "canonicalize is not idempotent");
        let words = aligned(&bytes);
        let reader = capnp_reader(capnp::Word::words_to_bytes(&words));
        assert!(reader.is_canonical().unwrap(), "capnp says not canonical");
        let back = read_root::<$ty>(&bytes).unwrap().to_value().unwrap();
        assert_eq!(to_canonical_bytes(&back).unwrap(), bytes);
        bytes
    }};
}

macro_rules! roundtrip {
    ($($name:ident: $ty:ty, $strategy:expr, $check:path;)*) => {$(
        mod $name {
            use super::*;

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(64))]

                #[test]
                fn every_getter_reads_what_was_written(v in $strategy) {
                    assert_roundtrip!($ty, &v, $check);
                }

                #[test]
                fn equal_bytes_iff_equal_values(a in $strategy, b in $strategy) {
                    let (x, y) = (to_canonical_bytes(&a).unwrap(), to_canonical_bytes(&b).unwrap());
                    if x == y {
                        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
                    }
                    if a != b {
                        prop_assert_ne!(x, y);
                        prop_assert_ne!(canonical_hash(&a).unwrap(), canonical_hash(&b).unwrap());
                    }
                }

                #[test]
                fn one_encoder_for_many_values(vs in proptest::collection::vec($strategy, 1..5)) {
                    let mut enc = Encoder::new();
                    for v in &vs {
                        prop_assert_eq!(enc.encode(v).unwrap(), &to_canonical_bytes(v).unwrap()[..]);
                    }
                }
            }
        }
    )*};
}

roundtrip! {
    movies: Movie, strategy::movie(), check::movie;
    actors: Actor, strategy::actor(), check::actor;
    all: AllTypes, strategy::all_types(), check::all_types;
    groups: Shipment, strategy::shipment(), check::shipment;
    unions: Event, strategy::event(), check::event;
    composite_key: Stock, strategy::stock(), check::stock;
    nested_key: Role, strategy::role(), check::role;
}

/// Changes field `which` of `v` so that it differs bit for bit.
fn mutate(v: &mut AllTypes, which: usize) {
    fn flip32(x: &mut f32) {
        *x = f32::from_bits(x.to_bits() ^ 1);
    }
    fn flip64(x: &mut f64) {
        *x = f64::from_bits(x.to_bits() ^ (1 << 63));
    }
    match which {
        0 => v.id = v.id.wrapping_add(1),
        1 => v.flag = !v.flag,
        2 => v.int8 = v.int8.wrapping_add(1),
        3 => v.int16 = v.int16.wrapping_add(1),
        4 => v.int32 = v.int32.wrapping_add(1),
        5 => v.int64 = v.int64.wrapping_add(1),
        6 => v.uint8 = v.uint8.wrapping_add(1),
        7 => v.uint16 = v.uint16.wrapping_add(1),
        8 => v.uint32 = v.uint32.wrapping_add(1),
        9 => v.uint64 = v.uint64.wrapping_add(1),
        10 => flip32(&mut v.float32),
        11 => flip64(&mut v.float64),
        12 => v.text.push('é'),
        13 => v.data.push(0),
        14 => v.bools.push(false),
        15 => v.int8s.push(0),
        16 => v.int16s.push(0),
        17 => v.uint16s.push(0),
        18 => v.int32s.push(0),
        19 => v.uint32s.push(0),
        20 => v.int64s.push(0),
        21 => v.uint64s.push(0),
        22 => v.float32s.push(-0.0),
        23 => v.float64s.push(0.0),
        24 => v.texts.push(String::new()),
        25 => v.blobs.push(Vec::new()),
        26 => v.uint32_lists.push(Vec::new()),
        27 => v.text_lists.push(vec![String::new()]),
        28 => v.inner.id = v.inner.id.wrapping_add(1),
        29 => v.inners.push(Inner::default()),
        30 => {
            v.color = match v.color {
                Color::Red => Color::Green,
                Color::Green => Color::Blue,
                Color::Blue => Color::Red,
            }
        }
        31 => v.colors.push(Color::Red),
        32 => v.maybe_text = v.maybe_text.take().xor(Some(String::new())),
        33 => v.maybe_data = v.maybe_data.take().xor(Some(Vec::new())),
        34 => v.maybe_uint64s = v.maybe_uint64s.take().xor(Some(Vec::new())),
        _ => v.maybe_inner = v.maybe_inner.take().xor(Some(Inner::default())),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any one field changed, even to a value that is `==` (a float's
    /// sign), gives other bytes and another hash.
    #[test]
    fn any_single_change_changes_the_bytes(v in strategy::all_types(), which in 0usize..36) {
        let mut w = v.clone();
        mutate(&mut w, which);
        let (a, b) = (to_canonical_bytes(&v).unwrap(), to_canonical_bytes(&w).unwrap());
        prop_assert_ne!(&a, &b, "field {} changed but the bytes did not", which);
        prop_assert_ne!(hash_bytes(&a), hash_bytes(&b));
    }
}

fn extremes() -> AllTypes {
    AllTypes {
        id: u64::MAX,
        flag: true,
        int8: i8::MIN,
        int16: i16::MIN,
        int32: i32::MIN,
        int64: i64::MIN,
        uint8: u8::MAX,
        uint16: u16::MAX,
        uint32: u32::MAX,
        uint64: u64::MAX,
        float32: f32::MIN_POSITIVE / 2.0,
        float64: f64::MAX,
        text: "x".repeat(1000),
        data: vec![0xff; 257],
        bools: (0..130).map(|i| i % 3 == 0).collect(),
        int8s: vec![i8::MIN, i8::MAX, -1, 0],
        int16s: vec![i16::MIN, i16::MAX],
        uint16s: vec![u16::MAX, 0],
        int32s: vec![i32::MIN, i32::MAX],
        uint32s: vec![u32::MAX; 3],
        int64s: vec![i64::MIN, i64::MAX, -1],
        uint64s: vec![u64::MAX, 0, 1],
        float32s: vec![f32::INFINITY, f32::NEG_INFINITY, -0.0, f32::MAX, f32::MIN],
        float64s: vec![
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            f64::MIN_POSITIVE,
            f64::MIN,
        ],
        texts: vec![String::new(), "\u{10FFFF}".into(), "\0".into()],
        blobs: vec![Vec::new(), vec![0], vec![0xff; 9]],
        uint32_lists: vec![Vec::new(), vec![u32::MAX], Vec::new()],
        text_lists: vec![Vec::new(), vec![String::new()], vec!["a".into(), "".into()]],
        inner: Inner {
            id: u32::MAX,
            name: "inner".into(),
            flag: true,
            scores: vec![i16::MIN],
            color: Color::Blue,
        },
        inners: vec![Inner::default(), Inner::default()],
        color: Color::Blue,
        colors: vec![Color::Blue, Color::Red, Color::Green],
        maybe_text: Some(String::new()),
        maybe_data: Some(Vec::new()),
        maybe_uint64s: Some(Vec::new()),
        maybe_inner: Some(Inner::default()),
    }
}

#[test]
fn extreme_values() {
    assert_roundtrip!(AllTypes, &extremes(), check::all_types);
}

#[test]
fn empty_values() {
    // Every field default: only the root pointer, the nested struct's
    // pointer and nothing else.
    let bytes = assert_roundtrip!(AllTypes, &AllTypes::default(), check::all_types);
    let actor = assert_roundtrip!(Actor, &Actor::default(), check::actor);
    // A struct with nothing set is a zero-sized struct: offset -1.
    assert_eq!(actor, [0xfc, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    assert!(
        bytes.len() <= 8 * 40,
        "{} bytes for an empty AllTypes",
        bytes.len()
    );
    assert_roundtrip!(Movie, &Movie::default(), check::movie);
    assert_roundtrip!(Shipment, &Shipment::default(), check::shipment);
    assert_roundtrip!(Event, &Event::default(), check::event);
    assert_roundtrip!(Stock, &Stock::default(), check::stock);
    assert_roundtrip!(Role, &Role::default(), check::role);
}

#[test]
fn some_empty_is_not_none() {
    let none = AllTypes::default();
    let some = AllTypes {
        maybe_text: Some(String::new()),
        ..AllTypes::default()
    };
    let (a, b) = (
        assert_roundtrip!(AllTypes, &none, check::all_types),
        assert_roundtrip!(AllTypes, &some, check::all_types),
    );
    assert_ne!(a, b);
    let r = read_root::<AllTypes>(&b).unwrap();
    assert_eq!(r.maybe_text(), Some(""));
    assert_eq!(read_root::<AllTypes>(&a).unwrap().maybe_text(), None);
    for (i, v) in [
        AllTypes {
            maybe_data: Some(Vec::new()),
            ..AllTypes::default()
        },
        AllTypes {
            maybe_uint64s: Some(Vec::new()),
            ..AllTypes::default()
        },
        AllTypes {
            maybe_inner: Some(Inner::default()),
            ..AllTypes::default()
        },
    ]
    .iter()
    .enumerate()
    {
        let bytes = assert_roundtrip!(AllTypes, v, check::all_types);
        assert_ne!(bytes, a, "Some(empty) #{i} encodes like None");
    }
}

#[test]
fn nan_payloads_and_signed_zero_are_kept_bit_for_bit() {
    let nans32 = [0x7fc0_0000u32, 0xffc0_0001, 0x7f80_0001, 0x7fbf_ffff];
    let nans64 = [
        0x7ff8_0000_dead_beefu64,
        0xfff8_0000_0000_0001,
        0x7ff0_0000_0000_0001,
    ];
    let v = AllTypes {
        float32: f32::from_bits(nans32[1]),
        float64: f64::from_bits(nans64[0]),
        float32s: nans32
            .iter()
            .map(|b| f32::from_bits(*b))
            .chain([-0.0])
            .collect(),
        float64s: nans64
            .iter()
            .map(|b| f64::from_bits(*b))
            .chain([-0.0])
            .collect(),
        ..AllTypes::default()
    };
    let bytes = to_canonical_bytes(&v).unwrap();
    let r = read_root::<AllTypes>(&bytes).unwrap();
    assert_eq!(r.float32().to_bits(), nans32[1]);
    assert_eq!(r.float64().to_bits(), nans64[0]);
    check::f32_list("float32s", r.float32s(), &v.float32s);
    check::f64_list("float64s", r.float64s(), &v.float64s);
    let back = r.to_value().unwrap();
    let bits32: Vec<u32> = back.float32s.iter().map(|f| f.to_bits()).collect();
    let bits64: Vec<u64> = back.float64s.iter().map(|f| f.to_bits()).collect();
    assert_eq!(
        bits32,
        [nans32[0], nans32[1], nans32[2], nans32[3], 0x8000_0000]
    );
    assert_eq!(
        bits64,
        [nans64[0], nans64[1], nans64[2], 0x8000_0000_0000_0000]
    );
    assert_eq!(to_canonical_bytes(&back).unwrap(), bytes);
    // -0.0 == 0.0, but they are different records.
    let zero = Stock::default();
    let neg = Stock {
        price: -0.0,
        ..Stock::default()
    };
    assert_eq!(zero, neg);
    assert_ne!(
        to_canonical_bytes(&zero).unwrap(),
        to_canonical_bytes(&neg).unwrap()
    );
    let r = to_canonical_bytes(&neg).unwrap();
    assert_eq!(
        read_root::<Stock>(&r).unwrap().price().to_bits(),
        (-0.0f64).to_bits()
    );
}

#[test]
fn non_ascii_text() {
    let texts = [
        "héllo wörld",
        "日本語のテキスト",
        "🦀🚀",
        "a\0b",
        "\u{202e}rtl",
        "ǅ",
    ];
    for t in texts {
        let v = Movie {
            title: t.into(),
            genres: texts.iter().map(|s| s.to_string()).collect(),
            description: t.repeat(50),
            ..Movie::default()
        };
        assert_roundtrip!(Movie, &v, check::movie);
    }
    let v = Event {
        payload: Payload::Detail(Detail::Reason("raison d'être".into())),
        outcome: Outcome::Failed("échec ✗".into()),
        ..Event::default()
    };
    assert_roundtrip!(Event, &v, check::event);
}

#[test]
fn every_union_member_and_group() {
    let payloads = [
        Payload::Empty,
        Payload::Count(i64::MIN),
        Payload::Message(String::new()),
        Payload::Message("m".into()),
        Payload::Location(Coord {
            lat: -0.0,
            lon: 1.5,
        }),
        Payload::Window(Span {
            start: u32::MAX,
            end: 0,
        }),
        Payload::Detail(Detail::Unknown),
        Payload::Detail(Detail::Code(u16::MAX)),
        Payload::Detail(Detail::Reason(String::new())),
        Payload::Cancelled,
        Payload::Urgent(true),
        Payload::Urgent(false),
    ];
    let outcomes = [
        Outcome::Pending,
        Outcome::Done(7),
        Outcome::Failed("no".into()),
    ];
    let mut seen = std::collections::HashSet::new();
    for (i, payload) in payloads.iter().enumerate() {
        for outcome in &outcomes {
            let v = Event {
                id: i as u64,
                payload: payload.clone(),
                seq: 3,
                outcome: outcome.clone(),
            };
            assert!(seen.insert(assert_roundtrip!(Event, &v, check::event)));
        }
    }
    let v = Shipment {
        id: 1,
        express: true,
        dims: Dims {
            fragile: true,
            grade: 255,
            width: 65535,
            weight: -1.5,
            volume: f64::EPSILON,
            label: "label".into(),
            origin: Origin {
                zone: 9,
                code: "SE".into(),
            },
        },
        stops: 2,
        carrier: "carrier".into(),
    };
    assert_roundtrip!(Shipment, &v, check::shipment);
    let v = Role {
        actor: Performer {
            id: u64::MAX,
            name: "n".into(),
        },
        ..Role::default()
    };
    assert_roundtrip!(Role, &v, check::role);
}

/// Lists nested four deep (and a list of lists of structs).
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(primary_key(id))]
struct Deep {
    id: u32,
    numbers: Vec<Vec<Vec<Vec<u16>>>>,
    words: Vec<Vec<Vec<String>>>,
    structs: Vec<Vec<Inner>>,
    blobs: Vec<Vec<Vec<u8>>>,
}

fn check_deep(r: &DeepRef<'_>, v: &Deep) {
    assert_eq!(r.id(), v.id);
    check::list("numbers", r.numbers(), &v.numbers, |a, b| {
        check::list("numbers[]", a, b, |a, b| {
            check::list("numbers[][]", a, b, |a, b| {
                check::plain_list("numbers[][][]", a, b)
            })
        })
    });
    check::list("words", r.words(), &v.words, |a, b| {
        check::list("words[]", a, b, |a, b| check::plain_list("words[][]", a, b))
    });
    check::list("structs", r.structs(), &v.structs, |a, b| {
        check::list("structs[]", a, b, |a, b| check::inner("structs[][]", &a, b))
    });
    check::list("blobs", r.blobs(), &v.blobs, |a, b| {
        check::list("blobs[]", a, b, |a, b| assert_eq!(a, &b[..]))
    });
    assert_eq!(r.to_value().as_ref(), Ok(v));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn deeply_nested_lists(
        id in any::<u32>(),
        numbers in strategy::list(strategy::list(strategy::list(strategy::list(any::<u16>())))),
        words in strategy::list(strategy::list(strategy::list(strategy::text()))),
        structs in strategy::list(strategy::list(strategy::inner())),
        blobs in strategy::list(strategy::list(strategy::bytes())),
    ) {
        let v = Deep { id, numbers, words, structs, blobs };
        assert_roundtrip!(Deep, &v, check_deep);
    }
}

type V2<T> = Vec<Vec<T>>;
type V4<T> = V2<V2<T>>;
type V8<T> = V4<V4<T>>;
type V16<T> = V8<V8<T>>;
type V32<T> = V16<V16<T>>;
type Vecs63 = V32<V16<V8<V4<V2<Vec<u8>>>>>>;
type Vecs64 = V32<V16<V8<V4<V2<Vec<Vec<u8>>>>>>>;

/// 63 nested `Vec`s (62 `List(List(…))` levels around `Data`): with the
/// root pointer, 64 pointers to follow, exactly the nesting limit.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
struct AtTheLimit {
    deep: Vecs63,
}

/// One `Vec` more: 65 pointers deep.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
struct PastTheLimit {
    deep: Vecs64,
}

/// A value with one element at every level.
trait Nest {
    fn one() -> Self;
}

impl Nest for u8 {
    fn one() -> u8 {
        0xab
    }
}

impl<T: Nest> Nest for Vec<T> {
    fn one() -> Vec<T> {
        vec![T::one()]
    }
}

fn check_past(r: &PastTheLimitRef<'_>, v: &PastTheLimit) {
    assert_eq!(r.to_value().as_ref(), Ok(v));
}

/// A value nested deeper than the nesting limit cannot be encoded: an
/// error naming the type, not a panic or a stack overflow. At the limit it
/// round-trips.
#[test]
fn nesting_limit() {
    assert_eq!(
        wire::NESTING_LIMIT,
        64,
        "the depths below assume a limit of 64"
    );
    let at = AtTheLimit { deep: Nest::one() };
    let bytes = to_canonical_bytes(&at).unwrap();
    let r = read_root::<AtTheLimit>(&bytes).unwrap();
    assert_eq!(r.to_value().unwrap(), at);
    let words = aligned(&bytes);
    let reader = capnp_reader(capnp::Word::words_to_bytes(&words));
    assert!(reader.is_canonical().unwrap());

    let past = PastTheLimit { deep: Nest::one() };
    let err = to_canonical_bytes(&past).unwrap_err();
    assert_eq!(err.type_name(), "PastTheLimit");
    assert!(err.to_string().contains("PastTheLimit"), "{err}");
    assert!(canonical_hash(&past).is_err());
    // Empty below the limit is fine whatever the type's depth.
    let shallow = PastTheLimit {
        deep: vec![vec![vec![]]],
    };
    assert_roundtrip!(PastTheLimit, &shallow, check_past);
}

/// Golden values: the canonical hash of fixed records, pinned so any change
/// to the encoding, across versions, runs or machines, is caught.
#[test]
fn golden_hashes() {
    let actor = Actor {
        id: 42,
        name: "Ada".into(),
    };
    let bytes = to_canonical_bytes(&actor).unwrap();
    assert_eq!(
        bytes,
        [
            0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
            0x00, // root: struct, 1 data word, 1 ptr
            0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // id = 42
            0x01, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, // name: list of 4 bytes
            b'A', b'd', b'a', 0x00, 0x00, 0x00, 0x00, 0x00,
        ]
    );
    let movie = Movie {
        id: 1,
        title: "The Rust Identity".into(),
        year: 2026,
        runtime_min: 121,
        rating: 8.5,
        genres: vec!["thriller".into(), "drama".into()],
        cast_ids: vec![42, 7],
        description: "Ownership, borrowed.".into(),
    };
    // Changing `extremes()` changes the third hash: update it then.
    let all = extremes();
    let got = [
        canonical_hash(&actor).unwrap(),
        canonical_hash(&movie).unwrap(),
        canonical_hash(&all).unwrap(),
    ];
    // Computed once (XXH3-64 of the canonical bytes) and written in.
    let pinned = [
        0x1e73_b69d_9b12_ce1d,
        0xd52e_5a2d_8132_2d4f,
        0x506b_ceaf_200f_0dab,
    ];
    assert_eq!(got, pinned, "golden hashes changed: {got:#018x?}");
}

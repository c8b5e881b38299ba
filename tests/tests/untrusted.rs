//! Untrusted bytes: whatever the input, `read_root` errs or yields an
//! accessor on which every getter, every list walk, every nested struct and
//! `to_value()` works without panicking; `wire::canonicalize` errs or
//! returns a canonical message; nothing explodes in time or memory.
//!
//! Inputs: random bytes, canonical records truncated, bit-flipped or with
//! words overwritten by random (often pointer-shaped) words, a valid root
//! pointer over random words, and crafted messages (amplification, cycles,
//! huge zero-sized lists).

use std::time::{Duration, Instant};

use hollow_runtime::wire::{self, ReadError};
use hollow_runtime::{read_root, to_canonical_bytes, Struct};
use hollow_tests::check::touch_all_types;
use hollow_tests::{aligned, capnp_reader, strategy, AllTypes, Event, Movie, Shipment};
use proptest::prelude::*;

/// Reads `bytes` every way the tests know; panics only on a real bug.
fn exercise(bytes: &[u8]) {
    if let Ok(r) = read_root::<AllTypes>(bytes) {
        touch_all_types(&r);
    }
    if let Ok(r) = read_root::<Event>(bytes) {
        let _ = format!("{r:?}");
        let _ = r.to_value();
    }
    if let Ok(r) = read_root::<Shipment>(bytes) {
        let _ = format!("{r:?}");
        let _ = r.to_value();
    }
    if let Ok(r) = read_root::<Movie>(bytes) {
        let _ = format!("{r:?}");
        let _ = r.to_value();
    }
    let mut out = Vec::new();
    if wire::canonicalize(bytes, &mut out).is_ok() {
        // What canonicalize accepts is canonical (capnp agrees), readable,
        // and what capnp makes of the input too.
        let r = read_root::<AllTypes>(&out).expect("canonical output has a struct root");
        touch_all_types(&r);
        let words = aligned(&out);
        let reader = capnp_reader(capnp::Word::words_to_bytes(&words));
        assert_eq!(
            reader.is_canonical().ok(),
            Some(true),
            "capnp: output not canonical"
        );
        let words = aligned(bytes);
        let reader = capnp_reader(capnp::Word::words_to_bytes(&words));
        if let Ok(theirs) = reader.canonicalize() {
            assert_eq!(
                capnp::Word::words_to_bytes(&theirs),
                &out[..],
                "capnp disagrees"
            );
        }
        // And canonicalizing again changes nothing.
        let mut again = Vec::new();
        match wire::canonicalize(&out, &mut again) {
            Ok(()) => assert_eq!(again, out, "canonicalize is not idempotent"),
            Err(e) => panic!("canonical output does not canonicalize: {e}"),
        }
    }
}

/// A canonical `AllTypes` record's bytes.
fn canonical() -> impl Strategy<Value = Vec<u8>> {
    strategy::all_types().prop_map(|v| to_canonical_bytes(&v).unwrap())
}

/// A word that looks like a pointer: small offsets, any kind and size.
fn pointer_word() -> impl Strategy<Value = u64> {
    (-8i32..64, 0u64..4, 0u64..8, 0u64..40, 0u64..4).prop_map(|(off, kind, size, count, ptrs)| {
        let low = ((off << 2) as u32 as u64) | kind;
        match kind {
            0 => low | (count % 5) << 32 | ptrs << 48,
            1 => low | size << 32 | count << 35,
            _ => low | count << 32,
        }
    })
}

/// Random words, often pointer-shaped.
fn word() -> impl Strategy<Value = u64> {
    prop_oneof![2 => pointer_word(), 1 => any::<u64>(), 1 => Just(0u64)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn random_words(words in proptest::collection::vec(word(), 1..64)) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        exercise(&bytes);
    }

    /// A root pointer to a struct shaped like `AllTypes`, over random words.
    #[test]
    fn valid_root_over_random_words(words in proptest::collection::vec(word(), 0..96)) {
        let size = AllTypes::SIZE;
        let root = (size.data_words as u64) << 32 | (size.pointers as u64) << 48;
        let mut bytes = root.to_le_bytes().to_vec();
        bytes.extend(words.iter().flat_map(|w| w.to_le_bytes()));
        exercise(&bytes);
    }

    #[test]
    fn truncated(bytes in canonical(), cut in any::<prop::sample::Index>(), whole in any::<bool>()) {
        let mut at = cut.index(bytes.len() + 1);
        if whole {
            at -= at % 8;
        }
        exercise(&bytes[..at]);
    }

    #[test]
    fn bit_flipped(bytes in canonical(), flips in proptest::collection::vec(any::<prop::sample::Index>(), 1..8)) {
        let mut bytes = bytes;
        let bits = bytes.len() * 8;
        for f in flips {
            let b = f.index(bits);
            bytes[b / 8] ^= 1 << (b % 8);
        }
        exercise(&bytes);
    }

    #[test]
    fn words_overwritten(
        bytes in canonical(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), word()), 1..6),
    ) {
        let mut bytes = bytes;
        let words = bytes.len() / 8;
        for (i, w) in edits {
            let at = i.index(words) * 8;
            bytes[at..at + 8].copy_from_slice(&w.to_le_bytes());
        }
        exercise(&bytes);
    }
}

// --- crafted messages ----------------------------------------------------

fn struct_ptr(at: usize, target: usize, data_words: u16, pointers: u16) -> u64 {
    let offset = target as i64 - at as i64 - 1;
    ((offset << 2) as u32 as u64) | (data_words as u64) << 32 | (pointers as u64) << 48
}

/// `size`: 2 = byte … 5 = eight bytes, 6 = pointer, 7 = inline composite
/// (then `count` is the word count after the tag).
fn list_ptr(at: usize, target: usize, size: u64, count: u32) -> u64 {
    let offset = target as i64 - at as i64 - 1;
    (((offset << 2) as u32 | 1) as u64) | size << 32 | (count as u64) << 35
}

fn to_bytes(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// The pointer index of `AllTypes.uint32Lists` (a `List(List(UInt32))`).
fn uint32_lists_pointer() -> usize {
    let s = AllTypes::schema().get_struct("AllTypes").unwrap();
    s.field("uint32Lists").unwrap().as_slot().unwrap().offset as usize
}

/// A message whose `AllTypes.uint32Lists` is a list of `pointers` list
/// pointers that all point at one shared object (built by `shared`, which
/// gets the message and the word index of the first pointer).
fn shared_target(pointers: usize, shared: impl FnOnce(&mut Vec<u64>, usize)) -> Vec<u8> {
    let size = AllTypes::SIZE;
    let (dw, pc) = (size.data_words as usize, size.pointers as usize);
    let mut m = vec![0u64; 1 + dw + pc];
    m[0] = struct_ptr(0, 1, size.data_words, size.pointers);
    let field = 1 + dw + uint32_lists_pointer();
    let list = m.len();
    m[field] = list_ptr(field, list, 6, pointers as u32);
    m.resize(list + pointers, 0);
    shared(&mut m, list);
    to_bytes(&m)
}

/// Runs `f` and checks it took less than `limit` (a generous bound: the
/// point is to catch work quadratic in the input).
fn quickly<T>(what: &str, limit: Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(start.elapsed() < limit, "{what} took {:?}", start.elapsed());
    out
}

/// 4 000 pointers to one list of 16 384 `UInt32` (8 192 words): a 100 KB
/// message that would canonicalize to 256 MB. The canonicalizer's budget
/// stops it; the zero-copy reader just reads the one list.
#[test]
fn amplification_by_shared_list_is_refused() {
    const POINTERS: usize = 4_000;
    const ELEMENTS: u32 = 16_384;
    let bytes = shared_target(POINTERS, |m, first| {
        let target = m.len();
        for i in 0..POINTERS {
            m[first + i] = list_ptr(first + i, target, 4, ELEMENTS);
        }
        m.extend((0..ELEMENTS as u64 / 2).map(|i| i | 1 << 40));
    });
    assert!(bytes.len() < 110_000);
    let mut out = Vec::new();
    let res = quickly("canonicalize", Duration::from_secs(2), || {
        wire::canonicalize(&bytes, &mut out)
    });
    assert_eq!(res, Err(ReadError::LimitExceeded));
    assert!(
        out.len() < 2_000_000,
        "canonicalize wrote {} bytes first",
        out.len()
    );
    let r = read_root::<AllTypes>(&bytes).unwrap();
    let lists = r.uint32_lists();
    assert_eq!(lists.len(), POINTERS);
    assert_eq!(lists.get(POINTERS - 1).unwrap().len(), ELEMENTS as usize);
    assert_eq!(lists.get(7).unwrap().get(2), Some(1));
    assert_eq!(lists.get(7).unwrap().get(3), Some(256));
}

/// 1 000 pointers to one list of 1 000 all-zero structs: each element
/// strips to nothing, so the output stays small, but every visit still
/// reads the 1 000 elements. The read must be paid for.
#[test]
fn amplification_by_shared_zero_struct_list_is_refused() {
    const POINTERS: usize = 1_000;
    const ELEMENTS: u32 = 1_000;
    let bytes = shared_target(POINTERS, |m, first| {
        let tag = m.len();
        for i in 0..POINTERS {
            m[first + i] = list_ptr(first + i, tag, 7, ELEMENTS);
        }
        m.push((ELEMENTS as u64) << 2 | 1 << 32); // ELEMENTS structs of 1 data word
        m.resize(m.len() + ELEMENTS as usize, 0);
    });
    let mut out = Vec::new();
    let res = quickly("canonicalize", Duration::from_secs(2), || {
        wire::canonicalize(&bytes, &mut out)
    });
    assert_eq!(
        res,
        Err(ReadError::LimitExceeded),
        "1 000 000 element reads went unpaid"
    );
}

/// 1 000 pointers to one struct of 60 000 zero data words: it strips to a
/// zero-sized struct, but each visit reads the 60 000 words.
#[test]
fn amplification_by_shared_zero_struct_is_refused() {
    const POINTERS: usize = 1_000;
    const WORDS: u16 = 60_000;
    // AllTypes.texts (a pointer list) gets pointers to one struct.
    let size = AllTypes::SIZE;
    let (dw, pc) = (size.data_words as usize, size.pointers as usize);
    let mut m = vec![0u64; 1 + dw + pc];
    m[0] = struct_ptr(0, 1, size.data_words, size.pointers);
    let texts = AllTypes::schema().get_struct("AllTypes").unwrap();
    let texts = 1 + dw + texts.field("texts").unwrap().as_slot().unwrap().offset as usize;
    let list = m.len();
    m[texts] = list_ptr(texts, list, 6, POINTERS as u32);
    m.resize(list + POINTERS, 0);
    let target = m.len();
    for i in 0..POINTERS {
        m[list + i] = struct_ptr(list + i, target, WORDS, 0);
    }
    m.resize(target + WORDS as usize, 0);
    let bytes = to_bytes(&m);
    let mut out = Vec::new();
    let res = quickly("canonicalize", Duration::from_secs(2), || {
        wire::canonicalize(&bytes, &mut out)
    });
    assert_eq!(
        res,
        Err(ReadError::LimitExceeded),
        "60 000 000 word reads went unpaid"
    );
    // Readers see struct pointers where text should be: empty text.
    let r = read_root::<AllTypes>(&bytes).unwrap();
    assert_eq!(r.texts().len(), POINTERS);
    assert!(r.texts().iter().all(str::is_empty));
}

/// A pointer list whose element points back at the list itself.
#[test]
fn cyclic_pointers_hit_the_nesting_limit() {
    let bytes = shared_target(1, |m, first| {
        m[first] = list_ptr(first, first, 6, 1);
    });
    let mut out = Vec::new();
    assert_eq!(
        wire::canonicalize(&bytes, &mut out),
        Err(ReadError::LimitExceeded)
    );
    let r = read_root::<AllTypes>(&bytes).unwrap();
    touch_all_types(&r);
    // The element is read as a List(UInt32) but is a pointer list: empty.
    assert_eq!(r.uint32_lists().len(), 1);
    assert!(r.uint32_lists().get(0).unwrap().is_empty());
}

/// A one-word list claiming 2^29 - 1 zero-sized elements.
#[test]
fn huge_zero_sized_lists_are_refused() {
    for size in [0u64, 7] {
        let bytes = shared_target(1, |m, first| {
            let at = m.len();
            if size == 7 {
                m.push(((1u64 << 29) - 1) << 2); // tag: elements of 0 words
                m[first] = list_ptr(first, at, 7, 0);
            } else {
                m[first] = list_ptr(first, at, 0, (1 << 29) - 1);
            }
        });
        let mut out = Vec::new();
        let res = quickly("canonicalize", Duration::from_secs(2), || {
            wire::canonicalize(&bytes, &mut out)
        });
        assert!(res.is_err(), "size {size}: {res:?}");
        let r = read_root::<AllTypes>(&bytes).unwrap();
        quickly("touch", Duration::from_secs(2), || touch_all_types(&r));
    }
}

/// Messages that are not a whole number of words, or have no room for a
/// root pointer, are refused up front.
#[test]
fn short_and_ragged_messages() {
    let mut out = Vec::new();
    for len in 0..24 {
        let bytes = vec![0u8; len];
        let whole = len >= 8 && len % 8 == 0;
        assert_eq!(read_root::<AllTypes>(&bytes).is_ok(), whole, "len {len}");
        assert_eq!(
            wire::canonicalize(&bytes, &mut out).is_ok(),
            whole,
            "len {len}"
        );
    }
    assert_eq!(
        wire::canonicalize(&[1; 7], &mut out),
        Err(ReadError::Truncated)
    );
}

/// An enum value or union discriminant the schema does not know (as a
/// newer schema may write) reads as `NotInSchema`, not a panic.
#[test]
fn unknown_enum_values_and_discriminants() {
    use hollow_runtime::NotInSchema;
    use hollow_schema::FieldKind;
    use hollow_tests::{Color, Payload};

    // The root struct's data section starts at byte 8 of canonical bytes.
    fn set_u16(bytes: &mut [u8], offset: u32, value: u16) {
        let at = 8 + offset as usize * 2;
        bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
    }
    let v = AllTypes {
        color: Color::Blue,
        colors: vec![Color::Green],
        ..AllTypes::default()
    };
    let mut bytes = to_canonical_bytes(&v).unwrap();
    let s = AllTypes::schema().get_struct("AllTypes").unwrap();
    set_u16(
        &mut bytes,
        s.field("color").unwrap().as_slot().unwrap().offset,
        7,
    );
    let r = read_root::<AllTypes>(&bytes).unwrap();
    assert_eq!(r.color(), Err(NotInSchema(7)));
    assert_eq!(r.to_value(), Err(NotInSchema(7)));
    touch_all_types(&r);

    let v = Event {
        payload: Payload::Cancelled,
        ..Event::default()
    };
    let mut bytes = to_canonical_bytes(&v).unwrap();
    let s = Event::schema().get_struct("Event").unwrap();
    let FieldKind::Union(u) = &s.field("payload").unwrap().kind else {
        panic!("payload is a union")
    };
    set_u16(&mut bytes, u.discriminant_offset, 99);
    let r = read_root::<Event>(&bytes).unwrap();
    assert!(matches!(r.payload(), Err(NotInSchema(99))));
    assert_eq!(r.to_value(), Err(NotInSchema(99)));
    let _ = format!("{r:?}");
}

/// A list of many zero-sized elements in a small canonical message reads
/// back whole: canonical form shrinks messages (all-default structs strip to
/// nothing), so the cap on such lists must not depend on the message's size.
/// (It once did: found by `random_words`, a 44-word message with a
/// 25-element `List(Void)` that canonicalizes to 3 words.)
#[test]
fn canonical_zero_sized_lists_are_readable() {
    let v = AllTypes {
        inners: vec![hollow_tests::Inner::default(); 300],
        ..AllTypes::default()
    };
    let bytes = to_canonical_bytes(&v).unwrap();
    let r = read_root::<AllTypes>(&bytes).unwrap();
    assert_eq!(r.inners().len(), 300, "{} canonical bytes", bytes.len());
    assert_eq!(r.to_value().unwrap(), v);
    let mut out = Vec::new();
    assert_eq!(wire::canonicalize(&bytes, &mut out), Ok(()));
    assert_eq!(out, bytes);

    // The fuzzer's case: a List(Void) of 25 in a 44-word message.
    let mut m = vec![0u64; 45];
    m[0] = struct_ptr(0, 42, 0, 2);
    m[43] = list_ptr(43, 44, 0, 25);
    let mut canonical = Vec::new();
    wire::canonicalize(&to_bytes(&m), &mut canonical).unwrap();
    assert_eq!(canonical.len(), 24);
    let mut again = Vec::new();
    assert_eq!(wire::canonicalize(&canonical, &mut again), Ok(()));
}

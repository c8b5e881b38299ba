use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::wire::{MessageBuilder, StructReader};

/// One data word and one pointer: room for any key and value pair of one
/// data and one pointer field, or of two pointer fields' first.
const SIZE: StructSize = StructSize {
    data_words: 1,
    pointers: 1,
};

/// A message whose root holds one pointer, written by `write`.
fn message(write: impl FnOnce(&mut MessageBuilder, usize)) -> Vec<u8> {
    let mut msg = MessageBuilder::new();
    let w = msg.init_root(0, 1).pointer_word(0);
    write(&mut msg, w);
    msg.words().iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// The list the root's pointer points to.
fn root_list(bytes: &[u8]) -> ListReader<'_> {
    StructReader::root(bytes)
        .unwrap()
        .pointer(0)
        .list_reader()
        .unwrap_or_else(|_| ListReader::empty())
}

/// The bytes of a map in canonical form, entries laid out in `SIZE` at
/// `key_at` and `value_at`.
fn map_bytes<K: MapKey, V: Value>(entries: &[(K, V)], key_at: &[u32], value_at: &[u32]) -> Vec<u8> {
    let mut refs: Vec<(&K, &V)> = entries.iter().map(|(k, v)| (k, v)).collect();
    message(|msg, w| write_map(&mut refs, msg, w, SIZE, key_at, value_at))
}

/// `map` read back agrees with the oracle in every lookup (of its keys and
/// of `probes`) and in iteration.
fn check_text_map(oracle: &BTreeMap<String, u64>, probes: &[String]) {
    // Entries given in reverse: the writer sorts them.
    let entries: Vec<(String, u64)> = oracle.iter().rev().map(|(k, v)| (k.clone(), *v)).collect();
    let bytes = map_bytes(&entries, &[0], &[0]);
    let map = MapRef::<String, u64>::new(root_list(&bytes), &[0], &[0]);
    assert_eq!(map.len(), oracle.len());
    assert_eq!(map.is_empty(), oracle.is_empty());
    let read: Vec<(&str, u64)> = map.iter().collect();
    let want: Vec<(&str, u64)> = oracle.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(read, want);
    assert!(map.keys().eq(oracle.keys().map(String::as_str)));
    assert!(map.values().eq(oracle.values().copied()));
    for k in oracle.keys().chain(probes) {
        assert_eq!(map.get(&k.as_str()), oracle.get(k).copied(), "key {k:?}");
        assert_eq!(map.contains_key(&k.as_str()), oracle.contains_key(k));
    }
}

fn check_int_map(oracle: &BTreeMap<i64, String>, probes: &[i64]) {
    let entries: Vec<(i64, String)> = oracle.iter().rev().map(|(k, v)| (*k, v.clone())).collect();
    let bytes = map_bytes(&entries, &[0], &[0]);
    let map = MapRef::<i64, String>::new(root_list(&bytes), &[0], &[0]);
    assert_eq!(map.len(), oracle.len());
    assert!(map.iter().eq(oracle.iter().map(|(k, v)| (*k, v.as_str()))));
    for k in oracle.keys().chain(probes) {
        assert_eq!(map.get(k), oracle.get(k).map(String::as_str), "key {k}");
        assert_eq!(map.contains_key(k), oracle.contains_key(k));
    }
}

fn check_text_set(items: &[String], probes: &[String]) {
    let oracle: BTreeSet<&String> = items.iter().collect();
    let bytes = message(|msg, w| write_set(items, msg, w));
    let set = SetRef::<String>::new(List::new(root_list(&bytes)));
    assert_eq!(set.len(), oracle.len());
    assert!(set.iter().eq(oracle.iter().map(|s| s.as_str())));
    for k in items.iter().chain(probes) {
        assert_eq!(set.contains(&k.as_str()), oracle.contains(k), "item {k:?}");
    }
}

fn check_int_set(items: &[u32], probes: &[u32]) {
    let oracle: BTreeSet<u32> = items.iter().copied().collect();
    let bytes = message(|msg, w| write_set(items, msg, w));
    let set = SetRef::<u32>::new(List::new(root_list(&bytes)));
    assert_eq!(set.len(), oracle.len());
    assert!(set.iter().eq(oracle.iter().copied()));
    for k in items.iter().chain(probes) {
        assert_eq!(set.contains(k), oracle.contains(k), "item {k}");
    }
}

/// Short texts over a small alphabet with non-ASCII letters, so keys share
/// prefixes and differ only in their last byte.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof!["a", "b", "é", "ß", "\u{1F600}", "\0"], 0..5)
        .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn a_text_keyed_map_reads_as_its_btreemap(
        oracle in proptest::collection::btree_map(text(), any::<u64>(), 0..40),
        probes in proptest::collection::vec(text(), 0..10),
    ) {
        check_text_map(&oracle, &probes);
    }

    #[test]
    fn an_integer_keyed_map_reads_as_its_btreemap(
        oracle in proptest::collection::btree_map(-50i64..50, text(), 0..40),
        probes in proptest::collection::vec(any::<i64>(), 0..10),
    ) {
        check_int_map(&oracle, &probes);
    }

    #[test]
    fn a_text_set_reads_as_its_btreeset(
        items in proptest::collection::vec(text(), 0..40),
        probes in proptest::collection::vec(text(), 0..10),
    ) {
        check_text_set(&items, &probes);
    }

    #[test]
    fn an_integer_set_reads_as_its_btreeset(
        items in proptest::collection::vec(0u32..100, 0..40),
        probes in proptest::collection::vec(any::<u32>(), 0..10),
    ) {
        check_int_set(&items, &probes);
    }
}

#[test]
fn edge_cases_read_as_their_oracles() {
    check_text_map(&BTreeMap::new(), &["".into(), "a".into()]);
    check_text_map(&BTreeMap::from([("".to_string(), 7)]), &["a".into()]);
    let near: BTreeMap<String, u64> = ["ab", "ac", "a\u{7f}", "a\u{80}", "日本", "日本語"]
        .iter()
        .enumerate()
        .map(|(i, k)| (k.to_string(), i as u64))
        .collect();
    check_text_map(&near, &["a".into(), "ad".into(), "日".into()]);
    let ints = BTreeMap::from([
        (i64::MIN, "min".into()),
        (-1, "".into()),
        (0, "z".into()),
        (i64::MAX, "max".into()),
    ]);
    check_int_map(&ints, &[1, -2, i64::MIN + 1]);
    check_int_set(&[], &[0]);
    check_int_set(&[u32::MAX, 0, u32::MAX], &[1]);
    check_text_set(&["b".into(), "a".into(), "b".into()], &["".into()]);
}

#[test]
fn keys_of_every_kind_order_as_documented() {
    assert_eq!(i8::cmp_refs(&-1, &0), Ordering::Less);
    assert_eq!(bool::cmp_refs(&false, &true), Ordering::Less);
    assert_eq!(u64::cmp_refs(&u64::MAX, &0), Ordering::Greater);
    assert_eq!(String::cmp_refs(&"b", &"ab"), Ordering::Greater);
    assert_eq!(String::cmp_refs(&"z", &"é"), Ordering::Less);
    let (a, b): (&[u8], &[u8]) = (b"ab", b"ab\0");
    assert_eq!(<Vec<u8>>::cmp_refs(&a, &b), Ordering::Less);
    assert_eq!("x".to_string().cmp_owned(&"x".to_string()), Ordering::Equal);
}

#[test]
fn a_data_keyed_map_finds_its_keys() {
    let entries: Vec<(Vec<u8>, u64)> =
        vec![(b"\xff".to_vec(), 1), (vec![], 2), (b"\x00".to_vec(), 3)];
    let bytes = map_bytes(&entries, &[0], &[0]);
    let map = MapRef::<Vec<u8>, u64>::new(root_list(&bytes), &[0], &[0]);
    let keys: Vec<&[u8]> = map.keys().collect();
    assert_eq!(keys, [&b""[..], b"\x00", b"\xff"]);
    assert_eq!(map.get(&&b"\x00"[..]), Some(3));
    assert_eq!(map.get(&&b"\x01"[..]), None);
}

#[test]
#[should_panic(expected = "repeated")]
fn a_repeated_key_is_refused_when_writing() {
    map_bytes(&[(1u32, 1u64), (1, 2)], &[0], &[1]);
}

#[test]
fn damaged_maps_miss_but_never_misread() {
    // Entries written out of order, bypassing the writer's sort.
    let bytes = message(|msg, w| {
        let mut list = msg.init_struct_list_at(w, 3, 1, 0);
        for (i, k) in [3u64, 1, 2].into_iter().enumerate() {
            list.struct_at(i as u32).set_u64(0, k);
        }
    });
    let map = MapRef::<u64, u64>::new(root_list(&bytes), &[0], &[0]);
    assert_eq!(map.len(), 3);
    for k in 0..5 {
        if let Some(v) = map.get(&k) {
            assert_eq!(v, k, "a hit reads its own entry");
        }
    }
    // A list of other than structs reads as an empty map.
    let bytes = message(|msg, w| write_set(&[1u32, 2], msg, w));
    let map = MapRef::<u32, u32>::new(root_list(&bytes), &[0], &[1]);
    assert!(map.is_empty());
    assert_eq!(map.get(&1), None);
}

#[derive(crate::Hollow, Debug, PartialEq)]
struct Tagged {
    id: u64,
    tags: std::collections::BTreeSet<String>,
    codes: std::collections::HashSet<u32>,
}

#[test]
fn set_fields_derive_encode_canonically_and_read_in_place() {
    let t = Tagged {
        id: 7,
        tags: ["drama", "crime", "é"].map(String::from).into(),
        codes: [30, 10, 20].into(),
    };
    let bytes = crate::to_canonical_bytes(&t).unwrap();
    // Equal sets, whatever the order they were built in: equal bytes.
    let again = Tagged {
        id: 7,
        tags: ["é", "drama", "crime"].map(String::from).into(),
        codes: [20, 30, 10, 20].into(),
    };
    assert_eq!(crate::to_canonical_bytes(&again).unwrap(), bytes);
    let r = crate::read_root::<Tagged>(&bytes).unwrap();
    assert!(r.tags().contains(&"crime"));
    assert!(!r.tags().contains(&"comedy"));
    assert_eq!(r.tags().iter().collect::<Vec<_>>(), ["crime", "drama", "é"]);
    assert_eq!(r.codes().iter().collect::<Vec<_>>(), [10, 20, 30]);
    assert!(r.codes().contains(&20));
    assert_eq!(r.to_value().unwrap(), t);
    let text: &str = &Tagged::CAPNP_SCHEMA;
    assert!(text.contains("using Hollow = import"), "{text}");
    assert!(text.contains("tags @1 :List(Text) $Hollow.set;"), "{text}");
    assert!(
        text.contains("codes @2 :List(UInt32) $Hollow.set;"),
        "{text}"
    );
    assert_eq!(
        <Tagged as crate::Struct>::schema()
            .get_struct("Tagged")
            .unwrap()
            .fields[1]
            .as_slot()
            .unwrap()
            .collection,
        Some(hollow_schema::Collection::Set)
    );
}
